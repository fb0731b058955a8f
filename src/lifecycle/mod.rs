//! Content lifecycle: what is live on the approved topic and where it came from
//! ([`inventory`]), which of it a refresh wave writes again ([`refresh`]), and taking a killed
//! use case's copy off the storefront ([`retract`]), and checking live copy again under a new
//! review policy ([`recheck`]). Pure cores; `galley inventory`, `galley refresh`, `galley
//! control kill --retract` and the review stage are their shells ([`read`] reads the topics).

pub mod compare;
pub mod inventory;
pub mod read;
pub mod recheck;
pub mod refresh;
pub mod retract;
pub mod retraction;

pub use inventory::{Inventory, LiveCopy, Provenance};

use crate::schema::{AuditEvent, ContentDraft, Route};

/// An audit event about published copy `d` (a retraction or a re-check, never an outcome of
/// its draft): `action` by `actor` at `decided_ms`; no checks, no source time, no policy.
pub(crate) fn copy_event(
    d: &ContentDraft,
    outcome: Route,
    (action, actor): (&str, &str),
    reason: String,
    decided_ms: i64,
) -> AuditEvent {
    AuditEvent {
        draft_id: d.draft_id.clone(),
        use_case: d.use_case.clone(),
        subject_key: d.subject_key.clone(),
        outcome,
        actor: actor.to_owned(),
        action: Some(action.to_owned()),
        audit_sample: false,
        reason,
        model: d.model.clone(),
        prompt: d.prompt.clone(),
        generator: d.generator.as_str().to_owned(),
        checks: Vec::new(),
        cost_micros: 0,
        draft_created_ms: d.created_ms,
        source_event_ms: None,
        edit_distance: None,
        decided_ms,
        shadow: false,
        policy: None,
    }
}
