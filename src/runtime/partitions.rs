//! State shared between the runtime loop, record tasks and librdkafka callbacks: per assigned
//! partition, its assignment epoch, offset tracker and number of running records.
//!
//! The epoch makes revocation safe: work begun under an older assignment of a partition can
//! finish, but it can no longer move that partition's commit position.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use rdkafka::{Offset, TopicPartitionList};

use super::offsets::PartitionOffsets;
use super::stage::Output;

/// Topic and partition.
pub(crate) type Tp = (String, i32);

/// One assigned partition.
#[derive(Debug, Default)]
pub(crate) struct PartState {
    /// Assignment generation this state belongs to.
    pub(crate) epoch: u64,
    /// Commit tracker.
    pub(crate) offsets: PartitionOffsets,
    /// Records of this partition running right now (not merely queued behind their key).
    pub(crate) running: usize,
    /// Exactly-once mode: outputs of finished records, by offset, until their transaction.
    pub(crate) staged: BTreeMap<i64, Vec<Output>>,
}

/// Every assigned partition, behind one lock (held for microseconds, never across an await).
#[derive(Debug, Default, Clone)]
pub(crate) struct Partitions {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    parts: HashMap<Tp, PartState>,
    next_epoch: u64,
}

impl Partitions {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts a new assignment epoch for each partition; returns each with its epoch.
    pub(crate) fn assign(&self, tps: impl IntoIterator<Item = Tp>) -> Vec<(Tp, u64)> {
        let mut g = self.lock();
        let mut assigned = Vec::new();
        for tp in tps {
            g.next_epoch += 1;
            let epoch = g.next_epoch;
            assigned.push((tp.clone(), epoch));
            g.parts.insert(
                tp,
                PartState {
                    epoch,
                    ..Default::default()
                },
            );
        }
        assigned
    }

    /// Accepts an offset; returns the partition's current epoch, or `None` for a partition not
    /// (or no longer) assigned, whose record the next owner will consume instead. librdkafka
    /// delivers a partition's records only after its assign callback, so only a straggler from
    /// a revoked assignment can get here.
    pub(crate) fn begin(&self, tp: &Tp, offset: i64) -> Option<u64> {
        let mut g = self.lock();
        let p = g.parts.get_mut(tp)?;
        p.offsets.begin(offset);
        Some(p.epoch)
    }

    /// A record moves from queued to running; false if its epoch is gone (drop it).
    pub(crate) fn start(&self, tp: &Tp, epoch: u64) -> bool {
        match self.lock().parts.get_mut(tp) {
            Some(p) if p.epoch == epoch => {
                p.running += 1;
                true
            }
            _ => false,
        }
    }

    /// A running record finished with its outputs acknowledged; false if its epoch is gone.
    pub(crate) fn finish(&self, tp: &Tp, epoch: u64, offset: i64) -> bool {
        match self.lock().parts.get_mut(tp) {
            Some(p) if p.epoch == epoch => {
                p.running = p.running.saturating_sub(1);
                p.offsets.finish(offset)
            }
            _ => false,
        }
    }

    /// Exactly-once mode: like [`finish`](Self::finish), keeping the record's outputs for the
    /// transaction that commits its offset.
    pub(crate) fn finish_staged(&self, tp: &Tp, epoch: u64, offset: i64, outputs: Vec<Output>) -> bool {
        match self.lock().parts.get_mut(tp) {
            Some(p) if p.epoch == epoch => {
                p.running = p.running.saturating_sub(1);
                if !outputs.is_empty() {
                    p.staged.insert(offset, outputs);
                }
                p.offsets.finish(offset)
            }
            _ => false,
        }
    }

    /// Exactly-once mode: every partition's finished prefix — the positions to commit and the
    /// outputs of exactly the offsets below them, in offset order per partition.
    pub(crate) fn take_transaction(&self) -> (Vec<Output>, TopicPartitionList) {
        let mut g = self.lock();
        let mut tpl = TopicPartitionList::new();
        let mut outputs = Vec::new();
        for (tp, p) in g.parts.iter_mut() {
            let Some(offset) = p.offsets.take_commit() else {
                continue;
            };
            let later = p.staged.split_off(&offset);
            outputs.extend(std::mem::replace(&mut p.staged, later).into_values().flatten());
            let _ = tpl.add_partition_offset(&tp.0, tp.1, Offset::Offset(offset));
        }
        (outputs, tpl)
    }

