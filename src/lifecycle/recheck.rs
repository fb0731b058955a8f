//! Re-checking live copy under a new review policy version: a copy approved under another
//! version (or before versions were recorded) is checked again; a finding at or above the
//! policy's `recheck.take_down_at` takes it down (a tombstone), one at or above `risk.human_at`
//! queues it for a person (it stays live until a reviewer decides: queued as an audit sample,
//! so a rejection takes it down), and what passes stays. Every copy checked gets an audit event (`action` recheck, `policy` the new
//! version), so a restart does not check it again.

use super::inventory::{Inventory, LiveCopy};
use crate::runtime::Output;
use crate::schema::{
    ACTION_RECHECK, AuditEvent, CheckResult, CheckSeverity, CodecError, ContentDraft, Registry, ReviewOutcome,
    RiskTier, Route, encode, names,
};

/// What the new policy makes of a live copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing a person must see: it stays.
    Pass,
    /// A finding at or above the policy's `human_at`: queued for a reviewer, live meanwhile.
    Queue,
    /// A finding at or above `recheck.take_down_at`: taken down.
    TakeDown,
}

impl Verdict {
    /// Its label in `galley_recheck_total{outcome}`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "passed",
            Verdict::Queue => "queued",
            Verdict::TakeDown => "taken_down",
        }
    }
}

/// The verdict on findings `checks` under thresholds `human_at` and `take_down_at` (the policy's
/// `recheck.take_down_at`). Routing rules that are not about the text (a use case or category
/// always for humans) do not apply: the copy was approved under them already.
pub fn verdict(checks: &[CheckResult], human_at: CheckSeverity, take_down_at: CheckSeverity) -> Verdict {
    match checks.iter().map(|c| c.severity).max() {
        Some(s) if s >= take_down_at => Verdict::TakeDown,
        Some(s) if s >= human_at => Verdict::Queue,
        _ => Verdict::Pass,
    }
}

/// Live copies approved under another policy version than `policy` (or an unrecorded one), by
/// use case and key.
pub fn due(inv: &Inventory, policy: &str) -> Vec<LiveCopy> {
    let mut out: Vec<LiveCopy> = inv
        .live()
        .filter(|c| c.provenance.as_ref().and_then(|p| p.policy.as_deref()) != Some(policy))
        .collect();
    out.sort_by(|a, b| (&a.draft.use_case, &a.draft.subject_key).cmp(&(&b.draft.use_case, &b.draft.subject_key)));
    out
}

/// Topics a re-check writes to.
#[derive(Debug, Clone, Copy)]
pub struct Topics<'a> {
    /// The approved topic (tombstones).
    pub approved: &'a str,
    /// The review queue.
    pub review: &'a str,
    /// The audit topic.
    pub audit: &'a str,
}

