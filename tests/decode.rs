//! Internal-topic decoders: the generated fixtures of `testdata/decode/` (made by
//! `testdata/gen/make_decode_fixtures.py`, an independent stdlib-only encoder with the
//! expected JSON beside the bytes), Kafka's own decoder test cases adapted to the
//! command line (DumpLogSegmentsTest: testDumpMetadataRecords, testDumpControlRecord,
//! testDumpMetadataSnapshot, testOffsetsMessageParser, testTransactionLogMessageParser,
//! testShareGroupStateMessageParser, testDumpRemoteLogMetadataWithCorruption), and
//! the real `__consumer_offsets-*`, `__cluster_metadata-0` partitions and KRaft snapshots
//! of the shared corpus (skipped cleanly when `../shared/corpus` is absent).

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use kseg::topics::{TopicKind, decode_record};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn cases() -> Vec<Value> {
    let text = fs::read_to_string(repo().join("testdata/decode/cases.json")).unwrap();
    serde_json::from_str::<Value>(&text).unwrap().as_array().unwrap().clone()
}

fn unhex(v: &Value) -> Option<Vec<u8>> {
    let s = v.as_str()?;
    Some((0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect())
}

fn kind(topic: &str) -> TopicKind {
    topic.parse().unwrap()
}

/// Compare one decoded record (as the JSON members kseg writes) with a case's expectation.
fn check(
    case: &Value,
    record_type: &Value,
    key: &Value,
    value: &Value,
    tombstone: bool,
    notes: &[String],
) -> Result<(), String> {
    let name = case["name"].as_str().unwrap();
    let exp = &case["expected"];
    let mut errs = Vec::new();
    if record_type != &exp["record_type"] {
        errs.push(format!("record_type {record_type} != {}", exp["record_type"]));
    }
    if key != &exp["key"] {
        errs.push(format!("key\n  got  {key}\n  want {}", exp["key"]));
    }
    if value != &exp["value"] {
        errs.push(format!("value\n  got  {value}\n  want {}", exp["value"]));
    }
    if Some(tombstone) != exp["tombstone"].as_bool() {
        errs.push(format!("tombstone {tombstone}"));
    }
    let want: Vec<&str> = exp["notes"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
    if want.is_empty() && !notes.is_empty() {
        errs.push(format!("unexpected notes {notes:?}"));
    }
    for w in want {
        if !notes.iter().any(|n| n.contains(w)) {
            errs.push(format!("no note contains {w:?}: {notes:?}"));
        }
    }
    if errs.is_empty() { Ok(()) } else { Err(format!("{name}: {}", errs.join("; "))) }
}

#[test]
fn every_generated_case_decodes_as_the_independent_encoder_expects() {
    let cases = cases();
    assert!(cases.len() > 200);
    let mut failures = Vec::new();
    for c in &cases {
        let d = decode_record(
            kind(c["topic"].as_str().unwrap()),
            unhex(&c["key"]).as_deref(),
            unhex(&c["value"]).as_deref(),
        );
        let rt = d.record_type.map_or(Value::Null, |s| Value::String(s.into()));
        if let Err(e) = check(c, &rt, &d.key, &d.value, d.tombstone, &d.notes) {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

#[test]
fn generated_cases_cover_every_record_type_and_version() {
    let cases = cases();
    for k in TopicKind::ALL {
        for (_, name) in k.record_types() {
            let n = cases
                .iter()
                .filter(|c| {
                    c["topic"] == k.name() && c["expected"]["record_type"] == name && !c["expected"]["value"].is_null()
                })
                .count();
            assert!(n >= 2, "{} {name}: only {n} cases", k.name());
        }
    }
}

/// `kseg dump --format jsonl ARGS…` → its record objects, exit code and stderr.
fn dump(args: &[&str]) -> (Vec<Value>, Option<i32>, String) {
    let out = Command::cargo_bin("kseg").unwrap().arg("dump").arg("--format").arg("jsonl").args(args).output().unwrap();
    let objs = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|o| o["type"] == "record")
        .collect();
    (objs, out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn notes_of(r: &Value) -> Vec<String> {
    r["decode_notes"].as_array().unwrap().iter().map(|n| n.as_str().unwrap().to_string()).collect()
}

#[test]
fn fixture_partitions_decode_through_the_cli_by_directory_name() {
    let cases = cases();
    for k in TopicKind::ALL {
        let dir = repo().join(format!("testdata/decode/{}-0", k.topic()));
        let want: Vec<&Value> = cases.iter().filter(|c| c["topic"] == k.name()).collect();
        let (records, code, stderr) = dump(&["--records", dir.join("00000000000000000000.log").to_str().unwrap()]);
        assert_eq!(code, Some(0), "{stderr}");
        assert_eq!(records.len(), want.len(), "{}", k.name());
        let mut failures = Vec::new();
        for (r, c) in records.iter().zip(want) {
            if let Err(e) = check(
                c,
                &r["record_type"],
                &r["key_decoded"],
                &r["value_decoded"],
                r["tombstone"] == true,
                &notes_of(r),
            ) {
                failures.push(e);
            }
            // The raw bytes stay beside the decoded form.
            assert!(r.get("key").is_some() && r.get("value").is_some());
        }
        assert!(failures.is_empty(), "{}:\n{}", k.name(), failures.join("\n"));
    }
}

#[test]
fn explicit_decode_and_none() {
    let log = repo().join("testdata/decode/__consumer_offsets-0/00000000000000000000.log");
    let copy = tempfile::tempdir().unwrap();
    let plain = copy.path().join("00000000000000000000.log");
    fs::copy(&log, &plain).unwrap();
    // Outside a named directory nothing is decoded unless asked.
    let (records, _, _) = dump(&["--records", plain.to_str().unwrap()]);
    assert!(!records.is_empty() && records.iter().all(|r| r.get("key_decoded").is_none()));
    let (records, _, _) = dump(&["--decode", "offsets", plain.to_str().unwrap()]);
    assert!(!records.is_empty() && records.iter().all(|r| r.get("key_decoded").is_some()));
    let (records, _, _) = dump(&["--records", "--decode", "none", log.to_str().unwrap()]);
    assert!(!records.is_empty() && records.iter().all(|r| r.get("key_decoded").is_none()));
}

#[test]
fn filters_by_group_transactional_id_and_record_type() {
    let dir = repo().join("testdata/decode/__consumer_offsets-0");
    let (records, code, _) = dump(&["--group", "group", dir.to_str().unwrap()]);
    assert_eq!(code, Some(0));
    assert!(records.len() >= 5, "{}", records.len());
    assert!(
        records
            .iter()
            .all(|r| r["key_decoded"]["data"]["group"] == "group" || r["key_decoded"]["data"]["groupId"] == "group")
    );
    let (records, _, _) = dump(&["--record-type", "GroupMetadata", dir.to_str().unwrap()]);
    assert!(!records.is_empty() && records.iter().all(|r| r["record_type"] == "GROUP_METADATA"));
    let (records, _, _) = dump(&["--record-type", "2", "--group", "group", dir.to_str().unwrap()]);
    assert_eq!(records.len(), 2);
    let dir = repo().join("testdata/decode/__transaction_state-0");
    let (records, _, _) = dump(&["--transactional-id", "txnId", dir.to_str().unwrap()]);
    assert_eq!(records.len(), 3);
    assert_eq!(records[0]["value_decoded"]["data"]["transactionStatus"], "Empty");
    let dir = repo().join("testdata/decode/__cluster_metadata-0/00000000000000000000.log");
    let (records, _, _) = dump(&["--record-type", "partition_change", dir.to_str().unwrap()]);
    assert!(records.len() >= 3 && records.iter().all(|r| r["record_type"] == "PARTITION_CHANGE_RECORD"));
}

#[test]
fn kafka_dump_metadata_records_and_control_records() {
    // testDumpMetadataRecords / testDumpRemoteLogMetadataWithCorruption: a bogus record is a
    // note on that record; the rest still decodes and the run succeeds.
    let dir = repo().join("testdata/decode/__cluster_metadata-0/00000000000000000000.log");
    let (records, code, _) = dump(&[dir.to_str().unwrap(), "--records"]);
    assert_eq!(code, Some(0));
    let types: Vec<&str> = records.iter().filter_map(|r| r["record_type"].as_str()).collect();
    assert!(types.contains(&"TOPIC_RECORD") && types.contains(&"REGISTER_BROKER_RECORD"));
    assert!(records.iter().any(|r| notes_of(r).iter().any(|n| n.contains("unknown record type 10000"))));
    // testDumpMetadataSnapshot / testDumpControlRecord: the snapshot's control records and data.
    let snap = repo().join("testdata/decode/__cluster_metadata-0/00000000000000000100-0000000001.checkpoint");
    let (records, code, _) = dump(&["--records", snap.to_str().unwrap()]);
    assert_eq!(code, Some(0));
    let control: Vec<&str> = records.iter().filter_map(|r| r["control"]["type"].as_str()).collect();
    assert_eq!(control, ["SNAPSHOT_HEADER", "KRAFT_VERSION", "KRAFT_VOTERS", "SNAPSHOT_FOOTER"]);
    assert_eq!(records[0]["control"]["last_contained_log_timestamp"], 10000);
    assert_eq!(records[2]["control"]["voters"].as_array().unwrap().len(), 3);
    let data: Vec<&str> = records.iter().filter_map(|r| r["record_type"].as_str()).collect();
    assert_eq!(data, ["TOPIC_RECORD", "REGISTER_BROKER_RECORD"]);
    assert_eq!(records[3]["value_decoded"]["data"]["name"], "test-topic");
    // With a record-type filter the control records are left out.
    let (records, _, _) = dump(&["--record-type", "topic", snap.to_str().unwrap()]);
    assert_eq!(records.len(), 1);
}

#[test]
fn table_form_shows_readable_text() {
    let dir = repo().join("testdata/decode/__transaction_state-0");
    let out = Command::cargo_bin("kseg")
        .unwrap()
        .args(["dump", "--full", "--transactional-id", "txnId"])
        .arg(&dir)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains(r#"TRANSACTION_LOG {transactionalId: "txnId"}"#), "{text}");
    assert!(text.contains(r#"v1 {producerId: 12, previousProducerId: 10, nextProducerId: 11"#), "{text}");
    assert!(text.contains(r#"transactionStatus: "Ongoing""#) && text.contains("<DELETE>"), "{text}");
}

// ---------------------------------------------------------------------------------------------
// The shared corpus: every record of the real internal-topic partitions and KRaft snapshots
// decodes, with no unknown type and no note; counts and a digest of the decoded JSON are golden
// (`testdata/decode/corpus-golden.json`; rewrite with KSEG_BLESS=1).
// ---------------------------------------------------------------------------------------------

fn corpus() -> Option<PathBuf> {
    common::corpus()
}

/// Partition directories of `__consumer_offsets` and `__cluster_metadata`, and KRaft
/// snapshots (`<offset>-<epoch>.checkpoint`, `bootstrap.checkpoint`), in path order.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("").to_string();
        if p.is_dir() {
            if name.starts_with("__consumer_offsets-") || name.starts_with("__cluster_metadata-") {
                out.push(p.clone());
            }
            walk(&p, out);
        } else if name == "bootstrap.checkpoint" || (name.ends_with(".checkpoint") && name.len() == 20 + 1 + 10 + 11) {
            out.push(p);
        }
    }
}

#[test]
fn corpus_internal_topics_decode_without_unknown_or_failed_records() {
    let Some(corpus) = corpus() else { return };
    let mut paths = Vec::new();
    walk(&corpus, &mut paths);
    let mut golden = BTreeMap::new();
    let mut total = 0usize;
    for p in &paths {
        let (records, _, stderr) = dump(&["--records", p.to_str().unwrap()]);
        if stderr.contains("no .log segments") {
            continue;
        }
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        let mut digest = Sha256::new();
        for r in &records {
            if r.get("control").is_some() {
                continue;
            }
            let rel = p.strip_prefix(&corpus).unwrap().display().to_string();
            assert!(r.get("key_decoded").is_some(), "{rel}: offset {} not decoded", r["offset"]);
            let rt =
                r["record_type"].as_str().unwrap_or_else(|| panic!("{rel}: offset {}: unknown type: {r}", r["offset"]));
            assert!(notes_of(r).is_empty(), "{rel}: offset {}: {:?}", r["offset"], notes_of(r));
            *counts.entry(rt.to_string()).or_default() += 1;
            digest.update(json!([r["offset"], rt, r["key_decoded"], r["value_decoded"], r["tombstone"]]).to_string());
            digest.update(b"\n");
            total += 1;
        }
        let hex: String = digest.finalize().iter().map(|b| format!("{b:02x}")).collect();
        golden
            .insert(p.strip_prefix(&corpus).unwrap().display().to_string(), json!({"records": counts, "sha256": hex}));
    }
    assert!(total > 40_000, "only {total} records decoded");
    let file = repo().join("testdata/decode/corpus-golden.json");
    let got = serde_json::to_string_pretty(&golden).unwrap() + "\n";
    if std::env::var("KSEG_BLESS").as_deref() == Ok("1") {
        fs::write(&file, &got).unwrap();
        return;
    }
    let want = fs::read_to_string(&file).unwrap();
    assert!(
        got == want,
        "decoded corpus differs from {}; rerun with KSEG_BLESS=1 after checking:\n{got}",
        file.display()
    );
}

mod arbitrary_bytes {
    use kseg::topics::{TopicKind, decode_record};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// Any key and value bytes give a result (never a panic), and a record that has
        /// no decoded value for a non-null value always says why.
        #[test]
        fn decoding_never_panics(kind in 0usize..5, key in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..64)),
                                 value in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..256))) {
            let k = TopicKind::ALL[kind];
            let d = decode_record(k, key.as_deref(), value.as_deref());
            if value.is_some() && d.value.get("data").is_none() {
                prop_assert!(!d.notes.is_empty());
            }
        }

        /// Valid framing with random bodies reaches the generic reader for every record type.
        #[test]
        fn random_bodies_of_known_types(kind in 0usize..5, pick in any::<prop::sample::Index>(), version in 0u8..6,
                                        body in proptest::collection::vec(any::<u8>(), 0..200)) {
            let k = TopicKind::ALL[kind];
            let types = k.record_types();
            let (id, _) = types[pick.index(types.len())];
            let (key, value) = match k {
                TopicKind::Metadata | TopicKind::RemoteLogMetadata => {
                    let mut v = vec![1, id as u8, version];
                    v.extend(&body);
                    (None, v)
                }
                _ => {
                    let mut key = (id as i16).to_be_bytes().to_vec();
                    key.extend(&body[..body.len().min(20)]);
                    let mut v = i16::from(version).to_be_bytes().to_vec();
                    v.extend(&body);
                    (Some(key), v)
                }
            };
            let d = decode_record(k, key.as_deref(), Some(&value));
            prop_assert!(d.record_type.is_some());
        }
    }
}
