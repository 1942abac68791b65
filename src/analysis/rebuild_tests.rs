//! The recovery rule on hand-made batches, with the entries worked out by
//! hand from Kafka's `LogSegment.recover`.

use super::*;

/// A v2 batch of `size` bytes (log overhead included; filler after the
/// header stands for records, which recovery does not read) with a valid
/// CRC-32C.
fn v2(base: i64, last_delta: i32, max_ts: i64, size: usize) -> Vec<u8> {
    v2_full(base, last_delta, max_ts, -1, 0, size)
}

fn v2_full(base: i64, last_delta: i32, max_ts: i64, pid: i64, attributes: i16, size: usize) -> Vec<u8> {
    let mut b = Vec::with_capacity(size);
    b.extend_from_slice(&base.to_be_bytes());
    b.extend_from_slice(&((size - 12) as i32).to_be_bytes());
    b.extend_from_slice(&0i32.to_be_bytes()); // leader epoch
    b.push(2);
    b.extend_from_slice(&[0; 4]); // crc, below
    b.extend_from_slice(&attributes.to_be_bytes());
    b.extend_from_slice(&last_delta.to_be_bytes());
    b.extend_from_slice(&max_ts.to_be_bytes()); // base timestamp
    b.extend_from_slice(&max_ts.to_be_bytes());
    b.extend_from_slice(&pid.to_be_bytes());
    b.extend_from_slice(&0i16.to_be_bytes()); // epoch
    b.extend_from_slice(&(if pid >= 0 { 0i32 } else { -1 }).to_be_bytes());
    b.extend_from_slice(&0i32.to_be_bytes()); // records
    b.resize(size, 0xab);
    seal(&mut b);
    b
}

fn seal(b: &mut [u8]) {
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
}

/// A control batch of producer `pid` at `offset` with one ABORT (0) or
/// COMMIT (1) marker record.
fn marker(pid: i64, offset: i64, kind: i16) -> Vec<u8> {
    let mut rec = vec![0u8]; // attributes
    rec.push(0); // timestamp delta 0 (zigzag varint)
    rec.push(0); // offset delta 0
    rec.push(8); // key length 4
    rec.extend_from_slice(&0i16.to_be_bytes());
    rec.extend_from_slice(&kind.to_be_bytes());
    rec.push(12); // value length 6
    rec.extend_from_slice(&0i16.to_be_bytes());
    rec.extend_from_slice(&5i32.to_be_bytes()); // coordinator epoch
    rec.push(0); // no headers
    let mut b = v2_full(offset, 0, 100, pid, 0x30, 61);
    b[57..61].copy_from_slice(&1i32.to_be_bytes());
    b.push((rec.len() * 2) as u8);
    b.extend_from_slice(&rec);
    let len = (b.len() - 12) as i32;
    b[8..12].copy_from_slice(&len.to_be_bytes());
    seal(&mut b);
    b
}

/// A v0 message (no timestamp) at `offset`, CRC-32 from the magic on.
fn v0(offset: i64) -> Vec<u8> {
    let mut b = offset.to_be_bytes().to_vec();
    b.extend_from_slice(&18i32.to_be_bytes());
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(&[0, 0]); // magic 0, attributes
    b.extend_from_slice(&(-1i32).to_be_bytes()); // null key
    b.extend_from_slice(&4i32.to_be_bytes());
    b.extend_from_slice(b"abcd");
    let crc = crc32fast::hash(&b[16..]);
    b[12..16].copy_from_slice(&crc.to_be_bytes());
    b
}

fn run(log: &[u8], base: i64, interval: u32) -> Rebuilt {
    let opts = Options { index_interval_bytes: interval, explain: true, ..Options::default() };
    rebuild_segment(log, base, &opts, &mut TxnState::default()).unwrap()
}

fn off(offset: i64, position: u32) -> OffsetEntry {
    OffsetEntry { offset, position }
}

fn time(timestamp: i64, offset: i64) -> TimeEntry {
    TimeEntry { timestamp, offset }
}

