//! Retraction: taking a killed use case's live copy off the storefront. Copy a reviewer approved
//! stays (or comes back): a live copy the machine approved is replaced by the last copy of its
//! subject a reviewer approved, and taken down with a tombstone when there is none.

use super::inventory::Inventory;
use crate::runtime::Output;
use crate::schema::{
    ACTION_RECHECK, ACTION_RESTORE, ACTION_RETRACT, AuditEvent, CodecError, ContentDraft, Registry, Route, encode,
    names,
};

/// What a retraction does to one live copy.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Approved by a reviewer: it stays live.
    Keep(ContentDraft),
    /// Machine-approved; the last human-approved copy of the subject goes back up.
    Restore {
        /// The live copy taken off.
        live: ContentDraft,
        /// The copy put back.
        restored: Box<ContentDraft>,
    },
    /// Machine-approved, no human-approved copy to restore: a tombstone.
    TakeDown(ContentDraft),
}

/// The steps for every live copy of `use_case` (`None` = every use case), by use case and key.
pub fn plan(inv: &Inventory, use_case: Option<&str>) -> Vec<Step> {
    let mut live: Vec<_> = inv
        .live()
        .filter(|c| use_case.is_none_or(|u| c.draft.use_case == u))
        .collect();
    live.sort_by(|a, b| (&a.draft.use_case, &a.draft.subject_key).cmp(&(&b.draft.use_case, &b.draft.subject_key)));
    live.into_iter()
        .map(|c| {
            if c.provenance.as_ref().is_some_and(|p| p.is_human()) {
                return Step::Keep(c.draft);
            }
            match inv.last_human_approved(&c.draft.use_case, &c.draft.subject_key) {
                Some(h) => Step::Restore {
                    live: c.draft.clone(),
                    restored: Box::new(h.clone()),
                },
                None => Step::TakeDown(c.draft),
            }
        })
        .collect()
}

/// Counts of a retraction's steps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Tally {
    /// Taken down (tombstones).
    pub taken_down: u64,
    /// Replaced by the last human-approved copy.
    pub restored: u64,
    /// Human-approved copies left live.
    pub kept: u64,
}

impl Tally {
    /// Counts `steps`.
    pub fn of(steps: &[Step]) -> Self {
        let mut t = Tally::default();
        for s in steps {
            match s {
                Step::Keep(_) => t.kept += 1,
                Step::Restore { .. } => t.restored += 1,
                Step::TakeDown(_) => t.taken_down += 1,
            }
        }
        t
    }

    /// Adds another pass's counts (kept copies are counted by the last pass only).
    pub fn add(&mut self, pass: Tally) {
        self.taken_down += pass.taken_down;
        self.restored += pass.restored;
        self.kept = pass.kept;
    }
}

/// Retractions and re-checks per use case, folded from the audit topic for `galley report`.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Lifecycle {
    /// Copies taken down by a retraction.
    pub taken_down: u64,
    /// Copies put back in their place.
    pub restored: u64,
    /// Longest time from a kill switch to one of its retraction events, in seconds.
    pub max_seconds_after_kill: f64,
    /// Live copies re-checked under a new policy that passed.
    pub recheck_passed: u64,
    /// ... that were queued for a reviewer (still live until one decides).
    pub recheck_queued: u64,
    /// ... that were taken down.
    pub recheck_taken_down: u64,
}

impl Lifecycle {
    /// Adds one retraction or re-check event (others are ignored).
    pub fn record(&mut self, e: &AuditEvent) {
        match (e.action.as_deref(), e.outcome) {
            (Some(ACTION_RETRACT), _) => self.taken_down += 1,
            (Some(ACTION_RESTORE), _) => self.restored += 1,
            (Some(ACTION_RECHECK), Route::Approved) => return self.recheck_passed += 1,
            (Some(ACTION_RECHECK), Route::Review) => return self.recheck_queued += 1,
            (Some(ACTION_RECHECK), Route::Rejected) => return self.recheck_taken_down += 1,
            _ => return,
        }
        if let Some(killed) = e.source_event_ms {
            self.max_seconds_after_kill = self
                .max_seconds_after_kill
                .max((e.decided_ms - killed).max(0) as f64 / 1000.0);
        }
    }
}

/// Who retracts, why, and when the kill switch was flipped.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// `cli:<user>` or `console:<user>`.
    pub actor: &'a str,
    /// The kill switch's reason.
    pub reason: &'a str,
    /// When the kill switch was written.
    pub killed_ms: i64,
    /// Now.
    pub now_ms: i64,
}

/// The records a step writes: on `approved`, the tombstone or the restored copy; on `audit`, an
/// audit event saying so (`action` retract or restore; its `source_event_ms` is the kill's time,
/// so the time to retract is `decided_ms - source_event_ms`). `Keep` writes nothing.
pub fn outputs(step: &Step, approved: &str, audit: &str, cx: &Context<'_>) -> Result<Vec<Output>, CodecError> {
    let (live, value, event) = match step {
        Step::Keep(_) => return Ok(Vec::new()),
        Step::TakeDown(live) => (
            live,
            None,
            event(live, Route::Rejected, ACTION_RETRACT, cx, "taken down"),
        ),
        Step::Restore { live, restored } => (
            live,
            Some(encode(Registry::builtin(), names::CONTENT_DRAFT, restored)?),
            event(
                restored,
                Route::Approved,
                ACTION_RESTORE,
                cx,
                &format!("restored in place of {}", live.draft_id),
            ),
        ),
    };
    let key = Some(live.subject_key.as_bytes().to_vec());
    Ok(vec![
        Output {
            topic: approved.to_owned(),
            key: key.clone(),
            partition: None,
            payload: value,
            headers: Vec::new(),
        },
        Output {
            topic: audit.to_owned(),
            key,
            partition: None,
            payload: Some(encode(Registry::builtin(), names::AUDIT_EVENT, &event)?),
            headers: Vec::new(),
        },
    ])
}

