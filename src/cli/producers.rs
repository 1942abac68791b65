//! `kseg producers`: producer ids, epochs, sequences and transactions, and
//! the anomalies that say data was lost or duplicated.

use super::common::say;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use comfy_table::{Cell, CellAlignment, Table, presets};
use kseg::analysis::producers::{self, Analyzer, Finding, PartitionReport, Producer, Severity, SnapshotFile};
use kseg::files::change::Change;
use kseg::files::log::LogSource;
use kseg::files::mmap::Mapped;
use kseg::files::partition;
use kseg::format::txnindex::TxnIndex;
use rayon::prelude::*;
use serde::Serialize;

use super::common::ReadArgs;
use super::exit;
use crate::output::rfc3339;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ProducersFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct ProducersArgs {
    /// Segment files (.log), partition directories, or log directories.
    /// The newest producer .snapshot is compared only when a partition
    /// directory is read whole.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = ProducersFormat::Table)]
    pub format: ProducersFormat,
    /// A transaction still open that began this long before the partition's
    /// newest timestamp is hanging (an anomaly); a younger one is in flight
    /// (a note). The default is the broker's transaction.max.timeout.ms.
    /// 0 makes every open transaction an anomaly.
    #[arg(long, value_name = "MS", default_value_t = producers::DEFAULT_TXN_TIMEOUT_MS)]
    pub txn_timeout_ms: i64,
    /// Do not compare with the partition's producer snapshot.
    #[arg(long)]
    pub no_snapshot: bool,
    /// Print nothing; only the exit code tells.
    #[arg(long, short)]
    pub quiet: bool,
    #[command(flatten)]
    pub read: ReadArgs,
}

#[derive(Serialize)]
struct ProducerOut<'a> {
    #[serde(flatten)]
    producer: &'a Producer,
    first_time: Option<String>,
    last_time: Option<String>,
}

#[derive(Serialize)]
struct PartitionJson<'a> {
    path: PathBuf,
    segments: usize,
    first_offset: Option<i64>,
    log_end_offset: Option<i64>,
    last_stable_offset: Option<i64>,
    max_timestamp: Option<String>,
    missing_offsets: u64,
    compacted: bool,
    txnindex_files: u64,
    txnindex_entries: u64,
    snapshot: &'a Option<producers::SnapshotCheck>,
    producers: Vec<ProducerOut<'a>>,
    anomalies: Vec<&'a Finding>,
    notes: Vec<&'a Finding>,
}

#[derive(Serialize, Default)]
struct Summary {
    partitions: usize,
    segments: usize,
    producers: usize,
    committed: u64,
    aborted: u64,
    open: u64,
    anomalies: usize,
    notes: usize,
}

#[derive(Serialize)]
struct Report<'a> {
    ok: bool,
    partitions: Vec<PartitionJson<'a>>,
    summary: &'a Summary,
}

