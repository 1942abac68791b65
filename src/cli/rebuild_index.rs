//! `kseg rebuild-index`: the `.index`, `.timeindex` and `.txnindex` Kafka's
//! segment recovery would write, into a new directory, and how far the
//! files on disk are from them. The rule is `kseg::analysis::rebuild`.

use super::common::say;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use comfy_table::{Cell, CellAlignment, Table, presets};
use kseg::analysis::rebuild::{self, Comparison, IndexKind, Options, Rebuilt, TxnState};
use kseg::files::change::Change;
use kseg::files::log::LogSource;
use kseg::files::logdir::Partition;
use kseg::files::mmap::Mapped;
use kseg::files::partition::{self, BaseOffsetFrom, Segment};
use rayon::prelude::*;
use serde::Serialize;

use super::common::ReadArgs;
use super::exit;

/// Output formats (see docs/rebuild-index.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One row per index file, for people.
    Table,
    /// One JSON document: `ok`, `segments` and `summary`.
    Json,
    /// One JSON object per segment and a summary, one per line.
    Jsonl,
}

#[derive(Debug, Args)]
pub struct RebuildIndexArgs {
    /// Segment files (.log), partition directories, or log directories.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Write the rebuilt files here, one folder per partition (named as the
    /// input's). Refused inside an input directory. Without --out nothing is
    /// written and only the comparison is shown.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Overwrite files that already exist in --out.
    #[arg(long, requires = "out")]
    pub force: bool,
    /// The topic's index.interval.bytes: an offset-index entry is written
    /// once more than this many bytes lie since the last one.
    #[arg(long, value_name = "N", default_value_t = rebuild::DEFAULT_INDEX_INTERVAL_BYTES)]
    pub index_interval_bytes: u32,
    /// For one segment: where each entry comes from (batch position, last
    /// offset, bytes since the previous entry, max timestamp so far).
    #[arg(long)]
    pub explain: bool,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Print nothing; only the exit code tells.
    #[arg(long, short)]
    pub quiet: bool,
    #[command(flatten)]
    pub read: ReadArgs,
}

/// One index file of a segment: rebuilt, written, compared.
#[derive(Serialize)]
struct FileOut {
    kind: IndexKind,
    rebuilt_entries: u64,
    /// Where the rebuilt file was written (none: no --out, or a `.txnindex`
    /// with no entry, which recovery does not create).
    written: Option<PathBuf>,
    on_disk: Option<PathBuf>,
    /// The file on disk (or the log) changed while read (a live broker): the
    /// comparison is not to be trusted, and counts neither way.
    changed_during_read: Option<String>,
    #[serde(flatten)]
    comparison: Comparison,
}

#[derive(Serialize)]
struct SegmentOut {
    #[serde(rename = "type")]
    kind: &'static str,
    log: PathBuf,
    base_offset: i64,
    active: bool,
    batches: u64,
    log_bytes: u64,
    /// Bytes recovery keeps; the rest it would truncate (see `stop`).
    valid_bytes: u64,
    stop: Option<rebuild::Stop>,
    failure: Option<rebuild::Failure>,
    files: Vec<FileOut>,
    #[serde(skip)]
    rebuilt: Option<Rebuilt>,
}

impl SegmentOut {
    fn equal(&self) -> bool {
        self.failure.is_none() && self.files.iter().all(|f| f.changed_during_read.is_some() || f.comparison.equal())
    }

    fn changed(&self) -> bool {
        self.files.iter().any(|f| f.changed_during_read.is_some())
    }
}

#[derive(Serialize, Default)]
struct Summary {
    #[serde(rename = "type")]
    kind: &'static str,
    segments: usize,
    identical: usize,
    differ: usize,
    /// Segments with a file that changed while read (counted in `identical`
    /// or `differ` by their other files).
    changed_during_read: usize,
    files_written: usize,
    out: Option<PathBuf>,
    index_interval_bytes: u32,
}

