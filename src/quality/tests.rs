use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use crate::schema::CatalogOp;

fn assessor() -> Assessor {
    Assessor {
        rules: RuleSet::builtin(),
        taxonomy: Taxonomy::sample(),
    }
}

fn phone() -> CatalogChange {
    let mut c = CatalogChange::sample("sku-1", 1);
    c.title = Some("<b>Nimbus X2</b>  smartphone".into());
    c.category_path = vec!["Electronics > Communications > Telephony > Mobile Phones".into()];
    c.attributes = BTreeMap::from([
        ("Battery  Capacity".into(), "5,000mAh".into()),
        ("Storage".into(), "128GB".into()),
        ("Colour".into(), "Graphite".into()),
    ]);
    c.images = vec!["https://example.com/a.jpg".into(), " https://example.com/a.jpg ".into()];
    c
}

fn rules_of(a: &Assessment) -> Vec<&str> {
    a.product.findings.iter().map(|f| f.rule.as_str()).collect()
}

#[test]
fn a_good_product_is_valid_and_normalised() {
    let a = assessor().assess(&phone(), vec![]);
    assert_eq!(a.verdict, Verdict::Valid, "{:?}", a.product.findings);
    let p = &a.product;
    assert_eq!(p.title, "Nimbus X2 smartphone");
    assert_eq!(p.category_path.len(), 4);
    assert_eq!(p.taxonomy_node.as_deref(), Some("25"));
    assert_eq!(p.attributes["battery capacity"], "5000 mAh");
    assert_eq!(p.images.len(), 1);
    assert_eq!(p.segment, Segment::LongTail);
    assert!(p.completeness > 0.85 && p.completeness <= 1.0, "{}", p.completeness);
    assert_eq!(p.fingerprint.len(), 32);
}

#[test]
fn error_findings_send_a_product_to_enrichment() {
    type Breakage = fn(&mut CatalogChange);
    let cases: Vec<(Breakage, &str)> = vec![
        (|c| c.title = Some("   ".into()), "required.core"),
        (|c| c.price_minor = Some(0), "price.positive"),
        (|c| c.list_price_minor = Some(100), "price.discount_not_above_list"),
        (|c| c.currency = Some("USS".into()), "currency.iso4217"),
        (|c| c.category_path = vec!["Spaceships".into()], "taxonomy.unmapped"),
    ];
    for (break_it, rule) in cases {
        let mut c = phone();
        break_it(&mut c);
        let a = assessor().assess(&c, vec![]);
        assert_eq!(a.verdict, Verdict::NeedsEnrichment, "{rule}");
        assert!(rules_of(&a).contains(&rule), "{rule}: {:?}", rules_of(&a));
    }
}

#[test]
fn warnings_travel_with_a_valid_product() {
    let mut c = phone();
    c.attributes.remove("Battery  Capacity");
    c.brand = None;
    c.title = Some("Nimbus X2 | BEST PRICE".into());
    let a = assessor().assess(&c, vec![]);
    assert_eq!(a.verdict, Verdict::Valid);
    let rules = rules_of(&a);
    for r in [
        "phones.battery",
        "required.brand",
        "title.banned_chars",
        "title.shouting",
    ] {
        assert!(rules.contains(&r), "{r}: {rules:?}");
    }
    let banned = a
        .product
        .findings
        .iter()
        .find(|f| f.rule == "title.banned_chars")
        .unwrap();
    assert_eq!((banned.span_start, banned.span_end), (Some(10), Some(11)));
}

#[test]
fn thin_products_are_too_thin() {
    let c = CatalogChange {
        brand: None,
        currency: None,
        price_minor: None,
        attributes: BTreeMap::new(),
        images: vec![],
        ..phone()
    };
    let a = assessor().assess(&c, vec![]);
    assert!(rules_of(&a).contains(&"completeness.low"), "{:?}", rules_of(&a));
    assert!(a.product.completeness < 0.45);
}

#[test]
fn foreign_category_trees_map_by_ancestor_or_name() {
    let mut c = phone();
    c.category_path = vec!["Clothing >> Women's Clothing >> Shorts >> Alisha Cycling Shorts".into()];
    let a = assessor().assess(&c, vec![]);
    assert_eq!(
        a.product.taxonomy_node.as_deref(),
        Some("9"),
        "{:?}",
        a.product.findings
    );
    assert!(rules_of(&a).contains(&"taxonomy.ancestor"));
}

#[test]
fn fingerprint_ignores_formatting_version_and_source_but_not_content() {
    let base = assessor().assess(&phone(), vec![]).product.fingerprint;
    let mut same = phone();
    same.title = Some("Nimbus X2 smartphone".into());
    same.version = 99;
    same.source = "erp".into();
    same.attributes.insert("Battery  Capacity".into(), "5000 mAh".into());
    same.extra.insert("crawl".into(), "x".into());
    assert_eq!(assessor().assess(&same, vec![]).product.fingerprint, base);
    let mut cheaper = phone();
    cheaper.price_minor = Some(1899);
    assert_ne!(assessor().assess(&cheaper, vec![]).product.fingerprint, base);
}

fn arb_change() -> impl Strategy<Value = CatalogChange> {
    let s = || proptest::option::of(any::<String>());
    (
        (s(), s(), s(), s()),
        proptest::collection::vec(any::<String>(), 0..4),
        (proptest::option::of(any::<i64>()), proptest::option::of(any::<i64>())),
        proptest::collection::btree_map(any::<String>(), any::<String>(), 0..4),
        proptest::collection::vec(any::<String>(), 0..3),
    )
        .prop_map(
            |((title, brand, currency, description), category_path, (price, list), attributes, images)| CatalogChange {
                sku: "p".into(),
                op: CatalogOp::Upsert,
                source: "prop".into(),
                event_time_ms: 0,
                version: 0,
                title,
                brand,
                category_path,
                price_minor: price,
                list_price_minor: list,
                currency,
                description,
                attributes,
                images,
                locale: "en-US".into(),
                extra: BTreeMap::new(),
            },
        )
}

proptest! {
    #[test]
    fn any_change_is_assessed_without_panic(c in arb_change()) {
        let a = assessor().assess(&c, vec![]);
        prop_assert!((0.0..=1.0).contains(&a.product.completeness));
        prop_assert_eq!(a.verdict == Verdict::NeedsEnrichment, a.product.findings.iter().any(|f| f.severity == Severity::Error));
        // Assessing the normalised output again changes nothing: normalisation is a fixpoint.
        let again = Normalised::of(&CatalogChange {
            title: Some(a.product.title.clone()),
            brand: a.product.brand.clone(),
            category_path: a.product.category_path.clone(),
            description: a.product.description.clone(),
            attributes: a.product.attributes.clone(),
            images: a.product.images.clone(),
            ..c.clone()
        });
        prop_assert_eq!(again.attributes, a.product.attributes.clone());
        prop_assert_eq!(again.category_path, a.product.category_path.clone());
    }
}
