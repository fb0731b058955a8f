//! `galley report`: the success metrics of every use case, computed from the whole audit topic
//! (every terminal outcome of every draft, whichever review instance decided it).

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use std::collections::BTreeMap;

use galley::config::GalleyConfig;
use galley::lifecycle::retract::Lifecycle;
use galley::review::SuccessBook;
use galley::runtime::read_to_end;
use galley::schema::{AuditEvent, Registry, check_decodes, decode, names};
use rdkafka::Message;

/// Options of `galley report`.
#[derive(Debug, clap::Args)]
pub(crate) struct ReportArgs {
    /// Audit topic to read (default: stages.review.audit).
    #[arg(long)]
    from: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Report the experiments (stages.experiment.summaries; --from names another topic)
    /// instead of the success metrics.
    #[arg(long)]
    experiment: bool,
    /// Give up reading after this many seconds.
    #[arg(long, default_value_t = 60)]
    timeout_s: u64,
}

/// Reads the audit topic and prints the metrics.
pub(crate) async fn report(cfg: GalleyConfig, args: ReportArgs) -> anyhow::Result<ExitCode> {
    if args.experiment {
        let timeout = Duration::from_secs(args.timeout_s);
        return super::report_experiment::report(&cfg, args.from, args.json, timeout).await;
    }
    let topic = args.from.unwrap_or_else(|| cfg.stages.review.audit.clone());
    galley::runtime::wait_for_brokers(&cfg.kafka, std::slice::from_ref(&topic))
        .await
        .with_context(|| format!("reaching the brokers for {topic}"))?;
    let audit = read_audit(&cfg, &topic, Duration::from_secs(args.timeout_s)).await?;
    if args.json {
        let out: serde_json::Map<String, serde_json::Value> = audit
            .book
            .by_use_case
            .iter()
            .map(|(u, s)| {
                let mut v = serde_json::to_value(s).unwrap_or_default();
                v["metrics"] = serde_json::to_value(s.metrics()).unwrap_or_default();
                (u.clone(), v)
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({"topic": topic, "events": audit.events, "console_actions": audit.console_actions, "unreadable": audit.unreadable, "use_cases": out, "lifecycle": audit.lifecycle})
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{} audit events on {topic} ({} unreadable), {} console actions\n",
        audit.events, audit.unreadable, audit.console_actions
    );
    print_table(&audit.book);
    if !audit.lifecycle.is_empty() {
        println!(
            "\n| use case | retracted: taken down | restored | longest after the kill switch (s) | re-checked: passed | queued | taken down |"
        );
        println!("|---|---|---|---|---|---|---|");
        for (u, r) in &audit.lifecycle {
            println!(
                "| {u} | {} | {} | {:.1} | {} | {} | {} |",
                r.taken_down,
                r.restored,
                r.max_seconds_after_kill,
                r.recheck_passed,
                r.recheck_queued,
                r.recheck_taken_down
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The success metrics folded from a whole audit topic.
pub(crate) struct Audit {
    /// Per use case.
    pub(crate) book: SuccessBook,
    /// Retractions (kill switch with --retract) and re-checks per use case.
    pub(crate) lifecycle: BTreeMap<String, Lifecycle>,
    /// Events read.
    pub(crate) events: usize,
    /// Console actions (logins, decisions, rollout changes) beside the events.
    pub(crate) console_actions: usize,
    /// Events that did not decode (counted, not fatal: the topic may hold a newer schema).
    pub(crate) unreadable: usize,
}

/// Reads `topic` to its end.
pub(crate) async fn read_audit(cfg: &GalleyConfig, topic: &str, timeout: Duration) -> anyhow::Result<Audit> {
    let records = read_to_end(&cfg.kafka, topic, timeout)
        .await
        .with_context(|| format!("reading {topic}"))?;
    let mut book = SuccessBook::default();
    let mut lifecycle: BTreeMap<String, Lifecycle> = BTreeMap::new();
    let (mut unreadable, mut console_actions) = (0, 0);
    for m in &records {
        let payload = m.payload().unwrap_or_default();
        // An event written under another registry id (an older Galley's schema) is fetched
        // first; a registry that cannot answer fails the report rather than miscounting it.
        match galley::schema::remote::fetch_writer(Some(payload)).await {
            Err(e) if e.is_outage() => anyhow::bail!("reading {topic}: {e}"),
            _ => {}
        }
        match decode::<AuditEvent>(Registry::builtin(), names::AUDIT_EVENT, payload) {
            Ok(e) if e.is_lifecycle() => lifecycle.entry(e.use_case.clone()).or_default().record(&e),
            Ok(e) => {
                book.record(&e);
            }
            Err(_) if check_decodes(Registry::builtin(), names::CONSOLE_ACTION, payload).is_ok() => {
                console_actions += 1
            }
            Err(_) => unreadable += 1,
        }
    }
    Ok(Audit {
        book,
        lifecycle,
        events: records.len() - console_actions,
        console_actions,
        unreadable,
    })
}

/// The metrics as a Markdown table, one row per use case.
pub(crate) fn print_table(book: &SuccessBook) {
    println!(
        "| use case | approved | rejected | to review | human decisions | edits | audits (overturned) | approval rate | \
         rejection rate | edit distance | review latency (s) | time to publish (s) | cost per approved |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (use_case, s) in &book.by_use_case {
        let m = s.metrics();
        let f = |k: &str, digits: usize| m.get(k).map_or("-".to_owned(), |v| format!("{v:.digits$}"));
        println!(
            "| {use_case} | {} | {} | {} | {} | {} | {} ({}) | {} | {} | {} | {} | {} | {} |",
            s.approved,
            s.rejected,
            s.sent_to_review,
            s.human_decisions,
            s.edits,
            s.audits,
            s.audits_overturned,
            f("approval_rate", 3),
            f("rejection_rate", 3),
            f("human_edit_distance", 3),
            f("review_latency_seconds", 1),
            f("time_to_publish_seconds", 1),
            f("cost_per_approved", 6),
        );
    }
}
