//! The content inventory: the live copy of every subject and use case (the latest record on the
//! approved topic, a tombstone taking it down), with the provenance its audit event gives — who
//! approved it, when, under which policy version — and the last copy a reviewer approved, the one
//! a retraction can put back.
//!
//! Fold the approved topic first ([`Inventory::approved`], in offset order per partition, as
//! Kafka delivers it), then the audit topic ([`Inventory::audit`]): provenance is kept only for
//! drafts the inventory holds, so memory is bounded by subjects × [`HISTORY`], not by the
//! length of the audit topic.

use std::collections::{HashMap, VecDeque};

use crate::schema::{ACTION_RECHECK, AuditEvent, ContentDraft, Route};

/// Earlier approved copies remembered per subject and use case, newest first; a restore looks for
/// the last human-approved one among them.
pub const HISTORY: usize = 8;

/// Who approved a copy, when, and under which policy (from its audit event).
#[derive(Debug, Clone, PartialEq)]
pub struct Provenance {
    /// `policy`, or `reviewer:<id>`.
    pub actor: String,
    /// When the approval was decided.
    pub approved_ms: i64,
    /// The review policy's version (`None` in audit events older than AuditEvent v3).
    pub policy: Option<String>,
}

impl Provenance {
    /// Whether a reviewer approved the copy (as written, edited, or as an audit sample).
    pub fn is_human(&self) -> bool {
        self.actor.starts_with("reviewer:")
    }
}

/// The live copy of one subject and use case.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveCopy {
    /// What storefronts show: text, prompt, model, generator, when it was drafted.
    pub draft: ContentDraft,
    /// Its approval, when the audit topic names it.
    pub provenance: Option<Provenance>,
}

#[derive(Debug, Default)]
struct Slot {
    /// Newest first; the first is live unless `down`.
    copies: VecDeque<ContentDraft>,
    /// Taken down by a tombstone after the newest copy.
    down: bool,
}

/// Live copies by use case and subject, folded from the approved and audit topics.
#[derive(Debug, Default)]
pub struct Inventory {
    slots: HashMap<(String, String), Slot>,
    /// Use cases with a copy under each subject: a tombstone is per key, so it takes down all.
    by_key: HashMap<String, Vec<String>>,
    provenance: HashMap<String, Provenance>,
    /// Audit events that named no draft of the inventory (older copies, other topics' drafts).
    unmatched_audit: u64,
}

impl Inventory {
    /// Applies one approved-topic record: a copy (`Some`) becomes the live one of its subject and
    /// use case; a tombstone (`None`) takes down every use case's copy of `key`.
    pub fn approved(&mut self, key: &str, draft: Option<ContentDraft>) {
        match draft {
            None => {
                for use_case in self.by_key.get(key).into_iter().flatten() {
                    if let Some(slot) = self.slots.get_mut(&(use_case.clone(), key.to_owned())) {
                        slot.down = true;
                    }
                }
            }
            Some(d) => {
                let use_cases = self.by_key.entry(key.to_owned()).or_default();
                if !use_cases.contains(&d.use_case) {
                    use_cases.push(d.use_case.clone());
                }
                let slot = self.slots.entry((d.use_case.clone(), key.to_owned())).or_default();
                slot.down = false;
                // The same draft again (a restore, a redelivery) moves to the front, once.
                slot.copies.retain(|c| c.draft_id != d.draft_id);
                slot.copies.push_front(d);
                slot.copies.truncate(HISTORY);
            }
        }
    }

