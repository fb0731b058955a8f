//! Apache Kafka clusters as test fixtures (the shape of rust-rdkafka's `tests/utils.rs` and
//! Kafka's own `KafkaClusterTestKit`): a test asks for a cluster and gets its bootstrap address
//! and a handle that stops, kills (`-9`), freezes or restarts one node on its own log
//! directory. Built on `scripts/install-kafka.sh` and `scripts/kafka-node.sh`.
//!
//! - [`Cluster::private`]: a cluster of its own, in a temporary directory on free ports, wiped
//!   when dropped (a fault the shared broker must not suffer).
//! - [`Cluster::shared_three`]: the three-node cluster `scripts/test.sh` starts
//!   (`KAFKA_CLUSTER_HOST`, `KAFKA_CLUSTER_DIR`), taken under a lock so its tests run one
//!   at a time, every node started again when the handle is dropped.

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// One Apache Kafka cluster and how to reach and hurt its nodes.
pub struct Cluster {
    dir: PathBuf,
    nodes: usize,
    host: String,
    /// Stopped and wiped on drop (a private cluster), or only healed (the shared one).
    owned: bool,
    _lock: Option<tokio::sync::OwnedMutexGuard<()>>,
    _tmp: Option<tempfile::TempDir>,
}

static SHARED: std::sync::LazyLock<std::sync::Arc<tokio::sync::Mutex<()>>> =
    std::sync::LazyLock::new(|| std::sync::Arc::new(tokio::sync::Mutex::new(())));

/// A base port P with P, P+100, ... and P+10000, ... free for `nodes` nodes.
fn free_base_port(nodes: usize) -> u16 {
    for _ in 0..200 {
        let base = 20_000 + 100 * fastrand::u16(0..150);
        let free = (0..nodes as u16)
            .flat_map(|i| [base + 100 * i, base + 10_000 + 100 * i])
            .all(|p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok());
        if free {
            return base;
        }
    }
    panic!("no free port range for a private Kafka cluster");
}

