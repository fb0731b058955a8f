//! Check and policy tests, and the evaluation: clean texts built only from product records,
//! plus the same texts with one injected defect of each kind; recall per kind and the
//! false-positive rate on clean text must reach 0.9 / stay under 0.1. Products come from the
//! invented `samples/catalog.jsonl` (an evaluation over `../shared/data` is not built yet).

use std::collections::BTreeMap;

use super::*;

fn products() -> Vec<ValidatedProduct> {
    crate::fixtures::sample_products()
}

/// A plain description using only the record's facts.
fn clean_text(p: &ValidatedProduct) -> String {
    let mut t = format!("{} from {}. ", p.title, p.brand.as_deref().unwrap_or("our shop"));
    for (k, v) in &p.attributes {
        t.push_str(&format!("{}{}: {v}. ", k[..1].to_uppercase(), &k[1..]));
    }
    t.push_str("A practical choice for everyday use at home or on the go.");
    t
}

fn draft<'a>(p: &'a ValidatedProduct, text: &'a str) -> Draft<'a> {
    Draft {
        use_case: "product_description",
        text,
        title: None,
        product: Some(p),
        locale: "en-US",
        generator: GeneratorKind::Model,
        id: &p.sku,
    }
}

/// (defect kind = the check expected to fire, phrasings appended to a clean description; each
/// product gets one phrasing, in turn).
const DEFECTS: &[(&str, &[&str])] = &[
    (
        "unsupported_claim.quantity",
        &[
            " It holds a 99999 mAh charge.",
            " Weighs just 12 g.",
            " A roomy 64GB of storage.",
        ],
    ),
    (
        "unsupported_claim.material",
        &[
            " Made of genuine silk.",
            " The frame is solid walnut.",
            " Crafted from cashmere.",
        ],
    ),
    (
        "unsupported_claim.certification",
        &[
            " It is certified organic.",
            " Fully waterproof.",
            " Vegan and cruelty-free.",
        ],
    ),
    (
        "unsupported_claim.warranty",
        &[
            " Comes with a 5-year warranty.",
            " Satisfaction guarantee included.",
            " Lifetime warranty.",
        ],
    ),
    (
        "unsupported_claim.compatibility",
        &[
            " Compatible with Zorblax 9 consoles.",
            " compatible with all Quasar phones.",
        ],
    ),
    (
        "price_mismatch",
        &[" Now only $1.23.", " Yours for 5 USD.", " Save 40% off today."],
    ),
    (
        "banned_term",
        &[" A miracle for your home.", " Risk-free purchase.", " Act now!"],
    ),
    (
        "competitor",
        &[" Cheaper than on Amazon.", " Better than what Walmart sells."],
    ),
    (
        "medical_claim",
        &[
            " Clinically proven to help you sleep.",
            " It cures back pain.",
            " Doctor recommended.",
        ],
    ),
    (
        "superlative",
        &[" The best choice you can make.", " Simply perfect.", " The #1 pick."],
    ),
    (
        "pii",
        &[
            " Questions? Write to ana.lopez@example.com.",
            " Call Sam on +1 415 555 2671.",
            " Ship to 12 Elm Road.",
        ],
    ),
    ("profanity", &[" Damn good value.", " No crap included."]),
    (
        "repetition",
        &[
            " It is easy to clean every day. It is easy to clean every day.",
            " Very very very handy.",
        ],
    ),
    (
        "markup",
        &[
            " <script>alert(1)</script>",
            " <img src=x onerror=alert(1)>",
            " <b>Bold</b> claims.",
        ],
    ),
];

#[test]
fn evaluation_recall_and_false_positives() {
    let checker = Checker::new(PolicyConfig::builtin());
    let products = products();
    let mut false_positives = Vec::new();
    let mut recall: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (i, p) in products.iter().enumerate() {
        let clean = clean_text(p);
        let found = checker.check(&draft(p, &clean));
        if !found.is_empty() {
            false_positives.push(format!("{}: {:?}", p.sku, found));
        }
        for (kind, phrasings) in DEFECTS {
            let text = format!("{clean}{}", phrasings[i % phrasings.len()]);
            let hit = checker.check(&draft(p, &text)).iter().any(|f| f.check == *kind);
            let e = recall.entry(kind).or_default();
            e.0 += usize::from(hit);
            e.1 += 1;
        }
        // Out-of-policy length and language need whole texts, not an appended sentence.
        let long = format!(
            "{clean} {}",
            "Plenty more words here about nothing new at all, varied a little. ".repeat(30)
        );
        let hit = checker.check(&draft(p, &long)).iter().any(|f| f.check == "length");
        let e = recall.entry("length").or_default();
        e.0 += usize::from(hit);
        e.1 += 1;
        let german = "Dieses Produkt ist sehr praktisch und eignet sich hervorragend für den täglichen Gebrauch zu Hause und unterwegs, sagen unsere Kunden.";
        let hit = checker.check(&draft(p, german)).iter().any(|f| f.check == "language");
        let e = recall.entry("language").or_default();
        e.0 += usize::from(hit);
        e.1 += 1;
    }
    let fp_rate = false_positives.len() as f64 / products.len() as f64;
    eprintln!(
        "evaluation over {} products: false-positive rate {fp_rate:.3}",
        products.len()
    );
    for (kind, (hit, n)) in &recall {
        eprintln!("  recall {kind:<34} {:.3} ({hit}/{n})", *hit as f64 / *n as f64);
    }
    assert!(fp_rate <= 0.1, "false positives: {false_positives:#?}");
    for (kind, (hit, n)) in &recall {
        assert!(*hit as f64 / *n as f64 >= 0.9, "recall of {kind}: {hit}/{n}");
    }
}

