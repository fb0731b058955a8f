//! The review queue as the console shows it, computed from what content.review queued and what
//! content.decisions decided — pure, so two console instances reading the same topics agree.
//!
//! A queued outcome is pending until a decision names its draft at or after the time it was
//! queued; an edit that failed the checks is queued again later, so it is pending again.

use std::collections::HashMap;

use serde::Deserialize;

use crate::printable::is_hidden;
use crate::schema::{ReviewOutcome, RiskTier};

/// Decisions seen per subject: (draft id, decided at ms).
pub type Decided = HashMap<String, Vec<(String, i64)>>;

/// Queue filters from the query string; empty fields do not filter.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Filter {
    /// Use case name.
    #[serde(default)]
    pub use_case: String,
    /// `human`, `auto` (audit samples) or `reject`.
    #[serde(default)]
    pub tier: String,
    /// Only items queued at least this many minutes ago (an empty form field is no filter).
    #[serde(default, deserialize_with = "empty_is_none")]
    pub min_age_min: Option<u64>,
    /// `yes`: audit samples only; `no`: no audit samples.
    #[serde(default)]
    pub audit: String,
}

fn empty_is_none<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let s = String::deserialize(d)?;
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    s.parse()
        .map(Some)
        .map_err(|_| serde::de::Error::custom(format!("min_age_min {s:?} is not a whole number of minutes")))
}

impl Filter {
    /// Whether `o`, queued `age_s` ago, passes.
    pub fn matches(&self, o: &ReviewOutcome, age_s: i64) -> bool {
        let tier = match o.tier {
            RiskTier::Auto => "auto",
            RiskTier::Human => "human",
            RiskTier::Reject => "reject",
        };
        (self.use_case.is_empty() || self.use_case == o.draft.use_case)
            && (self.tier.is_empty() || self.tier == tier)
            && self
                .min_age_min
                .is_none_or(|m| age_s >= i64::try_from(m.saturating_mul(60)).unwrap_or(i64::MAX))
            && match self.audit.as_str() {
                "yes" => o.audit_sample,
                "no" => !o.audit_sample,
                _ => true,
            }
    }
}

/// Whether `o` still waits for a human, given the decisions of its subject: not the review
/// stage's record of a decided draft, and no decision since it was queued.
pub fn is_pending(o: &ReviewOutcome, decided: Option<&Vec<(String, i64)>>) -> bool {
    !crate::stages::review::is_decided(o)
        && !decided.is_some_and(|ds| ds.iter().any(|(id, at)| *id == o.draft.draft_id && *at >= o.decided_ms))
}

/// Every pending outcome, oldest first.
pub fn pending(queued: &HashMap<String, Vec<ReviewOutcome>>, decided: &Decided) -> Vec<ReviewOutcome> {
    let mut out: Vec<ReviewOutcome> = queued
        .iter()
        .flat_map(|(key, os)| os.iter().filter(move |o| is_pending(o, decided.get(key))))
        .cloned()
        .collect();
    out.sort_by(|a, b| {
        a.decided_ms
            .cmp(&b.decided_ms)
            .then_with(|| a.draft.draft_id.cmp(&b.draft.draft_id))
    });
    out
}

/// The draft's text as HTML with each flagged span in a `<mark>` titled by its finding; spans
/// that overlap an earlier one or do not fall on character boundaries are left unmarked (the
/// finding is still in the list beside the text).
pub fn highlight(o: &ReviewOutcome) -> String {
    let text = &o.draft.text;
    let mut spans: Vec<(usize, usize, String)> = o
        .checks
        .iter()
        .filter_map(|c| {
            let (s, e) = (usize::try_from(c.span_start?).ok()?, usize::try_from(c.span_end?).ok()?);
            (s < e && e <= text.len() && text.is_char_boundary(s) && text.is_char_boundary(e))
                .then(|| (s, e, format!("{}: {}", c.check, c.message)))
        })
        .collect();
    spans.sort_by_key(|(s, e, _)| (*s, *e));
    let mut html = String::with_capacity(text.len() + 64);
    let mut at = 0;
    for (s, e, title) in spans {
        if s < at {
            continue;
        }
        html.push_str(&esc(&text[at..s]));
        html.push_str(&format!("<mark title=\"{}\">{}</mark>", esc(&title), esc(&text[s..e])));
        at = e;
    }
    html.push_str(&esc(&text[at..]));
    html
}

