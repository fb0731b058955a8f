//! The quality stage on a real broker: Avro in, routed Avro out; per-sku state that survives a
//! restart (rebuilt from the validated topic by a fresh stage); PII never leaves.
#![cfg(feature = "kafka-it")]

mod common;

use std::time::Duration;

use common::*;
use galley::config::GalleyConfig;
use galley::metrics::Metrics;
use galley::schema::{
    CatalogChange, CatalogOp, InteractionEvent, InteractionKind, Registry, Severity, ValidatedProduct, decode, encode,
    names,
};
use galley::stages::Quality;
use rdkafka::Message;

struct Topics {
    input: String,
    interactions: String,
    validated: String,
    needs: String,
    inter_ok: String,
    inter_needs: String,
    dlq: String,
}

async fn topics(name: &str) -> Topics {
    let t = Topics {
        input: unique(&format!("{name}-in")),
        interactions: unique(&format!("{name}-ix")),
        validated: unique(&format!("{name}-ok")),
        needs: unique(&format!("{name}-ne")),
        inter_ok: unique(&format!("{name}-ixok")),
        inter_needs: unique(&format!("{name}-ixne")),
        dlq: unique(&format!("{name}-dlq")),
    };
    create_topics(
        &[
            &t.input,
            &t.interactions,
            &t.validated,
            &t.needs,
            &t.inter_ok,
            &t.inter_needs,
            &t.dlq,
        ],
        3,
    )
    .await;
    t
}

fn quality_config(group: &str, t: &Topics) -> GalleyConfig {
    let mut cfg = config(group);
    cfg.topics.dlq = t.dlq.clone();
    let q = &mut cfg.stages.quality;
    q.catalog_input = t.input.clone();
    q.interactions_input = t.interactions.clone();
    q.validated = t.validated.clone();
    q.needs_enrichment = t.needs.clone();
    q.interactions_validated = t.inter_ok.clone();
    q.interactions_needs_enrichment = t.inter_needs.clone();
    cfg
}

fn product(i: usize, version: i64) -> CatalogChange {
    let mut c = CatalogChange::sample(&format!("sku-{i}"), version);
    c.title = Some(format!("<b>Enamel</b> camping mug no. {i}"));
    c.category_path = vec!["Home & Garden > Kitchen & Dining > Tableware > Drinkware > Mugs".into()];
    c.images = vec![format!("https://example.com/{i}.jpg")];
    c
}

fn record(c: &CatalogChange) -> (String, Vec<u8>) {
    (
        c.sku.clone(),
        encode(Registry::builtin(), names::CATALOG_CHANGE, c).unwrap(),
    )
}

fn outcome(m: &Metrics, label: &str) -> u64 {
    m.outcomes("quality")
        .into_iter()
        .find(|(o, _)| o == label)
        .map_or(0, |(_, n)| n)
}

async fn run_until(cfg: &GalleyConfig, done: u64) -> Metrics {
    let metrics = Metrics::new();
    let stage = Quality::new(cfg, metrics.clone()).unwrap();
    let run = start_with_metrics(cfg.clone(), stage, metrics.clone());
    let all = wait_until(Duration::from_secs(90), || finished(&run.metrics, "quality") >= done).await;
    assert!(all, "finished {:?}", run.metrics.outcomes("quality"));
    run.stop().await;
    metrics
}

#[tokio::test]
async fn catalog_changes_are_routed_and_state_survives_a_restart() {
    let t = topics("quality").await;
    let cfg = quality_config(&unique("quality"), &t);
    let p = producer();
    let mut batch: Vec<_> = (0..30).map(|i| record(&product(i, 1))).collect();
    for i in 0..5 {
        let mut broken = product(100 + i, 1);
        broken.title = None;
        broken.currency = Some("XXX1".into());
        batch.push(record(&broken));
    }
    // No-op changes (same content, newer version), stale events (older version), a delete.
    batch.extend((0..3).map(|i| record(&product(i, 2))));
    batch.extend((3..5).map(|i| record(&product(i, 0))));
    batch.push(record(&CatalogChange {
        op: CatalogOp::Delete,
        ..product(5, 2)
    }));
    batch.push(("sku-x".into(), b"not avro".to_vec()));
    batch.push(("wrong-key".into(), record(&product(6, 3)).1));
    produce(&p, &t.input, &batch).await;

    let m = run_until(&cfg, batch.len() as u64).await;
    assert_eq!(outcome(&m, "validated"), 30);
    assert_eq!(outcome(&m, "needs_enrichment"), 5);
    assert_eq!(outcome(&m, "skipped"), 6);
    assert_eq!(outcome(&m, "dlq"), 2);
    let text = m.render();
    for line in [
        r#"galley_skipped_total{reason="unchanged",stage="quality"} 3"#,
        r#"galley_skipped_total{reason="stale",stage="quality"} 2"#,
        r#"galley_skipped_total{reason="deleted",stage="quality"} 1"#,
    ] {
        assert!(text.contains(line), "{line} missing");
    }

    let all = read_at_least(&t.validated, 31, Duration::from_secs(30)).await;
    // 30 products and the delete's tombstone, each on its input's partition.
    assert_eq!(all.len(), 31);
    let (validated, tombstones): (Vec<_>, Vec<_>) = all.into_iter().partition(|m| m.payload().is_some());
    assert_eq!(tombstones.len(), 1);
    assert_eq!(tombstones[0].key(), Some(&b"sku-5"[..]));
    let v: ValidatedProduct = decode(
        Registry::builtin(),
        names::VALIDATED_PRODUCT,
        validated[0].payload().unwrap(),
    )
    .unwrap();
    assert!(v.title.starts_with("Enamel camping mug"), "{}", v.title);
    assert_eq!(v.taxonomy_node.as_deref(), Some("39"));
    assert_eq!(validated[0].key(), Some(v.sku.as_bytes()));
    let needs = read_at_least(&t.needs, 5, Duration::from_secs(30)).await;
    assert_eq!(needs.len(), 5);
    let n: ValidatedProduct = decode(
        Registry::builtin(),
        names::VALIDATED_PRODUCT,
        needs[0].payload().unwrap(),
    )
    .unwrap();
    let errors: Vec<_> = n
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| f.rule.as_str())
        .collect();
    assert!(
        errors.contains(&"required.core") && errors.contains(&"currency.iso4217"),
        "{errors:?}"
    );

    // A fresh stage (no memory but the validated topic) sees the same catalog again, one price
    // changed: only that product, and the deleted one coming back, are news.
    let mut again: Vec<_> = (0..30).map(|i| record(&product(i, 7))).collect();
    let mut cheaper = product(29, 8);
    cheaper.price_minor = Some(999);
    again.push(record(&cheaper));
    produce(&p, &t.input, &again).await;
    let m2 = run_until(&cfg, again.len() as u64).await;
    assert_eq!(outcome(&m2, "validated"), 2, "{:?}", m2.outcomes("quality"));
    assert_eq!(outcome(&m2, "skipped"), 29);
}

