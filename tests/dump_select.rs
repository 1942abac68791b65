//! `kseg dump` and `kseg find-*` for people and pipelines (issue 14): arguments that contradict
//! or misspell, the time forms, selection by time, offset and filter, JSON for jq, `--print`.
//!
//! Expected values come from a brute-force pass over the full JSON Lines dump (which
//! tests/dump_cli.rs checks against the fixtures' independent sidecars), never from the option
//! under test.

use std::process::Command;

use serde_json::Value;

mod common;
use common::{root, varint};

const BIN: &str = env!("CARGO_BIN_EXE_kseg");

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str]) -> Run {
    let out = Command::new(BIN).current_dir(root()).args(args).env_remove("NO_COLOR").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "kseg {args:?} panicked: {stderr}");
    Run {
        code: out.status.code().expect("killed by a signal"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr,
    }
}

fn jsonl(args: &[&str]) -> Vec<Value> {
    let r = run(args);
    assert!(r.code == 0 || r.code == 1, "kseg {args:?}: exit {}: {}", r.code, r.stderr);
    r.stdout.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}"))).collect()
}

fn records(objs: &[Value]) -> Vec<&Value> {
    objs.iter().filter(|o| o["type"] == "record").collect()
}

fn offsets(objs: &[Value]) -> Vec<i64> {
    records(objs).iter().map(|r| r["offset"].as_i64().unwrap()).collect()
}

const DEMO: &str = "testdata/partitions/demo-0";
const V2: &str = "testdata/segments/v2_none/00000000000000000000.log";

// ---------------------------------------------------------------------------------------------
// Arguments that contradict or misspell
// ---------------------------------------------------------------------------------------------

