//! JSON and JSON Lines. Records are written by hand into a buffered writer,
//! with no allocation per record: this is the hot path of a full dump.

use super::simd::escape_json;
use std::io::{self, Write};

use base64::Engine;
use kseg::BatchInfo;
use kseg::format::checkpoint::{Entry as CheckpointEntry, Header as CheckpointHeader};
use kseg::format::index::{OffsetEntry, TimeEntry};
use kseg::format::record::Record;
use kseg::format::snapshot::{ProducerEntry, SnapshotHeader};
use kseg::format::txnindex::AbortedTxn;
use kseg::topics::TopicRecord;
use serde::Serialize;

use super::{Encoding, FileStart, Options, Out, Problem, Sink, Summary};

pub struct JsonSink<'w> {
    out: Box<dyn Out + 'w>,
    /// Bytes collected in `line` before one write to `out`.
    flush_at: usize,
    opts: Options,
    lines: bool,
    first: bool,
    line: Vec<u8>,
    /// The current file's topic and partition, from its directory's name.
    place: Option<(String, i32)>,
    /// `,"file":…` and the topic and partition, written once per file and
    /// copied into every record and batch object.
    record_place: Vec<u8>,
    /// The file `record_place` names.
    record_file: String,
}

#[derive(Serialize)]
struct Tagged<'a, T: Serialize> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    topic: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    partition: Option<i32>,
    #[serde(flatten)]
    body: &'a T,
}

impl<'w> JsonSink<'w> {
    pub fn new(out: Box<dyn Out + 'w>, opts: Options, lines: bool) -> Self {
        JsonSink {
            flush_at: out.batch_bytes(),
            out,
            opts,
            lines,
            first: true,
            line: Vec::new(),
            place: None,
            record_place: Vec::new(),
            record_file: String::new(),
        }
    }

    /// Everything goes through `line`: the separator, then the item.
    fn separator(&mut self) -> io::Result<()> {
        if self.lines {
            return Ok(());
        }
        let sep: &[u8] = if self.first { b"[\n" } else { b",\n" };
        self.first = false;
        self.line.extend_from_slice(sep);
        Ok(())
    }

    fn item<T: Serialize>(&mut self, kind: &'static str, file: Option<&str>, body: &T) -> io::Result<()> {
        self.separator()?;
        let tagged = Tagged { kind, file, topic: None, partition: None, body };
        serde_json::to_writer(&mut self.line, &tagged).map_err(io::Error::other)?;
        self.end_item()
    }

    /// An object of a file's contents with the file's topic and partition.
    fn placed<T: Serialize>(&mut self, kind: &'static str, file: &str, body: &T) -> io::Result<()> {
        self.separator()?;
        let (topic, partition) = match &self.place {
            Some((t, p)) => (Some(t.as_str()), Some(*p)),
            None => (None, None),
        };
        let tagged = Tagged { kind, file: Some(file), topic, partition, body };
        serde_json::to_writer(&mut self.line, &tagged).map_err(io::Error::other)?;
        self.end_item()
    }

    fn end_item(&mut self) -> io::Result<()> {
        if self.lines {
            self.line.push(b'\n');
        }
        if self.line.len() >= self.flush_at { self.flush_line() } else { Ok(()) }
    }

    /// The current file's topic and partition, for the objects of its contents.
    fn set_place(&mut self, file: &FileStart<'_>) {
        self.place = super::topic_partition(std::path::Path::new(file.file));
        self.record_place.clear();
        self.record_file.clear();
        self.record_file.push_str(file.file);
        self.record_place.extend_from_slice(b",\"file\":");
        escape_str(&mut self.record_place, file.file);
        if let Some((topic, partition)) = &self.place {
            self.record_place.extend_from_slice(b",\"topic\":");
            escape_str(&mut self.record_place, topic);
            self.record_place.extend_from_slice(b",\"partition\":");
            int(&mut self.record_place, *partition);
        }
    }

    fn flush_line(&mut self) -> io::Result<()> {
        if self.line.is_empty() {
            return Ok(());
        }
        self.out.write_vec(&mut self.line)
    }
}

