//! `kseg ls`: one row per partition, totals per topic and overall, sorting,
//! and the status of a quick (or full) check. Expected values come from the
//! fixture's generator (testdata/README.md: demo-0 holds offsets 0..118 in
//! three segments) and from the corpus MANIFEST, not from kseg.

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

mod common;
use common::{copy_dir, corpus, root};

fn ls(path: &Path, extra: &[&str]) -> (i32, Value, String) {
    let out = Command::cargo_bin("kseg")
        .unwrap()
        .arg("ls")
        .arg(path)
        .args(["--format", "json"])
        .args(extra)
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap(), v, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// demo-0 and demo-1 (copies of the clean partition), zz-0 (a damaged
/// single-segment partition of another topic); demo-1's log start raised
/// to 40 by the log directory's checkpoint.
fn log_dir() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for p in ["demo-0", "demo-1"] {
        copy_dir(&root().join("testdata/corrupt/clean_demo/demo-0"), &tmp.path().join(p));
    }
    std::fs::write(tmp.path().join("log-start-offset-checkpoint"), "0\n1\ndemo 1 40\n").unwrap();
    tmp
}

#[test]
fn one_row_per_partition_with_totals() {
    let tmp = log_dir();
    let (code, v, err) = ls(tmp.path(), &[]);
    assert_eq!(code, 0, "{err}");
    let parts = v["partitions"].as_array().unwrap();
    assert_eq!(parts.len(), 2);
    // Segment sizes 1585 + 2088 + 1279 (ls -l of the fixture).
    for (p, start, from_cp) in [(&parts[0], 0, false), (&parts[1], 40, true)] {
        assert_eq!(p["topic"], "demo");
        assert_eq!(p["segments"], 3);
        assert_eq!(p["bytes"], 4952);
        assert_eq!(p["first_offset"], 0);
        assert_eq!(p["last_offset"], 118);
        assert_eq!(p["log_end_offset"], 119);
        assert_eq!(p["log_start_offset"], start);
        assert_eq!(p["log_start_from_checkpoint"], from_cp);
        assert_eq!(p["status"], "ok");
    }
    assert_eq!(parts[0]["partition"], 0);
    assert_eq!(parts[1]["partition"], 1);
    assert_eq!(v["topics"].as_array().unwrap().len(), 1);
    assert_eq!(v["topics"][0]["partitions"], 2);
    assert_eq!(v["total"]["bytes"], 9904);
    // 119 offsets in demo-0, 119 - 40 in demo-1.
    assert_eq!(v["total"]["offsets"], 119 + 79);
}

