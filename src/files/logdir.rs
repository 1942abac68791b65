//! Log directories as kseg walks them: the one directory walk (a log
//! directory, its partition directories, bounded in depth, in listing
//! order), PATH arguments grouped into partitions, and the one rule for
//! which segment of a partition is active.

use std::io;
use std::path::{Path, PathBuf};

use crate::files::partition::{self, FileKind, Segment};
use crate::format::checkpoint::{self, Entry, TextFormat};

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

/// Visit `root` and then, depth-first in listing order ([`partition::subdirs`]),
/// the directories below it, at most `max_depth` levels down, for as long as
/// `visit` says [`Descend::Yes`]. A directory whose subdirectories cannot be
/// listed goes to `failed` and the walk goes on; an error from `visit` ends it.
pub fn walk_dirs(
    root: &Path,
    max_depth: u32,
    visit: &mut dyn FnMut(&Path) -> io::Result<Descend>,
    failed: &mut dyn FnMut(&Path, io::Error),
) -> io::Result<()> {
    if visit(root)? == Descend::No || max_depth == 0 {
        return Ok(());
    }
    match partition::subdirs(root) {
        Ok(subs) => {
            for sub in subs {
                walk_dirs(&sub, max_depth - 1, visit, failed)?;
            }
        }
        Err(e) => failed(root, e),
    }
    Ok(())
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
pub fn log_start_offset(segments: &[Segment]) -> Option<(i64, LogStartSource)> {
    let first = segments.first()?;
    let from_checkpoint = (|| {
        let dir = first.log.parent()?;
        let (topic, partition) = dir.file_name()?.to_str()?.rsplit_once('-')?;
        let partition: i32 = partition.parse().ok()?;
        let checkpoint = dir.parent()?.join("log-start-offset-checkpoint");
        let data = std::fs::read(&checkpoint).ok()?;
        let parsed = checkpoint::parse(TextFormat::OffsetCheckpoint, &data);
        let offset = parsed.entries.iter().find_map(|e| match e {
            Entry::Offset { topic: t, partition: p, offset, .. } if t == topic && *p == partition => Some(*offset),
            _ => None,
        })?;
        Some((offset, checkpoint))
    })();
    Some(match from_checkpoint {
        Some((offset, path)) if offset > first.base_offset => (offset, LogStartSource::Checkpoint(path)),
        _ => (first.base_offset, LogStartSource::FirstSegment),
    })
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
    /// when no later segment sits beside it.
    fn of_file(path: &Path, with_snapshots: bool) -> io::Result<Partition> {
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
        let Some(seg) = Segment::for_log(&log) else {
            return Err(io::Error::other("not a segment file (its name must start with a base offset)"));
        };
        if !seg.log.is_file() {
            return Err(io::Error::new(io::ErrorKind::NotFound, format!("{} not found", seg.log.display())));
        }
        let mut siblings = log.parent().map(|d| partition::segments(d).unwrap_or_default()).unwrap_or_default();
        siblings.retain(|s| s.base_offset > seg.base_offset);
        let active = siblings.is_empty().then_some(0);
        Ok(Partition { dir: None, segments: vec![seg], active, snapshots: Vec::new() })
    }
}

/// The partitions under `paths`, or a message for the first path that
/// cannot be used. A directory holding segments (or, `with_snapshots`,
/// producer snapshots) is a partition and is not walked further; other
/// directories are walked down to [`MAX_DEPTH`]. With `with_snapshots`,
/// producer snapshots are collected too, and a snapshot alone (a file, or a
/// directory holding only snapshots) is a partition of its own.
pub fn partitions(paths: &[PathBuf], with_snapshots: bool) -> Result<Vec<Partition>, String> {
    let mut out = Vec::new();
    for path in paths {
        let before = out.len();
        let found = if std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?.is_dir() {
            let mut failure = None;
            walk_dirs(
                path,
                MAX_DEPTH,
                &mut |dir| {
                    let segments = partition::segments(dir)?;
                    let snapshots = if with_snapshots { partition::snapshots(dir)? } else { Vec::new() };
                    if segments.is_empty() && snapshots.is_empty() {
                        return Ok(Descend::Yes);
                    }
                    let active = active_segment(&segments);
                    out.push(Partition { dir: Some(dir.to_path_buf()), segments, active, snapshots });
                    Ok(Descend::No)
                },
                &mut |_, e| {
                    failure.get_or_insert(e);
                },
            )
            .and_then(|()| failure.map_or(Ok(()), Err))
        } else {
            Partition::of_file(path, with_snapshots).map(|p| out.push(p))
        };
        found.map_err(|e| format!("{}: {e}", path.display()))?;
        if out.len() == before {
            return Err(format!("{}: no segments found", path.display()));
        }
    }
    Ok(out)
}
