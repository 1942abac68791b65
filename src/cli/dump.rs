//! `kseg dump`: every batch (and record) of the given files, streamed.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use kseg::decode::{self, Decoded, TopicKind};
use kseg::partition::{self, FileKind};
use kseg::segment::{Source, Step, Walker, base_offset_from_name};
use kseg::{BatchInfo, DecodeError, Decoder};

use super::exit;
use crate::output::{self, Encoding, FileStart, Format, Problem, Sink, Summary};

#[derive(Debug, Args)]
pub struct DumpArgs {
    /// `.log` or `.checkpoint` files, other log-framed record sets, or
    /// partition directories (their segments in base-offset order).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Show every record, not only batch headers.
    #[arg(long)]
    pub records: bool,

    /// Skip batches and records below this offset.
    #[arg(long, value_name = "OFFSET")]
    pub from_offset: Option<i64>,

    /// Stop after this offset.
    #[arg(long, value_name = "OFFSET")]
    pub to_offset: Option<i64>,

    /// Show at most this many items (records with --records, else batches).
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,

    /// Read at most this many bytes of each file.
    #[arg(long, value_name = "BYTES")]
    pub max_bytes: Option<u64>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// How record keys are shown.
    #[arg(long, value_enum, default_value_t = Encoding::Utf8)]
    pub key_encoding: Encoding,

    /// How record values and header values are shown.
    #[arg(long, value_enum, default_value_t = Encoding::Utf8)]
    pub value_encoding: Encoding,

    /// Largest decompressed size accepted for one batch, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = kseg::compression::DEFAULT_MAX_DECOMPRESSED)]
    pub max_decompressed: usize,

    /// Decode the records of a Kafka internal topic (implies --records).
    /// Without it, records are decoded when the partition directory names an
    /// internal topic (__consumer_offsets-N, __transaction_state-N,
    /// __cluster_metadata-0, __remote_log_metadata-N, __share_group_state-N)
    /// and for KRaft snapshots (.checkpoint); `none` turns that off.
    #[arg(long, value_enum, value_name = "TOPIC")]
    pub decode: Option<DecodeArg>,

    /// Only decoded records whose key names this group (implies --records).
    #[arg(long, value_name = "GROUP")]
    pub group: Option<String>,

    /// Only decoded records whose key names this transactional id (implies --records).
    #[arg(long, value_name = "ID")]
    pub transactional_id: Option<String>,

    /// Only decoded records of this type, e.g. OFFSET_COMMIT, GROUP_METADATA,
    /// TRANSACTION_LOG, PARTITION_RECORD, or the type id (implies --records).
    /// Case, `_` and a trailing RECORD do not matter.
    #[arg(long, value_name = "NAME")]
    pub record_type: Option<String>,
}

/// `--decode` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DecodeArg {
    /// __consumer_offsets: offset commits, group metadata, consumer/share/streams group records.
    Offsets,
    /// __transaction_state: transactional id -> producer id, epoch, state, partitions.
    Transactions,
    /// __cluster_metadata and KRaft snapshots: metadata records.
    Metadata,
    /// __remote_log_metadata: tiered storage segment metadata.
    RemoteLogMetadata,
    /// __share_group_state: share group snapshots and updates.
    ShareGroupState,
    /// Do not decode, not even by directory name.
    None,
}

impl DecodeArg {
    fn kind(self) -> Option<TopicKind> {
        Some(match self {
            DecodeArg::Offsets => TopicKind::Offsets,
            DecodeArg::Transactions => TopicKind::Transactions,
            DecodeArg::Metadata => TopicKind::Metadata,
            DecodeArg::RemoteLogMetadata => TopicKind::RemoteLogMetadata,
            DecodeArg::ShareGroupState => TopicKind::ShareGroupState,
            DecodeArg::None => return None,
        })
    }
}

impl DumpArgs {
    fn has_filters(&self) -> bool {
        self.group.is_some() || self.transactional_id.is_some() || self.record_type.is_some()
    }

