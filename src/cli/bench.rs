//! `galley bench passthrough`: the runtime's pass-through stage against a raw rdkafka
//! consume→produce loop, on the same broker in the same run, reported as ratios.
//!
//! Throughput: both read the same pre-filled topic with fresh consumer groups; rate is measured
//! from the first to the last acknowledged output, so group-join time is excluded from both.
//! Latency: records are sent at a fixed rate with their send time in a header; a reader on the
//! output topic measures send→arrival. The runtime's added latency is its percentile minus the
//! raw loop's, since both include the same broker round trips.

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use futures::stream::{FuturesUnordered, StreamExt};
use galley::config::GalleyConfig;
use galley::metrics::Metrics;
use galley::runtime::{StageRuntime, client_config, producer};
use galley::schema::{CatalogChange, Registry, encode, names};
use galley::stages::Passthrough;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, StreamConsumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::mocking::MockCluster;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::future_producer::OwnedDeliveryResult;
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

const SENT_HEADER: &str = "bench.sent_us";

/// Options of `galley bench passthrough`.
#[derive(Debug, clap::Args)]
pub(crate) struct PassthroughBenchArgs {
    /// Records per throughput run.
    #[arg(long, default_value_t = 50_000)]
    messages: usize,
    /// Partitions of the bench topics.
    #[arg(long, default_value_t = 4)]
    partitions: i32,
    /// Alternating rounds (raw, runtime); the best of each is compared.
    #[arg(long, default_value_t = 2)]
    rounds: usize,
    /// Records in the latency run, sent at --rate per second.
    #[arg(long, default_value_t = 2_000)]
    latency_messages: usize,
    /// Send rate of the latency run.
    #[arg(long, default_value_t = 500)]
    rate: u64,
    /// Runtime concurrency (runtime.max_in_flight) and the raw loop's delivery window.
    #[arg(long, default_value_t = 256)]
    max_in_flight: usize,
    /// Use the embedded mock broker instead of kafka.bootstrap_servers.
    #[arg(long)]
    embedded: bool,
    /// Also write the results as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

#[derive(Debug, Serialize)]
struct Report {
    broker: String,
    messages: usize,
    partitions: i32,
    max_in_flight: usize,
    raw_msgs_per_s: Vec<f64>,
    runtime_msgs_per_s: Vec<f64>,
    throughput_ratio: f64,
    raw_latency_ms: Percentiles,
    runtime_latency_ms: Percentiles,
    added_p50_ms: f64,
    added_p99_ms: f64,
}

#[derive(Debug, Serialize, Default)]
struct Percentiles {
    p50: f64,
    p99: f64,
    max: f64,
    samples: usize,
}

fn percentiles(mut v: Vec<f64>) -> Percentiles {
    if v.is_empty() {
        return Percentiles::default();
    }
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
    Percentiles { p50: at(0.5), p99: at(0.99), max: at(1.0), samples: v.len() }
}

fn now_us() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or_default()
}

