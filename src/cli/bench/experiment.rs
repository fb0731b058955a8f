//! `galley bench experiment`: the experiment's statistics on a simulated storefront
//! ([`galley::experiment::sim`]: products with their own view and cart rates, customers who
//! view, cart and buy, a true uplift the bench sets) and one such storefront through the real
//! experiment stage.
//!
//! - **A/A runs** (true uplift 0), each looked at every tick: the share that reached any decision
//!   is `aa_false_positive_rate` (the always-valid test promises at most `alpha`). The baseline
//!   in the same runs is the textbook test (views as independent trials, 95% at every look):
//!   `naive_false_positive_rate`, what the experiment would claim without clustering and
//!   sequential correction.
//! - **Runs at `--true-uplift`**: `power` (share that found the uplift, or the harm when the
//!   uplift is negative) and `uplift_estimate` (mean estimate at the last look); the same at the
//!   opposite effect (`mirror_power`, `mirror_estimate`), so one run shows an uplift and a harm.
//! - **Through the stage**: one run's exposures and interactions written to Kafka and folded by
//!   the experiment stage (repartitioned by sku, counted per partition, summaries published):
//!   `interactions_per_s`, and a check that the stage's totals equal the in-process book's.

use std::path::PathBuf;
use std::time::Instant;

use galley::config::{ExperimentTarget, GalleyConfig};
use galley::experiment::Verdict;
use galley::experiment::sim::{Run, Storefront, run};
use galley::metrics::Metrics;
use galley::schema::ArmTotals;
use serde::Serialize;

use super::embedded_broker;
use super::report::{Figures, Row, per_s};
use super::storefront::through_stage;

/// Options of `galley bench experiment`.
#[derive(Debug, clap::Args)]
pub(crate) struct ExperimentBenchArgs {
    /// A/A runs (the false-positive rate's sample).
    #[arg(long, default_value_t = 1000)]
    aa_runs: usize,
    /// Runs at the true uplift (the power's sample).
    #[arg(long, default_value_t = 200)]
    runs: usize,
    /// The treatment's true relative effect on the cart rate (negative: harm).
    #[arg(long, default_value_t = 0.3, allow_hyphen_values = true)]
    true_uplift: f64,
    /// Products in the experiment.
    #[arg(long, default_value_t = 400)]
    products: usize,
    /// Looks per run (one per simulated minute).
    #[arg(long, default_value_t = 60)]
    ticks: usize,
    /// Short form for CI: fewer runs, and a smaller storefront through the stage.
    #[arg(long)]
    quick: bool,
    /// Use the embedded mock broker instead of kafka.bootstrap_servers.
    #[arg(long)]
    embedded: bool,
    /// Also write the results as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub(super) json: Option<PathBuf>,
}

/// What `galley bench experiment` measured.
#[derive(Debug, Serialize)]
pub(super) struct ExperimentReport {
    broker: String,
    storefront: Storefront,
    metric: &'static str,
    alpha: f64,
    aa_runs: usize,
    /// Share of A/A runs that reached a decision at some look.
    aa_false_positive_rate: f64,
    /// Share of the same A/A runs the textbook per-view test called at some look.
    naive_false_positive_rate: f64,
    runs: usize,
    true_uplift: f64,
    /// Share of runs at the true uplift that decided in its direction.
    power: f64,
    /// Mean uplift estimate at the last look of those runs.
    uplift_estimate: f64,
    /// The same at the opposite true effect (harm when `true_uplift` is positive).
    mirror_power: f64,
    /// Mean estimate of those runs.
    mirror_estimate: f64,
    /// Mean look at which the runs at `true_uplift` decided.
    mean_decision_tick: Option<f64>,
    /// Interactions folded by the in-process book per second (the statistics' cost).
    simulated_interactions_per_s: f64,
    /// Interactions of the run through the stage.
    stage_interactions: u64,
    /// Interactions per second through the experiment stage (repartition + fold), from the
    /// first interaction written to the last counted.
    interactions_per_s: f64,
    /// Whether the stage's published totals equal the in-process book's (views, carts,
    /// purchases, revenue, exposed and viewed items per arm).
    stage_matches_book: bool,
    stage_treatment: ArmTotals,
    stage_control: ArmTotals,
}

