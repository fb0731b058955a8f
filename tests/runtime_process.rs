//! The `galley` binary as operators run it, on a real broker: `kill -9` mid-stream then restart
//! loses nothing; SIGTERM drains, commits and exits 0 (a restart then sees no duplicates); a
//! second instance joining the group (rebalance) loses nothing; in exactly-once mode a `kill -9`
//! neither loses nor repeats a committed output.
#![cfg(feature = "kafka-it")]

mod common;
#[path = "common/txn.rs"]
mod txn;

use std::collections::{HashMap, HashSet};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;
use tokio::process::{Child, Command};
use txn::AtKill;

const RECORDS: usize = 3000;
const RATE_PER_S: u64 = 1000;
/// What a kill may legitimately redeliver: the child's max_in_flight and max_unacked (see
/// `child_env`) plus the records finished since the last acknowledged commit. Commits go out
/// every 50 ms and take a broker round trip; 0.3 s of the 1000/s feed covers that with room.
const DUPLICATE_BOUND: usize = 64 + 64 + 300;

struct Topics {
    input: String,
    output: String,
    dlq: String,
    group: String,
}

async fn topics(name: &str) -> Topics {
    let t = Topics {
        input: unique(&format!("{name}-in")),
        output: unique(&format!("{name}-out")),
        dlq: unique(&format!("{name}-dlq")),
        group: unique(name),
    };
    create_topics(&[&t.input, &t.output, &t.dlq], 4).await;
    t
}

fn spawn_stage(t: &Topics, log: &str) -> Child {
    spawn_stage_with(t, log, &[])
}

fn spawn_stage_with(t: &Topics, log: &str, extra: &[(String, String)]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_galley"))
        .args(["run", "--stage", "passthrough"])
        .envs(child_env(&t.group, &t.input, &t.output, &t.dlq))
        .envs(extra.iter().cloned())
        .env("GALLEY_LOG", log)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("galley binary starts")
}

/// Produces `n` catalog records at RATE_PER_S in the background.
fn produce_paced(topic: &str, n: usize) -> tokio::task::JoinHandle<()> {
    let topic = topic.to_string();
    tokio::spawn(async move {
        let p = producer();
        let records = catalog(n, 300);
        let per_tick = (RATE_PER_S / 20) as usize;
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        for chunk in records.chunks(per_tick) {
            tick.tick().await;
            produce(&p, &topic, chunk).await;
        }
    })
}

fn processed(t: &Topics) -> i64 {
    committed(&format!("{}-passthrough", t.group), &t.input, 4)
        .values()
        .sum()
}

fn signal(child: &Child, sig: i32) {
    let pid = child.id().expect("child is running") as i32;
    // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
    assert_eq!(unsafe { libc::kill(pid, sig) }, 0, "signal {sig} to {pid}");
}

/// Reads the output until every input version is there; returns (distinct, duplicates).
async fn books(t: &Topics, n: usize) -> (usize, usize) {
    let out = read_at_least(&t.output, n, Duration::from_secs(90)).await;
    let mut seen: HashMap<i64, usize> = HashMap::new();
    for m in &out {
        *seen.entry(version_of(m)).or_default() += 1;
    }
    let missing: Vec<_> = (0..n as i64).filter(|v| !seen.contains_key(v)).take(10).collect();
    assert!(
        missing.is_empty(),
        "lost records (first 10): {missing:?} of {RECORDS}; got {} distinct",
        seen.len()
    );
    let dlq = read_at_least(&t.dlq, 0, Duration::from_secs(2)).await;
    assert!(dlq.is_empty(), "valid records must not be dead-lettered");
    (seen.len(), out.len() - seen.len())
}

