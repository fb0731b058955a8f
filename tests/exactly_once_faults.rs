//! Exactly-once where only a real Kafka can prove it: a zombie instance — frozen while it held
//! an open transaction, replaced by a new instance with the same `transactional.id`, then woken
//! — is fenced: its transaction can no longer commit, it stops, and a read_committed reader sees
//! every input's outcome exactly once (the books map each input to its committed outputs).
#![cfg(feature = "kafka-it")]

#[path = "common/books.rs"]
mod books;
mod common;
#[path = "common/inputs.rs"]
mod inputs;
#[path = "common/quality_faults.rs"]
mod quality_faults;
#[path = "common/stage_process.rs"]
mod stage_process;
#[path = "common/txn.rs"]
mod txn;

use std::sync::Arc;
use std::time::{Duration, Instant};

use books::{Books, QualityTopics, quality_output_id};
use common::kafka_host;
use inputs::{Feed, catalog_inputs};
use quality_faults::FastSession;
use stage_process::StageProcess;

const MINUTE: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_zombie_instance_is_fenced_and_nothing_is_written_twice() {
    let started = Instant::now();
    let t = QualityTopics::create(&kafka_host(), "f-zombie", 4).await;
    let inputs = Arc::new(catalog_inputs(4000, 300));
    let session = FastSession::new(&[("fetch.wait.max.ms", "10")]);
    let instance = common::unique("zombie");
    let mut env: Vec<(&str, &str)> = session.env().to_vec();
    env.extend([
        ("GALLEY_RUNTIME__EXACTLY_ONCE", "true"),
        ("GALLEY_RUNTIME__INSTANCE_ID", instance.as_str()),
    ]);
    let mut zombie = StageProcess::spawn("zombie", "quality", &t.env(), &env);
    zombie.wait_assigned(1, MINUTE).await;
    let feed = Feed::start(&t.host, &t.input, inputs.clone(), 500);
    assert!(t.wait_committed(500, MINUTE).await, "the first instance made progress");
    // Frozen mid-stream, with records in its open transaction; its group session then expires.
    zombie.signal(libc::SIGSTOP);
    let frozen_at = t.committed().await.unwrap_or(0);
    let mut successor = StageProcess::spawn("successor", "quality", &t.env(), &env);
    successor.wait_assigned(1, MINUTE).await;
    assert!(
        t.wait_committed(frozen_at + 500, MINUTE).await,
        "the successor took over"
    );
    // Woken: whatever it still holds must not be committed.
    zombie.signal(libc::SIGCONT);
    let zombie_exit = zombie.wait_exit(Duration::from_secs(30)).await;
    let sent = feed.finish().await;
    assert!(
        t.wait_committed(sent as i64, Duration::from_secs(90)).await,
        "the successor finished the stream"
    );
    // A read_committed reader (librdkafka's default isolation) of every output topic.
    let outputs = t.outputs().await;
    let books = Books::count(&inputs, &outputs, quality_output_id);
    eprintln!(
        "FAULT exactly-once zombie: {books} | zombie exit {zombie_exit}, fenced mentions {} | committed {frozen_at} \
         when frozen | took {:?}",
        zombie.count("fenced"),
        started.elapsed()
    );
    books.assert_balanced();
    assert_eq!(books.duplicates, 0, "a read_committed reader saw an outcome twice");
    assert_ne!(
        zombie_exit,
        0,
        "the fenced zombie stops with an error:\n{}",
        zombie.log_tail(20)
    );
    assert!(
        zombie.count("fenced") > 0,
        "it says it was fenced:\n{}",
        zombie.log_tail(20)
    );
    assert_eq!(successor.terminate(Duration::from_secs(20)).await, 0, "clean exit");
}
