//! `kseg dump`: every batch (and record) of the given files, streamed.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use kseg::Decoder;
use kseg::files::logdir::{self, Descend};
use kseg::files::mmap::Mapped;
use kseg::files::partition::{self, DirFile, FileKind, base_offset_from_name};
use kseg::format::index::{OffsetIndex, TimeIndex};
use kseg::format::issue::Issue;
use kseg::format::problem::ProblemKind;
use kseg::topics::{TopicKind, TopicRecord};

mod segment;

use super::common::say;
use super::exit;
use super::select::{self, RecordFilter, Times};
use crate::output::cell::terminal_line;
use crate::output::{self, Encoding, FileStart, Format, Problem, Sink, Summary};
use kseg::analysis::find::TimeTarget;

#[derive(Debug, Args)]
pub struct DumpArgs {
    /// Files of any kind a log directory holds (segments, indexes, producer
    /// and KRaft snapshots, checkpoints, metadata), other log-framed record
    /// sets, or partition and log directories (every file, segments in
    /// base-offset order).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Show every record, not only batch headers.
    #[arg(long)]
    pub records: bool,

    /// Start at this offset: segments below it are not read, and the walk
    /// starts at its offset index entry, as a broker seeks.
    #[arg(long, value_name = "OFFSET")]
    pub from_offset: Option<i64>,

    /// Stop after this offset.
    #[arg(long, value_name = "OFFSET")]
    pub to_offset: Option<i64>,

    /// Start at the offset `kseg find-time TIME` finds in each partition (the
    /// same forms: milliseconds, RFC 3339, 2026-11-26, "2026-11-26 02:00",
    /// -1, -2, -3).
    #[arg(long, value_name = "TIME", value_parser = select::time_arg, allow_hyphen_values = true)]
    pub from_time: Option<TimeTarget>,

    /// Stop before the offset `kseg find-time` finds for one millisecond
    /// after TIME: every record up to TIME, as the log orders them.
    #[arg(long, value_name = "TIME", value_parser = select::time_arg, allow_hyphen_values = true)]
    pub to_time: Option<TimeTarget>,

    /// Only records with this key (its UTF-8 bytes, exactly; implies --records).
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,

    /// Only records with a header of this name, or of this name and value
    /// (repeat to require several; implies --records).
    #[arg(long, value_name = "NAME[=VALUE]", value_parser = select::header_filter)]
    pub header: Vec<select::HeaderFilter>,

    /// Only batches written by this producer id.
    #[arg(long, value_name = "ID", allow_negative_numbers = true)]
    pub producer_id: Option<i64>,

    /// Show at most this many items (records with --records, else batches).
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,

    /// Read at most this many bytes of each file.
    #[arg(long, value_name = "BYTES")]
    pub max_bytes: Option<u64>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Print each record as FORMAT, with kcat's -f tokens: %t topic, %p
    /// partition, %o offset, %k key, %s value (raw bytes), %K/%S their sizes
    /// (-1 when null), %T timestamp, %h headers, \n, \t (implies --records;
    /// nothing else is printed). E.g. '%o\t%k\t%s\n'.
    #[arg(long, value_name = "FORMAT", value_parser = output::print::parse_arg, conflicts_with = "format")]
    pub print: Option<output::print::Pieces>,

    /// Tables: show keys, values and headers whole instead of cutting them to
    /// the terminal's width.
    #[arg(long)]
    pub full: bool,

