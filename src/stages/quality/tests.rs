//! The stage's Kafka-free paths: routing by topic, interactions, and records rejected before
//! any state is touched. The catalog path with its state topic is tested on a real broker
//! (tests/stage_quality.rs).

use super::*;
use crate::error::ErrorKind;
use crate::schema::InteractionKind;

fn stage() -> Quality {
    let mut cfg = GalleyConfig::load_with_env(None, Vec::new()).unwrap();
    // Unroutable, so a test that reached the state topic would fail, not hang on a broker.
    cfg.kafka.bootstrap_servers = "127.0.0.1:1".into();
    Quality::new(&cfg, Metrics::new()).unwrap()
}

fn record(topic: &str, key: &str, payload: Vec<u8>) -> Record {
    Record {
        topic: topic.into(),
        partition: 0,
        offset: 0,
        key: Some(key.as_bytes().to_vec()),
        payload: Some(payload),
        headers: vec![],
        assignment: 1,
    }
}

#[tokio::test]
async fn interactions_are_redacted_and_routed() {
    let s = stage();
    let e = InteractionEvent {
        customer_id: "c1".into(),
        kind: InteractionKind::Question,
        sku: None,
        text: Some("Is it dishwasher safe? Reply to bob@example.org".into()),
        event_time_ms: 1_700_000_000_000,
        channel: "web".into(),
        locale: "en-US".into(),
    };
    let bytes = encode(Registry::builtin(), names::INTERACTION_EVENT, &e).unwrap();
    let out = s.process(&record("interactions.events", "c1", bytes)).await.unwrap();
    assert_eq!(out.label, "validated");
    assert_eq!(out.outputs[0].topic, "interactions.validated");
    let back: InteractionEvent = decode(
        Registry::builtin(),
        names::INTERACTION_EVENT,
        out.outputs[0].payload.as_deref().unwrap_or_default(),
    )
    .unwrap();
    assert_eq!(back.text.as_deref(), Some("Is it dishwasher safe? Reply to [EMAIL]"));
    assert!(
        s.metrics
            .render()
            .contains(r#"galley_pii_redactions_total{kind="email"} 1"#)
    );
}

#[tokio::test]
async fn bad_catalog_records_fail_before_touching_state() {
    let s = stage();
    let err = s
        .process(&record("catalog.changes", "sku-1", b"junk".to_vec()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Permanent);
    let bytes = encode(
        Registry::builtin(),
        names::CATALOG_CHANGE,
        &CatalogChange::sample("sku-1", 1),
    )
    .unwrap();
    let err = s.process(&record("catalog.changes", "sku-2", bytes)).await.unwrap_err();
    assert_eq!(err.code(), "key_mismatch");
    let err = s.process(&record("elsewhere", "k", vec![1])).await.unwrap_err();
    assert_eq!(err.code(), "unexpected_topic");
}

#[test]
fn bad_rules_files_stop_the_build_with_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rules.toml");
    std::fs::write(&path, "[completeness]\n").unwrap();
    let mut cfg = GalleyConfig::load_with_env(None, Vec::new()).unwrap();
    cfg.stages.quality.rules_file = Some(path.clone());
    let err = Quality::new(&cfg, Metrics::new()).err().unwrap().to_string();
    assert!(err.contains("rules.toml"), "{err}");
}