#[test]
fn claims_compare_normalised_values() {
    let products = products();
    let bank = products
        .iter()
        .find(|p| p.attributes.get("capacity").is_some_and(|c| c.contains("mAh")))
        .unwrap();
    let checker = Checker::new(PolicyConfig::builtin());
    let cap = bank.attributes["capacity"].replace(' ', "");
    let ok = format!(
        "{} with {cap} capacity, ready for long trips away from a socket.",
        bank.title
    );
    assert!(
        checker
            .check(&draft(bank, &ok))
            .iter()
            .all(|f| f.check != "unsupported_claim.quantity")
    );
    let mut shirt = bank.clone();
    shirt.attributes = BTreeMap::from([("material".to_owned(), "polyester".to_owned())]);
    let text = "A soft cotton shirt that keeps its shape wash after wash, for every season.";
    let found = checker.check(&draft(&shirt, text));
    let m = found.iter().find(|f| f.check == "unsupported_claim.material").unwrap();
    assert_eq!(m.severity, CheckSeverity::High);
    assert!(m.message.contains("polyester"));
    assert_eq!(
        &text[m.span_start.unwrap() as usize..m.span_end.unwrap() as usize],
        "cotton"
    );
}

#[test]
fn risk_tiers_follow_the_policy() {
    let checker = Checker::new(PolicyConfig::builtin());
    let products = products();
    let p = &products[0];
    let clean = clean_text(p);
    let (_, d) = checker.review(&draft(p, &clean));
    assert_eq!((d.tier, d.route), (RiskTier::Auto, Route::Approved), "{}", d.reason);
    let leaky = format!("{clean} Call me on +44 20 7946 0958.");
    assert_eq!(checker.review(&draft(p, &leaky)).1.tier, RiskTier::Reject);
    let claim = format!("{clean} Comes with a 5-year warranty.");
    assert_eq!(checker.review(&draft(p, &claim)).1.tier, RiskTier::Human);
    let reply = Draft {
        use_case: "support_reply",
        ..draft(p, &clean)
    };
    assert_eq!(checker.review(&reply).1.route, Route::Review);
    let mut pricey = p.clone();
    pricey.price_minor = Some(99_999);
    let d = checker.review(&draft(&pricey, &clean)).1;
    assert_eq!(d.tier, RiskTier::Human);
    assert!(d.reason.contains("high-value"));
}

#[test]
fn the_audit_sample_is_stable_and_near_its_rate() {
    let checker = Checker::new(PolicyConfig::builtin());
    let products = products();
    let p = &products[0];
    let clean = clean_text(p);
    assert!(checker.check(&draft(p, &clean)).is_empty());
    let ids: Vec<String> = (0..4000).map(|i| format!("draft-{i}")).collect();
    let risk = &checker.config().risk;
    let sampled = |ids: &[String]| {
        ids.iter()
            .filter(|id| decide(&Draft { id, ..draft(p, &clean) }, &[], risk).audit_sample)
            .count()
    };
    let n = sampled(&ids);
    assert!((120..=280).contains(&n), "{n} of 4000 at 5%");
    assert_eq!(sampled(&ids), n);
}

#[test]
fn bad_policies_are_refused() {
    let broken = DEFAULT_POLICY_FOR_TESTS.replace("audit_rate = 0.05", "audit_rate = 2.0");
    assert!(
        PolicyConfig::parse(&broken)
            .unwrap_err()
            .to_string()
            .contains("audit_rate")
    );
    let typo = DEFAULT_POLICY_FOR_TESTS.replace("[language]", "[language]\nmin_confidance = 1");
    assert!(PolicyConfig::parse(&typo).is_err());
}

const DEFAULT_POLICY_FOR_TESTS: &str = include_str!("../../config/review-policy.toml");
