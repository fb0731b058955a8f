//! The generate stage: catalog.validated → content.drafts (product descriptions, long-tail
//! first) and interactions.validated → content.drafts (support replies to questions and support
//! messages) and → interest profiles (views, searches, carts, purchases; [`profiles`]), from
//! which each segment's homepage blurb and email campaign are drafted; and content.refresh →
//! content.drafts (refresh waves of live product copy, [`refresh`]). A thin shell over
//! [`crate::generate`] and the model client; the fallback chain is in [`writer`].
//!
//! Outcomes (`galley_records_total{stage="generate",outcome}`): `drafted` (which generator wrote
//! it is on the draft and in `galley_drafts_total`), `aggregated` (folded into a profile, no new
//! copy), `skipped` (reasons in `galley_skipped_total`: `deleted`, `segment`, `disabled`,
//! `not_used` (an interaction nothing is written from), `popular` (more interactions than the
//! long-tail rule's `max_interactions`), and the rollout's
//! `rollout_off`, `not_in_canary`, `killed`), `dlq`
//! (undecodable, key mismatch, or the model refused and no fallback may stand in). When the model
//! is down and a use case allows no fallback, records wait and intake pauses; nothing is
//! dead-lettered for an outage.
//!
//! The rollout ([`crate::rollout`]) is asked for every record: a use case that is off, a key
//! outside its canary, or a killed use case gets no draft (and no model call). Shadow drafts are
//! written like live ones; the review stage keeps them off content.approved.

mod live;
mod profiles;
mod refresh;
mod writer;

pub use refresh::{REPLACES_HEADER, WAVE_HEADER};

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use thiserror::Error;

use crate::config::{GalleyConfig, GenerateConfig, KafkaConfig, ms};
use crate::error::StageError;
use crate::generate::interests::{self, SkuActivity};
use crate::generate::{DraftCache, Facts, PromptError, PromptSet, UseCase};
use crate::metrics::Metrics;
use crate::model::{ClientBuildError, ModelClient};
use crate::rollout::{Control, Disposition};
use crate::runtime::admin::{ensure_compacted_topic, topic_partitions};
use crate::runtime::breaker::CircuitBreaker;
use crate::runtime::table::{Apply, Table, follow_into, latest_by_key};
use crate::runtime::{Outcome, Output, Record, Stage, now_ms};
use crate::schema::{
    ContentDraft, ExperimentArm, InteractionEvent, InteractionKind, Registry, ValidatedProduct, decode, encode, names,
};
use profiles::Profiles;
use writer::Writer;

