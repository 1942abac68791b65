//! Window seams: segments larger than every read window, with damage placed
//! just before, on and after each window boundary, read in every reading
//! mode. The fast paths cut a segment into pieces: verify's windows of 2,048
//! batches, stats' of 4,096 (`analysis::window`), the 8 MiB sliding map
//! (`files::log::MAP_WINDOW`, `files::mmap::WindowSource`), the 1 MiB chunk
//! of plain reads (`files::read::FileSource`) and find's 4 KiB chunk
//! (`analysis::find`). A batch cut by a seam, or a finding at one, must come
//! out as anywhere else, and the same in every mode: all cores, `-j1`,
//! `--no-mmap`, both, and streamed from standard input (`-`).
//!
//! The segments are written here, byte by byte (with an independent
//! CRC-32C), so every expected position and offset is computed from the
//! layout, not taken from kseg. The second half checks the windowed sources
//! themselves with tiny windows, against the whole file read at once.

use std::fs::File;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use kseg::analysis::window::{EntryFold, Event, Reading, WindowSize, walk_segment};
use kseg::files::mmap::WindowSource;
use kseg::files::read::{FileSource, PreadSource};
use kseg::format::walk::{Source, Step, Walker};
use serde_json::Value;

mod common;
use common::{root, varint};

// ---------------------------------------------------------------------------
// The segments

const T0: i64 = 1_700_000_000_000;
const PRODUCERS: i64 = 3;

/// What is wrong with a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Damage {
    None,
    /// A byte of the value flipped after the CRC was computed: the batch
    /// still frames and decodes, its CRC fails.
    Crc,
    /// The value's length says 50 bytes more than there are (the same
    /// varint width), CRC computed over that: the record cannot be read.
    Record,
}

/// One batch as written: where it is and what it holds.
#[derive(Clone, Debug)]
struct Batch {
    position: u64,
    size: u64,
    offset: i64,
    damage: Damage,
    /// Where the record's value starts in the file.
    value_at: u64,
}

/// A v2 batch of one record at `offset`: producer `1000 + offset % 3`,
/// epoch 0, its sequence counting that producer's batches; the value is
/// `value_len` bytes.
fn batch(offset: i64, value_len: usize, damage: Damage) -> Vec<u8> {
    let key = format!("k{offset}");
    let value: Vec<u8> = (0..value_len).map(|j| b'a' + ((offset as usize + j) % 26) as u8).collect();
    let mut rec = vec![0u8]; // attributes
    varint(&mut rec, 0); // timestamp delta
    varint(&mut rec, 0); // offset delta
    varint(&mut rec, key.len() as i64);
    rec.extend_from_slice(key.as_bytes());
    if damage == Damage::Record {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        varint(&mut a, value.len() as i64);
        varint(&mut b, value.len() as i64 + 50);
        assert_eq!(a.len(), b.len());
        rec.extend(b);
    } else {
        varint(&mut rec, value.len() as i64);
    }
    rec.extend_from_slice(&value);
    varint(&mut rec, 0); // headers
    let mut records = Vec::new();
    varint(&mut records, rec.len() as i64);
    records.extend(rec);
    let ts = T0 + offset * 10;
    let mut after_crc = Vec::new();
    after_crc.extend(0i16.to_be_bytes()); // attributes: no codec, CreateTime
    after_crc.extend(0i32.to_be_bytes()); // last offset delta
    after_crc.extend(ts.to_be_bytes());
    after_crc.extend(ts.to_be_bytes());
    after_crc.extend((1000 + offset % PRODUCERS).to_be_bytes());
    after_crc.extend(0i16.to_be_bytes());
    after_crc.extend(((offset / PRODUCERS) as i32).to_be_bytes());
    after_crc.extend(1i32.to_be_bytes());
    after_crc.extend(&records);
    let mut b = offset.to_be_bytes().to_vec();
    b.extend(((after_crc.len() + 9) as i32).to_be_bytes()); // leader epoch, magic, crc
    b.extend(0i32.to_be_bytes());
    b.push(2);
    b.extend(crc32c::crc32c(&after_crc).to_be_bytes());
    b.extend(after_crc);
    if damage == Damage::Crc {
        let at = b.len() - 1 - value_len / 2;
        b[at] ^= 0x01;
    }
    b
}

