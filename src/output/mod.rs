//! Writers for dump output. Every format takes the same typed events, so a
//! new format is one new file here.

pub mod cell;
#[cfg(feature = "export")]
pub mod columnar;
pub mod grid;
pub mod json;
pub mod json_value;
pub mod ordered;
mod out;
pub mod print;
pub mod simd;
pub mod table;

pub use out::Out;

use std::io;

use clap::ValueEnum;
use kseg::BatchInfo;
use kseg::format::checkpoint::{Entry as CheckpointEntry, Header as CheckpointHeader};
use kseg::format::index::{OffsetEntry, TimeEntry};
use kseg::format::record::Record;
use kseg::format::snapshot::{ProducerEntry, SnapshotHeader};
use kseg::format::txnindex::AbortedTxn;

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
    /// JSON output: a value that is valid JSON goes in as JSON (an object,
    /// array, number...), anything else as a UTF-8 string. Tables show it as
    /// utf8.
    Json,
}

/// A problem met while reading, with where it is.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Problem {
    pub file: String,
    pub position: u64,
    pub kind: kseg::format::problem::ProblemKind,
    pub message: String,
    /// 1-based line number, for text files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
}

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Summary {
    pub files: u64,
    pub batches: u64,
    pub records: u64,
    pub bytes: u64,
    pub problems: u64,
    /// Bytes read from `.log` files (with --from-offset and --limit, about
    /// what is shown plus one index interval).
    pub bytes_read: u64,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct FileStart<'a> {
    pub file: &'a str,
    pub kind: &'a str,
    pub size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_offset: Option<i64>,
    /// `deleted`, `cleaned` or `swap` when the name says the file is being
    /// deleted, cleaned or swapped in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<&'a str>,
    /// `.index` / `.timeindex`: real entries, before the preallocated tail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entries: Option<u64>,
    /// `.index` / `.timeindex`: zero-filled preallocated slots after them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preallocated_slots: Option<u64>,
}

/// Receives the events of a dump, in file order.
pub trait Sink {
    fn begin_file(&mut self, file: &FileStart<'_>) -> io::Result<()>;
    fn batch(&mut self, file: &str, batch: &BatchInfo) -> io::Result<()>;
    fn record(&mut self, file: &str, batch: &BatchInfo, record: &Record<'_>) -> io::Result<()>;
    /// A record of an internal topic with its decoded key and value. Writers
    /// that do not show decoded records write the plain record.
    fn record_decoded(
        &mut self,
        file: &str,
        batch: &BatchInfo,
        record: &Record<'_>,
        decoded: &kseg::topics::TopicRecord,
    ) -> io::Result<()> {
        let _ = decoded;
        self.record(file, batch, record)
    }
    fn problem(&mut self, problem: &Problem) -> io::Result<()>;
    /// `.index`: one real entry.
    fn index_entry(&mut self, file: &str, entry: &OffsetEntry) -> io::Result<()>;
    /// `.timeindex`: one real entry.
    fn time_index_entry(&mut self, file: &str, entry: &TimeEntry) -> io::Result<()>;
    /// `.txnindex`: one aborted transaction.
    fn txn_entry(&mut self, file: &str, entry: &AbortedTxn) -> io::Result<()>;
    /// `.snapshot`: the header, before its entries.
    fn snapshot(&mut self, file: &str, header: &SnapshotHeader) -> io::Result<()>;
    /// `.snapshot`: one producer.
    fn producer_entry(&mut self, file: &str, entry: &ProducerEntry) -> io::Result<()>;
    /// A versioned text checkpoint: its version and count lines.
    fn checkpoint(&mut self, file: &str, header: &CheckpointHeader) -> io::Result<()>;
    /// One entry (line, property or JSON field) of a text file.
    fn checkpoint_entry(&mut self, file: &str, entry: &CheckpointEntry) -> io::Result<()>;
    fn end_file(&mut self) -> io::Result<()>;
    fn finish(&mut self, summary: &Summary) -> io::Result<()>;

    // The parallel dump (`ordered.rs`): a window of a file is formatted by
    // a writer of its own on another thread, and its bytes are written here.

    /// What the rows of the current file carry forward (table widths).
    fn file_state(&self) -> FileState {
        FileState::default()
    }
    /// Go on with `file`, begun on another writer, from `state`, writing
    /// nothing: this writer formats one window of it.
    fn resume_file(&mut self, file: &FileStart<'_>, state: FileState) -> io::Result<()> {
        let _ = (file, state);
        Err(io::ErrorKind::Unsupported.into())
    }
    /// Write bytes another writer formatted, after what this one holds.
    fn write_formatted(&mut self, bytes: &[u8]) -> io::Result<()> {
        let _ = bytes;
        Err(io::ErrorKind::Unsupported.into())
    }
    /// Hand everything buffered to the output.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// What the batch and record rows of a file carry from one to the next:
/// whether the table's titles are out, and the width its offsets grew to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileState {
    pub started: bool,
    pub offset_width: usize,
}

#[derive(Clone, Copy)]
pub struct Options {
    pub key_encoding: Encoding,
    pub value_encoding: Encoding,
    pub records: bool,
    /// Tables: the width to fit, in terminal columns.
    pub width: usize,
    /// Tables: whole values, however wide.
    pub full: bool,
    /// Tables: ANSI colours.
    pub color: bool,
}

pub fn sink<'w>(format: Format, out: Box<dyn Out + 'w>, opts: Options) -> Box<dyn Sink + 'w> {
    match format {
        Format::Table => Box::new(table::TableSink::new(out, opts)),
        Format::Json => Box::new(json::JsonSink::new(out, opts, false)),
        Format::Jsonl => Box::new(json::JsonSink::new(out, opts, true)),
    }
}