/// The generate stage could not be built from its configuration.
#[derive(Debug, Error)]
pub enum GenerateBuildError {
    /// A prompt file is missing or invalid.
    #[error(transparent)]
    Prompt(#[from] PromptError),
    /// The HTTP client could not be built.
    #[error(transparent)]
    Client(#[from] ClientBuildError),
}

/// The generate stage.
pub struct Generate {
    cfg: GenerateConfig,
    kafka: KafkaConfig,
    writer: Writer,
    products: OnceLock<Table<ValidatedProduct>>,
    /// Interactions per sku over the window, for the long-tail rule (`max_interactions`).
    activity: OnceLock<Table<SkuActivity>>,
    profiles: Option<Profiles>,
    control: Arc<Control>,
    /// Paces refresh requests (`refresh_per_second`).
    refresh_pace: governor::DefaultDirectRateLimiter,
    /// The `galley_content_*` gauges' task is started once, whatever `prepare` runs again.
    live_gauges: std::sync::Once,
    metrics: Metrics,
}

impl Generate {
    /// Builds the stage: loads the prompts of the runnable use cases and the model client.
    pub fn new(cfg: &GalleyConfig, metrics: Metrics) -> Result<Self, GenerateBuildError> {
        let g = &cfg.stages.generate;
        let use_cases: BTreeMap<UseCase, _> = g.runnable().into_iter().map(|(u, c)| (u, c.clone())).collect();
        let ids: Vec<String> = use_cases.values().map(|c| c.prompt.clone()).collect();
        let dir = g.prompts_dir.as_deref().filter(|d| !d.as_os_str().is_empty());
        let breaker = CircuitBreaker::new(
            "model",
            &cfg.runtime.breaker,
            metrics.breaker_state.with_label_values(&["model"]),
        );
        let writer = Writer {
            client: ModelClient::new(&cfg.model, metrics.clone())?,
            breaker,
            prompts: PromptSet::load(dir, &ids)?,
            cache: DraftCache::new(g.cache_capacity),
            budgets: Writer::budgets_of(&use_cases),
            use_cases,
            approved: Arc::new(OnceLock::new()),
            max_fact_chars: g.max_fact_chars,
            metrics: metrics.clone(),
        };
        Ok(Generate {
            cfg: g.clone(),
            kafka: cfg.kafka.clone(),
            writer,
            products: OnceLock::new(),
            activity: OnceLock::new(),
            profiles: Profiles::new(g, &cfg.kafka),
            control: Control::new(cfg, metrics.clone()),
            refresh_pace: crate::runtime::pacer(g.refresh_per_second),
            live_gauges: std::sync::Once::new(),
            metrics,
        })
    }

    /// What this stage writes with now, for the staleness of live copy.
    fn current(&self) -> crate::lifecycle::refresh::Current {
        let uc = &self.writer.use_cases;
        crate::lifecycle::refresh::Current {
            prompts: uc
                .iter()
                .map(|(u, c)| (u.as_str().to_owned(), c.prompt.clone()))
                .collect(),
            model: self.writer.client.model().to_owned(),
            policy: String::new(),
            max_age_days: uc
                .iter()
                .map(|(u, c)| (u.as_str().to_owned(), c.max_age_days))
                .collect(),
            now_ms: now_ms(),
        }
    }

    fn enabled(&self, u: UseCase) -> bool {
        self.writer.use_cases.contains_key(&u)
    }

    /// The rollout's skip reason for `key` of `u`, if it gets no draft now.
    fn held_back(&self, u: UseCase, key: &str) -> Option<&'static str> {
        match self.control.disposition(u.as_str(), key) {
            Disposition::Off(reason) => Some(reason),
            Disposition::Live | Disposition::Shadow => None,
        }
    }

    fn skipped(&self, reason: &'static str) -> Outcome {
        self.metrics.skipped.with_label_values(&["generate", reason]).inc();
        Outcome {
            label: "skipped",
            outputs: vec![],
        }
    }

    fn drafted(&self, record: &Record, draft: &ContentDraft) -> Result<Outcome, StageError> {
        Ok(Outcome {
            label: "drafted",
            outputs: vec![Output {
                topic: self.cfg.drafts.clone(),
                key: Some(draft.subject_key.clone().into_bytes()),
                partition: None,
                payload: Some(encode(Registry::builtin(), names::CONTENT_DRAFT, draft)?),
                headers: record.headers.clone(),
            }],
        })
    }

    async fn product(&self, record: &Record) -> Result<Outcome, StageError> {
        let Some(payload) = record.payload.as_deref() else {
            // The product left the catalog (quality's tombstone): nothing to write.
            return Ok(self.skipped("deleted"));
        };
        let p: ValidatedProduct = decode(Registry::builtin(), names::VALIDATED_PRODUCT, payload)?;
        if record.key.as_deref() != Some(p.sku.as_bytes()) {
            return Err(StageError::permanent(
                "key_mismatch",
                format!("record key {:?} is not the sku {:?}", record.key_str(), p.sku),
            ));
        }
        let Some(uc) = self.writer.use_cases.get(&UseCase::ProductDescription) else {
            return Ok(self.skipped("disabled"));
        };
        if !uc.segments.is_empty() && !uc.segments.contains(&p.segment) {
            return Ok(self.skipped("segment"));
        }
        if uc.max_interactions > 0 {
            let today = interests::day_of(now_ms());
            let window = self.cfg.interest_window_days;
            let seen = self
                .activity
                .get()
                .map_or(0, |t| t.with(&p.sku, |a| a.map_or(0, |a| a.within(today, window))));
            if seen >= uc.max_interactions {
                return Ok(self.skipped("popular"));
            }
        }
        if let Some(reason) = self.held_back(UseCase::ProductDescription, &p.sku) {
            let mut outcome = self.skipped(reason);
            if reason == "not_in_canary" {
                // In scope but outside the canary: the experiment's control arm, from now.
                let control = self.control.exposure(
                    UseCase::ProductDescription.as_str(),
                    &p.sku,
                    ExperimentArm::Control,
                    None,
                    now_ms(),
                )?;
                outcome.outputs.extend(control);
            }
            return Ok(outcome);
        }
        let draft = self.writer.write(&Facts::product_description(&p), now_ms()).await?;
        self.drafted(record, &draft)
    }

    async fn interaction(&self, record: &Record) -> Result<Outcome, StageError> {
        let payload = record.payload.as_deref().unwrap_or_default();
        let e: InteractionEvent = decode(Registry::builtin(), names::INTERACTION_EVENT, payload)?;
        if !matches!(e.kind, InteractionKind::Question | InteractionKind::SupportMessage) {
            return match &self.profiles {
                Some(profiles) if interests::counts(e.kind) => self.aggregate(profiles, record, &e).await,
                _ => Ok(self.skipped("not_used")),
            };
        }
        if !self.enabled(UseCase::SupportReply) {
            return Ok(self.skipped("disabled"));
        }
        if let Some(reason) = self.held_back(UseCase::SupportReply, &e.customer_id) {
            return Ok(self.skipped(reason));
        }
        let product = match (e.sku.as_deref(), self.products.get()) {
            (Some(sku), Some(table)) => table.with(sku, |p| p.cloned()),
            _ => None,
        };
        let facts = Facts::support_reply(&e, product.as_ref(), &self.cfg.known_answers);
        let draft = self.writer.write(&facts, now_ms()).await?;
        self.drafted(record, &draft)
    }
}

impl Stage for Generate {
    fn name(&self) -> &'static str {
        "generate"
    }

