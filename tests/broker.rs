//! Files a real Kafka 4.4.0 broker wrote, and what Kafka's own DumpLogSegments
//! 4.4.0 printed for them (`testdata/broker/`, made by `interop/make-goldens.sh`;
//! no Java needed here). `kseg kafka-dump-log` must print the same bytes, and
//! the other subcommands must agree with the broker's view of the same files.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

mod common;
use common::copy_dir;

const BIN: &str = env!("CARGO_BIN_EXE_kseg");

fn broker() -> PathBuf {
    common::root().join("testdata/broker")
}

/// A copy of `testdata/broker/data` with the preallocated index files
/// extended back to the size the broker wrote (10 MiB of zeros after the
/// real entries), as `preallocated.tsv` says.
fn data_dir() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&broker().join("data"), tmp.path());
    let sizes = fs::read_to_string(broker().join("preallocated.tsv")).unwrap();
    let mut extended = 0;
    for line in sizes.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let cols: Vec<&str> = line.split('\t').collect();
        let file = fs::OpenOptions::new().write(true).open(tmp.path().join(cols[0])).unwrap();
        file.set_len(cols[1].parse().unwrap()).unwrap();
        extended += 1;
    }
    assert!(extended >= 4, "preallocated.tsv lists {extended} files");
    tmp
}

struct Case {
    file: String,
    mode: String,
    args: Vec<String>,
    stdout: PathBuf,
}

fn manifest() -> Vec<Case> {
    manifest_of("manifest.tsv")
}

fn manifest_of(name: &str) -> Vec<Case> {
    let text = fs::read_to_string(broker().join(name)).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            Case {
                file: cols[0].to_string(),
                mode: cols[1].to_string(),
                args: cols[2].split(' ').map(String::from).collect(),
                stdout: broker().join(cols[4]),
            }
        })
        .collect()
}

/// Outputs where kseg differs from the real tool today, each with the
/// reason; the test fails when one of them starts to agree (so the list
/// only shrinks) and when any other output differs.
const KNOWN: &[(&str, &str, &str)] = &[];

#[test]
fn kafka_dump_log_prints_what_the_real_tool_printed() {
    let data = data_dir();
    let cases = manifest();
    assert!(cases.len() >= 200, "{} cases", cases.len());
    let mut differ = Vec::new();
    let mut known_agree = Vec::new();
    for c in &cases {
        let out = Command::new(BIN).arg("kafka-dump-log").args(&c.args).current_dir(data.path()).output().unwrap();
        let want = fs::read(&c.stdout).unwrap();
        let known = KNOWN.iter().find(|(f, m, _)| *f == c.file && *m == c.mode);
        match (out.stdout == want, known) {
            (true, Some(k)) => known_agree.push(format!("{} {}: {}", k.0, k.1, k.2)),
            (false, None) => {
                let (got, want) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&want));
                let line = got.lines().zip(want.lines()).position(|(a, b)| a != b).unwrap_or(0);
                differ.push(format!(
                    "{} {}: line {}\n  kafka: {}\n  kseg:  {}",
                    c.file,
                    c.mode,
                    line + 1,
                    want.lines().nth(line).unwrap_or("<end>"),
                    got.lines().nth(line).unwrap_or("<end>")
                ));
            }
            _ => {}
        }
    }
    assert!(differ.is_empty(), "{} of {} outputs differ:\n{}", differ.len(), cases.len(), differ.join("\n"));
    assert!(known_agree.is_empty(), "now agree, remove from KNOWN:\n{}", known_agree.join("\n"));
}

