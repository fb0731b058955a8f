//! Old copy against new on the same items: what a refresh wave changed (`galley refresh
//! --compare WAVE`). For each item the wave redrafted: how much of the text changed (normalised
//! edit distance), its length against the old one's, and what review made of the new draft.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::review::edit_distance;
use crate::schema::ContentDraft;

/// Examples kept in a comparison, the most changed first.
pub const EXAMPLES: usize = 5;

/// One redrafted item.
#[derive(Debug, Clone, Serialize)]
pub struct Pair {
    /// Subject key.
    pub subject_key: String,
    /// The copy the wave replaced (`None`: no longer known, e.g. compacted away).
    pub old: Option<String>,
    /// The wave's draft.
    pub new: String,
    /// 0 unchanged … 1 all new (`None` without the old text).
    pub distance: Option<f64>,
    /// What review did with the new draft (`approved`, `review`, `rejected`, `shadow`), when the
    /// audit topic says yet.
    pub outcome: Option<String>,
}

/// A wave's old-against-new summary.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Comparison {
    /// Items the wave redrafted.
    pub items: u64,
    /// Of them, with the old text known.
    pub compared: u64,
    /// Mean normalised edit distance, old → new.
    pub mean_distance: Option<f64>,
    /// Mean of new length / old length.
    pub mean_length_ratio: Option<f64>,
    /// Review outcomes of the new drafts (`pending` = none on the audit topic yet).
    pub outcomes: BTreeMap<String, u64>,
    /// The most changed items.
    pub examples: Vec<Pair>,
}

/// Builds the pair of `new` against the copy it replaced.
pub fn pair(old: Option<&ContentDraft>, new: &ContentDraft, outcome: Option<&str>) -> Pair {
    Pair {
        subject_key: new.subject_key.clone(),
        old: old.map(|o| o.text.clone()),
        new: new.text.clone(),
        distance: old.map(|o| edit_distance(&o.text, &new.text)),
        outcome: outcome.map(str::to_owned),
    }
}

/// Summarises `pairs`.
pub fn compare(pairs: Vec<Pair>) -> Comparison {
    let mut c = Comparison {
        items: pairs.len() as u64,
        ..Comparison::default()
    };
    let (mut distance, mut ratio) = (0.0, 0.0);
    for p in &pairs {
        *c.outcomes
            .entry(p.outcome.clone().unwrap_or_else(|| "pending".into()))
            .or_default() += 1;
        if let (Some(d), Some(old)) = (p.distance, &p.old) {
            c.compared += 1;
            distance += d;
            ratio += p.new.chars().count() as f64 / old.chars().count().max(1) as f64;
        }
    }
    if c.compared > 0 {
        c.mean_distance = Some(distance / c.compared as f64);
        c.mean_length_ratio = Some(ratio / c.compared as f64);
    }
    let mut examples = pairs;
    examples.sort_by(|a, b| b.distance.unwrap_or(-1.0).total_cmp(&a.distance.unwrap_or(-1.0)));
    examples.truncate(EXAMPLES);
    c.examples = examples;
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::inventory::tests::copy;

    #[test]
    fn a_comparison_measures_change_and_counts_outcomes() {
        let old = copy("product_description", "A", "a1");
        let mut new = copy("product_description", "A", "a2");
        new.text = format!("{} More.", old.text);
        let same = copy("product_description", "B", "b2");
        let pairs = vec![
            pair(Some(&old), &new, Some("approved")),
            pair(Some(&same), &same, None),
            pair(None, &copy("product_description", "C", "c2"), Some("review")),
        ];
        let c = compare(pairs);
        assert_eq!((c.items, c.compared), (3, 2));
        assert_eq!(c.outcomes["approved"] + c.outcomes["pending"] + c.outcomes["review"], 3);
        let d = c.mean_distance.unwrap();
        assert!(d > 0.0 && d < 0.5, "{d}");
        assert!(c.mean_length_ratio.unwrap() > 1.0);
        assert_eq!(c.examples[0].subject_key, "A", "the most changed first");
        assert_eq!(c.examples.last().unwrap().subject_key, "C", "unknown old text last");
    }
}
