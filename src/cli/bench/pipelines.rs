//! The pipelines under test (raw loop, a runtime stage), the filler (bulk or paced) and the latency
//! reader, shared by every bench.

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::bail;
use futures::stream::{FuturesUnordered, StreamExt};
use galley::config::GalleyConfig;
use galley::metrics::Metrics;
use galley::runtime::{Stage, StageRuntime, client_config, producer};
use galley::stages::Passthrough;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::future_producer::OwnedDeliveryResult;
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use super::catalog::Generator;
use super::{SENT_HEADER, now_us};

pub(super) async fn create_topics(
    cfg: &GalleyConfig,
    mock: Option<&MockCluster<'static, rdkafka::producer::DefaultProducerContext>>,
    topics: &[String],
    partitions: i32,
) -> anyhow::Result<()> {
    if let Some(m) = mock {
        for t in topics {
            m.create_topic(t, partitions, 1)?;
        }
        return Ok(());
    }
    let admin: AdminClient<DefaultClientContext> = client_config(&cfg.kafka, "bench-admin").create()?;
    // Replicated on every broker up to three, as production topics are.
    let brokers = admin
        .inner()
        .fetch_metadata(None, std::time::Duration::from_secs(10))
        .map_or(1, |md| md.brokers().len());
    let replication = i32::try_from(brokers.clamp(1, 3)).unwrap_or(1);
    let new: Vec<_> = topics
        .iter()
        .map(|t| NewTopic::new(t, partitions, TopicReplication::Fixed(replication)))
        .collect();
    for r in admin.create_topics(&new, &AdminOptions::new()).await? {
        if let Err((t, e)) = r {
            bail!("creating {t}: {e}");
        }
    }
    Ok(())
}

/// Produces records `records` of the stream `generate`, each stamped with its send time; with
/// `rate`, paced at that many per second.
pub(super) async fn fill(
    p: &FutureProducer,
    topic: &str,
    records: Range<usize>,
    rate: Option<u64>,
    generate: Generator,
) -> anyhow::Result<()> {
    let start = Instant::now();
    let first = records.start;
    let mut pending = FuturesUnordered::new();
    for i in records {
        if let Some(rate) = rate {
            let due = start + Duration::from_secs_f64((i - first) as f64 / rate as f64);
            tokio::time::sleep_until(due.into()).await;
        }
        let (key, bytes) = generate(i)?;
        pending.push(enqueue(p, topic, Some(key.as_bytes()), &bytes, None, true).await?);
        while pending.len() >= 10_000 || (rate.is_some() && pending.len() >= 100) {
            settle(pending.next().await)?;
        }
    }
    while let Some(r) = pending.next().await {
        settle(Some(r))?;
    }
    Ok(())
}

/// Enqueues one record (waiting while librdkafka's queue is full); the future resolves on ack.
pub(super) async fn enqueue(
    p: &FutureProducer,
    topic: &str,
    key: Option<&[u8]>,
    payload: &[u8],
    headers: Option<OwnedHeaders>,
    stamp: bool,
) -> anyhow::Result<DeliveryFuture> {
    let mut headers = headers.unwrap_or_default();
    if stamp {
        let sent = now_us().to_string();
        headers = headers.insert(Header {
            key: SENT_HEADER,
            value: Some(sent.as_bytes()),
        });
    }
    let mut rec = FutureRecord::to(topic).payload(payload).headers(headers);
    if let Some(k) = key {
        rec = rec.key(k);
    }
    loop {
        match p.send_result(rec) {
            Ok(f) => return Ok(f),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                rec = r;
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            Err((e, _)) => bail!("producing to {topic}: {e}"),
        }
    }
}

/// Fails on a failed or cancelled delivery.
pub(super) fn settle(
    r: Option<Result<OwnedDeliveryResult, futures::channel::oneshot::Canceled>>,
) -> anyhow::Result<()> {
    match r {
        Some(Ok(Err((e, _)))) => bail!("delivery failed: {e}"),
        Some(Err(_)) => bail!("delivery future cancelled"),
        _ => Ok(()),
    }
}

/// A paced stream sent while a pipeline runs (for latency): records `records` of `generate` at
/// `rate` per second.
#[derive(Clone)]
pub(super) struct Pace<'a> {
    pub(super) producer: &'a FutureProducer,
    pub(super) records: Range<usize>,
    pub(super) rate: u64,
    pub(super) generate: Generator,
}