fn kseg(args: &[&str], dir: &Path) -> (i32, String, String) {
    let out = Command::new(BIN).args(args).current_dir(dir).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A broker's log directory, one active segment copied while the broker ran
/// with its 10 MiB preallocated indexes: no error and no warning.
#[test]
fn verify_finds_nothing_wrong_in_a_brokers_log_directory() {
    let data = data_dir();
    let (code, stdout, stderr) = kseg(&["verify", "--format", "json", "."], data.path());
    let doc: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
    // Notes (the cleaner's `.deleted` files, waiting for the broker to remove
    // them) are what a running broker has.
    let findings: Vec<&Value> =
        doc["problems"].as_array().unwrap().iter().filter(|p| p["severity"] != "note").collect();
    assert!(findings.is_empty(), "{findings:#?}");
    assert_eq!(code, 0, "{stderr}");
    assert!(doc["files"].as_array().unwrap().len() > 20);
    // The same with --strict: not even a warning.
    assert_eq!(kseg(&["verify", "--strict", "-q", "."], data.path()).0, 0);
}

/// The cleaner's replaced segments wait as `.deleted` files: a directory's
/// dump leaves them out, so no offset is shown twice.
#[test]
fn dump_shows_each_offset_of_a_compacted_partition_once() {
    let data = data_dir();
    let dir = data.path().join("g-compacted-0");
    let deleted = fs::read_dir(&dir)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().to_string_lossy().ends_with(".log.deleted"))
        .count();
    assert!(deleted > 0, "the fixture has no .log.deleted file");
    let (code, stdout, stderr) = kseg(&["dump", "--records", "--format", "jsonl", "g-compacted-0"], data.path());
    assert_eq!(code, 0, "{stderr}");
    let mut offsets: Vec<i64> = stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|o| o["type"] == "record")
        .map(|o| o["offset"].as_i64().unwrap())
        .collect();
    let n = offsets.len();
    assert!(n > 10, "{n} records");
    offsets.sort_unstable();
    offsets.dedup();
    assert_eq!(offsets.len(), n, "an offset was shown twice");
    assert_eq!(
        stderr.lines().filter(|l| l.contains(".deleted: left out")).count(),
        fs::read_dir(&dir)
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().to_string_lossy().ends_with(".deleted"))
            .count()
    );
}

/// `--kafka-version 4.3` prints what the tool of 4.3 prints: the same text,
/// but the transaction log's state as its number (names came with 4.4).
/// Expected: the 4.4.0 tool's output with each name replaced by the id
/// Kafka's `TransactionState` gives it.
#[test]
fn kafka_version_4_3_prints_transaction_states_as_numbers() {
    let data = data_dir();
    let ids = [
        ("Empty", 0),
        ("Ongoing", 1),
        ("PrepareCommit", 2),
        ("PrepareAbort", 3),
        ("CompleteCommit", 4),
        ("CompleteAbort", 5),
        ("Dead", 6),
        ("PrepareEpochFence", 7),
    ];
    let golden = "expected/__transaction_state-0/00000000000000000000.log.transaction-log-decoder.stdout";
    let mut want = fs::read_to_string(broker().join(golden)).unwrap();
    let named = ids.iter().filter(|(n, _)| want.contains(&format!("\"transactionStatus\":\"{n}\""))).count();
    assert!(named >= 2, "the golden names {named} states");
    for (name, id) in ids {
        want = want.replace(&format!("\"transactionStatus\":\"{name}\""), &format!("\"transactionStatus\":{id}"));
    }
    let args =
        ["kafka-dump-log", "--files", "__transaction_state-0/00000000000000000000.log", "--transaction-log-decoder"];
    for version in ["4.3", "4.3.1"] {
        let out =
            Command::new(BIN).args(args).args(["--kafka-version", version]).current_dir(data.path()).output().unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), want, "--kafka-version {version}");
    }
    let out = Command::new(BIN).args(args).args(["--kafka-version", "3.9"]).current_dir(data.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("4.1, 4.3 and 4.4"));
}