/// A segment of `n` batches whose value sizes cycle through `sizes`; a batch
/// is damaged when `damage(index, position, size)` says so, by turns its CRC
/// and its record.
fn segment(n: usize, sizes: &[usize], damage: impl Fn(usize, u64, u64) -> bool) -> (Vec<u8>, Vec<Batch>) {
    let mut data = Vec::new();
    let mut batches: Vec<Batch> = Vec::new();
    for i in 0..n {
        let value_len = sizes[i % sizes.len()];
        let size = batch(i as i64, value_len, Damage::None).len() as u64;
        let position = data.len() as u64;
        let damage = match damage(i, position, size) {
            false => Damage::None,
            true if batches.iter().filter(|b| b.damage != Damage::None).count() % 2 == 0 => Damage::Crc,
            true => Damage::Record,
        };
        let bytes = batch(i as i64, value_len, damage);
        let value_at = position + size - 1 - value_len as u64;
        data.extend(bytes);
        batches.push(Batch { position, size, offset: i as i64, damage, value_at });
    }
    (data, batches)
}

/// Does the batch at `position` of `size` bytes lie just before, across, or
/// just after the byte boundary `b`?
fn near(b: u64, position: u64, size: u64) -> bool {
    let end = position + size;
    end == b
        || (position < b && end > b)
        || position == b
        || (end < b && b - end < size)
        || (position > b && position - b < 2 * size)
}

/// The many-batch segment: 6,000 batches of 150 to 250 bytes (about 1.2
/// MiB), damaged at batches 2,047, 2,048, 2,049 (verify's first seam),
/// 4,095, 4,096, 4,097 (verify's second, stats' first), and around the 1 MiB
/// plain-read chunk.
fn many() -> (Vec<u8>, Vec<Batch>) {
    let sizes: Vec<usize> = (0..37).map(|i| 70 + (i * 53) % 101).collect();
    segment(6000, &sizes, |i, pos, size| [2047, 2048, 2049, 4095, 4096, 4097].contains(&i) || near(1 << 20, pos, size))
}

/// The big segment: 560 batches of about 16 KiB (over 8 MiB), damaged
/// around the 8 MiB mark where the sliding map moves, and around the 1 MiB,
/// 2 MiB and 4 MiB chunk boundaries.
fn big() -> (Vec<u8>, Vec<Batch>) {
    let sizes = [16_000, 16_500, 15_700, 16_384 - 80];
    segment(560, &sizes, |_, pos, size| [1u64 << 20, 2 << 20, 4 << 20, 8 << 20].iter().any(|&b| near(b, pos, size)))
}

fn write(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap();
    p
}

// ---------------------------------------------------------------------------
// Running kseg

fn run(args: &[&str]) -> (i32, Vec<u8>, String) {
    let out = Command::cargo_bin("kseg").unwrap().current_dir(root()).args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), out.stdout, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Run `args` with the argument `path` replaced by `-` and the file on
