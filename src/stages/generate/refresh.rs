//! Refresh requests (`galley refresh`): a live copy written again with what the stage writes
//! with now — its prompt version and model — through the same review path as any draft. Only
//! the model may write one (no template, no last-approved copy: the live copy stays until the
//! model writes a better one), at most `refresh_per_second`, and only while the use case has
//! spent less than `refresh_budget_share` of its daily budget, so a wave never starves new
//! products. Product descriptions are refreshable (their facts are the product's, looked up in
//! the validated catalog); the other use cases are written from events that a wave cannot
//! replay, and are skipped as `not_refreshable`.
//!
//! Outcomes: `drafted` or `skipped`, with `galley_refresh_total{use_case,outcome}`.

use super::Generate;
use crate::error::StageError;
use crate::generate::{Facts, UseCase};
use crate::runtime::{Outcome, Record, now_ms};
use crate::schema::{RefreshRequest, Registry, decode, names};

/// Header on a refresh's draft naming its wave, so the trail from request to outcome is visible.
pub const WAVE_HEADER: &str = "galley.refresh.wave";
/// Header on a refresh's draft naming the live copy it replaces (for `galley refresh --compare`).
pub const REPLACES_HEADER: &str = "galley.refresh.replaces";

impl Generate {
    pub(super) async fn refresh(&self, record: &Record) -> Result<Outcome, StageError> {
        let Some(payload) = record.payload.as_deref() else {
            return Ok(self.skipped("deleted"));
        };
        let r: RefreshRequest = decode(Registry::builtin(), names::REFRESH_REQUEST, payload)?;
        if record.key.as_deref() != Some(r.subject_key.as_bytes()) {
            return Err(StageError::permanent(
                "key_mismatch",
                format!(
                    "record key {:?} is not the subject {:?}",
                    record.key_str(),
                    r.subject_key
                ),
            ));
        }
        let skip = |reason: &'static str| {
            self.metrics.refresh.with_label_values(&[&r.use_case, reason]).inc();
            self.skipped(reason)
        };
        let Ok(UseCase::ProductDescription) = r.use_case.parse::<UseCase>() else {
            return Ok(skip("not_refreshable"));
        };
        let u = UseCase::ProductDescription;
        if !self.enabled(u) {
            return Ok(skip("disabled"));
        }
        if let Some(reason) = self.held_back(u, &r.subject_key) {
            return Ok(skip(reason));
        }
        let product = self.products.get().and_then(|t| t.with(&r.subject_key, |p| p.cloned()));
        let Some(product) = product else {
            return Ok(skip("no_product"));
        };
        if self.writer.budgets.used_ratio(u, now_ms()) >= self.cfg.refresh_budget_share {
            return Ok(skip("over_budget"));
        }
        self.refresh_pace.until_ready().await;
        // A prompt or model change misses the cache by itself; anything else asks for new text.
        let fresh = r.reasons.iter().any(|why| why != "prompt" && why != "model");
        let draft = self
            .writer
            .write_refresh(&Facts::product_description(&product), now_ms(), fresh)
            .await?;
        self.metrics.refresh.with_label_values(&[&r.use_case, "drafted"]).inc();
        let mut outcome = self.drafted(record, &draft)?;
        for out in &mut outcome.outputs {
            out.headers.push((WAVE_HEADER.to_owned(), r.wave.clone().into_bytes()));
            if let Some(old) = &r.live_draft_id {
                out.headers.push((REPLACES_HEADER.to_owned(), old.clone().into_bytes()));
            }
        }
        Ok(outcome)
    }
}

#[cfg(test)]
#[path = "refresh_tests.rs"]
mod tests;
