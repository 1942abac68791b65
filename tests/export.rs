//! `kseg export`: the rows read back from Parquet (and Arrow IPC) with
//! Apache Arrow's own readers equal `kseg dump --records --format jsonl`
//! field by field, bytes exact; `aborted` and `is_control` counts on
//! fixtures with transactions against offsets worked out by hand from the
//! fixtures' descriptions and from the real Kafka tool's output.

#![cfg(feature = "export")]

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int16Type, Int32Type, Int64Type, TimestampMillisecondType};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::DataType;
use serde_json::{Map, Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_kseg");

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// One cell as the dump's JSON shows it (bytes as hex, no timestamp as -1).
fn cell(col: &ArrayRef, i: usize) -> Value {
    if col.is_null(i) {
        return match col.data_type() {
            DataType::Timestamp(..) => json!(-1),
            _ => Value::Null,
        };
    }
    match col.data_type() {
        DataType::Int64 => json!(col.as_primitive::<Int64Type>().value(i)),
        DataType::Int32 => json!(col.as_primitive::<Int32Type>().value(i)),
        DataType::Int16 => json!(col.as_primitive::<Int16Type>().value(i)),
        DataType::Timestamp(..) => json!(col.as_primitive::<TimestampMillisecondType>().value(i)),
        DataType::Boolean => json!(col.as_boolean().value(i)),
        DataType::Utf8 => json!(col.as_string::<i32>().value(i)),
        DataType::Binary => json!(hex(col.as_binary::<i32>().value(i))),
        DataType::List(_) => {
            let list = col.as_list::<i32>().value(i);
            let s = list.as_struct();
            let (k, v) = (s.column(0), s.column(1));
            Value::Array((0..s.len()).map(|j| json!({"key": cell(k, j), "value": cell(v, j)})).collect())
        }
        other => panic!("unexpected column type {other}"),
    }
}

fn rows_of(batch: &RecordBatch, out: &mut Vec<Map<String, Value>>) {
    let schema = batch.schema();
    for i in 0..batch.num_rows() {
        let mut row = Map::new();
        for (f, col) in schema.fields().iter().zip(batch.columns()) {
            row.insert(f.name().clone(), cell(col, i));
        }
        out.push(row);
    }
}

/// Every Parquet file under `dir`, with the Hive directories it sits in.
fn parquet_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            parquet_files(&p, out);
        } else {
            assert_eq!(p.extension().and_then(|e| e.to_str()), Some("parquet"), "{}", p.display());
            out.push(p);
        }
    }
}

/// The rows of an export, read back with the `parquet` crate's Arrow reader;
/// each row checked against the Hive directory it is in.
fn read_parquet(dir: &Path) -> Vec<Map<String, Value>> {
    let mut files = Vec::new();
    parquet_files(dir, &mut files);
    files.sort();
    let mut rows = Vec::new();
    for f in files {
        let reader =
            parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(fs::File::open(&f).unwrap())
                .unwrap()
                .build()
                .unwrap();
        let start = rows.len();
        for b in reader {
            rows_of(&b.unwrap(), &mut rows);
        }
        assert!(rows.len() > start, "{}: an empty file", f.display());
        let rel = f.strip_prefix(dir).unwrap().to_str().unwrap().to_string();
        for r in &rows[start..] {
            let topic = r["topic"].as_str().unwrap_or("__HIVE_DEFAULT_PARTITION__").to_string();
            let partition = r["partition"].as_i64().map_or("__HIVE_DEFAULT_PARTITION__".to_string(), |p| p.to_string());
            assert!(
                rel.starts_with(&format!("topic={topic}/partition={partition}/part-")),
                "{rel} holds {topic}/{partition}"
            );
        }
    }
    rows
}

