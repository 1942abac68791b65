//! `stats` and `producers` never panic, whatever the bytes: damaged copies
//! of the fixtures (bit flips, nasty header fields, cuts) go through the
//! statistics, the producer scan and analysis, and the `.txnindex` and
//! `.snapshot` parsers.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use kseg::analysis::producers::{self, Analyzer, SnapshotFile};
use kseg::analysis::stats::{EntryReader, Stats};
use kseg::files::log::LogSource;
use kseg::files::mmap::Mapped;
use kseg::files::partition::{self, Segment};
use kseg::format::txnindex::TxnIndex;
use kseg::format::walk::{Step, Walker};
use proptest::prelude::*;

mod common;
use common::root;

fn logs_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<PathBuf> = rd.map(|e| e.unwrap().path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            logs_under(&p, out);
        } else if p.extension().is_some_and(|e| e == "log") {
            out.push(p);
        }
    }
}

/// The bytes of every fixture `.log`.
fn fixtures() -> &'static [Vec<u8>] {
    static F: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    F.get_or_init(|| {
        let mut paths = Vec::new();
        for d in ["testdata/producers", "testdata/segments", "testdata/partitions"] {
            logs_under(&root().join(d), &mut paths);
        }
        assert!(paths.len() > 30);
        paths.iter().map(|p| std::fs::read(p).unwrap()).collect()
    })
}

fn run_stats(data: &[u8]) -> Stats {
    let mut stats = Stats::default();
    let mut reader = EntryReader::new(1 << 20);
    let mut walker = Walker::new(data);
    while let Some(step) = walker.next_step().unwrap() {
        match step {
            Step::Entry { position, bytes } => {
                // Half of the time through a separate summary merged in, as the parallel path does.
                if position % 2 == 0 {
                    stats.add_entry(&mut reader, bytes, position);
                } else {
                    let mut part = Stats::default();
                    part.add_entry(&mut reader, bytes, position);
                    stats.merge(&part);
                }
            }
            other => stats.add_step(&other),
        }
    }
    let _ = (stats.record_size(), stats.batch_size(), stats.distinct_keys(), stats.by_codec(), stats.totals());
    stats
}

fn run_producers(data: &[u8], timeout: i64) {
    let scan = producers::scan_bytes(data, 1 << 20).unwrap();
    let seg = Segment {
        base_offset: 0,
        base_from: kseg::files::partition::BaseOffsetFrom::Name,
        log: PathBuf::from("0.log"),
        index: None,
        timeindex: None,
        txnindex: None,
        listed: None,
    };
    let mut a = Analyzer::new(producers::Options { txn_timeout_ms: timeout });
    // The same segment twice: offsets go backwards at the seam.
    a.segment(&seg, &scan, TxnIndex::new(&[]));
    a.segment(&seg, &scan, TxnIndex::new(&[]));
    let report = a.finish(None);
    for f in &report.findings {
        assert!(!f.message.is_empty());
    }
}

#[derive(Debug, Clone)]
enum Damage {
    Flip {
        at: usize,
        bit: u8,
    },
    Set {
        at: usize,
        value: u8,
    },
    /// Overwrite 4 or 8 bytes at an offset inside a v2 header with a nasty value.
    Field {
        entry_at: usize,
        field: usize,
        value: i64,
    },
    Cut {
        at: usize,
    },
}

/// Offsets of the v2 header fields that steer the producer analysis.
const FIELDS: [(usize, usize); 8] = [(0, 8), (23, 4), (27, 8), (35, 8), (43, 8), (51, 2), (53, 4), (57, 4)];

fn damage() -> impl Strategy<Value = Damage> {
    let nasty = prop_oneof![
        Just(i64::MIN),
        Just(i64::MAX),
        Just(-1i64),
        Just(0i64),
        Just(i64::from(i32::MAX)),
        Just(i64::from(i32::MIN)),
        any::<i64>(),
    ];
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Damage::Flip { at, bit }),
        (any::<usize>(), any::<u8>()).prop_map(|(at, value)| Damage::Set { at, value }),
        (any::<usize>(), 0..FIELDS.len(), nasty).prop_map(|(entry_at, field, value)| Damage::Field {
            entry_at,
            field,
            value
        }),
        any::<usize>().prop_map(|at| Damage::Cut { at }),
    ]
}

