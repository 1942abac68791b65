//! `kseg verify` against damaged copies of the fixtures (made by
//! testdata/gen/corrupt.py, which also wrote the expected findings), the
//! real partitions of ../shared/corpus, and its promises: exit codes, quiet
//! mode, and never writing to the data.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

mod common;
use common::{corpus, root};

fn verify_json(args: &[&str]) -> (i32, Value, String) {
    let out = Command::cargo_bin("kseg")
        .unwrap()
        .current_dir(root())
        .arg("verify")
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap(), v, stderr)
}

fn file_name(v: &Value) -> String {
    Path::new(v.as_str().unwrap_or_default()).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// A finding as the manifest states it: (file name, kind, severity, position, offset).
type Finding = (String, String, String, Value, Value);

fn finding(v: &Value) -> Finding {
    (
        file_name(&v["file"]),
        v["kind"].as_str().unwrap_or_default().to_string(),
        v["severity"].as_str().unwrap_or_default().to_string(),
        v["position"].clone(),
        v["offset"].clone(),
    )
}

/// Every case's whole finding list (kind, severity, file, position, offset;
/// warnings and clean cases included) must be exactly what corrupt.py derived
/// from the bytes it damaged, in every reading mode.
#[test]
fn every_damage_is_found_where_it_is() {
    let cases: Vec<Value> =
        serde_json::from_slice(&std::fs::read(root().join("testdata/corrupt/expected.json")).unwrap()).unwrap();
    assert!(cases.len() > 30);
    for case in &cases {
        let name = case["case"].as_str().unwrap();
        let mut expected: Vec<Finding> = case["findings"].as_array().unwrap().iter().map(finding).collect();
        expected.sort_by_key(|f| format!("{f:?}"));
        for reading in [&[][..], &["--no-mmap"][..], &["-j1"][..], &["-j1", "--no-mmap"][..]] {
            let mut args = vec![case["verify_path"].as_str().unwrap()];
            args.extend(reading);
            let (code, got, stderr) = verify_json(&args);
            let problems = got["problems"].as_array().unwrap_or_else(|| panic!("{name}: no report: {stderr}"));
            let ctx = format!("{name} {reading:?}: {}", serde_json::to_string_pretty(problems).unwrap());
            assert_eq!(code, case["exit_code"].as_i64().unwrap() as i32, "{ctx}");
            assert_eq!(got["ok"], Value::Bool(code == 0), "{ctx}");
            let mut found: Vec<Finding> = problems.iter().map(finding).collect();
            found.sort_by_key(|f| format!("{f:?}"));
            assert_eq!(found, expected, "{ctx}");
        }
    }
}

#[test]
fn every_finding_kind_is_documented() {
    let doc = std::fs::read_to_string(root().join("docs/verify.md")).unwrap();
    let cases: Vec<Value> =
        serde_json::from_slice(&std::fs::read(root().join("testdata/corrupt/expected.json")).unwrap()).unwrap();
    for case in cases {
        for f in case["findings"].as_array().unwrap() {
            let kind = f["kind"].as_str().unwrap();
            assert!(doc.contains(&format!("`{kind}`")), "docs/verify.md does not describe `{kind}`");
        }
    }
}

#[test]
fn exit_codes_quiet_and_strict() {
    let torn = "testdata/corrupt/torn_active_tail";
    let dir = std::fs::read_dir(root().join(torn)).unwrap().next().unwrap().unwrap().path();
    let dir = dir.to_str().unwrap();
    let run = |args: &[&str]| {
        Command::cargo_bin("kseg").unwrap().current_dir(root()).arg("verify").args(args).output().unwrap()
    };
    let out = run(&[dir]);
    assert_eq!(out.status.code(), Some(0), "a torn active tail is only a warning");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("WARNING "), "{text}");
    assert!(text.contains("warning: "), "{text}");
    assert_eq!(run(&["--strict", dir]).status.code(), Some(1));
    let quiet = run(&["--quiet", "--strict", dir]);
    assert_eq!(quiet.status.code(), Some(1));
    assert!(quiet.stdout.is_empty() && quiet.stderr.is_empty());
    let missing = run(&["no/such/partition-0"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no/such/partition-0"));
    let not_segments = run(&["docs"]);
    assert_eq!(not_segments.status.code(), Some(2));
}

#[test]
fn a_log_directory_is_walked_in_a_stable_order() {
    let (code, got, _) = verify_json(&["testdata/partitions"]);
    assert_eq!(code, 0, "{got}");
    let files: Vec<String> = got["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "log")
        .map(|f| f["file"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(files.len(), 8);
    let mut sorted = files.clone();
    sorted.sort();
    assert_eq!(files, sorted, "files are reported in partition, then segment order");
    assert_eq!(got["summary"]["partitions"], 3);
    assert!(got["summary"]["records"].as_u64().unwrap() > 200);
}

fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, std::time::SystemTime)> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let meta = std::fs::metadata(&p).unwrap();
        out.insert(p.clone(), (std::fs::read(&p).unwrap(), meta.modified().unwrap()));
    }
    out
}

#[test]
fn verify_dump_and_find_never_write() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo-0");
    std::fs::create_dir(&dir).unwrap();
    for e in std::fs::read_dir(root().join("testdata/partitions/demo-0")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dir.join(p.file_name().unwrap())).unwrap();
    }
    // Remove the middle segment's index: Kafka's own tool creates a file here.
    std::fs::remove_file(dir.join("00000000000000000040.index")).unwrap();
    let before = snapshot(&dir);
    let d = dir.to_str().unwrap();
    for args in [
        vec!["verify", d],
        vec!["verify", "--no-mmap", d],
        vec!["dump", "--records", d],
        vec!["dump", &format!("{d}/00000000000000000040.log")],
        vec!["find-offset", d, "57"],
        vec!["find-time", d, "1700000100055"],
    ] {
        // Each command must really have read the files: a run that fails at
        // once would leave them unchanged too.
        let out = Command::cargo_bin("kseg").unwrap().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(!out.stdout.is_empty(), "{args:?} printed nothing");
    }
    assert_eq!(snapshot(&dir), before, "a file changed, appeared or vanished");
}

