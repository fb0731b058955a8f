//! Human decisions: a reviewer approves, edits or rejects a queued draft. An edit is checked
//! again, and goes back to the queue (with the new findings) when it does not pass.
//!
//! The first decision of a queued draft wins: a decided draft is written back to the queue
//! topic as decided (route approved or rejected, no audit sample), so a later or conflicting
//! decision, also after a restart, is refused (`skipped`, reason `decision_refused`, with a
//! `decision_refused` ConsoleAction on the audit topic). So is a decision by a name that is no
//! console account, and, when decisions are signed, one without a valid signature.
//!
//! An audit sample was published when it was queued, so approving it publishes nothing again,
//! and rejecting it takes it down (a tombstone on the approved topic) if it is still the live
//! copy of its subject; a newer approved copy stays.

use super::{Review, signature};
use crate::error::StageError;
use crate::printable::printable;
use crate::review::{Draft, edit_distance};
use crate::runtime::now_ms;
use crate::runtime::{Outcome, Output, Record};
use crate::schema::{
    ConsoleAction, DecisionAction, Registry, ReviewDecision, ReviewOutcome, RiskTier, Route, decode, names,
};

/// Whether a queue entry is the written-back record of a decided draft rather than one waiting
/// for a human (a draft for review, or an auto-approved audit sample).
pub fn is_decided(o: &ReviewOutcome) -> bool {
    o.route != Route::Review && !o.audit_sample
}

impl Review {
    pub(super) fn decision(&self, record: &Record) -> Result<Outcome, StageError> {
        let payload = record.payload.as_deref().unwrap_or_default();
        let d: ReviewDecision = decode(Registry::builtin(), names::REVIEW_DECISION, payload)?;
        let key = record.key_str();
        let queued = self
            .queue
            .get()
            .and_then(|q| q.with(&key, |os| os?.iter().find(|o| o.draft.draft_id == d.draft_id).cloned()));
        let Some(mut o) = queued else {
            // The queue table may not have caught up with the draft yet: retried with backoff,
            // then dead-lettered for a replay once it is there.
            return Err(StageError::retryable(
                "unknown_draft",
                format!("no queued draft {} for {key:?}", d.draft_id),
            ));
        };
        if let Some(why) = self.refusal(record, &key, &d, &o) {
            return self.refuse(record, &key, &d, why);
        }
        let queued_ms = o.decided_ms;
        let product = self.product(&o.draft);
        let actor = format!("reviewer:{}", d.reviewer);
        let mut distance = None;
        o.decided_ms = now_ms();
        match d.action {
            DecisionAction::Approve => {
                (o.tier, o.route) = (RiskTier::Auto, Route::Approved);
                o.reason = d.reason.clone().unwrap_or_else(|| "approved by a reviewer".into());
            }
            DecisionAction::Reject => {
                (o.tier, o.route) = (RiskTier::Reject, Route::Rejected);
                o.reason = d.reason.clone().unwrap_or_else(|| "rejected by a reviewer".into());
            }
            DecisionAction::Edit => {
                let Some(text) = d.edited_text.clone().filter(|t| !t.trim().is_empty()) else {
                    return Err(StageError::permanent(
                        "edit_without_text",
                        format!("decision on {} is an edit without edited text", d.draft_id),
                    ));
                };
                distance = Some(edit_distance(&o.draft.text, &text));
                o.draft.text = text;
                o.checks = self.checker.check(&Draft {
                    use_case: &o.draft.use_case,
                    text: &o.draft.text,
                    title: o.draft.title.as_deref(),
                    product: product.as_ref(),
                    locale: &o.draft.locale,
                    generator: o.draft.generator,
                    id: &o.draft.draft_id,
                    known_answers: &self.known_answers,
                });
                let human_at = self.checker.config().risk.human_at;
                match o
                    .checks
                    .iter()
                    .filter(|c| c.severity >= human_at)
                    .max_by_key(|c| c.severity)
                {
                    Some(worst) => {
                        (o.tier, o.route) = (RiskTier::Human, Route::Review);
                        o.reason = format!("the edit failed the checks: {}: {}", worst.check, worst.message);
                    }
                    None => {
                        (o.tier, o.route) = (RiskTier::Auto, Route::Approved);
                        o.reason = d
                            .reason
                            .clone()
                            .unwrap_or_else(|| "edited and approved by a reviewer".into());
                    }
                }
            }
        }
        let audit = self.audit_event(&o, &actor, Some(d.action.as_str()), distance, product.as_ref());
        let mut outcome = self.route(record, &o, audit)?;
        if o.audit_sample {
            self.settle_audit_sample(&o, d.action, &mut outcome);
        }
        if o.route != Route::Review {
            // Decided: the queue says so from now on, for every instance and after restarts.
            let decided = ReviewOutcome {
                audit_sample: false,
                ..o.clone()
            };
            let marker = self.output(record, &self.cfg.review, &key, names::REVIEW_OUTCOME, &decided)?;
            outcome.outputs.push(marker);
            self.recent
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .put((key.clone(), d.draft_id.clone()), queued_ms);
        }
        Ok(outcome)
    }

