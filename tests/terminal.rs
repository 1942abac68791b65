//! Terminal safety: keys, values, header keys and values, group ids, topic
//! names, text-file values and file names carrying ESC sequences, `\r`,
//! backspace, other C0 and C1 controls, DEL and the bidi controls (U+202E
//! and its kin) must never reach a terminal raw from a table or text mode:
//! an ESC sequence can recolour, retitle or clear the screen, `\r` and
//! backspace can overwrite what was printed, and U+202E reverses what
//! follows. The tests look only at what comes out (no forbidden byte
//! sequence, and the printable part of each field still shown), so they
//! hold whatever the table's layout.
//!
//! The one deliberate exception is `kseg kafka-dump-log`, which must print
//! what Kafka's DumpLogSegments prints byte for byte: Kafka decodes keys and
//! values with `StringDecoder` (UTF-8, invalid bytes as U+FFFD) and prints
//! the `String` as it is, control characters included. The last test pins
//! that down, so a change either way is deliberate (docs/kafka-dump-log.md).

use std::path::Path;

use assert_cmd::Command;

mod common;
use common::{root, varint};

/// What must never reach a terminal, with a name for the message.
const FORBIDDEN: [(&str, &str); 15] = [
    ("\u{61c}", "ARABIC LETTER MARK"),
    ("\u{1b}", "ESC"),
    ("\r", "CR"),
    ("\u{8}", "backspace"),
    ("\u{7}", "BEL"),
    ("\u{0}", "NUL"),
    ("\u{7f}", "DEL"),
    ("\u{9b}", "CSI (C1)"),
    ("\u{85}", "NEL (C1)"),
    ("\u{202e}", "RIGHT-TO-LEFT OVERRIDE"),
    ("\u{202d}", "LEFT-TO-RIGHT OVERRIDE"),
    ("\u{202b}", "RIGHT-TO-LEFT EMBEDDING"),
    ("\u{2066}", "LEFT-TO-RIGHT ISOLATE"),
    ("\u{2067}", "RIGHT-TO-LEFT ISOLATE"),
    ("\u{200f}", "RIGHT-TO-LEFT MARK"),
];

/// Hostile text: each piece carries one of the forbidden characters between
/// printable words, which must still be shown.
const NASTY: [&str; 9] = [
    "red\u{1b}[31mRED",
    "title\u{1b}]0;pwned\u{7}TITLE",
    "over\rOVER",
    "back\u{8}\u{8}BACK",
    "rlo\u{202e}OLR",
    "iso\u{2066}ISO\u{2069}end",
    "csi\u{9b}2JCSI",
    "del\u{7f}DEL\u{0}nul",
    "rlm\u{200f}MLR\u{61c}alm",
];

fn assert_safe(what: &str, out: &[u8]) {
    let text = String::from_utf8_lossy(out);
    for (s, name) in FORBIDDEN {
        if let Some(at) = text.find(s) {
            let from = text[..at].char_indices().rev().nth(40).map_or(0, |(i, _)| i);
            panic!("{what}: raw {name} reaches the terminal: …{:?}…", &text[from..(at + 20).min(text.len())]);
        }
    }
    // Control bytes in an invalid UTF-8 context too (lossy decoding keeps them).
    assert!(!out.iter().any(|&b| b < 0x20 && b != b'\n' && b != b'\t'), "{what}: a raw C0 control byte");
}

