//! `kseg kafka-dump-log`: the text that Apache Kafka's DumpLogSegments
//! (`kafka-dump-log.sh`, the Java tool of Kafka 4.3+) prints, byte for byte,
//! for `.log`, `.checkpoint`, `.index`, `.timeindex`, `.txnindex` and
//! `.snapshot` files, plus its end-of-run report on stderr.
//!
//! Everything written to stdout goes through one reused buffer with `itoa`;
//! the record lines of a full `--print-data-log` dump allocate nothing.
//! Where Kafka fails with a Java exception, the functions here return an
//! [`Exception`] carrying the Java class name and message, and the caller
//! prints it as Kafka's `mainNoExit` does and exits 1.
//!
//! The `.txnindex` and `.snapshot` parsers are private to this module for
//! now (the shared library versions are being written separately).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

use kseg::Decoder;
use kseg::files::mmap::WindowSource;
use kseg::files::read::FileSource;
use kseg::format::batch::{BatchV2, TimestampType};
use kseg::format::compression;
use kseg::format::control::{ControlRecord, ControlValue};
use kseg::format::error::{DecodeError, ErrorKind};
use kseg::format::record::Record;
use kseg::format::walk::{Source, Step, Walker};
use kseg::topics::TopicKind;

/// `Integer.MAX_VALUE`, the default of `--max-bytes`.
pub const INT_MAX: i32 = i32::MAX;
/// Output is handed to stdout once this much has collected (at a batch end).
mod topics;

use crate::output::simd::{Fixed, is_ascii};

const FLUSH_AT: usize = 1 << 20;
const LOG_OVERHEAD: u64 = 12;
const HEADER_UP_TO_MAGIC: u64 = 17;
/// `RECORD_BATCH_OVERHEAD`: the v2 header.
const V2_HEADER: usize = 61;
const STRING_DECODER: &str = "org.apache.kafka.tools.api.StringDecoder";

/// A failure that aborts the run, as a Java exception would: the class is
/// printed on stderr (tests grep for it, e.g. `NoSuchFileException`).
#[derive(Debug, Clone)]
pub struct Exception {
    pub class: &'static str,
    /// `None` prints as Java's `null`.
    pub message: Option<String>,
}

impl Exception {
    pub fn new(class: &'static str, message: impl Into<String>) -> Self {
        Exception { class, message: Some(message.into()) }
    }

    fn bare(class: &'static str) -> Self {
        Exception { class, message: None }
    }

    /// What `mainNoExit` prints: the message, then the stack trace, whose
    /// first line is `class: message` (the frames are left out).
    pub fn render(&self) -> String {
        match &self.message {
            Some(m) => format!("{m}\n{}: {m}\n", self.class),
            None => format!("null\n{}\n", self.class),
        }
    }

    fn io(e: io::Error, path: &str) -> Self {
        match e.kind() {
            io::ErrorKind::NotFound => Exception::new("java.nio.file.NoSuchFileException", path),
            io::ErrorKind::PermissionDenied => Exception::new("java.nio.file.AccessDeniedException", path),
            _ if e.raw_os_error() == Some(21) => Exception::new("java.io.IOException", "Is a directory"),
            _ => Exception::new("java.io.IOException", e.to_string()),
        }
    }

    fn illegal_argument(message: impl Into<String>) -> Self {
        Exception::new("java.lang.IllegalArgumentException", message)
    }

    fn number_format(input: &str) -> Self {
        Exception::new("java.lang.NumberFormatException", format!("For input string: \"{input}\""))
    }

    /// A record-level decode failure, with Kafka's wording where there is one.
    fn decode(e: &DecodeError) -> Self {
        const INVALID: &str = "org.apache.kafka.common.InvalidRecordException";
        const KAFKA: &str = "org.apache.kafka.common.KafkaException";
        match &e.kind {
            ErrorKind::PrematureEnd { .. } => {
                Exception::new(INVALID, "Incorrect declared batch size, premature EOF reached")
            }
            ErrorKind::RecordsRemaining(_) => {
                Exception::new(INVALID, "Incorrect declared batch size, records still remaining in file")
            }
            ErrorKind::RecordSizeMismatch { expected, actual } => Exception::new(
                INVALID,
                format!(
                    "Invalid record size: expected to read {expected} bytes in record payload, but instead read {actual}"
                ),
            ),
            ErrorKind::BadRecordCount(n) => {
                Exception::new(INVALID, format!("Found invalid record count {n} in magic v2 batch"))
            }
            ErrorKind::BadCodec(id) => Exception::illegal_argument(format!("Unknown compression type id: {id}")),
            ErrorKind::ZstdInLegacy(m) => Exception::new(
                INVALID,
                format!("Invalid wrapper compressionType found in legacy deep record iterator {m}"),
            ),
            ErrorKind::NullWrapperValue => {
                Exception::new(INVALID, "Found invalid compressed record set with null value")
            }
            ErrorKind::EmptyWrapper => {
                Exception::new(INVALID, "Found invalid compressed record set with no inner records")
            }
            ErrorKind::NestedCompression => Exception::new(INVALID, "Inner messages must not be compressed"),
            ErrorKind::WrapperOffset { wrapper, last_inner } => Exception::new(
                INVALID,
                format!(
                    "Found invalid wrapper offset in compressed v1 message set, wrapper offset '{wrapper}' is less than the last inner message offset '{last_inner}' and it is not zero."
                ),
            ),
            ErrorKind::Control(m) => Exception::new(INVALID, m.clone()),
            ErrorKind::Decompress { .. } | ErrorKind::DecompressLimit(_) => {
                Exception::new(KAFKA, format!("Failed to decompress record stream: {e}"))
            }
            _ => Exception::new(INVALID, e.to_string()),
        }
    }
}

pub type KResult<T> = Result<T, Exception>;

/// How record keys and values are turned into text (the "message parser").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parser {
    /// `StringDecoder` for keys and values: UTF-8, invalid bytes as U+FFFD.
    Strings,
    /// `--offsets-decoder`, `--transaction-log-decoder`,
    /// `--cluster-metadata-decoder`, `--remote-log-metadata-decoder`,
    /// `--share-group-state-decoder`: the internal-topic decoders, printing
    /// what Kafka's message parsers print ([`topics`]).
    Internal(TopicKind),
}

#[derive(Clone, Debug)]
pub struct Config {
    pub print_data: bool,
    pub deep: bool,
    pub skip_metadata: bool,
    pub verify_only: bool,
    pub index_sanity: bool,
    pub max_message_size: i32,
    pub max_bytes: i32,
    pub parser: Parser,
    /// Read `.log` files through a sliding read-only map (kseg's default)
    /// rather than `read` calls into a buffer (`--no-mmap`).
    pub mmap: bool,
}

/// Bytes of a `.log` mapped at a time.
const MAP_WINDOW: usize = 8 << 20;

/// The two ways a `.log` is read.
enum LogSource {
    Mapped(WindowSource),
    Read(FileSource),
}

impl Source for LogSource {
    fn len(&self) -> u64 {
        match self {
            LogSource::Mapped(s) => s.len(),
            LogSource::Read(s) => s.len(),
        }
    }
    fn read(&mut self, pos: u64, n: usize) -> io::Result<&[u8]> {
        match self {
            LogSource::Mapped(s) => s.read(pos, n),
            LogSource::Read(s) => s.read(pos, n),
        }
    }
}

/// A path as `java.io.File` shows it: repeated separators collapsed and a
/// trailing separator removed.
#[derive(Clone, Debug)]
pub struct JFile {
    /// `File.toString()`.
    pub shown: String,
    pub path: PathBuf,
}

