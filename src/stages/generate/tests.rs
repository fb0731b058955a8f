//! The stage against the fake model server, without Kafka: drafts, cache, fallbacks, the
//! breaker's open/close cycle, budgets and pausing.

use std::time::Duration;

use super::*;
use crate::config::FallbackKind;
use crate::error::ErrorKind;
use crate::fixtures::sample_products;
use crate::model::fake::{Behaviour, FakeModel};
use crate::schema::{GeneratorKind, Segment};

fn config(fake: &FakeModel) -> GalleyConfig {
    let mut cfg = GalleyConfig::load_with_env(None, Vec::new()).unwrap();
    cfg.kafka.bootstrap_servers = "127.0.0.1:1".into();
    cfg.model.base_url = fake.url();
    cfg.model.timeout_ms = 300;
    cfg.model.max_attempts = 2;
    cfg.model.initial_backoff_ms = 5;
    cfg.model.max_backoff_ms = 10;
    cfg.runtime.breaker.consecutive_failures = 2;
    cfg.runtime.breaker.open_ms = 300;
    cfg
}

fn use_case<'a>(cfg: &'a mut GalleyConfig, name: &str) -> &'a mut crate::config::UseCaseConfig {
    cfg.stages.generate.use_cases.get_mut(name).unwrap()
}

fn product_record(p: &ValidatedProduct) -> Record {
    Record {
        topic: "catalog.validated".into(),
        partition: 0,
        offset: 0,
        key: Some(p.sku.as_bytes().to_vec()),
        payload: Some(encode(Registry::builtin(), names::VALIDATED_PRODUCT, p).unwrap()),
        headers: vec![],
        assignment: 1,
    }
}

fn long_tail() -> Vec<ValidatedProduct> {
    sample_products()
        .into_iter()
        .filter(|p| p.segment == Segment::LongTail)
        .collect()
}

