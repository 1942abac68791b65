//! Which batches a read_committed consumer skips: the aborted transactions
//! of a partition, from its `.txnindex` entries, asked batch by batch.
//!
//! A broker answers a read_committed fetch with the aborted transactions
//! (producer id, first offset) that overlap it, read from the `.txnindex`
//! files; the consumer then drops the transactional data batches of that
//! producer from the first offset up to the producer's ABORT marker, whose
//! offset is the entry's last offset. So a data batch is aborted exactly
//! when it is transactional and its producer has an entry whose
//! `[first_offset, last_offset]` holds the batch's base offset. Control
//! batches (the markers themselves) are never "aborted": they are filtered
//! by `is_control` instead.
//!
//! An entry sits in the `.txnindex` of the segment holding its ABORT marker,
//! while the transaction may have begun segments earlier: a partition's
//! entries are all gathered before its first batch is asked about.

use std::collections::HashMap;

use crate::format::txnindex::AbortedTxn;

/// The aborted transactions of one partition, by producer.
#[derive(Clone, Debug, Default)]
pub struct Aborted {
    /// Per producer id, `(first_offset, last_offset)` sorted by first offset.
    ranges: HashMap<i64, Vec<(i64, i64)>>,
    sorted: bool,
}

impl Aborted {
    pub fn new() -> Self {
        Aborted::default()
    }

    /// Add the entries of one `.txnindex` (any order, any file).
    pub fn extend(&mut self, entries: impl IntoIterator<Item = AbortedTxn>) {
        for e in entries {
            self.ranges.entry(e.producer_id).or_default().push((e.first_offset, e.last_offset));
            self.sorted = false;
        }
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.ranges.values().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    fn sort(&mut self) {
        if !self.sorted {
            for v in self.ranges.values_mut() {
                v.sort_unstable();
            }
            self.sorted = true;
        }
    }

    /// Whether a batch with these header fields is skipped by a
    /// read_committed consumer as part of an aborted transaction.
    pub fn is_aborted(&mut self, producer_id: i64, base_offset: i64, is_transactional: bool, is_control: bool) -> bool {
        if !is_transactional || is_control || self.ranges.is_empty() {
            return false;
        }
        self.sort();
        let Some(v) = self.ranges.get(&producer_id) else { return false };
        // The ranges starting at or below the offset; a later entry of the
        // same producer cannot start below an earlier one's end, but a
        // damaged index might, so every candidate is looked at, newest first.
        let upto = v.partition_point(|&(first, _)| first <= base_offset);
        v[..upto].iter().rev().any(|&(_, last)| base_offset <= last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn txn(pid: i64, first: i64, last: i64) -> AbortedTxn {
        AbortedTxn {
            position: 0,
            version: 0,
            producer_id: pid,
            first_offset: first,
            last_offset: last,
            last_stable_offset: 0,
        }
    }

    #[test]
    fn a_transactional_batch_inside_its_producers_range_is_aborted() {
        let mut a = Aborted::new();
        a.extend([txn(7, 10, 20), txn(7, 30, 35), txn(8, 0, 100)]);
        assert_eq!(a.len(), 3);
        assert!(a.is_aborted(7, 10, true, false));
        assert!(a.is_aborted(7, 19, true, false));
        assert!(a.is_aborted(7, 32, true, false));
        // Between the two aborted transactions, after, before: committed.
        assert!(!a.is_aborted(7, 25, true, false));
        assert!(!a.is_aborted(7, 36, true, false));
        assert!(!a.is_aborted(7, 9, true, false));
        // Another producer's range does not count, nor a non-transactional
        // batch, nor the marker itself.
        assert!(!a.is_aborted(9, 15, true, false));
        assert!(!a.is_aborted(7, 15, false, false));
        assert!(!a.is_aborted(7, 20, true, true));
    }

    #[test]
    fn entries_may_come_in_any_order() {
        let mut a = Aborted::new();
        a.extend([txn(1, 50, 60)]);
        a.extend([txn(1, 5, 9)]);
        assert!(a.is_aborted(1, 7, true, false));
        assert!(a.is_aborted(1, 55, true, false));
        assert!(!a.is_aborted(1, 20, true, false));
    }
}