fn kseg(args: &[&str]) -> (Vec<u8>, Vec<u8>) {
    let out = Command::cargo_bin("kseg").unwrap().current_dir(root()).args(args).output().unwrap();
    assert!(matches!(out.status.code(), Some(0 | 1)), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    (out.stdout, out.stderr)
}

type Record<'a> = (Option<&'a [u8]>, Option<&'a [u8]>, Vec<(&'a [u8], Option<&'a [u8]>)>);

/// An uncompressed v2 batch, CRC-32C computed independently.
fn v2_batch(base: i64, records: &[Record<'_>]) -> Vec<u8> {
    let mut body = Vec::new();
    for (i, (k, v, headers)) in records.iter().enumerate() {
        let mut r = vec![0u8];
        varint(&mut r, 0);
        varint(&mut r, i as i64);
        for f in [k, v] {
            match f {
                Some(b) => {
                    varint(&mut r, b.len() as i64);
                    r.extend_from_slice(b);
                }
                None => varint(&mut r, -1),
            }
        }
        varint(&mut r, headers.len() as i64);
        for (hk, hv) in headers {
            varint(&mut r, hk.len() as i64);
            r.extend_from_slice(hk);
            match hv {
                Some(b) => {
                    varint(&mut r, b.len() as i64);
                    r.extend_from_slice(b);
                }
                None => varint(&mut r, -1),
            }
        }
        varint(&mut body, r.len() as i64);
        body.extend(r);
    }
    let mut after_crc = Vec::new();
    after_crc.extend(0i16.to_be_bytes());
    after_crc.extend((records.len() as i32 - 1).to_be_bytes());
    after_crc.extend(1_700_000_000_000i64.to_be_bytes());
    after_crc.extend(1_700_000_000_000i64.to_be_bytes());
    after_crc.extend((-1i64).to_be_bytes());
    after_crc.extend((-1i16).to_be_bytes());
    after_crc.extend((-1i32).to_be_bytes());
    after_crc.extend((records.len() as i32).to_be_bytes());
    after_crc.extend(body);
    let mut b = base.to_be_bytes().to_vec();
    b.extend(((after_crc.len() + 9) as i32).to_be_bytes());
    b.extend(0i32.to_be_bytes());
    b.push(2);
    b.extend(crc32c::crc32c(&after_crc).to_be_bytes());
    b.extend(after_crc);
    b
}

/// The data segment: every NASTY text as a key, a value, a header key and a
/// header value, plus a key of raw invalid UTF-8 with C0 and C1 bytes.
fn data_segment(dir: &Path) -> String {
    let raw: &[u8] = b"raw\x1b[2J\x9b\xff\rRAW";
    let mut records: Vec<Record<'_>> = NASTY
        .iter()
        .map(|s| (Some(s.as_bytes()), Some(s.as_bytes()), vec![(s.as_bytes(), Some(s.as_bytes()))]))
        .collect();
    records.push((Some(raw), Some(raw), vec![(raw, None)]));
    let log = dir.join("00000000000000000000.log");
    std::fs::write(&log, v2_batch(0, &records)).unwrap();
    log.to_str().unwrap().to_string()
}

/// The printable words around each forbidden character must still be there:
/// as text, or inside the `0x` hex the tables show for a value that is not
/// printable text (issue 14's one display rule: a BEL, NUL, DEL or C1
/// control makes the whole value hex, as binary).
fn assert_shown(what: &str, out: &[u8]) {
    let text = String::from_utf8_lossy(out);
    for word in ["RED", "TITLE", "OVER", "BACK", "OLR", "ISO", "CSI", "DEL"] {
        let hex: String = word.bytes().map(|b| format!("{b:02x}")).collect();
        assert!(text.contains(word) || text.contains(&hex), "{what}: {word} is not shown:\n{text}");
    }
}

#[test]
fn record_fields_are_escaped_in_every_table_and_text_mode() {
    let dir = tempfile::tempdir().unwrap();
    let log = data_segment(dir.path());
    for args in [
        vec!["dump", "--records", &log],
        vec!["dump", "--records", "--key-encoding", "utf8", "--value-encoding", "utf8", &log],
        vec!["dump", &log],
        vec!["stats", &log],
        vec!["verify", &log],
        vec!["producers", &log],
        vec!["find-offset", &log, "3"],
        vec!["find-time", &log, "1700000000000"],
    ] {
        let (stdout, stderr) = kseg(&args);
        assert_safe(&format!("{args:?} stdout"), &stdout);
        assert_safe(&format!("{args:?} stderr"), &stderr);
        if args.len() == 3 && args[1] == "--records" {
            assert_shown(&format!("{args:?}"), &stdout);
        }
    }
}

#[test]
fn internal_topic_names_and_text_files_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    // A __consumer_offsets offset-commit key (version 1: group, topic, partition), tombstone.
    let part = dir.path().join("__consumer_offsets-0");
    std::fs::create_dir(&part).unwrap();
    let group = NASTY[0].as_bytes();
    let topic = NASTY[4].as_bytes();
    let mut key = 1i16.to_be_bytes().to_vec();
    key.extend((group.len() as i16).to_be_bytes());
    key.extend(group);
    key.extend((topic.len() as i16).to_be_bytes());
    key.extend(topic);
    key.extend(0i32.to_be_bytes());
    let log = part.join("00000000000000000000.log");
    std::fs::write(&log, v2_batch(0, &[(Some(&key), None, vec![])])).unwrap();
    // Text files: a checkpoint naming a hostile topic, meta.properties values.
    let cp = dir.path().join("recovery-point-offset-checkpoint");
    std::fs::write(&cp, format!("0\n1\n{} 0 5\n", NASTY[2].replace('\r', "\u{1b}[K"))).unwrap();
    let meta = dir.path().join("meta.properties");
    std::fs::write(&meta, "version=1\nnode.id=1\ncluster.id=a\\u001b[31mRED\\u202eOLR\n").unwrap();
    for args in [
        vec!["dump", "--records", log.to_str().unwrap()],
        vec!["dump", "--records", "--decode", "offsets", log.to_str().unwrap()],
        vec!["dump", cp.to_str().unwrap()],
        vec!["dump", meta.to_str().unwrap()],
        vec!["dump", dir.path().to_str().unwrap()],
    ] {
        let (stdout, stderr) = kseg(&args);
        assert_safe(&format!("{args:?} stdout"), &stdout);
        assert_safe(&format!("{args:?} stderr"), &stderr);
    }
}

/// A partition directory named with an ESC sequence and a bidi override:
/// every command's own lines (headings, file names in findings and notes)
/// show them escaped.
#[test]
fn hostile_file_names_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let part = dir.path().join("t\u{1b}[31mred\u{202e}-0");
    std::fs::create_dir(&part).unwrap();
    let log = part.join("00000000000000000000.log");
    std::fs::write(&log, v2_batch(0, &[(Some(b"k"), Some(b"v"), vec![])])).unwrap();
    let p = part.to_str().unwrap();
    for args in [
        vec!["dump", p],
        vec!["verify", p],
        vec!["stats", p],
        vec!["producers", p],
        vec!["find-offset", p, "0"],
        vec!["find-time", p, "earliest"],
        vec!["ls", p],
    ] {
        let (stdout, stderr) = kseg(&args);
        assert_safe(&format!("{args:?} stdout"), &stdout);
        assert_safe(&format!("{args:?} stderr"), &stderr);
    }
}

/// The deliberate exception: Kafka prints keys, values and header keys as
/// Java `String`s, controls and all; kseg's kafka-dump-log must be byte for
/// byte the same, so here the raw bytes are expected.
#[test]
fn kafka_dump_log_prints_what_kafka_prints_controls_included() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("00000000000000000000.log");
    let s = NASTY[0];
    std::fs::write(&log, v2_batch(0, &[(Some(s.as_bytes()), Some(NASTY[4].as_bytes()), vec![(b"h\r", None)])]))
        .unwrap();
    let (stdout, _) = kseg(&["kafka-dump-log", "--files", log.to_str().unwrap(), "--print-data-log"]);
    let text = String::from_utf8(stdout).unwrap();
    let line = format!(
        "| offset: 0 CreateTime: 1700000000000 keySize: {} valueSize: {} sequence: -1 headerKeys: [h\r] key: {s} payload: {}\n",
        s.len(),
        NASTY[4].len(),
        NASTY[4]
    );
    assert!(text.ends_with(&line), "{text:?}");
}
