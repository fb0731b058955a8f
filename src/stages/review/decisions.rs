//! Human decisions: a reviewer approves, edits or rejects a queued draft. An edit is checked
//! again, and goes back to the queue (with the new findings) when it does not pass.
//!
//! An audit sample was published when it was queued, so approving it publishes nothing again,
//! and rejecting it takes it down (a tombstone on the approved topic) if it is still the live
//! copy of its subject; a newer approved copy stays.

use super::Review;
use crate::error::StageError;
use crate::policy::{Draft, edit_distance};
use crate::runtime::now_ms;
use crate::runtime::{Outcome, Output, Record};
use crate::schema::{DecisionAction, Registry, ReviewDecision, ReviewOutcome, RiskTier, Route, decode, names};

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
        Ok(outcome)
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