    /// A running record was abandoned (shutdown deadline): it stays pending, so uncommitted.
    pub(crate) fn stop_running(&self, tp: &Tp, epoch: u64) {
        if let Some(p) = self.lock().parts.get_mut(tp).filter(|p| p.epoch == epoch) {
            p.running = p.running.saturating_sub(1);
        }
    }

    /// Records of `tps` running right now.
    pub(crate) fn running_in(&self, tps: &[Tp]) -> usize {
        let g = self.lock();
        tps.iter().filter_map(|tp| g.parts.get(tp)).map(|p| p.running).sum()
    }

    /// Commit positions that moved, for all partitions or only `only`.
    pub(crate) fn take_commits(&self, only: Option<&[Tp]>) -> TopicPartitionList {
        let mut g = self.lock();
        let mut tpl = TopicPartitionList::new();
        for (tp, p) in g.parts.iter_mut() {
            if only.is_some_and(|o| !o.contains(tp)) {
                continue;
            }
            if let Some(offset) = p.offsets.take_commit() {
                // Adding an offset to a fresh list cannot fail for a valid partition number.
                let _ = tpl.add_partition_offset(&tp.0, tp.1, Offset::Offset(offset));
            }
        }
        tpl
    }

    /// A commit of these positions failed; send them again next time.
    pub(crate) fn commit_failed(&self, tpl: &TopicPartitionList) {
        let mut g = self.lock();
        for e in tpl.elements() {
            if let Some(p) = g.parts.get_mut(&(e.topic().to_owned(), e.partition())) {
                p.offsets.commit_failed();
            }
        }
    }

    /// Drops revoked partitions; returns how many of their accepted records were unfinished
    /// (they will be consumed again by the next owner).
    pub(crate) fn revoke(&self, tps: &[Tp]) -> usize {
        let mut g = self.lock();
        tps.iter()
            .filter_map(|tp| g.parts.remove(tp))
            .map(|p| p.offsets.pending())
            .sum()
    }
}

/// Topic-partitions of a list.
pub(crate) fn tps_of(tpl: &TopicPartitionList) -> Vec<Tp> {
    tpl.elements()
        .iter()
        .map(|e| (e.topic().to_owned(), e.partition()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(tag: &str) -> Vec<Output> {
        vec![Output {
            topic: "out".into(),
            key: None,
            partition: None,
            payload: Some(tag.as_bytes().to_vec()),
            headers: Vec::new(),
        }]
    }

    fn payloads(outputs: &[Output]) -> Vec<String> {
        outputs
            .iter()
            .map(|o| String::from_utf8(o.payload.clone().unwrap()).unwrap())
            .collect()
    }

    /// Exactly-once: a transaction carries the outputs of exactly the offsets it commits, so
    /// a record that finished past an unfinished one waits for a later transaction.
    #[test]
    fn a_transaction_takes_the_outputs_of_exactly_the_committed_prefix() {
        let parts = Partitions::default();
        let tp: Tp = ("in".into(), 0);
        let epoch = parts.assign([tp.clone()])[0].1;
        for o in 0..4 {
            parts.begin(&tp, o);
            assert!(parts.start(&tp, epoch));
        }
        parts.finish_staged(&tp, epoch, 0, out("a"));
        parts.finish_staged(&tp, epoch, 2, out("c"));
        parts.finish_staged(&tp, epoch, 3, Vec::new()); // e.g. skipped: no output
        let (outputs, offsets) = parts.take_transaction();
        assert_eq!(payloads(&outputs), ["a"], "2 and 3 wait behind unfinished 1");
        assert_eq!(offsets.find_partition("in", 0).unwrap().offset(), Offset::Offset(1));
        parts.finish_staged(&tp, epoch, 1, out("b"));
        let (outputs, offsets) = parts.take_transaction();
        assert_eq!(payloads(&outputs), ["b", "c"], "offset order");
        assert_eq!(offsets.find_partition("in", 0).unwrap().offset(), Offset::Offset(4));
        let (outputs, offsets) = parts.take_transaction();
        assert!(outputs.is_empty() && offsets.count() == 0, "nothing twice");
    }

    #[test]
    fn a_revoked_partition_drops_its_staged_outputs() {
        let parts = Partitions::default();
        let tp: Tp = ("in".into(), 1);
        let epoch = parts.assign([tp.clone()])[0].1;
        parts.begin(&tp, 7);
        parts.start(&tp, epoch);
        parts.finish_staged(&tp, epoch, 7, out("x"));
        parts.revoke(std::slice::from_ref(&tp));
        let (outputs, offsets) = parts.take_transaction();
        assert!(outputs.is_empty() && offsets.count() == 0);
    }
}
