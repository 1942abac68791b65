//! `kseg ls`: one summary per partition from one walk of its batch headers
//! (the producer scan, [`crate::analysis::producers::scan`]), its log start
//! offset, and a quick status; or, asked for, the full check of
//! [`crate::analysis::verify`]. Given a partition, it opens its files; the
//! result is a few numbers, so a log directory of thousands of partitions
//! needs memory for the partitions in flight only.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::analysis::partition_files;
use crate::analysis::producers::{self, Analyzer, SnapshotFile};
use crate::analysis::verify::{self, Severity};
use crate::files::log::LogSource;
use crate::files::logdir::{self, Partition};
use crate::files::mmap::Mapped;
use crate::files::partition;
use crate::files::partition::Segment;
use crate::format::index::{OffsetIndex, TimeIndex};
use crate::format::problem::ProblemKind;
use crate::format::txnindex::TxnIndex;

/// What a quick (or full) check of a partition found, worst first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    Ok,
    Warning,
    Error,
    /// A file could not be read.
    Unreadable,
}

/// One partition, in a few numbers.
#[derive(Clone, Debug, Serialize)]
pub struct PartitionSummary {
    pub path: PathBuf,
    pub topic: String,
    /// `None` for a segment file named alone outside a `<topic>-<n>` directory.
    pub partition: Option<i32>,
    pub segments: usize,
    /// Bytes of the `.log` files.
    pub bytes: u64,
    /// As the broker computes it: the first segment's base offset, raised to
    /// the log directory's `log-start-offset-checkpoint` entry.
    pub log_start_offset: Option<i64>,
    pub log_start_from_checkpoint: bool,
    /// First and last offset held by the segments' batches.
    pub first_offset: Option<i64>,
    pub last_offset: Option<i64>,
    /// One past the last offset (at least the last segment's base offset).
    pub log_end_offset: Option<i64>,
    /// The first batch's max timestamp and the largest max timestamp (ms).
    pub first_timestamp: Option<i64>,
    pub last_timestamp: Option<i64>,
    /// Producer ids with a batch in the log.
    pub producers: usize,
    /// Transactions still open at the end of the log.
    pub open_transactions: usize,
    pub status: Health,
    /// Why the status is not ok: the kinds found, with counts.
    pub findings: Vec<(String, usize)>,
}

impl PartitionSummary {
    /// Offsets between the log start and the log end.
    pub fn offsets(&self) -> u64 {
        match (self.log_start_offset, self.log_end_offset) {
            (Some(s), Some(e)) if e > s => (e - s) as u64,
            _ => 0,
        }
    }
}

#[derive(Debug, Default)]
pub struct Options {
    pub max_decompressed: usize,
    pub mmap: bool,
    /// Check the partition fully ([`verify`]) instead of the quick check.
    pub full: bool,
    /// The log directories' log start offsets, shared by their partitions.
    pub log_starts: logdir::LogStarts,
}

/// `<topic>`, `<n>` of a partition: from its directory's name, or from the
/// directory holding its one segment file.
fn topic_and_partition(part: &Partition) -> (String, Option<i32>) {
    let dir = part.dir.clone().or_else(|| part.segments.first().and_then(|s| s.log.parent().map(Path::to_path_buf)));
    match dir.as_deref().and_then(partition_files::topic_partition) {
        Some((t, p)) => (t, Some(p)),
        None => (part.name().display().to_string(), None),
    }
}

fn count(findings: &mut Vec<(String, usize)>, kind: &str, more: usize) {
    match findings.iter_mut().find(|(k, _)| k == kind) {
        Some((_, n)) => *n += more,
        None => findings.push((kind.to_string(), more)),
    }
}

