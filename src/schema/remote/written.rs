//! Which record types Galley writes to which topics: what activation registers.

use crate::config::GalleyConfig;

/// The `(topic, schema name)` pairs Galley's stages, console and control commands write; with
/// `inputs`, also the upstream topics (for `galley publish`).
pub fn written(cfg: &GalleyConfig, inputs: bool) -> Vec<(String, &'static str)> {
    use crate::schema::names::*;
    let (q, g, r, e) = (
        &cfg.stages.quality,
        &cfg.stages.generate,
        &cfg.stages.review,
        &cfg.stages.experiment,
    );
    let mut out = vec![
        (q.validated.clone(), VALIDATED_PRODUCT),
        (q.needs_enrichment.clone(), VALIDATED_PRODUCT),
        (q.interactions_validated.clone(), INTERACTION_EVENT),
        (q.interactions_needs_enrichment.clone(), INTERACTION_EVENT),
        (g.drafts.clone(), CONTENT_DRAFT),
        (g.profiles.clone(), INTEREST_PROFILE),
        (g.refresh_input.clone(), REFRESH_REQUEST),
        (r.approved.clone(), CONTENT_DRAFT),
        (r.review.clone(), REVIEW_OUTCOME),
        (r.rejected.clone(), REVIEW_OUTCOME),
        (r.shadow.clone(), REVIEW_OUTCOME),
        (r.audit.clone(), AUDIT_EVENT),
        (r.audit.clone(), CONSOLE_ACTION),
        (r.decisions.clone(), REVIEW_DECISION),
        (cfg.topics.control.clone(), ROLLOUT_CONTROL),
        (cfg.topics.experiment.clone(), EXPERIMENT_EXPOSURE),
        (e.by_sku.clone(), INTERACTION_EVENT),
        (e.state.clone(), EXPERIMENT_UNIT),
        (e.summaries.clone(), EXPERIMENT_SUMMARY),
    ];
    if inputs {
        out.push((q.catalog_input.clone(), CATALOG_CHANGE));
        out.push((q.interactions_input.clone(), INTERACTION_EVENT));
    }
    out.retain(|(topic, _)| !topic.is_empty());
    out.sort();
    out.dedup();
    out
}

/// Whether `name` is the main record type of the topics it is written to (the audit topic also
/// carries console actions, which a topic-name subject cannot hold beside the audit events).
pub(super) fn primary(name: &str) -> bool {
    name != crate::schema::names::CONSOLE_ACTION
}