impl JFile {
    pub fn new(arg: &str) -> Self {
        let mut shown = String::with_capacity(arg.len());
        for c in arg.chars() {
            if c == '/' && shown.ends_with('/') {
                continue;
            }
            shown.push(c);
        }
        if shown.len() > 1 && shown.ends_with('/') {
            shown.pop();
        }
        let path = PathBuf::from(&shown);
        JFile { shown, path }
    }

    /// `File.getName()`: the text after the last separator.
    pub fn name(&self) -> &str {
        self.shown.rsplit('/').next().unwrap_or("")
    }

    /// `File.getAbsolutePath()`: not canonicalised.
    pub fn absolute(&self) -> String {
        if self.shown.starts_with('/') {
            return self.shown.clone();
        }
        let cwd = std::env::current_dir().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
        if self.shown.is_empty() { cwd } else { format!("{}/{}", cwd.trim_end_matches('/'), self.shown) }
    }

    /// `File.getParent()` of the absolute file, for sibling files.
    fn sibling(&self, name: &str) -> JFile {
        let abs = self.absolute();
        let parent = match abs.rfind('/') {
            Some(0) => "/".to_string(),
            Some(i) => abs[..i].to_string(),
            None => String::new(),
        };
        if parent.ends_with('/') {
            JFile::new(&format!("{parent}{name}"))
        } else {
            JFile::new(&format!("{parent}/{name}"))
        }
    }
}

/// `Long.parseLong(name.split("\\.")[0])`.
fn base_offset(name: &str) -> KResult<i64> {
    let digits = name.split('.').next().unwrap_or("");
    parse_long(digits)
}

fn parse_long(s: &str) -> KResult<i64> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Exception::number_format(s));
    }
    s.parse::<i64>().map_err(|_| Exception::number_format(s))
}

fn parse_int(s: &str) -> KResult<i32> {
    let v = parse_long(s)?;
    i32::try_from(v).map_err(|_| Exception::number_format(s))
}

/// `DefaultRecordBatch.incrementSequence`, in Java int arithmetic.
pub fn increment_sequence(sequence: i32, increment: i32) -> i32 {
    if sequence > i32::MAX.wrapping_sub(increment) {
        increment.wrapping_sub(i32::MAX.wrapping_sub(sequence)).wrapping_sub(1)
    } else {
        sequence.wrapping_add(increment)
    }
}

/// `DefaultRecordBatch.decrementSequence`.
pub fn decrement_sequence(sequence: i32, decrement: i32) -> i32 {
    if sequence < decrement {
        i32::MAX.wrapping_sub(decrement.wrapping_sub(sequence)).wrapping_add(1)
    } else {
        sequence.wrapping_sub(decrement)
    }
}

fn codec_name(id: u8) -> KResult<&'static str> {
    compression::Compression::from_id(id)
        .map(|c| c.name())
        .ok_or_else(|| Exception::illegal_argument(format!("Unknown compression type id: {id}")))
}

#[inline]
fn num(buf: &mut Vec<u8>, v: impl itoa::Integer) {
    buf.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

#[inline]
fn boolean(buf: &mut Vec<u8>, b: bool) {
    buf.extend_from_slice(if b { b"true" } else { b"false" });
}

/// UTF-8 with every maximal invalid subsequence replaced by U+FFFD, as
/// `new String(bytes, UTF_8)` does. Valid text is copied as is.
#[inline]
fn utf8_lossy(buf: &mut Vec<u8>, bytes: &[u8]) {
    // Copy first, then check the copy while it is in cache: ASCII (the
    // common case) needs no UTF-8 validation.
    let start = buf.len();
    buf.extend_from_slice(bytes);
    if is_ascii(&buf[start..]) || std::str::from_utf8(bytes).is_ok() {
        return;
    }
    buf.truncate(start);
    for chunk in bytes.utf8_chunks() {
        buf.extend_from_slice(chunk.valid().as_bytes());
        if !chunk.invalid().is_empty() {
            buf.extend_from_slice("\u{FFFD}".as_bytes());
        }
    }
}

fn optional_long(buf: &mut Vec<u8>, v: Option<i64>) {
    match v {
        Some(v) => {
            buf.extend_from_slice(b"OptionalLong[");
            num(buf, v);
            buf.push(b']');
        }
        None => buf.extend_from_slice(b"OptionalLong.empty"),
    }
}

/// Jackson's string escaping (compact output).
fn json_string(buf: &mut Vec<u8>, s: &str) {
    buf.push(b'"');
    for c in s.chars() {
        match c {
            '"' => buf.extend_from_slice(b"\\\""),
            '\\' => buf.extend_from_slice(b"\\\\"),
            '\n' => buf.extend_from_slice(b"\\n"),
            '\r' => buf.extend_from_slice(b"\\r"),
            '\t' => buf.extend_from_slice(b"\\t"),
            '\u{8}' => buf.extend_from_slice(b"\\b"),
            '\u{c}' => buf.extend_from_slice(b"\\f"),
            c if (c as u32) < 0x20 => buf.extend_from_slice(format!("\\u{:04X}", c as u32).as_bytes()),
            c => {
                let mut tmp = [0u8; 4];
                buf.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
            }
        }
    }
    buf.push(b'"');
}

fn json_voter_ids(buf: &mut Vec<u8>, ids: &[i32]) {
    buf.push(b'[');
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        buf.extend_from_slice(b"{\"voterId\":");
        num(buf, *id);
        buf.push(b'}');
    }
    buf.push(b']');
}

/// The control part of a record line (`printControlRecord`).
fn control_part(buf: &mut Vec<u8>, c: &ControlRecord) {
    match &c.value {
        ControlValue::EndTxn { coordinator_epoch, .. } => {
            buf.extend_from_slice(b" endTxnMarker: ");
            buf.extend_from_slice(c.type_name.as_bytes());
            buf.extend_from_slice(b" coordinatorEpoch: ");
            num(buf, *coordinator_epoch);
        }
        ControlValue::LeaderChange { version, leader_id, voters, granting_voters } => {
            buf.extend_from_slice(b" LeaderChange: {\"version\":");
            num(buf, *version);
            buf.extend_from_slice(b",\"leaderId\":");
            num(buf, *leader_id);
            buf.extend_from_slice(b",\"voters\":");
            json_voter_ids(buf, voters);
            buf.extend_from_slice(b",\"grantingVoters\":");
            json_voter_ids(buf, granting_voters);
            buf.push(b'}');
        }
        ControlValue::SnapshotHeader { version, last_contained_log_timestamp } => {
            buf.extend_from_slice(b" SnapshotHeader {\"version\":");
            num(buf, *version);
            buf.extend_from_slice(b",\"lastContainedLogTimestamp\":");
            num(buf, *last_contained_log_timestamp);
            buf.push(b'}');
        }
        ControlValue::SnapshotFooter { version } => {
            buf.extend_from_slice(b" SnapshotFooter {\"version\":");
            num(buf, *version);
            buf.push(b'}');
        }
        ControlValue::KRaftVersion { version, kraft_version } => {
            buf.extend_from_slice(b" KRaftVersion {\"version\":");
            num(buf, *version);
            buf.extend_from_slice(b",\"kRaftVersion\":");
            num(buf, *kraft_version);
            buf.push(b'}');
        }
        ControlValue::KRaftVoters { version, voters } => {
            buf.extend_from_slice(b" KRaftVoters {\"version\":");
            num(buf, *version);
            buf.extend_from_slice(b",\"voters\":[");
            for (i, v) in voters.iter().enumerate() {
                if i > 0 {
                    buf.push(b',');
                }
                buf.extend_from_slice(b"{\"voterId\":");
                num(buf, v.voter_id);
                buf.extend_from_slice(b",\"voterDirectoryId\":");
                json_string(buf, &v.voter_directory_id);
                buf.extend_from_slice(b",\"endpoints\":[");
                for (j, e) in v.endpoints.iter().enumerate() {
                    if j > 0 {
                        buf.push(b',');
                    }
                    buf.extend_from_slice(b"{\"name\":");
                    json_string(buf, &e.name);
                    buf.extend_from_slice(b",\"host\":");
                    json_string(buf, &e.host);
                    buf.extend_from_slice(b",\"port\":");
                    num(buf, e.port);
                    buf.push(b'}');
                }
                buf.extend_from_slice(b"],\"kRaftVersionFeature\":{\"minSupportedVersion\":");
                num(buf, v.kraft_version_feature.min_supported_version);
                buf.extend_from_slice(b",\"maxSupportedVersion\":");
                num(buf, v.kraft_version_feature.max_supported_version);
                buf.extend_from_slice(b"}}");
            }
            buf.extend_from_slice(b"]}");
        }
        ControlValue::Unknown {} => {
            buf.extend_from_slice(b" controlType: ");
            buf.extend_from_slice(c.type_name.as_bytes());
            buf.push(b'(');
            num(buf, c.type_id);
            buf.push(b')');
        }
    }
}