impl Cluster {
    /// Starts a private cluster of `nodes` (1 or 3) nodes and waits until it answers.
    ///
    /// # Panics
    /// When the cluster does not start (the script's error is in the message).
    pub async fn private(nodes: usize) -> Self {
        let tmp = tempfile::Builder::new().prefix("galley-kafka-").tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let port = free_base_port(nodes);
        let out = tokio::process::Command::new(repo().join("scripts/install-kafka.sh"))
            .env("GALLEY_KAFKA_DIR", &dir)
            .env("GALLEY_KAFKA_PORT", port.to_string())
            .env("GALLEY_KAFKA_NODES", nodes.to_string())
            .output()
            .await
            .expect("scripts/install-kafka.sh runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let host = stdout
            .lines()
            .last()
            .and_then(|l| l.strip_prefix("KAFKA_HOST="))
            .unwrap_or_else(|| {
                panic!(
                    "a private Kafka cluster did not start:\n{}",
                    String::from_utf8_lossy(&out.stderr)
                )
            })
            .to_owned();
        Cluster {
            dir,
            nodes,
            host,
            owned: true,
            _lock: None,
            _tmp: Some(tmp),
        }
    }

    /// The three-node cluster of `scripts/test.sh`, for this test alone until dropped, with
    /// every node running.
    ///
    /// # Panics
    /// When `KAFKA_CLUSTER_HOST` is unset (scripts/test.sh sets it).
    pub async fn shared_three() -> Self {
        let lock = SHARED.clone().lock_owned().await;
        let host = std::env::var("KAFKA_CLUSTER_HOST")
            .expect("KAFKA_CLUSTER_HOST must point at the three-node test cluster; run scripts/test.sh");
        let dir = std::env::var_os("KAFKA_CLUSTER_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo().join(".cache/kafka-cluster"));
        let c = Cluster {
            dir,
            nodes: 3,
            host,
            owned: false,
            _lock: Some(lock),
            _tmp: None,
        };
        c.heal();
        c
    }

    /// Bootstrap servers.
    pub fn host(&self) -> String {
        self.host.clone()
    }

    /// Number of nodes (ids 1..=nodes).
    pub fn nodes(&self) -> usize {
        self.nodes
    }

    fn node_cmd(&self, verb: &str, n: usize) -> Command {
        let mut c = Command::new(repo().join("scripts/kafka-node.sh"));
        c.arg(verb).arg(n.to_string()).env("GALLEY_KAFKA_DIR", &self.dir);
        c
    }

    async fn node(&self, verb: &str, n: usize) {
        let mut c = tokio::process::Command::from(self.node_cmd(verb, n));
        let out = c.output().await.expect("scripts/kafka-node.sh runs");
        assert!(
            out.status.success(),
            "kafka-node.sh {verb} {n} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Stops node `n` cleanly (controlled shutdown: its leaderships move first).
    pub async fn stop(&self, n: usize) {
        self.node("stop", n).await;
    }

    /// Kills node `n` with SIGKILL: a crash; its log is recovered at the next start.
    pub async fn kill(&self, n: usize) {
        self.node("kill", n).await;
    }

    /// Starts node `n` on its log directory and waits until it answers as a live broker.
    pub async fn start(&self, n: usize) {
        self.node("start", n).await;
    }

    /// Stops and starts node `n` (same log directory, same address).
    pub async fn restart(&self, n: usize) {
        self.node("restart", n).await;
    }

    /// The PID of node `n`, if it runs.
    pub fn pid(&self, n: usize) -> Option<i32> {
        let out = self.node_cmd("pid", n).output().ok()?;
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    }

    /// Freezes node `n` for `hang` (SIGSTOP, then SIGCONT): its connections stay open and
    /// nothing answers, the other way a broker fails.
    pub async fn freeze(&self, n: usize, hang: Duration) {
        let pid = self.pid(n).expect("the node runs");
        signal(pid, libc::SIGSTOP);
        tokio::time::sleep(hang).await;
        signal(pid, libc::SIGCONT);
    }

    /// The node leading most partitions of `topic` (ties: the lowest id).
    pub fn busiest_leader(&self, topic: &str) -> usize {
        let leaders = self.leaders(topic);
        (1..=self.nodes)
            .max_by_key(|n| {
                (
                    leaders.iter().filter(|l| **l == *n as i32).count(),
                    std::cmp::Reverse(*n),
                )
            })
            .unwrap_or(1)
    }

    /// The leader of each partition of `topic`, by partition.
    pub fn leaders(&self, topic: &str) -> Vec<i32> {
        let c: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &self.host)
            .create()
            .expect("a metadata client");
        let md = c
            .fetch_metadata(Some(topic), Duration::from_secs(10))
            .expect("metadata");
        let mut ps: Vec<_> = md
            .topics()
            .iter()
            .flat_map(|t| t.partitions())
            .map(|p| (p.id(), p.leader()))
            .collect();
        ps.sort_unstable();
        ps.into_iter().map(|(_, l)| l).collect()
    }

    /// Starts every node that is not running (after a test that took some down).
    fn heal(&self) {
        for n in 1..=self.nodes {
            if self.pid(n).is_none() {
                let ok = self.node_cmd("start", n).status().is_ok_and(|s| s.success());
                assert!(ok, "node {n} of {} did not start again", self.dir.display());
            }
        }
    }

    /// Waits until every partition of `topic` has `n` in-sync replicas again (after a node
    /// came back), or `limit` passed; true when it did.
    pub async fn wait_in_sync(&self, topic: &str, n: usize, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            let host = self.host.clone();
            let topic = topic.to_owned();
            let synced = tokio::task::spawn_blocking(move || {
                let c: BaseConsumer = ClientConfig::new().set("bootstrap.servers", &host).create().ok()?;
                let md = c.fetch_metadata(Some(&topic), Duration::from_secs(5)).ok()?;
                let ps: Vec<usize> = md
                    .topics()
                    .iter()
                    .flat_map(|t| t.partitions())
                    .map(|p| p.isr().len())
                    .collect();
                Some(!ps.is_empty() && ps.iter().all(|isr| *isr >= n))
            })
            .await
            .ok()
            .flatten()
            .unwrap_or(false);
            if synced {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        false
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.owned {
            let _ = Command::new(repo().join("scripts/stop-kafka.sh"))
                .arg("--wipe")
                .env("GALLEY_KAFKA_DIR", &self.dir)
                .status();
        } else if !std::thread::panicking() {
            self.heal();
        }
    }
}

fn signal(pid: i32, sig: i32) {
    // SAFETY: kill(2) with a pid we own has no memory-safety preconditions.
    assert_eq!(unsafe { libc::kill(pid, sig) }, 0, "signal {sig} to {pid}");
}