/// The baseline: consume, produce, keep at most `window` deliveries outstanding, commit the
/// consumer position as often as the runtime commits. No ordering, retries or DLQ: the floor a runtime adds to.
pub(super) async fn raw_loop(
    cfg: &GalleyConfig,
    input: &str,
    output: &str,
    group: &str,
    n: usize,
    window: usize,
    pace: Option<Pace<'_>>,
) -> anyhow::Result<f64> {
    let consumer: StreamConsumer = client_config(&cfg.kafka, "bench-raw")
        .set("group.id", format!("{}-{group}", cfg.kafka.group_prefix))
        .set("enable.auto.commit", "true")
        // Same commit cadence as the runtime, so both put the same offset-commit load on the broker.
        .set("auto.commit.interval.ms", cfg.runtime.commit_interval_ms.to_string())
        .set("auto.offset.reset", "earliest")
        // The runtime's group settings, so both wait the same for their group join.
        .set("session.timeout.ms", cfg.kafka.session_timeout_ms.to_string())
        .create()?;
    consumer.subscribe(&[input])?;
    let p = producer(&cfg.kafka, "bench-raw", Duration::from_secs(60))?;
    if pace.is_some() {
        wait_for_assignment(&consumer).await;
    }
    let filler = start_pacer(pace, input);
    let mut pending = FuturesUnordered::new();
    let (mut acked, mut first) = (0usize, None);
    while acked < n {
        tokio::select! {
            Some(r) = pending.next(), if !pending.is_empty() => {
                settle(Some(r))?;
                acked += 1;
                first.get_or_insert_with(Instant::now);
            }
            m = consumer.recv(), if pending.len() < window => {
                let m = m?;
                let headers = m.headers().map(|h| h.detach());
                pending.push(enqueue(&p, output, m.key(), m.payload().unwrap_or_default(), headers, false).await?);
            }
        }
    }
    if let Some(f) = filler {
        f.await??;
    }
    Ok(rate(n, first))
}

/// Paced runs join the group before sending, or the first records would wait for the join.
async fn wait_for_assignment(c: &StreamConsumer) {
    let start = Instant::now();
    while c.assignment().map(|a| a.count()).unwrap_or(0) == 0 && start.elapsed() < Duration::from_secs(30) {
        // recv drives the join; nothing has been sent yet, so no record can be lost here.
        let _ = tokio::time::timeout(Duration::from_millis(50), c.recv()).await;
    }
}

/// Starts sending the paced stream, if any, to `topic`.
pub(super) fn start_pacer(pace: Option<Pace<'_>>, topic: &str) -> Option<tokio::task::JoinHandle<anyhow::Result<()>>> {
    let Pace {
        producer,
        records,
        rate,
        generate,
    } = pace?;
    let (p, topic) = (producer.clone(), topic.to_owned());
    Some(tokio::spawn(async move {
        fill(&p, &topic, records, Some(rate), generate).await
    }))
}

fn rate(n: usize, first: Option<Instant>) -> f64 {
    let secs = first.map_or(0.0, |f| f.elapsed().as_secs_f64());
    if secs > 0.0 {
        (n.saturating_sub(1)) as f64 / secs
    } else {
        0.0
    }
}

pub(super) async fn runtime_run(
    cfg: &GalleyConfig,
    input: &str,
    output: &str,
    group: &str,
    n: usize,
    pace: Option<Pace<'_>>,
) -> anyhow::Result<f64> {
    let mut cfg = cfg.clone();
    cfg.stages.passthrough.input = input.to_owned();
    cfg.stages.passthrough.output = output.to_owned();
    let stage = Passthrough::new(cfg.stages.passthrough.clone());
    Ok(stage_run(&cfg, input, group, n, pace, |_| Ok(stage)).await?.0)
}

