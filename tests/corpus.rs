//! kseg against the shared real-data corpus (`../shared/corpus`, see its README.md and each
//! folder's MANIFEST.md) and against the generated sidecar fixtures in `testdata/segments/`.
//!
//! The corpus is not part of this repository (several sources carry no license), so every test
//! that needs it returns early, passing, with a note on stderr when the folder is absent (the
//! sidecar test then still checks the repository's own `testdata/segments` sidecars).
//! Each test runs the binary once per file it looks at and reads its JSON Lines output.
//!
//! Where a file's expectation comes from:
//! * `*.expected.json` sidecars: kafka-python 3.0.12's record builders (an independent encoder).
//! * record-set vectors: the upstream tests' own assertions as the MANIFESTs, kafka-go's
//!   `expected_from_test.json` and kafkajs's `expected_from_tests.json` quote them.
//! * `decoded/*.json` and `summary.json`: the corpus's reference decoder, a second opinion that
//!   kafka-python agrees with (the manifests say where). Used as a cross-check only.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use assert_cmd::Command;
use base64::Engine as _;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

mod common;

// ---------------------------------------------------------------------------------------------
// Plumbing
// ---------------------------------------------------------------------------------------------

/// The shared corpus, or `None` (with a note naming the test) when it is not there.
fn corpus_dir(_test: &str) -> Option<PathBuf> {
    common::corpus()
}

macro_rules! corpus_or_skip {
    ($test:expr) => {
        match corpus_dir($test) {
            Some(dir) => dir,
            None => return,
        }
    };
}

/// Return `Err(message)` from the enclosing function unless `cond` holds.
macro_rules! ensure {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err(format!($($fmt)+));
        }
    };
}

/// `Ok` when `got == want`, else a message naming `what` and both values.
fn eq<T: PartialEq + Debug + ?Sized>(what: impl std::fmt::Display, got: &T, want: &T) -> Result<(), String> {
    if got == want { Ok(()) } else { Err(format!("{what}: kseg says {got:?}, expected {want:?}")) }
}

/// One run of `kseg dump --records --format jsonl [extra] PATH`.
struct Dump {
    code: Option<i32>,
    stderr: String,
    objs: Vec<Value>,
    /// Batch and record lines counted but not parsed (see `dump_counting`).
    counted: BTreeMap<&'static str, usize>,
}

const HEX: [&str; 4] = ["--key-encoding", "hex", "--value-encoding", "hex"];

fn run_kseg(path: &Path, extra: &[&str]) -> std::process::Output {
    // Run from the file's directory with a bare name: every batch object repeats the file
    // name, and short names keep the output of the big segments small.
    let (dir, name) = match (path.parent(), path.file_name()) {
        (Some(dir), Some(name)) if !dir.as_os_str().is_empty() => (dir, Path::new(name)),
        _ => (Path::new("."), path),
    };
    Command::cargo_bin("kseg")
        .expect("the kseg binary is built")
        .current_dir(dir)
        .arg("dump")
        .args(["--records", "--format", "jsonl"])
        .args(extra)
        .arg(name)
        .output()
        .expect("kseg runs")
}

fn dump(path: &Path, extra: &[&str]) -> Dump {
    dump_impl(path, extra, false)
}

/// Like `dump`, but batch and record lines are only counted, not parsed (for directory dumps
/// whose files were already checked one by one).
fn dump_counting(path: &Path, extra: &[&str]) -> Dump {
    dump_impl(path, extra, true)
}

fn dump_impl(path: &Path, extra: &[&str], counting: bool) -> Dump {
    let out = run_kseg(path, extra);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut counted = BTreeMap::new();
    let mut objs = Vec::new();
    for line in stdout.split('\n').filter(|l| !l.is_empty()) {
        if counting {
            let bulk = ["batch", "record"].into_iter().find(|t| line.starts_with(&format!("{{\"type\":\"{t}\"")));
            if let Some(t) = bulk {
                *counted.entry(t).or_default() += 1;
                continue;
            }
        }
        // Lines that do not parse are kept so the checks can report them.
        objs.push(
            serde_json::from_str(line)
                .unwrap_or_else(|e| json!({"type": "unparsable", "line": line, "error": e.to_string()})),
        );
    }
    Dump { code: out.status.code(), stderr, objs, counted }
}

impl Dump {
    fn of_type(&self, t: &str) -> Vec<&Value> {
        self.objs.iter().filter(|o| o["type"] == t).collect()
    }
    /// Number of objects of type `t`, parsed or only counted.
    fn count(&self, t: &str) -> usize {
        self.of_type(t).len() + self.counted.get(t).copied().unwrap_or(0)
    }
    fn batches(&self) -> Vec<&Value> {
        self.of_type("batch")
    }
    fn records(&self) -> Vec<&Value> {
        self.of_type("record")
    }
    fn problems(&self) -> Vec<&Value> {
        self.of_type("problem")
    }
    fn problem_text(&self) -> String {
        let p: Vec<String> = self
            .problems()
            .iter()
            .take(3)
            .map(|p| format!("{} at {}: {}", p["kind"], p["position"], p["message"]))
            .collect();
        if p.is_empty() { "none".into() } else { p.join("; ") }
    }

    /// Never a panic, a signal, or an exit code outside the contract; always well-formed
    /// JSON Lines ending in a summary.
    fn no_crash(&self) -> Result<(), String> {
        ensure!(!self.stderr.contains("panicked"), "kseg panicked: {}", self.stderr.trim());
        ensure!(
            matches!(self.code, Some(0..=2)),
            "exit status {:?} (a crash?), stderr: {}",
            self.code,
            self.stderr.trim()
        );
        if let Some(bad) = self.objs.iter().find(|o| o["type"] == "unparsable") {
            return Err(format!("output line is not JSON: {bad}"));
        }
        ensure!(
            self.objs.last().is_some_and(|o| o["type"] == "summary"),
            "the output does not end with a summary object"
        );
        Ok(())
    }

    /// Exit 0 and not a single problem.
    fn clean(&self) -> Result<(), String> {
        self.no_crash()?;
        ensure!(
            self.code == Some(0) && self.problems().is_empty(),
            "expected a clean read (exit 0, no problems), got exit {:?}, problems: {}",
            self.code,
            self.problem_text()
        );
        Ok(())
    }

    /// Exit 1 and at least one problem that names a byte position (of `kind`, if given).
    fn has_problem(&self, kind: Option<&str>) -> Result<&Value, String> {
        self.no_crash()?;
        ensure!(
            self.code == Some(1),
            "expected exit 1 (problems), got {:?}; problems: {}",
            self.code,
            self.problem_text()
        );
        self.problems().into_iter().find(|p| p["position"].is_u64() && kind.is_none_or(|k| p["kind"] == k)).ok_or_else(
            || format!("no problem of kind {kind:?} with a byte position; problems: {}", self.problem_text()),
        )
    }

    /// Exit 1 and exactly one problem: `kind` at `position`.
    fn only_problem(&self, kind: &str, position: u64) -> Result<(), String> {
        self.has_problem(Some(kind))?;
        let p = self.problems();
        ensure!(
            p.len() == 1 && p[0]["position"] == position,
            "expected exactly one {kind} problem at byte {position}; problems: {}",
            self.problem_text()
        );
        Ok(())
    }
}

/// Collects failures over many files; reports them all at the end.
#[derive(Default)]
struct Failures(Mutex<Vec<String>>);

impl Failures {
    fn check(&self, file: &Path, result: Result<(), String>) {
        if let Err(e) = result {
            self.0.lock().unwrap().push(format!("{}: {e}", file.display()));
        }
    }
    fn finish(self, what: &str) {
        let mut f = self.0.into_inner().unwrap();
        if !f.is_empty() {
            f.sort();
            panic!("{what}: {} file(s) failed:\n  {}", f.len(), f.join("\n  "));
        }
    }
}

/// Run `f` over `items` on a few threads.
fn par_each<T: Sync>(items: &[T], f: impl Fn(&T) + Sync) {
    let threads = std::thread::available_parallelism().map_or(4, |n| n.get()).clamp(1, 8);
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                while let Some(item) = items.get(next.fetch_add(1, Ordering::Relaxed)) {
                    f(item);
                }
            });
        }
    });
}