fn int(out: &mut Vec<u8>, v: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// Append `s` as a JSON string if it is valid UTF-8, and return false
/// (appending nothing) if it is not. The vector escaper (`simd.rs`) copies
/// clean runs whole; up to the first non-ASCII byte nothing needs UTF-8
/// validation, and from there the rest is validated once. Most payload text
/// needs little escaping, so this is the hot loop of a JSON dump.
pub fn escape_utf8(out: &mut Vec<u8>, s: &[u8]) -> bool {
    if plain_short(s) {
        // Keys, header names and ids: the vector escaper's setup would cost
        // more than the string.
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s);
        out.push(b'"');
        return true;
    }
    let mark = out.len();
    out.reserve(s.len() + 2);
    out.push(b'"');
    let at = escape_json(out, s, true);
    if at < s.len() {
        if std::str::from_utf8(&s[at..]).is_err() {
            out.truncate(mark);
            return false;
        }
        escape_json(out, &s[at..], false);
    }
    out.push(b'"');
    true
}

/// `s` is 8 to 16 bytes of ASCII that JSON takes as is (no `"`, `\\` or
/// control): two overlapping words checked a byte-lane at a time.
fn plain_short(s: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    /// A lane that is zero; exact for "is there one" (a borrow can only
    /// flag lanes above a real zero).
    #[inline(always)]
    fn zero(x: u64) -> u64 {
        x.wrapping_sub(ONES) & !x & HIGH
    }
    /// A lane below 0x20 (exact when no lane has its high bit set, and a
    /// lane with its high bit set is flagged on its own), `"` or `\\`.
    #[inline(always)]
    fn bad(x: u64) -> u64 {
        (x & HIGH) | (x.wrapping_sub(ONES * 0x20) & !x & HIGH) | zero(x ^ (ONES * 0x22)) | zero(x ^ (ONES * 0x5c))
    }
    let n = s.len();
    if !(8..=16).contains(&n) {
        return false;
    }
    let word = |at: usize| {
        u64::from_le_bytes([s[at], s[at + 1], s[at + 2], s[at + 3], s[at + 4], s[at + 5], s[at + 6], s[at + 7]])
    };
    bad(word(0)) | bad(word(n - 8)) == 0
}

/// Append valid UTF-8 `s` as a JSON string.
pub fn escape_str(out: &mut Vec<u8>, s: &str) {
    let ok = escape_utf8(out, s.as_bytes());
    debug_assert!(ok);
}

/// Append `bytes` as a JSON value in `enc` (the caller skips `Encoding::None`).
pub fn write_bytes(out: &mut Vec<u8>, bytes: Option<&[u8]>, enc: Encoding) {
    let Some(bytes) = bytes else {
        out.extend_from_slice(b"null");
        return;
    };
    match enc {
        Encoding::Json if super::json_value::write(out, bytes) => {}
        Encoding::Utf8 | Encoding::None | Encoding::Json => {
            if !escape_utf8(out, bytes) {
                escape_str(out, &String::from_utf8_lossy(bytes));
            }
        }
        Encoding::Hex => {
            const DIGITS: &[u8; 16] = b"0123456789abcdef";
            out.reserve(bytes.len() * 2 + 2);
            out.push(b'"');
            for &b in bytes {
                out.push(DIGITS[(b >> 4) as usize]);
                out.push(DIGITS[(b & 15) as usize]);
            }
            out.push(b'"');
        }
        Encoding::Base64 => {
            out.push(b'"');
            base64::engine::general_purpose::STANDARD.encode_slice_to_vec(bytes, out);
            out.push(b'"');
        }
    }
}

trait EncodeToVec {
    fn encode_slice_to_vec(&self, bytes: &[u8], out: &mut Vec<u8>);
}

impl<E: Engine> EncodeToVec for E {
    fn encode_slice_to_vec(&self, bytes: &[u8], out: &mut Vec<u8>) {
        let start = out.len();
        out.resize(start + base64::encoded_len(bytes.len(), true).unwrap_or(0), 0);
        let n = self.encode_slice(bytes, &mut out[start..]).unwrap_or(0);
        out.truncate(start + n);
    }
}

