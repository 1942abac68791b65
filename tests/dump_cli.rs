//! `kseg dump` from the outside: golden outputs (insta snapshots in `tests/snapshots/`) for every
//! fixture in `testdata/segments/`, and self-checking tests of the options, of bad input and of
//! the exit codes.
//!
//! The binary runs with the repository root as its current directory and relative paths, so
//! the paths in the output are the same on every machine.
//!
//! Updating the snapshots after an intended output change:
//! `INSTA_UPDATE=always cargo test --test dump_cli` (or `cargo insta review`), then review the
//! diff against the fixtures' `.expected.json` sidecars before committing. With `CI=true`
//! insta never writes snapshots: a difference fails the test.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Stdio};

use assert_cmd::Command;
use serde_json::Value;

mod common;
use common::root;

const BIN: &str = env!("CARGO_BIN_EXE_kseg");

fn kseg() -> Command {
    let mut c = Command::new(BIN);
    c.current_dir(root());
    // Tables fit COLUMNS: the goldens are made at one width, whatever the terminal.
    c.env("COLUMNS", "120").env_remove("NO_COLOR");
    c
}

/// The one segment file of a fixture directory, relative to the repository root.
fn fixture(name: &str) -> String {
    let dir = root().join("testdata/segments").join(name);
    let mut logs: Vec<_> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".log"))
        .collect();
    assert_eq!(logs.len(), 1, "{name}: expected one .log, found {logs:?}");
    format!("testdata/segments/{name}/{}", logs.remove(0))
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
    Run {
        code: out.status.code().unwrap_or_else(|| panic!("kseg {args:?} was killed by a signal: {stderr}")),
        stdout: String::from_utf8(out.stdout).unwrap_or_else(|e| panic!("kseg {args:?}: stdout is not UTF-8: {e}")),
        stderr,
    }
}

/// A run whose stdout is JSON Lines, parsed.
fn jsonl(args: &[&str]) -> (Run, Vec<Value>) {
    let r = run(args);
    let objs = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("kseg {args:?}: bad JSON line {l:?}: {e}")))
        .collect();
    (r, objs)
}

fn of_type<'a>(objs: &'a [Value], t: &str) -> Vec<&'a Value> {
    objs.iter().filter(|o| o["type"] == t).collect()
}

fn ints(objs: &[Value], t: &str, field: &str) -> Vec<i64> {
    of_type(objs, t).iter().map(|o| o[field].as_i64().unwrap_or_else(|| panic!("{field} in {o}"))).collect()
}

fn record_offsets(objs: &[Value]) -> Vec<i64> {
    ints(objs, "record", "offset")
}

// ---------------------------------------------------------------------------------------------
// Golden outputs
// ---------------------------------------------------------------------------------------------

fn snapshot(name: &str, args: &[&str]) {
    let r = run(args);
    assert_eq!(r.code, 0, "kseg {args:?} on a clean fixture: exit {}, stderr: {}", r.code, r.stderr);
    assert_eq!(r.stderr, "", "kseg {args:?} on a clean fixture wrote to stderr");
    insta::with_settings!({
        description => format!("kseg {}", args.join(" ")),
        omit_expression => true,
        prepend_module_to_snapshot => false,
    }, {
        insta::assert_snapshot!(name, r.stdout);
    });
}

/// Record table and JSON Lines of one fixture.
fn check_golden(name: &str) {
    let path = fixture(name);
    snapshot(&format!("{name}__records_table"), &["dump", "--records", "--format", "table", &path]);
    snapshot(&format!("{name}__records_jsonl"), &["dump", "--records", "--format", "jsonl", &path]);
}

macro_rules! golden_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                check_golden(stringify!($name));
            }
        )*
        const GOLDEN: &[&str] = &[$(stringify!($name)),*];
    };
}

mod golden {
    use super::check_golden;

    golden_tests! {
        v0_none, v0_gzip, v0_snappy, v0_lz4,
        v1_none, v1_gzip, v1_snappy, v1_lz4,
        v2_none, v2_gzip, v2_snappy, v2_lz4, v2_zstd,
        v2_transactions, v2_headers, log_append_time, v2_offset_gaps,
        v2_control_kraft, v2_codec_variants, mixed_v0_v1_v2,
    }