/// Summarise one partition. The quick check is the batch walk's framing
/// (entries it could not read), and the partition's other files
/// ([`partition_files::check_partition`]: leader epochs, metadata,
/// snapshots past the end, orphaned indexes); `full` runs every check of
/// `kseg verify` instead.
pub fn summarize(part: &Partition, opts: &Options) -> PartitionSummary {
    let (topic, partition) = topic_and_partition(part);
    let mut s = PartitionSummary {
        path: part.name(),
        topic,
        partition,
        segments: part.segments.len(),
        bytes: 0,
        log_start_offset: None,
        log_start_from_checkpoint: false,
        first_offset: None,
        last_offset: None,
        log_end_offset: None,
        first_timestamp: None,
        last_timestamp: None,
        producers: 0,
        open_transactions: 0,
        status: Health::Ok,
        findings: Vec::new(),
    };
    if let Some((start, from)) = opts.log_starts.of(&part.segments) {
        s.log_start_offset = Some(start);
        s.log_start_from_checkpoint = matches!(from, logdir::LogStartSource::Checkpoint(_));
    }
    let mut worst = Health::Ok;
    let mut analyzer = Analyzer::new(producers::Options::default());
    for (i, seg) in part.segments.iter().enumerate() {
        s.bytes += std::fs::metadata(&seg.log).map(|m| m.len()).unwrap_or(0);
        let scan =
            LogSource::open(&seg.log, opts.mmap).and_then(|src| producers::scan_segment(src, opts.max_decompressed));
        let scan = match scan {
            Ok(scan) => scan,
            Err(_) => {
                worst = worst.max(Health::Unreadable);
                count(&mut s.findings, "unreadable", 1);
                continue;
            }
        };
        if !opts.full && scan.damaged > 0 {
            worst = worst.max(Health::Error);
            count(&mut s.findings, "unreadable_data", 1);
        }
        if s.first_timestamp.is_none() {
            s.first_timestamp = scan.first_timestamp;
        }
        s.first_offset = s.first_offset.or(scan.first_offset);
        if scan.last_offset.is_some() {
            s.last_offset = s.last_offset.max(scan.last_offset);
        }
        s.last_timestamp = s.last_timestamp.max(scan.max_timestamp);
        let txn = seg.txnindex.as_deref().map(Mapped::open).and_then(Result::ok);
        analyzer.segment(seg, &scan, TxnIndex::new(txn.as_ref().map_or(&[], AsRef::as_ref)));
        if !opts.full {
            let active = part.active == Some(i);
            for (kind, severity) in index_tails(seg, scan.last_offset, active) {
                worst = worst.max(severity);
                count(&mut s.findings, kind.name(), 1);
            }
        }
    }
    let snapshot = part
        .dir
        .as_deref()
        .and_then(|d| partition::newest_snapshot(d).ok().flatten())
        // Mapped: a snapshot of any size costs no allocation.
        .and_then(|(path, offset)| crate::files::mmap::Mapped::open(&path).ok().map(|b| (path, offset, b)));
    let report = analyzer.finish(snapshot.as_ref().map(|(path, offset, bytes)| SnapshotFile {
        path: path.clone(),
        offset: *offset,
        snapshot: crate::format::snapshot::parse(bytes.as_ref()),
    }));
    s.producers = report.producers.len();
    s.open_transactions = report.producers.iter().filter(|p| p.open.is_some()).count();
    s.log_end_offset = partition_files::log_end_offset(part, s.last_offset);
    let (findings, left_out) = if opts.full {
        full_check(part, opts)
    } else {
        let checked = partition_files::check_partition(part, s.last_offset);
        (checked.findings, checked.left_out)
    };
    let counted = findings.iter().map(|f| (f.kind, f.severity, 1));
    for (kind, severity, n) in counted.chain(left_out.iter().map(|l| (l.kind, l.severity, l.count as usize))) {
        worst = worst.max(match severity {
            Severity::Note => Health::Ok,
            Severity::Warning => Health::Warning,
            Severity::Error if kind == crate::format::problem::ProblemKind::Unreadable => Health::Unreadable,
            Severity::Error => Health::Error,
        });
        if severity != Severity::Note {
            count(&mut s.findings, kind.name(), n);
        }
    }
    // The one log-directory check that concerns a single partition: a log
    // start offset past the log end makes the broker delete every segment.
    if let (true, Some(start), Some(end)) = (s.log_start_from_checkpoint, s.log_start_offset, s.log_end_offset)
        && start > end
    {
        worst = worst.max(Health::Error);
        count(&mut s.findings, crate::format::problem::ProblemKind::LogStartPastEnd.name(), 1);
    }
    s.status = worst;
    s
}

