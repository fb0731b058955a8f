//! The review stage: content.drafts → content.approved | content.review | content.rejected by
//! the automated checks and the risk policy ([`crate::review`]), and content.decisions (a
//! reviewer's approve / edit / reject) → approved | rejected, an edit being checked again first.
//! Every outcome is also an `AuditEvent` on galley.audit, and the success metrics are kept
//! current as `galley_success_metric{use_case,metric}`.
//!
//! Outcomes (`galley_records_total{stage="review",outcome}`): `approved`, `review`, `rejected`,
//! `shadow`, `dlq` (undecodable; a decision for a draft never queued, after retries).
//!
//! **Rollout.** A draft of a use case that is not live for its key now (shadow, off, outside the
//! canary, killed: [`crate::rollout`]) is checked and routed as usual, but the outcome goes to
//! `shadow` only, never to approved or the review queue; its audit event says `shadow`. The
//! declared success metrics are watched over their windows, and when one breaches its
//! threshold while the use case is live, the stage halts it: an override to shadow on
//! galley.control, applied here at once and by every other stage as it reads it.

mod decisions;
pub use decisions::is_decided;
pub mod judge;
mod recheck;
pub mod signature;

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, OnceLock};

use thiserror::Error;

use crate::config::{GalleyConfig, KafkaConfig, ReviewConfig, ms};
use crate::error::StageError;
use crate::metrics::Metrics;
use crate::review::{Checker, Draft, PolicyConfig, PolicyError, SuccessBook};
use crate::rollout::halt::HaltWatch;
use crate::rollout::{Control, Disposition};
use crate::runtime::table::{Apply, Table, follow_into, latest_by_key};
use crate::runtime::{Outcome, Output, Record, Stage, now_ms};
use crate::schema::{
    AuditEvent, ContentDraft, ExperimentArm, Registry, ReviewOutcome, RolloutControl, RolloutMode, Route,
    ValidatedProduct, decode, encode, names,
};

/// Queue entries remembered per subject for decisions; older ones were decided long ago.
const QUEUE_PER_SUBJECT: usize = 16;

/// Decisions remembered by [`Review::recent`]; the table catches up within a second.
const RECENT_DECISIONS: std::num::NonZeroUsize = std::num::NonZeroUsize::new(4096).unwrap();