    /// A new fixture directory must get golden outputs too.
    #[test]
    fn every_fixture_has_golden_outputs() {
        let mut dirs: Vec<String> = std::fs::read_dir(super::root().join("testdata/segments"))
            .unwrap()
            .map(|e| e.unwrap())
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        dirs.sort();
        let mut listed: Vec<String> = GOLDEN.iter().map(|s| s.to_string()).collect();
        listed.sort();
        assert_eq!(dirs, listed, "add the new fixture to golden_tests! in tests/dump_cli.rs");
    }
}

#[test]
fn batch_tables() {
    for name in ["v2_transactions", "mixed_v0_v1_v2", "v2_offset_gaps", "log_append_time", "v2_control_kraft"] {
        snapshot(&format!("{name}__batches_table"), &["dump", "--format", "table", &fixture(name)]);
    }
}

#[test]
fn partition_batch_table() {
    snapshot("partition_demo-0__batches_table", &["dump", "testdata/partitions/demo-0"]);
}

// ---------------------------------------------------------------------------------------------
// Selection: offsets, limits, bytes
// ---------------------------------------------------------------------------------------------

const GAPS: &str = "testdata/segments/v2_offset_gaps/00000000000000000500.log";

#[test]
fn from_and_to_offset_select_records_and_batches() {
    // Batches: 500..502 @0, 510..519 @280 (records 510 513 514 519), 520..524 @377 (empty),
    // 525..532 @438 (records 527 530), 540..542 @589.
    let (r, objs) =
        jsonl(&["dump", "--records", "--format", "jsonl", "--from-offset", "513", "--to-offset", "528", GAPS]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(record_offsets(&objs), [513, 514, 519, 527]);
    assert_eq!(ints(&objs, "batch", "base_offset"), [510, 520, 525]);
    assert_eq!(objs.last().unwrap()["records"], 4);

    // Bounds are inclusive.
    let (_, objs) =
        jsonl(&["dump", "--records", "--format", "jsonl", "--from-offset", "514", "--to-offset", "514", GAPS]);
    assert_eq!(record_offsets(&objs), [514]);

    // Without --records, whole batches are kept when they overlap the range.
    let (_, objs) = jsonl(&["dump", "--format", "jsonl", "--from-offset", "520", GAPS]);
    assert_eq!(ints(&objs, "batch", "base_offset"), [520, 525, 540]);
    let (_, objs) = jsonl(&["dump", "--format", "jsonl", "--to-offset", "509", GAPS]);
    assert_eq!(ints(&objs, "batch", "base_offset"), [500]);

    // A range with nothing in it.
    let (r, objs) = jsonl(&["dump", "--records", "--format", "jsonl", "--from-offset", "600", GAPS]);
    assert_eq!(r.code, 0);
    assert!(of_type(&objs, "batch").is_empty() && of_type(&objs, "record").is_empty());
}

#[test]
fn to_offset_works_across_the_segments_of_a_partition() {
    let (r, objs) = jsonl(&[
        "dump",
        "--records",
        "--format",
        "jsonl",
        "--from-offset",
        "38",
        "--to-offset",
        "43",
        "testdata/partitions/demo-0",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let offsets = record_offsets(&objs);
    assert!(!offsets.is_empty());
    assert!(offsets.iter().all(|o| (38..=43).contains(o)), "{offsets:?}");
    // Offsets 38..39 live in segment 0 and 42.. in segment 40 (whose base is below its first batch).
    let files: Vec<&str> = of_type(&objs, "file").iter().map(|f| f["file"].as_str().unwrap()).collect();
    assert!(files.iter().any(|f| f.ends_with("00000000000000000040.log")), "{files:?}");
    assert!(!files.iter().any(|f| f.ends_with("00000000000000000095.log")), "the walk must stop: {files:?}");
}

#[test]
fn limit_counts_records_with_records_else_batches() {
    let (_, objs) = jsonl(&["dump", "--records", "--format", "jsonl", "--limit", "3", GAPS]);
    assert_eq!(record_offsets(&objs), [500, 501, 502]);
    // The limit runs across batches.
    let (_, objs) = jsonl(&["dump", "--records", "--format", "jsonl", "--limit", "5", GAPS]);
    assert_eq!(record_offsets(&objs), [500, 501, 502, 510, 513]);
    // With a start offset.
    let (_, objs) = jsonl(&["dump", "--records", "--format", "jsonl", "--from-offset", "515", "--limit", "2", GAPS]);
    assert_eq!(record_offsets(&objs), [519, 527]);
    // Without --records the limit counts batches.
    let (r, objs) = jsonl(&["dump", "--format", "jsonl", "--limit", "2", GAPS]);
    assert_eq!(r.code, 0);
    assert_eq!(ints(&objs, "batch", "position"), [0, 280]);
    assert_eq!(objs.last().unwrap()["batches"], 2);
    // Across the files of a partition directory, the limit is global.
    let (_, objs) = jsonl(&["dump", "--format", "jsonl", "--limit", "4", "testdata/partitions/demo-0"]);
    assert_eq!(of_type(&objs, "batch").len(), 4);
}

#[test]
fn max_bytes_reads_only_the_start_of_each_file() {
    // 438 is the end of the third batch: exactly three whole batches.
    let (r, objs) = jsonl(&["dump", "--format", "jsonl", "--max-bytes", "438", GAPS]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(ints(&objs, "batch", "position"), [0, 280, 377]);
    assert!(of_type(&objs, "problem").is_empty());
    // A cut inside a batch leaves that batch out.
    let (_, objs) = jsonl(&["dump", "--records", "--format", "jsonl", "--max-bytes", "300", GAPS]);
    assert_eq!(ints(&objs, "batch", "position"), [0]);
    assert_eq!(record_offsets(&objs), [500, 501, 502]);
    // Per file: each segment of a partition is cut.
    let (_, objs) = jsonl(&["dump", "--format", "jsonl", "--max-bytes", "1", "testdata/partitions/demo-0"]);
    assert_eq!(of_type(&objs, "file").iter().filter(|f| f["kind"] == "log").count(), 3);
    assert!(of_type(&objs, "batch").is_empty());
}

// ---------------------------------------------------------------------------------------------
// Encodings
// ---------------------------------------------------------------------------------------------

const HEADERS: &str = "testdata/segments/v2_headers/00000000000000000000.log";

/// Records of v2_headers: 0 = key "hdrs", value "repeated keys", headers a=1 a=2 b=3;
/// 1 = header null-value=null; 3 = header bin=00 01 fe ff 80; 4 = null key.
fn header_records(extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["dump", "--records", "--format", "jsonl"];
    args.extend_from_slice(extra);
    args.push(HEADERS);
    let (r, objs) = jsonl(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    of_type(&objs, "record").into_iter().cloned().collect()
}

#[test]
fn key_and_value_encodings_in_json() {
    let utf8 = header_records(&[]);
    assert_eq!(utf8[0]["key"], "hdrs");
    assert_eq!(utf8[0]["value"], "repeated keys");
    assert_eq!(
        utf8[0]["headers"],
        serde_json::json!([{"key":"a","value":"1"},{"key":"a","value":"2"},{"key":"b","value":"3"}])
    );

    let hex = header_records(&["--key-encoding", "hex", "--value-encoding", "hex"]);
    assert_eq!(hex[0]["key"], "68647273");
    assert_eq!(hex[0]["value"], "7265706561746564206b657973");
    // Header values follow the value encoding; header keys stay text.
    assert_eq!(hex[0]["headers"][0], serde_json::json!({"key": "a", "value": "31"}));
    assert_eq!(hex[3]["headers"][0], serde_json::json!({"key": "bin", "value": "0001feff80"}));
    // Null stays null in every encoding.
    assert_eq!(hex[1]["headers"][0]["value"], Value::Null);
    assert_eq!(hex[4]["key"], Value::Null);

    let b64 = header_records(&["--key-encoding", "base64", "--value-encoding", "base64"]);
    assert_eq!(b64[0]["key"], "aGRycw==");
    assert_eq!(b64[0]["value"], "cmVwZWF0ZWQga2V5cw==");
    assert_eq!(b64[3]["headers"][0]["value"], "AAH+/4A=");
    assert_eq!(b64[4]["key"], Value::Null);

    // The two encodings are independent.
    let mixed = header_records(&["--key-encoding", "hex"]);
    assert_eq!(mixed[0]["key"], "68647273");
    assert_eq!(mixed[0]["value"], "repeated keys");

    // none leaves the field out (and the header values with the record value).
    let none = header_records(&["--key-encoding", "none"]);
    assert!(none[0].get("key").is_none(), "{}", none[0]);
    assert_eq!(none[0]["value"], "repeated keys");
    let none = header_records(&["--value-encoding", "none"]);
    assert_eq!(none[0]["key"], "hdrs");
    assert!(none[0].get("value").is_none(), "{}", none[0]);
    assert_eq!(none[0]["headers"][0], serde_json::json!({"key": "a"}));
}

#[test]
fn key_and_value_encodings_in_tables() {
    let table = |extra: &[&str]| {
        let mut args = vec!["dump", "--records", "--format", "table", "--limit", "4"];
        args.extend_from_slice(extra);
        args.push(HEADERS);
        let r = run(&args);
        assert_eq!(r.code, 0, "{}", r.stderr);
        r.stdout
    };
    let utf8 = table(&[]);
    assert!(utf8.contains("hdrs") && utf8.contains("repeated keys") && utf8.contains("a=1, a=2, b=3"), "{utf8}");
    // Binary that is not UTF-8 is shown as 0x-hex in a table.
    assert!(utf8.contains("bin=0x0001feff80"), "{utf8}");

    let hex = table(&["--key-encoding", "hex", "--value-encoding", "hex"]);
    assert!(hex.contains("68647273") && hex.contains("7265706561746564206b657973"), "{hex}");
    assert!(hex.contains("a=31, a=32, b=33") && hex.contains("bin=0001feff80"), "{hex}");
    assert!(!hex.contains("repeated keys"), "{hex}");

    let b64 = table(&["--key-encoding", "base64", "--value-encoding", "base64"]);
    assert!(
        b64.contains("aGRycw==") && b64.contains("a=MQ==, a=Mg==, b=Mw==") && b64.contains("bin=AAH+/4A="),
        "{b64}"
    );

    let none = table(&["--key-encoding", "none", "--value-encoding", "none"]);
    assert!(!none.contains("hdrs") && !none.contains("repeated keys"), "{none}");
}

// ---------------------------------------------------------------------------------------------
// Partition directories
// ---------------------------------------------------------------------------------------------

#[test]
fn a_partition_directory_dumps_its_segments_in_base_offset_order() {
    let (r, objs) = jsonl(&["dump", "--records", "--format", "jsonl", "testdata/partitions/demo-0"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let files: Vec<&str> = of_type(&objs, "file").iter().map(|f| f["file"].as_str().unwrap()).collect();
    let logs: Vec<&str> = files.iter().copied().filter(|f| f.ends_with(".log")).collect();
    assert_eq!(
        logs,
        [
            "testdata/partitions/demo-0/00000000000000000000.log",
            "testdata/partitions/demo-0/00000000000000000040.log",
            "testdata/partitions/demo-0/00000000000000000095.log",
        ]
    );
    let bases: Vec<i64> = of_type(&objs, "file").iter().filter_map(|f| f["base_offset"].as_i64()).collect();
    assert_eq!(bases, [0, 0, 0, 40, 40, 40, 95, 95, 95]);
    // Every record of the partition, in offset order, as the generator lists them.
    let expected: Value =
        serde_json::from_slice(&fs::read(root().join("testdata/partitions/demo-0/expected.json")).unwrap()).unwrap();
    let want: Vec<i64> =
        expected["records"].as_array().unwrap().iter().map(|r| r["offset"].as_i64().unwrap()).collect();
    let got = record_offsets(&objs);
    assert_eq!(got, want);
    assert!(got.windows(2).all(|w| w[0] < w[1]));
    // Each segment's index files follow its .log; other names come last.
    let names: Vec<&str> = files.iter().map(|f| f.rsplit('/').next().unwrap()).collect();
    assert_eq!(
        names,
        [
            "00000000000000000000.log",
            "00000000000000000000.index",
            "00000000000000000000.timeindex",
            "00000000000000000040.log",
            "00000000000000000040.index",
            "00000000000000000040.timeindex",
            "00000000000000000095.log",
            "00000000000000000095.index",
            "00000000000000000095.timeindex",
            "expected.json",
        ]
    );
}

#[test]
fn directory_order_does_not_depend_on_creation_order() {
    let dir = tempfile::tempdir().unwrap();
    let src = root().join("testdata/partitions/demo-0");
    // Create the segments newest first, plus files that are not live segments.
    for base in ["00000000000000000095", "00000000000000000040", "00000000000000000000"] {
        fs::copy(src.join(format!("{base}.log")), dir.path().join(format!("{base}.log"))).unwrap();
    }
    fs::write(dir.path().join("00000000000000000007.log.deleted"), b"").unwrap();
    fs::write(dir.path().join("leader-epoch-checkpoint"), b"0\n0\n").unwrap();
    let out = kseg().args(["dump", "--format", "jsonl"]).arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let objs: Vec<Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let live: Vec<i64> = of_type(&objs, "file")
        .iter()
        .filter(|f| f["kind"] == "log" && f.get("state").is_none())
        .map(|f| f["base_offset"].as_i64().unwrap())
        .collect();
    assert_eq!(live, [0, 40, 95]);
    // The segment being deleted is not part of the log: left out, and named in a note.
    assert!(of_type(&objs, "file").iter().all(|f| f.get("state").is_none()));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        one_line(&stderr),
        format!(
            "kseg: note: {}: left out: being deleted (replaced by the cleaner or past retention); name the file to dump it",
            dir.path().join("00000000000000000007.log.deleted").display()
        )
    );
}

// ---------------------------------------------------------------------------------------------
// Bad input
// ---------------------------------------------------------------------------------------------

fn one_line(stderr: &str) -> &str {
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "expected one stderr line, got {stderr:?}");
    lines[0]
}

#[test]
fn a_missing_file_exits_2_with_one_line_naming_it() {
    for format in ["table", "json", "jsonl"] {
        let r = run(&["dump", "--format", format, "testdata/no-such-file.log"]);
        assert_eq!(r.code, 2, "{format}");
        let line = one_line(&r.stderr);
        assert!(line.contains("testdata/no-such-file.log"), "{line}");
    }
}

#[test]
fn a_missing_file_among_good_ones_still_exits_2() {
    let r = run(&["dump", "--format", "jsonl", "testdata/no-such-file.log", GAPS]);
    assert_eq!(r.code, 2);
    assert!(one_line(&r.stderr).contains("no-such-file.log"));
    // The readable file is still dumped.
    assert!(r.stdout.contains("\"type\":\"batch\""), "{}", r.stdout);
}

#[test]
fn a_directory_without_segments_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = kseg().args(["dump"]).arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(one_line(&stderr).contains(&*dir.path().to_string_lossy()), "{stderr}");

    // Nor are files kseg does not know.
    fs::write(dir.path().join("notes.txt"), b"not Kafka").unwrap();
    let out = kseg().args(["dump"]).arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    // An index file alone is shown: one real entry, one preallocated slot.
    fs::write(dir.path().join("00000000000000000000.index"), [0u8; 16]).unwrap();
    let out = kseg().args(["dump", "--format", "jsonl"]).arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(r#""kind":"index","size":16,"base_offset":0,"entries":1,"preallocated_slots":1"#), "{text}");
}

#[test]
fn bad_arguments_exit_2() {
    for args in [
        &["dump"][..],
        &["dump", "--format", "xml", GAPS],
        &["dump", "--limit", "-1", GAPS],
        &["dump", "--key-encoding", "rot13", GAPS],
        &["no-such-subcommand"],
    ] {
        let r = run(args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(!r.stderr.is_empty(), "{args:?}");
    }
}

#[test]
fn a_file_that_is_not_a_kafka_log_is_a_problem_with_a_position() {
    let (r, objs) = jsonl(&["dump", "--format", "jsonl", "Cargo.toml"]);
    // Status 2, as in every subcommand (docs/exit-codes.md): not a Kafka file.
    assert_eq!(r.code, 2, "{}", r.stderr);
    let problems = of_type(&objs, "problem");
    assert_eq!(problems.len(), 1, "{objs:?}");
    assert_eq!(problems[0]["file"], "Cargo.toml");
    assert!(problems[0]["position"].is_u64(), "{}", problems[0]);
    assert!(of_type(&objs, "batch").is_empty());
    // The same problem on stderr, naming the file and the byte.
    let line = one_line(&r.stderr);
    assert!(line.contains("Cargo.toml") && line.contains("at byte 0"), "{line}");
    // Table output: the same exit code and stderr line.
    let t = run(&["dump", "Cargo.toml"]);
    assert_eq!(t.code, 2);
    assert_eq!(t.stderr, r.stderr);
}

/// A copy of a fixture in a temporary directory, changed by `edit`.
fn damaged(name: &str, edit: impl FnOnce(&mut Vec<u8>)) -> (tempfile::TempDir, PathBuf) {
    let src = root().join(fixture(name));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(src.file_name().unwrap());
    let mut bytes = fs::read(&src).unwrap();
    edit(&mut bytes);
    fs::write(&path, bytes).unwrap();
    (dir, path)
}

fn jsonl_path(args: &[&str], path: &Path) -> (i32, Vec<Value>, String) {
    let out = kseg().args(args).arg(path).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    let objs = String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    (out.status.code().unwrap(), objs, stderr)
}

#[test]
fn a_corrupt_batch_is_reported_and_the_following_batches_still_are() {
    // v2_none: batches at 0 (offsets 0..3), 405 (4..6) and 770 (7..11). Flip a byte in the
    // records of the middle batch (its header is 61 bytes).
    let (_dir, path) = damaged("v2_none", |b| b[405 + 100] ^= 0x20);
    let (code, objs, stderr) = jsonl_path(&["dump", "--records", "--format", "jsonl"], &path);
    assert_eq!(code, 1, "{stderr}");
    let problems = of_type(&objs, "problem");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0]["kind"], "crc_mismatch");
    assert_eq!(problems[0]["position"], 405);
    assert_eq!(problems[0]["file"], path.to_str().unwrap());
    assert!(one_line(&stderr).contains("at byte 405"), "{stderr}");
    // Every batch is still there, with the bad one marked, and the problem comes right after it.
    let batches = of_type(&objs, "batch");
    assert_eq!(batches.iter().map(|b| b["position"].as_u64().unwrap()).collect::<Vec<_>>(), [0, 405, 770]);
    assert_eq!(batches.iter().map(|b| b["crc_valid"].as_bool().unwrap()).collect::<Vec<_>>(), [true, false, true]);
    let problem_at = objs.iter().position(|o| o["type"] == "problem").unwrap();
    let last_batch_at = objs.iter().position(|o| o["type"] == "batch" && o["position"] == 770).unwrap();
    assert!(problem_at < last_batch_at);
    // The records of the following batch too.
    assert!(record_offsets(&objs).ends_with(&[7, 8, 9, 10, 11]), "{:?}", record_offsets(&objs));
    let summary = objs.last().unwrap();
    assert_eq!((summary["type"].as_str(), summary["problems"].as_u64()), (Some("summary"), Some(1)));
}

#[test]
fn a_corrupt_first_batch_does_not_hide_the_rest() {
    let (_dir, path) = damaged("v2_none", |b| b[100] ^= 0xff);
    let (code, objs, _) = jsonl_path(&["dump", "--format", "jsonl"], &path);
    assert_eq!(code, 1);
    let problems = of_type(&objs, "problem");
    assert_eq!((problems[0]["kind"].as_str(), problems[0]["position"].as_u64()), (Some("crc_mismatch"), Some(0)));
    assert_eq!(ints(&objs, "batch", "position"), [0, 405, 770]);
}

#[test]
fn a_truncated_file_ends_with_trailing_bytes_at_the_incomplete_entry() {
    // Cut the last batch (at 770) short, then cut inside its 17-byte header.
    for cut in [10usize, 1361 - 770 - 10] {
        let (_dir, path) = damaged("v2_none", |b| b.truncate(b.len() - cut));
        let (code, objs, stderr) = jsonl_path(&["dump", "--format", "jsonl"], &path);
        assert_eq!(code, 1, "cut {cut}: {stderr}");
        assert_eq!(ints(&objs, "batch", "position"), [0, 405], "cut {cut}");
        let problems = of_type(&objs, "problem");
        assert_eq!(problems.len(), 1, "cut {cut}: {problems:?}");
        assert_eq!(problems[0]["kind"], "trailing_bytes");
        assert_eq!(problems[0]["position"], 770);
        assert!(one_line(&stderr).contains("at byte 770"), "{stderr}");
    }
}

#[test]
fn a_zero_filled_tail_is_a_preallocated_tail_problem() {
    let (_dir, path) = damaged("v2_none", |b| b.extend_from_slice(&[0u8; 4096]));
    let (code, objs, _) = jsonl_path(&["dump", "--format", "jsonl"], &path);
    assert_eq!(code, 1);
    assert_eq!(ints(&objs, "batch", "position"), [0, 405, 770]);
    let problems = of_type(&objs, "problem");
    assert_eq!(
        (problems[0]["kind"].as_str(), problems[0]["position"].as_u64()),
        (Some("preallocated_tail"), Some(1361))
    );
}

// ---------------------------------------------------------------------------------------------
// Output plumbing and exit codes
// ---------------------------------------------------------------------------------------------

#[test]
fn a_closed_pipe_ends_quietly_with_status_0() {
    // Far more output than a pipe and kseg's buffer hold, so kseg is still writing when the
    // reader goes away.
    let mut args = vec!["dump".to_string(), "--records".into(), "--format".into(), "jsonl".into()];
    args.extend(std::iter::repeat_n("testdata/partitions/demo-0".to_string(), 300));
    for format in ["jsonl", "table", "json"] {
        args[3] = format.into();
        let mut child = StdCommand::new(BIN)
            .args(&args)
            .current_dir(root())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
        assert!(!first.is_empty(), "{format}: no output");
        // The reader (and with it the pipe) is dropped here, like `| head -1`.
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{format}: {stderr}");
        assert_eq!(stderr, "", "{format}");
    }
}

#[test]
fn clean_fixtures_exit_0_in_every_format() {
    for name in ["v0_lz4", "v2_codec_variants", "mixed_v0_v1_v2"] {
        let path = fixture(name);
        for format in ["table", "json", "jsonl"] {
            for records in [true, false] {
                let mut args = vec!["dump", "--format", format];
                if records {
                    args.push("--records");
                }
                args.push(&path);
                let r = run(&args);
                assert_eq!((r.code, r.stderr.as_str()), (0, ""), "{args:?}");
            }
        }
    }
    let r = run(&["dump", "--records", "testdata/partitions/demo-0", "testdata/partitions/legacy-0"]);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
}

#[test]
fn json_is_one_document_ending_with_the_summary() {
    let check = |args: &[&str]| {
        let r = run(args);
        let doc: Value =
            serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{args:?}: not one JSON document: {e}"));
        let items = doc.as_array().unwrap_or_else(|| panic!("{args:?}: not an array"));
        assert_eq!(items.first().unwrap()["type"], "file", "{args:?}");
        let last = items.last().unwrap();
        assert_eq!(last["type"], "summary", "{args:?}");
        for field in ["files", "batches", "records", "bytes", "problems"] {
            assert!(last[field].is_u64(), "{args:?}: summary.{field}");
        }
        assert_eq!(items.iter().filter(|o| o["type"] == "summary").count(), 1);
        (r.code, items.clone())
    };
    let (code, items) = check(&["dump", "--records", "--format", "json", &fixture("v2_transactions")]);
    assert_eq!(code, 0);
    assert_eq!(items.iter().filter(|o| o["type"] == "record").count(), 14);
    assert_eq!(items.last().unwrap()["records"], 14);
    let (code, items) = check(&["dump", "--format", "json", "testdata/partitions/demo-0"]);
    assert_eq!(code, 0);
    // Three segments with two index files each, and the sidecar (listed, not read).
    assert_eq!(items.last().unwrap()["files"], 10);
    // Still one document when there are problems.
    let (code, items) = check(&["dump", "--format", "json", "Cargo.toml"]);
    assert_eq!(code, 2);
    assert_eq!(items.last().unwrap()["problems"], 1);
    // The same objects as JSON Lines.
    let (_, lines) = jsonl(&["dump", "--records", "--format", "jsonl", &fixture("v2_transactions")]);
    let (_, items) = check(&["dump", "--records", "--format", "json", &fixture("v2_transactions")]);
    assert_eq!(lines, items);
}

#[test]
fn summary_counts_match_the_objects() {
    let (_, objs) = jsonl(&["dump", "--records", "--format", "jsonl", "testdata/partitions/demo-0"]);
    let s = objs.last().unwrap();
    assert_eq!(s["type"], "summary");
    assert_eq!(s["files"], of_type(&objs, "file").len());
    assert_eq!(s["batches"], of_type(&objs, "batch").len());
    assert_eq!(s["records"], of_type(&objs, "record").len());
    assert_eq!(s["problems"], 0);
    assert_eq!(s["bytes"], 1585 + 2088 + 1279);
}