#[test]
fn real_partitions_verify_without_error() {
    let Some(corpus) = corpus() else { return };
    let mut checked = 0;
    for e in std::fs::read_dir(&corpus).unwrap() {
        let p = e.unwrap().path();
        if !p.is_dir() {
            continue;
        }
        let (code, got, stderr) = verify_json(&[p.to_str().unwrap()]);
        if code == 2 && stderr.contains("no segments found") {
            continue; // record-set vectors, not broker directories
        }
        let errors: Vec<&Value> =
            got["problems"].as_array().unwrap().iter().filter(|p| p["severity"] == "error").collect();
        assert!(errors.is_empty(), "{}: {errors:?}", p.display());
        assert_eq!(code, 0, "{}", p.display());
        checked += got["summary"]["segments"].as_u64().unwrap();
    }
    assert!(checked >= 40, "only {checked} segments checked");
}

/// A partition as the log cleaner leaves it for a moment: offsets 0..94
/// cleaned into one file swapped in as `00000000000000000000.log`, and
/// `00000000000000000040.log`, whose offsets it now covers, about to go.
/// `swap` says whether that happens between listing the partition and
/// reading it (a live broker) or before (damage: the files overlap).
fn overlap_findings(
    swap_while_reading: bool,
) -> Vec<(kseg::format::problem::ProblemKind, kseg::analysis::verify::Severity, String)> {
    use kseg::analysis::verify::{Options, cross_segment, verify_segment};
    let src = root().join("testdata/corrupt/clean_demo/demo-0");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo-0");
    std::fs::create_dir(&dir).unwrap();
    let cleaned: Vec<u8> = ["00000000000000000000.log", "00000000000000000040.log"]
        .iter()
        .flat_map(|n| std::fs::read(src.join(n)).unwrap())
        .collect();
    let first = dir.join("00000000000000000000.log");
    let second = dir.join("00000000000000000040.log");
    std::fs::copy(src.join("00000000000000000040.log"), &second).unwrap();
    if swap_while_reading {
        std::fs::copy(src.join("00000000000000000000.log"), &first).unwrap();
    } else {
        std::fs::write(&first, &cleaned).unwrap();
    }
    let segments = kseg::files::partition::segments(&dir).unwrap();
    assert_eq!(segments.len(), 2);
    // The later segment is read first (verify reads segments in parallel).
    let later = verify_segment(&segments[1], true, &Options::default()).unwrap();
    if swap_while_reading {
        let swap = dir.join("00000000000000000000.log.swap");
        std::fs::write(&swap, &cleaned).unwrap();
        std::fs::rename(&swap, &first).unwrap();
    }
    let earlier = verify_segment(&segments[0], false, &Options::default()).unwrap();
    if swap_while_reading {
        std::fs::rename(&second, dir.join("00000000000000000040.log.deleted")).unwrap();
    }
    let findings = cross_segment(&segments, &[earlier, later]);
    findings.into_iter().map(|f| (f.kind, f.severity, f.file.file_name().unwrap().to_string_lossy().into())).collect()
}

