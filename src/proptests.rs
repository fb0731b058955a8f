//! Arbitrary input, no panic: property tests over the decoders, parsers and pure functions that
//! see outside data and have no property test beside them (the wire framing, the catalog codec,
//! the importer, the normalisers, the PII redactor and the quality rules file have theirs), the
//! review policy file and the claim extractors, the taxonomy file and dead-letter headers.

use proptest::prelude::*;

use crate::generate::interests::{SkuActivity, fold};
use crate::generate::{Facts, PromptSet, UseCase, parse_output, template};
use crate::review::{Checker, Draft, PolicyConfig};
use crate::schema::{
    CheckResult, GeneratorKind, InteractionEvent, InteractionKind, Registry, ValidatedProduct, check_decodes, frame,
};

fn product(title: String, brand: String, attributes: Vec<(String, String)>, price: Option<i64>) -> ValidatedProduct {
    let mut p = crate::fixtures::sample_products().swap_remove(0);
    p.title = title;
    p.brand = Some(brand);
    p.attributes = attributes.into_iter().collect();
    p.price_minor = price;
    p
}

/// A product description to check, about `product` if given.
fn draft<'a>(text: &'a str, product: Option<&'a ValidatedProduct>) -> Draft<'a> {
    Draft {
        use_case: UseCase::ProductDescription.as_str(),
        text,
        title: None,
        product,
        locale: "en-US",
        generator: GeneratorKind::Model,
        id: "d",
        known_answers: &[],
    }
}

/// Every finding's span lies inside `text`, on character boundaries.
fn spans_inside(findings: &[CheckResult], text: &str) -> Result<(), TestCaseError> {
    for f in findings {
        if let (Some(s), Some(e)) = (f.span_start, f.span_end) {
            let (s, e) = (usize::try_from(s).unwrap(), usize::try_from(e).unwrap());
            prop_assert!(s <= e && e <= text.len(), "{f:?} outside {} bytes", text.len());
            prop_assert!(text.is_char_boundary(s) && text.is_char_boundary(e), "{f:?}");
        }
    }
    Ok(())
}

/// A fragment of copy that sets some claim extractor off, or an odd one.
fn claim_piece() -> impl Strategy<Value = &'static str> {
    proptest::sample::select(vec![
        " ",
        ", ",
        ". ",
        "\n",
        "-",
        "'s",
        "’",
        "%",
        " x ",
        "/-",
        "(",
        ")",
        "<b>",
        "</p>",
        "&amp;",
        "\u{200b}",
        "\u{301}",
        "₹",
        "Rs.",
        "Rs ",
        "INR ",
        "$",
        "£",
        "€",
        "1",
        "2",
        "12",
        "1,49,999",
        "0.5",
        "99.99",
        "3 lakh",
        "½",
        "mm",
        "cm",
        "kg",
        "g",
        "ml",
        "L",
        "mAh",
        "W",
        "inch",
        "\"",
        "m",
        "GB",
        "two",
        "a",
        "dozen",
        "thirty",
        "-five",
        "set of ",
        "pack of ",
        "pair",
        "pieces",
        "pockets",
        "100% ",
        "pure ",
        "genuine ",
        "leather",
        "PU",
        "cotton",
        "blend",
        "solid ",
        "brass",
        "plated",
        "waterproof",
        "not ",
        "no ",
        "non-",
        "-free",
        "anti-",
        "BIS",
        " certified",
        "hallmarked",
        "warranty",
        " year",
        " months",
        "lifetime",
        "guarantee",
        "returns",
        "replacement",
        "fits ",
        "compatible with ",
        "works with ",
        "for ",
        "iPhone 12",
        "any ",
        "all ",
        "comes with ",
        "includes ",
        "built-in ",
        "with a ",
        "strap",
        "battery",
        "charger",
        "relieves ",
        "pain",
        "safe for ",
        "babies",
        "cures",
        "Amazon",
        "Myntra",
        "better than ",
        "Nike",
        "best",
        "never ",
        "No. 1",
        "risk-free",
        "call ",
        "+91 98450 12673",
        "555-0199",
        "a@b.co",
        "12 MG Road",
        "name@ybl",
        "4111 1111 1111 1111",
        "refund",
        "within 24 hours",
        "tomorrow",
        "free ",
        "coupon",
        "discount",
        "off",
        "MRP",
        "under ",
        "half price",
        "ß",
        "é",
        "नमस्ते",
        "中文",
        "🙂",
        "Ｆｕｌｌ",
        "İ",
        "ǅ",
    ])
}