/// The records of re-checking `d` under `policy` with findings `checks`: the audit event always,
/// plus the tombstone or the queue entry.
pub fn outputs(
    d: &ContentDraft,
    verdict: Verdict,
    checks: Vec<CheckResult>,
    topics: Topics<'_>,
    policy: &str,
    now_ms: i64,
) -> Result<Vec<Output>, CodecError> {
    let key = Some(d.subject_key.as_bytes().to_vec());
    let out = |topic: &str, payload: Option<Vec<u8>>| Output {
        topic: topic.to_owned(),
        key: key.clone(),
        partition: None,
        payload,
        headers: Vec::new(),
    };
    let worst = checks
        .iter()
        .max_by_key(|c| c.severity)
        .map(|c| format!("{}: {}", c.check, c.message));
    let reason = match (&worst, verdict) {
        (Some(w), Verdict::TakeDown) => format!("re-checked under policy {policy}, taken down: {w}"),
        (Some(w), Verdict::Queue) => format!("re-checked under policy {policy}, queued for a reviewer: {w}"),
        _ => format!("re-checked under policy {policy}: passes"),
    };
    let route = match verdict {
        Verdict::Pass => Route::Approved,
        Verdict::Queue => Route::Review,
        Verdict::TakeDown => Route::Rejected,
    };
    let mut outputs = Vec::with_capacity(2);
    match verdict {
        Verdict::Pass => {}
        Verdict::TakeDown => outputs.push(out(topics.approved, None)),
        Verdict::Queue => {
            let queued = ReviewOutcome {
                draft: d.clone(),
                checks: checks.clone(),
                tier: RiskTier::Human,
                route: Route::Approved,
                reason: reason.clone(),
                // Published and waiting for a person: what an audit sample is, so the console
                // shows it and a rejection takes the live copy down.
                audit_sample: true,
                decided_ms: now_ms,
            };
            outputs.push(out(
                topics.review,
                Some(encode(Registry::builtin(), names::REVIEW_OUTCOME, &queued)?),
            ));
        }
    }
    let event = AuditEvent {
        checks: checks
            .iter()
            .map(|c| format!("{}:{}", c.check, c.severity.as_str()))
            .collect(),
        policy: Some(policy.to_owned()),
        ..super::copy_event(d, route, (ACTION_RECHECK, "recheck"), reason, now_ms)
    };
    outputs.push(out(
        topics.audit,
        Some(encode(Registry::builtin(), names::AUDIT_EVENT, &event)?),
    ));
    Ok(outputs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::inventory::tests::{approval, copy};
    use crate::schema::decode;

    fn finding(severity: CheckSeverity) -> CheckResult {
        CheckResult {
            check: "banned_term".into(),
            severity,
            message: "\"megadeal\" is banned".into(),
            span_start: Some(0),
            span_end: Some(8),
        }
    }

    #[test]
    fn the_worst_finding_decides_against_the_policys_thresholds() {
        let (h, r) = (CheckSeverity::Medium, CheckSeverity::High);
        assert_eq!(verdict(&[], h, r), Verdict::Pass);
        assert_eq!(verdict(&[finding(CheckSeverity::Low)], h, r), Verdict::Pass);
        assert_eq!(verdict(&[finding(CheckSeverity::Medium)], h, r), Verdict::Queue);
        assert_eq!(
            verdict(&[finding(CheckSeverity::Low), finding(CheckSeverity::Critical)], h, r),
            Verdict::TakeDown
        );
    }

    #[test]
    fn only_copy_approved_under_another_version_is_due_and_a_recheck_settles_it() {
        let mut inv = Inventory::default();
        let (old, new, unrecorded) = (
            copy("product_description", "A", "a"),
            copy("product_description", "B", "b"),
            copy("product_description", "C", "c"),
        );
        for d in [&old, &new, &unrecorded] {
            inv.approved(&d.subject_key, Some(d.clone()));
        }
        inv.audit(&approval(&old, "policy", 1)); // policy p1
        inv.audit(&AuditEvent {
            policy: Some("p2".into()),
            ..approval(&new, "policy", 1)
        });
        let keys =
            |inv: &Inventory| -> Vec<String> { due(inv, "p2").into_iter().map(|c| c.draft.subject_key).collect() };
        assert_eq!(keys(&inv), ["A", "C"]);

        let topics = Topics {
            approved: "appr",
            review: "rev",
            audit: "audit",
        };
        let outs = outputs(
            &old,
            Verdict::Queue,
            vec![finding(CheckSeverity::Medium)],
            topics,
            "p2",
            9,
        )
        .unwrap();
        assert_eq!(
            outs.iter().map(|o| o.topic.as_str()).collect::<Vec<_>>(),
            ["rev", "audit"]
        );
        let queued: ReviewOutcome = decode(
            Registry::builtin(),
            names::REVIEW_OUTCOME,
            outs[0].payload.as_deref().unwrap(),
        )
        .unwrap();
        assert!(queued.audit_sample && queued.draft.draft_id == "a");
        let e: AuditEvent = decode(
            Registry::builtin(),
            names::AUDIT_EVENT,
            outs[1].payload.as_deref().unwrap(),
        )
        .unwrap();
        assert!(e.is_lifecycle() && e.outcome == Route::Review && e.policy.as_deref() == Some("p2"));
        inv.audit(&e);
        let down = outputs(
            &unrecorded,
            Verdict::TakeDown,
            vec![finding(CheckSeverity::High)],
            topics,
            "p2",
            9,
        )
        .unwrap();
        assert_eq!((down[0].topic.as_str(), down[0].payload.is_none()), ("appr", true));
        inv.approved("C", None);
        assert!(keys(&inv).is_empty(), "queued and taken-down copies are settled");
        // A queued copy is still live, under the old approval's actor.
        let a = inv.live_copy("product_description", "A").unwrap();
        assert_eq!(a.provenance.unwrap().actor, "policy");
    }
}
