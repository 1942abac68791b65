//! `dump` and `kafka-dump-log` on every core (`-j N`) write what one
//! thread writes: the same bytes on stdout and on stderr, and the same exit
//! status, on real segments, on a generated segment of many windows, and
//! on damaged copies of it (the serial walk, itself checked against Kafka
//! by the golden tests, is the reference here).

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const KSEG: &str = env!("CARGO_BIN_EXE_kseg");

use common::{v2_batch, varint};

/// A v2 batch written by hand from the format (CRC-32C by the `crc32c`
/// crate): `n` records with keys, JSON-like values that need escaping, and
/// a header.
fn batch(base_offset: i64, n: usize) -> Vec<u8> {
    let mut records = Vec::new();
    for i in 0..n {
        let mut r = vec![0u8]; // attributes
        varint(&mut r, i as i64); // timestamp delta
        varint(&mut r, i as i64); // offset delta
        let key = format!("key-{}", (base_offset + i as i64) % 97);
        varint(&mut r, key.len() as i64);
        r.extend_from_slice(key.as_bytes());
        let value = format!(
            "{{\"id\":{},\"text\":\"line\\nwith \\\"quotes\\\" and ü\",\"pad\":\"{}\"}}",
            base_offset + i as i64,
            "x".repeat(i % 200)
        );
        varint(&mut r, value.len() as i64);
        r.extend_from_slice(value.as_bytes());
        varint(&mut r, 1); // one header
        varint(&mut r, 2);
        r.extend_from_slice(b"h1");
        varint(&mut r, 3);
        r.extend_from_slice(b"v\t1");
        varint(&mut records, r.len() as i64);
        records.extend_from_slice(&r);
    }
    v2_batch(base_offset, 1_700_000_000_000 + base_offset, (-1, -1, -1), n, &records)
}

/// About `mib` MiB of batches of 1 to 60 records, with offset gaps now and
/// then (as compaction leaves them); the batch start positions.
fn segment(mib: usize) -> (Vec<u8>, Vec<usize>) {
    let (mut out, mut starts, mut offset) = (Vec::new(), Vec::new(), 0i64);
    let mut i = 0;
    while out.len() < mib << 20 {
        let n = 1 + (i * 37) % 60;
        starts.push(out.len());
        out.extend(batch(offset, n));
        offset += n as i64 + if i % 13 == 5 { 1000 } else { 0 };
        i += 1;
    }
    (out, starts)
}

struct Run {
    stdout: Vec<u8>,
    stderr: String,
    status: Option<i32>,
}

fn kseg(args: &[&str]) -> Run {
    kseg_windows(args, None)
}

/// `kseg args`, with windows of `window_bytes` when given (KSEG_WINDOW_BYTES:
/// a segment smaller than one window is read on one thread).
fn kseg_windows(args: &[&str], window_bytes: Option<&str>) -> Run {
    let mut cmd = Command::new(KSEG);
    cmd.args(args);
    if let Some(b) = window_bytes {
        cmd.env("KSEG_WINDOW_BYTES", b);
    }
    let o = cmd.output().unwrap();
    Run { stdout: o.stdout, stderr: String::from_utf8_lossy(&o.stderr).into_owned(), status: o.status.code() }
}

/// `args` with `-j 1` and with each of `jobs` give the same output, with
/// the windows' own size and with windows of about a batch (so that the
/// small real segments of testdata go through many windows too).
fn same_on_every_core(args: &[&str], jobs: &[&str]) {
    let one = kseg(&[args, &["-j", "1"]].concat());
    assert!(matches!(one.status, Some(0..=2)), "{args:?}: {}", one.stderr);
    for (j, windows) in jobs.iter().flat_map(|j| [(j, None), (j, Some("1024"))]) {
        let many = kseg_windows(&[args, &["-j", j]].concat(), windows);
        let what = format!("kseg {} -j {j} (windows of {} bytes)", args.join(" "), windows.unwrap_or("default"));
        assert_eq!(many.status, one.status, "{what}: {}", many.stderr);
        assert_eq!(many.stderr, one.stderr, "{what}");
        assert!(
            many.stdout == one.stdout,
            "{what}: stdout differs ({} and {} bytes)",
            one.stdout.len(),
            many.stdout.len()
        );
    }
}

fn scratch(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let part = dir.path().join(name);
    std::fs::create_dir(&part).unwrap();
    (dir, part)
}

