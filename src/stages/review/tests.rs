//! Routing of drafts by the policy, without Kafka (no product table: claims about a product are
//! covered by the policy's own tests, decisions by tests/stage_review.rs on a real broker).

use super::*;
use crate::schema::RiskTier;

fn stage() -> Review {
    stage_with(|_| {})
}

fn stage_with(change: impl FnOnce(&mut GalleyConfig)) -> Review {
    let mut cfg = GalleyConfig::load_with_env(None, Vec::new()).unwrap();
    cfg.kafka.bootstrap_servers = "127.0.0.1:1".into();
    change(&mut cfg);
    Review::new(&cfg, Metrics::new()).unwrap()
}

/// Support replies live (by default they are in shadow).
fn replies_on(cfg: &mut GalleyConfig) {
    let product = cfg.rollout["product_description"].clone();
    cfg.rollout.insert("support_reply".into(), product);
}

fn draft(use_case: &str, key: &str, text: &str) -> ContentDraft {
    ContentDraft::sample(use_case, key, text)
}

fn record(d: &ContentDraft) -> Record {
    Record {
        topic: "content.drafts".into(),
        partition: 0,
        offset: 0,
        key: Some(d.subject_key.as_bytes().to_vec()),
        payload: Some(encode(Registry::builtin(), names::CONTENT_DRAFT, d).unwrap()),
        headers: vec![],
        assignment: 1,
    }
}

fn decoded<T: serde::de::DeserializeOwned>(o: &Output, schema: &str) -> T {
    decode(Registry::builtin(), schema, o.payload.as_deref().unwrap()).unwrap()
}

const CLEAN: &str = "A sturdy enamel mug for camping trips and slow mornings at home. It keeps its shape \
                     over the fire and cleans up with a quick rinse.";

#[tokio::test]
async fn drafts_are_routed_by_risk_and_every_outcome_is_audited() {
    let s = stage_with(replies_on);
    let ok = s
        .process(&record(&draft("product_description", "SKU-1", CLEAN)))
        .await
        .unwrap();
    assert_eq!(ok.label, "approved");
    let topics: Vec<_> = ok.outputs.iter().map(|o| o.topic.as_str()).collect();
    assert!(
        topics == ["content.approved", "galley.audit"]
            || topics == ["content.approved", "content.review", "galley.audit"],
        "{topics:?}"
    );
    let approved: ContentDraft = decoded(&ok.outputs[0], names::CONTENT_DRAFT);
    assert_eq!(approved.text, CLEAN);
    let audit: AuditEvent = decoded(ok.outputs.last().unwrap(), names::AUDIT_EVENT);
    assert_eq!(
        (audit.actor.as_str(), audit.outcome, audit.prompt.as_str()),
        ("policy", Route::Approved, "product_description@1")
    );

    let reply = s
        .process(&record(&draft(
            "support_reply",
            "C-1",
            "Thank you for your question. A colleague will reply shortly.",
        )))
        .await
        .unwrap();
    assert_eq!(reply.label, "review", "support replies always go to a human");
    let queued: ReviewOutcome = decoded(&reply.outputs[0], names::REVIEW_OUTCOME);
    assert_eq!((queued.tier, queued.route), (RiskTier::Human, Route::Review));
    assert!(queued.reason.contains("support_reply"), "{}", queued.reason);

    // In shadow (the default for support replies) the same draft is routed the same way, but
    // only to content.shadow, and its audit event says so.
    let shadow = stage()
        .process(&record(&draft("support_reply", "C-1", "Thank you for your question.")))
        .await
        .unwrap();
    assert_eq!(shadow.label, "shadow");
    let topics: Vec<_> = shadow.outputs.iter().map(|o| o.topic.as_str()).collect();
    assert_eq!(topics, ["content.shadow", "galley.audit"]);
    let routed: ReviewOutcome = decoded(&shadow.outputs[0], names::REVIEW_OUTCOME);
    let audit: AuditEvent = decoded(&shadow.outputs[1], names::AUDIT_EVENT);
    assert_eq!(
        (routed.route, audit.outcome, audit.shadow),
        (Route::Review, Route::Review, true)
    );

    let bad = format!("{CLEAN} Call 555-123-4567 or write to sam@example.com today!");
    let rejected = s
        .process(&record(&draft("product_description", "SKU-2", &bad)))
        .await
        .unwrap();
    assert_eq!(rejected.label, "rejected");
    let out: ReviewOutcome = decoded(&rejected.outputs[0], names::REVIEW_OUTCOME);
    assert!(out.checks.iter().any(|c| c.check == "pii"), "{:?}", out.checks);
    let audit: AuditEvent = decoded(rejected.outputs.last().unwrap(), names::AUDIT_EVENT);
    assert!(audit.checks.iter().any(|c| c.starts_with("pii:")), "{:?}", audit.checks);

    let text = s.metrics.render();
    assert!(
        text.contains(r#"galley_success_metric{metric="approval_rate",use_case="product_description"} 0.5"#),
        "{text}"
    );
    assert!(
        text.contains(r#"galley_success_metric{metric="cost_per_approved",use_case="product_description"} 0.00009"#),
        "{text}"
    );
}

#[tokio::test]
async fn a_decision_without_a_queued_draft_is_retried_not_lost() {
    let s = stage();
    let d = crate::schema::ReviewDecision {
        draft_id: "d-x".into(),
        reviewer: "ana".into(),
        action: crate::schema::DecisionAction::Approve,
        edited_text: None,
        reason: None,
        decided_ms: 1,
    };
    let r = Record {
        topic: "content.decisions".into(),
        payload: Some(encode(Registry::builtin(), names::REVIEW_DECISION, &d).unwrap()),
        ..record(&draft("product_description", "SKU-1", CLEAN))
    };
    let err = s.process(&r).await.unwrap_err();
    assert_eq!(
        (err.kind(), err.code()),
        (crate::error::ErrorKind::Retryable, "unknown_draft")
    );
}
