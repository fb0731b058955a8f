//! The demo's third act: the review stage routes every draft by the checks and the risk policy,
//! a scripted reviewer then decides the queue (confirms audit samples, edits support replies,
//! takes the flagged spans out of product copy or rejects it, in turn), and the success metrics
//! are computed from the audit topic as `galley report` does.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use galley::config::GalleyConfig;
use galley::metrics::Metrics;
use galley::runtime::{StageRuntime, producer, read_to_end};
use galley::schema::{AuditEvent, DecisionAction, Registry, ReviewDecision, ReviewOutcome, encode, names};
use galley::stages::Review;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{DefaultProducerContext, FutureRecord};
use rdkafka::util::Timeout;
use tokio_util::sync::CancellationToken;

use crate::cli::report::{print_table, read_audit};

const LIMIT: Duration = Duration::from_secs(60);

/// Runs the review stage over the drafts, then over the scripted reviewer's decisions; prints
/// what happened and returns whether its books balance.
pub(super) async fn run(
    cfg: &GalleyConfig,
    mock: &MockCluster<'static, DefaultProducerContext>,
    metrics: &Metrics,
) -> anyhow::Result<bool> {
    let r = &cfg.stages.review;
    for topic in [&r.decisions, &r.review, &r.rejected, &r.shadow, &r.audit] {
        mock.create_topic(topic, 4, 1)
            .with_context(|| format!("creating {topic}"))?;
    }
    let drafts = read_to_end(&cfg.kafka, &r.drafts, Duration::from_secs(10)).await?.len();
    println!("\nReview: {drafts} drafts, checked against the validated products and routed by the risk policy.");
    let stage = Review::new(cfg, metrics.clone()).context("building the review stage")?;
    let runtime = StageRuntime::new(cfg.clone(), stage, metrics.clone());
    let stop = CancellationToken::new();
    let task = tokio::spawn(runtime.run(stop.clone()));
    let started = Instant::now();
    super::wait_for(metrics, "review", drafts, LIMIT, &task).await;

    let queue: Vec<ReviewOutcome> = super::read_decoded(cfg, &r.review, names::REVIEW_OUTCOME).await?;
    let decisions: Vec<ReviewDecision> = queue.iter().enumerate().map(|(i, o)| reviewer(i, o)).collect();
    let p = producer(&cfg.kafka, "demo-reviewer", Duration::from_secs(10))?;
    for (o, d) in queue.iter().zip(&decisions) {
        let value = encode(Registry::builtin(), names::REVIEW_DECISION, d)?;
        p.send(
            FutureRecord::to(&r.decisions).key(&o.draft.subject_key).payload(&value),
            Timeout::Never,
        )
        .await
        .map_err(|(e, _)| e)?;
    }
    super::wait_for(metrics, "review", drafts + decisions.len(), LIMIT, &task).await;
    let took = started.elapsed();
    stop.cancel();
    task.await.context("review task")??;
    let example = queue
        .iter()
        .find(|o| !o.audit_sample && o.draft.use_case == "product_description");
    summarise(cfg, metrics, (drafts, decisions.len()), example, took).await
}

/// The scripted reviewer: confirms audit samples, edits support replies, and takes turns
/// between cutting the flagged spans out of product copy (the edit is checked again) and
/// rejecting it.
fn reviewer(i: usize, o: &ReviewOutcome) -> ReviewDecision {
    let d = &o.draft;
    let (action, edited_text, reason) = if o.audit_sample {
        (
            DecisionAction::Approve,
            None,
            Some("audit: fine as published".to_owned()),
        )
    } else if d.use_case == "support_reply" {
        (
            DecisionAction::Edit,
            Some(format!("Hello, and thanks for getting in touch. {}", d.text)),
            None,
        )
    } else if i % 2 == 0 {
        // Padded, so copy flagged as too short passes once the reviewer has cut the flagged spans.
        let mut text = d.text.clone();
        let mut spans: Vec<(usize, usize)> = o
            .checks
            .iter()
            .filter_map(|c| Some((usize::try_from(c.span_start?).ok()?, usize::try_from(c.span_end?).ok()?)))
            .collect();
        spans.sort_unstable();
        for (start, end) in spans.into_iter().rev() {
            if text.is_char_boundary(start) && text.is_char_boundary(end) && end <= text.len() {
                text.replace_range(start..end, "");
            }
        }
        text.push_str(" Every detail is listed in the specifications below.");
        (DecisionAction::Edit, Some(text), None)
    } else {
        let why = o.checks.first().map_or("off-brand", |c| c.check.as_str());
        (DecisionAction::Reject, None, Some(format!("rejected in review: {why}")))
    };
    ReviewDecision {
        draft_id: d.draft_id.clone(),
        reviewer: "demo".into(),
        action,
        edited_text,
        reason,
        decided_ms: galley::runtime::now_ms(),
    }
}

async fn summarise(
    cfg: &GalleyConfig,
    metrics: &Metrics,
    (drafts, decisions): (usize, usize),
    example: Option<&ReviewOutcome>,
    took: Duration,
) -> anyhow::Result<bool> {
    let r = &cfg.stages.review;
    let outcomes = metrics.outcomes("review");
    println!("Stage review finished in {took:.1?}:");
    for (outcome, n) in &outcomes {
        println!("  {outcome:<17} {n:>5}");
    }
    if let Some(o) = example {
        println!("  e.g. {} went to a human: {}", o.draft.subject_key, o.reason);
    }
    let events: Vec<AuditEvent> = super::read_decoded(cfg, &r.audit, names::AUDIT_EVENT).await?;
    let mut by: BTreeMap<(&str, &str, String), usize> = BTreeMap::new();
    for e in &events {
        let who = if e.actor == "policy" { "policy" } else { "reviewer" };
        let mut what = match (&e.action, e.audit_sample) {
            (Some(a), true) => format!("{a} (audit) -> {}", e.outcome.as_str()),
            (Some(a), false) => format!("{a} -> {}", e.outcome.as_str()),
            (None, true) => format!("{} + audit sample", e.outcome.as_str()),
            (None, false) => e.outcome.as_str().to_owned(),
        };
        if e.shadow {
            what = format!("{what} (shadow, unpublished)");
        }
        *by.entry((e.use_case.as_str(), who, what)).or_default() += 1;
    }
    println!("Audit events on {}: {}", r.audit, events.len());
    for ((use_case, who, what), n) in &by {
        println!("  {use_case:<20} {who:<9} {what:<34} {n:>4}");
    }
    println!("Success metrics (galley report):");
    print_table(&read_audit(cfg, &r.audit, Duration::from_secs(10)).await?.book);
    let count = |label: &str| super::count_of(&outcomes, label);
    let counted = super::total(&outcomes);
    let inputs = drafts + decisions;
    let balanced = counted == inputs && events.len() + count("dlq") == counted;
    println!(
        "Books: {drafts} drafts + {decisions} decisions in = {counted} terminal outcomes = {} audit events + {} dlq: {}",
        events.len(),
        count("dlq"),
        if balanced { "balanced" } else { "NOT balanced" }
    );
    Ok(balanced)
}
