//! `kseg producers` against the partitions of testdata/producers (made by
//! testdata/gen/make_producer_fixtures.py with kafka-python's builders; the
//! expected findings are written from the construction), and against the
//! real partitions of ../shared/corpus, where it must find no anomaly.

use std::collections::BTreeSet;
use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

mod common;
use common::{corpus, root};

fn producers(args: &[&str]) -> (i32, Value, String) {
    let out = Command::cargo_bin("kseg")
        .unwrap()
        .current_dir(root())
        .arg("producers")
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap(), v, stderr)
}

fn cases() -> Vec<Value> {
    let v: Value =
        serde_json::from_slice(&std::fs::read(root().join("testdata/producers/expected.json")).unwrap()).unwrap();
    v["cases"].as_array().unwrap().clone()
}

/// (kind, producer, epoch, first offset, last offset) of each finding.
fn keyed(list: &Value) -> BTreeSet<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} pid={} epoch={} offsets={}..{}",
                f["kind"].as_str().unwrap(),
                f["producer_id"],
                f["epoch"],
                f["first_offset"],
                f["last_offset"]
            )
        })
        .collect()
}

fn case(name: &str) -> Value {
    cases().into_iter().find(|c| c["case"] == name).unwrap_or_else(|| panic!("no case {name}"))
}