/// The fields of one log entry that its batch line shows, read from the raw
/// bytes as `FileChannelRecordBatch` does (no record is parsed for it).
struct EntryHead {
    log_offset: i64,
    magic: i8,
    size: u64,
}

impl EntryHead {
    fn read(bytes: &[u8]) -> Self {
        EntryHead {
            log_offset: i64::from_be_bytes(bytes[..8].try_into().unwrap_or_default()),
            magic: bytes[16] as i8,
            size: bytes.len() as u64,
        }
    }
}

fn be_i16(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([b[at], b[at + 1]])
}
fn be_i32(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn be_u32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn be_i64(b: &[u8], at: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(a)
}

/// Per-batch facts a record line needs.
struct BatchCtx {
    ts_type: TimestampType,
    v2: bool,
    base_offset: i64,
    base_sequence: i32,
    control: bool,
}

/// Kafka's `FileRecords.toString()`, which some exception messages include.
fn file_records_string(size: u64, file: &str) -> String {
    format!("FileRecords(size={size}, file={file}, start=0, end=2147483647)")
}

/// Open a file read-only; its size must fit Kafka's 2 GiB segment limit
/// when it is read as records.
fn open_records(file: &JFile) -> KResult<(File, u64)> {
    let f = File::open(&file.path).map_err(|e| Exception::io(e, &file.shown))?;
    let meta = f.metadata().map_err(|e| Exception::io(e, &file.shown))?;
    if meta.is_dir() {
        return Err(Exception::new("java.io.IOException", "Is a directory"));
    }
    let len = meta.len();
    if len > i32::MAX as u64 {
        return Err(Exception::new(
            "org.apache.kafka.common.KafkaException",
            format!(
                "The size of segment {} ({len}) is larger than the maximum allowed segment size of {}",
                file.shown,
                i32::MAX
            ),
        ));
    }
    Ok((f, len))
}

#[derive(Default)]
struct TimeIndexErrors {
    mismatches: Vec<(String, Vec<(i64, i64)>)>,
    out_of_order: Vec<(String, Vec<(i64, i64)>)>,
    not_found: Vec<(String, Vec<(i64, i64)>)>,
}

fn group<'a, V: Default>(groups: &'a mut Vec<(String, V)>, key: &str) -> &'a mut V {
    let i = match groups.iter().position(|(k, _)| k == key) {
        Some(i) => i,
        None => {
            groups.push((key.to_string(), V::default()));
            groups.len() - 1
        }
    };
    &mut groups[i].1
}

/// The state of one run: configuration, the stdout buffer and the findings
/// collected for the end-of-run report.
pub struct KafkaDump<W: Write> {
    cfg: Config,
    out: W,
    buf: Vec<u8>,
    decoder: Decoder,
    scratch: Vec<u8>,
    index_mismatches: Vec<(String, BTreeMap<i64, i64>)>,
    time_errors: TimeIndexErrors,
    non_consecutive: Vec<(String, BTreeMap<i64, i64>)>,
    /// Trailing bytes or a corrupt snapshot were seen (for `--fail-on-findings`).
    pub damaged: bool,
}

impl<W: Write> KafkaDump<W> {
    pub fn new(cfg: Config, out: W) -> Self {
        KafkaDump {
            cfg,
            out,
            buf: Vec::with_capacity(FLUSH_AT + (64 << 10)),
            decoder: Decoder::default(),
            scratch: Vec::new(),
            index_mismatches: Vec::new(),
            time_errors: TimeIndexErrors::default(),
            non_consecutive: Vec::new(),
            damaged: false,
        }
    }