/// The review stage could not be built from its configuration.
#[derive(Debug, Error)]
pub enum ReviewBuildError {
    /// The policy file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The policy file is invalid.
    #[error("{path}: {source}")]
    Policy {
        /// The file.
        path: String,
        /// What is wrong.
        source: PolicyError,
    },
    /// The judge's model client could not be built.
    #[error("stages.review.judge: {0}")]
    Judge(#[from] crate::model::ClientBuildError),
}

/// The review stage.
pub struct Review {
    cfg: ReviewConfig,
    kafka: KafkaConfig,
    checker: Arc<Checker>,
    products: Arc<OnceLock<Table<ValidatedProduct>>>,
    /// Whether this process started the re-check of live copy (once, on partition 0 of drafts).
    recheck_started: AtomicBool,
    /// Stops the re-check task when the stage goes.
    recheck_stop: Arc<AtomicBool>,
    queue: OnceLock<Table<Vec<ReviewOutcome>>>,
    /// What storefronts have now, by subject: a rejected audit sample is taken down only if it
    /// is still the live copy.
    live: OnceLock<Table<ContentDraft>>,
    book: Mutex<SuccessBook>,
    control: Arc<Control>,
    halt: Mutex<HaltWatch>,
    /// The model-based second line (`[stages.review.judge]`), when on.
    judge: Option<judge::Judge>,
    /// Names of the console's accounts: a decision by any other name is refused (when any
    /// account is configured).
    accounts: Vec<String>,
    /// Decisions must carry a valid signature when a key is configured.
    decision_key: Option<signature::DecisionKey>,
    /// Drafts decided by this instance lately, by (subject, draft id), with the time they were
    /// queued: the queue table shows the decision only once it has read it back.
    recent: Mutex<lru::LruCache<(String, String), i64>>,
    /// The shop's known answers (`stages.generate.known_answers`): what support replies may
    /// promise.
    known_answers: Vec<String>,
    metrics: Metrics,
}

impl Review {
    /// Builds the stage; fails on an unreadable or invalid policy file.
    pub fn new(cfg: &GalleyConfig, metrics: Metrics) -> Result<Self, ReviewBuildError> {
        let r = &cfg.stages.review;
        let policy = match r.policy_file.as_ref().filter(|p| !p.as_os_str().is_empty()) {
            None => PolicyConfig::builtin(),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ReviewBuildError::Read {
                    path: path.display().to_string(),
                    source,
                })?;
                PolicyConfig::parse(&text).map_err(|source| ReviewBuildError::Policy {
                    path: path.display().to_string(),
                    source,
                })?
            }
        };
        Ok(Review {
            cfg: r.clone(),
            kafka: cfg.kafka.clone(),
            checker: Arc::new(Checker::new(policy)),
            judge: judge::Judge::new(&r.judge, &cfg.runtime.breaker, &metrics)?,
            products: Arc::new(OnceLock::new()),
            recheck_started: AtomicBool::new(false),
            recheck_stop: Arc::new(AtomicBool::new(false)),
            queue: OnceLock::new(),
            live: OnceLock::new(),
            book: Mutex::new(SuccessBook::default()),
            control: Control::new(cfg, metrics.clone()),
            halt: Mutex::new(HaltWatch::default()),
            accounts: cfg.console.accounts.iter().map(|a| a.user.clone()).collect(),
            decision_key: signature::DecisionKey::from_env(&r.decision_key_env),
            recent: Mutex::new(lru::LruCache::new(RECENT_DECISIONS)),
            known_answers: cfg.stages.generate.known_answers.clone(),
            metrics,
        })
    }

    fn product(&self, draft: &ContentDraft) -> Option<ValidatedProduct> {
        // Only product copy is about the subject's own record; a support reply is keyed by customer.
        if draft.use_case != "product_description" {
            return None;
        }
        self.products.get()?.with(&draft.subject_key, |p| p.cloned())
    }

    async fn draft(&self, record: &Record) -> Result<Outcome, StageError> {
        let payload = record.payload.as_deref().unwrap_or_default();
        let draft: ContentDraft = decode(Registry::builtin(), names::CONTENT_DRAFT, payload)?;
        let product = self.product(&draft);
        let d = Draft {
            use_case: &draft.use_case,
            text: &draft.text,
            title: draft.title.as_deref(),
            product: product.as_ref(),
            locale: &draft.locale,
            generator: draft.generator,
            id: &draft.draft_id,
            known_answers: &self.known_answers,
        };
        let (checks, decision) = judge::review(&self.checker, self.judge.as_ref(), &d).await;
        let outcome = ReviewOutcome {
            draft,
            checks,
            tier: decision.tier,
            route: decision.route,
            reason: decision.reason,
            audit_sample: decision.audit_sample,
            decided_ms: now_ms(),
        };
        let audit = self.audit_event(&outcome, "policy", None, None, product.as_ref());
        self.route(record, &outcome, audit)
    }

    /// The outputs of a routed outcome: the route's topic, the audit sample's queue copy, and
    /// the audit event (or, when the use case is not live for the key, the shadow copy and the
    /// audit event); updates the success metrics, and halts the use case when one breaches.
    fn route(&self, record: &Record, o: &ReviewOutcome, mut audit: AuditEvent) -> Result<Outcome, StageError> {
        let key = &o.draft.subject_key;
        let mut outputs = Vec::with_capacity(4);
        let live = self.control.disposition(&o.draft.use_case, key) == Disposition::Live;
        let label = if !live {
            audit.shadow = true;
            outputs.push(self.output(record, &self.cfg.shadow, key, names::REVIEW_OUTCOME, o)?);
            "shadow"
        } else {
            match o.route {
                Route::Approved => {
                    outputs.push(self.output(record, &self.cfg.approved, key, names::CONTENT_DRAFT, &o.draft)?);
                    let treated = Some(o.draft.draft_id.as_str());
                    let exposure =
                        self.control
                            .exposure(&o.draft.use_case, key, ExperimentArm::Treatment, treated, now_ms())?;
                    outputs.extend(exposure);
                    if o.audit_sample {
                        outputs.push(self.output(record, &self.cfg.review, key, names::REVIEW_OUTCOME, o)?);
                    }
                }
                Route::Review => outputs.push(self.output(record, &self.cfg.review, key, names::REVIEW_OUTCOME, o)?),
                Route::Rejected => {
                    outputs.push(self.output(record, &self.cfg.rejected, key, names::REVIEW_OUTCOME, o)?);
                }
            }
            o.route.as_str()
        };
        outputs.push(self.output(record, &self.cfg.audit, key, names::AUDIT_EVENT, &audit)?);
        self.count(&audit);
        if let Some(halt) = self.watch(&audit) {
            outputs.push(self.control.output(&halt)?);
        }
        Ok(Outcome { label, outputs })
    }

    /// Feeds the auto-halt windows; returns the override to produce when a declared metric has
    /// just breached while the use case is live (it is applied here at once, under the lock, so
    /// concurrent records halt it once).
    fn watch(&self, audit: &AuditEvent) -> Option<RolloutControl> {
        let targets = self.control.declared(&audit.use_case);
        if targets.is_empty() {
            return None;
        }
        let mut watch = self.halt.lock().unwrap_or_else(|p| p.into_inner());
        let breach = watch.record(audit, targets)?;
        let now = self.control.effective(&audit.use_case);
        if now.killed || now.mode <= RolloutMode::Shadow {
            return None;
        }
        let own = now.overridden_by.filter(|o| o.use_case == audit.use_case);
        let halt = RolloutControl {
            use_case: audit.use_case.clone(),
            mode: Some(RolloutMode::Shadow),
            canary_percent: own.as_ref().and_then(|o| o.canary_percent),
            killed: false,
            source: "auto_halt".into(),
            actor: "stage:review".into(),
            reason: breach.reason(),
            time_ms: now_ms(),
        };
        tracing::warn!(
            message = "Auto-halt: the use case drops to shadow.",
            use_case = audit.use_case,
            reason = halt.reason
        );
        self.metrics
            .rollout_halts
            .with_label_values(&[&audit.use_case, &breach.metric])
            .inc();
        self.control.wrote(halt.clone());
        watch.reset(&audit.use_case);
        Some(halt)
    }

    fn count(&self, audit: &AuditEvent) {
        let mut book = self.book.lock().unwrap_or_else(|p| p.into_inner());
        for (metric, value) in book.record(audit).metrics() {
            self.metrics
                .success
                .with_label_values(&[&audit.use_case, metric])
                .set(value);
        }
    }

    fn audit_event(
        &self,
        o: &ReviewOutcome,
        actor: &str,
        action: Option<&str>,
        edit_distance: Option<f64>,
        product: Option<&ValidatedProduct>,
    ) -> AuditEvent {
        let d = &o.draft;
        AuditEvent {
            draft_id: d.draft_id.clone(),
            use_case: d.use_case.clone(),
            subject_key: d.subject_key.clone(),
            outcome: o.route,
            actor: actor.to_owned(),
            action: action.map(str::to_owned),
            audit_sample: o.audit_sample,
            reason: o.reason.clone(),
            model: d.model.clone(),
            prompt: d.prompt.clone(),
            generator: d.generator.as_str().to_owned(),
            checks: o
                .checks
                .iter()
                .map(|c| format!("{}:{}", c.check, c.severity.as_str()))
                .collect(),
            cost_micros: d.cost_micros,
            draft_created_ms: d.created_ms,
            source_event_ms: product.map(|p| p.event_time_ms),
            edit_distance,
            decided_ms: o.decided_ms,
            shadow: false,
            policy: Some(self.checker.config().version().to_owned()),
        }
    }

    fn output<T: serde::Serialize>(
        &self,
        record: &Record,
        topic: &str,
        key: &str,
        schema: &str,
        value: &T,
    ) -> Result<Output, StageError> {
        Ok(Output {
            topic: topic.to_owned(),
            key: Some(key.as_bytes().to_vec()),
            partition: None,
            payload: Some(encode(Registry::builtin(), schema, value)?),
            headers: record.headers.clone(),
        })
    }
}

