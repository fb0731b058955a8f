//! `galley bench`: every figure is measured against a baseline in the same run on the same
//! broker, and reported as a ratio or against a stated goal. Speed goals are reported, never
//! enforced; correctness checks (books balanced, equal outcome counts, per-key order) fail the
//! command.
//!
//! - `passthrough`: the runtime's pass-through stage vs a raw rdkafka loop ([`passthrough`]).
//! - `quality`: the quality stage vs the pass-through, and vs the same checks in Python
//!   (scripts/bench/quality.py) with the outcomes of both compared ([`quality`], [`python`]).
//! - `generate`: the generate stage vs the ideal C / L of a fixed-latency fake model ([`generate`]).
//! - `review`: the review checks on one core vs one word-list scan of the same texts ([`review`]).
//! - `e2e`: quality → generate → review in one process: throughput, latency, books ([`e2e`]).
//! - `memory`: peak RSS of a `galley run --stage generate` child with 10k records in flight ([`memory`]).
//! - `experiment`: A/A false positives, power and the uplift estimate of the experiment's
//!   statistics on a simulated storefront, and that storefront through the stage ([`experiment`]).
//! - `soak`: a paced stream through the chain for N minutes, RSS over time ([`soak`]).
//! - `all`: all but the soak; one JSON document and one table of figures and goals ([`suite`]).

mod catalog;
mod chain;
mod e2e;
mod experiment;
mod generate;
mod memory;
mod passthrough;
mod pipelines;
mod python;
mod quality;
mod report;
mod review;
mod soak;
pub(crate) mod storefront;
mod suite;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use galley::config::GalleyConfig;
use galley::metrics::Metrics;
use galley::runtime::producer;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{DefaultProducerContext, FutureProducer};

use catalog::Generator;
use pipelines::{create_topics, fill};
use report::{Figures, Row, exit_code, print_rows, write_json};

/// Header carrying a record's send time (µs since the epoch) for the latency runs.
const SENT_HEADER: &str = "bench.sent_us";

/// `galley bench` subcommands.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum BenchCommand {
    /// Runtime pass-through vs a raw rdkafka consume→produce loop on the same broker.
    Passthrough(passthrough::PassthroughBenchArgs),
    /// Quality stage vs the runtime pass-through (goal >= 0.85x) and vs the same checks in
    /// Python (scripts/bench/quality.py; goal >= 5x), same topic, same run.
    Quality(quality::QualityBenchArgs),
    /// Generate stage vs the ideal C / L with a fixed-latency fake model (goal >= 0.9x).
    Generate(generate::GenerateBenchArgs),
    /// Drafts/s through the review checks on one core, 1,000-character descriptions (goal
    /// >= 2,000/s), vs one word-list scan of the same texts.
    Review(review::ReviewBenchArgs),
    /// quality → generate → review in one process: throughput, catalog change → approved
    /// latency, books balanced.
    E2e(e2e::E2eBenchArgs),
    /// Peak RSS of a generate stage (child process) with 10k records in flight (goal < 150 MB).
    Memory(memory::MemoryBenchArgs),
    /// A paced stream through quality → generate → review for N minutes: throughput, latency,
    /// RSS over time, books.
    Soak(soak::SoakBenchArgs),
    /// The experiment's statistics on a simulated storefront (A/A false positives vs the
    /// textbook test, power, the uplift estimate) and one storefront through the experiment stage.
    Experiment(experiment::ExperimentBenchArgs),
    /// Every bench above but the soak; one JSON document and one table of figures and goals.
    All(suite::SuiteArgs),
}

/// Runs a bench command; fails when a correctness check failed. `config` is the `--config`
/// file, handed on to child processes.
pub(crate) async fn run(cfg: GalleyConfig, config: Option<&Path>, command: BenchCommand) -> anyhow::Result<ExitCode> {
    let rows = match command {
        BenchCommand::Passthrough(a) => done(passthrough::passthrough(cfg, &a).await?, a.json.as_deref())?,
        BenchCommand::Quality(a) => done(quality::quality(cfg, &a).await?, a.json.as_deref())?,
        BenchCommand::Generate(a) => done(generate::generate(cfg, &a).await?, a.json.as_deref())?,
        BenchCommand::Review(a) => done(review::review(&cfg, &a)?, a.json.as_deref())?,
        BenchCommand::E2e(a) => done(e2e::e2e(cfg, &a).await?, a.json.as_deref())?,
        BenchCommand::Memory(a) => done(memory::memory(cfg, config, &a).await?, a.json.as_deref())?,
        BenchCommand::Experiment(a) => done(experiment::experiment(cfg, &a).await?, a.json.as_deref())?,
        BenchCommand::Soak(a) => done(soak::soak(cfg, &a).await?, a.json.as_deref())?,
        BenchCommand::All(a) => return suite::all(cfg, config, &a).await,
    };
    println!();
    print_rows(&rows);
    Ok(exit_code(&rows))
}

/// Writes one bench's report as JSON if asked; its rows for the table.
fn done<R: Figures>(report: R, json: Option<&Path>) -> anyhow::Result<Vec<Row>> {
    write_json(json, &report)?;
    Ok(report.rows())
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or_default()
}

/// A fresh prefix for a run's topics and groups, so runs never see each other's records.
fn run_id() -> String {
    format!("{:x}", now_us())
}

/// A stage's terminal outcomes so far, from its metrics.
fn outcomes(metrics: &Metrics, stage: &str) -> BTreeMap<String, u64> {
    metrics.outcomes(stage).into_iter().collect()
}

/// A stage's skipped records by reason, from its metrics.
fn skipped(metrics: &Metrics, stage: &str) -> BTreeMap<String, u64> {
    metrics
        .counts("galley_skipped_total", stage, "reason")
        .into_iter()
        .collect()
}

/// The best of several rounds.
fn best(v: &[f64]) -> f64 {
    v.iter().copied().fold(0.0, f64::max)
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

/// Creates the run's topics (the first is the input) and fills the input with records `0..n`
/// of `generate`; returns the producer for later (paced) sends.
async fn setup(
    cfg: &GalleyConfig,
    mock: Option<&MockCluster<'static, DefaultProducerContext>>,
    topics: &[String],
    partitions: i32,
    (n, generate): (usize, Generator),
) -> anyhow::Result<FutureProducer> {
    create_topics(cfg, mock, topics, partitions).await?;
    galley::runtime::wait_for_brokers(&cfg.kafka, topics).await?;
    println!("Filling {} with {n} records...", topics[0]);
    let p = producer(&cfg.kafka, "bench", Duration::from_secs(60))?;
    fill(&p, &topics[0], 0..n, None, generate).await?;
    Ok(p)
}