fn read_json(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every regular file under `dir`, sorted.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.is_file() {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Result<Vec<u8>, String> {
    ensure!(s.len().is_multiple_of(2), "odd-length hex {s:?}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(|e| format!("bad hex {s:?}: {e}")))
        .collect()
}

/// A key, value or header value in kseg's hex output: `None` for null.
fn bytes_of(v: &Value) -> Result<Option<Vec<u8>>, String> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => unhex(s).map(Some),
        other => Err(format!("expected a hex string or null, got {other}")),
    }
}

fn show(b: &Option<Vec<u8>>) -> String {
    match b {
        None => "null".into(),
        Some(b) => format!("{:?}", String::from_utf8_lossy(b)),
    }
}

// ---------------------------------------------------------------------------------------------
// 1. kafka-python-generated sidecars (corpus and testdata/segments)
// ---------------------------------------------------------------------------------------------

/// Sidecar bytes: `null`, `{len, hex, utf8?}` or `{len, sha256, hex_prefix}`.
fn compare_sidecar_bytes(what: &str, got: &Value, want: &Value) -> Result<(), String> {
    let bytes = bytes_of(got).map_err(|e| format!("{what}: {e}"))?;
    match (want, bytes) {
        (Value::Null, None) => Ok(()),
        (Value::Null, Some(b)) => {
            Err(format!("{what}: kseg says {} ({} bytes), expected null", show(&Some(b.clone())), b.len()))
        }
        (Value::Object(_), None) => Err(format!("{what}: kseg says null, expected {} bytes", want["len"])),
        (Value::Object(w), Some(b)) => {
            if let Some(len) = w.get("len") {
                eq(format!("{what} length"), &json!(b.len()), len)?;
            }
            if let Some(h) = w.get("hex") {
                eq(what, &json!(hex(&b)), h)?;
            } else if let Some(sha) = w.get("sha256") {
                eq(format!("{what} sha256"), &json!(hex(&Sha256::digest(&b))), sha)?;
                if let Some(prefix) = w.get("hex_prefix").and_then(Value::as_str) {
                    ensure!(hex(&b).starts_with(prefix), "{what}: does not start with {prefix}");
                }
            } else {
                return Err(format!("{what}: sidecar value {want} has neither hex nor sha256"));
            }
            Ok(())
        }
        (w, _) => Err(format!("{what}: unexpected sidecar value {w}")),
    }
}

/// Every field the sidecar gives must match kseg's. kseg may say more (`type_id`,
/// `key_version`). A sidecar `{voter_id: N}` matches a bare `N` in kseg's voter lists.
fn control_matches(path: &str, want: &Value, got: &Value) -> Result<(), String> {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            for (k, wv) in w {
                // `voter_directory_id_hex` restates `voter_directory_id`.
                if k == "voter_directory_id_hex" {
                    continue;
                }
                // An UNKNOWN type's value is not parsed, so only the key has a version.
                let gk = if k == "version" && !g.contains_key(k) { "key_version" } else { k.as_str() };
                let gv =
                    g.get(gk).ok_or_else(|| format!("control{path}.{k}: missing in kseg's output (expected {wv})"))?;
                control_matches(&format!("{path}.{k}"), wv, gv)?;
            }
            Ok(())
        }
        (Value::Object(w), scalar) if w.len() == 1 && w.contains_key("voter_id") => {
            eq(format!("control{path}"), scalar, &w["voter_id"])
        }
        (Value::Array(w), Value::Array(g)) => {
            eq(format!("control{path} length"), &g.len(), &w.len())?;
            w.iter().zip(g).enumerate().try_for_each(|(i, (w, g))| control_matches(&format!("{path}[{i}]"), w, g))
        }
        (w, g) => eq(format!("control{path}"), g, w),
    }
}

fn compare_sidecar_record(got: &Value, want: &Value) -> Result<(), String> {
    eq("offset", &got["offset"], &want["offset"])?;
    eq("timestamp", &got["timestamp"], &want["timestamp"])?;
    compare_sidecar_bytes("key", &got["key"], &want["key"])?;
    compare_sidecar_bytes("value", &got["value"], &want["value"])?;
    let gh = got["headers"].as_array().ok_or("no headers array")?;
    let wh = want["headers"].as_array().ok_or("sidecar record has no headers array")?;
    eq("header count", &gh.len(), &wh.len())?;
    for (i, (g, w)) in gh.iter().zip(wh).enumerate() {
        eq(format!("header {i} key"), &g["key"], &w["key"])?;
        compare_sidecar_bytes(&format!("header {i} value"), &g["value"], &w["value"])?;
    }
    match (got.get("control"), want.get("control")) {
        (None, None) => Ok(()),
        (Some(g), Some(w)) => {
            eq("control type", &g["type"], &w["type"])?;
            if let Some(epoch) = w.get("coordinator_epoch") {
                eq("control coordinator_epoch", &g["coordinator_epoch"], epoch)?;
            }
            control_matches("", w, g)
        }
        (g, w) => Err(format!("control: kseg says {g:?}, expected {w:?}")),
    }
}

fn check_v2_batch(b: &Value, w: &Value) -> Result<(), String> {
    let pairs = [
        ("base_offset", "base_offset"),
        ("last_offset", "last_offset"),
        ("magic", "magic"),
        ("compression", "compression"),
        ("timestamp_type", "timestamp_type"),
        ("producer_id", "producer_id"),
        ("producer_epoch", "producer_epoch"),
        ("base_sequence", "base_sequence"),
        ("partition_leader_epoch", "partition_leader_epoch"),
        ("is_transactional", "transactional"),
        ("is_control", "control"),
        ("base_timestamp", "first_timestamp"),
        ("max_timestamp", "max_timestamp"),
        ("attributes", "attributes"),
        ("crc", "crc32c"),
        ("count", "record_count"),
        ("size", "size"),
    ];
    for (k, s) in pairs {
        eq(k, &b[k], &w[s])?;
    }
    eq("crc_valid", &b["crc_valid"], &json!(true))
}

fn check_sidecar(sidecar: &Path) -> Result<(), String> {
    let sc = read_json(sidecar);
    let log = sidecar.with_file_name(sc["file"].as_str().ok_or("sidecar has no file name")?);
    let d = dump(&log, &HEX);
    d.clean()?;

    let files = d.of_type("file");
    ensure!(files.len() == 1, "expected one file object, got {}", files.len());
    eq("file size", &files[0]["size"], &sc["size"])?;

    // The flat record list first: its first difference is the most telling.
    let want: Vec<&Value> = sc["batches"]
        .as_array()
        .ok_or("sidecar has no batches")?
        .iter()
        .flat_map(|b| b["records"].as_array().into_iter().flatten())
        .collect();
    let got = d.records();
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        compare_sidecar_record(g, w).map_err(|e| format!("record #{i} (offset {}): {e}", w["offset"]))?;
    }
    eq("record count", &got.len(), &want.len())?;
    eq("sidecar record_count", &json!(want.len()), &sc["record_count"])?;

    // Batches by position.
    let by_pos: BTreeMap<u64, &Value> =
        d.batches().into_iter().map(|b| (b["position"].as_u64().unwrap_or(u64::MAX), b)).collect();
    let mut expected_batches = 0;
    for (i, w) in sc["batches"].as_array().into_iter().flatten().enumerate() {
        let pos = w["position"].as_u64().ok_or("sidecar batch without position")?;
        let ctx = |e: String| format!("batch #{i} at byte {pos}: {e}");
        if w["magic"] == 2 {
            let b = by_pos.get(&pos).ok_or_else(|| ctx("kseg shows no batch here".into()))?;
            check_v2_batch(b, w).map_err(ctx)?;
            expected_batches += 1;
        } else if let Some(wrapper) = w["wrapper"].as_object() {
            let b = by_pos.get(&pos).ok_or_else(|| ctx("kseg shows no wrapper batch here".into()))?;
            (|| {
                eq("magic", &b["magic"], &w["magic"])?;
                eq("compression", &b["compression"], &w["compression"])?;
                eq("crc", &b["crc"], &wrapper["crc32"])?;
                eq("crc_valid", &b["crc_valid"], &json!(true))?;
                eq("last_offset (wrapper offset)", &b["last_offset"], &wrapper["offset"])?;
                eq("count (inner messages)", &b["count"], &w["record_count"])
            })()
            .map_err(ctx)?;
            expected_batches += 1;
        } else {
            // A group of uncompressed legacy messages: one kseg batch per log entry.
            let end = pos + w["size"].as_u64().ok_or("sidecar batch without size")?;
            let inside: Vec<&&Value> = by_pos.range(pos..end).map(|(_, b)| b).collect();
            let entries = w["log_entries"].as_u64().ok_or("legacy batch without log_entries")? as usize;
            eq("kseg batches (log entries) in this group", &inside.len(), &entries).map_err(ctx)?;
            for b in inside {
                (|| {
                    eq("magic", &b["magic"], &w["magic"])?;
                    eq("compression", &b["compression"], &json!("none"))?;
                    eq("count", &b["count"], &json!(1))?;
                    eq("crc_valid", &b["crc_valid"], &json!(true))
                })()
                .map_err(|e| ctx(format!("entry at byte {}: {e}", b["position"])))?;
            }
            expected_batches += entries;
        }
    }
    eq("number of batches", &by_pos.len(), &expected_batches)
}

fn sidecars_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .flat_map(|e| fs::read_dir(e.path()).into_iter().flatten().filter_map(|f| f.ok()).map(|f| f.path()))
        .filter(|p| p.to_str().is_some_and(|s| s.ends_with(".expected.json")))
        .collect();
    out.sort();
    out
}

