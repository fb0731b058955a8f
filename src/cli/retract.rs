//! `galley control kill --retract`: after the kill switch, the use case's live copy comes off the
//! approved topic ([`galley::lifecycle::retraction`]), and what each pass did is printed.

use std::time::Duration;

use galley::config::GalleyConfig;
use galley::lifecycle::retraction::{self, Report};
use galley::schema::RolloutControl;

/// Retracts the live copy of `use_case` (`None` = every use case) after kill switch `kill`.
pub(crate) async fn retract(
    cfg: &GalleyConfig,
    use_case: Option<&str>,
    kill: &RolloutControl,
    settle: Duration,
    timeout: Duration,
) -> anyhow::Result<Report> {
    let report = retraction::run(cfg, use_case, kill, settle, timeout)
        .await
        .map_err(anyhow::Error::msg)?;
    for (i, t) in report.passes.iter().enumerate() {
        println!(
            "Retraction pass {}: {} taken down, {} restored, {} reviewer-approved kept.",
            i + 1,
            t.taken_down,
            t.restored,
            t.kept
        );
    }
    let t = report.total;
    println!(
        "Retracted {}: {} copies taken down, {} restored to the last reviewer-approved copy, {} \
         reviewer-approved copies left live; done {:.1} s after the kill switch.",
        use_case.unwrap_or("every use case"),
        t.taken_down,
        t.restored,
        t.kept,
        report.seconds_after_kill,
    );
    Ok(report)
}
