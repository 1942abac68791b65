//! find-offset and find-time against the fixture partitions (expected values
//! computed by the independent generator in testdata/gen) and against a
//! brute-force scan of the real partitions in ../shared/corpus.

use std::path::Path;

use assert_cmd::Command;
use kseg::analysis::find::{self, TimeTarget};
use kseg::files::partition;
use kseg::format::walk::{Step, Walker};
use serde_json::Value;

mod common;
use common::{corpus, root};

fn kseg_json(args: &[&str]) -> (i32, Value) {
    let out = Command::cargo_bin("kseg").unwrap().args(args).args(["--format", "json"]).output().unwrap();
    let code = out.status.code().unwrap();
    let v = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&out.stderr)));
    (code, v)
}

fn file_name(v: &Value) -> Option<String> {
    v.as_str().map(|s| Path::new(s).file_name().unwrap().to_string_lossy().into_owned())
}

fn expected(partition: &str) -> Value {
    let p = root().join("testdata/partitions").join(partition).join("expected.json");
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

#[test]
fn offset_lookups_match_the_generator() {
    for part in ["demo-0", "noindex-0", "legacy-0"] {
        let exp = expected(part);
        let dir = root().join("testdata/partitions").join(part);
        for l in exp["lookups"]["by_offset"].as_array().unwrap() {
            let target = l["target"].as_i64().unwrap();
            let (code, got) = kseg_json(&["find-offset", dir.to_str().unwrap(), &target.to_string()]);
            let ctx = format!("{part} offset {target}: {got}");
            assert_eq!(got["offset"], l["offset"], "{ctx}");
            let exact = l["offset"].as_i64() == Some(target);
            assert_eq!(got["found"], Value::Bool(exact), "{ctx}");
            assert_eq!(code, if exact { 0 } else { 1 }, "{ctx}");
            if !l["offset"].is_null() {
                assert_eq!(got["position"], l["record_batch_position"], "{ctx}");
                assert_eq!(file_name(&got["segment"]), file_name(&l["record_segment"]), "{ctx}");
            }
            assert_eq!(got["index_entry"], l["index_entry"], "{ctx}");
        }
    }
}

#[test]
fn time_lookups_match_the_generator() {
    for part in ["demo-0", "noindex-0", "legacy-0"] {
        let exp = expected(part);
        let dir = root().join("testdata/partitions").join(part);
        for l in exp["lookups"]["by_timestamp"].as_array().unwrap() {
            let target = l["target"].as_i64().unwrap();
            let (code, got) = kseg_json(&["find-time", dir.to_str().unwrap(), &target.to_string()]);
            let ctx = format!("{part} time {target}: {got}");
            assert_eq!(got["found"], l["found"], "{ctx}");
            assert_eq!(code, if l["found"] == Value::Bool(true) { 0 } else { 1 }, "{ctx}");
            assert_eq!(got["offset"], l["offset"], "{ctx}");
            assert_eq!(got["timestamp"], l["timestamp"], "{ctx}");
            if l["found"] == Value::Bool(true) {
                assert_eq!(got["position"], l["batch_position"], "{ctx}");
                assert_eq!(file_name(&got["segment"]), file_name(&l["segment"]), "{ctx}");
            }
        }
    }
}

#[test]
fn rfc3339_and_special_targets() {
    let dir = root().join("testdata/partitions/demo-0");
    let exp = expected("demo-0");
    let records = exp["records"].as_array().unwrap();
    // 1700000100055 ms is 2023-11-14T22:15:00.055Z; +09:00 is the same instant.
    let (_, a) = kseg_json(&["find-time", dir.to_str().unwrap(), "1700000100055"]);
    let (_, b) = kseg_json(&["find-time", dir.to_str().unwrap(), "2023-11-14T22:15:00.055Z"]);
    let (_, c) = kseg_json(&["find-time", dir.to_str().unwrap(), "2023-11-15T07:15:00.055+09:00"]);
    assert_eq!(a["offset"], b["offset"]);
    assert_eq!(a["offset"], c["offset"]);
    let (_, e) = kseg_json(&["find-time", dir.to_str().unwrap(), "earliest"]);
    assert_eq!(e["offset"], records[0]["offset"]);
    let (_, l) = kseg_json(&["find-time", dir.to_str().unwrap(), "latest"]);
    let last = records.last().unwrap()["offset"].as_i64().unwrap();
    assert_eq!(l["offset"].as_i64(), Some(last + 1));
    let (_, m) = kseg_json(&["find-time", dir.to_str().unwrap(), "max-timestamp"]);
    let max = records.iter().map(|r| r["timestamp"].as_i64().unwrap()).max().unwrap();
    let first_max = records.iter().find(|r| r["timestamp"].as_i64() == Some(max)).unwrap();
    assert_eq!(m["timestamp"].as_i64(), Some(max));
    assert_eq!(m["offset"], first_max["offset"]);
    let bad =
        Command::cargo_bin("kseg").unwrap().args(["find-time", dir.to_str().unwrap(), "yesterday"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn explain_shows_the_search_path() {
    let dir = root().join("testdata/partitions/demo-0");
    let out = Command::cargo_bin("kseg")
        .unwrap()
        .args(["find-offset", dir.to_str().unwrap(), "57", "--explain"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("floor of 57 by base offset: 00000000000000000040.log"), "{text}");
    assert!(text.contains("entry offset 56 -> position 527"), "{text}");
    assert!(text.contains("scanned"), "{text}");
    let out = Command::cargo_bin("kseg")
        .unwrap()
        .args(["find-offset", root().join("testdata/partitions/noindex-0").to_str().unwrap(), "57"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("no offset index; scanning the log"));
}

/// Every record of a partition, in offset order: (offset, timestamp).
fn brute_force(dir: &Path) -> Vec<(i64, i64)> {
    let mut all = Vec::new();
    let mut decoder = kseg::Decoder::default();
    for seg in partition::segments(dir).unwrap() {
        let mut w = Walker::open(&seg.log).unwrap();
        while let Some(step) = w.next_step().unwrap() {
            let Step::Entry { position, bytes } = step else {
                break;
            };
            let Ok(mut d) = decoder.decode(bytes, position) else {
                continue;
            };
            all.extend(d.records().filter_map(Result::ok).map(|r| (r.offset, r.timestamp)));
        }
    }
    all
}

/// The log start offset as the broker loads it: the first segment's base
/// offset, raised by the partition's line in the log directory's
/// `log-start-offset-checkpoint` (read here with plain string splitting).
fn log_start(dir: &Path, first_base: i64) -> i64 {
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    let Some((topic, partition)) = name.rsplit_once('-') else { return first_base };
    let text = std::fs::read_to_string(dir.parent().unwrap().join("log-start-offset-checkpoint")).unwrap_or_default();
    let from_checkpoint = text.lines().skip(2).find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.len() == 3 && f[0] == topic && f[1] == partition).then(|| f[2].parse::<i64>().ok()).flatten()
    });
    from_checkpoint.map_or(first_base, |c| c.max(first_base))
}

/// At most `n` items spread evenly over `items`, always with both ends.
fn sample<T: Copy>(items: &[T], n: usize) -> Vec<T> {
    if items.len() <= n {
        return items.to_vec();
    }
    let step = (items.len() - 1) as f64 / (n - 1) as f64;
    (0..n).map(|i| items[(i as f64 * step).round() as usize]).collect()
}

/// Every offset and timestamp (or an even sample of them in big partitions)
/// is found where a full scan finds it.
fn check_partition(dir: &Path, max_probes: usize) -> usize {
    let segs = partition::segments(dir).unwrap();
    let all = brute_force(dir);
    for &(offset, _) in &sample(&all, max_probes) {
        let a = find::find_offset(&segs, offset).unwrap();
        assert!(a.found && a.offset == Some(offset), "{}: offset {offset}: {a:?}", dir.display());
    }
    if let Some(&(last, _)) = all.last() {
        assert!(!find::find_offset(&segs, last + 1).unwrap().found);
    }
    let mut times: Vec<i64> = all.iter().map(|&(_, t)| t).filter(|&t| t >= 0).collect();
    times.sort_unstable();
    times.dedup();
    let start = log_start(dir, segs.first().map_or(0, |s| s.base_offset));
    for &t in &sample(&times, max_probes) {
        let want = all.iter().find(|&&(o, ts)| ts >= t && o >= start).copied();
        let a = find::find_time(&segs, TimeTarget::At(t)).unwrap();
        assert_eq!(a.offset.zip(a.timestamp), want, "{}: time {t}", dir.display());
    }
    all.len()
}

#[test]
fn fixture_partitions_agree_with_brute_force() {
    for part in ["demo-0", "noindex-0", "legacy-0"] {
        let n = check_partition(&root().join("testdata/partitions").join(part), usize::MAX);
        assert!(n > 20, "{part}: only {n} records");
    }
}

#[test]
fn corpus_partitions_agree_with_brute_force() {
    let Some(corpus) = corpus() else { return };
    let mut dirs = Vec::new();
    let mut stack = vec![corpus];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p.clone());
                if partition::segments(&p).map(|s| !s.is_empty()).unwrap_or(false) {
                    dirs.push(p);
                }
            }
        }
    }
    dirs.sort();
    let mut total = 0;
    for d in &dirs {
        total += check_partition(d, 150);
    }
    assert!(total > 1000, "only {total} records in {} partitions", dirs.len());
}

