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
//! This file holds the public types and the entry points; `scan` extracts
//! the batches, and each group of rules has its file: `sequences` (gaps,
//! duplicates, epochs and fencing), `transactions` (open, hanging and
//! finished transactions, aborted ranges) and `crosscheck` (the `.txnindex`
//! and `.snapshot` comparisons).
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
use std::path::PathBuf;

use serde::Serialize;

use crate::files::partition::Segment;
use crate::format::snapshot::Snapshot;
use crate::format::txnindex::TxnIndex;

mod crosscheck;
mod scan;
mod sequences;
mod state;
#[cfg(test)]
mod tests;
mod transactions;

pub(crate) use scan::control_kind;
pub use scan::{scan_bytes, scan_segment};

use crosscheck::TxnCursor;
use state::{NO_PRODUCER_EPOCH, NO_SEQUENCE, NO_TIMESTAMP};

/// Sequence numbers live in 0..=i32::MAX and wrap to 0.
const SEQ_SPACE: i64 = 1 << 31;

/// The broker's default `transaction.max.timeout.ms`: no transaction may
/// stay open longer.
pub const DEFAULT_TXN_TIMEOUT_MS: i64 = 15 * 60 * 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchRole {
    Data,
    TxnData,
    /// A transaction marker: its coordinator epoch and its record's
    /// timestamp (what the broker keeps as the producer's last timestamp).
    Commit {
        coordinator_epoch: i32,
        timestamp: i64,
    },
    Abort {
        coordinator_epoch: i32,
        timestamp: i64,
    },
    /// A control batch with no record (the cleaner removed its marker):
    /// the broker skips it.
    EmptyControl,
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
    /// The max timestamp of the first batch that has one (`kseg ls`'s first time).
    pub first_timestamp: Option<i64>,
    /// Entries that could not be read (bad size, header, too large).
    pub damaged: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Explained, or worth knowing: does not change the exit status.
    Note,
    Anomaly,
}

/// What a producer finding is about (docs/stats.md lists them); its name
/// is the `kind` of the JSON and table output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    SequenceGap,
    SequenceDuplicate,
    FencedWriter,
    EpochBackwards,
    HangingTransaction,
    OpenTransaction,
    TxnindexExtra,
    AbortMissingFromTxnindex,
    TxnindexMismatch,
    SnapshotInvalid,
    SnapshotAhead,
    SnapshotMismatch,
    UnreadableData,
}

impl FindingKind {
    pub const fn name(self) -> &'static str {
        match self {
            FindingKind::SequenceGap => "sequence_gap",
            FindingKind::SequenceDuplicate => "sequence_duplicate",
            FindingKind::FencedWriter => "fenced_writer",
            FindingKind::EpochBackwards => "epoch_backwards",
            FindingKind::HangingTransaction => "hanging_transaction",
            FindingKind::OpenTransaction => "open_transaction",
            FindingKind::TxnindexExtra => "txnindex_extra",
            FindingKind::AbortMissingFromTxnindex => "abort_missing_from_txnindex",
            FindingKind::TxnindexMismatch => "txnindex_mismatch",
            FindingKind::SnapshotInvalid => "snapshot_invalid",
            FindingKind::SnapshotAhead => "snapshot_ahead",
            FindingKind::SnapshotMismatch => "snapshot_mismatch",
            FindingKind::UnreadableData => "unreadable_data",
        }
    }
}

impl std::fmt::Display for FindingKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One finding, with the offsets it concerns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub kind: FindingKind,
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
    /// The broker's state of the producer after the log read (Kafka's
    /// `ProducerStateEntry`, what `describeProducers` reports): see `state`.
    /// Its epoch: of its last data batch or transaction marker (-1 before any).
    pub epoch: i16,
    /// The last sequence of its last data batch in that epoch; -1 when that
    /// epoch has none (a marker bumped the epoch) or the batch has no sequence.
    pub last_sequence: i32,
    /// The max timestamp of its last data batch, or its last marker's record
    /// timestamp, whichever came last (-1 before any).
    pub last_timestamp: i64,
    /// The coordinator epoch of its last transaction marker; none before one.
    pub coordinator_epoch: Option<i32>,
    /// The first offset of its transaction in progress, if any.
    pub current_txn_start_offset: Option<i64>,
    /// Its last data batch in that epoch: (last sequence, last offset, offset
    /// delta); none when the epoch has no data batch.
    pub last_data: Option<(i32, i64, i32)>,
    pub anomalies: u64,
    #[serde(skip)]
    max_epoch: i16,
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
    /// The `abort_missing_from_txnindex` finding of an ABORT marker that is
    /// the last batch of the segment read last, until another segment
    /// follows: see [`Analyzer::tail_of_active_segment`].
    tail_abort_missing: Option<usize>,
    /// The `txnindex_extra` findings of the segment read last whose entries
    /// lie past the end of its log as read: see
    /// [`Analyzer::tail_of_active_segment`].
    tail_extras: Vec<usize>,
}