    /// Hand everything buffered to stdout.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        self.out.flush()
    }

    fn line(&mut self, s: &str) {
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(b'\n');
    }

    /// A line on stderr, after what stdout has so far (Kafka's streams are
    /// unbuffered per line, so the two interleave in time).
    fn err_line(&mut self, s: &str) -> io::Result<()> {
        self.flush()?;
        eprintln!("{s}");
        Ok(())
    }

    /// Dump one `--files` item. `Ok(Err(e))` is an exception that ends the run.
    pub fn dump_file(&mut self, arg: &str) -> io::Result<KResult<()>> {
        let file = JFile::new(arg);
        self.line(&format!("Dumping {}", file.shown));
        let name = file.name().to_string();
        let Some(dot) = name.rfind('.') else {
            // Kafka throws StringIndexOutOfBoundsException here; we report
            // the file and go on.
            self.err_line(&format!("Ignoring unknown file {}", file.shown))?;
            return Ok(Ok(()));
        };
        let r = match &name[dot..] {
            ".log" | ".checkpoint" => self.dump_log(&file),
            ".index" => self.dump_index(&file),
            ".timeindex" => self.dump_time_index(&file),
            ".snapshot" => self.dump_snapshot(&file),
            ".txnindex" => self.dump_txn_index(&file),
            _ => {
                self.err_line(&format!("Ignoring unknown file {}", file.shown))?;
                Ok(Ok(()))
            }
        };
        if self.buf.len() >= FLUSH_AT {
            self.flush()?;
        }
        r
    }

    // ---------------------------------------------------------------------
    // .log / .checkpoint

    fn dump_log(&mut self, file: &JFile) -> io::Result<KResult<()>> {
        let name = file.name().to_string();
        if name.ends_with(".log") {
            let base = match base_offset(&name) {
                Ok(b) => b,
                Err(e) => return Ok(Err(e)),
            };
            self.line(&format!("Log starting offset: {base}"));
        } else if name == "bootstrap.checkpoint" {
            self.line("KRaft bootstrap snapshot");
        } else {
            match snapshot_id(&name) {
                Ok((offset, epoch)) => self.line(&format!("Snapshot end offset: {offset}, epoch: {epoch}")),
                Err(e) => return Ok(Err(e)),
            }
        }
        let (f, len) = match open_records(file) {
            Ok(x) => x,
            Err(e) => return Ok(Err(e)),
        };
        if self.cfg.max_bytes < 0 {
            return Ok(Err(Exception::illegal_argument(format!(
                "Invalid size: {} in read from {}",
                self.cfg.max_bytes,
                file_records_string(len, &file.shown)
            ))));
        }
        let end = len.min(self.cfg.max_bytes as u64);
        drop(f);
        let source = if self.cfg.mmap {
            WindowSource::open(&file.path, MAP_WINDOW).map(LogSource::Mapped)
        } else {
            FileSource::open(&file.path).map(LogSource::Read)
        };
        let source = match source {
            Ok(s) => s,
            Err(e) => return Ok(Err(Exception::io(e, &file.shown))),
        };
        let mut walker = Walker::new(source).limit_bytes(end).max_entry(usize::MAX);
        let abs = file.absolute();
        let mut valid: u64 = 0;
        let mut last_offset: i64 = -1;
        let mut pairs: Option<BTreeMap<i64, i64>> = None;
        let result = loop {
            let step = match walker.next_step() {
                Ok(s) => s,
                Err(e) => break Err(Exception::io(e, &file.shown)),
            };
            let Some(step) = step else { break Ok(()) };
            let (position, bytes) = match step {
                Step::Entry { position, bytes } => (position, bytes),
                Step::Trailing { .. } => break Ok(()),
                Step::ZeroFill { position, len } => {
                    if position + HEADER_UP_TO_MAGIC >= end || len <= HEADER_UP_TO_MAGIC {
                        break Ok(());
                    }
                    break Err(size_too_small(0, &file.shown));
                }
                Step::TooLarge { .. } => unreachable!("no entry limit is set"),
                Step::Corrupt(e) => match e.kind {
                    ErrorKind::SizeTooSmall(size) => break Err(size_too_small(size, &file.shown)),
                    _ => break Err(Exception::decode(&e)),
                },
            };
            let r = batch(
                &self.cfg,
                &mut self.buf,
                &mut self.decoder,
                &mut self.scratch,
                bytes,
                position,
                valid,
                &mut last_offset,
                &mut pairs,
            );
            if let Err(e) = r {
                break Err(e);
            }
            valid += bytes.len() as u64;
            if self.buf.len() >= FLUSH_AT {
                self.out.write_all(&self.buf)?;
                self.buf.clear();
            }
        };
        if let Some(p) = pairs.filter(|p| !p.is_empty()) {
            group(&mut self.non_consecutive, &abs).extend(p);
        }
        if let Err(e) = result {
            return Ok(Err(e));
        }
        let trailing = end - valid;
        if trailing > 0 && self.cfg.max_bytes == INT_MAX {
            self.damaged = true;
            self.line(&format!("Found {trailing} invalid bytes at the end of {}", file.name()));
        }
        Ok(Ok(()))
    }

    // ---------------------------------------------------------------------
    // .index

    fn dump_index(&mut self, file: &JFile) -> io::Result<KResult<()>> {
        Ok(self.dump_index_inner(file))
    }

    fn dump_index_inner(&mut self, file: &JFile) -> KResult<()> {
        let name = file.name().to_string();
        let base = base_offset(&name)?;
        let log = file.sibling(&format!("{}.log", name.split('.').next().unwrap_or("")));
        let (log_file, log_len) = open_records(&log)?;
        // Kafka creates a missing index file here; kseg never writes.
        let data = std::fs::read(&file.path).map_err(|e| Exception::io(e, &file.shown))?;
        let entries = data.len() / 8;
        if entries == 0 {
            self.line(&format!("{} is empty.", file.shown));
            return Ok(());
        }
        let entry = |i: usize| (base + i64::from(be_i32(&data, i * 8)), be_i32(&data, i * 8 + 4));
        if self.cfg.index_sanity {
            let (last, _) = entry(entries - 1);
            if last < base {
                return Err(corrupt_index(format!(
                    "Corrupt index found, index file {} has non-zero size but the last offset is {last} which is less than the base offset {base}",
                    file.absolute()
                )));
            }
            if data.len() % 8 != 0 {
                return Err(corrupt_index(format!(
                    "Index file {} is corrupt, found {} bytes which is neither positive nor a multiple of 8",
                    file.absolute(),
                    data.len()
                )));
            }
            self.line(&format!("{} passed sanity check.", file.shown));
            return Ok(());
        }
        let abs = file.absolute();
        let log_desc = || file_records_string(log_len, &log.shown);
        for i in 0..entries {
            let (offset, position) = entry(i);
            if offset == base && i > 0 {
                break;
            }
            // slice(position, maxMessageSize), then its first batch.
            if position < 0 {
                return Err(Exception::illegal_argument(format!(
                    "Invalid position: {position} in read from {}",
                    log_desc()
                )));
            }
            if position as u64 > log_len {
                return Err(Exception::illegal_argument(format!(
                    "Slice from position {position} exceeds end position of {}",
                    log_desc()
                )));
            }
            if self.cfg.max_message_size < 0 {
                return Err(Exception::illegal_argument(format!(
                    "Invalid size: {} in read from {}",
                    self.cfg.max_message_size,
                    log_desc()
                )));
            }
            let end = (position as u64 + self.cfg.max_message_size as u64).min(log_len);
            let last = match first_batch_last_offset(&log_file, position as u64, end, log_len, &log.shown)? {
                Some(l) => l,
                None => return Err(Exception::bare("java.util.NoSuchElementException")),
            };
            if last != offset {
                group(&mut self.index_mismatches, &abs).insert(offset, last);
            }
            if !self.cfg.verify_only {
                let mut l = String::with_capacity(48);
                l.push_str("offset: ");
                l.push_str(itoa::Buffer::new().format(offset));
                l.push_str(" position: ");
                l.push_str(itoa::Buffer::new().format(position));
                self.line(&l);
            }
        }
        Ok(())
    }

    // ---------------------------------------------------------------------
    // .timeindex

    fn dump_time_index(&mut self, file: &JFile) -> io::Result<KResult<()>> {
        Ok(self.dump_time_index_inner(file))
    }

    fn dump_time_index_inner(&mut self, file: &JFile) -> KResult<()> {
        let name = file.name().to_string();
        let base = base_offset(&name)?;
        let stem = name.split('.').next().unwrap_or("").to_string();
        let log = file.sibling(&format!("{stem}.log"));
        let (log_file, log_len) = open_records(&log)?;
        // Kafka creates a missing .index here (and then fails); kseg reads
        // the log from position 0 instead, which finds the same batches.
        let index = match std::fs::read(file.sibling(&format!("{stem}.index")).path) {
            Ok(d) => Some(d),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(Exception::io(e, &format!("{stem}.index"))),
        };
        let data = std::fs::read(&file.path).map_err(|e| Exception::io(e, &file.shown))?;
        let entries = data.len() / 12;
        let entry = |i: usize| (be_i64(&data, i * 12), base + i64::from(be_i32(&data, i * 12 + 8)));
        let abs = file.absolute();
        if self.cfg.index_sanity {
            if entries != 0 {
                let (last_ts, last_offset) = entry(entries - 1);
                let first_ts = entry(0).0;
                if last_ts < first_ts {
                    return Err(corrupt_index(format!(
                        "Corrupt time index found, time index file ({abs}) has non-zero size but the last timestamp is {last_ts} which is less than the first timestamp {first_ts}"
                    )));
                }
                if last_offset < base {
                    return Err(corrupt_index(format!(
                        "Corrupt time index found, time index file ({abs}) has non-zero size but the last offset is {last_offset} which is less than the first offset {base}"
                    )));
                }
            }
            if data.len() % 12 != 0 {
                return Err(corrupt_index(format!(
                    "Time index file {abs} is corrupt, found {} bytes which is neither positive nor a multiple of 12",
                    data.len()
                )));
            }
            self.line(&format!("{} passed sanity check.", file.shown));
            return Ok(());
        }
        let mut chain: Option<Chain> = None;
        let mut prev_ts: i64 = -1;
        for i in 0..entries {
            let (timestamp, offset) = entry(i);
            if offset == base && i > 0 {
                break;
            }
            let position = index.as_deref().map_or(0, |d| offset_index_lookup(d, base, offset));
            if position < 0 {
                return Err(Exception::illegal_argument(format!(
                    "Invalid position: {position} in read from {}",
                    file_records_string(log_len, &log.shown)
                )));
            }
            if position as u64 > log_len {
                return Err(Exception::illegal_argument(format!(
                    "Slice from position {position} exceeds end position of {}",
                    file_records_string(log_len, &log.shown)
                )));
            }
            let chain = match &mut chain {
                Some(c) => c,
                None => chain.insert(Chain::build(&log_file, 0, log_len, &log.shown)?),
            };
            let found = chain.first_at_least(&log_file, position as u64, log_len, &log.shown, offset)?;
            match found {
                None => group(&mut self.time_errors.not_found, &abs).push((offset, -1)),
                Some((_, last)) if last != offset => group(&mut self.time_errors.not_found, &abs).push((offset, last)),
                Some((pos, _)) => {
                    let max_ts = self.max_record_timestamp(&log_file, pos, &log)?;
                    if max_ts != timestamp {
                        group(&mut self.time_errors.mismatches, &abs).push((timestamp, max_ts));
                    }
                    if prev_ts >= timestamp {
                        group(&mut self.time_errors.out_of_order, &abs).push((timestamp, prev_ts));
                    }
                }
            }
            if !self.cfg.verify_only {
                let mut l = String::with_capacity(48);
                l.push_str("timestamp: ");
                l.push_str(itoa::Buffer::new().format(timestamp));
                l.push_str(" offset: ");
                l.push_str(itoa::Buffer::new().format(offset));
                self.line(&l);
            }
            prev_ts = timestamp;
        }
        Ok(())
    }

    /// The largest record timestamp of the batch at `pos`, from -1.
    fn max_record_timestamp(&mut self, log: &File, pos: u64, shown: &JFile) -> KResult<i64> {
        let mut head = [0u8; 12];
        read_at(log, &mut head, pos, &shown.shown)?;
        let size = be_i32(&head, 8);
        let mut bytes = vec![0u8; LOG_OVERHEAD as usize + size.max(0) as usize];
        read_at(log, &mut bytes, pos, &shown.shown)?;
        let mut max = -1i64;
        let magic = bytes.get(16).copied().unwrap_or(0) as i8;
        if magic >= 2 {
            let b = BatchV2::parse(&bytes, pos).map_err(|e| Exception::decode(&e))?;
            let it = b
                .records(&mut self.scratch, compression::DEFAULT_MAX_DECOMPRESSED)
                .map_err(|e| Exception::decode(&e))?;
            for r in it {
                max = max.max(r.map_err(|e| Exception::decode(&e))?.timestamp);
            }
        } else {
            let mut d = self.decoder.decode(&bytes, pos).map_err(|e| Exception::decode(&e))?;
            for r in d.records() {
                max = max.max(r.map_err(|e| Exception::decode(&e))?.timestamp);
            }
        }
        Ok(max)
    }

    // ---------------------------------------------------------------------
    // .txnindex and .snapshot

    fn dump_txn_index(&mut self, file: &JFile) -> io::Result<KResult<()>> {
        let name = file.name();
        let stem = &name[..name.find('.').unwrap_or(name.len())];
        if let Err(e) = parse_long(stem) {
            return Ok(Err(e));
        }
        // Kafka opens the file read-write; kseg reads it.
        let data = match std::fs::read(&file.path) {
            Ok(d) => d,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Ok(())),
            Err(e) => return Ok(Err(Exception::io(e, &file.shown))),
        };
        for t in kseg::format::txnindex::TxnIndex::new(&data).entries() {
            // Kafka's AbortedTxn.version() reads the first byte of the field.
            let version = t.kafka_version() as i8;
            if version > 0 {
                return Ok(Err(Exception::new(
                    "org.apache.kafka.common.KafkaException",
                    format!(
                        "Unexpected aborted transaction version {} in transaction index {}, current version is 0",
                        version,
                        file.absolute()
                    ),
                )));
            }
            self.line(&format!(
                "version: {} producerId: {} firstOffset: {} lastOffset: {} lastStableOffset: {}",
                version, t.producer_id, t.first_offset, t.last_offset, t.last_stable_offset
            ));
        }
        Ok(Ok(()))
    }

    fn dump_snapshot(&mut self, file: &JFile) -> io::Result<KResult<()>> {
        let data = match std::fs::read(&file.path) {
            Ok(d) => d,
            Err(e) => return Ok(Err(Exception::io(e, &file.shown))),
        };
        match read_snapshot(&data) {
            Ok(entries) => {
                for e in entries {
                    let mut l = format!(
                        "producerId: {} producerEpoch: {} coordinatorEpoch: {} currentTxnFirstOffset: ",
                        e.producer_id, e.producer_epoch, e.coordinator_epoch
                    );
                    let mut b = Vec::new();
                    optional_long(&mut b, (e.current_txn_first_offset >= 0).then_some(e.current_txn_first_offset));
                    l.push_str(&String::from_utf8_lossy(&b));
                    l.push_str(&format!(" lastTimestamp: {}", e.timestamp));
                    if e.last_offset >= 0 {
                        l.push_str(&format!(
                            " firstSequence: {} lastSequence: {} lastOffset: {} offsetDelta: {} timestamp: {}",
                            decrement_sequence(e.last_sequence, e.offset_delta),
                            e.last_sequence,
                            e.last_offset,
                            e.offset_delta,
                            e.timestamp
                        ));
                    }
                    self.line(&l);
                }
            }
            Err(message) => {
                self.damaged = true;
                self.err_line(&message)?;
            }
        }
        Ok(Ok(()))
    }

    // ---------------------------------------------------------------------
    // End-of-run report

    /// The report lines, in Kafka's order. Empty when there is nothing.
    pub fn report(&self) -> String {
        let mut s = String::new();
        for (file, m) in &self.index_mismatches {
            s.push_str(&format!("Mismatches in :{file}\n"));
            for (index_offset, log_offset) in m.iter().rev() {
                s.push_str(&format!("  Index offset: {index_offset}, log offset: {log_offset}\n"));
            }
        }
        for (file, m) in &self.time_errors.mismatches {
            s.push_str(&format!("Found timestamp mismatch in :{file}\n"));
            for (a, b) in m {
                s.push_str(&format!("  Index timestamp: {a}, log timestamp: {b}\n"));
            }
        }
        for (file, m) in &self.time_errors.out_of_order {
            s.push_str(&format!("Found out of order timestamp in :{file}\n"));
            for (a, b) in m {
                s.push_str(&format!("  Index timestamp: {a}, Previously indexed timestamp: {b}\n"));
            }
        }
        for (_, m) in &self.time_errors.not_found {
            s.push_str("The following indexed offsets are not found in the log.\n");
            for (a, b) in m {
                s.push_str(&format!("Indexed offset: {a}, found log offset: {b}\n"));
            }
        }
        for (file, m) in &self.non_consecutive {
            s.push_str(&format!("Non-consecutive offsets in {file}\n"));
            for (a, b) in m {
                s.push_str(&format!("  {a} is followed by {b}\n"));
            }
        }
        s
    }
}