impl JsonSink<'_> {
    fn write_record(&mut self, r: &Record<'_>, decoded: Option<&TopicRecord>) -> io::Result<()> {
        self.separator()?;
        // Records go straight into our own output buffer (no per-write
        // dispatch): the hot path of a full dump.
        let line = &mut self.line;
        line.extend_from_slice(b"{\"type\":\"record\"");
        line.extend_from_slice(&self.record_place);
        line.extend_from_slice(b",\"offset\":");
        int(line, r.offset);
        line.extend_from_slice(b",\"timestamp\":");
        int(line, r.timestamp);
        if self.opts.key_encoding != Encoding::None {
            line.extend_from_slice(b",\"key\":");
            write_bytes(line, r.key, self.opts.key_encoding);
        }
        if self.opts.value_encoding != Encoding::None {
            line.extend_from_slice(b",\"value\":");
            write_bytes(line, r.value, self.opts.value_encoding);
        }
        line.extend_from_slice(b",\"headers\":[");
        for (i, (k, v)) in r.headers.iter().enumerate() {
            line.extend_from_slice(if i == 0 { b"{\"key\":" } else { b",{\"key\":" });
            write_bytes(line, Some(k), Encoding::Utf8);
            if self.opts.value_encoding != Encoding::None {
                line.extend_from_slice(b",\"value\":");
                write_bytes(line, v, self.opts.value_encoding);
            }
            line.push(b'}');
        }
        line.push(b']');
        if let Some(c) = &r.control {
            line.extend_from_slice(b",\"control\":");
            serde_json::to_writer(&mut *line, c).map_err(io::Error::other)?;
        }
        if let Some(d) = decoded {
            write_decoded(line, d).map_err(io::Error::other)?;
        }
        line.push(b'}');
        if self.lines {
            line.push(b'\n');
        }
        if line.len() >= self.flush_at {
            self.out.write_vec(line)?;
        }
        Ok(())
    }
}

/// `BatchInfo`'s members as its `Serialize` writes them (in field order,
/// `None` as null, enums by name), each after a comma: a batch line per
/// 32 records or so is a few percent of a dump otherwise.
fn batch_members(line: &mut Vec<u8>, b: &BatchInfo) {
    fn opt(line: &mut Vec<u8>, v: Option<impl itoa::Integer>) {
        match v {
            Some(v) => int(line, v),
            None => line.extend_from_slice(b"null"),
        }
    }
    fn flag(line: &mut Vec<u8>, v: bool) {
        line.extend_from_slice(if v { b"true" } else { b"false" });
    }
    line.extend_from_slice(b",\"position\":");
    int(line, b.position);
    line.extend_from_slice(b",\"size\":");
    int(line, b.size);
    line.extend_from_slice(b",\"base_offset\":");
    int(line, b.base_offset);
    line.extend_from_slice(b",\"last_offset\":");
    int(line, b.last_offset);
    line.extend_from_slice(b",\"count\":");
    opt(line, b.count);
    line.extend_from_slice(b",\"magic\":");
    int(line, b.magic);
    line.extend_from_slice(b",\"compression\":");
    match b.compression {
        Some(c) => {
            line.push(b'"');
            line.extend_from_slice(c.name().as_bytes());
            line.push(b'"');
        }
        None => line.extend_from_slice(b"null"),
    }
    line.extend_from_slice(b",\"crc\":");
    int(line, b.crc);
    line.extend_from_slice(b",\"crc_valid\":");
    flag(line, b.crc_valid);
    line.extend_from_slice(b",\"timestamp_type\":\"");
    line.extend_from_slice(b.timestamp_type.name().as_bytes());
    line.extend_from_slice(b"\",\"base_timestamp\":");
    int(line, b.base_timestamp);
    line.extend_from_slice(b",\"max_timestamp\":");
    int(line, b.max_timestamp);
    line.extend_from_slice(b",\"producer_id\":");
    int(line, b.producer_id);
    line.extend_from_slice(b",\"producer_epoch\":");
    int(line, b.producer_epoch);
    line.extend_from_slice(b",\"base_sequence\":");
    int(line, b.base_sequence);
    line.extend_from_slice(b",\"partition_leader_epoch\":");
    int(line, b.partition_leader_epoch);
    line.extend_from_slice(b",\"is_transactional\":");
    flag(line, b.is_transactional);
    line.extend_from_slice(b",\"is_control\":");
    flag(line, b.is_control);
    line.extend_from_slice(b",\"attributes\":");
    int(line, b.attributes);
    line.extend_from_slice(b",\"delete_horizon\":");
    opt(line, b.delete_horizon);
}