pub fn run(args: ProducersArgs) -> anyhow::Result<ExitCode> {
    let Some(partitions) = super::common::partitions(&args.paths, args.read.base_offset, false, args.quiet) else {
        return Ok(ExitCode::from(exit::ERROR));
    };
    let opts = producers::Options { txn_timeout_ms: args.txn_timeout_ms };
    let pool = args.read.pool()?;
    let work: Vec<(usize, usize)> =
        partitions.iter().enumerate().flat_map(|(p, part)| (0..part.segments.len()).map(move |s| (p, s))).collect();
    // Segments are scanned in parallel a few at a time and consumed in
    // order, so memory holds the scans of one chunk only.
    let chunk = pool.current_num_threads() * 2;
    let mut reports: Vec<PartitionReport> = Vec::new();
    let mut analyzer: Option<Analyzer> = None;
    // The highest offset read so far in the partition being read.
    let mut last_read: Option<i64> = None;
    for window in work.chunks(chunk.max(1)) {
        let (max, mmap) = (args.read.max_decompressed, !args.read.no_mmap);
        let scans: Vec<_> = pool.install(|| {
            window
                .par_iter()
                .map(|&(p, s)| {
                    let log = &partitions[p].segments[s].log;
                    let mut src = match LogSource::open(log, mmap) {
                        Ok(src) => src,
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                            return Ok((None, Some(Change::Vanished)));
                        }
                        Err(e) => return Err(e),
                    };
                    let scan = producers::scan_segment(&mut src, max);
                    match (scan, src.change(log)) {
                        (Ok(scan), change) => Ok((Some(scan), change)),
                        // A read that failed because the file shrank.
                        (Err(_), Some(change)) => Ok((None, Some(change))),
                        (Err(e), None) => Err(e),
                    }
                })
                .collect()
        });
        for (&(p, s), scan) in window.iter().zip(scans) {
            let part = &partitions[p];
            let seg = &part.segments[s];
            if s == 0 {
                last_read = None;
            }
            let (scan, change) = match scan {
                Ok((scan, change)) => {
                    let mut scan = scan.unwrap_or_default();
                    match change {
                        Some(Change::Vanished) if !args.quiet => super::common::note_vanished(&seg.log),
                        Some(c) if !args.quiet => super::common::warn_changed(&seg.log, c),
                        _ => {}
                    }
                    // What a truncation cut off or zeroed is not damage.
                    if change.is_some_and(Change::spoils_reading) {
                        scan.damaged = 0;
                    }
                    (scan, change)
                }
                Err(e) => {
                    say!("kseg: {}: {e}", seg.log.display());
                    return Ok(ExitCode::from(exit::ERROR));
                }
            };
            let stale = read_again(part, s, change, last_read, scan.first_offset);
            if let Some(last) = scan.last_offset {
                last_read = Some(last_read.map_or(last, |b| b.max(last)));
            }
            // Kafka creates a segment's `.txnindex` with its first entry, just
            // after the ABORT marker is in the log: on a live broker one can
            // appear after the directory was listed and before the scan read
            // that marker. It is looked for again, after the scan.
            let late = seg.txnindex.is_none().then(|| seg.log.with_extension("txnindex"));
            let txnindex_path = seg.txnindex.clone().or(late.filter(|p| p != &seg.log && p.is_file()));
            let mut gone = false;
            let txnindex = match txnindex_path.as_deref().map(Mapped::open).transpose() {
                Ok(map) => map,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    // Listed, then removed with its segment by retention.
                    if let Some(p) = &txnindex_path
                        && !args.quiet
                    {
                        super::common::note_vanished(p);
                    }
                    gone = true;
                    None
                }
                Err(e) => {
                    say!("kseg: {}: {e}", seg.log.display());
                    return Ok(ExitCode::from(exit::ERROR));
                }
            };
            let a = analyzer.get_or_insert_with(|| Analyzer::new(opts));
            let seg = &kseg::files::partition::Segment { txnindex: txnindex_path.clone(), ..seg.clone() };
            if stale {
                if !args.quiet {
                    say!(
                        "kseg: warning: {}: removed or replaced since the partition was listed (the broker's cleaner): \
                         its offsets from {} were already read in the segment before it; not read again",
                        seg.log.display(),
                        scan.first_offset.unwrap_or_default()
                    );
                }
            } else if gone {
                a.segment_txnindex_gone(seg, &scan);
            } else {
                a.segment(seg, &scan, TxnIndex::new(txnindex.as_ref().map_or(&[], AsRef::as_ref)));
            }
            if s + 1 == part.segments.len() {
                // Only a partition directory read whole has the snapshot
                // that describes the log read.
                let dir = part.dir.as_deref().filter(|_| !args.no_snapshot);
                let newest = match dir.map(read_newest_snapshot).transpose() {
                    Ok(newest) => newest.flatten(),
                    Err(e) => {
                        say!("kseg: {}: {e}", part.name().display());
                        return Ok(ExitCode::from(exit::ERROR));
                    }
                };
                let snapshot = newest.as_ref().map(|(path, offset, bytes)| SnapshotFile {
                    path: path.clone(),
                    offset: *offset,
                    snapshot: kseg::format::snapshot::parse(bytes.as_ref()),
                });
                reports.push(analyzer.take().expect("set above").finish(snapshot));
            }
        }
    }

    let mut summary = Summary { partitions: partitions.len(), segments: work.len(), ..Summary::default() };
    for r in &reports {
        summary.producers += r.producers.len();
        for p in &r.producers {
            summary.committed += p.committed.count;
            summary.aborted += p.aborted.count;
            summary.open += u64::from(p.open.is_some());
        }
        summary.anomalies += r.anomalies().count();
        summary.notes += r.notes().count();
    }
    let failed = summary.anomalies > 0;
    let code = if failed { exit::FINDINGS } else { exit::OK };
    let written = (|| -> anyhow::Result<()> {
        if args.quiet {
            return Ok(());
        }
        let mut out = super::stdout();
        match args.format {
            ProducersFormat::Json => {
                let parts = partitions
                    .iter()
                    .zip(&reports)
                    .map(|(part, r)| PartitionJson {
                        path: part.name(),
                        segments: r.segments,
                        first_offset: r.first_offset,
                        log_end_offset: r.log_end_offset,
                        last_stable_offset: r.last_stable_offset,
                        max_timestamp: r.max_timestamp_ms.and_then(rfc3339),
                        missing_offsets: r.missing_offsets,
                        compacted: r.compacted,
                        txnindex_files: r.txnindex_files,
                        txnindex_entries: r.txnindex_entries,
                        snapshot: &r.snapshot,
                        producers: r
                            .producers
                            .iter()
                            .map(|p| ProducerOut {
                                producer: p,
                                first_time: rfc3339(p.first_time_ms),
                                last_time: rfc3339(p.last_time_ms),
                            })
                            .collect(),
                        anomalies: r.anomalies().collect(),
                        notes: r.notes().collect(),
                    })
                    .collect();
                serde_json::to_writer_pretty(&mut out, &Report { ok: !failed, partitions: parts, summary: &summary })?;
                writeln!(out)?;
            }
            ProducersFormat::Table => {
                for (part, r) in partitions.iter().zip(&reports) {
                    write_partition(&mut out, &part.name(), r)?;
                }
                use crate::output::count;
                writeln!(
                    out,
                    "{}, {}, {}; transactions: {} committed, {} aborted, {} open: {}, {}",
                    count(summary.partitions, "partition"),
                    count(summary.segments, "segment"),
                    count(summary.producers, "producer"),
                    summary.committed,
                    summary.aborted,
                    summary.open,
                    count(summary.anomalies, "anomaly"),
                    count(summary.notes, "note")
                )?;
            }
        }
        out.flush()?;
        Ok(())
    })();
    super::common::verdict_after_writing(written, code)
}

