//! The quality stage as a child process under faults: group settings that keep rebalances short, what a crash may redeliver, killing it mid-batch, measuring a stall, and one
//! `kill -9` and restart with its books ([`kill_nine_and_restart`], reusable with other settings).

#![allow(dead_code, unreachable_pub)]

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::message::OwnedMessage;

use crate::books::{Books, QualityTopics, quality_output_id};
use crate::common::kafka_host;
use crate::inputs::{Feed, Id, Input, catalog_inputs};
use crate::stage_process::{StageProcess, metric};
use crate::txn::AtKill;

const MINUTE: Duration = Duration::from_secs(60);

/// `runtime.max_in_flight` of the quality children (`QualityTopics::env`).
pub const MAX_IN_FLIGHT: usize = 64;
/// `runtime.max_unacked` of the quality children.
pub const MAX_UNACKED: usize = 64;

/// What one stage crash may legitimately redeliver: every record in flight or waiting for its
/// acknowledgements, plus what finished since the last acknowledged commit. Commits go out
/// every 50 ms and take a broker round trip; 0.3 s of a feed at `rate`/s covers that with room
/// (as in runtime_process.rs).
pub fn redelivery_bound(rate: usize) -> usize {
    MAX_IN_FLIGHT + MAX_UNACKED + rate * 3 / 10
}

/// Group settings that keep evictions and joins to seconds: session 3 s (the test brokers'
/// group.min.session.timeout.ms is 1 s), heartbeats every 0.5 s, plus any other librdkafka `properties`. They go in a config file
/// because librdkafka property names contain dots, which `GALLEY_*` variables cannot express.
pub struct FastSession(tempfile::NamedTempFile);

impl FastSession {
    /// Writes the config file.
    pub fn new(properties: &[(&str, &str)]) -> Self {
        let file = tempfile::NamedTempFile::new().unwrap();
        let mut toml = String::from("[kafka.properties]\n\"heartbeat.interval.ms\" = \"500\"\n");
        for (k, v) in properties {
            toml.push_str(&format!("\"{k}\" = \"{v}\"\n"));
        }
        std::fs::write(file.path(), toml).unwrap();
        FastSession(file)
    }

    /// Environment for a quality child (drains must end within the session).
    pub fn env(&self) -> [(&str, &str); 4] {
        [
            ("GALLEY_CONFIG", self.0.path().to_str().unwrap()),
            ("GALLEY_KAFKA__SESSION_TIMEOUT_MS", "3000"),
            ("GALLEY_RUNTIME__DRAIN_TIMEOUT_MS", "2000"),
            ("GALLEY_RUNTIME__REBALANCE_DRAIN_TIMEOUT_MS", "1000"),
        ]
    }
}

