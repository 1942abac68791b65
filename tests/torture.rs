//! The live-file torture test: every subcommand runs while another thread
//! changes its files at a random moment, as a live broker does — the
//! segment truncated (a follower's truncation), its preallocated index and
//! time index shrunk (a roll), the segment deleted (retention), a shorter
//! copy renamed over it (the cleaner's swap). Whatever the moment: no
//! signal, no panic, no hang, an exit status of 0, 1 or 2, and a non-zero
//! status names the file.
//!
//! It runs hundreds of commands on a 16 MiB segment, so it is ignored by
//! `cargo test` and run by `.ci/run` in a release build:
//!
//! ```text
//! cargo test --release --test torture -- --ignored --nocapture
//! ```
//!
//! `KSEG_TORTURE_RUNS` sets the runs per subcommand (default 100),
//! `KSEG_TORTURE_BIN` runs another kseg binary (an older build, to see the
//! test fail), `KSEG_TORTURE_VERBOSE=1` prints each non-zero exit.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{v2_batch, varint};

const KSEG: &str = env!("CARGO_BIN_EXE_kseg");
const BASE: &str = "00000000000000000000";
/// Records per batch and bytes per value: batches of about 40 KiB.
const RECORDS: usize = 80;
const VALUE: usize = 480;
const SEGMENT_BYTES: usize = 16 << 20;
/// The preallocated size of a live segment's `.index` and `.timeindex`.
const INDEX_BYTES: usize = 2 << 20;

/// A v2 batch of an idempotent producer (id 7), written by hand from the
/// format: records of `RECORDS` keyed values, CRC-32C by the `crc32c` crate.
fn batch(base_offset: i64, base_ts: i64) -> Vec<u8> {
    let mut records = Vec::new();
    for i in 0..RECORDS {
        let mut r = vec![0u8]; // attributes
        varint(&mut r, i as i64); // timestamp delta
        varint(&mut r, i as i64); // offset delta
        let key = format!("key-{}", base_offset + i as i64);
        varint(&mut r, key.len() as i64);
        r.extend_from_slice(key.as_bytes());
        let value: Vec<u8> = (0..VALUE).map(|j| b'a' + ((j + i) % 26) as u8).collect();
        varint(&mut r, value.len() as i64);
        r.extend_from_slice(&value);
        varint(&mut r, 0); // headers
        varint(&mut records, r.len() as i64);
        records.extend_from_slice(&r);
    }
    v2_batch(base_offset, base_ts, (7, 0, base_offset as i32), RECORDS, &records)
}

/// A live partition's files: the segment, and its index and time index
/// preallocated to `INDEX_BYTES` with an entry per batch after the first
/// (batches exceed `index.interval.bytes`), as a broker writes them.
struct Partition {
    log: Vec<u8>,
    index: Vec<u8>,
    timeindex: Vec<u8>,
    last_offset: i64,
    first_ts: i64,
}

fn partition() -> Partition {
    let first_ts = 1_760_000_000_000;
    let (mut log, mut index, mut timeindex) = (Vec::new(), Vec::new(), Vec::new());
    let mut offset = 0i64;
    while log.len() < SEGMENT_BYTES {
        let ts = first_ts + offset;
        let b = batch(offset, ts);
        if !log.is_empty() {
            let last = offset + RECORDS as i64 - 1;
            index.extend_from_slice(&(last as i32).to_be_bytes());
            index.extend_from_slice(&(log.len() as i32).to_be_bytes());
            timeindex.extend_from_slice(&(ts + RECORDS as i64 - 1).to_be_bytes());
            timeindex.extend_from_slice(&(last as i32).to_be_bytes());
        }
        log.extend_from_slice(&b);
        offset += RECORDS as i64;
    }
    index.resize(INDEX_BYTES, 0);
    timeindex.resize(INDEX_BYTES / 8 * 12, 0);
    Partition { log, index, timeindex, last_offset: offset - 1, first_ts }
}

