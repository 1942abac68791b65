//! Tables for people. Rows are printed in blocks, so memory stays bounded
//! however large the segment is.

use std::io::{self, Write};

use base64::Engine;
use comfy_table::{Cell, CellAlignment, Table, presets};
use kseg::BatchInfo;
use kseg::decode::Decoded;
use kseg::record::Record;

use super::{Encoding, FileStart, Options, Problem, Sink, Summary, rfc3339};

const BLOCK: usize = 500;
const MAX_CELL: usize = 48;

pub struct TableSink<'w> {
    out: Box<dyn Write + 'w>,
    opts: Options,
    rows: Vec<Vec<String>>,
    headers: &'static [&'static str],
}

const BATCH_HEADERS: &[&str] = &[
    "position",
    "offsets",
    "count",
    "magic",
    "codec",
    "crc",
    "timestamp type",
    "max timestamp",
    "producer id/epoch/seq",
    "flags",
    "size",
];
const RECORD_HEADERS: &[&str] = &["offset", "timestamp", "key", "value", "headers"];

impl<'w> TableSink<'w> {
    pub fn new(out: Box<dyn Write + 'w>, opts: Options) -> Self {
        let headers = if opts.records { RECORD_HEADERS } else { BATCH_HEADERS };
        TableSink { out, opts, rows: Vec::new(), headers }
    }

    fn flush_rows(&mut self) -> io::Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let mut t = Table::new();
        t.load_style(presets::UTF8_FULL_CONDENSED);
        t.set_header(self.headers.iter().map(Cell::new));
        let numeric = if self.opts.records { 0..2 } else { 0..3 };
        for row in self.rows.drain(..) {
            t.add_row(row.into_iter().enumerate().map(|(i, s)| {
                let c = Cell::new(s);
                if numeric.contains(&i) { c.set_alignment(CellAlignment::Right) } else { c }
            }));
        }
        writeln!(self.out, "{t}")
    }

    fn push(&mut self, row: Vec<String>) -> io::Result<()> {
        self.rows.push(row);
        if self.rows.len() >= BLOCK { self.flush_rows() } else { Ok(()) }
    }

    fn show(&self, bytes: Option<&[u8]>, enc: Encoding) -> String {
        show_bytes(bytes, enc)
    }
}

fn batch_fields(b: &BatchInfo) -> [String; 11] {
    let codec = b.compression.map_or("invalid", |c| c.name()).to_string();
    let mut flags = Vec::new();
    if b.is_transactional {
        flags.push("txn");
    }
    if b.is_control {
        flags.push("control");
    }
    if b.delete_horizon.is_some() {
        flags.push("delete-horizon");
    }
    [
        b.position.to_string(),
        if b.base_offset == b.last_offset {
            b.base_offset.to_string()
        } else {
            format!("{}..{}", b.base_offset, b.last_offset)
        },
        b.count.map_or("?".into(), |c| c.to_string()),
        format!("v{}", b.magic),
        codec,
        if b.crc_valid { format!("{:08x} ok", b.crc) } else { format!("{:08x} BAD", b.crc) },
        b.timestamp_type.name().to_string(),
        timestamp_text(b.max_timestamp),
        if b.producer_id < 0 {
            "-".into()
        } else {
            format!("{}/{}/{}", b.producer_id, b.producer_epoch, b.base_sequence)
        },
        flags.join(","),
        b.size.to_string(),
    ]
}

fn timestamp_text(ms: i64) -> String {
    match rfc3339(ms) {
        Some(t) => t,
        None => ms.to_string(),
    }
}

/// Text for a terminal: control and bidi characters escaped, long values cut.
pub fn show_bytes(bytes: Option<&[u8]>, enc: Encoding) -> String {
    if enc == Encoding::None {
        return String::new();
    }
    let Some(bytes) = bytes else { return "null".into() };
    let mut s = match enc {
        Encoding::None => return String::new(),
        Encoding::Hex => {
            let mut s = String::new();
            super::json::hex_into(&bytes[..bytes.len().min(MAX_CELL)], &mut s);
            s
        }
        Encoding::Base64 => base64::engine::general_purpose::STANDARD.encode(&bytes[..bytes.len().min(MAX_CELL)]),
        Encoding::Utf8 => match std::str::from_utf8(bytes) {
            Ok(text) => sanitize(text),
            // Binary data reads better as hex than as replacement characters.
            Err(_) => {
                let mut s = String::from("0x");
                super::json::hex_into(&bytes[..bytes.len().min(MAX_CELL)], &mut s);
                s
            }
        },
    };
    if s.chars().count() > MAX_CELL
        || (s.is_ascii() && bytes.len() > MAX_CELL && !s.contains(' ') && enc != Encoding::Utf8)
    {
        s = s.chars().take(MAX_CELL).collect::<String>() + &format!("… ({} bytes)", bytes.len());
    }
    s
}

fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(4 * MAX_CELL));
    for c in text.chars().take(4 * MAX_CELL) {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || ('\u{202a}'..='\u{202e}').contains(&c) || ('\u{2066}'..='\u{2069}').contains(&c) => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// Longest decoded text shown in a cell.
const MAX_DECODED: usize = 2000;

/// Decoded text for a cell: terminal-safe, and cut when very long.
fn cap(text: String) -> String {
    let n = text.chars().count();
    let mut s: String = text.chars().take(MAX_DECODED).map(|c| if c.is_control() { ' ' } else { c }).collect();
    if n > MAX_DECODED {
        s.push_str(&format!("… ({n} characters)"));
    }
    s
}

impl TableSink<'_> {
    fn record_row(&mut self, r: &Record<'_>, decoded: Option<&Decoded>) -> io::Result<()> {
        let headers = r
            .headers
            .iter()
            .map(|(k, v)| format!("{}={}", show_bytes(Some(k), Encoding::Utf8), self.show(v, self.opts.value_encoding)))
            .collect::<Vec<_>>()
            .join(", ");
        let mut key = self.show(r.key, self.opts.key_encoding);
        let value = match (&r.control, decoded) {
            // Control records: the decoded marker instead of raw key and value.
            (Some(c), _) => {
                key = show_bytes(r.key, Encoding::Hex);
                cap(serde_json::to_string(c).unwrap_or_default())
            }
            (None, Some(d)) => {
                let (k, v) = d.texts();
                if !k.is_empty() {
                    key = cap(k);
                }
                cap(v)
            }
            (None, None) => self.show(r.value, self.opts.value_encoding),
        };
        let row = vec![r.offset.to_string(), timestamp_text(r.timestamp), key, value, headers];
        self.push(row)
    }
}

impl Sink for TableSink<'_> {
    fn begin_file(&mut self, f: &FileStart<'_>) -> io::Result<()> {
        self.flush_rows()?;
        writeln!(self.out, "{} ({}, {} bytes)", f.file, f.kind, f.size)
    }

    fn batch(&mut self, _file: &str, b: &BatchInfo) -> io::Result<()> {
        if !self.opts.records {
            return self.push(batch_fields(b).into());
        }
        self.flush_rows()?;
        let [pos, offsets, count, magic, codec, crc, ts_type, max_ts, producer, flags, size] = batch_fields(b);
        let producer = if producer == "-" { String::new() } else { format!(" producer {producer}") };
        let flags = if flags.is_empty() { String::new() } else { format!(" [{flags}]") };
        writeln!(
            self.out,
            "batch at {pos}: offsets {offsets}, {count} records, {magic} {codec}, crc {crc}, {ts_type} max {max_ts}{producer}{flags}, {size} bytes"
        )
    }

    fn record(&mut self, _file: &str, _b: &BatchInfo, r: &Record<'_>) -> io::Result<()> {
        self.record_row(r, None)
    }

    fn record_decoded(&mut self, _file: &str, _b: &BatchInfo, r: &Record<'_>, d: &Decoded) -> io::Result<()> {
        self.record_row(r, Some(d))
    }
    fn problem(&mut self, _p: &Problem) -> io::Result<()> {
        // Problems go to stderr; flush so they appear after the rows before them.
        self.flush_rows()?;
        self.out.flush()
    }

    fn end_file(&mut self) -> io::Result<()> {
        self.flush_rows()
    }

    fn finish(&mut self, s: &Summary) -> io::Result<()> {
        self.flush_rows()?;
        writeln!(
            self.out,
            "{} files, {} batches, {} records, {} bytes, {} problems",
            s.files, s.batches, s.records, s.bytes, s.problems
        )?;
        self.out.flush()
    }
}
