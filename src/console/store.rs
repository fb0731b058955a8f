//! Where the console's queue comes from and where its decisions go: Kafka in production (tables
//! following content.review, content.decisions and catalog.validated; a producer to
//! content.decisions), anything implementing the traits in tests.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;

use super::queue::{Decided, is_pending, pending};
use crate::config::{GalleyConfig, ms};
use crate::runtime::table::{Apply, Table, latest_by_key};
use crate::schema::{
    ConsoleAction, Registry, ReviewDecision, ReviewOutcome, RolloutControl, ValidatedProduct, decode, encode, names,
};
use crate::stages::review::apply_queued;
use crate::stages::review::signature::{DecisionKey, HEADER as SIGNATURE_HEADER};

/// The queue and the product records, read side.
pub trait QueueStore: Send + Sync {
    /// Every pending outcome, oldest first.
    fn pending(&self) -> Vec<ReviewOutcome>;
    /// The pending outcome of `draft_id` for subject `key`.
    fn find(&self, key: &str, draft_id: &str) -> Option<ReviewOutcome>;
    /// The product record of `sku`, for the attributes shown beside the draft.
    fn product(&self, sku: &str) -> Option<ValidatedProduct>;
    /// Claims the pending item for a decision at `at_ms`: false when it is no longer pending
    /// (decided meanwhile, also by a request racing this one). A claimed item leaves the queue
    /// at once, before the decisions topic is read back.
    fn claim(&self, key: &str, draft_id: &str, at_ms: i64) -> bool;
    /// Gives a claim back, when its decision could not be produced.
    fn release(&self, key: &str, draft_id: &str, at_ms: i64);
}

/// Produces decisions (keyed by subject) and rollout overrides (keyed by use case).
pub trait DecisionSink: Send + Sync {
    /// Sends `d` and waits for the broker's acknowledgement.
    fn send(&self, key: String, d: ReviewDecision) -> BoxFuture<'_, Result<(), String>>;
    /// Sends a rollout override to galley.control and waits for the acknowledgement.
    fn send_control(&self, rec: RolloutControl) -> BoxFuture<'_, Result<(), String>>;
    /// Sends what a person did to the audit topic (keyed by user) and waits for the
    /// acknowledgement.
    fn send_audit(&self, action: ConsoleAction) -> BoxFuture<'_, Result<(), String>>;
}

/// Takes a killed use case's live copy off the approved topic (the admin page's "retract" box).
pub trait Retractor: Send + Sync {
    /// Retracts the live copy of `use_case` (`None` = every use case) after kill switch `kill`.
    fn retract(
        &self,
        use_case: Option<String>,
        kill: RolloutControl,
    ) -> BoxFuture<'static, Result<crate::lifecycle::retraction::Report, String>>;
}

/// [`Retractor`] on the configured brokers and topics ([`crate::lifecycle::retraction`]).
pub struct KafkaRetractor {
    cfg: Arc<GalleyConfig>,
}

impl KafkaRetractor {
    /// A retractor for `cfg`'s approved and audit topics.
    pub fn new(cfg: &GalleyConfig) -> Self {
        KafkaRetractor {
            cfg: Arc::new(cfg.clone()),
        }
    }
}

impl Retractor for KafkaRetractor {
    fn retract(
        &self,
        use_case: Option<String>,
        kill: RolloutControl,
    ) -> BoxFuture<'static, Result<crate::lifecycle::retraction::Report, String>> {
        let cfg = self.cfg.clone();
        Box::pin(async move {
            let (settle, timeout) = (Duration::from_secs(5), Duration::from_secs(60));
            crate::lifecycle::retraction::run(&cfg, use_case.as_deref(), &kill, settle, timeout).await
        })
    }
}

/// The queue from Kafka.
pub struct KafkaStore {
    queued: Table<Vec<ReviewOutcome>>,
    decided: Table<Vec<(String, i64)>>,
    products: Option<Table<ValidatedProduct>>,
    local: Mutex<Decided>,
}

/// Decisions per subject, newest kept (a subject rarely has more than a few queued drafts).
fn apply_decided() -> Arc<Apply<Vec<(String, i64)>>> {
    Arc::new(|map, key, value| {
        let Some(v) = value else {
            return;
        };
        match decode::<ReviewDecision>(Registry::builtin(), names::REVIEW_DECISION, v) {
            Ok(d) => {
                let ds = map.entry(key.to_owned()).or_default();
                ds.push((d.draft_id, d.decided_ms));
                if ds.len() > 64 {
                    ds.remove(0);
                }
            }
            Err(error) => tracing::debug!(message = "Undecodable decision.", key, %error),
        }
    })
}

impl KafkaStore {
    /// Starts following the review stage's topics and waits, bounded, for a first full read.
    pub async fn start(cfg: &GalleyConfig) -> Self {
        let r = &cfg.stages.review;
        let queued = Table::follow(&cfg.kafka, "console-queue", &r.review, apply_queued());
        let decided = Table::follow(&cfg.kafka, "console-decisions", &r.decisions, apply_decided());
        let products = (!r.products.is_empty()).then(|| {
            Table::follow(
                &cfg.kafka,
                "console-products",
                &r.products,
                latest_by_key(names::VALIDATED_PRODUCT),
            )
        });
        let timeout = ms(cfg.console.table_load_timeout_ms);
        let (q, d) = tokio::join!(queued.wait_caught_up(timeout), decided.wait_caught_up(timeout));
        if !(q && d) {
            tracing::warn!(
                message = "Review queue not fully read yet; the console shows what it has read.",
                review = r.review,
                decisions = r.decisions
            );
        }
        KafkaStore {
            queued,
            decided,
            products,
            local: Mutex::new(Decided::new()),
        }
    }