/// Runs any stage over `n` records already in (or paced into) its input; msgs/s, and the
/// stage's metrics (its outcomes) after the run.
pub(super) async fn stage_run<S: Stage>(
    cfg: &GalleyConfig,
    input: &str,
    group: &str,
    n: usize,
    pace: Option<Pace<'_>>,
    build: impl FnOnce(Metrics) -> anyhow::Result<S>,
) -> anyhow::Result<(f64, Metrics)> {
    let mut cfg = cfg.clone();
    cfg.kafka.group_prefix = format!("{}-{group}", cfg.kafka.group_prefix);
    let metrics = Metrics::new();
    let stage = build(metrics.clone())?;
    let name = stage.name();
    let runtime = StageRuntime::new(cfg.clone(), stage, metrics.clone());
    let health = runtime.health();
    let stop = CancellationToken::new();
    let task = tokio::spawn(runtime.run(stop.clone()));
    if pace.is_some() {
        let start = Instant::now();
        while !health.not_ready_reasons().is_empty() && start.elapsed() < Duration::from_secs(30) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let filler = start_pacer(pace, input);
    let done = || metrics.outcomes(name).iter().map(|(_, v)| *v as usize).sum::<usize>();
    let mut first = None;
    let deadline = Instant::now() + Duration::from_secs(600);
    while done() < n && Instant::now() < deadline {
        if first.is_none() && done() > 0 {
            first = Some(Instant::now());
        }
        // Fine-grained until the first completion (the rate's start), coarse after it so the
        // watcher does not compete for the two cores with what it measures.
        let nap = if first.is_none() {
            Duration::from_micros(500)
        } else {
            Duration::from_millis(5)
        };
        tokio::time::sleep(nap).await;
    }
    let mut r = rate(n, first);
    stop.cancel();
    task.await??;
    if cfg.runtime.exactly_once {
        // A record counts when staged; its output exists only once its transaction commits,
        // and the drain commits the last one: the rate runs to the end of the drain.
        r = rate(n, first);
    }
    if let Some(f) = filler {
        f.await??;
    }
    if done() < n {
        bail!("runtime processed {} of {n} records before the deadline", done());
    }
    Ok((r, metrics))
}

/// Follows a topic from its start on a blocking thread and times every record stamped at or
/// after `since_us` (send → arrival, ms), until stopped.
pub(super) struct Reader {
    read: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<anyhow::Result<Vec<f64>>>,
}

impl Reader {
    /// Starts reading `topic`.
    pub(super) fn start(cfg: &GalleyConfig, topic: &str, since_us: u64) -> Self {
        let consumer: Result<BaseConsumer, _> = client_config(&cfg.kafka, "bench-reader")
            .set("group.id", format!("{}-reader", cfg.kafka.group_prefix))
            .set("enable.auto.commit", "false")
            .set("fetch.wait.max.ms", "5")
            .create();
        let (read, stop) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicBool::new(false)));
        let (counter, stopped, topic) = (read.clone(), stop.clone(), topic.to_owned());
        let task = tokio::task::spawn_blocking(move || {
            let consumer = consumer?;
            let md = consumer.fetch_metadata(Some(&topic), Duration::from_secs(10))?;
            let mut tpl = TopicPartitionList::new();
            for p in md.topics().iter().flat_map(|t| t.partitions()) {
                tpl.add_partition_offset(&topic, p.id(), Offset::Beginning)?;
            }
            consumer.assign(&tpl)?;
            let mut lat = Vec::new();
            while !stopped.load(Ordering::Relaxed) {
                let Some(m) = consumer.poll(Duration::from_millis(50)) else {
                    continue;
                };
                let m = m?;
                let arrived = now_us();
                counter.fetch_add(1, Ordering::Relaxed);
                let sent = m
                    .headers()
                    .and_then(|h| h.iter().find(|h| h.key == SENT_HEADER))
                    .and_then(|h| h.value)
                    .and_then(|v| std::str::from_utf8(v).ok()?.parse::<u64>().ok());
                if let Some(sent) = sent.filter(|&s| s >= since_us) {
                    lat.push(arrived.saturating_sub(sent) as f64 / 1000.0);
                }
            }
            Ok(lat)
        });
        Reader { read, stop, task }
    }

    /// Records read so far, timed or not.
    pub(super) fn read(&self) -> usize {
        self.read.load(Ordering::Relaxed)
    }

    /// Waits until `n` records were read (or `limit` passed), stops, and returns the latencies
    /// and how many records were read.
    pub(super) async fn finish(self, n: usize, limit: Duration) -> anyhow::Result<(Vec<f64>, usize)> {
        let deadline = Instant::now() + limit;
        while self.read() < n && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.stop.store(true, Ordering::Relaxed);
        let read = self.read.clone();
        let latencies = self.task.await??;
        Ok((latencies, read.load(Ordering::Relaxed)))
    }
}