#[test]
fn kafka_python_generated_sidecars() {
    // The repository's own sidecars are checked even without the corpus.
    let mut sidecars = sidecars_in(&common::root().join("testdata/segments"));
    match corpus_dir("kafka_python_generated_sidecars (corpus part)") {
        Some(c) => {
            let corpus_sidecars = sidecars_in(&c.join("kafka-python-generated"));
            assert!(corpus_sidecars.len() >= 20, "expected the 20 corpus sidecars, found {}", corpus_sidecars.len());
            sidecars.extend(corpus_sidecars);
        }
        None if sidecars.is_empty() => return,
        None => {}
    }
    let failures = Failures::default();
    par_each(&sidecars, |s| failures.check(s, check_sidecar(s)));
    failures.finish("sidecar comparison");
}

// ---------------------------------------------------------------------------------------------
// 2. Record-set vectors: kafka-go, kafkajs, kafka-python, sarama, kafka-protocol-rs
// ---------------------------------------------------------------------------------------------

/// What a test says a record looks like; `None` fields are not checked.
#[derive(Clone, Default)]
struct Rec {
    offset: Option<i64>,
    timestamp: Option<i64>,
    key: Option<Option<Vec<u8>>>,
    value: Option<Option<Vec<u8>>>,
    headers: Option<Vec<(String, Option<Vec<u8>>)>>,
    control: Option<&'static str>,
}

fn text(s: &str) -> Option<Vec<u8>> {
    Some(s.as_bytes().to_vec())
}

fn kv(key: Option<&str>, value: Option<&str>) -> Rec {
    Rec {
        key: Some(key.map(|k| k.as_bytes().to_vec())),
        value: Some(value.map(|v| v.as_bytes().to_vec())),
        ..Rec::default()
    }
}

fn records_match(d: &Dump, want: &[Rec]) -> Result<(), String> {
    let got = d.records();
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let ctx = |e: String| format!("record #{i} (offset {}): {e}", g["offset"]);
        if let Some(o) = w.offset {
            eq("offset", &g["offset"], &json!(o)).map_err(ctx)?;
        }
        if let Some(t) = w.timestamp {
            eq("timestamp", &g["timestamp"], &json!(t)).map_err(ctx)?;
        }
        for (name, want_bytes) in [("key", &w.key), ("value", &w.value)] {
            if let Some(wb) = want_bytes {
                let gb = bytes_of(&g[name]).map_err(|e| ctx(format!("{name}: {e}")))?;
                ensure!(&gb == wb, "{}", ctx(format!("{name}: kseg says {}, expected {}", show(&gb), show(wb))));
            }
        }
        if let Some(wh) = &w.headers {
            let gh = g["headers"].as_array().ok_or_else(|| ctx("no headers array".into()))?;
            let gh: Vec<(String, Option<Vec<u8>>)> = gh
                .iter()
                .map(|h| Ok((h["key"].as_str().unwrap_or("<not a string>").to_owned(), bytes_of(&h["value"])?)))
                .collect::<Result<_, String>>()
                .map_err(ctx)?;
            eq("headers", &gh, wh).map_err(ctx)?;
        }
        if let Some(c) = w.control {
            eq("control type", &g["control"]["type"], &json!(c)).map_err(ctx)?;
        }
    }
    eq("record count", &got.len(), &want.len())
}

/// `(field, value)` pairs checked on batch `i`.
fn batch_is(d: &Dump, i: usize, fields: &[(&str, Value)]) -> Result<(), String> {
    let batches = d.batches();
    let b = batches.get(i).ok_or_else(|| format!("batch #{i}: kseg shows only {} batches", batches.len()))?;
    for (k, v) in fields {
        eq(format!("batch #{i} {k}"), &b[*k], v)?;
    }
    Ok(())
}

fn counts(d: &Dump, batches: usize, records: usize) -> Result<(), String> {
    eq("batch count", &d.batches().len(), &batches)?;
    eq("record count", &d.records().len(), &records)
}

fn all_crcs_valid(d: &Dump) -> Result<(), String> {
    match d.batches().iter().find(|b| b["crc_valid"] != true) {
        Some(b) => Err(format!("batch at byte {} has crc_valid {}", b["position"], b["crc_valid"])),
        None => Ok(()),
    }
}

fn offsets_are(d: &Dump, want: impl IntoIterator<Item = i64>) -> Result<(), String> {
    let got: Vec<i64> = d.records().iter().map(|r| r["offset"].as_i64().unwrap_or(i64::MIN)).collect();
    let want: Vec<i64> = want.into_iter().collect();
    if let Some(i) = (0..got.len().min(want.len())).find(|&i| got[i] != want[i]) {
        return Err(format!("record #{i}: offset {} expected {}", got[i], want[i]));
    }
    eq("number of offsets", &got.len(), &want.len())
}

/// Cross-check with the reference decoder's `decoded/<stem>.json` (records, and batch
/// position/size/magic/compression/crc). Skipped when that decoder itself reported errors.
fn matches_decoded(d: &Dump, decoded: &Path) -> Result<(), String> {
    let dec = read_json(decoded);
    if dec["errors"].as_array().is_some_and(|e| !e.is_empty()) {
        return Ok(());
    }
    let decode_bytes = |v: &Value| -> Result<Option<Vec<u8>>, String> {
        match v {
            Value::Null => Ok(None),
            v if v["utf8"].is_string() => Ok(text(v["utf8"].as_str().unwrap())),
            v if v["b64"].is_string() => base64::engine::general_purpose::STANDARD
                .decode(v["b64"].as_str().unwrap())
                .map(Some)
                .map_err(|e| e.to_string()),
            v => Err(format!("unknown decoded value {v}")),
        }
    };
    let dec_batches = dec["batches"].as_array().ok_or("decoded json has no batches")?;
    let batches = d.batches();
    eq("batch count (vs decoded/)", &batches.len(), &dec_batches.len())?;
    let records = d.records();
    let mut r = 0;
    for (i, (b, w)) in batches.iter().zip(dec_batches).enumerate() {
        let ctx = |e: String| format!("batch #{i} at byte {} (vs {}): {e}", w["position"], decoded.display());
        for k in ["position", "size", "magic", "compression", "crc"] {
            eq(k, &b[k], &w[k]).map_err(ctx)?;
        }
        eq("crc_valid", &b["crc_valid"], &w["crc_ok"]).map_err(ctx)?;
        // Batches past the first few in big files are listed as "(N omitted)".
        let Some(recs) = w["records"].as_array() else {
            r += b["count"].as_u64().unwrap_or(0) as usize;
            continue;
        };
        for (j, wr) in recs.iter().enumerate() {
            let g = records.get(r).ok_or_else(|| ctx(format!("record {j}: kseg shows no more records")))?;
            let rctx = |e: String| ctx(format!("record {j} (offset {}): {e}", wr["offset"]));
            eq("offset", &g["offset"], &wr["offset"]).map_err(rctx)?;
            let ts = if wr["timestamp"].is_null() { json!(-1) } else { wr["timestamp"].clone() };
            eq("timestamp", &g["timestamp"], &ts).map_err(rctx)?;
            for k in ["key", "value"] {
                let want = decode_bytes(&wr[k]).map_err(rctx)?;
                let got = bytes_of(&g[k]).map_err(rctx)?;
                ensure!(got == want, "{}", rctx(format!("{k}: kseg says {}, expected {}", show(&got), show(&want))));
            }
            if let Some(wh) = wr["headers"].as_array() {
                let gh = g["headers"].as_array().map_or(0, Vec::len);
                eq("header count", &gh, &wh.len()).map_err(rctx)?;
                for (h, pair) in g["headers"].as_array().into_iter().flatten().zip(wh) {
                    eq("header key", &h["key"], &pair[0]).map_err(rctx)?;
                    let want = decode_bytes(&pair[1]).map_err(rctx)?;
                    ensure!(bytes_of(&h["value"]).map_err(rctx)? == want, "{}", rctx("header value differs".into()));
                }
            }
            r += 1;
        }
    }
    eq("record count (vs decoded/)", &records.len(), &(dec["record_count"].as_u64().unwrap_or(0) as usize))
}

/// The reference decoder's file for a corpus file, if there is one.
fn decoded_for(corpus: &Path, rel: &str) -> Option<PathBuf> {
    let folder = rel.split('/').next()?;
    let stem = Path::new(rel).file_stem()?.to_str()?;
    let p = corpus.join(folder).join("decoded").join(format!("{stem}.json"));
    p.is_file().then_some(p)
}

/// Dump `rel` once and run `check` on it (after the no-crash check).
fn vector(
    corpus: &Path,
    failures: &Failures,
    seen: &mut BTreeSet<String>,
    rel: &str,
    check: impl FnOnce(&Dump) -> Result<(), String>,
) {
    let path = corpus.join(rel);
    seen.insert(rel.to_owned());
    if !path.is_file() {
        failures.check(&path, Err("missing from the corpus".into()));
        return;
    }
    let d = dump(&path, &HEX);
    failures.check(&path, d.no_crash().and_then(|()| check(&d)));
}