    fn with_local(&self, mut decided: Decided) -> Decided {
        for (k, ds) in self.local.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            decided.entry(k.clone()).or_default().extend(ds.iter().cloned());
        }
        decided
    }
}

impl QueueStore for KafkaStore {
    fn pending(&self) -> Vec<ReviewOutcome> {
        let decided = self.with_local(self.decided.read(Clone::clone));
        self.queued.read(|q| pending(q, &decided))
    }

    fn find(&self, key: &str, draft_id: &str) -> Option<ReviewOutcome> {
        let mut decided: Decided = HashMap::new();
        if let Some(ds) = self.decided.with(key, |d| d.cloned()) {
            decided.insert(key.to_owned(), ds);
        }
        let decided = self.with_local(decided);
        self.queued.with(key, |os| {
            os?.iter()
                .find(|o| o.draft.draft_id == draft_id && is_pending(o, decided.get(key)))
                .cloned()
        })
    }

    fn product(&self, sku: &str) -> Option<ValidatedProduct> {
        self.products.as_ref()?.with(sku, |p| p.cloned())
    }

    fn claim(&self, key: &str, draft_id: &str, at_ms: i64) -> bool {
        let mut local = self.local.lock().unwrap_or_else(|p| p.into_inner());
        let mut decided: Decided = HashMap::new();
        let mine = decided.entry(key.to_owned()).or_default();
        mine.extend(self.decided.with(key, |d| d.cloned()).unwrap_or_default());
        mine.extend(local.get(key).into_iter().flatten().cloned());
        let pending = self.queued.with(key, |os| {
            os.is_some_and(|os| {
                os.iter()
                    .any(|o| o.draft.draft_id == draft_id && is_pending(o, decided.get(key)))
            })
        });
        if pending {
            local
                .entry(key.to_owned())
                .or_default()
                .push((draft_id.to_owned(), at_ms));
        }
        pending
    }

    fn release(&self, key: &str, draft_id: &str, at_ms: i64) {
        let mut local = self.local.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(ds) = local.get_mut(key) {
            ds.retain(|(id, at)| !(id == draft_id && *at == at_ms));
        }
    }
}

/// Decisions and rollout overrides to Kafka.
pub struct KafkaSink {
    producer: FutureProducer,
    /// Signs decisions when `stages.review.decision_key_env` names a set variable.
    key: Option<DecisionKey>,
    topic: String,
    control: String,
    audit: String,
}

impl KafkaSink {
    /// A producer for `stages.review.decisions`, `topics.control` and the audit topic (also what
    /// `galley control` writes with).
    pub fn new(cfg: &GalleyConfig) -> Result<Self, rdkafka::error::KafkaError> {
        let producer = crate::runtime::producer(&cfg.kafka, "console", Duration::from_secs(30))?;
        Ok(KafkaSink {
            producer,
            key: DecisionKey::from_env(&cfg.stages.review.decision_key_env),
            topic: cfg.stages.review.decisions.clone(),
            control: cfg.topics.control.clone(),
            audit: cfg.stages.review.audit.clone(),
        })
    }

    async fn produce(&self, topic: &str, key: &str, value: Vec<u8>) -> Result<(), String> {
        self.produce_with(topic, key, value, None).await
    }

    async fn produce_with(
        &self,
        topic: &str,
        key: &str,
        value: Vec<u8>,
        signature: Option<String>,
    ) -> Result<(), String> {
        let mut record = FutureRecord::to(topic).key(key).payload(&value);
        if let Some(sig) = &signature {
            record = record.headers(rdkafka::message::OwnedHeaders::new().insert(rdkafka::message::Header {
                key: SIGNATURE_HEADER,
                value: Some(sig.as_str()),
            }));
        }
        self.producer
            .send(record, Timeout::After(Duration::from_secs(30)))
            .await
            .map(|_| ())
            .map_err(|(e, _)| e.to_string())
    }
}

impl DecisionSink for KafkaSink {
    fn send(&self, key: String, d: ReviewDecision) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            let value = encode(Registry::builtin(), names::REVIEW_DECISION, &d).map_err(|e| e.to_string())?;
            let signature = self.key.as_ref().map(|k| k.sign(&key, &d));
            self.produce_with(&self.topic, &key, value, signature).await
        })
    }

    fn send_control(&self, rec: RolloutControl) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            let value = encode(Registry::builtin(), names::ROLLOUT_CONTROL, &rec).map_err(|e| e.to_string())?;
            self.produce(&self.control, &rec.use_case, value).await
        })
    }

    fn send_audit(&self, action: ConsoleAction) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            let value = encode(Registry::builtin(), names::CONSOLE_ACTION, &action).map_err(|e| e.to_string())?;
            self.produce(&self.audit, &action.user, value).await
        })
    }
}