#[derive(Clone, Copy, Debug)]
enum Change {
    /// The segment cut at a random length.
    Truncate,
    /// The index and time index trimmed to their entries (a roll).
    ShrinkIndexes,
    /// The segment and its indexes deleted.
    Delete,
    /// A shorter copy renamed over the segment.
    RenameShorter,
}

const CHANGES: [Change; 4] = [Change::Truncate, Change::ShrinkIndexes, Change::Delete, Change::RenameShorter];

/// A small deterministic generator: runs are repeatable from their seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn apply(change: Change, dir: &Path, p: &Partition, rng: &mut Rng) {
    let log = dir.join(format!("{BASE}.log"));
    // Errors are ignored: the command may have finished, and nothing here
    // is what is tested.
    let _ = match change {
        Change::Truncate => {
            std::fs::OpenOptions::new().write(true).open(&log).and_then(|f| f.set_len(rng.below(p.log.len() as u64)))
        }
        Change::ShrinkIndexes => {
            let entries = (p.log.len() / (RECORDS * (VALUE + 20))) as u64;
            let _ = std::fs::OpenOptions::new()
                .write(true)
                .open(dir.join(format!("{BASE}.index")))
                .and_then(|f| f.set_len(entries * 8));
            std::fs::OpenOptions::new()
                .write(true)
                .open(dir.join(format!("{BASE}.timeindex")))
                .and_then(|f| f.set_len(entries * 12))
        }
        Change::Delete => {
            let _ = std::fs::remove_file(dir.join(format!("{BASE}.index")));
            let _ = std::fs::remove_file(dir.join(format!("{BASE}.timeindex")));
            std::fs::remove_file(&log)
        }
        Change::RenameShorter => std::fs::rename(dir.join("shorter.tmp"), &log),
    };
}

fn lay_out(dir: &Path, p: &Partition) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(format!("{BASE}.log")), &p.log).unwrap();
    std::fs::write(dir.join(format!("{BASE}.index")), &p.index).unwrap();
    std::fs::write(dir.join(format!("{BASE}.timeindex")), &p.timeindex).unwrap();
    // Not a segment name: ignored by every directory walk.
    std::fs::write(dir.join("shorter.tmp"), &p.log[..p.log.len() / 3]).unwrap();
}

/// What one run of a subcommand is given.
fn command_args(sub: &str, dir: &Path, p: &Partition) -> Vec<String> {
    let d = dir.display().to_string();
    let log = dir.join(format!("{BASE}.log")).display().to_string();
    let index = dir.join(format!("{BASE}.index")).display().to_string();
    let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    match sub {
        "verify" => v(&["verify", "--format", "json", &d]),
        "verify --no-mmap" => v(&["verify", "--no-mmap", "--format", "json", &d]),
        "stats" => v(&["stats", &d]),
        "producers" => v(&["producers", "--no-snapshot", &d]),
        "kafka-dump-log" => v(&["kafka-dump-log", "--deep-iteration", "--print-data-log", "--files", &log]),
        "kafka-dump-log index" => v(&["kafka-dump-log", "--files", &index]),
        "dump" => v(&["dump", "--records", "--format", "jsonl", &d]),
        "find-offset" => v(&["find-offset", &d, &(p.last_offset * 3 / 4).to_string()]),
        "find-time" => v(&["find-time", &d, &(p.first_ts + p.last_offset / 2).to_string()]),
        "rebuild-index" => v(&["rebuild-index", "--format", "json", &d]),
        _ => unreachable!("{sub}"),
    }
}

const SUBCOMMANDS: [&str; 10] = [
    "verify",
    "verify --no-mmap",
    "stats",
    "producers",
    "kafka-dump-log",
    "kafka-dump-log index",
    "dump",
    "find-offset",
    "find-time",
    "rebuild-index",
];

struct Outcome {
    status: Option<i32>,
    signal: Option<i32>,
    stdout: Vec<u8>,
    stderr: String,
    elapsed: Duration,
}