/// standard input (a stream: read forward once); the output with the path
/// written as `-`, for comparison with the file's.
fn run_streamed(args: &[&str], path: &str) -> (i32, Vec<u8>, String) {
    let args: Vec<&str> = args.iter().map(|&a| if a == path { "-" } else { a }).collect();
    let out =
        Command::cargo_bin("kseg").unwrap().current_dir(root()).args(&args).pipe_stdin(path).unwrap().output().unwrap();
    (out.status.code().unwrap_or(-1), out.stdout, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The reading modes of verify, stats and producers; `STREAM` is standard input.
const STREAM: &str = "<stdin>";
const MODES: [&[&str]; 5] = [&[], &["-j1"], &["--no-mmap"], &["-j1", "--no-mmap"], &[STREAM]];

/// Run `args` (which name the segment `path`) in every reading mode: the
/// outputs (with the path written as `-`) and exit codes must be identical;
/// the first is returned.
fn same_in_every_mode(args: &[&str], path: &Path, modes: &[&[&str]]) -> (i32, Vec<u8>) {
    let path = path.to_str().unwrap();
    let mut first: Option<(i32, Vec<u8>)> = None;
    for mode in modes {
        let mut all = args.to_vec();
        let (code, out, stderr) = if mode == &[STREAM] {
            all.push(STREAM);
            run_streamed(args, path)
        } else {
            all.extend(*mode);
            let (code, out, stderr) = run(&all);
            (code, String::from_utf8(out).unwrap().replace(path, "-").into_bytes(), stderr)
        };
        assert!(code == 0 || code == 1, "{all:?}: exit {code}: {stderr}");
        match &first {
            None => first = Some((code, out)),
            Some((c, o)) => {
                assert_eq!(code, *c, "{all:?}");
                assert!(out == *o, "{all:?} differs from {:?} {modes:?}", modes[0]);
            }
        }
    }
    first.unwrap()
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

/// verify: exactly one finding per damaged batch (crc_mismatch or
/// bad_record), at its position and base offset, nothing else, in every mode.
fn check_verify(log: &Path, batches: &[Batch]) {
    let (code, out) = same_in_every_mode(&["verify", log.to_str().unwrap(), "--format", "json"], log, &MODES);
    let v = json(&out);
    let got: Vec<(String, String, u64, i64)> = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let s = |k: &str| p[k].as_str().unwrap().to_string();
            (s("kind"), s("severity"), p["position"].as_u64().unwrap(), p["offset"].as_i64().unwrap())
        })
        .collect();
    let want: Vec<(String, String, u64, i64)> = batches
        .iter()
        .filter_map(|b| match b.damage {
            Damage::None => None,
            Damage::Crc => Some(("crc_mismatch".into(), "error".into(), b.position, b.offset)),
            Damage::Record => Some(("bad_record".into(), "error".into(), b.position, b.offset)),
        })
        .collect();
    assert!(want.len() >= 6, "{want:?}");
    assert_eq!(got, want);
    assert_eq!(code, 1);
    let readable = batches.iter().filter(|b| b.damage != Damage::Record).count() as u64;
    assert_eq!(v["summary"]["records"].as_u64(), Some(readable), "{}", v["summary"]);
}

/// stats: every batch and record counted, those whose record cannot be read
/// as damaged (stats does not check CRCs), the offsets, timestamps and sizes
/// the generator wrote.
fn check_stats(log: &Path, batches: &[Batch], bytes: u64) {
    let (_, out) = same_in_every_mode(&["stats", log.to_str().unwrap(), "--format", "json"], log, &MODES);
    let s = &json(&out)["segments"][0];
    let n = batches.len() as u64;
    assert_eq!(s["batches"].as_u64(), Some(n), "{s}");
    let unreadable = batches.iter().filter(|b| b.damage == Damage::Record).count() as u64;
    assert_eq!(s["records"].as_u64(), Some(n - unreadable), "{s}");
    assert_eq!(s["bytes"].as_u64(), Some(bytes), "{s}");
    assert_eq!(s["damaged_batches"].as_u64(), Some(unreadable), "{s}");
    assert_eq!(s["offsets"]["first"].as_i64(), Some(0), "{s}");
    assert_eq!(s["offsets"]["last"].as_i64(), Some(n as i64 - 1), "{s}");
    for k in ["missing_between", "gaps_between", "missing_within", "batches_with_missing", "not_increasing"] {
        assert_eq!(s["offsets"][k].as_u64(), Some(0), "{k}: {s}");
    }
    assert_eq!(s["timestamps"]["max_ms"].as_i64(), Some(T0 + (n as i64 - 1) * 10), "{s}");
    assert_eq!(s["batch_size"]["max"].as_u64(), batches.iter().map(|b| b.size).max(), "{s}");
    assert_eq!(s["batch_size"]["min"].as_u64(), batches.iter().map(|b| b.size).min(), "{s}");
}

/// producers: the three producers, each with its batches, offsets, bytes
/// and one unbroken run of sequences (producers reads batch headers only,
/// so no damage shows), the same in every mode.
fn check_producers(log: &Path, batches: &[Batch]) {
    let (_, out) = same_in_every_mode(&["producers", log.to_str().unwrap(), "--format", "json"], log, &MODES);
    let v = json(&out);
    let got = v["partitions"][0]["producers"].as_array().unwrap();
    assert_eq!(got.len(), PRODUCERS as usize);
    for (p, g) in got.iter().enumerate() {
        let mine: Vec<&Batch> = batches.iter().filter(|b| b.offset % PRODUCERS == p as i64).collect();
        let (first, last) = (mine[0].offset, mine.last().unwrap().offset);
        assert_eq!(g["producer_id"].as_i64(), Some(1000 + p as i64), "{g}");
        assert_eq!(g["batches"].as_u64(), Some(mine.len() as u64), "{g}");
        assert_eq!(g["bytes"].as_u64(), Some(mine.iter().map(|b| b.size).sum()), "{g}");
        assert_eq!((g["first_offset"].as_i64(), g["last_offset"].as_i64()), (Some(first), Some(last)), "{g}");
        let seqs = g["epochs"][0]["sequences"].as_array().unwrap();
        assert_eq!(seqs.len(), 1, "{g}");
        assert_eq!(seqs[0]["first"].as_i64(), Some(0), "{g}");
        assert_eq!(seqs[0]["last"].as_i64(), Some(mine.len() as i64 - 1), "{g}");
    }
}

/// kafka-dump-log (mapped and plain reads), shallow: one batch line per
/// batch, at its position, `isvalid: false` exactly for those whose CRC
/// fails. Deep, as Kafka's tool, it stops with an exception at the first
/// record it cannot read, after printing that batch's line.
fn check_kafka_dump_log(log: &Path, batches: &[Batch], deep: &[&str]) {
    let modes: [&[&str]; 3] = [&[], &["--no-mmap"], &[STREAM]];
    let (code, out) = same_in_every_mode(&["kafka-dump-log", "--files", log.to_str().unwrap()], log, &modes);
    assert_eq!(code, 0);
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("baseOffset: ")).collect();
    assert_eq!(lines.len(), batches.len());
    for (l, b) in lines.iter().zip(batches) {
        assert!(l.starts_with(&format!("baseOffset: {} lastOffset: {} count: 1 ", b.offset, b.offset)), "{l}");
        assert!(
            l.contains(&format!(" position: {} CreateTime: {} size: {} ", b.position, T0 + b.offset * 10, b.size)),
            "{l}"
        );
        assert!(l.ends_with(if b.damage == Damage::Crc { "isvalid: false" } else { "isvalid: true" }), "{l}");
    }
    let mut args = vec!["kafka-dump-log", "--files", log.to_str().unwrap(), "--deep-iteration"];
    args.extend(deep);
    let (code, out) = same_in_every_mode(&args, log, &modes);
    assert_eq!(code, 1);
    let text = String::from_utf8(out).unwrap();
    let stop = batches.iter().find(|b| b.damage == Damage::Record).unwrap();
    let last = text.lines().rfind(|l| l.starts_with("baseOffset: ")).unwrap();
    assert!(last.starts_with(&format!("baseOffset: {} ", stop.offset)), "{last}");
    assert_eq!(text.lines().filter(|l| l.starts_with("| offset: ")).count() as i64, stop.offset);
}

