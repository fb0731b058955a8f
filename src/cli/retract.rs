//! `galley control kill --retract`: after the kill switch, the use case's live copy comes off the
//! approved topic ([`galley::lifecycle::retract`]), in passes until one finds nothing left to
//! take down (drafts the review stage approved while it was still applying the switch).

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use galley::config::GalleyConfig;
use galley::lifecycle::retract::{self, Tally};
use galley::runtime::now_ms;
use galley::schema::RolloutControl;
use rdkafka::message::OwnedHeaders;

/// Passes at most; the stages apply a kill switch within a second or two, so a third pass that
/// still finds machine-approved copy means a stage is not reading galley.control.
const PASSES: usize = 3;

/// Retracts the live copy of `use_case` (`None` = every use case) after kill switch `kill`.
pub(crate) async fn retract(
    cfg: &GalleyConfig,
    use_case: Option<&str>,
    kill: &RolloutControl,
    settle: Duration,
    timeout: Duration,
) -> anyhow::Result<Tally> {
    let started = Instant::now();
    let r = &cfg.stages.review;
    let producer = galley::runtime::producer(&cfg.kafka, "cli-retract", Duration::from_secs(30))
        .context("creating the producer")?;
    let mut total = Tally::default();
    let mut left = 0;
    for pass in 1..=PASSES {
        if pass > 1 {
            tokio::time::sleep(settle).await;
        }
        let (inv, read) = super::inventory::read_inventory(cfg, timeout).await?;
        if read.unreadable > 0 {
            bail!(
                "{} records on {} did not decode: their subjects' live copy is unknown, so nothing was \
                 retracted in this pass (the kill switch stays on)",
                read.unreadable,
                r.approved
            );
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
            for out in retract::outputs(step, &r.approved, &r.audit, &cx)? {
                let delivery = producer
                    .send_result(out.record(OwnedHeaders::new()))
                    .map_err(|(e, _)| e)
                    .with_context(|| format!("producing to {}", out.topic))?;
                deliveries.push((out.topic.clone(), delivery));
            }
        }
        for (topic, d) in deliveries {
            match d.await {
                Ok(Ok(_)) => {}
                Ok(Err((e, _))) => bail!("producing to {topic}: {e}"),
                Err(_) => bail!("producing to {topic}: the producer went away"),
            }
        }
        let t = Tally::of(&steps);
        total.add(t);
        left = t.taken_down + t.restored;
        println!(
            "Retraction pass {pass}: {} taken down, {} restored, {} reviewer-approved kept.",
            t.taken_down, t.restored, t.kept
        );
        if left == 0 {
            break;
        }
    }
    println!(
        "Retracted {}: {} copies taken down, {} restored to the last reviewer-approved copy, {} \
         reviewer-approved copies left live; done {:.1} s after the kill switch.",
        use_case.unwrap_or("every use case"),
        total.taken_down,
        total.restored,
        total.kept,
        (now_ms() - kill.time_ms).max(0) as f64 / 1000.0,
    );
    if left > 0 {
        tracing::warn!(
            message = "The last retraction pass still found machine-approved copy: is every review stage reading the control topic?",
            seconds = started.elapsed().as_secs_f64()
        );
    }
    Ok(total)
}