fn size_too_small(size: i32, file: &str) -> Exception {
    Exception::new(
        "org.apache.kafka.common.errors.CorruptRecordException",
        format!("Found record size {size} smaller than minimum record overhead (14) in file {file}."),
    )
}

fn corrupt_index(message: String) -> Exception {
    Exception::new("org.apache.kafka.storage.internals.log.CorruptIndexException", message)
}

fn load_failure(position: u64, log_len: u64, file: &str) -> Exception {
    Exception::new(
        "org.apache.kafka.common.KafkaException",
        format!("Failed to load record batch at position {position} from {}", file_records_string(log_len, file)),
    )
}

fn read_at(f: &File, buf: &mut [u8], pos: u64, file: &str) -> KResult<()> {
    f.read_exact_at(buf, pos).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => Exception::new(
            "org.apache.kafka.common.KafkaException",
            format!("Failed to read {} bytes at position {pos} of {file}", buf.len()),
        ),
        _ => Exception::io(e, file),
    })
}

/// One step of `FileLogInputStream.nextBatch` over `[pos, end)`: the entry
/// size, or `None` at the end of the iteration.
fn next_entry(log: &File, pos: u64, end: u64, file: &str) -> KResult<Option<(u64, i8, i64)>> {
    if pos + HEADER_UP_TO_MAGIC >= end {
        return Ok(None);
    }
    let mut head = [0u8; 17];
    read_at(log, &mut head, pos, file)?;
    let size = be_i32(&head, 8);
    if size < 14 {
        return Err(size_too_small(size, file));
    }
    if pos > end - LOG_OVERHEAD - size as u64 {
        return Ok(None);
    }
    Ok(Some((LOG_OVERHEAD + size as u64, head[16] as i8, be_i64(&head, 0))))
}