fn interaction(customer: &str, kind: InteractionKind, text: Option<&str>) -> (String, Vec<u8>) {
    let e = InteractionEvent {
        customer_id: customer.into(),
        kind,
        sku: None,
        text: text.map(Into::into),
        event_time_ms: 1_700_000_000_000,
        channel: "web".into(),
        locale: "en-US".into(),
    };
    (
        customer.into(),
        encode(Registry::builtin(), names::INTERACTION_EVENT, &e).unwrap(),
    )
}

#[tokio::test]
async fn interaction_pii_never_leaves_the_stage() {
    let t = topics("quality-ix").await;
    let cfg = quality_config(&unique("quality-ix"), &t);
    let events = vec![
        interaction(
            "c1",
            InteractionKind::SupportMessage,
            Some("Refund to 4111 1111 1111 1111 please, jane@example.com"),
        ),
        interaction(
            "c2",
            InteractionKind::Question,
            Some("Call me on +44 20 7946 0958 about the mug"),
        ),
        interaction("c3", InteractionKind::Search, Some("enamel mug 350 ml")),
        interaction("c4", InteractionKind::Search, None),
    ];
    produce(&producer(), &t.interactions, &events).await;
    let m = run_until(&cfg, 4).await;
    assert_eq!(outcome(&m, "validated"), 3);
    assert_eq!(outcome(&m, "needs_enrichment"), 1);
    let text = m.render();
    for kind in ["card", "email", "phone"] {
        assert!(
            text.contains(&format!("galley_pii_redactions_total{{kind=\"{kind}\"}} 1")),
            "{kind}"
        );
    }
    let out = read_at_least(&t.inter_ok, 3, Duration::from_secs(30)).await;
    let all: String = out
        .iter()
        .map(|m| String::from_utf8_lossy(m.payload().unwrap()).into_owned())
        .collect();
    for secret in ["4111", "jane@example.com", "7946"] {
        assert!(!all.contains(secret), "{secret} leaked");
    }
    assert!(all.contains("[CARD]") && all.contains("[EMAIL]") && all.contains("[PHONE]"));
    assert!(all.contains("enamel mug 350 ml"));
}

#[tokio::test]
async fn state_follows_partitions_to_a_second_instance() {
    let t = topics("quality-rb").await;
    let mut cfg = quality_config(&unique("quality-rb"), &t);
    cfg.kafka.session_timeout_ms = 6000;
    cfg.runtime.drain_timeout_ms = 4000;
    cfg.runtime.rebalance_drain_timeout_ms = 2000;
    let p = producer();
    let first: Vec<_> = (0..30).map(|i| record(&product(i, 1))).collect();
    produce(&p, &t.input, &first).await;
    let (ma, mb) = (Metrics::new(), Metrics::new());
    let a = start_with_metrics(cfg.clone(), Quality::new(&cfg, ma.clone()).unwrap(), ma.clone());
    assert!(wait_until(Duration::from_secs(60), || outcome(&ma, "validated") >= 30).await);
    // A second instance joins: the group rebalances and B must rebuild the state of whatever
    // partitions it gets from the validated topic, or it would publish them all again.
    let b = start_with_metrics(cfg.clone(), Quality::new(&cfg, mb.clone()).unwrap(), mb.clone());
    let assigned = |m: &Metrics| {
        m.render()
            .contains(r#"galley_rebalances_total{kind="assign",stage="quality"}"#)
    };
    assert!(
        wait_until(Duration::from_secs(60), || assigned(&mb)
            && b.health.not_ready_reasons().is_empty())
        .await
    );
    let again: Vec<_> = (0..30).map(|i| record(&product(i, 2))).collect();
    produce(&p, &t.input, &again).await;
    let skipped = || outcome(&ma, "skipped") + outcome(&mb, "skipped");
    assert!(
        wait_until(Duration::from_secs(60), || skipped() >= 30).await,
        "skipped {}",
        skipped()
    );
    assert!(outcome(&mb, "skipped") > 0, "the second instance got no partition");
    assert_eq!(
        outcome(&ma, "validated") + outcome(&mb, "validated"),
        30,
        "nothing is published twice"
    );
    b.stop().await;
    a.stop().await;
}