/// A valid record set: a clean read, every CRC valid, and the decoded/ cross-check.
fn valid(corpus: &Path, rel: &str, d: &Dump) -> Result<(), String> {
    d.clean()?;
    all_crcs_valid(d)?;
    match decoded_for(corpus, rel) {
        Some(p) => matches_decoded(d, &p),
        None => Ok(()),
    }
}

/// kafka-go's batch layout notation from its MANIFEST: `v1+gzip(2@19)` is a magic-1 gzip
/// entry holding 2 records whose offset is 19 (for a v1 wrapper, the last inner offset;
/// otherwise the base offset).
fn kafka_go_layout(d: &Dump, layout: &str) -> Result<(), String> {
    let tokens: Vec<&str> = layout.split_whitespace().collect();
    let batches = d.batches();
    eq("batch count", &batches.len(), &tokens.len())?;
    for (i, (t, b)) in tokens.iter().zip(&batches).enumerate() {
        let (head, rest) = t.split_once('(').ok_or("bad layout token")?;
        let (magic, codec) =
            head.trim_start_matches('v').split_once('+').unwrap_or((head.trim_start_matches('v'), "none"));
        let (count, at) = rest.trim_end_matches(')').split_once('@').ok_or("bad layout token")?;
        let magic: i64 = magic.parse().map_err(|_| "bad magic in layout")?;
        let count: i64 = count.parse().map_err(|_| "bad count in layout")?;
        let at: i64 = at.parse().map_err(|_| "bad offset in layout")?;
        let ctx = |e: String| format!("batch #{i} ({t}): {e}");
        eq("magic", &b["magic"], &json!(magic)).map_err(ctx)?;
        eq("compression", &b["compression"], &json!(codec)).map_err(ctx)?;
        eq("count", &b["count"], &json!(count)).map_err(ctx)?;
        let field = if magic < 2 && codec != "none" { "last_offset" } else { "base_offset" };
        eq(field, &b[field], &json!(at)).map_err(ctx)?;
    }
    Ok(())
}

fn kafka_go(corpus: &Path, failures: &Failures, seen: &mut BTreeSet<String>) {
    let expected = read_json(&corpus.join("kafka-go/expected_from_test.json"));
    // From kafka-go/MANIFEST.md.
    let layouts = [
        ("v1-v1.records.bin", "v1(1@0) v1(1@1) v1(1@2) v1(1@3)"),
        (
            "v1-v1c-v2-v2c-v2b-v2b-v2b-v2bc-v1b-v1bc.records.bin",
            "v1(1@0) v1(1@1) v1+gzip(1@2) v1+gzip(1@3) v2(1@4) v2(1@5) v2+gzip(1@6) v2+gzip(1@7) v2(2@8) \
             v2+gzip(2@10) v2(2@12) v2+gzip(2@14) v1(1@16) v1(1@17) v1+gzip(2@19)",
        ),
        ("v1c-v1-v1c.records.bin", "v1+gzip(2@1) v1(1@2) v1(1@3) v1+gzip(1@4) v1+gzip(1@5)"),
        ("v1c-v1c.records.bin", "v1+gzip(2@1) v1+gzip(1@2) v1+gzip(1@3)"),
        ("v2-v2.records.bin", "v2(2@0) v2(2@2)"),
        ("v2b-v1.records.bin", "v2(2@0) v1(1@2) v1(1@3)"),
        ("v2bc-v1-v1c.records.bin", "v2+gzip(2@0) v1(1@2) v1(1@3) v1+gzip(2@5)"),
        ("v2bc-v1.records.bin", "v2+gzip(2@0) v1(1@2) v1(1@3)"),
        ("v2bc-v1c.records.bin", "v2+gzip(2@0) v1+gzip(2@3)"),
        ("v2c-v2-v2c.records.bin", "v2+gzip(2@0) v2(2@2) v2+gzip(2@4)"),
        ("v2c-v2c.records.bin", "v2+gzip(2@0) v2+gzip(2@2)"),
    ];
    assert_eq!(
        expected.as_object().map(|o| o.len()),
        Some(layouts.len()),
        "kafka-go/expected_from_test.json lists other files"
    );
    for (file, layout) in layouts {
        let rel = format!("kafka-go/{file}");
        let seq = expected[file]["expected_key_value_sequence_from_test"].as_array().cloned().unwrap_or_default();
        let want: Vec<Rec> = seq
            .iter()
            .enumerate()
            .map(|(i, kvp)| Rec {
                offset: Some(i as i64), // offsets run 0..N-1 with no gaps
                key: Some(kvp["key"].as_str().and_then(text)),
                value: Some(kvp["value"].as_str().and_then(text)),
                headers: Some(Vec::new()),
                ..Rec::default()
            })
            .collect();
        vector(corpus, failures, seen, &rel, |d| {
            ensure!(!want.is_empty(), "no expected sequence in expected_from_test.json");
            valid(corpus, &rel, d)?;
            records_match(d, &want)?;
            kafka_go_layout(d, layout)
        });
    }
    // The whole Fetch responses are protocol responses, not record sets: never-crash only.
    seen.extend(walk(&corpus.join("kafka-go/fetch_v10_hex")).iter().map(|p| rel_of(corpus, p)));
}

fn rel_of(corpus: &Path, p: &Path) -> String {
    p.strip_prefix(corpus).unwrap_or(p).to_string_lossy().replace('\\', "/")
}