/// Skipped records of the quality stage behind `stage`: with inputs that are all news, these
/// are redeliveries its state absorbed.
pub async fn absorbed(stage: &StageProcess) -> usize {
    metric(
        &stage.metrics().await,
        "galley_records_total",
        &[r#"outcome="skipped""#],
    ) as usize
}

/// SIGKILLs `stage` as soon as its metrics show records in flight; returns how many were.
pub async fn kill_mid_batch(stage: &mut StageProcess) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let n = metric(&stage.metrics().await, "galley_in_flight", &[r#"stage="quality""#]);
        if n > 0.0 {
            stage.kill9().await;
            return n;
        }
    }
    panic!("{} never had records in flight:\n{}", stage.name, stage.log_tail(30));
}

/// Runs `fault` while the stream flows; returns how long it lasted and how long after its start
/// the stage committed 100 more records (its stall).
pub async fn stall(t: &QualityTopics, stage: &StageProcess, fault: impl Future<Output = ()>) -> (Duration, Duration) {
    let start = Instant::now();
    fault.await;
    let lasted = start.elapsed();
    let at_end = t.committed().await.unwrap_or(0);
    // Two minutes: beside the other fault tests on two cores, a stage whose private broker was
    // frozen has needed more than one to deliver again (its produces timing out meanwhile); the
    // stall itself is measured and reported, this only bounds it.
    assert!(
        t.wait_committed(at_end + 100, 2 * MINUTE).await,
        "the stage resumed after the fault:\n{}",
        stage.log_tail(30)
    );
    (lasted, start.elapsed())
}

/// What one `kill -9` mid-batch and restart left behind.
pub struct KillNine {
    /// What was fed.
    pub inputs: Arc<Vec<Input>>,
    /// Every record on the output topics, with its outcome kind.
    pub outputs: Vec<(&'static str, OwnedMessage)>,
    /// Outcomes of every input across the output topics.
    pub books: Books,
    /// `galley_in_flight` of the killed stage just before the kill.
    pub in_flight_at_kill: f64,
    /// Input records committed when it died.
    pub committed_at_kill: i64,
    /// Redeliveries the restarted stage skipped because their outputs already existed.
    pub absorbed: usize,
    /// From the kill until the restarted stage owned the partitions.
    pub down: Duration,
}

/// Records fed to the stage that is killed.
pub const KILL_RECORDS: usize = 3000;
/// Their rate, records/s.
pub const KILL_RATE: usize = 1000;

/// Runs the quality stage as a child with `extra_env`, fed mid-stream; kills it with SIGKILL
/// while records are in flight; restarts it the same way; returns the books once the restarted
/// stage committed everything. Assertions on duplicates are the caller's, so a variant with other
/// settings (say, exactly-once) can reuse this and demand its own bound.
pub async fn kill_nine_and_restart(extra_env: &[(&str, &str)]) -> KillNine {
    let t = QualityTopics::create(&kafka_host(), "f-kill", 4).await;
    let inputs = Arc::new(catalog_inputs(KILL_RECORDS, 300));
    // Fetches answered within 10 ms when nothing is new (a broker holds such a fetch for
    // fetch.wait.max.ms), so records arrive as a stream rather than in bursts that finish and
    // commit before the kill, which would leave nothing finished-but-uncommitted to catch.
    let session = FastSession::new(&[("fetch.wait.max.ms", "10")]);
    let env: Vec<(&str, &str)> = session.env().into_iter().chain(extra_env.iter().copied()).collect();
    let mut first = StageProcess::spawn("first", "quality", &t.env(), &env);
    first.wait_assigned(1, MINUTE).await;
    // Fed once it owns its partitions, so the kill lands in a stream being processed rather
    // than in a startup backlog. (An unoptimised build on two cores runs near its capacity at
    // this rate, so in flight is usually full at the kill: the worst case for redelivery.)
    let feed = Feed::start(&t.host, &t.input, inputs.clone(), KILL_RATE);
    assert!(t.wait_committed(500, MINUTE).await, "the stage made progress");
    let in_flight_at_kill = kill_mid_batch(&mut first).await;
    let killed = Instant::now();
    let committed_at_kill = t.committed().await.expect("the broker answers");
    assert!(committed_at_kill < KILL_RECORDS as i64, "killed mid-stream");
    let mut second = StageProcess::spawn("second", "quality", &t.env(), &env);
    second.wait_assigned(1, MINUTE).await;
    let down = killed.elapsed();
    let sent = feed.finish().await;
    assert!(
        t.wait_committed(sent as i64, Duration::from_secs(90)).await,
        "the restarted stage finished the stream"
    );
    let absorbed = absorbed(&second).await;
    let outputs = t.outputs().await;
    let books = Books::count(&inputs, &outputs, quality_output_id);
    assert_eq!(second.terminate(Duration::from_secs(20)).await, 0, "clean exit");
    KillNine {
        inputs,
        outputs,
        books,
        in_flight_at_kill,
        committed_at_kill,
        absorbed,
        down,
    }
}

/// The books of a [`KillNine`] in exactly-once mode, by the transaction that wrote each outcome
/// (`txn.rs`).
pub struct ExactlyOnceBooks {
    /// Outcomes written by committed transactions only: none may repeat.
    pub committed: Books,
    /// Records of the killed life's last transaction repeating an outcome a committed
    /// transaction wrote: the aborted transaction leaking (0 where the broker hides aborted
    /// records).
    pub leaked: usize,
    /// Inputs whose only outcome is in that last transaction. When it committed before the kill,
    /// simply its records; when the kill aborted it, redeliveries the restarted stage skipped as
    /// unchanged because its state read the leaked record (0 on Kafka: that state reads
    /// read_committed and never sees an aborted record).
    pub only_in_last: usize,
    /// Transactions the killed life wrote records in.
    pub killed_transactions: u64,
}

impl ExactlyOnceBooks {
    /// Splits `k`'s outcomes at the kill and counts both sides.
    pub fn of(k: &KillNine) -> Self {
        let split = AtKill::split(k.outputs.iter().collect(), |(_, m)| m);
        let ids = |outputs: &[&(&'static str, OwnedMessage)]| -> HashSet<Id> {
            outputs
                .iter()
                .filter_map(|(kind, m)| quality_output_id(kind, m))
                .collect()
        };
        let (committed_ids, last_ids) = (ids(&split.committed), ids(&split.last));
        let committed: Vec<_> = split.committed.into_iter().cloned().collect();
        ExactlyOnceBooks {
            committed: Books::count(&k.inputs, &committed, quality_output_id),
            leaked: split
                .last
                .iter()
                .filter(|(kind, m)| quality_output_id(kind, m).is_some_and(|id| committed_ids.contains(&id)))
                .count(),
            only_in_last: last_ids.difference(&committed_ids).count(),
            killed_transactions: split.killed_transactions,
        }
    }
}

impl fmt::Display for ExactlyOnceBooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "committed transactions: {} | killed life: {} transactions, its last leaked {} repeats and held the only \
             outcome of {} inputs",
            self.committed, self.killed_transactions, self.leaked, self.only_in_last
        )
    }
}
