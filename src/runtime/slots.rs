//! Per-partition state of a stage: one copy per assignment of a partition, loaded once (from
//! the stage's state topic) by whichever record or preload asks first. A newer assignment of a
//! partition replaces the copy an older one loaded, since another instance may have changed the
//! state in between; records of an older assignment (stragglers of a revoked partition, whose
//! results the runtime discards) use whatever copy is current. [`PartitionStore`] adds which
//! partitions an instance owns, and [`read_partition`] rebuilds one from its topic.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use rdkafka::Message;
use tokio::sync::OnceCell;

use super::eof_reader_for;
use crate::config::KafkaConfig;
use crate::error::StageError;

/// One partition's state, for one assignment of that partition.
pub struct Slot<T> {
    assignment: u64,
    value: OnceCell<Mutex<T>>,
}

impl<T> Slot<T> {
    /// The loaded state; `None` until [`Slots::loaded`] loaded it.
    pub fn lock(&self) -> Option<MutexGuard<'_, T>> {
        // A poisoned state is still a state: the panicking writer held no invariant across it.
        self.value.get().map(|m| m.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// Every partition's current slot.
pub struct Slots<T> {
    slots: Mutex<HashMap<i32, Arc<Slot<T>>>>,
}

impl<T> Default for Slots<T> {
    fn default() -> Self {
        Slots {
            slots: Mutex::new(HashMap::new()),
        }
    }
}

impl<T> Slots<T> {
    /// The slot of `partition` as of `assignment`, loaded by `load` unless it already is.
    pub async fn loaded<E, F, Fut>(&self, partition: i32, assignment: u64, load: F) -> Result<Arc<Slot<T>>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let slot = {
            let mut slots = self.map();
            match slots.get(&partition) {
                Some(s) if s.assignment >= assignment => s.clone(),
                _ => {
                    let s = Arc::new(Slot {
                        assignment,
                        value: OnceCell::new(),
                    });
                    slots.insert(partition, s.clone());
                    s
                }
            }
        };
        slot.value
            .get_or_try_init(|| async { load().await.map(Mutex::new) })
            .await?;
        Ok(slot)
    }

    /// The current slot of `partition`, loaded or not.
    pub fn get(&self, partition: i32) -> Option<Arc<Slot<T>>> {
        self.map().get(&partition).cloned()
    }

    /// Forgets `partition` (revoked: its next owner loads its own copy).
    pub fn remove(&self, partition: i32) {
        self.map().remove(&partition);
    }

    fn map(&self) -> MutexGuard<'_, HashMap<i32, Arc<Slot<T>>>> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Loads one partition's state: `(partition) -> state`.
pub type Loader<T> = Arc<dyn Fn(i32) -> BoxFuture<'static, Result<T, StageError>> + Send + Sync>;

/// The slots of the partitions an instance owns, each loaded by `Loader` when its assignment
/// starts (in the background, so every partition loads at once) or when its first record asks.
pub struct PartitionStore<T> {
    slots: Slots<T>,
    /// Owned partitions and their assignment epoch.
    owned: Mutex<BTreeMap<i32, u64>>,
    load: Loader<T>,
}

impl<T: Send + 'static> PartitionStore<T> {
    /// A store whose partitions `load` rebuilds.
    pub fn new(load: Loader<T>) -> Self {
        PartitionStore {
            slots: Slots::default(),
            owned: Mutex::new(BTreeMap::new()),
            load,
        }
    }

    /// The state of `partition` as of `assignment`, loaded the first time an assignment asks.
    pub async fn partition(&self, partition: i32, assignment: u64) -> Result<Arc<Slot<T>>, StageError> {
        self.slots
            .loaded(partition, assignment, || (self.load)(partition))
            .await
    }

    /// [`Stage::on_assign`](super::Stage::on_assign)'s partitions of `topic`: owned from now.
    pub fn on_assign(self: &Arc<Self>, topic: &str, assigned: &[super::Assigned]) {
        let mine: Vec<(i32, u64)> = assigned
            .iter()
            .filter(|a| a.topic == topic)
            .map(|a| (a.partition, a.assignment))
            .collect();
        self.assigned(&mine);
    }

    /// [`Stage::on_revoke`](super::Stage::on_revoke)'s partitions of `topic`: owned no more.
    pub fn on_revoke(&self, topic: &str, revoked: &[(String, i32)]) {
        let mine: Vec<i32> = revoked.iter().filter(|(t, _)| t == topic).map(|(_, p)| *p).collect();
        self.revoked(&mine);
    }

    /// Partitions assigned (`(partition, assignment)`): owned from now, loaded in the background;
    /// a failed preload is logged and the first record retries it.
    pub fn assigned(self: &Arc<Self>, partitions: &[(i32, u64)]) {
        self.owned_mut().extend(partitions.iter().copied());
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        for &(partition, assignment) in partitions {
            let store = self.clone();
            handle.spawn(async move {
                if let Err(error) = store.partition(partition, assignment).await {
                    tracing::warn!(message = "Partition state preload failed; the first record will retry.", %error, partition);
                }
            });
        }
    }

    /// Partitions revoked: no longer owned, their state dropped (the next owner rebuilds it).
    pub fn revoked(&self, partitions: &[i32]) {
        let mut owned = self.owned_mut();
        for p in partitions {
            owned.remove(p);
            self.slots.remove(*p);
        }
    }

    /// The assignment epoch of `partition` (0 when not owned: a straggler of a revoked
    /// assignment, whose results the runtime discards, uses whatever slot there is).
    pub fn epoch(&self, partition: i32) -> u64 {
        self.owned_mut().get(&partition).copied().unwrap_or(0)
    }

    /// The partitions owned now, with their slots.
    pub fn owned(&self) -> Vec<(i32, Arc<Slot<T>>)> {
        let owned = self.owned_mut().clone();
        owned
            .into_keys()
            .filter_map(|p| self.slots.get(p).map(|s| (p, s)))
            .collect()
    }

    fn owned_mut(&self) -> MutexGuard<'_, BTreeMap<i32, u64>> {
        self.owned.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Reads partition `partition` of `topic` from its start to its end on a blocking thread,
/// handing each record's key and value (`None`: a tombstone) to `f`, after fetching a Schema
/// Registry's writer schema when the value names one. A partition not read to its end within
/// `timeout` is an error: a stage must not work from half its state.
pub async fn read_partition(
    kafka: &KafkaConfig,
    role: &'static str,
    topic: &str,
    partition: i32,
    timeout: Duration,
    mut f: impl FnMut(&[u8], Option<&[u8]>) + Send + 'static,
) -> Result<(), StageError> {
    let (kafka, topic) = (kafka.clone(), topic.to_owned());
    let down = |message: String| StageError::DependencyDown {
        dependency: "state_topic",
        message,
        retry_after: Duration::from_secs(1),
    };
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let reader = eof_reader_for(&kafka, role, &topic, Some(&[partition]))
            .map_err(|e| format!("reading {topic}[{partition}]: {e}"))?;
        let complete = reader
            .read_until_eof(timeout, |m| {
                crate::schema::remote::fetch_writer_blocking(m.payload(), || started.elapsed() < timeout);
                f(m.key().unwrap_or_default(), m.payload());
                true
            })
            .map_err(|e| format!("reading {topic}[{partition}]: {e}"))?;
        if complete {
            Ok(())
        } else {
            Err(format!(
                "{topic}[{partition}] was not read to its end within {timeout:?}"
            ))
        }
    })
    .await
    .map_err(|e| down(format!("state loader: {e}")))?
    .map_err(down)
}
