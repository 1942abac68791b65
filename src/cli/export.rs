//! `kseg export`: every record as a row of Parquet files (Hive-style,
//! `topic=T/partition=P/part-N.parquet`) or of an Arrow IPC stream, for
//! DuckDB, Spark and Trino (docs/export.md). Partitions are read in
//! parallel, each by one thread writing its own file; Parquet row groups
//! are encoded and compressed on encoder threads meanwhile.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use kseg::analysis::aborted::Aborted;
use kseg::files::log::LogSource;
use kseg::files::logdir::Partition;
use kseg::files::partition;
use kseg::format::record::Record;
use kseg::format::txnindex::TxnIndex;
use kseg::format::walk::{Source, Step, Walker};
use kseg::{DecodeError, Decoder};
use rayon::prelude::*;

use super::common::ReadArgs;
use super::common::say;
use super::exit;
use crate::output::columnar::{self, ArrowStream, Encoders, Layout, Origin, ParquetPart, RowGroups, Rows};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// Parquet files, Hive-style: DIR/topic=T/partition=P/part-N.parquet.
    Parquet,
    /// One Arrow IPC stream (the streaming format) in a file, or on
    /// standard output with `--out -`.
    Arrow,
}

/// How Parquet column chunks are compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Codec {
    /// zstd at level 1: much smaller files than Snappy's or LZ4's, for little more time,
    /// read by every engine.
    Zstd,
    /// LZ4 (Parquet's LZ4_RAW codec): the fastest to write, larger files.
    Lz4,
    /// Snappy: what Spark and Hive write by default, larger files.
    Snappy,
    /// Uncompressed.
    None,
}

impl Codec {
    fn parquet(self) -> parquet::basic::Compression {
        use parquet::basic::{Compression, ZstdLevel};
        match self {
            Codec::Zstd => Compression::ZSTD(ZstdLevel::default()),
            Codec::Lz4 => Compression::LZ4_RAW,
            Codec::Snappy => Compression::SNAPPY,
            Codec::None => Compression::UNCOMPRESSED,
        }
    }
}

/// How key and value bytes are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Storage {
    /// As bytes (binary columns): exact.
    Binary,
    /// As text (string columns); bytes that are not valid UTF-8 become U+FFFD.
    Utf8,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Segment files (.log), partition directories (`<topic>-<n>`), or log
    /// directories. Topic and partition come from the directory name.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Where to write: a directory for Parquet (created; it must not
    /// already hold files), a file or `-` (standard output) for Arrow.
    #[arg(long, short, value_name = "DIR|FILE")]
    pub out: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ExportFormat::Parquet)]
    pub format: ExportFormat,
    /// How Parquet columns are compressed.
    #[arg(long, value_enum, default_value_t = Codec::Zstd)]
    pub compression: Codec,
    /// How record keys are stored.
    #[arg(long, value_enum, default_value_t = Storage::Binary)]
    pub key_encoding: Storage,
    /// How record values and header values are stored.
    #[arg(long, value_enum, default_value_t = Storage::Binary)]
    pub value_encoding: Storage,
    /// A constant text column on every row, e.g. `broker=3`, so that the
    /// exports of many brokers form one dataset. Repeatable.
    #[arg(long, value_name = "NAME=VALUE")]
    pub add_column: Vec<String>,
    /// Print no notes or progress; findings are still printed.
    #[arg(long, short)]
    pub quiet: bool,
    #[command(flatten)]
    pub read: ReadArgs,
}

/// Memory for the Parquet row groups being gathered and encoded, shared by
/// the threads (Arrow bytes; the encoded pages come on top, smaller).
const ROW_GROUP_BUDGET: usize = 96 << 20;

/// What one partition's export gave.
#[derive(Default)]
struct Outcome {
    records: u64,
    batches: u64,
    /// Damaged batches and other problems, each printed when met.
    findings: u64,
    files: Vec<PathBuf>,
}

/// Where the Arrow batches go.
enum Target {
    Parquet { out: PathBuf, props: parquet::file::properties::WriterProperties, encoders: Encoders, limits: RowGroups },
    Arrow(Mutex<Option<ArrowStream>>),
}

