//! Tables for people. Batches and records are written row by row by
//! `grid.rs` (fixed widths per file, fitted to the terminal); the small
//! tables of index, snapshot and checkpoint files go through comfy-table in
//! blocks, so memory stays bounded however large a file is.

use std::io::{self, Write};

use comfy_table::{Cell, CellAlignment, Table, presets};
use kseg::BatchInfo;
use kseg::format::checkpoint::{Entry as CheckpointEntry, Header as CheckpointHeader};
use kseg::format::index::{OffsetEntry, TimeEntry};
use kseg::format::record::Record;
use kseg::format::snapshot::{ProducerEntry, SnapshotHeader};
use kseg::format::txnindex::AbortedTxn;
use kseg::topics::TopicRecord;

use super::grid::{BatchGrid, Look, RecordGrid};
use super::{Encoding, FileStart, FileState, Options, Problem, Sink, Summary, count, rfc3339};

const BLOCK: usize = 500;
const MAX_CELL: usize = 48;

pub struct TableSink<'w> {
    out: Box<dyn Write + 'w>,
    opts: Options,
    rows: Vec<Vec<String>>,
    shape: Shape,
    /// The current file's batch or record table.
    grid: Grid,
    /// Rows written by the grid, before they go out.
    line: String,
}

enum Grid {
    None,
    Batches(BatchGrid),
    Records(RecordGrid),
}

/// Grid text collected before one write to the output.
const FLUSH_AT: usize = 256 << 10;

/// Column headers of a table and which columns are right-aligned.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Shape {
    headers: &'static [&'static str],
    right: &'static [usize],
}

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

impl<'w> TableSink<'w> {
    pub fn new(out: Box<dyn Write + 'w>, opts: Options) -> Self {
        TableSink { out, opts, rows: Vec::new(), shape: INDEX, grid: Grid::None, line: String::new() }
    }

    /// The batch or record table of a file, as it starts.
    fn grid_for(&self, f: &FileStart<'_>) -> Grid {
        let (base, look) = (f.base_offset.unwrap_or(0), self.look());
        let decoded = kseg::topics::TopicKind::for_path(std::path::Path::new(f.file)).is_some();
        match f.kind {
            "log" | "records" | "kraft-checkpoint" if self.opts.records => {
                Grid::Records(RecordGrid::new(look, base, f.size, decoded))
            }
            "log" | "records" | "kraft-checkpoint" => Grid::Batches(BatchGrid::new(look, base, f.size)),
            _ => Grid::None,
        }
    }

    fn look(&self) -> Look {
        Look { width: self.opts.width, full: self.opts.full, color: self.opts.color }
    }

    fn flush_line(&mut self) -> io::Result<()> {
        self.out.write_all(self.line.as_bytes())?;
        self.line.clear();
        Ok(())
    }

    fn flush_rows(&mut self) -> io::Result<()> {
        self.flush_line()?;
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
}

fn timestamp_text(ms: i64) -> String {
    match rfc3339(ms) {
        Some(t) => t,
        None => ms.to_string(),
    }
}

/// The start of a key or value (`size` bytes whole) for a line of its own.
pub fn preview(bytes: Option<&[u8]>, size: usize) -> String {
    super::cell::show(bytes, Encoding::Utf8, Some(2 * MAX_CELL), Some(size)).text
}

/// Text of a small table's cell: escaped by the one rule, cut when very long.
fn sanitize(text: &str) -> String {
    let mut s = String::new();
    super::cell::show_str(&mut s, text, Some(4 * MAX_CELL));
    s
}

impl TableSink<'_> {
    fn record_row(&mut self, b: &BatchInfo, r: &Record<'_>, d: Option<&TopicRecord>) -> io::Result<()> {
        if !matches!(self.grid, Grid::Records(_)) {
            self.grid = Grid::Records(RecordGrid::new(self.look(), b.base_offset, b.size, d.is_some()));
        }
        if let Grid::Records(g) = &mut self.grid {
            g.record(&mut self.line, r, d, (self.opts.key_encoding, self.opts.value_encoding));
        }
        if self.line.len() >= FLUSH_AT { self.flush_line() } else { Ok(()) }
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
        // A file name is shown by the same rule as a value: a hostile name
        // cannot drive the terminal either.
        let mut name = String::new();
        super::cell::show_str(&mut name, f.file, None);
        writeln!(self.out, "{name} ({}, {state}{}{detail})", f.kind, count(f.size, "byte"))?;
        self.grid = self.grid_for(f);
        Ok(())
    }

    fn file_state(&self) -> FileState {
        match &self.grid {
            Grid::Records(g) => {
                let (started, offset_width) = g.state();
                FileState { started, offset_width }
            }
            Grid::Batches(g) => FileState { started: g.started(), offset_width: 0 },
            Grid::None => FileState::default(),
        }
    }

    fn resume_file(&mut self, f: &FileStart<'_>, state: FileState) -> io::Result<()> {
        self.grid = self.grid_for(f);
        match &mut self.grid {
            Grid::Records(g) => g.resume((state.started, state.offset_width)),
            Grid::Batches(g) => g.resume(state.started),
            Grid::None => {}
        }
        Ok(())
    }

    fn write_formatted(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.flush_rows()?;
        self.out.write_all(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flush_rows()?;
        self.out.flush()
    }

    fn batch(&mut self, _file: &str, b: &BatchInfo) -> io::Result<()> {
        if matches!(self.grid, Grid::None) {
            // A batch outside a log file (not expected): a table of its own.
            self.grid = if self.opts.records {
                Grid::Records(RecordGrid::new(self.look(), b.base_offset, b.size, false))
            } else {
                Grid::Batches(BatchGrid::new(self.look(), b.base_offset, b.size))
            };
        }
        match &mut self.grid {
            Grid::Batches(g) => g.batch(&mut self.line, b),
            Grid::Records(g) => g.batch(&mut self.line, b),
            Grid::None => {}
        }
        if self.line.len() >= FLUSH_AT { self.flush_line() } else { Ok(()) }
    }

    fn record(&mut self, _file: &str, b: &BatchInfo, r: &Record<'_>) -> io::Result<()> {
        self.record_row(b, r, None)
    }

    fn record_decoded(&mut self, _file: &str, b: &BatchInfo, r: &Record<'_>, d: &TopicRecord) -> io::Result<()> {
        self.record_row(b, r, Some(d))
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