fn finding(kind: FindingKind, severity: Severity, message: String) -> Finding {
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
            tail_abort_missing: None,
            tail_extras: Vec::new(),
        }
    }

    /// What a live broker shows at the log's tail is a note, not an
    /// anomaly: the broker appends an ABORT marker and then, under the same
    /// lock, writes its `.txnindex` entry (creating the active segment's
    /// `.txnindex` with its first one). A reader that read the log and then
    /// the `.txnindex` can find the very last marker not listed yet, or
    /// entries for markers appended after it read the log; after a crash,
    /// log recovery rebuilds the entries from the markers. Anywhere else
    /// both are anomalies.
    fn tail_of_active_segment(&mut self) {
        if let Some(i) = self.tail_abort_missing.take() {
            self.downgrade(
                i,
                " — but it is the last batch of the active segment: the broker writes the entry just after the \
                 marker (a live broker between the two, or a crash that log recovery mends)",
            );
        }
        for i in std::mem::take(&mut self.tail_extras) {
            self.downgrade(
                i,
                " — but it lies past the end of the active segment as read: a live broker appended the marker \
                 after kseg read the log",
            );
        }
    }

    fn downgrade(&mut self, i: usize, why: &str) {
        let f = &mut self.findings[i];
        if f.severity != Severity::Anomaly {
            return;
        }
        f.severity = Severity::Note;
        f.message.push_str(why);
        if let Some(p) = f.producer_id.and_then(|id| self.producers.get_mut(&id)) {
            p.anomalies = p.anomalies.saturating_sub(1);
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
        self.segment_with(seg, scan, txnindex, false);
    }

    /// As [`Analyzer::segment`], for a segment whose `.txnindex` was listed
    /// but gone when it was to be read (retention removing the segment on a
    /// live broker): its ABORT markers are not checked against it.
    pub fn segment_txnindex_gone(&mut self, seg: &Segment, scan: &SegmentScan) {
        self.segment_with(seg, scan, TxnIndex::new(&[]), true);
    }

    fn segment_with(&mut self, seg: &Segment, scan: &SegmentScan, txnindex: TxnIndex<'_>, gone: bool) {
        self.segments += 1;
        // A later segment follows: the previous one's tail is not the log's.
        self.tail_abort_missing = None;
        self.tail_extras.clear();
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
            // Data that cannot be read is a finding like any other damage:
            // the exit status says so, as in every subcommand.
            let mut f = finding(
                FindingKind::UnreadableData,
                Severity::Anomaly,
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
        let mut cursor = TxnCursor { path: seg.txnindex.as_deref(), idx: txnindex, next: 0, gone };
        self.txnindex_entries += cursor.idx.len() as u64;
        let compacted_here = scan.missing_between > 0 || scan.missing_within > 0;
        for b in &scan.batches {
            let mut b = *b;
            b.missing_before = b.missing_before.saturating_add(base_missing);
            self.batch(&b, seg, &mut cursor, compacted_here);
        }
        // Entries after the last ABORT marker of the segment.
        let before_extras = self.findings.len();
        self.txnindex_extras(&mut cursor, None, compacted_here);
        let read_end = scan.last_offset.unwrap_or(i64::MIN);
        self.tail_extras = (before_extras..self.findings.len())
            .filter(|&i| {
                self.findings[i].kind == FindingKind::TxnindexExtra && self.findings[i].last_offset > Some(read_end)
            })
            .collect();
        // `batches` holds only producers' batches: the marker must also end the segment.
        if let Some(last) = scan.batches.last().filter(|b| Some(b.last_offset) == scan.last_offset) {
            self.tail_abort_missing = self.findings.iter().rposition(|f| {
                f.kind == FindingKind::AbortMissingFromTxnindex && f.last_offset == Some(last.base_offset)
            });
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
                    epoch: NO_PRODUCER_EPOCH,
                    last_sequence: NO_SEQUENCE,
                    last_timestamp: NO_TIMESTAMP,
                    coordinator_epoch: None,
                    current_txn_start_offset: None,
                    last_data: None,
                    anomalies: 0,
                    max_epoch: b.epoch,
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
        state::apply(p, b);
        match b.kind {
            BatchRole::Data | BatchRole::TxnData => {
                self.sequence(b, seg);
                if b.kind == BatchRole::TxnData {
                    self.txn_data(b);
                }
            }
            BatchRole::Commit { .. } | BatchRole::Abort { .. } => {
                self.marker(b, seg, cursor, compacted_here);
            }
            BatchRole::EmptyControl | BatchRole::OtherControl => {}
        }
        let p = self.producers.get_mut(&b.producer_id).expect("inserted above");
        p.missing_at_last = b.missing_before;
    }

    /// Open transactions, the check against `snapshot`, and the report.
    pub fn finish(mut self, snapshot: Option<SnapshotFile<'_>>) -> PartitionReport {
        let max_ts = self.max_ts;
        let log_end = self.last_offset.map(|o| o.saturating_add(1));
        self.tail_of_active_segment();
        self.open_transactions(log_end);
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
}
