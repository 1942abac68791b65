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

use super::{Encoding, FileStart, Options, Problem, Sink, Summary};

/// Bytes collected before one write to the output.
const FLUSH_AT: usize = 1 << 20;

pub struct JsonSink<'w> {
    out: Box<dyn Write + 'w>,
    opts: Options,
    lines: bool,
    first: bool,
    line: Vec<u8>,
    /// The current file's topic and partition, from its directory's name.
    place: Option<(String, i32)>,
    /// `,"file":…` and the topic and partition, written once per file and
    /// copied into every record object.
    record_place: Vec<u8>,
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
    pub fn new(out: Box<dyn Write + 'w>, opts: Options, lines: bool) -> Self {
        JsonSink { out, opts, lines, first: true, line: Vec::new(), place: None, record_place: Vec::new() }
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
        if self.line.len() >= FLUSH_AT { self.flush_line() } else { Ok(()) }
    }

    /// The current file's topic and partition, for the objects of its contents.
    fn set_place(&mut self, file: &FileStart<'_>) {
        self.place = super::topic_partition(std::path::Path::new(file.file));
        self.record_place.clear();
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
        self.out.write_all(&self.line)?;
        self.line.clear();
        Ok(())
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
        Encoding::Json if serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok() => minify_into(out, bytes),
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

/// Append valid JSON `doc` without the whitespace between its tokens: a
/// value's own line breaks must not break a JSON Lines line.
fn minify_into(out: &mut Vec<u8>, doc: &[u8]) {
    out.reserve(doc.len());
    let (mut in_string, mut escaped) = (false, false);
    for &b in doc {
        if in_string {
            out.push(b);
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
            in_string = b == b'"';
            out.push(b);
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
        if line.len() >= FLUSH_AT {
            self.out.write_all(line)?;
            line.clear();
        }
        Ok(())
    }
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
        self.placed("batch", file, batch)
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
    fn invalid_utf8_is_replaced_not_passed_through() {
        for bytes in [&b"\xff"[..], b"0123456789abcdef\xc3", b"abc\xe2\x82", b"long ascii prefix here \x80 tail"] {
            let mut out = Vec::new();
            write_bytes(&mut out, Some(bytes), Encoding::Utf8);
            let back: String = serde_json::from_slice(&out).unwrap();
            assert_eq!(back, String::from_utf8_lossy(bytes));
        }
    }
}
