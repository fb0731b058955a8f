//! The review stage on a real broker: drafts are routed by the checks against the product
//! records on their topic, human decisions publish, re-queue or reject, audit samples can be
//! taken down, every outcome is on the audit topic, and `galley report` computes the success
//! metrics from it.
#![cfg(feature = "kafka-it")]

mod common;

use std::time::Duration;

use common::draft_record as draft;
use common::*;
use galley::config::GalleyConfig;
use galley::schema::{
    AuditEvent, ContentDraft, DecisionAction, Registry, ReviewDecision, ReviewOutcome, Route, ValidatedProduct, encode,
    names,
};
use rdkafka::Message;

struct Topics {
    products: String,
    drafts: String,
    decisions: String,
    approved: String,
    review: String,
    rejected: String,
    audit: String,
    dlq: String,
}

async fn topics(name: &str) -> Topics {
    let t = |s: &str| unique(&format!("{name}-{s}"));
    let t = Topics {
        products: t("prod"),
        drafts: t("drafts"),
        decisions: t("dec"),
        approved: t("appr"),
        review: t("rev"),
        rejected: t("rej"),
        audit: t("audit"),
        dlq: t("dlq"),
    };
    let all = [
        &t.products,
        &t.drafts,
        &t.decisions,
        &t.approved,
        &t.review,
        &t.rejected,
        &t.audit,
        &t.dlq,
    ];
    create_topics(&all.map(String::as_str), 2).await;
    t
}

/// The review stage's config on `t`, with the built-in policy at `audit_rate`.
fn review_config(t: &Topics, audit_rate: f64, dir: &tempfile::TempDir) -> GalleyConfig {
    let mut cfg = config(&unique("review"));
    cfg.topics.dlq = t.dlq.clone();
    cfg.runtime.retry.max_attempts = 3;
    cfg.runtime.retry.initial_delay_ms = 50;
    cfg.runtime.retry.max_delay_ms = 100;
    // Support replies are in shadow by default; these tests review them live.
    let live = cfg.rollout["product_description"].clone();
    cfg.rollout.insert("support_reply".into(), live);
    let r = &mut cfg.stages.review;
    r.drafts = t.drafts.clone();
    r.decisions = t.decisions.clone();
    r.approved = t.approved.clone();
    r.review = t.review.clone();
    r.rejected = t.rejected.clone();
    r.audit = t.audit.clone();
    r.products = t.products.clone();
    r.table_load_timeout_ms = 10_000;
    let policy = include_str!("../config/review-policy.toml")
        .replace("audit_rate = 0.05", &format!("audit_rate = {audit_rate}"));
    assert!(
        policy.contains(&format!("audit_rate = {audit_rate}")),
        "the built-in policy changed"
    );
    let path = dir.path().join("policy.toml");
    std::fs::write(&path, policy).unwrap();
    r.policy_file = Some(path);
    cfg
}

/// The sample power bank (10000 mAh, 210 g) under each of `skus`, on the products topic.
async fn power_banks(t: &Topics, skus: &[&str]) {
    let base = sample_products().swap_remove(0);
    assert_eq!(base.attributes["capacity"], "10000 mAh");
    let banks: Vec<ValidatedProduct> = skus
        .iter()
        .map(|sku| ValidatedProduct {
            sku: (*sku).to_string(),
            ..base.clone()
        })
        .collect();
    produce(&producer(), &t.products, &product_records(&banks)).await;
}

const GOOD: &str = "A slim VoltCell power bank that holds 10000 mAh, enough to top up a phone on a long day out. \
                    It weighs 210 g and slips into a jacket pocket.";
const CLAIM: &str = "A slim VoltCell power bank that holds 20000 mAh, enough to top up a phone on a long day out. \
                     It weighs 210 g and slips into a jacket pocket.";

fn decision(key: &str, action: DecisionAction, edited: Option<&str>, reason: Option<&str>) -> (String, Vec<u8>) {
    let d = ReviewDecision {
        draft_id: format!("d-{key}"),
        reviewer: "ana".into(),
        action,
        edited_text: edited.map(str::to_owned),
        reason: reason.map(str::to_owned),
        decided_ms: 1_764_000_060_000,
    };
    (
        key.into(),
        encode(Registry::builtin(), names::REVIEW_DECISION, &d).unwrap(),
    )
}