fn kafkajs(corpus: &Path, failures: &Failures, seen: &mut BTreeSet<String>) {
    // What the kafkajs specs assert (expected_from_tests.json), by records file.
    let tests = read_json(&corpus.join("kafkajs/expected_from_tests.json"));
    let mut asserted: BTreeMap<String, Vec<Rec>> = BTreeMap::new();
    for (fixture, runs) in tests.as_object().expect("kafkajs expectations are an object") {
        for run in runs.as_array().into_iter().flatten() {
            let keys = run["keys"].as_array().cloned().unwrap_or_default();
            if keys.is_empty() {
                continue; // request fixtures, produce responses, "throws" tests
            }
            let name = fixture
                .strip_prefix("requests/fetch/fixtures/")
                .and_then(|n| n.strip_suffix(".json"))
                .unwrap_or_else(|| panic!("kafkajs: no records file known for {fixture}"));
            let list = |k: &str| run[k].as_array().cloned().unwrap_or_default();
            let (offsets, values, timestamps) = (list("offsets"), list("values"), list("timestamps"));
            let recs = (0..keys.len())
                .map(|i| Rec {
                    offset: offsets.get(i).and_then(|o| o.as_str()?.parse().ok()),
                    timestamp: timestamps.get(i).and_then(|t| t.as_str()?.parse().ok()),
                    key: Some(keys[i].as_str().and_then(text)),
                    value: values.get(i).map(|v| v.as_str().and_then(text)),
                    ..Rec::default()
                })
                .collect();
            asserted.insert(format!("kafkajs/records/fetch_{name}.records.bin"), recs);
        }
    }
    assert!(asserted.len() >= 15, "kafkajs: expected assertions for 15+ fetch fixtures, found {}", asserted.len());

    // (file, batches, records, magics) from kafkajs/MANIFEST.md's table.
    let table: &[(&str, usize, usize, &[i64])] = &[
        ("fetch_v0_response.records.bin", 1, 1, &[0]),
        ("fetch_v0_response_gzip.records.bin", 3, 3, &[0]),
        ("fetch_v10_response.records.bin", 1, 3, &[2]),
        ("fetch_v11_response.records.bin", 1, 3, &[2]),
        ("fetch_v1_response.records.bin", 1, 1, &[0]),
        ("fetch_v1_response_gzip.records.bin", 1, 3, &[0]),
        ("fetch_v2_response.records.bin", 3, 3, &[1]),
        ("fetch_v2_response_gzip.records.bin", 1, 3, &[1]),
        ("fetch_v3_response.records.bin", 3, 3, &[1]),
        ("fetch_v3_response_gzip.records.bin", 1, 3, &[1]),
        ("fetch_v4_from_scala_producer_response.records.bin", 6, 6, &[2]),
        ("fetch_v4_response.records.bin", 1, 3, &[2]),
        ("fetch_v4_response_010_format.records.bin", 1, 1, &[1]),
        ("fetch_v4_response_gzip.records.bin", 2, 6, &[2]),
        ("fetch_v4_response_mixed_formats.records.bin", 1614, 2425, &[1, 2]),
        ("fetch_v4_response_snappy__p3.records.bin", 1, 1, &[2]),
        ("fetch_v5_response.records.bin", 1, 3, &[2]),
        ("fetch_v6_response.records.bin", 1, 3, &[2]),
        ("fetch_v7_response.records.bin", 1, 3, &[2]),
        ("fetch_v8_response.records.bin", 1, 3, &[2]),
        ("fetch_v9_response.records.bin", 1, 3, &[2]),
        ("produce_v2_request__test-topic-9f825c3f6_p0.records.bin", 3, 3, &[1]),
        ("produce_v2_request_gzip_darwin__test-topic-43395f618_p0.records.bin", 1, 3, &[1]),
        ("produce_v2_request_gzip_linux__test-topic-43395f618_p0.records.bin", 1, 3, &[1]),
        ("produce_v3_request__test-topic-ebba68879_p0.records.bin", 1, 3, &[2]),
        ("produce_v4_request__test-topic-5370ce2c8_p0.records.bin", 1, 3, &[2]),
        ("produce_v5_request__test-topic-1c8ace0ec_p0.records.bin", 1, 3, &[2]),
        ("produce_v6_request__test-topic-390850453_p0.records.bin", 1, 10, &[2]),
        ("produce_v7_request__test-topic-923030b99_p0.records.bin", 1, 10, &[2]),
        ("magic2_gzip_logappendtime_1rec.bin", 1, 1, &[2]),
        ("messages_v0_GZIP.msgset.bin", 1, 3, &[0]),
        ("messages_v0_uncompressed.msgset.bin", 3, 3, &[0]),
    ];
    for &(file, nb, nr, magics) in table {
        let rel = format!("kafkajs/records/{file}");
        let want = asserted.remove(&rel);
        vector(corpus, failures, seen, &rel, |d| {
            valid(corpus, &rel, d)?;
            counts(d, nb, nr)?;
            let got: BTreeSet<i64> = d.batches().iter().filter_map(|b| b["magic"].as_i64()).collect();
            eq("magics", &got, &magics.iter().copied().collect())?;
            if let Some(want) = &want {
                records_match(d, want)?;
            }
            match file {
                // 1611 uncompressed v1 messages, then 3 v2 batches with 814 records.
                "fetch_v4_response_mixed_formats.records.bin" => {
                    let b = d.batches();
                    ensure!(b[..1611].iter().all(|b| b["magic"] == 1), "the first 1611 batches are not all magic 1");
                    ensure!(b[1611..].iter().all(|b| b["magic"] == 2), "the last 3 batches are not all magic 2");
                    let v2: u64 = b[1611..].iter().filter_map(|b| b["count"].as_u64()).sum();
                    eq("records in the v2 batches", &v2, &814)?;
                    offsets_are(d, 0..2425)
                }
                "fetch_v4_response_snappy__p3.records.bin" => batch_is(d, 0, &[("compression", json!("snappy"))]),
                // kafkajs's RecordBatch test: LogAppendTime, so the record reads maxTimestamp.
                "magic2_gzip_logappendtime_1rec.bin" => {
                    batch_is(
                        d,
                        0,
                        &[
                            ("base_offset", json!(0)),
                            ("last_offset", json!(0)),
                            ("base_timestamp", json!(1597425188775_i64)),
                            ("max_timestamp", json!(1597425188809_i64)),
                            ("partition_leader_epoch", json!(0)),
                            ("producer_id", json!(-1)),
                            ("producer_epoch", json!(0)),
                            ("base_sequence", json!(0)),
                            ("timestamp_type", json!("LogAppendTime")),
                            ("compression", json!("gzip")),
                            ("attributes", json!(9)),
                        ],
                    )?;
                    records_match(d, &[Rec { offset: Some(0), timestamp: Some(1597425188809), ..Rec::default() }])
                }
                "messages_v0_uncompressed.msgset.bin" | "messages_v0_GZIP.msgset.bin" => {
                    let want: Vec<Rec> = (0..3)
                        .map(|i| Rec {
                            offset: Some(i),
                            timestamp: Some(-1),
                            ..kv(Some(&format!("key-{i}")), Some(&format!("some-value-{i}")))
                        })
                        .collect();
                    records_match(d, &want)?;
                    if file.contains("GZIP") {
                        // One v0 gzip wrapper at offset 2 holding 3 messages.
                        batch_is(
                            d,
                            0,
                            &[("compression", json!("gzip")), ("last_offset", json!(2)), ("count", json!(3))],
                        )
                    } else {
                        // CRCs 120234579, -141862522 and 1025004472.
                        for (i, crc) in [120234579_u32, (-141862522_i32) as u32, 1025004472].into_iter().enumerate() {
                            batch_is(d, i, &[("crc", json!(crc))])?;
                        }
                        Ok(())
                    }
                }
                // Producers write wrapper offset 0 with inner 0..2; the inner offsets are used as they are.
                f if f.starts_with("produce_v2_request_gzip") => offsets_are(d, 0..3),
                _ => Ok(()),
            }
        });
    }

    // A broker's Fetch response may end in a cut-off entry (max_bytes): kseg reports it as a
    // trailing_bytes problem (exit 1) after the complete entries; the kafkajs tests ignore it.
    let rel = "kafkajs/records/fetch_v2_response_index_out_of_range.records.bin";
    let want = asserted.remove(rel).unwrap_or_default();
    vector(corpus, failures, seen, rel, |d| {
        d.only_problem("trailing_bytes", 129)?;
        ensure!(want.len() == 3, "expected the kafkajs assertions for 3 records");
        records_match(d, &want)?;
        all_crcs_valid(d)?;
        counts(d, 3, 3)
    });
    for p in [0, 3, 6, 9] {
        // 1024 bytes holding only the start of one message: the test expects `messages: []`.
        let rel = format!("kafkajs/records/fetch_v2_response_partial_messages_many_partitions__p{p}.records.bin");
        vector(corpus, failures, seen, &rel, |d| {
            d.only_problem("trailing_bytes", 0)?;
            counts(d, 0, 0)
        });
    }
    // Negative test: attributes say "none" but the records area is a zstd frame.
    vector(corpus, failures, seen, "kafkajs/records/magic2_attrs_none_but_zstd_payload_INVALID.bin", |d| {
        d.has_problem(None).map(drop)
    });
    // Not record sets: one bare v2 record, and the size-prefixed message sets (their
    // `.msgset.bin` twins are checked above). Never-crash only.
    for rel in [
        "kafkajs/records/magic2_single_record_3headers.record.bin",
        "kafkajs/records/messages_v0_GZIP.sizeprefixed.bin",
        "kafkajs/records/messages_v0_uncompressed.sizeprefixed.bin",
    ] {
        seen.insert(rel.to_owned());
    }
    assert!(asserted.is_empty(), "kafkajs assertions not checked: {:?}", asserted.keys().collect::<Vec<_>>());
}

fn kafka_python(corpus: &Path, failures: &Failures, seen: &mut BTreeSet<String>) {
    // test_records.py: "real live data from Kafka 11 broker".
    let v2 = vec![
        Rec { offset: Some(0), timestamp: Some(1503229838908), headers: Some(vec![]), ..kv(None, Some("123")) },
        Rec { offset: Some(1), timestamp: Some(1503229959532), ..kv(None, Some("")) },
        Rec { offset: Some(2), timestamp: Some(1503229959700), ..kv(None, Some("")) },
        Rec { offset: Some(3), timestamp: Some(1503229962141), ..kv(None, Some("123")) },
        Rec {
            offset: Some(0),
            timestamp: Some(1535546684353),
            headers: Some(vec![("hkey".into(), text("hval"))]),
            ..kv(None, Some("hdr"))
        },
    ];
    let v2_batches = |d: &Dump| -> Result<(), String> {
        counts(d, 4, 5)?;
        batch_is(
            d,
            0,
            &[("base_offset", json!(0)), ("partition_leader_epoch", json!(1)), ("timestamp_type", json!("CreateTime"))],
        )?;
        batch_is(d, 1, &[("base_offset", json!(1)), ("partition_leader_epoch", json!(2)), ("count", json!(2))])?;
        batch_is(d, 2, &[("base_offset", json!(3))])?;
        batch_is(d, 3, &[("base_offset", json!(0))])?;
        ensure!(d.batches().iter().all(|b| b["producer_id"] == -1), "producerId is not -1 everywhere");
        records_match(d, &v2)
    };
    // v1: checksum 1199974594 on the first message.
    let v1: Vec<Rec> = [(1503648000942, "123"), (1503648001984, ""), (1503648002162, ""), (1503648004099, "123")]
        .iter()
        .enumerate()
        .map(|(i, &(ts, v))| Rec { offset: Some(i as i64), timestamp: Some(ts), ..kv(None, Some(v)) })
        .collect();
    let v1_batches = |d: &Dump| -> Result<(), String> {
        counts(d, 4, 4)?;
        batch_is(d, 0, &[("magic", json!(1)), ("crc", json!(1199974594)), ("timestamp_type", json!("CreateTime"))])?;
        records_match(d, &v1)
    };
    // v0 ("real live data from Kafka 10 broker"): checksum -22012481 & 0xffffffff; no timestamps.
    let v0: Vec<Rec> = ["123", "", "", "123"]
        .iter()
        .enumerate()
        .map(|(i, v)| Rec { offset: Some(i as i64), timestamp: Some(-1), ..kv(None, Some(v)) })
        .collect();
    let v0_batches = |d: &Dump| -> Result<(), String> {
        counts(d, 4, 4)?;
        batch_is(d, 0, &[("magic", json!(0)), ("crc", json!(0xFEB01DBF_u32))])?;
        records_match(d, &v0)
    };
    type Check<'a> = &'a dyn Fn(&Dump) -> Result<(), String>;
    let sets: [(&str, u64, Check); 3] = [
        ("kafka011_broker_v2_4batches_value123", 299, &v2_batches),
        ("v1_4messages_value123", 142, &v1_batches),
        ("kafka010_broker_v0_4messages_value123", 110, &v0_batches),
    ];
    for (stem, valid_bytes, check) in sets {
        let rel = format!("kafka-python/{stem}.bin");
        vector(corpus, failures, seen, &rel, |d| {
            valid(corpus, &rel, d)?;
            check(d)
        });
        // The same bytes + 4 zero bytes. kafka-python ignores them (valid_bytes excludes them);
        // kseg reports a zero tail as one `preallocated_tail` problem at the end of the valid bytes.
        let rel = format!("kafka-python/{stem}.plus4zero.bin");
        vector(corpus, failures, seen, &rel, |d| {
            d.only_problem("preallocated_tail", valid_bytes)?;
            all_crcs_valid(d)?;
            check(d)
        });
    }
    // Hand-made control batch whose CRC field does not match: the CRC problem must be reported,
    // and the record still reads as an ABORT marker (what the upstream test asserts).
    vector(corpus, failures, seen, "kafka-python/v2_control_batch_abort_1rec.bin", |d| {
        d.only_problem("crc_mismatch", 0)?;
        batch_is(d, 0, &[("is_control", json!(true)), ("crc_valid", json!(false)), ("crc", json!(0x6597FFD0_u32))])?;
        records_match(
            d,
            &[Rec {
                offset: Some(0),
                timestamp: Some(9999999),
                control: Some("ABORT"),
                ..kv(Some("\0\0\0\0"), Some("opaque-control-message"))
            }],
        )
    });
    // Corrupt/short inputs: a problem with a byte position, no records.
    for rel in ["kafka-python/corrupt_offset3_len3_INVALID.bin", "kafka-python/short_3bytes_INVALID.bin"] {
        vector(corpus, failures, seen, rel, |d| {
            d.has_problem(None)?;
            counts(d, 0, 0)
        });
    }
}

