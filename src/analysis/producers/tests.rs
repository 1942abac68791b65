//! The rules on hand-made batches: sequences, epochs and transactions.

use super::*;

fn seg() -> Segment {
    Segment {
        base_from: crate::files::partition::BaseOffsetFrom::Name,
        base_offset: 0,
        log: PathBuf::from("00000000000000000000.log"),
        index: None,
        timeindex: None,
        txnindex: None,
        listed: None,
    }
}

fn data(pid: i64, epoch: i16, base: i64, n: i32, seq: i32) -> ProducerBatch {
    ProducerBatch {
        position: base as u64 * 100,
        base_offset: base,
        last_offset: base + i64::from(n) - 1,
        producer_id: pid,
        epoch,
        base_sequence: seq,
        last_offset_delta: n - 1,
        records: n,
        size: 100,
        max_timestamp: 1000 + base,
        kind: BatchRole::Data,
        missing_before: 0,
    }
}

/// A segment's scan of `batches`: offsets from first to last, newest timestamp 5000.
fn scan_of(batches: Vec<ProducerBatch>) -> SegmentScan {
    SegmentScan {
        first_offset: batches.first().map(|b| b.base_offset),
        last_offset: batches.iter().map(|b| b.last_offset).max(),
        max_timestamp: Some(5000),
        batches,
        ..SegmentScan::default()
    }
}

fn run(batches: Vec<ProducerBatch>) -> PartitionReport {
    let mut a = Analyzer::new(Options::default());
    a.segment(&seg(), &scan_of(batches), TxnIndex::new(&[]));
    a.finish(None)
}

fn kinds(r: &PartitionReport) -> Vec<(&'static str, Severity)> {
    r.findings.iter().map(|f| (f.kind.name(), f.severity)).collect()
}

#[test]
fn in_order_sequences_make_one_range() {
    let r = run(vec![data(1, 0, 0, 5, 0), data(1, 0, 5, 5, 5), data(1, 0, 10, 3, 10)]);
    assert!(r.findings.is_empty(), "{:?}", r.findings);
    let s = &r.producers[0].epochs[0].sequences;
    assert_eq!((s.len(), s[0].first, s[0].last, s[0].batches), (1, 0, 12, 3));
}

#[test]
fn gap_duplicate_and_wrap() {
    let r = run(vec![data(1, 0, 0, 5, 0), data(1, 0, 5, 5, 8)]);
    assert_eq!(kinds(&r), [("sequence_gap", Severity::Anomaly)]);
    assert_eq!((r.findings[0].first_offset, r.findings[0].last_offset), (Some(4), Some(5)));
    let r = run(vec![data(1, 0, 0, 5, 0), data(1, 0, 5, 5, 5), data(1, 0, 10, 5, 5)]);
    assert_eq!(kinds(&r), [("sequence_duplicate", Severity::Anomaly)]);
    assert_eq!((r.findings[0].first_offset, r.findings[0].last_offset), (Some(10), Some(14)));
    // Wrapping from i32::MAX to 0 is in order.
    let r = run(vec![data(1, 0, 0, 3, i32::MAX - 2), data(1, 0, 3, 2, 0)]);
    assert!(r.findings.is_empty(), "{:?}", r.findings);
    assert_eq!(r.producers[0].last_data, Some((1, 4, 1)));
}

#[test]
fn removed_offsets_explain_a_gap() {
    let mut b = data(1, 0, 20, 5, 20);
    b.missing_before = 15;
    let r = run(vec![data(1, 0, 0, 5, 0), b]);
    assert_eq!(kinds(&r), [("sequence_gap", Severity::Note)]);
}

#[test]
fn epochs_bump_reset_and_fence() {
    let r = run(vec![data(1, 0, 0, 5, 0), data(1, 1, 5, 5, 0), data(1, 1, 10, 5, 5)]);
    assert!(r.findings.is_empty(), "{:?}", r.findings);
    assert_eq!(r.producers[0].epochs.len(), 2);
    let r = run(vec![data(1, 0, 0, 5, 0), data(1, 1, 5, 5, 3)]);
    assert_eq!(kinds(&r), [("sequence_gap", Severity::Anomaly)]);
    // The old epoch keeps writing (its own sequences in order): one fenced run.
    let r = run(vec![data(1, 0, 0, 5, 0), data(1, 1, 5, 5, 0), data(1, 0, 10, 5, 5), data(1, 0, 15, 5, 10)]);
    assert_eq!(kinds(&r), [("fenced_writer", Severity::Anomaly)]);
    assert_eq!((r.findings[0].first_offset, r.findings[0].last_offset), (Some(10), Some(19)));
    let r = run(vec![data(1, 5, 0, 5, 0), data(1, 2, 5, 5, 0)]);
    assert_eq!(kinds(&r), [("epoch_backwards", Severity::Anomaly)]);
}

