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
    #[serde(default)]
    pub experiment: Vec<ExperimentTarget>,
}

/// A business metric the canary is judged on as a controlled experiment (treatment: items whose
/// AI copy is published; control: items of the use case held back outside the canary).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentTarget {
    /// One of [`crate::experiment::METRICS`].
    pub metric: String,
    /// Promotion from canary to on is proposed when the uplift is at least this (relative, 0.02
    /// = 2%) with confidence 1 − `alpha`.
    #[serde(default)]
    pub min_uplift: f64,
    /// The use case is halted (dropped to shadow) when the metric is worse by more than this
    /// (relative) with confidence 1 − `alpha`.
    #[serde(default)]
    pub max_harm: f64,
    /// No decision before each arm has this many products with views...
    #[serde(default = "default_min_products")]
    pub min_products: u64,
    /// ...and this many views.
    #[serde(default = "default_min_views")]
    pub min_views: u64,
    /// The test's level: the chance of a decision when the copy changes nothing, however often
    /// the result is looked at.
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    /// The mixture's scale on the log rate ratio: the size of effect the test is most sensitive to.
    #[serde(default = "default_tau")]
    pub tau: f64,
}

impl ExperimentTarget {
    /// `metric` with no minimum effect either way and the default sample and test.
    pub fn new(metric: &str) -> Self {
        ExperimentTarget {
            metric: metric.to_owned(),
            min_uplift: 0.0,
            max_harm: 0.0,
            min_products: default_min_products(),
            min_views: default_min_views(),
            alpha: default_alpha(),
            tau: default_tau(),
        }
    }
}

fn default_min_products() -> u64 {
    50
}
fn default_min_views() -> u64 {
    1000
}
fn default_alpha() -> f64 {
    0.05
}
fn default_tau() -> f64 {
    0.1
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
        bad.extend(experiment_problems(&key, uc, &r.experiment));
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

/// Problems with `[[rollout.<use_case>.experiment]]`.
fn experiment_problems(key: &str, uc: UseCase, targets: &[ExperimentTarget]) -> Vec<String> {
    use crate::experiment::METRICS;
    let mut bad = Vec::new();
    if !targets.is_empty() && uc != UseCase::ProductDescription {
        bad.push(format!(
            "{key}.experiment: only product_description is measured as an experiment (its items are products, \
             with views, carts and purchases of their own)"
        ));
    }
    for (i, t) in targets.iter().enumerate() {
        let tkey = format!("{key}.experiment[{i}]");
        if !METRICS.contains(&t.metric.as_str()) {
            bad.push(format!(
                "{tkey}.metric {:?} is not one of {}",
                t.metric,
                METRICS.join(", ")
            ));
        }
        if !((0.0..1.0).contains(&t.max_harm) && t.min_uplift >= 0.0 && t.min_uplift.is_finite()) {
            bad.push(format!(
                "{tkey}: max_harm must be in [0, 1) and min_uplift at least 0 (relative changes)"
            ));
        }
        if !((f64::MIN_POSITIVE..=0.5).contains(&t.alpha) && t.tau > 0.0 && t.tau.is_finite()) {
            bad.push(format!("{tkey}: alpha must be in (0, 0.5] and tau above 0"));
        }
        if t.min_products < 2 || t.min_views == 0 {
            bad.push(format!(
                "{tkey}: min_products must be at least 2 and min_views at least 1"
            ));
        }
    }
    bad
}
