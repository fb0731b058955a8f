//! Helpers for tests against a real Kafka-protocol broker at `KAFKA_HOST` (started by
//! `scripts/test.sh`). Every test uses its own topics and groups, so tests run in parallel.

#![allow(dead_code, unreachable_pub)] // each test binary uses a different subset

use std::collections::HashMap;
use std::time::{Duration, Instant};

use galley::config::GalleyConfig;
use galley::runtime::client_config;
use galley::schema::{CatalogChange, ContentDraft, Registry, ValidatedProduct, decode, encode, names};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::OwnedMessage;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use rdkafka::{Message, Offset, TopicPartitionList};

/// The broker under test.
///
/// # Panics
/// When `KAFKA_HOST` is unset: these tests only build with `--features kafka-it`, which
/// `scripts/test.sh` enables after starting the broker, so a missing host is a setup error.
pub fn kafka_host() -> String {
    std::env::var("KAFKA_HOST").expect("KAFKA_HOST must point at the test broker; run scripts/test.sh")
}

/// A name no other test (or earlier run) uses.
pub fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("it-{name}-{}-{:x}", std::process::id(), nanos % 0xffff_ffff)
}

/// Default config pointed at the test broker, with a unique group prefix and fast commits; the
/// rollout control and shadow topics are the group's own, so a test's kill switch stays in it.
pub fn config(group: &str) -> GalleyConfig {
    config_on(&kafka_host(), group)
}

/// Like [`config`], for the broker at `host` (a test's private broker).
pub fn config_on(host: &str, group: &str) -> GalleyConfig {
    let env = vec![
        ("GALLEY_TOPICS__CONTROL".to_string(), format!("{group}.control")),
        ("GALLEY_STAGES__REVIEW__SHADOW".to_string(), format!("{group}.shadow")),
        ("GALLEY_KAFKA__BOOTSTRAP_SERVERS".to_string(), host.to_string()),
        ("GALLEY_KAFKA__GROUP_PREFIX".to_string(), group.to_string()),
        ("GALLEY_KAFKA__SESSION_TIMEOUT_MS".to_string(), "10000".to_string()),
        ("GALLEY_RUNTIME__COMMIT_INTERVAL_MS".to_string(), "50".to_string()),
        ("GALLEY_HTTP__LISTEN".to_string(), "127.0.0.1:0".to_string()),
    ];
    GalleyConfig::load_with_env(None, env).expect("test config is valid")
}