#[test]
fn entries_after_more_than_the_interval_and_out_of_order_timestamps() {
    // Six 100-byte batches of two offsets each (last offsets 1, 3, ..., 11),
    // interval 150: position - last entry position > 150 at 200 and 400.
    let ts = [1000, 3000, 2000, 2500, 4000, 3500];
    let log: Vec<u8> = (0..6).flat_map(|i| v2(i * 2, 1, ts[i as usize], 100)).collect();
    let r = run(&log, 0, 150);
    assert_eq!(r.offsets, [off(5, 200), off(9, 400)]);
    // At 200 the max so far is batch 1's (3000, last offset 3); at 400, batch 4's.
    assert_eq!(r.times, [time(3000, 3), time(4000, 9)]);
    assert_eq!((r.valid_bytes, r.batches, r.stop, r.failure.clone()), (600, 6, None, None));
    // Exactly the interval is not more than it: 100-byte batches, interval 200.
    assert_eq!(run(&log, 0, 200).offsets, [off(7, 300)]);
    // The batch at 0 never gets an entry, whatever the interval.
    assert_eq!(run(&log, 0, 0).offsets.first(), Some(&off(3, 100)));
    // Explain: one point per entry and the end.
    assert_eq!(r.explain.len(), 3);
    assert_eq!((r.explain[0].bytes_since_previous, r.explain[1].bytes_since_previous), (200, 200));
    assert_eq!((r.explain[2].offset_entry, r.explain[2].time_entry, r.explain[2].position), (None, None, 600));
}

#[test]
fn the_time_index_grows_only_with_the_max_and_gets_it_at_the_end() {
    let ts = [5000, 1, 2, 3, 4, 6000];
    let log: Vec<u8> = (0..6).flat_map(|i| v2(100 + i * 2, 1, ts[i as usize], 100)).collect();
    let r = run(&log, 100, 150);
    assert_eq!(r.offsets, [off(105, 200), off(109, 400)]);
    // At 400 the max is still 5000: no second entry until the end.
    assert_eq!(r.times, [time(5000, 101), time(6000, 111)]);
    assert_eq!(r.explain[1].time_entry, None);
    assert_eq!(r.explain[2].time_entry, Some(1));
    assert_eq!(
        r.index_bytes(),
        [0, 0, 0, 5, 0, 0, 0, 200, 0, 0, 0, 9, 0, 0, 1, 144],
        "relative offsets 5 and 9, positions 200 and 400"
    );
    // Equal timestamps do not move the max: the first batch with it stays.
    let log: Vec<u8> = (0..3).flat_map(|i| v2(i, 0, 7, 100)).collect();
    assert_eq!(run(&log, 0, 4096).times, [time(7, 0)]);
    // Negative timestamps and -1 never make an entry.
    let log: Vec<u8> = (0..3).flat_map(|i| v2(i, 0, -5, 100)).collect();
    assert!(run(&log, 0, 4096).times.is_empty());
}

#[test]
fn v0_messages_get_offset_entries_and_no_time_entries() {
    let log: Vec<u8> = (0..10).flat_map(v0).collect();
    assert_eq!(log.len(), 300);
    let r = run(&log, 0, 50);
    // 30-byte messages: entries where the distance exceeds 50, i.e. every 60 bytes.
    assert_eq!(r.offsets, [off(2, 60), off(4, 120), off(6, 180), off(8, 240)]);
    assert!(r.times.is_empty());
    assert!(r.timeindex_bytes().is_empty());
}

#[test]
fn recovery_stops_at_a_bad_crc_or_an_incomplete_entry() {
    let mut log: Vec<u8> = (0..5).flat_map(|i| v2(i, 0, 10 + i, 100)).collect();
    log[300 + 70] ^= 1; // batch 3's filler: its CRC no longer matches
    let r = run(&log, 0, 150);
    assert_eq!(r.stop, Some(Stop { position: 300, reason: StopReason::InvalidBatch, truncated_bytes: 200 }));
    assert_eq!((r.valid_bytes, r.batches), (300, 3));
    assert_eq!(r.offsets, [off(2, 200)]);
    // The max of the valid batches goes in at the end.
    assert_eq!(r.times, [time(12, 2)]);
    let log: Vec<u8> = (0..2).flat_map(|i| v2(i, 0, 10, 100)).collect();
    let r = run(&log[..150], 0, 150);
    assert_eq!(r.stop.map(|s| (s.position, s.reason)), Some((100, StopReason::Incomplete)));
    let mut log = log;
    log.extend([0u8; 64]);
    assert_eq!(run(&log, 0, 150).stop.map(|s| s.reason), Some(StopReason::ZeroTail));
}

