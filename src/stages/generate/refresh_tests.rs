//! Refresh requests against the fake model, without Kafka: the model writes the new copy on the
//! configured prompt, nothing stands in for it, and the budget share and the pace hold.

use std::collections::HashMap;

use super::*;
use crate::config::GalleyConfig;
use crate::fixtures::sample_products;
use crate::metrics::Metrics;
use crate::model::fake::{Behaviour, FakeModel};
use crate::runtime::Stage;
use crate::runtime::table::Table;
use crate::schema::{ContentDraft, GeneratorKind, ValidatedProduct, encode};

fn config(fake: &FakeModel) -> GalleyConfig {
    let mut cfg = GalleyConfig::load_with_env(None, Vec::new()).unwrap();
    cfg.kafka.bootstrap_servers = "127.0.0.1:1".into();
    cfg.model.base_url = fake.url();
    cfg.model.timeout_ms = 300;
    cfg.model.max_attempts = 1;
    cfg.stages.generate.refresh_input = "content.refresh".into();
    cfg.stages.generate.refresh_per_second = 1000.0;
    cfg
}

/// The stage with the sample products in its product table.
fn stage(cfg: &GalleyConfig, metrics: &Metrics) -> (Generate, Vec<ValidatedProduct>) {
    let stage = Generate::new(cfg, metrics.clone()).unwrap();
    let products = sample_products();
    let map: HashMap<String, ValidatedProduct> = products.iter().map(|p| (p.sku.clone(), p.clone())).collect();
    assert!(stage.products.set(Table::fixed(map)).is_ok());
    (stage, products)
}

fn request(use_case: &str, key: &str, reasons: &[&str]) -> Record {
    let r = RefreshRequest {
        use_case: use_case.into(),
        subject_key: key.into(),
        reasons: reasons.iter().map(|s| s.to_string()).collect(),
        wave: "w1".into(),
        live_draft_id: Some("old".into()),
        requested_ms: 1,
    };
    Record {
        topic: "content.refresh".into(),
        partition: 0,
        offset: 0,
        key: Some(key.as_bytes().to_vec()),
        payload: Some(encode(Registry::builtin(), names::REFRESH_REQUEST, &r).unwrap()),
        headers: vec![],
        assignment: 1,
    }
}

fn draft(out: &Outcome) -> ContentDraft {
    assert_eq!(out.label, "drafted");
    decode(
        Registry::builtin(),
        names::CONTENT_DRAFT,
        out.outputs[0].payload.as_deref().unwrap(),
    )
    .unwrap()
}

fn count(metrics: &Metrics, outcome: &str) -> u64 {
    metrics
        .refresh
        .with_label_values(&["product_description", outcome])
        .get()
}

#[tokio::test]
async fn a_refresh_is_a_model_draft_on_the_configured_prompt_tagged_with_its_wave() {
    let fake = FakeModel::start().await.unwrap();
    let metrics = Metrics::new();
    let (stage, products) = stage(&config(&fake), &metrics);
    assert!(stage.input_topics().contains(&"content.refresh".to_owned()));
    let sku = &products[0].sku;
    let out = stage
        .process(&request("product_description", sku, &["prompt"]))
        .await
        .unwrap();
    let d = draft(&out);
    assert_eq!(
        (d.generator, d.prompt.as_str()),
        (GeneratorKind::Model, "product_description@1")
    );
    assert_eq!(d.subject_key, *sku);
    assert!(
        out.outputs[0]
            .headers
            .iter()
            .any(|(k, v)| k == WAVE_HEADER && v == b"w1")
    );
    assert_eq!(count(&metrics, "drafted"), 1);
    // A redelivered prompt refresh is served from the cache: no second model call.
    let again = draft(
        &stage
            .process(&request("product_description", sku, &["prompt"]))
            .await
            .unwrap(),
    );
    assert_eq!((again.generator, fake.requests()), (GeneratorKind::Cache, 1));
    // An age refresh asks for new text for the same facts.
    let aged = draft(
        &stage
            .process(&request("product_description", sku, &["age"]))
            .await
            .unwrap(),
    );
    assert_eq!((aged.generator, fake.requests()), (GeneratorKind::Model, 2));
}

#[tokio::test]
async fn nothing_stands_in_for_the_model_on_a_refresh() {
    let fake = FakeModel::start().await.unwrap();
    fake.set(Behaviour::Status(503));
    let metrics = Metrics::new();
    let (stage, products) = stage(&config(&fake), &metrics);
    let err = stage
        .process(&request("product_description", &products[0].sku, &["age"]))
        .await
        .unwrap_err();
    // The request waits for the model (and pauses intake); the live copy stays as it is.
    assert_eq!(err.kind(), crate::error::ErrorKind::DependencyDown, "{err}");
    assert_eq!(count(&metrics, "drafted"), 0);
}

#[tokio::test]
async fn a_wave_stops_at_its_share_of_the_budget_and_skips_what_it_cannot_serve() {
    let fake = FakeModel::start().await.unwrap();
    fake.set(Behaviour::Usage(300, 100));
    let mut cfg = config(&fake);
    cfg.stages
        .generate
        .use_cases
        .get_mut("product_description")
        .unwrap()
        .daily_token_budget = 1000;
    cfg.stages.generate.refresh_budget_share = 0.5;
    let metrics = Metrics::new();
    let (stage, products) = stage(&cfg, &metrics);
    let mut labels = Vec::new();
    for p in &products[..4] {
        let out = stage
            .process(&request("product_description", &p.sku, &["age"]))
            .await
            .unwrap();
        labels.push(out.label);
    }
    // 400 tokens each: after two (80 % used) the wave holds back; new products keep the rest.
    assert_eq!(labels, ["drafted", "drafted", "skipped", "skipped"]);
    assert_eq!((count(&metrics, "over_budget"), fake.requests()), (2, 2));

    let blurb = stage
        .process(&request("homepage_blurb", "homepage_blurb:x", &[]))
        .await
        .unwrap();
    assert_eq!(blurb.label, "skipped");
    assert_eq!(
        metrics
            .refresh
            .with_label_values(&["homepage_blurb", "not_refreshable"])
            .get(),
        1
    );
    let gone = stage
        .process(&request("product_description", "NO-SUCH-SKU", &[]))
        .await
        .unwrap();
    assert_eq!((gone.label, count(&metrics, "no_product")), ("skipped", 1));
}
