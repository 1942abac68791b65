//! `kseg stats` against the kafka-python sidecars of testdata/segments and
//! testdata/producers, the corpus's own summaries, and itself (parallel and
//! sequential reads must agree to the byte).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use assert_cmd::Command;
use serde_json::Value;

mod common;
use common::{corpus, root};

fn stats(args: &[&str]) -> (i32, Value, String) {
    let out = Command::cargo_bin("kseg")
        .unwrap()
        .current_dir(root())
        .arg("stats")
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code().unwrap(), serde_json::from_slice(&out.stdout).unwrap_or(Value::Null), stderr)
}

fn sidecars() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for d in std::fs::read_dir(root().join("testdata/segments")).unwrap() {
        for f in std::fs::read_dir(d.unwrap().path()).unwrap() {
            let p = f.unwrap().path();
            if p.to_string_lossy().ends_with(".expected.json") {
                out.push(p);
            }
        }
    }
    out.sort();
    assert!(out.len() >= 20);
    out
}

#[test]
fn segments_match_their_sidecars() {
    for sidecar in sidecars() {
        let want: Value = serde_json::from_slice(&std::fs::read(&sidecar).unwrap()).unwrap();
        let log = sidecar.with_file_name(want["file"].as_str().unwrap());
        let (code, got, stderr) = stats(&[log.to_str().unwrap()]);
        let ctx = format!("{}: {stderr}", sidecar.display());
        assert_eq!(code, 0, "{ctx}");
        let s = &got["segments"][0];
        let batches = want["batches"].as_array().unwrap();
        // A legacy uncompressed "batch" of the sidecar is a group of log entries.
        let entries: u64 = batches.iter().map(|b| b["log_entries"].as_u64().unwrap_or(1)).sum();
        assert_eq!(s["batches"].as_u64(), Some(entries), "{ctx}");
        assert_eq!(s["records"], want["record_count"], "{ctx}");
        assert_eq!(s["bytes"], want["size"], "{ctx}");
        assert_eq!(s["offsets"]["first"], batches[0]["base_offset"], "{ctx}");
        assert_eq!(s["offsets"]["last"], batches.last().unwrap()["last_offset"], "{ctx}");
        // Batches per codec.
        let mut per_codec: BTreeMap<String, u64> = BTreeMap::new();
        for b in batches {
            *per_codec.entry(b["compression"].as_str().unwrap().to_string()).or_default() +=
                b["log_entries"].as_u64().unwrap_or(1);
        }
        let got_codecs: BTreeMap<String, u64> = s["codecs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["codec"].as_str().unwrap().to_string(), c["batches"].as_u64().unwrap()))
            .collect();
        assert_eq!(got_codecs, per_codec, "{ctx}");
        // Missing offsets between and inside batches (v2 only: legacy records fill their range).
        let (mut between, mut within, mut prev) = (0u64, 0u64, None::<i64>);
        for b in batches {
            let (base, last) = (b["base_offset"].as_i64().unwrap(), b["last_offset"].as_i64().unwrap());
            if let Some(p) = prev
                && base > p + 1
            {
                between += (base - p - 1) as u64;
            }
            within += (last - base + 1) as u64 - b["record_count"].as_u64().unwrap();
            prev = Some(last);
        }
        assert_eq!(s["offsets"]["missing_between"].as_u64(), Some(between), "{ctx}");
        assert_eq!(s["offsets"]["missing_within"].as_u64(), Some(within), "{ctx}");
        // Timestamps as a reader reports them (v0: none).
        let records: Vec<&Value> = batches.iter().flat_map(|b| b["records"].as_array().unwrap()).collect();
        let ts: Vec<i64> = records.iter().map(|r| r["timestamp"].as_i64().unwrap()).filter(|&t| t >= 0).collect();
        if ts.is_empty() {
            assert_eq!(s["timestamps"], Value::Null, "{ctx}");
        } else {
            let t = &s["timestamps"];
            assert_eq!(t["first_ms"].as_i64(), ts.first().copied(), "{ctx}");
            assert_eq!(t["last_ms"].as_i64(), ts.last().copied(), "{ctx}");
            assert_eq!(t["max_ms"].as_i64(), ts.iter().max().copied(), "{ctx}");
            assert_eq!(t["min_ms"].as_i64(), ts.iter().min().copied(), "{ctx}");
            assert!(t["first"].as_str().unwrap().ends_with('Z'), "{ctx}");
        }
        // Keys of data records: distinct ones are few here, so the estimate is exact.
        let data: Vec<&Value> = records.iter().copied().filter(|r| r.get("control").is_none()).collect();
        let keys: BTreeSet<String> =
            data.iter().filter(|r| !r["key"].is_null()).map(|r| r["key"]["hex"].to_string()).collect();
        let nulls = data.iter().filter(|r| r["key"].is_null()).count() as u64;
        assert_eq!(s["keys"]["distinct_estimate"].as_u64(), Some(keys.len() as u64), "{ctx}");
        assert_eq!(s["keys"]["null_keys"].as_u64(), Some(nulls), "{ctx}");
        assert_eq!(s["keys"]["keyed_records"].as_u64(), Some(data.len() as u64 - nulls), "{ctx}");
        // Distributions: every value computed from the sidecar's records.
        let rs = &s["record_size"];
        assert_eq!(rs["count"], want["record_count"], "{ctx}");
        let record_sizes: Vec<u64> = batches
            .iter()
            .flat_map(|b| b["records"].as_array().unwrap().iter().map(move |r| record_size(b, r)))
            .collect();
        assert_distribution(rs, &record_sizes, &format!("{ctx} record_size"));
        let batch_sizes: Vec<u64> = batches
            .iter()
            .flat_map(|b| {
                if b["log_entries"].as_u64().unwrap_or(1) > 1 {
                    // A group of uncompressed legacy entries: each is a batch of one record.
                    b["records"].as_array().unwrap().iter().map(|r| record_size(b, r)).collect()
                } else {
                    vec![b["size"].as_u64().unwrap()]
                }
            })
            .collect();
        assert_eq!(s["batch_size"]["count"].as_u64(), Some(entries), "{ctx}");
        assert_distribution(&s["batch_size"], &batch_sizes, &format!("{ctx} batch_size"));
        // Uncompressed codecs store what they hold.
        for c in s["codecs"].as_array().unwrap() {
            if c["codec"] == "none" {
                assert_eq!(c["compression_ratio"].as_f64(), Some(1.0), "{ctx}");
            } else {
                assert!(c["compression_ratio"].as_f64().unwrap() > 1.0, "{ctx} {c}");
            }
        }
        assert_eq!(s["damaged_batches"], 0, "{ctx}");
    }
}

/// Bytes of a zigzag varint.
fn varint_len(v: i64) -> u64 {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    let mut n = 1;
    while z >= 0x80 {
        z >>= 7;
        n += 1;
    }
    n
}

/// A sidecar field's length: -1 for null.
fn field_len(v: &Value) -> i64 {
    if v.is_null() { -1 } else { v["len"].as_i64().unwrap() }
}

/// A record's size as docs/stats.md defines it, rebuilt from the sidecar's
/// fields and the format reference's layouts: a v2 record's bytes with its
/// length prefix; a legacy record's whole message with its 12 bytes of log
/// overhead (offset, size).
fn record_size(batch: &Value, r: &Value) -> u64 {
    let (k, v) = (field_len(&r["key"]), field_len(&r["value"]));
    let bytes = |len: i64| len.max(0) as u64;
    match batch["magic"].as_u64().unwrap() {
        2 => {
            // Under LogAppendTime a reader reports the batch's time; the record keeps its own.
            let stored = r.get("create_timestamp_as_encoded").unwrap_or(&r["timestamp"]);
            let ts_delta = stored.as_i64().unwrap() - batch["first_timestamp"].as_i64().unwrap();
            let offset_delta = r["offset"].as_i64().unwrap() - batch["base_offset"].as_i64().unwrap();
            let headers = r["headers"].as_array().unwrap();
            let mut body = 1 + varint_len(ts_delta) + varint_len(offset_delta);
            body += varint_len(k) + bytes(k) + varint_len(v) + bytes(v) + varint_len(headers.len() as i64);
            for h in headers {
                let hk = h["key"].as_str().unwrap().len() as i64;
                let hv = field_len(&h["value"]);
                body += varint_len(hk) + bytes(hk) + varint_len(hv) + bytes(hv);
            }
            varint_len(body as i64) + body
        }
        // offset 8, size 4, crc 4, magic 1, attributes 1, [timestamp 8], key 4+k, value 4+v
        magic => 12 + 14 + if magic == 1 { 8 } else { 0 } + bytes(k) + bytes(v),
    }
}

/// `dist` (count, min, median, p99, max, mean) must be what docs/stats.md
/// says for these values: exact count, min, max and mean; the median and p99
/// are the value at rank ceil(q * count), reported as the middle of its
/// histogram bucket (32 sub-buckets per power of two, exact below 64), kept
/// within min and max.
fn assert_distribution(dist: &Value, values: &[u64], ctx: &str) {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let (min, max) = (sorted[0], *sorted.last().unwrap());
    let bucket_middle = |x: u64| {
        if x < 64 {
            return x;
        }
        let width = 1u64 << (63 - x.leading_zeros() - 5);
        let lo = x / width * width;
        (lo + (width - 1) / 2).clamp(min, max)
    };
    let at = |q: f64| {
        let rank = ((q * sorted.len() as f64).ceil() as usize).max(1);
        bucket_middle(sorted[rank - 1])
    };
    assert_eq!(dist["count"].as_u64(), Some(sorted.len() as u64), "{ctx}: {dist}");
    assert_eq!(dist["min"].as_u64(), Some(min), "{ctx}: {dist}");
    assert_eq!(dist["max"].as_u64(), Some(max), "{ctx}: {dist}");
    assert_eq!(dist["median"].as_u64(), Some(at(0.5)), "{ctx}: {dist} from {sorted:?}");
    assert_eq!(dist["p99"].as_u64(), Some(at(0.99)), "{ctx}: {dist} from {sorted:?}");
    let mean = sorted.iter().sum::<u64>() as f64 / sorted.len() as f64;
    assert!((dist["mean"].as_f64().unwrap() - mean).abs() < 1e-9, "{ctx}: {dist}, mean {mean}");
}

#[test]
fn transactions_and_control_batches_by_kind() {
    let (code, got, _) = stats(&["testdata/segments/v2_transactions/00000000000000000000.log"]);
    assert_eq!(code, 0);
    let kinds: BTreeMap<String, u64> =
        got["total"]["groups"].as_array().unwrap().iter().fold(BTreeMap::new(), |mut m, g| {
            *m.entry(g["kind"].as_str().unwrap().to_string()).or_default() += g["batches"].as_u64().unwrap();
            m
        });
    let want: BTreeMap<String, u64> = [("data", 2), ("transactional", 3), ("control:COMMIT", 1), ("control:ABORT", 1)]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    assert_eq!(kinds, want);
}

#[test]
fn producer_fixture_gaps_match_the_generator() {
    let v: Value =
        serde_json::from_slice(&std::fs::read(root().join("testdata/producers/expected.json")).unwrap()).unwrap();
    for c in v["cases"].as_array().unwrap() {
        let (code, got, stderr) = stats(&[c["path"].as_str().unwrap(), "--totals"]);
        assert_eq!(code, 0, "{stderr}");
        assert!(got.get("segments").is_none());
        let o = &got["total"]["offsets"];
        assert_eq!(o["missing_between"], c["missing_between"], "{}", c["case"]);
        assert_eq!(o["missing_within"], c["missing_within"], "{}", c["case"]);
        assert_eq!(o["last"].as_i64().unwrap() + 1, c["log_end_offset"].as_i64().unwrap(), "{}", c["case"]);
    }
}

#[test]
fn parallel_and_sequential_reads_agree() {
    let mut paths = vec![root().join("testdata/partitions"), root().join("testdata/segments")];
    if let Some(corpus) = corpus() {
        paths.push(corpus.join("rjmfernandes-flink-on-prem-cp760"));
        paths.push(corpus.join("arthurarutunyan04-backend-labs-kafka400"));
    }
    for p in paths {
        let p = p.to_str().unwrap();
        let (c1, a, _) = stats(&[p]);
        let (c2, b, _) = stats(&[p, "--no-mmap", "-j1"]);
        let (c3, c, _) = stats(&[p, "-j2"]);
        assert_eq!((c1, c2, c3), (0, 0, 0), "{p}");
        assert_eq!(a, b, "{p}");
        assert_eq!(a, c, "{p}");
        assert!(a["total"]["partitions"].as_u64().unwrap() >= 1);
    }
}

#[test]
fn a_partition_adds_up_its_segments_and_counts_gaps_at_their_seams() {
    let (code, got, _) = stats(&["testdata/partitions/demo-0"]);
    assert_eq!(code, 0);
    let segs = got["segments"].as_array().unwrap();
    assert_eq!(segs.len(), 3);
    let part = &got["partitions"][0];
    for k in ["batches", "records", "bytes"] {
        let sum: u64 = segs.iter().map(|s| s[k].as_u64().unwrap()).sum();
        assert_eq!(part[k].as_u64(), Some(sum), "{k}");
    }
    // 40-41 fall between segment 0 (ends at 39) and segment 40 (first batch 42).
    let between: u64 = segs.iter().map(|s| s["offsets"]["missing_between"].as_u64().unwrap()).sum();
    assert_eq!(part["offsets"]["missing_between"].as_u64(), Some(between + 2));
    assert_eq!((part["offsets"]["first"].as_i64(), part["offsets"]["last"].as_i64()), (Some(0), Some(118)));
    // One partition: the total is the partition.
    let strip = |v: &Value, keys: &[&str]| {
        let mut v = v.clone();
        for k in keys {
            v.as_object_mut().unwrap().remove(*k);
        }
        v
    };
    assert_eq!(strip(&got["total"], &["partitions", "segments"]), strip(part, &["path", "segments"]));
}

#[test]
fn damage_is_counted_and_exits_1() {
    let (code, got, _) = stats(&["testdata/corrupt/v2_bitflip_gzip/00000000000000000000.log"]);
    assert_eq!(code, 1);
    assert_eq!(got["total"]["damaged_batches"], 1);
    let (code, got, _) = stats(&["testdata/corrupt/prealloc_active_log"]);
    assert_eq!(code, 0, "a zero-filled tail is not damage");
    assert_eq!(got["total"]["unread"]["zero_fill_bytes"], 4096);
    let (code, _, _) = stats(&["testdata/no-such-dir"]);
    assert_eq!(code, 2);
}

#[test]
fn table_output_names_every_section() {
    let out = Command::cargo_bin("kseg")
        .unwrap()
        .current_dir(root())
        .args(["stats", "testdata/partitions/demo-0", "testdata/partitions/legacy-0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "== segment testdata/partitions/demo-0/00000000000000000000.log",
        "== partition testdata/partitions/demo-0 (3 segments)",
        "== total (2 topics, 2 partitions, 5 segments)",
        "compression ",
        "offsets ",
        "timestamps ",
        "record size ",
        "batch size ",
        "keys ",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
}

#[test]
fn corpus_segments_match_the_corpus_summaries() {
    let Some(corpus) = corpus() else { return };
    let mut checked = 0;
    for entry in std::fs::read_dir(&corpus).unwrap() {
        let dir = entry.unwrap().path();
        let Ok(bytes) = std::fs::read(dir.join("summary.json")) else { continue };
        let summary: Value = serde_json::from_slice(&bytes).unwrap();
        for (rel, want) in summary.as_object().unwrap() {
            let name = rel.rsplit('/').next().unwrap();
            let is_segment =
                name.len() == 24 && name.ends_with(".log") && name[..20].bytes().all(|b| b.is_ascii_digit());
            if !is_segment || want.get("batch_count").is_none() {
                continue;
            }
            let path = dir.join(rel);
            let (code, got, stderr) = stats(&[path.to_str().unwrap()]);
            assert_eq!(code, 0, "{rel}: {stderr}");
            let s = &got["segments"][0];
            assert_eq!(s["batches"], want["batch_count"], "{rel}");
            assert_eq!(s["records"], want["record_count"], "{rel}");
            if want["batch_count"].as_u64() > Some(0) {
                assert_eq!(s["offsets"]["first"], want["first_batch_base_offset"], "{rel}");
                assert_eq!(s["offsets"]["last"], want["last_offset"], "{rel}");
                assert_eq!(s["keys"]["null_keys"], want["null_keys"], "{rel}");
            }
            let control: u64 = s["groups"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|g| g["kind"].as_str().unwrap().starts_with("control"))
                .map(|g| g["batches"].as_u64().unwrap())
                .sum();
            assert_eq!(Some(control), want["control_batches"].as_u64(), "{rel}");
            checked += 1;
        }
    }
    assert!(checked >= 40, "only {checked} corpus segments checked");
}