fn kind(k: u8) -> InteractionKind {
    [
        InteractionKind::View,
        InteractionKind::Search,
        InteractionKind::Cart,
        InteractionKind::Purchase,
        InteractionKind::Review,
        InteractionKind::Question,
        InteractionKind::SupportMessage,
    ][usize::from(k) % 7]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_schema_decodes_arbitrary_bodies_without_panicking(body in proptest::collection::vec(any::<u8>(), 0..200)) {
        let r = Registry::builtin();
        for name in r.names() {
            for v in r.versions(name) {
                let _ = check_decodes(r, name, &frame(v.id, &body));
            }
        }
    }

    #[test]
    fn checks_take_any_text_and_mark_spans_inside_it(
        text in "\\PC{0,300}",
        title in "\\PC{0,40}",
        attributes in proptest::collection::vec(("[a-z_]{1,10}", "\\PC{0,20}"), 0..5),
        price in proptest::option::of(-10i64..100_000),
        use_case in 0usize..4,
    ) {
        let checker = Checker::new(PolicyConfig::builtin());
        let p = product(title, "Brand".into(), attributes, price);
        let (findings, _) = checker.review(&Draft {
            use_case: UseCase::ALL[use_case].as_str(),
            ..draft(&text, Some(&p))
        });
        spans_inside(&findings, &text)?;
    }

    /// The claim extractors see words that set them off (numbers, units, money, cues,
    /// negations, hyphens, markup, other scripts) in any order, in texts and in records.
    #[test]
    fn claim_extractors_take_claim_shaped_text_and_facts_of_any_order(
        pieces in proptest::collection::vec(claim_piece(), 0..60),
        record in proptest::collection::vec(claim_piece(), 0..30),
        keys in proptest::collection::vec(prop_oneof![Just("Pack of"), Just("Material"), Just("Warranty Summary"), Just("Water Resistant"), Just("note"), Just("Compatible Models"), Just("Sales Package")], 0..6),
        locale in prop_oneof![Just("en-IN"), Just("en-US"), Just("en-GB"), Just("de-DE"), Just(""), Just("xx_YY")],
        reply in any::<bool>(),
        price in proptest::option::of(-10i64..10_000_000_000),
    ) {
        let text = pieces.concat();
        let values: Vec<String> = record.chunks(3).map(<[&str]>::concat).collect();
        let attributes: Vec<(String, String)> = keys.iter().map(|k| (*k).to_owned()).zip(values.iter().cloned()).collect();
        let mut p = product(values.concat(), "Brand".into(), attributes, price);
        p.description = Some(record.concat());
        p.currency = Some(if locale == "en-IN" { "INR" } else { "USD" }.into());
        let known: Vec<String> = values.clone();
        // One checker for every case: compiling the packs is most of a case's time otherwise.
        static CHECKER: std::sync::LazyLock<Checker> = std::sync::LazyLock::new(|| Checker::new(PolicyConfig::builtin()));
        let (findings, _) = CHECKER.review(&Draft {
            use_case: if reply { "support_reply" } else { "product_description" },
            locale,
            known_answers: &known,
            ..draft(&text, Some(&p))
        });
        spans_inside(&findings, &text)?;
    }

    #[test]
    fn model_output_of_any_shape_parses_or_is_refused(raw in "\\PC{0,400}", use_case in 0usize..4) {
        let _ = parse_output(UseCase::ALL[use_case], &raw);
    }

    #[test]
    fn prompts_and_templates_render_any_facts(
        title in "\\PC{0,60}",
        brand in "\\PC{0,20}",
        attributes in proptest::collection::vec(("\\PC{1,10}", "\\PC{0,30}"), 0..8),
        message in "\\PC{0,200}",
    ) {
        let p = product(title, brand, attributes, Some(1999));
        let e = InteractionEvent {
            customer_id: "C".into(),
            kind: InteractionKind::Question,
            sku: Some(p.sku.clone()),
            text: Some(message),
            event_time_ms: 0,
            channel: "web".into(),
            locale: "en-US".into(),
        };
        let ids: Vec<String> = UseCase::ALL.iter().map(|u| format!("{u}@1")).collect();
        let prompts = PromptSet::load(None, &ids).unwrap();
        for facts in [
            Facts::product_description(&p),
            Facts::support_reply(&e, Some(&p), &["Orders ship in 2 days.".to_owned()]),
            Facts::homepage_blurb(&p.title, std::slice::from_ref(&p.title), std::slice::from_ref(&p), "en-US"),
            Facts::email_campaign(&p.title, std::slice::from_ref(&p), "en-US"),
        ] {
            let rendered = prompts.get(facts.use_case).unwrap().render(&facts, 4000);
            prop_assert!(!rendered.user.is_empty());
            let _ = template::generate(&facts);
        }
    }

    #[test]
    fn profiles_stay_within_their_window_in_any_order(
        events in proptest::collection::vec((any::<u8>(), -50i64..50, proptest::option::of("[a-c]"), proptest::option::of("\\PC{0,90}")), 0..40),
        window in 1i64..10,
    ) {
        let mut profile = None;
        let mut activity = SkuActivity::default();
        for (k, day, category, text) in events {
            let e = InteractionEvent {
                customer_id: "C".into(),
                kind: kind(k),
                sku: Some("S".into()),
                text,
                event_time_ms: day * 86_400_000 + 7,
                channel: "web".into(),
                locale: "en-US".into(),
            };
            let p = fold(profile, &e, category.as_deref(), window, 0);
            prop_assert!(p.days.windows(2).all(|w| w[0].day < w[1].day), "days sorted and unique");
            if let (Some(first), Some(last)) = (p.days.first(), p.days.last()) {
                prop_assert!(last.day - first.day < window);
            }
            prop_assert!(p.interests.len() <= 3);
            prop_assert!(p.interests.first().is_none_or(|i| *i == p.segment));
            activity.record(&e, window);
            profile = Some(p);
        }
        prop_assert!(activity.within(100, window) <= 40);
    }

    /// A review policy is operator input (`stages.review.policy_file`): any file parses or is
    /// refused with a message, and a policy that parsed checks any text without panicking,
    /// every finding's span inside it. (Mostly valid values, so most files parse; the rarer
    /// misspelt names and out-of-range numbers must be refused.)
    #[test]
    fn any_policy_file_parses_or_is_refused_and_checks_any_text(
        terms in proptest::collection::vec(proptest::collection::vec("\\PC{0,10}", 0..4), 7),
        lengths in proptest::collection::vec((prop_oneof![
            9 => "(product_description|homepage_blurb|email_campaign|support_reply|email_subject)",
            1 => "product_descripton",
        ], 0usize..300, 0usize..300), 0..3),
        min_confidence in prop_oneof![9 => 0.0..=1.0f64, 1 => Just(f64::NAN), 1 => Just(1.5)],
        audit_rate in prop_oneof![9 => 0.0..=1.0f64, 1 => Just(-0.1)],
        severities in (0usize..5, 0usize..5),
        also_human in proptest::option::of(prop_oneof![9 => "(email_campaign|homepage_blurb)", 1 => "emial_campaign"]),
        text in "\\PC{0,200}",
    ) {
        use crate::fixtures::{toml_float, toml_list};
        let severity = ["info", "low", "medium", "high", "critical"];
        let lengths: Vec<String> = lengths.iter().map(|(k, a, more)| format!("{k} = [{a}, {}]", a + more)).collect();
        let human_use_cases: Vec<String> = ["support_reply".to_owned()].into_iter().chain(also_human).collect();
        let toml = format!(
            "[terms]\nbanned = {}\ncompetitors = {}\nmedical = {}\nsuperlatives = {}\nprofanity = {}\n\
             [claims]\nmaterials = {}\ncertifications = {}\n[length]\n{}\n\
             [language]\nmin_confidence = {}\nmin_chars = 10\n\
             [risk]\nreject_at = \"{}\"\nhuman_at = \"{}\"\nhuman_use_cases = {}\nhuman_above_price = {{ USD = 500 }}\n\
             sensitive_categories = [\"Health\"]\nhuman_generators = []\naudit_rate = {}\n",
            toml_list(&terms[0]), toml_list(&terms[1]), toml_list(&terms[2]), toml_list(&terms[3]),
            toml_list(&terms[4]), toml_list(&terms[5]), toml_list(&terms[6]), lengths.join("\n"),
            toml_float(min_confidence), severity[severities.0.max(severities.1)], severity[severities.0.min(severities.1)],
            toml_list(&human_use_cases), toml_float(audit_rate),
        );
        match PolicyConfig::parse(&toml) {
            Ok(cfg) => {
                let p = product("Enamel mug".into(), "Brand".into(), vec![], Some(1200));
                let (findings, _) = Checker::new(cfg).review(&draft(&text, Some(&p)));
                spans_inside(&findings, &text)?;
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    /// A content team lists terms in its shop's languages: a listed term is found wherever the
    /// text holds it as a whole word, whatever its script.
    #[test]
    fn a_listed_term_is_found_as_a_whole_word_in_any_script(term in "\\w([\\w ]{0,10}\\w)?", before in "[ .,(]", after in "[ .,)]") {
        let mut cfg = PolicyConfig::builtin();
        cfg.terms.banned = vec![term.clone()];
        let text = format!("A mug{before}{term}{after}for tea.");
        let (findings, _) = Checker::new(cfg).review(&draft(&text, None));
        prop_assert!(findings.iter().any(|f| f.check == "banned_term"), "'{term}' not found in '{text}': {findings:?}");
    }

    /// A taxonomy file is operator input (`stages.quality.taxonomy_file`): any text parses or is
    /// refused, and any category path maps without panicking onto what parsed.
    #[test]
    fn any_taxonomy_text_parses_or_is_refused_and_any_path_maps(
        text in "([0-9]{1,4} - [\\PC&&[^\n>]]{0,12}( > [\\PC&&[^\n>]]{0,12}){0,3}\n|\\PC{0,20}\n){0,12}",
        path in "\\PC{0,60}",
    ) {
        if let Ok(t) = crate::quality::taxonomy::Taxonomy::parse(&text) {
            let segments = crate::quality::taxonomy::split_path(&path);
            let _ = t.map(&segments);
        }
        let _ = crate::quality::taxonomy::Taxonomy::sample().map(&crate::quality::taxonomy::split_path(&path));
    }

    /// Dead letters come back with arbitrary headers (anything could have written them): a
    /// replay filter and the replayed headers never panic, and replaying drops every DLQ header.
    #[test]
    fn dead_letter_headers_of_any_shape_replay_cleanly(
        headers in proptest::collection::vec(("(galley\\.|__connect\\.errors\\.)?[a-z.]{0,20}", proptest::collection::vec(any::<u8>(), 0..20)), 0..12),
        stage in proptest::option::of("[a-z]{0,6}"),
    ) {
        let filter = crate::runtime::replay::ReplayFilter { stage, ..Default::default() };
        let _ = crate::runtime::replay::matches(&headers, &filter);
        let kept = crate::runtime::replay::replay_headers(&headers);
        prop_assert!(kept.iter().all(|(k, _)| !crate::runtime::dlq::is_dlq_header(k)));
    }
}

/// Found by the property above: an email's first line with a multi-byte character across byte 8
/// made the subject check slice inside it (a panic on model output).
#[test]
fn a_multibyte_character_across_the_subject_prefix_is_no_panic() {
    let parsed = parse_output(UseCase::EmailCampaign, "abcdefg\u{20ac} not a subject\nbody text");
    assert!(parsed.is_err(), "no subject line: {parsed:?}");
}