#[test]
fn a_damaged_partition_is_an_error_and_sorting() {
    let tmp = log_dir();
    // garbage_header: the walk stops at a batch whose size is -1 (testdata/README.md).
    copy_dir(&root().join("testdata/corrupt/garbage_header"), &tmp.path().join("zz-0"));
    let (code, v, _) = ls(tmp.path(), &[]);
    assert_eq!(code, 1);
    let zz = v["partitions"].as_array().unwrap().iter().find(|p| p["topic"] == "zz").unwrap().clone();
    assert_eq!(zz["status"], "error");
    assert_eq!(v["total"]["not_ok"], 1);
    assert_eq!(v["topics"].as_array().unwrap().len(), 2);

    let names = |v: &Value| -> Vec<String> {
        v["partitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| format!("{}-{}", p["topic"].as_str().unwrap(), p["partition"]))
            .collect()
    };
    assert_eq!(names(&v), ["demo-0", "demo-1", "zz-0"]);
    let (_, by_offsets, _) = ls(tmp.path(), &["--sort", "offsets"]);
    // demo-0: 119 offsets, demo-1: 79, zz-0: fewer.
    assert_eq!(names(&by_offsets)[..2], ["demo-0", "demo-1"]);
    let (_, by_size, _) = ls(tmp.path(), &["--sort", "size"]);
    assert_eq!(names(&by_size)[2], "zz-0", "the damaged copy of v2_none is smaller than 4952 bytes");
}

#[test]
fn each_partition_takes_its_own_entry_of_the_shared_checkpoint() {
    let tmp = log_dir();
    // Both partitions of one log directory, one checkpoint read for both.
    std::fs::write(tmp.path().join("log-start-offset-checkpoint"), "0\n3\nzz 0 5\ndemo 1 40\ndemo 0 7\n").unwrap();
    let (_, v, _) = ls(tmp.path(), &[]);
    let starts: Vec<(String, Value)> = v["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["path"].as_str().unwrap().rsplit('/').next().unwrap().to_string(), p["log_start_offset"].clone()))
        .collect();
    assert_eq!(starts, [("demo-0".to_string(), Value::from(7)), ("demo-1".to_string(), Value::from(40))]);
}

/// A segment named alone takes its partition's entry too (its directory
/// names the partition).
#[test]
fn a_segment_named_alone_takes_its_partitions_entry() {
    let tmp = log_dir();
    let (_, v, _) = ls(&tmp.path().join("demo-1/00000000000000000000.log"), &[]);
    assert_eq!(v["partitions"][0]["log_start_offset"], 40);
}

#[test]
fn a_log_start_past_the_log_end_is_an_error() {
    let tmp = log_dir();
    // demo-1 ends at 119: a log start of 120 makes the broker delete all its segments.
    std::fs::write(tmp.path().join("log-start-offset-checkpoint"), "0\n1\ndemo 1 120\n").unwrap();
    let (code, v, _) = ls(tmp.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(v["partitions"][1]["status"], "error");
    assert_eq!(v["partitions"][1]["findings"][0][0], "log_start_past_end");
}

/// The quick check reads the last entries of the indexes (testdata/README.md:
/// the damage each fixture carries, and whether verify calls it an error).
#[test]
fn the_quick_check_reads_index_tails() {
    for (case, status, kind) in [
        ("index_past_end", "error", "index_past_end"),
        ("timeindex_extra_bytes", "error", "timeindex_size"),
        ("torn_active_tail", "warning", "index_past_end"),
    ] {
        let (code, v, _) = ls(&root().join("testdata/corrupt").join(case), &[]);
        let p = &v["partitions"][0];
        assert_eq!(p["status"], status, "{case}: {p}");
        assert!(p["findings"].as_array().unwrap().iter().any(|f| f[0] == kind), "{case}: {p}");
        assert_eq!(code, if status == "error" { 1 } else { 0 }, "{case}");
    }
}

#[test]
fn verify_runs_the_full_check() {
    let tmp = tempfile::tempdir().unwrap();
    // v2_bitflip_none: a CRC mismatch in segment 40 that a header walk cannot see.
    copy_dir(&root().join("testdata/corrupt/v2_bitflip_none/demo-0"), &tmp.path().join("demo-0"));
    let (code, v, _) = ls(tmp.path(), &[]);
    assert_eq!((code, v["partitions"][0]["status"].as_str()), (0, Some("ok")));
    let (code, v, _) = ls(tmp.path(), &["--verify"]);
    assert_eq!(code, 1);
    assert_eq!(v["partitions"][0]["status"], "error");
    assert_eq!(v["partitions"][0]["findings"][0][0], "crc_mismatch");
}

#[test]
fn jsonl_and_table() {
    let tmp = log_dir();
    let out = Command::cargo_bin("kseg").unwrap().args(["ls", "--format", "jsonl"]).arg(tmp.path()).output().unwrap();
    let lines: Vec<Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let types: Vec<&str> = lines.iter().map(|l| l["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["partition", "partition", "topic", "total"]);
    let out = Command::cargo_bin("kseg").unwrap().arg("ls").arg(tmp.path()).output().unwrap();
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("40 (checkpoint)"), "{table}");
    assert!(table.contains("(all topics)"), "{table}");
}

/// The corpus MANIFEST: oms_order_status_changed-1 starts at 21236 (older
/// segments deleted) and holds offsets 21236..24650.
#[test]
fn real_log_directory() {
    let Some(corpus) = corpus() else { return };
    let dir = corpus.join("arthurarutunyan04-backend-labs-kafka400/kafka-data");
    let (code, v, err) = ls(&dir, &[]);
    assert_eq!(code, 0, "{err}");
    let p = v["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["topic"] == "oms_order_status_changed" && p["partition"] == 1)
        .unwrap()
        .clone();
    assert_eq!(
        (p["log_start_offset"].as_i64(), p["first_offset"].as_i64(), p["last_offset"].as_i64()),
        (Some(21236), Some(21236), Some(24650))
    );
    assert_eq!(p["bytes"], 305262);
}
