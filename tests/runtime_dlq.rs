//! Dead-letter operations on a real broker: `galley dlq replay` (dry run and filtered replay),
//! the DLQ-storm guard pausing intake, and W3C trace context carried from input to output.
#![cfg(feature = "kafka-it")]

mod common;

use std::time::Duration;

use common::*;
use galley::runtime::Stage;
use galley::runtime::replay::{ReplayFilter, replay};
use galley::stages::Passthrough;
use galley::telemetry::TraceParent;
use rdkafka::Message;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::FutureRecord;
use rdkafka::util::Timeout;

/// Runs a pass-through stage until `done` records finished.
async fn run_passthrough(cfg: galley::config::GalleyConfig, done: u64) {
    let run = start(cfg.clone(), Passthrough::new(cfg.stages.passthrough.clone()));
    let finished_all = wait_until(Duration::from_secs(60), || {
        finished(&run.metrics, "passthrough") >= done
    })
    .await;
    assert!(finished_all, "finished {}", finished(&run.metrics, "passthrough"));
    run.stop().await;
}

fn passthrough_config(name: &str, input: &str, output: &str, dlq: &str) -> galley::config::GalleyConfig {
    let mut cfg = config(&unique(name));
    cfg.topics.dlq = dlq.to_string();
    cfg.stages.passthrough.input = input.to_string();
    cfg.stages.passthrough.output = output.to_string();
    cfg
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replay_counts_in_a_dry_run_and_republishes_only_what_the_filter_selects() {
    let (input, output, dlq) = stage_topics("replay", 1).await;
    let mut records = catalog(10, 10);
    records.push(("bad-json".into(), b"{\"sku\":1}".to_vec()));
    records.push(("bad-id".into(), galley::schema::frame(777, b"\x00")));
    produce(&producer(), &input, &records).await;
    let cfg = passthrough_config("replay", &input, &output, &dlq);
    run_passthrough(cfg.clone(), 12).await;

    let dry = replay(&cfg, &dlq, &ReplayFilter::default(), true).await.unwrap();
    assert_eq!((dry.scanned, dry.matched, dry.replayed), (2, 2, 0));
    assert_eq!(
        read_at_least(&input, 12, Duration::from_secs(10)).await.len(),
        12,
        "a dry run publishes nothing"
    );

    let only = ReplayFilter {
        code: Some("unknown_schema_id".into()),
        stage: Some("passthrough".into()),
        ..Default::default()
    };
    let done = replay(&cfg, &dlq, &only, false).await.unwrap();
    assert_eq!((done.matched, done.replayed), (1, 1));
    let back = read_at_least(&input, 13, Duration::from_secs(10)).await;
    assert_eq!(back.len(), 13);
    let replayed = back.last().unwrap();
    assert_eq!(replayed.key(), Some(&b"bad-id"[..]));
    assert_eq!(header(replayed, "galley.replayed").as_deref(), Some("1"));
    assert_eq!(
        header(replayed, "__connect.errors.topic"),
        None,
        "DLQ context is stripped"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dlq_storm_pauses_intake_and_marks_the_stage_unready() {
    let (input, output, dlq) = stage_topics("storm", 1).await;
    let poison: Vec<_> = (0..200).map(|i| (format!("bad-{i}"), b"garbage".to_vec())).collect();
    produce(&producer(), &input, &poison).await;
    let mut cfg = passthrough_config("storm", &input, &output, &dlq);
    // Records taken before the trip may still finish: at most these two bounds together.
    (cfg.runtime.max_in_flight, cfg.runtime.max_unacked) = (4, 4);
    cfg.runtime.dlq_storm.min_records = 20;
    cfg.runtime.dlq_storm.max_ratio = 0.5;
    cfg.runtime.dlq_storm.pause_ms = 1500;

    let run = start(cfg.clone(), Passthrough::new(cfg.stages.passthrough.clone()));
    let (metrics, health) = (run.metrics.clone(), run.health.clone());
    let storm = || metrics.paused.with_label_values(&["passthrough", "dlq_storm"]).get() == 1;
    assert!(
        wait_until(Duration::from_secs(30), storm).await,
        "the storm guard pauses intake"
    );
    let at_trip = finished(&metrics, "passthrough");
    assert!(
        at_trip < 200,
        "paused before dead-lettering the whole topic ({at_trip})"
    );
    assert!(health.not_ready_reasons().iter().any(|r| r.contains("DLQ-storm")));
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(
        finished(&metrics, "passthrough") <= at_trip + 8,
        "no new intake while paused (records already taken may finish)"
    );
    // After the pause the stage resumes (and, the input still being poison, trips again later).
    assert!(
        wait_until(Duration::from_secs(30), || finished(&metrics, "passthrough")
            > at_trip + 8)
        .await,
        "intake resumes after the pause"
    );
    run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn traceparent_continues_the_trace_from_input_to_output() {
    let (input, output, dlq) = stage_topics("trace", 1).await;
    let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let (key, value) = catalog(1, 1).remove(0);
    let p = producer();
    let traced = OwnedHeaders::new().insert(Header {
        key: "traceparent",
        value: Some(parent),
    });
    p.send(
        FutureRecord::to(&input).key(&key).payload(&value).headers(traced),
        Timeout::Never,
    )
    .await
    .unwrap();
    p.send(FutureRecord::to(&input).key(&key).payload(&value), Timeout::Never)
        .await
        .unwrap();
    let cfg = passthrough_config("trace", &input, &output, &dlq);
    assert_eq!(Passthrough::new(cfg.stages.passthrough.clone()).name(), "passthrough");
    run_passthrough(cfg, 2).await;

    let out = read_at_least(&output, 2, Duration::from_secs(10)).await;
    let tps: Vec<TraceParent> = out
        .iter()
        .map(|m| TraceParent::parse(&header(m, "traceparent").expect("output carries traceparent")).unwrap())
        .collect();
    let incoming = TraceParent::parse(parent).unwrap();
    assert_eq!(tps[0].trace_id, incoming.trace_id, "same trace");
    assert_ne!(tps[0].span_id, incoming.span_id, "new span for this hop");
    assert_ne!(
        tps[1].trace_id, incoming.trace_id,
        "a record without context starts a new trace"
    );
}
