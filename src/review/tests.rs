//! Check and policy tests, and the evaluation: clean texts built only from product records,
//! plus the same texts with one injected defect of each kind; recall per kind must reach 0.9 and
//! the false-positive rate on clean text stay under 0.1. Run over the invented
//! `samples/catalog.jsonl`, and over the real Flipkart export in `../shared/data` when present
//! (there, a false positive is clean text the policy would not auto-approve: low findings such
//! as a superlative inside a brand name do not cost a reviewer anything).

use std::collections::BTreeMap;

use super::*;

fn products() -> Vec<ValidatedProduct> {
    crate::fixtures::sample_products()
}

/// A plain description using only the record's facts (at most 8 short attributes, so real
/// records with dozens of specifications stay within a description's length).
fn clean_text(p: &ValidatedProduct) -> String {
    let mut t = format!("{} from {}. ", p.title, p.brand.as_deref().unwrap_or("our shop"));
    for (k, v) in p
        .attributes
        .iter()
        .filter(|(k, v)| !k.is_empty() && v.len() <= 60)
        .take(8)
    {
        let mut key = k.chars();
        let first = key.next().map(|c| c.to_uppercase().to_string()).unwrap_or_default();
        t.push_str(&format!("{first}{}: {v}. ", key.as_str()));
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
        known_answers: &[],
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

/// Evaluation figures over one set of products.
#[derive(Default)]
struct Evaluation {
    products: usize,
    /// Clean texts with any finding.
    flagged: Vec<String>,
    /// Clean texts the policy would not auto-approve.
    misrouted: Vec<String>,
    /// Per defect kind: (found, injected).
    recall: BTreeMap<&'static str, (usize, usize)>,
}

fn evaluate(products: &[ValidatedProduct]) -> Evaluation {
    let checker = Checker::new(PolicyConfig::builtin());
    let mut e = Evaluation {
        products: products.len(),
        ..Evaluation::default()
    };
    let german = "Dieses Produkt ist sehr praktisch und eignet sich hervorragend für den täglichen Gebrauch zu Hause und unterwegs, sagen unsere Kunden.";
    for (i, p) in products.iter().enumerate() {
        let clean = clean_text(p);
        let found = checker.check(&draft(p, &clean));
        if !found.is_empty() {
            e.flagged.push(format!("{}: {:?}", p.sku, found));
        }
        let (_, decision) = checker.review(&draft(p, &clean));
        if decision.route != Route::Approved {
            e.misrouted.push(format!("{}: {}", p.sku, decision.reason));
        }
        // Out-of-policy length and language need whole texts, not an appended sentence.
        let long = format!(
            "{clean} {}",
            "Plenty more words here about nothing new at all, varied a little. ".repeat(30)
        );
        let injected = DEFECTS
            .iter()
            .map(|(kind, phrasings)| (*kind, format!("{clean}{}", phrasings[i % phrasings.len()])))
            .chain([("length", long), ("language", german.to_owned())]);
        for (kind, text) in injected {
            // A defect the clean text already has cannot be told apart from the injected one.
            if found.iter().any(|f| f.check == kind) {
                continue;
            }
            let hit = checker.check(&draft(p, &text)).iter().any(|f| f.check == kind);
            let r = e.recall.entry(kind).or_default();
            r.0 += usize::from(hit);
            r.1 += 1;
        }
    }
    e
}

/// Prints the figures; panics below recall 0.9 or above the false-positive rate 0.1 of
/// `false_positives`.
fn check_evaluation(name: &str, e: &Evaluation, false_positives: &[String]) {
    let rate = |n: usize| n as f64 / e.products.max(1) as f64;
    eprintln!(
        "evaluation over {} {name} products: flagged clean texts {:.3}, clean texts not auto-approved {:.3}",
        e.products,
        rate(e.flagged.len()),
        rate(e.misrouted.len())
    );
    for (kind, (hit, n)) in &e.recall {
        eprintln!("  recall {kind:<34} {:.3} ({hit}/{n})", *hit as f64 / *n as f64);
    }
    assert!(
        rate(false_positives.len()) <= 0.1,
        "false positives: {false_positives:#?}"
    );
    for (kind, (hit, n)) in &e.recall {
        assert!(*hit as f64 / *n as f64 >= 0.9, "recall of {kind}: {hit}/{n}");
    }
}

#[test]
fn evaluation_recall_and_false_positives() {
    let e = evaluate(&products());
    assert_eq!(e.recall.len(), DEFECTS.len() + 2, "every defect kind was injected");
    check_evaluation("sample", &e, &e.flagged);
}

#[test]
fn evaluation_on_the_real_flipkart_export() {
    let Some(products) = crate::fixtures::flipkart_products(300) else {
        eprintln!("SKIPPED: no Flipkart export (CSV with pid and product_specifications columns) under ../shared/data");
        return;
    };
    assert!(
        products.len() >= 50,
        "only {} valid products in the export",
        products.len()
    );
    let e = evaluate(&products);
    check_evaluation("Flipkart", &e, &e.misrouted);
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
    let unseen = DEFAULT_POLICY_FOR_TESTS.replace(
        "human_use_cases = [\"support_reply\", \"email_campaign\"]",
        "human_use_cases = [\"email_campaign\"]",
    );
    assert_ne!(unseen, DEFAULT_POLICY_FOR_TESTS);
    let err = PolicyConfig::parse(&unseen).unwrap_err().to_string();
    assert!(
        err.contains("support replies") || err.contains("support_reply"),
        "{err}"
    );
    // Misspelt names would switch a rule off without a word; out-of-range numbers likewise.
    for (from, to, wanted) in [
        (
            "product_description = [80, 1500]",
            "product_descripton = [80, 1500]",
            "length.product_descripton: not a use case",
        ),
        (
            r#""support_reply", "email_campaign"]"#,
            r#""support_reply", "emial_campaign"]"#,
            "'emial_campaign' is not a use case",
        ),
        (
            "min_confidence = 0.9",
            "min_confidence = nan",
            "language.min_confidence NaN must be within 0 and 1",
        ),
    ] {
        let changed = DEFAULT_POLICY_FOR_TESTS.replace(from, to);
        assert_ne!(changed, DEFAULT_POLICY_FOR_TESTS, "{from}");
        let err = PolicyConfig::parse(&changed).unwrap_err().to_string();
        assert!(err.contains(wanted), "{err}");
    }
}

#[test]
fn terms_in_other_scripts_match_as_whole_words() {
    let mut cfg = PolicyConfig::builtin();
    cfg.terms.superlatives = vec!["inégalé".into(), "सर्वश्रेष्ठ".into(), "Élite".into()];
    let checker = Checker::new(cfg);
    let p = &products()[0];
    for text in ["Une tasse inégalé.", "यह सर्वश्रेष्ठ मग है", "Notre gamme élite, en fonte."]
    {
        let (findings, _) = checker.review(&draft(p, text));
        assert!(
            findings.iter().any(|f| f.check == "superlative"),
            "{text}: {findings:?}"
        );
    }
    // Still whole words only.
    let (findings, _) = checker.review(&draft(p, "Sans égal: inégalées."));
    assert!(!findings.iter().any(|f| f.check == "superlative"), "{findings:?}");
}

const DEFAULT_POLICY_FOR_TESTS: &str = include_str!("../../config/review-policy.toml");
