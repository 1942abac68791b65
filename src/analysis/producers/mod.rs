//! Producer state over a partition: for each producer id its epochs, the
//! sequence ranges it wrote, its transactions, and anomalies that point at
//! lost or duplicated data, cross-checked against the partition's
//! `.txnindex` files and newest producer `.snapshot`.
//!
//! Only batch headers are read (and the one record of each control batch),
//! so a scan costs little more than touching each batch's first bytes.
//! Segments are scanned in parallel into [`SegmentScan`]s that hold one
//! small [`ProducerBatch`] per idempotent batch; an [`Analyzer`] then consumes them
//! in offset order, keeping only per-producer state.
//!
//! Nothing here opens a file: the caller hands over each segment's `.log` as
//! a [`Source`] (see `files::log::LogSource`), the bytes of its `.txnindex`,
//! and the parsed newest `.snapshot` (see `files::partition::newest_snapshot`),
//! so the same analysis runs over files, maps or bytes in memory.
//!
//! Rules (see docs/stats.md):
//! * a v2 batch's last sequence is `baseSequence + lastOffsetDelta`, wrapping
//!   from `i32::MAX` to 0; sequences restart at 0 when the epoch changes;
//!   batches with producer id -1 or base sequence -1 are not idempotent;
//! * a sequence gap is *explained* (a note, not an anomaly) when at least as
//!   many offsets are missing between the producer's two batches: the log
//!   cleaner removed whole batches (a compacted topic). Otherwise it is loss;
//! * a batch whose sequences were already written in the same epoch is a
//!   duplicate; a batch whose epoch is below the producer's highest is a
//!   fenced writer (that epoch was seen before) or an epoch going backwards;
//! * transactional data opens a transaction that its producer's COMMIT or
//!   ABORT marker closes; one still open at the end holds back the last
//!   stable offset, and is hanging when it began `txn_timeout_ms` or more
//!   before the partition's newest timestamp.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::files::partition::Segment;
use crate::format::batch::BatchV2;
use crate::format::control::ControlValue;
use crate::format::entry::Decoder;
use crate::format::head::EntryHead;
use crate::format::snapshot::Snapshot;
use crate::format::txnindex::{AbortedTxn, TxnIndex};
use crate::format::walk::{Source, Step, Walker};

/// Sequence numbers live in 0..=i32::MAX and wrap to 0.
const SEQ_SPACE: i64 = 1 << 31;

/// The broker's default `transaction.max.timeout.ms`: no transaction may
/// stay open longer.
pub const DEFAULT_TXN_TIMEOUT_MS: i64 = 15 * 60 * 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchRole {
    Data,
    TxnData,
    Commit {
        coordinator_epoch: i32,
    },
    Abort {
        coordinator_epoch: i32,
    },
    /// Another control type, or a marker whose record does not parse.
    OtherControl,
}

/// What the producer analysis needs of one v2 batch with a producer id.
#[derive(Clone, Copy, Debug)]
pub struct ProducerBatch {
    pub position: u64,
    pub base_offset: i64,
    pub last_offset: i64,
    pub producer_id: i64,
    pub epoch: i16,
    pub base_sequence: i32,
    pub last_offset_delta: i32,
    pub records: i32,
    pub size: u32,
    pub max_timestamp: i64,
    pub kind: BatchRole,
    /// Offsets missing between batches in this segment up to this batch
    /// (the hole right before it included).
    pub missing_before: u64,
}

/// One segment read for the producer analysis.
#[derive(Debug, Default)]
pub struct SegmentScan {
    pub batches: Vec<ProducerBatch>,
    pub first_offset: Option<i64>,
    pub last_offset: Option<i64>,
    /// Offsets missing between batches, and inside batches (records removed).
    pub missing_between: u64,
    pub missing_within: u64,
    pub max_timestamp: Option<i64>,
    /// Entries that could not be read (bad size, header, too large).
    pub damaged: u64,
}

/// Read the batch headers of one `.log` file from `src`. Only the header
/// bytes are asked for (and a control batch's first record), so through a
/// sliding map ([`crate::files::log::LogSource`]) only their pages are
/// touched, and memory does not grow with the segment.
pub fn scan_segment<S: Source>(src: S, max_decompressed: usize) -> io::Result<SegmentScan> {
    let mut walker = Walker::new(src);
    let mut scan = SegmentScan::default();
    let mut scratch = Vec::new();
    let mut decoder: Option<Decoder> = None;
    while let Some(step) = walker.next_step()? {
        let (position, bytes) = match step {
            Step::Entry { position, bytes } => (position, bytes),
            Step::ZeroFill { .. } | Step::Trailing { .. } => continue,
            Step::TooLarge { .. } | Step::Corrupt(_) => {
                scan.damaged += 1;
                continue;
            }
        };
        let (base, last, max_ts, producer_batch) = if EntryHead::new(bytes).magic() == Some(2) {
            let Ok(b) = BatchV2::parse(bytes, position) else {
                scan.damaged += 1;
                continue;
            };
            let h = b.header;
            let span = i64::from(h.last_offset_delta) + 1;
            if span > i64::from(h.records_count) && h.records_count >= 0 {
                scan.missing_within = scan.missing_within.saturating_add((span - i64::from(h.records_count)) as u64);
            }
            let producer_batch = (h.producer_id >= 0).then(|| {
                let kind = if h.is_control() {
                    control_kind(&b, &mut scratch, max_decompressed)
                } else if h.is_transactional() {
                    BatchRole::TxnData
                } else {
                    BatchRole::Data
                };
                ProducerBatch {
                    position,
                    base_offset: h.base_offset,
                    last_offset: h.last_offset(),
                    producer_id: h.producer_id,
                    epoch: h.producer_epoch,
                    base_sequence: h.base_sequence,
                    last_offset_delta: h.last_offset_delta,
                    records: h.records_count,
                    size: bytes.len() as u32,
                    max_timestamp: h.max_timestamp,
                    kind,
                    missing_before: 0,
                }
            });
            (h.base_offset, h.last_offset(), h.max_timestamp, producer_batch)
        } else {
            let dec = decoder.get_or_insert_with(|| Decoder::new(max_decompressed));
            match dec.decode(bytes, position) {
                Ok(d) => (d.info.base_offset, d.info.last_offset, d.info.max_timestamp, None),
                Err(_) => {
                    scan.damaged += 1;
                    continue;
                }
            }
        };
        if let Some(prev) = scan.last_offset
            && base > prev.saturating_add(1)
        {
            scan.missing_between = scan.missing_between.saturating_add(base.abs_diff(prev) - 1);
        }
        scan.first_offset.get_or_insert(base);
        scan.last_offset = Some(scan.last_offset.map_or(last, |p| p.max(last)));
        if max_ts >= 0 {
            scan.max_timestamp = Some(scan.max_timestamp.map_or(max_ts, |m| m.max(max_ts)));
        }
        if let Some(mut p) = producer_batch {
            p.missing_before = scan.missing_between;
            scan.batches.push(p);
        }
    }
    Ok(scan)
}