/// dump --records (plain reads, and streamed): every batch at its position, every
/// readable record, and a problem for each damaged batch: its CRC at the
/// batch, its record at the value that runs out.
fn check_dump(log: &Path, batches: &[Batch]) {
    let path = log.to_str().unwrap();
    let args = ["dump", path, "--format", "jsonl", "--records", "--key-encoding", "none", "--value-encoding", "none"];
    let (code, out, stderr) = run(&args);
    assert_eq!(code, 1, "{stderr}");
    // Streamed, the same lines but the first (a stream's kind and size are not known up front).
    let (scode, streamed, stderr) = run_streamed(&args, path);
    assert_eq!(scode, 1, "{stderr}");
    let text = String::from_utf8(out.clone()).unwrap().replace(path, "-");
    let streamed = String::from_utf8(streamed).unwrap();
    assert!(text.lines().skip(1).eq(streamed.lines().skip(1)), "dump of a file and of the stream differ");
    let (mut positions, mut problems, mut records) = (Vec::new(), Vec::new(), 0);
    for line in String::from_utf8(out).unwrap().lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        match v["type"].as_str().unwrap() {
            "batch" => positions.push(v["position"].as_u64().unwrap()),
            "record" => records += 1,
            "problem" => problems.push((v["kind"].as_str().unwrap().to_string(), v["position"].as_u64().unwrap())),
            _ => {}
        }
    }
    assert_eq!(positions, batches.iter().map(|b| b.position).collect::<Vec<_>>());
    let want: Vec<(String, u64)> = batches
        .iter()
        .filter_map(|b| match b.damage {
            Damage::None => None,
            Damage::Crc => Some(("crc_mismatch".into(), b.position)),
            Damage::Record => Some(("bad_record".into(), b.value_at)),
        })
        .collect();
    assert_eq!(problems, want);
    assert_eq!(records, batches.iter().filter(|b| b.damage != Damage::Record).count());
}

