//! What the experiment writes to galley.control: a halt (the use case drops to shadow) when a
//! metric is harmed, or a proposal to promote it from canary to on when one gained and none is
//! harmed. Only while the use case runs in canary, not killed; a proposal once per canary.

use super::{Decision, Judged, Verdict};
use crate::rollout::Effective;
use crate::schema::{RolloutControl, RolloutMode};

/// Who writes the experiment's records.
pub const ACTOR: &str = "stage:experiment";

/// One line on a metric's result, e.g. `view_to_cart +12.0% [+3.1%, +21.0%]`.
pub fn describe(j: &Judged) -> String {
    match j.comparison {
        Some(c) => format!(
            "{} {:+.1}% [{:+.1}%, {:+.1}%]",
            j.metric,
            c.uplift * 100.0,
            c.low * 100.0,
            c.high * 100.0
        ),
        None => format!("{} (no comparison yet)", j.metric),
    }
}

/// The record to write for `decision` on `use_case` now, if any. `proposal`: the proposal that
/// stands for it (a new one is written only if none was made since the mode last changed).
pub fn action(
    use_case: &str,
    decision: Decision,
    judged: &[Judged],
    effective: &Effective,
    proposal: Option<&RolloutControl>,
    now_ms: i64,
) -> Option<RolloutControl> {
    if effective.killed || effective.mode != RolloutMode::Canary {
        return None;
    }
    let decisive = |v: Verdict| {
        judged
            .iter()
            .filter(|j| j.verdict == v)
            .map(|j| format!("{} (declared {})", describe(j), j.declared))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let own = effective.overridden_by.as_ref().filter(|o| o.use_case == use_case);
    match decision {
        Decision::Continue => None,
        Decision::Halt => Some(RolloutControl {
            use_case: use_case.to_owned(),
            mode: Some(RolloutMode::Shadow),
            canary_percent: own.and_then(|o| o.canary_percent),
            killed: false,
            source: "auto_halt".into(),
            actor: ACTOR.into(),
            reason: format!("experiment: harm: {}", decisive(Verdict::Harm)),
            time_ms: now_ms,
        }),
        Decision::ProposePromotion => {
            let since = own.map_or(0, |o| o.time_ms);
            if proposal.is_some_and(|p| p.time_ms >= since) {
                return None;
            }
            Some(RolloutControl {
                use_case: use_case.to_owned(),
                mode: Some(RolloutMode::On),
                canary_percent: None,
                killed: false,
                source: "experiment".into(),
                actor: ACTOR.into(),
                reason: format!("experiment: promote canary to on: {}", decisive(Verdict::Uplift)),
                time_ms: now_ms,
            })
        }
    }
}
