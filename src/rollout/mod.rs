//! Progressive rollout (ARCHITECTURE §4 "rollout"): each use case runs `off`, in `shadow`
//! (generated and reviewed, written to content.shadow only), as a `canary` (live for a
//! stable-hash share of keys) or `on`. The configured mode can be overridden at runtime on
//! galley.control — by an admin, by `galley control`, or by auto-halt when a declared success
//! metric breaches its threshold ([`halt`]) — and a kill switch there stops a use case (or all).
//!
//! This module is the pure core: from the configured rollout and the overrides read so far to
//! what becomes of one key. [`control`] is its Kafka shell, shared by every stage and the console.

pub mod control;
pub mod halt;

use std::collections::HashMap;

use crate::config::{UseCaseRollout, go_live_problem};
use crate::review::stable_fraction;
use crate::schema::{RolloutControl, RolloutMode};

pub use control::{Control, proposal_key};

/// The key of the override that applies to every use case (only its kill switch counts).
pub const ALL: &str = "*";

/// What becomes of a use case's content for one key, now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Generate, review and publish as the policy routes it.
    Live,
    /// Generate and review, but write the outcome to content.shadow only.
    Shadow,
    /// Do not generate; a draft already written goes to content.shadow. The reason is a metric
    /// label: `rollout_off`, `not_in_canary` or `killed`.
    Off(&'static str),
}

/// A change an admin or SRE asks for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Change {
    /// Turn the kill switch on.
    Kill,
    /// Turn the kill switch off.
    Resume,
    /// Override the mode (with the canary share for `canary`).
    Mode(RolloutMode, Option<f64>),
}

/// A use case's rollout after the overrides.
#[derive(Debug, Clone, PartialEq)]
pub struct Effective {
    /// The mode in force.
    pub mode: RolloutMode,
    /// Share of keys live in canary mode, 0-100.
    pub canary_percent: f64,
    /// A kill switch (the use case's own or [`ALL`]) is on.
    pub killed: bool,
    /// The override in force, if any (who, why, when).
    pub overridden_by: Option<RolloutControl>,
}

impl Effective {
    /// The `galley_rollout_mode` value: 0 off, 1 shadow, 2 canary, 3 on.
    pub fn gauge(&self) -> i64 {
        self.mode as i64
    }

    /// What becomes of `key`.
    pub fn disposition(&self, key: &str) -> Disposition {
        if self.killed {
            return Disposition::Off("killed");
        }
        match self.mode {
            RolloutMode::Off => Disposition::Off("rollout_off"),
            RolloutMode::Shadow => Disposition::Shadow,
            RolloutMode::Canary if !canary_member(key, self.canary_percent) => Disposition::Off("not_in_canary"),
            RolloutMode::Canary | RolloutMode::On => Disposition::Live,
        }
    }
}

/// `canary 10%`, or the mode's name: how the console and `galley control` show a mode.
pub fn mode_label(mode: RolloutMode, canary_percent: f64) -> String {
    match mode {
        RolloutMode::Canary => format!("canary {canary_percent}%"),
        m => m.as_str().to_owned(),
    }
}

/// `admin:ana (admin): bad batch`: who overrode a rollout, from where, and why.
pub fn override_label(o: &RolloutControl) -> String {
    format!("{} ({}): {}", o.actor, o.source, o.reason)
}

/// True when `key` is in a canary of `percent` %: a stable hash of the key, so a key stays in or
/// out across restarts and processes, and raising the share only adds keys.
pub fn canary_member(key: &str, percent: f64) -> bool {
    stable_fraction(key) * 100.0 < percent
}

/// The rollout of `use_case` given its configuration (`None`: not configured, so off) and the
/// overrides read from galley.control. An override that would take the use case past shadow
/// without declared success metrics is not honoured (the use case stays in shadow).
pub fn effective(
    use_case: &str,
    configured: Option<&UseCaseRollout>,
    overrides: &HashMap<String, RolloutControl>,
) -> Effective {
    let own = overrides.get(use_case);
    let all = overrides.get(ALL);
    let (mut mode, mut canary_percent) = configured.map_or((RolloutMode::Off, 0.0), |c| (c.mode, c.canary_percent));
    if let Some(o) = own {
        mode = o.mode.unwrap_or(mode);
        canary_percent = o.canary_percent.unwrap_or(canary_percent);
    }
    let declared = configured.map(|c| c.success.as_slice()).unwrap_or_default();
    if go_live_problem(use_case, mode, declared).is_some() {
        mode = RolloutMode::Shadow;
    }
    let killed = own.is_some_and(|o| o.killed) || all.is_some_and(|o| o.killed);
    // The override shown is the one that matters most: a global kill, else the use case's own.
    let overridden_by = all.filter(|o| o.killed).or(own).cloned();
    Effective {
        mode,
        canary_percent,
        killed,
        overridden_by,
    }
}

#[cfg(test)]
mod tests;
