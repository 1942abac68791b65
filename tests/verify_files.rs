//! `kseg verify` on the files of partition and log directories besides the
//! segments (docs/verify.md, "Partition and log-directory files"). Each test
//! builds a log directory from copies of testdata/corrupt/clean_demo/demo-0
//! (offsets 0..118, so its log end offset is 119) and the hand-written files
//! below, damages one thing, and expects exactly the findings that damage
//! makes. Also: the grouped table, `--max-findings`, and the real corpus.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

mod common;
use common::{copy_dir, corpus, root};

const TOPIC_ID: &str = "AQIDBAUGBwgJCgsMDQ4PEA";

/// A clean log directory: partitions demo-0 and demo-1, each with its
/// partition.metadata and leader-epoch-checkpoint; meta.properties and the
/// four checkpoints. The high watermark and cleaner offset lie past the log
/// end, which Kafka accepts (it clamps or resets them), so no finding.
fn log_dir() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("logs");
    for p in ["demo-0", "demo-1"] {
        let part = dir.join(p);
        copy_dir(&root().join("testdata/corrupt/clean_demo/demo-0"), &part);
        std::fs::write(part.join("partition.metadata"), format!("version: 0\ntopic_id: {TOPIC_ID}\n")).unwrap();
        std::fs::write(part.join("leader-epoch-checkpoint"), "0\n2\n0 0\n3 50\n").unwrap();
    }
    std::fs::write(dir.join("meta.properties"), "version=1\nnode.id=1\ncluster.id=q1w2e3r4Ty6u7i8o9p0AzQ\n").unwrap();
    std::fs::write(dir.join("recovery-point-offset-checkpoint"), "0\n2\ndemo 0 119\ndemo 1 95\n").unwrap();
    std::fs::write(dir.join("log-start-offset-checkpoint"), "0\n2\ndemo 0 0\ndemo 1 40\n").unwrap();
    std::fs::write(dir.join("replication-offset-checkpoint"), "0\n2\ndemo 0 500\ndemo 1 119\n").unwrap();
    std::fs::write(dir.join("cleaner-offset-checkpoint"), "0\n1\ndemo 1 5000\n").unwrap();
    (tmp, dir)
}

fn verify(path: &Path, extra: &[&str]) -> (i32, Value) {
    let out = Command::cargo_bin("kseg")
        .unwrap()
        .arg("verify")
        .arg(path)
        .args(["--format", "json"])
        .args(extra)
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap(), v)
}

/// (kind, severity, file name) of every finding.
fn findings(v: &Value) -> Vec<(String, String, String)> {
    v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let file = Path::new(p["file"].as_str().unwrap()).file_name().unwrap().to_string_lossy().into_owned();
            (p["kind"].as_str().unwrap().to_string(), p["severity"].as_str().unwrap().to_string(), file)
        })
        .collect()
}

fn f(kind: &str, severity: &str, file: &str) -> (String, String, String) {
    (kind.into(), severity.into(), file.into())
}

#[test]
fn a_clean_log_directory_has_no_finding_and_lists_every_file() {
    let (_tmp, dir) = log_dir();
    let (code, v) = verify(&dir, &[]);
    assert_eq!(findings(&v), vec![]);
    assert_eq!(code, 0);
    let kinds: Vec<&str> = v["files"].as_array().unwrap().iter().map(|f| f["kind"].as_str().unwrap()).collect();
    for k in [
        "meta.properties",
        "recovery-point-offset-checkpoint",
        "log-start-offset-checkpoint",
        "replication-offset-checkpoint",
        "cleaner-offset-checkpoint",
        "partition.metadata",
        "leader-epoch-checkpoint",
    ] {
        assert!(kinds.contains(&k), "{k} not checked: {kinds:?}");
    }
}

/// Damage one thing, expect exactly these findings and this status.
fn case(damage: impl FnOnce(&Path), want: &[(String, String, String)], status: i32) {
    let (_tmp, dir) = log_dir();
    damage(&dir);
    let (code, v) = verify(&dir, &[]);
    assert_eq!(findings(&v), want, "{v:#}");
    assert_eq!(code, status);
}

fn write(dir: &Path, rel: &str, text: &str) {
    std::fs::write(dir.join(rel), text).unwrap();
}