pub fn run(args: RebuildIndexArgs) -> anyhow::Result<ExitCode> {
    let Some(partitions) = super::common::partitions(&args.paths, args.read.base_offset, false, args.quiet) else {
        return Ok(ExitCode::from(exit::ERROR));
    };
    let segments: usize = partitions.iter().map(|p| p.segments.len()).sum();
    if args.explain && segments != 1 {
        say!("kseg: --explain explains one segment; the paths hold {segments}");
        return Ok(ExitCode::from(exit::ERROR));
    }
    let targets = match &args.out {
        Some(out) => match plan(out, &args.paths, &partitions, args.force) {
            Ok(t) => Some(t),
            Err(e) => {
                say!("kseg: {e}");
                return Ok(ExitCode::from(exit::ERROR));
            }
        },
        None => None,
    };
    let opts = Options {
        index_interval_bytes: args.index_interval_bytes,
        max_decompressed: args.read.max_decompressed,
        explain: args.explain,
        ..Options::default()
    };
    let pool = args.read.pool()?;
    let mmap = !args.read.no_mmap;
    let results: Vec<anyhow::Result<Vec<SegmentOut>>> = pool.install(|| {
        partitions
            .par_iter()
            .enumerate()
            .map(|(i, p)| partition_run(p, targets.as_ref().map(|t| t[i].as_path()), &opts, mmap, args.force))
            .collect()
    });
    let mut all = Vec::new();
    for r in results {
        match r {
            Ok(segs) => all.extend(segs),
            Err(e) => {
                say!("kseg: {e:#}");
                return Ok(ExitCode::from(exit::ERROR));
            }
        }
    }
    let summary = Summary {
        kind: "summary",
        segments: all.len(),
        identical: all.iter().filter(|s| s.equal()).count(),
        differ: all.iter().filter(|s| !s.equal()).count(),
        changed_during_read: all.iter().filter(|s| s.changed()).count(),
        files_written: all.iter().flat_map(|s| &s.files).filter(|f| f.written.is_some()).count(),
        out: args.out.clone(),
        index_interval_bytes: args.index_interval_bytes,
    };
    if !args.quiet {
        let mut out = super::stdout();
        if args.explain {
            // None when the segment was deleted before it could be read (noted).
            if let Some(seg) = all.first() {
                explain(&mut out, args.format, seg)?;
            }
        } else {
            write(&mut out, args.format, &all, &summary)?;
        }
        out.flush()?;
    }
    Ok(ExitCode::from(if summary.differ == 0 { exit::OK } else { exit::FINDINGS }))
}

/// The canonical form of `path`, or of its nearest existing ancestor with
/// the rest appended (a `--out` that does not exist yet).
fn canonical(path: &Path) -> io::Result<PathBuf> {
    let abs = std::path::absolute(path)?;
    let mut rest = Vec::new();
    let mut cur = abs.as_path();
    loop {
        if let Ok(c) = cur.canonicalize() {
            return Ok(rest.iter().rev().fold(c, |acc: PathBuf, part| acc.join(part)));
        }
        match (cur.parent(), cur.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                cur = parent;
            }
            _ => return Ok(abs),
        }
    }
}

/// The folder each partition's files go to, after the checks: `out` and
/// those folders are not inside an input directory, no two partitions share
/// a folder, and (without `force`) no file to write exists already.
fn plan(out: &Path, paths: &[PathBuf], partitions: &[Partition], force: bool) -> Result<Vec<PathBuf>, String> {
    // A set, looked up by a target's ancestors: a broker's thousands of
    // partitions are checked in linear time.
    let mut inputs = std::collections::HashSet::new();
    // A stream (`-`, a pipe) has no directory to protect.
    let dirs = paths.iter().filter(|p| !is_stream(p)).map(|p| if p.is_dir() { p.clone() } else { parent_dir(p) });
    for dir in dirs.chain(partitions.iter().filter(|p| !streamed(p)).map(source_dir)) {
        inputs.insert(canonical(&dir).map_err(|e| format!("{}: {e}", dir.display()))?);
    }
    let inside = |target: &Path| -> Result<(), String> {
        let c = canonical(target).map_err(|e| format!("{}: {e}", target.display()))?;
        match c.ancestors().find(|a| inputs.contains(*a)) {
            Some(i) => Err(format!(
                "--out {}: {} is inside the input directory {}; kseg never writes into the data it reads",
                out.display(),
                target.display(),
                i.display()
            )),
            None => Ok(()),
        }
    };
    inside(out)?;
    let mut folders: Vec<PathBuf> = Vec::new();
    let mut source_of: std::collections::HashMap<PathBuf, PathBuf> = std::collections::HashMap::new();
    for part in partitions {
        let source = if streamed(part) {
            PathBuf::from("-")
        } else {
            canonical(&source_dir(part)).map_err(|e| e.to_string())?
        };
        let name = match source.file_name() {
            Some(n) if !streamed(part) => n.to_os_string(),
            _ => "stream".into(),
        };
        let folder = out.join(name);
        // Segment files named one by one from the same directory share it.
        if source_of.get(&folder).is_some_and(|s| *s != source) {
            return Err(format!(
                "two inputs are partitions named {}: rebuild them into different --out directories",
                folder.file_name().unwrap_or_default().to_string_lossy()
            ));
        }
        inside(&folder)?;
        if !force {
            for seg in &part.segments {
                for kind in IndexKind::ALL {
                    let target = target_file(&folder, seg.base_offset, kind);
                    if target.exists() {
                        return Err(format!("{} exists; --force overwrites it", target.display()));
                    }
                }
            }
        }
        source_of.insert(folder.clone(), source);
        // One per partition, in their order.
        folders.push(folder);
    }
    Ok(folders)
}