/// Environment for a `galley` child process equivalent to [`config`].
pub fn child_env(group: &str, input: &str, output: &str, dlq: &str) -> Vec<(String, String)> {
    [
        ("GALLEY_KAFKA__BOOTSTRAP_SERVERS", kafka_host()),
        ("GALLEY_KAFKA__GROUP_PREFIX", group.to_string()),
        ("GALLEY_RUNTIME__COMMIT_INTERVAL_MS", "50".to_string()),
        ("GALLEY_RUNTIME__MAX_IN_FLIGHT", "64".to_string()),
        ("GALLEY_RUNTIME__MAX_UNACKED", "64".to_string()),
        // A crashed member's partitions wait out its session: 6 s keeps the kill tests short.
        ("GALLEY_KAFKA__SESSION_TIMEOUT_MS", "6000".to_string()),
        ("GALLEY_RUNTIME__DRAIN_TIMEOUT_MS", "4000".to_string()),
        ("GALLEY_RUNTIME__REBALANCE_DRAIN_TIMEOUT_MS", "2000".to_string()),
        ("GALLEY_HTTP__LISTEN", "127.0.0.1:0".to_string()),
        ("GALLEY_TOPICS__DLQ", dlq.to_string()),
        ("GALLEY_STAGES__PASSTHROUGH__INPUT", input.to_string()),
        ("GALLEY_STAGES__PASSTHROUGH__OUTPUT", output.to_string()),
        ("GALLEY_LOG", "warn".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Creates topics with `partitions` partitions each.
pub async fn create_topics(topics: &[&str], partitions: i32) {
    create_topics_on(&kafka_host(), topics, partitions).await;
}

/// Like [`create_topics`], on the broker at `host`.
pub async fn create_topics_on(host: &str, topics: &[&str], partitions: i32) {
    let cfg = config_on(host, "admin");
    let admin: AdminClient<DefaultClientContext> = client_config(&cfg.kafka, "it-admin").create().unwrap();
    // Replicated on every broker up to three, as production topics are (a three-node cluster's
    // min.insync.replicas is 2).
    let brokers = admin
        .inner()
        .fetch_metadata(None, Duration::from_secs(10))
        .map_or(1, |md| md.brokers().len());
    let replication = i32::try_from(brokers.clamp(1, 3)).unwrap_or(1);
    let new: Vec<_> = topics
        .iter()
        .map(|t| NewTopic::new(t, partitions, TopicReplication::Fixed(replication)))
        .collect();
    for r in admin.create_topics(&new, &AdminOptions::new()).await.unwrap() {
        r.unwrap_or_else(|(t, e)| panic!("creating {t}: {e}"));
    }
    galley::runtime::wait_for_brokers(&cfg.kafka, &topics.iter().map(|t| t.to_string()).collect::<Vec<_>>())
        .await
        .unwrap();
}

/// Creates a test's own input, output and dead-letter topics (`<name>-in`, `-out`, `-dlq`).
pub async fn stage_topics(name: &str, partitions: i32) -> (String, String, String) {
    let t = (
        unique(&format!("{name}-in")),
        unique(&format!("{name}-out")),
        unique(&format!("{name}-dlq")),
    );
    create_topics(&[&t.0, &t.1, &t.2], partitions).await;
    t
}

/// A producer to the test broker.
pub fn producer() -> FutureProducer {
    producer_on(&kafka_host())
}

/// A producer to the broker at `host`. Its deliveries wait up to two minutes: a test's inputs
/// must outlast the faults it injects (a broker frozen, then restarted, took over 30 s on a
/// loaded machine), or the feed, not the stage, fails the test.
pub fn producer_on(host: &str) -> FutureProducer {
    let cfg = config_on(host, "producer");
    galley::runtime::producer(&cfg.kafka, "it", Duration::from_secs(120)).unwrap()
}

/// Produces `(key, value)` pairs in order and waits for every acknowledgement.
pub async fn produce(p: &FutureProducer, topic: &str, records: &[(String, Vec<u8>)]) {
    for chunk in records.chunks(500) {
        let sends: Vec<_> = chunk
            .iter()
            .map(|(k, v)| p.send(FutureRecord::to(topic).key(k).payload(v), Timeout::Never))
            .collect();
        for r in futures::future::join_all(sends).await {
            r.unwrap_or_else(|(e, _)| panic!("producing to {topic}: {e}"));
        }
    }
}

/// `n` valid CatalogChange records: key `sku-{i % keys}`, version = sequence number `i`.
pub fn catalog(n: usize, keys: usize) -> Vec<(String, Vec<u8>)> {
    (0..n)
        .map(|i| {
            let sku = format!("sku-{}", i % keys);
            (
                sku.clone(),
                encode(
                    Registry::builtin(),
                    names::CATALOG_CHANGE,
                    &CatalogChange::sample(&sku, i as i64),
                )
                .unwrap(),
            )
        })
        .collect()
}

/// The sample catalog (`samples/catalog.jsonl`) as the quality stage validates it.
pub fn sample_products() -> Vec<ValidatedProduct> {
    let a = galley::quality::Assessor {
        rules: galley::quality::RuleSet::builtin(),
        taxonomy: galley::quality::Taxonomy::sample(),
    };
    include_str!("../../samples/catalog.jsonl")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            a.assess(&serde_json::from_str::<CatalogChange>(l).unwrap(), vec![])
                .product
        })
        .collect()
}

/// Product records keyed by sku, as the quality stage writes them to catalog.validated.
pub fn product_records(ps: &[ValidatedProduct]) -> Vec<(String, Vec<u8>)> {
    ps.iter()
        .map(|p| {
            (
                p.sku.clone(),
                encode(Registry::builtin(), names::VALIDATED_PRODUCT, p).unwrap(),
            )
        })
        .collect()
}

/// The generate stage under `cfg`, running in this process, with its metrics.
pub fn start_generate(cfg: &GalleyConfig) -> (Running, galley::metrics::Metrics) {
    let metrics = galley::metrics::Metrics::new();
    let stage = galley::stages::Generate::new(cfg, metrics.clone()).unwrap();
    (start_with_metrics(cfg.clone(), stage, metrics.clone()), metrics)
}

/// The review stage under `cfg`, running in this process, with its metrics.
pub fn start_review(cfg: &GalleyConfig) -> (Running, galley::metrics::Metrics) {
    let metrics = galley::metrics::Metrics::new();
    let stage = galley::stages::Review::new(cfg, metrics.clone()).unwrap();
    (start_with_metrics(cfg.clone(), stage, metrics.clone()), metrics)
}

/// A `ContentDraft::sample` record keyed by `key` (draft id `d-<key>`).
pub fn draft_record(use_case: &str, key: &str, text: &str) -> (String, Vec<u8>) {
    let d = ContentDraft::sample(use_case, key, text);
    (
        key.into(),
        encode(Registry::builtin(), names::CONTENT_DRAFT, &d).unwrap(),
    )
}

/// A record's key as text.
pub fn key(m: &OwnedMessage) -> String {
    String::from_utf8_lossy(m.key().unwrap()).into_owned()
}

/// Keys and values of `ms`, decoded as `schema`.
pub fn decoded<T: serde::de::DeserializeOwned>(ms: &[OwnedMessage], schema: &str) -> Vec<(String, T)> {
    ms.iter()
        .map(|m| {
            (
                key(m),
                decode(Registry::builtin(), schema, m.payload().unwrap()).unwrap(),
            )
        })
        .collect()
}

/// Decodes the version (= sequence number) of a catalog record.
pub fn version_of(m: &OwnedMessage) -> i64 {
    let c: CatalogChange =
        galley::schema::decode(Registry::builtin(), names::CATALOG_CHANGE, m.payload().unwrap()).unwrap();
    c.version
}

/// Reads `topic` from the start until at least `expected` records arrived or `timeout` passed,
/// then keeps reading briefly for extra (duplicate) records.
pub async fn read_at_least(topic: &str, expected: usize, timeout: Duration) -> Vec<OwnedMessage> {
    let topic = topic.to_string();
    tokio::task::spawn_blocking(move || {
        let cfg = config("reader");
        let c: BaseConsumer = client_config(&cfg.kafka, "it-reader")
            .set("group.id", unique("reader"))
            .set("enable.auto.commit", "false")
            .create()
            .unwrap();
        let md = c.fetch_metadata(Some(&topic), Duration::from_secs(10)).unwrap();
        let mut tpl = TopicPartitionList::new();
        for p in md.topics().iter().flat_map(|t| t.partitions()) {
            tpl.add_partition_offset(&topic, p.id(), Offset::Beginning).unwrap();
        }
        c.assign(&tpl).unwrap();
        let deadline = Instant::now() + timeout;
        let mut out = Vec::new();
        let mut grace: Option<Instant> = None;
        while Instant::now() < deadline && grace.is_none_or(|g| Instant::now() < g) {
            if let Some(m) = c.poll(Duration::from_millis(100)) {
                out.push(m.unwrap().detach());
            }
            if out.len() >= expected && grace.is_none() {
                grace = Some(Instant::now() + Duration::from_millis(500));
            }
        }
        out
    })
    .await
    .unwrap()
}

/// Committed offsets of `group` on `topic`, by partition.
pub fn committed(group: &str, topic: &str, partitions: i32) -> HashMap<i32, i64> {
    try_committed_on(&kafka_host(), group, topic, partitions, Duration::from_secs(10)).unwrap()
}

/// Like [`committed`] on the broker at `host`, within `timeout`; an error while the broker is
/// unreachable (fault tests ask during outages).
pub fn try_committed_on(
    host: &str,
    group: &str,
    topic: &str,
    partitions: i32,
    timeout: Duration,
) -> rdkafka::error::KafkaResult<HashMap<i32, i64>> {
    let cfg = config_on(host, "committed");
    // librdkafka's default read_committed asks for stable offsets (KIP-447), which the broker
    // withholds while a transaction of the group is open: after a kill -9 of an exactly-once
    // stage that lasts until the restart fences it, so the ask timed out. The committed offsets
    // are what this helper reports, pending ones are not, so it does not wait for stability.
    let c: BaseConsumer = client_config(&cfg.kafka, "it-committed")
        .set("group.id", group)
        .set("isolation.level", "read_uncommitted")
        .create()?;
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition(topic, p);
    }
    let got = c.committed_offsets(tpl, timeout)?;
    Ok(got
        .elements()
        .iter()
        .map(|e| {
            (
                e.partition(),
                match e.offset() {
                    Offset::Offset(o) => o,
                    _ => 0,
                },
            )
        })
        .collect())
}