fn sarama(corpus: &Path, failures: &Failures, seen: &mut BTreeSet<String>) {
    // The record shared by the v2 cases (recordBatchTestCases).
    let shared = |ts: i64| Rec {
        offset: Some(0),
        timestamp: Some(ts),
        key: Some(Some(vec![1, 2, 3, 4])),
        value: Some(Some(vec![5, 6, 7])),
        headers: Some(vec![("\u{8}\t\n".into(), Some(vec![0x0b, 0x0c]))]),
        control: None,
    };
    let common = [
        ("base_offset", json!(0)),
        ("producer_id", json!(0)),
        ("producer_epoch", json!(0)),
        ("base_sequence", json!(0)),
        ("partition_leader_epoch", json!(0)),
    ];
    let v2_one = [
        ("v2_none_1rec_header.bin", "none", 1479847795005_i64, Some(0x547961FD_u32)),
        ("v2_gzip_1rec_header.bin", "gzip", 1479847795005, None),
        ("v2_snappy_xerial_1rec_header.bin", "snappy", 1479847795005, None),
        ("v2_lz4_1rec_header.bin", "lz4", 1479847795005, None),
        ("v2_none_1rec_header_ts10.bin", "none", 15, Some(0xDB4714C9)),
    ];
    for (file, codec, ts, crc) in v2_one {
        let rel = format!("sarama/{file}");
        vector(corpus, failures, seen, &rel, |d| {
            valid(corpus, &rel, d)?;
            counts(d, 1, 1)?;
            batch_is(d, 0, &common)?;
            batch_is(d, 0, &[("compression", json!(codec)), ("max_timestamp", json!(0)), ("magic", json!(2))])?;
            if let Some(crc) = crc {
                batch_is(d, 0, &[("crc", json!(crc)), ("size", json!(82))])?;
            }
            records_match(d, &[shared(ts)])
        });
    }
    vector(corpus, failures, seen, "sarama/v2_empty_batch.bin", |d| {
        valid(corpus, "sarama/v2_empty_batch.bin", d)?;
        counts(d, 1, 0)?;
        batch_is(
            d,
            0,
            &[
                ("count", json!(0)),
                ("attributes", json!(0)),
                ("crc", json!(0x595FB7DD_u32)),
                ("base_timestamp", json!(0)),
                ("max_timestamp", json!(0)),
            ],
        )
    });
    vector(corpus, failures, seen, "sarama/v2_control_batch_no_records.bin", |d| {
        valid(corpus, "sarama/v2_control_batch_no_records.bin", d)?;
        counts(d, 1, 0)?;
        batch_is(
            d,
            0,
            &[
                ("count", json!(0)),
                ("attributes", json!(0x20)),
                ("is_control", json!(true)),
                ("crc", json!(0x512E43D9_u32)),
            ],
        )
    });
    vector(corpus, failures, seen, "sarama/v2_zero_records_pid1_seq61.bin", |d| {
        valid(corpus, "sarama/v2_zero_records_pid1_seq61.bin", d)?;
        counts(d, 1, 0)?;
        batch_is(
            d,
            0,
            &[
                ("count", json!(0)),
                ("base_timestamp", json!(10)),
                ("max_timestamp", json!(11)),
                ("producer_id", json!(1)),
                ("producer_epoch", json!(0)),
                ("base_sequence", json!(61)),
            ],
        )
    });
    // The first 64 bytes of an 82-byte batch: sarama treats it as a partial trailing batch
    // (no records, no error); kseg reports the partial entry as trailing_bytes.
    vector(corpus, failures, seen, "sarama/v2_truncated_batch_partial.bin", |d| {
        d.only_problem("trailing_bytes", 0)?;
        counts(d, 0, 0)
    });

    // Legacy message sets (the DERIVED `.msgset.bin` files with offset + size in front).
    vector(corpus, failures, seen, "sarama/legacy_v0_none_nullkey_nullvalue.msgset.bin", |d| {
        valid(corpus, "sarama/legacy_v0_none_nullkey_nullvalue.msgset.bin", d)?;
        counts(d, 1, 1)?;
        batch_is(d, 0, &[("magic", json!(0)), ("crc", json!(0xA7EC6803_u32))])?;
        records_match(d, &[kv(None, None)])
    });
    vector(corpus, failures, seen, "sarama/legacy_v1_none_nullkey_nullvalue_ts0.msgset.bin", |d| {
        valid(corpus, "sarama/legacy_v1_none_nullkey_nullvalue_ts0.msgset.bin", d)?;
        counts(d, 1, 1)?;
        batch_is(d, 0, &[("magic", json!(1))])?;
        records_match(d, &[Rec { timestamp: Some(0), ..kv(None, None) }])
    });
    // Wrappers with 2 inner messages at offsets 0 and 1, value "" (empty, not null). The snappy
    // one's inner keys are "" (empty); the gzip one's are null (length -1 in the inner messages,
    // as decoded/ says too, although the MANIFEST says "as in the snappy case").
    for (file, codec, key) in [
        ("legacy_v0_snappy_xerial_wrapper_2msgs.msgset.bin", "snappy", Some("")),
        ("legacy_v0_gzip_wrapper_2msgs.msgset.bin", "gzip", None),
    ] {
        let rel = format!("sarama/{file}");
        vector(corpus, failures, seen, &rel, |d| {
            valid(corpus, &rel, d)?;
            counts(d, 1, 2)?;
            batch_is(d, 0, &[("magic", json!(0)), ("compression", json!(codec)), ("count", json!(2))])?;
            records_match(
                d,
                &[Rec { offset: Some(0), ..kv(key, Some("")) }, Rec { offset: Some(1), ..kv(key, Some("")) }],
            )
        });
    }
    // v0 messages inside a v1 lz4 wrapper (Kafka does not write this, but kafka-clients reads it):
    // wrapper timestamp = Go's zero time, inner offsets 0 and 1, key nil.
    vector(corpus, failures, seen, "sarama/legacy_v1_lz4_wrapper_2msgs.msgset.bin", |d| {
        valid(corpus, "sarama/legacy_v1_lz4_wrapper_2msgs.msgset.bin", d)?;
        counts(d, 1, 2)?;
        batch_is(
            d,
            0,
            &[("magic", json!(1)), ("compression", json!("lz4")), ("max_timestamp", json!(-6795364578871_i64))],
        )?;
        records_match(
            d,
            &[
                Rec { offset: Some(0), key: Some(None), ..Rec::default() },
                Rec { offset: Some(1), key: Some(None), ..Rec::default() },
            ],
        )
    });
    // kafka-clients rejects these ("invalid compressed record set with no inner records",
    // "Invalid wrapper compressionType ... 1"): problems, not records.
    for file in [
        "legacy_v0_gzip_empty_value.msgset.bin",
        "legacy_v1_lz4_empty_value.msgset.bin",
        "legacy_v1_zstd_empty_value.msgset.bin",
        "legacy_v1_zstd_wrapper_2msgs.msgset.bin",
    ] {
        vector(corpus, failures, seen, &format!("sarama/{file}"), |d| {
            d.has_problem(None)?;
            eq("record count", &d.records().len(), &0)
        });
    }
    vector(corpus, failures, seen, "sarama/msgset_v0_offset_5570560_value_00EE.bin", |d| {
        valid(corpus, "sarama/msgset_v0_offset_5570560_value_00EE.bin", d)?;
        counts(d, 1, 1)?;
        records_match(
            d,
            &[Rec { offset: Some(5570560), key: Some(None), value: Some(Some(vec![0x00, 0xEE])), ..Rec::default() }],
        )
    });
    // The same message, then a truncated entry (offset -1, size 255, 8 bytes): the test expects
    // 1 message and the partial entry ignored; kseg reports it as trailing_bytes.
    vector(corpus, failures, seen, "sarama/msgset_v0_then_partial_overflow_entry.bin", |d| {
        d.only_problem("trailing_bytes", 28)?;
        all_crcs_valid(d)?;
        records_match(
            d,
            &[Rec { offset: Some(5570560), key: Some(None), value: Some(Some(vec![0x00, 0xEE])), ..Rec::default() }],
        )
    });
    // Not record sets: bare messages without the log framing (`*.message.bin`) and the
    // control-record key/value payloads. Never-crash only.
    for p in walk(&corpus.join("sarama")) {
        let rel = rel_of(corpus, &p);
        if rel.ends_with(".message.bin") || rel.contains("/control_record_") {
            seen.insert(rel);
        }
    }
}

