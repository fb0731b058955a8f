//! Rule-set parsing and scoping.

use proptest::prelude::*;

use super::*;
use crate::fixtures::{toml_float, toml_list, toml_str};

const MINIMAL: &str = r#"
    [completeness]
    min_score = 0.5
    attributes_full_at = 3
    weights = { title = 1.0 }
    [taxonomy]
    ancestor = "info"
    unmapped = "error"
    [segment]
    head_min_description_chars = 200
"#;

fn with_rule(rule: &str) -> Result<RuleSet, RulesError> {
    RuleSet::parse(&format!("{MINIMAL}\n[[rule]]\n{rule}"))
}

#[test]
fn the_shipped_rules_compile() {
    assert!(RuleSet::builtin().ids().count() >= 8);
}

#[test]
fn bad_rules_are_named() {
    for (rule, wanted) in [
        (
            "id = \"t\"\ncheck = \"length\"",
            "rule 't': check 'length' needs `field`",
        ),
        ("id = \"t\"\ncheck = \"nope\"", "unknown check 'nope'"),
        (
            "id = \"t\"\ncheck = \"length\"\nfield = \"images\"",
            "works on text fields",
        ),
        (
            "id = \"t\"\ncheck = \"forbidden_pattern\"\nfield = \"title\"\npattern = \"(\"",
            "bad pattern",
        ),
        (
            "id = \"t\"\ncheck = \"required\"\nfeilds = [\"title\"]",
            "unknown field `feilds`",
        ),
    ] {
        let err = with_rule(rule).unwrap_err().to_string();
        assert!(err.contains(wanted), "{err}");
    }
    let dup = format!(
        "{MINIMAL}\n[[rule]]\nid=\"a\"\ncheck=\"price_positive\"\n[[rule]]\nid=\"a\"\ncheck=\"price_positive\""
    );
    assert!(RuleSet::parse(&dup).unwrap_err().to_string().contains("used twice"));
}

#[test]
fn a_completeness_score_that_could_leave_0_to_1_is_refused() {
    for (from, to, wanted) in [
        (
            "min_score = 0.5",
            "min_score = 1.5",
            "completeness.min_score 1.5 must be within 0 and 1",
        ),
        (
            "min_score = 0.5",
            "min_score = nan",
            "completeness.min_score NaN must be within 0 and 1",
        ),
        (
            "{ title = 1.0 }",
            "{ title = 1.0, category = -2.0 }",
            "completeness.weights.category -2",
        ),
        (
            "{ title = 1.0 }",
            "{ title = inf }",
            "completeness.weights.title inf must be a finite number",
        ),
    ] {
        let err = RuleSet::parse(&MINIMAL.replace(from, to)).unwrap_err().to_string();
        assert!(err.contains(wanted), "{err}");
    }
}

#[test]
fn category_scoped_rules_apply_only_there() {
    let set = with_rule(
        "id = \"phone.battery\"\ncheck = \"required_attributes\"\nattributes = [\"Battery Capacity\"]\n\
         categories = [\"Electronics > Phones\"]\nseverity = \"warn\"",
    )
    .unwrap();
    let mut p = Normalised {
        category_path: vec!["Electronics".into(), "Phones".into(), "Smart".into()],
        ..Normalised::default()
    };
    let mut out = vec![];
    set.evaluate(&p, &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].severity, Severity::Warn);
    p.attributes.insert("battery capacity".into(), "5000 mAh".into());
    out.clear();
    set.evaluate(&p, &mut out);
    assert!(out.is_empty());
    p.category_path = vec!["Home".into()];
    p.attributes.clear();
    set.evaluate(&p, &mut out);
    assert!(out.is_empty());
}

const CHECKS: [&str; 10] = [
    "required",
    "required_attributes",
    "price_positive",
    "discount_not_above_list",
    "currency_iso4217",
    "length",
    "banned_chars",
    "min_count",
    "forbidden_pattern",
    "no_such_check",
];
const FIELDS: [&str; 10] = [
    "title",
    "brand",
    "category",
    "price",
    "list_price",
    "currency",
    "description",
    "images",
    "attributes",
    "colour",
];