/// Polls `cond` every 50 ms until it holds or `timeout` passes; returns whether it held.
pub async fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    cond()
}

/// Sum of terminal outcomes a stage recorded.
pub fn finished(metrics: &galley::metrics::Metrics, stage: &str) -> u64 {
    metrics.outcomes(stage).iter().map(|(_, n)| n).sum()
}

/// A runtime running in this test process.
pub struct Running {
    /// Its metrics (outcomes, pauses, breaker).
    pub metrics: galley::metrics::Metrics,
    /// Its readiness facts.
    pub health: std::sync::Arc<galley::runtime::health::StageHealth>,
    stop: tokio_util::sync::CancellationToken,
    task: tokio::task::JoinHandle<Result<(), galley::runtime::RuntimeError>>,
}

impl Running {
    /// Drains and stops it; panics if it failed.
    pub async fn stop(self) {
        self.stop.cancel();
        self.task.await.unwrap().expect("runtime ran cleanly");
    }
}

/// Starts `stage` under `cfg` in a runtime of its own.
pub fn start<S: galley::runtime::Stage>(cfg: GalleyConfig, stage: S) -> Running {
    let metrics = galley::metrics::Metrics::new();
    start_with_metrics(cfg, stage, metrics)
}

/// Like [`start`], reporting into `metrics` (for stages that register breakers in it).
pub fn start_with_metrics<S: galley::runtime::Stage>(
    cfg: GalleyConfig,
    stage: S,
    metrics: galley::metrics::Metrics,
) -> Running {
    let rt = galley::runtime::StageRuntime::new(cfg, stage, metrics.clone());
    let health = rt.health();
    let stop = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn(rt.run(stop.clone()));
    Running {
        metrics,
        health,
        stop,
        task,
    }
}