/// The review queue by subject: the latest outcomes queued for a human, by draft id (also the
/// reviewer console's view of content.review).
pub fn apply_queued() -> Arc<Apply<Vec<ReviewOutcome>>> {
    Arc::new(|map, key, value| {
        let Some(v) = value else {
            map.remove(key);
            return;
        };
        match decode::<ReviewOutcome>(Registry::builtin(), names::REVIEW_OUTCOME, v) {
            Ok(o) => {
                let q = map.entry(key.to_owned()).or_default();
                q.retain(|old| old.draft.draft_id != o.draft.draft_id);
                q.push(o);
                if q.len() > QUEUE_PER_SUBJECT {
                    q.remove(0);
                }
            }
            Err(error) => tracing::debug!(message = "Undecodable review outcome in the queue table.", key, %error),
        }
    })
}

impl Stage for Review {
    fn name(&self) -> &'static str {
        "review"
    }

    fn input_topics(&self) -> Vec<String> {
        let mut topics = vec![self.cfg.drafts.clone()];
        if !self.cfg.decisions.is_empty() {
            topics.push(self.cfg.decisions.clone());
        }
        topics
    }

    /// Starts following the rollout overrides and the product table (claims are checked against it), and for decisions the
    /// review-queue table (a decision names a queued draft) and the approved copy (a rejected
    /// audit sample is taken down), and waits, bounded, for them to read their topics once.
    async fn prepare(&self) -> Result<(), String> {
        let timeout = ms(self.cfg.table_load_timeout_ms);
        self.control.start("review-control", timeout).await?;
        if !self.cfg.products.is_empty() {
            follow_into(
                &self.products,
                &self.kafka,
                ("review-products", &self.cfg.products),
                || latest_by_key(names::VALIDATED_PRODUCT),
                timeout,
                "Products not fully read yet; some claims are unchecked until they are.",
            )
            .await;
        }
        if !self.cfg.decisions.is_empty() {
            follow_into(
                &self.queue,
                &self.kafka,
                ("review-queue", &self.cfg.review),
                apply_queued,
                timeout,
                "Review queue not fully read yet; decisions wait until it is.",
            )
            .await;
            follow_into(
                &self.live,
                &self.kafka,
                ("review-live", &self.cfg.approved),
                || latest_by_key(names::CONTENT_DRAFT),
                timeout,
                "Approved copy not fully read yet; a rejected audit sample may stay published.",
            )
            .await;
        }
        Ok(())
    }

    /// The instance given partition 0 of the drafts topic re-checks the live copy under the
    /// running policy version, in the background (once per process).
    fn on_assign(&self, assigned: &[crate::runtime::Assigned]) {
        self.start_recheck(assigned);
    }

    async fn process(&self, record: &Record) -> Result<Outcome, StageError> {
        if record.topic == self.cfg.drafts {
            self.draft(record).await
        } else if record.topic == self.cfg.decisions {
            self.decision(record)
        } else {
            Err(StageError::permanent(
                "unexpected_topic",
                format!("the review stage does not consume {}", record.topic),
            ))
        }
    }
}

#[cfg(test)]
mod judge_tests;
#[cfg(test)]
mod tests;