/// Kafka appends an index entry with two writes into its map (offset index:
/// relative offset, then position; time index: timestamp, then relative
/// offset), and a live broker showed `kseg verify` the active segment's last
/// entry between the two. Made here from the broker's own entries with their
/// second field zeroed: in the active segment a warning, in a rolled one an
/// error.
#[test]
fn a_half_written_last_index_entry_is_a_warning_only_in_the_active_segment() {
    let data = data_dir();
    let part = data.path().join("g-rolled-0");
    // Keep the first entry only, its second field zero: the index's bytes 4..8
    // (position) and the time index's bytes 8..12 (relative offset).
    let half_write = |seg: &str| {
        for (ext, keep) in [("index", 4), ("timeindex", 8)] {
            let path = part.join(format!("{seg}.{ext}"));
            let mut bytes = fs::read(&path).unwrap();
            assert!(bytes[..keep].iter().any(|&b| b != 0), "{path:?} has a first entry");
            bytes[keep..].fill(0);
            fs::write(&path, bytes).unwrap();
        }
    };
    let findings = |dir: &Path| {
        let (code, stdout, stderr) = kseg(&["verify", "--format", "json", "g-rolled-0"], dir);
        let doc: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
        let mut found: Vec<(String, String, String, bool)> = doc["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let file = p["file"].as_str().unwrap();
                let name = Path::new(file).file_name().unwrap().to_string_lossy().into_owned();
                let half = p["message"].as_str().unwrap().contains("second half still zero");
                (name, p["kind"].as_str().unwrap().to_owned(), p["severity"].as_str().unwrap().to_owned(), half)
            })
            .collect();
        found.sort();
        (code, found)
    };
    let row = |name: &str, kind: &str, severity: &str, half: bool| {
        (name.to_owned(), kind.to_owned(), severity.to_owned(), half)
    };

    half_write("00000000000000000040");
    let (code, found) = findings(data.path());
    assert_eq!(
        found,
        [
            row("00000000000000000040.index", "index_mismatch", "warning", true),
            row("00000000000000000040.timeindex", "timeindex_mismatch", "warning", true),
        ]
    );
    assert_eq!(code, 0);

    half_write("00000000000000000000");
    let (code, found) = findings(data.path());
    assert_eq!(
        found,
        [
            row("00000000000000000000.index", "index_mismatch", "error", false),
            row("00000000000000000000.timeindex", "timeindex_mismatch", "error", false),
            row("00000000000000000040.index", "index_mismatch", "warning", true),
            row("00000000000000000040.timeindex", "timeindex_mismatch", "warning", true),
        ]
    );
    assert_eq!(code, 1);
}

/// Kafka creates a producer snapshot and then writes it (at a roll, in the
/// background): a live broker showed `kseg producers` the newest one empty.
/// That is a note; a snapshot with bytes that do not parse stays an anomaly.
#[test]
fn an_empty_newest_snapshot_is_a_note_and_a_broken_one_an_anomaly() {
    let data = data_dir();
    let snapshot = data.path().join("g-txn-0/00000000000000000033.snapshot");
    let kinds = |dir: &Path| {
        let (code, stdout, stderr) = kseg(&["producers", "--format", "json", "g-txn-0"], dir);
        let doc: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
        let part = &doc["partitions"][0];
        let of = |key: &str| -> Vec<String> {
            part[key].as_array().unwrap().iter().map(|f| f["kind"].as_str().unwrap().to_owned()).collect()
        };
        (code, of("anomalies"), of("notes"))
    };
    fs::write(&snapshot, b"").unwrap();
    let (code, anomalies, notes) = kinds(data.path());
    assert!(anomalies.is_empty(), "{anomalies:?}");
    assert!(notes.contains(&"snapshot_invalid".to_owned()), "{notes:?}");
    assert_eq!(code, 0);
    // Version 1 and a CRC that is not the bytes': a snapshot Kafka rejects.
    fs::write(&snapshot, [0, 1, 0, 0, 0, 0, 0, 0, 0, 0]).unwrap();
    let (code, anomalies, _) = kinds(data.path());
    assert_eq!(anomalies, ["snapshot_invalid"]);
    assert_eq!(code, 1);
}