async fn exit_code_within(child: &mut Child, limit: Duration) -> i32 {
    let status = tokio::time::timeout(limit, child.wait())
        .await
        .expect("stage exits in time")
        .unwrap();
    status.code().unwrap_or(-1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_minus_nine_mid_stream_then_restart_loses_nothing() {
    let t = topics("kill").await;
    let (mut first, feeder) = stage_fed_mid_stream(&t).await;
    signal(&first, libc::SIGKILL);
    first.wait().await.unwrap();
    let at_kill = processed(&t);
    assert!(at_kill < RECORDS as i64, "killed mid-stream");
    let mut second = spawn_stage(&t, "warn");
    feeder.await.unwrap();
    assert!(
        wait_until(Duration::from_secs(90), || processed(&t) == RECORDS as i64).await,
        "restart finishes the stream"
    );
    let (distinct, duplicates) = books(&t, RECORDS).await;
    eprintln!("kill -9 at {at_kill} committed: {distinct} distinct, {duplicates} duplicates (bound {DUPLICATE_BOUND})");
    assert_eq!(distinct, RECORDS);
    assert!(
        duplicates <= DUPLICATE_BOUND,
        "{duplicates} duplicates exceed the bound {DUPLICATE_BOUND}"
    );
    signal(&second, libc::SIGTERM);
    assert_eq!(exit_code_within(&mut second, Duration::from_secs(20)).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_commits_and_exits_zero() {
    let t = topics("term").await;
    let (mut first, feeder) = stage_fed_mid_stream(&t).await;
    let asked = Instant::now();
    signal(&first, libc::SIGTERM);
    assert_eq!(
        exit_code_within(&mut first, Duration::from_secs(20)).await,
        0,
        "clean exit"
    );
    let drained_in = asked.elapsed();
    let at_stop = processed(&t);
    let mut second = spawn_stage(&t, "warn");
    feeder.await.unwrap();
    assert!(wait_until(Duration::from_secs(90), || processed(&t) == RECORDS as i64).await);
    let (distinct, duplicates) = books(&t, RECORDS).await;
    eprintln!(
        "SIGTERM at {at_stop} committed, drained in {drained_in:?}: {distinct} distinct, {duplicates} duplicates"
    );
    assert_eq!(
        duplicates, 0,
        "a drained stop commits everything it produced, so a restart repeats nothing"
    );
    signal(&second, libc::SIGTERM);
    assert_eq!(exit_code_within(&mut second, Duration::from_secs(20)).await, 0);
}

/// Starts a stage, feeds RECORDS once it owns its partitions, and returns when it has committed
/// 500 of them. Feeding only after the assignment keeps the stage at the feed's pace instead of
/// racing through a backlog (which would widen what a kill legitimately redelivers).
async fn stage_fed_mid_stream(t: &Topics) -> (Child, tokio::task::JoinHandle<()>) {
    stage_fed_mid_stream_with(t, &[]).await
}

async fn stage_fed_mid_stream_with(t: &Topics, extra: &[(String, String)]) -> (Child, tokio::task::JoinHandle<()>) {
    let mut stage = spawn_stage_with(t, "info", extra);
    wait_for_assignment(&mut stage).await;
    let feeder = produce_paced(&t.input, RECORDS);
    assert!(
        wait_until(Duration::from_secs(60), || processed(t) >= 500).await,
        "stage made progress"
    );
    (stage, feeder)
}

/// Waits until a child logged its partition assignment (it must log at info).
async fn wait_for_assignment(child: &mut Child) {
    let log = collect_stderr(child);
    let assigned = wait_until(Duration::from_secs(60), || {
        log.lock().unwrap().contains("Partitions assigned")
    })
    .await;
    assert!(assigned, "the stage got partitions:\n{}", log.lock().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_instance_joining_rebalances_without_loss() {
    let (distinct, duplicates) = second_instance_joins("rebal", &[], &[]).await;
    eprintln!("rebalance mid-stream: {distinct} distinct, {duplicates} duplicates");
    assert!(duplicates <= DUPLICATE_BOUND);
}

/// Exactly-once through a rebalance: the first instance drops the staged outputs of the
/// partitions it gives up (their offsets uncommitted), so nothing is written twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_once_rebalance_writes_nothing_twice() {
    let eos = |instance: &str| {
        vec![
            ("GALLEY_RUNTIME__EXACTLY_ONCE".to_string(), "true".to_string()),
            ("GALLEY_RUNTIME__INSTANCE_ID".to_string(), unique(instance)),
        ]
    };
    let (distinct, duplicates) = second_instance_joins("eos-rebal", &eos("a"), &eos("b")).await;
    eprintln!("exactly-once rebalance mid-stream: {distinct} distinct, {duplicates} duplicates");
    assert_eq!(duplicates, 0);
}

/// One instance takes a paced stream; a second joins mid-stream; both drain on SIGTERM.
/// Returns the books: (distinct, duplicates).
async fn second_instance_joins(
    name: &str,
    first_env: &[(String, String)],
    second_env: &[(String, String)],
) -> (usize, usize) {
    // Long enough that the second member joins while records are still flowing.
    let records = 3 * RECORDS;
    let t = topics(name).await;
    let mut first = spawn_stage_with(&t, "info", first_env);
    let first_log = collect_stderr(&mut first);
    let assigned = wait_until(Duration::from_secs(60), || {
        first_log.lock().unwrap().contains("Partitions assigned")
    })
    .await;
    assert!(assigned, "the first instance got partitions");
    let feeder = produce_paced(&t.input, records);
    assert!(
        wait_until(Duration::from_secs(60), || processed(&t) >= 300).await,
        "first instance made progress"
    );
    let mut second = spawn_stage_with(&t, "info", second_env);
    let second_log = collect_stderr(&mut second);
    let joined = wait_until(Duration::from_secs(30), || {
        second_log.lock().unwrap().contains("Partitions assigned")
    })
    .await;
    assert!(
        joined,
        "the second instance got partitions:\n{}",
        second_log.lock().unwrap()
    );
    assert!(!feeder.is_finished(), "the rebalance happened mid-stream");
    feeder.await.unwrap();
    assert!(
        wait_until(Duration::from_secs(90), || processed(&t) == records as i64).await,
        "the group finishes the stream"
    );
    let books = books(&t, records).await;
    assert!(
        first_log.lock().unwrap().contains("Partitions revoked"),
        "the first instance gave partitions up"
    );
    for c in [&first, &second] {
        signal(c, libc::SIGTERM);
    }
    for c in [&mut first, &mut second] {
        assert_eq!(exit_code_within(c, Duration::from_secs(20)).await, 0);
    }
    books
}

/// Exactly-once: the same kill as above, with the stage's outputs and offsets committed in
/// transactions. Every output carries the transaction that wrote it (`galley.txn`), so each
/// duplicate can be traced: a committed transaction must never repeat an output. The one
/// transaction open at the kill is aborted when the restart fences it, and Kafka hides its
/// records from read_committed readers: none may leak.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_once_kill_minus_nine_repeats_no_committed_output() {
    let t = topics("eos-kill").await;
    let eos = vec![
        ("GALLEY_RUNTIME__EXACTLY_ONCE".to_string(), "true".to_string()),
        ("GALLEY_RUNTIME__INSTANCE_ID".to_string(), unique("eos")),
    ];
    let (mut first, feeder) = stage_fed_mid_stream_with(&t, &eos).await;
    signal(&first, libc::SIGKILL);
    first.wait().await.unwrap();
    let at_kill = processed(&t);
    assert!(at_kill < RECORDS as i64, "killed mid-stream");
    let mut second = spawn_stage_with(&t, "warn", &eos);
    feeder.await.unwrap();
    assert!(
        wait_until(Duration::from_secs(90), || processed(&t) == RECORDS as i64).await,
        "restart finishes the stream"
    );
    let out = read_at_least(&t.output, RECORDS, Duration::from_secs(90)).await;
    let split = AtKill::split(out, |m| m);
    let versions = |ms: &[rdkafka::message::OwnedMessage]| ms.iter().map(version_of).collect::<HashSet<i64>>();
    let (committed, last) = (versions(&split.committed), versions(&split.last));
    let lost = (0..RECORDS as i64)
        .filter(|v| !committed.contains(v) && !last.contains(v))
        .count();
    let repeated = split.committed.len() - committed.len();
    let leaked = split.last.iter().filter(|m| committed.contains(&version_of(m))).count();
    eprintln!(
        "exactly-once kill -9 at {at_kill} committed, {} transactions before the kill: {} distinct of {RECORDS}, {lost} lost, {repeated} repeated by committed transactions, {leaked} leaked from the aborted transaction",
        split.killed_transactions,
        committed.union(&last).count()
    );
    assert_eq!(lost, 0, "no input lost");
    assert_eq!(repeated, 0, "no committed transaction repeats an output");
    assert_eq!(leaked, 0, "no record of the aborted transaction is seen");
    signal(&second, libc::SIGTERM);
    assert_eq!(exit_code_within(&mut second, Duration::from_secs(20)).await, 0);
}