#[test]
fn leader_epochs_must_increase() {
    case(
        |d| write(d, "demo-0/leader-epoch-checkpoint", "0\n3\n0 0\n3 50\n2 60\n"),
        &[f("leader_epoch_not_increasing", "error", "leader-epoch-checkpoint")],
        1,
    );
    case(
        |d| write(d, "demo-0/leader-epoch-checkpoint", "0\n3\n0 0\n3 50\n4 50\n"),
        &[f("leader_epoch_not_increasing", "error", "leader-epoch-checkpoint")],
        1,
    );
}

#[test]
fn a_leader_epoch_past_the_log_end_is_a_warning() {
    // 119 (the log end offset itself) is where a new leader's epoch starts; 120 is past it.
    case(|d| write(d, "demo-0/leader-epoch-checkpoint", "0\n2\n0 0\n3 119\n"), &[], 0);
    case(
        |d| write(d, "demo-0/leader-epoch-checkpoint", "0\n2\n0 0\n3 120\n"),
        &[f("leader_epoch_past_end", "warning", "leader-epoch-checkpoint")],
        0,
    );
}

#[test]
fn a_garbled_leader_epoch_checkpoint_is_an_error() {
    case(
        |d| write(d, "demo-1/leader-epoch-checkpoint", "0\n2\n0 0\nthree 50\n"),
        &[
            f("count_mismatch", "error", "leader-epoch-checkpoint"),
            f("malformed_line", "error", "leader-epoch-checkpoint"),
        ],
        1,
    );
}

#[test]
fn partition_metadata_format_and_the_same_topic_id_across_partitions() {
    case(
        |d| write(d, "demo-1/partition.metadata", "version: 0\ntopic_id: AQIDBAUGBwgJCgsMDQ4PEQ\n"),
        &[f("topic_id_mismatch", "error", "partition.metadata")],
        1,
    );
    case(
        |d| write(d, "demo-1/partition.metadata", "version: 0\ntopic_id: not-a-uuid!\n"),
        &[f("bad_value", "error", "partition.metadata")],
        1,
    );
}

#[test]
fn log_directory_checkpoints() {
    case(
        |d| write(d, "recovery-point-offset-checkpoint", "0\n2\ndemo 0 119\ndemo 1\n"),
        &[
            f("count_mismatch", "error", "recovery-point-offset-checkpoint"),
            f("malformed_line", "error", "recovery-point-offset-checkpoint"),
        ],
        1,
    );
    case(
        |d| write(d, "replication-offset-checkpoint", "0\n1\ndemo 7 3\n"),
        &[f("checkpoint_unknown_partition", "note", "replication-offset-checkpoint")],
        0,
    );
    // Kafka deletes every segment of a partition whose log start offset is
    // past its log end; a recovery point past the end is only lowered.
    case(
        |d| write(d, "log-start-offset-checkpoint", "0\n1\ndemo 1 120\n"),
        &[f("log_start_past_end", "error", "log-start-offset-checkpoint")],
        1,
    );
    case(|d| write(d, "recovery-point-offset-checkpoint", "0\n1\ndemo 1 9999\n"), &[], 0);
    case(
        |d| write(d, "meta.properties", "version=1\nnode.id=1\n"),
        &[f("missing_property", "error", "meta.properties")],
        1,
    );
}

#[test]
fn snapshots_past_the_log_end_indexes_without_segment_and_leftovers() {
    let snap = root().join("testdata/files/logdir/txn-0/00000000000000000014.snapshot");
    case(
        |d| {
            std::fs::copy(&snap, d.join("demo-0/00000000000000000119.snapshot")).unwrap();
            std::fs::copy(&snap, d.join("demo-0/00000000000000000120.snapshot")).unwrap();
        },
        &[f("snapshot_past_end", "warning", "00000000000000000120.snapshot")],
        0,
    );
    case(
        |d| {
            let p = d.join("demo-0");
            std::fs::copy(p.join("00000000000000000095.index"), p.join("00000000000000000300.index")).unwrap();
        },
        &[f("index_without_segment", "warning", "00000000000000000300.index")],
        0,
    );
    // A partition whose only segment is gone: its index files still make it one.
    case(
        |d| {
            let p = d.join("demo-1");
            for ext in ["log", "index", "timeindex"] {
                std::fs::remove_file(p.join(format!("00000000000000000000.{ext}"))).unwrap();
                std::fs::remove_file(p.join(format!("00000000000000000040.{ext}"))).unwrap();
            }
            std::fs::remove_file(p.join("00000000000000000095.log")).unwrap();
            std::fs::write(d.join("log-start-offset-checkpoint"), "0\n0\n").unwrap();
        },
        &[
            f("index_without_segment", "warning", "00000000000000000095.index"),
            f("index_without_segment", "warning", "00000000000000000095.timeindex"),
        ],
        0,
    );
    case(
        |d| {
            let p = d.join("demo-0");
            std::fs::copy(p.join("00000000000000000000.log"), p.join("00000000000000000000.log.deleted")).unwrap();
            std::fs::copy(p.join("00000000000000000040.log"), p.join("00000000000000000040.log.swap")).unwrap();
        },
        &[
            f("leftover_file", "note", "00000000000000000000.log.deleted"),
            f("leftover_file", "note", "00000000000000000040.log.swap"),
        ],
        0,
    );
}

