//! What the integration tests share: where the repository and the shared
//! real-data corpus are.

// Each test binary uses a part of this module.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The repository root (where `Cargo.toml` is).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shared real-data corpus, `../shared/corpus` beside the repository,
/// or `None` with a line on stderr naming the test when it is absent: corpus
/// tests then skip cleanly (it is never copied into the project). With
/// `KSEG_REQUIRE_CORPUS=1` (set by `.ci/run`) an absent corpus fails the test
/// instead, so a moved corpus cannot turn its tests into silent passes.
pub fn corpus() -> Option<PathBuf> {
    let dir = root().join("../shared/corpus");
    if dir.is_dir() {
        return Some(dir);
    }
    let test = std::thread::current().name().unwrap_or("?").to_string();
    if std::env::var("KSEG_REQUIRE_CORPUS").as_deref() == Ok("1") {
        panic!("{test}: KSEG_REQUIRE_CORPUS=1 but the shared corpus is not at {}", dir.display());
    }
    skipped(&test, &format!("the shared corpus is not at {}", dir.display()));
    None
}

/// Say that a test skipped its work, where a reader sees it: straight to the
/// process's stderr (the test harness captures `eprintln!` and shows it only
/// for a failing test, so a skip would be invisible), in one uniform line
/// `kseg-test: SKIPPED <binary>::<test>: <reason>` that
/// `cargo test 2>&1 | grep -c 'kseg-test: SKIPPED'` counts across the whole
/// run. Each line is also appended to `target/tmp/kseg-skipped.txt`, which
/// `.ci/run` empties before the run and prints once at its end.
pub fn skipped(test: &str, reason: &str) {
    use std::io::Write;
    let binary = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .map(|s| s.rsplit_once('-').map_or(s.clone(), |(name, _hash)| name.to_string()))
        .unwrap_or_default();
    let line = format!("kseg-test: SKIPPED {binary}::{test}: {reason}\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
    let log = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("kseg-skipped.txt");
    if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(log) {
        let _ = f.write_all(line.as_bytes());
    }
}

/// Copy the directory `from` to `to`, subdirectories included (a log
/// directory or a partition from `testdata/`, to damage or watch a copy).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Append `v` as Kafka's zigzag varint (the record fields of a v2 batch),
/// written from the format for tests that build batches by hand.
pub fn varint(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

/// A magic-2 batch written by hand from the format, CRC-32C by the
/// independent `crc32c` crate: uncompressed, CreateTime, `records` (each
/// already length-prefixed, back to back) with offset and timestamp deltas
/// 0..count, so its max timestamp is `base_ts + count - 1`; `producer` is
/// (producer id, epoch, base sequence).
pub fn v2_batch(base_offset: i64, base_ts: i64, producer: (i64, i16, i32), count: usize, records: &[u8]) -> Vec<u8> {
    let last_delta = count as i32 - 1;
    let mut body = Vec::new(); // from attributes to the end: what the CRC covers
    body.extend_from_slice(&0i16.to_be_bytes());
    body.extend_from_slice(&last_delta.to_be_bytes());
    body.extend_from_slice(&base_ts.to_be_bytes());
    body.extend_from_slice(&(base_ts + i64::from(last_delta)).to_be_bytes());
    body.extend_from_slice(&producer.0.to_be_bytes());
    body.extend_from_slice(&producer.1.to_be_bytes());
    body.extend_from_slice(&producer.2.to_be_bytes());
    body.extend_from_slice(&(count as i32).to_be_bytes());
    body.extend_from_slice(records);
    let mut out = Vec::new();
    out.extend_from_slice(&base_offset.to_be_bytes());
    out.extend_from_slice(&((body.len() + 9) as i32).to_be_bytes()); // epoch + magic + crc
    out.extend_from_slice(&0i32.to_be_bytes()); // partition leader epoch
    out.push(2);
    out.extend_from_slice(&crc32c::crc32c(&body).to_be_bytes());
    out.extend_from_slice(&body);
    out
}