    fn input_topics(&self) -> Vec<String> {
        let mut topics = vec![self.cfg.catalog_input.clone()];
        if !self.cfg.interactions_input.is_empty() && (self.enabled(UseCase::SupportReply) || self.profiles.is_some()) {
            topics.push(self.cfg.interactions_input.clone());
        }
        if !self.cfg.refresh_input.is_empty() {
            topics.push(self.cfg.refresh_input.clone());
        }
        topics
    }

    /// Starts the tables (rollout overrides; approved content; interest profiles, created when
    /// missing; products for support replies and segments) and waits, bounded,
    /// until they have read their topics once, so the first records already see them.
    async fn prepare(&self) -> Result<(), String> {
        let timeout = ms(self.cfg.table_load_timeout_ms);
        self.control.start("generate-control", timeout).await?;
        if !self.cfg.approved.is_empty() {
            follow_into(
                &self.writer.approved,
                &self.kafka,
                ("generate-approved", &self.cfg.approved),
                || Arc::new(apply_approved),
                timeout,
                "Approved content not fully read yet; last_approved fallbacks may miss some until it is.",
            )
            .await;
            self.live_gauges.call_once(|| {
                let current = self.current();
                live::start(Arc::downgrade(&self.writer.approved), current, self.metrics.clone());
            });
        }
        let counted = self.writer.use_cases.values().any(|u| u.max_interactions > 0);
        if counted && !self.cfg.interactions_input.is_empty() {
            let window = self.cfg.interest_window_days;
            follow_into(
                &self.activity,
                &self.kafka,
                ("generate-activity", &self.cfg.interactions_input),
                || apply_activity(window),
                timeout,
                "Interactions not fully counted yet; some popular products may count as long-tail until they are.",
            )
            .await;
        }
        if let Some(p) = &self.profiles {
            let partitions = topic_partitions(&self.kafka, "generate-admin", &self.cfg.interactions_input)?
                .0
                .unwrap_or(1);
            let have = ensure_compacted_topic(&self.kafka, "generate-admin", &p.topic, partitions).await?;
            if have != partitions {
                return Err(format!(
                    "{} has {have} partitions but {} has {partitions}; a customer's profile lives on the partition \
                     number of its interactions, so they must match",
                    p.topic, self.cfg.interactions_input
                ));
            }
        }
        let topics = self.input_topics();
        if topics.contains(&self.cfg.interactions_input) || topics.contains(&self.cfg.refresh_input) {
            follow_into(
                &self.products,
                &self.kafka,
                ("generate-products", &self.cfg.catalog_input),
                || latest_by_key(names::VALIDATED_PRODUCT),
                timeout,
                "Products not fully read yet; support replies may lack product facts, and refresh requests may be skipped as no_product, until they are.",
            )
            .await;
        }
        Ok(())
    }

