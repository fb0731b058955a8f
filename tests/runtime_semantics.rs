//! Runtime semantics on a real broker, with test stages in process: per-key order under
//! concurrency, commit only of the finished prefix, poison records to the DLQ with headers, and
//! a dependency outage that pauses intake instead of dead-lettering.
#![cfg(feature = "kafka-it")]

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use galley::error::StageError;
use galley::metrics::Metrics;
use galley::runtime::breaker::CircuitBreaker;
use galley::runtime::{Outcome, Output, Record, Stage};
use galley::stages::Passthrough;
use rdkafka::Message;
use rdkafka::message::Headers;

/// The outcome of a test stage that passes a record on to `output` unchanged.
fn forward(output: &str, r: &Record) -> Outcome {
    Outcome {
        label: "passed",
        outputs: vec![Output {
            topic: output.to_string(),
            key: r.key.clone(),
            partition: None,
            payload: Some(r.payload.clone().unwrap_or_default()),
            headers: vec![],
        }],
    }
}

/// Forwards records after an optional delay, recording what ran when.
#[derive(Clone, Default)]
struct Probe {
    input: String,
    output: String,
    running_keys: Arc<Mutex<HashSet<Vec<u8>>>>,
    overlap: Arc<AtomicBool>,
    running: Arc<AtomicUsize>,
    max_running: Arc<AtomicUsize>,
    order: Arc<Mutex<HashMap<Vec<u8>, Vec<i64>>>>,
    slow_offset: Option<i64>,
    jitter_ms: u64,
}