fn export(args: &[&str]) -> (i32, String) {
    let out = Command::new(BIN).arg("export").args(args).output().unwrap();
    (out.status.code().unwrap(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// `kseg dump --records --format jsonl` of `path` as export rows (the batch
/// fields copied onto each record) of its segments, or `None` when dump
/// reports a problem.
fn dump_rows(path: &Path) -> Option<Vec<Map<String, Value>>> {
    let out = Command::new(BIN)
        .args([
            "dump",
            "--records",
            "--format",
            "jsonl",
            "--key-encoding",
            "hex",
            "--value-encoding",
            "hex",
            "--decode",
            "none",
        ])
        .arg(path)
        .output()
        .unwrap();
    if out.status.code() != Some(0) {
        return None;
    }
    let mut rows = Vec::new();
    let mut batch = Map::new();
    // Only segments: a directory's KRaft snapshots (.checkpoint) hold
    // records too, but they are no part of the log.
    let mut segment = false;
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let v: Map<String, Value> = serde_json::from_str(line).unwrap();
        match v["type"].as_str().unwrap() {
            "file" => segment = v["kind"] == "log",
            "batch" => batch = v,
            "record" if segment => {
                let mut r = Map::new();
                for k in ["offset", "timestamp", "key", "value", "headers"] {
                    r.insert(k.into(), v[k].clone());
                }
                for k in [
                    "timestamp_type",
                    "base_offset",
                    "producer_id",
                    "producer_epoch",
                    "base_sequence",
                    "is_transactional",
                    "is_control",
                    "compression",
                    "partition_leader_epoch",
                    "file",
                    "position",
                ] {
                    r.insert(k.into(), batch[k].clone());
                }
                rows.push(r);
            }
            _ => {}
        }
    }
    Some(rows)
}

/// The columns the dump shows, in the order rows are compared.
fn key(r: &Map<String, Value>) -> (String, i64) {
    (r["file"].as_str().unwrap().to_string(), r["offset"].as_i64().unwrap())
}

fn compare(what: &str, mut exported: Vec<Map<String, Value>>, mut dumped: Vec<Map<String, Value>>) {
    exported.sort_by_key(key);
    dumped.sort_by_key(key);
    assert_eq!(exported.len(), dumped.len(), "{what}: rows");
    for (e, d) in exported.iter().zip(&dumped) {
        for (k, v) in d {
            assert_eq!(&e[k], v, "{what}: {k} of {:?}", key(d));
        }
    }
}

/// Every fixture directory that dump reads without a problem.
fn clean_fixtures() -> Vec<PathBuf> {
    let root = common::root().join("testdata");
    let mut dirs = Vec::new();
    for group in ["segments", "partitions", "producers"] {
        for e in fs::read_dir(root.join(group)).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            }
        }
    }
    dirs.push(root.join("broker/data"));
    dirs.sort();
    dirs
}