/// What the Scala tool of Kafka 4.1.1 printed for the same files and modes
/// (`interop/make-goldens-version.sh 4.1.1`), against `--kafka-version 4.1`:
/// stdout and stderr. Outputs kseg does not reproduce yet are listed with
/// the reason; the test fails when one of them starts to agree.
/// Deliberate: the Scala tool dies on a name without a dot
/// (`StringIndexOutOfBoundsException`, nothing more for later files); kseg
/// says `Ignoring unknown file` and goes on (docs/kafka-dump-log.md).
const NO_DOT: &str = "deliberate: a name without a dot is ignored, not fatal";

const KNOWN_4_1: &[(&str, &str, &str)] = &[
    ("log-start-offset-checkpoint", "default", NO_DOT),
    ("recovery-point-offset-checkpoint", "default", NO_DOT),
    ("replication-offset-checkpoint", "default", NO_DOT),
    ("cleaner-offset-checkpoint", "default", NO_DOT),
    ("g-rolled-0/leader-epoch-checkpoint", "default", NO_DOT),
    ("g-compacted-0/leader-epoch-checkpoint", "default", NO_DOT),
    ("g-txn-0/leader-epoch-checkpoint", "default", NO_DOT),
    ("g-binary-0/leader-epoch-checkpoint", "default", NO_DOT),
    ("__consumer_offsets-0/leader-epoch-checkpoint", "default", NO_DOT),
    ("__transaction_state-0/leader-epoch-checkpoint", "default", NO_DOT),
    ("__cluster_metadata-0/leader-epoch-checkpoint", "default", NO_DOT),
    ("__cluster_metadata-0/quorum-state", "default", NO_DOT),
];

#[test]
fn kafka_version_4_1_prints_what_the_scala_tool_printed() {
    let data = data_dir();
    let cases = manifest_of("manifest-4.1.1.tsv");
    assert_eq!(cases.len(), manifest().len());
    let mut differ = Vec::new();
    let mut known_agree = Vec::new();
    for c in &cases {
        let out = Command::new(BIN)
            .args(["kafka-dump-log", "--kafka-version", "4.1"])
            .args(&c.args)
            .current_dir(data.path())
            .output()
            .unwrap();
        // Absolute paths in the goldens name the data copy as {DATA}.
        let here = data.path().canonicalize().unwrap().display().to_string();
        let unrooted = |b: Vec<u8>| String::from_utf8_lossy(&b).replace(&here, "{DATA}").into_bytes();
        let out = std::process::Output { stdout: unrooted(out.stdout), stderr: unrooted(out.stderr), ..out };
        let want_out = fs::read(&c.stdout).unwrap();
        let want_err = fs::read(c.stdout.with_extension("stderr")).unwrap();
        let known = KNOWN_4_1.iter().find(|(f, m, _)| *f == c.file && *m == c.mode);
        let same = out.stdout == want_out && out.stderr == want_err;
        match (same, known) {
            (true, Some(k)) => known_agree.push(format!("{} {}: {}", k.0, k.1, k.2)),
            (false, None) => {
                let (got, want) =
                    if out.stdout != want_out { (&out.stdout, &want_out) } else { (&out.stderr, &want_err) };
                let (got, want) = (String::from_utf8_lossy(got), String::from_utf8_lossy(want));
                let line = got.lines().zip(want.lines()).position(|(a, b)| a != b).unwrap_or(0);
                differ.push(format!(
                    "{} {} ({}): line {}\n  kafka: {}\n  kseg:  {}",
                    c.file,
                    c.mode,
                    if out.stdout != want_out { "stdout" } else { "stderr" },
                    line + 1,
                    want.lines().nth(line).unwrap_or("<end>"),
                    got.lines().nth(line).unwrap_or("<end>")
                ));
            }
            _ => {}
        }
    }
    assert!(differ.is_empty(), "{} of {} outputs differ:\n{}", differ.len(), cases.len(), differ.join("\n"));
    assert!(known_agree.is_empty(), "now agree, remove from KNOWN_4_1:\n{}", known_agree.join("\n"));
}