/// The decoded members of a record object (see docs/json.md).
fn write_decoded(line: &mut Vec<u8>, d: &TopicRecord) -> serde_json::Result<()> {
    line.extend_from_slice(b",\"record_type\":");
    serde_json::to_writer(&mut *line, &d.record_type)?;
    line.extend_from_slice(b",\"key_decoded\":");
    serde_json::to_writer(&mut *line, &d.key)?;
    line.extend_from_slice(b",\"value_decoded\":");
    serde_json::to_writer(&mut *line, &d.value)?;
    line.extend_from_slice(if d.tombstone { b",\"tombstone\":true" } else { b",\"tombstone\":false" });
    line.extend_from_slice(b",\"decode_notes\":");
    serde_json::to_writer(&mut *line, &d.notes)
}

impl Sink for JsonSink<'_> {
    fn begin_file(&mut self, file: &FileStart<'_>) -> io::Result<()> {
        self.set_place(file);
        self.item("file", None, file)
    }

    fn resume_file(&mut self, file: &FileStart<'_>, _state: super::FileState) -> io::Result<()> {
        // The file's own object went before: every object now follows one.
        self.first = false;
        self.set_place(file);
        Ok(())
    }

    fn write_formatted(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.flush_line()?;
        self.out.write_all(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flush_line()?;
        self.out.flush()
    }

    fn batch(&mut self, file: &str, batch: &BatchInfo) -> io::Result<()> {
        if file != self.record_file {
            return self.placed("batch", file, batch);
        }
        // The members `placed` writes, without serde's flattening and its
        // byte-at-a-time escaping of the path and every key: the type, the
        // file's place as records have it, then the batch's own members.
        self.separator()?;
        self.line.extend_from_slice(b"{\"type\":\"batch\"");
        self.line.extend_from_slice(&self.record_place);
        batch_members(&mut self.line, batch);
        self.line.push(b'}');
        self.end_item()
    }

    fn record(&mut self, _file: &str, _batch: &BatchInfo, r: &Record<'_>) -> io::Result<()> {
        self.write_record(r, None)
    }

    fn record_decoded(&mut self, _file: &str, _batch: &BatchInfo, r: &Record<'_>, d: &TopicRecord) -> io::Result<()> {
        self.write_record(r, Some(d))
    }

    fn problem(&mut self, p: &Problem) -> io::Result<()> {
        self.item("problem", None, p)?;
        // Keep stdout in step with the problem line on stderr.
        self.flush_line()?;
        self.out.flush()
    }

    fn index_entry(&mut self, file: &str, e: &OffsetEntry) -> io::Result<()> {
        self.item("index_entry", Some(file), e)
    }

    fn time_index_entry(&mut self, file: &str, e: &TimeEntry) -> io::Result<()> {
        self.item("time_index_entry", Some(file), e)
    }

    fn txn_entry(&mut self, file: &str, e: &AbortedTxn) -> io::Result<()> {
        self.item("txn_entry", Some(file), e)
    }

    fn snapshot(&mut self, file: &str, h: &SnapshotHeader) -> io::Result<()> {
        self.item("snapshot", Some(file), h)
    }

    fn producer_entry(&mut self, file: &str, e: &ProducerEntry) -> io::Result<()> {
        self.item("producer_entry", Some(file), e)
    }

    fn checkpoint(&mut self, file: &str, h: &CheckpointHeader) -> io::Result<()> {
        self.item("checkpoint", Some(file), h)
    }

    fn checkpoint_entry(&mut self, file: &str, e: &CheckpointEntry) -> io::Result<()> {
        self.item("checkpoint_entry", Some(file), e)
    }

    fn end_file(&mut self) -> io::Result<()> {
        Ok(())
    }

    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        self.item("summary", None, summary)?;
        if !self.lines {
            self.line.extend_from_slice(b"\n]\n");
        }
        self.flush_line()?;
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_match_serde_json() {
        let samples: [&str; 6] = [
            "plain text that needs nothing at all",
            "quote \" and backslash \\ in the middle",
            "\u{0}\u{1}\u{1f}\n\t\r\u{8}\u{c} controls",
            "ünïcödé → 鍵 🔑 with \"quotes\"",
            "\"",
            "0123456\"89abcdef\\",
        ];
        for s in samples {
            let mut out = Vec::new();
            escape_str(&mut out, s);
            let back: String = serde_json::from_slice(&out).unwrap();
            assert_eq!(back, s);
        }
    }

    #[test]
    fn json_values_go_in_as_json_and_the_rest_as_strings() {
        let cases: [(&[u8], serde_json::Value); 7] = [
            (b"{\"a\": [1, 2],\n \"b\": \"x y\\\" z\"}", serde_json::json!({"a": [1, 2], "b": "x y\" z"})),
            (b" 42 ", serde_json::json!(42)),
            (b"\"text\"", serde_json::json!("text")),
            (b"null", serde_json::Value::Null),
            (b"{\"a\": 1", serde_json::json!("{\"a\": 1")),
            (b"plain words", serde_json::json!("plain words")),
            (b"\xff", serde_json::json!("\u{fffd}")),
        ];
        for (bytes, want) in cases {
            let mut out = Vec::new();
            write_bytes(&mut out, Some(bytes), Encoding::Json);
            assert!(!out.contains(&b'\n'), "{}", String::from_utf8_lossy(&out));
            let got: serde_json::Value = serde_json::from_slice(&out).unwrap();
            assert_eq!(got, want, "{}", String::from_utf8_lossy(bytes));
        }
    }

    #[test]
    fn batch_members_are_what_serde_writes() {
        use kseg::format::batch::TimestampType;
        use kseg::format::compression::Compression;
        let mut b = BatchInfo {
            position: u64::MAX,
            size: 0,
            base_offset: i64::MIN,
            last_offset: i64::MAX,
            count: Some(u32::MAX),
            magic: -1,
            compression: None,
            crc: u32::MAX,
            crc_valid: false,
            timestamp_type: TimestampType::NoTimestampType,
            base_timestamp: -1,
            max_timestamp: 1767225600001,
            producer_id: -1,
            producer_epoch: i16::MIN,
            base_sequence: i32::MAX,
            partition_leader_epoch: 0,
            is_transactional: true,
            is_control: false,
            attributes: i16::MAX,
            delete_horizon: None,
        };
        let types = [TimestampType::NoTimestampType, TimestampType::CreateTime, TimestampType::LogAppendTime];
        let codecs = [None, Some(Compression::None), Some(Compression::Gzip), Some(Compression::Snappy)];
        let more = [Some(Compression::Lz4), Some(Compression::Zstd)];
        for (i, compression) in codecs.into_iter().chain(more).enumerate() {
            b.compression = compression;
            b.timestamp_type = types[i % 3];
            b.count = if i % 2 == 0 { None } else { Some(i as u32) };
            b.delete_horizon = if i % 2 == 0 { Some(i as i64 - 3) } else { None };
            (b.crc_valid, b.is_transactional, b.is_control) = (i % 2 == 0, i % 3 == 0, i % 2 == 1);
            let mut line = b"{\"x\":0".to_vec();
            batch_members(&mut line, &b);
            line.push(b'}');
            let mut want = serde_json::to_vec(&b).unwrap();
            want.splice(..1, b"{\"x\":0,".iter().copied());
            assert_eq!(String::from_utf8(line).unwrap(), String::from_utf8(want).unwrap());
        }
    }

    #[test]
    fn plain_short_is_exact() {
        for len in 0..=20usize {
            for at in 0..len {
                for b in 0..=255u8 {
                    let mut s = vec![b'~'; len];
                    s[0] = b' ';
                    s[at] = b;
                    let want = (8..=16).contains(&len)
                        && s.iter().all(|&c| (0x20..0x80).contains(&c) && c != b'"' && c != b'\\');
                    assert_eq!(plain_short(&s), want, "{s:?}");
                }
            }
        }
    }

    #[test]
    fn invalid_utf8_is_replaced_not_passed_through() {
        for bytes in [&b"\xff"[..], b"0123456789abcdef\xc3", b"abc\xe2\x82", b"long ascii prefix here \x80 tail"] {
            let mut out = Vec::new();
            write_bytes(&mut out, Some(bytes), Encoding::Utf8);
            let back: String = serde_json::from_slice(&out).unwrap();
            assert_eq!(back, String::from_utf8_lossy(bytes));
        }
    }
}