#[test]
fn from_offset_above_to_offset_is_an_error() {
    let r = run(&["dump", "--from-offset", "100", "--to-offset", "50", V2]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--from-offset 100 is above --to-offset 50"), "{}", r.stderr);
    assert_eq!(r.stdout, "");
    // Equal bounds are one offset, not a contradiction.
    let r = run(&["dump", "--records", "--format", "jsonl", "--from-offset", "2", "--to-offset", "2", V2]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn misspelt_record_type_lists_the_names() {
    let r = run(&["dump", "--record-type", "offset_comit", V2]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("offset_comit"), "{}", r.stderr);
    assert!(r.stderr.contains("OFFSET_COMMIT") && r.stderr.contains("PARTITION_RECORD"), "{}", r.stderr);
    // The loose spellings the option documents still pass.
    for ok in ["offset_commit", "OffsetCommit", "partition", "PARTITION_RECORD", "3"] {
        let r = run(&["dump", "--record-type", ok, "--format", "jsonl", V2]);
        assert_ne!(r.code, 2, "--record-type {ok}: {}", r.stderr);
    }
}

#[test]
fn jsonl_is_accepted_by_find() {
    for sub in [&["find-offset", V2, "2"][..], &["find-time", V2, "0"]] {
        let r = run(&[sub, &["--format", "jsonl"]].concat());
        assert_eq!(r.code, 0, "{sub:?}: {}", r.stderr);
        assert_eq!(r.stdout.lines().count(), 1, "{sub:?}: one line: {}", r.stdout);
        let v: Value = serde_json::from_str(r.stdout.trim()).unwrap();
        assert_eq!(v["found"], true);
        let pretty = run(&[sub, &["--format", "json"]].concat());
        assert_eq!(serde_json::from_str::<Value>(&pretty.stdout).unwrap(), v);
    }
}

#[test]
fn plurals_are_right() {
    // One file, batch sizes and one-record batches: the summary and the batch lines.
    let r = run(&["dump", "--records", "--to-offset", "0", V2]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let last = r.stdout.lines().last().unwrap();
    assert!(last.starts_with("1 file, 1 batch, 1 record, "), "{last}");
    for bad in ["1 files", "1 batches", "1 records", "1 problems", "1 entries"] {
        assert!(!r.stdout.contains(&format!(" {bad}")) && !r.stdout.starts_with(bad), "{bad} in {}", r.stdout);
    }
}

// ---------------------------------------------------------------------------------------------
// find-time forms, find-offset's record and log end offset
// ---------------------------------------------------------------------------------------------

fn find_json(args: &[&str]) -> (i32, Value) {
    let r = run(&[args, &["--format", "jsonl"]].concat());
    assert!(r.code <= 1, "{args:?}: {}", r.stderr);
    (r.code, serde_json::from_str(r.stdout.trim()).unwrap_or_else(|e| panic!("{args:?}: {e}: {}", r.stdout)))
}

#[test]
fn find_time_takes_dates_times_and_kafka_specials() {
    // 1700000100000 ms is 2023-11-14T22:15:00Z (1700000000 s is 22:13:20Z, plus 100 s).
    let (_, ms) = find_json(&["find-time", DEMO, "1700000100000"]);
    for form in ["2023-11-14 22:15", "2023-11-14 22:15:00", "2023-11-14T22:15:00Z", "2023-11-15 07:15+09:00"] {
        let (_, v) = find_json(&["find-time", DEMO, form]);
        assert_eq!(v["target_timestamp"], 1_700_000_100_000i64, "{form}");
        assert_eq!(v["offset"], ms["offset"], "{form}");
    }
    let (_, date) = find_json(&["find-time", DEMO, "2023-11-14"]);
    assert_eq!(date["target_timestamp"], 1_699_920_000_000i64);
    for (num, name) in [("-1", "latest"), ("-2", "earliest"), ("-3", "max-timestamp")] {
        assert_eq!(find_json(&["find-time", DEMO, num]).1, find_json(&["find-time", DEMO, name]).1, "{num}");
    }
    let r = run(&["find-time", DEMO, "2023-11-14 25:00"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("RFC 3339") && r.stderr.contains("latest (-1)"), "{}", r.stderr);
    assert!(!r.stderr.contains("offset component"), "{}", r.stderr);
}

#[test]
fn find_offset_shows_the_record_and_past_the_end_the_log_end_offset() {
    let all = jsonl(&["dump", "--records", "--format", "jsonl", DEMO]);
    let recs = records(&all);
    let r = recs.iter().find(|r| r["offset"] == 50).expect("offset 50 in demo-0");
    let (code, v) = find_json(&["find-offset", DEMO, "50"]);
    assert_eq!(code, 0);
    assert_eq!(v["record"]["key"], r["key"]);
    assert_eq!(v["timestamp"], r["timestamp"]);
    let value = r["value"].as_str().unwrap();
    assert_eq!(v["record"]["value_size"], value.len());
    assert!(value.starts_with(v["record"]["value"].as_str().unwrap()));
    let table = run(&["find-offset", DEMO, "50"]).stdout;
    let key_line = table.lines().find(|l| l.starts_with("key:")).unwrap();
    assert!(key_line.ends_with(r["key"].as_str().unwrap()), "{table}");
    assert!(table.contains("timestamp:"), "{table}");

    // Past the end: the log end offset is one past the last batch's last offset.
    let leo =
        all.iter().filter(|o| o["type"] == "batch").map(|b| b["last_offset"].as_i64().unwrap()).max().unwrap() + 1;
    let (code, v) = find_json(&["find-offset", DEMO, "5000"]);
    assert_eq!(code, 1);
    assert_eq!(v["log_end_offset"], leo);
    assert!(v.get("record").is_none());
    let table = run(&["find-offset", DEMO, "5000"]).stdout;
    assert!(table.contains(&format!("log end:     {leo} ")), "{table}");
    // Found: no log end offset line.
    assert!(find_json(&["find-offset", DEMO, "50"]).1.get("log_end_offset").is_none());
}

// ---------------------------------------------------------------------------------------------
// Selection: --from-time/--to-time, --from-offset seeking, filters
// ---------------------------------------------------------------------------------------------

/// (batch object, record object) pairs of a full JSON Lines dump, in order.
fn pairs(objs: &[Value]) -> Vec<(&Value, &Value)> {
    let mut batch = None;
    let mut out = Vec::new();
    for o in objs {
        match o["type"].as_str() {
            Some("batch") => batch = Some(o),
            Some("record") => out.push((batch.expect("a record after its batch"), o)),
            _ => {}
        }
    }
    out
}

fn summary(objs: &[Value]) -> &Value {
    objs.iter().rev().find(|o| o["type"] == "summary").expect("a summary")
}

/// The offset `find-time T` answers, or None.
fn find_time_offset(path: &str, t: &str) -> Option<i64> {
    let r = run(&["find-time", path, t, "--format", "jsonl"]);
    let v: Value = serde_json::from_str(r.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {}", r.stdout));
    v["offset"].as_i64()
}

/// `--from-time T` starts exactly where `find-time T` points, and `--to-time T` ends before
/// where `find-time T+1ms` points; the records between are the full dump's.
fn check_time_window(path: &str, times: &[i64]) {
    let all = jsonl(&["dump", "--records", "--format", "jsonl", path]);
    let all_offsets = offsets(&all);
    for &t in times {
        let ts = t.to_string();
        let got = offsets(&jsonl(&["dump", "--records", "--format", "jsonl", "--from-time", &ts, path]));
        let want: Vec<i64> = match find_time_offset(path, &ts) {
            Some(o) => all_offsets.iter().copied().filter(|&x| x >= o).collect(),
            None => vec![],
        };
        assert_eq!(got, want, "{path} --from-time {t}");
        let got = offsets(&jsonl(&["dump", "--records", "--format", "jsonl", "--to-time", &ts, path]));
        let want: Vec<i64> = match find_time_offset(path, &(t + 1).to_string()) {
            Some(o) => all_offsets.iter().copied().filter(|&x| x < o).collect(),
            None => all_offsets.clone(),
        };
        assert_eq!(got, want, "{path} --to-time {t}");
    }
}

#[test]
fn from_time_starts_where_find_time_points_on_fixtures() {
    // demo-0: timestamps 1700000100000.. out of order within batches.
    check_time_window(
        DEMO,
        &[
            0,
            1_700_000_100_000,
            1_700_000_100_155,
            1_700_000_101_000,
            1_700_000_101_030,
            1_700_000_102_020,
            1_800_000_000_000,
        ],
    );
    check_time_window("testdata/partitions/legacy-0", &[0, 1_700_000_000_005, 1_800_000_000_000]);
    // Date forms reach the same place as milliseconds.
    let a = offsets(&jsonl(&["dump", "--records", "--format", "jsonl", "--from-time", "2023-11-14 22:15:01", DEMO]));
    let b = offsets(&jsonl(&["dump", "--records", "--format", "jsonl", "--from-time", "1700000101000", DEMO]));
    assert_eq!(a, b);
    assert!(!a.is_empty());
    let r = run(&["dump", "--from-time", "half past three", DEMO]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("RFC 3339"), "{}", r.stderr);
}

#[test]
fn from_time_starts_where_find_time_points_on_the_corpus() {
    let Some(corpus) = common::corpus() else { return };
    for dir in [
        "devandref-apache-kafka-eda-study/data/__cluster_metadata-0",
        "arthurarutunyan04-backend-labs-kafka400/kafka-data/oms_order_status_changed-0",
    ] {
        let path = corpus.join(dir);
        let path = path.to_str().unwrap();
        let all = jsonl(&["dump", "--records", "--format", "jsonl", "--decode", "none", path]);
        let ts: Vec<i64> = records(&all).iter().map(|r| r["timestamp"].as_i64().unwrap()).collect();
        let (lo, hi) = (*ts.iter().min().unwrap(), *ts.iter().max().unwrap());
        for t in [lo - 1, lo + (hi - lo) / 3, lo + (hi - lo) / 2, hi, hi + 1] {
            let want = find_time_offset(path, &t.to_string());
            let first = jsonl(&[
                "dump",
                "--records",
                "--format",
                "jsonl",
                "--decode",
                "none",
                "--limit",
                "1",
                "--from-time",
                &t.to_string(),
                path,
            ]);
            assert_eq!(offsets(&first).first().copied(), want, "{dir} --from-time {t}");
        }
    }
}

/// The entries of an offset index, read by hand: 4-byte relative offset, 4-byte position.
fn index_entries(path: &std::path::Path, base: i64) -> Vec<(i64, u64)> {
    let bytes = std::fs::read(path).unwrap();
    bytes
        .chunks_exact(8)
        .map(|c| {
            (
                base + i64::from(u32::from_be_bytes(c[..4].try_into().unwrap())),
                u64::from(u32::from_be_bytes(c[4..].try_into().unwrap())),
            )
        })
        .enumerate()
        .take_while(|&(i, (o, p))| i == 0 || (o, p) != (base, 0))
        .map(|(_, e)| e)
        .collect()
}

#[test]
fn from_offset_seeks_by_segment_and_index() {
    let all = jsonl(&["dump", "--records", "--format", "jsonl", DEMO]);
    let dir = root().join(DEMO);
    let entries = index_entries(&dir.join("00000000000000000095.index"), 95);
    let log_len = std::fs::metadata(dir.join("00000000000000000095.log")).unwrap().len();
    for target in [0, 39, 40, 60, 95, 104, 110, 116, 118] {
        let got = jsonl(&["dump", "--records", "--format", "jsonl", "--from-offset", &target.to_string(), DEMO]);
        let want: Vec<i64> = offsets(&all).into_iter().filter(|&o| o >= target).collect();
        assert_eq!(offsets(&got), want, "--from-offset {target}");
        // Segments wholly below the target are not read: not even their file object.
        let logs: Vec<&str> = got
            .iter()
            .filter(|o| o["type"] == "file" && o["kind"] == "log")
            .map(|o| o["file"].as_str().unwrap())
            .collect();
        if target >= 95 {
            assert_eq!(logs, [format!("{DEMO}/00000000000000000095.log")], "--from-offset {target}");
            // The walk starts at the index entry at or below the target.
            let start = entries.iter().rev().find(|(o, _)| *o <= target).map_or(0, |e| e.1);
            assert_eq!(summary(&got)["bytes_read"], log_len - start, "--from-offset {target}");
        }
    }
}

#[test]
fn from_offset_reads_what_it_shows_plus_one_index_interval_on_the_corpus() {
    let Some(corpus) = common::corpus() else { return };
    let dir = corpus.join("devandref-apache-kafka-eda-study/data/__cluster_metadata-0");
    let path = dir.to_str().unwrap();
    let entries = index_entries(&dir.join("00000000000000014667.index"), 14667);
    let seg_len = std::fs::metadata(dir.join("00000000000000014667.log")).unwrap().len();
    for target in [14667 + 1, 20000, 23000] {
        let got = jsonl(&[
            "dump",
            "--records",
            "--format",
            "jsonl",
            "--limit",
            "1",
            "--from-offset",
            &target.to_string(),
            path,
        ]);
        assert_eq!(offsets(&got), [target], "--from-offset {target}");
        let batch = got.iter().find(|o| o["type"] == "batch").unwrap();
        let end = batch["position"].as_u64().unwrap() + batch["size"].as_u64().unwrap();
        let start = entries.iter().rev().find(|(o, _)| *o <= target).map_or(0, |e| e.1);
        let read = summary(&got)["bytes_read"].as_u64().unwrap();
        // From the index entry to the end of the batch shown: no segment before, nothing
        // before the index entry, nothing after the batch (the reads behind it add at most
        // one 4 KiB read-ahead).
        assert_eq!(read, end - start, "--from-offset {target}: batch ends at {end}, index entry at {start}");
        assert!(read < seg_len / 20, "{read} of {seg_len}");
    }
}

#[test]
fn filters_match_a_brute_force_filter_of_the_full_dump() {
    type Pred = fn(&Value, &Value) -> bool;
    let has_header = |r: &Value, name: &str, value: Option<&str>| {
        r["headers"].as_array().unwrap().iter().any(|h| h["key"] == name && value.is_none_or(|v| h["value"] == v))
    };
    let cases: Vec<(&str, Vec<&str>, Pred)> = vec![
        ("testdata/segments/v2_headers/00000000000000000000.log", vec!["--key", "hnull"], |_, r| r["key"] == "hnull"),
        ("testdata/segments/v2_headers/00000000000000000000.log", vec!["--header", "a"], |_, r| {
            r["headers"].as_array().unwrap().iter().any(|h| h["key"] == "a")
        }),
        ("testdata/segments/v2_headers/00000000000000000000.log", vec!["--header", "a=2"], |_, r| {
            r["headers"].as_array().unwrap().iter().any(|h| h["key"] == "a" && h["value"] == "2")
        }),
        ("testdata/segments/v2_headers/00000000000000000000.log", vec!["--header", "empty="], |_, r| {
            r["headers"].as_array().unwrap().iter().any(|h| h["key"] == "empty" && h["value"] == "")
        }),
        ("testdata/segments/v2_transactions/00000000000000000000.log", vec!["--producer-id", "5001"], |b, _| {
            b["producer_id"] == 5001
        }),
        (DEMO, vec!["--key", "key-3"], |_, r| r["key"] == "key-3"),
        (DEMO, vec!["--key", "key-3", "--from-offset", "50"], |_, r| {
            r["key"] == "key-3" && r["offset"].as_i64().unwrap() >= 50
        }),
    ];
    let _ = has_header;
    for (path, args, pred) in cases {
        let all = jsonl(&["dump", "--records", "--format", "jsonl", path]);
        let want: Vec<i64> =
            pairs(&all).into_iter().filter(|(b, r)| pred(b, r)).map(|(_, r)| r["offset"].as_i64().unwrap()).collect();
        assert!(!want.is_empty(), "{path} {args:?}: the brute-force filter keeps nothing; a weak case");
        let got = jsonl(&[&["dump", "--records", "--format", "jsonl", path][..], &args].concat());
        assert_eq!(offsets(&got), want, "{path} {args:?}");
        // Every batch shown holds a record shown.
        for b in got.iter().filter(|o| o["type"] == "batch") {
            let (lo, hi) = (b["base_offset"].as_i64().unwrap(), b["last_offset"].as_i64().unwrap());
            assert!(
                want.iter().any(|o| (lo..=hi).contains(o)),
                "{path} {args:?}: batch {lo}..{hi} shown without a record"
            );
        }
        // With --limit: the first N of the same list.
        let got = jsonl(&[&["dump", "--records", "--format", "jsonl", "--limit", "1", path][..], &args].concat());
        assert_eq!(offsets(&got), want[..1], "{path} {args:?} --limit 1");
    }
}

#[test]
fn filters_match_a_brute_force_filter_on_the_corpus() {
    let Some(corpus) = common::corpus() else { return };
    let dir = corpus.join("arthurarutunyan04-backend-labs-kafka400/kafka-data/oms_order_status_changed-0");
    let path = dir.to_str().unwrap();
    let all = jsonl(&["dump", "--records", "--format", "jsonl", path]);
    let pairs = pairs(&all);
    assert!(pairs.len() > 100, "{}", pairs.len());
    // The key of a record in the middle, the producer of a batch in the middle, a header name.
    let (b, r) = pairs[pairs.len() / 2];
    let key = r["key"].as_str().expect("a text key").to_string();
    let producer = b["producer_id"].as_i64().unwrap();
    let header = pairs
        .iter()
        .find_map(|(_, r)| r["headers"].as_array().unwrap().first().map(|h| h["key"].as_str().unwrap().to_string()));
    type Pred<'a> = Box<dyn Fn(&Value, &Value) -> bool + 'a>;
    let mut cases: Vec<(Vec<String>, Pred)> = vec![
        (vec!["--key".into(), key.clone()], Box::new(|_, r: &Value| r["key"] == key.as_str())),
        (
            vec!["--producer-id".into(), producer.to_string()],
            Box::new(move |b: &Value, _| b["producer_id"] == producer),
        ),
    ];
    if let Some(h) = header {
        let name = h.clone();
        cases.push((
            vec!["--header".into(), h],
            Box::new(move |_, r: &Value| r["headers"].as_array().unwrap().iter().any(|x| x["key"] == name.as_str())),
        ));
    }
    for (args, pred) in &cases {
        let want: Vec<i64> =
            pairs.iter().filter(|(b, r)| pred(b, r)).map(|(_, r)| r["offset"].as_i64().unwrap()).collect();
        assert!(!want.is_empty(), "{args:?}");
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let got = jsonl(&[&["dump", "--records", "--format", "jsonl", path][..], &args].concat());
        assert_eq!(offsets(&got), want, "{args:?}");
        let got = jsonl(&[&["dump", "--records", "--format", "jsonl", "--limit", "3", path][..], &args].concat());
        assert_eq!(offsets(&got), want[..want.len().min(3)], "{args:?} --limit 3");
    }
}

// ---------------------------------------------------------------------------------------------
// JSON for jq
// ---------------------------------------------------------------------------------------------

#[test]
fn records_and_batches_say_where_they_come_from() {
    let objs = jsonl(&["dump", "--records", "--format", "jsonl", DEMO]);
    let mut file = None;
    for o in &objs {
        match o["type"].as_str().unwrap() {
            "file" => file = Some(o["file"].clone()),
            "batch" | "record" => {
                assert_eq!(o["file"], *file.as_ref().unwrap(), "{o}");
                assert_eq!(o["topic"], "demo", "{o}");
                assert_eq!(o["partition"], 0, "{o}");
            }
            _ => {}
        }
    }
    assert!(!records(&objs).is_empty());
    // No partition directory: a file but no topic or partition.
    for o in jsonl(&["dump", "--records", "--format", "jsonl", V2]).iter().filter(|o| o["type"] == "record") {
        assert_eq!(o["file"], V2);
        assert!(o.get("topic").is_none() && o.get("partition").is_none(), "{o}");
    }
}

#[test]
fn an_unreadable_path_is_a_problem_object() {
    for format in ["jsonl", "json"] {
        let r = run(&["dump", "--format", format, "testdata/no-such-file.log", V2]);
        assert_eq!(r.code, 2, "{}", r.stderr);
        let objs: Vec<Value> = if format == "json" {
            serde_json::from_str(&r.stdout).unwrap()
        } else {
            r.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
        };
        let p: Vec<&Value> = objs.iter().filter(|o| o["type"] == "problem").collect();
        assert_eq!(p.len(), 1, "{}", r.stdout);
        assert_eq!(p[0]["kind"], "unreadable");
        assert_eq!(p[0]["file"], "testdata/no-such-file.log");
        // The readable path is still dumped.
        assert!(objs.iter().any(|o| o["type"] == "batch"));
        assert_eq!(summary(&objs)["problems"], 1);
    }
}

#[test]
fn value_encoding_json_puts_json_values_in_as_json() {
    let dir = tempfile::tempdir().unwrap();
    // A v2 batch of three records, encoded by hand (offsets 0..2, CreateTime 0, no headers):
    // a JSON object with a line break, a plain string, and a null value.
    let values: [Rec; 3] = [(None, Some(b"{\"a\": [1,\n 2]}"), &[]), (None, Some(b"not json"), &[]), (None, None, &[])];
    let log = dir.path().join("00000000000000000000.log");
    std::fs::write(&log, v2_batch(&values)).unwrap();
    let log = log.to_str().unwrap();
    let objs = jsonl(&["dump", "--records", "--format", "jsonl", "--value-encoding", "json", log]);
    let vals: Vec<&Value> = records(&objs).iter().map(|r| &r["value"]).collect();
    assert_eq!(vals, [&serde_json::json!({"a": [1, 2]}), &serde_json::json!("not json"), &Value::Null]);
}

/// A record to encode: key, value, headers.
type Rec<'a> = (Option<&'a [u8]>, Option<&'a [u8]>, &'a [(&'a str, Option<&'a [u8]>)]);

/// A magic v2 batch of these records (offsets from 0, CreateTime 0), encoded by hand, CRC-32C
/// by the independent `crc32c` crate.
fn v2_batch(values: &[Rec<'_>]) -> Vec<u8> {
    let mut records = Vec::new();
    let bytes = |body: &mut Vec<u8>, b: Option<&[u8]>| match b {
        Some(b) => {
            varint(body, b.len() as i64);
            body.extend_from_slice(b);
        }
        None => varint(body, -1),
    };
    for (i, (k, v, headers)) in values.iter().enumerate() {
        let mut body = vec![0u8]; // attributes
        varint(&mut body, 0); // timestamp delta
        varint(&mut body, i as i64); // offset delta
        bytes(&mut body, *k);
        bytes(&mut body, *v);
        varint(&mut body, headers.len() as i64);
        for (name, value) in headers.iter() {
            bytes(&mut body, Some(name.as_bytes()));
            bytes(&mut body, *value);
        }
        varint(&mut records, body.len() as i64);
        records.extend_from_slice(&body);
    }
    let mut after_crc = Vec::new();
    after_crc.extend_from_slice(&0i16.to_be_bytes()); // attributes
    after_crc.extend_from_slice(&(values.len() as i32 - 1).to_be_bytes()); // last offset delta
    after_crc.extend_from_slice(&0i64.to_be_bytes()); // base timestamp
    after_crc.extend_from_slice(&0i64.to_be_bytes()); // max timestamp
    after_crc.extend_from_slice(&(-1i64).to_be_bytes()); // producer id
    after_crc.extend_from_slice(&(-1i16).to_be_bytes()); // producer epoch
    after_crc.extend_from_slice(&(-1i32).to_be_bytes()); // base sequence
    after_crc.extend_from_slice(&(values.len() as i32).to_be_bytes());
    after_crc.extend_from_slice(&records);
    let mut out = Vec::new();
    out.extend_from_slice(&0i64.to_be_bytes()); // base offset
    out.extend_from_slice(&((4 + 1 + 4 + after_crc.len()) as i32).to_be_bytes()); // batch length
    out.extend_from_slice(&0i32.to_be_bytes()); // partition leader epoch
    out.push(2); // magic
    out.extend_from_slice(&crc32c::crc32c(&after_crc).to_be_bytes());
    out.extend_from_slice(&after_crc);
    out
}

// ---------------------------------------------------------------------------------------------
// --print: kcat's tokens
// ---------------------------------------------------------------------------------------------

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

#[test]
fn print_writes_kcat_tokens_with_raw_bytes() {
    for path in [DEMO, "testdata/segments/v2_headers/00000000000000000000.log", "testdata/broker/data/g-binary-0"] {
        // The expected lines, built from the hex JSON dump (raw bytes, independent of --print).
        let all = jsonl(&[
            "dump",
            "--records",
            "--format",
            "jsonl",
            "--key-encoding",
            "hex",
            "--value-encoding",
            "hex",
            path,
        ]);
        let mut want = Vec::new();
        for r in records(&all) {
            let bytes = |v: &Value| v.as_str().map(hex);
            let (k, v) = (bytes(&r["key"]), bytes(&r["value"]));
            let size = |b: &Option<Vec<u8>>| b.as_ref().map_or(-1, |b| b.len() as i64);
            want.extend_from_slice(
                format!(
                    "{}|{}|{}|",
                    r["topic"].as_str().unwrap_or(""),
                    r["partition"].as_i64().unwrap_or(-1),
                    r["offset"]
                )
                .as_bytes(),
            );
            want.extend_from_slice(k.as_deref().unwrap_or_default());
            want.push(b'\t');
            want.extend_from_slice(v.as_deref().unwrap_or_default());
            want.extend_from_slice(format!("|{}|{}|{}|", size(&k), size(&v), r["timestamp"]).as_bytes());
            for (i, h) in r["headers"].as_array().unwrap().iter().enumerate() {
                if i > 0 {
                    want.push(b',');
                }
                want.extend_from_slice(h["key"].as_str().unwrap().as_bytes());
                if let Some(v) = h["value"].as_str() {
                    want.push(b'=');
                    want.extend_from_slice(&hex(v));
                }
            }
            want.extend_from_slice(b"%\n");
        }
        let out = Command::new(BIN)
            .current_dir(root())
            .args(["dump", "--print", "%t|%p|%o|%k\\t%s|%K|%S|%T|%h%%\\n", path])
            .output()
            .unwrap();
        assert!(out.status.success(), "{path}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(!want.is_empty());
        assert_eq!(String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&want), "{path}");
        assert_eq!(out.stdout, want, "{path}: raw bytes");
    }
    let r = run(&["dump", "--print", "%o %q\\n", DEMO]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("%q") && r.stderr.contains("%o offset"), "{}", r.stderr);
    // With filters and --limit, as every other output.
    let r = run(&["dump", "--print", "%o\\n", "--key", "key-3", "--limit", "2", DEMO]);
    let want: Vec<String> = pairs(&jsonl(&["dump", "--records", "--format", "jsonl", DEMO]))
        .iter()
        .filter(|(_, r)| r["key"] == "key-3")
        .take(2)
        .map(|(_, r)| format!("{}\n", r["offset"]))
        .collect();
    assert_eq!(r.stdout, want.concat());
}

// ---------------------------------------------------------------------------------------------
// Tables for a terminal
// ---------------------------------------------------------------------------------------------

fn table_snapshot(name: &str, args: &[&str]) {
    let r = run(args);
    assert_eq!(r.code, 0, "kseg {args:?}: {}", r.stderr);
    insta::with_settings!({
        description => format!("kseg {}", args.join(" ")),
        omit_expression => true,
        prepend_module_to_snapshot => false,
    }, {
        insta::assert_snapshot!(name, r.stdout);
    });
}

/// Fixtures with binary, null, empty and long keys and values and headers, at 80 and 160 columns.
#[test]
fn table_goldens_at_80_and_160_columns() {
    let cases = [
        ("g-binary-0", "testdata/broker/data/g-binary-0/00000000000000000000.log"),
        ("g-rolled-0", "testdata/broker/data/g-rolled-0/00000000000000000040.log"),
        ("v2_headers", "testdata/segments/v2_headers/00000000000000000000.log"),
        // Decoded internal-topic records: a wider key column.
        ("consumer_offsets", "testdata/broker/data/__consumer_offsets-0/00000000000000000000.log"),
    ];
    for (name, path) in cases {
        for width in ["80", "160"] {
            table_snapshot(&format!("table_{name}__records_{width}"), &["dump", "--records", "--width", width, path]);
            let r = run(&["dump", "--records", "--width", width, path]);
            // The file's own line names it whole; every table line fits.
            for line in r.stdout.lines().filter(|l| !l.starts_with(path)) {
                let w = line.chars().count();
                // Wide characters take two columns: count them by the bytes' share.
                assert!(w <= width.parse().unwrap(), "{name} at {width}: {w} characters: {line}");
            }
        }
        table_snapshot(&format!("table_{name}__batches_80"), &["dump", "--width", "80", path]);
    }
    // COLUMNS gives the width as --width does.
    let a = run(&["dump", "--records", "--width", "80", cases[0].1]).stdout;
    let b = Command::new(BIN)
        .current_dir(root())
        .args(["dump", "--records", cases[0].1])
        .env("COLUMNS", "80")
        .output()
        .unwrap();
    assert_eq!(a, String::from_utf8(b.stdout).unwrap());
}

#[test]
fn full_shows_whole_values() {
    let all =
        jsonl(&["dump", "--records", "--format", "jsonl", "testdata/segments/v2_headers/00000000000000000000.log"]);
    let long = records(&all).iter().find(|r| r["offset"] == 11).unwrap()["value"].as_str().unwrap().to_string();
    assert!(long.len() > 200);
    let cut =
        run(&["dump", "--records", "--width", "80", "testdata/segments/v2_headers/00000000000000000000.log"]).stdout;
    assert!(!cut.contains(&long) && cut.contains("… (300 bytes)"), "{cut}");
    let full =
        run(&["dump", "--records", "--width", "80", "--full", "testdata/segments/v2_headers/00000000000000000000.log"])
            .stdout;
    assert!(full.contains(&long), "{full}");
    assert!(!full.contains("… ("), "{full}");
}

#[test]
fn one_rule_for_bytes_and_controls_always_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let recs: [Rec; 5] = [
        (Some(b"\x1b[2J\x1b]0;pwned\x07"), Some(b"red \x1b[31mtext\x1b[0m\r\x08"), &[]),
        (Some("flip \u{202e}txet".as_bytes()), Some(b"\x00\x01\x02"), &[("h", Some(b"\x1b[1m"))]),
        (None, Some(b"null"), &[]),
        (Some(b""), None, &[]),
        (Some(b"\xff\xfe"), Some(b"plain"), &[]),
    ];
    let log = dir.path().join("00000000000000000000.log");
    std::fs::write(&log, v2_batch(&recs)).unwrap();
    let log = log.to_str().unwrap();
    for args in [&["--width", "160"][..], &["--width", "160", "--full"], &["--width", "160", "--color", "always"]] {
        let r = run(&[&["dump", "--records", log][..], args].concat());
        assert_eq!(r.code, 0, "{}", r.stderr);
        // No terminal control reaches the terminal but kseg's own colour codes.
        let plain =
            r.stdout.replace("\x1b[0m", "").replace("\x1b[2m", "").replace("\x1b[1m", "").replace("\x1b[36m", "");
        for bad in ['\x1b', '\r', '\x08', '\x07', '\u{202e}', '\0'] {
            assert!(!plain.contains(bad), "{args:?}: {bad:?} in {:?}", r.stdout);
        }
        let row = |o: &str| plain.lines().find(|l| l.trim_start().starts_with(&format!("{o}  "))).unwrap().to_string();
        assert!(row("0").contains("\\e[2J\\e]0;pwned") || row("0").contains("0x1b5b324a"), "{}", row("0"));
        assert!(row("0").contains("red \\e[31mtext\\e[0m\\r\\b"), "{}", row("0"));
        assert!(row("1").contains("flip \\u{202e}txet") && row("1").contains("0x000102"), "{}", row("1"));
        // Null is the null mark, the text "null" is text, the empty key is nothing.
        assert!(row("2").contains("∅") && row("2").contains("null"), "{}", row("2"));
        assert!(row("3").contains("∅"), "{}", row("3"));
        assert!(row("4").contains("0xfffe") && row("4").contains("plain"), "{}", row("4"));
    }
    // Colour: the null mark dimmed with --color always, no escape codes with --color never
    // or NO_COLOR.
    let r = run(&["dump", "--records", "--color", "always", log]);
    assert!(r.stdout.contains("\x1b[2m∅\x1b[0m"), "{:?}", r.stdout);
    let r = run(&["dump", "--records", "--color", "never", log]);
    assert!(!r.stdout.contains("\x1b["), "{:?}", r.stdout);
    let out =
        Command::new(BIN).current_dir(root()).args(["dump", "--records", log]).env("NO_COLOR", "1").output().unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains("\x1b["));
}

/// On a pseudo-terminal (util-linux `script`), tables are coloured and fit the terminal's
/// width; NO_COLOR turns the colour off. Skips where `script` is missing.
#[test]
fn pseudo_terminal_colours_and_fits() {
    let util_linux = Command::new("script")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains("util-linux"));
    if !util_linux {
        eprintln!("kseg-test: skipped: no util-linux script(1)");
        return;
    }
    let path = "testdata/segments/v2_headers/00000000000000000000.log";
    let pty = |no_color: bool| {
        let cmd = format!("stty cols 80 rows 40; {} dump --records {path}", BIN);
        let mut c = Command::new("script");
        c.current_dir(root()).args(["-qec", &cmd, "/dev/null"]).env_remove("COLUMNS");
        if no_color {
            c.env("NO_COLOR", "1");
        } else {
            c.env_remove("NO_COLOR");
        }
        let out = c.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n")
    };
    let coloured = pty(false);
    assert!(coloured.contains("\x1b[2m∅\x1b[0m"), "{coloured:?}");
    let plain = pty(true);
    assert!(!plain.contains("\x1b["), "{plain:?}");
    // The same table as a pipe at 80 columns.
    assert_eq!(plain, run(&["dump", "--records", "--width", "80", path]).stdout);
}