/// Runs the benchmark and prints a table (and JSON if asked).
pub(crate) async fn passthrough(mut cfg: GalleyConfig, args: PassthroughBenchArgs) -> anyhow::Result<()> {
    let mock = if args.embedded { Some(MockCluster::new(1).context("starting the embedded broker")?) } else { None };
    if let Some(m) = &mock {
        cfg.kafka.bootstrap_servers = m.bootstrap_servers();
    }
    let run_id = format!("{:x}", now_us());
    let topic = |name: &str| format!("bench-{run_id}-{name}");
    let mut topics = vec![topic("in"), topic("lat-raw-in"), topic("lat-rt-in"), topic("lat-raw-out"), topic("lat-rt-out")];
    for r in 0..args.rounds {
        topics.push(topic(&format!("raw-out-{r}")));
        topics.push(topic(&format!("rt-out-{r}")));
    }
    create_topics(&cfg, mock.as_ref(), &topics, args.partitions).await?;
    galley::runtime::wait_for_brokers(&cfg.kafka, &topics).await?;
    cfg.runtime.max_in_flight = args.max_in_flight;
    cfg.kafka.group_prefix = format!("bench-{run_id}");

    println!("Filling {} with {} records...", topic("in"), args.messages);
    let p = producer(&cfg.kafka, "bench", Duration::from_secs(60))?;
    fill(&p, &topic("in"), args.messages, None).await?;

    let mut raw = Vec::new();
    let mut rt = Vec::new();
    for r in 0..args.rounds {
        let rate = raw_loop(&cfg, &topic("in"), &topic(&format!("raw-out-{r}")), &format!("raw-{r}"), args.messages, args.max_in_flight, None).await?;
        println!("round {r}: raw loop {rate:>10.0} msgs/s");
        raw.push(rate);
        let rate = runtime_run(&cfg, &topic("in"), &topic(&format!("rt-out-{r}")), &format!("rt-{r}"), args.messages, None).await?;
        println!("round {r}: runtime  {rate:>10.0} msgs/s");
        rt.push(rate);
    }
    let best = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);

    println!("Latency: {} records at {}/s through each...", args.latency_messages, args.rate);
    let pace = Some((args.latency_messages, args.rate));
    let raw_lat = {
        let (tx, rx) = (topic("lat-raw-in"), topic("lat-raw-out"));
        let reader = spawn_reader(&cfg, &rx, args.latency_messages);
        raw_loop(&cfg, &tx, &rx, "lat-raw", args.latency_messages, args.max_in_flight, Some((&p, pace))).await?;
        reader.await??
    };
    let rt_lat = {
        let (tx, rx) = (topic("lat-rt-in"), topic("lat-rt-out"));
        let reader = spawn_reader(&cfg, &rx, args.latency_messages);
        runtime_run(&cfg, &tx, &rx, "lat-rt", args.latency_messages, Some((&p, pace))).await?;
        reader.await??
    };
    let (raw_lat, rt_lat) = (percentiles(raw_lat), percentiles(rt_lat));
    let report = Report {
        broker: cfg.kafka.bootstrap_servers.clone(),
        messages: args.messages,
        partitions: args.partitions,
        max_in_flight: args.max_in_flight,
        throughput_ratio: best(&rt) / best(&raw).max(f64::EPSILON),
        added_p50_ms: rt_lat.p50 - raw_lat.p50,
        added_p99_ms: rt_lat.p99 - raw_lat.p99,
        raw_msgs_per_s: raw,
        runtime_msgs_per_s: rt,
        raw_latency_ms: raw_lat,
        runtime_latency_ms: rt_lat,
    };
    println!("\n| measure | raw rdkafka loop | galley runtime | ratio / added |");
    println!("|---|---|---|---|");
    println!("| throughput (best, msgs/s) | {:.0} | {:.0} | {:.2}x (goal >= 0.85x) |", best(&report.raw_msgs_per_s), best(&report.runtime_msgs_per_s), report.throughput_ratio);
    println!("| latency p50 (ms) | {:.2} | {:.2} | {:+.2} ms |", report.raw_latency_ms.p50, report.runtime_latency_ms.p50, report.added_p50_ms);
    println!("| latency p99 (ms) | {:.2} | {:.2} | {:+.2} ms (goal < 5 ms) |", report.raw_latency_ms.p99, report.runtime_latency_ms.p99, report.added_p99_ms);
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)?).with_context(|| format!("writing {}", path.display()))?;
    }
    drop(mock);
    Ok(())
}

async fn create_topics(cfg: &GalleyConfig, mock: Option<&MockCluster<'static, rdkafka::producer::DefaultProducerContext>>, topics: &[String], partitions: i32) -> anyhow::Result<()> {
    if let Some(m) = mock {
        for t in topics {
            m.create_topic(t, partitions, 1)?;
        }
        return Ok(());
    }
    let admin: AdminClient<DefaultClientContext> = client_config(&cfg.kafka, "bench-admin").create()?;
    let new: Vec<_> = topics.iter().map(|t| NewTopic::new(t, partitions, TopicReplication::Fixed(1))).collect();
    for r in admin.create_topics(&new, &AdminOptions::new()).await? {
        if let Err((t, e)) = r {
            bail!("creating {t}: {e}");
        }
    }
    Ok(())
}

