//! Faults of a replicated Apache Kafka cluster under a running quality stage: three KRaft nodes
//! (each broker and controller), topics with replication factor 3, `min.insync.replicas=2`,
//! producers with `acks=all`. A `kill -9` of the broker leading the most partitions (leader
//! election), a rolling restart of all three, two brokers down at once (the controller quorum
//! lost with them), and one broker down under `min.insync.replicas=3` (NOT_ENOUGH_REPLICAS).
//!
//! Each ends with the books balanced: every input reached a terminal outcome of its kind,
//! nothing is lost, duplicates are counted and bounded; none dead-letters anything. Each prints
//! one `FAULT <name>:` line. The tests share `scripts/test.sh`'s three-node cluster, one at a
//! time ([`Cluster::shared_three`]), which gets every node back when a test ends.
#![cfg(feature = "kafka-it")]

#[path = "common/books.rs"]
mod books;
mod common;
#[path = "common/inputs.rs"]
mod inputs;
#[path = "common/kafka.rs"]
mod kafka;
#[path = "common/quality_faults.rs"]
mod quality_faults;
#[path = "common/stage_process.rs"]
mod stage_process;
#[path = "common/txn.rs"]
mod txn;

use std::sync::Arc;
use std::time::{Duration, Instant};

use books::QualityTopics;
use galley::runtime::client_config;
use inputs::{Feed, catalog_inputs};
use kafka::Cluster;
use quality_faults::{FastSession, absorbed, redelivery_bound, stall};
use rdkafka::admin::{AdminClient, AdminOptions, AlterConfig, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::DefaultClientContext;
use stage_process::StageProcess;

const MINUTE: Duration = Duration::from_secs(60);
const RATE: usize = 250;

/// Fails a test still running after three minutes; dropping the cluster handle heals it.
async fn within(test: impl Future<Output = ()>) {
    let limit = 3 * MINUTE;
    tokio::time::timeout(limit, test)
        .await
        .unwrap_or_else(|_| panic!("the test ran longer than {limit:?}"));
}

/// A quality stage fed at [`RATE`] on its own topics in `cluster`, past its first commits.
struct Running {
    t: QualityTopics,
    stage: StageProcess,
    feed: Feed,
    inputs: Arc<Vec<inputs::Input>>,
    _session: FastSession,
}

async fn run_quality(cluster: &Cluster, name: &str) -> Running {
    let t = QualityTopics::create(&cluster.host(), name, 6).await;
    // The stage creates its validated topic; made here first, so the test sets its configs.
    create_compacted(&cluster.host(), &t.validated, 6).await;
    let inputs = Arc::new(catalog_inputs(100_000, 300));
    // Reconnects capped at 1 s (librdkafka's 10 s cap alone would set the stalls).
    let session = FastSession::new(&[("reconnect.backoff.max.ms", "1000")]);
    // Deliveries fail after 5 s instead of 30, so an outage shows as failed produces the
    // stage retries, not only as librdkafka's silent internal retries.
    let mut extra = session.env().to_vec();
    extra.push(("GALLEY_RUNTIME__PRODUCE_TIMEOUT_MS", "5000"));
    let stage = StageProcess::spawn("stage", "quality", &t.env(), &extra);
    stage.wait_assigned(1, MINUTE).await;
    let feed = Feed::start(&t.host, &t.input, inputs.clone(), RATE);
    assert!(t.wait_committed(300, MINUTE).await, "the stage made progress");
    Running {
        t,
        stage,
        feed,
        inputs,
        _session: session,
    }
}

impl Running {
    /// Stops the feed, waits until the stage committed all of it, checks the books (balanced,
    /// duplicates within `bound`, no dead letter) and that the stage exits cleanly; prints them.
    async fn finish(mut self, name: &str, bound: usize, figures: String) {
        let sent = self.feed.stop().await;
        assert!(
            self.t.wait_committed(sent as i64, 2 * MINUTE).await,
            "the stage finished the stream:\n{}",
            self.stage.log_tail(30)
        );
        let absorbed = absorbed(&self.stage).await;
        let books = self.t.books(&self.inputs[..sent]).await;
        eprintln!(
            "FAULT {name}: {books} absorbed={absorbed} bound={bound} | {figures} | produce retries={} rebalances={}",
            self.stage.count("Produce failed; retrying"),
            self.stage.assignments() - 1,
        );
        books.assert_balanced();
        assert_eq!(
            books.outcomes.get("dlq").copied().unwrap_or(0),
            0,
            "nothing dead-lettered"
        );
        assert!(books.duplicates + absorbed <= bound, "redelivered more than {bound}");
        assert_eq!(self.stage.terminate(Duration::from_secs(20)).await, 0, "clean exit");
    }
}

async fn admin(host: &str) -> AdminClient<DefaultClientContext> {
    let cfg = common::config_on(host, "admin");
    client_config(&cfg.kafka, "it-admin").create().unwrap()
}

async fn create_compacted(host: &str, topic: &str, partitions: i32) {
    let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(3)).set("cleanup.policy", "compact");
    for r in admin(host)
        .await
        .create_topics([&new], &AdminOptions::new())
        .await
        .unwrap()
    {
        r.unwrap_or_else(|(t, e)| panic!("creating {t}: {e}"));
    }
}

/// Sets `min.insync.replicas` on `topics`.
async fn min_isr(host: &str, topics: &[&str], n: &str) {
    let changes: Vec<_> = topics
        .iter()
        .map(|t| AlterConfig::new(ResourceSpecifier::Topic(t)).set("min.insync.replicas", n))
        .collect();
    for r in admin(host)
        .await
        .alter_configs(&changes, &AdminOptions::new())
        .await
        .unwrap()
    {
        r.unwrap_or_else(|(t, e)| panic!("configuring {t:?}: {e}"));
    }
}

