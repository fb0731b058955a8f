use std::collections::{BTreeMap, HashMap, HashSet};

use super::*;
use crate::lifecycle::inventory::tests::{approval, copy};
use crate::schema::{AuditEvent, ContentDraft};

const DAY: i64 = 86_400_000;

fn current() -> Current {
    Current {
        prompts: BTreeMap::from([("product_description".into(), "product_description@2".into())]),
        model: "m2".into(),
        policy: "p2".into(),
        max_age_days: BTreeMap::from([("product_description".into(), 30.0)]),
        now_ms: 100 * DAY,
    }
}

/// Three live descriptions: `old` (prompt @1, model m1, policy p1, approved on day 10), `new`
/// (prompt @2, model m2, policy p2, approved on day 95), `tpl` (written by the template on day 95
/// under p2, on prompt @2).
fn inventory() -> Inventory {
    let mut inv = Inventory::default();
    let old = copy("product_description", "old", "d-old");
    let new = with(
        copy("product_description", "new", "d-new"),
        "product_description@2",
        Some("m2"),
    );
    let mut tpl = with(
        copy("product_description", "tpl", "d-tpl"),
        "product_description@2",
        None,
    );
    tpl.generator = GeneratorKind::Template;
    for (d, day, policy) in [(&old, 10, "p1"), (&new, 95, "p2"), (&tpl, 95, "p2")] {
        inv.approved(&d.subject_key, Some(d.clone()));
        inv.audit(&AuditEvent {
            policy: Some(policy.into()),
            ..approval(d, "policy", day * DAY)
        });
    }
    inv
}

fn with(mut d: ContentDraft, prompt: &str, model: Option<&str>) -> ContentDraft {
    d.prompt = prompt.into();
    d.model = model.map(str::to_owned);
    d
}

fn keys(p: &Plan) -> Vec<&str> {
    p.items.iter().map(|i| i.subject_key.as_str()).collect()
}

fn select(reasons: &[Reason]) -> Selection {
    Selection {
        reasons: reasons.to_vec(),
        ..Selection::default()
    }
}

#[test]
fn each_reason_selects_exactly_the_copies_it_names() {
    let inv = inventory();
    let none = HashMap::new();
    let cases: [(Reason, &[&str]); 5] = [
        (Reason::Prompt, &["old"]),
        (Reason::Model, &["old"]),
        (Reason::Policy, &["old"]),
        (Reason::Age, &["old"]),
        (Reason::Fallback, &["tpl"]),
    ];
    for (reason, want) in cases {
        let p = plan(&inv, &current(), &select(&[reason]), &none);
        assert_eq!(keys(&p), want, "{reason:?}");
        assert_eq!(p.live, 3);
    }
    let all = plan(&inv, &current(), &Selection::default(), &none);
    assert_eq!(all.items.len(), 3, "no reason asked: the whole scope");
    assert!(all.items.iter().all(|i| i.reasons == [Reason::Requested]));
}

#[test]
fn reasons_widen_scope_filters_narrow() {
    let inv = inventory();
    let none = HashMap::new();
    let p = plan(&inv, &current(), &select(&[Reason::Prompt, Reason::Fallback]), &none);
    assert_eq!(keys(&p), ["old", "tpl"]);
    let only = Selection {
        subjects: Some(HashSet::from(["tpl".to_owned(), "new".to_owned()])),
        ..select(&[Reason::Prompt, Reason::Fallback])
    };
    assert_eq!(keys(&plan(&inv, &current(), &only, &none)), ["tpl"]);
    let other = Selection {
        use_cases: vec!["homepage_blurb".into()],
        ..Selection::default()
    };
    assert!(plan(&inv, &current(), &other, &none).items.is_empty());
}

#[test]
fn an_explicit_age_overrides_the_use_cases_limit() {
    let inv = inventory();
    let p = plan(
        &inv,
        &current(),
        &Selection {
            older_than_days: Some(1.0),
            ..select(&[Reason::Age])
        },
        &HashMap::new(),
    );
    assert_eq!(
        keys(&p),
        ["old", "new", "tpl"],
        "approved 90 and 5 days ago, oldest first"
    );
}

#[test]
fn long_tail_comes_first_then_head_then_non_products_and_category_filters() {
    let inv = inventory();
    let product = |segment, path: &[&str]| ProductInfo {
        segment,
        category_path: path.iter().map(|s| s.to_string()).collect(),
    };
    let products = HashMap::from([
        ("old".to_owned(), product(Segment::Head, &["Home", "Kitchen"])),
        ("tpl".to_owned(), product(Segment::LongTail, &["Home", "Bath"])),
    ]);
    let p = plan(&inv, &current(), &Selection::default(), &products);
    assert_eq!(keys(&p), ["tpl", "old", "new"]);
    let kitchen = Selection {
        category: Some(vec!["home".into(), "KITCHEN".into()]),
        ..Selection::default()
    };
    assert_eq!(keys(&plan(&inv, &current(), &kitchen, &products)), ["old"]);
}

#[test]
fn estimates_come_from_the_live_model_written_copies_and_meet_the_budget() {
    let inv = inventory();
    let mut p = plan(&inv, &current(), &Selection::default(), &HashMap::new());
    against_budgets(&mut p, &BTreeMap::from([("product_description".into(), 300)]));
    let e = &p.by_use_case["product_description"];
    // Two model-written copies of 150 tokens and 7 µ each; three items.
    assert_eq!((e.items, e.tokens), (3, Some(450)));
    assert!((e.cost.unwrap() - 21e-6).abs() < 1e-12);
    assert_eq!(e.budget_days, Some(1.5));
    assert_eq!(e.by_reason["requested"], 3);
}

#[test]
fn a_copy_without_a_recorded_policy_is_due_for_a_policy_refresh() {
    let mut inv = Inventory::default();
    let d = copy("product_description", "s", "d");
    inv.approved("s", Some(d.clone()));
    inv.audit(&AuditEvent {
        policy: None,
        ..approval(&d, "policy", 99 * DAY)
    });
    assert_eq!(
        keys(&plan(&inv, &current(), &select(&[Reason::Policy]), &HashMap::new())),
        ["s"]
    );
}

#[test]
fn the_gauges_count_each_use_cases_live_and_stale_copies() {
    let inv = inventory();
    let drafts: Vec<ContentDraft> = inv.live().map(|c| c.draft).collect();
    let stats = live_stats(&drafts, &current());
    let s = &stats["product_description"];
    assert_eq!(s.live, 3);
    // old: prompt, model, age (drafted on day 0 here: the approved topic alone has no approval
    // time); tpl: fallback, age; new: age.
    assert_eq!(s.stale.get("prompt"), Some(&1));
    assert_eq!(s.stale.get("model"), Some(&1));
    assert_eq!(s.stale.get("fallback"), Some(&1));
    assert_eq!(s.stale.get("any"), Some(&3));
    assert_eq!(s.oldest_ms, Some(1_000));
    assert!(
        !s.stale.contains_key("policy"),
        "the policy version is not on the approved topic"
    );
}
