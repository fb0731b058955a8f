//! Running a retraction against Kafka ([`super::retract`] is the pure part): read the approved
//! and audit topics, write the steps, and again after `settle` until a pass finds nothing left
//! to take down (drafts the review stage approved while it was still applying the kill switch),
//! at most [`PASSES`] passes. Shared by `galley control kill --retract` and the console.

use std::time::Duration;

use rdkafka::message::OwnedHeaders;

use super::read::read_inventory;
use super::retract::{self, Tally};
use crate::config::GalleyConfig;
use crate::runtime::{now_ms, producer};
use crate::schema::RolloutControl;

/// Passes at most; the stages apply a kill switch within a second or two, so a third pass that
/// still finds machine-approved copy means a stage is not reading galley.control.
pub const PASSES: usize = 3;

/// What a retraction did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Report {
    /// Each pass's counts.
    pub passes: Vec<Tally>,
    /// All passes together (kept copies: the last pass's).
    pub total: Tally,
    /// From the kill switch's time to the end of the last pass.
    pub seconds_after_kill: f64,
    /// The last pass still took copies down (a stage may not be reading the control topic).
    pub still_finding: bool,
}

/// Retracts the live copy of `use_case` (`None` = every use case) after kill switch `kill`,
/// pausing `settle` between passes; `timeout` bounds each read of a topic.
pub async fn run(
    cfg: &GalleyConfig,
    use_case: Option<&str>,
    kill: &RolloutControl,
    settle: Duration,
    timeout: Duration,
) -> Result<Report, String> {
    let r = &cfg.stages.review;
    let producer =
        producer(&cfg.kafka, "retract", Duration::from_secs(30)).map_err(|e| format!("creating the producer: {e}"))?;
    let mut report = Report::default();
    for pass in 1..=PASSES {
        if pass > 1 {
            tokio::time::sleep(settle).await;
        }
        let (inv, read) = read_inventory(&cfg.kafka, &r.approved, &r.audit, timeout)
            .await
            .map_err(|e| e.to_string())?;
        if read.unreadable > 0 {
            return Err(format!(
                "{} records on {} did not decode: their subjects' live copy is unknown, so nothing was retracted \
                 in pass {pass} (the kill switch stays on)",
                read.unreadable, r.approved
            ));
        }
        let steps = retract::plan(&inv, use_case);
        let cx = retract::Context {
            actor: &kill.actor,
            reason: &kill.reason,
            killed_ms: kill.time_ms,
            now_ms: now_ms(),
        };
        let mut deliveries = Vec::new();
        for step in &steps {
            for out in retract::outputs(step, &r.approved, &r.audit, &cx).map_err(|e| e.to_string())? {
                let delivery = producer
                    .send_result(out.record(OwnedHeaders::new()))
                    .map_err(|(e, _)| format!("producing to {}: {e}", out.topic))?;
                deliveries.push((out.topic.clone(), delivery));
            }
        }
        for (topic, d) in deliveries {
            match d.await {
                Ok(Ok(_)) => {}
                Ok(Err((e, _))) => return Err(format!("producing to {topic}: {e}")),
                Err(_) => return Err(format!("producing to {topic}: the producer went away")),
            }
        }
        let t = Tally::of(&steps);
        report.total.add(t);
        report.passes.push(t);
        report.still_finding = t.taken_down + t.restored > 0;
        if !report.still_finding {
            break;
        }
    }
    report.seconds_after_kill = (now_ms() - kill.time_ms).max(0) as f64 / 1000.0;
    if report.still_finding {
        tracing::warn!(
            message = "The last retraction pass still found machine-approved copy: is every review stage reading the control topic?",
            passes = PASSES
        );
    }
    Ok(report)
}