/// Whether segment `s` of `part`, whose first offset is `first`, holds
/// batches already read from the segments before it (up to offset
/// `before`) because the broker's cleaner changed them while they were read:
/// it merges segments into the first of them and deletes the others, so a
/// reader that got the merged segment and then one it replaced reads the
/// same batches twice. Offsets at or below those read before, where this
/// segment (`change`, or since the listing) or the one before it changed,
/// are that, not duplicates a producer wrote; the segment is passed over
/// (verify's overlap check makes the same exception).
fn read_again(
    part: &kseg::files::logdir::Partition,
    s: usize,
    change: Option<Change>,
    before: Option<i64>,
    first: Option<i64>,
) -> bool {
    let moved = change.is_some()
        || part.segments[s].changed_since_listing()
        || s.checked_sub(1).is_some_and(|prev| part.segments[prev].changed_since_listing());
    moved && matches!((before, first), (Some(before), Some(first)) if first <= before)
}

/// The newest producer snapshot of a partition directory: its path, its
/// offset and its bytes (mapped: a file of any size costs no allocation).
fn read_newest_snapshot(dir: &Path) -> std::io::Result<Option<(PathBuf, i64, Mapped)>> {
    let newest = match partition::newest_snapshot(dir) {
        Ok(newest) => newest,
        // The directory renamed away after the listing (a deleted topic):
        // its segments were noted as removed; it has no snapshot to compare.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let Some((path, offset)) = newest else { return Ok(None) };
    // The broker deletes old snapshots as the log start moves: one listed
    // but gone is no snapshot, as it would be a moment later.
    let bytes = match Mapped::open(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(Some((path, offset, bytes)))
}

fn opt(v: Option<i64>) -> String {
    v.map_or("-".into(), |v| v.to_string())
}

fn clip(s: String, max: usize) -> String {
    if s.chars().count() <= max {
        return s;
    }
    let mut t: String = s.chars().take(max - 1).collect();
    t.push('…');
    t
}

fn write_partition(out: &mut dyn Write, name: &Path, r: &PartitionReport) -> std::io::Result<()> {
    writeln!(
        out,
        "== {}: offsets {}..{} (log end offset {}, last stable offset {}), {} producers{}",
        crate::output::cell::terminal_line(&name.display().to_string()),
        opt(r.first_offset),
        opt(r.log_end_offset.map(|e| e - 1)),
        opt(r.log_end_offset),
        opt(r.last_stable_offset),
        r.producers.len(),
        if r.compacted { format!(", compacted ({} offsets missing)", r.missing_offsets) } else { String::new() }
    )?;
    if !r.producers.is_empty() {
        let mut t = Table::new();
        t.load_style(presets::UTF8_FULL_CONDENSED);
        // The broker's view first (what describeProducers reports), then the log's.
        t.set_header([
            "producer",
            "epoch",
            "epochs",
            "last seq",
            "last timestamp",
            "coord epoch",
            "txn start",
            "sequences",
            "offsets",
            "first time",
            "batches",
            "records",
            "txns c/a/open",
            "anomalies",
        ]);
        let right = |s: String| Cell::new(s).set_alignment(CellAlignment::Right);
        for p in &r.producers {
            let seqs = p
                .epochs
                .iter()
                .filter(|e| !e.sequences.is_empty())
                .map(|e| {
                    let ranges: Vec<String> = e.sequences.iter().map(|s| format!("{}..{}", s.first, s.last)).collect();
                    format!("e{}: {}", e.epoch, ranges.join(" "))
                })
                .collect::<Vec<_>>()
                .join("; ");
            let txns = if p.transactional {
                format!("{}/{}/{}", p.committed.count, p.aborted.count, u8::from(p.open.is_some()))
            } else {
                "-".into()
            };
            t.add_row(vec![
                right(p.producer_id.to_string()),
                right(p.epoch.to_string()),
                right(p.epochs.len().to_string()),
                right(p.last_sequence.to_string()),
                Cell::new(rfc3339(p.last_timestamp).unwrap_or_else(|| p.last_timestamp.to_string())),
                right(opt(p.coordinator_epoch.map(i64::from))),
                right(opt(p.current_txn_start_offset)),
                Cell::new(clip(if seqs.is_empty() { "-".into() } else { seqs }, 40)),
                Cell::new(format!("{}..{}", p.first_offset, p.last_offset)),
                Cell::new(rfc3339(p.first_time_ms).unwrap_or_else(|| "-".into())),
                right(p.batches.to_string()),
                right(p.records.to_string()),
                Cell::new(txns),
                right(p.anomalies.to_string()),
            ]);
        }
        writeln!(out, "{t}")?;
    }
    if r.txnindex_files > 0 {
        let (files, entries) = (r.txnindex_files, r.txnindex_entries);
        writeln!(
            out,
            "txnindex   {}, {}",
            crate::output::count(files, "file"),
            crate::output::count(entries, "entry")
        )?;
    }
    if let Some(s) = &r.snapshot {
        writeln!(
            out,
            "snapshot   {} (log end offset {}): {} producers, {} compared, {} matching; {} wrote later, {} only in the snapshot, {} only in the log",
            s.file.file_name().map(|n| n.to_string_lossy()).unwrap_or_default(),
            s.offset,
            s.entries,
            s.compared,
            s.matching,
            s.skipped_later,
            s.only_in_snapshot,
            s.only_in_log
        )?;
    }
    for f in &r.findings {
        let sev = match f.severity {
            Severity::Anomaly => "anomaly",
            Severity::Note => "note",
        };
        let mut at = String::new();
        if let Some(p) = f.producer_id {
            at.push_str(&format!(" producer {p}"));
        }
        if let Some(e) = f.epoch {
            at.push_str(&format!(" epoch {e}"));
        }
        match (f.first_offset, f.last_offset) {
            (Some(a), Some(b)) if a != b => at.push_str(&format!(" offsets {a}..{b}")),
            (Some(a), _) | (None, Some(a)) => at.push_str(&format!(" offset {a}")),
            _ => {}
        }
        if let (Some(file), Some(pos)) = (&f.file, f.position) {
            at.push_str(&format!(" ({}@{pos})", file.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()));
        } else if let Some(file) = &f.file {
            at.push_str(&format!(" ({})", file.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()));
        }
        writeln!(out, "{sev}:{at}: {}: {}", f.kind, f.message)?;
    }
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A log directory of one partition with demo-0's first two segments
    /// (offsets 0..39 and 40..94), listed.
    fn listed() -> (tempfile::TempDir, kseg::files::logdir::Partition) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("demo-0");
        std::fs::create_dir(&dir).unwrap();
        let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/corrupt/clean_demo/demo-0");
        for name in ["00000000000000000000.log", "00000000000000000040.log"] {
            std::fs::copy(demo.join(name), dir.join(name)).unwrap();
        }
        let found = kseg::files::logdir::partitions(&[dir], false).unwrap();
        (tmp, found.partitions.into_iter().next().unwrap())
    }

    #[test]
    fn offsets_read_before_are_read_again_only_where_a_segment_moved() {
        let (tmp, part) = listed();
        // Nothing moved: a segment that repeats offsets is the data's
        // (a producer's duplicates, or damage), analysed as it is.
        assert!(!read_again(&part, 1, None, Some(60), Some(40)));
        // The cleaner swapped the first segment in after the listing (a
        // merged copy that holds the second's offsets too).
        let first = tmp.path().join("demo-0/00000000000000000000.log");
        std::fs::copy(&first, tmp.path().join("swap")).unwrap();
        std::fs::rename(tmp.path().join("swap"), &first).unwrap();
        assert!(read_again(&part, 1, None, Some(60), Some(40)));
        // ... but offsets above those read before are new.
        assert!(!read_again(&part, 1, None, Some(39), Some(40)));
        // This segment removed while being read.
        let (_tmp, part) = listed();
        assert!(read_again(&part, 1, Some(Change::Removed { before: 1 }), Some(60), Some(40)));
        assert!(!read_again(&part, 0, None, None, Some(0)));
    }

    /// A partition directory renamed away by a live broker (a deleted topic)
    /// after it was listed: no snapshot, not an error naming no file.
    #[test]
    fn a_partition_directory_gone_has_no_snapshot() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(read_newest_snapshot(&tmp.path().join("orders-0")).unwrap().is_none());
    }
}
