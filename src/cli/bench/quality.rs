//! `galley bench quality`: over the same pre-filled topic of mixed catalog changes, same broker,
//! same run, in alternating rounds:
//!
//! - the runtime's pass-through stage (the cost of Kafka alone), so quality / pass-through is
//!   what validation, normalisation, taxonomy mapping, fingerprinting and routing cost;
//! - the quality stage;
//! - the same checks in Python ([`super::python`]), so Galley / Python is the speed-up over an
//!   ordinary Python service doing the same work (goal >= 5x). Its outcome counts must equal
//!   Galley's, and its records are compared with Galley's whole.
//!
//! Rates run from each side's first completed record to its last, so group joins and the Python
//! interpreter's start are excluded from both.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;
use galley::config::GalleyConfig;
use galley::stages::Quality;
use serde::Serialize;

use super::catalog::mixed;
use super::pipelines::{runtime_run, stage_run};
use super::python::{self, Comparison, PyRun, PyTopics};
use super::report::{Figures, Row, per_s, ratio};
use super::{best, embedded_broker, outcomes, run_id, setup, skipped};

/// Options of `galley bench quality`.
#[derive(Debug, clap::Args)]
pub(crate) struct QualityBenchArgs {
    /// Records per run.
    #[arg(long, default_value_t = 20_000)]
    messages: usize,
    /// Partitions of the bench topics.
    #[arg(long, default_value_t = 4)]
    partitions: i32,
    /// Alternating rounds (pass-through, quality, Python); the best of each is compared.
    #[arg(long, default_value_t = 2)]
    rounds: usize,
    /// runtime.max_in_flight for both Galley stages.
    #[arg(long, default_value_t = 256)]
    max_in_flight: usize,
    /// Python interpreter for the baseline (default: the venv of scripts/bench/setup.sh; the
    /// baseline is skipped, saying so, when that does not exist).
    #[arg(long, value_name = "PATH")]
    python: Option<PathBuf>,
    /// Use the embedded mock broker instead of kafka.bootstrap_servers.
    #[arg(long)]
    embedded: bool,
    /// Also write the results as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub(super) json: Option<PathBuf>,
}

/// What `galley bench quality` measured.
#[derive(Debug, Serialize)]
pub(super) struct QualityReport {
    broker: String,
    messages: usize,
    partitions: i32,
    passthrough_msgs_per_s: Vec<f64>,
    quality_msgs_per_s: Vec<f64>,
    /// Quality / pass-through, best of each.
    ratio: f64,
    /// Galley's outcomes (the same in every round; the last round's).
    outcomes: BTreeMap<String, u64>,
    /// Galley's skipped records by reason.
    skipped: BTreeMap<String, u64>,
    /// The Python baseline; none when it was skipped.
    python: Option<PythonFigures>,
    /// Why the Python baseline did not run.
    python_skipped: Option<String>,
}

/// The Python side of the report.
#[derive(Debug, Serialize)]
struct PythonFigures {
    msgs_per_s: Vec<f64>,
    /// Galley quality / Python, best of each.
    ratio: f64,
    /// Python's outcomes (the last round's).
    outcomes: BTreeMap<String, u64>,
    skipped: BTreeMap<String, u64>,
    /// Outcome counts equal Galley's in every round.
    outcomes_equal: bool,
    /// The last round's records compared with Galley's.
    records: Comparison,
}

