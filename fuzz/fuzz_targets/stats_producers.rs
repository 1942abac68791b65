//! Summarise arbitrary bytes as a segment with `stats`, and follow their
//! producers with the `producers` analysis; parse them as a `.txnindex` and
//! a producer `.snapshot`. Run with `cargo +nightly fuzz run stats_producers`
//! (seed the corpus with `testdata/producers/*/*.log`).
#![no_main]

use std::path::PathBuf;

use kseg::files::partition::{BaseOffsetFrom, Segment};
use kseg::analysis::producers::{self, Analyzer};
use kseg::format::walk::{Step, Walker};
use kseg::analysis::stats::{EntryReader, Stats};
use kseg::format::txnindex::TxnIndex;
use libfuzzer_sys::fuzz_target;

const LIMIT: usize = 1 << 20;

fuzz_target!(|data: &[u8]| {
    let mut stats = Stats::default();
    let mut reader = EntryReader::new(LIMIT);
    let mut walker = Walker::new(data);
    while let Some(step) = walker.next_step().expect("a slice never fails to read") {
        match step {
            Step::Entry { position, bytes } => {
                let mut part = Stats::default();
                part.add_entry(&mut reader, bytes, position);
                stats.merge(&part);
            }
            other => stats.add_step(&other),
        }
    }
    let _ = (stats.record_size(), stats.batch_size(), stats.distinct_keys());

    let scan = producers::scan_bytes(data, LIMIT).expect("a slice never fails to read");
    let seg = Segment { base_offset: 0, base_from: BaseOffsetFrom::Name, log: PathBuf::from("0.log"), index: None, timeindex: None, txnindex: None, listed: None };
    let mut a = Analyzer::new(producers::Options { txn_timeout_ms: 0 });
    a.segment(&seg, &scan, TxnIndex::new(&[]));
    let _ = a.finish(None);

    let _ = TxnIndex::new(data).entries().count();
    let _ = kseg::format::snapshot::parse(data).entries().count();
});
