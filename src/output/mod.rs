//! Writers for dump output. Every format takes the same typed events, so a
//! new format is one new file here.

pub mod json;
pub mod kafka;
pub mod table;

use std::io::{self, Write};

use clap::ValueEnum;
use kseg::BatchInfo;
use kseg::record::Record;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned tables for people.
    Table,
    /// One JSON document: an array of typed objects.
    Json,
    /// One JSON object per line (JSON Lines).
    Jsonl,
}

/// How key, value and header bytes are shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Encoding {
    /// UTF-8 text; invalid bytes become U+FFFD.
    Utf8,
    /// Lower-case hexadecimal.
    Hex,
    /// Standard base64 with padding.
    Base64,
    /// Leave the field out.
    None,
}

/// A problem met while reading, with where it is.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Problem {
    pub file: String,
    pub position: u64,
    pub kind: &'static str,
    pub message: String,
}

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Summary {
    pub files: u64,
    pub batches: u64,
    pub records: u64,
    pub bytes: u64,
    pub problems: u64,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct FileStart<'a> {
    pub file: &'a str,
    pub kind: &'a str,
    pub size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_offset: Option<i64>,
}

/// Receives the events of a dump, in file order.
pub trait Sink {
    fn begin_file(&mut self, file: &FileStart<'_>) -> io::Result<()>;
    fn batch(&mut self, file: &str, batch: &BatchInfo) -> io::Result<()>;
    fn record(&mut self, file: &str, batch: &BatchInfo, record: &Record<'_>) -> io::Result<()>;
    fn problem(&mut self, problem: &Problem) -> io::Result<()>;
    fn end_file(&mut self) -> io::Result<()>;
    fn finish(&mut self, summary: &Summary) -> io::Result<()>;
}

pub struct Options {
    pub key_encoding: Encoding,
    pub value_encoding: Encoding,
    pub records: bool,
}

pub fn sink<'w>(format: Format, out: Box<dyn Write + 'w>, opts: Options) -> Box<dyn Sink + 'w> {
    match format {
        Format::Table => Box::new(table::TableSink::new(out, opts)),
        Format::Json => Box::new(json::JsonSink::new(out, opts, false)),
        Format::Jsonl => Box::new(json::JsonSink::new(out, opts, true)),
    }
}

/// RFC 3339 in UTC for a millisecond timestamp; `None` for negative values,
/// which Kafka uses for "no timestamp".
pub fn rfc3339(ms: i64) -> Option<String> {
    if ms < 0 {
        return None;
    }
    jiff::Timestamp::from_millisecond(ms).ok().map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
}
