//! Log directories as kseg walks them: the one directory walk (a log
//! directory, its partition directories, bounded in depth, in listing
//! order), PATH arguments grouped into partitions, the one rule for
//! which segment of a partition is active, and a partition's log start
//! offset.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use crate::files::input;
use crate::files::partition::{self, BaseOffsetFrom, FileKind, Segment};
use crate::format::checkpoint::{self, Entry, Item, TextFormat};

/// How many directory levels below a PATH argument are walked: a log
/// directory's partitions sit one below it; a few more allow a folder of
/// copied log directories.
pub const MAX_DEPTH: u32 = 6;

/// What [`walk_dirs`] does after visiting a directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Descend {
    /// Walk its subdirectories too.
    Yes,
    /// Its subdirectories are not part of what is wanted.
    No,
}

/// What a walk met besides the directories it visited.
pub trait WalkReport {
    /// A directory whose subdirectories could not be listed (the walk goes on).
    fn failed(&mut self, dir: &Path, error: io::Error);
    /// A subdirectory that is not one of the broker's logs ([`left_out_dir`]).
    fn left_out(&mut self, dir: &Path, reason: &'static str);
    /// A subdirectory that was listed but was gone when visited: on a live
    /// broker, a deleted topic's partition renamed to `…-delete`, or a
    /// stray one removed (the walk goes on).
    fn vanished(&mut self, dir: &Path);
}

/// Visit `root` and then, depth-first in listing order ([`partition::subdirs`]),
/// the directories below it, at most `max_depth` levels down, for as long as
/// `visit` says [`Descend::Yes`]. Subdirectories that are not the broker's logs
/// are left out (named on the command line, as `root`, they are walked like
/// any other). A subdirectory gone by the time it is visited (`NotFound`) is
/// [`WalkReport::vanished`]; any other error from `visit` ends the walk, as
/// does any error from `visit(root)`.
pub fn walk_dirs(
    root: &Path,
    max_depth: u32,
    visit: &mut dyn FnMut(&Path) -> io::Result<Descend>,
    report: &mut dyn WalkReport,
) -> io::Result<()> {
    if visit(root)? == Descend::No {
        return Ok(());
    }
    walk_below(root, true, max_depth, visit, report)
}

fn walk_below(
    dir: &Path,
    is_root: bool,
    max_depth: u32,
    visit: &mut dyn FnMut(&Path) -> io::Result<Descend>,
    report: &mut dyn WalkReport,
) -> io::Result<()> {
    if max_depth == 0 {
        return Ok(());
    }
    let subs = match partition::subdirs(dir) {
        Ok(subs) => subs,
        Err(e) if !is_root && gone(dir, &e) => {
            report.vanished(dir);
            return Ok(());
        }
        Err(e) => {
            report.failed(dir, e);
            return Ok(());
        }
    };
    for sub in subs {
        if let Some(reason) = left_out_dir(&sub) {
            report.left_out(&sub, reason);
            continue;
        }
        match visit(&sub) {
            Ok(Descend::Yes) => walk_below(&sub, false, max_depth - 1, visit, report)?,
            Ok(Descend::No) => {}
            Err(e) if gone(&sub, &e) => report.vanished(&sub),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Whether `error`, met reading `dir`, is `dir` itself gone (not a file in
/// it removed between its listing and a look at it).
fn gone(dir: &Path, error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::NotFound
        && dir.symlink_metadata().is_err_and(|e| e.kind() == io::ErrorKind::NotFound)
}

/// Why a partition directory found in a log directory is not part of the
/// broker's logs, if it is not: Kafka renames the directory of a deleted
/// topic's partition to `<topic>-<n>.<id>-delete` and removes it later, and
/// names a partition it no longer hosts `<topic>-<n>.<id>-stray`; it loads
/// neither at start-up.
pub fn left_out_dir(dir: &Path) -> Option<&'static str> {
    let name = dir.file_name()?.to_str()?;
    if name.ends_with("-delete") {
        Some("a deleted topic's partition, waiting to be removed")
    } else if name.ends_with("-stray") {
        Some("a stray partition the broker no longer hosts")
    } else {
        None
    }
}

/// The active segment among a partition's segments in base-offset order:
/// the last one, the only one the broker appends to, and so the only one
/// where a torn tail or preallocated index space is what a running or
/// crashed broker normally leaves.
pub fn active_segment(segments: &[Segment]) -> Option<usize> {
    segments.len().checked_sub(1)
}

/// Where a partition's log start offset comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogStartSource {
    /// The first segment's base offset.
    FirstSegment,
    /// The log directory's `log-start-offset-checkpoint`, which retention
    /// and DeleteRecords move above the first segment's base offset.
    Checkpoint(PathBuf),
}

/// A partition's log start offset as the broker computes it at load: the
/// first segment's base offset, raised to the partition's entry in its log
/// directory's `log-start-offset-checkpoint` when that is higher. `None`
/// when there is no segment. `segments` are the partition's, in base-offset
/// order; the partition (`<topic>-<n>`) is named by their directory.
/// (For many partitions of one log directory, [`LogStarts`] reads the
/// checkpoint once.)
pub fn log_start_offset(segments: &[Segment]) -> Option<(i64, LogStartSource)> {
    log_start_with(segments, &mut |checkpoint, topic, partition| {
        read_log_starts(checkpoint, &|t, p| t == topic && p == partition)?.get(&(topic.to_string(), partition)).copied()
    })
}

/// [`log_start_offset`] for many partitions: each log directory's
/// checkpoint is read once, however many of its partitions ask (`kseg ls`
/// of a broker's thousands of partitions read it once per partition, a
/// time that grew with the square of their number). What it keeps of a
/// checkpoint is the entries of the partitions it was made for, however
/// many the file names.
#[derive(Debug, Default)]
pub struct LogStarts {
    read: std::sync::Mutex<HashMap<PathBuf, Option<std::sync::Arc<StartOffsets>>>>,
    /// (topic, partition) of the partitions asked about.
    wanted: std::collections::HashSet<(String, i32)>,
}

type StartOffsets = HashMap<(String, i32), i64>;

impl LogStarts {
    /// For `partitions`, named as [`log_start_offset`] names them, by the
    /// directory of their first segment (also for a segment file named
    /// alone); the others' entries in a checkpoint are passed over.
    pub fn for_partitions(partitions: &[Partition]) -> LogStarts {
        let wanted = partitions
            .iter()
            .filter_map(|p| p.segments.first()?.log.parent())
            .filter_map(|d| {
                let (topic, n) = d.file_name()?.to_str()?.rsplit_once('-')?;
                Some((topic.to_string(), n.parse().ok()?))
            })
            .collect();
        LogStarts { wanted, ..LogStarts::default() }
    }

    /// `segments`' log start offset; their partition must be one of those
    /// this was made for, else the first segment's base offset it is.
    pub fn of(&self, segments: &[Segment]) -> Option<(i64, LogStartSource)> {
        log_start_with(segments, &mut |checkpoint, topic, partition| {
            let offsets = {
                // Held while a checkpoint is read: the other partitions of
                // its directory would only read it again.
                let mut read = self.read.lock().unwrap_or_else(|p| p.into_inner());
                read.entry(checkpoint.to_path_buf())
                    .or_insert_with(|| {
                        read_log_starts(checkpoint, &|t, p| self.wanted.contains(&(t.to_string(), p)))
                            .map(std::sync::Arc::new)
                    })
                    .clone()?
            };
            offsets.get(&(topic.to_string(), partition)).copied()
        })
    }
}

/// The log start offset from `lookup(checkpoint, topic, partition)`, or
/// the first segment's base offset.
fn log_start_with(
    segments: &[Segment],
    lookup: &mut dyn FnMut(&Path, &str, i32) -> Option<i64>,
) -> Option<(i64, LogStartSource)> {
    let first = segments.first()?;
    let from_checkpoint = (|| {
        let dir = first.log.parent()?;
        let (topic, partition) = dir.file_name()?.to_str()?.rsplit_once('-')?;
        let partition: i32 = partition.parse().ok()?;
        let checkpoint = dir.parent()?.join("log-start-offset-checkpoint");
        let offset = lookup(&checkpoint, topic, partition)?;
        Some((offset, checkpoint))
    })();
    Some(match from_checkpoint {
        Some((offset, path)) if offset > first.base_offset => (offset, LogStartSource::Checkpoint(path)),
        _ => (first.base_offset, LogStartSource::FirstSegment),
    })
}

/// The entries of a `log-start-offset-checkpoint` of the partitions
/// `wanted` says (the first of two for one partition counts); `None` when
/// it cannot be read or is larger than kseg reads of one (verify says so).
fn read_log_starts(checkpoint: &Path, wanted: &dyn Fn(&str, i32) -> bool) -> Option<StartOffsets> {
    let max = TextFormat::OffsetCheckpoint.max_bytes();
    let mut data = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(std::fs::File::open(checkpoint).ok()?, max + 1), &mut data)
        .ok()?;
    if data.len() as u64 > max {
        return None;
    }
    let mut offsets = StartOffsets::new();
    checkpoint::visit(TextFormat::OffsetCheckpoint, &data, &mut |item| {
        if let Item::Entry(Entry::Offset { topic, partition, offset, .. }) = item
            && wanted(&topic, partition)
        {
            offsets.entry((topic, partition)).or_insert(offset);
        }
    });
    Some(offsets)
}

/// The segments of one partition, in base-offset order.
#[derive(Clone, Debug)]
pub struct Partition {
    /// The partition directory, when a directory was given; a single
    /// segment file stands alone and gets no snapshot cross-check.
    pub dir: Option<PathBuf>,
    pub segments: Vec<Segment>,
    /// Which of `segments` is the partition's active one, if present.
    pub active: Option<usize>,
    /// Producer state snapshots, by offset (collected only when asked for).
    pub snapshots: Vec<PathBuf>,
}

impl Partition {
    /// A name for output: the directory, or the one segment's file.
    pub fn name(&self) -> PathBuf {
        self.dir.clone().or_else(|| self.segments.first().map(|s| s.log.clone())).unwrap_or_default()
    }

    /// One segment file given by name (or one of its index files): active
    /// when no later segment sits beside it. A stream is a segment of its
    /// own; a file whose name carries no base offset takes `given`, or its
    /// first batch's.
    fn of_file(path: &Path, with_snapshots: bool, given: Option<i64>) -> io::Result<Partition> {
        if input::is_stream(path) {
            let segments = vec![Segment::stream(path, given)];
            return Ok(Partition { dir: None, segments, active: Some(0), snapshots: Vec::new() });
        }
        let kind = partition::classify(path).0;
        if with_snapshots && kind == FileKind::Snapshot {
            return Ok(Partition {
                dir: None,
                segments: Vec::new(),
                active: None,
                snapshots: vec![path.to_path_buf()],
            });
        }
        let log = match kind {
            FileKind::Index | FileKind::TimeIndex | FileKind::TxnIndex => path.with_extension("log"),
            _ => path.to_path_buf(),
        };
        if kind == FileKind::Other {
            return Err(io::Error::other("not a segment file (a .log, or a stream such as - for standard input)"));
        }
        if !log.is_file() {
            return Err(io::Error::new(io::ErrorKind::NotFound, format!("{} not found", log.display())));
        }
        let seg = match (given, Segment::for_log(&log)) {
            (Some(base), _) => Segment::with_base(&log, base, BaseOffsetFrom::Given),
            (None, Some(seg)) => seg,
            (None, None) => {
                let base = partition::first_base_offset(&log)?.unwrap_or(0);
                Segment::with_base(&log, base, BaseOffsetFrom::FirstBatch)
            }
        };
        let mut siblings = log.parent().map(|d| partition::segments(d).unwrap_or_default()).unwrap_or_default();
        siblings.retain(|s| s.base_offset > seg.base_offset);
        let active = siblings.is_empty().then_some(0);
        Ok(Partition { dir: None, segments: vec![seg], active, snapshots: Vec::new() })
    }
}

/// What [`partitions`] found: the partitions, and the directories it left out.
#[derive(Debug, Default)]
pub struct Found {
    pub partitions: Vec<Partition>,
    /// Subdirectories that are not the broker's logs, and segment names
    /// that are not regular files, and why.
    pub left_out: Vec<(PathBuf, &'static str)>,
    /// Subdirectories listed but gone when read ([`WalkReport::vanished`]).
    pub vanished: Vec<PathBuf>,
}

#[derive(Default)]
struct Collect {
    failure: Option<io::Error>,
    left_out: Vec<(PathBuf, &'static str)>,
    vanished: Vec<PathBuf>,
}

impl WalkReport for Collect {
    fn failed(&mut self, _: &Path, error: io::Error) {
        self.failure.get_or_insert(error);
    }
    fn left_out(&mut self, dir: &Path, reason: &'static str) {
        self.left_out.push((dir.to_path_buf(), reason));
    }
    fn vanished(&mut self, dir: &Path) {
        self.vanished.push(dir.to_path_buf());
    }
}

/// Whether a directory holds files only a partition directory has (index
/// files, `partition.metadata`, `leader-epoch-checkpoint`): a partition
/// whose segments are gone is still one.
fn holds_partition_files(dir: &Path) -> io::Result<bool> {
    Ok(partition::files(dir)?.iter().any(|f| {
        matches!(
            f.kind,
            FileKind::Index
                | FileKind::TimeIndex
                | FileKind::TxnIndex
                | FileKind::PartitionMetadata
                | FileKind::LeaderEpochCheckpoint
        )
    }))
}

/// The partitions under `paths`, or a message for the first path that
/// cannot be used. A directory holding segments (or, `with_snapshots`,
/// producer snapshots) is a partition and is not walked further; other
/// directories are walked down to [`MAX_DEPTH`]. With `with_snapshots`,
/// producer snapshots are collected too, and a snapshot alone (a file, or a
/// directory holding only snapshots) is a partition of its own, as is a
/// directory holding other files of a partition but no segment.
pub fn partitions(paths: &[PathBuf], with_snapshots: bool) -> Result<Found, String> {
    partitions_with_base(paths, with_snapshots, None)
}

/// As [`partitions`], with `base_offset` (`--base-offset`) as the base
/// offset of every segment given as a file or stream rather than found in
/// a directory (by default: from the name, else from the first batch).
pub fn partitions_with_base(
    paths: &[PathBuf],
    with_snapshots: bool,
    base_offset: Option<i64>,
) -> Result<Found, String> {
    let mut out = Vec::new();
    let mut report = Collect::default();
    let mut not_regular = Vec::new();
    for path in paths {
        let before = out.len();
        let is_dir = !input::is_stream(path)
            && std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?.is_dir();
        let found = if is_dir {
            walk_dirs(
                path,
                MAX_DEPTH,
                &mut |dir| {
                    let (segments, strays) = partition::segments_and_strays(dir)?;
                    not_regular.extend(strays);
                    let snapshots = if with_snapshots { partition::snapshots(dir)? } else { Vec::new() };
                    if segments.is_empty() && snapshots.is_empty() && !(with_snapshots && holds_partition_files(dir)?) {
                        return Ok(Descend::Yes);
                    }
                    let active = active_segment(&segments);
                    out.push(Partition { dir: Some(dir.to_path_buf()), segments, active, snapshots });
                    Ok(Descend::No)
                },
                &mut report,
            )
            .and_then(|()| report.failure.take().map_or(Ok(()), Err))
        } else {
            Partition::of_file(path, with_snapshots, base_offset).map(|p| out.push(p))
        };
        found.map_err(|e| format!("{}: {e}", path.display()))?;
        if out.len() == before {
            return Err(format!("{}: no segments found", path.display()));
        }
    }
    let mut left_out = report.left_out;
    left_out.extend(not_regular.into_iter().map(|p| (p, "not a regular file (a FIFO or a device), never opened")));
    Ok(Found { partitions: out, left_out, vanished: report.vanished })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A partition directory a live broker renames away (a deleted topic)
    /// between the listing of its log directory and its visit: noted as
    /// vanished, and the partitions after it are still walked.
    #[test]
    fn a_directory_gone_before_its_visit_is_vanished_and_the_walk_goes_on() {
        let root = tempfile::tempdir().unwrap();
        for name in ["a-0", "b-0", "c-0"] {
            std::fs::create_dir(root.path().join(name)).unwrap();
        }
        let mut seen = Vec::new();
        let mut visit = |dir: &Path| -> io::Result<Descend> {
            if dir.ends_with("a-0") {
                std::fs::rename(root.path().join("b-0"), root.path().join("b-0.0123-delete"))?;
            }
            std::fs::read_dir(dir)?;
            seen.push(dir.file_name().unwrap().to_string_lossy().into_owned());
            Ok(if dir == root.path() { Descend::Yes } else { Descend::No })
        };
        let mut report = Collect::default();
        walk_dirs(root.path(), MAX_DEPTH, &mut visit, &mut report).unwrap();
        let root_name = root.path().file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(seen, [root_name.as_str(), "a-0", "c-0"]);
        assert_eq!(report.vanished, [root.path().join("b-0")]);
        assert!(report.failure.is_none());
    }

    /// The directory named on the command line is not a live broker's to
    /// remove: gone, it is an error (exit 2), not a note.
    #[test]
    fn the_root_gone_is_an_error() {
        let root = tempfile::tempdir().unwrap();
        let gone = root.path().join("gone");
        let mut visit = |dir: &Path| -> io::Result<Descend> {
            std::fs::read_dir(dir)?;
            Ok(Descend::Yes)
        };
        let err = walk_dirs(&gone, MAX_DEPTH, &mut visit, &mut Collect::default()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }
}
