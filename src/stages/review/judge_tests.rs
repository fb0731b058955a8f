//! The judge in the review stage, against the fake model: its quotes route an otherwise clean
//! draft to a person; an unreadable answer, a down endpoint and an exhausted budget each follow
//! `on_error`; drafts the checks already send to a person cost no call; tokens are counted.

use super::*;
use crate::config::JudgeOnError;
use crate::model::fake::{Behaviour, FakeModel};

const CLEAN: &str = "A sturdy enamel mug for camping trips and slow mornings at home. It keeps its shape \
                     over the fire and cleans up with a quick rinse.";

fn stage(model: &FakeModel, change: impl FnOnce(&mut crate::config::JudgeConfig)) -> (Review, Metrics) {
    let mut cfg = GalleyConfig::load_with_env(None, Vec::new()).unwrap();
    cfg.kafka.bootstrap_servers = "127.0.0.1:1".into();
    let j = &mut cfg.stages.review.judge;
    j.enabled = true;
    j.model.base_url = model.url();
    j.model.timeout_ms = 500;
    j.model.max_attempts = 1;
    change(j);
    cfg.validate().unwrap();
    let metrics = Metrics::new();
    (Review::new(&cfg, metrics.clone()).unwrap(), metrics)
}

fn record(text: &str) -> Record {
    let d = ContentDraft::sample("product_description", "SKU-1", text);
    Record {
        topic: "content.drafts".into(),
        partition: 0,
        offset: 0,
        key: Some(b"SKU-1".to_vec()),
        payload: Some(encode(Registry::builtin(), names::CONTENT_DRAFT, &d).unwrap()),
        headers: vec![],
        assignment: 1,
    }
}

fn checks(o: &Outcome) -> Vec<String> {
    let last = o.outputs.last().unwrap();
    let audit: AuditEvent = decode(
        Registry::builtin(),
        names::AUDIT_EVENT,
        last.payload.as_deref().unwrap(),
    )
    .unwrap();
    audit.checks
}

#[tokio::test]
async fn a_quoted_unsupported_claim_sends_the_draft_to_a_person() {
    let model = FakeModel::start().await.unwrap();
    model.set(Behaviour::Reply(
        r#"{"unsupported": [{"quote": "keeps its shape over the fire", "reason": "no heat rating"}]}"#.into(),
    ));
    let (s, metrics) = stage(&model, |_| {});
    let o = s.process(&record(CLEAN)).await.unwrap();
    assert_eq!(o.label, "review");
    assert_eq!(checks(&o), ["judge.unsupported_claim:medium"]);
    let text = metrics.render();
    assert!(
        text.contains(r#"galley_model_tokens_total{direction="in",use_case="review_judge"}"#),
        "{text}"
    );
    assert!(text.contains(r#"galley_model_requests_total{outcome="ok",use_case="review_judge"}"#));

    // An answer with nothing unsupported leaves the checks' decision standing.
    model.set(Behaviour::Reply(r#"{"unsupported": []}"#.into()));
    assert_eq!(s.process(&record(CLEAN)).await.unwrap().label, "approved");
}

#[tokio::test]
async fn a_judge_that_cannot_answer_follows_on_error() {
    let model = FakeModel::start().await.unwrap();
    model.set(Behaviour::Reply("Looks fine to me!".into()));
    let (review, _) = stage(&model, |_| {});
    let o = review.process(&record(CLEAN)).await.unwrap();
    assert_eq!(
        (o.label, checks(&o)),
        ("review", vec!["judge.unavailable:medium".to_owned()])
    );

    model.set(Behaviour::Status(503));
    let (ignore, _) = stage(&model, |j| j.on_error = JudgeOnError::Ignore);
    let o = ignore.process(&record(CLEAN)).await.unwrap();
    assert_eq!(
        (o.label, checks(&o)),
        ("approved", vec!["judge.unavailable:low".to_owned()])
    );

    // Over the day's budget no call is made at all.
    let before = model.requests();
    let (poor, _) = stage(&model, |j| j.daily_token_budget = 10);
    let o = poor.process(&record(CLEAN)).await.unwrap();
    assert_eq!(o.label, "review");
    assert_eq!(model.requests(), before, "no call past the budget");
}

#[tokio::test]
async fn drafts_the_checks_already_send_to_a_person_are_not_judged() {
    let model = FakeModel::start().await.unwrap();
    let (s, _) = stage(&model, |_| {});
    let risky = format!("{CLEAN} Call 555-867-5309 to order. Cures arthritis.");
    let o = s.process(&record(&risky)).await.unwrap();
    assert_ne!(o.label, "approved");
    assert_eq!(model.requests(), 0);
}