pub fn run(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let layout = match layout(&args) {
        Ok(l) => l,
        Err(e) => {
            say!("kseg: {e:#}");
            return Ok(ExitCode::from(exit::ERROR));
        }
    };
    let Some(partitions) = super::common::partitions(&args.paths, args.read.base_offset, false, args.quiet) else {
        return Ok(ExitCode::from(exit::ERROR));
    };
    let pool = args.read.pool()?;
    let threads = pool.current_num_threads().max(1);
    let target = match open_target(&args, &layout, threads, partitions.len()) {
        Ok(t) => t,
        Err(e) => {
            say!("kseg: {e:#}");
            return Ok(ExitCode::from(exit::ERROR));
        }
    };
    let progress = super::common::progress_bar(&partitions, args.quiet, 64 << 20);
    let ctx = Ctx {
        layout: &layout,
        mmap: !args.read.no_mmap,
        max_decompressed: args.read.max_decompressed,
        quiet: args.quiet,
        progress: progress.as_ref(),
    };
    let results: Vec<std::io::Result<Outcome>> =
        pool.install(|| partitions.par_iter().map(|p| ctx.partition(p, &target)).collect());
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    let mut total = Outcome::default();
    let mut failed = false;
    for (part, r) in partitions.iter().zip(results) {
        match r {
            Ok(o) => {
                total.records += o.records;
                total.batches += o.batches;
                total.findings += o.findings;
                total.files.extend(o.files);
            }
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Err(e.into()),
            Err(e) => {
                say!("kseg: {}: {e}", part.name().display());
                failed = true;
            }
        }
    }
    if let Target::Arrow(stream) = target {
        let stream = stream.into_inner().unwrap_or_else(|p| p.into_inner());
        match stream.map(ArrowStream::finish).transpose() {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Err(e.into()),
            Err(e) => {
                say!("kseg: {}: {e}", args.out.display());
                failed = true;
            }
        }
    }
    if !args.quiet {
        let files = match args.format {
            ExportFormat::Parquet => format!("{} Parquet files under {}", total.files.len(), args.out.display()),
            ExportFormat::Arrow => format!("an Arrow IPC stream to {}", args.out.display()),
        };
        say!(
            "kseg: exported {} records of {} batches from {} partitions: {files}{}",
            total.records,
            total.batches,
            partitions.len(),
            match total.findings {
                0 => String::new(),
                n => format!("; {n} problems (damaged batches left out)"),
            }
        );
    }
    Ok(ExitCode::from(if failed {
        exit::ERROR
    } else if total.findings > 0 {
        exit::FINDINGS
    } else {
        exit::OK
    }))
}

/// The schema's options from the arguments; `--add-column` names checked.
fn layout(args: &ExportArgs) -> anyhow::Result<Layout> {
    let schema = Layout::default().schema();
    let mut extra: Vec<(String, String)> = Vec::new();
    for a in &args.add_column {
        let Some((name, value)) = a.split_once('=') else { bail!("--add-column {a}: expected NAME=VALUE") };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            bail!("--add-column {a}: the name must be letters, digits and _");
        }
        if schema.fields().iter().any(|f| f.name() == name) || extra.iter().any(|(n, _)| n == name) {
            bail!("--add-column {a}: there is already a column named {name}");
        }
        extra.push((name.to_string(), value.to_string()));
    }
    Ok(Layout { key_utf8: args.key_encoding == Storage::Utf8, value_utf8: args.value_encoding == Storage::Utf8, extra })
}

fn open_target(args: &ExportArgs, layout: &Layout, threads: usize, partitions: usize) -> anyhow::Result<Target> {
    let out = &args.out;
    match args.format {
        ExportFormat::Parquet => {
            // Never mixed into an earlier export (its rows would count twice).
            if let Ok(mut entries) = std::fs::read_dir(out) {
                if entries.next().is_some() {
                    bail!("{}: not empty; export into a new directory", out.display());
                }
            } else if out.exists() {
                bail!("{}: not a directory", out.display());
            }
            std::fs::create_dir_all(out).with_context(|| format!("{}: cannot create", out.display()))?;
            // Each partition read at once gathers one row group while up to
            // `in_flight` more are encoded: enough of them to keep every
            // encoder busy when there are fewer partitions than threads.
            let at_once = threads.min(partitions).max(1);
            let in_flight = threads.div_ceil(at_once).max(1);
            let limits = RowGroups {
                bytes: (ROW_GROUP_BUDGET / (at_once * (in_flight + 1))).clamp(4 << 20, 64 << 20),
                rows: 1 << 20,
                in_flight,
            };
            // -j1 is one thread in all: the reading thread encodes too.
            let encoders = Encoders::new(if threads > 1 { threads } else { 0 })?;
            let props = columnar::parquet_properties(args.compression.parquet());
            Ok(Target::Parquet { out: out.clone(), props, encoders, limits })
        }
        ExportFormat::Arrow => {
            let w: Box<dyn Write + Send> = if out.as_os_str() == "-" {
                Box::new(std::io::BufWriter::with_capacity(1 << 20, std::io::stdout()))
            } else {
                let f = std::fs::OpenOptions::new().write(true).create_new(true).open(out).with_context(|| {
                    format!("{}: cannot create (an existing file is never overwritten)", out.display())
                })?;
                Box::new(std::io::BufWriter::with_capacity(1 << 20, f))
            };
            Ok(Target::Arrow(Mutex::new(Some(ArrowStream::new(w, &layout.schema())?))))
        }
    }
}

