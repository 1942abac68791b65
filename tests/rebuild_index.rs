//! `kseg rebuild-index`. The oracle is Kafka itself: the index files a real
//! Kafka 4.4.0 broker wrote (testdata/broker, the shared corpus) must come
//! out byte for byte for every segment the broker rolled or closed. For the
//! generated fixtures of every magic and codec (no broker wrote indexes for
//! them), the expected bytes are computed here from the raw log framing by
//! Kafka's rule as `LogSegment.recover` states it.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

mod common;
use common::{copy_dir, corpus, root};

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn kseg(args: &[&str]) -> Run {
    let out = Command::cargo_bin("kseg").unwrap().arg("rebuild-index").args(args).output().unwrap();
    Run {
        code: out.status.code().unwrap(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Every file under `dir` with its bytes and modification time.
fn tree(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, std::time::SystemTime)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let m = fs::metadata(&p).unwrap().modified().unwrap();
                out.insert(p.clone(), (fs::read(&p).unwrap(), m));
            }
        }
    }
    out
}

/// testdata/broker/data copied, with the active segments' index files
/// extended back to the size the broker preallocated (testdata/broker/README.md).
fn broker_copy() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let broker = root().join("testdata/broker");
    copy_dir(&broker.join("data"), &tmp.path().join("data"));
    for line in fs::read_to_string(broker.join("preallocated.tsv")).unwrap().lines() {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        let f = fs::OpenOptions::new().write(true).open(tmp.path().join("data").join(cols[0])).unwrap();
        f.set_len(cols[1].parse().unwrap()).unwrap();
    }
    tmp
}

/// The segments' base names (`<dir>/<20 digits>`) of a partition directory, by offset.
fn segment_names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|n| n.strip_suffix(".log").map(String::from))
        .collect();
    v.sort();
    v
}

/// Every rolled segment of `dirs` (all but the last of each) rebuilt in
/// `out` equals the broker's files; returns how many files were compared.
fn assert_rolled_identical(dirs: &[PathBuf], out: &Path) -> usize {
    let mut compared = 0;
    for dir in dirs {
        let name = dir.file_name().unwrap();
        let names = segment_names(dir);
        for base in &names[..names.len() - 1] {
            for ext in ["index", "timeindex", "txnindex"] {
                let theirs = dir.join(format!("{base}.{ext}"));
                let ours = out.join(name).join(format!("{base}.{ext}"));
                match fs::read(&theirs) {
                    // Kafka creates a .txnindex at the first aborted transaction;
                    // an empty one (truncated by an earlier recovery) is none.
                    Ok(t) if ext == "txnindex" && t.is_empty() => assert!(!ours.exists(), "{}", ours.display()),
                    Ok(t) => {
                        let o = fs::read(&ours).unwrap_or_else(|e| panic!("{}: {e}", ours.display()));
                        assert!(o == t, "{} differs from the broker's {}", ours.display(), theirs.display());
                        compared += 1;
                    }
                    Err(_) => assert!(!ours.exists(), "{} written, the broker has none", ours.display()),
                }
            }
        }
    }
    compared
}

