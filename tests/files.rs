//! Every kind of file a log directory holds, from the outside: `kseg dump` against the values
//! testdata/gen/make_files.py wrote beside its fixtures (`testdata/files/expected.json`),
//! `kseg verify` and `kseg dump` against its damaged copies (`testdata/files/corrupt.json`),
//! and every file of every real broker directory of the shared corpus (skipped when absent).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::{Value, json};

mod common;
use common::{corpus, root};

fn kseg() -> Command {
    let mut c = Command::cargo_bin("kseg").unwrap();
    c.current_dir(root());
    // Tables fit COLUMNS: the goldens are made at one width, whatever the terminal.
    c.env("COLUMNS", "120").env_remove("NO_COLOR");
    c
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str]) -> Run {
    let out = kseg().args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "kseg {args:?} panicked: {stderr}");
    Run { code: out.status.code().expect("no signal"), stdout: String::from_utf8(out.stdout).unwrap(), stderr }
}

fn jsonl(args: &[&str]) -> (Run, Vec<Value>) {
    let r = run(args);
    let objs = r.stdout.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}"))).collect();
    (r, objs)
}

fn read_json(rel: &str) -> Value {
    serde_json::from_slice(&std::fs::read(root().join(rel)).unwrap()).unwrap()
}

/// An object without the given keys.
fn without(v: &Value, keys: &[&str]) -> Value {
    let mut m = v.as_object().unwrap().clone();
    for k in keys {
        m.remove(*k);
    }
    Value::Object(m)
}

/// The objects that describe a file's content, other than batches and records.
fn entries(objs: &[Value]) -> Vec<Value> {
    objs.iter()
        .filter(|o| !matches!(o["type"].as_str(), Some("file" | "batch" | "record" | "summary" | "problem")))
        .map(|o| without(o, &["file"]))
        .collect()
}

#[test]
fn every_file_kind_dumps_as_the_generator_wrote_it() {
    let expected = read_json("testdata/files/expected.json");
    let files = expected["files"].as_array().unwrap();
    assert!(files.len() >= 25, "{}", files.len());
    let mut kinds = BTreeSet::new();
    for f in files {
        let path = f["path"].as_str().unwrap();
        let (r, objs) = jsonl(&["dump", "--format", "jsonl", path]);
        assert_eq!((r.code, r.stderr.as_str()), (0, ""), "{path}");
        let file = &objs[0];
        assert_eq!(file["type"], "file", "{path}");
        assert_eq!(file["file"], path);
        assert_eq!(without(file, &["type", "file"]), f["file"], "{path}: the file object");
        kinds.insert(file["kind"].as_str().unwrap().to_string());
        assert_eq!(entries(&objs), f["objects"].as_array().unwrap().clone(), "{path}");
        if let Some(n) = f.get("batches") {
            assert_eq!(objs.iter().filter(|o| o["type"] == "batch").count() as u64, n.as_u64().unwrap(), "{path}");
        }
        // Every entry names its file.
        assert!(objs.iter().filter(|o| o["type"] != "summary").all(|o| o["file"] == path), "{path}");
    }
    for kind in [
        "log",
        "index",
        "timeindex",
        "txnindex",
        "snapshot",
        "kraft-checkpoint",
        "leader-epoch-checkpoint",
        "partition.metadata",
        "meta.properties",
        "quorum-state",
        ".kafka_cleanshutdown",
        "recovery-point-offset-checkpoint",
        "log-start-offset-checkpoint",
        "replication-offset-checkpoint",
        "cleaner-offset-checkpoint",
    ] {
        assert!(kinds.contains(kind), "no fixture of kind {kind}");
    }
}