/// A generate stage reading `validated`, writing `drafts` (and reading `approved` for the
/// last-approved fallback), dead-lettering to `dlq`, with product descriptions only, against the
/// model at `model_url`, quick to fail: 500 ms timeouts, two attempts, a breaker that opens after
/// three failures and probes every 500 ms, so an outage of seconds opens and closes it.
pub fn fast_generate_config(dlq: &str, validated: &str, drafts: &str, approved: &str, model_url: &str) -> GalleyConfig {
    let mut cfg = config(&unique("generate"));
    cfg.topics.dlq = dlq.to_owned();
    let g = &mut cfg.stages.generate;
    g.catalog_input = validated.to_owned();
    g.interactions_input = String::new();
    g.drafts = drafts.to_owned();
    g.approved = approved.to_owned();
    g.table_load_timeout_ms = 10_000;
    cfg.model.base_url = model_url.to_owned();
    cfg.model.timeout_ms = 500;
    cfg.model.max_attempts = 2;
    cfg.model.initial_backoff_ms = 10;
    cfg.model.max_backoff_ms = 20;
    cfg.runtime.breaker.consecutive_failures = 3;
    cfg.runtime.breaker.open_ms = 500;
    cfg.runtime.max_in_flight = 16;
    cfg
}

/// A header's value as text.
pub fn header(m: &OwnedMessage, name: &str) -> Option<String> {
    use rdkafka::message::Headers;
    m.headers()
        .and_then(|hs| hs.iter().find(|h| h.key == name))
        .and_then(|h| h.value)
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

/// Collects a child's stderr as it is written, so a test can wait for a log line.
pub fn collect_stderr(child: &mut tokio::process::Child) -> std::sync::Arc<std::sync::Mutex<String>> {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let buf = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let mut lines = BufReader::new(child.stderr.take().expect("stderr is piped")).lines();
    let sink = buf.clone();
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            let mut b = sink.lock().unwrap();
            b.push_str(&line);
            b.push('\n');
        }
    });
    buf
}
