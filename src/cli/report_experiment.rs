//! `galley report --experiment`: every declared experiment judged from the summaries topic
//! (each partition's latest totals, written by the experiment stage), the same way the stage's
//! decider judges it.

use std::collections::{BTreeMap, HashMap};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use galley::config::GalleyConfig;
use galley::experiment::{Judgement, act, judge_all, merged};
use galley::runtime::read_to_end;
use galley::schema::{Arms, ExperimentArm, ExperimentSummary, Registry, decode, names};
use rdkafka::Message;

/// Reads the summaries topic to its end and prints each use case's experiment.
pub(crate) async fn report(
    cfg: &GalleyConfig,
    from: Option<String>,
    json: bool,
    timeout: Duration,
) -> anyhow::Result<ExitCode> {
    let topic = from.unwrap_or_else(|| cfg.stages.experiment.summaries.clone());
    galley::runtime::wait_for_brokers(&cfg.kafka, std::slice::from_ref(&topic))
        .await
        .with_context(|| format!("reaching the brokers for {topic}"))?;
    let records = read_to_end(&cfg.kafka, &topic, timeout)
        .await
        .with_context(|| format!("reading {topic}"))?;
    let mut latest: HashMap<Vec<u8>, ExperimentSummary> = HashMap::new();
    let mut unreadable = 0usize;
    for m in &records {
        let key = m.key().unwrap_or_default().to_vec();
        match m
            .payload()
            .map(|v| decode::<ExperimentSummary>(Registry::builtin(), names::EXPERIMENT_SUMMARY, v))
        {
            None => {
                latest.remove(&key);
            }
            Some(Ok(s)) => {
                latest.insert(key, s);
            }
            Some(Err(_)) => unreadable += 1,
        }
    }
    let judged = judgements(cfg, &merged(latest.values()));
    if json {
        println!(
            "{}",
            serde_json::json!({"topic": topic, "summaries": latest.len(), "unreadable": unreadable, "use_cases": judged})
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{} partition summaries on {topic} ({unreadable} unreadable)\n",
        latest.len()
    );
    if judged.is_empty() {
        println!("No experiment declared ([[rollout.<use_case>.experiment]]) and none measured.");
    }
    for j in &judged {
        print_one(j);
    }
    Ok(ExitCode::SUCCESS)
}

/// Every use case with declared targets or measured arms, judged (no targets: no metrics).
fn judgements(cfg: &GalleyConfig, arms: &BTreeMap<String, Arms>) -> Vec<Judgement> {
    let mut use_cases: BTreeMap<&str, &[galley::config::ExperimentTarget]> = BTreeMap::new();
    for (u, r) in &cfg.rollout {
        if !r.experiment.is_empty() {
            use_cases.insert(u, &r.experiment);
        }
    }
    for u in arms.keys() {
        use_cases.entry(u).or_insert(&[]);
    }
    let empty = Arms::default();
    use_cases
        .into_iter()
        .map(|(u, targets)| judge_all(u, targets, arms.get(u).unwrap_or(&empty)))
        .collect()
}

/// One use case's experiment as Markdown tables: the arms, what was left out, each metric.
pub(crate) fn print_one(j: &Judgement) {
    println!("## {}: {}\n", j.use_case, j.decision.as_str());
    println!("| arm | exposed | viewed | views | carts | purchases | revenue (minor units) |");
    println!("|---|---|---|---|---|---|---|");
    for arm in ExperimentArm::ALL {
        let a = j.arms.arm(arm);
        println!(
            "| {} | {} | {} | {} | {} | {} | {} |",
            arm.as_str(),
            a.exposed,
            a.viewed,
            a.views,
            a.carts,
            a.purchases,
            a.revenue_minor
        );
    }
    println!(
        "\nleft out: {} items seen in both arms, {} interactions before exposure, {} purchases without a price; currencies: {}\n",
        j.arms.crossed,
        j.arms.before_exposure,
        j.arms.unpriced,
        if j.arms.currencies.is_empty() {
            "-".to_owned()
        } else {
            j.arms.currencies.join(", ")
        }
    );
    if j.judged.is_empty() {
        println!("No targets declared for {}.\n", j.use_case);
        return;
    }
    println!("| metric | treatment | control | uplift [always-valid interval] | verdict | declared |");
    println!("|---|---|---|---|---|---|");
    for m in &j.judged {
        let (t, c) = m.comparison.map_or(("-".into(), "-".into()), |c| {
            (format!("{:.4}", c.treatment_rate), format!("{:.4}", c.control_rate))
        });
        println!(
            "| {} | {t} | {c} | {} | {} | {} |",
            m.metric,
            act::describe(m).trim_start_matches(m.metric).trim(),
            m.verdict.as_str(),
            m.declared
        );
    }
    println!();
}
