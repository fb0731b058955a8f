//! Rule-set parsing and scoping.

use super::*;

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
