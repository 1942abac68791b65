//! `kseg dump` and `kseg find-*` for people and pipelines (issue 14): arguments that contradict
//! or misspell, the time forms, selection by time, offset and filter, JSON for jq, `--print`.
//!
//! Expected values come from a brute-force pass over the full JSON Lines dump (which
//! tests/dump_cli.rs checks against the fixtures' independent sidecars), never from the option
//! under test.

use std::process::Command;

use serde_json::Value;

mod common;
use common::root;

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