#[test]
fn segments_that_overlap_are_an_error_unless_the_cleaner_swapped_them_during_the_read() {
    use kseg::analysis::verify::Severity;
    use kseg::format::problem::ProblemKind::*;
    assert_eq!(overlap_findings(false), [(SegmentOverlap, Severity::Error, "00000000000000000040.log".to_string())]);
    assert_eq!(
        overlap_findings(true),
        [(ChangedDuringRead, Severity::Warning, "00000000000000000000.log".to_string())]
    );
}

/// An index of garbage (here 2,000 entries, each going back from the one
/// before) is a finding per entry; a report keeps the first 1,000 of one
/// kind in one file and counts the rest, in the summary, the exit code
/// and the table's "… and N more" line, so memory stays bounded however
/// big the garbage is.
#[test]
fn findings_past_a_thousand_of_one_kind_in_one_file_are_counted_not_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo-0");
    std::fs::create_dir(&dir).unwrap();
    std::fs::copy(
        root().join("testdata/corrupt/clean_demo/demo-0/00000000000000000000.log"),
        dir.join("00000000000000000000.log"),
    )
    .unwrap();
    let mut index = Vec::new();
    for i in 0..2000u32 {
        // Relative offsets 2000, 1999, …, 1: every entry after the first goes back.
        index.extend_from_slice(&(2000 - i).to_be_bytes());
        index.extend_from_slice(&0u32.to_be_bytes());
    }
    std::fs::write(dir.join("00000000000000000000.index"), &index).unwrap();
    let path = dir.to_str().unwrap();
    let (code, v, _) = verify_json(&[path]);
    assert_eq!(code, 1);
    let listed = v["problems"].as_array().unwrap().iter().filter(|p| p["kind"] == "index_not_increasing").count();
    assert_eq!(listed, 1000);
    assert_eq!(v["summary"]["by_kind"]["index_not_increasing"], 1999);
    let all_listed = v["problems"].as_array().unwrap().len() as u64;
    let s = &v["summary"];
    let all = ["errors", "warnings", "notes"].iter().map(|k| s[k].as_u64().unwrap()).sum::<u64>();
    assert_eq!(s["findings_left_out"].as_u64().unwrap(), all - all_listed);
    assert!(v["summary"]["findings_left_out"].as_u64().unwrap() >= 999);
    let out = Command::cargo_bin("kseg").unwrap().args(["verify", path]).output().unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("… and 1,996 more `index_not_increasing`"), "{table}");
    // and, cut short, does not promise that JSON lists what it only counts
    let out = Command::cargo_bin("kseg").unwrap().args(["verify", "--max-findings", "2", path]).output().unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("--format json for the first 1,000 of each kind in a file)"), "{table}");
    // `ls --verify` counts them all too.
    let out = Command::cargo_bin("kseg").unwrap().args(["ls", "--verify", "--format", "json", path]).output().unwrap();
    let ls: Value = serde_json::from_slice(&out.stdout).unwrap();
    let counts = ls["partitions"][0]["findings"].as_array().unwrap();
    assert!(counts.iter().any(|c| c[0] == "index_not_increasing" && c[1] == 1999), "{counts:?}");
}

