//! Property: on random partitions (several segments, compacted gaps inside
//! and between batches, out-of-order CreateTime timestamps, LogAppendTime
//! batches, preallocated or missing indexes), find-offset and find-time
//! agree with a brute-force scan of every record.
//!
//! The partitions are written by a small test-only encoder following the
//! broker's rules for the log and its sparse indexes (reference §3.3, §3.8,
//! §3.9); the decoder under test shares no code with it.

use std::path::Path;

use kseg::analysis::find::{self, TimeTarget};
use kseg::files::partition;
use proptest::prelude::*;

mod common;
use common::varint;

#[derive(Clone, Debug)]
struct BatchSpec {
    /// Offset deltas of the records kept (strictly increasing, first may be > 0).
    deltas: Vec<u8>,
    /// Extra deltas after the last record (compaction keeps lastOffsetDelta).
    tail_gap: u8,
    /// Record timestamp deltas from the base timestamp (may go down).
    ts: Vec<i16>,
    log_append: bool,
    /// Offsets skipped before this batch.
    gap_before: u8,
}

/// One v2 batch, uncompressed.
fn batch(base_offset: i64, base_ts: i64, spec: &BatchSpec) -> (Vec<u8>, i64, i64) {
    let last_delta = i32::from(*spec.deltas.last().unwrap()) + i32::from(spec.tail_gap);
    let create_max = spec.ts.iter().map(|&t| base_ts + i64::from(t)).max().unwrap();
    let max_ts = if spec.log_append { create_max + 1000 } else { create_max };
    let mut records = Vec::new();
    for (i, &d) in spec.deltas.iter().enumerate() {
        let mut body = vec![0u8];
        varint(&mut body, i64::from(spec.ts[i]));
        varint(&mut body, i64::from(d));
        varint(&mut body, 1);
        body.push(b'k');
        varint(&mut body, 3);
        body.extend_from_slice(b"val");
        varint(&mut body, 0);
        varint(&mut records, body.len() as i64);
        records.extend(body);
    }
    let mut after_crc = Vec::new();
    let attributes: i16 = if spec.log_append { 0x08 } else { 0 };
    after_crc.extend_from_slice(&attributes.to_be_bytes());
    after_crc.extend_from_slice(&last_delta.to_be_bytes());
    after_crc.extend_from_slice(&base_ts.to_be_bytes());
    after_crc.extend_from_slice(&max_ts.to_be_bytes());
    after_crc.extend_from_slice(&(-1i64).to_be_bytes());
    after_crc.extend_from_slice(&(-1i16).to_be_bytes());
    after_crc.extend_from_slice(&(-1i32).to_be_bytes());
    after_crc.extend_from_slice(&(spec.deltas.len() as i32).to_be_bytes());
    after_crc.extend(records);
    let mut out = Vec::new();
    out.extend_from_slice(&base_offset.to_be_bytes());
    out.extend_from_slice(&((after_crc.len() + 9) as i32).to_be_bytes());
    out.extend_from_slice(&0i32.to_be_bytes());
    out.push(2);
    out.extend_from_slice(&crc32c::crc32c(&after_crc).to_be_bytes());
    out.extend(after_crc);
    (out, base_offset + i64::from(last_delta), max_ts)
}

fn batch_spec() -> impl Strategy<Value = BatchSpec> {
    (1usize..6)
        .prop_flat_map(|n| {
            (
                prop::collection::btree_set(0u8..12, n),
                0u8..3,
                prop::collection::vec(-50i16..200, n),
                prop::bool::weighted(0.15),
                prop::bool::weighted(0.3).prop_flat_map(|g| if g { (1u8..6).boxed() } else { Just(0u8).boxed() }),
            )
        })
        .prop_map(|(deltas, tail_gap, ts, log_append, gap_before)| BatchSpec {
            deltas: deltas.into_iter().collect(),
            tail_gap,
            ts,
            log_append,
            gap_before,
        })
}

#[derive(Clone, Debug)]
struct PartitionSpec {
    segments: Vec<Vec<BatchSpec>>,
    interval: usize,
    /// 0: trimmed indexes, 1: preallocated (zero tail) on the last segment, 2: middle indexes missing
    index_mode: u8,
}