    /// Whether a decoded record passes --group, --transactional-id and --record-type.
    fn passes(&self, d: Option<&Decoded>) -> bool {
        let Some(d) = d else { return !self.has_filters() };
        self.group.as_deref().is_none_or(|g| d.group_id() == Some(g))
            && self.transactional_id.as_deref().is_none_or(|t| d.transactional_id() == Some(t))
            && self.record_type.as_deref().is_none_or(|n| d.type_matches(n))
    }
}

struct Dumper<'w> {
    sink: Box<dyn Sink + 'w>,
    args: DumpArgs,
    summary: Summary,
    shown: u64,
}

enum Flow {
    Continue,
    /// Past --to-offset: the rest of this partition's segments is too.
    EndOfRange,
    /// The limit is reached: stop everything.
    Stop,
}

pub fn run(mut args: DumpArgs) -> anyhow::Result<ExitCode> {
    if args.has_filters() || args.decode.is_some_and(|d| d != DecodeArg::None) {
        args.records = true;
    }
    let mut inputs = Vec::new();
    let mut unreadable = false;
    for path in &args.paths {
        match expand(path) {
            Ok(files) if files.is_empty() => {
                eprintln!("kseg: {}: no .log segments in this directory", path.display());
                unreadable = true;
            }
            Ok(files) => inputs.push(files),
            Err(e) => {
                eprintln!("kseg: {}: {e}", path.display());
                unreadable = true;
            }
        }
    }
    let opts =
        output::Options { key_encoding: args.key_encoding, value_encoding: args.value_encoding, records: args.records };
    let sink = output::sink(args.format, super::stdout(), opts);
    let decoder = Decoder::new(args.max_decompressed);
    let mut decoder = decoder;
    let mut d = Dumper { sink, args, summary: Summary::default(), shown: 0 };
    'groups: for group in &inputs {
        for path in group {
            match d.file(&mut decoder, path) {
                Ok(Flow::Continue) => {}
                Ok(Flow::EndOfRange) => break,
                Ok(Flow::Stop) => break 'groups,
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Err(e.into()),
                Err(e) => {
                    eprintln!("kseg: {}: {e}", path.display());
                    unreadable = true;
                }
            }
        }
    }
    d.sink.finish(&d.summary).context("writing output")?;
    Ok(ExitCode::from(if unreadable {
        exit::ERROR
    } else if d.summary.problems > 0 {
        exit::FINDINGS
    } else {
        exit::OK
    }))
}

/// A directory becomes its segments in base-offset order; a file is itself.
fn expand(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    let meta = std::fs::metadata(path)?;
    if meta.is_dir() {
        Ok(partition::segments(path)?.into_iter().map(|s| s.log).collect())
    } else {
        Ok(vec![path.to_path_buf()])
    }
}