fn kafka_protocol_rs(corpus: &Path, failures: &Failures, seen: &mut BTreeSet<String>) {
    let batch = |crc: u32| {
        vec![
            ("base_offset", json!(0)),
            ("last_offset", json!(3)), // lastOffsetDelta 3 with only 1 record
            ("count", json!(1)),
            ("crc", json!(crc)),
            ("compression", json!("none")),
            ("magic", json!(2)),
            ("base_timestamp", json!(0)),
            ("max_timestamp", json!(1099511627776_i64)),
            ("producer_id", json!(0)),
            ("producer_epoch", json!(0)),
            ("base_sequence", json!(0)),
        ]
    };
    // Record attributes 0x01 (unusual), timestampDelta 1000, offsetDelta 1.
    let rec = |k: &str, v: &str| Rec {
        offset: Some(1),
        timestamp: Some(1000),
        headers: Some(vec![]),
        ..kv(Some(k), Some(v))
    };
    let first = (batch(0x736D297B), rec("hello", "world"));
    let second = (batch(0x04B94D7B), rec("hiiii", "byeee"));
    for (file, (fields, r)) in
        [("v2_batch_first_record_hello_world.bin", &first), ("v2_batch_second_record_hello_hiiii_byeee.bin", &second)]
    {
        let rel = format!("kafka-protocol-rs/{file}");
        vector(corpus, failures, seen, &rel, |d| {
            valid(corpus, &rel, d)?;
            counts(d, 1, 1)?;
            batch_is(d, 0, fields)?;
            records_match(d, std::slice::from_ref(r))
        });
    }
    // Both arrays back to back: two valid batches with the same base offset 0.
    let rel = "kafka-protocol-rs/v2_two_batches_concatenated.bin";
    vector(corpus, failures, seen, rel, |d| {
        valid(corpus, rel, d)?;
        counts(d, 2, 2)?;
        batch_is(d, 0, &first.0)?;
        batch_is(d, 1, &second.0)?;
        records_match(d, &[first.1.clone(), second.1.clone()])
    });
}

const RECORD_SET_FOLDERS: [&str; 5] = ["kafka-go", "kafkajs", "kafka-python", "sarama", "kafka-protocol-rs"];

#[test]
fn record_set_vectors() {
    let corpus = corpus_or_skip!("record_set_vectors");
    let failures = Failures::default();
    let mut seen = BTreeSet::new();
    kafka_go(&corpus, &failures, &mut seen);
    kafkajs(&corpus, &failures, &mut seen);
    kafka_python(&corpus, &failures, &mut seen);
    sarama(&corpus, &failures, &mut seen);
    kafka_protocol_rs(&corpus, &failures, &mut seen);

    // Every binary vector must have been given an expectation (or deliberately skipped), so a
    // file added to the corpus is not silently left out.
    let mut unchecked = Vec::new();
    for folder in RECORD_SET_FOLDERS {
        for p in walk(&corpus.join(folder)) {
            let rel = rel_of(&corpus, &p);
            let data = p.extension().is_some_and(|e| e == "bin" || e == "hex");
            if data && !seen.contains(&rel) {
                unchecked.push(rel);
            }
        }
    }
    failures.check(
        Path::new("record-set folders"),
        if unchecked.is_empty() { Ok(()) } else { Err(format!("files without an expectation: {unchecked:?}")) },
    );
    failures.finish("record-set vectors");
}

// ---------------------------------------------------------------------------------------------
// 3. Real broker directories
// ---------------------------------------------------------------------------------------------

fn broker_folders(corpus: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(corpus)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            !RECORD_SET_FOLDERS.contains(&name.as_ref()) && name != "kafka-python-generated"
        })
        .collect();
    out.sort();
    out
}

/// A segment or KRaft snapshot: `.log`, `.checkpoint`, or a snapshot marked `.checkpoint.deleted`.
fn is_log_framed(p: &Path) -> bool {
    let name = p.file_name().unwrap().to_string_lossy();
    name.ends_with(".log") || name.ends_with(".checkpoint") || name.ends_with(".checkpoint.deleted")
}

/// Compare a dump with the reference decoder's `summary.json` entry for that file.
fn matches_summary(d: &Dump, s: &Value) -> Result<(), String> {
    let batches = d.batches();
    let records = d.records();
    let set = |k: &str| -> BTreeSet<String> { batches.iter().map(|b| b[k].to_string()).collect() };
    let mut control: BTreeMap<String, u64> = BTreeMap::new();
    for r in &records {
        if let Some(t) = r["control"]["type"].as_str() {
            *control.entry(t.to_owned()).or_default() += 1;
        }
    }
    let got = json!({
        "batch_count": batches.len(),
        "record_count": records.len(),
        "all_crc_ok": batches.iter().all(|b| b["crc_valid"] == true),
        "transactional_batches": batches.iter().filter(|b| b["is_transactional"] == true).count(),
        "control_batches": batches.iter().filter(|b| b["is_control"] == true).count(),
        "control_record_types": control,
        "first_batch_base_offset": batches.first().map(|b| b["base_offset"].clone()),
        "last_offset": batches.last().map(|b| b["last_offset"].clone()),
        "headers_total": records.iter().map(|r| r["headers"].as_array().map_or(0, Vec::len)).sum::<usize>(),
        "null_keys": records.iter().filter(|r| r["key"].is_null()).count(),
    });
    for (k, v) in got.as_object().unwrap() {
        if let Some(want) = s.get(k) {
            eq(format!("{k} (vs summary.json)"), v, want)?;
        }
    }
    for (k, sk) in [
        ("magic", "magics"),
        ("compression", "compressions"),
        ("producer_id", "producer_ids"),
        ("partition_leader_epoch", "leader_epochs"),
    ] {
        if let Some(want) = s.get(sk).and_then(Value::as_array) {
            let want: BTreeSet<String> = want.iter().map(Value::to_string).collect();
            eq(format!("{sk} (vs summary.json)"), &set(k), &want)?;
        }
    }
    Ok(())
}

