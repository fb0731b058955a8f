//! Per-partition state of the experiment stage: each owned partition's [`Book`]s (one per use
//! case), rebuilt on assignment from that partition of the compacted state topic, where the stage
//! writes every item's [`ExperimentUnit`] as it changes. Partition p of the state topic holds the
//! items whose sku hashes to partition p of the repartitioned interactions and exposures, so the
//! state follows a partition to whichever instance owns it and survives restarts.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rdkafka::Message;

use crate::config::KafkaConfig;
use crate::error::StageError;
use crate::experiment::Book;
use crate::runtime::eof_reader_for;
use crate::runtime::slots::Slots;
use crate::schema::{ExperimentUnit, Registry, decode, names};

/// One partition's books (one per use case), for one assignment of that partition.
pub(super) type Slot = crate::runtime::slots::Slot<BTreeMap<String, Book>>;

/// Rebuilds and caches each assigned partition's books; knows which partitions this instance
/// owns now, so it publishes summaries of those only.
pub(super) struct Store {
    kafka: KafkaConfig,
    topic: String,
    timeout: Duration,
    slots: Slots<BTreeMap<String, Book>>,
    /// Owned partitions and their assignment epoch (of the repartitioned topic's partition:
    /// records of the exposures topic's partition with the same number use it too, so both
    /// topics' records share one slot).
    owned: Mutex<BTreeMap<i32, u64>>,
}

impl Store {
    pub(super) fn new(kafka: KafkaConfig, topic: String, timeout: Duration) -> Self {
        Store {
            kafka,
            topic,
            timeout,
            slots: Slots::default(),
            owned: Mutex::new(BTreeMap::new()),
        }
    }

    /// The books of `partition` as of `assignment`, rebuilt from the state topic the first time
    /// an assignment asks.
    pub(super) async fn partition(&self, partition: i32, assignment: u64) -> Result<Arc<Slot>, StageError> {
        self.slots.loaded(partition, assignment, || self.load(partition)).await
    }

    /// Partitions assigned: owned from now, their books loaded in the background.
    pub(super) fn assigned(self: &Arc<Self>, partitions: &[(i32, u64)]) {
        self.owned_mut().extend(partitions.iter().copied());
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        for &(partition, assignment) in partitions {
            let store = self.clone();
            handle.spawn(async move {
                if let Err(error) = store.partition(partition, assignment).await {
                    tracing::warn!(message = "Experiment state preload failed; the first record will retry.", %error, partition);
                }
            });
        }
    }

    /// Partitions revoked: no longer owned, their books dropped (the next owner rebuilds them).
    pub(super) fn revoked(&self, partitions: &[i32]) {
        let mut owned = self.owned_mut();
        for p in partitions {
            owned.remove(p);
            self.slots.remove(*p);
        }
    }

    /// The assignment epoch of `partition` (0 when not owned: a straggler of a revoked
    /// assignment, whose results the runtime discards, uses whatever slot there is).
    pub(super) fn epoch(&self, partition: i32) -> u64 {
        self.owned_mut().get(&partition).copied().unwrap_or(0)
    }

    /// The partitions owned now, with their slots.
    pub(super) fn owned(&self) -> Vec<(i32, Arc<Slot>)> {
        let owned = self.owned_mut().clone();
        owned
            .into_keys()
            .filter_map(|p| self.slots.get(p).map(|s| (p, s)))
            .collect()
    }

    fn owned_mut(&self) -> MutexGuard<'_, BTreeMap<i32, u64>> {
        self.owned.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn load(&self, partition: i32) -> Result<BTreeMap<String, Book>, StageError> {
        let (kafka, topic, timeout) = (self.kafka.clone(), self.topic.clone(), self.timeout);
        let started = std::time::Instant::now();
        let down = |message: String| StageError::DependencyDown {
            dependency: "experiment_state_topic",
            message,
            retry_after: Duration::from_secs(1),
        };
        let (books, bad) = tokio::task::spawn_blocking(move || {
            let reader = eof_reader_for(&kafka, "experiment-state", &topic, Some(&[partition]))
                .map_err(|e| format!("reading {topic}[{partition}]: {e}"))?;
            let mut units: HashMap<String, ExperimentUnit> = HashMap::new();
            let mut bad = 0u64;
            let complete = reader
                .read_until_eof(timeout, |m| {
                    let key = String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned();
                    match m
                        .payload()
                        .map(|v| decode::<ExperimentUnit>(Registry::builtin(), names::EXPERIMENT_UNIT, v))
                    {
                        None => {
                            units.remove(&key);
                        }
                        Some(Ok(u)) => {
                            units.insert(key, u);
                        }
                        Some(Err(_)) => bad += 1,
                    }
                    true
                })
                .map_err(|e| format!("reading {topic}[{partition}]: {e}"))?;
            if !complete {
                return Err(format!(
                    "{topic}[{partition}] was not read to its end within {timeout:?}"
                ));
            }
            let mut books: BTreeMap<String, Book> = BTreeMap::new();
            for u in units.into_values() {
                books.entry(u.use_case.clone()).or_default().restore(u);
            }
            Ok((books, bad))
        })
        .await
        .map_err(|e| down(format!("state loader: {e}")))?
        .map_err(down)?;
        if bad > 0 {
            tracing::warn!(message = "Undecodable experiment state records ignored.", topic = %self.topic, partition, bad);
        }
        let items: usize = books.values().map(Book::items).sum();
        tracing::info!(message = "Experiment partition state rebuilt.", topic = %self.topic, partition, items, took = ?started.elapsed());
        Ok(books)
    }
}

/// The state topic's key of an item.
pub(super) fn unit_key(u: &ExperimentUnit) -> String {
    format!("{}:{}", u.use_case, u.subject_key)
}