/// `batch.lastOffset()` of the entry at `pos`: the log-overhead offset for
/// legacy entries, base offset + lastOffsetDelta (from the 61-byte header,
/// read even past the entry as Kafka does) for v2.
fn last_offset_at(log: &File, pos: u64, magic: i8, log_offset: i64, log_len: u64, file: &str) -> KResult<i64> {
    if magic < 2 {
        return Ok(log_offset);
    }
    if pos + V2_HEADER as u64 > log_len {
        return Err(load_failure(pos, log_len, file));
    }
    let mut h = [0u8; V2_HEADER];
    read_at(log, &mut h, pos, file)?;
    Ok(log_offset.wrapping_add(i64::from(be_i32(&h, 23))))
}

/// The first batch of the log slice `[pos, end)`, as `slice.batches().iterator().next()`.
fn first_batch_last_offset(log: &File, pos: u64, end: u64, log_len: u64, file: &str) -> KResult<Option<i64>> {
    match next_entry(log, pos, end, file)? {
        None => Ok(None),
        Some((_, magic, log_offset)) => last_offset_at(log, pos, magic, log_offset, log_len, file).map(Some),
    }
}

/// `AbstractIndex.largestLowerBoundSlotFor` over every slot of an offset
/// index file (zero tail included, as Kafka reads it), then
/// `OffsetIndex.lookup`'s position (0 when no slot is lower).
fn offset_index_lookup(data: &[u8], base: i64, target: i64) -> i32 {
    let entries = data.len() / 8;
    if entries == 0 {
        return 0;
    }
    let key = |i: usize| base + i64::from(be_i32(data, i * 8));
    let search = |mut lo: usize, mut hi: usize| {
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            match key(mid).cmp(&target) {
                std::cmp::Ordering::Greater => hi = mid - 1,
                std::cmp::Ordering::Less => lo = mid,
                std::cmp::Ordering::Equal => return mid,
            }
        }
        lo
    };
    let first_hot = entries.saturating_sub(1 + 8192 / 8);
    let slot = if key(first_hot) < target {
        search(first_hot, entries - 1)
    } else if key(0) > target {
        return 0;
    } else {
        search(0, first_hot)
    };
    be_i32(data, slot * 8 + 4)
}

/// The batches of a log walked from position 0: start positions and last
/// offsets, and how the walk ended. Kafka walks from the looked-up position
/// for every time-index entry; a lookup that lands on one of these
/// positions sees the same suffix, so one walk serves them all.
struct Chain {
    positions: Vec<u64>,
    last_offsets: Vec<i64>,
    increasing: bool,
    /// The exception the walk to the end of the file raises, if any.
    error: Option<Exception>,
}