/// Facts the MANIFESTs single out, checked on top of the generic ones.
fn manifest_highlights(rel: &str, d: &Dump) -> Result<(), String> {
    let b = d.batches();
    let r = d.records();
    match rel {
        "danielowo2000-bigdata-kafka350-ksql/kafka_data/_confluent-ksql-default__command_topic-0/00000000000000000000.log" =>
        {
            // 4 data batches + 4 COMMIT markers, alternating, all transactional, producer 0, epochs 0..3.
            counts(d, 8, 8)?;
            for (i, b) in b.iter().enumerate() {
                let control = i % 2 == 1;
                ensure!(
                    b["is_transactional"] == true && b["is_control"] == control,
                    "batch #{i}: transactional/control bits"
                );
                eq(format!("batch #{i} producer_id"), &b["producer_id"], &json!(0))?;
                eq(format!("batch #{i} base_sequence"), &b["base_sequence"], &json!(if control { -1 } else { 0 }))?;
                if control {
                    eq(format!("batch #{i} attributes"), &b["attributes"], &json!(0x30))?;
                }
            }
            let epochs: BTreeSet<i64> = b.iter().filter_map(|b| b["producer_epoch"].as_i64()).collect();
            eq("producer epochs", &epochs, &(0..4).collect())?;
            for c in r.iter().filter(|r| r["control"].is_object()) {
                eq("control type", &c["control"]["type"], &json!("COMMIT"))?;
                eq("coordinator_epoch", &c["control"]["coordinator_epoch"], &json!(0))?;
                eq("control key", &c["key"], &json!("00000001"))?;
                eq("control value", &c["value"], &json!("000000000000"))?;
            }
            Ok(())
        }
        "arthurarutunyan04-backend-labs-kafka400/kafka-data/__consumer_offsets-19/00000000000000000000.log" => {
            // Compacted: named base 0, first batch at 186795, in-batch gaps.
            counts(d, 3, 7)?;
            batch_is(d, 0, &[("base_offset", json!(186795))])?;
            let gap = b.iter().find(|b| b["base_offset"] == 258466).ok_or("no batch 258466..258515")?;
            eq("last_offset", &gap["last_offset"], &json!(258515))?;
            let inside: Vec<&Value> = r
                .iter()
                .map(|r| &r["offset"])
                .filter(|o| (258466..=258515).contains(&o.as_i64().unwrap_or(0)))
                .collect();
            eq("offsets in 258466..258515", &inside, &vec![&json!(258480), &json!(258496), &json!(258515)])?;
            eq("last offset", &b[2]["last_offset"], &json!(258526))
        }
        "arthurarutunyan04-backend-labs-kafka400/kafka-data/oms_order_status_changed-1/00000000000000021236.log" => {
            // Leader epochs 10@21236, 12@23745, 14@24492 over 936, 291 and 64 batches; snappy.
            counts(d, 1291, 3415)?;
            ensure!(b.iter().all(|b| b["compression"] == "snappy"), "not every batch is snappy");
            let mut runs: Vec<(i64, i64, usize)> = Vec::new();
            for b in &b {
                let epoch = b["partition_leader_epoch"].as_i64().unwrap_or(-1);
                match runs.last_mut() {
                    Some(last) if last.0 == epoch => last.2 += 1,
                    _ => runs.push((epoch, b["base_offset"].as_i64().unwrap_or(-1), 1)),
                }
            }
            eq(
                "(epoch, first offset, batches) runs",
                &runs,
                &vec![(10, 21236, 936), (12, 23745, 291), (14, 24492, 64)],
            )?;
            offsets_are(d, 21236..24651)
        }
        "codecrafters-tester-generated/thanhliemtu-codecrafters-kafka-go__00000000000000000000.log" => {
            counts(d, 2, 3)?;
            batch_is(d, 0, &[("base_offset", json!(1))])
        }
        "codecrafters-tester-generated/jamestjw-kafka-gleam__00000000000000000000.log" => {
            counts(d, 2, 4)?;
            batch_is(d, 1, &[("base_offset", json!(1)), ("partition_leader_epoch", json!(1))])
        }
        "qkrckstjq-spring-kafka/commit-9164386/data/__cluster_metadata-0/00000000000000232914.log" => {
            counts(d, 12493, 12619)?;
            batch_is(d, 0, &[("base_offset", json!(232914))])?;
            eq("last offset", &b[b.len() - 1]["last_offset"], &json!(245532))
        }
        _ => Ok(()),
    }
}

#[test]
fn real_broker_directories() {
    let corpus = corpus_or_skip!("real_broker_directories");
    let folders = broker_folders(&corpus);
    assert!(folders.len() >= 12, "expected the 12 real-broker folders, found {folders:?}");

    // Reference-decoder summaries, keyed by corpus-relative path.
    let mut summaries: BTreeMap<String, Value> = BTreeMap::new();
    for f in &folders {
        let p = f.join("summary.json");
        if p.is_file() {
            for (k, v) in read_json(&p).as_object().unwrap() {
                summaries.insert(format!("{}/{k}", f.file_name().unwrap().to_string_lossy()), v.clone());
            }
        }
    }

    let files: Vec<PathBuf> = folders.iter().flat_map(|f| walk(f)).filter(|p| is_log_framed(p)).collect();
    assert!(files.len() >= 60, "expected 60+ .log/.checkpoint files, found {}", files.len());
    let failures = Failures::default();
    let record_counts: Mutex<BTreeMap<PathBuf, usize>> = Mutex::default();
    par_each(&files, |p| {
        let rel = rel_of(&corpus, p);
        let d = dump(p, &HEX);
        let result = (|| {
            d.clean()?;
            all_crcs_valid(&d)?;
            let size = fs::metadata(p).map_err(|e| e.to_string())?.len();
            if size == 0 {
                counts(&d, 0, 0)?;
            }
            if let Some(s) = summaries.get(&rel).filter(|s| s.get("batch_count").is_some()) {
                matches_summary(&d, s)?;
            }
            if let Some(dec) = decoded_for(&corpus, &rel) {
                matches_decoded(&d, &dec)?;
            }
            manifest_highlights(&rel, &d)
        })();
        record_counts.lock().unwrap().insert(p.clone(), d.records().len());
        failures.check(p, result);
    });
    let record_counts = record_counts.into_inner().unwrap();

    // Every summary.json entry for a log-framed file was looked at.
    for rel in summaries.iter().filter(|(_, s)| s.get("batch_count").is_some()).map(|(k, _)| k) {
        if !record_counts.contains_key(&corpus.join(rel)) {
            failures.check(&corpus.join(rel), Err("listed in summary.json but not found".into()));
        }
    }

    // Partition directories as a whole: every directory holding a `<20 digits>.log` segment, or
    // named `<topic>-<n>`. (codecrafters-tester-generated/ holds renamed logs; it is no partition.)
    let segment_name = |p: &Path| {
        let name = p.file_name().unwrap().to_string_lossy();
        name.strip_suffix(".log").is_some_and(|n| n.len() == 20 && n.bytes().all(|b| b.is_ascii_digit()))
    };
    let mut dirs: BTreeSet<PathBuf> =
        files.iter().filter(|p| segment_name(p)).filter_map(|p| p.parent().map(Path::to_path_buf)).collect();
    for f in &folders {
        for p in walk(f) {
            if let Some(dir) = p.parent() {
                let name = dir.file_name().unwrap().to_string_lossy();
                if name.rsplit_once('-').is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())) {
                    dirs.insert(dir.to_path_buf());
                }
            }
        }
    }
    let dirs: Vec<PathBuf> = dirs.into_iter().collect();
    par_each(&dirs, |dir| {
        let logs: Vec<&PathBuf> = files.iter().filter(|p| p.parent() == Some(dir) && segment_name(p)).collect();
        // Every file of the directory is shown but those being deleted, cleaned or swapped;
        // the log-framed ones (segments, KRaft snapshots) as batches and records.
        let framed: Vec<&PathBuf> = files.iter().filter(|p| p.parent() == Some(dir) && !in_transit(p)).collect();
        let d = dump_counting(dir, &HEX);
        let result = (|| {
            d.clean()?;
            let live_logs: Vec<&Value> =
                d.of_type("file").into_iter().filter(|f| f["kind"] == "log" && f.get("state").is_none()).collect();
            eq("segments in the directory dump", &live_logs.len(), &logs.len())?;
            // Files being deleted, cleaned or swapped are not part of the log: left out.
            let on_disk = fs::read_dir(dir)
                .map_err(|e| e.to_string())?
                .filter(|e| e.as_ref().is_ok_and(|e| e.path().is_file() && !in_transit(&e.path())))
                .count();
            eq("files in the directory dump", &d.of_type("file").len(), &on_disk)?;
            let want: usize = framed.iter().map(|p| record_counts.get(*p).copied().unwrap_or(0)).sum();
            eq("records in the directory dump", &d.count("record"), &want)?;
            // Segments in base-offset order: offsets never go back across files.
            let firsts: Vec<i64> = live_logs.iter().filter_map(|f| f["base_offset"].as_i64()).collect();
            ensure!(firsts.windows(2).all(|w| w[0] < w[1]), "segments not in base-offset order: {firsts:?}");
            Ok(())
        })();
        failures.check(dir, result);
    });
    failures.finish("real broker directories");
}

// ---------------------------------------------------------------------------------------------
// 4. Nothing in the corpus crashes kseg
// ---------------------------------------------------------------------------------------------

#[test]
fn corpus_never_crashes() {
    let corpus = corpus_or_skip!("corpus_never_crashes");
    let files = walk(&corpus);
    assert!(files.len() >= 600, "expected 600+ corpus files, found {}", files.len());
    let failures = Failures::default();
    par_each(&files, |p| {
        // Only the exit status and stderr matter here.
        let out = run_kseg(p, &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let result = if stderr.contains("panicked") {
            Err(format!("kseg panicked: {}", stderr.trim()))
        } else if !matches!(out.status.code(), Some(0..=2)) {
            Err(format!("exit status {:?} (a crash?), stderr: {}", out.status, stderr.trim()))
        } else {
            Ok(())
        };
        failures.check(p, result);
    });
    failures.finish("never crashes");
}

/// A file being deleted, cleaned or swapped in: not part of the log.
fn in_transit(p: &Path) -> bool {
    let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    [".deleted", ".cleaned", ".swap"].iter().any(|s| name.ends_with(s))
}
