//! PATH arguments of `stats` and `producers`: segment files, partition
//! directories and log directories, grouped into partitions.

use std::io;
use std::path::{Path, PathBuf};

use kseg::partition::{self, FileKind, Segment};

/// The segments of one partition, in base-offset order.
pub struct Partition {
    /// The partition directory, when a directory was given; a single
    /// segment file stands alone and gets no snapshot cross-check.
    pub dir: Option<PathBuf>,
    pub segments: Vec<Segment>,
}

impl Partition {
    /// A name for output: the directory, or the one segment's file.
    pub fn name(&self) -> PathBuf {
        self.dir.clone().or_else(|| self.segments.first().map(|s| s.log.clone())).unwrap_or_default()
    }
}

fn collect(path: &Path, out: &mut Vec<Partition>, depth: u32) -> io::Result<()> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_dir() {
        let log = match partition::classify(path).0 {
            FileKind::Index | FileKind::TimeIndex | FileKind::TxnIndex => path.with_extension("log"),
            _ => path.to_path_buf(),
        };
        let Some(seg) = Segment::for_log(&log) else {
            return Err(io::Error::other("not a segment file (its name must start with a base offset)"));
        };
        if !seg.log.is_file() {
            return Err(io::Error::new(io::ErrorKind::NotFound, format!("{} not found", seg.log.display())));
        }
        out.push(Partition { dir: None, segments: vec![seg] });
        return Ok(());
    }
    let segments = partition::segments(path)?;
    if !segments.is_empty() {
        out.push(Partition { dir: Some(path.to_path_buf()), segments });
        return Ok(());
    }
    if depth == 0 {
        return Ok(());
    }
    let mut dirs: Vec<PathBuf> =
        std::fs::read_dir(path)?.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_dir()).collect();
    dirs.sort();
    for d in dirs {
        collect(&d, out, depth - 1)?;
    }
    Ok(())
}

/// The partitions under `paths`, or a message for the first path that
/// cannot be used.
pub fn partitions(paths: &[PathBuf]) -> Result<Vec<Partition>, String> {
    let mut out = Vec::new();
    for path in paths {
        let before = out.len();
        collect(path, &mut out, 6).map_err(|e| format!("{}: {e}", path.display()))?;
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
