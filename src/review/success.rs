//! Success metrics per use case, folded from audit events: the review stage keeps them current
//! (as `galley_success_metric{use_case,metric}`) and `galley report` computes them from the
//! whole audit topic. Only terminal events count toward rates and cost; a draft sent to review is
//! counted again when a human decides it. A human decision on an audit sample (already counted
//! as approved by the policy) counts as an audit instead: confirmed, or overturned by an edit or
//! a rejection.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::schema::{AuditEvent, Route};

/// The success metrics' names, as declared in `[[rollout.<use_case>.success]]` and exported in
/// `galley_success_metric{metric}`.
pub const METRICS: &[&str] = &[
    "approval_rate",
    "rejection_rate",
    "human_edit_distance",
    "review_latency_seconds",
    "time_to_publish_seconds",
    "cost_per_approved",
    "audit_overturn_rate",
];

/// Running sums of one use case.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UseCaseStats {
    /// Drafts approved (by policy or a human).
    pub approved: u64,
    /// Drafts rejected.
    pub rejected: u64,
    /// Drafts sent to the review queue (not counting audit samples).
    pub sent_to_review: u64,
    /// Human decisions.
    pub human_decisions: u64,
    /// Human edits, and the sum of their normalised edit distances.
    pub edits: u64,
    /// Audit samples a human decided, and how many of those the human edited or rejected.
    pub audits: u64,
    /// Audit samples edited or rejected.
    pub audits_overturned: u64,
    edit_distance_sum: f64,
    review_latency_ms_sum: i64,
    publish_latency_ms_sum: i64,
    publish_latencies: u64,
    cost_micros_sum: i64,
}

impl UseCaseStats {
    /// Adds one audit event of this use case.
    pub fn record(&mut self, e: &AuditEvent) {
        self.tally(e, 1);
    }

    /// Adds (`sign` 1) or takes back (`sign` -1) every sum of `other`: windows built from
    /// buckets add a bucket's sums as they are, and take them back when it expires.
    pub fn absorb(&mut self, other: &UseCaseStats, sign: i64) {
        let add = |n: &mut u64, v: u64| {
            *n = if sign >= 0 {
                n.saturating_add(v)
            } else {
                n.saturating_sub(v)
            };
        };
        add(&mut self.approved, other.approved);
        add(&mut self.rejected, other.rejected);
        add(&mut self.sent_to_review, other.sent_to_review);
        add(&mut self.human_decisions, other.human_decisions);
        add(&mut self.edits, other.edits);
        add(&mut self.audits, other.audits);
        add(&mut self.audits_overturned, other.audits_overturned);
        add(&mut self.publish_latencies, other.publish_latencies);
        self.edit_distance_sum += sign as f64 * other.edit_distance_sum;
        self.review_latency_ms_sum += sign * other.review_latency_ms_sum;
        self.publish_latency_ms_sum += sign * other.publish_latency_ms_sum;
        self.cost_micros_sum += sign * other.cost_micros_sum;
    }

    fn tally(&mut self, e: &AuditEvent, sign: i64) {
        if e.is_lifecycle() {
            return;
        }
        let add = |n: &mut u64| *n = n.saturating_add_signed(sign);
        let human = e.actor.starts_with("reviewer:");
        if human {
            add(&mut self.human_decisions);
            self.review_latency_ms_sum += sign * (e.decided_ms - e.draft_created_ms).max(0);
        }
        if let Some(d) = e.edit_distance {
            add(&mut self.edits);
            self.edit_distance_sum += sign as f64 * d;
        }
        if human && e.audit_sample {
            if e.outcome != Route::Review {
                add(&mut self.audits);
                if e.outcome == Route::Rejected || e.edit_distance.is_some() {
                    add(&mut self.audits_overturned);
                }
            }
            return;
        }
        match e.outcome {
            Route::Review => add(&mut self.sent_to_review),
            Route::Approved | Route::Rejected => {
                self.cost_micros_sum += sign * e.cost_micros;
                if e.outcome == Route::Rejected {
                    add(&mut self.rejected);
                    return;
                }
                add(&mut self.approved);
                // A shadow approval was never published: no time to publish.
                if let Some(src) = e.source_event_ms.filter(|_| !e.shadow) {
                    self.publish_latency_ms_sum += sign * (e.decided_ms - src).max(0);
                    add(&mut self.publish_latencies);
                }
            }
        }
    }

    /// How many observations `metric` is computed from (its sample size); 0 for an unknown name.
    pub fn samples(&self, metric: &str) -> u64 {
        match metric {
            "approval_rate" | "rejection_rate" => self.approved + self.rejected,
            "human_edit_distance" => self.edits,
            "review_latency_seconds" => self.human_decisions,
            "time_to_publish_seconds" => self.publish_latencies,
            "cost_per_approved" => self.approved,
            "audit_overturn_rate" => self.audits,
            _ => 0,
        }
    }