/// Read the batch headers of a `.log` file's bytes.
pub fn scan_bytes(data: &[u8], max_decompressed: usize) -> io::Result<SegmentScan> {
    scan_segment(data, max_decompressed)
}

fn control_kind(b: &BatchV2<'_>, scratch: &mut Vec<u8>, max: usize) -> BatchRole {
    let Ok(mut records) = b.records(scratch, max) else { return BatchRole::OtherControl };
    match records.next() {
        Some(Ok(r)) => match r.control {
            Some(c) => match (c.type_id, c.value) {
                (0, ControlValue::EndTxn { coordinator_epoch, .. }) => BatchRole::Abort { coordinator_epoch },
                (1, ControlValue::EndTxn { coordinator_epoch, .. }) => BatchRole::Commit { coordinator_epoch },
                _ => BatchRole::OtherControl,
            },
            None => BatchRole::OtherControl,
        },
        _ => BatchRole::OtherControl,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Explained, or worth knowing: does not change the exit status.
    Note,
    Anomaly,
}

/// One finding, with the offsets it concerns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub kind: &'static str,
    pub severity: Severity,
    pub producer_id: Option<i64>,
    pub epoch: Option<i16>,
    pub first_offset: Option<i64>,
    pub last_offset: Option<i64>,
    /// The file the finding is about (a `.log`, `.txnindex` or `.snapshot`).
    pub file: Option<PathBuf>,
    /// Byte position in `file` (a batch, or a `.txnindex` entry).
    pub position: Option<u64>,
    pub message: String,
}

/// A contiguous run of sequence numbers a producer wrote in one epoch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SeqRange {
    pub first: i32,
    pub last: i32,
    pub first_offset: i64,
    pub last_offset: i64,
    pub batches: u64,
    /// Sequences counted without wrapping, for overlap tests.
    #[serde(skip)]
    first_ext: i64,
    #[serde(skip)]
    last_ext: i64,
}

/// A producer's batches in one epoch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EpochRun {
    pub epoch: i16,
    pub first_offset: i64,
    pub last_offset: i64,
    pub batches: u64,
    pub records: u64,
    pub sequences: Vec<SeqRange>,
    /// The next sequence expected, unwrapped; none before the first
    /// sequenced batch of the epoch.
    #[serde(skip)]
    next_ext: Option<i64>,
    /// Whether the epoch began in the log we read (then its first sequence must be 0).
    #[serde(skip)]
    began_here: bool,
    /// Offsets missing in the partition up to the epoch's last sequenced batch.
    #[serde(skip)]
    missing_at_last: u64,
    #[serde(skip)]
    last_sequenced_offset: i64,
}

/// Totals of finished transactions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TxnTotals {
    pub count: u64,
    /// Transactions whose marker came with no data before it.
    pub empty: u64,
    pub batches: u64,
    pub records: u64,
    pub bytes: u64,
    /// The longest, from its first data batch's max timestamp to its marker's.
    pub longest_ms: i64,
}

/// A transaction with data and no marker yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct OpenTxn {
    pub first_offset: i64,
    pub last_offset: i64,
    pub first_time_ms: i64,
    pub last_time_ms: i64,
    pub batches: u64,
    pub records: u64,
    pub bytes: u64,
}

/// Everything known about one producer id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Producer {
    pub producer_id: i64,
    /// Batches are data and control batches; records are data records only.
    pub epochs: Vec<EpochRun>,
    pub first_offset: i64,
    pub last_offset: i64,
    pub first_time_ms: i64,
    pub last_time_ms: i64,
    pub batches: u64,
    pub records: u64,
    pub bytes: u64,
    pub transactional: bool,
    pub committed: TxnTotals,
    pub aborted: TxnTotals,
    pub open: Option<OpenTxn>,
    /// Epoch of the producer's last batch (data or marker).
    pub epoch: i16,
    /// Its last data batch in that epoch: (last sequence, last offset, offset delta).
    pub last_data: Option<(i32, i64, i32)>,
    pub coordinator_epoch: Option<i32>,
    pub anomalies: u64,
    #[serde(skip)]
    max_epoch: i16,
    #[serde(skip)]
    last_data_epoch: i16,
    #[serde(skip)]
    missing_at_last: u64,
    /// Index in the findings of the fenced/backwards run going on.
    #[serde(skip)]
    run: Option<usize>,
}

#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub txn_timeout_ms: i64,
}