/// Runs the benchmark.
pub(super) async fn experiment(mut cfg: GalleyConfig, args: &ExperimentBenchArgs) -> anyhow::Result<ExperimentReport> {
    let (aa_runs, runs) = if args.quick {
        (args.aa_runs.min(200), args.runs.min(30))
    } else {
        (args.aa_runs, args.runs)
    };
    let store = |true_uplift: f64| Storefront::long_tail(args.products, args.ticks, true_uplift);
    let target = ExperimentTarget::new("view_to_cart");
    println!("{aa_runs} A/A runs...");
    let started = Instant::now();
    let aa: Vec<Run> = (0..aa_runs)
        .map(|seed| run(&store(0.0), &target, seed as u64))
        .collect();
    println!(
        "{runs} runs at a true uplift of {:+.0}% and {runs} at {:+.0}%...",
        args.true_uplift * 100.0,
        -args.true_uplift * 100.0
    );
    let treated: Vec<Run> = (0..runs)
        .map(|seed| run(&store(args.true_uplift), &target, 1_000_000 + seed as u64))
        .collect();
    let mirrored: Vec<Run> = (0..runs)
        .map(|seed| run(&store(-args.true_uplift), &target, 2_000_000 + seed as u64))
        .collect();
    let simulated = aa
        .iter()
        .chain(&treated)
        .chain(&mirrored)
        .map(|r| r.interactions)
        .sum::<u64>();
    let simulated_per_s = simulated as f64 / started.elapsed().as_secs_f64().max(1e-9);
    let share =
        |rs: &[Run], f: &dyn Fn(&Run) -> bool| rs.iter().filter(|r| f(r)).count() as f64 / rs.len().max(1) as f64;
    let direction = |uplift: f64| if uplift < 0.0 { Verdict::Harm } else { Verdict::Uplift };
    let found = |rs: &[Run], uplift: f64| -> Vec<usize> {
        rs.iter()
            .filter_map(|r| r.decided.filter(|(v, _)| *v == direction(uplift)).map(|(_, tick)| tick))
            .collect()
    };
    let estimate = |rs: &[Run]| {
        let e: Vec<f64> = rs.iter().filter_map(|r| r.last.comparison.map(|c| c.uplift)).collect();
        e.iter().sum::<f64>() / e.len().max(1) as f64
    };
    let ticks = found(&treated, args.true_uplift);

    let mock = embedded_broker(&mut cfg, args.embedded)?;
    let small = Storefront {
        products: if args.quick {
            args.products.min(200)
        } else {
            args.products
        },
        ticks: if args.quick { args.ticks.min(10) } else { args.ticks },
        ..store(args.true_uplift)
    };
    let through = through_stage(&cfg, mock.as_ref(), &small, &target, &Metrics::new(), "bench-x").await?;
    drop(mock);
    Ok(ExperimentReport {
        broker: cfg.kafka.bootstrap_servers.clone(),
        storefront: store(args.true_uplift),
        metric: "view_to_cart",
        alpha: target.alpha,
        aa_runs,
        aa_false_positive_rate: share(&aa, &|r| r.decided.is_some()),
        naive_false_positive_rate: share(&aa, &|r| r.naive_decided),
        runs,
        true_uplift: args.true_uplift,
        power: ticks.len() as f64 / runs.max(1) as f64,
        uplift_estimate: estimate(&treated),
        mirror_power: found(&mirrored, -args.true_uplift).len() as f64 / runs.max(1) as f64,
        mirror_estimate: estimate(&mirrored),
        mean_decision_tick: (!ticks.is_empty()).then(|| ticks.iter().sum::<usize>() as f64 / ticks.len() as f64),
        simulated_interactions_per_s: simulated_per_s,
        stage_interactions: through.interactions,
        interactions_per_s: through.per_s,
        stage_matches_book: through.matches,
        stage_treatment: through.stage.treatment,
        stage_control: through.stage.control,
    })
}

impl Figures for ExperimentReport {
    fn rows(&self) -> Vec<Row> {
        let pct = |x: f64| format!("{:.1}%", x * 100.0);
        vec![
            Row::goal(
                "experiment",
                format!("A/A runs deciding anything ({} runs, a look every tick)", self.aa_runs),
                pct(self.aa_false_positive_rate),
                format!("<= {} (alpha)", pct(self.alpha)),
                self.aa_false_positive_rate <= self.alpha,
            ),
            Row::figure(
                "experiment",
                "baseline: textbook per-view test at every look, same A/A runs",
                pct(self.naive_false_positive_rate),
            ),
            Row::figure(
                "experiment",
                format!(
                    "power at a true uplift of {:+.0}% ({} runs)",
                    self.true_uplift * 100.0,
                    self.runs
                ),
                pct(self.power),
            ),
            Row::figure(
                "experiment",
                "uplift estimate at the last look (mean)",
                format!(
                    "{:+.1}% (true {:+.1}%)",
                    self.uplift_estimate * 100.0,
                    self.true_uplift * 100.0
                ),
            ),
            Row::figure(
                "experiment",
                format!("power at {:+.0}%", -self.true_uplift * 100.0),
                format!(
                    "{} (estimate {:+.1}%)",
                    pct(self.mirror_power),
                    self.mirror_estimate * 100.0
                ),
            ),
            Row::figure(
                "experiment",
                "interactions through the experiment stage",
                per_s(self.interactions_per_s),
            ),
            Row::check(
                "experiment",
                "the stage's totals equal the in-process book's",
                format!("{} interactions", self.stage_interactions),
                self.stage_matches_book,
            ),
        ]
    }
}