#[test]
fn parquet_rows_equal_dump_on_every_clean_fixture() {
    let mut compared = 0;
    for dir in clean_fixtures() {
        let Some(dumped) = dump_rows(&dir) else { continue };
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let (code, stderr) = export(&[dir.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"]);
        assert_eq!(code, 0, "{}: {stderr}", dir.display());
        let rows = if dumped.is_empty() { Vec::new() } else { read_parquet(&out) };
        compare(&dir.display().to_string(), rows, dumped);
        compared += 1;
    }
    // Most fixtures are clean; a change that made dump fail on them all
    // must not turn this test into a pass.
    assert!(compared >= 25, "only {compared} fixtures compared");
}

#[test]
fn arrow_stream_equals_dump_with_text_keys_and_a_constant_column() {
    let dir = common::root().join("testdata/broker/data/g-rolled-0");
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("rows.arrows");
    let (code, stderr) = export(&[
        dir.to_str().unwrap(),
        "--format",
        "arrow",
        "--out",
        file.to_str().unwrap(),
        "--key-encoding",
        "utf8",
        "--add-column",
        "broker=3",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let reader = arrow_ipc::reader::StreamReader::try_new(fs::File::open(&file).unwrap(), None).unwrap();
    let schema = reader.schema();
    assert_eq!(schema.field_with_name("key").unwrap().data_type(), &DataType::Utf8);
    assert_eq!(schema.field_with_name("value").unwrap().data_type(), &DataType::Binary);
    let mut rows = Vec::new();
    for b in reader {
        rows_of(&b.unwrap(), &mut rows);
    }
    let mut dumped = dump_rows(&dir).expect("g-rolled-0 is clean");
    // The dump's keys in hex; utf8 keys are their text (all valid UTF-8 here).
    for r in &mut dumped {
        if let Some(h) = r["key"].as_str() {
            let bytes: Vec<u8> =
                (0..h.len()).step_by(2).map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap()).collect();
            r["key"] = json!(String::from_utf8(bytes).unwrap());
        }
    }
    assert!(
        rows.iter().all(|r| r["broker"] == json!("3") && r["topic"] == json!("g-rolled") && r["partition"] == json!(0))
    );
    compare("g-rolled-0 (arrow)", rows, dumped);
}

/// Offsets by (aborted, is_control) of one export.
fn flags(rows: &[Map<String, Value>]) -> BTreeMap<(bool, bool), Vec<i64>> {
    let mut m: BTreeMap<(bool, bool), Vec<i64>> = BTreeMap::new();
    for r in rows {
        let k = (r["aborted"].as_bool().unwrap(), r["is_control"].as_bool().unwrap());
        m.entry(k).or_default().push(r["offset"].as_i64().unwrap());
    }
    for v in m.values_mut() {
        v.sort();
    }
    m
}

fn export_rows(path: &Path) -> Vec<Map<String, Value>> {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let (code, stderr) = export(&[path.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    read_parquet(&out)
}

#[test]
fn aborted_transactions_of_the_txnindex_fixture() {
    // testdata/gen/make_producer_fixtures.py, clean_transactions: 501's data
    // at 3..4 and 15..16 is aborted (ABORT markers at 14 and 17, .txnindex
    // entries [3,14] and [15,17]); 500 commits at 9 and aborts at 24 with no
    // data; 502 commits at 20; 501's open transaction at 21..23 is not
    // aborted (a read_committed consumer waits for it, it does not skip it).
    let rows = export_rows(&common::root().join("testdata/producers/clean_transactions-0"));
    let f = flags(&rows);
    let aborted = f.get(&(true, false)).cloned().unwrap_or_default();
    let control = f.get(&(false, true)).cloned().unwrap_or_default();
    assert!(!f.contains_key(&(true, true)), "a marker is never aborted");
    assert_eq!(aborted, vec![3, 4, 15, 16], "aborted data offsets");
    assert_eq!(control, vec![9, 14, 17, 20, 24], "control markers");
}

#[test]
fn aborted_transactions_of_a_real_broker() {
    // testdata/broker/data/g-txn-0, written by Kafka 4.4.0. Kafka's own
    // DumpLogSegments (testdata/broker/expected) lists the .txnindex
    // entries and the batches; the offsets below are read from its text.
    let rows = export_rows(&common::root().join("testdata/broker/data/g-txn-0"));
    let f = flags(&rows);
    let aborted = f.get(&(true, false)).cloned().unwrap_or_default();
    let control = f.get(&(false, true)).cloned().unwrap_or_default();
    assert_eq!(aborted, EXPECTED_TXN_ABORTED.to_vec(), "aborted data offsets");
    assert_eq!(control, EXPECTED_TXN_CONTROL.to_vec(), "control markers");
}

/// The data batches of producers 2 and 3 inside the .txnindex entries
/// (2: [4,7] and [12,15]; 3: [20,23] and [28,31]).
const EXPECTED_TXN_ABORTED: &[i64] = &[4, 5, 6, 12, 13, 14, 20, 21, 22, 28, 29, 30];
/// Every `isControl: true` batch of the three segments.
const EXPECTED_TXN_CONTROL: &[i64] = &[3, 7, 11, 15, 19, 23, 27, 31];

#[test]
fn a_damaged_batch_is_left_out_with_its_position() {
    let file = common::root().join("testdata/corrupt/v2_bitflip_none");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let (code, stderr) = export(&[file.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("at byte ") && stderr.contains("batch left out"), "{stderr}");
}

#[test]
fn an_existing_output_is_never_written_over() {
    let dir = common::root().join("testdata/segments/v2_none");
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("keep"), b"x").unwrap();
    let (code, stderr) = export(&[dir.to_str().unwrap(), "--out", tmp.path().to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(fs::read(tmp.path().join("keep")).unwrap(), b"x");
    let (code, stderr) = export(&[dir.to_str().unwrap(), "--out", "x", "--add-column", "offset=1"]);
    assert_eq!(code, 2, "{stderr}");
}

/// Every `--compression`, with the encoder threads (`-j2`) and without
/// (`-j1`): the rows equal `kseg dump`, and each column chunk carries the
/// codec asked for (parquet's own reader says so).
#[test]
fn every_compression_and_thread_count_gives_the_dumped_rows() {
    let dir = common::root().join("testdata/broker/data");
    let dumped = dump_rows(&dir).expect("the broker fixture dumps cleanly");
    for (codec, want) in [
        ("zstd", parquet::basic::Compression::ZSTD(parquet::basic::ZstdLevel::default())),
        ("lz4", parquet::basic::Compression::LZ4_RAW),
        ("snappy", parquet::basic::Compression::SNAPPY),
        ("none", parquet::basic::Compression::UNCOMPRESSED),
    ] {
        for jobs in ["1", "2"] {
            let tmp = tempfile::tempdir().unwrap();
            let out = tmp.path().join("out");
            let (code, stderr) = export(&[
                dir.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
                "--quiet",
                "--compression",
                codec,
                "-j",
                jobs,
            ]);
            assert_eq!(code, 0, "{codec} -j{jobs}: {stderr}");
            let mut files = Vec::new();
            parquet_files(&out, &mut files);
            for f in &files {
                let reader = parquet::file::reader::SerializedFileReader::new(fs::File::open(f).unwrap()).unwrap();
                let meta = parquet::file::reader::FileReader::metadata(&reader);
                for rg in meta.row_groups() {
                    for c in rg.columns() {
                        assert_eq!(c.compression(), want, "{codec}: {} in {}", c.column_path(), f.display());
                    }
                }
            }
            compare(&format!("{codec} -j{jobs}"), read_parquet(&out), dumped.clone());
        }
    }
}
