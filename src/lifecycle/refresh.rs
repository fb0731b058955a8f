//! Planning a refresh wave: which live copies to write again, why, in which order, and what it
//! would cost. Pure: the inventory, the running configuration's prompt, model and policy
//! versions, and what is known of the products go in; the plan comes out.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use super::inventory::{Inventory, Provenance};
use crate::schema::{ContentDraft, GeneratorKind, Segment};

const DAY_MS: f64 = 86_400_000.0;

/// Why a live copy is due for a refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Written with another prompt version than the configured one.
    Prompt,
    /// Written by another model than the configured one.
    Model,
    /// Approved under another review policy version (or before versions were recorded).
    Policy,
    /// Approved longer ago than the limit.
    Age,
    /// Written by a fallback (template, last approved) rather than the model.
    Fallback,
    /// In scope, no other reason asked for: a full refresh.
    Requested,
}

impl Reason {
    /// Its name in reports and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Prompt => "prompt",
            Reason::Model => "model",
            Reason::Policy => "policy",
            Reason::Age => "age",
            Reason::Fallback => "fallback",
            Reason::Requested => "requested",
        }
    }
}

/// What the running configuration writes and approves with.
#[derive(Debug, Clone, Default)]
pub struct Current {
    /// Prompt id@version per use case.
    pub prompts: BTreeMap<String, String>,
    /// The model name generation uses.
    pub model: String,
    /// The review policy's version.
    pub policy: String,
    /// Age limit per use case in days (0 = none).
    pub max_age_days: BTreeMap<String, f64>,
    /// Now, in ms since the epoch.
    pub now_ms: i64,
}

/// What the plan knows of a product (from the validated catalog).
#[derive(Debug, Clone, PartialEq)]
pub struct ProductInfo {
    /// Long-tail or head.
    pub segment: Segment,
    /// Category path, root first.
    pub category_path: Vec<String>,
}

/// Which live copies a wave is for. Scope filters narrow; reasons widen (a copy due for any
/// asked reason is selected); no reason asked = every copy in scope.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Use cases in scope; empty = all.
    pub use_cases: Vec<String>,
    /// Subjects in scope (skus, segment keys); `None` = all.
    pub subjects: Option<HashSet<String>>,
    /// Only products under this category (a prefix of the path, case-insensitive).
    pub category: Option<Vec<String>>,
    /// Reasons asked for.
    pub reasons: Vec<Reason>,
    /// With [`Reason::Age`]: this many days instead of each use case's `max_age_days`.
    pub older_than_days: Option<f64>,
}

/// One copy to write again.
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    /// Use case.
    pub use_case: String,
    /// Subject key.
    pub subject_key: String,
    /// The live copy it replaces.
    pub live_draft_id: String,
    /// Every asked reason it is due for.
    pub reasons: Vec<Reason>,
    /// Long-tail products first, then head, then subjects that are no product.
    #[serde(skip)]
    rank: (u8, i64),
}

/// Estimated cost of a use case's share of the wave.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Estimate {
    /// Copies selected.
    pub items: u64,
    /// By reason (a copy counts under each of its reasons).
    pub by_reason: BTreeMap<&'static str, u64>,
    /// Tokens (in + out), from the mean of the live model-written copies; `None` when none is.
    pub tokens: Option<u64>,
    /// Cost in the price currency, estimated the same way.
    pub cost: Option<f64>,
    /// Days of the use case's daily token budget the wave takes (`None`: unlimited or unknown).
    pub budget_days: Option<f64>,
}

/// A planned refresh wave.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Plan {
    /// In the order to serve them.
    pub items: Vec<Item>,
    /// Per use case.
    pub by_use_case: BTreeMap<String, Estimate>,
    /// Live copies looked at (in scope or not).
    pub live: u64,
}

/// The reasons live copy `d`, approved as `provenance` says (when known), is due for among
/// `asked`. Without provenance the approval time is the draft's, and the policy is unknown
/// (so due for a policy refresh).
pub fn reasons(
    d: &ContentDraft,
    provenance: Option<&Provenance>,
    current: &Current,
    asked: &[Reason],
    older_than_days: Option<f64>,
) -> Vec<Reason> {
    asked
        .iter()
        .copied()
        .filter(|r| match r {
            Reason::Prompt => current.prompts.get(&d.use_case).is_some_and(|p| *p != d.prompt),
            Reason::Model => d.generator == GeneratorKind::Model && d.model.as_deref() != Some(current.model.as_str()),
            Reason::Policy => provenance.and_then(|p| p.policy.as_deref()) != Some(current.policy.as_str()),
            Reason::Age => {
                let limit = older_than_days.or_else(|| current.max_age_days.get(&d.use_case).copied());
                let approved = provenance.map_or(d.created_ms, |p| p.approved_ms);
                limit.is_some_and(|days| days > 0.0 && (current.now_ms - approved) as f64 > days * DAY_MS)
            }
            Reason::Fallback => matches!(d.generator, GeneratorKind::Template | GeneratorKind::LastApproved),
            Reason::Requested => true,
        })
        .collect()
}

