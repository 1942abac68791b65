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