    /// Applies one audit event: an approval of a draft the inventory holds gives it its
    /// provenance. A reviewer's approval outranks the policy's (an audit sample approved by
    /// both is human-approved); a retraction's events are not approvals.
    pub fn audit(&mut self, e: &AuditEvent) {
        if e.action.as_deref() == Some(ACTION_RECHECK) {
            return self.rechecked(e);
        }
        if e.outcome != Route::Approved || e.shadow || e.is_retraction() {
            return;
        }
        let known = self
            .slots
            .get(&(e.use_case.clone(), e.subject_key.clone()))
            .is_some_and(|s| s.copies.iter().any(|c| c.draft_id == e.draft_id));
        if !known {
            self.unmatched_audit += 1;
            return;
        }
        let p = Provenance {
            actor: e.actor.clone(),
            approved_ms: e.decided_ms,
            policy: e.policy.clone(),
        };
        match self.provenance.get(&e.draft_id) {
            Some(old) if old.is_human() && !p.is_human() => {}
            _ => {
                self.provenance.insert(e.draft_id.clone(), p);
            }
        }
    }

    /// A re-check under a new policy version: the copy's approval now stands under that
    /// version (whether it passed or was queued for a reviewer), so it is not checked again.
    fn rechecked(&mut self, e: &AuditEvent) {
        let Some(slot) = self.slots.get(&(e.use_case.clone(), e.subject_key.clone())) else {
            self.unmatched_audit += 1;
            return;
        };
        let Some(d) = slot.copies.iter().find(|c| c.draft_id == e.draft_id) else {
            self.unmatched_audit += 1;
            return;
        };
        let created_ms = d.created_ms;
        let p = self.provenance.entry(e.draft_id.clone()).or_insert_with(|| Provenance {
            actor: e.actor.clone(),
            approved_ms: created_ms,
            policy: None,
        });
        p.policy = e.policy.clone();
    }

