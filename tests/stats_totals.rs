//! `kseg stats` on whole log directories: a CRC mismatch is a problem
//! (exit 1), `--totals` prints totals only, totals per topic, the overall
//! total has no offset range across topics, and the compression line says
//! which side is which.

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

mod common;
use common::{copy_dir, root};

fn stats(args: &[&str], path: &Path) -> (i32, String) {
    let out = Command::cargo_bin("kseg").unwrap().arg("stats").args(args).arg(path).output().unwrap();
    (out.status.code().unwrap(), String::from_utf8(out.stdout).unwrap())
}

#[test]
fn a_crc_mismatch_is_a_problem() {
    // testdata/README.md: v2_bitflip_none flips a bit in a record value of an
    // uncompressed batch; every record still decodes, only the CRC tells.
    let dir = root().join("testdata/corrupt/v2_bitflip_none");
    let (code, json) = stats(&["--format", "json"], &dir);
    assert_eq!(code, 1);
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["total"]["crc_mismatches"], 1);
    assert_eq!(v["total"]["damaged_batches"], 0);
    let (code, _) = stats(&[], &root().join("testdata/corrupt/clean_demo"));
    assert_eq!(code, 0);
}

#[test]
fn totals_per_topic_and_totals_only() {
    let tmp = tempfile::tempdir().unwrap();
    for p in ["demo-0", "demo-1", "other-0"] {
        copy_dir(&root().join("testdata/corrupt/clean_demo/demo-0"), &tmp.path().join(p));
    }
    let (code, table) = stats(&["--totals"], tmp.path());
    assert_eq!(code, 0);
    assert!(!table.contains("== segment") && !table.contains("== partition"), "{table}");
    assert!(table.contains("== topic demo (2 partitions, 6 segments)"), "{table}");
    assert!(table.contains("== topic other (1 partitions, 3 segments)"), "{table}");
    assert!(table.contains("== total (2 topics, 3 partitions, 9 segments)"), "{table}");
    // Each copy holds 20 batches (testdata/README.md: demo-0).
    let (_, json) = stats(&["--totals", "--format", "json"], tmp.path());
    let v: Value = serde_json::from_str(&json).unwrap();
    assert!(v.get("segments").is_none() && v.get("partitions").is_none(), "{v:#}");
    assert_eq!(v["topics"][0]["topic"], "demo");
    assert_eq!(v["topics"][0]["batches"], 40);
    assert_eq!(v["topics"][0]["offsets"]["first"], 0);
    assert_eq!(v["topics"][0]["offsets"]["last"], 118);
    assert_eq!(v["total"]["batches"], 60);
    assert!(v["total"]["offsets"].is_null(), "offsets of two topics mixed: {}", v["total"]["offsets"]);
    let (_, json) = stats(&["--format", "json"], tmp.path());
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["segments"].as_array().unwrap().len(), 9);
    assert_eq!(v["partitions"].as_array().unwrap().len(), 3);
}

#[test]
fn compression_says_which_side_is_which() {
    let (_, table) = stats(&[], &root().join("testdata/corrupt/clean_demo/demo-0"));
    let line = table.lines().find(|l| l.starts_with("compression ")).unwrap();
    assert!(line.contains("gzip ") && line.contains(" compressed → ") && line.contains(" uncompressed ("), "{line}");
    let line = table.lines().find(|l| l.contains(" gzip ") && l.contains(" data ")).unwrap();
    let cells: Vec<&str> = line.split('┆').map(str::trim).collect();
    // The ratio is the uncompressed column over the stored column shown.
    let (stored, unc, ratio): (f64, f64, f64) =
        (cells[6].parse().unwrap(), cells[7].parse().unwrap(), cells[8].trim_end_matches('│').trim().parse().unwrap());
    assert!((unc / stored - ratio).abs() < 0.01, "{line}");
}