    /// Colour tables, and problem lines on stderr (auto: each when it is a
    /// terminal and NO_COLOR is not set).
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorWhen::Auto)]
    pub color: ColorWhen,

    /// Tables: fit this many columns (default: COLUMNS, else the terminal's
    /// width, else 120).
    #[arg(long, value_name = "COLUMNS", hide = true)]
    pub width: Option<usize>,

    /// How record keys are shown.
    #[arg(long, value_enum, default_value_t = Encoding::Utf8)]
    pub key_encoding: Encoding,

    /// How record values and header values are shown.
    #[arg(long, value_enum, default_value_t = Encoding::Utf8)]
    pub value_encoding: Encoding,

    /// Largest decompressed size accepted for one batch, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = kseg::format::compression::DEFAULT_MAX_DECOMPRESSED)]
    pub max_decompressed: usize,

    /// Threads to format segments with (default: all cores, at most 8). Batches are
    /// decoded and formatted in parallel and written in file order, the
    /// same bytes as one thread; 1 reads one batch after another with plain
    /// reads, as do a stream, --limit and --print.
    #[arg(long, short, value_name = "N")]
    pub jobs: Option<usize>,

    /// The base offset of the segment and index files named as PATH (not
    /// those found in a directory), for files saved under another name
    /// (`broken.log`, `-`): the base offset shown, and what index entries
    /// are relative to.
    #[arg(long, value_name = "N")]
    pub base_offset: Option<i64>,

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
    /// Case, `_` and a trailing RECORD do not matter; a name no internal
    /// topic has is an error that lists the names.
    #[arg(long, value_name = "NAME", value_parser = record_type_name)]
    pub record_type: Option<String>,
}

/// A `--record-type` value: a record type id, or a name that some internal
/// topic's schema has (loosely matched, as `TopicRecord::type_matches`
/// does). The names come from the schema tables, so this is a parser over
/// them rather than a `ValueEnum` that would repeat them.
fn record_type_name(s: &str) -> Result<String, String> {
    if s.parse::<i32>().is_ok() {
        return Ok(s.to_string());
    }
    let norm = |s: &str| -> String {
        let s = s.chars().filter(|c| *c != '_' && *c != '-').collect::<String>().to_ascii_lowercase();
        s.strip_suffix("record").map(str::to_string).unwrap_or(s)
    };
    let mut names: Vec<&str> =
        TopicKind::ALL.into_iter().flat_map(|k| k.record_types()).map(|(_, name)| name).collect();
    if names.iter().any(|n| norm(n) == norm(s)) {
        return Ok(s.to_string());
    }
    names.sort_unstable();
    names.dedup();
    Err(format!("no internal topic has a record type {s:?}; the names are: {}", names.join(", ")))
}

/// `--color` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorWhen {
    /// On a terminal, unless NO_COLOR is set.
    Auto,
    Always,
    Never,
}

/// The width tables fit: `--width`, else `COLUMNS`, else the terminal's,
/// else 120 (a pipe with no width given).
fn table_width(arg: Option<usize>) -> usize {
    use std::io::IsTerminal;
    let narrowest = 40;
    if let Some(w) = arg {
        return w.max(narrowest);
    }
    if let Some(w) = std::env::var("COLUMNS").ok().and_then(|c| c.trim().parse::<usize>().ok()) {
        return w.max(narrowest);
    }
    if std::io::stdout().is_terminal()
        && let Some((terminal_size::Width(w), _)) = terminal_size::terminal_size()
    {
        return usize::from(w).max(narrowest);
    }
    120
}

/// Whether to colour a stream that is a terminal or not.
fn use_color(when: ColorWhen, terminal: bool) -> bool {
    match when {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        ColorWhen::Auto => terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    }
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
    /// Filters on the decoded records of internal topics.
    fn has_topic_filters(&self) -> bool {
        self.group.is_some() || self.transactional_id.is_some() || self.record_type.is_some()
    }

    fn has_filters(&self) -> bool {
        self.has_topic_filters() || self.key.is_some() || !self.header.is_empty()
    }

    fn record_filter(&self) -> RecordFilter {
        RecordFilter { key: self.key.clone(), headers: self.header.clone() }
    }

    /// Whether a decoded record passes --group, --transactional-id and --record-type.
    fn passes(&self, d: Option<&TopicRecord>) -> bool {
        let Some(d) = d else { return !self.has_topic_filters() };
        self.group.as_deref().is_none_or(|g| d.group_id() == Some(g))
            && self.transactional_id.as_deref().is_none_or(|t| d.transactional_id() == Some(t))
            && self.record_type.as_deref().is_none_or(|n| d.type_matches(n))
    }
}