impl Default for Options {
    fn default() -> Self {
        Options { txn_timeout_ms: DEFAULT_TXN_TIMEOUT_MS }
    }
}

/// A producer snapshot to compare with the log: the caller reads the
/// newest `.snapshot` of the partition directory and parses it.
#[derive(Clone, Debug)]
pub struct SnapshotFile<'a> {
    pub path: PathBuf,
    /// The log end offset when it was taken (from its name).
    pub offset: i64,
    pub snapshot: Snapshot<'a>,
}

/// How the newest snapshot compared with the log.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SnapshotCheck {
    pub file: PathBuf,
    /// The log end offset when it was taken (from its name).
    pub offset: i64,
    pub entries: u64,
    /// Producers whose last batch is before `offset`, compared field by field.
    pub compared: u64,
    pub matching: u64,
    /// Producers that wrote at or after `offset` (the snapshot predates them).
    pub skipped_later: u64,
    /// Producers in the snapshot but not in the log (retention removed them).
    pub only_in_snapshot: u64,
    /// Producers in the log before `offset` but not in the snapshot (expired).
    pub only_in_log: u64,
}

/// The result for one partition.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PartitionReport {
    pub segments: usize,
    pub first_offset: Option<i64>,
    /// One past the last offset.
    pub log_end_offset: Option<i64>,
    /// First offset of the earliest open transaction, else the log end offset.
    pub last_stable_offset: Option<i64>,
    pub max_timestamp_ms: Option<i64>,
    pub missing_offsets: u64,
    /// Offsets are missing (between or inside batches): the cleaner compacted this log.
    pub compacted: bool,
    pub txnindex_files: u64,
    pub txnindex_entries: u64,
    pub snapshot: Option<SnapshotCheck>,
    pub producers: Vec<Producer>,
    pub findings: Vec<Finding>,
}

impl PartitionReport {
    pub fn anomalies(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.severity == Severity::Anomaly)
    }
    pub fn notes(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.severity == Severity::Note)
    }
}

/// Consumes segment scans of one partition in offset order.
pub struct Analyzer {
    opts: Options,
    producers: BTreeMap<i64, Producer>,
    /// (first offset, producer id) of every open transaction.
    open: BTreeSet<(i64, i64)>,
    missing: u64,
    missing_within: u64,
    first_offset: Option<i64>,
    last_offset: Option<i64>,
    max_ts: Option<i64>,
    segments: usize,
    txnindex_files: u64,
    txnindex_entries: u64,
    findings: Vec<Finding>,
    damaged: u64,
}

fn finding(kind: &'static str, severity: Severity, message: String) -> Finding {
    Finding {
        kind,
        severity,
        producer_id: None,
        epoch: None,
        first_offset: None,
        last_offset: None,
        file: None,
        position: None,
        message,
    }
}

fn seq_of(ext: i64) -> i32 {
    ext.rem_euclid(SEQ_SPACE) as i32
}

/// The txnindex of one segment, walked alongside its ABORT markers.
struct TxnCursor<'a> {
    path: Option<&'a Path>,
    idx: TxnIndex<'a>,
    next: usize,
}

impl Analyzer {
    pub fn new(opts: Options) -> Self {
        Analyzer {
            opts,
            producers: BTreeMap::new(),
            open: BTreeSet::new(),
            missing: 0,
            missing_within: 0,
            first_offset: None,
            last_offset: None,
            max_ts: None,
            segments: 0,
            txnindex_files: 0,
            txnindex_entries: 0,
            findings: Vec::new(),
            damaged: 0,
        }
    }

    fn push(&mut self, f: Finding) -> usize {
        if f.severity == Severity::Anomaly
            && let Some(p) = f.producer_id.and_then(|id| self.producers.get_mut(&id))
        {
            p.anomalies += 1;
        }
        self.findings.push(f);
        self.findings.len() - 1
    }

    /// Take in the next segment (in base-offset order), its scan, and the
    /// bytes of its `.txnindex` (empty when `seg` has none).
    pub fn segment(&mut self, seg: &Segment, scan: &SegmentScan, txnindex: TxnIndex<'_>) {
        self.segments += 1;
        if let (Some(prev), Some(first)) = (self.last_offset, scan.first_offset)
            && first > prev.saturating_add(1)
        {
            self.missing = self.missing.saturating_add(first.abs_diff(prev) - 1);
        }
        let base_missing = self.missing;
        if let Some(f) = scan.first_offset {
            self.first_offset.get_or_insert(f);
        }
        if scan.damaged > 0 {
            self.damaged += scan.damaged;
            let mut f = finding(
                "unreadable_data",
                Severity::Note,
                format!(
                    "{} entries could not be read; producer state may be incomplete (run kseg verify)",
                    scan.damaged
                ),
            );
            f.file = Some(seg.log.clone());
            self.push(f);
        }
        if seg.txnindex.is_some() {
            self.txnindex_files += 1;
        }
        let mut cursor = TxnCursor { path: seg.txnindex.as_deref(), idx: txnindex, next: 0 };
        self.txnindex_entries += cursor.idx.len() as u64;
        let compacted_here = scan.missing_between > 0 || scan.missing_within > 0;
        for b in &scan.batches {
            let mut b = *b;
            b.missing_before = b.missing_before.saturating_add(base_missing);
            self.batch(&b, seg, &mut cursor, compacted_here);
        }
        // Entries after the last ABORT marker of the segment.
        while let Some(e) = cursor.idx.get(cursor.next) {
            let at = (cursor.next * crate::format::txnindex::ENTRY) as u64;
            cursor.next += 1;
            self.txnindex_extra(&cursor, at, e, compacted_here);
        }
        self.missing = base_missing.saturating_add(scan.missing_between);
        self.missing_within = self.missing_within.saturating_add(scan.missing_within);
        if let Some(l) = scan.last_offset {
            self.last_offset = Some(self.last_offset.map_or(l, |p| p.max(l)));
        }
        if let Some(t) = scan.max_timestamp {
            self.max_ts = Some(self.max_ts.map_or(t, |m| m.max(t)));
        }
    }