/// The directory a file is in (`.` for a bare name).
fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The directory a partition's segments are in.
fn source_dir(part: &Partition) -> PathBuf {
    part.dir.clone().or_else(|| part.segments.first().map(|s| parent_dir(&s.log))).unwrap_or_else(|| ".".into())
}

/// The file Kafka names for the segment's index: the base offset in 20
/// digits (also for a `.log` saved under another name, or a stream).
fn target_file(folder: &Path, base_offset: i64, kind: IndexKind) -> PathBuf {
    folder.join(format!("{base_offset:020}.{}", kind.extension()))
}

fn is_stream(path: &Path) -> bool {
    kseg::files::input::is_stream(path)
}

/// A partition read from a stream: one segment, no directory.
fn streamed(part: &Partition) -> bool {
    part.dir.is_none() && part.segments.first().is_some_and(|s| is_stream(&s.log))
}

fn on_disk(seg: &Segment, kind: IndexKind) -> Option<&Path> {
    match kind {
        IndexKind::Index => seg.index.as_deref(),
        IndexKind::Timeindex => seg.timeindex.as_deref(),
        IndexKind::Txnindex => seg.txnindex.as_deref(),
    }
}

/// The producer state at the start of the first segment of `dir` at or
/// after `from` (its base offset): what the newest producer snapshot at or
/// before `from` says is open (segments before it may have been deleted
/// with transactions open in them), then the segments of `dir` before
/// `first`, replayed as recovery does. `None` when `dir` is gone (a live
/// broker renamed a deleted topic's partition after it was listed); a
/// snapshot or segment removed after the listing is noted and passed over.
fn state_at(dir: &Path, from: i64, first: i64, opts: &Options, mmap: bool) -> anyhow::Result<Option<TxnState>> {
    let mut state = TxnState::default();
    let snapshots = match partition::snapshots(dir) {
        Ok(s) => s,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| dir.display().to_string()),
    };
    let newest = snapshots
        .into_iter()
        .filter_map(|p| partition::base_offset_from_name(&p).map(|o| (o, p)))
        .filter(|&(o, _)| o > 0 && o <= from)
        .max();
    if let Some((_, path)) = newest {
        match Mapped::open(&path) {
            Ok(map) => {
                if let Some(s) = TxnState::from_snapshot(&kseg::format::snapshot::parse(map.as_ref())) {
                    state = s;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => super::common::note_vanished(&path),
            Err(e) => return Err(e).with_context(|| path.display().to_string()),
        }
    }
    let quiet = Options { explain: false, ..*opts };
    let segments = match partition::segments(dir) {
        Ok(s) => s,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| dir.display().to_string()),
    };
    for before in segments.into_iter().filter(|s| s.base_offset >= from && s.base_offset < first) {
        let src = match LogSource::open(&before.log, mmap) {
            Ok(src) => src,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                super::common::note_vanished(&before.log);
                continue;
            }
            Err(e) => return Err(e).with_context(|| before.log.display().to_string()),
        };
        rebuild::rebuild_segment(src, before.base_offset, &quiet, &mut state)
            .with_context(|| before.log.display().to_string())?;
    }
    Ok(Some(state))
}