/// The tails of a segment's index files, from their last entries only: a
/// size that is not a whole number of entries, and a last entry past the
/// log (an offset-index position past the `.log`'s size, a time-index
/// offset past its last offset). Past the end of the active segment that is
/// what a crash leaves (recovery rebuilds it): a warning there, else an error.
fn index_tails(seg: &Segment, last_offset: Option<i64>, active: bool) -> Vec<(ProblemKind, Health)> {
    let mut out = Vec::new();
    let past = if active { Health::Warning } else { Health::Error };
    let log_len = std::fs::metadata(&seg.log).map(|m| m.len()).unwrap_or(0);
    if let Some(map) = seg.index.as_deref().and_then(|p| Mapped::open(p).ok()) {
        let idx = OffsetIndex::new_checked(map, seg.base_offset);
        if idx.trailing_bytes() != 0 {
            out.push((ProblemKind::IndexSize, Health::Error));
        }
        if idx.entries > 0 && u64::from(idx.entry(idx.entries - 1).position) >= log_len {
            out.push((ProblemKind::IndexPastEnd, past));
        }
    }
    if let Some(map) = seg.timeindex.as_deref().and_then(|p| Mapped::open(p).ok()) {
        let idx = TimeIndex::new_checked(map, seg.base_offset);
        if idx.trailing_bytes() != 0 {
            out.push((ProblemKind::TimeindexSize, Health::Error));
        }
        if idx.entries > 0 && last_offset.is_none_or(|l| idx.entry(idx.entries - 1).offset > l) {
            out.push((ProblemKind::TimeindexPastEnd, past));
        }
    }
    out
}

/// Everything `kseg verify` checks in one partition: the findings kept,
/// and those only counted.
fn full_check(part: &Partition, opts: &Options) -> (Vec<verify::Finding>, Vec<verify::LeftOut>) {
    let vopts = verify::Options {
        max_decompressed: opts.max_decompressed,
        reading: if opts.mmap {
            crate::analysis::window::Reading::Mapped
        } else {
            crate::analysis::window::Reading::Sequential
        },
    };
    let mut findings = Vec::new();
    let mut reports = Vec::new();
    for (i, seg) in part.segments.iter().enumerate() {
        match verify::verify_segment(seg, part.active == Some(i), &vopts) {
            Ok(r) => reports.push(r),
            Err(e) => {
                findings.push(verify::Finding {
                    file: seg.log.clone(),
                    kind: crate::format::problem::ProblemKind::Unreadable,
                    severity: Severity::Error,
                    position: None,
                    offset: None,
                    message: e.to_string(),
                });
                reports.push(verify::SegmentReport::default());
            }
        }
    }
    findings.extend(verify::cross_segment(&part.segments, &reports));
    let last_offset = reports.iter().filter_map(|r| r.last_offset).max();
    let mut left_out = Vec::new();
    for r in reports {
        findings.extend(r.findings);
        left_out.extend(r.left_out);
    }
    if let Some(dir) = &part.dir {
        for snap in partition::snapshots(dir).unwrap_or_default() {
            if let Ok(r) = verify::verify_snapshot(&snap) {
                findings.extend(r.findings);
            }
        }
    }
    let checked = partition_files::check_partition(part, last_offset);
    findings.extend(checked.findings);
    left_out.extend(checked.left_out);
    (findings, left_out)
}

/// Sums over partitions (of one topic, or all).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Totals {
    pub partitions: usize,
    pub segments: usize,
    pub bytes: u64,
    /// Offsets between log start and log end, summed.
    pub offsets: u64,
    pub first_timestamp: Option<i64>,
    pub last_timestamp: Option<i64>,
    pub producers: usize,
    pub open_transactions: usize,
    /// Partitions whose status is not ok.
    pub not_ok: usize,
}

impl Totals {
    pub fn add(&mut self, s: &PartitionSummary) {
        self.partitions += 1;
        self.segments += s.segments;
        self.bytes += s.bytes;
        self.offsets += s.offsets();
        self.first_timestamp = match (self.first_timestamp, s.first_timestamp) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.last_timestamp = self.last_timestamp.max(s.last_timestamp);
        self.producers += s.producers;
        self.open_transactions += s.open_transactions;
        self.not_ok += usize::from(s.status != Health::Ok);
    }
}
