//! Per-partition state of the experiment stage: each owned partition's [`Book`]s (one per use
//! case), rebuilt on assignment from that partition of the compacted state topic, where the stage
//! writes every item's [`ExperimentUnit`] as it changes. Partition p of the state topic holds the
//! items whose sku hashes to partition p of the repartitioned interactions and exposures, so the
//! state follows a partition to whichever instance owns it and survives restarts.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::config::KafkaConfig;
use crate::experiment::Book;
use crate::runtime::slots::{Loader, PartitionStore, read_partition};
use crate::schema::{ExperimentUnit, Registry, decode, names};

/// The owned partitions' books, each rebuilt from its partition of the state topic.
pub(super) type Store = PartitionStore<BTreeMap<String, Book>>;

/// A store over `topic` (the compacted state topic).
pub(super) fn store(kafka: KafkaConfig, topic: String, timeout: Duration) -> Store {
    let load: Loader<BTreeMap<String, Book>> = Arc::new(move |partition| {
        let (kafka, topic) = (kafka.clone(), topic.clone());
        Box::pin(async move { load(&kafka, &topic, partition, timeout).await })
    });
    PartitionStore::new(load)
}

async fn load(
    kafka: &KafkaConfig,
    topic: &str,
    partition: i32,
    timeout: Duration,
) -> Result<BTreeMap<String, Book>, crate::error::StageError> {
    let started = std::time::Instant::now();
    let read = Arc::new(Mutex::new((HashMap::<String, ExperimentUnit>::new(), 0u64)));
    let sink = read.clone();
    read_partition(
        kafka,
        "experiment-state",
        topic,
        partition,
        timeout,
        move |key, value| {
            let key = String::from_utf8_lossy(key).into_owned();
            let mut guard = sink.lock().unwrap_or_else(|p| p.into_inner());
            let (units, bad) = &mut *guard;
            match value.map(|v| decode::<ExperimentUnit>(Registry::builtin(), names::EXPERIMENT_UNIT, v)) {
                None => {
                    units.remove(&key);
                }
                Some(Ok(u)) => {
                    units.insert(key, u);
                }
                Some(Err(_)) => *bad += 1,
            }
        },
    )
    .await?;
    let (units, bad) = std::mem::take(&mut *read.lock().unwrap_or_else(|p| p.into_inner()));
    if bad > 0 {
        tracing::warn!(
            message = "Undecodable experiment state records ignored.",
            topic,
            partition,
            bad
        );
    }
    let mut books: BTreeMap<String, Book> = BTreeMap::new();
    for u in units.into_values() {
        books.entry(u.use_case.clone()).or_default().restore(u);
    }
    let items: usize = books.values().map(Book::items).sum();
    tracing::info!(message = "Experiment partition state rebuilt.", topic, partition, items, took = ?started.elapsed());
    Ok(books)
}

/// The state topic's key of an item.
pub(super) fn unit_key(u: &ExperimentUnit) -> String {
    format!("{}:{}", u.use_case, u.subject_key)
}
