//! Per-partition offset tracking: the commit invariant in one pure type.
//!
//! Records finish out of order (other keys run in parallel), so the committable position of a
//! partition is the lowest offset still unfinished, or one past the highest seen when nothing
//! is pending. Committing anything beyond that could skip an unfinished record after a crash
//! (the hazard `rust-rdkafka`'s `at_least_once` example warns about).

use std::collections::BTreeSet;

/// Offsets of one partition assignment.
#[derive(Debug, Default, Clone)]
pub struct PartitionOffsets {
    /// Accepted and not yet finished.
    pending: BTreeSet<i64>,
    /// One past the highest offset accepted.
    next: Option<i64>,
    /// Last position committed (or sent for commit).
    committed: Option<i64>,
}

impl PartitionOffsets {
    /// Records that `offset` was accepted for processing.
    pub fn begin(&mut self, offset: i64) {
        self.pending.insert(offset);
        self.next = Some(self.next.map_or(offset + 1, |n| n.max(offset + 1)));
    }

    /// Records that every output of `offset` was acknowledged; false if it was not pending.
    pub fn finish(&mut self, offset: i64) -> bool {
        self.pending.remove(&offset)
    }

    /// The position a commit may carry: every offset below it is finished.
    pub fn committable(&self) -> Option<i64> {
        self.pending.first().copied().or(self.next)
    }

    /// The committable position if it moved past the last commit; marks it committed.
    pub fn take_commit(&mut self) -> Option<i64> {
        let c = self.committable()?;
        if self.committed.is_some_and(|done| done >= c) {
            return None;
        }
        self.committed = Some(c);
        Some(c)
    }

    /// Forgets the last commit so the next [`take_commit`](Self::take_commit) sends it again
    /// (after a failed asynchronous commit).
    pub fn commit_failed(&mut self) {
        self.committed = None;
    }

    /// Number of records accepted and unfinished.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn commits_only_the_contiguous_finished_prefix() {
        let mut p = PartitionOffsets::default();
        assert_eq!(p.committable(), None);
        for o in 10..15 {
            p.begin(o);
        }
        p.finish(11);
        p.finish(12);
        assert_eq!(p.committable(), Some(10), "10 unfinished blocks 11 and 12");
        p.finish(10);
        assert_eq!(p.take_commit(), Some(13));
        assert_eq!(p.take_commit(), None, "nothing new to commit");
        p.finish(13);
        p.finish(14);
        assert_eq!(p.take_commit(), Some(15));
        p.commit_failed();
        assert_eq!(p.take_commit(), Some(15), "a failed commit is retried");
    }

    #[test]
    fn offset_gaps_from_compaction_are_fine() {
        let mut p = PartitionOffsets::default();
        p.begin(3);
        p.begin(7);
        p.finish(7);
        assert_eq!(p.committable(), Some(3));
        p.finish(3);
        assert_eq!(p.committable(), Some(8));
    }

    proptest! {
        /// Whatever the completion order, the committable position never passes an unfinished
        /// offset, and once all are done it is one past the highest.
        #[test]
        fn never_commits_past_an_unfinished_record(order in Just((0..40i64).collect::<Vec<_>>()).prop_shuffle(), cut in 0usize..40) {
            let mut p = PartitionOffsets::default();
            for o in 0..40 { p.begin(o); }
            let (done, left) = order.split_at(cut);
            for o in done { p.finish(*o); }
            let c = p.committable().unwrap();
            for o in left { prop_assert!(c <= *o); }
            for o in left { p.finish(*o); }
            prop_assert_eq!(p.committable(), Some(40));
        }
    }
}