/// `earliest` is ListOffsets' answer: the log start offset, not the first record still there.
#[test]
fn earliest_is_the_log_start_offset() {
    let logdir = tempfile::tempdir().unwrap();
    let part = logdir.path().join("orders-3");
    std::fs::create_dir(&part).unwrap();
    // demo-0's segments 40 and 95, under a base offset below the first batch
    // (as the cleaner leaves a segment whose first records it removed).
    let src = root().join("testdata/partitions/demo-0");
    std::fs::copy(src.join("00000000000000000040.log"), part.join("00000000000000000030.log")).unwrap();
    std::fs::copy(src.join("00000000000000000095.log"), part.join("00000000000000000095.log")).unwrap();
    let earliest = |dir: &Path| {
        let (code, v) = kseg_json(&["find-time", dir.to_str().unwrap(), "earliest"]);
        assert_eq!(code, 0, "{v}");
        (v["offset"].as_i64(), v["batch_base_offset"].as_i64())
    };
    // The generator's first record at or after offset 40 (segment 40's first batch).
    let records = expected("demo-0")["records"].as_array().unwrap().clone();
    let first_from = |o: i64| records.iter().map(|r| r["offset"].as_i64().unwrap()).find(|&r| r >= o);
    let first = first_from(40);
    assert!(first.is_some_and(|f| f > 30));
    // No checkpoint: the first segment's base offset; the batch shown is the first one.
    assert_eq!(earliest(&part), (Some(30), first));
    // A checkpoint entry for another partition changes nothing; this
    // partition's entry raises it (retention or DeleteRecords moved it) ...
    let checkpoint = logdir.path().join("log-start-offset-checkpoint");
    std::fs::write(&checkpoint, "0\n2\norders 0 1000\norders-3 0 999\n").unwrap();
    assert_eq!(earliest(&part), (Some(30), first));
    std::fs::write(&checkpoint, "0\n2\norders 3 97\norders-3 0 999\n").unwrap();
    let (offset, base) = earliest(&part);
    assert_eq!(offset, Some(97));
    assert!(base.is_some_and(|b| b <= 97), "{base:?}");
    // ... but never lowers it below the first segment.
    std::fs::write(&checkpoint, "0\n1\norders 3 5\n").unwrap();
    assert_eq!(earliest(&part), (Some(30), first));
}