/// find-offset and find-time (4 KiB chunks, no index): the batch of every
/// offset whose batch is cut by a 4 KiB boundary, or starts on one.
fn check_find(log: &Path, batches: &[Batch]) {
    let mut checked = 0;
    for b in batches {
        let cut = b.position / 4096 != (b.position + b.size - 1) / 4096 || b.position % 4096 == 0;
        if !cut || checked >= 12 {
            continue;
        }
        checked += 1;
        for (cmd, target) in [("find-offset", b.offset), ("find-time", T0 + b.offset * 10)] {
            let (code, out, stderr) = run(&[cmd, log.to_str().unwrap(), &target.to_string(), "--format", "json"]);
            assert_eq!(code, 0, "{cmd} {target}: {stderr}");
            let v = json(&out);
            let text = v.to_string();
            assert!(text.contains(&format!("\"position\":{}", b.position)), "{cmd} {target}: {text}");
            assert!(text.contains(&format!("\"offset\":{}", b.offset)), "{cmd} {target}: {text}");
        }
    }
    assert!(checked >= 5, "only {checked} batches across 4 KiB seams");
}

#[test]
fn many_small_batches_across_window_seams() {
    let dir = tempfile::tempdir().unwrap();
    let (data, batches) = many();
    assert!(batches.len() > 5000 && data.len() > 1 << 20);
    let log = write(dir.path(), "00000000000000000000.log", &data);
    check_verify(&log, &batches);
    check_stats(&log, &batches, data.len() as u64);
    check_producers(&log, &batches);
    check_kafka_dump_log(&log, &batches, &["--print-data-log"]);
    check_dump(&log, &batches);
    check_find(&log, &batches);
}

#[test]
fn a_segment_over_the_8_mib_map_window() {
    let dir = tempfile::tempdir().unwrap();
    let (data, batches) = big();
    assert!(data.len() > 8 << 20);
    let log = write(dir.path(), "00000000000000000000.log", &data);
    check_verify(&log, &batches);
    check_stats(&log, &batches, data.len() as u64);
    check_producers(&log, &batches);
    check_kafka_dump_log(&log, &batches, &[]);
    check_dump(&log, &batches);
    check_find(&log, &batches);
}

// ---------------------------------------------------------------------------
// The windowed sources with tiny windows, against the whole file at once

/// Every step of a walk: an entry as (position, length, CRC-32C of its
/// bytes), any other step as its Debug text.
fn steps<S: Source>(mut walker: Walker<S>) -> Vec<String> {
    let mut out = Vec::new();
    while let Some(step) = walker.next_step().unwrap() {
        out.push(match step {
            Step::Entry { position, bytes } => format!("{position} {} {:08x}", bytes.len(), crc32c::crc32c(bytes)),
            other => format!("{other:?}"),
        });
    }
    out
}

