//! `kseg groups` against testdata/groups (written byte by byte by
//! testdata/gen/make_groups_fixture.py, which also wrote the expected groups
//! from its own model of the coordinator's replay), its filters, and the
//! real `__consumer_offsets` partitions of the corpus.

use std::collections::BTreeMap;
use std::path::Path;

use assert_cmd::Command;
use serde_json::{Value, json};

mod common;
use common::{corpus, root};

fn groups(path: &Path, extra: &[&str]) -> (i32, Value) {
    let out = Command::cargo_bin("kseg")
        .unwrap()
        .arg("groups")
        .arg(path)
        .args(["--format", "json"])
        .args(extra)
        .output()
        .unwrap();
    (out.status.code().unwrap(), serde_json::from_slice(&out.stdout).unwrap_or(Value::Null))
}

/// The output in the shape of expected.json.
fn as_expected(v: &Value) -> Value {
    let mut out = BTreeMap::new();
    for g in v["groups"].as_array().unwrap() {
        let mut offsets = BTreeMap::new();
        for o in g["offsets"].as_array().unwrap() {
            offsets.insert(
                format!("{}-{}", o["topic"].as_str().unwrap(), o["partition"]),
                json!({"offset": o["offset"], "commit_timestamp": o["commit_timestamp"],
                       "log_end_offset": o["log_end_offset"], "lag": o["lag"]}),
            );
        }
        let members: Vec<&Value> = g["members"].as_array().unwrap().iter().map(|m| &m["member_id"]).collect();
        out.insert(
            g["group"].as_str().unwrap().to_string(),
            json!({"state": g["state"], "protocol": g["protocol"], "generation": g["generation"],
                   "members": members, "offsets": offsets}),
        );
    }
    json!({"groups": out, "pending_transactions": v["pending_transactions"]})
}

#[test]
fn the_coordinators_replay() {
    let want: Value =
        serde_json::from_slice(&std::fs::read(root().join("testdata/groups/expected.json")).unwrap()).unwrap();
    let (code, v) = groups(&root().join("testdata/groups/logs"), &[]);
    assert_eq!(code, 0);
    assert_eq!(as_expected(&v), want);
    // One `offsets` key per group (a duplicate key would hide one of them).
    let out = Command::cargo_bin("kseg")
        .unwrap()
        .arg("groups")
        .arg(root().join("testdata/groups/logs"))
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap().matches("\"offsets\"").count(), 4);
    // Named by its partition directory, the other log is not beside it: no lag.
    let (code, v) = groups(&root().join("testdata/groups/logs/__consumer_offsets-0"), &[]);
    assert_eq!(code, 0);
    let g1 = v["groups"].as_array().unwrap().iter().find(|g| g["group"] == "g1").unwrap();
    assert_eq!(g1["offsets"][0]["offset"], 9);
}

#[test]
fn filters() {
    let dir = root().join("testdata/groups/logs");
    let (_, v) = groups(&dir, &["--group", "g3"]);
    let names: Vec<&str> = v["groups"].as_array().unwrap().iter().map(|g| g["group"].as_str().unwrap()).collect();
    assert_eq!(names, ["g3"]);
    let (_, v) = groups(&dir, &["--topic", "payments"]);
    let names: Vec<&str> = v["groups"].as_array().unwrap().iter().map(|g| g["group"].as_str().unwrap()).collect();
    assert_eq!(names, ["g2"]);
    assert_eq!(v["groups"][0]["offsets"].as_array().unwrap().len(), 1);
}

#[test]
fn the_real_consumer_offsets_partitions() {
    let Some(corpus) = corpus() else { return };
    // corpus MANIFEST: __consumer_offsets-48 holds 10 offset-commit records.
    let dir = corpus.join("ichwansh03-kafka-migration-log4j2/data");
    let (code, v) = groups(&dir, &[]);
    assert_eq!(code, 0);
    assert_eq!(v["records"], 10);
    for d in ["renoagilsaputra-kafka/data", "ldi-poc-kafka370/data", "rjmfernandes-flink-on-prem-cp760/data"] {
        let (code, v) = groups(&corpus.join(d), &[]);
        assert_eq!(code, 0, "{d}");
        assert!(!v["groups"].as_array().unwrap().is_empty(), "{d}");
    }
}