    fn txnindex_extra(&mut self, cursor: &TxnCursor<'_>, at: u64, e: AbortedTxn, compacted: bool) {
        let (severity, why) = if compacted {
            (Severity::Note, "; offsets were removed from this segment, so the cleaner may have removed the marker")
        } else {
            (Severity::Anomaly, "")
        };
        let mut f = finding(
            "txnindex_extra",
            severity,
            format!(
                "the .txnindex lists an aborted transaction {}..{} of producer {} with no ABORT marker at offset {}{why}",
                e.first_offset, e.last_offset, e.producer_id, e.last_offset
            ),
        );
        f.producer_id = Some(e.producer_id);
        f.first_offset = Some(e.first_offset);
        f.last_offset = Some(e.last_offset);
        f.file = cursor.path.map(Path::to_path_buf);
        f.position = Some(at);
        self.push(f);
    }

    fn batch(&mut self, b: &ProducerBatch, seg: &Segment, cursor: &mut TxnCursor<'_>, compacted_here: bool) {
        let is_new = !self.producers.contains_key(&b.producer_id);
        if is_new {
            self.producers.insert(
                b.producer_id,
                Producer {
                    producer_id: b.producer_id,
                    epochs: Vec::new(),
                    first_offset: b.base_offset,
                    last_offset: b.last_offset,
                    first_time_ms: b.max_timestamp,
                    last_time_ms: b.max_timestamp,
                    batches: 0,
                    records: 0,
                    bytes: 0,
                    transactional: false,
                    committed: TxnTotals::default(),
                    aborted: TxnTotals::default(),
                    open: None,
                    epoch: b.epoch,
                    last_data: None,
                    coordinator_epoch: None,
                    anomalies: 0,
                    max_epoch: b.epoch,
                    last_data_epoch: b.epoch,
                    missing_at_last: b.missing_before,
                    run: None,
                },
            );
        }
        self.epoch_check(b, seg, is_new);
        let p = self.producers.get_mut(&b.producer_id).expect("inserted above");
        p.last_offset = b.last_offset;
        p.last_time_ms = b.max_timestamp;
        p.batches += 1;
        if matches!(b.kind, BatchRole::Data | BatchRole::TxnData) {
            p.records += b.records.max(0) as u64;
        }
        p.bytes += u64::from(b.size);
        p.epoch = b.epoch;
        match b.kind {
            BatchRole::Data | BatchRole::TxnData => {
                self.sequence(b, seg);
                if b.kind == BatchRole::TxnData {
                    self.txn_data(b);
                }
            }
            BatchRole::Commit { coordinator_epoch } | BatchRole::Abort { coordinator_epoch } => {
                self.marker(b, coordinator_epoch, seg, cursor, compacted_here);
            }
            BatchRole::OtherControl => {}
        }
        let p = self.producers.get_mut(&b.producer_id).expect("inserted above");
        p.missing_at_last = b.missing_before;
    }

