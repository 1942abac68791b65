//! `kseg kafka-dump-log`: the text that Apache Kafka's DumpLogSegments
//! (`kafka-dump-log.sh`, the Java tool of Kafka 4.3+) prints, byte for byte,
//! for `.log`, `.checkpoint`, `.index`, `.timeindex`, `.txnindex` and
//! `.snapshot` files, plus its end-of-run report on stderr.
//!
//! This module is the driver: the options ([`Config`], [`Parser`]), the
//! state of a run ([`KafkaDump`]), the choice of dump by file name, and the
//! report. The dumps are by file kind: [`log`] (`.log`, `.checkpoint`),
//! [`index`] (`.index`, `.timeindex`), [`snapshot`] (`.snapshot`,
//! `.txnindex`), [`topics`] (the internal-topic decoders' text); [`java`]
//! holds what makes the output Java's (exceptions, paths, number parsing and
//! printing).
//!
//! Nothing here reads the format by byte offset: entries are walked with
//! [`kseg::format::walk`] and read through [`kseg::format::head::EntryHead`]
//! and the library's parsers.
//!
//! Everything written to stdout goes through one reused buffer with `itoa`;
//! the record lines of a full `--print-data-log` dump allocate nothing.
//! Where Kafka fails with a Java exception, the functions here return an
//! [`Exception`] carrying the Java class name and message, and the caller
//! prints it as the JVM does for an exception that leaves Kafka's `main`, and exits 1.

mod index;
mod java;
mod log;
mod snapshot;
mod topics;
mod windows;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Write};

use kseg::Decoder;
use kseg::topics::TopicKind;

use java::JFile;
pub use java::{Exception, KResult};

/// `Integer.MAX_VALUE`, the default of `--max-bytes`.
pub const INT_MAX: i32 = i32::MAX;
/// Output is handed to stdout once this much has collected (at a batch end).
const FLUSH_AT: usize = 1 << 20;
const STRING_DECODER: &str = "org.apache.kafka.tools.api.StringDecoder";

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

/// Which release's DumpLogSegments text to print (`--kafka-version`). The
/// tool moved from Scala in core (up to 4.1) to Java in `kafka-tools` (4.3);
/// each variant names the releases whose text is the same.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum KafkaVersion {
    /// 4.1: the Scala tool.
    V4_1,
    /// 4.3: the Java tool, transaction states as numbers.
    V4_3,
    /// 4.4 (the default): transaction states by name (KAFKA-20712).
    V4_4,
}

impl KafkaVersion {
    /// `4.1`, `4.1.1`, … for the release lines kseg knows.
    pub fn parse(s: &str) -> Option<Self> {
        let mut parts = s.split('.');
        let line = (parts.next()?, parts.next()?);
        if !parts.all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())) {
            return None;
        }
        match line {
            ("4", "1") => Some(KafkaVersion::V4_1),
            ("4", "3") => Some(KafkaVersion::V4_3),
            ("4", "4") => Some(KafkaVersion::V4_4),
            _ => None,
        }
    }

    /// The Scala tool's own text (4.0–4.1): a payload after no key is
    /// ` payload: ` (no `|`), a legacy record's crc ends with a stray `}`,
    /// a producer-snapshot entry without batch metadata ends with a space,
    /// and the `Non-consecutive offsets` pairs of a file come newest first
    /// (a Scala list built by prepending).
    pub fn scala_text(self) -> bool {
        self == KafkaVersion::V4_1
    }

    /// `--transaction-log-decoder` prints `transactionStatus` by name.
    pub fn names_transaction_states(self) -> bool {
        self >= KafkaVersion::V4_4
    }
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
    /// Whose text to print.
    pub version: KafkaVersion,
    /// `--base-offset`: the base offset of a `.log` whose name does not
    /// carry one, or of a stream.
    pub base_offset: Option<i64>,
    /// `--jobs`: threads that write a `.log`'s lines (1: one batch after
    /// another).
    pub jobs: usize,
}

/// What the `.timeindex` checks found, by file, for the report.
#[derive(Default)]
struct TimeIndexErrors {
    mismatches: Vec<(String, Vec<(i64, i64)>)>,
    out_of_order: Vec<(String, Vec<(i64, i64)>)>,
    not_found: Vec<(String, Vec<(i64, i64)>)>,
}

/// The findings for `key` (a file), kept in the order files were first seen.
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
        // Standard input, a pipe or a FIFO: a segment, read as it comes.
        if kseg::files::input::is_stream(&file.path) {
            let r = self.dump_log(&file);
            if self.buf.len() >= FLUSH_AT {
                self.flush()?;
            }
            return r;
        }
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
        for (file, m) in &self.time_errors.not_found {
            if self.cfg.version.scala_text() {
                s.push_str("The following indexed offsets are not found in the log.\n");
            } else {
                s.push_str(&format!("The following indexed offsets are not found in :{file}\n"));
            }
            for (a, b) in m {
                s.push_str(&format!("Indexed offset: {a}, found log offset: {b}\n"));
            }
        }
        for (file, m) in &self.non_consecutive {
            s.push_str(&format!("Non-consecutive offsets in {file}\n"));
            let pairs: Box<dyn Iterator<Item = (&i64, &i64)>> =
                if self.cfg.version.scala_text() { Box::new(m.iter().rev()) } else { Box::new(m.iter()) };
            for (a, b) in pairs {
                s.push_str(&format!("  {a} is followed by {b}\n"));
            }
        }
        s
    }
}

/// The note printed when a decoder class other than `StringDecoder` is named.
pub fn decoder_class_note(option: &str, class: &str) -> Option<String> {
    (class != STRING_DECODER && class != "StringDecoder").then(|| {
        format!(
            "kseg: --{option} {class}: only {STRING_DECODER} is supported; keys and values are printed as UTF-8 text"
        )
    })
}