fn partition_spec() -> impl Strategy<Value = PartitionSpec> {
    (prop::collection::vec(prop::collection::vec(batch_spec(), 1..10), 1..4), 0usize..400, 0u8..3)
        .prop_map(|(segments, interval, index_mode)| PartitionSpec { segments, interval, index_mode })
}

/// Writes the partition; returns every record as (offset, timestamp) in offset order.
fn write_partition(dir: &Path, spec: &PartitionSpec) -> Vec<(i64, i64)> {
    let mut next = 0i64;
    let mut ts = 1_700_000_000_000i64;
    let mut all = Vec::new();
    for (si, seg) in spec.segments.iter().enumerate() {
        let base = next;
        let (mut log, mut index, mut tindex) = (Vec::new(), Vec::new(), Vec::new());
        let mut since = 0usize;
        let (mut max_so_far, mut max_offset) = (-1i64, base);
        let mut last_time_entry = -1i64;
        for b in seg {
            let base_offset = next + i64::from(b.gap_before);
            let (bytes, last, max_ts) = batch(base_offset, ts, b);
            for (i, &d) in b.deltas.iter().enumerate() {
                let t = if b.log_append { max_ts } else { ts + i64::from(b.ts[i]) };
                all.push((base_offset + i64::from(d), t));
            }
            if max_ts > max_so_far {
                max_so_far = max_ts;
                max_offset = last;
            }
            // The broker's rule: index after the batch once more than an
            // interval was appended since the last entry.
            if since > spec.interval {
                index.extend_from_slice(&((last - base) as i32).to_be_bytes());
                index.extend_from_slice(&(log.len() as i32).to_be_bytes());
                if max_so_far > last_time_entry {
                    tindex.extend_from_slice(&max_so_far.to_be_bytes());
                    tindex.extend_from_slice(&((max_offset - base) as i32).to_be_bytes());
                    last_time_entry = max_so_far;
                }
                since = 0;
            }
            since += bytes.len();
            log.extend(bytes);
            next = last + 1;
            ts += 300;
        }
        let active = si + 1 == spec.segments.len();
        if !active && max_so_far > last_time_entry {
            // The final entry forced in at roll.
            tindex.extend_from_slice(&max_so_far.to_be_bytes());
            tindex.extend_from_slice(&((max_offset - base) as i32).to_be_bytes());
        }
        if active && spec.index_mode == 1 {
            index.resize(index.len() + 80, 0);
            tindex.resize(tindex.len() + 120, 0);
        }
        let name = format!("{base:020}");
        std::fs::write(dir.join(format!("{name}.log")), log).unwrap();
        let middle = si > 0 && !active;
        if !(spec.index_mode == 2 && middle) {
            std::fs::write(dir.join(format!("{name}.index")), index).unwrap();
            std::fs::write(dir.join(format!("{name}.timeindex")), tindex).unwrap();
        }
    }
    all.sort();
    all
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn lookups_agree_with_brute_force(spec in partition_spec(), picks in prop::collection::vec(any::<u16>(), 8)) {
        let tmp = tempfile::tempdir().unwrap();
        let all = write_partition(tmp.path(), &spec);
        let segs = partition::segments(tmp.path()).unwrap();
        let last = all.last().unwrap().0;
        for &p in &picks {
            let target = i64::from(p) % (last + 3) - 1;
            let want = all.iter().find(|&&(o, _)| o >= target);
            let a = find::find_offset(&segs, target).unwrap();
            prop_assert_eq!(a.offset, want.map(|w| w.0), "offset {}", target);
            prop_assert_eq!(a.found, want.is_some_and(|w| w.0 == target));

            let t = all[usize::from(p) % all.len()].1 + i64::from(p % 7) - 3;
            let want = all.iter().find(|&&(_, ts)| ts >= t);
            let a = find::find_time(&segs, TimeTarget::At(t)).unwrap();
            prop_assert_eq!(a.offset.zip(a.timestamp), want.copied(), "time {}", t);
        }
    }
}