#[test]
fn a_log_directory_dumps_every_file_in_order_in_one_document() {
    let expected = read_json("testdata/files/expected.json");
    let dir = expected["directory"].as_str().unwrap();
    let r = run(&["dump", "--format", "json", dir]);
    // Files being deleted or cleaned are not part of the log: left out of the
    // directory's listing, each named in a note.
    let in_transit = |name: &str| [".deleted", ".cleaned", ".swap"].iter().any(|s| name.ends_with(s));
    let notes: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(r.code, 0);
    assert_eq!(notes.len(), 4, "{}", r.stderr);
    for (note, name) in notes.iter().zip([
        "00000000000000000000.log.deleted",
        "00000000000000000000.index.deleted",
        "00000000000000000000.timeindex.deleted",
        "00000000000000000040.log.cleaned",
    ]) {
        assert!(note.starts_with("kseg: note: ") && note.contains(name) && note.contains("left out"), "{note}");
    }
    let doc: Value = serde_json::from_str(&r.stdout).unwrap();
    let items = doc.as_array().unwrap();
    let order: Vec<&str> = items.iter().filter(|o| o["type"] == "file").map(|o| o["file"].as_str().unwrap()).collect();
    let want: Vec<&str> =
        expected["order"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).filter(|f| !in_transit(f)).collect();
    assert_eq!(order, want);
    // The same objects as each file on its own, in the same order.
    let mut want_entries = Vec::new();
    for f in expected["files"].as_array().unwrap() {
        if !in_transit(f["path"].as_str().unwrap()) {
            want_entries.extend(f["objects"].as_array().unwrap().iter().cloned());
        }
    }
    assert_eq!(entries(items), want_entries);
    let summary = items.last().unwrap();
    assert_eq!(summary["files"], want.len());
    assert_eq!(summary["problems"], 0);
    assert!(items.iter().all(|o| o.get("state").is_none()), "a file in transit was dumped");
}

#[test]
fn tables_show_real_and_preallocated_slots_and_file_states() {
    let r = run(&["dump", "testdata/files/logdir/txn-0"]);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    insta::with_settings!({
        description => "kseg dump testdata/files/logdir/txn-0",
        omit_expression => true,
        prepend_module_to_snapshot => false,
    }, {
        insta::assert_snapshot!("files_txn-0__table", r.stdout);
    });
    // A directory's files being deleted, cleaned or swapped are not part of
    // the log (Kafka never reads them): left out, with a note naming each.
    let r = run(&["dump", "testdata/files/logdir/states-0"]);
    assert_eq!(r.code, 0);
    let noted: Vec<&str> = r.stderr.lines().filter(|l| l.starts_with("kseg: note: ")).collect();
    assert_eq!(noted.len(), 4, "{}", r.stderr);
    for name in [
        "00000000000000000000.log.deleted",
        "00000000000000000000.index.deleted",
        "00000000000000000000.timeindex.deleted",
        "00000000000000000040.log.cleaned",
    ] {
        assert!(noted.iter().any(|l| l.contains(name) && l.contains("left out")), "{name}\n{}", r.stderr);
        assert!(!r.stdout.contains(name), "{name} dumped\n{}", r.stdout);
    }
    assert!(r.stdout.contains("00000000000000000040.log (log, 2088 bytes)"), "{}", r.stdout);
    // Named, each is still dumped, with its state.
    for (file, line) in [
        ("00000000000000000000.log.deleted", "00000000000000000000.log.deleted (log, DELETED, 1585 bytes)"),
        (
            "00000000000000000000.index.deleted",
            "00000000000000000000.index.deleted (index, DELETED, 24 bytes: 3 entries, 0 preallocated slots)",
        ),
        ("00000000000000000040.log.cleaned", "00000000000000000040.log.cleaned (log, CLEANED, 2088 bytes)"),
    ] {
        let r = run(&["dump", &format!("testdata/files/logdir/states-0/{file}")]);
        assert_eq!(r.code, 0);
        assert!(r.stdout.contains(line), "{line}\n{}", r.stdout);
    }
    // A preallocated active index: the zero tail is counted, not shown.
    let r = run(&["dump", "testdata/partitions/demo-0/00000000000000000095.index"]);
    assert!(r.stdout.contains("(index, 800 bytes: 2 entries, 98 preallocated slots)"), "{}", r.stdout);
}

#[test]
fn offsets_select_index_and_transaction_entries() {
    let dir = "testdata/files/logdir/txn-0";
    let (_, objs) = jsonl(&["dump", "--format", "jsonl", "--from-offset", "5", "--to-offset", "12", dir]);
    let offsets = |t: &str| -> Vec<i64> {
        objs.iter().filter(|o| o["type"] == t).map(|o| o["offset"].as_i64().unwrap()).collect()
    };
    assert_eq!(offsets("index_entry"), [9]);
    assert_eq!(offsets("time_index_entry"), [9]);
    // The aborted transaction 3..11 overlaps the range.
    assert_eq!(objs.iter().filter(|o| o["type"] == "txn_entry").count(), 1);
    let (_, objs) = jsonl(&["dump", "--format", "jsonl", "--from-offset", "12", "--to-offset", "13", dir]);
    assert_eq!(objs.iter().filter(|o| o["type"] == "txn_entry").count(), 0);
}

