//! Any bytes, decoded as each Galley schema: an error or a value, never a panic or a hang.
#![no_main]

use galley::schema::{self, Registry, names};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let r = Registry::builtin();
    let _ = schema::decode::<schema::CatalogChange>(r, names::CATALOG_CHANGE, data);
    let _ = schema::decode::<schema::ValidatedProduct>(r, names::VALIDATED_PRODUCT, data);
    let _ = schema::decode::<schema::InteractionEvent>(r, names::INTERACTION_EVENT, data);
    let _ = schema::decode::<schema::ContentDraft>(r, names::CONTENT_DRAFT, data);
    let _ = schema::decode::<schema::ReviewOutcome>(r, names::REVIEW_OUTCOME, data);
    let _ = schema::decode::<schema::ReviewDecision>(r, names::REVIEW_DECISION, data);
    let _ = schema::decode::<schema::AuditEvent>(r, names::AUDIT_EVENT, data);
    let _ = schema::decode::<schema::RolloutControl>(r, names::ROLLOUT_CONTROL, data);
});
