//! `galley bench quality`: the quality stage against the runtime's pass-through stage over the
//! same pre-filled topic, same broker, same run. Both pay for Kafka the same way; the ratio is
//! what validation, normalisation, taxonomy mapping, fingerprinting and the state write cost.

use anyhow::Context;
use galley::config::GalleyConfig;
use galley::stages::Quality;
use serde::Serialize;

use super::pipelines::{runtime_run, stage_run};
use super::{embedded_broker, now_us, setup};

/// Options of `galley bench quality`.
#[derive(Debug, clap::Args)]
pub(crate) struct QualityBenchArgs {
    /// Records per run.
    #[arg(long, default_value_t = 20_000)]
    messages: usize,
    /// Partitions of the bench topics.
    #[arg(long, default_value_t = 4)]
    partitions: i32,
    /// Alternating rounds (pass-through, quality); the best of each is compared.
    #[arg(long, default_value_t = 2)]
    rounds: usize,
    /// runtime.max_in_flight for both.
    #[arg(long, default_value_t = 256)]
    max_in_flight: usize,
    /// Use the embedded mock broker instead of kafka.bootstrap_servers.
    #[arg(long)]
    embedded: bool,
    /// Also write the results as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<std::path::PathBuf>,
}

#[derive(Debug, Serialize)]
struct Report {
    broker: String,
    messages: usize,
    partitions: i32,
    passthrough_msgs_per_s: Vec<f64>,
    quality_msgs_per_s: Vec<f64>,
    ratio: f64,
}

/// Runs the benchmark and prints a table (and JSON if asked).
pub(crate) async fn quality(mut cfg: GalleyConfig, args: QualityBenchArgs) -> anyhow::Result<()> {
    let mock = embedded_broker(&mut cfg, args.embedded)?;
    let run_id = format!("{:x}", now_us());
    let topic = |name: &str| format!("bench-q-{run_id}-{name}");
    let mut topics = vec![topic("in")];
    for r in 0..args.rounds {
        for name in ["pt-out", "ok", "ne"] {
            topics.push(topic(&format!("{name}-{r}")));
        }
    }
    cfg.runtime.max_in_flight = args.max_in_flight;
    cfg.kafka.group_prefix = format!("bench-q-{run_id}");
    // Kept alive until the end: dropping a producer early can cut its last deliveries.
    let _producer = setup(&cfg, mock.as_ref(), &topics, args.partitions, args.messages).await?;

    let (mut pt, mut q) = (Vec::new(), Vec::new());
    for r in 0..args.rounds {
        let rate = runtime_run(
            &cfg,
            &topic("in"),
            &topic(&format!("pt-out-{r}")),
            &format!("pt-{r}"),
            args.messages,
            None,
        )
        .await?;
        println!("round {r}: pass-through {rate:>10.0} msgs/s");
        pt.push(rate);
        let mut qc = cfg.clone();
        let s = &mut qc.stages.quality;
        s.catalog_input = topic("in");
        // A fresh validated topic (the stage's memory) per round, so every record is news.
        s.validated = topic(&format!("ok-{r}"));
        s.needs_enrichment = topic(&format!("ne-{r}"));
        s.interactions_input = String::new();
        let rate = stage_run(&qc, &topic("in"), &format!("q-{r}"), args.messages, None, |m| {
            Quality::new(&qc, m).context("building the quality stage")
        })
        .await?;
        println!("round {r}: quality      {rate:>10.0} msgs/s");
        q.push(rate);
    }
    let best = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
    let report = Report {
        broker: cfg.kafka.bootstrap_servers.clone(),
        messages: args.messages,
        partitions: args.partitions,
        ratio: best(&q) / best(&pt).max(f64::EPSILON),
        passthrough_msgs_per_s: pt,
        quality_msgs_per_s: q,
    };
    println!("\n| measure | pass-through | quality | ratio |");
    println!("|---|---|---|---|");
    println!(
        "| throughput (best, msgs/s) | {:.0} | {:.0} | {:.2}x (goal >= 0.85x) |",
        best(&report.passthrough_msgs_per_s),
        best(&report.quality_msgs_per_s),
        report.ratio
    );
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    drop(mock);
    Ok(())
}