    fn epoch_run<'p>(p: &'p mut Producer, epoch: i16, b: &ProducerBatch, began_here: bool) -> &'p mut EpochRun {
        let i = match p.epochs.iter().rposition(|r| r.epoch == epoch) {
            Some(i) => i,
            None => {
                p.epochs.push(EpochRun {
                    epoch,
                    first_offset: b.base_offset,
                    last_offset: b.last_offset,
                    batches: 0,
                    records: 0,
                    sequences: Vec::new(),
                    next_ext: None,
                    began_here,
                    missing_at_last: b.missing_before,
                    last_sequenced_offset: b.base_offset,
                });
                p.epochs.len() - 1
            }
        };
        &mut p.epochs[i]
    }

    fn epoch_check(&mut self, b: &ProducerBatch, seg: &Segment, is_new: bool) {
        let data_records =
            if matches!(b.kind, BatchRole::Data | BatchRole::TxnData) { b.records.max(0) as u64 } else { 0 };
        let p = self.producers.get_mut(&b.producer_id).expect("present");
        let below = !is_new && b.epoch < p.max_epoch;
        if !below {
            if b.epoch > p.max_epoch {
                p.max_epoch = b.epoch;
            }
            p.run = None;
            let began_here = !is_new;
            let r = Self::epoch_run(p, b.epoch, b, began_here);
            r.last_offset = b.last_offset;
            r.batches += 1;
            r.records += data_records;
            return;
        }
        let seen = p.epochs.iter().any(|r| r.epoch == b.epoch);
        let kind = if seen { "fenced_writer" } else { "epoch_backwards" };
        let max = p.max_epoch;
        let r = Self::epoch_run(p, b.epoch, b, false);
        r.last_offset = b.last_offset;
        r.batches += 1;
        r.records += data_records;
        // Extend the run of low-epoch batches going on, if it is this one.
        if let Some(i) = p.run {
            let f = &mut self.findings[i];
            if f.kind == kind && f.epoch == Some(b.epoch) {
                f.last_offset = Some(b.last_offset);
                f.message = low_epoch_message(kind, b.epoch, max, f.first_offset.unwrap_or(0), b.last_offset);
                return;
            }
        }
        let mut f =
            finding(kind, Severity::Anomaly, low_epoch_message(kind, b.epoch, max, b.base_offset, b.last_offset));
        f.producer_id = Some(b.producer_id);
        f.epoch = Some(b.epoch);
        f.first_offset = Some(b.base_offset);
        f.last_offset = Some(b.last_offset);
        f.file = Some(seg.log.clone());
        f.position = Some(b.position);
        let i = self.push(f);
        if let Some(p) = self.producers.get_mut(&b.producer_id) {
            p.run = Some(i);
        }
    }

    fn sequence(&mut self, b: &ProducerBatch, seg: &Segment) {
        let p = self.producers.get_mut(&b.producer_id).expect("present");
        if b.base_sequence < 0 {
            return;
        }
        let producer_missing = p.missing_at_last;
        let delta = i64::from(b.last_offset_delta.max(0));
        let base = i64::from(b.base_sequence);
        let r = Self::epoch_run(p, b.epoch, b, false);
        let mut found: Option<Finding> = None;
        let ext_base = match r.next_ext {
            None => {
                if r.began_here && base != 0 {
                    // The epoch began in this log, so its sequences start at 0.
                    let removed = b.missing_before.saturating_sub(producer_missing);
                    found = Some(gap_finding(b, 0, base, removed, r.first_offset, true));
                }
                base
            }
            Some(next) => {
                let d = (base - next).rem_euclid(SEQ_SPACE);
                if d == 0 {
                    next
                } else if d < SEQ_SPACE / 2 {
                    let removed = b.missing_before.saturating_sub(r.missing_at_last);
                    found = Some(gap_finding(b, next, next + d, removed, r.last_sequenced_offset, false));
                    next + d
                } else {
                    let eb = next - (SEQ_SPACE - d);
                    let el = eb + delta;
                    let orig = r.sequences.iter().find(|s| s.first_ext <= el && eb <= s.last_ext);
                    let where_ = orig.map_or(String::new(), |s| {
                        format!(" (already written at offsets {}..{})", s.first_offset, s.last_offset)
                    });
                    let mut f = finding(
                        "sequence_duplicate",
                        Severity::Anomaly,
                        format!(
                            "sequences {}..{} in epoch {} written again at offsets {}..{}{where_}; the next expected was {}",
                            seq_of(eb),
                            seq_of(el.min(next - 1)),
                            b.epoch,
                            b.base_offset,
                            b.last_offset,
                            seq_of(next)
                        ),
                    );
                    f.first_offset = Some(b.base_offset);
                    f.last_offset = Some(b.last_offset);
                    found = Some(f);
                    eb
                }
            }
        };
        let ext_last = ext_base + delta;
        let next = r.next_ext.unwrap_or(ext_base);
        match r.sequences.last_mut() {
            Some(s) if ext_base <= s.last_ext + 1 && ext_last > s.last_ext => {
                s.last_ext = ext_last;
                s.last = seq_of(ext_last);
                s.last_offset = b.last_offset;
                s.batches += 1;
            }
            Some(s) if ext_last <= s.last_ext && ext_base >= s.first_ext => {}
            _ if ext_last < next => {}
            _ => r.sequences.push(SeqRange {
                first: seq_of(ext_base),
                last: seq_of(ext_last),
                first_offset: b.base_offset,
                last_offset: b.last_offset,
                batches: 1,
                first_ext: ext_base,
                last_ext: ext_last,
            }),
        }
        r.next_ext = Some(r.next_ext.map_or(ext_last + 1, |n| n.max(ext_last + 1)));
        r.missing_at_last = b.missing_before;
        r.last_sequenced_offset = b.last_offset;
        p.last_data = Some((seq_of(ext_last), b.last_offset, b.last_offset_delta));
        p.last_data_epoch = b.epoch;
        if let Some(mut f) = found {
            f.producer_id = Some(b.producer_id);
            f.epoch = Some(b.epoch);
            f.file = Some(seg.log.clone());
            f.position = Some(b.position);
            self.push(f);
        }
    }

    fn txn_data(&mut self, b: &ProducerBatch) {
        let p = self.producers.get_mut(&b.producer_id).expect("present");
        p.transactional = true;
        match &mut p.open {
            Some(t) => {
                t.last_offset = b.last_offset;
                t.last_time_ms = b.max_timestamp;
                t.batches += 1;
                t.records += b.records.max(0) as u64;
                t.bytes += u64::from(b.size);
            }
            None => {
                p.open = Some(OpenTxn {
                    first_offset: b.base_offset,
                    last_offset: b.last_offset,
                    first_time_ms: b.max_timestamp,
                    last_time_ms: b.max_timestamp,
                    batches: 1,
                    records: b.records.max(0) as u64,
                    bytes: u64::from(b.size),
                });
                self.open.insert((b.base_offset, b.producer_id));
            }
        }
    }

    fn marker(
        &mut self,
        b: &ProducerBatch,
        coordinator_epoch: i32,
        seg: &Segment,
        cursor: &mut TxnCursor<'_>,
        compacted_here: bool,
    ) {
        let abort = matches!(b.kind, BatchRole::Abort { .. });
        let p = self.producers.get_mut(&b.producer_id).expect("present");
        p.transactional = true;
        p.coordinator_epoch = Some(coordinator_epoch);
        let txn = p.open.take();
        let totals = if abort { &mut p.aborted } else { &mut p.committed };
        totals.count += 1;
        match txn {
            Some(t) => {
                totals.batches += t.batches;
                totals.records += t.records;
                totals.bytes += t.bytes;
                totals.longest_ms = totals.longest_ms.max(b.max_timestamp.saturating_sub(t.first_time_ms));
                self.open.remove(&(t.first_offset, b.producer_id));
            }
            None => totals.empty += 1,
        }
        if !abort {
            return;
        }
        let first = txn.map_or(b.base_offset, |t| t.first_offset);
        let lso = self.open.first().map_or(b.base_offset.saturating_add(1), |&(o, _)| o);
        let expected = AbortedTxn {
            position: 0,
            version: 0,
            producer_id: b.producer_id,
            first_offset: first,
            last_offset: b.base_offset,
            last_stable_offset: lso,
        };
        // Entries before this marker have no marker of their own.
        while let Some(e) = cursor.idx.get(cursor.next)
            && e.last_offset < b.base_offset
        {
            let at = (cursor.next * crate::format::txnindex::ENTRY) as u64;
            cursor.next += 1;
            self.txnindex_extra(cursor, at, e, compacted_here);
        }
        let listed = cursor.idx.get(cursor.next).filter(|e| e.last_offset == b.base_offset);
        let mut f = match listed {
            None => {
                let where_ = match cursor.path {
                    Some(p) => format!("{} does not list it", p.display()),
                    None => "the segment has no .txnindex".to_string(),
                };
                finding(
                    "abort_missing_from_txnindex",
                    Severity::Anomaly,
                    format!(
                        "aborted transaction {first}..{} of producer {} (ABORT marker at {}): {where_}; a read_committed consumer would deliver its data",
                        b.base_offset, b.producer_id, b.base_offset
                    ),
                )
            }
            Some(e) => {
                let at = (cursor.next * crate::format::txnindex::ENTRY) as u64;
                cursor.next += 1;
                let mut diffs = Vec::new();
                if e.producer_id != expected.producer_id {
                    diffs.push(format!("producer id {} (the marker's is {})", e.producer_id, expected.producer_id));
                }
                // What lies before the first offset read (retention removed it, or
                // only later segments were given) cannot be checked.
                let start = self.first_offset.unwrap_or(i64::MIN);
                if e.first_offset != expected.first_offset
                    && !(e.first_offset < start && expected.first_offset >= start)
                {
                    diffs.push(format!("first offset {} (the log says {})", e.first_offset, expected.first_offset));
                }
                if e.last_stable_offset != expected.last_stable_offset
                    && !(e.last_stable_offset < start && expected.last_stable_offset >= start)
                {
                    diffs.push(format!(
                        "last stable offset {} (the log says {})",
                        e.last_stable_offset, expected.last_stable_offset
                    ));
                }
                if e.kafka_version() != 0 {
                    diffs.push(format!("version {} (Kafka writes 0)", e.version));
                }
                if diffs.is_empty() {
                    return;
                }
                let mut f = finding(
                    "txnindex_mismatch",
                    Severity::Anomaly,
                    format!("the .txnindex entry for the ABORT marker at {} says {}", b.base_offset, diffs.join(", ")),
                );
                f.file = cursor.path.map(Path::to_path_buf);
                f.position = Some(at);
                f
            }
        };
        f.producer_id = Some(b.producer_id);
        f.epoch = Some(b.epoch);
        f.first_offset = Some(first);
        f.last_offset = Some(b.base_offset);
        if f.file.is_none() {
            f.file = Some(seg.log.clone());
            f.position = Some(b.position);
        }
        self.push(f);
    }

    /// Open transactions, the check against `snapshot`, and the report.
    pub fn finish(mut self, snapshot: Option<SnapshotFile<'_>>) -> PartitionReport {
        let max_ts = self.max_ts;
        let log_end = self.last_offset.map(|o| o.saturating_add(1));
        let open: Vec<(i64, OpenTxn)> =
            self.producers.values().filter_map(|p| p.open.map(|t| (p.producer_id, t))).collect();
        for (pid, t) in open {
            let age = max_ts.map_or(0, |m| m.saturating_sub(t.first_time_ms));
            let hanging = age >= self.opts.txn_timeout_ms;
            let (kind, severity, what) = if hanging {
                ("hanging_transaction", Severity::Anomaly, "hanging")
            } else {
                ("open_transaction", Severity::Note, "open (in flight)")
            };
            let held = log_end.map_or(0, |e| e.saturating_sub(t.first_offset));
            let mut f = finding(
                kind,
                severity,
                format!(
                    "transaction {what} since offset {} ({} batches, {} records, {} bytes, {} ms of writes, begun {} ms before the partition's newest timestamp); it holds the last stable offset at {} ({held} offsets behind the log end)",
                    t.first_offset,
                    t.batches,
                    t.records,
                    t.bytes,
                    t.last_time_ms.saturating_sub(t.first_time_ms),
                    age,
                    t.first_offset
                ),
            );
            f.producer_id = Some(pid);
            f.epoch = self.producers.get(&pid).map(|p| p.epoch);
            f.first_offset = Some(t.first_offset);
            f.last_offset = Some(t.last_offset);
            self.push(f);
        }
        let snapshot = snapshot.map(|s| self.snapshot_check(s));
        let last_stable_offset = self.open.first().map(|&(o, _)| o).or(log_end);
        let mut findings = std::mem::take(&mut self.findings);
        findings.sort_by_key(|f| (f.first_offset.unwrap_or(i64::MAX), f.producer_id));
        PartitionReport {
            segments: self.segments,
            first_offset: self.first_offset,
            log_end_offset: log_end,
            last_stable_offset,
            max_timestamp_ms: max_ts,
            missing_offsets: self.missing.saturating_add(self.missing_within),
            compacted: self.missing.saturating_add(self.missing_within) > 0,
            txnindex_files: self.txnindex_files,
            txnindex_entries: self.txnindex_entries,
            snapshot,
            producers: self.producers.into_values().collect(),
            findings,
        }
    }

    fn snapshot_check(&mut self, file: SnapshotFile<'_>) -> SnapshotCheck {
        let SnapshotFile { path, offset, snapshot: snap } = file;
        let mut check = SnapshotCheck { file: path.clone(), offset, ..SnapshotCheck::default() };
        // A snapshot Kafka would reject (its version, framing or CRC; bytes
        // after the entries Kafka accepts) is not compared with the log.
        if let Some(issue) = snap.issues.iter().find(|i| i.kind != "snapshot_trailing_bytes") {
            let mut f = finding("snapshot_invalid", Severity::Anomaly, format!("cannot be used: {}", issue.message));
            f.file = Some(path);
            self.push(f);
            return check;
        }
        let log_end = self.last_offset.map(|o| o.saturating_add(1));
        if let Some(end) = log_end
            && offset > end
        {
            let mut f = finding(
                "snapshot_ahead",
                Severity::Note,
                format!(
                    "the snapshot was taken at offset {offset}, after the log end {end} (later segments are missing, or the log was truncated since)"
                ),
            );
            f.file = Some(path.clone());
            self.push(f);
        }
        let mut in_snapshot = BTreeSet::new();
        let total_missing = self.missing;
        let mut found = Vec::new();
        for e in snap.entries() {
            check.entries += 1;
            in_snapshot.insert(e.producer_id);
            let Some(p) = self.producers.get(&e.producer_id) else {
                check.only_in_snapshot += 1;
                continue;
            };
            if p.last_offset >= offset {
                check.skipped_later += 1;
                continue;
            }
            check.compared += 1;
            let (seq, last, delta) =
                if p.last_data_epoch == p.epoch { p.last_data.unwrap_or((-1, -1, 0)) } else { (-1, -1, 0) };
            let txn = p.open.map_or(-1, |t| t.first_offset);
            let mut diffs = Vec::new();
            if e.producer_epoch != p.epoch {
                diffs.push(format!("epoch {} (the log says {})", e.producer_epoch, p.epoch));
            }
            if e.last_sequence != seq {
                diffs.push(format!("last sequence {} (the log says {seq})", e.last_sequence));
            }
            if e.last_offset != last {
                diffs.push(format!("last offset {} (the log says {last})", e.last_offset));
            }
            if e.last_offset >= 0 && e.offset_delta != delta {
                diffs.push(format!("offset delta {} (the log says {delta})", e.offset_delta));
            }
            if e.current_txn_first_offset != txn {
                diffs.push(format!("open transaction at {} (the log says {txn})", e.current_txn_first_offset));
            }
            if let Some(ce) = p.coordinator_epoch
                && ce != e.coordinator_epoch
            {
                diffs.push(format!("coordinator epoch {} (the log says {ce})", e.coordinator_epoch));
            }
            if diffs.is_empty() {
                check.matching += 1;
                continue;
            }
            // The cleaner may have removed the batch the snapshot remembers.
            let removed_after = total_missing > p.missing_at_last && e.last_offset > p.last_offset;
            let (severity, why) = if removed_after {
                (
                    Severity::Note,
                    "; offsets were removed after the producer's last batch, so the cleaner may have removed the batch the snapshot remembers",
                )
            } else {
                (Severity::Anomaly, "")
            };
            let mut f = finding(
                "snapshot_mismatch",
                severity,
                format!("producer {} in the snapshot: {}{why}", e.producer_id, diffs.join(", ")),
            );
            f.producer_id = Some(e.producer_id);
            f.epoch = Some(e.producer_epoch);
            f.first_offset = Some(p.last_offset);
            f.last_offset = Some(p.last_offset);
            f.file = Some(path.clone());
            found.push(f);
        }
        for f in found {
            self.push(f);
        }
        check.only_in_log =
            self.producers.values().filter(|p| p.last_offset < offset && !in_snapshot.contains(&p.producer_id)).count()
                as u64;
        check
    }
}