fn arb_weight() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => 0.0..10.0f64,
        1 => Just(0.0),
        1 => Just(-1.0),
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
    ]
}

/// One `[[rule]]` table of any shape: known and unknown checks and fields, parameters present
/// or not, patterns that may not compile, ids that may repeat.
fn arb_rule() -> impl Strategy<Value = String> {
    (
        (0usize..4, 0..CHECKS.len(), proptest::option::of(0..FIELDS.len())),
        proptest::collection::vec(0..FIELDS.len(), 0..3),
        (proptest::option::of(0usize..300), proptest::option::of(0usize..300)),
        (
            proptest::option::of("[a-z()\\[\\]*+?\\\\|.^$]{0,8}"),
            proptest::option::of("\\PC{0,4}"),
        ),
        proptest::collection::vec("\\PC{0,12}", 0..3),
        proptest::collection::vec("\\PC{0,12}", 0..3),
    )
        .prop_map(
            |((id, check, field), fields, (min, max), (pattern, chars), attributes, categories)| {
                let mut t = format!("[[rule]]\nid = \"r{id}\"\ncheck = \"{}\"\n", CHECKS[check]);
                if let Some(f) = field {
                    t += &format!("field = \"{}\"\n", FIELDS[f]);
                }
                if !fields.is_empty() {
                    let names: Vec<String> = fields.iter().map(|&f| FIELDS[f].to_owned()).collect();
                    t += &format!("fields = {}\n", toml_list(&names));
                }
                for (key, n) in [("min", min), ("max", max)] {
                    if let Some(n) = n {
                        t += &format!("{key} = {n}\n");
                    }
                }
                for (key, s) in [("pattern", pattern), ("chars", chars)] {
                    if let Some(s) = s {
                        t += &format!("{key} = {}\n", toml_str(&s));
                    }
                }
                t + &format!(
                    "attributes = {}\ncategories = {}\n",
                    toml_list(&attributes),
                    toml_list(&categories)
                )
            },
        )
}

proptest! {
    // Most arbitrary files are refused; enough cases that some dozens compile with rules.
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// A rules file is operator input (`stages.quality.rules_file`): any file compiles or is
    /// refused with a message, and a compiled one judges any product without panicking and
    /// scores its completeness within 0..=1 (a score outside would silently pass or fail
    /// every product against `min_score`).
    #[test]
    fn any_rules_file_compiles_or_is_refused_and_judges_any_product(
        weights in proptest::collection::btree_map(0..FIELDS.len() - 1, arb_weight(), 0..5),
        min_score in prop_oneof![6 => 0.0..=1.0f64, 1 => arb_weight()],
        full_at in 0usize..5,
        rules in proptest::collection::vec(arb_rule(), 0..4),
        title in proptest::option::of("\\PC{0,40}"),
        category in proptest::collection::vec("\\PC{0,12}", 0..3),
        attributes in proptest::collection::btree_map("[a-z ]{1,10}", "\\PC{0,12}", 0..4),
        price in proptest::option::of(-5i64..5),
    ) {
        let weights: Vec<String> = weights.iter().map(|(&f, &w)| format!("{} = {}", FIELDS[f], toml_float(w))).collect();
        let text = format!(
            "[completeness]\nmin_score = {}\nattributes_full_at = {full_at}\nweights = {{ {} }}\n\
             [taxonomy]\nancestor = \"info\"\nunmapped = \"error\"\n[segment]\nhead_min_description_chars = 200\n{}",
            toml_float(min_score),
            weights.join(", "),
            rules.join("\n"),
        );
        match RuleSet::parse(&text) {
            Ok(set) => {
                let full = Normalised {
                    title,
                    category_path: category,
                    price_minor: price,
                    currency: Some("EUR".into()),
                    attributes,
                    ..Normalised::default()
                };
                for p in [Normalised::default(), full] {
                    set.evaluate(&p, &mut Vec::new());
                    let score = crate::quality::completeness(&p, &set.completeness);
                    prop_assert!((0.0..=1.0).contains(&score), "completeness {score} from\n{text}");
                }
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }
}
