//! Key-ordered dispatch: records of one key run strictly one after another, records of different
//! keys run in parallel (Confluent Parallel Consumer's KEY ordering). Pure: the runtime asks
//! what may start and tells when something finished.

use std::collections::{HashMap, VecDeque};

/// Per-key FIFO queues; a key present in the map has one record running.
#[derive(Debug)]
pub struct KeyQueues<K, T> {
    waiting: HashMap<K, VecDeque<T>>,
    queued: usize,
}

impl<K: std::hash::Hash + Eq + Clone, T> Default for KeyQueues<K, T> {
    fn default() -> Self {
        KeyQueues {
            waiting: HashMap::new(),
            queued: 0,
        }
    }
}

impl<K: std::hash::Hash + Eq + Clone, T> KeyQueues<K, T> {
    /// Offers `item` for `key`: returned when it may start now, kept when its key is busy.
    pub fn offer(&mut self, key: K, item: T) -> Option<T> {
        match self.waiting.get_mut(&key) {
            Some(queue) => {
                queue.push_back(item);
                self.queued += 1;
                None
            }
            None => {
                self.waiting.insert(key, VecDeque::new());
                Some(item)
            }
        }
    }

    /// The running record of `key` finished: returns the next one to start, if any.
    pub fn finish(&mut self, key: &K) -> Option<T> {
        let queue = self.waiting.get_mut(key)?;
        match queue.pop_front() {
            Some(next) => {
                self.queued -= 1;
                Some(next)
            }
            None => {
                self.waiting.remove(key);
                None
            }
        }
    }

    /// Records waiting behind a running record of their key.
    pub fn queued(&self) -> usize {
        self.queued
    }

    /// Keys with a running record.
    pub fn running_keys(&self) -> usize {
        self.waiting.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn same_key_waits_other_keys_start() {
        let mut q = KeyQueues::default();
        assert_eq!(q.offer("a", 1), Some(1));
        assert_eq!(q.offer("b", 2), Some(2));
        assert_eq!(q.offer("a", 3), None);
        assert_eq!(q.offer("a", 4), None);
        assert_eq!(q.queued(), 2);
        assert_eq!(q.finish(&"a"), Some(3));
        assert_eq!(q.finish(&"a"), Some(4));
        assert_eq!(q.finish(&"a"), None);
        assert_eq!(q.offer("a", 5), Some(5), "key is free again");
        assert_eq!(q.finish(&"b"), None);
        assert_eq!(q.running_keys(), 1);
    }

    proptest! {
        /// Simulated runs: at most one record per key runs at once, and each key's records start
        /// in offer order.
        #[test]
        fn per_key_order_holds(keys in proptest::collection::vec(0u8..5, 1..200), finish_picks in proptest::collection::vec(any::<usize>(), 200)) {
            let mut q = KeyQueues::default();
            let mut running: Vec<(u8, usize)> = Vec::new();
            let mut started: Vec<(u8, usize)> = Vec::new();
            let mut picks = finish_picks.into_iter();
            for (seq, k) in keys.iter().enumerate() {
                if let Some(s) = q.offer(*k, seq) { running.push((*k, s)); started.push((*k, s)); }
                if let (Some(p), false) = (picks.next(), running.is_empty()) {
                    let (k, _) = running.remove(p % running.len());
                    if let Some(s) = q.finish(&k) { running.push((k, s)); started.push((k, s)); }
                }
                let mut ks: Vec<_> = running.iter().map(|(k, _)| *k).collect();
                ks.sort(); ks.dedup();
                prop_assert_eq!(ks.len(), running.len(), "two records of one key running");
            }
            while let Some((k, _)) = running.pop() {
                if let Some(s) = q.finish(&k) { running.push((k, s)); started.push((k, s)); }
            }
            prop_assert_eq!(started.len(), keys.len());
            for k in 0u8..5 {
                let seqs: Vec<_> = started.iter().filter(|(kk, _)| *kk == k).map(|(_, s)| *s).collect();
                prop_assert!(seqs.windows(2).all(|w| w[0] < w[1]));
            }
        }
    }
}
