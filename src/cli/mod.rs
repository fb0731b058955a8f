//! Command line: `galley run`, `demo`, `publish`, `audit`, `check`, `report`, `inventory`, `refresh`, `console`,
//! `control`, `dlq replay`,
//! `bench`, `schema check`.

mod bench;
mod catalog;
mod check;
mod compare;
mod console;
mod control;
mod demo;
mod eval;
mod history;
mod inventory;
mod refresh;
mod report;
mod report_experiment;
mod retract;
mod schema;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use galley::config::GalleyConfig;
use galley::metrics::Metrics;
use galley::runtime::replay::{ReplayFilter, replay};
use galley::runtime::{StageRuntime, http, shutdown};
use galley::stages::{Experiment, Generate, Passthrough, Quality, Review, StageKind};
use tokio_util::sync::CancellationToken;

/// Galley: safe generative AI for an online shop, as Kafka stages.
///
/// Configuration: built-in defaults (see config/default.toml), then --config FILE, then
/// GALLEY_<SECTION>__<KEY> environment variables, e.g. GALLEY_KAFKA__BOOTSTRAP_SERVERS.
/// Logging: GALLEY_LOG (e.g. "info,galley=debug"), GALLEY_LOG_FORMAT=json.
#[derive(Debug, Parser)]
#[command(name = "galley", version, about, long_about)]
pub(crate) struct Cli {
    /// TOML file with the keys to override.
    #[arg(long, global = true, env = "GALLEY_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run one stage until SIGTERM/SIGINT (then drain, commit, exit 0).
    Run {
        /// Which stage to run.
        #[arg(long, value_enum)]
        stage: StageKind,
    },
    /// Run the pipeline on an embedded broker with a sample catalog and print what happened.
    Demo(demo::DemoArgs),
    /// Publish a CSV or JSONL catalog export as CatalogChange events (how a real catalog gets in),
    /// or with --kind interactions an interaction history as InteractionEvents.
    Publish(catalog::PublishArgs),
    /// Run the quality rules offline over a catalog export and print a report, or with --kind
    /// interactions|orders audit an interaction history or order lines.
    Audit(catalog::AuditArgs),
    /// Run the review checks and risk policy offline over texts (JSONL), one JSON line each.
    Check(check::CheckArgs),
    /// Measure the review checks on a labelled set (JSONL): recall per defect kind, false
    /// positives on clean texts, which checks found what.
    Eval(eval::EvalArgs),
    /// Success metrics per use case from the audit topic: approval and rejection rates, edit
    /// distance, review latency, time to publish, cost per approved item.
    Report(report::ReportArgs),
    /// What is live on the approved topic per use case: prompts, models, generators, policy
    /// versions, who approved it, how old it is, and how much is due for a refresh.
    Inventory(inventory::InventoryArgs),
    /// Plan a refresh wave (--dry-run): the live copy written with an older prompt or model,
    /// approved under another policy, too old, or written by a fallback; order and cost.
    Refresh(refresh::RefreshArgs),
    /// Serve the reviewer console: the review queue, approve / edit / reject (see [console]).
    Console(console::ConsoleArgs),
    /// Rollout per use case on galley.control: status, kill switch, mode overrides.
    Control {
        #[command(subcommand)]
        command: control::ControlCommand,
    },
    /// Work with the dead-letter topic.
    Dlq {
        #[command(subcommand)]
        command: DlqCommand,
    },
    /// Benchmarks, reported as ratios against a baseline measured in the same run.
    Bench {
        #[command(subcommand)]
        command: bench::BenchCommand,
    },
    /// Schema tools.
    Schema {
        #[command(subcommand)]
        command: SchemaCommand,
    },
}

#[derive(Debug, Subcommand)]
enum DlqCommand {
    /// Re-publish dead-lettered records to their origin topic (after fixing the cause).
    Replay(ReplayArgs),
}

#[derive(Debug, Args)]
struct ReplayArgs {
    /// Dead-letter topic to read (default: topics.dlq).
    #[arg(long)]
    from: Option<String>,
    /// Only records dead-lettered by this stage.
    #[arg(long)]
    stage: Option<String>,
    /// Only this error kind: permanent or retryable.
    #[arg(long)]
    kind: Option<String>,
    /// Only this error code, e.g. avro_decode.
    #[arg(long)]
    code: Option<String>,
    /// Only records that came from this topic.
    #[arg(long)]
    topic: Option<String>,
    /// Count what would be replayed; publish nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum SchemaCommand {
    /// Check every schema version against the newest of its name (backward and forward).
    Check {
        /// Also compare Galley's schemas with what the `[schema_registry]` holds under each
        /// subject Galley writes or reads.
        #[arg(long)]
        registry: bool,
    },
}