/// A checkpoint's entries for partitions the log directory does not hold
/// are notes; past the first 1,000 of a file they are counted, not listed.
/// Its lines that Kafka cannot parse, the same, per kind.
#[test]
fn checkpoint_findings_past_a_thousand_are_counted_not_listed() {
    let tmp = tempfile::tempdir().unwrap();
    common::copy_dir(&root().join("testdata/corrupt/clean_demo/demo-0"), &tmp.path().join("demo-0"));
    let mut checkpoint = String::from("0\n1500\n");
    for p in 0..1500 {
        checkpoint.push_str(&format!("gone {p} 0\n"));
    }
    std::fs::write(tmp.path().join("log-start-offset-checkpoint"), checkpoint).unwrap();
    // 1,200 lines Kafka cannot parse, and a count line that says 5.
    let mut bad = String::from("0\n5\n");
    bad.push_str(&"x\n".repeat(1200));
    std::fs::write(tmp.path().join("recovery-point-offset-checkpoint"), bad).unwrap();
    let (code, v, _) = verify_json(&[tmp.path().to_str().unwrap()]);
    assert_eq!(code, 1, "the bad lines are errors");
    let listed = |kind: &str| v["problems"].as_array().unwrap().iter().filter(|p| p["kind"] == kind).count();
    assert_eq!(listed("checkpoint_unknown_partition"), 1000);
    assert_eq!(v["summary"]["by_kind"]["checkpoint_unknown_partition"], 1500);
    assert_eq!(listed("malformed_line"), 1000);
    assert_eq!(v["summary"]["by_kind"]["malformed_line"], 1200);
    assert_eq!(v["summary"]["findings_left_out"], 500 + 200);
    assert_eq!(v["summary"]["errors"], 1200 + 1, "every bad line, and the count mismatch");
    // The table's count lines count them too: 3 shown of each.
    let out = Command::cargo_bin("kseg").unwrap().arg("verify").arg(tmp.path()).output().unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("… and 1,197 more `malformed_line` in"), "{table}");
    assert!(table.contains("… and 1,497 more `checkpoint_unknown_partition` notes"), "{table}");
}

/// `meta.properties` holds a few lines and is parsed whole: one larger than
/// the 1 MiB kseg reads of it is an error, not gigabytes of parsed lines.
#[test]
fn a_meta_properties_past_a_mebibyte_is_too_large_not_parsed() {
    let tmp = tempfile::tempdir().unwrap();
    common::copy_dir(&root().join("testdata/corrupt/clean_demo/demo-0"), &tmp.path().join("demo-0"));
    std::fs::write(tmp.path().join("meta.properties"), "a\n".repeat(600 << 10)).unwrap();
    let (code, v, _) = verify_json(&[tmp.path().to_str().unwrap()]);
    assert_eq!(code, 1);
    let kinds: Vec<_> = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["file"].as_str().unwrap().ends_with("meta.properties"))
        .map(|p| p["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds, ["entry_too_large"]);
    let listed =
        v["files"].as_array().unwrap().iter().find(|f| f["file"].as_str().unwrap().ends_with("meta.properties"));
    assert_eq!(listed.unwrap()["bytes"], 2 * (600 << 10), "the file's size, not what was read of it");
}