#[test]
fn offsets_outside_the_segment_fail_as_in_kafka() {
    let log = v2(5, 0, 1, 100);
    assert_eq!(run(&log, 10, 4096).failure, Some(Failure::OffsetOverflow { position: 0, last_offset: 5 }));
    let mut log = v2(0, 0, 1, 100);
    log.extend(v2(50, 0, 1, 100));
    log.extend(v2(20, 0, 1, 100));
    let r = run(&log, 0, 50);
    assert_eq!(r.failure, Some(Failure::OffsetNotIncreasing { position: 200, last_offset: 20, previous: 50 }));
}

#[test]
fn aborted_transactions_with_the_last_stable_offset() {
    let txn = 0x10;
    let mut log = Vec::new();
    log.extend(v2_full(0, 1, 10, 7, txn, 80)); // producer 7 opens at 0
    log.extend(v2_full(2, 1, 10, 8, txn, 80)); // producer 8 opens at 2
    log.extend(marker(7, 4, 0)); // 7 aborts: 8's transaction holds the LSO at 2
    log.extend(marker(8, 5, 1)); // 8 commits: nothing
    log.extend(v2_full(6, 0, 10, 9, txn, 80));
    log.extend(marker(9, 7, 0)); // 9 aborts, nothing open: LSO 8
    log.extend(marker(10, 8, 0)); // an empty transaction: nothing
    let mut state = TxnState::default();
    let r = rebuild_segment(&log[..], 0, &Options::default(), &mut state).unwrap();
    assert_eq!(r.failure, None);
    let got: Vec<_> =
        r.aborted.iter().map(|e| (e.producer_id, e.first_offset, e.last_offset, e.last_stable_offset)).collect();
    assert_eq!(got, [(7, 0, 4, 2), (9, 6, 7, 8)]);
    assert_eq!(state.open().count(), 0);
    let bytes = r.txnindex_bytes();
    assert_eq!(bytes.len(), 68);
    assert_eq!(&bytes[..10], &[0, 0, 0, 0, 0, 0, 0, 0, 0, 7]);
    // The state carries over: a transaction opened in one segment, aborted in the next.
    let mut state = TxnState::default();
    let first = v2_full(0, 0, 10, 3, txn, 80);
    rebuild_segment(&first[..], 0, &Options::default(), &mut state).unwrap();
    assert_eq!(state.open().collect::<Vec<_>>(), [(0, 3)]);
    let second = marker(3, 1, 0);
    let r = rebuild_segment(&second[..], 1, &Options::default(), &mut state).unwrap();
    assert_eq!(r.aborted.iter().map(|e| (e.first_offset, e.last_offset)).collect::<Vec<_>>(), [(0, 1)]);
}

