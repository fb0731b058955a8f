//! `galley bench passthrough`: the runtime's pass-through stage against a raw rdkafka
//! consume→produce loop, on the same broker in the same run, reported as ratios.
//!
//! Throughput: both read the same pre-filled topic with fresh consumer groups; rate is measured
//! from the first to the last acknowledged output, so group-join time is excluded from both.
//! Latency: records are sent at a fixed rate with their send time in a header; a reader on the
//! output topic measures send→arrival. The runtime's added latency is its percentile minus the
//! raw loop's, since both include the same broker round trips. The runtime also runs in
//! exactly-once mode (`runtime.exactly_once`) on the same topics, for what transactions cost.

use std::path::PathBuf;
use std::time::Duration;

use galley::config::GalleyConfig;
use serde::Serialize;

use super::catalog::uniform;
use super::pipelines::{Pace, Reader, raw_loop, runtime_run};
use super::report::{Figures, Percentiles, Row, ms3, per_s, percentiles, ratio};
use super::{best, embedded_broker, run_id, setup};

/// How long a latency reader may take to see every record of a run.
const READ_LIMIT: Duration = Duration::from_secs(120);

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
    pub(super) json: Option<PathBuf>,
}

/// What `galley bench passthrough` measured.
#[derive(Debug, Serialize)]
pub(super) struct PassthroughReport {
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
    /// The runtime with `runtime.exactly_once` (transactions), same topic, same rounds.
    exactly_once_msgs_per_s: Vec<f64>,
    /// Best exactly-once over best at-least-once.
    exactly_once_vs_at_least_once: f64,
    exactly_once_latency_ms: Percentiles,
}