/// Runs the parsed command.
pub(crate) async fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let load = || GalleyConfig::load(cli.config.as_deref());
    match cli.command {
        Command::Run { stage } => {
            let cfg = with_registry(load()?, false).await?;
            run_stage(cfg, stage).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo(args) => demo::run(load()?, args).await,
        Command::Publish(args) => catalog::publish(with_registry(load()?, true).await?, args).await,
        Command::Audit(args) => catalog::audit(load()?, args),
        Command::Check(args) => check::check(load()?, args),
        Command::Eval(args) => eval::eval(load()?, args).await,
        Command::Report(args) => report::report(with_registry(load()?, false).await?, args).await,
        Command::Inventory(args) => inventory::inventory(with_registry(load()?, false).await?, args).await,
        Command::Refresh(args) => refresh::refresh(with_registry(load()?, false).await?, args).await,
        Command::Console(args) => console::console(with_registry(load()?, false).await?, args).await,
        Command::Control { command } => control::control(with_registry(load()?, false).await?, command).await,
        Command::Dlq {
            command: DlqCommand::Replay(a),
        } => {
            let cfg = load()?;
            let from = a.from.clone().unwrap_or_else(|| cfg.topics.dlq.clone());
            let filter = ReplayFilter {
                stage: a.stage,
                kind: a.kind,
                code: a.code,
                topic: a.topic,
            };
            let report = replay(&cfg, &from, &filter, a.dry_run)
                .await
                .with_context(|| format!("replaying {from}"))?;
            if a.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                let verb = if a.dry_run { "would replay" } else { "replayed" };
                println!(
                    "scanned {} records in {from}; {} matched; {verb} {}",
                    report.scanned,
                    report.matched,
                    if a.dry_run { report.matched } else { report.replayed }
                );
                if report.unroutable > 0 {
                    println!(
                        "{} matching records have no origin-topic header and were skipped",
                        report.unroutable
                    );
                }
                if report.by_reference > 0 {
                    println!(
                        "{} dead letters held a reference to an oversized value; their originals were read back from the origin topic",
                        report.by_reference
                    );
                }
                if report.missing_original > 0 {
                    println!(
                        "{} referenced originals are gone from the origin topic (retention) or changed; they stay in the DLQ",
                        report.missing_original
                    );
                }
                for (origin, n) in &report.by_origin {
                    println!("  {n:>8}  {origin}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench { command } => bench::run(load()?, cli.config.as_deref(), command).await,
        Command::Schema {
            command: SchemaCommand::Check { registry },
        } => {
            if registry {
                return schema::registry(load()?).await;
            }
            let report = galley::schema::check_compatibility(galley::schema::Registry::builtin());
            for pair in &report.checked {
                println!("ok  {pair}");
            }
            for p in &report.problems {
                println!("BAD {p}");
            }
            println!(
                "{} schemas, {} version pairs checked, {} problems",
                galley::schema::Registry::builtin().names().len(),
                report.checked.len(),
                report.problems.len()
            );
            Ok(if report.is_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

/// Activates `[schema_registry]`, if configured, for a command that reads or writes Kafka:
/// registers or looks up what Galley writes (with `inputs`, the upstream topics too).
async fn with_registry(cfg: GalleyConfig, inputs: bool) -> anyhow::Result<GalleyConfig> {
    let writes = galley::schema::remote::written(&cfg, inputs);
    galley::schema::remote::activate(&cfg, &writes)
        .await
        .map_err(|e| anyhow::anyhow!("schema registry {}: {e}", cfg.schema_registry.url))?;
    Ok(cfg)
}

async fn run_stage(cfg: GalleyConfig, kind: StageKind) -> anyhow::Result<()> {
    let metrics = Metrics::new();
    galley::schema::remote::observe(&metrics);
    let shutdown_token = CancellationToken::new();
    shutdown::on_signals(shutdown_token.clone());
    match kind {
        StageKind::Passthrough => {
            let stage = Passthrough::new(cfg.stages.passthrough.clone());
            serve(cfg, stage, metrics, shutdown_token, kind).await
        }
        StageKind::Quality => {
            let stage = Quality::new(&cfg, metrics.clone()).context("building the quality stage")?;
            serve(cfg, stage, metrics, shutdown_token, kind).await
        }
        StageKind::Generate => {
            let stage = Generate::new(&cfg, metrics.clone()).context("building the generate stage")?;
            serve(cfg, stage, metrics, shutdown_token, kind).await
        }
        StageKind::Review => {
            let stage = Review::new(&cfg, metrics.clone()).context("building the review stage")?;
            serve(cfg, stage, metrics, shutdown_token, kind).await
        }
        StageKind::Experiment => {
            let stage = Experiment::new(&cfg, metrics.clone());
            serve(cfg, stage, metrics, shutdown_token, kind).await
        }
    }
}

/// Runs `stage` with the admin server beside it until shutdown.
async fn serve<S: galley::runtime::Stage>(
    cfg: GalleyConfig,
    stage: S,
    metrics: Metrics,
    shutdown_token: CancellationToken,
    kind: StageKind,
) -> anyhow::Result<()> {
    let runtime = StageRuntime::new(cfg.clone(), stage, metrics.clone());
    let http_stop = CancellationToken::new();
    let addr = http::spawn(&cfg.http.listen, metrics, vec![runtime.health()], http_stop.clone())
        .await
        .with_context(|| format!("binding the admin server to http.listen {}", cfg.http.listen))?;
    tracing::info!(message = "Admin server listening.", %addr, stage = kind.name());
    let result = runtime.run(shutdown_token).await;
    http_stop.cancel();
    result.with_context(|| format!("stage {}", kind.name()))
}