/// Topic and partition from a partition directory's name, `<topic>-<n>`.
fn origin(dir: Option<&Path>) -> Origin {
    let parsed = (|| {
        let name = dir?.file_name()?.to_str()?;
        let (topic, n) = name.rsplit_once('-')?;
        let n: i32 = n.parse().ok().filter(|n| *n >= 0 && !topic.is_empty())?;
        Some(Origin { topic: Some(topic.to_string()), partition: Some(n) })
    })();
    parsed.unwrap_or_default()
}

struct Ctx<'a> {
    layout: &'a Layout,
    mmap: bool,
    max_decompressed: usize,
    quiet: bool,
    progress: Option<&'a indicatif::ProgressBar>,
}

/// The batches of one partition on their way to the target.
struct Out<'t> {
    target: &'t Target,
    part: Option<ParquetPart<'t>>,
}

impl Out<'_> {
    fn write(&mut self, rows: &mut Rows) -> std::io::Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let batch = rows.finish()?;
        match (self.target, &mut self.part) {
            (Target::Parquet { .. }, Some(part)) => part.write(batch),
            (Target::Arrow(stream), _) => {
                let mut guard = stream.lock().unwrap_or_else(|p| p.into_inner());
                match guard.as_mut() {
                    Some(s) => s.write(&batch),
                    None => Ok(()),
                }
            }
            (Target::Parquet { .. }, None) => unreachable!("a Parquet target has a part"),
        }
    }
}

