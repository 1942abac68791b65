//! PATH arguments of `verify`, `stats` and `producers`: segment files, partition
//! directories and log directories, grouped into partitions.

use std::io;
use std::path::{Path, PathBuf};

use kseg::files::partition::{self, FileKind, Segment};

/// The segments of one partition, in base-offset order.
pub struct Partition {
    /// The partition directory, when a directory was given; a single
    /// segment file stands alone and gets no snapshot cross-check.
    pub dir: Option<PathBuf>,
    pub segments: Vec<Segment>,
    /// Which of `segments` is the partition's last (active) one, if present:
    /// only there is a torn tail what a crash normally leaves.
    pub active: Option<usize>,
    /// Producer state snapshots, by offset (collected only when asked for).
    pub snapshots: Vec<PathBuf>,
}

impl Partition {
    /// A name for output: the directory, or the one segment's file.
    pub fn name(&self) -> PathBuf {
        self.dir.clone().or_else(|| self.segments.first().map(|s| s.log.clone())).unwrap_or_default()
    }
}

fn collect(path: &Path, out: &mut Vec<Partition>, depth: u32, with_snapshots: bool) -> io::Result<()> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_dir() {
        let kind = partition::classify(path).0;
        if with_snapshots && kind == FileKind::Snapshot {
            out.push(Partition { dir: None, segments: Vec::new(), active: None, snapshots: vec![path.to_path_buf()] });
            return Ok(());
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
        // Active when no later segment sits beside it.
        let siblings = log.parent().map(|d| partition::segments(d).unwrap_or_default()).unwrap_or_default();
        let active = siblings.iter().all(|s| s.base_offset <= seg.base_offset).then_some(0);
        out.push(Partition { dir: None, segments: vec![seg], active, snapshots: Vec::new() });
        return Ok(());
    }
    let segments = partition::segments(path)?;
    let snapshots = if with_snapshots { partition::snapshots(path)? } else { Vec::new() };
    if !segments.is_empty() || !snapshots.is_empty() {
        let active = segments.len().checked_sub(1);
        out.push(Partition { dir: Some(path.to_path_buf()), segments, active, snapshots });
        return Ok(());
    }
    if depth == 0 {
        return Ok(());
    }
    let mut dirs: Vec<PathBuf> =
        std::fs::read_dir(path)?.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_dir()).collect();
    dirs.sort();
    for d in dirs {
        collect(&d, out, depth - 1, with_snapshots)?;
    }
    Ok(())
}

/// The partitions under `paths`, or a message for the first path that
/// cannot be used. With `with_snapshots`, producer snapshots are collected
/// too, and a snapshot alone (a file, or a directory holding only
/// snapshots) is a partition of its own.
pub fn partitions(paths: &[PathBuf], with_snapshots: bool) -> Result<Vec<Partition>, String> {
    let mut out = Vec::new();
    for path in paths {
        let before = out.len();
        collect(path, &mut out, 6, with_snapshots).map_err(|e| format!("{}: {e}", path.display()))?;
        if out.len() == before {
            return Err(format!("{}: no segments found", path.display()));
        }
    }
    Ok(out)
}

/// A thread pool of `jobs` threads (0 or none: one per core).
pub fn pool(jobs: Option<usize>) -> anyhow::Result<rayon::ThreadPool> {
    Ok(rayon::ThreadPoolBuilder::new().num_threads(jobs.unwrap_or(0)).build()?)
}