#[test]
fn transactions_open_close_and_hang() {
    let txn = |base, n, seq| ProducerBatch { kind: BatchRole::TxnData, ..data(7, 0, base, n, seq) };
    let marker = |base, abort: bool| ProducerBatch {
        kind: if abort {
            BatchRole::Abort { coordinator_epoch: 1, timestamp: 1000 + base }
        } else {
            BatchRole::Commit { coordinator_epoch: 1, timestamp: 1000 + base }
        },
        base_sequence: -1,
        ..data(7, 0, base, 1, -1)
    };
    let r = run(vec![txn(0, 2, 0), marker(2, false), txn(3, 2, 2)]);
    let p = &r.producers[0];
    assert_eq!((p.committed.count, p.committed.records), (1, 2));
    assert_eq!(p.open.map(|t| t.first_offset), Some(3));
    assert_eq!(r.last_stable_offset, Some(3));
    // Begun 3997 ms before the newest timestamp: open, not hanging, by default.
    assert_eq!(kinds(&r), [("open_transaction", Severity::Note)]);
    let scan =
        SegmentScan { max_timestamp: Some(10_000_000), ..scan_of(vec![txn(0, 2, 0), marker(2, false), txn(3, 2, 2)]) };
    let mut a = Analyzer::new(Options::default());
    a.segment(&seg(), &scan, TxnIndex::new(&[]));
    let r = a.finish(None);
    assert_eq!(kinds(&r), [("hanging_transaction", Severity::Anomaly)]);
    // An abort without a .txnindex is missing from it.
    let r = run(vec![txn(0, 2, 0), marker(2, true), txn(3, 2, 2), marker(5, false)]);
    assert_eq!(kinds(&r), [("abort_missing_from_txnindex", Severity::Anomaly)]);
    assert_eq!((r.producers[0].aborted.count, r.producers[0].anomalies), (1, 1));
    // Unless it is the log's last batch: the broker writes the entry just
    // after the marker, so a live broker shows that moment.
    let r = run(vec![txn(0, 2, 0), marker(2, true)]);
    assert_eq!(kinds(&r), [("abort_missing_from_txnindex", Severity::Note)]);
    assert_eq!(r.producers[0].anomalies, 0);
    // A batch of no producer after the marker (not in the scan's batches) ends the log instead.
    let scan = SegmentScan { last_offset: Some(3), ..scan_of(vec![txn(0, 2, 0), marker(2, true)]) };
    let mut a = Analyzer::new(Options::default());
    a.segment(&seg(), &scan, TxnIndex::new(&[]));
    assert_eq!(kinds(&a.finish(None)), [("abort_missing_from_txnindex", Severity::Anomaly)]);
    // The last batch of a segment another segment follows is not the tail.
    let first = scan_of(vec![txn(0, 2, 0), marker(2, true)]);
    let second = scan_of(vec![txn(3, 2, 2)]);
    let mut a = Analyzer::new(Options::default());
    a.segment(&seg(), &first, TxnIndex::new(&[]));
    a.segment(&Segment { base_offset: 3, ..seg() }, &second, TxnIndex::new(&[]));
    let r = a.finish(None);
    assert_eq!(kinds(&r)[0], ("abort_missing_from_txnindex", Severity::Anomaly));
    // A .txnindex removed with its segment before it was read: not checked.
    let mut a = Analyzer::new(Options::default());
    a.segment_txnindex_gone(&Segment { txnindex: Some(PathBuf::from("0.txnindex")), ..seg() }, &first);
    assert_eq!(kinds(&a.finish(None)), []);
}