fn partition_run(
    part: &Partition,
    folder: Option<&Path>,
    opts: &Options,
    mmap: bool,
    force: bool,
) -> anyhow::Result<Vec<SegmentOut>> {
    let mut state = match part.segments.first() {
        // A stream has no segments beside it to replay.
        Some(_) if streamed(part) => TxnState::default(),
        Some(seg) => {
            let dir = source_dir(part);
            // A segment named alone: from the directory's first segment.
            let from = match part.dir {
                Some(_) => seg.base_offset,
                None => partition::segments(&dir)
                    .with_context(|| dir.display().to_string())?
                    .first()
                    .map_or(seg.base_offset, |s| s.base_offset),
            };
            match state_at(&dir, from, seg.base_offset, opts, mmap)? {
                Some(state) => state,
                None => {
                    super::common::note_dir_vanished(&dir);
                    return Ok(Vec::new());
                }
            }
        }
        None => TxnState::default(),
    };
    if let Some(f) = folder {
        fs::create_dir_all(f).with_context(|| f.display().to_string())?;
    }
    let mut out = Vec::new();
    for (i, seg) in part.segments.iter().enumerate() {
        let mut src = match LogSource::open(&seg.log, mmap) {
            Ok(src) => src,
            // Listed, then deleted (a live broker's retention or cleaner).
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                super::common::note_vanished(&seg.log);
                continue;
            }
            Err(e) => return Err(e).with_context(|| seg.log.display().to_string()),
        };
        let unknown_base = seg.base_from == BaseOffsetFrom::Unknown;
        let seg_opts = Options { base_from_first_batch: unknown_base, ..*opts };
        let r = rebuild::rebuild_segment(&mut src, seg.base_offset, &seg_opts, &mut state)
            .with_context(|| seg.log.display().to_string())?;
        if unknown_base && r.batches > 0 {
            say!(
                "kseg: note: {}: base offset {} taken from its first batch (--base-offset N sets it)",
                seg.log.display(),
                r.base_offset
            );
        }
        // A log that shrank or lost mapped pages under a live broker was not
        // read whole: nothing rebuilt from it is written or compared.
        let log_change = src.change(&seg.log);
        let log_spoiled = log_change.is_some_and(Change::spoils_reading);
        let active = part.active == Some(i);
        let mut files = Vec::new();
        for kind in IndexKind::ALL {
            let bytes = kind.bytes(&r);
            let disk_path = on_disk(seg, kind);
            let (disk, mut changed) = match disk_path.map(Mapped::open).transpose() {
                Ok(d) => (d, None),
                Err(e) if e.kind() == io::ErrorKind::NotFound => (None, Some(Change::Vanished)),
                Err(e) => return Err(e).with_context(|| format!("{}", seg.log.display())),
            };
            let comparison = rebuild::compare_rebuilt(kind, &r, disk.as_ref().map(AsRef::as_ref), active);
            if let (Some(d), Some(p)) = (&disk, disk_path) {
                changed = changed.or(d.change(p));
            }
            if log_spoiled {
                changed = log_change;
            }
            let changed = changed.filter(|c| *c == Change::Vanished || c.spoils_reading());
            if let (Some(c), Some(p)) = (changed, disk_path.or(Some(&seg.log))) {
                super::common::warn_changed(p, c);
            }
            let written = match folder {
                Some(f) if r.failure.is_none() && !log_spoiled => {
                    write_file(&target_file(f, r.base_offset, kind), &bytes, kind, force)?
                }
                _ => None,
            };
            let size = match kind {
                IndexKind::Index => r.offsets.len(),
                IndexKind::Timeindex => r.times.len(),
                IndexKind::Txnindex => r.aborted.len(),
            };
            files.push(FileOut {
                kind,
                rebuilt_entries: size as u64,
                written,
                on_disk: disk_path.map(Path::to_path_buf),
                changed_during_read: changed.map(|c| c.to_string()),
                comparison,
            });
        }
        out.push(SegmentOut {
            kind: "segment",
            log: seg.log.clone(),
            base_offset: r.base_offset,
            active,
            batches: r.batches,
            log_bytes: r.log_bytes,
            valid_bytes: r.valid_bytes,
            stop: r.stop,
            failure: r.failure.clone(),
            files,
            rebuilt: opts.explain.then_some(r),
        });
    }
    Ok(out)
}

