//! Per-partition state of a stage: one copy per assignment of a partition, loaded once (from
//! the stage's state topic) by whichever record or preload asks first. A newer assignment of a
//! partition replaces the copy an older one loaded, since another instance may have changed the
//! state in between; records of an older assignment (stragglers of a revoked partition, whose
//! results the runtime discards) use whatever copy is current.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::OnceCell;

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