/// HTML-escapes text for element content and quoted attributes.
pub fn esc(s: &str) -> String {
    // Characters that would hide or reorder text (U+202E, zero-width ones, terminal escapes) are
    // shown as `\u{..}` so a reviewer sees them; line breaks and tabs stay.
    let visible: String = if s.chars().any(|c| is_hidden(c) && !matches!(c, '\n' | '\r' | '\t')) {
        s.chars()
            .map(|c| match c {
                '\n' | '\r' | '\t' => c.to_string(),
                c if is_hidden(c) => format!("\\u{{{:04X}}}", u32::from(c)),
                c => c.to_string(),
            })
            .collect()
    } else {
        s.to_owned()
    };
    html_escape::encode_quoted_attribute(&visible).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hardening probe: `min_age_min=18446744073709551615` panicked the handler.
    #[test]
    fn a_huge_age_filter_matches_nothing_instead_of_overflowing() {
        let f = Filter {
            min_age_min: Some(u64::MAX),
            ..Filter::default()
        };
        assert!(!f.matches(&queued("k", 0, false), i64::MAX - 1));
    }
    use crate::schema::{CheckResult, CheckSeverity, ContentDraft, Route};

    fn queued(key: &str, at: i64, audit_sample: bool) -> ReviewOutcome {
        ReviewOutcome {
            draft: ContentDraft::sample("product_description", key, "A 20000 mAh bank <b>now</b>."),
            checks: vec![CheckResult {
                check: "unsupported_claim.quantity".into(),
                severity: CheckSeverity::High,
                message: "'20000 mAh' is not in the product's attributes".into(),
                span_start: Some(2),
                span_end: Some(11),
            }],
            tier: if audit_sample { RiskTier::Auto } else { RiskTier::Human },
            route: if audit_sample { Route::Approved } else { Route::Review },
            reason: "r".into(),
            audit_sample,
            decided_ms: at,
        }
    }

    #[test]
    fn a_decision_removes_an_item_until_it_is_queued_again() {
        let mut q: HashMap<String, Vec<ReviewOutcome>> = HashMap::new();
        q.insert("a".into(), vec![queued("a", 100, false)]);
        q.insert("b".into(), vec![queued("b", 50, true)]);
        let mut decided = Decided::new();
        assert_eq!(
            pending(&q, &decided)
                .iter()
                .map(|o| o.draft.subject_key.as_str())
                .collect::<Vec<_>>(),
            ["b", "a"]
        );
        decided.insert("a".into(), vec![("d-a".into(), 120)]);
        assert_eq!(pending(&q, &decided).len(), 1);
        // The edit failed the checks: the stage queued the draft again after the decision.
        q.get_mut("a").unwrap()[0].decided_ms = 130;
        assert_eq!(pending(&q, &decided).len(), 2);
    }

    #[test]
    fn filters_combine() {
        let o = queued("a", 0, true);
        let f = |use_case: &str, tier: &str, min_age_min: Option<u64>, audit: &str| Filter {
            use_case: use_case.into(),
            tier: tier.into(),
            min_age_min,
            audit: audit.into(),
        };
        assert!(f("", "", None, "").matches(&o, 0));
        assert!(f("product_description", "auto", Some(1), "yes").matches(&o, 60));
        assert!(!f("support_reply", "", None, "").matches(&o, 0));
        assert!(!f("", "human", None, "").matches(&o, 0));
        assert!(!f("", "", Some(2), "").matches(&o, 60));
        assert!(!f("", "", None, "no").matches(&o, 0));
    }

    #[test]
    fn flagged_spans_are_marked_and_the_text_is_escaped() {
        let html = highlight(&queued("a", 0, false));
        assert_eq!(
            html,
            "A <mark title=\"unsupported_claim.quantity: &#x27;20000 mAh&#x27; is not in the product&#x27;s attributes\">20000 mAh</mark> bank &lt;b&gt;now&lt;/b&gt;."
        );
    }
}
