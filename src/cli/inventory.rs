//! `galley inventory`: what is live on the approved topic, per use case, with where it came
//! from (prompt, model, generator, policy version, who approved it) and how old it is; and the
//! reading of the approved and audit topics that `galley refresh` and `galley control kill
//! --retract` share.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use galley::config::GalleyConfig;
use galley::lifecycle::Inventory;
use galley::lifecycle::read::{self, Read};
use galley::lifecycle::refresh::{Current, Reason, reasons};
use galley::runtime::now_ms;

/// Options of `galley inventory`.
#[derive(Debug, clap::Args)]
pub(crate) struct InventoryArgs {
    /// Only this use case.
    #[arg(long)]
    use_case: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Give up reading a topic after this many seconds.
    #[arg(long, default_value_t = 60)]
    timeout_s: u64,
}

/// Reads the approved topic (`stages.review.approved`) and then the audit topic whole.
pub(crate) async fn read_inventory(cfg: &GalleyConfig, timeout: Duration) -> anyhow::Result<(Inventory, Read)> {
    let r = &cfg.stages.review;
    read::read_inventory(&cfg.kafka, &r.approved, &r.audit, timeout)
        .await
        .map_err(|e| match e {
            read::ReadError::Timeout { .. } => anyhow::anyhow!("{e} (raise --timeout-s)"),
            e => e.into(),
        })
}

/// The versions the running configuration writes and approves with.
pub(crate) fn current(cfg: &GalleyConfig) -> anyhow::Result<Current> {
    let policy_file = cfg
        .stages
        .review
        .policy_file
        .as_deref()
        .filter(|p| !p.as_os_str().is_empty());
    let policy = super::check::policy(policy_file)?;
    let uc = &cfg.stages.generate.use_cases;
    Ok(Current {
        prompts: uc.iter().map(|(n, u)| (n.clone(), u.prompt.clone())).collect(),
        model: cfg.model.model.clone(),
        policy: policy.version().to_owned(),
        max_age_days: uc.iter().map(|(n, u)| (n.clone(), u.max_age_days)).collect(),
        now_ms: now_ms(),
    })
}

/// One use case's live copy, summarised.
#[derive(Debug, Default, serde::Serialize)]
struct Summary {
    live: u64,
    by_prompt: BTreeMap<String, u64>,
    by_model: BTreeMap<String, u64>,
    by_generator: BTreeMap<String, u64>,
    by_policy: BTreeMap<String, u64>,
    approved_by_reviewer: u64,
    approved_by_policy: u64,
    /// Live copies whose approval the audit topic does not name.
    without_provenance: u64,
    /// Live copies due for a refresh, by reason (prompt, model, policy, age, fallback).
    stale: BTreeMap<&'static str, u64>,
    age_days_p50: Option<f64>,
    age_days_max: Option<f64>,
}

/// Prints the inventory.
pub(crate) async fn inventory(cfg: GalleyConfig, args: InventoryArgs) -> anyhow::Result<ExitCode> {
    let topics = [cfg.stages.review.approved.clone(), cfg.stages.review.audit.clone()];
    galley::runtime::wait_for_brokers(&cfg.kafka, &[])
        .await
        .context("reaching the brokers")?;
    let current = current(&cfg)?;
    let (inv, read) = read_inventory(&cfg, Duration::from_secs(args.timeout_s)).await?;
    let due = [
        Reason::Prompt,
        Reason::Model,
        Reason::Policy,
        Reason::Age,
        Reason::Fallback,
    ];
    let mut by: BTreeMap<String, (Summary, Vec<f64>)> = BTreeMap::new();
    for copy in inv.live() {
        let d = &copy.draft;
        if args.use_case.as_ref().is_some_and(|u| *u != d.use_case) {
            continue;
        }
        let (s, ages) = by.entry(d.use_case.clone()).or_default();
        s.live += 1;
        *s.by_prompt.entry(d.prompt.clone()).or_default() += 1;
        *s.by_model
            .entry(d.model.clone().unwrap_or_else(|| "-".into()))
            .or_default() += 1;
        *s.by_generator.entry(d.generator.as_str().to_owned()).or_default() += 1;
        let policy = copy.provenance.as_ref().and_then(|p| p.policy.clone());
        *s.by_policy
            .entry(policy.unwrap_or_else(|| "unrecorded".into()))
            .or_default() += 1;
        match &copy.provenance {
            None => s.without_provenance += 1,
            Some(p) if p.is_human() => s.approved_by_reviewer += 1,
            Some(_) => s.approved_by_policy += 1,
        }
        for r in reasons(d, copy.provenance.as_ref(), &current, &due, None) {
            *s.stale.entry(r.as_str()).or_default() += 1;
        }
        let approved = copy.provenance.as_ref().map_or(d.created_ms, |p| p.approved_ms);
        ages.push((current.now_ms - approved).max(0) as f64 / 86_400_000.0);
    }
    let summaries: BTreeMap<String, Summary> = by
        .into_iter()
        .map(|(u, (mut s, mut ages))| {
            ages.sort_by(f64::total_cmp);
            s.age_days_p50 = ages.get(ages.len() / 2).copied();
            s.age_days_max = ages.last().copied();
            (u, s)
        })
        .collect();
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "approved_topic": topics[0], "audit_topic": topics[1], "read": read,
                "current": {"prompts": current.prompts, "model": current.model, "policy": current.policy},
                "use_cases": summaries,
            })
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{} records on {} and {} audit events on {} ({} unreadable); policy now {}, model {}\n",
        read.approved_records, topics[0], read.audit_events, topics[1], read.unreadable, current.policy, current.model
    );
    if summaries.is_empty() {
        println!("Nothing is live.");
    }
    for (u, s) in &summaries {
        let list = |m: &BTreeMap<String, u64>| m.iter().map(|(k, n)| format!("{k} {n}")).collect::<Vec<_>>().join(", ");
        let days = |d: Option<f64>| d.map_or("-".to_owned(), |d| format!("{d:.1}"));
        println!("{u}: {} live", s.live);
        println!("  prompts     {}", list(&s.by_prompt));
        println!("  models      {}", list(&s.by_model));
        println!("  generators  {}", list(&s.by_generator));
        println!("  policies    {}", list(&s.by_policy));
        println!(
            "  approved by reviewer {}, by policy {}, unrecorded {}",
            s.approved_by_reviewer, s.approved_by_policy, s.without_provenance
        );
        println!(
            "  age (days)  median {}, max {}",
            days(s.age_days_p50),
            days(s.age_days_max)
        );
        let stale: Vec<String> = s.stale.iter().map(|(k, n)| format!("{k} {n}")).collect();
        println!(
            "  due for a refresh: {}",
            if stale.is_empty() {
                "none".to_owned()
            } else {
                stale.join(", ")
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}