impl Ctx<'_> {
    fn finding(&self, out: &mut Outcome, file: &str, position: u64, message: &str) {
        out.findings += 1;
        say!("kseg: {file}: at byte {position}: {message}");
    }

    fn decode_finding(&self, out: &mut Outcome, file: &str, e: &DecodeError) {
        self.finding(out, file, e.position, &format!("{}; batch left out", e.describe()));
    }

    fn partition(&self, p: &Partition, target: &Target) -> std::io::Result<Outcome> {
        let dir = p.dir.clone().or_else(|| p.segments.first().and_then(|s| s.log.parent().map(Path::to_path_buf)));
        let origin = origin(dir.as_deref());
        let mut outcome = Outcome::default();
        let aborted = self.aborted(p, &mut outcome)?;
        let mut out = Out {
            target,
            part: match target {
                Target::Parquet { out, props, encoders, limits } => {
                    Some(ParquetPart::new(columnar::hive_dir(out, &origin), props.clone(), encoders, *limits))
                }
                Target::Arrow(_) => None,
            },
        };
        let mut rows = Rows::new(self.layout);
        let mut decoder = Decoder::new(self.max_decompressed);
        let mut aborted = aborted;
        let mut written = Ok(());
        for seg in &p.segments {
            written = self.segment(&seg.log, &origin, &mut aborted, &mut decoder, &mut rows, &mut out, &mut outcome);
            if written.is_err() {
                break;
            }
        }
        let written = written.and_then(|()| out.write(&mut rows));
        match (written, out.part.take()) {
            (Ok(()), Some(part)) => outcome.files.extend(part.close()?),
            (Ok(()), None) => {}
            (Err(e), part) => {
                if let Some(part) = part {
                    part.abandon();
                }
                return Err(e);
            }
        }
        Ok(outcome)
    }

    /// The aborted transactions of the partition: every `.txnindex` beside
    /// its segments, and for a segment given alone, those of the later
    /// segments in its directory too (a transaction's entry sits with its
    /// ABORT marker, which may be in a later segment).
    fn aborted(&self, p: &Partition, outcome: &mut Outcome) -> std::io::Result<Aborted> {
        let mut files: Vec<PathBuf> = p.segments.iter().filter_map(|s| s.txnindex.clone()).collect();
        if p.dir.is_none()
            && let Some(first) = p.segments.first()
            && let Some(dir) = first.log.parent()
        {
            let later = partition::segments(dir).unwrap_or_default();
            files.extend(later.into_iter().filter(|s| s.base_offset > first.base_offset).filter_map(|s| s.txnindex));
        }
        let mut aborted = Aborted::new();
        for f in files {
            let data = match read_bounded(&f) {
                Ok(d) => d,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(std::io::Error::new(e.kind(), format!("{}: {e}", f.display()))),
            };
            let idx = TxnIndex::new(&data);
            aborted.extend(idx.entries());
            if let Some(issue) = idx.trailing() {
                self.finding(outcome, &f.display().to_string(), issue.position, &issue.message);
            }
        }
        Ok(aborted)
    }

    #[allow(clippy::too_many_arguments)]
    fn segment(
        &self,
        path: &Path,
        origin: &Origin,
        aborted: &mut Aborted,
        decoder: &mut Decoder,
        rows: &mut Rows,
        out: &mut Out<'_>,
        outcome: &mut Outcome,
    ) -> std::io::Result<()> {
        let source = match LogSource::open(path, self.mmap) {
            Ok(s) => s,
            // Listed, then gone: a live broker's retention or cleaner.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if !self.quiet {
                    super::common::note_vanished(path);
                }
                return Ok(());
            }
            Err(e) => return Err(std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
        };
        let mut walker = Walker::new(source);
        let file = path.display().to_string();
        let mut last_progress = 0u64;
        loop {
            let step = match walker.next_step() {
                Ok(Some(step)) => step,
                Ok(None) => break,
                Err(e) => match walker.source().change(path) {
                    Some(change) => {
                        self.finding(outcome, &file, walker.position(), &change.to_string());
                        return Ok(());
                    }
                    None => return Err(std::io::Error::new(e.kind(), format!("{file}: {e}"))),
                },
            };
            let (position, bytes) = match step {
                Step::Entry { position, bytes } => (position, bytes),
                Step::Trailing { position, len } => {
                    let msg = format!("{len} trailing bytes: an incomplete entry at the end of the file");
                    self.finding(outcome, &file, position, &msg);
                    continue;
                }
                Step::ZeroFill { position, len } => {
                    let msg = format!("{len} zero bytes to the end of the file (a preallocated segment?)");
                    self.finding(outcome, &file, position, &msg);
                    continue;
                }
                Step::TooLarge { position, size } => {
                    let msg = format!("entry of {size} bytes is larger than kseg reads into memory; left out");
                    self.finding(outcome, &file, position, &msg);
                    continue;
                }
                Step::Corrupt(e) => {
                    self.decode_finding(outcome, &file, &e);
                    continue;
                }
            };
            if let Some(bar) = self.progress
                && position - last_progress >= 16 << 20
            {
                bar.inc(position - last_progress);
                last_progress = position;
            }
            let mut decoded = match decoder.decode(bytes, position) {
                Ok(d) => d,
                Err(e) => {
                    self.decode_finding(outcome, &file, &e);
                    continue;
                }
            };
            // A damaged batch is left out whole: its rows could not be trusted.
            let header = decoded.header_problems();
            if !header.is_empty() {
                for p in header {
                    self.finding(outcome, &file, p.position, &format!("{}; batch left out", p.message));
                }
                continue;
            }
            let info = decoded.info.clone();
            let is_aborted =
                aborted.is_aborted(info.producer_id, info.base_offset, info.is_transactional, info.is_control);
            // Held until the batch is known whole (one allocation per batch).
            let mut records: Vec<Record<'_>> = Vec::with_capacity(info.count.unwrap_or(0).min(4096) as usize);
            let mut failure = None;
            for r in decoded.records() {
                match r {
                    Ok(r) => records.push(r),
                    Err(e) => {
                        failure = Some(e);
                        break;
                    }
                }
            }
            if let Some(e) = failure {
                let p = decoded.record_problem(&e).unwrap_or_else(|| (&e).into());
                self.finding(outcome, &file, p.position, &format!("{}; batch left out", p.message));
                continue;
            }
            outcome.batches += 1;
            outcome.records += records.len() as u64;
            for r in &records {
                rows.push(origin, &file, &info, is_aborted, r);
            }
            if rows.full() {
                out.write(rows)?;
            }
        }
        // Changed after what was read: the rows are the file as it was.
        if let Some(change) = walker.source().change(path)
            && !self.quiet
        {
            super::common::warn_changed(path, change);
        }
        if let Some(bar) = self.progress {
            let len = walker.source().len();
            bar.inc(len.saturating_sub(last_progress));
        }
        Ok(())
    }
}

/// A `.txnindex`, read whole: 34 bytes per aborted transaction, so even
/// a million of them is 34 MB; read up to 64 MiB.
fn read_bounded(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut data = Vec::new();
    std::fs::File::open(path)?.take(64 << 20).read_to_end(&mut data)?;
    Ok(data)
}
