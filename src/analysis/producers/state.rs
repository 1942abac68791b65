//! The broker's view of each producer: what Kafka's `ProducerStateManager`
//! holds after replaying the log, and `describeProducers` reports
//! (`UnifiedLog.activeProducers`: `producerEpoch`, `lastSeq`,
//! `lastTimestamp`, `coordinatorEpoch`, `currentTxnFirstOffset`).
//!
//! Followed from Kafka's `storage/.../log/ProducerAppendInfo.java` (`append`,
//! `appendDataBatch`, `appendEndTxnMarker`) and `ProducerStateEntry.java`
//! (`addBatch`, `update`, `maybeUpdateProducerEpoch`), as the broker applies
//! them when it loads a log (origin `REPLICATION`: epochs and sequences are
//! not validated, only recorded):
//!
//! * a data batch (with a producer id) sets the epoch; when the epoch
//!   changes, the batches remembered for the old one are dropped. It
//!   becomes the last batch: last sequence `baseSequence + lastOffsetDelta`
//!   (wrapping as `DefaultRecordBatch.lastSequence`; -1 when the base sequence
//!   is -1), last offset, offset delta, and the last timestamp is the batch's
//!   max timestamp. A transactional batch with no transaction in progress
//!   starts one at its base offset;
//! * a COMMIT or ABORT marker sets the epoch (a new one drops the remembered
//!   batches: with transaction version 2 the coordinator bumps the epoch at
//!   every commit or abort, so the last sequence is -1 until the producer
//!   writes again), the coordinator epoch, ends the transaction in progress,
//!   and the last timestamp is the marker record's timestamp;
//! * a control batch with no record (the cleaner removed the marker) changes
//!   nothing, but the producer is known from then on (epoch -1).

use super::{BatchRole, Producer, ProducerBatch};

/// `RecordBatch.NO_PRODUCER_EPOCH`, `NO_SEQUENCE`, `NO_TIMESTAMP`.
pub(super) const NO_PRODUCER_EPOCH: i16 = -1;
pub(super) const NO_SEQUENCE: i32 = -1;
pub(super) const NO_TIMESTAMP: i64 = -1;

/// `DefaultRecordBatch.incrementSequence`, in Java's wrapping `int` arithmetic.
fn increment_sequence(sequence: i32, increment: i32) -> i32 {
    if sequence > i32::MAX.wrapping_sub(increment) {
        increment.wrapping_sub(i32::MAX.wrapping_sub(sequence)).wrapping_sub(1)
    } else {
        sequence.wrapping_add(increment)
    }
}

/// `DefaultRecordBatch.lastSequence`.
pub(super) fn last_sequence(base_sequence: i32, last_offset_delta: i32) -> i32 {
    if base_sequence == NO_SEQUENCE { NO_SEQUENCE } else { increment_sequence(base_sequence, last_offset_delta) }
}

/// `ProducerStateEntry.maybeUpdateProducerEpoch`.
fn set_epoch(p: &mut Producer, epoch: i16) {
    if p.epoch != epoch {
        p.last_data = None;
        p.last_sequence = NO_SEQUENCE;
        p.epoch = epoch;
    }
}

/// Apply batch `b` of producer `p` to its broker state.
pub(super) fn apply(p: &mut Producer, b: &ProducerBatch) {
    match b.kind {
        BatchRole::Data | BatchRole::TxnData => {
            set_epoch(p, b.epoch);
            let seq = last_sequence(b.base_sequence, b.last_offset_delta);
            let delta = b.last_offset.wrapping_sub(b.base_offset) as i32;
            p.last_data = Some((seq, b.last_offset, delta));
            p.last_sequence = seq;
            p.last_timestamp = b.max_timestamp;
            // A non-transactional batch inside a transaction is refused by the
            // broker (InvalidTxnStateException); the transaction stays open here.
            if b.kind == BatchRole::TxnData && p.current_txn_start_offset.is_none() {
                p.current_txn_start_offset = Some(b.base_offset);
            }
        }
        BatchRole::Commit { coordinator_epoch, timestamp } | BatchRole::Abort { coordinator_epoch, timestamp } => {
            set_epoch(p, b.epoch);
            // The Admin client reports a negative coordinator epoch as none.
            p.coordinator_epoch = (coordinator_epoch >= 0).then_some(coordinator_epoch);
            p.current_txn_start_offset = None;
            p.last_timestamp = timestamp;
        }
        BatchRole::EmptyControl | BatchRole::OtherControl => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_sequence_wraps_as_kafka() {
        assert_eq!(last_sequence(0, 4), 4);
        assert_eq!(last_sequence(-1, 4), -1);
        assert_eq!(last_sequence(i32::MAX - 2, 4), 1);
        assert_eq!(last_sequence(i32::MAX, 0), i32::MAX);
        assert_eq!(last_sequence(i32::MAX, 1), 0);
    }
}
