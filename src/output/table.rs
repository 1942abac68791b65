//! Tables for people. Rows are printed in blocks, so memory stays bounded
//! however large the segment is.

use std::io::{self, Write};

use comfy_table::{Cell, CellAlignment, Table, presets};
use kseg::BatchInfo;
use kseg::format::checkpoint::{Entry as CheckpointEntry, Header as CheckpointHeader};
use kseg::format::index::{OffsetEntry, TimeEntry};
use kseg::format::record::Record;
use kseg::format::snapshot::{ProducerEntry, SnapshotHeader};
use kseg::format::txnindex::AbortedTxn;
use kseg::topics::TopicRecord;

use super::{Encoding, FileStart, Options, Problem, Sink, Summary, count, rfc3339};

const BLOCK: usize = 500;
const MAX_CELL: usize = 48;

pub struct TableSink<'w> {
    out: Box<dyn Write + 'w>,
    opts: Options,
    rows: Vec<Vec<String>>,
    shape: Shape,
}

/// Column headers of a table and which columns are right-aligned.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Shape {
    headers: &'static [&'static str],
    right: &'static [usize],
}

const BATCH: Shape = Shape { headers: BATCH_HEADERS, right: &[0, 1, 2] };
const RECORD: Shape = Shape { headers: RECORD_HEADERS, right: &[0, 1] };
const INDEX: Shape = Shape { headers: &["offset", "position"], right: &[0, 1] };
const TIME_INDEX: Shape = Shape { headers: &["timestamp", "offset"], right: &[1] };
const TXN: Shape = Shape {
    headers: &["position", "version", "producer id", "first offset", "last offset", "last stable offset"],
    right: &[0, 1, 2, 3, 4, 5],
};
const PRODUCER: Shape = Shape {
    headers: &[
        "position",
        "producer id",
        "epoch",
        "last sequence",
        "last offset",
        "offset delta",
        "timestamp",
        "coordinator epoch",
        "txn first offset",
    ],
    right: &[0, 1, 2, 3, 4, 5, 7, 8],
};
const EPOCH: Shape = Shape { headers: &["line", "epoch", "start offset"], right: &[0, 1, 2] };
const OFFSET: Shape = Shape { headers: &["line", "topic", "partition", "offset"], right: &[0, 2, 3] };
const PROPERTY: Shape = Shape { headers: &["line", "key", "value"], right: &[0] };
const FIELD: Shape = Shape { headers: &["key", "value"], right: &[] };

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
        let shape = if opts.records { RECORD } else { BATCH };
        TableSink { out, opts, rows: Vec::new(), shape }
    }

    fn flush_rows(&mut self) -> io::Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let mut t = Table::new();
        t.load_style(presets::UTF8_FULL_CONDENSED);
        t.set_header(self.shape.headers.iter().map(Cell::new));
        let right = self.shape.right;
        for row in self.rows.drain(..) {
            t.add_row(row.into_iter().enumerate().map(|(i, s)| {
                let c = Cell::new(s);
                if right.contains(&i) { c.set_alignment(CellAlignment::Right) } else { c }
            }));
        }
        writeln!(self.out, "{t}")
    }

    fn push(&mut self, row: Vec<String>) -> io::Result<()> {
        self.rows.push(row);
        if self.rows.len() >= BLOCK { self.flush_rows() } else { Ok(()) }
    }

    /// A row of a table of `shape`; a table of another shape before it ends.
    fn push_as(&mut self, shape: Shape, row: Vec<String>) -> io::Result<()> {
        if self.shape != shape {
            self.flush_rows()?;
            self.shape = shape;
        }
        self.push(row)
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

/// A key or value for a cell, by the one rule (`cell.rs`), cut at
/// `MAX_CELL` columns.
pub fn show_bytes(bytes: Option<&[u8]>, enc: Encoding) -> String {
    super::cell::show(bytes, enc, Some(MAX_CELL), None).text
}

/// The start of a key or value (`size` bytes whole) for a line of its own.
pub fn preview(bytes: Option<&[u8]>, size: usize) -> String {
    super::cell::show(bytes, Encoding::Utf8, Some(2 * MAX_CELL), Some(size)).text
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
    fn record_row(&mut self, r: &Record<'_>, decoded: Option<&TopicRecord>) -> io::Result<()> {
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
        self.push_as(RECORD, row)
    }
}

impl Sink for TableSink<'_> {
    fn begin_file(&mut self, f: &FileStart<'_>) -> io::Result<()> {
        self.flush_rows()?;
        let state = f.state.map_or(String::new(), |s| format!("{}, ", s.to_uppercase()));
        let detail = match (f.entries, f.preallocated_slots) {
            (Some(e), Some(z)) => format!(": {}, {}", count(e, "entry"), count(z, "preallocated slot")),
            _ if f.kind == "other" => ": not read".to_string(),
            _ => String::new(),
        };
        writeln!(self.out, "{} ({}, {state}{}{detail})", f.file, f.kind, count(f.size, "byte"))
    }

    fn batch(&mut self, _file: &str, b: &BatchInfo) -> io::Result<()> {
        if !self.opts.records {
            return self.push_as(BATCH, batch_fields(b).into());
        }
        self.flush_rows()?;
        let [pos, offsets, _, magic, codec, crc, ts_type, max_ts, producer, flags, _] = batch_fields(b);
        let producer = if producer == "-" { String::new() } else { format!(" producer {producer}") };
        let flags = if flags.is_empty() { String::new() } else { format!(" [{flags}]") };
        writeln!(
            self.out,
            "batch at {pos}: offsets {offsets}, {}, {magic} {codec}, crc {crc}, {ts_type} max {max_ts}{producer}{flags}, {}",
            b.count.map_or("? records".into(), |c| count(c, "record")),
            count(b.size, "byte")
        )
    }

    fn record(&mut self, _file: &str, _b: &BatchInfo, r: &Record<'_>) -> io::Result<()> {
        self.record_row(r, None)
    }

    fn record_decoded(&mut self, _file: &str, _b: &BatchInfo, r: &Record<'_>, d: &TopicRecord) -> io::Result<()> {
        self.record_row(r, Some(d))
    }
    fn problem(&mut self, _p: &Problem) -> io::Result<()> {
        // Problems go to stderr; flush so they appear after the rows before them.
        self.flush_rows()?;
        self.out.flush()
    }

    fn index_entry(&mut self, _file: &str, e: &OffsetEntry) -> io::Result<()> {
        self.push_as(INDEX, vec![e.offset.to_string(), e.position.to_string()])
    }

    fn time_index_entry(&mut self, _file: &str, e: &TimeEntry) -> io::Result<()> {
        self.push_as(TIME_INDEX, vec![timestamp_text(e.timestamp), e.offset.to_string()])
    }

    fn txn_entry(&mut self, _file: &str, e: &AbortedTxn) -> io::Result<()> {
        let row =
            [e.position as i64, e.version.into(), e.producer_id, e.first_offset, e.last_offset, e.last_stable_offset];
        self.push_as(TXN, row.iter().map(i64::to_string).collect())
    }

    fn snapshot(&mut self, _file: &str, h: &SnapshotHeader) -> io::Result<()> {
        self.flush_rows()?;
        let show = |v: Option<String>| v.unwrap_or_else(|| "?".into());
        let crc = match h.crc {
            Some(c) => format!("{c:08x} {}", if h.crc_valid { "ok" } else { "BAD" }),
            None => "?".into(),
        };
        writeln!(
            self.out,
            "producer snapshot version {}, crc {crc}, {}",
            show(h.version.map(|v| v.to_string())),
            h.count.map_or("? entries".into(), |c| count(c, "entry"))
        )
    }

    fn producer_entry(&mut self, _file: &str, e: &ProducerEntry) -> io::Result<()> {
        let row = vec![
            e.position.to_string(),
            e.producer_id.to_string(),
            e.producer_epoch.to_string(),
            e.last_sequence.to_string(),
            e.last_offset.to_string(),
            e.offset_delta.to_string(),
            timestamp_text(e.timestamp),
            e.coordinator_epoch.to_string(),
            if e.current_txn_first_offset < 0 { "-".into() } else { e.current_txn_first_offset.to_string() },
        ];
        self.push_as(PRODUCER, row)
    }

    fn checkpoint(&mut self, _file: &str, h: &CheckpointHeader) -> io::Result<()> {
        self.flush_rows()?;
        let show = |v: Option<i32>| v.map_or("?".to_string(), |v| v.to_string());
        writeln!(
            self.out,
            "checkpoint version {}, {}",
            show(h.version),
            h.count.map_or("? entries".into(), |c| count(c, "entry"))
        )
    }

    fn checkpoint_entry(&mut self, _file: &str, e: &CheckpointEntry) -> io::Result<()> {
        match e {
            CheckpointEntry::Epoch { line, epoch, start_offset } => {
                self.push_as(EPOCH, vec![line.to_string(), epoch.to_string(), start_offset.to_string()])
            }
            CheckpointEntry::Offset { line, topic, partition, offset } => {
                self.push_as(OFFSET, vec![line.to_string(), sanitize(topic), partition.to_string(), offset.to_string()])
            }
            CheckpointEntry::Property { line, key, value } => {
                self.push_as(PROPERTY, vec![line.to_string(), sanitize(key), sanitize(value)])
            }
            CheckpointEntry::Field { key, value } => {
                let text = match value {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                self.push_as(FIELD, vec![sanitize(key), sanitize(&text)])
            }
        }
    }

    fn end_file(&mut self) -> io::Result<()> {
        self.flush_rows()
    }

    fn finish(&mut self, s: &Summary) -> io::Result<()> {
        self.flush_rows()?;
        writeln!(
            self.out,
            "{}, {}, {}, {}, {}",
            count(s.files, "file"),
            count(s.batches, "batch"),
            count(s.records, "record"),
            count(s.bytes, "byte"),
            count(s.problems, "problem")
        )?;
        self.out.flush()
    }
}