/// Run kseg, changing its files `delay` after it started; killed (and
/// reported as a hang) after a minute.
fn run(args: &[String], change: Option<(Duration, Change, &Path, &Partition, &mut Rng)>) -> Outcome {
    let start = Instant::now();
    // KSEG_TORTURE_BIN: another kseg binary (an older build, to see the test fail).
    let bin = std::env::var("KSEG_TORTURE_BIN").unwrap_or_else(|_| KSEG.to_string());
    let mut child = Command::new(bin)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kseg runs");
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    if let Some((delay, change, dir, p, rng)) = change {
        std::thread::sleep(delay);
        apply(change, dir, p, rng);
    }
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("kseg {} hung for a minute", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    use std::os::unix::process::ExitStatusExt;
    Outcome {
        status: status.code(),
        signal: status.signal(),
        stdout: reader.join().unwrap(),
        stderr: err_reader.join().unwrap(),
        elapsed: start.elapsed(),
    }
}

fn scratch() -> PathBuf {
    // tmpfs when there is one: hundreds of copies of the partition.
    let shm = Path::new("/dev/shm");
    let base = if shm.is_dir() { shm.to_path_buf() } else { std::env::temp_dir() };
    base.join(format!("kseg-torture-{}", std::process::id()))
}

#[test]
#[ignore = "hundreds of runs on a 16 MiB segment: .ci/run runs it in a release build"]
fn every_subcommand_survives_files_changing_under_it() {
    let runs: usize = std::env::var("KSEG_TORTURE_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(100);
    let p = partition();
    let root = scratch();
    let dir = root.join("orders-0");
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut failures = Vec::new();
    for sub in SUBCOMMANDS {
        // How long an undisturbed run takes: changes land within it.
        lay_out(&dir, &p);
        let args = command_args(sub, &dir, &p);
        let calm = run(&args, None);
        assert_eq!(calm.status, Some(0), "undisturbed kseg {}: {}", args.join(" "), calm.stderr);
        let span = calm.elapsed.as_micros().max(200) as u64;
        let (mut noticed, mut nonzero) = (0, 0);
        for i in 0..runs {
            lay_out(&dir, &p);
            let change = CHANGES[i % CHANGES.len()];
            let delay = Duration::from_micros(rng.below(span));
            let o = run(&args, Some((delay, change, &dir, &p, &mut rng)));
            let stdout = String::from_utf8_lossy(&o.stdout);
            let what = format!("kseg {} with {change:?} after {delay:?}", args.join(" "));
            if let Some(sig) = o.signal {
                failures.push(format!("{what}: killed by signal {sig}\n{}", o.stderr));
            } else if !matches!(o.status, Some(0..=2)) {
                failures.push(format!("{what}: exit {:?}\n{}", o.status, o.stderr));
            }
            if o.stderr.contains("panicked") {
                failures.push(format!("{what}: panicked\n{}", o.stderr));
            }
            let named = o.stderr.contains(&dir.display().to_string())
                || stdout.contains(&dir.display().to_string())
                || o.stderr.contains(BASE);
            // For the find commands 1 is an answer: the target is not in the
            // log (it may just have been truncated away).
            let answer = sub.starts_with("find") && o.status == Some(1);
            if o.status != Some(0) && !answer {
                nonzero += 1;
                if std::env::var_os("KSEG_TORTURE_VERBOSE").is_some() {
                    eprintln!("  {what}: exit {:?}: {}", o.status, o.stderr.lines().next().unwrap_or(""));
                }
                if !named {
                    failures.push(format!("{what}: exit {:?} without naming the file\n{}", o.status, o.stderr));
                }
            }
            if o.stderr.contains("while being read")
                || o.stderr.contains("removed before")
                || stdout.contains("changed_during_read")
            {
                noticed += 1;
            }
        }
        eprintln!(
            "torture: {sub:22} {runs} runs, {nonzero} non-zero exits, {noticed} changes reported (run ~{span} µs)"
        );
    }
    let _ = std::fs::remove_dir_all(&root);
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n---\n"));
}