/// Run one case and check exit code, findings, offsets and the cross-checked files.
fn check_case(name: &str) {
    let c = case(name);
    let path = c["path"].as_str().unwrap();
    for jobs in [&[][..], &["-j1"][..], &["-j1", "--no-mmap"][..]] {
        let mut args = vec![path];
        args.extend(jobs);
        let (code, got, stderr) = producers(&args);
        let p = &got["partitions"][0];
        let ctx = format!("{name} {jobs:?}: {stderr}\n{}", serde_json::to_string_pretty(p).unwrap());
        assert_eq!(code, c["exit_code"].as_i64().unwrap() as i32, "{ctx}");
        assert_eq!(got["ok"], Value::Bool(code == 0), "{ctx}");
        assert_eq!(keyed(&p["anomalies"]), keyed(&c["anomalies"]), "{ctx}");
        assert_eq!(keyed(&p["notes"]), keyed(&c["notes"]), "{ctx}");
        assert_eq!(p["log_end_offset"], c["log_end_offset"], "{ctx}");
        assert_eq!(p["last_stable_offset"], c["last_stable_offset"], "{ctx}");
        let missing = c["missing_between"].as_u64().unwrap() + c["missing_within"].as_u64().unwrap();
        assert_eq!(p["missing_offsets"].as_u64(), Some(missing), "{ctx}");
        assert_eq!(p["compacted"], Value::Bool(missing > 0), "{ctx}");
        let entries: usize =
            c["txnindex"].as_array().unwrap().iter().map(|t| t["entries"].as_array().unwrap().len()).sum();
        assert_eq!(p["txnindex_entries"].as_u64(), Some(entries as u64), "{ctx}");
        match &c["snapshot"] {
            Value::Null => assert_eq!(p["snapshot"], Value::Null, "{ctx}"),
            s => {
                let snap = &p["snapshot"];
                assert_eq!(snap["offset"], s["offset"], "{ctx}");
                assert_eq!(snap["entries"].as_u64(), Some(s["entries"].as_array().unwrap().len() as u64), "{ctx}");
                // Every producer is compared; all agree unless the case is about a disagreement.
                assert_eq!(snap["compared"], snap["entries"], "{ctx}");
                let mismatches = c["anomalies"].as_array().unwrap().iter().filter(|a| a["kind"] == "snapshot_mismatch");
                let expected_matching = snap["compared"].as_u64().unwrap() - mismatches.count() as u64;
                assert_eq!(snap["matching"].as_u64(), Some(expected_matching), "{ctx}");
            }
        }
        // Findings carry the offsets they are about, and anomalies count per producer.
        for f in p["anomalies"].as_array().unwrap() {
            assert!(f["first_offset"].is_i64() && f["last_offset"].is_i64(), "{ctx}");
        }
        if let Some(expect) = c["producers"].as_object() {
            for (pid, want) in expect {
                let prod = p["producers"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|x| x["producer_id"].as_i64() == pid.parse().ok())
                    .unwrap_or_else(|| panic!("{ctx}\nno producer {pid}"));
                if let Some(epochs) = want.get("epochs") {
                    let got: Vec<Value> =
                        prod["epochs"].as_array().unwrap().iter().map(|e| e["epoch"].clone()).collect();
                    assert_eq!(&Value::Array(got), epochs, "{ctx}");
                }
                if let Some(seqs) = want.get("sequences").and_then(Value::as_object) {
                    for (epoch, ranges) in seqs {
                        let e = prod["epochs"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .find(|e| e["epoch"].as_i64() == epoch.parse().ok())
                            .unwrap();
                        let got: Vec<Value> = e["sequences"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|s| serde_json::json!([s["first"], s["last"]]))
                            .collect();
                        assert_eq!(&Value::Array(got), ranges, "{ctx}\nproducer {pid} epoch {epoch}");
                    }
                }
                for (field, key) in [("committed", "committed"), ("aborted", "aborted")] {
                    if let Some(n) = want.get(key) {
                        assert_eq!(&prod[field]["count"], n, "{ctx}\nproducer {pid} {field}");
                    }
                }
                if let Some(open) = want.get("open_first_offset") {
                    assert_eq!(&prod["open"]["first_offset"], open, "{ctx}\nproducer {pid} open");
                }
            }
        }
    }
}

#[test]
fn clean_idempotent_producers_epoch_bump_and_wrap() {
    check_case("clean_idempotent");
}

#[test]
fn clean_transactions_and_txnindex() {
    check_case("clean_transactions");
}

#[test]
fn compaction_explains_a_sequence_gap() {
    check_case("clean_compacted");
}

#[test]
fn sequence_gap() {
    check_case("sequence_gap");
}

#[test]
fn duplicated_batch() {
    check_case("duplicate_batch");
}

#[test]
fn epoch_bump_and_fenced_writer() {
    check_case("epoch_fenced");
}

#[test]
fn hanging_transaction() {
    check_case("hanging_transaction");
}

#[test]
fn abort_missing_from_txnindex() {
    check_case("abort_missing_from_txnindex");
}

#[test]
fn txnindex_lists_a_committed_transaction() {
    check_case("txnindex_extra");
}

#[test]
fn snapshot_disagrees_with_the_log() {
    check_case("snapshot_mismatch");
}

#[test]
fn every_case_has_a_test_and_every_kind_is_documented() {
    let src = std::fs::read_to_string(root().join("tests/producers.rs")).unwrap();
    let doc = std::fs::read_to_string(root().join("docs/stats.md")).unwrap();
    for c in cases() {
        let name = c["case"].as_str().unwrap();
        assert!(src.contains(&format!("check_case(\"{name}\")")), "no test for case {name}");
        for f in c["anomalies"].as_array().unwrap().iter().chain(c["notes"].as_array().unwrap()) {
            let kind = f["kind"].as_str().unwrap();
            assert!(doc.contains(&format!("`{kind}`")), "docs/stats.md does not describe `{kind}`");
        }
    }
}

#[test]
fn a_zero_timeout_makes_every_open_transaction_an_anomaly() {
    let (code, got, _) = producers(&["testdata/producers/clean_transactions-0", "--txn-timeout-ms", "0"]);
    assert_eq!(code, 1);
    let kinds: Vec<&str> =
        got["partitions"][0]["anomalies"].as_array().unwrap().iter().map(|f| f["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["hanging_transaction"]);
}

#[test]
fn a_single_segment_file_is_read_without_the_snapshot() {
    let (code, got, _) = producers(&["testdata/producers/snapshot_mismatch-0/00000000000000000000.log"]);
    assert_eq!(code, 0, "{got}");
    assert_eq!(got["partitions"][0]["snapshot"], Value::Null);
    let (code, _, _) = producers(&["--no-snapshot", "testdata/producers/snapshot_mismatch-0"]);
    assert_eq!(code, 0);
}

#[test]
fn table_output_quiet_and_errors() {
    let out = Command::cargo_bin("kseg")
        .unwrap()
        .current_dir(root())
        .args(["producers", "testdata/producers/sequence_gap-0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("anomaly: producer 800 epoch 0 offsets 4..7"), "{text}");
    assert!(text.contains("1 anomaly,"), "{text}");
    let out = Command::cargo_bin("kseg")
        .unwrap()
        .current_dir(root())
        .args(["producers", "-q", "testdata/producers/clean_idempotent-0"])
        .output()
        .unwrap();
    assert_eq!((out.status.code(), out.stdout.len()), (Some(0), 0));
    let (code, _, stderr) = producers(&["testdata/producers/does-not-exist"]);
    assert_eq!(code, 2, "{stderr}");
    // A directory holding no segment (a file under any name is now read as one).
    let (code, _, stderr) = producers(&["docs"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no segments found"), "{stderr}");
}

#[test]
fn nothing_is_written() {
    let dir = root().join("testdata/producers/clean_transactions-0");
    let before = listing(&dir);
    let (code, _, _) = producers(&[dir.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!(listing(&dir), before);
}

fn listing(dir: &Path) -> Vec<(String, u64, std::time::SystemTime)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            (e.file_name().to_string_lossy().into_owned(), m.len(), m.modified().unwrap())
        })
        .collect();
    v.sort();
    v
}

/// The real broker directories of the shared corpus (section A of its README).
const REAL: &[&str] = &[
    "1stapossum-otus-kafka",
    "arthurarutunyan04-backend-labs-kafka400",
    "danielowo2000-bigdata-kafka350-ksql",
    "devandref-apache-kafka-eda-study",
    "ichwansh03-kafka-migration-log4j2",
    "jeong-rae-kafkademo",
    "ldi-poc-kafka370",
    "panic08-kafka-starter-windows",
    "qkrckstjq-spring-kafka",
    "renoagilsaputra-kafka",
    "rjmfernandes-flink-on-prem-cp760",
];

#[test]
fn real_partitions_have_no_anomaly_and_agree_with_their_snapshots() {
    let Some(corpus) = corpus() else { return };
    let mut compared = 0;
    for name in REAL {
        let dir = corpus.join(name);
        let (code, got, stderr) = producers(&[dir.to_str().unwrap()]);
        assert_eq!(code, 0, "{name}: {stderr}\n{}", serde_json::to_string_pretty(&got["partitions"]).unwrap());
        for p in got["partitions"].as_array().unwrap() {
            if let Some(s) = p["snapshot"].as_object() {
                assert_eq!(s["compared"], s["matching"], "{name}: {p}");
                compared += s["compared"].as_u64().unwrap();
            }
            for n in p["notes"].as_array().unwrap() {
                // The only note in the corpus: a snapshot taken after the last segment it kept.
                assert_eq!(n["kind"], "snapshot_ahead", "{name}: {n}");
            }
        }
    }
    assert!(compared >= 20, "only {compared} producers compared with snapshots");
}

#[test]
fn ksqldb_command_topic_commits_four_transactions_across_epoch_bumps() {
    let Some(corpus) = corpus() else { return };
    let dir = corpus.join("danielowo2000-bigdata-kafka350-ksql/kafka_data/_confluent-ksql-default__command_topic-0");
    let (code, got, _) = producers(&[dir.to_str().unwrap()]);
    assert_eq!(code, 0);
    let p = &got["partitions"][0]["producers"][0];
    assert_eq!(p["producer_id"], 0);
    let epochs: Vec<i64> = p["epochs"].as_array().unwrap().iter().map(|e| e["epoch"].as_i64().unwrap()).collect();
    assert_eq!(epochs, [0, 1, 2, 3]);
    assert_eq!((p["committed"]["count"].as_u64(), p["aborted"]["count"].as_u64()), (Some(4), Some(0)));
    assert_eq!(p["open"], Value::Null);
    assert_eq!(got["partitions"][0]["last_stable_offset"], got["partitions"][0]["log_end_offset"]);
}

#[test]
fn a_later_segment_alone_checks_what_it_can() {
    // Segment 10 alone: 501's first aborted transaction began at 3, in segment 0, which is
    // not read; its .txnindex entry cannot be checked before offset 10, and is not flagged.
    let (code, got, stderr) = producers(&["testdata/producers/clean_transactions-0/00000000000000000010.log"]);
    let p = &got["partitions"][0];
    assert_eq!(code, 0, "{stderr}\n{p}");
    assert_eq!(p["txnindex_entries"], 3);
    assert_eq!(keyed(&p["notes"]), keyed(&case("clean_transactions")["notes"]));
}

/// The broker's producer state as the real DumpLogSegments 4.4.0 printed it from a producer
/// snapshot the broker wrote (testdata/broker): per producer id, (epoch, last sequence, last
/// timestamp, coordinator epoch or none, current transaction first offset or none).
fn broker_snapshot(expected: &str) -> Vec<(i64, Value)> {
    let text = std::fs::read_to_string(root().join("testdata/broker/expected").join(expected)).unwrap();
    let mut out = Vec::new();
    for line in text.lines().filter(|l| l.starts_with("producerId: ")) {
        let words: Vec<&str> = line.split(' ').collect();
        let field = |name: &str| words.iter().position(|w| *w == name).map(|i| words[i + 1]);
        let num = |name: &str| field(name).map(|v| v.parse::<i64>().unwrap());
        // A snapshot entry without batch metadata (lastOffset -1) prints no sequences: the
        // broker's lastSeq is then -1 (ProducerStateEntry.lastSeq on an empty entry).
        let txn = field("currentTxnFirstOffset:").unwrap();
        let txn = txn.strip_prefix("OptionalLong[").map(|v| v.trim_end_matches(']').parse::<i64>().unwrap());
        let coordinator = num("coordinatorEpoch:").unwrap();
        out.push((
            num("producerId:").unwrap(),
            serde_json::json!({
                "epoch": num("producerEpoch:").unwrap(),
                "last_sequence": num("lastSequence:").unwrap_or(-1),
                "last_timestamp": num("lastTimestamp:").unwrap(),
                "coordinator_epoch": if coordinator < 0 { Value::Null } else { coordinator.into() },
                "current_txn_start_offset": txn,
            }),
        ));
    }
    out
}

fn broker_view(partition: &Value) -> Vec<(i64, Value)> {
    partition["producers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let fields = ["epoch", "last_sequence", "last_timestamp", "coordinator_epoch", "current_txn_start_offset"];
            let v: serde_json::Map<String, Value> = fields.iter().map(|f| (f.to_string(), p[*f].clone())).collect();
            (p["producer_id"].as_i64().unwrap(), Value::Object(v))
        })
        .collect()
}

#[test]
fn transaction_v2_producers_as_the_broker_describes_them() {
    // g-txn-0 was written by a Kafka 4.4.0 broker (transaction.version 2): producers 2 and 3
    // ran four transactions each, and the coordinator bumped the epoch at every commit or
    // abort, writing each marker with the new epoch. The broker's state after the last
    // marker: epoch 4 (the marker's), last sequence -1 (no data yet at epoch 4), the
    // marker's coordinator epoch and timestamp, no transaction in progress. Producer 4 is
    // idempotent (one record, sequence 0). The expected values are the broker's own: the
    // snapshot it wrote when it stopped (00000000000000000033.snapshot, at the log end offset)
    // holds the producer map that describeProducers reports (ProducerStateManager.takeSnapshot
    // writes `producers`, UnifiedLog.activeProducers reads it), as DumpLogSegments printed it.
    let want = broker_snapshot("g-txn-0/00000000000000000033.snapshot.default.stdout");
    assert_eq!(want.len(), 3);
    assert_eq!(want[0].1["epoch"], 4);
    assert_eq!(want[0].1["last_sequence"], -1);
    let (code, got, stderr) = producers(&["testdata/broker/data/g-txn-0"]);
    assert_eq!(code, 0, "{stderr}");
    let p = &got["partitions"][0];
    assert_eq!(broker_view(p), want, "{p}");
    // Five epochs seen (0 to 4) for each transactional producer; the table shows the
    // current one and that count, not the list.
    let counts: Vec<usize> =
        p["producers"].as_array().unwrap().iter().map(|x| x["epochs"].as_array().unwrap().len()).collect();
    assert_eq!(counts, [5, 5, 1]);
    let table = Command::cargo_bin("kseg")
        .unwrap()
        .current_dir(root())
        .args(["producers", "testdata/broker/data/g-txn-0"])
        .output()
        .unwrap();
    let table = String::from_utf8(table.stdout).unwrap();
    let row = table.lines().find(|l| l.starts_with("│        2 ")).unwrap_or_else(|| panic!("{table}"));
    let cells: Vec<&str> = row.split(['│', '┆']).map(str::trim).collect();
    assert_eq!(&cells[1..8], ["2", "4", "5", "-1", "2026-12-07T03:56:06.646Z", "0", "-"], "{table}");

    // Segment 0 alone is the log up to offset 16: the broker's snapshot at 16 (taken when it
    // rolled that segment) holds the state there.
    let want = broker_snapshot("g-txn-0/00000000000000000016.snapshot.default.stdout");
    let (code, got, stderr) = producers(&["testdata/broker/data/g-txn-0/00000000000000000000.log"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(broker_view(&got["partitions"][0]), want);
}
