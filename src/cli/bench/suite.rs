//! `galley bench all [--quick] [--json FILE]`: pass-through, quality (with the Python baseline),
//! generate, end to end, memory, the review checks and the experiment in one run, with one JSON document and one table of every
//! figure and its goal. `--quick` is CI's short form: the same measurements on small counts.
//! The soak is left out; it is for people with time (`galley bench soak`).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use galley::config::GalleyConfig;
use serde::Serialize;

use super::e2e::{E2eReport, e2e};
use super::experiment::{ExperimentReport, experiment};
use super::generate::{GenerateReport, generate};
use super::memory::{MemoryReport, memory};
use super::passthrough::{PassthroughReport, passthrough};
use super::quality::{QualityReport, quality};
use super::report::{Figures, Row, exit_code, print_rows, write_json};
use super::review::{ReviewReport, review};

/// Options of `galley bench all`.
#[derive(Debug, clap::Args)]
pub(crate) struct SuiteArgs {
    /// The short form CI runs: every bench on small counts (well under two minutes).
    #[arg(long)]
    quick: bool,
    /// Python interpreter for the quality baseline (default: the venv of scripts/bench/setup.sh).
    #[arg(long, value_name = "PATH")]
    python: Option<PathBuf>,
    /// Write every bench's report and the table's rows as one JSON document.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Bootstrap servers of a replicated cluster (three brokers, topics with replication factor
    /// 3): the pass-through and quality benches run there too, in the same run, their rows
    /// marked "RF 3".
    #[arg(long, value_name = "HOSTS")]
    cluster: Option<String>,
}

/// The pass-through and quality benches on the replicated cluster.
#[derive(Debug, Serialize)]
struct ClusterReport {
    broker: String,
    passthrough: PassthroughReport,
    quality: QualityReport,
}

/// The JSON document of `galley bench all`.
#[derive(Debug, Serialize)]
struct SuiteReport {
    quick: bool,
    broker: String,
    /// Wall time of the whole suite.
    seconds: f64,
    /// Wall time of each bench.
    bench_seconds: BTreeMap<&'static str, f64>,
    passthrough: PassthroughReport,
    quality: QualityReport,
    generate: GenerateReport,
    e2e: E2eReport,
    memory: MemoryReport,
    /// The review checks on one core; none when the labelled set or the catalog is missing.
    review: Option<ReviewReport>,
    /// Why the review bench did not run.
    review_skipped: Option<String>,
    /// The experiment's statistics and the experiment stage.
    experiment: ExperimentReport,
    /// The same pass-through and quality benches on `--cluster`, when given.
    cluster: Option<ClusterReport>,
    /// The table: every figure, its goal and whether it was met; the correctness checks.
    figures: Vec<Row>,
}

/// Each bench's options in the quick and the full form, written as on the command line so the
/// defaults stay those of the bench's own command.
const PASSTHROUGH: [&[&str]; 2] = [
    &["--messages", "3000", "--rounds", "1", "--latency-messages", "300"],
    &[],
];
const QUALITY: [&[&str]; 2] = [&["--messages", "3000", "--rounds", "1"], &[]];
const GENERATE: [&[&str]; 2] = [&["--messages", "500", "--keys", "200", "--latency-ms", "100"], &[]];
const E2E: [&[&str]; 2] = [
    &["--messages", "1000", "--latency-messages", "200", "--rate", "100"],
    &[],
];
const REVIEW: [&[&str]; 2] = [&["--rounds", "1", "--seconds", "0.5"], &[]];
const EXPERIMENT: [&[&str]; 2] = [&["--quick"], &[]];
const MEMORY: [&[&str]; 2] = [&["--in-flight", "2000", "--model-latency-ms", "4000"], &[]];