/// Runs the benchmark.
pub(super) async fn passthrough(
    mut cfg: GalleyConfig,
    args: &PassthroughBenchArgs,
) -> anyhow::Result<PassthroughReport> {
    let mock = embedded_broker(&mut cfg, args.embedded)?;
    let run_id = run_id();
    let topic = |name: &str| format!("bench-{run_id}-{name}");
    let mut topics = vec![topic("in")];
    for r in 0..args.rounds {
        for name in [
            "raw-out",
            "rt-out",
            "eos-out",
            "lat-eos-in",
            "lat-eos-out",
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
    let p = setup(&cfg, mock.as_ref(), &topics, args.partitions, (args.messages, uniform)).await?;

    // Exactly-once: the same runtime with transactions, a fresh transactional id per run.
    let eos_cfg = |name: &str| {
        let mut c = cfg.clone();
        c.runtime.exactly_once = true;
        c.runtime.instance_id = format!("{run_id}-{name}");
        c
    };
    let mut raw = Vec::new();
    let mut rt = Vec::new();
    let mut eos = Vec::new();
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
        let rate = runtime_run(
            &eos_cfg(&format!("eos-{r}")),
            &topic("in"),
            &topic(&format!("eos-out-{r}")),
            &format!("eos-{r}"),
            args.messages,
            None,
        )
        .await?;
        println!("round {r}: runtime exactly-once {rate:>10.0} msgs/s");
        eos.push(rate);
    }
    println!(
        "Latency: {} records at {}/s through each...",
        args.latency_messages, args.rate
    );
    let pace = || Pace {
        producer: &p,
        records: 0..args.latency_messages,
        rate: args.rate,
        generate: uniform,
    };
    // Short fetch waits for every consumer, so a broker that long-polls for the full wait does
    // not drown the difference being measured (the same setting on both sides).
    let mut cfg = cfg.clone();
    cfg.kafka.properties.insert("fetch.wait.max.ms".into(), "10".into());
    // Rounds alternate and samples are pooled: one run's tail is mostly the broker's noise.
    let (mut raw_lat, mut rt_lat, mut eos_lat) = (Vec::new(), Vec::new(), Vec::new());
    for r in 0..args.rounds {
        let (tx, rx) = (topic(&format!("lat-raw-in-{r}")), topic(&format!("lat-raw-out-{r}")));
        let reader = Reader::start(&cfg, &rx, 0);
        let group = format!("lat-raw-{r}");
        raw_loop(
            &cfg,
            &tx,
            &rx,
            &group,
            args.latency_messages,
            args.max_in_flight,
            Some(pace()),
        )
        .await?;
        raw_lat.extend(reader.finish(args.latency_messages, READ_LIMIT).await?.0);
        let (tx, rx) = (topic(&format!("lat-rt-in-{r}")), topic(&format!("lat-rt-out-{r}")));
        let reader = Reader::start(&cfg, &rx, 0);
        runtime_run(
            &cfg,
            &tx,
            &rx,
            &format!("lat-rt-{r}"),
            args.latency_messages,
            Some(pace()),
        )
        .await?;
        rt_lat.extend(reader.finish(args.latency_messages, READ_LIMIT).await?.0);
        let (tx, rx) = (topic(&format!("lat-eos-in-{r}")), topic(&format!("lat-eos-out-{r}")));
        let reader = Reader::start(&cfg, &rx, 0);
        let mut eos_lat_cfg = eos_cfg(&format!("lat-eos-{r}"));
        eos_lat_cfg.kafka.properties = cfg.kafka.properties.clone();
        runtime_run(
            &eos_lat_cfg,
            &tx,
            &rx,
            &format!("lat-eos-{r}"),
            args.latency_messages,
            Some(pace()),
        )
        .await?;
        eos_lat.extend(reader.finish(args.latency_messages, READ_LIMIT).await?.0);
    }
    let (raw_lat, rt_lat, eos_lat) = (percentiles(raw_lat), percentiles(rt_lat), percentiles(eos_lat));
    // Clients before the embedded broker, or they log its disappearance as errors.
    drop(p);
    drop(mock);
    Ok(PassthroughReport {
        broker: cfg.kafka.bootstrap_servers.clone(),
        messages: args.messages,
        partitions: args.partitions,
        max_in_flight: args.max_in_flight,
        throughput_ratio: best(&rt) / best(&raw).max(f64::EPSILON),
        added_p50_ms: rt_lat.p50 - raw_lat.p50,
        added_p99_ms: rt_lat.p99 - raw_lat.p99,
        exactly_once_vs_at_least_once: best(&eos) / best(&rt).max(f64::EPSILON),
        raw_msgs_per_s: raw,
        runtime_msgs_per_s: rt,
        exactly_once_msgs_per_s: eos,
        raw_latency_ms: raw_lat,
        runtime_latency_ms: rt_lat,
        exactly_once_latency_ms: eos_lat,
    })
}

impl Figures for PassthroughReport {
    fn rows(&self) -> Vec<Row> {
        const B: &str = "passthrough";
        vec![
            Row::figure(B, "raw rdkafka loop, best", per_s(best(&self.raw_msgs_per_s))),
            Row::figure(B, "runtime pass-through, best", per_s(best(&self.runtime_msgs_per_s))),
            Row::goal(
                B,
                "runtime / raw loop",
                ratio(self.throughput_ratio),
                ">= 0.85x",
                self.throughput_ratio >= 0.85,
            ),
            Row::figure(
                B,
                "runtime exactly-once, best",
                per_s(best(&self.exactly_once_msgs_per_s)),
            ),
            Row::figure(
                B,
                "exactly-once / at-least-once",
                ratio(self.exactly_once_vs_at_least_once),
            ),
            Row::figure(B, "raw loop latency p50 / p99 / max", ms3(&self.raw_latency_ms)),
            Row::figure(B, "runtime latency p50 / p99 / max", ms3(&self.runtime_latency_ms)),
            Row::figure(
                B,
                "exactly-once latency p50 / p99 / max",
                ms3(&self.exactly_once_latency_ms),
            ),
            Row::goal(
                B,
                "latency the runtime adds, p99",
                format!("{:+.2} ms (p50 {:+.2} ms)", self.added_p99_ms, self.added_p50_ms),
                "< 5 ms",
                self.added_p99_ms < 5.0,
            ),
        ]
    }
}