impl Chain {
    fn build(log: &File, start: u64, log_len: u64, file: &str) -> KResult<Chain> {
        let (mut positions, mut last_offsets) = (Vec::new(), Vec::new());
        let mut pos = start;
        let mut error = None;
        loop {
            match next_entry(log, pos, log_len, file) {
                Ok(Some((size, magic, log_offset))) => {
                    positions.push(pos);
                    // A header that cannot be loaded fails only if this batch
                    // is examined; keep the walk going.
                    last_offsets.push(last_offset_at(log, pos, magic, log_offset, log_len, file).unwrap_or(i64::MIN));
                    pos += size;
                }
                Ok(None) => break,
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
        }
        let increasing = last_offsets.windows(2).all(|w| w[0] < w[1]);
        Ok(Chain { positions, last_offsets, increasing, error })
    }

    /// The first batch at or after `position` (walking from it) whose last
    /// offset is at least `target`: `(position, lastOffset)`.
    fn first_at_least(
        &mut self,
        log: &File,
        position: u64,
        log_len: u64,
        file: &str,
        target: i64,
    ) -> KResult<Option<(u64, i64)>> {
        let Ok(i) = self.positions.binary_search(&position) else {
            // Off the chain (an index entry pointing into a batch): walk
            // from there, as Kafka does.
            let c = Chain::build(log, position, log_len, file)?;
            if let Some(e) = c.error {
                return Err(e);
            }
            return c.scan(0, log, log_len, file, target);
        };
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        if self.increasing {
            let j = i + self.last_offsets[i..].partition_point(|&l| l < target);
            return Ok(self.positions.get(j).map(|&p| (p, self.last_offsets[j])));
        }
        self.scan(i, log, log_len, file, target)
    }

    fn scan(&self, from: usize, log: &File, log_len: u64, file: &str, target: i64) -> KResult<Option<(u64, i64)>> {
        for j in from..self.positions.len() {
            let p = self.positions[j];
            let mut l = self.last_offsets[j];
            if l == i64::MIN {
                // Reproduce the header load failure now that it matters.
                let mut head = [0u8; 17];
                read_at(log, &mut head, p, file)?;
                l = last_offset_at(log, p, head[16] as i8, be_i64(&head, 0), log_len, file)?;
            }
            if l >= target {
                return Ok(Some((p, l)));
            }
        }
        Ok(None)
    }
}

/// Print one entry of a `.log`: its batch line and, under deep iteration,
/// its record lines. On an exception the buffer keeps what Kafka would have
/// printed before it.
#[allow(clippy::too_many_arguments)]
fn batch(
    cfg: &Config,
    buf: &mut Vec<u8>,
    decoder: &mut Decoder,
    scratch: &mut Vec<u8>,
    bytes: &[u8],
    position: u64,
    valid: u64,
    last_offset: &mut i64,
    pairs: &mut Option<BTreeMap<i64, i64>>,
) -> KResult<()> {
    let head = EntryHead::read(bytes);
    let attributes = if head.magic >= 2 { be_i16(bytes, 21) } else { i16::from(bytes[17]) };
    let ts_type = if head.magic >= 2 {
        if attributes & 0x08 != 0 { TimestampType::LogAppendTime } else { TimestampType::CreateTime }
    } else if head.magic == 0 {
        TimestampType::NoTimestampType
    } else if attributes & 0x08 != 0 {
        TimestampType::LogAppendTime
    } else {
        TimestampType::CreateTime
    };
    let ts_name: &'static [u8] = ts_type.name().as_bytes();
    let codec_id = (attributes & 0x07) as u8;
    let mut ctx =
        BatchCtx { ts_type, v2: head.magic >= 2, base_offset: head.log_offset, base_sequence: -1, control: false };
    let crc;
    let valid_crc;
    let max_timestamp;
    if head.magic >= 2 {
        if bytes.len() < V2_HEADER {
            return Err(Exception::new(
                "org.apache.kafka.common.KafkaException",
                format!(
                    "Failed to load record batch at position {position}: batch of {} bytes is shorter than the 61-byte header",
                    bytes.len()
                ),
            ));
        }
        let last_offset_delta = be_i32(bytes, 23);
        let base_timestamp = be_i64(bytes, 27);
        max_timestamp = be_i64(bytes, 35);
        let base_sequence = be_i32(bytes, 53);
        ctx.base_sequence = base_sequence;
        ctx.control = attributes & 0x20 != 0;
        crc = be_u32(bytes, 17);
        valid_crc = kseg::format::crc::crc32c(&bytes[21..]) == crc;
        buf.extend_from_slice(b"baseOffset: ");
        num(buf, head.log_offset);
        buf.extend_from_slice(b" lastOffset: ");
        num(buf, head.log_offset.wrapping_add(i64::from(last_offset_delta)));
        buf.extend_from_slice(b" count: ");
        num(buf, be_i32(bytes, 57));
        buf.extend_from_slice(b" baseSequence: ");
        num(buf, base_sequence);
        buf.extend_from_slice(b" lastSequence: ");
        num(buf, if base_sequence == -1 { -1 } else { increment_sequence(base_sequence, last_offset_delta) });
        buf.extend_from_slice(b" producerId: ");
        num(buf, be_i64(bytes, 43));
        buf.extend_from_slice(b" producerEpoch: ");
        num(buf, be_i16(bytes, 51));
        buf.extend_from_slice(b" partitionLeaderEpoch: ");
        num(buf, be_i32(bytes, 12));
        buf.extend_from_slice(b" isTransactional: ");
        boolean(buf, attributes & 0x10 != 0);
        buf.extend_from_slice(b" isControl: ");
        boolean(buf, ctx.control);
        buf.extend_from_slice(b" deleteHorizonMs: ");
        optional_long(buf, (attributes & 0x40 != 0).then_some(base_timestamp));
    } else {
        crc = be_u32(bytes, 12);
        valid_crc = crc32fast::hash(&bytes[16..]) == crc;
        max_timestamp = if head.magic == 0 { -1 } else { be_i64(bytes, 18) };
        buf.extend_from_slice(b"offset: ");
        num(buf, head.log_offset);
    }
    let codec = codec_name(codec_id)?;
    buf.extend_from_slice(b" position: ");
    num(buf, valid);
    buf.push(b' ');
    buf.extend_from_slice(ts_name);
    buf.extend_from_slice(b": ");
    num(buf, max_timestamp);
    buf.extend_from_slice(b" size: ");
    num(buf, head.size);
    buf.extend_from_slice(b" magic: ");
    num(buf, head.magic);
    buf.extend_from_slice(b" compresscodec: ");
    buf.extend_from_slice(codec.as_bytes());
    buf.extend_from_slice(b" crc: ");
    num(buf, crc);
    buf.extend_from_slice(b" isvalid: ");
    boolean(buf, valid_crc);
    buf.push(b'\n');
    if !cfg.deep {
        return Ok(());
    }
    let compressed = codec_id != 0;
    let mark = buf.len();
    let fail = |buf: &mut Vec<u8>, line_start: usize, e: &DecodeError| {
        // A compressed batch is read whole before its first record is
        // printed; an uncompressed one fails at the record, and "records
        // still remaining" fails the last record before it is printed.
        if compressed {
            buf.truncate(mark);
        } else if matches!(e.kind, ErrorKind::RecordsRemaining(_)) {
            buf.truncate(line_start);
        }
        Exception::decode(e)
    };
    let mut line_start = mark;
    if head.magic >= 2 {
        let b = BatchV2::parse(bytes, position).map_err(|e| Exception::decode(&e))?;
        let it = b.records(scratch, compression::DEFAULT_MAX_DECOMPRESSED).map_err(|e| fail(buf, mark, &e))?;
        for r in it {
            match r {
                Ok(rec) => {
                    line_start = buf.len();
                    record(cfg, buf, &ctx, &rec, last_offset, pairs)?;
                }
                Err(e) => return Err(fail(buf, line_start, &e)),
            }
        }
    } else {
        let mut d = decoder.decode(bytes, position).map_err(|e| Exception::decode(&e))?;
        for r in d.records() {
            match r {
                Ok(rec) => {
                    line_start = buf.len();
                    record(cfg, buf, &ctx, &rec, last_offset, pairs)?;
                }
                Err(e) => return Err(fail(buf, line_start, &e)),
            }
        }
    }
    Ok(())
}

/// One record line (`dumpBatchRecords`' loop body).
#[inline]
fn record(
    cfg: &Config,
    buf: &mut Vec<u8>,
    ctx: &BatchCtx,
    rec: &Record<'_>,
    last_offset: &mut i64,
    pairs: &mut Option<BTreeMap<i64, i64>>,
) -> KResult<()> {
    if rec.offset != last_offset.wrapping_add(1) {
        pairs.get_or_insert_with(BTreeMap::new).insert(*last_offset, rec.offset);
    }
    *last_offset = rec.offset;
    // One reservation for the whole line: the pushes below then never grow
    // the buffer.
    buf.reserve(
        Fixed::CAP + 32 + rec.key.map_or(0, <[u8]>::len) + rec.value.map_or(0, <[u8]>::len) + rec.headers.len() * 16,
    );
    if !cfg.skip_metadata {
        let mut w = Fixed::new(buf);
        w.lit(b"| offset: ");
        w.num(rec.offset);
        match ctx.ts_type {
            TimestampType::CreateTime => w.lit(b" CreateTime: "),
            TimestampType::LogAppendTime => w.lit(b" LogAppendTime: "),
            TimestampType::NoTimestampType => w.lit(b" NoTimestampType: "),
        }
        w.num(rec.timestamp);
        w.lit(b" keySize: ");
        w.num(rec.key.map_or(-1, |k| k.len() as i64));
        w.lit(b" valueSize: ");
        w.num(rec.value.map_or(-1, |v| v.len() as i64));
        if ctx.v2 {
            w.lit(b" sequence: ");
            let sequence = if ctx.base_sequence >= 0 {
                increment_sequence(ctx.base_sequence, rec.offset.wrapping_sub(ctx.base_offset) as i32)
            } else {
                -1
            };
            w.num(i64::from(sequence));
            w.lit(b" headerKeys: [");
        }
        w.done();
        if ctx.v2 {
            for (i, (k, _)) in rec.headers.iter().enumerate() {
                if i > 0 {
                    buf.push(b',');
                }
                utf8_lossy(buf, k);
            }
            buf.push(b']');
        }
        if let Some(m) = rec.message {
            let stored = be_u32(m, 12);
            buf.extend_from_slice(b" isValid: ");
            boolean(buf, m.len() >= 26 && crc32fast::hash(&m[16..]) == stored);
            buf.extend_from_slice(b" crc: ");
            num(buf, stored);
        }
        if ctx.control
            && let Some(c) = &rec.control
        {
            control_part(buf, c);
        }
    }
    if cfg.print_data && !ctx.control {
        let mut prefix: &[u8] = if cfg.skip_metadata { b"| " } else { b" " };
        match cfg.parser {
            Parser::Strings => {
                if let Some(k) = rec.key {
                    buf.extend_from_slice(prefix);
                    buf.extend_from_slice(b"key: ");
                    utf8_lossy(buf, k);
                    prefix = b" ";
                }
                if let Some(v) = rec.value {
                    buf.extend_from_slice(prefix);
                    buf.extend_from_slice(b"payload: ");
                    utf8_lossy(buf, v);
                }
            }
            Parser::Internal(kind) => {
                let text = topics::record_text(kind, rec.offset, rec.key, rec.value).map_err(|_| {
                    Exception::new(
                        "java.lang.RuntimeException",
                        format!(
                            "Failed to decode message at offset {} using the specified decoder (message had a missing key)",
                            rec.offset
                        ),
                    )
                })?;
                if let Some(k) = text.key {
                    buf.extend_from_slice(prefix);
                    buf.extend_from_slice(b"key: ");
                    buf.extend_from_slice(k.as_bytes());
                    prefix = b" ";
                }
                if let Some(v) = text.payload {
                    buf.extend_from_slice(prefix);
                    buf.extend_from_slice(b"payload: ");
                    buf.extend_from_slice(v.as_bytes());
                }
            }
        }
    }
    buf.push(b'\n');
    Ok(())
}

/// `Snapshots.parse` of `<20-digit offset>-<10-digit epoch>.checkpoint`.
fn snapshot_id(name: &str) -> KResult<(i64, i32)> {
    let offset = name.get(..20).ok_or_else(|| {
        Exception::new("java.lang.StringIndexOutOfBoundsException", format!("begin 0, end 20, length {}", name.len()))
    })?;
    let epoch = name.get(21..31).ok_or_else(|| {
        Exception::new("java.lang.StringIndexOutOfBoundsException", format!("begin 21, end 31, length {}", name.len()))
    })?;
    Ok((parse_long(offset)?, parse_int(epoch)?))
}

/// `ProducerStateManager.readSnapshot`: version, CRC-32C of bytes [6, EOF),
/// then 46-byte entries. The error is the `CorruptSnapshotException` text.
fn read_snapshot(data: &[u8]) -> Result<Vec<kseg::format::snapshot::ProducerEntry>, String> {
    let invalid = |m: String| format!("Snapshot failed schema validation: {m}");
    if data.len() < 2 {
        return Err(invalid(format!("Error reading field 'version': only {} byte(s) available", data.len())));
    }
    let version = be_i16(data, 0);
    if version != 1 {
        return Err(invalid(format!("Snapshot contained an unknown file version {version}")));
    }
    if data.len() < 10 {
        return Err(invalid(format!("Error reading snapshot header: {} bytes available, 10 needed", data.len())));
    }
    let count = be_i32(data, 6);
    if count < 0 {
        return Err(invalid(format!("Error reading field 'producer_entries': array size {count} is negative")));
    }
    let available = data.len() - 10;
    if (count as usize).saturating_mul(46) > available {
        return Err(invalid(format!(
            "Error reading field 'producer_entries': {count} entries need {} bytes, only {available} available",
            count as u64 * 46
        )));
    }
    let stored = be_u32(data, 2);
    let computed = kseg::format::crc::crc32c(&data[6..]);
    if stored != computed {
        return Err(format!(
            "Snapshot is corrupt (CRC is no longer valid). Stored crc: {stored}. Computed crc: {computed}"
        ));
    }
    // The checks above are Kafka's, in its order and words; the entries
    // come from the shared parser.
    Ok(kseg::format::snapshot::parse(data).entries().collect())
}

/// The note printed when a decoder class other than `StringDecoder` is named.
pub fn decoder_class_note(option: &str, class: &str) -> Option<String> {
    (class != STRING_DECODER && class != "StringDecoder").then(|| {
        format!(
            "kseg: --{option} {class}: only {STRING_DECODER} is supported; keys and values are printed as UTF-8 text"
        )
    })
}

/// Where a path given to `--files` points, for tests of [`JFile`].
#[cfg(test)]
fn shown_path(arg: &str) -> String {
    JFile::new(arg).shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_numbers_match_the_standard_formatting() {
        let mut samples = vec![0i64, 1, -1, 9, 10, 99, 100, 101, i64::MAX, i64::MIN, i64::MIN + 1];
        for k in 1..19u32 {
            let p = 10i64.pow(k);
            samples.extend([p - 1, p, p + 1, -(p - 1), -p, -(p + 1)]);
        }
        for v in samples {
            let mut buf = b"x".to_vec();
            buf.reserve(Fixed::CAP);
            let mut w = Fixed::new(&mut buf);
            w.lit(b"<");
            w.num(v);
            w.lit(b">");
            w.done();
            assert_eq!(String::from_utf8(buf).unwrap(), format!("x<{v}>"));
        }
    }

    #[test]
    fn sequences_wrap_as_in_java() {
        assert_eq!(increment_sequence(5, 3), 8);
        assert_eq!(increment_sequence(i32::MAX, 1), 0);
        assert_eq!(increment_sequence(i32::MAX - 1, 3), 1);
        assert_eq!(decrement_sequence(-1, 0), i32::MAX);
        assert_eq!(decrement_sequence(10, 3), 7);
        assert_eq!(decrement_sequence(1, 3), i32::MAX - 1);
    }

    #[test]
    fn java_file_paths() {
        assert_eq!(shown_path("a//b///c/"), "a/b/c");
        assert_eq!(shown_path("/"), "/");
        assert_eq!(JFile::new("/x/y/00000000000000000000.log").name(), "00000000000000000000.log");
        assert_eq!(JFile::new("/x/y/0.index").sibling("0.log").shown, "/x/y/0.log");
    }

    #[test]
    fn long_parsing_is_java_like() {
        assert_eq!(parse_long("00000000000000000042").unwrap(), 42);
        assert_eq!(parse_long("+7").unwrap(), 7);
        assert!(parse_long("").is_err());
        assert!(parse_long("foo").is_err());
        assert!(parse_long("99999999999999999999").is_err());
    }

    #[test]
    fn lookup_over_a_zero_tail_gives_zero() {
        // Entries (3, 100), (7, 300) then zero slots: Kafka's warm-section
        // search over every slot.
        let mut d = Vec::new();
        for (o, p) in [(3i32, 100i32), (7, 300)] {
            d.extend_from_slice(&o.to_be_bytes());
            d.extend_from_slice(&p.to_be_bytes());
        }
        assert_eq!(offset_index_lookup(&d, 0, 7), 300);
        assert_eq!(offset_index_lookup(&d, 0, 5), 100);
        assert_eq!(offset_index_lookup(&d, 0, 2), 0);
        d.resize(d.len() + 8 * 10, 0);
        assert_eq!(offset_index_lookup(&d, 0, 7), 0);
    }

    #[test]
    fn lossy_utf8_matches_java_replacement() {
        let mut b = Vec::new();
        utf8_lossy(&mut b, b"a\xffb\xe2\x82");
        assert_eq!(String::from_utf8(b).unwrap(), "a\u{FFFD}b\u{FFFD}");
    }
}