#[test]
fn notes_do_not_fail_strict_and_warnings_do() {
    let (_tmp, dir) = log_dir();
    write(&dir, "replication-offset-checkpoint", "0\n1\ndemo 7 3\n");
    assert_eq!(verify(&dir, &["--strict"]).0, 0);
    write(&dir, "demo-0/leader-epoch-checkpoint", "0\n2\n0 0\n3 120\n");
    assert_eq!(verify(&dir, &["--strict"]).0, 1);
}

/// The table of a directory lists only files that are not ok, groups repeats
/// of one kind in one file, and caps the findings; -v lists everything.
#[test]
fn the_table_is_readable() {
    let (_tmp, dir) = log_dir();
    // Ten entries for partitions that are not there: ten notes in one file.
    let lines: String = (10..20).map(|p| format!("demo {p} 1\n")).collect();
    write(&dir, "replication-offset-checkpoint", &format!("0\n10\n{lines}"));
    let run = |extra: &[&str]| {
        let out = Command::cargo_bin("kseg").unwrap().arg("verify").arg(&dir).args(extra).output().unwrap();
        (out.status.code().unwrap(), String::from_utf8(out.stdout).unwrap())
    };
    let (code, table) = run(&[]);
    assert_eq!(code, 0);
    assert!(!table.contains("ok "), "ok files listed without -v:\n{table}");
    assert_eq!(table.matches("note: ").count(), 3, "{table}");
    assert!(table.contains("… and 7 more `checkpoint_unknown_partition` notes"), "{table}");
    assert!(table.contains("0 errors, 0 warnings, 10 notes"), "{table}");

    let (_, table) = run(&["-v"]);
    assert_eq!(table.matches("note: ").count(), 10, "{table}");
    assert!(table.contains("ok      ") && table.contains("00000000000000000095.timeindex"), "{table}");

    let (_, table) = run(&["--max-findings", "2"]);
    assert_eq!(table.matches("note: ").count(), 2, "{table}");
    assert!(table.contains("(2 of 10 findings shown"), "{table}");

    let (_, v) = verify(&dir, &["--max-findings", "4"]);
    assert_eq!(v["problems"].as_array().unwrap().len(), 4);
    assert_eq!(v["summary"]["findings_left_out"], 6);
    assert_eq!(v["summary"]["by_kind"]["checkpoint_unknown_partition"], 10);
}

/// Every log directory of the real corpus verifies without error; the
/// warnings are those its MANIFEST explains (a segment too big to commit,
/// whose index files, later snapshots and leader epochs remain).
#[test]
fn the_real_log_directories_verify_without_error() {
    let Some(corpus) = corpus() else { return };
    let mut dirs = Vec::new();
    let mut stack = vec![corpus];
    while let Some(d) = stack.pop() {
        if d.join("meta.properties").is_file() {
            dirs.push(d.clone());
        }
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            }
        }
    }
    assert!(dirs.len() >= 10, "{dirs:?}");
    for d in dirs {
        let (code, v) = verify(&d, &[]);
        assert_eq!(code, 0, "{}: {:#}", d.display(), v["problems"]);
        assert_eq!(v["summary"]["errors"], 0, "{}", d.display());
        for (kind, _, _) in findings(&v).iter().filter(|(_, s, _)| s == "warning") {
            assert!(
                ["index_without_segment", "snapshot_past_end", "leader_epoch_past_end"].contains(&kind.as_str()),
                "{}: {kind}",
                d.display()
            );
        }
    }
}
