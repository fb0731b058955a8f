//! `galley control`: the rollout from a terminal (what the console's admin page does, for SREs
//! and runbooks): show each use case's rollout, flip a kill switch, override a mode. Every change
//! is a record on galley.control that every stage honours within seconds.

use galley::printable::printable;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use galley::config::{GalleyConfig, UseCaseRollout};
use galley::console::store::{DecisionSink, KafkaSink};
use galley::metrics::Metrics;
use galley::rollout::{ALL, Change, Control, Effective, mode_label, override_label};
use galley::schema::RolloutMode;

/// Subcommands of `galley control`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum ControlCommand {
    /// Each use case's rollout: configured, in force, who overrode it and why, declared metrics.
    Status {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Stop generation and publication of a use case (or every use case) within seconds; with
    /// --retract, also take its live copy off the approved topic.
    Kill(KillArgs),
    /// Turn a kill switch off again.
    Resume(Target),
    /// Override a use case's mode: off, shadow, canary (with --canary-percent) or on. Going past
    /// shadow needs declared success metrics in the config.
    Mode {
        /// The use case.
        #[arg(long)]
        use_case: String,
        /// off, shadow, canary or on.
        mode: String,
        /// Share of keys live in canary mode, (0, 100].
        #[arg(long)]
        canary_percent: Option<f64>,
        /// Why (recorded on galley.control).
        #[arg(long)]
        reason: String,
    },
}

/// A kill switch, and whether to retract what the use case already published.
#[derive(Debug, clap::Args)]
pub(crate) struct KillArgs {
    #[command(flatten)]
    target: Target,
    /// Also take the use case's live copy down: machine-approved copy is replaced by the last
    /// copy of its subject a reviewer approved, or removed (a tombstone on the approved topic);
    /// reviewer-approved copy stays. Each item gets an audit event.
    #[arg(long)]
    retract: bool,
    /// Seconds between retraction passes: a later pass takes down what was approved while the
    /// stages were still applying the kill switch.
    #[arg(long, default_value_t = 5, requires = "retract")]
    settle_s: u64,
    /// Give up reading a topic after this many seconds.
    #[arg(long, default_value_t = 60, requires = "retract")]
    timeout_s: u64,
}

/// Which use case a kill switch is for.
#[derive(Debug, clap::Args)]
pub(crate) struct Target {
    /// The use case.
    #[arg(long, required_unless_present = "all", conflicts_with = "all")]
    use_case: Option<String>,
    /// Every use case.
    #[arg(long)]
    all: bool,
    /// Why (recorded on galley.control).
    #[arg(long)]
    reason: String,
}

/// Runs a `galley control` subcommand.
pub(crate) async fn control(cfg: GalleyConfig, command: ControlCommand) -> anyhow::Result<ExitCode> {
    galley::runtime::wait_for_brokers(&cfg.kafka, &[])
        .await
        .context("reaching the brokers")?;
    let control = Control::new(&cfg, Metrics::new());
    control
        .start("cli-control", Duration::from_secs(15))
        .await
        .map_err(anyhow::Error::msg)
        .context("reading the rollout control topic")?;
    let target = |t: &Target| t.use_case.clone().unwrap_or_else(|| ALL.to_owned());
    let (use_case, change, reason) = match &command {
        ControlCommand::Status { json } => return status(&control, *json),
        ControlCommand::Kill(k) => (target(&k.target), Change::Kill, &k.target.reason),
        ControlCommand::Resume(t) => (target(t), Change::Resume, &t.reason),
        ControlCommand::Mode {
            use_case,
            mode,
            canary_percent,
            reason,
        } => {
            let Some(mode) = RolloutMode::parse(mode) else {
                bail!("unknown mode {mode:?}: off, shadow, canary or on");
            };
            (use_case.clone(), Change::Mode(mode, *canary_percent), reason)
        }
    };
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    let rec = control
        .change(&use_case, change, ("cli", &format!("cli:{user}")), reason)
        .map_err(anyhow::Error::msg)?;
    // The console's producer: the same record, key and topic as an admin's change there.
    KafkaSink::new(&cfg)
        .context("creating the producer")?
        .send_control(rec.clone())
        .await
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("producing to {}", cfg.topics.control))?;
    control.wrote(rec.clone());
    println!(
        "Written to {}; every stage applies it within seconds.",
        cfg.topics.control
    );
    if let ControlCommand::Kill(k) = &command
        && k.retract
    {
        let scope = k.target.use_case.as_deref();
        super::retract::retract(
            &cfg,
            scope,
            &rec,
            Duration::from_secs(k.settle_s),
            Duration::from_secs(k.timeout_s),
        )
        .await?;
    }
    status(&control, false)
}

fn status(control: &Control, json: bool) -> anyhow::Result<ExitCode> {
    let all = control.effective(ALL);
    let rows: Vec<(&String, &UseCaseRollout, Effective)> = control
        .configured()
        .iter()
        .map(|(name, r)| (name, r, control.effective(name)))
        .collect();
    if json {
        let rows: Vec<serde_json::Value> = rows
            .iter()
            .map(|(name, r, e)| {
                serde_json::json!({
                    "use_case": name,
                    "configured": r.mode.as_str(),
                    "mode": e.mode.as_str(),
                    "canary_percent": e.canary_percent,
                    "killed": e.killed,
                    "override": e.overridden_by.as_ref().map(|o| serde_json::json!({
                        "key": o.use_case, "source": o.source, "actor": o.actor, "reason": o.reason, "time_ms": o.time_ms,
                    })),
                    "declared": r.success.iter().map(|t| t.describe()).collect::<Vec<_>>(),
                })
            })
            .collect();
        println!("{}", serde_json::json!({ "killed_all": all.killed, "use_cases": rows }));
        return Ok(ExitCode::SUCCESS);
    }
    if all.killed {
        println!(
            "EVERY USE CASE IS KILLED ({})",
            printable(&all.overridden_by.map(|o| o.reason).unwrap_or_default(), 200)
        );
    }
    println!(
        "{:<20} {:<10} {:<14} {:<7} override",
        "use case", "configured", "in force", "killed"
    );
    for (name, r, e) in &rows {
        println!(
            "{name:<20} {:<10} {:<14} {:<7} {}",
            r.mode.as_str(),
            mode_label(e.mode, e.canary_percent),
            if e.killed { "yes" } else { "no" },
            // Written by whoever can produce to galley.control: no terminal escapes.
            printable(&e.overridden_by.as_ref().map(override_label).unwrap_or_default(), 300),
        );
    }
    Ok(ExitCode::SUCCESS)
}