#[test]
fn real_segments_dump_the_same_on_every_core() {
    let root = common::root().join("testdata");
    let mut logs = Vec::new();
    for dir in ["segments", "corrupt", "broker/data"] {
        collect_logs(&root.join(dir), &mut logs);
    }
    assert!(logs.len() > 20, "{} segments under testdata", logs.len());
    for log in &logs {
        let log = log.to_str().unwrap();
        same_on_every_core(&["dump", "--records", "--format", "jsonl", log], &["4"]);
    }
    // Whole directories, every format.
    let data = root.join("broker/data");
    for format in ["jsonl", "json", "table"] {
        same_on_every_core(&["dump", "--records", "--format", format, data.to_str().unwrap()], &["2"]);
    }
}

fn collect_logs(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect_logs(&p, out);
        } else if p.extension().is_some_and(|e| e == "log") {
            out.push(p);
        }
    }
}

#[test]
fn a_segment_of_many_windows_is_the_same_on_every_core_whole_or_damaged() {
    let (dir, part) = scratch("orders-0");
    let (clean, starts) = segment(5);
    let log = part.join("00000000000000000000.log");
    std::fs::write(&log, &clean).unwrap();
    let log_s = log.to_str().unwrap();
    // -j 16 cuts 512 KiB windows: ten of them; -j 3, three of 2 MiB.
    for format in ["jsonl", "json", "table"] {
        same_on_every_core(&["dump", "--records", "--format", format, log_s], &["3", "16"]);
    }
    same_on_every_core(&["dump", "--format", "jsonl", log_s], &["16"]);
    same_on_every_core(&["dump", "--records", "--format", "jsonl", "--to-offset", "30000", log_s], &["16"]);
    same_on_every_core(&["dump", "--records", "--format", "table", "--key", "key-5", log_s], &["16"]);
    same_on_every_core(&["kafka-dump-log", "--deep-iteration", "--print-data-log", "--files", log_s], &["3", "16"]);

    // Damaged: a flipped byte in a record (a CRC mismatch) in the second
    // window, a size below the minimum in the sixth (the walk stops there),
    // a torn tail.
    let mut damaged = clean.clone();
    damaged[starts[starts.len() / 5] + 200] ^= 0x40;
    let at = starts[starts.len() * 3 / 5];
    let mut cut = damaged[..at].to_vec();
    cut.extend_from_slice(&damaged[at..at + 8]);
    cut.extend_from_slice(&3i32.to_be_bytes());
    cut.extend_from_slice(&damaged[at + 12..]);
    std::fs::write(&log, &cut).unwrap();
    let broken = kseg(&["dump", "--records", "--format", "jsonl", "-j", "1", log_s]);
    assert_eq!(broken.status, Some(1), "{}", broken.stderr);
    assert_eq!(broken.stderr.lines().count(), 2, "{}", broken.stderr);
    for format in ["jsonl", "json", "table"] {
        same_on_every_core(&["dump", "--records", "--format", format, log_s], &["16"]);
    }
    same_on_every_core(&["kafka-dump-log", "--deep-iteration", "--print-data-log", "--files", log_s], &["16"]);
    same_on_every_core(&["kafka-dump-log", "--deep-iteration", "--kafka-version", "4.1", "--files", log_s], &["16"]);

    // A torn tail after every batch.
    damaged.truncate(damaged.len() - 100);
    std::fs::write(&log, &damaged).unwrap();
    same_on_every_core(&["dump", "--records", "--format", "jsonl", log_s], &["16"]);
    same_on_every_core(&["kafka-dump-log", "--deep-iteration", "--print-data-log", "--files", log_s], &["16"]);
    drop(dir);
}

#[test]
fn a_reader_that_goes_away_ends_the_dump_quietly() {
    let (_dir, part) = scratch("orders-0");
    let log = part.join("00000000000000000000.log");
    std::fs::write(&log, segment(4).0).unwrap();
    for args in [
        vec!["dump", "--records", "--format", "jsonl", "-j", "4"],
        vec!["kafka-dump-log", "--deep-iteration", "--print-data-log", "-j", "4", "--files"],
    ] {
        let mut child =
            Command::new(KSEG).args(&args).arg(&log).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let mut head = [0u8; 4096];
        child.stdout.take().unwrap().read_exact(&mut head).unwrap();
        // The pipe is closed here, as `| head` closes it.
        let o = child.wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&o.stderr), "", "{args:?}");
    }
}