/// Runs the benchmark.
pub(super) async fn quality(mut cfg: GalleyConfig, args: &QualityBenchArgs) -> anyhow::Result<QualityReport> {
    let mock = embedded_broker(&mut cfg, args.embedded)?;
    let baseline = python::locate(args.python.as_deref())?;
    if let Err(why) = &baseline {
        println!("Python baseline skipped: {why}");
    }
    let run_id = run_id();
    let topic = |name: &str| format!("bench-q-{run_id}-{name}");
    let mut topics = vec![topic("in")];
    for r in 0..args.rounds {
        for name in ["pt-out", "ok", "ne", "dlq", "py-ok", "py-ne", "py-dlq"] {
            topics.push(topic(&format!("{name}-{r}")));
        }
    }
    cfg.runtime.max_in_flight = args.max_in_flight;
    cfg.kafka.group_prefix = format!("bench-q-{run_id}");
    // Kept alive until the end: dropping a producer early can cut its last deliveries.
    let producer = setup(&cfg, mock.as_ref(), &topics, args.partitions, (args.messages, mixed)).await?;

    let (mut pt, mut q, mut py) = (Vec::new(), Vec::new(), Vec::new());
    let (mut galley_outcomes, mut galley_skipped) = (BTreeMap::new(), BTreeMap::new());
    let (mut last_py, mut equal, mut records) = (None::<PyRun>, true, Comparison::default());
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
        qc.topics.dlq = topic(&format!("dlq-{r}"));
        let s = &mut qc.stages.quality;
        s.catalog_input = topic("in");
        // A fresh validated topic (the stage's memory) per round, so every round sees the same news.
        s.validated = topic(&format!("ok-{r}"));
        s.needs_enrichment = topic(&format!("ne-{r}"));
        s.interactions_input = String::new();
        let (rate, metrics) = stage_run(&qc, &topic("in"), &format!("q-{r}"), args.messages, None, |m| {
            Quality::new(&qc, m).context("building the quality stage")
        })
        .await?;
        println!("round {r}: quality      {rate:>10.0} msgs/s");
        q.push(rate);
        (galley_outcomes, galley_skipped) = (outcomes(&metrics, "quality"), skipped(&metrics, "quality"));
        let Ok(baseline) = &baseline else { continue };
        let (ok, ne, dlq) = (
            topic(&format!("py-ok-{r}")),
            topic(&format!("py-ne-{r}")),
            topic(&format!("py-dlq-{r}")),
        );
        let pyt = PyTopics {
            input: &topic("in"),
            validated: &ok,
            needs_enrichment: &ne,
            dlq: &dlq,
        };
        let run = baseline
            .run(&qc, &pyt, &format!("{}-py-{r}", cfg.kafka.group_prefix), args.messages)
            .await?;
        println!("round {r}: python       {:>10.0} msgs/s", run.msgs_per_s);
        py.push(run.msgs_per_s);
        let same = run.outcomes == galley_outcomes && run.skipped == galley_skipped;
        if !same {
            println!(
                "round {r}: outcomes differ: galley {galley_outcomes:?} {galley_skipped:?}, python {:?} {:?}",
                run.outcomes, run.skipped
            );
        }
        equal &= same;
        if r + 1 == args.rounds {
            records = python::compare(
                &cfg,
                [&qc.stages.quality.validated, &qc.stages.quality.needs_enrichment],
                [&ok, &ne],
            )
            .await?;
        }
        last_py = Some(run);
    }
    // Clients before the embedded broker, or they log its disappearance as errors.
    drop(producer);
    drop(mock);
    let python = last_py.map(|run| PythonFigures {
        ratio: best(&q) / best(&py).max(f64::EPSILON),
        msgs_per_s: py,
        outcomes: run.outcomes,
        skipped: run.skipped,
        outcomes_equal: equal,
        records,
    });
    Ok(QualityReport {
        broker: cfg.kafka.bootstrap_servers.clone(),
        messages: args.messages,
        partitions: args.partitions,
        ratio: best(&q) / best(&pt).max(f64::EPSILON),
        passthrough_msgs_per_s: pt,
        quality_msgs_per_s: q,
        outcomes: galley_outcomes,
        skipped: galley_skipped,
        python,
        python_skipped: baseline.err(),
    })
}

impl Figures for QualityReport {
    fn rows(&self) -> Vec<Row> {
        const B: &str = "quality";
        let counts =
            |o: &BTreeMap<String, u64>| o.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ");
        let mut rows = vec![
            Row::figure(
                B,
                "pass-through (Kafka alone), best",
                per_s(best(&self.passthrough_msgs_per_s)),
            ),
            Row::figure(B, "quality stage, best", per_s(best(&self.quality_msgs_per_s))),
            Row::goal(
                B,
                "quality / pass-through",
                ratio(self.ratio),
                ">= 0.85x",
                self.ratio >= 0.85,
            ),
            Row::figure(B, "galley outcomes", counts(&self.outcomes)),
        ];
        match (&self.python, &self.python_skipped) {
            (Some(p), _) => rows.extend([
                Row::figure(B, "python quality (confluent-kafka), best", per_s(best(&p.msgs_per_s))),
                Row::goal(B, "galley quality / python", ratio(p.ratio), ">= 5x", p.ratio >= 5.0),
                Row::check(
                    B,
                    "outcome counts equal, galley vs python",
                    format!("python {}", counts(&p.outcomes)),
                    p.outcomes_equal,
                ),
                Row::figure(
                    B,
                    "records identical, galley vs python",
                    format!(
                        "{} of {} (python wrote {})",
                        p.records.identical, p.records.galley_records, p.records.python_records
                    ),
                ),
            ]),
            (None, why) => rows.push(Row::figure(
                B,
                "python baseline",
                format!("skipped: {}", why.as_deref().unwrap_or("")),
            )),
        }
        rows
    }
}