async fn draft_of(stage: &Generate, p: &ValidatedProduct) -> ContentDraft {
    let out = stage.process(&product_record(p)).await.unwrap();
    assert_eq!(out.label, "drafted");
    assert_eq!(out.outputs[0].topic, "content.drafts");
    assert_eq!(out.outputs[0].key.as_deref(), Some(p.sku.as_bytes()));
    decode(
        Registry::builtin(),
        names::CONTENT_DRAFT,
        out.outputs[0].payload.as_deref().unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn a_model_draft_records_its_provenance_and_an_unchanged_product_costs_nothing() {
    let fake = FakeModel::start().await.unwrap();
    let metrics = Metrics::new();
    let stage = Generate::new(&config(&fake), metrics.clone()).unwrap();
    let p = &long_tail()[0];
    let d = draft_of(&stage, p).await;
    assert_eq!(d.generator, GeneratorKind::Model);
    assert_eq!(
        (d.use_case.as_str(), d.prompt.as_str()),
        ("product_description", "product_description@1")
    );
    assert_eq!(d.model.as_deref(), Some("SmolLM2-135M-Instruct"));
    assert!(d.text.starts_with(&p.title), "{}", d.text);
    assert!(d.tokens_in > 50 && d.tokens_out > 5 && d.cost_micros > 0, "{d:?}");
    let again = draft_of(&stage, p).await;
    assert_eq!(again.generator, GeneratorKind::Cache);
    assert_eq!(
        (again.text.as_str(), again.tokens_in, again.cost_micros),
        (d.text.as_str(), 0, 0)
    );
    assert_eq!(again.draft_id, d.draft_id, "same input, same text: same draft id");
    assert_eq!(fake.seen().len(), 1, "the cache hit made no request");
    assert!(
        metrics
            .render()
            .contains(r#"galley_drafts_total{generator="cache",use_case="product_description"} 1"#)
    );
}

#[tokio::test]
async fn head_products_tombstones_and_wrong_keys_are_not_drafted() {
    let fake = FakeModel::start().await.unwrap();
    let stage = Generate::new(&config(&fake), Metrics::new()).unwrap();
    let mut head = long_tail().remove(0);
    head.segment = Segment::Head;
    assert_eq!(stage.process(&product_record(&head)).await.unwrap().label, "skipped");
    let mut tombstone = product_record(&head);
    tombstone.payload = None;
    assert_eq!(stage.process(&tombstone).await.unwrap().label, "skipped");
    let mut wrong = product_record(&long_tail()[0]);
    wrong.key = Some(b"other".to_vec());
    let err = stage.process(&wrong).await.unwrap_err();
    assert_eq!((err.kind(), err.code()), (ErrorKind::Permanent, "key_mismatch"));
    assert!(fake.seen().is_empty());
}

#[tokio::test]
async fn the_rollout_decides_which_keys_get_a_draft_before_the_model_is_asked() {
    let fake = FakeModel::start().await.unwrap();
    let mut cfg = config(&fake);
    let pd = cfg.rollout.get_mut("product_description").unwrap();
    (pd.mode, pd.canary_percent) = (crate::schema::RolloutMode::Canary, 50.0);
    let stage = Generate::new(&cfg, Metrics::new()).unwrap();
    let products = long_tail();
    let mut labels = Vec::new();
    for p in &products {
        let out = stage.process(&product_record(p)).await.unwrap();
        assert_eq!(
            out.label == "drafted",
            crate::rollout::canary_member(&p.sku, 50.0),
            "{}",
            p.sku
        );
        labels.push(out.label);
    }
    let drafted = labels.iter().filter(|l| **l == "drafted").count();
    assert!(drafted > 0 && drafted < products.len(), "{labels:?}");
    assert_eq!(fake.seen().len(), drafted, "keys outside the canary cost no model call");

    stage.control.wrote(crate::schema::RolloutControl {
        use_case: crate::rollout::ALL.into(),
        mode: None,
        canary_percent: None,
        killed: true,
        source: "admin".into(),
        actor: "admin:root".into(),
        reason: "test".into(),
        time_ms: now_ms(),
    });
    for p in &products {
        assert_eq!(stage.process(&product_record(p)).await.unwrap().label, "skipped");
    }
    assert_eq!(fake.seen().len(), drafted, "a killed use case asks the model nothing");
    let text = stage.metrics.render();
    assert!(
        text.contains("galley_skipped_total{reason=\"killed\",stage=\"generate\"}"),
        "{text}"
    );
}

#[tokio::test]
async fn an_outage_opens_the_breaker_falls_back_and_recovers() {
    let fake = FakeModel::start().await.unwrap();
    let metrics = Metrics::new();
    let stage = Generate::new(&config(&fake), metrics.clone()).unwrap();
    let products = long_tail();
    fake.set(Behaviour::Status(500));
    let mut generators = Vec::new();
    for p in &products[..4] {
        generators.push(draft_of(&stage, p).await.generator);
    }
    assert_eq!(generators, vec![GeneratorKind::Template; 4]);
    // Two failed drafts (two attempts each) opened the breaker; the others never reached the model.
    assert_eq!(fake.seen().len(), 4);
    assert_eq!(stage.breakers()[0].state(), crate::runtime::breaker::BreakerState::Open);
    let text = metrics.render();
    assert!(
        text.contains(
            r#"galley_fallback_total{kind="template",reason="model_server_error",use_case="product_description"} 2"#
        ),
        "{text}"
    );
    assert!(
        text.contains(
            r#"galley_fallback_total{kind="template",reason="breaker_open",use_case="product_description"} 2"#
        ),
        "{text}"
    );
    fake.set(Behaviour::Ok);
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(draft_of(&stage, &products[4]).await.generator, GeneratorKind::Model);
    assert_eq!(
        stage.breakers()[0].state(),
        crate::runtime::breaker::BreakerState::Closed
    );
    // Template copy was not cached: the recovered model writes the earlier products anew.
    assert_eq!(draft_of(&stage, &products[0]).await.generator, GeneratorKind::Model);
}

#[tokio::test]
async fn without_a_fallback_an_outage_pauses_and_bad_output_is_dead_lettered() {
    let fake = FakeModel::start().await.unwrap();
    let mut cfg = config(&fake);
    use_case(&mut cfg, "product_description").fallbacks = vec![];
    let stage = Generate::new(&cfg, Metrics::new()).unwrap();
    let p = &long_tail()[0];
    fake.set(Behaviour::Hang);
    let err = stage.process(&product_record(p)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DependencyDown, "{err}");
    fake.set(Behaviour::Reply("   ".into()));
    let err = stage.process(&product_record(p)).await.unwrap_err();
    assert_eq!(
        (err.kind(), err.code()),
        (ErrorKind::Permanent, "empty_output"),
        "{err}"
    );
}

#[tokio::test]
async fn last_approved_stands_in_when_the_template_may_not() {
    let fake = FakeModel::start().await.unwrap();
    let mut cfg = config(&fake);
    use_case(&mut cfg, "product_description").fallbacks = vec![FallbackKind::LastApproved, FallbackKind::Template];
    let stage = Generate::new(&cfg, Metrics::new()).unwrap();
    // No approved table yet (prepare not run): the chain moves on to the template.
    fake.set(Behaviour::Status(502));
    assert_eq!(
        draft_of(&stage, &long_tail()[0]).await.generator,
        GeneratorKind::Template
    );
}

#[tokio::test]
async fn a_spent_budget_falls_back_and_says_so() {
    let fake = FakeModel::start().await.unwrap();
    let mut cfg = config(&fake);
    use_case(&mut cfg, "product_description").daily_token_budget = 400; // one estimate (prompt/4 + 150 completion tokens) fits, two do not
    let metrics = Metrics::new();
    let stage = Generate::new(&cfg, metrics.clone()).unwrap();
    let kinds: Vec<_> = futures::future::join_all(long_tail()[..3].iter().map(|p| draft_of(&stage, p)))
        .await
        .into_iter()
        .map(|d| d.generator)
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == GeneratorKind::Model).count(),
        1,
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == GeneratorKind::Template).count(),
        2,
        "{kinds:?}"
    );
    let text = metrics.render();
    assert!(text.contains(r#"reason="token_budget""#), "{text}");
    assert!(
        text.contains("galley_budget_used_ratio{use_case=\"product_description\"} 0."),
        "{text}"
    );
}

#[tokio::test]
async fn questions_get_support_replies_keyed_by_customer() {
    let fake = FakeModel::start().await.unwrap();
    let mut stage = Generate::new(&config(&fake), Metrics::new()).unwrap();
    // No broker here: every partition's profiles start empty instead of from the topic.
    let empty: crate::runtime::slots::Loader<_> = std::sync::Arc::new(|_| Box::pin(async { Ok(Default::default()) }));
    stage.profiles.as_mut().unwrap().store = std::sync::Arc::new(crate::runtime::slots::PartitionStore::new(empty));
    let mut e = InteractionEvent {
        customer_id: "c-42".into(),
        kind: InteractionKind::Question,
        sku: Some("SKU-01000".into()),
        text: Some("Can it charge two phones at once?".into()),
        event_time_ms: 1_764_000_000_000,
        channel: "web".into(),
        locale: "en-US".into(),
    };
    let record = |e: &InteractionEvent| Record {
        topic: "interactions.validated".into(),
        partition: 0,
        offset: 0,
        key: Some(e.customer_id.as_bytes().to_vec()),
        payload: Some(encode(Registry::builtin(), names::INTERACTION_EVENT, e).unwrap()),
        headers: vec![],
        assignment: 1,
    };
    let out = stage.process(&record(&e)).await.unwrap();
    assert_eq!(out.outputs[0].key.as_deref(), Some(&b"c-42"[..]));
    let d: ContentDraft = decode(
        Registry::builtin(),
        names::CONTENT_DRAFT,
        out.outputs[0].payload.as_deref().unwrap(),
    )
    .unwrap();
    assert_eq!((d.use_case.as_str(), d.subject_key.as_str()), ("support_reply", "c-42"));
    assert!(fake.seen()[0].user.contains("Can it charge two phones at once?"));
    assert!(fake.seen()[0].user.contains("Orders ship within 2 business days."));
    e.kind = InteractionKind::View;
    let out = stage.process(&record(&e)).await.unwrap();
    assert_eq!(
        (out.label, out.outputs[0].topic.as_str()),
        ("aggregated", "interactions.profiles")
    );
    let p: crate::schema::InterestProfile = decode(
        Registry::builtin(),
        names::INTEREST_PROFILE,
        out.outputs[0].payload.as_deref().unwrap(),
    )
    .unwrap();
    assert_eq!((p.customer_id.as_str(), p.days[0].events), ("c-42", 1));
    e.kind = InteractionKind::Review;
    assert_eq!(stage.process(&record(&e)).await.unwrap().label, "skipped");

    let mut cfg = config(&fake);
    cfg.stages.generate.profiles = String::new();
    cfg.rollout.get_mut("homepage_blurb").unwrap().mode = crate::schema::RolloutMode::Off;
    cfg.rollout.get_mut("email_campaign").unwrap().mode = crate::schema::RolloutMode::Off;
    let without = Generate::new(&cfg, Metrics::new()).unwrap();
    e.kind = InteractionKind::View;
    assert_eq!(without.process(&record(&e)).await.unwrap().label, "skipped");
}
