//! Record types of the canary experiment: exposures (`galley.v1.ExperimentExposure`), the
//! experiment stage's per-item state (`galley.v1.ExperimentUnit`) and its per-partition
//! summaries (`galley.v1.ExperimentSummary`).

use serde::{Deserialize, Serialize};

/// The arm of the experiment an item is in (`galley.v1.ExperimentArm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExperimentArm {
    /// The AI copy was published.
    Treatment,
    /// Held back: the current copy stays.
    Control,
}

impl ExperimentArm {
    /// Both arms, treatment first.
    pub const ALL: [ExperimentArm; 2] = [ExperimentArm::Treatment, ExperimentArm::Control];

    /// The name in records, metrics and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ExperimentArm::Treatment => "treatment",
            ExperimentArm::Control => "control",
        }
    }
}

/// An item assigned to its arm, with the time its exposure starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)] // fields are documented in schemas/ExperimentExposure.v1.avsc
pub struct ExperimentExposure {
    pub use_case: String,
    pub subject_key: String,
    pub arm: ExperimentArm,
    pub exposed_ms: i64,
    pub canary_percent: f64,
    #[serde(default)]
    pub draft_id: Option<String>,
}

/// One item's outcomes since its exposure: the experiment stage's state, one record per item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)] // fields are documented in schemas/ExperimentUnit.v1.avsc
pub struct ExperimentUnit {
    pub use_case: String,
    pub subject_key: String,
    pub arm: ExperimentArm,
    pub exposed_ms: i64,
    pub crossed: bool,
    pub views: i64,
    pub carts: i64,
    pub purchases: i64,
    pub revenue_minor: i64,
    #[serde(default)]
    pub currency: Option<String>,
    pub unpriced: i64,
    pub before_exposure: i64,
    pub interactions_offset: i64,
}

/// The six sums a rate and its variance clustered by product are computed from
/// (`galley.v1.Sums`; see [`crate::experiment::stats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Sums {
    /// Products (clusters).
    pub n: f64,
    /// Σ x (views).
    pub x: f64,
    /// Σ y (conversions or revenue).
    pub y: f64,
    /// Σ x².
    pub xx: f64,
    /// Σ y².
    pub yy: f64,
    /// Σ x·y.
    pub xy: f64,
}

/// The sums of each metric.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)] // one per metric of crate::experiment::METRICS
pub struct MetricSums {
    pub view_to_cart: Sums,
    pub view_to_purchase: Sums,
    pub revenue_per_view: Sums,
}

/// What one arm has seen (`galley.v1.ArmTotals`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ArmTotals {
    /// Items exposed (assigned and, for treatment, published).
    pub exposed: i64,
    /// Of them, items viewed since exposure: the sample size of every metric.
    pub viewed: i64,
    /// Views since exposure.
    pub views: i64,
    /// Carts.
    pub carts: i64,
    /// Purchases.
    pub purchases: i64,
    /// Purchases at the catalog's price, minor units.
    pub revenue_minor: i64,
    /// The sums the statistics are computed from.
    pub sums: MetricSums,
}

/// Both arms of a use case's experiment, over some of its items (one partition's, or all).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Arms {
    /// Items whose AI copy is published.
    pub treatment: ArmTotals,
    /// Items held back.
    pub control: ArmTotals,
    /// Items that changed arm mid-experiment (a canary share raised), left out.
    pub crossed: i64,
    /// Interactions with exposed items from before their exposure (not counted).
    pub before_exposure: i64,
    /// Purchases of items with no known price (counted, no revenue).
    pub unpriced: i64,
    /// Currencies of the priced purchases (revenue compares only in one).
    pub currencies: Vec<String>,
}

/// One partition's [`Arms`] of one use case, published by the experiment stage that owns the
/// partition, so any instance can add up the whole experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)] // fields are documented in schemas/ExperimentSummary.v1.avsc
pub struct ExperimentSummary {
    pub use_case: String,
    pub partition: i32,
    pub updated_ms: i64,
    pub arms: Arms,
}