/// One `.txnindex` entry (version 0), as Kafka writes it.
fn txnindex_entry(producer_id: i64, first: i64, last: i64, lso: i64) -> Vec<u8> {
    let mut e = 0i16.to_be_bytes().to_vec();
    for v in [producer_id, first, last, lso] {
        e.extend_from_slice(&v.to_be_bytes());
    }
    e
}

#[test]
fn txnindex_entries_past_the_log_as_read_are_a_note_only_at_its_tail() {
    let txn = |base, n, seq| ProducerBatch { kind: BatchRole::TxnData, ..data(7, 0, base, n, seq) };
    // The log as read ends at offset 2; the broker has since appended an
    // ABORT marker at 5 and listed it.
    let scan = scan_of(vec![txn(0, 3, 0)]);
    let idx = txnindex_entry(7, 0, 5, 0);
    let mut a = Analyzer::new(Options::default());
    a.segment(&seg(), &scan, TxnIndex::new(&idx));
    let r = a.finish(None);
    assert!(kinds(&r).contains(&("txnindex_extra", Severity::Note)), "{:?}", kinds(&r));
    // The same in a segment another segment follows is an anomaly.
    let next = SegmentScan { first_offset: Some(6), last_offset: Some(6), batches: vec![], ..SegmentScan::default() };
    let mut a = Analyzer::new(Options::default());
    a.segment(&seg(), &scan, TxnIndex::new(&idx));
    a.segment(&Segment { base_offset: 6, ..seg() }, &next, TxnIndex::new(&[]));
    let r = a.finish(None);
    assert!(kinds(&r).contains(&("txnindex_extra", Severity::Anomaly)), "{:?}", kinds(&r));
}

#[test]
fn broker_state_follows_markers_and_epochs() {
    // Kafka's ProducerStateEntry: a marker with a new epoch (transaction version 2) drops the
    // remembered batches, so the last sequence is -1 until the producer writes again.
    let txn = |epoch, base, n, seq| ProducerBatch { kind: BatchRole::TxnData, ..data(7, epoch, base, n, seq) };
    let marker = |epoch, base| ProducerBatch {
        kind: BatchRole::Commit { coordinator_epoch: 3, timestamp: 9000 + base },
        ..data(7, epoch, base, 1, -1)
    };
    let r = run(vec![txn(0, 0, 2, 0), marker(1, 2), txn(1, 3, 2, 0), marker(2, 5)]);
    let p = &r.producers[0];
    assert_eq!((p.epoch, p.last_sequence, p.last_timestamp), (2, -1, 9005));
    assert_eq!((p.coordinator_epoch, p.current_txn_start_offset, p.last_data), (Some(3), None, None));
    assert_eq!(p.epochs.len(), 3);
    // Data in progress at the new epoch.
    let r = run(vec![txn(0, 0, 2, 0), marker(1, 2), txn(1, 3, 2, 0)]);
    let p = &r.producers[0];
    assert_eq!((p.epoch, p.last_sequence, p.last_timestamp), (1, 1, 1003));
    assert_eq!((p.current_txn_start_offset, p.last_data), (Some(3), Some((1, 4, 1))));
    // A marker in the same epoch (transaction version 0/1) keeps the last batch.
    let r = run(vec![txn(0, 0, 2, 0), marker(0, 2)]);
    let p = &r.producers[0];
    assert_eq!((p.epoch, p.last_sequence, p.last_timestamp), (0, 1, 9002));
    // A data batch without sequence (base sequence -1) is the last batch all the same.
    let r = run(vec![data(7, 0, 0, 2, 0), data(7, 0, 2, 3, -1)]);
    assert_eq!((r.producers[0].last_sequence, r.producers[0].last_data), (-1, Some((-1, 4, 2))));
    // A control batch with no record changes nothing.
    let empty = ProducerBatch { kind: BatchRole::EmptyControl, ..data(7, 5, 5, 1, -1) };
    let r = run(vec![data(7, 0, 0, 2, 0), empty]);
    let p = &r.producers[0];
    assert_eq!((p.epoch, p.last_sequence, p.last_timestamp), (0, 1, 1000));
    let r = run(vec![empty]);
    let p = &r.producers[0];
    assert_eq!((p.epoch, p.last_sequence, p.last_timestamp, p.coordinator_epoch), (-1, -1, -1, None));
}