impl Dumper<'_> {
    fn problem(&mut self, file: &str, position: u64, kind: &'static str, message: String) -> std::io::Result<()> {
        let p = Problem { file: file.to_string(), position, kind, message };
        self.summary.problems += 1;
        self.sink.problem(&p)?;
        eprintln!("kseg: {}: at byte {}: {}", p.file, p.position, p.message);
        Ok(())
    }

    fn decode_problem(&mut self, file: &str, e: &DecodeError) -> std::io::Result<()> {
        self.problem(file, e.position, e.kind_name(), e.describe())
    }

    fn show_batch(&mut self, file: &str, info: &BatchInfo) -> std::io::Result<()> {
        self.summary.batches += 1;
        self.summary.bytes += info.size;
        self.sink.batch(file, info)
    }

    fn limit_reached(&self) -> bool {
        self.args.limit.is_some_and(|l| self.shown >= l)
    }

    fn file(&mut self, decoder: &mut Decoder, path: &Path) -> std::io::Result<Flow> {
        let display = path.display().to_string();
        let mut walker = Walker::open(path)?;
        if let Some(max) = self.args.max_bytes {
            walker = walker.limit_bytes(max);
        }
        let (kind, _) = partition::classify(path);
        let kind = if kind == FileKind::Other { "records" } else { kind.name() };
        let file_len = walker.source().len();
        // With --max-bytes the cut is the user's choice: like Kafka, an entry
        // it cuts through is not reported as trailing bytes.
        let cut_by_user = walker.end() < file_len;
        self.sink.begin_file(&FileStart {
            file: &display,
            kind,
            size: file_len,
            base_offset: base_offset_from_name(path),
        })?;
        self.summary.files += 1;
        let (from, to) = (self.args.from_offset.unwrap_or(i64::MIN), self.args.to_offset.unwrap_or(i64::MAX));
        let topic_kind = match self.args.decode {
            Some(d) => d.kind(),
            None => TopicKind::for_path(path),
        };
        if topic_kind.is_none() && self.args.has_filters() && self.args.records {
            eprintln!(
                "kseg: {display}: not decoded (use --decode TOPIC), so no record can match --group, --transactional-id or --record-type"
            );
        }
        let mut flow = Flow::Continue;
        while let Some(step) = walker.next_step()? {
            if self.limit_reached() {
                flow = Flow::Stop;
                break;
            }
            let (position, bytes) = match step {
                Step::Entry { position, bytes } => (position, bytes),
                Step::Trailing { .. } | Step::ZeroFill { .. } if cut_by_user => continue,
                Step::Trailing { position: 0, len } => {
                    let msg = format!("the file does not start with a complete Kafka log entry ({len} bytes)");
                    self.problem(&display, 0, "trailing_bytes", msg)?;
                    continue;
                }
                Step::Trailing { position, len } => {
                    let msg = format!("{len} trailing bytes: an incomplete entry at the end of the file");
                    self.problem(&display, position, "trailing_bytes", msg)?;
                    continue;
                }
                Step::ZeroFill { position, len } => {
                    let msg = format!("{len} zero bytes to the end of the file (a preallocated segment?)");
                    self.problem(&display, position, "preallocated_tail", msg)?;
                    continue;
                }
                Step::TooLarge { position, size } => {
                    let msg = format!("entry of {size} bytes is larger than kseg reads into memory; skipped");
                    self.problem(&display, position, "entry_too_large", msg)?;
                    continue;
                }
                Step::Corrupt(e) => {
                    self.decode_problem(&display, &e)?;
                    continue;
                }
            };
            let mut decoded = match decoder.decode(bytes, position) {
                Ok(d) => d,
                Err(e) => {
                    let (file, e) = (display.clone(), e);
                    self.decode_problem(&file, &e)?;
                    continue;
                }
            };
            let info: BatchInfo = decoded.info.clone();
            if info.last_offset < from {
                continue;
            }
            if info.base_offset > to {
                // Offsets only grow within a partition; other paths given may
                // still hold offsets in range.
                flow = Flow::EndOfRange;
                break;
            }
            let header_problems = decoded.header_problems();
            if !self.args.records {
                self.shown += 1;
            }
            // With record filters, a batch is shown only with a record that
            // passes them (or with a problem of its own).
            let mut batch_pending = self.args.has_filters() && header_problems.is_empty();
            if !batch_pending {
                self.show_batch(&display, &info)?;
            }
            for (kind, msg) in header_problems {
                self.problem(&display, position, kind, msg)?;
            }
            if !self.args.records {
                continue;
            }
            let mut failures = Vec::new();
            for record in decoded.records() {
                match record {
                    Ok(r) => {
                        if r.offset < from || r.offset > to {
                            continue;
                        }
                        let decoded = match (topic_kind, &r.control) {
                            (Some(k), None) => Some(decode::decode_record(k, r.key, r.value)),
                            _ => None,
                        };
                        if !self.args.passes(decoded.as_ref()) {
                            continue;
                        }
                        if self.limit_reached() {
                            break;
                        }
                        if batch_pending {
                            batch_pending = false;
                            self.show_batch(&display, &info)?;
                        }
                        self.shown += 1;
                        self.summary.records += 1;
                        match &decoded {
                            Some(d) => self.sink.record_decoded(&display, &info, &r, d)?,
                            None => self.sink.record(&display, &info, &r)?,
                        }
                    }
                    Err(e) => failures.push(e),
                }
            }
            let failures: Vec<_> = failures.into_iter().filter(|e| !decoded.already_reported(e)).collect();
            if batch_pending && !failures.is_empty() {
                self.show_batch(&display, &info)?;
            }
            for e in &failures {
                self.decode_problem(&display, e)?;
            }
        }
        self.sink.end_file()?;
        Ok(flow)
    }
}