/// The two segments, and each cut short inside a batch (a torn tail).
fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for (name, (data, batches)) in [("many", many()), ("big", big())] {
        let cut = batches[batches.len() / 2].position as usize + 30;
        for (suffix, bytes) in [("", data.clone()), ("-torn", data[..cut].to_vec())] {
            out.push((write(dir, &format!("{name}{suffix}.log"), &bytes), bytes));
        }
    }
    out
}

#[test]
fn windowed_sources_read_what_one_slice_reads() {
    let dir = tempfile::tempdir().unwrap();
    for (path, data) in files(dir.path()) {
        let want = steps(Walker::new(&data[..]));
        assert!(want.len() > 280, "{}", path.display());
        let ctx = path.display();
        // The sliding map at its smallest window (one page), a few pages, and
        // a window that is not a multiple of a batch or a page.
        for window in [1, 4096, 3 * 4096, 50_000] {
            let src = WindowSource::from_file(File::open(&path).unwrap(), window).unwrap();
            assert_eq!(steps(Walker::new(src)), want, "{ctx}: WindowSource {window}");
        }
        // Plain reads in chunks smaller than a header, than a batch, and odd.
        for chunk in [1, 17, 100, 4096, 65_537] {
            let src = FileSource::open(&path).unwrap().with_chunk(chunk);
            assert_eq!(steps(Walker::new(src)), want, "{ctx}: FileSource {chunk}");
            let src = PreadSource::from_file(File::open(&path).unwrap(), chunk).unwrap();
            assert_eq!(steps(Walker::new(src)), want, "{ctx}: PreadSource {chunk}");
        }
    }
}

/// Collects (position, length) of every entry in order.
struct Entries;

impl EntryFold for Entries {
    type Reader = ();
    type Acc = Vec<(u64, usize)>;
    fn reader(&self) {}
    fn empty(&self) -> Self::Acc {
        Vec::new()
    }
    fn add(&self, _: &mut (), acc: &mut Self::Acc, bytes: &[u8], position: u64) {
        acc.push((position, bytes.len()));
    }
    fn merge(&self, acc: &mut Self::Acc, later: Self::Acc) {
        acc.extend(later);
    }
}

#[test]
fn the_window_driver_with_tiny_windows_gives_every_entry_once_in_order() {
    let dir = tempfile::tempdir().unwrap();
    for (path, data) in files(dir.path()) {
        let mut walker = Walker::new(&data[..]);
        let (mut want, mut tail) = (Vec::new(), Vec::new());
        while let Some(step) = walker.next_step().unwrap() {
            match step {
                Step::Entry { position, bytes } => want.push((position, bytes.len())),
                other => tail.push(format!("{other:?}")),
            }
        }
        // Windows of one entry, of a prime number of entries, of exactly the
        // number of entries before the torn tail (the tail then starts the
        // next window), and of fewer bytes than one batch.
        let sizes = [
            WindowSize { entries: 1, bytes: 1 << 30 },
            WindowSize { entries: 7, bytes: 1 << 30 },
            WindowSize { entries: want.len(), bytes: 1 << 30 },
            WindowSize { entries: 2048, bytes: 100 },
            WindowSize { entries: 4096, bytes: 20_000 },
        ];
        for reading in [Reading::Sequential, Reading::Mapped] {
            for size in sizes {
                let (mut seen, mut steps) = (Vec::new(), Vec::new());
                let end = walk_segment(&path, reading, size, &Entries, |e| match e {
                    Event::Entries(p) => {
                        assert!(!p.is_empty());
                        seen.extend(p);
                    }
                    Event::Step(s) => steps.push((seen.len(), format!("{s:?}"))),
                })
                .unwrap();
                let ctx = format!("{} {reading:?} {size:?}", path.display());
                assert_eq!(end.len, data.len() as u64, "{ctx}");
                assert!(end.change.is_none(), "{ctx}");
                assert!(seen == want, "{ctx}: {} entries, {} expected", seen.len(), want.len());
                let tail_after_all: Vec<(usize, String)> = tail.iter().map(|t| (want.len(), t.clone())).collect();
                assert_eq!(steps, tail_after_all, "{ctx}");
            }
        }
    }
}
