//! The canary as a controlled experiment on storefront behaviour (ARCHITECTURE §4 "rollout").
//!
//! While a use case is in canary, the stable hash that picks its canary keys also randomises its
//! items into two arms: **treatment** (in the canary; exposure starts when its AI copy is
//! published) and **control** (outside it; exposure starts when the generate stage holds it
//! back, and the current copy stays). Both are recorded on `topics.experiment` as
//! [`ExperimentExposure`](crate::schema::ExperimentExposure) records keyed by sku. The
//! storefront's views, carts and purchases of an exposed item after its exposure are its
//! outcomes ([`book`]); the arms are compared per metric ([`stats`]) and judged against the
//! declared `[[rollout.<use_case>.experiment]]` targets ([`judge`]).
//!
//! The product is the unit of randomisation, and items whose copy is rejected never reach
//! treatment: the comparison is "published AI copy against current copy", not "the policy of
//! running the use case" (which would count rejected items as treated).

pub mod act;
pub mod book;
pub mod sim;
pub mod stats;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::ExperimentTarget;
use crate::schema::{ArmTotals, Arms, ExperimentSummary};
pub use book::{Book, price_of};
pub use stats::{Comparison, compare};

/// The metrics an experiment may declare.
pub const METRICS: [&str; 3] = ["view_to_cart", "view_to_purchase", "revenue_per_view"];

/// A business metric: a rate per view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    /// Carts per view.
    ViewToCart,
    /// Purchases per view.
    ViewToPurchase,
    /// Revenue (minor units, at the catalog's price) per view.
    RevenuePerView,
}

impl Metric {
    /// Every metric, in [`METRICS`] order.
    pub const ALL: [Metric; 3] = [Metric::ViewToCart, Metric::ViewToPurchase, Metric::RevenuePerView];

    /// The metric called `name`.
    pub fn parse(name: &str) -> Option<Metric> {
        METRICS.iter().position(|m| *m == name).map(|i| Metric::ALL[i])
    }

    /// Its name in config, metrics and reports.
    pub fn as_str(self) -> &'static str {
        METRICS[self as usize]
    }
}

/// What the data says about one declared metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Below the declared minimum sample: no decision yet, whatever the numbers.
    Insufficient,
    /// Neither harm nor uplift is established.
    Continue,
    /// Worse by more than `max_harm`, with confidence.
    Harm,
    /// Better by at least `min_uplift`, with confidence.
    Uplift,
}

impl Verdict {
    /// The name in reports and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Insufficient => "insufficient",
            Verdict::Continue => "continue",
            Verdict::Harm => "harm",
            Verdict::Uplift => "uplift",
        }
    }
}

/// One declared metric, measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Judged {
    /// The metric's name.
    pub metric: &'static str,
    /// The comparison, once both arms have conversions.
    pub comparison: Option<Comparison>,
    /// The verdict.
    pub verdict: Verdict,
    /// What was declared, e.g. `view_to_cart: uplift >= 2%, harm <= 5%`.
    pub declared: String,
}

/// Judges `target` on `arms` (a whole experiment's: every partition's merged).
pub fn judge(target: &ExperimentTarget, arms: &Arms) -> Judged {
    let metric = Metric::parse(&target.metric).unwrap_or(Metric::ViewToCart);
    let (t, c) = (&arms.treatment, &arms.control);
    let mut comparison = compare(t.sums.get(metric), c.sums.get(metric), target.alpha, target.tau);
    if metric == Metric::RevenuePerView && arms.currencies.len() > 1 {
        // Revenue in two currencies does not add up: no comparison rather than a wrong one.
        comparison = None;
    }
    let at_least = |have: i64, want: u64| u64::try_from(have).is_ok_and(|h| h >= want);
    let enough = |a: &ArmTotals| at_least(a.viewed, target.min_products) && at_least(a.views, target.min_views);
    let verdict = match comparison {
        _ if !enough(t) || !enough(c) => Verdict::Insufficient,
        None => Verdict::Insufficient,
        Some(cmp) if cmp.high < -target.max_harm => Verdict::Harm,
        Some(cmp) if cmp.low > target.min_uplift => Verdict::Uplift,
        Some(_) => Verdict::Continue,
    };
    Judged {
        metric: metric.as_str(),
        comparison,
        verdict,
        declared: format!(
            "{}: uplift >= {:.1}%, harm <= {:.1}%, alpha {}",
            metric.as_str(),
            target.min_uplift * 100.0,
            target.max_harm * 100.0,
            target.alpha
        ),
    }
}

/// What becomes of the use case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Keep the canary running.
    Continue,
    /// A metric is harmed: drop the use case to shadow.
    Halt,
    /// A metric gained and none is harmed: propose canary → on to a person.
    ProposePromotion,
}

impl Decision {
    /// The name in reports and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Continue => "continue",
            Decision::Halt => "halt",
            Decision::ProposePromotion => "propose_promotion",
        }
    }
}

/// The use case's decision from its metrics' verdicts: any harm halts; an uplift with no harm
/// proposes promotion.
pub fn decide(judged: &[Judged]) -> Decision {
    if judged.iter().any(|j| j.verdict == Verdict::Harm) {
        Decision::Halt
    } else if judged.iter().any(|j| j.verdict == Verdict::Uplift) {
        Decision::ProposePromotion
    } else {
        Decision::Continue
    }
}

/// Every partition's latest summary added up, per use case: the whole experiment.
pub fn merged<'a>(summaries: impl IntoIterator<Item = &'a ExperimentSummary>) -> BTreeMap<String, Arms> {
    let mut out: BTreeMap<String, Arms> = BTreeMap::new();
    for s in summaries {
        out.entry(s.use_case.clone()).or_default().merge(&s.arms);
    }
    out
}

/// One use case's experiment, judged on every declared metric.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Judgement {
    /// The use case.
    pub use_case: String,
    /// Both arms' totals.
    pub arms: Arms,
    /// Each declared metric.
    pub judged: Vec<Judged>,
    /// What becomes of the use case.
    pub decision: Decision,
}

/// Judges every target of `use_case` on `arms`.
pub fn judge_all(use_case: &str, targets: &[ExperimentTarget], arms: &Arms) -> Judgement {
    let judged: Vec<Judged> = targets.iter().map(|t| judge(t, arms)).collect();
    Judgement {
        use_case: use_case.to_owned(),
        arms: arms.clone(),
        decision: decide(&judged),
        judged,
    }
}

#[cfg(test)]
mod tests;