#[tokio::test]
async fn drafts_are_routed_human_decisions_settle_them_and_every_outcome_is_audited() {
    let t = topics("rev-flow").await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = review_config(&t, 0.0, &dir);
    power_banks(&t, &["ok", "claim-edit", "claim-bad-edit", "claim-reject", "pii"]).await;
    let (run, metrics) = start_review(&cfg);
    let p = producer();
    produce(
        &p,
        &t.drafts,
        &[
            draft("product_description", "ok", GOOD),
            draft("product_description", "claim-edit", CLAIM),
            draft("product_description", "claim-bad-edit", CLAIM),
            draft("product_description", "claim-reject", CLAIM),
            draft(
                "product_description",
                "pii",
                &format!("{GOOD} Questions? Call 555-123-4567."),
            ),
            draft(
                "support_reply",
                "cust-1",
                "Thank you for asking. It charges a phone about twice; a colleague will follow up.",
            ),
        ],
    )
    .await;
    assert!(wait_until(Duration::from_secs(60), || finished(&metrics, "review") >= 6).await);
    let queued: Vec<(String, ReviewOutcome)> = decoded(
        &read_at_least(&t.review, 4, Duration::from_secs(30)).await,
        names::REVIEW_OUTCOME,
    );
    let mut queued_keys: Vec<_> = queued.iter().map(|(k, _)| k.as_str()).collect();
    queued_keys.sort_unstable();
    assert_eq!(queued_keys, ["claim-bad-edit", "claim-edit", "claim-reject", "cust-1"]);
    let claim = &queued.iter().find(|(k, _)| k == "claim-edit").unwrap().1;
    let finding = claim
        .checks
        .iter()
        .find(|c| c.check == "unsupported_claim.quantity")
        .expect("the 20000 mAh claim is found");
    assert_eq!(
        &CLAIM[finding.span_start.unwrap() as usize..finding.span_end.unwrap() as usize],
        "20000 mAh"
    );

    produce(
        &p,
        &t.decisions,
        &[
            decision("claim-edit", DecisionAction::Edit, Some(GOOD), None),
            decision(
                "claim-bad-edit",
                DecisionAction::Edit,
                Some(&CLAIM.replace("slim", "sleek")),
                None,
            ),
            decision("claim-reject", DecisionAction::Reject, None, Some("wrong capacity")),
            decision("cust-1", DecisionAction::Approve, None, None),
            decision("never-queued", DecisionAction::Approve, None, None),
        ],
    )
    .await;
    assert!(wait_until(Duration::from_secs(60), || finished(&metrics, "review") >= 11).await);
    run.stop().await;

    // Books: 6 drafts + 5 decisions = 11 outcomes; the decision for a draft never queued was
    // retried, then dead-lettered for a replay.
    let mut outcomes = metrics.outcomes("review");
    outcomes.sort();
    assert_eq!(
        outcomes,
        [("approved", 3), ("dlq", 1), ("rejected", 2), ("review", 5)].map(|(o, n)| (o.to_string(), n))
    );
    let approved: Vec<(String, ContentDraft)> = decoded(
        &read_at_least(&t.approved, 3, Duration::from_secs(30)).await,
        names::CONTENT_DRAFT,
    );
    let mut by_key: Vec<_> = approved.iter().map(|(k, d)| (k.as_str(), d.text.as_str())).collect();
    by_key.sort_unstable();
    assert_eq!(
        by_key.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
        ["claim-edit", "cust-1", "ok"]
    );
    assert_eq!(by_key[0].1, GOOD, "the edit is what is published");
    let rejected: Vec<(String, ReviewOutcome)> = decoded(
        &read_at_least(&t.rejected, 2, Duration::from_secs(30)).await,
        names::REVIEW_OUTCOME,
    );
    let reasons: Vec<_> = rejected.iter().map(|(k, o)| (k.as_str(), o.reason.as_str())).collect();
    assert!(reasons.contains(&("claim-reject", "wrong capacity")), "{reasons:?}");
    assert!(
        rejected
            .iter()
            .any(|(k, o)| k == "pii" && o.checks.iter().any(|c| c.check == "pii"))
    );
    // Five records on the review topic, the failed edit sent back among them; records of
    // different partitions arrive in any order, so it is found by its reason, not its position.
    let queued = read_at_least(&t.review, 5, Duration::from_secs(30)).await;
    let requeued: Vec<_> = decoded::<ReviewOutcome>(&queued, names::REVIEW_OUTCOME)
        .into_iter()
        .filter(|(_, o)| o.reason.contains("the edit failed the checks"))
        .map(|(_, o)| o.draft.subject_key)
        .collect();
    assert_eq!(
        requeued,
        ["claim-bad-edit"],
        "an edit that fails the checks goes back to the queue, once"
    );
    let dlq = read_at_least(&t.dlq, 1, Duration::from_secs(30)).await;
    assert_eq!(key(&dlq[0]), "never-queued");

    // Every outcome is on the audit topic, with who decided and on what grounds.
    let audit: Vec<(String, AuditEvent)> = decoded(
        &read_at_least(&t.audit, 10, Duration::from_secs(30)).await,
        names::AUDIT_EVENT,
    );
    assert_eq!(audit.len(), 10, "6 policy outcomes and 4 human decisions");
    let human: Vec<_> = audit.iter().filter(|(_, e)| e.actor == "reviewer:ana").collect();
    assert_eq!(human.len(), 4);
    let edit = human.iter().find(|(k, _)| k == "claim-edit").unwrap();
    assert_eq!(
        (edit.1.outcome, edit.1.action.as_deref()),
        (Route::Approved, Some("edit"))
    );
    assert!(edit.1.edit_distance.unwrap() > 0.0 && edit.1.edit_distance.unwrap() < 0.1);
    assert!(
        audit
            .iter()
            .all(|(_, e)| e.model.as_deref() == Some("m") && e.prompt.ends_with("@1"))
    );
    let policy_claim = audit
        .iter()
        .find(|(k, e)| k == "claim-edit" && e.actor == "policy")
        .unwrap();
    assert_eq!(policy_claim.1.checks, ["unsupported_claim.quantity:high"]);

    // `galley report` computes the success metrics from the audit topic.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_galley"))
        .args(["report", "--json", "--from", &t.audit, "--timeout-s", "30"])
        .env("GALLEY_KAFKA__BOOTSTRAP_SERVERS", kafka_host())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["events"], 10);
    let pd = &report["use_cases"]["product_description"];
    assert_eq!(
        (
            pd["approved"].as_u64(),
            pd["rejected"].as_u64(),
            pd["sent_to_review"].as_u64()
        ),
        (Some(2), Some(2), Some(4))
    );
    assert_eq!(pd["metrics"]["approval_rate"], 0.5);
    assert!(pd["metrics"]["human_edit_distance"].as_f64().unwrap() > 0.0);
    assert_eq!(report["use_cases"]["support_reply"]["metrics"]["approval_rate"], 1.0);
}

