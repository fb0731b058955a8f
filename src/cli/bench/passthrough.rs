//! `galley bench passthrough`: the runtime's pass-through stage against a raw rdkafka
//! consume→produce loop, on the same broker in the same run, reported as ratios.
//!
//! Throughput: both read the same pre-filled topic with fresh consumer groups; rate is measured
//! from the first to the last acknowledged output, so group-join time is excluded from both.
//! Latency: records are sent at a fixed rate with their send time in a header; a reader on the
//! output topic measures send→arrival. The runtime's added latency is its percentile minus the
//! raw loop's, since both include the same broker round trips.

mod generate;
mod pipelines;
mod quality;

pub(crate) use generate::{GenerateBenchArgs, generate};
pub(crate) use quality::{QualityBenchArgs, quality};

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use galley::config::GalleyConfig;
use galley::runtime::producer;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;
use serde::Serialize;

use pipelines::{create_topics, fill, raw_loop, runtime_run, spawn_reader};

/// Header carrying a record's send time (µs since the epoch) for the latency runs.
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
    Percentiles {
        p50: at(0.5),
        p99: at(0.99),
        max: at(1.0),
        samples: v.len(),
    }
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or_default()
}

/// The embedded broker when asked for (pointing `cfg` at it; keep it alive for the run), else
/// none and `cfg`'s brokers.
fn embedded_broker(
    cfg: &mut GalleyConfig,
    embedded: bool,
) -> anyhow::Result<Option<MockCluster<'static, DefaultProducerContext>>> {
    if !embedded {
        return Ok(None);
    }
    let mock = MockCluster::new(1).context("starting the embedded broker")?;
    cfg.kafka.bootstrap_servers = mock.bootstrap_servers();
    Ok(Some(mock))
}

/// Creates the run's topics (the first is the input) and fills the input with `n` products;
/// returns the producer for later (paced) sends.
async fn setup(
    cfg: &GalleyConfig,
    mock: Option<&MockCluster<'static, DefaultProducerContext>>,
    topics: &[String],
    partitions: i32,
    n: usize,
) -> anyhow::Result<rdkafka::producer::FutureProducer> {
    create_topics(cfg, mock, topics, partitions).await?;
    galley::runtime::wait_for_brokers(&cfg.kafka, topics).await?;
    println!("Filling {} with {n} records...", topics[0]);
    let p = producer(&cfg.kafka, "bench", Duration::from_secs(60))?;
    fill(&p, &topics[0], n, None).await?;
    Ok(p)
}

/// Runs the benchmark and prints a table (and JSON if asked).
pub(crate) async fn passthrough(mut cfg: GalleyConfig, args: PassthroughBenchArgs) -> anyhow::Result<()> {
    let mock = embedded_broker(&mut cfg, args.embedded)?;
    let run_id = format!("{:x}", now_us());
    let topic = |name: &str| format!("bench-{run_id}-{name}");
    let mut topics = vec![topic("in")];
    for r in 0..args.rounds {
        for name in [
            "raw-out",
            "rt-out",
            "lat-raw-in",
            "lat-raw-out",
            "lat-rt-in",
            "lat-rt-out",
        ] {
            topics.push(topic(&format!("{name}-{r}")));
        }
    }
    cfg.runtime.max_in_flight = args.max_in_flight;
    cfg.kafka.group_prefix = format!("bench-{run_id}");
    let p = setup(&cfg, mock.as_ref(), &topics, args.partitions, args.messages).await?;

    let mut raw = Vec::new();
    let mut rt = Vec::new();
    for r in 0..args.rounds {
        let rate = raw_loop(
            &cfg,
            &topic("in"),
            &topic(&format!("raw-out-{r}")),
            &format!("raw-{r}"),
            args.messages,
            args.max_in_flight,
            None,
        )
        .await?;
        println!("round {r}: raw loop {rate:>10.0} msgs/s");
        raw.push(rate);
        let rate = runtime_run(
            &cfg,
            &topic("in"),
            &topic(&format!("rt-out-{r}")),
            &format!("rt-{r}"),
            args.messages,
            None,
        )
        .await?;
        println!("round {r}: runtime  {rate:>10.0} msgs/s");
        rt.push(rate);
    }
    let best = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);

    println!(
        "Latency: {} records at {}/s through each...",
        args.latency_messages, args.rate
    );
    let pace = Some((args.latency_messages, args.rate));
    // Short fetch waits for every consumer, so a broker that long-polls for the full wait does
    // not drown the difference being measured (the same setting on both sides).
    let mut cfg = cfg.clone();
    cfg.kafka.properties.insert("fetch.wait.max.ms".into(), "10".into());
    // Rounds alternate and samples are pooled: one run's tail is mostly the broker's noise.
    let (mut raw_lat, mut rt_lat) = (Vec::new(), Vec::new());
    for r in 0..args.rounds {
        let (tx, rx) = (topic(&format!("lat-raw-in-{r}")), topic(&format!("lat-raw-out-{r}")));
        let reader = spawn_reader(&cfg, &rx, args.latency_messages);
        let group = format!("lat-raw-{r}");
        raw_loop(
            &cfg,
            &tx,
            &rx,
            &group,
            args.latency_messages,
            args.max_in_flight,
            Some((&p, pace)),
        )
        .await?;
        raw_lat.extend(reader.await??);
        let (tx, rx) = (topic(&format!("lat-rt-in-{r}")), topic(&format!("lat-rt-out-{r}")));
        let reader = spawn_reader(&cfg, &rx, args.latency_messages);
        runtime_run(
            &cfg,
            &tx,
            &rx,
            &format!("lat-rt-{r}"),
            args.latency_messages,
            Some((&p, pace)),
        )
        .await?;
        rt_lat.extend(reader.await??);
    }
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
    println!(
        "| throughput (best, msgs/s) | {:.0} | {:.0} | {:.2}x (goal >= 0.85x) |",
        best(&report.raw_msgs_per_s),
        best(&report.runtime_msgs_per_s),
        report.throughput_ratio
    );
    println!(
        "| latency p50 (ms) | {:.2} | {:.2} | {:+.2} ms |",
        report.raw_latency_ms.p50, report.runtime_latency_ms.p50, report.added_p50_ms
    );
    println!(
        "| latency p99 (ms) | {:.2} | {:.2} | {:+.2} ms (goal < 5 ms) |",
        report.raw_latency_ms.p99, report.runtime_latency_ms.p99, report.added_p99_ms
    );
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    drop(mock);
    Ok(())
}