fn jsonl(stdout: &str) -> Vec<Value> {
    stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn a_real_brokers_rolled_segments_come_out_byte_identical_and_the_input_is_untouched() {
    let tmp = broker_copy();
    let data = tmp.path().join("data");
    let before = tree(&data);
    let out = tmp.path().join("out");
    // The broker ran with log.index.interval.bytes=512 (interop/broker.sh);
    // its KRaft metadata log keeps the default 4096.
    let topics: Vec<PathBuf> =
        ["g-rolled-0", "g-txn-0", "g-compacted-0", "g-binary-0", "__consumer_offsets-0", "__transaction_state-0"]
            .iter()
            .map(|p| data.join(p))
            .collect();
    let mut args: Vec<&str> = topics.iter().map(|p| s(p)).collect();
    args.extend(["--out", s(&out), "--index-interval-bytes", "512", "--format", "jsonl"]);
    let r = kseg(&args);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let metadata = [data.join("__cluster_metadata-0")];
    let r2 = kseg(&[s(&metadata[0]), "--out", s(&out), "--format", "jsonl"]);
    assert_eq!(r2.code, 0, "{}{}", r2.stdout, r2.stderr);

    // g-rolled-0 has one rolled segment, g-txn-0 two with .txnindex files,
    // the metadata log two.
    assert!(assert_rolled_identical(&topics, &out) >= 8);
    assert!(assert_rolled_identical(&metadata, &out) >= 4);
    let txn = fs::read(out.join("g-txn-0/00000000000000000000.txnindex")).unwrap();
    assert_eq!(txn.len(), 2 * 34);
    // Single-segment partitions the broker closed at its clean stop: their
    // files too (the close appends the last time-index entry, as recovery does).
    for p in ["g-binary-0", "__consumer_offsets-0", "__transaction_state-0"] {
        for ext in ["index", "timeindex"] {
            let f = format!("{p}/00000000000000000000.{ext}");
            assert!(fs::read(out.join(&f)).unwrap() == fs::read(data.join(&f)).unwrap(), "{f}");
        }
    }
    // The compacted partition's cleaned segments, written by the log cleaner.
    for f in ["g-compacted-0/00000000000000000000.index", "g-compacted-0/00000000000000000000.timeindex"] {
        assert!(fs::read(out.join(f)).unwrap() == fs::read(data.join(f)).unwrap(), "{f}");
    }

    // The active segments copied from the running broker: preallocated, and
    // without the time-index entry the broker appends only at roll or close.
    let segs = jsonl(&r.stdout);
    let active =
        segs.iter().find(|v| v["log"].as_str().is_some_and(|l| l.ends_with("g-rolled-0/00000000000000000040.log")));
    let files = &active.unwrap()["files"];
    assert_eq!(files[0]["status"], "identical_preallocated", "{files}");
    assert_eq!(files[0]["zero_slots"], 10485760 / 8 - 3);
    assert_eq!(files[1]["status"], "identical_unclosed", "{files}");
    assert_eq!(files[2]["status"], "absent");
    assert_eq!(segs.last().unwrap()["type"], "summary");
    assert_eq!(segs.last().unwrap()["differ"], 0);

    // Nothing in the input changed, and nothing was added to it.
    assert_eq!(tree(&data), before);
}

#[test]
fn refuses_to_write_inside_the_input_or_over_a_file() {
    let tmp = broker_copy();
    let data = tmp.path().join("data");
    let part = data.join("g-txn-0");
    let before = tree(&data);
    for out in [part.join("rebuilt"), part.clone(), data.clone()] {
        let r = kseg(&[s(&part), "--out", s(&out)]);
        assert_eq!(r.code, 2, "--out {}: {}", out.display(), r.stdout);
        assert!(r.stderr.contains("inside the input directory"), "{}", r.stderr);
    }
    // A segment file: its directory is the input.
    let seg = part.join("00000000000000000016.log");
    assert_eq!(kseg(&[s(&seg), "--out", s(&part.join("x"))]).code, 2);
    assert_eq!(tree(&data), before);

    let out = tmp.path().join("out");
    let r = kseg(&[s(&part), "--out", s(&out), "--index-interval-bytes", "512"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let written = tree(&out);
    assert_eq!(written.len(), 8, "3 segments: .index and .timeindex each, two .txnindex");
    // Again: refused before anything is written.
    let r = kseg(&[s(&part), "--out", s(&out)]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("exists; --force overwrites it"), "{}", r.stderr);
    assert_eq!(tree(&out), written);
    // --force rewrites: with the default interval the broker's files differ (exit 1).
    let r = kseg(&[s(&part), "--out", s(&out), "--force"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("entries differ; first at entry 0: rebuilt none, on disk offset 14 position 534"),
        "{}",
        r.stdout
    );
    assert_ne!(tree(&out), written);
    assert_eq!(tree(&data), before);
}

#[test]
fn a_segment_named_alone_gets_the_producer_state_of_the_segments_before_it() {
    let seg = root().join("testdata/broker/data/g-txn-0/00000000000000000016.log");
    let r = kseg(&[s(&seg), "--index-interval-bytes", "512", "--explain", "--format", "json"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    // The broker's .txnindex, which names the first offset of each aborted transaction.
    assert_eq!(v["files"][2]["status"], "identical", "{v}");
    assert_eq!(v["txn_index"].as_array().unwrap().len(), 2);
    // The entry's provenance: the broker's index says (30, 556).
    let p = &v["points"][0];
    assert_eq!((p["position"].as_u64(), p["last_offset"].as_i64()), (Some(556), Some(30)));
    assert!(p["bytes_since_previous"].as_u64().unwrap() > 512);
    assert_eq!(v["points"].as_array().unwrap().last().unwrap()["offset_entry"], Value::Null);
    // --explain is for one segment.
    let dir = root().join("testdata/broker/data/g-txn-0");
    assert_eq!(kseg(&[s(&dir), "--explain"]).code, 2);
}

/// (position, size, last offset, max timestamp) of each log entry, read
/// from the raw framing: offset 0..8, size 8..12, magic at 16; a v2 batch's
/// last offset delta at 23 and max timestamp at 35, a v1 message's
/// timestamp at 18, v0 none (-1).
fn entries(log: &[u8]) -> Vec<(u64, u64, i64, i64)> {
    let be64 = |at: usize| i64::from_be_bytes(log[at..at + 8].try_into().unwrap());
    let be32 = |at: usize| i32::from_be_bytes(log[at..at + 4].try_into().unwrap());
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos + 17 < log.len() {
        let size = 12 + be32(pos + 8) as usize;
        let (last, ts) = match log[pos + 16] {
            2 => (be64(pos) + i64::from(be32(pos + 23)), be64(pos + 35)),
            1 => (be64(pos), be64(pos + 18)),
            _ => (be64(pos), -1),
        };
        out.push((pos as u64, size as u64, last, ts));
        pos += size;
    }
    out
}

/// The `.index` and `.timeindex` bytes `LogSegment.recover` writes.
fn kafka_rule(entries: &[(u64, u64, i64, i64)], base: i64, interval: u64) -> (Vec<u8>, Vec<u8>) {
    let (mut index, mut time) = (Vec::new(), Vec::new());
    let mut max = (-1i64, base);
    let mut last_time = -1i64;
    let mut last_entry = 0u64;
    let mut time_append = |max: (i64, i64), time: &mut Vec<u8>| {
        if max.0 > last_time {
            time.extend_from_slice(&max.0.to_be_bytes());
            time.extend_from_slice(&((max.1 - base) as i32).to_be_bytes());
            last_time = max.0;
        }
    };
    for &(pos, _, last, ts) in entries {
        if ts > max.0 {
            max = (ts, last);
        }
        if pos - last_entry > interval {
            index.extend_from_slice(&((last - base) as i32).to_be_bytes());
            index.extend_from_slice(&(pos as u32).to_be_bytes());
            time_append(max, &mut time);
            last_entry = pos;
        }
    }
    time_append(max, &mut time);
    (index, time)
}

fn check_fixture(log: &Path, out: &Path, interval: u64) {
    let base: i64 = log.file_stem().unwrap().to_str().unwrap().parse().unwrap();
    let bytes = fs::read(log).unwrap();
    let e = entries(&bytes);
    assert_eq!(e.iter().map(|x| x.1).sum::<u64>(), bytes.len() as u64, "{}", log.display());
    let (index, time) = kafka_rule(&e, base, interval);
    let folder = out.join(log.parent().unwrap().file_name().unwrap());
    let stem = log.file_stem().unwrap().to_str().unwrap();
    let what = format!("{} at interval {interval}", log.display());
    assert!(fs::read(folder.join(format!("{stem}.index"))).unwrap() == index, "{what}: .index");
    assert!(fs::read(folder.join(format!("{stem}.timeindex"))).unwrap() == time, "{what}: .timeindex");
}

#[test]
fn fixtures_of_every_magic_and_codec() {
    let segments = root().join("testdata/segments");
    let mut dirs: Vec<PathBuf> = fs::read_dir(&segments).unwrap().map(|e| e.unwrap().path()).collect();
    dirs.sort();
    assert!(dirs.len() >= 20);
    let tmp = tempfile::tempdir().unwrap();
    for interval in [0u64, 300, 4096] {
        let out = tmp.path().join(format!("out-{interval}"));
        let mut args: Vec<&str> = dirs.iter().map(|d| s(d)).collect();
        let iv = interval.to_string();
        args.extend(["--out", s(&out), "--index-interval-bytes", &iv, "--format", "jsonl"]);
        let r = kseg(&args);
        // No index files sit beside these logs: every one is "missing".
        assert_eq!(r.code, 1, "{}", r.stderr);
        for v in jsonl(&r.stdout).iter().filter(|v| v["type"] == "segment") {
            assert_eq!(v["failure"], Value::Null, "{v}");
            assert_eq!(v["stop"], Value::Null, "{v}");
        }
        let mut checked = 0;
        for d in &dirs {
            for f in fs::read_dir(d).unwrap() {
                let p = f.unwrap().path();
                if p.extension().is_some_and(|x| x == "log") {
                    check_fixture(&p, &out, interval);
                    checked += 1;
                }
            }
        }
        assert!(checked >= 20);
    }
    // LogAppendTime: the batches' max timestamp is the append time, which
    // the time index holds (the records were created at 1700000000000 + n).
    let lat: Value =
        serde_json::from_slice(&fs::read(segments.join("log_append_time/00000000000000000000.expected.json")).unwrap())
            .unwrap();
    let append_times: Vec<i64> = lat["batches"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| b["max_timestamp"].as_i64().or(b["wrapper"]["timestamp"].as_i64()))
        .collect();
    let time = fs::read(tmp.path().join("out-0/log_append_time/00000000000000000000.timeindex")).unwrap();
    let stamps: Vec<i64> = time.chunks(12).map(|c| i64::from_be_bytes(c[..8].try_into().unwrap())).collect();
    assert!(!stamps.is_empty() && stamps.iter().all(|t| append_times.contains(t)), "{stamps:?} {append_times:?}");
    assert_eq!(stamps.last(), append_times.iter().max());
    // A transactional fixture (its sidecar): producer 5000 writes at 0 and 5,
    // 5001 at 3, 5000 commits at 10, 5001 aborts at 11 with nothing else
    // open: one entry (5001, first 3, last 11, last stable offset 12).
    let idx = fs::read(tmp.path().join("out-0/v2_transactions/00000000000000000000.txnindex")).unwrap();
    let mut want = vec![0u8, 0];
    for x in [5001i64, 3, 11, 12] {
        want.extend_from_slice(&x.to_be_bytes());
    }
    assert_eq!(idx, want);
}

/// Batches of a fixture renumbered and restamped (CRC-32C recomputed) into
/// one segment whose max timestamps go back and forth.
#[test]
fn out_of_order_create_times_and_offset_gaps() {
    let src = fs::read(root().join("testdata/segments/v2_none/00000000000000000000.log")).unwrap();
    let batches = entries(&src);
    let mut log = Vec::new();
    let stamps = [5_000i64, 1_000, 9_000, 2_000, 9_000, 12_000, 3_000, 11_000, 13_000];
    for (i, ts) in stamps.iter().enumerate() {
        let (pos, size, _, _) = batches[i % batches.len()];
        let mut b = src[pos as usize..(pos + size) as usize].to_vec();
        // Offsets 100 apart: gaps, as compaction leaves.
        b[..8].copy_from_slice(&(1000 + 100 * i as i64).to_be_bytes());
        b[35..43].copy_from_slice(&ts.to_be_bytes());
        let crc = crc32c::crc32c(&b[21..]);
        b[17..21].copy_from_slice(&crc.to_be_bytes());
        log.extend(b);
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("t-0");
    fs::create_dir(&dir).unwrap();
    let path = dir.join("00000000000000001000.log");
    fs::write(&path, &log).unwrap();
    let out = tmp.path().join("out");
    let e = entries(&log);
    let interval = e[0].1 + 1;
    let r = kseg(&[s(&path), "--out", s(&out), "--index-interval-bytes", &interval.to_string()]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    check_fixture(&path, &out, interval);
    let time = fs::read(out.join("t-0/00000000000000001000.timeindex")).unwrap();
    let stamps: Vec<i64> = time.chunks(12).map(|c| i64::from_be_bytes(c[..8].try_into().unwrap())).collect();
    assert!(stamps.windows(2).all(|w| w[0] < w[1]), "{stamps:?}");
    assert_eq!(stamps.last(), Some(&13_000));
}

/// Real broker directories of the shared corpus: every rolled segment with
/// both index files, and the segments the corpus notes say were closed
/// cleanly, rebuild byte for byte (index.interval.bytes 4096, the default
/// those brokers ran with).
#[test]
fn corpus_rolled_segments_are_byte_identical() {
    let Some(corpus) = corpus() else { return };
    let dirs = [
        "devandref-apache-kafka-eda-study/data/__cluster_metadata-0",
        "ldi-poc-kafka370/data/__consumer_offsets-6",
        "ichwansh03-kafka-migration-log4j2/data/learn-kafka-0",
        "rjmfernandes-flink-on-prem-cp760/data/_confluent-monitoring-0",
    ];
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let paths: Vec<PathBuf> = dirs.iter().map(|d| corpus.join(d)).collect();
    let mut args: Vec<&str> = paths.iter().map(|p| s(p)).collect();
    args.extend(["--out", s(&out), "--format", "jsonl"]);
    // The metadata log's active segment was written across restarts (each
    // start resets the bytes counted since the last entry): it differs.
    let r = kseg(&args);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(assert_rolled_identical(&paths[..1], &out) >= 2);
    for p in &paths[1..] {
        let base = &segment_names(p)[0];
        for ext in ["index", "timeindex"] {
            let f = format!("{base}.{ext}");
            let name = p.file_name().unwrap();
            assert!(fs::read(out.join(name).join(&f)).unwrap() == fs::read(p.join(&f)).unwrap(), "{}", p.display());
        }
    }
}

/// The tables, as people read them (golden files in tests/snapshots).
#[test]
fn tables() {
    for (name, args) in [
        ("rebuild_index__g-txn-0_table", &["testdata/broker/data/g-txn-0", "--index-interval-bytes", "512"][..]),
        (
            "rebuild_index__g-txn-0_explain",
            &["testdata/broker/data/g-txn-0/00000000000000000016.log", "--index-interval-bytes", "512", "--explain"][..],
        ),
        // The default interval: the broker's files differ, and say where.
        ("rebuild_index__g-rolled-0_differs", &["testdata/broker/data/g-rolled-0/00000000000000000000.log"][..]),
    ] {
        let out =
            Command::cargo_bin("kseg").unwrap().current_dir(root()).arg("rebuild-index").args(args).output().unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        insta::with_settings!({
            description => format!("kseg rebuild-index {}", args.join(" ")),
            omit_expression => true,
            prepend_module_to_snapshot => false,
        }, {
            insta::assert_snapshot!(name, stdout);
        });
    }
}

/// A segment read from standard input: its base offset from its first
/// batch, its files named by it, byte for byte the broker's.
#[test]
fn a_segment_from_standard_input() {
    let data = root().join("testdata/broker/data/g-txn-0");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let r = Command::cargo_bin("kseg")
        .unwrap()
        .args(["rebuild-index", "-", "--out", s(&out), "--index-interval-bytes", "512"])
        .write_stdin(fs::read(data.join("00000000000000000016.log")).unwrap())
        .output()
        .unwrap();
    // No index files beside a stream: "missing".
    assert_eq!(r.status.code(), Some(1), "{}", String::from_utf8_lossy(&r.stderr));
    assert!(String::from_utf8_lossy(&r.stderr).contains("base offset 16 taken from its first batch"));
    for ext in ["index", "timeindex", "txnindex"] {
        let f = format!("00000000000000000016.{ext}");
        assert!(fs::read(out.join("stream").join(&f)).unwrap() == fs::read(data.join(&f)).unwrap(), "{f}");
    }
}