/// Produces `n` CatalogChange records (keys cycle over 5,000 skus), each stamped with its send
/// time; with `rate`, paced at that many per second.
async fn fill(p: &FutureProducer, topic: &str, n: usize, rate: Option<u64>) -> anyhow::Result<()> {
    let registry = Registry::builtin();
    let start = Instant::now();
    let mut pending = FuturesUnordered::new();
    for i in 0..n {
        if let Some(rate) = rate {
            tokio::time::sleep_until((start + Duration::from_secs_f64(i as f64 / rate as f64)).into()).await;
        }
        let sku = format!("sku-{}", i % 5000);
        let bytes = encode(registry, names::CATALOG_CHANGE, &CatalogChange::sample(&sku, i as i64))?;
        pending.push(enqueue(p, topic, Some(sku.as_bytes()), &bytes, Some(OwnedHeaders::new()), true).await?);
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
async fn enqueue(p: &FutureProducer, topic: &str, key: Option<&[u8]>, payload: &[u8], headers: Option<OwnedHeaders>, stamp: bool) -> anyhow::Result<DeliveryFuture> {
    let mut headers = headers.unwrap_or_default();
    if stamp {
        let sent = now_us().to_string();
        headers = headers.insert(Header { key: SENT_HEADER, value: Some(sent.as_bytes()) });
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
/// consumer position periodically. No ordering, retries or DLQ: the floor a runtime adds to.
async fn raw_loop(cfg: &GalleyConfig, input: &str, output: &str, group: &str, n: usize, window: usize, pace: Pace<'_>) -> anyhow::Result<f64> {
    let consumer: StreamConsumer = client_config(&cfg.kafka, "bench-raw")
        .set("group.id", format!("{}-{group}", cfg.kafka.group_prefix))
        .set("enable.auto.commit", "true")
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
    if secs > 0.0 { (n.saturating_sub(1)) as f64 / secs } else { 0.0 }
}

async fn runtime_run(cfg: &GalleyConfig, input: &str, output: &str, group: &str, n: usize, pace: Pace<'_>) -> anyhow::Result<f64> {
    let mut cfg = cfg.clone();
    cfg.kafka.group_prefix = format!("{}-{group}", cfg.kafka.group_prefix);
    cfg.stages.passthrough.input = input.to_owned();
    cfg.stages.passthrough.output = output.to_owned();
    let metrics = Metrics::new();
    let runtime = StageRuntime::new(cfg.clone(), Passthrough::new(cfg.stages.passthrough.clone()), metrics.clone());
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
    let done = || metrics.outcomes("passthrough").iter().map(|(_, v)| *v as usize).sum::<usize>();
    let mut first = None;
    let deadline = Instant::now() + Duration::from_secs(600);
    while done() < n && Instant::now() < deadline {
        if first.is_none() && done() > 0 {
            first = Some(Instant::now());
        }
        tokio::time::sleep(Duration::from_micros(500)).await;
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
fn spawn_reader(cfg: &GalleyConfig, topic: &str, n: usize) -> tokio::task::JoinHandle<anyhow::Result<Vec<f64>>> {
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
            let Some(m) = consumer.poll(Duration::from_millis(100)) else { continue };
            let m = m?;
            let arrived = now_us();
            let sent = m.headers().and_then(|h| h.iter().find(|h| h.key == SENT_HEADER)).and_then(|h| h.value).and_then(|v| std::str::from_utf8(v).ok()?.parse::<u64>().ok());
            if let Some(sent) = sent {
                lat.push(arrived.saturating_sub(sent) as f64 / 1000.0);
            }
        }
        Ok(lat)
    })
}