    async fn process(&self, record: &Record) -> Result<Outcome, StageError> {
        if record.topic == self.cfg.catalog_input {
            self.product(record).await
        } else if record.topic == self.cfg.interactions_input {
            self.interaction(record).await
        } else if record.topic == self.cfg.refresh_input {
            self.refresh(record).await
        } else {
            Err(StageError::permanent(
                "unexpected_topic",
                format!("the generate stage does not consume {}", record.topic),
            ))
        }
    }

    fn breakers(&self) -> Vec<CircuitBreaker> {
        vec![self.writer.breaker.clone()]
    }

    /// Interactions partitions assigned: their customers' profiles load in the background.
    fn on_assign(&self, assigned: &[crate::runtime::Assigned]) {
        if let Some(p) = &self.profiles {
            p.store.on_assign(&self.cfg.interactions_input, assigned);
        }
    }

    fn on_revoke(&self, revoked: &[(String, i32)]) {
        if let Some(p) = &self.profiles {
            p.store.on_revoke(&self.cfg.interactions_input, revoked);
        }
    }

    /// A tombstone on catalog.validated is the quality stage passing on a delete: the product
    /// is skipped as `deleted`, not dead-lettered (it already had its terminal outcome there).
    fn takes_tombstones(&self) -> bool {
        true
    }
}

/// Counts each interaction toward the sku it names (the table is keyed by sku, not by the
/// record's customer key).
fn apply_activity(window_days: i64) -> Arc<Apply<SkuActivity>> {
    Arc::new(move |map, _customer, value| {
        let Some(v) = value else { return };
        match decode::<InteractionEvent>(Registry::builtin(), names::INTERACTION_EVENT, v) {
            Ok(e) => {
                if let Some(sku) = e.sku.clone() {
                    map.entry(sku).or_default().record(&e, window_days);
                }
            }
            Err(error) => tracing::debug!(message = "Undecodable interaction in the activity table.", %error),
        }
    })
}

fn apply_approved(map: &mut std::collections::HashMap<String, Vec<ContentDraft>>, key: &str, value: Option<&[u8]>) {
    match value.map(|v| decode::<ContentDraft>(Registry::builtin(), names::CONTENT_DRAFT, v)) {
        None => {
            map.remove(key);
        }
        Some(Ok(d)) => {
            let drafts = map.entry(key.to_owned()).or_default();
            drafts.retain(|old| old.use_case != d.use_case);
            drafts.push(d);
        }
        Some(Err(error)) => tracing::debug!(message = "Undecodable approved draft in table.", key, %error),
    }
}

#[cfg(test)]
mod tests;