struct Dumper<'w> {
    sink: Box<dyn Sink + 'w>,
    /// The writer's options, for the writers of parallel windows.
    opts: output::Options,
    /// Threads that format a segment (1: the serial walk).
    jobs: usize,
    args: DumpArgs,
    summary: Summary,
    shown: u64,
    times: Times,
    filter: RecordFilter,
    /// Around a problem line on stderr: red on a terminal, else nothing.
    red: (&'static str, &'static str),
}

enum Flow {
    Continue,
    /// Past --to-offset: the rest of this partition's segments is too.
    EndOfRange,
    /// The limit is reached: stop everything.
    Stop,
}

/// A file to dump, and whether it was found in a directory (where a file of
/// unknown kind is listed, not read) or named on the command line.
struct Input {
    file: DirFile,
    listed: bool,
    /// A segment found in a directory: the base offset of the next one,
    /// below which all of its offsets are.
    next_base: Option<i64>,
}

/// A problem's line on stderr: on a terminal (and with colour), problems
/// stand out in red.
fn problem_line(red: (&str, &str), p: &Problem) -> String {
    let at = match p.line {
        Some(line) => format!("line {line}"),
        None => format!("at byte {}", p.position),
    };
    format!("{}{}{}", red.0, terminal_line(&format!("kseg: {}: {at}: {}", p.file, p.message)), red.1)
}

/// Read-ahead of a walk that may end early (--limit, --to-offset): about
/// one index interval, so a short dump reads little more than it shows.
const SHORT_READ: usize = 4 << 10;