fn low_epoch_message(kind: &str, epoch: i16, max: i16, first: i64, last: i64) -> String {
    if kind == "fenced_writer" {
        format!(
            "epoch {epoch} wrote offsets {first}..{last} after epoch {max} had taken over: a fenced producer (zombie) still writing"
        )
    } else {
        format!("epoch went back from {max} to {epoch} (never seen before) at offsets {first}..{last}")
    }
}

/// A gap of sequences `from_ext..to_ext - 1`, explained when at least that
/// many offsets were removed since the producer's previous batch.
fn gap_finding(
    b: &ProducerBatch,
    from_ext: i64,
    to_ext: i64,
    removed: u64,
    prev_offset: i64,
    new_epoch: bool,
) -> Finding {
    let k = (to_ext - from_ext) as u64;
    let what = if new_epoch {
        format!("epoch {} begins at sequence {} instead of 0", b.epoch, seq_of(to_ext))
    } else {
        format!(
            "sequences {}..{} of epoch {} are missing between offset {prev_offset} and offset {}",
            seq_of(from_ext),
            seq_of(to_ext - 1),
            b.epoch,
            b.base_offset
        )
    };
    let (severity, why) = if removed >= k {
        (Severity::Note, format!(" ({removed} offsets were removed in between: the log was compacted)"))
    } else if removed > 0 {
        (
            Severity::Anomaly,
            format!(" ({k} missing, only {removed} offsets removed in between: more than compaction explains)"),
        )
    } else {
        (Severity::Anomaly, format!(" ({k} missing with no offset removed in between: lost before the broker)"))
    };
    let mut f = finding("sequence_gap", severity, format!("{what}{why}"));
    f.first_offset = Some(prev_offset);
    f.last_offset = Some(b.base_offset);
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg() -> Segment {
        Segment {
            base_offset: 0,
            log: PathBuf::from("00000000000000000000.log"),
            index: None,
            timeindex: None,
            txnindex: None,
        }
    }

    fn data(pid: i64, epoch: i16, base: i64, n: i32, seq: i32) -> ProducerBatch {
        ProducerBatch {
            position: base as u64 * 100,
            base_offset: base,
            last_offset: base + i64::from(n) - 1,
            producer_id: pid,
            epoch,
            base_sequence: seq,
            last_offset_delta: n - 1,
            records: n,
            size: 100,
            max_timestamp: 1000 + base,
            kind: BatchRole::Data,
            missing_before: 0,
        }
    }

    fn run(batches: Vec<ProducerBatch>) -> PartitionReport {
        let last = batches.iter().map(|b| b.last_offset).max();
        let scan = SegmentScan {
            first_offset: batches.first().map(|b| b.base_offset),
            last_offset: last,
            max_timestamp: Some(5000),
            batches,
            ..SegmentScan::default()
        };
        let mut a = Analyzer::new(Options::default());
        a.segment(&seg(), &scan, TxnIndex::new(&[]));
        a.finish(None)
    }

    fn kinds(r: &PartitionReport) -> Vec<(&'static str, Severity)> {
        r.findings.iter().map(|f| (f.kind, f.severity)).collect()
    }

    #[test]
    fn in_order_sequences_make_one_range() {
        let r = run(vec![data(1, 0, 0, 5, 0), data(1, 0, 5, 5, 5), data(1, 0, 10, 3, 10)]);
        assert!(r.findings.is_empty(), "{:?}", r.findings);
        let s = &r.producers[0].epochs[0].sequences;
        assert_eq!((s.len(), s[0].first, s[0].last, s[0].batches), (1, 0, 12, 3));
    }

    #[test]
    fn gap_duplicate_and_wrap() {
        let r = run(vec![data(1, 0, 0, 5, 0), data(1, 0, 5, 5, 8)]);
        assert_eq!(kinds(&r), [("sequence_gap", Severity::Anomaly)]);
        assert_eq!((r.findings[0].first_offset, r.findings[0].last_offset), (Some(4), Some(5)));
        let r = run(vec![data(1, 0, 0, 5, 0), data(1, 0, 5, 5, 5), data(1, 0, 10, 5, 5)]);
        assert_eq!(kinds(&r), [("sequence_duplicate", Severity::Anomaly)]);
        assert_eq!((r.findings[0].first_offset, r.findings[0].last_offset), (Some(10), Some(14)));
        // Wrapping from i32::MAX to 0 is in order.
        let r = run(vec![data(1, 0, 0, 3, i32::MAX - 2), data(1, 0, 3, 2, 0)]);
        assert!(r.findings.is_empty(), "{:?}", r.findings);
        assert_eq!(r.producers[0].last_data, Some((1, 4, 1)));
    }

    #[test]
    fn removed_offsets_explain_a_gap() {
        let mut b = data(1, 0, 20, 5, 20);
        b.missing_before = 15;
        let r = run(vec![data(1, 0, 0, 5, 0), b]);
        assert_eq!(kinds(&r), [("sequence_gap", Severity::Note)]);
    }

    #[test]
    fn epochs_bump_reset_and_fence() {
        let r = run(vec![data(1, 0, 0, 5, 0), data(1, 1, 5, 5, 0), data(1, 1, 10, 5, 5)]);
        assert!(r.findings.is_empty(), "{:?}", r.findings);
        assert_eq!(r.producers[0].epochs.len(), 2);
        let r = run(vec![data(1, 0, 0, 5, 0), data(1, 1, 5, 5, 3)]);
        assert_eq!(kinds(&r), [("sequence_gap", Severity::Anomaly)]);
        // The old epoch keeps writing (its own sequences in order): one fenced run.
        let r = run(vec![data(1, 0, 0, 5, 0), data(1, 1, 5, 5, 0), data(1, 0, 10, 5, 5), data(1, 0, 15, 5, 10)]);
        assert_eq!(kinds(&r), [("fenced_writer", Severity::Anomaly)]);
        assert_eq!((r.findings[0].first_offset, r.findings[0].last_offset), (Some(10), Some(19)));
        let r = run(vec![data(1, 5, 0, 5, 0), data(1, 2, 5, 5, 0)]);
        assert_eq!(kinds(&r), [("epoch_backwards", Severity::Anomaly)]);
    }

    #[test]
    fn transactions_open_close_and_hang() {
        let txn = |base, n, seq| ProducerBatch { kind: BatchRole::TxnData, ..data(7, 0, base, n, seq) };
        let marker = |base, abort: bool| ProducerBatch {
            kind: if abort {
                BatchRole::Abort { coordinator_epoch: 1 }
            } else {
                BatchRole::Commit { coordinator_epoch: 1 }
            },
            base_sequence: -1,
            ..data(7, 0, base, 1, -1)
        };
        let r = run(vec![txn(0, 2, 0), marker(2, false), txn(3, 2, 2)]);
        let p = &r.producers[0];
        assert_eq!((p.committed.count, p.committed.records), (1, 2));
        assert_eq!(p.open.map(|t| t.first_offset), Some(3));
        assert_eq!(r.last_stable_offset, Some(3));
        // Begun 3997 ms before the newest timestamp: open, not hanging, by default.
        assert_eq!(kinds(&r), [("open_transaction", Severity::Note)]);
        let scan = SegmentScan {
            first_offset: Some(0),
            last_offset: Some(4),
            max_timestamp: Some(10_000_000),
            batches: vec![txn(0, 2, 0), marker(2, false), txn(3, 2, 2)],
            ..SegmentScan::default()
        };
        let mut a = Analyzer::new(Options::default());
        a.segment(&seg(), &scan, TxnIndex::new(&[]));
        let r = a.finish(None);
        assert_eq!(kinds(&r), [("hanging_transaction", Severity::Anomaly)]);
        // An abort without a .txnindex is missing from it.
        let r = run(vec![txn(0, 2, 0), marker(2, true)]);
        assert_eq!(kinds(&r), [("abort_missing_from_txnindex", Severity::Anomaly)]);
        assert_eq!(r.producers[0].aborted.count, 1);
    }
}