    /// Every live copy (in no particular order).
    pub fn live(&self) -> impl Iterator<Item = LiveCopy> + '_ {
        self.slots
            .values()
            .filter(|s| !s.down)
            .filter_map(|s| s.copies.front())
            .map(|d| LiveCopy {
                draft: d.clone(),
                provenance: self.provenance.get(&d.draft_id).cloned(),
            })
    }

    /// The live copy of `subject` for `use_case`, if one is live.
    pub fn live_copy(&self, use_case: &str, subject: &str) -> Option<LiveCopy> {
        let slot = self.slots.get(&(use_case.to_owned(), subject.to_owned()))?;
        let d = slot.copies.front().filter(|_| !slot.down)?;
        Some(LiveCopy {
            draft: d.clone(),
            provenance: self.provenance.get(&d.draft_id).cloned(),
        })
    }

    /// The newest copy of `subject` for `use_case` that a reviewer approved, live or not.
    pub fn last_human_approved(&self, use_case: &str, subject: &str) -> Option<&ContentDraft> {
        self.slots
            .get(&(use_case.to_owned(), subject.to_owned()))?
            .copies
            .iter()
            .find(|c| self.provenance.get(&c.draft_id).is_some_and(Provenance::is_human))
    }

    /// Copy `draft_id` of `subject` for `use_case`, live or among the remembered earlier ones.
    pub fn copy(&self, use_case: &str, subject: &str, draft_id: &str) -> Option<&ContentDraft> {
        self.slots
            .get(&(use_case.to_owned(), subject.to_owned()))?
            .copies
            .iter()
            .find(|c| c.draft_id == draft_id)
    }

    /// Audit approvals that named no copy the inventory holds.
    pub fn unmatched_audit(&self) -> u64 {
        self.unmatched_audit
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::schema::GeneratorKind;

    /// A model-written copy `id` of `key`, prompt `<use_case>@1`, model `m1`.
    pub(crate) fn copy(use_case: &str, key: &str, id: &str) -> ContentDraft {
        ContentDraft {
            draft_id: id.into(),
            use_case: use_case.into(),
            subject_key: key.into(),
            locale: "en-IN".into(),
            text: format!("text of {id}"),
            title: None,
            model: Some("m1".into()),
            prompt: format!("{use_case}@1"),
            input_fingerprint: "f".into(),
            tokens_in: 100,
            tokens_out: 50,
            cost_micros: 7,
            latency_ms: 10,
            generator: GeneratorKind::Model,
            created_ms: 1_000,
        }
    }

    /// `actor`'s approval of `d` at `at` under policy `p1`.
    pub(crate) fn approval(d: &ContentDraft, actor: &str, at: i64) -> AuditEvent {
        AuditEvent {
            draft_id: d.draft_id.clone(),
            use_case: d.use_case.clone(),
            subject_key: d.subject_key.clone(),
            actor: actor.into(),
            policy: Some("p1".into()),
            ..AuditEvent::sample(Route::Approved, at)
        }
    }

    #[test]
    fn the_newest_copy_is_live_with_its_approval() {
        let mut inv = Inventory::default();
        let (a, b) = (
            copy("product_description", "S1", "a"),
            copy("product_description", "S1", "b"),
        );
        inv.approved("S1", Some(a.clone()));
        inv.approved("S1", Some(b.clone()));
        inv.audit(&approval(&a, "reviewer:ana", 5));
        inv.audit(&approval(&b, "policy", 9));
        let live: Vec<LiveCopy> = inv.live().collect();
        assert_eq!(live.len(), 1);
        assert_eq!(live[0].draft.draft_id, "b");
        let p = live[0].provenance.as_ref().unwrap();
        assert_eq!(
            (p.actor.as_str(), p.approved_ms, p.policy.as_deref()),
            ("policy", 9, Some("p1"))
        );
        assert_eq!(
            inv.last_human_approved("product_description", "S1").unwrap().draft_id,
            "a"
        );
    }

    #[test]
    fn a_tombstone_takes_every_use_case_of_its_key_down_until_a_new_copy() {
        let mut inv = Inventory::default();
        inv.approved("S1", Some(copy("product_description", "S1", "a")));
        inv.approved("S2", Some(copy("product_description", "S2", "c")));
        inv.approved("S1", None);
        assert_eq!(inv.live().count(), 1);
        assert!(inv.live_copy("product_description", "S1").is_none());
        inv.approved("S1", Some(copy("product_description", "S1", "a")));
        assert_eq!(inv.live_copy("product_description", "S1").unwrap().draft.draft_id, "a");
        assert_eq!(inv.live().count(), 2);
    }

    #[test]
    fn a_reviewers_approval_outranks_the_policys_and_retractions_are_no_approvals() {
        let mut inv = Inventory::default();
        let a = copy("product_description", "S1", "a");
        inv.approved("S1", Some(a.clone()));
        inv.audit(&approval(&a, "reviewer:ana", 5));
        // An audit sample's policy approval arriving later does not hide the reviewer's.
        inv.audit(&approval(&a, "policy", 3));
        let restore = AuditEvent {
            action: Some(crate::schema::ACTION_RESTORE.into()),
            ..approval(&a, "cli:sre", 20)
        };
        inv.audit(&restore);
        let p = inv.live_copy("product_description", "S1").unwrap().provenance.unwrap();
        assert_eq!((p.actor.as_str(), p.approved_ms), ("reviewer:ana", 5));
    }

    #[test]
    fn history_is_bounded_and_audit_of_unknown_drafts_is_counted_not_kept() {
        let mut inv = Inventory::default();
        for i in 0..(HISTORY + 5) {
            inv.approved("S1", Some(copy("product_description", "S1", &format!("d{i}"))));
        }
        let oldest = copy("product_description", "S1", "d0");
        inv.audit(&approval(&oldest, "reviewer:ana", 1));
        assert_eq!(inv.unmatched_audit(), 1, "d0 fell out of the history");
        assert!(inv.last_human_approved("product_description", "S1").is_none());
        assert!(inv.provenance.is_empty());
    }

    #[test]
    fn use_cases_of_one_key_are_separate_copies() {
        let mut inv = Inventory::default();
        inv.approved("k", Some(copy("product_description", "k", "a")));
        inv.approved("k", Some(copy("homepage_blurb", "k", "b")));
        assert_eq!(inv.live().count(), 2);
        assert_eq!(inv.live_copy("homepage_blurb", "k").unwrap().draft.draft_id, "b");
    }
}
