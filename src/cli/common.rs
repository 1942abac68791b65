//! What the subcommands share: the argument block for reading segments
//! (flattened into each subcommand that reads whole segments) and the
//! thread pool. PATH arguments are grouped into partitions by
//! [`kseg::files::logdir`].

use std::path::PathBuf;

use clap::Args;
use kseg::analysis::window::Reading;
use kseg::files::logdir::{self, Partition};
use kseg::files::partition::BaseOffsetFrom;

/// How segments are read, shared by `verify`, `stats` and `producers`.
#[derive(Debug, Args)]
pub struct ReadArgs {
    /// Threads to read segments with (default: all cores).
    #[arg(long, short, value_name = "N")]
    pub jobs: Option<usize>,
    /// Read segments with plain reads, one batch after another, instead of a
    /// read-only memory map read in parallel. Either way a file that a live
    /// broker truncates, replaces or deletes meanwhile is reported as
    /// changed while being read.
    #[arg(long)]
    pub no_mmap: bool,
    /// The base offset of a segment given as a file whose name does not
    /// carry one (`broken.log`) or as a stream (`-`, a pipe); by default it
    /// is taken from the first batch.
    #[arg(long, value_name = "N")]
    pub base_offset: Option<i64>,
    /// Largest decompressed size accepted for one batch, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = kseg::format::compression::DEFAULT_MAX_DECOMPRESSED)]
    pub max_decompressed: usize,
}

impl ReadArgs {
    pub fn reading(&self) -> Reading {
        if self.no_mmap { Reading::Sequential } else { Reading::Mapped }
    }

    /// A thread pool of `--jobs` threads (none given: one per core).
    pub fn pool(&self) -> anyhow::Result<rayon::ThreadPool> {
        Ok(rayon::ThreadPoolBuilder::new().num_threads(self.jobs.unwrap_or(0)).build()?)
    }
}

/// The partitions under the PATH arguments, with a note on stderr for each
/// directory left out (unless `quiet`), or the message for the first path
/// that cannot be used (printed; the caller exits 2).
pub fn partitions(
    paths: &[PathBuf],
    base_offset: Option<i64>,
    with_snapshots: bool,
    quiet: bool,
) -> Option<Vec<Partition>> {
    match logdir::partitions_with_base(paths, with_snapshots, base_offset) {
        Ok(found) => {
            if !quiet {
                for (dir, reason) in &found.left_out {
                    note_left_out(dir, reason);
                }
                for seg in found.partitions.iter().flat_map(|p| &p.segments) {
                    if seg.base_from == BaseOffsetFrom::FirstBatch {
                        eprintln!(
                            "kseg: note: {}: no base offset in its name; {} taken from its first batch (--base-offset N sets it)",
                            seg.log.display(),
                            seg.base_offset
                        );
                    }
                }
            }
            Some(found.partitions)
        }
        Err(e) => {
            eprintln!("kseg: {e}");
            None
        }
    }
}

/// The note for a directory a walk left out (not one of the broker's logs).
pub fn note_left_out(dir: &std::path::Path, reason: &str) {
    eprintln!("kseg: note: {}: left out: {reason}; name it to read it", dir.display());
}

/// The warning for a file that changed while it was read (a live broker's
/// roll, truncation, cleaning or retention).
pub fn warn_changed(file: &std::path::Path, change: kseg::files::change::Change) {
    eprintln!("kseg: warning: {}: {change}", file.display());
}

/// The note for a file listed but gone by the time it was opened (a live
/// broker's retention or cleaner): not an error, the log moved on.
pub fn note_vanished(file: &std::path::Path) {
    eprintln!("kseg: note: {}: removed before it could be read (the broker's retention or cleaner)", file.display());
}