    /// Why decision `d` on queued outcome `o` must not apply, if it must not.
    fn refusal(&self, record: &Record, key: &str, d: &ReviewDecision, o: &ReviewOutcome) -> Option<String> {
        if let Some(k) = &self.decision_key {
            let signature = record.header(signature::HEADER).unwrap_or_default();
            if !k.verify(key, d, signature) {
                return Some("the decision is not signed by the console (stages.review.decision_key_env)".into());
            }
        }
        if !self.accounts.is_empty() && !self.accounts.contains(&d.reviewer) {
            return Some(format!("{} is not a console account", printable(&d.reviewer, 64)));
        }
        let decided = is_decided(o)
            || self
                .recent
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&(key.to_owned(), d.draft_id.clone()))
                == Some(&o.decided_ms);
        decided.then(|| format!("draft {} was already decided", d.draft_id))
    }

    /// Ends a refused decision: skipped, with a ConsoleAction saying why on the audit topic.
    fn refuse(&self, record: &Record, key: &str, d: &ReviewDecision, why: String) -> Result<Outcome, StageError> {
        tracing::warn!(
            message = "Decision refused.",
            draft_id = d.draft_id,
            reviewer = printable(&d.reviewer, 64),
            why
        );
        self.metrics
            .skipped
            .with_label_values(&["review", "decision_refused"])
            .inc();
        let action = ConsoleAction {
            user: printable(&d.reviewer, 64),
            action: "decision_refused".into(),
            target: d.draft_id.clone(),
            detail: format!("{} refused: {why}", d.action.as_str()),
            time_ms: now_ms(),
        };
        let audit = self.output(record, &self.cfg.audit, key, names::CONSOLE_ACTION, &action)?;
        Ok(Outcome {
            label: "skipped",
            outputs: vec![audit],
        })
    }

    fn settle_audit_sample(&self, o: &ReviewOutcome, action: DecisionAction, outcome: &mut Outcome) {
        let approved = &self.cfg.approved;
        // `route` queued an approved sample again; a decided one leaves the queue.
        outcome
            .outputs
            .retain(|out| out.topic != self.cfg.review || o.route == Route::Review);
        match (o.route, action) {
            (Route::Approved, DecisionAction::Approve) => outcome.outputs.retain(|out| out.topic != *approved),
            (Route::Rejected, _) => {
                let key = &o.draft.subject_key;
                let live = self
                    .live
                    .get()
                    .and_then(|t| t.with(key, |d| d.map(|d| d.draft_id.clone())));
                if live.as_deref() == Some(o.draft.draft_id.as_str()) {
                    outcome.outputs.push(Output {
                        topic: approved.clone(),
                        key: Some(key.as_bytes().to_vec()),
                        partition: None,
                        payload: None,
                        headers: Vec::new(),
                    });
                } else {
                    tracing::info!(
                        message = "A rejected audit sample is no longer the live copy; nothing taken down.",
                        draft_id = o.draft.draft_id,
                        key,
                        live
                    );
                }
            }
            _ => {}
        }
    }
}