/// The broker leading the most partitions of the stage's topics killed with SIGKILL mid-stream:
/// its partitions elect new leaders among the in-sync replicas, the stage's fetches, produces
/// and commits move to them, and the node comes back on its log directory.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_nine_of_the_busiest_leader_balances_the_books() {
    within(async {
        let cluster = Cluster::shared_three().await;
        let started = Instant::now();
        let r = run_quality(&cluster, "c-leader").await;
        let leader = cluster.busiest_leader(&r.t.input);
        let before = cluster.leaders(&r.t.input);
        let (down, stall) = stall(&r.t, &r.stage, cluster.kill(leader)).await;
        let after = cluster.leaders(&r.t.input);
        assert!(
            !after.contains(&(leader as i32)),
            "new leaders elected: {before:?} -> {after:?}"
        );
        cluster.start(leader).await;
        assert!(cluster.wait_in_sync(&r.t.input, 3, MINUTE).await, "the node caught up");
        let figures = format!(
            "killed node {leader} (led {before:?}, then {after:?}), stalled {stall:?} (kill took {down:?}), took {:?}",
            started.elapsed()
        );
        r.finish("leader kill -9", redelivery_bound(RATE), figures).await;
    })
    .await;
}

/// Every broker restarted in turn (stop, start on its log directory, wait until its replicas
/// are in sync again) while the pipeline runs, as an operator upgrades a cluster.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rolling_restart_of_all_three_brokers_balances_the_books() {
    within(async {
        let cluster = Cluster::shared_three().await;
        let started = Instant::now();
        let r = run_quality(&cluster, "c-rolling").await;
        let mut stalls = Vec::new();
        for n in 1..=3 {
            let (_, stall) = stall(&r.t, &r.stage, cluster.restart(n)).await;
            stalls.push(stall);
            assert!(cluster.wait_in_sync(&r.t.input, 3, MINUTE).await, "node {n} caught up");
        }
        let figures = format!("stalls {stalls:?}, took {:?}", started.elapsed());
        // A controlled shutdown moves leaderships first: nothing the stage did is redone.
        r.finish("rolling restart", redelivery_bound(RATE), figures).await;
    })
    .await;
}

/// Two of the three brokers down at once for ten seconds. With combined broker-controller
/// nodes the controller quorum goes with them, so the in-sync set cannot shrink: `acks=all`
/// produces neither succeed nor fail fast, they time out. The stage must wait (no dead letters,
/// nothing lost) and resume when the brokers return.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_brokers_down_the_stage_waits_and_resumes() {
    within(async {
        let cluster = Cluster::shared_three().await;
        let started = Instant::now();
        let mut r = run_quality(&cluster, "c-two-down").await;
        let committed = r.t.committed().await.unwrap_or(0);
        let outage = async {
            let a = cluster.busiest_leader(&r.t.input);
            let b = (1..=3).find(|n| *n != a).unwrap_or(2);
            cluster.kill(a).await;
            cluster.kill(b).await;
            tokio::time::sleep(Duration::from_secs(10)).await;
            let during = r.t.committed().await.unwrap_or(0);
            cluster.start(a).await;
            cluster.start(b).await;
            during
        };
        let during = std::sync::Mutex::new(0);
        let (_, stall) = stall(&r.t, &r.stage, async {
            let n = outage.await;
            *during.lock().unwrap() = n;
        })
        .await;
        let during = during.into_inner().unwrap();
        assert!(
            r.stage.is_running(),
            "the stage waited instead of failing:\n{}",
            r.stage.log_tail(30)
        );
        let figures = format!(
            "committed {committed} before, {during} during the outage; stalled {stall:?}, took {:?}",
            started.elapsed()
        );
        r.finish("two brokers down", 2 * redelivery_bound(RATE), figures).await;
    })
    .await;
}

/// One broker down while every topic demands three in-sync replicas: the remaining two accept
/// no write (NOT_ENOUGH_REPLICAS, retried by librdkafka and then by the stage), so the stage
/// holds its records, dead-letters none, and resumes once the broker is back in sync.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn not_enough_replicas_holds_the_stage_until_the_broker_returns() {
    within(async {
        let cluster = Cluster::shared_three().await;
        let started = Instant::now();
        let r = run_quality(&cluster, "c-min-isr").await;
        let host = cluster.host();
        min_isr(&host, &[&r.t.validated, &r.t.needs, &r.t.dlq], "3").await;
        let n = cluster.busiest_leader(&r.t.validated);
        let outage = async {
            cluster.kill(n).await;
            // Long enough for the broker to be fenced and the in-sync sets to shrink to two.
            tokio::time::sleep(Duration::from_secs(12)).await;
            cluster.start(n).await;
            assert!(cluster.wait_in_sync(&r.t.validated, 3, MINUTE).await);
        };
        let (_, stall) = stall(&r.t, &r.stage, outage).await;
        let refusals = r.stage.count("Not enough in-sync replicas");
        let timeouts = r.stage.count("Message timed out");
        assert!(refusals + timeouts > 0, "the stage's produces failed:\n{}", r.stage.log_tail(30));
        min_isr(&host, &[&r.t.validated, &r.t.needs, &r.t.dlq], "2").await;
        let figures = format!(
            "killed node {n}; failed produces: NOT_ENOUGH_REPLICAS {refusals}, timed out {timeouts}; stalled {stall:?}, took {:?}",
            started.elapsed()
        );
        r.finish("not enough replicas", 2 * redelivery_bound(RATE), figures).await;
    })
    .await;
}