/// ListOffsets' `latest` is the log end offset: an empty active segment (the
/// broker rolled it, then retention deleted the ones before) says it by its
/// base offset. A timestamp lookup never answers below the log start offset.
#[test]
fn latest_and_timestamps_follow_the_log_start_and_end() {
    let logdir = tempfile::tempdir().unwrap();
    let part = logdir.path().join("orders-0");
    std::fs::create_dir(&part).unwrap();
    let src = root().join("testdata/partitions/demo-0");
    std::fs::copy(src.join("00000000000000000000.log"), part.join("00000000000000000000.log")).unwrap();
    let p = part.to_str().unwrap();
    let records = expected("demo-0")["records"].as_array().unwrap().clone();
    let in_first: Vec<(i64, i64)> = records
        .iter()
        .map(|r| (r["offset"].as_i64().unwrap(), r["timestamp"].as_i64().unwrap()))
        .filter(|(o, _)| *o < 40)
        .collect();
    let (_, l) = kseg_json(&["find-time", p, "latest"]);
    assert_eq!(l["offset"].as_i64(), Some(in_first.last().unwrap().0 + 1));
    std::fs::write(part.join("00000000000000000777.log"), b"").unwrap();
    let (code, l) = kseg_json(&["find-time", p, "latest"]);
    assert_eq!((code, l["offset"].as_i64()), (0, Some(777)), "{l}");
    // The first record's own timestamp finds it; with the log start moved
    // past it, the first record at or after the log start answers.
    let (first, ts) = in_first[0];
    let (_, a) = kseg_json(&["find-time", p, &ts.to_string()]);
    assert_eq!(a["offset"].as_i64(), Some(first));
    let moved = in_first[3].0;
    std::fs::write(logdir.path().join("log-start-offset-checkpoint"), format!("0\n1\norders 0 {moved}\n")).unwrap();
    let (_, a) = kseg_json(&["find-time", p, &ts.to_string()]);
    let want = in_first.iter().find(|(o, t)| *o >= moved && *t >= ts).map(|(o, _)| *o);
    assert_eq!(a["offset"].as_i64(), want);
    assert!(want.is_some_and(|w| w >= moved));
}