/// Runs the suite; fails when a correctness check failed.
pub(super) async fn all(cfg: GalleyConfig, config: Option<&Path>, args: &SuiteArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let form = usize::from(!args.quick);
    let mut seconds = BTreeMap::new();
    let mut lap = |name: &'static str, since: &mut Instant| {
        seconds.insert(name, since.elapsed().as_secs_f64());
        *since = Instant::now();
        println!("\n== {name} took {:.0} s", seconds[name]);
    };
    let mut at = Instant::now();
    println!("== passthrough");
    let passthrough = passthrough(cfg.clone(), &parse(PASSTHROUGH[form], &[])?).await?;
    lap("passthrough", &mut at);
    let python: Vec<OsString> = match &args.python {
        Some(p) => vec!["--python".into(), p.into()],
        None => vec![],
    };
    let quality = quality(cfg.clone(), &parse(QUALITY[form], &python)?).await?;
    lap("quality", &mut at);
    let cluster = match &args.cluster {
        None => None,
        Some(hosts) => {
            let mut on = cfg.clone();
            on.kafka.bootstrap_servers = hosts.clone();
            println!("== passthrough on {hosts}");
            let on_passthrough = super::passthrough::passthrough(on.clone(), &parse(PASSTHROUGH[form], &[])?).await?;
            println!("== quality on {hosts}");
            let on_quality = super::quality::quality(on, &parse(QUALITY[form], &python)?).await?;
            lap("cluster", &mut at);
            Some(ClusterReport {
                broker: hosts.clone(),
                passthrough: on_passthrough,
                quality: on_quality,
            })
        }
    };
    println!("== generate");
    let generate = generate(cfg.clone(), &parse(GENERATE[form], &[])?).await?;
    lap("generate", &mut at);
    println!("== e2e");
    let e2e = e2e(cfg.clone(), &parse(E2E[form], &[])?).await?;
    lap("e2e", &mut at);
    println!("== memory");
    let memory = memory(cfg.clone(), config, &parse(MEMORY[form], &[])?).await?;
    lap("memory", &mut at);
    println!("== review");
    let (review, review_skipped) = match review(&cfg, &parse(REVIEW[form], &[])?) {
        Ok(r) => (Some(r), None),
        Err(e) => {
            println!("The review bench is skipped: {e:#}");
            (None, Some(format!("{e:#}")))
        }
    };
    lap("review", &mut at);
    println!("== experiment");
    let experiment = experiment(cfg.clone(), &parse(EXPERIMENT[form], &[])?).await?;
    lap("experiment", &mut at);
    let on_cluster = cluster
        .iter()
        .flat_map(|c| c.passthrough.rows().into_iter().chain(c.quality.rows()));
    let on_cluster: Vec<Row> = on_cluster
        .map(|mut r| {
            r.measure = format!("RF 3: {}", r.measure);
            r
        })
        .collect();
    let figures: Vec<Row> = [
        passthrough.rows(),
        quality.rows(),
        on_cluster,
        generate.rows(),
        e2e.rows(),
        memory.rows(),
        review.as_ref().map(Figures::rows).unwrap_or_default(),
        experiment.rows(),
    ]
    .concat();
    let report = SuiteReport {
        quick: args.quick,
        broker: cfg.kafka.bootstrap_servers.clone(),
        seconds: started.elapsed().as_secs_f64(),
        bench_seconds: seconds,
        passthrough,
        quality,
        generate,
        e2e,
        memory,
        review,
        review_skipped,
        experiment,
        cluster,
        figures,
    };
    println!(
        "\n{} suite in {:.0} s against {}:\n",
        if args.quick { "Quick" } else { "Full" },
        report.seconds,
        report.broker
    );
    print_rows(&report.figures);
    write_json(args.json.as_deref(), &report)?;
    Ok(exit_code(&report.figures))
}

/// A bench's options from command-line words, as clap would parse them.
fn parse<A: clap::Args + clap::FromArgMatches>(words: &[&str], more: &[OsString]) -> anyhow::Result<A> {
    let command = A::augment_args(clap::Command::new("bench"));
    let argv = std::iter::once(OsString::from("bench"))
        .chain(words.iter().map(OsString::from))
        .chain(more.iter().cloned());
    Ok(A::from_arg_matches(&command.try_get_matches_from(argv)?)?)
}