/// Write one rebuilt file (a `.txnindex` only when it has entries, as Kafka
/// creates it on the first append); without `force`, never over a file.
fn write_file(path: &Path, bytes: &[u8], kind: IndexKind, force: bool) -> anyhow::Result<Option<PathBuf>> {
    if kind == IndexKind::Txnindex && bytes.is_empty() {
        // A stale one from an earlier run with --force would be wrong.
        if force && path.is_file() {
            fs::remove_file(path).with_context(|| path.display().to_string())?;
        }
        return Ok(None);
    }
    let mut opts = fs::OpenOptions::new();
    opts.write(true);
    if force {
        opts.create(true).truncate(true);
    } else {
        opts.create_new(true);
    }
    let mut f = opts.open(path).with_context(|| path.display().to_string())?;
    f.write_all(bytes).with_context(|| path.display().to_string())?;
    Ok(Some(path.to_path_buf()))
}

/// The comparison in words, for the table.
fn describe(c: &Comparison) -> String {
    match c {
        Comparison::Identical => "identical".into(),
        Comparison::IdenticalPreallocated { zero_slots } => {
            format!("identical, then {zero_slots} preallocated zero slots (active segment, expected)")
        }
        Comparison::IdenticalUnclosed { zero_slots } => format!(
            "identical but for the last entry, which the broker appends when it rolls or closes the segment (active segment, expected){}",
            if *zero_slots > 0 { format!("; then {zero_slots} preallocated zero slots") } else { String::new() }
        ),
        Comparison::Absent => "none on disk, none to write (identical)".into(),
        Comparison::Missing { rebuilt_entries } => format!("missing on disk ({rebuilt_entries} entries rebuilt)"),
        Comparison::Differs { entries, first, zero_slots, trailing_bytes } => {
            let mut s = format!("{entries} entries differ");
            if let Some(f) = first {
                let show = |v: &Option<rebuild::EntryValue>| v.map_or("none".to_string(), |v| v.to_string());
                s += &format!(
                    "; first at entry {}: rebuilt {}, on disk {}",
                    f.entry,
                    show(&f.rebuilt),
                    show(&f.on_disk)
                );
            }
            if *zero_slots > 0 {
                s += &format!("; {zero_slots} zero slots after the entries (not the active segment)");
            }
            if *trailing_bytes > 0 {
                s += &format!("; {trailing_bytes} bytes after the last whole entry");
            }
            s
        }
    }
}

/// Notes on how recovery ends for a segment, for the table.
fn segment_notes(s: &SegmentOut) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(stop) = s.stop {
        notes.push(format!(
            "recovery would truncate the log at byte {} ({} bytes: {})",
            stop.position,
            stop.truncated_bytes,
            match stop.reason {
                rebuild::StopReason::Incomplete => "an incomplete entry",
                rebuild::StopReason::ZeroTail => "zeros to the end",
                rebuild::StopReason::BadSize => "an entry size below 14",
                rebuild::StopReason::InvalidBatch => "a batch whose CRC does not match",
            }
        ));
    }
    if let Some(f) = &s.failure {
        notes.push(format!("not rebuilt: {}", f.describe()));
    }
    notes
}

fn write(out: &mut dyn Write, format: Format, segs: &[SegmentOut], summary: &Summary) -> anyhow::Result<()> {
    match format {
        Format::Json => {
            #[derive(Serialize)]
            struct Doc<'a> {
                ok: bool,
                segments: &'a [SegmentOut],
                summary: &'a Summary,
            }
            serde_json::to_writer_pretty(&mut *out, &Doc { ok: summary.differ == 0, segments: segs, summary })?;
            writeln!(out)?;
        }
        Format::Jsonl => {
            for s in segs {
                serde_json::to_writer(&mut *out, s)?;
                writeln!(out)?;
            }
            serde_json::to_writer(&mut *out, summary)?;
            writeln!(out)?;
        }
        Format::Table => {
            let mut t = Table::new();
            t.load_style(presets::UTF8_FULL_CONDENSED);
            t.set_header(["segment", "file", "rebuilt entries", "on disk"]);
            for s in segs {
                for (i, f) in s.files.iter().enumerate() {
                    let name = if i == 0 { s.log.display().to_string() } else { String::new() };
                    t.add_row([
                        Cell::new(name),
                        Cell::new(f.kind.extension()),
                        Cell::new(f.rebuilt_entries).set_alignment(CellAlignment::Right),
                        Cell::new(match &f.changed_during_read {
                            Some(c) => format!("{c}: not compared"),
                            None => describe(&f.comparison),
                        }),
                    ]);
                }
                for note in segment_notes(s) {
                    t.add_row([Cell::new(""), Cell::new("log"), Cell::new(""), Cell::new(note)]);
                }
            }
            writeln!(out, "{t}")?;
            writeln!(
                out,
                "{} segments (index.interval.bytes {}): {} as recovery would write them, {} differ{}{}",
                summary.segments,
                summary.index_interval_bytes,
                summary.identical,
                summary.differ,
                match summary.changed_during_read {
                    0 => String::new(),
                    n => format!(" ({n} with a file that changed while read, not compared)"),
                },
                match &summary.out {
                    Some(d) => format!("; {} files written to {}", summary.files_written, d.display()),
                    None => String::new(),
                }
            )?;
        }
    }
    Ok(())
}