#[test]
fn damaged_snapshots_and_transaction_indexes_are_found_where_they_are() {
    let cases = read_json("testdata/files/corrupt.json");
    let cases = cases.as_array().unwrap();
    assert!(cases.len() >= 10);
    let doc = std::fs::read_to_string(root().join("docs/verify.md")).unwrap();
    let json_doc = std::fs::read_to_string(root().join("docs/json.md")).unwrap();
    for case in cases {
        let name = case["case"].as_str().unwrap();
        let vpath = case["verify_path"].as_str().unwrap();
        for extra in [&[][..], &["--no-mmap"][..]] {
            let mut args = vec!["verify", "--format", "json", vpath];
            args.extend(extra);
            let r = run(&args);
            let got: Value = serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{name}: {e}: {}", r.stderr));
            let problems = got["problems"].as_array().unwrap();
            let ctx = format!("{name}: {}", serde_json::to_string_pretty(problems).unwrap());
            assert_eq!(r.code, case["exit_code"].as_i64().unwrap() as i32, "{ctx}");
            let simplified: Vec<Value> = problems
                .iter()
                .map(|p| {
                    let file =
                        Path::new(p["file"].as_str().unwrap()).file_name().unwrap().to_string_lossy().into_owned();
                    json!({"file": file, "kind": p["kind"], "severity": p["severity"], "position": p["position"]})
                })
                .collect();
            assert_eq!(simplified, case["findings"].as_array().unwrap().clone(), "{ctx}");
        }
        for f in case["findings"].as_array().unwrap() {
            let kind = f["kind"].as_str().unwrap();
            assert!(doc.contains(&format!("`{kind}`")), "docs/verify.md does not describe `{kind}`");
        }
        // dump reports the damage of the file's own structure.
        let (r, objs) = jsonl(&["dump", "--format", "jsonl", case["dump_path"].as_str().unwrap()]);
        let problems: Vec<Value> = objs
            .iter()
            .filter(|o| o["type"] == "problem")
            .map(|p| json!({"kind": p["kind"], "position": p["position"]}))
            .collect();
        assert_eq!(problems, case["dump_problems"].as_array().unwrap().clone(), "{name} (dump)");
        assert_eq!(r.code, if problems.is_empty() { 0 } else { 1 }, "{name} (dump)");
        assert_eq!(r.stderr.lines().count(), problems.len(), "{name}: one stderr line per problem");
        for p in &problems {
            let kind = p["kind"].as_str().unwrap();
            assert!(json_doc.contains(&format!("`{kind}`")), "docs/json.md does not describe `{kind}`");
        }
    }
}

#[test]
fn text_problems_name_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("leader-epoch-checkpoint");
    std::fs::write(&path, "0\n3\n0 0\n1 x\n").unwrap();
    let out = kseg().args(["dump", "--format", "jsonl"]).arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(lines[0].contains("leader-epoch-checkpoint: line 2:"), "{stderr}");
    assert!(lines[1].contains("leader-epoch-checkpoint: line 4:") && lines[1].contains("1 x"), "{stderr}");
    let objs: Vec<Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let problems: Vec<(String, u64, u64)> = objs
        .iter()
        .filter(|o| o["type"] == "problem")
        .map(|p| {
            (p["kind"].as_str().unwrap().to_string(), p["line"].as_u64().unwrap(), p["position"].as_u64().unwrap())
        })
        .collect();
    assert_eq!(problems, [("count_mismatch".into(), 2, 2), ("malformed_line".into(), 4, 8)]);
}

#[test]
fn nothing_in_the_fixtures_is_written() {
    // Everything is opened read-only: dumping and verifying leaves every file as it was.
    let before = snapshot_tree(&root().join("testdata/files"));
    // Each run must really have read the files (exit 1 for the dump: the
    // fixtures include damaged files on purpose).
    let dump = run(&["dump", "--records", "testdata/files"]);
    assert_eq!(dump.code, 1, "{}", dump.stderr);
    assert!(dump.stdout.lines().count() > 100);
    let verify = run(&["verify", "testdata/files/logdir"]);
    assert_eq!(verify.code, 0, "{}", verify.stderr);
    assert!(verify.stdout.contains(" 0 errors"), "{}", verify.stdout);
    assert_eq!(snapshot_tree(&root().join("testdata/files")), before);
}

