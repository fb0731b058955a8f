//! Interaction events: validation and PII redaction. The redacted event is the only one that
//! leaves the quality stage, whichever way it goes; the original text is never produced.

use super::normalize;
use super::pii::{PiiKind, Redactor};
use crate::schema::{Finding, InteractionEvent, InteractionKind, Severity};

/// Limits for interaction events.
#[derive(Debug, Clone)]
pub struct InteractionRules {
    /// Longer texts are a finding (support messages with pasted logs, abuse).
    pub max_text_chars: usize,
    /// Events stamped further than this in the future are a finding (clock skew, bad data).
    pub max_future_ms: i64,
}

impl Default for InteractionRules {
    fn default() -> Self {
        InteractionRules {
            max_text_chars: 5000,
            max_future_ms: 5 * 60 * 1000,
        }
    }
}

/// An interaction after checking.
#[derive(Debug, Clone)]
pub struct CheckedInteraction {
    /// The event with its text normalised and redacted.
    pub event: InteractionEvent,
    /// Redactions made, per [`PiiKind`] in [`PiiKind::ALL`] order.
    pub redactions: [usize; 4],
    /// Problems; any `error` means the event is not fit for use.
    pub findings: Vec<Finding>,
}

impl CheckedInteraction {
    /// True when no finding is an error.
    pub fn is_valid(&self) -> bool {
        !self.findings.iter().any(|f| f.severity == Severity::Error)
    }
}

fn finding(rule: &str, field: &str, message: String) -> Finding {
    Finding {
        rule: rule.into(),
        severity: Severity::Error,
        field: Some(field.into()),
        message,
        span_start: None,
        span_end: None,
    }
}

/// Validates and redacts one event. `now_ms` is injected so tests control time.
pub fn check(
    mut e: InteractionEvent,
    rules: &InteractionRules,
    redactor: &Redactor,
    now_ms: i64,
) -> CheckedInteraction {
    let mut findings = Vec::new();
    let mut redactions = [0; 4];
    e.customer_id = e.customer_id.trim().to_owned();
    if e.customer_id.is_empty() {
        findings.push(finding(
            "interaction.customer_id",
            "customer_id",
            "customer_id is empty".into(),
        ));
    }
    if let Some(text) = e.text.take() {
        let redacted = redactor.redact(&normalize::text(&text));
        for kind in PiiKind::ALL {
            redactions[kind as usize] = redacted.count(kind);
        }
        let chars = redacted.text.chars().count();
        if chars > rules.max_text_chars {
            findings.push(finding(
                "interaction.text_length",
                "text",
                format!("text has {chars} characters; at most {} allowed", rules.max_text_chars),
            ));
        }
        e.text = Some(redacted.text).filter(|t| !t.is_empty());
    }
    e.sku = e.sku.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let needs_sku = matches!(
        e.kind,
        InteractionKind::View | InteractionKind::Cart | InteractionKind::Purchase
    );
    let needs_text = matches!(
        e.kind,
        InteractionKind::Search | InteractionKind::Review | InteractionKind::Question | InteractionKind::SupportMessage
    );
    if needs_sku && e.sku.is_none() {
        findings.push(finding(
            "interaction.sku",
            "sku",
            format!("a {:?} event needs a sku", e.kind).to_lowercase(),
        ));
    }
    if needs_text && e.text.is_none() {
        findings.push(finding(
            "interaction.text",
            "text",
            format!("a {:?} event needs text", e.kind).to_lowercase(),
        ));
    }
    if e.event_time_ms <= 0 || e.event_time_ms > now_ms.saturating_add(rules.max_future_ms) {
        findings.push(finding(
            "interaction.event_time",
            "event_time_ms",
            format!("event time {} is not plausible", e.event_time_ms),
        ));
    }
    CheckedInteraction {
        event: e,
        redactions,
        findings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: InteractionKind, text: Option<&str>) -> InteractionEvent {
        InteractionEvent {
            customer_id: "c-1".into(),
            kind,
            sku: None,
            text: text.map(Into::into),
            event_time_ms: 1_000,
            channel: "web".into(),
            locale: "en-US".into(),
        }
    }

    #[test]
    fn pii_is_redacted_and_counted() {
        let r = Redactor::new();
        let e = event(
            InteractionKind::SupportMessage,
            Some("Order late! Mail me at jane@example.com or call +44 20 7946 0958, card 4111 1111 1111 1111"),
        );
        let c = check(e, &InteractionRules::default(), &r, 2_000);
        assert!(c.is_valid(), "{:?}", c.findings);
        let text = c.event.text.unwrap();
        assert!(
            !text.contains("jane@example.com") && !text.contains("4111") && !text.contains("7946"),
            "{text}"
        );
        assert_eq!(c.redactions[PiiKind::Email as usize], 1);
        assert_eq!(c.redactions[PiiKind::Phone as usize], 1);
        assert_eq!(c.redactions[PiiKind::Card as usize], 1);
    }

    #[test]
    fn invalid_events_have_findings() {
        let r = Redactor::new();
        let rules = InteractionRules::default();
        let ids = |c: CheckedInteraction| c.findings.into_iter().map(|f| f.rule).collect::<Vec<_>>();
        assert_eq!(
            ids(check(event(InteractionKind::View, None), &rules, &r, 2_000)),
            ["interaction.sku"]
        );
        assert_eq!(
            ids(check(event(InteractionKind::Search, Some("  ")), &rules, &r, 2_000)),
            ["interaction.text"]
        );
        let mut future = event(InteractionKind::Question, Some("does it fit?"));
        future.event_time_ms = 10_000_000;
        assert_eq!(ids(check(future, &rules, &r, 2_000)), ["interaction.event_time"]);
        let mut anon = event(InteractionKind::Question, Some("x"));
        anon.customer_id = " ".into();
        assert_eq!(ids(check(anon, &rules, &r, 2_000)), ["interaction.customer_id"]);
    }
}
