//! JSON and JSON Lines. Records are written by hand into a buffered writer,
//! with no allocation per record: this is the hot path of a full dump.

use std::io::{self, Write};

use base64::Engine;
use kseg::BatchInfo;
use kseg::record::Record;
use serde::Serialize;

use super::{Encoding, FileStart, Options, Problem, Sink, Summary};

pub struct JsonSink<'w> {
    out: Box<dyn Write + 'w>,
    opts: Options,
    lines: bool,
    first: bool,
    scratch: String,
}

#[derive(Serialize)]
struct Tagged<'a, T: Serialize> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<&'a str>,
    #[serde(flatten)]
    body: &'a T,
}

impl<'w> JsonSink<'w> {
    pub fn new(out: Box<dyn Write + 'w>, opts: Options, lines: bool) -> Self {
        JsonSink { out, opts, lines, first: true, scratch: String::new() }
    }

    fn separator(&mut self) -> io::Result<()> {
        if self.lines {
            return Ok(());
        }
        if self.first {
            self.first = false;
            self.out.write_all(b"[\n")
        } else {
            self.out.write_all(b",\n")
        }
    }

    fn end_item(&mut self) -> io::Result<()> {
        if self.lines { self.out.write_all(b"\n") } else { Ok(()) }
    }

    fn item<T: Serialize>(&mut self, kind: &'static str, file: Option<&str>, body: &T) -> io::Result<()> {
        self.separator()?;
        serde_json::to_writer(&mut self.out, &Tagged { kind, file, body }).map_err(io::Error::other)?;
        self.end_item()
    }
}

fn int(out: &mut dyn Write, v: impl itoa::Integer) -> io::Result<()> {
    out.write_all(itoa::Buffer::new().format(v).as_bytes())
}

/// Write `bytes` as a JSON value in `enc` (the caller skips `Encoding::None`).
pub fn write_bytes(out: &mut dyn Write, bytes: Option<&[u8]>, enc: Encoding, scratch: &mut String) -> io::Result<()> {
    let Some(bytes) = bytes else {
        return out.write_all(b"null");
    };
    match enc {
        Encoding::Utf8 | Encoding::None => {
            let text = String::from_utf8_lossy(bytes);
            serde_json::to_writer(out, text.as_ref()).map_err(io::Error::other)
        }
        Encoding::Hex => {
            scratch.clear();
            hex_into(bytes, scratch);
            out.write_all(b"\"")?;
            out.write_all(scratch.as_bytes())?;
            out.write_all(b"\"")
        }
        Encoding::Base64 => {
            scratch.clear();
            base64::engine::general_purpose::STANDARD.encode_string(bytes, scratch);
            out.write_all(b"\"")?;
            out.write_all(scratch.as_bytes())?;
            out.write_all(b"\"")
        }
    }
}

pub fn hex_into(bytes: &[u8], s: &mut String) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    s.reserve(bytes.len() * 2);
    for &b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
}

impl Sink for JsonSink<'_> {
    fn begin_file(&mut self, file: &FileStart<'_>) -> io::Result<()> {
        self.item("file", None, file)
    }

    fn batch(&mut self, file: &str, batch: &BatchInfo) -> io::Result<()> {
        self.item("batch", Some(file), batch)
    }

    fn record(&mut self, _file: &str, _batch: &BatchInfo, r: &Record<'_>) -> io::Result<()> {
        self.separator()?;
        let out = &mut *self.out;
        out.write_all(b"{\"type\":\"record\",\"offset\":")?;
        int(out, r.offset)?;
        out.write_all(b",\"timestamp\":")?;
        int(out, r.timestamp)?;
        if self.opts.key_encoding != Encoding::None {
            out.write_all(b",\"key\":")?;
            write_bytes(out, r.key, self.opts.key_encoding, &mut self.scratch)?;
        }
        if self.opts.value_encoding != Encoding::None {
            out.write_all(b",\"value\":")?;
            write_bytes(out, r.value, self.opts.value_encoding, &mut self.scratch)?;
        }
        out.write_all(b",\"headers\":[")?;
        for (i, (k, v)) in r.headers.iter().enumerate() {
            out.write_all(if i == 0 { b"{\"key\":" } else { b",{\"key\":" })?;
            write_bytes(out, Some(k), Encoding::Utf8, &mut self.scratch)?;
            if self.opts.value_encoding != Encoding::None {
                out.write_all(b",\"value\":")?;
                write_bytes(out, v, self.opts.value_encoding, &mut self.scratch)?;
            }
            out.write_all(b"}")?;
        }
        out.write_all(b"]")?;
        if let Some(c) = &r.control {
            out.write_all(b",\"control\":")?;
            serde_json::to_writer(&mut *out, c).map_err(io::Error::other)?;
        }
        out.write_all(b"}")?;
        self.end_item()
    }

    fn problem(&mut self, p: &Problem) -> io::Result<()> {
        self.item("problem", None, p)
    }

    fn end_file(&mut self) -> io::Result<()> {
        Ok(())
    }

    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        self.item("summary", None, summary)?;
        if !self.lines {
            self.out.write_all(b"\n]\n")?;
        }
        self.out.flush()
    }
}