/// `n` and the noun, singular for exactly one: "1 file", "2 files",
/// "0 entries". Nouns ending in -y after a consonant take -ies.
pub fn count(n: impl TryInto<i128>, noun: &str) -> String {
    let n: i128 = n.try_into().unwrap_or(i128::MAX);
    if n == 1 {
        return format!("1 {noun}");
    }
    match noun.strip_suffix('y') {
        Some(stem) if !stem.ends_with(['a', 'e', 'o', 'u']) => format!("{n} {stem}ies"),
        _ if noun.ends_with('s') || noun.ends_with('x') || noun.ends_with("ch") => format!("{n} {noun}es"),
        _ => format!("{n} {noun}s"),
    }
}

/// The topic and partition a file's directory names (`orders-3/…log`:
/// `orders`, 3), as Kafka names partition directories; `None` for any other
/// directory.
pub fn topic_partition(file: &std::path::Path) -> Option<(String, i32)> {
    let dir = file.parent()?.file_name()?.to_str()?;
    let (topic, partition) = dir.rsplit_once('-')?;
    if topic.is_empty() || partition.is_empty() || !partition.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((topic.to_string(), partition.parse().ok()?))
}

/// RFC 3339 in UTC for a millisecond timestamp; `None` for negative values,
/// which Kafka uses for "no timestamp".
pub fn rfc3339(ms: i64) -> Option<String> {
    if ms < 0 {
        return None;
    }
    jiff::Timestamp::from_millisecond(ms).ok().map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn count_says_one_in_the_singular() {
        assert_eq!(super::count(1u64, "file"), "1 file");
        assert_eq!(super::count(0u64, "file"), "0 files");
        assert_eq!(super::count(2u64, "entry"), "2 entries");
        assert_eq!(super::count(1u64, "entry"), "1 entry");
        assert_eq!(super::count(3u64, "batch"), "3 batches");
        assert_eq!(super::count(-1i64, "byte"), "-1 bytes");
        assert_eq!(super::count(2u64, "key"), "2 keys");
    }

    #[test]
    fn topic_and_partition_from_the_directory_name() {
        use std::path::Path;
        let tp = |p: &str| super::topic_partition(Path::new(p));
        assert_eq!(tp("data/orders-3/00000000000000000000.log"), Some(("orders".into(), 3)));
        assert_eq!(tp("my-topic-12/0.index"), Some(("my-topic".into(), 12)));
        assert_eq!(tp("__consumer_offsets-0/x.log"), Some(("__consumer_offsets".into(), 0)));
        assert_eq!(tp("testdata/segments/v2_none/0.log"), None);
        assert_eq!(tp("v2-/0.log"), None);
        assert_eq!(tp("0.log"), None);
        assert_eq!(tp("t-99999999999/0.log"), None);
    }
}