#[test]
fn comparisons() {
    let rebuilt = [0, 0, 0, 5, 0, 0, 0, 200, 0, 0, 0, 9, 0, 0, 1, 144];
    let c = |disk: Option<&[u8]>, active| compare(IndexKind::Index, 0, &rebuilt, disk, active);
    assert_eq!(c(Some(&rebuilt), false), Comparison::Identical);
    let mut pre = rebuilt.to_vec();
    pre.resize(16 + 8 * 100, 0);
    assert_eq!(c(Some(&pre), true), Comparison::IdenticalPreallocated { zero_slots: 100 });
    assert!(!c(Some(&pre), false).equal());
    let mut other = rebuilt.to_vec();
    other[11] = 10;
    let Comparison::Differs { entries: 1, first: Some(f), zero_slots: 0, trailing_bytes: 0 } = c(Some(&other), false)
    else {
        panic!()
    };
    assert_eq!(f.entry, 1);
    assert_eq!(f.rebuilt, Some(EntryValue::Offset(off(9, 400))));
    assert_eq!(f.on_disk, Some(EntryValue::Offset(off(10, 400))));
    // One entry short on disk, then zeros: the missing entry differs.
    let Comparison::Differs { entries: 1, first: Some(f), zero_slots: 3, .. } =
        c(Some(&[&rebuilt[..8], &[0u8; 32][..]].concat()), true)
    else {
        panic!()
    };
    assert_eq!((f.entry, f.on_disk), (1, Some(EntryValue::Offset(off(0, 0)))));
    assert_eq!(c(None, false), Comparison::Missing { rebuilt_entries: 2 });
    assert_eq!(compare(IndexKind::Txnindex, 0, &[], None, true), Comparison::Absent);
    // A live active segment's time index lacks the entry appended at close.
    let ts = [10, 12, 11, 13];
    let log: Vec<u8> = (0..4).flat_map(|i| v2(i, 0, ts[i as usize], 100)).collect();
    let r = run(&log, 0, 150);
    assert_eq!(r.times, [time(12, 1), time(13, 3)]);
    assert!(r.closing_time_entry);
    let live = [&r.timeindex_bytes()[..12], &[0u8; 36][..]].concat();
    let cmp = |active| compare_rebuilt(IndexKind::Timeindex, &r, Some(&live), active);
    assert_eq!(cmp(true), Comparison::IdenticalUnclosed { zero_slots: 3 });
    assert!(!cmp(false).equal());
    assert_eq!(compare_rebuilt(IndexKind::Timeindex, &r, Some(&r.timeindex_bytes()), true), Comparison::Identical);
    assert_eq!(compare(IndexKind::Txnindex, 0, &[], Some(&[]), true), Comparison::Identical);
}

proptest::proptest! {
    /// Any bytes: no panic, entries only inside the valid bytes, and any
    /// file on disk compares without a panic.
    #[test]
    fn never_panics(mut log in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600), cut in 0usize..600, disk in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..100), base in -3i64..3) {
        // A valid prefix makes the interesting part reachable.
        let mut valid: Vec<u8> = (0..3).flat_map(|i| v2(i, 0, 10 + i, 100)).collect();
        valid.append(&mut log);
        valid.truncate(cut.max(1) * 2);
        let r = rebuild_segment(&valid[..], base, &Options { index_interval_bytes: 50, explain: true, ..Options::default() }, &mut TxnState::default()).unwrap();
        proptest::prop_assert!(r.offsets.iter().all(|e| u64::from(e.position) < r.valid_bytes));
        for kind in IndexKind::ALL {
            let _ = compare_rebuilt(kind, &r, Some(&disk), true);
            let _ = compare_rebuilt(kind, &r, Some(&disk), false);
        }
    }
}

#[test]
fn open_transactions_from_a_producer_snapshot() {
    // Snapshot v1 (hand-built): version, CRC-32C of [6, end), count, then
    // 46-byte entries. Producer 3 has a transaction open since offset 2;
    // producer 4 none (-1).
    let mut snap = vec![0u8, 1, 0, 0, 0, 0];
    snap.extend_from_slice(&2i32.to_be_bytes());
    for (pid, txn) in [(3i64, 2i64), (4, -1)] {
        snap.extend_from_slice(&pid.to_be_bytes());
        snap.extend_from_slice(&0i16.to_be_bytes());
        snap.extend_from_slice(&0i32.to_be_bytes());
        snap.extend_from_slice(&9i64.to_be_bytes());
        snap.extend_from_slice(&0i32.to_be_bytes());
        snap.extend_from_slice(&100i64.to_be_bytes());
        snap.extend_from_slice(&1i32.to_be_bytes());
        snap.extend_from_slice(&txn.to_be_bytes());
    }
    let crc = crc32c::crc32c(&snap[6..]);
    snap[2..6].copy_from_slice(&crc.to_be_bytes());
    let mut state = TxnState::from_snapshot(&crate::format::snapshot::parse(&snap)).unwrap();
    assert_eq!(state.open().collect::<Vec<_>>(), [(2, 3)]);
    let r = rebuild_segment(&marker(3, 10, 0)[..], 10, &Options::default(), &mut state).unwrap();
    let got: Vec<_> =
        r.aborted.iter().map(|e| (e.producer_id, e.first_offset, e.last_offset, e.last_stable_offset)).collect();
    assert_eq!(got, [(3, 2, 10, 11)]);
    // A snapshot Kafka would reject is not used.
    snap[20] ^= 1;
    assert!(TxnState::from_snapshot(&crate::format::snapshot::parse(&snap)).is_none());
}