fn snapshot_tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>, std::time::SystemTime)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let modified = std::fs::metadata(&p).unwrap().modified().unwrap();
                out.push((p.clone(), std::fs::read(&p).unwrap(), modified));
            }
        }
    }
    out.sort();
    out
}

// ---------------------------------------------------------------------------------------------
// The shared corpus
// ---------------------------------------------------------------------------------------------

/// Folders of the corpus that are not broker directories.
const NOT_BROKER: [&str; 6] =
    ["kafka-go", "kafkajs", "kafka-python", "sarama", "kafka-protocol-rs", "kafka-python-generated"];

/// Every file of the real broker directories: not the corpus's own notes (MANIFEST.md,
/// summary.json), its reference decoder's output (decoded/) or its cut index copies (derived/).
fn broker_files(corpus: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = std::fs::read_dir(corpus)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() && !NOT_BROKER.contains(&p.file_name().unwrap().to_str().unwrap()))
        .collect();
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if p.is_dir() {
                if name != "decoded" && name != "derived" {
                    stack.push(p);
                }
            } else if name != "MANIFEST.md" && name != "summary.json" {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_file_of_every_real_broker_directory_dumps_cleanly() {
    let Some(corpus) = corpus() else { return };
    let files = broker_files(&corpus);
    assert!(files.len() >= 250, "expected the broker directories' files, found {}", files.len());
    let mut failures = Vec::new();
    let mut kinds = BTreeSet::new();
    for p in &files {
        let out = Command::cargo_bin("kseg").unwrap().args(["dump", "--format", "json"]).arg(p).output().unwrap();
        let doc: Result<Value, _> = serde_json::from_slice(&out.stdout);
        let items = doc.as_ref().ok().and_then(Value::as_array);
        let problems = items.map_or(0, |i| i.iter().filter(|o| o["type"] == "problem").count());
        if out.status.code() != Some(0) || items.is_none() || problems > 0 {
            failures.push(format!(
                "{}: exit {:?}, {problems} problems: {}",
                p.display(),
                out.status.code(),
                String::from_utf8_lossy(&out.stderr).lines().next().unwrap_or("")
            ));
            continue;
        }
        if let Some(kind) = items.and_then(|i| i.first()).and_then(|f| f["kind"].as_str()) {
            kinds.insert(kind.to_string());
        }
    }
    assert!(failures.is_empty(), "{} file(s) failed:\n  {}", failures.len(), failures.join("\n  "));
    // The corpus has every kind but .txnindex (no real aborted transaction in it).
    for kind in [
        "log",
        "index",
        "timeindex",
        "snapshot",
        "kraft-checkpoint",
        "leader-epoch-checkpoint",
        "partition.metadata",
        "meta.properties",
        "quorum-state",
        ".kafka_cleanshutdown",
        "recovery-point-offset-checkpoint",
        "replication-offset-checkpoint",
        "cleaner-offset-checkpoint",
        "log-start-offset-checkpoint",
    ] {
        assert!(kinds.contains(kind), "no {kind} file dumped from the corpus: {kinds:?}");
    }

    // Whole log directories (those holding meta.properties) in one view, too.
    let log_dirs: BTreeSet<&Path> = files
        .iter()
        .filter(|p| p.file_name().is_some_and(|n| n == "meta.properties"))
        .filter_map(|p| p.parent())
        .collect();
    assert!(log_dirs.len() >= 8, "{log_dirs:?}");
    for d in log_dirs {
        let out = Command::cargo_bin("kseg").unwrap().args(["dump", "--format", "jsonl"]).arg(d).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}: {}", d.display(), String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout).unwrap();
        let files_listed = text.lines().filter(|l| l.starts_with("{\"type\":\"file\"")).count();
        // Files being deleted, cleaned or swapped are left out of a directory's listing.
        let in_transit = |p: &Path| {
            let name = p.file_name().unwrap().to_string_lossy();
            [".deleted", ".cleaned", ".swap"].iter().any(|s| name.ends_with(s))
        };
        let on_disk = files.iter().filter(|p| p.starts_with(d) && !in_transit(p)).count();
        assert_eq!(files_listed, on_disk, "{}", d.display());
    }
}