/// Plans the wave `sel` over `inv`; `products` gives segments and categories by sku.
pub fn plan(inv: &Inventory, current: &Current, sel: &Selection, products: &HashMap<String, ProductInfo>) -> Plan {
    let asked = if sel.reasons.is_empty() {
        vec![Reason::Requested]
    } else {
        sel.reasons.clone()
    };
    let mut plan = Plan::default();
    // Means over model-written live copies of each use case, in scope or not.
    let mut spent: HashMap<String, (u64, u64, i64)> = HashMap::new();
    for copy in inv.live() {
        plan.live += 1;
        let d = &copy.draft;
        if d.generator == GeneratorKind::Model {
            let s = spent.entry(d.use_case.clone()).or_default();
            s.0 += 1;
            s.1 += u64::try_from(d.tokens_in.max(0) + d.tokens_out.max(0)).unwrap_or(0);
            s.2 += d.cost_micros.max(0);
        }
        let product = products.get(&d.subject_key);
        let in_scope = (sel.use_cases.is_empty() || sel.use_cases.contains(&d.use_case))
            && sel.subjects.as_ref().is_none_or(|s| s.contains(&d.subject_key))
            && sel
                .category
                .as_ref()
                .is_none_or(|c| product.is_some_and(|p| under(&p.category_path, c)));
        if !in_scope {
            continue;
        }
        let why = reasons(d, copy.provenance.as_ref(), current, &asked, sel.older_than_days);
        if why.is_empty() {
            continue;
        }
        let approved = copy.provenance.as_ref().map_or(d.created_ms, |p| p.approved_ms);
        let segment_rank = match product.map(|p| p.segment) {
            Some(Segment::LongTail) => 0,
            Some(Segment::Head) => 1,
            None => 2,
        };
        let e = plan.by_use_case.entry(d.use_case.clone()).or_default();
        e.items += 1;
        for r in &why {
            *e.by_reason.entry(r.as_str()).or_default() += 1;
        }
        plan.items.push(Item {
            use_case: d.use_case.clone(),
            subject_key: d.subject_key.clone(),
            live_draft_id: d.draft_id.clone(),
            reasons: why,
            rank: (segment_rank, approved),
        });
    }
    // Long-tail first (as rollout goes), oldest approval first within a segment.
    plan.items
        .sort_by(|a, b| (a.rank, &a.use_case, &a.subject_key).cmp(&(b.rank, &b.use_case, &b.subject_key)));
    for (use_case, e) in &mut plan.by_use_case {
        if let Some(&(n, tokens, cost)) = spent.get(use_case).filter(|s| s.0 > 0) {
            let per = tokens as f64 / n as f64;
            e.tokens = Some((per * e.items as f64).round() as u64);
            e.cost = Some(cost as f64 / n as f64 * e.items as f64 / 1e6);
        }
    }
    plan
}

/// Fills in how many days of each use case's daily token budget the wave takes (0 = unlimited).
pub fn against_budgets(plan: &mut Plan, daily_tokens: &BTreeMap<String, u64>) {
    for (use_case, e) in &mut plan.by_use_case {
        e.budget_days = match (e.tokens, daily_tokens.get(use_case)) {
            (Some(t), Some(&b)) if b > 0 => Some(t as f64 / b as f64),
            _ => None,
        };
    }
}

/// The live copy of one use case as the `galley_content_*` gauges show it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveStats {
    /// Live copies.
    pub live: u64,
    /// Due for a refresh, by reason (`prompt`, `model`, `age`, `fallback`; the policy version is
    /// in the audit topic, which `galley inventory` reads), and `any`.
    pub stale: BTreeMap<&'static str, u64>,
    /// When the oldest live copy was drafted.
    pub oldest_ms: Option<i64>,
}

/// [`LiveStats`] per use case of the live copies `drafts` (from the approved topic alone).
pub fn live_stats<'a>(
    drafts: impl IntoIterator<Item = &'a ContentDraft>,
    current: &Current,
) -> BTreeMap<String, LiveStats> {
    const DUE: [Reason; 4] = [Reason::Prompt, Reason::Model, Reason::Age, Reason::Fallback];
    let mut out: BTreeMap<String, LiveStats> = BTreeMap::new();
    for d in drafts {
        let s = out.entry(d.use_case.clone()).or_default();
        s.live += 1;
        s.oldest_ms = Some(s.oldest_ms.map_or(d.created_ms, |o| o.min(d.created_ms)));
        let why = reasons(d, None, current, &DUE, None);
        for r in &why {
            *s.stale.entry(r.as_str()).or_default() += 1;
        }
        if !why.is_empty() {
            *s.stale.entry("any").or_default() += 1;
        }
    }
    out
}

fn under(path: &[String], prefix: &[String]) -> bool {
    prefix.len() <= path.len()
        && prefix
            .iter()
            .zip(path)
            .all(|(a, b)| a.trim().eq_ignore_ascii_case(b.trim()))
}

#[cfg(test)]
#[path = "refresh_tests.rs"]
mod tests;