#[tokio::test]
async fn a_rejected_audit_sample_is_taken_down_and_a_confirmed_one_is_not_published_twice() {
    let t = topics("rev-audit").await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = review_config(&t, 1.0, &dir);
    power_banks(&t, &["kept", "taken-down"]).await;
    let (run, metrics) = start_review(&cfg);
    let p = producer();
    produce(
        &p,
        &t.drafts,
        &[
            draft("product_description", "kept", GOOD),
            draft("product_description", "taken-down", GOOD),
        ],
    )
    .await;
    assert!(wait_until(Duration::from_secs(60), || finished(&metrics, "review") >= 2).await);
    let queued: Vec<(String, ReviewOutcome)> = decoded(
        &read_at_least(&t.review, 2, Duration::from_secs(30)).await,
        names::REVIEW_OUTCOME,
    );
    assert!(
        queued.iter().all(|(_, o)| o.audit_sample && o.route == Route::Approved),
        "published and queued for audit"
    );
    // The stage learns what is live from the approved topic it just wrote; give it a moment.
    tokio::time::sleep(Duration::from_secs(1)).await;
    produce(
        &p,
        &t.decisions,
        &[
            decision("kept", DecisionAction::Approve, None, None),
            decision("taken-down", DecisionAction::Reject, None, Some("reads like an ad")),
        ],
    )
    .await;
    assert!(wait_until(Duration::from_secs(60), || finished(&metrics, "review") >= 4).await);
    run.stop().await;

    let approved = read_at_least(&t.approved, 3, Duration::from_secs(20)).await;
    let mut seen: Vec<_> = approved.iter().map(|m| (key(m), m.payload().is_some())).collect();
    seen.sort();
    assert_eq!(
        seen,
        [("kept", true), ("taken-down", false), ("taken-down", true)].map(|(k, v)| (k.to_string(), v)),
        "one publication each, and a tombstone for the rejected sample"
    );
    assert_eq!(
        read_at_least(&t.review, 3, Duration::from_secs(5)).await.len(),
        2,
        "decided samples are not queued again"
    );
    let audit: Vec<(String, AuditEvent)> = decoded(
        &read_at_least(&t.audit, 4, Duration::from_secs(30)).await,
        names::AUDIT_EVENT,
    );
    let decided: Vec<_> = audit
        .iter()
        .filter(|(_, e)| e.actor == "reviewer:ana")
        .map(|(_, e)| (e.audit_sample, e.outcome))
        .collect();
    assert_eq!(decided.len(), 2);
    assert!(decided.iter().all(|(sample, _)| *sample));
    let text = metrics.render();
    assert!(
        text.contains(r#"galley_success_metric{metric="audit_overturn_rate",use_case="product_description"} 0.5"#),
        "{text}"
    );
    assert!(
        text.contains(r#"galley_success_metric{metric="approval_rate",use_case="product_description"} 1"#),
        "{text}"
    );
}
