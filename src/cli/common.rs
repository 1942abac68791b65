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

/// `eprintln!` for kseg's own lines on stderr: file names and texts from
/// the disk reach the terminal with their controls escaped
/// ([`crate::output::cell::terminal_line`]).
macro_rules! say {
    ($($arg:tt)*) => {
        eprintln!("{}", $crate::output::cell::terminal_line(&format!($($arg)*)))
    };
}
pub(crate) use say;

/// The partitions under the PATH arguments, with a note on stderr for each
/// directory left out (unless `quiet`), or the message for the first path
/// that cannot be used (printed; the caller exits 2).
pub fn partitions(
    paths: &[PathBuf],
    base_offset: Option<i64>,
    with_snapshots: bool,
    quiet: bool,
) -> Option<Vec<Partition>> {
    // A regular file named on the command line whose name says nothing and
    // whose bytes start no log entry is not read as a segment: status 2 in
    // every subcommand (docs/exit-codes.md). Streams are never sniffed.
    if base_offset.is_none() {
        for p in paths {
            let plain = std::fs::metadata(p).is_ok_and(|m| m.is_file());
            let nameless = kseg::files::partition::classify(p).0 == kseg::files::partition::FileKind::Other
                && kseg::files::partition::base_offset_from_name(p).is_none();
            if plain
                && nameless
                && let Some(why) = not_log_data(p)
            {
                say!("kseg: {}: {why}", p.display());
                return None;
            }
        }
    }
    match logdir::partitions_with_base(paths, with_snapshots, base_offset) {
        Ok(found) => {
            if !quiet {
                for (dir, reason) in &found.left_out {
                    note_left_out(dir, reason);
                }
                for dir in &found.vanished {
                    note_dir_vanished(dir);
                }
                for seg in found.partitions.iter().flat_map(|p| &p.segments) {
                    if seg.base_from == BaseOffsetFrom::FirstBatch {
                        say!(
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
            say!("kseg: {e}");
            None
        }
    }
}

/// The note for a directory a walk left out (not one of the broker's logs).
pub fn note_left_out(dir: &std::path::Path, reason: &str) {
    say!("kseg: note: {}: left out: {reason}; name it to read it", dir.display());
}

/// The warning for a file that changed while it was read (a live broker's
/// roll, truncation, cleaning or retention).
pub fn warn_changed(file: &std::path::Path, change: kseg::files::change::Change) {
    say!("kseg: warning: {}: {change}", file.display());
}

/// The note for a directory listed but gone when read (a live broker
/// renamed a deleted topic's partition): not an error, as for a file.
pub fn note_dir_vanished(dir: &std::path::Path) {
    say!(
        "kseg: note: {}: removed while being read (a deleted topic's partition, renamed to …-delete by the broker)",
        dir.display()
    );
}

/// The note for a file listed but gone by the time it was opened (a live
/// broker's retention or cleaner): not an error, the log moved on.
pub fn note_vanished(file: &std::path::Path) {
    say!("kseg: note: {}: removed before it could be read (the broker's retention or cleaner)", file.display());
}

/// Whether an error is (or wraps) a write to a pipe whose reader went away:
/// `kseg … | head` closed it on purpose, so it is no failure of kseg. JSON
/// writers wrap the I/O error in their own.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || e.downcast_ref::<serde_json::Error>()
                .is_some_and(|j| j.io_error_kind() == Some(std::io::ErrorKind::BrokenPipe))
    })
}

/// The exit status of a subcommand whose verdict (`code`) was settled before
/// its report was written: a reader that went away (`kseg verify … | head`)
/// does not change it, and is not reported. Other write errors are.
pub fn verdict_after_writing(written: anyhow::Result<()>, code: u8) -> anyhow::Result<std::process::ExitCode> {
    match written {
        Ok(()) => Ok(std::process::ExitCode::from(code)),
        Err(e) if is_broken_pipe(&e) => Ok(std::process::ExitCode::from(code)),
        Err(e) => Err(e),
    }
}

/// Why a file named on the command line, whose name says nothing of its
/// kind, is not Kafka log data, if it is not: it is empty, or its first byte
/// is not zero and no entry starts there. An entry starts with its offset,
/// a big-endian int64 whose first byte is zero for any offset below 2^56, so
/// a damaged or truncated record set still counts as Kafka data (its damage
/// is reported), while a text file (`/etc/passwd`) does not. `None` when it
/// may be log data, or when it cannot be read (the reader reports that).
pub fn not_log_data(path: &std::path::Path) -> Option<String> {
    use std::io::Read;
    // Only a regular file is sniffed: a FIFO or a device would block on
    // open or lose the bytes read.
    if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        return None;
    }
    let mut head = [0u8; 17];
    let mut f = std::fs::File::open(path).ok()?;
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(_) => return None,
        }
    }
    if n == 0 {
        return Some("not a Kafka file: it is empty".into());
    }
    if head[0] == 0 {
        return None;
    }
    let size = (n >= 12).then(|| i32::from_be_bytes([head[8], head[9], head[10], head[11]]));
    let magic = (n >= 17).then_some(head[16]);
    let plausible = size.is_some_and(|s| s >= 14) && magic.is_some_and(|m| m <= 2);
    (!plausible).then(|| {
        "not a Kafka file: its name is not a Kafka file name, and its first bytes are no log entry".to_string()
    })
}

/// A byte progress bar over the segments of `partitions`, on stderr when it
/// is a terminal, not `quiet`, and there are more than `min_bytes` to read.
pub fn progress_bar(partitions: &[Partition], quiet: bool, min_bytes: u64) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    let total: u64 = partitions
        .iter()
        .flat_map(|p| &p.segments)
        .map(|s| std::fs::metadata(&s.log).map(|m| m.len()).unwrap_or(0))
        .sum();
    (!quiet && std::io::stderr().is_terminal() && total > min_bytes).then(|| {
        let bar = indicatif::ProgressBar::new(total);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} {eta}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    })
}