fn event(d: &ContentDraft, outcome: Route, action: &str, cx: &Context<'_>, what: &str) -> AuditEvent {
    AuditEvent {
        source_event_ms: Some(cx.killed_ms),
        ..super::copy_event(
            d,
            outcome,
            (action, cx.actor),
            format!("kill switch, {what}: {}", cx.reason),
            cx.now_ms,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::inventory::tests::{approval, copy};
    use crate::schema::decode;

    /// `human` (live, reviewer-approved), `restorable` (machine copy over a reviewer's older one),
    /// `machine` (only machine copies), and a blurb of another use case.
    fn inventory() -> Inventory {
        let mut inv = Inventory::default();
        let uc = "product_description";
        let human = copy(uc, "human", "h1");
        let (old, new) = (copy(uc, "restorable", "r-old"), copy(uc, "restorable", "r-new"));
        let machine = copy(uc, "machine", "m1");
        let blurb = copy("homepage_blurb", "homepage_blurb:kitchen", "b1");
        for d in [&human, &old, &new, &machine, &blurb] {
            inv.approved(&d.subject_key, Some(d.clone()));
        }
        inv.audit(&approval(&human, "reviewer:ana", 1));
        inv.audit(&approval(&old, "reviewer:ana", 2));
        for d in [&new, &machine, &blurb] {
            inv.audit(&approval(d, "policy", 3));
        }
        inv
    }

    #[test]
    fn machine_copy_goes_human_copy_stays_or_comes_back() {
        let inv = inventory();
        let steps = plan(&inv, Some("product_description"));
        let ids: Vec<(&str, &str)> = steps
            .iter()
            .map(|s| match s {
                Step::Keep(d) => ("keep", d.draft_id.as_str()),
                Step::Restore { restored, .. } => ("restore", restored.draft_id.as_str()),
                Step::TakeDown(d) => ("down", d.draft_id.as_str()),
            })
            .collect();
        assert_eq!(ids, [("keep", "h1"), ("down", "m1"), ("restore", "r-old")]);
        assert_eq!(
            Tally::of(&steps),
            Tally {
                taken_down: 1,
                restored: 1,
                kept: 1
            }
        );
        assert_eq!(plan(&inv, None).len(), 4, "every use case");
    }

    #[test]
    fn retracting_leaves_no_machine_copy_live_and_a_second_pass_finds_nothing() {
        let mut inv = inventory();
        let cx = Context {
            actor: "cli:sre",
            reason: "bad copy",
            killed_ms: 100,
            now_ms: 160,
        };
        let steps = plan(&inv, Some("product_description"));
        for step in &steps {
            let out = outputs(step, "appr", "audit", &cx).unwrap();
            for o in &out {
                let key = String::from_utf8(o.key.clone().unwrap()).unwrap();
                let payload = o.payload.as_deref();
                if o.topic == "appr" {
                    inv.approved(
                        &key,
                        payload.map(|p| decode(Registry::builtin(), names::CONTENT_DRAFT, p).unwrap()),
                    );
                } else {
                    let e: AuditEvent = decode(Registry::builtin(), names::AUDIT_EVENT, payload.unwrap()).unwrap();
                    assert!(e.is_retraction());
                    assert_eq!(e.decided_ms - e.source_event_ms.unwrap(), 60);
                    inv.audit(&e);
                }
            }
        }
        let live: Vec<String> = inv
            .live()
            .filter(|c| c.draft.use_case == "product_description")
            .map(|c| c.draft.draft_id)
            .collect();
        let mut live = live;
        live.sort();
        assert_eq!(live, ["h1", "r-old"]);
        assert!(
            plan(&inv, Some("product_description"))
                .iter()
                .all(|s| matches!(s, Step::Keep(_))),
            "the restored copy keeps its reviewer's provenance"
        );
        assert!(inv.live_copy("homepage_blurb", "homepage_blurb:kitchen").is_some());
    }

    #[test]
    fn the_report_counts_retraction_events_and_the_time_from_the_kill() {
        let cx = Context {
            actor: "cli:sre",
            reason: "r",
            killed_ms: 1_000,
            now_ms: 3_500,
        };
        let mut r = Lifecycle::default();
        for step in plan(&inventory(), None) {
            for o in outputs(&step, "appr", "audit", &cx).unwrap() {
                if o.topic == "audit" {
                    r.record(&decode(Registry::builtin(), names::AUDIT_EVENT, o.payload.as_deref().unwrap()).unwrap());
                }
            }
        }
        r.record(&AuditEvent::sample(Route::Approved, 9_000));
        assert_eq!((r.taken_down, r.restored, r.max_seconds_after_kill), (2, 1, 2.5));
    }
}
