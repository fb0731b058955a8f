//! Settings of the progressive rollout (`[rollout.<use_case>]`): each use case's mode, canary
//! share and the success metrics declared before it may go live.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::generate::UseCase;
use crate::review::success::METRICS;
use crate::schema::RolloutMode;

/// One use case's rollout.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // documented in config/default.toml
pub struct UseCaseRollout {
    pub mode: RolloutMode,
    #[serde(default)]
    pub canary_percent: f64,
    #[serde(default)]
    pub success: Vec<SuccessTarget>,
}

/// A success metric declared for go-live, watched for auto-halt.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuccessTarget {
    /// One of [`METRICS`] (`galley_success_metric{metric}`).
    pub metric: String,
    /// Breached when the metric is above this (rates that should stay low).
    #[serde(default)]
    pub max: Option<f64>,
    /// Breached when the metric is below this (rates that should stay high).
    #[serde(default)]
    pub min: Option<f64>,
    /// The metric is computed over the outcomes decided in the last `window_s` seconds.
    pub window_s: u64,
    /// No verdict on fewer samples than this in the window.
    pub min_sample: u64,
}

impl SuccessTarget {
    /// True when `value` is on the wrong side of the threshold.
    pub fn breached_by(&self, value: f64) -> bool {
        self.max.is_some_and(|m| value > m) || self.min.is_some_and(|m| value < m)
    }

    /// `rejection_rate > 0.2` style, for messages and the console.
    pub fn describe(&self) -> String {
        match (self.max, self.min) {
            (Some(m), _) => format!("{} <= {m}", self.metric),
            (_, Some(m)) => format!("{} >= {m}", self.metric),
            _ => self.metric.clone(),
        }
    }
}

/// Problems with `[rollout]`, checked against the generate stage's use cases and inputs.
pub(crate) fn problems(rollout: &BTreeMap<String, UseCaseRollout>, generate: &super::GenerateConfig) -> Vec<String> {
    let use_cases = &generate.use_cases;
    let mut bad = Vec::new();
    for name in use_cases.keys().filter(|n| !rollout.contains_key(*n)) {
        bad.push(format!(
            "stages.generate.use_cases.{name} has no [rollout.{name}]: declare its mode (off, shadow, canary or on)"
        ));
    }
    for (name, r) in rollout {
        let key = format!("rollout.{name}");
        let Ok(uc) = name.parse::<UseCase>() else {
            bad.push(format!("{key}: unknown use case {name:?}"));
            continue;
        };
        if !use_cases.contains_key(name) {
            bad.push(format!("{key}: no stages.generate.use_cases.{name} to roll out"));
        }
        let from_profiles = matches!(uc, UseCase::HomepageBlurb | UseCase::EmailCampaign);
        if r.mode != RolloutMode::Off
            && from_profiles
            && (generate.profiles.is_empty() || generate.interactions_input.is_empty())
        {
            bad.push(format!(
                "{key}.mode: {name} is written from interest profiles; set stages.generate.interactions_input and stages.generate.profiles, or mode = \"off\""
            ));
        }
        if r.mode == RolloutMode::Canary && !(r.canary_percent > 0.0 && r.canary_percent <= 100.0) {
            bad.push(format!("{key}.canary_percent must be in (0, 100] in canary mode"));
        }
        bad.extend(go_live_problem(name, r.mode, &r.success));
        for (i, t) in r.success.iter().enumerate() {
            let tkey = format!("{key}.success[{i}]");
            if !METRICS.contains(&t.metric.as_str()) {
                bad.push(format!(
                    "{tkey}.metric {:?} is not one of {}",
                    t.metric,
                    METRICS.join(", ")
                ));
            }
            if t.max.is_some() == t.min.is_some() {
                bad.push(format!("{tkey} needs exactly one of max or min"));
            }
            if t.window_s == 0 || t.min_sample == 0 {
                bad.push(format!("{tkey}.window_s and min_sample must be at least 1"));
            }
        }
    }
    bad
}

/// Why `use_case` may not run in `mode` with these declared metrics, if it may not: a use case
/// leaves shadow only with success metrics to judge it by (config, console and CLI all ask).
pub fn go_live_problem(use_case: &str, mode: RolloutMode, success: &[SuccessTarget]) -> Option<String> {
    (mode > RolloutMode::Shadow && success.is_empty()).then(|| {
        format!(
            "rollout.{use_case}.mode = \"{}\" needs declared success metrics first: add [[rollout.{use_case}.success]] \
             with metric (one of {}), max or min, window_s and min_sample",
            mode.as_str(),
            METRICS.join(", ")
        )
    })
}
