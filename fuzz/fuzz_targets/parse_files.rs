//! Arbitrary bytes as every non-segment file kind: transaction index,
//! producer snapshot and each text file. Run with
//! `cargo +nightly fuzz run parse_files` (seed the corpus with the files under
//! `testdata/files/`).
#![no_main]

use kseg::format::checkpoint::TextFormat;
use libfuzzer_sys::fuzz_target;

const TEXT: [TextFormat; 6] = [
    TextFormat::MetaProperties,
    TextFormat::CleanShutdown,
    TextFormat::OffsetCheckpoint,
    TextFormat::PartitionMetadata,
    TextFormat::LeaderEpochs,
    TextFormat::QuorumState,
];

fuzz_target!(|data: &[u8]| {
    let len = data.len() as u64;
    let txn = kseg::format::txnindex::TxnIndex::new(data);
    for e in txn.entries() {
        assert!(e.position + 34 <= len);
    }
    assert!(txn.trailing().is_none_or(|t| t.position < len));
    let snap = kseg::format::snapshot::parse(data);
    assert!(snap.entries().all(|e| e.position + 46 <= len));
    assert!(snap.issues.iter().all(|i| i.position <= len));
    for kind in TEXT {
        let p = kseg::format::checkpoint::parse(kind, data);
        assert!(p.issues.iter().all(|i| i.position <= len), "{kind:?}");
    }
});