pub fn run(mut args: DumpArgs) -> anyhow::Result<ExitCode> {
    if let (Some(from), Some(to)) = (args.from_offset, args.to_offset)
        && from > to
    {
        say!("kseg: --from-offset {from} is above --to-offset {to}: no offset is in that range");
        return Ok(ExitCode::from(exit::ERROR));
    }
    if args.has_filters() || args.decode.is_some_and(|d| d != DecodeArg::None) || args.print.is_some() {
        args.records = true;
    }
    let opts = output::Options {
        key_encoding: args.key_encoding,
        value_encoding: args.value_encoding,
        records: args.records,
        width: table_width(args.width),
        full: args.full,
        color: use_color(args.color, std::io::IsTerminal::is_terminal(&std::io::stdout())),
    };
    let jobs = if args.print.is_some() { 1 } else { output::ordered::threads(args.jobs) };
    let sink: Box<dyn Sink> = match args.print.take() {
        Some(p) => Box::new(output::print::PrintSink::new(super::stdout(), p.0)),
        None => output::sink(args.format, Box::new(super::stdout()), opts),
    };
    let times = Times::new(args.from_time, args.to_time);
    let filter = args.record_filter();
    let red = match use_color(args.color, std::io::IsTerminal::is_terminal(&std::io::stderr())) {
        true => (output::grid::RED, output::grid::RESET),
        false => ("", ""),
    };
    let mut d = Dumper { sink, opts, jobs, args, summary: Summary::default(), shown: 0, times, filter, red };
    let mut inputs = Vec::new();
    let mut unreadable = false;
    for path in &d.args.paths.clone() {
        match expand(path) {
            Ok((files, failed)) => {
                for (dir, e) in failed {
                    d.unreadable(&dir, &e)?;
                    unreadable = true;
                }
                if files.iter().all(|f| f.listed && f.file.kind == FileKind::Other) {
                    say!("kseg: {}: no Kafka files in this directory", path.display());
                    unreadable = true;
                } else {
                    // Not a Kafka file: still read as log data (its problem at
                    // byte 0 is shown), with the status of every subcommand.
                    if let [f] = &files[..]
                        && !f.listed
                        && f.file.kind == FileKind::Other
                    {
                        unreadable |= super::common::not_log_data(&f.file.path).is_some();
                    }
                    inputs.extend(files);
                }
            }
            Err(e) => {
                d.unreadable(path, &e)?;
                unreadable = true;
            }
        }
    }
    link_segments(&mut inputs);
    let mut decoder = Decoder::new(d.args.max_decompressed);
    // Past --to-offset, the later segments of that partition are too.
    let mut ended: Option<PathBuf> = None;
    for input in &inputs {
        if d.limit_reached() {
            break;
        }
        let dir = input.file.path.parent().map(Path::to_path_buf);
        if input.file.kind == FileKind::Log && ended.is_some() && ended == dir {
            continue;
        }
        match d.input(&mut decoder, input) {
            Ok(Flow::Continue) => {}
            Ok(Flow::EndOfRange) => ended = dir,
            Ok(Flow::Stop) => break,
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Err(e.into()),
            // Listed in a directory, gone when opened: a live broker's
            // retention or cleaner moved on, not an unreadable file.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && input.listed => {
                super::common::note_vanished(&input.file.path);
            }
            Err(e) => {
                d.unreadable(&input.file.path, &e)?;
                unreadable = true;
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

/// Each segment found in a directory learns the next one's base offset.
fn link_segments(inputs: &mut [Input]) {
    let mut next: Option<(PathBuf, i64)> = None;
    for input in inputs.iter_mut().rev() {
        if !(input.listed && input.file.kind == FileKind::Log) {
            continue;
        }
        let dir = input.file.path.parent().map(Path::to_path_buf).unwrap_or_default();
        input.next_base = next.as_ref().filter(|(d, _)| *d == dir).map(|(_, b)| *b);
        if let Some(base) = base_offset_from_name(&input.file.path) {
            next = Some((dir, base));
        }
    }
}

/// A directory that could not be read, and why.
type Failed = (PathBuf, std::io::Error);

/// A file is itself. A directory is its files in listing order (segments
/// by base offset with their indexes, snapshots, text files, others), then
/// its subdirectories the same way: a partition directory, or a log
/// directory and its partitions.
/// The second value lists the subdirectories that could not be read.
fn expand(path: &Path) -> std::io::Result<(Vec<Input>, Vec<Failed>)> {
    if kseg::files::input::is_stream(path) {
        return Ok((
            vec![Input { file: DirFile::new(path.to_path_buf()), listed: false, next_base: None }],
            Vec::new(),
        ));
    }
    let meta = std::fs::metadata(path)?;
    if !meta.is_dir() {
        return Ok((
            vec![Input { file: DirFile::new(path.to_path_buf()), listed: false, next_base: None }],
            Vec::new(),
        ));
    }
    let mut out = Vec::new();
    // A subdirectory that cannot be read is reported (exit 2) and skipped; the
    // rest of the tree is still dumped. The top directory must be readable.
    let failed = std::cell::RefCell::new(Vec::new());
    let report = |dir: &Path, e: std::io::Error| failed.borrow_mut().push((dir.to_path_buf(), e));
    let mut visit = |dir: &Path| -> std::io::Result<Descend> {
        match partition::files(dir) {
            Ok(files) => {
                for file in files {
                    // Kafka never reads a segment being deleted, cleaned or
                    // swapped in as part of the log: reading it would show its
                    // records twice. Named on the command line, it is dumped.
                    // A FIFO or device in a log directory is no broker
                    // file, and opening it could block: named, never opened.
                    if kseg::files::input::is_stream(&file.path) {
                        say!(
                            "kseg: note: {}: left out: not a regular file (a FIFO or device); name it to read it as a stream",
                            file.path.display()
                        );
                        continue;
                    }
                    if let Some(state) = file.state {
                        say!(
                            "kseg: note: {}: left out: {}; name the file to dump it",
                            file.path.display(),
                            state_reason(state)
                        );
                        continue;
                    }
                    out.push(Input { file, listed: true, next_base: None });
                }
            }
            Err(e) if dir == path => return Err(e),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                super::common::note_dir_vanished(dir);
                return Ok(Descend::No);
            }
            Err(e) => {
                report(dir, e);
                return Ok(Descend::No);
            }
        }
        Ok(Descend::Yes)
    };
    logdir::walk_dirs(path, logdir::MAX_DEPTH, &mut visit, &mut Noted(&report))?;
    Ok((out, failed.into_inner()))
}

/// A walk's failures and left-out directories, on stderr.
struct Noted<'a, F: Fn(&Path, std::io::Error)>(&'a F);

impl<F: Fn(&Path, std::io::Error)> logdir::WalkReport for Noted<'_, F> {
    fn failed(&mut self, dir: &Path, error: std::io::Error) {
        (self.0)(dir, error);
    }
    fn left_out(&mut self, dir: &Path, reason: &'static str) {
        super::common::note_left_out(dir, reason);
    }
    fn vanished(&mut self, dir: &Path) {
        super::common::note_dir_vanished(dir);
    }
}