impl Stage for Probe {
    fn name(&self) -> &'static str {
        "probe"
    }
    fn input_topics(&self) -> Vec<String> {
        vec![self.input.clone()]
    }
    async fn process(&self, r: &Record) -> Result<Outcome, StageError> {
        let key = r.key.clone().unwrap_or_default();
        if !self.running_keys.lock().unwrap().insert(key.clone()) {
            self.overlap.store(true, Ordering::SeqCst);
        }
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_running.fetch_max(now, Ordering::SeqCst);
        let delay = if Some(r.offset) == self.slow_offset {
            3000
        } else {
            fastrand::u64(0..=self.jitter_ms)
        };
        tokio::time::sleep(Duration::from_millis(delay)).await;
        let version: galley::schema::CatalogChange = galley::schema::decode(
            galley::schema::Registry::builtin(),
            galley::schema::names::CATALOG_CHANGE,
            r.payload.as_deref().unwrap_or_default(),
        )?;
        self.order
            .lock()
            .unwrap()
            .entry(key.clone())
            .or_default()
            .push(version.version);
        self.running.fetch_sub(1, Ordering::SeqCst);
        self.running_keys.lock().unwrap().remove(&key);
        Ok(forward(&self.output, r))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn same_key_runs_in_order_while_other_keys_run_concurrently() {
    let (input, output) = (unique("order-in"), unique("order-out"));
    create_topics(&[&input, &output], 4).await;
    let records = catalog(2000, 40);
    produce(&producer(), &input, &records).await;

    let mut cfg = config(&unique("order"));
    cfg.runtime.max_in_flight = 64;
    let probe = Probe {
        input: input.clone(),
        output: output.clone(),
        jitter_ms: 3,
        ..Default::default()
    };
    let run = start(cfg, probe.clone());
    let metrics = run.metrics.clone();
    assert!(
        wait_until(Duration::from_secs(60), || finished(&metrics, "probe") >= 2000).await,
        "finished {}",
        finished(&metrics, "probe")
    );
    run.stop().await;

    assert!(
        !probe.overlap.load(Ordering::SeqCst),
        "two records of one key ran at the same time"
    );
    let max = probe.max_running.load(Ordering::SeqCst);
    assert!(max > 8, "expected real concurrency across keys, max running was {max}");
    assert!(max <= 64, "max_in_flight exceeded: {max}");
    for (key, versions) in probe.order.lock().unwrap().iter() {
        assert!(
            versions.windows(2).all(|w| w[0] < w[1]),
            "key {:?} processed out of order: {versions:?}",
            String::from_utf8_lossy(key)
        );
    }
    let out = read_at_least(&output, 2000, Duration::from_secs(30)).await;
    let mut by_key: HashMap<Vec<u8>, Vec<i64>> = HashMap::new();
    for m in &out {
        by_key.entry(m.key().unwrap().to_vec()).or_default().push(version_of(m));
    }
    assert_eq!(out.len(), 2000);
    for versions in by_key.values() {
        assert!(
            versions.windows(2).all(|w| w[0] < w[1]),
            "output out of order: {versions:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn commits_only_the_finished_prefix_of_a_partition() {
    let (input, output) = (unique("commit-in"), unique("commit-out"));
    create_topics(&[&input, &output], 1).await;
    produce(&producer(), &input, &catalog(50, 50)).await;

    let prefix = unique("commit");
    let probe = Probe {
        input: input.clone(),
        output: output.clone(),
        slow_offset: Some(5),
        ..Default::default()
    };
    let run = start(config(&prefix), probe);
    let metrics = run.metrics.clone();
    let group = format!("{prefix}-probe");
    assert!(wait_until(Duration::from_secs(30), || finished(&metrics, "probe") >= 49).await);
    tokio::time::sleep(Duration::from_millis(300)).await; // several commit intervals
    let during = committed(&group, &input, 1)[&0];
    assert_eq!(
        during, 5,
        "offset 5 is still running, so nothing at or after it may be committed"
    );
    assert!(wait_until(Duration::from_secs(10), || finished(&metrics, "probe") == 50).await);
    assert!(
        wait_until(Duration::from_secs(5), || committed(&group, &input, 1)[&0] == 50).await,
        "all finished: commit 50"
    );
    run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn poison_records_go_to_the_dlq_with_context_and_the_stage_keeps_going() {
    let (input, output, dlq) = stage_topics("poison", 2).await;
    let mut records = catalog(100, 10);
    records.insert(10, ("bad-1".into(), b"not avro at all".to_vec()));
    records.insert(50, ("bad-2".into(), galley::schema::frame(4242, b"\x02")));
    records.insert(90, ("bad-3".into(), Vec::new()));
    produce(&producer(), &input, &records).await;

    let mut cfg = config(&unique("poison"));
    cfg.topics.dlq = dlq.clone();
    cfg.stages.passthrough.input = input.clone();
    cfg.stages.passthrough.output = output.clone();
    let run = start(cfg.clone(), Passthrough::new(cfg.stages.passthrough.clone()));
    let metrics = run.metrics.clone();
    assert!(wait_until(Duration::from_secs(30), || finished(&metrics, "passthrough") >= 103).await);
    run.stop().await;

    assert_eq!(
        metrics.outcomes("passthrough"),
        vec![("dlq".into(), 3), ("passed".into(), 100)]
    );
    assert_eq!(read_at_least(&output, 100, Duration::from_secs(20)).await.len(), 100);
    let dead = read_at_least(&dlq, 3, Duration::from_secs(20)).await;
    assert_eq!(dead.len(), 3);
    let mut codes = Vec::new();
    for m in &dead {
        let h = |name: &str| {
            m.headers()
                .and_then(|hs| hs.iter().find(|h| h.key == name))
                .and_then(|h| h.value)
                .map(|v| String::from_utf8_lossy(v).into_owned())
        };
        assert_eq!(h("__connect.errors.topic").as_deref(), Some(input.as_str()));
        assert!(h("__connect.errors.partition").is_some() && h("__connect.errors.offset").is_some());
        assert_eq!(h("galley.stage").as_deref(), Some("passthrough"));
        assert_eq!(h("galley.error.kind").as_deref(), Some("permanent"));
        assert!(!h("__connect.errors.exception.message").unwrap_or_default().is_empty());
        assert!(m.key().unwrap().starts_with(b"bad-"), "original key kept");
        codes.push(h("__connect.errors.exception.class.name").unwrap());
    }
    codes.sort();
    assert_eq!(codes, vec!["bad_framing", "empty_message", "unknown_schema_id"]);
}

/// Calls a fake dependency through the runtime's breaker.
#[derive(Clone)]
struct Dependent {
    input: String,
    output: String,
    down: Arc<AtomicBool>,
    breaker: CircuitBreaker,
}

impl Stage for Dependent {
    fn name(&self) -> &'static str {
        "dependent"
    }
    fn input_topics(&self) -> Vec<String> {
        vec![self.input.clone()]
    }
    fn breakers(&self) -> Vec<CircuitBreaker> {
        vec![self.breaker.clone()]
    }
    async fn process(&self, r: &Record) -> Result<Outcome, StageError> {
        let down = self.down.load(Ordering::SeqCst);
        self.breaker
            .call(async {
                if down {
                    Err(StageError::retryable("http_503", "model unavailable"))
                } else {
                    Ok(())
                }
            })
            .await?;
        Ok(forward(&self.output, r))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dependency_outage_pauses_intake_instead_of_dead_lettering() {
    let (input, output, dlq) = stage_topics("dep", 2).await;
    produce(&producer(), &input, &catalog(40, 40)).await;

    let mut cfg = config(&unique("dep"));
    cfg.topics.dlq = dlq.clone();
    cfg.runtime.retry.max_attempts = 5;
    cfg.runtime.retry.initial_delay_ms = 5;
    cfg.runtime.breaker.consecutive_failures = 3;
    cfg.runtime.breaker.open_ms = 300;
    let metrics = Metrics::new();
    let breaker = CircuitBreaker::new(
        "model",
        &cfg.runtime.breaker,
        metrics.breaker_state.with_label_values(&["model"]),
    );
    let down = Arc::new(AtomicBool::new(true));
    let stage = Dependent {
        input,
        output: output.clone(),
        down: down.clone(),
        breaker,
    };
    let run = start_with_metrics(cfg, stage, metrics.clone());
    let health = run.health.clone();

    let paused = || metrics.paused.with_label_values(&["dependent", "dependency"]).get() == 1;
    assert!(
        wait_until(Duration::from_secs(20), paused).await,
        "intake pauses while the dependency is down"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        finished(&metrics, "dependent"),
        0,
        "nothing finishes, nothing is dead-lettered"
    );
    assert!(
        metrics.breaker_state.with_label_values(&["model"]).get() >= 1,
        "breaker not closed"
    );
    assert!(
        health.not_ready_reasons().is_empty(),
        "a short outage is not a readiness failure"
    );

    down.store(false, Ordering::SeqCst);
    assert!(
        wait_until(Duration::from_secs(20), || finished(&metrics, "dependent") == 40).await,
        "all records pass after recovery"
    );
    assert_eq!(metrics.outcomes("dependent"), vec![("passed".into(), 40)]);
    assert_eq!(metrics.breaker_state.with_label_values(&["model"]).get(), 0);
    assert!(wait_until(Duration::from_secs(5), || !paused()).await, "intake resumes");
    run.stop().await;
    assert_eq!(read_at_least(&output, 40, Duration::from_secs(20)).await.len(), 40);
}
