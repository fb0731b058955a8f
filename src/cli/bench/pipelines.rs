//! The two pipelines under test (raw loop, runtime), the paced filler and the latency reader.

use std::time::{Duration, Instant};

use anyhow::bail;
use futures::stream::{FuturesUnordered, StreamExt};
use galley::config::GalleyConfig;
use galley::metrics::Metrics;
use galley::runtime::{Stage, StageRuntime, client_config, producer};
use galley::schema::{CatalogChange, Registry, encode, names};
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
    let new: Vec<_> = topics
        .iter()
        .map(|t| NewTopic::new(t, partitions, TopicReplication::Fixed(1)))
        .collect();
    for r in admin.create_topics(&new, &AdminOptions::new()).await? {
        if let Err((t, e)) = r {
            bail!("creating {t}: {e}");
        }
    }
    Ok(())
}

/// Produces `n` CatalogChange records (keys cycle over 5,000 skus), each stamped with its send
/// time; with `rate`, paced at that many per second.
pub(super) async fn fill(p: &FutureProducer, topic: &str, n: usize, rate: Option<u64>) -> anyhow::Result<()> {
    let registry = Registry::builtin();
    let start = Instant::now();
    let mut pending = FuturesUnordered::new();
    for i in 0..n {
        if let Some(rate) = rate {
            tokio::time::sleep_until((start + Duration::from_secs_f64(i as f64 / rate as f64)).into()).await;
        }
        let sku = format!("sku-{}", i % 5000);
        let bytes = encode(registry, names::CATALOG_CHANGE, &product(&sku, i))?;
        pending.push(enqueue(p, topic, Some(sku.as_bytes()), &bytes, None, true).await?);
        while pending.len() >= 10_000 || (rate.is_some() && pending.len() >= 100) {
            settle(pending.next().await)?;
        }
    }
    while let Some(r) = pending.next().await {
        settle(Some(r))?;
    }
    Ok(())
}

/// A product the quality stage accepts, with work for every normaliser (markup, units,
/// taxonomy); each version changes the price, so every record is news.
pub(super) fn product(sku: &str, i: usize) -> CatalogChange {
    let mut c = CatalogChange::sample(sku, i as i64);
    c.title = Some(format!("<b>Enamel</b> camping mug {sku}"));
    c.description = Some("<p>Double-walled enamel mug,&nbsp;350ml.</p><p>Dishwasher safe.</p>".into());
    c.category_path = vec!["Home & Garden > Kitchen & Dining > Tableware > Drinkware > Mugs".into()];
    c.price_minor = Some(1000 + i as i64);
    c.attributes.insert("Capacity".into(), "350ml".into());
    c.attributes.insert("Weight".into(), "0.25 KG".into());
    c.images = vec![format!("https://example.com/{sku}.jpg")];
    c
}

/// Enqueues one record (waiting while librdkafka's queue is full); the future resolves on ack.
async fn enqueue(
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

fn settle(r: Option<Result<OwnedDeliveryResult, futures::channel::oneshot::Canceled>>) -> anyhow::Result<()> {
    match r {
        Some(Ok(Err((e, _)))) => bail!("delivery failed: {e}"),
        Some(Err(_)) => bail!("delivery future cancelled"),
        _ => Ok(()),
    }
}

type Pace<'a> = Option<(&'a FutureProducer, Option<(usize, u64)>)>;

/// The baseline: consume, produce, keep at most `window` deliveries outstanding, commit the
/// consumer position as often as the runtime commits. No ordering, retries or DLQ: the floor a runtime adds to.
pub(super) async fn raw_loop(
    cfg: &GalleyConfig,
    input: &str,
    output: &str,
    group: &str,
    n: usize,
    window: usize,
    pace: Pace<'_>,
) -> anyhow::Result<f64> {
    let consumer: StreamConsumer = client_config(&cfg.kafka, "bench-raw")
        .set("group.id", format!("{}-{group}", cfg.kafka.group_prefix))
        .set("enable.auto.commit", "true")
        // Same commit cadence as the runtime, so both put the same offset-commit load on the broker.
        .set("auto.commit.interval.ms", cfg.runtime.commit_interval_ms.to_string())
        .set("auto.offset.reset", "earliest")
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

fn start_pacer(pace: Pace<'_>, topic: &str) -> Option<tokio::task::JoinHandle<anyhow::Result<()>>> {
    let (p, Some((n, rate))) = pace? else { return None };
    let (p, topic) = (p.clone(), topic.to_owned());
    Some(tokio::spawn(async move { fill(&p, &topic, n, Some(rate)).await }))
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
    pace: Pace<'_>,
) -> anyhow::Result<f64> {
    let mut cfg = cfg.clone();
    cfg.stages.passthrough.input = input.to_owned();
    cfg.stages.passthrough.output = output.to_owned();
    let stage = Passthrough::new(cfg.stages.passthrough.clone());
    stage_run(&cfg, input, group, n, pace, |_| Ok(stage)).await
}

/// Runs any stage over `n` records already in (or paced into) its input; msgs/s.
pub(super) async fn stage_run<S: Stage>(
    cfg: &GalleyConfig,
    input: &str,
    group: &str,
    n: usize,
    pace: Pace<'_>,
    build: impl FnOnce(Metrics) -> anyhow::Result<S>,
) -> anyhow::Result<f64> {
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
    let r = rate(n, first);
    stop.cancel();
    task.await??;
    if let Some(f) = filler {
        f.await??;
    }
    if done() < n {
        bail!("runtime processed {} of {n} records before the deadline", done());
    }
    Ok(r)
}

/// Reads `n` records from `topic` and returns each one's send→arrival latency in ms.
pub(super) fn spawn_reader(
    cfg: &GalleyConfig,
    topic: &str,
    n: usize,
) -> tokio::task::JoinHandle<anyhow::Result<Vec<f64>>> {
    let consumer: Result<BaseConsumer, _> = client_config(&cfg.kafka, "bench-reader")
        .set("group.id", format!("{}-reader", cfg.kafka.group_prefix))
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "5")
        .create();
    let topic = topic.to_owned();
    tokio::task::spawn_blocking(move || {
        let consumer = consumer?;
        let md = consumer.fetch_metadata(Some(&topic), Duration::from_secs(10))?;
        let mut tpl = TopicPartitionList::new();
        for p in md.topics().iter().flat_map(|t| t.partitions()) {
            tpl.add_partition_offset(&topic, p.id(), Offset::Beginning)?;
        }
        consumer.assign(&tpl)?;
        let mut lat = Vec::with_capacity(n);
        let deadline = Instant::now() + Duration::from_secs(120);
        while lat.len() < n && Instant::now() < deadline {
            let Some(m) = consumer.poll(Duration::from_millis(100)) else {
                continue;
            };
            let m = m?;
            let arrived = now_us();
            let sent = m
                .headers()
                .and_then(|h| h.iter().find(|h| h.key == SENT_HEADER))
                .and_then(|h| h.value)
                .and_then(|v| std::str::from_utf8(v).ok()?.parse::<u64>().ok());
            if let Some(sent) = sent {
                lat.push(arrived.saturating_sub(sent) as f64 / 1000.0);
            }
        }
        Ok(lat)
    })
}