/// Why a file with a transient state is not part of the log.
fn state_reason(state: &str) -> &'static str {
    match state {
        "deleted" => "being deleted (replaced by the cleaner or past retention)",
        "cleaned" => "the cleaner's output, not yet swapped in",
        _ => "being swapped in by the cleaner",
    }
}

impl Dumper<'_> {
    fn problem(&mut self, file: &str, position: u64, kind: ProblemKind, message: String) -> std::io::Result<()> {
        self.report(Problem { file: file.to_string(), position, kind, message, line: None })
    }

    fn issue(&mut self, file: &str, issue: &Issue) -> std::io::Result<()> {
        self.report(Problem {
            file: file.to_string(),
            position: issue.position,
            kind: issue.kind,
            message: issue.message.clone(),
            line: issue.line,
        })
    }

    /// A path that cannot be read: on stderr, and as a problem object so
    /// that JSON output keeps a trace of it.
    fn unreadable(&mut self, path: &Path, e: &dyn std::fmt::Display) -> std::io::Result<()> {
        eprintln!("{}{}{}", self.red.0, terminal_line(&format!("kseg: {}: {e}", path.display())), self.red.1);
        self.summary.problems += 1;
        let file = path.display().to_string();
        self.sink.problem(&Problem {
            file,
            position: 0,
            kind: ProblemKind::Unreadable,
            message: e.to_string(),
            line: None,
        })
    }

    fn report(&mut self, p: Problem) -> std::io::Result<()> {
        self.summary.problems += 1;
        self.sink.problem(&p)?;
        eprintln!("{}", problem_line(self.red, &p));
        Ok(())
    }

    fn limit_reached(&self) -> bool {
        self.args.limit.is_some_and(|l| self.shown >= l)
    }

    fn input(&mut self, decoder: &mut Decoder, input: &Input) -> std::io::Result<Flow> {
        let f = &input.file;
        match f.kind {
            // Standard input, a pipe or a FIFO named on the command line:
            // a segment, read as it comes.
            _ if !input.listed && kseg::files::input::is_stream(&f.path) => {
                if !self.times.is_empty() {
                    let msg = "--from-time and --to-time look up the segment's indexes: a stream cannot be searched";
                    return Err(std::io::Error::other(msg));
                }
                let (from, to) = self.offsets((i64::MIN, i64::MAX));
                self.log(decoder, f, from, to)
            }
            FileKind::Other if input.listed => self.unread(f),
            FileKind::Index => self.offset_index(f),
            FileKind::TimeIndex => self.time_index(f),
            FileKind::TxnIndex => self.txn_index(f),
            FileKind::Snapshot => self.snapshot(f),
            k if let Some(format) = k.text_format() => self.text(f, format),
            _ => {
                let range = match self.times.range(&f.path, input.listed) {
                    Ok(r) => r,
                    Err(e) => return Err(std::io::Error::other(format!("{e:#}"))),
                };
                let Some(range) = range else {
                    // --from-time is past every record of this partition.
                    return Ok(Flow::EndOfRange);
                };
                let (from, to) = self.offsets(range);
                if from > to {
                    return Ok(Flow::EndOfRange);
                }
                // A segment wholly below the start is not read at all: its
                // offsets are all below the next segment's base offset.
                if input.next_base.is_some_and(|next| next <= from) {
                    return Ok(Flow::Continue);
                }
                self.log(decoder, f, from, to)
            }
        }
    }

    /// --from-offset/--to-offset within a range the times gave.
    fn offsets(&self, (from, to): (i64, i64)) -> (i64, i64) {
        (from.max(self.args.from_offset.unwrap_or(i64::MIN)), to.min(self.args.to_offset.unwrap_or(i64::MAX)))
    }

    fn start(&mut self, f: &DirFile, kind: &str, size: u64, slots: Option<(usize, usize)>) -> std::io::Result<String> {
        let display = f.path.display().to_string();
        self.sink.begin_file(&FileStart {
            file: &display,
            kind,
            size,
            base_offset: self.name_base(f),
            state: f.state,
            entries: slots.map(|s| s.0 as u64),
            preallocated_slots: slots.map(|s| s.1 as u64),
        })?;
        self.summary.files += 1;
        Ok(display)
    }

    /// The base offset of a file: `--base-offset` for a file named as a
    /// PATH, else the one in its name.
    fn name_base(&self, f: &DirFile) -> Option<i64> {
        self.args.base_offset.filter(|_| self.args.paths.contains(&f.path)).or_else(|| base_offset_from_name(&f.path))
    }

    /// The first `--max-bytes` bytes of a binary file, mapped read-only.
    fn map(&self, f: &DirFile) -> std::io::Result<(Mapped, usize)> {
        let map = Mapped::open(&f.path)?;
        let len = map.as_ref().len();
        let len = self.args.max_bytes.map_or(len, |m| len.min(usize::try_from(m).unwrap_or(usize::MAX)));
        Ok((map, len))
    }

    fn in_range(&self, offset: i64) -> bool {
        self.args.from_offset.is_none_or(|f| offset >= f) && self.args.to_offset.is_none_or(|t| offset <= t)
    }

    /// A file of unknown kind found in a directory: named, not read.
    fn unread(&mut self, f: &DirFile) -> std::io::Result<Flow> {
        let size = std::fs::metadata(&f.path)?.len();
        self.start(f, "other", size, None)?;
        self.sink.end_file()?;
        Ok(Flow::Continue)
    }

    /// Bytes after the real entries of an index that are not zero, and a
    /// partial slot at the end.
    fn index_tail(&mut self, file: &str, data: &[u8], entries: usize, slot: usize) -> std::io::Result<()> {
        let tail_start = entries * slot;
        let whole = data.len() - data.len() % slot;
        if let Some(i) = data[tail_start..whole].iter().position(|&b| b != 0) {
            let at = tail_start + i - i % slot;
            let msg = format!(
                "slot {} (byte {at}) after the {entries} real entries is not zero: entries out of order or a damaged preallocated tail",
                at / slot
            );
            self.problem(file, at as u64, ProblemKind::IndexTailNotZero, msg)?;
        }
        if whole != data.len() {
            let msg = format!("{} bytes after the last whole {slot}-byte slot", data.len() - whole);
            self.problem(file, whole as u64, ProblemKind::TrailingBytes, msg)?;
        }
        Ok(())
    }

    fn base_offset(&mut self, f: &DirFile, file: &str) -> std::io::Result<i64> {
        match self.name_base(f) {
            Some(b) => Ok(b),
            None => {
                let msg = "no base offset in the file name: offsets are shown relative to 0".to_string();
                self.problem(file, 0, ProblemKind::NoBaseOffset, msg)?;
                Ok(0)
            }
        }
    }

    fn offset_index(&mut self, f: &DirFile) -> std::io::Result<Flow> {
        let (map, len) = self.map(f)?;
        let data = &map.as_ref()[..len];
        let base = self.name_base(f).unwrap_or(0);
        let idx = OffsetIndex::new_exact(data, base);
        let file = self.start(f, FileKind::Index.name(), len as u64, Some((idx.entries, idx.zero_slots())))?;
        self.base_offset(f, &file)?;
        for e in idx.iter() {
            if self.in_range(e.offset) {
                self.sink.index_entry(&file, &e)?;
            }
        }
        self.index_tail(&file, data, idx.entries, kseg::format::index::OFFSET_ENTRY)?;
        self.sink.end_file()?;
        Ok(Flow::Continue)
    }

    fn time_index(&mut self, f: &DirFile) -> std::io::Result<Flow> {
        let (map, len) = self.map(f)?;
        let data = &map.as_ref()[..len];
        let base = self.name_base(f).unwrap_or(0);
        let idx = TimeIndex::new_exact(data, base);
        let file = self.start(f, FileKind::TimeIndex.name(), len as u64, Some((idx.entries, idx.zero_slots())))?;
        self.base_offset(f, &file)?;
        for e in idx.iter() {
            if self.in_range(e.offset) {
                self.sink.time_index_entry(&file, &e)?;
            }
        }
        self.index_tail(&file, data, idx.entries, kseg::format::index::TIME_ENTRY)?;
        self.sink.end_file()?;
        Ok(Flow::Continue)
    }

    fn txn_index(&mut self, f: &DirFile) -> std::io::Result<Flow> {
        let (map, len) = self.map(f)?;
        let idx = kseg::format::txnindex::TxnIndex::new(&map.as_ref()[..len]);
        let file = self.start(f, FileKind::TxnIndex.name(), len as u64, None)?;
        let (from, to) = (self.args.from_offset.unwrap_or(i64::MIN), self.args.to_offset.unwrap_or(i64::MAX));
        for e in idx.entries() {
            if e.last_offset >= from && e.first_offset <= to {
                self.sink.txn_entry(&file, &e)?;
            }
        }
        if let Some(issue) = idx.trailing() {
            self.issue(&file, &issue)?;
        }
        self.sink.end_file()?;
        Ok(Flow::Continue)
    }

    fn snapshot(&mut self, f: &DirFile) -> std::io::Result<Flow> {
        let (map, len) = self.map(f)?;
        let snap = kseg::format::snapshot::parse(&map.as_ref()[..len]);
        let file = self.start(f, FileKind::Snapshot.name(), len as u64, None)?;
        self.sink.snapshot(&file, &snap.header)?;
        let (before, after): (Vec<&Issue>, Vec<&Issue>) =
            snap.issues.iter().partition(|i| i.position < kseg::format::snapshot::HEADER as u64);
        for i in before {
            self.issue(&file, i)?;
        }
        for e in snap.entries() {
            self.sink.producer_entry(&file, &e)?;
        }
        for i in after {
            self.issue(&file, i)?;
        }
        self.sink.end_file()?;
        Ok(Flow::Continue)
    }

    fn text(&mut self, f: &DirFile, format: kseg::format::checkpoint::TextFormat) -> std::io::Result<Flow> {
        use kseg::format::checkpoint::Item;
        use std::io::Read;
        let max = format.max_bytes();
        let limit = self.args.max_bytes.unwrap_or(u64::MAX).min(max);
        let mut data = Vec::new();
        let size = std::fs::File::open(&f.path)?.take(limit).read_to_end(&mut data)?;
        let file = self.start(f, f.kind.name(), size as u64, None)?;
        if size as u64 == max && std::fs::metadata(&f.path)?.len() > max {
            let msg = format!("larger than {max} bytes: only the start is read");
            self.problem(&file, max, ProblemKind::EntryTooLarge, msg)?;
        }
        // Entries go to the sink as they are read: a checkpoint of any size
        // costs no more memory than its bytes.
        let mut written: std::io::Result<()> = Ok(());
        let sink = &mut *self.sink;
        let parsed = kseg::format::checkpoint::visit(format, &data, &mut |item| {
            if written.is_ok() {
                written = match item {
                    Item::Header(h) => sink.checkpoint(&file, &h),
                    Item::Entry(e) => sink.checkpoint_entry(&file, &e),
                };
            }
        });
        written?;
        for i in &parsed.issues {
            self.issue(&file, i)?;
        }
        for n in &parsed.not_kept {
            self.issue(&file, &n.summary())?;
        }
        self.sink.end_file()?;
        Ok(Flow::Continue)
    }
}