/// `--explain`: the one segment's entries and where each came from.
fn explain(out: &mut dyn Write, format: Format, s: &SegmentOut) -> anyhow::Result<()> {
    let Some(r) = &s.rebuilt else { return Ok(()) };
    if format != Format::Table {
        #[derive(Serialize)]
        struct Explained<'a> {
            #[serde(flatten)]
            segment: &'a SegmentOut,
            offset_index: &'a [kseg::format::index::OffsetEntry],
            time_index: &'a [kseg::format::index::TimeEntry],
            txn_index: &'a [kseg::format::txnindex::AbortedTxn],
            points: &'a [rebuild::IndexPoint],
        }
        let doc = Explained {
            segment: s,
            offset_index: &r.offsets,
            time_index: &r.times,
            txn_index: &r.aborted,
            points: &r.explain,
        };
        if format == Format::Json {
            serde_json::to_writer_pretty(&mut *out, &doc)?;
        } else {
            serde_json::to_writer(&mut *out, &doc)?;
        }
        writeln!(out)?;
        return Ok(());
    }
    writeln!(
        out,
        "{}: base offset {}, {} batches, {} of {} bytes valid",
        s.log.display(),
        s.base_offset,
        s.batches,
        s.valid_bytes,
        s.log_bytes
    )?;
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED);
    t.set_header([
        "index entry",
        "timeindex entry",
        "batch position",
        "batch last offset",
        "bytes since previous",
        "max timestamp so far",
        "at offset",
    ]);
    let right = |s: String| Cell::new(s).set_alignment(CellAlignment::Right);
    let opt = |v: Option<usize>| v.map_or("-".to_string(), |v| v.to_string());
    for p in &r.explain {
        let entry = match p.offset_entry {
            Some(n) => n.to_string(),
            None => "end".to_string(),
        };
        let time = match p.time_entry {
            Some(n) => {
                let e = r.times[n];
                format!("{n}: {} -> {}", e.timestamp, e.offset)
            }
            None => opt(None),
        };
        t.add_row([
            right(entry),
            Cell::new(time),
            right(p.position.to_string()),
            right(p.last_offset.map_or("-".to_string(), |o| o.to_string())),
            right(p.bytes_since_previous.to_string()),
            right(p.max_timestamp.to_string()),
            right(p.max_timestamp_offset.to_string()),
        ]);
    }
    writeln!(out, "{t}")?;
    writeln!(
        out,
        "An index entry is written for a batch when more than index.interval.bytes lie between the previous entry's position (0 at first) and the batch's; the time index gets the max timestamp so far with it when that grew, and once more at the end."
    )?;
    for e in &r.aborted {
        writeln!(
            out,
            "txnindex: producer {} aborted {}..{} (ABORT marker at {}), last stable offset {}",
            e.producer_id, e.first_offset, e.last_offset, e.last_offset, e.last_stable_offset
        )?;
    }
    for note in segment_notes(s) {
        writeln!(out, "log: {note}")?;
    }
    for f in &s.files {
        writeln!(out, "{}: {}", f.kind.extension(), describe(&f.comparison))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A partition directory listed, then renamed away by a live broker (a
    /// deleted topic): no producer state, and no error naming no file.
    #[test]
    fn a_partition_directory_gone_before_its_replay_is_none_not_an_error() {
        let root = tempfile::tempdir().unwrap();
        let gone = root.path().join("orders-0");
        for mmap in [true, false] {
            let state = state_at(&gone, 0, 100, &Options::default(), mmap).unwrap();
            assert!(state.is_none());
        }
    }
}
