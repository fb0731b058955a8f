//! A table materialised from a whole topic (Kafka Streams' GlobalKTable): every partition is read
//! from the beginning on a background thread and followed, so a stage can look up records keyed
//! differently from its own input (a support question keyed by customer needs its product by
//! sku) or published by a later stage (the last approved copy of a product).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use rdkafka::Message;
use tokio::sync::watch;

use super::kafka::follower;
use crate::config::KafkaConfig;

/// How long to wait before looking again for a topic that does not exist yet.
const RETRY_MISSING: Duration = Duration::from_secs(5);

/// Applies one record (key, value; `None` = tombstone) to the table's map.
pub type Apply<V> = dyn Fn(&mut HashMap<String, V>, &str, Option<&[u8]>) + Send + Sync;

/// A followed topic as a map; dropping it stops the thread.
pub struct Table<V> {
    map: Arc<RwLock<HashMap<String, V>>>,
    caught_up: watch::Receiver<bool>,
    stop: Arc<AtomicBool>,
}

impl<V: Send + Sync + 'static> Table<V> {
    /// Starts following `topic`. A topic that does not exist yet is an empty table (and is
    /// looked for again every few seconds); read errors restart the read from the beginning.
    pub fn follow(kafka: &KafkaConfig, role: &str, topic: &str, apply: Arc<Apply<V>>) -> Self {
        let map = Arc::new(RwLock::new(HashMap::new()));
        let (tx, caught_up) = watch::channel(false);
        let stop = Arc::new(AtomicBool::new(false));
        let (kafka, role, topic) = (kafka.clone(), role.to_owned(), topic.to_owned());
        let (m, s) = (map.clone(), stop.clone());
        std::thread::Builder::new()
            .name(format!("table-{topic}"))
            .spawn(move || {
                while !s.load(Ordering::Acquire) {
                    let reader = match follower(&kafka, &role, &topic) {
                        Ok(r) => r,
                        Err(error) => {
                            // No topic yet: nothing has been published to it, so empty is right.
                            tracing::debug!(message = "Table topic not readable yet.", topic, %error);
                            let _ = tx.send(true);
                            std::thread::sleep(RETRY_MISSING);
                            continue;
                        }
                    };
                    let fresh = Arc::new(RwLock::new(HashMap::new()));
                    let write = |fresh: &RwLock<HashMap<String, V>>, msg: &rdkafka::message::BorrowedMessage<'_>| {
                        let key = msg.key().map(String::from_utf8_lossy).unwrap_or_default();
                        crate::schema::remote::fetch_writer_blocking(msg.payload(), || !s.load(Ordering::Acquire));
                        let mut g = fresh.write().unwrap_or_else(|p| p.into_inner());
                        apply(&mut g, &key, msg.payload());
                    };
                    // Read into a fresh map and swap it in when caught up, so a lookup never sees
                    // a half-read table after a restart of the read.
                    let swapped = AtomicBool::new(false);
                    let result = reader.follow(
                        &s,
                        |msg| {
                            if swapped.load(Ordering::Relaxed) {
                                write(&m, msg);
                            } else {
                                write(&fresh, msg);
                            }
                        },
                        || {
                            let full = std::mem::take(&mut *fresh.write().unwrap_or_else(|p| p.into_inner()));
                            *m.write().unwrap_or_else(|p| p.into_inner()) = full;
                            swapped.store(true, Ordering::Relaxed);
                            let _ = tx.send(true);
                        },
                    );
                    if let Err(error) = result {
                        tracing::warn!(message = "Table read failed; reading again from the start.", topic, %error);
                        std::thread::sleep(RETRY_MISSING);
                    }
                }
            })
            .expect("spawning a thread");
        Table { map, caught_up, stop }
    }

    /// Waits until the table has read every partition to its end once (or the topic is
    /// missing); false when `timeout` passed first.
    pub async fn wait_caught_up(&self, timeout: Duration) -> bool {
        let mut rx = self.caught_up.clone();
        tokio::time::timeout(timeout, rx.wait_for(|c| *c))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// A table holding `map`, followed from nowhere: for tests of what reads a table.
    #[cfg(test)]
    pub(crate) fn fixed(map: HashMap<String, V>) -> Self {
        let (_, caught_up) = watch::channel(true);
        Table {
            map: Arc::new(RwLock::new(map)),
            caught_up,
            stop: Arc::new(AtomicBool::new(true)),
        }
    }

    /// Runs `f` on the entry of `key`.
    pub fn with<R>(&self, key: &str, f: impl FnOnce(Option<&V>) -> R) -> R {
        let g = self.map.read().unwrap_or_else(|p| p.into_inner());
        f(g.get(key))
    }

    /// Runs `f` on the whole map (listing, e.g. the console's queue).
    pub fn read<R>(&self, f: impl FnOnce(&HashMap<String, V>) -> R) -> R {
        f(&self.map.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.map.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<V> Drop for Table<V> {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
    }
}

/// Follows `topic` into `cell` (once: a stage's `prepare` may run again) and waits up to
/// `timeout` for a first full read; past it, logs `lacking` (what goes without records until
/// the table has caught up) and goes on.
pub async fn follow_into<V: Send + Sync + 'static>(
    cell: &OnceLock<Table<V>>,
    kafka: &KafkaConfig,
    (role, topic): (&str, &str),
    apply: impl FnOnce() -> Arc<Apply<V>>,
    timeout: Duration,
    lacking: &str,
) {
    let table = cell.get_or_init(|| Table::follow(kafka, role, topic, apply()));
    if !table.wait_caught_up(timeout).await {
        tracing::warn!(message = %lacking, topic);
    }
}

/// An [`Apply`] keeping the latest value of each key, decoded as `schema`; a tombstone removes the
/// key, and an undecodable value is ignored (and logged at debug).
pub fn latest_by_key<T: serde::de::DeserializeOwned + Send + Sync + 'static>(schema: &'static str) -> Arc<Apply<T>> {
    Arc::new(move |map: &mut HashMap<String, T>, key: &str, value: Option<&[u8]>| {
        match value.map(|v| crate::schema::decode::<T>(crate::schema::Registry::builtin(), schema, v)) {
            None => {
                map.remove(key);
            }
            Some(Ok(v)) => {
                map.insert(key.to_owned(), v);
            }
            Some(Err(error)) => tracing::debug!(message = "Undecodable record in table.", key, schema, %error),
        }
    })
}