    /// The declared metrics: `approval_rate`, `rejection_rate` (of terminal outcomes),
    /// `human_edit_distance` (mean, 0-1), `review_latency_seconds` (draft to human decision),
    /// `time_to_publish_seconds` (catalog change to approval), `cost_per_approved` (currency),
    /// `audit_overturn_rate` (share of decided audit samples a human edited or rejected).
    /// A metric without data is absent rather than 0.
    pub fn metrics(&self) -> BTreeMap<&'static str, f64> {
        let mut m = BTreeMap::new();
        let terminal = self.approved + self.rejected;
        let ratio = |a: f64, b: u64| (b > 0).then(|| a / b as f64);
        let mut put = |name, v: Option<f64>| {
            if let Some(v) = v {
                m.insert(name, v);
            }
        };
        put("approval_rate", ratio(self.approved as f64, terminal));
        put("rejection_rate", ratio(self.rejected as f64, terminal));
        put("human_edit_distance", ratio(self.edit_distance_sum, self.edits));
        put(
            "review_latency_seconds",
            ratio(self.review_latency_ms_sum as f64 / 1000.0, self.human_decisions),
        );
        put(
            "time_to_publish_seconds",
            ratio(self.publish_latency_ms_sum as f64 / 1000.0, self.publish_latencies),
        );
        put(
            "cost_per_approved",
            ratio(self.cost_micros_sum as f64 / 1e6, self.approved),
        );
        put("audit_overturn_rate", ratio(self.audits_overturned as f64, self.audits));
        m
    }
}

/// Stats of every use case seen.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SuccessBook {
    /// By use case name.
    pub by_use_case: BTreeMap<String, UseCaseStats>,
}

impl SuccessBook {
    /// Adds one audit event; returns the use case's stats after it.
    pub fn record(&mut self, e: &AuditEvent) -> &UseCaseStats {
        let s = self.by_use_case.entry(e.use_case.clone()).or_default();
        s.record(e);
        s
    }
}

/// Normalised Levenshtein distance between a draft and its edit: 0 unchanged, 1 all new.
pub fn edit_distance(before: &str, after: &str) -> f64 {
    1.0 - strsim::normalized_levenshtein(before, after)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(actor: &str, outcome: Route, audit_sample: bool, edit: Option<f64>) -> AuditEvent {
        AuditEvent {
            draft_id: "d".into(),
            use_case: "product_description".into(),
            subject_key: "SKU".into(),
            outcome,
            actor: actor.into(),
            action: None,
            audit_sample,
            reason: String::new(),
            model: None,
            prompt: "product_description@1".into(),
            generator: "model".into(),
            checks: vec![],
            cost_micros: 1_000,
            draft_created_ms: 10_000,
            source_event_ms: Some(4_000),
            edit_distance: edit,
            decided_ms: 70_000,
            shadow: false,
            policy: None,
        }
    }

    #[test]
    fn rates_count_each_draft_once_and_audits_apart() {
        let mut book = SuccessBook::default();
        for e in [
            event("policy", Route::Approved, false, None),
            event("policy", Route::Approved, true, None), // published and queued as a sample
            event("policy", Route::Review, false, None),
            event("reviewer:ana", Route::Approved, false, Some(0.2)), // the queued one, edited
            event("policy", Route::Rejected, false, None),
            event("reviewer:ana", Route::Rejected, true, None), // the sample, overturned
        ] {
            book.record(&e);
        }
        let s = &book.by_use_case["product_description"];
        assert_eq!(
            (s.approved, s.rejected, s.sent_to_review, s.audits, s.audits_overturned),
            (3, 1, 1, 1, 1)
        );
        let m = s.metrics();
        assert_eq!(m["approval_rate"], 0.75);
        assert_eq!(m["rejection_rate"], 0.25);
        assert_eq!(m["human_edit_distance"], 0.2);
        assert_eq!(
            m["review_latency_seconds"], 60.0,
            "draft created at 10 s, decided at 70 s"
        );
        assert_eq!(m["time_to_publish_seconds"], 66.0, "catalog change at 4 s");
        assert!((m["cost_per_approved"] - 4_000.0 / 1e6 / 3.0).abs() < 1e-12, "{m:?}");
        assert_eq!(m["audit_overturn_rate"], 1.0);
    }

    #[test]
    fn a_metric_without_data_is_absent() {
        let mut book = SuccessBook::default();
        let s = book.record(&event("policy", Route::Review, false, None));
        assert!(s.metrics().is_empty(), "{:?}", s.metrics());
    }

    #[test]
    fn edit_distance_is_normalised() {
        assert_eq!(edit_distance("same", "same"), 0.0);
        assert_eq!(edit_distance("abcd", "wxyz"), 1.0);
        assert!((edit_distance("a warm wool hat", "a warm wool cap") - 2.0 / 15.0).abs() < 1e-9);
    }
}
