//! Per-sku state of the quality stage, rebuilt from `catalog.validated` itself.
//!
//! The validated topic is keyed by sku and co-partitioned with the catalog input (the stage
//! writes product p of input partition p to validated partition p); made compacted, it is the
//! table of the current validated catalog, and a sku's latest record there *is* its last
//! accepted version and fingerprint. So the stage writes nothing extra: this is Kafka Streams'
//! "source topic as changelog" optimisation. A delete is a tombstone on the validated topic.
//!
//! When a partition is assigned, its state is rebuilt by reading its validated partition to
//! the end (started for every partition at once from [`StateStore::preload`]), before any
//! record of that assignment is processed; so state follows a partition to whichever instance
//! owns it and survives restarts. The validated record is acknowledged before the input is
//! committed, so a crash can only make a product be published twice, never lost. An instance
//! keeps at most one copy of each partition's state, so memory is bounded by the catalog.

use std::collections::HashMap;
use std::sync::{Arc, MutexGuard};
use std::time::Duration;

use rdkafka::Message;

use crate::config::KafkaConfig;
use crate::error::StageError;
use crate::quality::SkuState;
use crate::runtime::admin::{ensure_compacted_topic, topic_partitions};
use crate::runtime::eof_reader_for;
use crate::runtime::slots::Slots;
use crate::schema::{Registry, ValidatedProduct, decode, names};

/// One partition's skus, for one assignment of that partition.
pub(crate) type Slot = crate::runtime::slots::Slot<HashMap<String, SkuState>>;

/// The loaded map of `slot`. Only called after [`StateStore::partition`] loaded it.
pub(crate) fn skus(slot: &Slot) -> MutexGuard<'_, HashMap<String, SkuState>> {
    match slot.lock() {
        Some(m) => m,
        None => unreachable!("skus before the slot was loaded"),
    }
}

/// Rebuilds and caches each assigned partition's state.
pub(crate) struct StateStore {
    kafka: KafkaConfig,
    topic: String,
    timeout: Duration,
    slots: Slots<HashMap<String, SkuState>>,
}

impl StateStore {
    pub(crate) fn new(kafka: KafkaConfig, topic: String, timeout: Duration) -> Self {
        StateStore {
            kafka,
            topic,
            timeout,
            slots: Slots::default(),
        }
    }

    /// The state of `partition` as of `assignment`, rebuilt from the topic the first time an
    /// assignment asks. Records of older assignments (stragglers of a revoked partition, whose
    /// results the runtime discards) use whatever is current.
    pub(crate) async fn partition(&self, partition: i32, assignment: u64) -> Result<Arc<Slot>, StageError> {
        self.slots.loaded(partition, assignment, || self.load(partition)).await
    }

    /// Starts rebuilding a newly assigned partition's state in the background, so every
    /// partition loads at once instead of each waiting for its first record (which, with the
    /// in-flight bound full of another partition's waiting records, serialised the loads). A
    /// failed preload is logged; the first record retries it.
    pub(crate) fn preload(self: &Arc<Self>, partition: i32, assignment: u64) {
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let store = self.clone();
        handle.spawn(async move {
            if let Err(error) = store.partition(partition, assignment).await {
                tracing::warn!(message = "State preload failed; the first record will retry.", %error, partition);
            }
        });
    }

    async fn load(&self, partition: i32) -> Result<HashMap<String, SkuState>, StageError> {
        let (kafka, topic, timeout) = (self.kafka.clone(), self.topic.clone(), self.timeout);
        let started = std::time::Instant::now();
        let down = |message: String| StageError::DependencyDown {
            dependency: "validated_topic",
            message,
            retry_after: Duration::from_secs(1),
        };
        let loaded = tokio::task::spawn_blocking(move || {
            let reader = eof_reader_for(&kafka, "quality-state", &topic, Some(&[partition]))
                .map_err(|e| format!("reading {topic}[{partition}]: {e}"))?;
            let mut skus = HashMap::new();
            let mut bad = 0u64;
            let complete = reader
                .read_until_eof(timeout, |m| {
                    let key = m.key().map(|k| String::from_utf8_lossy(k).into_owned());
                    match (key, m.payload()) {
                        (Some(k), None) => {
                            skus.remove(&k);
                        }
                        (_, Some(v)) => {
                            crate::schema::remote::fetch_writer_blocking(Some(v), || started.elapsed() < timeout);
                            match decode::<ValidatedProduct>(Registry::builtin(), names::VALIDATED_PRODUCT, v) {
                                Ok(p) => {
                                    let state = SkuState {
                                        version: p.version,
                                        fingerprint: p.fingerprint,
                                        deleted: false,
                                    };
                                    skus.insert(p.sku, state);
                                }
                                Err(_) => bad += 1,
                            }
                        }
                        (None, None) => {}
                    }
                    true
                })
                .map_err(|e| format!("reading {topic}[{partition}]: {e}"))?;
            if !complete {
                return Err(format!(
                    "{topic}[{partition}] was not read to its end within {timeout:?}"
                ));
            }
            Ok((skus, bad))
        })
        .await
        .map_err(|e| down(format!("state loader: {e}")))?
        .map_err(down)?;
        let (skus, bad) = loaded;
        if bad > 0 {
            tracing::warn!(message = "Undecodable validated records ignored while rebuilding state.", topic = %self.topic, partition, bad);
        }
        tracing::info!(message = "Partition state rebuilt.", topic = %self.topic, partition, skus = skus.len(), took = ?started.elapsed());
        Ok(skus)
    }
}

/// Makes sure the validated topic exists with as many partitions as the catalog input
/// (creating it compacted when missing). A different count is an error: the state of input
/// partition p is read from validated partition p.
pub(crate) async fn ensure_validated_topic(kafka: &KafkaConfig, input: &str, validated: &str) -> Result<(), String> {
    let role = "quality-admin";
    let want = topic_partitions(kafka, role, input)?
        .0
        .ok_or_else(|| format!("input topic {input} does not exist"))?;
    match ensure_compacted_topic(kafka, role, validated, want).await? {
        n if n == want => Ok(()),
        n => Err(format!(
            "{validated} has {n} partitions but {input} has {want}; they must match, since the quality stage \
             keeps each sku's state on the validated partition of its input partition. Give {validated} {want} \
             partitions (a new, empty topic makes every product count as changed once)"
        )),
    }
}