fn apply(data: &mut Vec<u8>, d: &Damage) {
    if data.is_empty() {
        return;
    }
    match *d {
        Damage::Flip { at, bit } => {
            let i = at % data.len();
            data[i] ^= 1 << bit;
        }
        Damage::Set { at, value } => {
            let i = at % data.len();
            data[i] = value;
        }
        Damage::Field { entry_at, field, value } => {
            // Entry starts, by walking the framing of the undamaged prefix.
            let mut starts = Vec::new();
            let mut pos = 0usize;
            while pos + 12 <= data.len() {
                starts.push(pos);
                let size = i32::from_be_bytes(data[pos + 8..pos + 12].try_into().unwrap());
                if size < 14 {
                    break;
                }
                pos = pos.saturating_add(12 + size as usize);
            }
            if starts.is_empty() {
                return;
            }
            let start = starts[entry_at % starts.len()];
            let (off, len) = FIELDS[field];
            let bytes = value.to_be_bytes();
            for (k, b) in bytes[8 - len..].iter().enumerate() {
                if let Some(slot) = data.get_mut(start + off + k) {
                    *slot = *b;
                }
            }
        }
        Damage::Cut { at } => data.truncate(at % data.len()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn damaged_fixtures_never_panic(
        which in any::<usize>(),
        damages in prop::collection::vec(damage(), 1..6),
        timeout in prop_oneof![Just(0i64), Just(producers::DEFAULT_TXN_TIMEOUT_MS), Just(i64::MAX)],
    ) {
        let f = fixtures();
        let mut data = f[which % f.len()].clone();
        for d in &damages {
            apply(&mut data, d);
        }
        let s = run_stats(&data);
        let t = s.totals();
        prop_assert!(t.bytes <= data.len() as u64);
        run_producers(&data, timeout);
    }

    #[test]
    fn arbitrary_txnindex_and_snapshot_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let idx = TxnIndex::new(&bytes);
        prop_assert_eq!(idx.entries().count(), bytes.len() / 34);
        let s = kseg::format::snapshot::parse(&bytes);
        let readable = s.entries().count();
        prop_assert_eq!(readable, s.readable());
        prop_assert!(10 + 46 * readable <= bytes.len().max(10));
        if let Some(n) = s.header.count {
            prop_assert!(readable as i64 <= i64::from(n).max(0));
        }
    }
}

/// Damaged `.txnindex` and `.snapshot` files in a copy of a partition.
#[test]
fn damaged_txnindex_and_snapshot_files_never_panic() {
    let src = root().join("testdata/producers/clean_transactions-0");
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..200 {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("t-0");
        std::fs::create_dir(&dir).unwrap();
        for e in std::fs::read_dir(&src).unwrap() {
            let p = e.unwrap().path();
            let mut bytes = std::fs::read(&p).unwrap();
            let ext = p.extension().unwrap().to_string_lossy().into_owned();
            if ext != "log" && !bytes.is_empty() {
                match round % 3 {
                    0 => {
                        let i = next() as usize % bytes.len();
                        bytes[i] ^= 1 << (next() % 8);
                    }
                    1 => bytes.truncate(next() as usize % bytes.len()),
                    _ => bytes.extend((0..next() % 50).map(|_| next() as u8)),
                }
            }
            std::fs::write(dir.join(p.file_name().unwrap()), bytes).unwrap();
        }
        let segments = partition::segments(&dir).unwrap();
        let mut a = Analyzer::new(producers::Options::default());
        for seg in &segments {
            let scan = producers::scan_segment(LogSource::open(&seg.log, true).unwrap(), 1 << 20).unwrap();
            let txnindex = seg.txnindex.as_deref().map(Mapped::open).transpose().unwrap();
            a.segment(seg, &scan, TxnIndex::new(txnindex.as_ref().map_or(&[], AsRef::as_ref)));
        }
        let newest = partition::newest_snapshot(&dir).unwrap();
        let bytes = newest.as_ref().map(|(path, _)| std::fs::read(path).unwrap());
        let snapshot = newest.zip(bytes.as_deref()).map(|((path, offset), bytes)| SnapshotFile {
            path,
            offset,
            snapshot: kseg::format::snapshot::parse(bytes),
        });
        a.finish(snapshot);
    }
}
