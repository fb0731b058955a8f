//! Probes of the hardening issue's High findings that need a broker, so none comes back: a
//! record over the broker's message limit ends in the DLQ (by reference) instead of wedging its
//! partition, is not dead-lettered again after a restart, and replays from its origin.
#![cfg(feature = "kafka-it")]

mod common;

use std::time::Duration;

use common::*;
use galley::runtime::replay::{ReplayFilter, replay};
use galley::stages::Passthrough;
use rdkafka::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;

/// A producer that may write records up to 2 MB (the default is 1 MB), as a careless upstream
/// with a raised limit would.
fn big_producer() -> FutureProducer {
    let mut cfg = config("big-producer");
    cfg.kafka
        .properties
        .insert("message.max.bytes".into(), "2000000".into());
    galley::runtime::producer(&cfg.kafka, "it-big", Duration::from_secs(30)).unwrap()
}

/// Lets `topic` take records up to 2 MB (Kafka's default is 1 MB), as an upstream's raised
/// limit would.
async fn allow_large_records(topic: &str) {
    use rdkafka::admin::{AdminClient, AdminOptions, AlterConfig, ResourceSpecifier};
    let cfg = config("admin");
    let admin: AdminClient<rdkafka::client::DefaultClientContext> =
        galley::runtime::client_config(&cfg.kafka, "it-admin").create().unwrap();
    let change = AlterConfig::new(ResourceSpecifier::Topic(topic)).set("max.message.bytes", "2000000");
    for r in admin.alter_configs([&change], &AdminOptions::new()).await.unwrap() {
        r.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_record_over_the_message_limit_is_dead_lettered_once_by_reference_and_the_partition_moves_on() {
    oversized_record_ends_in_the_dlq(None).await;
}

/// The same when Galley's own limit is above the producer's (`message.max.bytes`, 1 MB): the
/// producer's refusal is not retried but answered with a compact dead letter.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dead_letter_refused_as_too_large_is_written_compact_instead_of_retried_forever() {
    oversized_record_ends_in_the_dlq(Some(10_000_000)).await;
}

async fn oversized_record_ends_in_the_dlq(max_output_bytes: Option<usize>) {
    let (input, output, dlq) = stage_topics("oversized", 1).await;
    allow_large_records(&input).await;
    let big = vec![b'x'; 1_500_000];
    let p = big_producer();
    let mut records = catalog(2, 2);
    produce(&p, &input, &records[..1]).await;
    p.send(FutureRecord::to(&input).key("huge").payload(&big), Timeout::Never)
        .await
        .unwrap();
    produce(&p, &input, &records.split_off(1)).await;

    let mut cfg = config(&unique("oversized"));
    cfg.topics.dlq = dlq.clone();
    cfg.stages.passthrough.input = input.clone();
    cfg.stages.passthrough.output = output.clone();
    if let Some(limit) = max_output_bytes {
        cfg.runtime.max_output_bytes = limit;
    }
    let run = start(cfg.clone(), Passthrough::new(cfg.stages.passthrough.clone()));
    let all = wait_until(Duration::from_secs(30), || finished(&run.metrics, "passthrough") >= 3).await;
    assert!(
        all,
        "finished {} of 3: the big record wedged its partition",
        finished(&run.metrics, "passthrough")
    );
    // Every offset committed, the oversized one included.
    let group = format!("{}-passthrough", cfg.kafka.group_prefix);
    let committed_all = wait_until(Duration::from_secs(10), || {
        committed(&group, &input, 1).get(&0) == Some(&3)
    })
    .await;
    assert!(committed_all, "committed {:?}", committed(&group, &input, 1));
    run.stop().await;

    let dead = read_at_least(&dlq, 1, Duration::from_secs(10)).await;
    assert_eq!(dead.len(), 1, "one dead letter");
    let d = &dead[0];
    assert_eq!(d.key(), Some(&b"huge"[..]));
    assert_eq!(header(d, "galley.dlq.value").as_deref(), Some("reference"));
    assert_eq!(header(d, "galley.dlq.value.bytes").as_deref(), Some("1500000"));
    assert_eq!(
        header(d, "__connect.errors.exception.class.name").as_deref(),
        Some("oversized")
    );
    assert!(d.payload().unwrap().len() < 1000, "the value is a reference");
    assert_eq!(read_at_least(&output, 2, Duration::from_secs(10)).await.len(), 2);

    // A restart finds nothing left to do: the dead letter is not written a second time.
    let again = start(cfg.clone(), Passthrough::new(cfg.stages.passthrough.clone()));
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        finished(&again.metrics, "passthrough"),
        0,
        "nothing redelivered after the restart"
    );
    again.stop().await;
    assert_eq!(read_at_least(&dlq, 1, Duration::from_secs(5)).await.len(), 1);

    // Replay reads the original back from the input and re-publishes it whole.
    let report = replay(&cfg, &dlq, &ReplayFilter::default(), false).await.unwrap();
    assert_eq!(
        (report.replayed, report.by_reference, report.missing_original),
        (1, 1, 0)
    );
    let back = read_at_least(&input, 4, Duration::from_secs(10)).await;
    let replayed = back.last().unwrap();
    assert_eq!(replayed.payload().map(<[u8]>::len), Some(1_500_000));
    assert_eq!(header(replayed, "galley.replayed").as_deref(), Some("1"));
}
