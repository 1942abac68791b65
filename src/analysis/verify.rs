//! Integrity checks for segments, their indexes and whole partitions.
//!
//! Each segment is checked in one forward pass: the batch walk decodes every
//! record, and the offset- and time-index entries are merged in as the walk
//! passes their positions, so the cost is linear in the size of the files.

use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::analysis::window::Reading;
use crate::analysis::window::{EntryFold, Event, WindowSize, walk_segment};
use crate::files::change::Change;
use crate::files::mmap::Mapped;
use crate::files::partition::{BaseOffsetFrom, FileKind, Segment};
use crate::format::batch::TimestampType;
use crate::format::entry::Decoder;
use crate::format::index::{OffsetEntry, OffsetIndex, TimeEntry, TimeIndex};
use crate::format::problem::ProblemKind;
use crate::format::record::OffsetOrder;
use crate::format::walk::Step;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing, and what the broker tidies at start-up: never changes
    /// the exit status, not even under `--strict`.
    Note,
    Warning,
    Error,
}

/// One problem, with where it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub file: PathBuf,
    pub kind: ProblemKind,
    pub severity: Severity,
    /// Byte position in `file` of the damaged batch or index entry.
    pub position: Option<u64>,
    pub offset: Option<i64>,
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warning,
    Error,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FileReport {
    pub file: PathBuf,
    pub kind: FileKind,
    pub status: Status,
    pub batches: u64,
    pub records: u64,
    pub bytes: u64,
}

pub use crate::format::problem::KEPT_PER_KIND;

/// Findings counted and not kept, past [`KEPT_PER_KIND`] of one kind in one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeftOut {
    pub file: PathBuf,
    pub kind: ProblemKind,
    pub severity: Severity,
    pub count: u64,
}

/// What verifying one segment found.
#[derive(Clone, Debug, Default)]
pub struct SegmentReport {
    pub files: Vec<FileReport>,
    pub findings: Vec<Finding>,
    /// Findings past [`KEPT_PER_KIND`], counted.
    pub left_out: Vec<LeftOut>,
    /// First and last offsets of the batches read, and where the first is.
    pub first_offset: Option<(i64, u64)>,
    pub last_offset: Option<i64>,
}

#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub max_decompressed: usize,
    pub reading: Reading,
}

impl Default for Options {
    fn default() -> Self {
        Options { max_decompressed: crate::format::compression::DEFAULT_MAX_DECOMPRESSED, reading: Reading::Sequential }
    }
}

/// Summary of one batch that the index merges need.
struct Seen {
    position: u64,
    base: i64,
    last: i64,
    max_timestamp: i64,
}

struct Checker<'a> {
    seg: &'a Segment,
    active: bool,
    findings: Vec<Finding>,
    /// Findings kept by file and kind (a segment has four files and a few kinds).
    kept: Vec<(PathBuf, ProblemKind, usize)>,
    left_out: Vec<LeftOut>,
}

impl<'a> Checker<'a> {
    fn new(seg: &'a Segment, active: bool) -> Self {
        Checker { seg, active, findings: Vec::new(), kept: Vec::new(), left_out: Vec::new() }
    }

    fn add(
        &mut self,
        file: &Path,
        kind: ProblemKind,
        severity: Severity,
        position: Option<u64>,
        offset: Option<i64>,
        message: String,
    ) {
        let kept = match self.kept.iter_mut().find(|(f, k, _)| *k == kind && f == file) {
            Some((_, _, n)) => n,
            None => {
                self.kept.push((file.to_path_buf(), kind, 0));
                &mut self.kept.last_mut().expect("just pushed").2
            }
        };
        if *kept < KEPT_PER_KIND {
            *kept += 1;
            self.findings.push(Finding { file: file.to_path_buf(), kind, severity, position, offset, message });
            return;
        }
        match self.left_out.iter_mut().find(|l| l.kind == kind && l.severity == severity && l.file == file) {
            Some(l) => l.count += 1,
            None => self.left_out.push(LeftOut { file: file.to_path_buf(), kind, severity, count: 1 }),
        }
    }

    fn log(&mut self, kind: ProblemKind, position: u64, offset: Option<i64>, message: String) {
        let log = self.seg.log.clone();
        self.add(&log, kind, Severity::Error, Some(position), offset, message);
    }

    /// Damage at the end of the active segment is what a crash leaves.
    fn tail_severity(&self) -> Severity {
        if self.active { Severity::Warning } else { Severity::Error }
    }

    /// The severity of a mismatch in entry `i` of an index with `entries`
    /// real entries, and what to add to its message. Kafka appends an entry
    /// with two writes into its map, the first field then the second (the
    /// offset index: relative offset, then position; the time index:
    /// timestamp, then relative offset), so a reader of the active segment's
    /// index can see its last entry with the second field still zero while
    /// the broker appends it, as a crash may leave it too (recovery rebuilds
    /// the active segment's indexes): a warning, not damage.
    fn half_written(&self, i: usize, entries: usize, second_field_zero: bool) -> (Severity, &'static str) {
        if self.active && second_field_zero && i + 1 == entries {
            (Severity::Warning, HALF_WRITTEN)
        } else {
            (Severity::Error, "")
        }
    }
}

const HALF_WRITTEN: &str = " (the active segment's last entry, its second half still zero: the broker was writing it, \
     or a crash cut it; recovery rebuilds it)";

/// What checking one batch on its own found. Batches are independent, so
/// these can be computed in parallel and merged in file order.
pub struct BatchCheck {
    seen: Option<Seen>,
    records: u64,
    /// (kind, offset, message), all at the batch's position in the log.
    problems: Vec<(ProblemKind, Option<i64>, String)>,
    position: u64,
}

/// Check one entry: framing of its header, CRC, attributes, and every record
/// (count, offsets, lengths, decompression, max timestamp, control records).
pub fn check_batch(decoder: &mut Decoder, bytes: &[u8], position: u64) -> BatchCheck {
    let mut out = BatchCheck { seen: None, records: 0, problems: Vec::new(), position };
    let mut d = match decoder.decode(bytes, position) {
        Ok(d) => d,
        Err(e) => {
            out.problems.push((e.kind_name(), None, e.describe()));
            return out;
        }
    };
    let info = d.info.clone();
    let base = Some(info.base_offset);
    for p in d.header_problems() {
        out.problems.push((p.kind, base, p.message));
    }
    let mut count = 0u64;
    let mut max_ts = i64::MIN;
    let mut record_error = None;
    let out_of_order = if let Some(scan) = d.scan() {
        count = u64::from(scan.count);
        max_ts = scan.max_timestamp;
        scan.out_of_order
    } else {
        // Something is wrong in the records, or this is a legacy or control
        // entry: the iterator says what.
        let mut order = OffsetOrder::new(info.base_offset, info.last_offset);
        for r in d.records() {
            match r {
                Ok(r) => {
                    count += 1;
                    max_ts = max_ts.max(r.timestamp);
                    order.see(r.offset);
                }
                Err(e) => record_error = Some(e),
            }
        }
        order.first_bad
    };
    if let Some(offset) = out_of_order {
        let msg = format!(
            "record offset {offset} is out of order or outside the batch's {}..{}",
            info.base_offset, info.last_offset
        );
        out.problems.push((ProblemKind::OffsetsNotIncreasing, Some(offset), msg));
    }
    out.records = count;
    if let Some(e) = record_error {
        if let Some(p) = d.record_problem(&e) {
            out.problems.push((p.kind, base, p.message));
        }
    } else if info.magic == 2
        && info.timestamp_type == TimestampType::CreateTime
        && info.delete_horizon.is_none()
        && count > 0
        && max_ts != info.max_timestamp
    {
        let msg = format!("batch max timestamp {} but its largest record timestamp is {max_ts}", info.max_timestamp);
        out.problems.push((ProblemKind::MaxTimestampMismatch, base, msg));
    }
    out.seen =
        Some(Seen { position, base: info.base_offset, last: info.last_offset, max_timestamp: info.max_timestamp });
    out
}

/// Batches checked in parallel at a time, and the bytes they may span:
/// bounds the memory for the results, and the resident mapped pages (a
/// window's are released once it is checked).
const WINDOW: WindowSize = WindowSize { entries: 2048, bytes: 32 << 20 };

/// Every entry checked by [`check_batch`], with its size.
struct Checks {
    max_decompressed: usize,
}

impl EntryFold for Checks {
    type Reader = Decoder;
    type Acc = Vec<(BatchCheck, u64)>;
    fn reader(&self) -> Decoder {
        Decoder::new(self.max_decompressed)
    }
    fn empty(&self) -> Self::Acc {
        Vec::new()
    }
    fn add(&self, decoder: &mut Decoder, acc: &mut Self::Acc, bytes: &[u8], position: u64) {
        acc.push((check_batch(decoder, bytes, position), bytes.len() as u64));
    }
    fn merge(&self, acc: &mut Self::Acc, later: Self::Acc) {
        acc.extend(later);
    }
}

/// The sequential state of one segment's check.
struct Merge<'s, 'i> {
    c: Checker<'s>,
    report: SegmentReport,
    oi: IndexMerge<'i>,
    ti: TimeMerge<'i>,
    batches: u64,
    records: u64,
    prev_last: Option<i64>,
    /// Where the complete entries end; a torn tail starts here.
    valid_end: u64,
    torn: bool,
}

impl Merge<'_, '_> {
    fn step_problem(&mut self, step: &Step<'_>) {
        let seg = self.c.seg;
        match step {
            Step::Entry { .. } => {}
            Step::Trailing { position, len } => {
                self.torn = true;
                let sev = self.c.tail_severity();
                let msg = format!("{len} bytes at the end do not hold a complete entry");
                self.c.add(&seg.log, ProblemKind::TrailingBytes, sev, Some(*position), None, msg);
            }
            Step::ZeroFill { position, len } => {
                self.torn = true;
                let sev = self.c.tail_severity();
                let msg = format!("{len} zero bytes to the end of the file");
                self.c.add(&seg.log, ProblemKind::PreallocatedTail, sev, Some(*position), None, msg);
            }
            Step::TooLarge { position, size } => {
                self.valid_end = position + size;
                self.c.log(
                    ProblemKind::EntryTooLarge,
                    *position,
                    None,
                    format!("entry of {size} bytes is too large to check"),
                );
            }
            Step::Corrupt(e) => {
                self.torn = true;
                let at = e.position.saturating_sub(8);
                self.c.log(
                    ProblemKind::BadSize,
                    at,
                    None,
                    format!("{}; the rest of the file cannot be walked", e.kind),
                );
            }
        }
    }

    fn accept(&mut self, b: BatchCheck, len: u64) {
        self.valid_end = b.position + len;
        for (kind, offset, msg) in b.problems {
            self.c.log(kind, b.position, offset, msg);
        }
        let Some(seen) = b.seen else { return };
        self.batches += 1;
        self.records += b.records;
        if self.report.first_offset.is_none() {
            self.report.first_offset = Some((seen.base, seen.position));
            let known = matches!(self.c.seg.base_from, BaseOffsetFrom::Name | BaseOffsetFrom::Given);
            if known && self.c.seg.base_offset > seen.base {
                let whose = if self.c.seg.base_from == BaseOffsetFrom::Given { "given" } else { "file name" };
                let msg = format!(
                    "{whose} base offset {} is above the first batch's offset {}",
                    self.c.seg.base_offset, seen.base
                );
                self.c.log(ProblemKind::BaseOffsetAboveFirstBatch, seen.position, Some(seen.base), msg);
            }
        }
        if let Some(prev) = self.prev_last
            && seen.base <= prev
        {
            let msg = format!("batch starts at offset {} but the previous batch ended at {prev}", seen.base);
            self.c.log(ProblemKind::OffsetsBackwards, seen.position, Some(seen.base), msg);
        }
        self.prev_last = Some(self.prev_last.map_or(seen.last, |p| p.max(seen.last)));
        self.oi.batch(&seen, &mut self.c);
        self.ti.batch(&seen, &mut self.c);
    }
}

/// Verify one segment: its `.log`, and its `.index` and `.timeindex` if
/// present. `active` marks the partition's last segment, where a torn tail
/// is only a warning.
pub fn verify_segment(seg: &Segment, active: bool, opts: &Options) -> io::Result<SegmentReport> {
    let mut changes = Vec::new();
    // An index listed with its segment but gone when opened: the broker's
    // retention deleting the segment, or its roll renaming files.
    let mut open = |p: &'_ PathBuf| match Mapped::open(p) {
        Ok(map) => Ok(Some(map)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            changes.push((p.clone(), Change::Vanished));
            Ok(None)
        }
        Err(e) => Err(e),
    };
    let offset_index = match &seg.index {
        Some(p) => open(p)?.map(|m| OffsetIndex::new_checked(m, seg.base_offset)),
        None => None,
    };
    let time_index = match &seg.timeindex {
        Some(p) => open(p)?.map(|m| TimeIndex::new_checked(m, seg.base_offset)),
        None => None,
    };
    let txn_map = match &seg.txnindex {
        Some(p) => open(p)?.map(|m| (p, m)),
        None => None,
    };
    let mut m = Merge {
        c: Checker::new(seg, active),
        report: SegmentReport::default(),
        oi: IndexMerge::new(offset_index.as_ref()),
        ti: TimeMerge::new(time_index.as_ref()),
        batches: 0,
        records: 0,
        prev_last: None,
        valid_end: 0,
        torn: false,
    };
    let checks = Checks { max_decompressed: opts.max_decompressed };
    let walked = walk_segment(&seg.log, opts.reading, WINDOW, &checks, |event| match event {
        Event::Entries(checks) => {
            for (check, len) in checks {
                m.accept(check, len);
            }
        }
        Event::Step(step) => m.step_problem(step),
    })?;
    let file_len = walked.len;
    let (prev_last, valid_end, torn) = (m.prev_last, m.valid_end, m.torn);
    m.report.last_offset = prev_last;
    m.oi.finish(valid_end, file_len, torn, &mut m.c);
    m.ti.finish(prev_last, torn, &mut m.c);
    let txn_len = match &txn_map {
        Some((p, map)) => {
            check_txnindex(p, map.as_ref(), prev_last, torn, &mut m.c);
            changes.extend(map.change(p).map(|c| (p.to_path_buf(), c)));
            Some(map.as_ref().len())
        }
        None => None,
    };
    changes.extend(walked.change.map(|c| (seg.log.clone(), c)));
    if let (Some(p), Some(i)) = (&seg.index, &offset_index) {
        changes.extend(i.data().change(p).map(|c| (p.clone(), c)));
    }
    if let (Some(p), Some(i)) = (&seg.timeindex, &time_index) {
        changes.extend(i.data().change(p).map(|c| (p.clone(), c)));
    }

    let mut report = m.report;
    report.findings = m.c.findings;
    report.left_out = m.c.left_out;
    if changes.iter().any(|(_, c)| c.spoils_segment()) {
        report.left_out.clear();
    }
    report_changes(&mut report.findings, &changes);
    let left_out = &report.left_out;
    let status_of = |file: &Path, findings: &[Finding]| {
        let kept = findings.iter().filter(|f| f.file == file).map(|f| f.severity);
        let worst = kept.chain(left_out.iter().filter(|l| l.file == file).map(|l| l.severity)).max();
        match worst {
            None | Some(Severity::Note) => Status::Ok,
            Some(Severity::Warning) => Status::Warning,
            Some(Severity::Error) => Status::Error,
        }
    };
    report.files.push(FileReport {
        file: seg.log.clone(),
        kind: FileKind::Log,
        status: status_of(&seg.log, &report.findings),
        batches: m.batches,
        records: m.records,
        bytes: file_len,
    });
    for (path, kind, idx_len) in [
        (&seg.index, FileKind::Index, offset_index.as_ref().map(|i| i.byte_len())),
        (&seg.timeindex, FileKind::TimeIndex, time_index.as_ref().map(|i| i.byte_len())),
        (&seg.txnindex, FileKind::TxnIndex, txn_len),
    ] {
        if let (Some(p), Some(len)) = (path, idx_len) {
            report.files.push(FileReport {
                file: p.clone(),
                kind,
                status: status_of(p, &report.findings),
                batches: 0,
                records: 0,
                bytes: len as u64,
            });
        }
    }
    Ok(report)
}

/// Files of a segment that changed while they were read (a live broker's
/// roll, truncation, cleaning or retention) are reported as that, a
/// warning, and the segment's other findings are left out (verify again to
/// check it): when a file shrank or lost pages they compared bytes that
/// were no longer there; when one was replaced or removed at its name, the
/// files compared (an old `.index` and the cleaner's new `.log`) may come
/// from different moments of the log. A file gone before it was opened
/// leaves the others' checks standing.
fn report_changes(findings: &mut Vec<Finding>, changes: &[(PathBuf, Change)]) {
    if changes.iter().any(|(_, c)| c.spoils_segment()) {
        findings.clear();
    }
    for (path, change) in changes {
        let mut message = change.to_string();
        if change.spoils_segment() {
            message.push_str("; the segment's checks are left out: verify it again");
        }
        findings.push(Finding {
            file: path.clone(),
            kind: ProblemKind::ChangedDuringRead,
            severity: Severity::Warning,
            position: None,
            offset: None,
            message,
        });
    }
}

/// Walks the offset index alongside the batches.
struct IndexMerge<'i> {
    idx: Option<&'i OffsetIndex<Mapped>>,
    next: usize,
    /// The last entry that was in order, to skip ones reported as not.
    prev: Option<(i64, u32)>,
}

impl<'i> IndexMerge<'i> {
    fn new(idx: Option<&'i OffsetIndex<Mapped>>) -> Self {
        IndexMerge { idx, next: 0, prev: None }
    }

    fn path(c: &Checker<'_>) -> PathBuf {
        c.seg.index.clone().unwrap_or_default()
    }

    /// The next entry (number, byte position in the index, entry) unless
    /// `stop` says it lies beyond the walk; entries out of order are
    /// reported and skipped.
    fn next_in_order(
        &mut self,
        c: &mut Checker<'_>,
        stop: impl Fn(&OffsetEntry) -> bool,
    ) -> Option<(usize, u64, OffsetEntry)> {
        let idx = self.idx?;
        while self.next < idx.entries {
            let (i, e) = (self.next, idx.entry(self.next));
            if stop(&e) {
                return None;
            }
            self.next += 1;
            let at = (i * crate::format::index::OFFSET_ENTRY) as u64;
            if let Some((po, pp)) = self.prev
                && (e.offset <= po || e.position <= pp)
            {
                let (severity, why) = c.half_written(i, idx.entries, e.position == 0);
                let msg = format!(
                    "entry {i} (offset {}, position {}) does not follow (offset {po}, position {pp}){why}",
                    e.offset, e.position
                );
                c.add(&Self::path(c), ProblemKind::IndexNotIncreasing, severity, Some(at), Some(e.offset), msg);
                continue;
            }
            self.prev = Some((e.offset, e.position));
            return Some((i, at, e));
        }
        None
    }

    /// Check the entries whose position is at or before this batch.
    fn batch(&mut self, b: &Seen, c: &mut Checker<'_>) {
        let entries = self.idx.map_or(0, |idx| idx.entries);
        while let Some((i, at, e)) = self.next_in_order(c, |e| u64::from(e.position) > b.position) {
            let (severity, why) = c.half_written(i, entries, e.position == 0);
            let msg = if u64::from(e.position) < b.position {
                format!("entry {i} points at position {}, which is not the start of a batch{why}", e.position)
            } else if e.offset != b.last {
                format!(
                    "entry {i} says offset {} at position {}, but the batch there ends at offset {}{why}",
                    e.offset, e.position, b.last
                )
            } else {
                continue;
            };
            c.add(&Self::path(c), ProblemKind::IndexMismatch, severity, Some(at), Some(e.offset), msg);
        }
    }

    fn finish(&mut self, valid_end: u64, file_len: u64, torn: bool, c: &mut Checker<'_>) {
        let Some(idx) = self.idx else { return };
        if idx.trailing_bytes() != 0 {
            let msg = format!("{} bytes is not a multiple of 8", idx.byte_len());
            c.add(&Self::path(c), ProblemKind::IndexSize, Severity::Error, None, None, msg);
        }
        while let Some((i, at, e)) = self.next_in_order(c, |_| false) {
            let into_tail = torn && u64::from(e.position) >= valid_end;
            let severity = if into_tail { c.tail_severity() } else { Severity::Error };
            let msg = if u64::from(e.position) >= file_len {
                format!("entry {i} points at position {}, past the end of the log ({file_len} bytes)", e.position)
            } else {
                format!("entry {i} points at position {}, after the last complete batch", e.position)
            };
            c.add(&Self::path(c), ProblemKind::IndexPastEnd, severity, Some(at), Some(e.offset), msg);
        }
    }
}

/// Walks the time index alongside the batches.
struct TimeMerge<'i> {
    idx: Option<&'i TimeIndex<Mapped>>,
    next: usize,
    prev: Option<(i64, i64)>,
}

impl<'i> TimeMerge<'i> {
    fn new(idx: Option<&'i TimeIndex<Mapped>>) -> Self {
        TimeMerge { idx, next: 0, prev: None }
    }

    fn path(c: &Checker<'_>) -> PathBuf {
        c.seg.timeindex.clone().unwrap_or_default()
    }

    /// As `IndexMerge::next_in_order`: timestamps and offsets must not go back.
    fn next_in_order(
        &mut self,
        c: &mut Checker<'_>,
        stop: impl Fn(&TimeEntry) -> bool,
    ) -> Option<(usize, u64, TimeEntry)> {
        let idx = self.idx?;
        while self.next < idx.entries {
            let (i, e) = (self.next, idx.entry(self.next));
            if stop(&e) {
                return None;
            }
            self.next += 1;
            let at = (i * crate::format::index::TIME_ENTRY) as u64;
            if let Some((pt, po)) = self.prev
                && (e.timestamp < pt || e.offset < po)
            {
                let msg =
                    format!("entry {i} ({}, offset {}) goes back from ({pt}, offset {po})", e.timestamp, e.offset);
                c.add(
                    &Self::path(c),
                    ProblemKind::TimeindexNotIncreasing,
                    Severity::Error,
                    Some(at),
                    Some(e.offset),
                    msg,
                );
                continue;
            }
            self.prev = Some((e.timestamp, e.offset));
            return Some((i, at, e));
        }
        None
    }

    /// Check the entries whose offset is at or below this batch's last.
    fn batch(&mut self, b: &Seen, c: &mut Checker<'_>) {
        let (entries, base) = self.idx.map_or((0, 0), |idx| (idx.entries, idx.base_offset));
        while let Some((i, at, e)) = self.next_in_order(c, |e| e.offset > b.last) {
            // A relative offset of 0 only ends the entries after slot 0
            // (`Index::new_checked`): a half-written first entry is read.
            let (severity, why) = c.half_written(i, entries, e.offset == base);
            // Current brokers point at the batch's last offset, older ones at
            // a record inside it: any offset the batch covers is accepted.
            let msg = if e.offset < b.base {
                format!("entry {i} points at offset {}, which no batch holds{why}", e.offset)
            } else if e.timestamp != b.max_timestamp {
                format!(
                    "entry {i} says timestamp {} for offset {}, but that batch's max timestamp is {} (batch at position {}){why}",
                    e.timestamp, e.offset, b.max_timestamp, b.position
                )
            } else {
                continue;
            };
            c.add(&Self::path(c), ProblemKind::TimeindexMismatch, severity, Some(at), Some(e.offset), msg);
        }
    }

    fn finish(&mut self, last_offset: Option<i64>, torn: bool, c: &mut Checker<'_>) {
        let Some(idx) = self.idx else { return };
        if idx.trailing_bytes() != 0 {
            let msg = format!("{} bytes is not a multiple of 12", idx.byte_len());
            c.add(&Self::path(c), ProblemKind::TimeindexSize, Severity::Error, None, None, msg);
        }
        while let Some((i, at, e)) = self.next_in_order(c, |_| false) {
            let severity = if torn { c.tail_severity() } else { Severity::Error };
            let last = last_offset.map_or("none".into(), |o| o.to_string());
            let msg = format!("entry {i} points at offset {}, beyond the last offset in the log ({last})", e.offset);
            c.add(&Self::path(c), ProblemKind::TimeindexPastEnd, severity, Some(at), Some(e.offset), msg);
        }
    }
}

/// The transaction index of a segment: whole 34-byte entries, version 0,
/// `firstOffset <= lastOffset`, `lastOffset` strictly increasing and inside
/// the segment (from its base offset to its last offset, where the ABORT
/// marker the entry stands for must be).
fn check_txnindex(path: &Path, data: &[u8], last_offset: Option<i64>, torn: bool, c: &mut Checker<'_>) {
    let idx = crate::format::txnindex::TxnIndex::new(data);
    let base = c.seg.base_offset;
    if let Some(t) = idx.trailing() {
        c.add(path, ProblemKind::TxnindexSize, Severity::Error, Some(t.position), None, t.message);
    }
    let mut prev: Option<i64> = None;
    for e in idx.entries() {
        let at = Some(e.position);
        let off = Some(e.last_offset);
        let mut wrong = Vec::new();
        if e.version != crate::format::txnindex::VERSION {
            wrong.push(format!("version {} (Kafka writes and reads only 0)", e.version));
        }
        if e.first_offset > e.last_offset {
            wrong.push(format!("first offset {} is above last offset {}", e.first_offset, e.last_offset));
        }
        if !wrong.is_empty() {
            let msg = format!("aborted transaction of producer {}: {}", e.producer_id, wrong.join("; "));
            c.add(path, ProblemKind::TxnindexEntry, Severity::Error, at, off, msg);
        }
        if let Some(p) = prev
            && e.last_offset <= p
        {
            let msg = format!("last offset {} does not follow the previous entry's {p}", e.last_offset);
            c.add(path, ProblemKind::TxnindexOrder, Severity::Error, at, off, msg);
        }
        prev = Some(prev.map_or(e.last_offset, |p| p.max(e.last_offset)));
        let past_end = last_offset.is_none_or(|l| e.last_offset > l);
        if e.last_offset < base || past_end {
            // Entries past a torn tail of the active segment are what a
            // crash leaves; recovery rebuilds them.
            let severity = if past_end && e.last_offset >= base && torn { c.tail_severity() } else { Severity::Error };
            let range = match last_offset {
                Some(l) => format!("{base}..{l}"),
                None => format!("from {base}, which holds no batch"),
            };
            let msg = format!("last offset {} is outside the segment's offsets {range}", e.last_offset);
            c.add(path, ProblemKind::TxnindexOutsideSegment, severity, at, off, msg);
        }
    }
}

/// Verify a producer snapshot: version 1, CRC-32C, and an entry count that
/// matches the file's size.
pub fn verify_snapshot(path: &Path) -> io::Result<SegmentReport> {
    let map = Mapped::open(path)?;
    let data: &[u8] = map.as_ref();
    let snap = crate::format::snapshot::parse(data);
    let findings: Vec<Finding> = snap
        .issues
        .iter()
        .map(|i| Finding {
            file: path.to_path_buf(),
            kind: i.kind,
            // Trailing bytes under a valid CRC are read by Kafka without complaint.
            severity: if i.kind == ProblemKind::SnapshotTrailingBytes { Severity::Warning } else { Severity::Error },
            position: Some(i.position),
            offset: None,
            message: i.message.clone(),
        })
        .collect();
    let status = match findings.iter().map(|f| f.severity).max() {
        None | Some(Severity::Note) => Status::Ok,
        Some(Severity::Warning) => Status::Warning,
        Some(Severity::Error) => Status::Error,
    };
    let file = FileReport {
        file: path.to_path_buf(),
        kind: FileKind::Snapshot,
        status,
        batches: 0,
        records: 0,
        bytes: data.len() as u64,
    };
    Ok(SegmentReport { files: vec![file], findings, left_out: Vec::new(), first_offset: None, last_offset: None })
}

/// Checks across the segments of one partition, after each was verified:
/// segments must not overlap. On a live broker the two files of an
/// apparent overlap may have been read at different moments: the cleaner
/// swaps a cleaned segment in under the first one's name, covering the
/// offsets of the next ones, which it then removes. When either file was
/// removed or replaced since the partition was listed, that is what is
/// reported (a warning, verify again), not damage.
pub fn cross_segment(segments: &[Segment], reports: &[SegmentReport]) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut prev: Option<(i64, &Segment)> = None;
    for (seg, rep) in segments.iter().zip(reports) {
        // Data that repeats earlier offsets, or a file name whose base offset
        // claims offsets the previous segment already holds.
        if let (Some((prev_last, prev_seg)), Some((first, position))) = (prev, rep.first_offset)
            && (first <= prev_last || seg.base_offset <= prev_last)
        {
            let prev_name = prev_seg.log.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
            let overlap = format!(
                "base offset {} / first offset {first} is not above the last offset {prev_last} of {prev_name}",
                seg.base_offset,
            );
            let moved = [prev_seg, seg].into_iter().find(|s| s.changed_since_listing());
            out.push(match moved {
                Some(moved) => Finding {
                    file: moved.log.clone(),
                    kind: ProblemKind::ChangedDuringRead,
                    severity: Severity::Warning,
                    position: None,
                    offset: None,
                    message: format!(
                        "removed or replaced since the partition was listed (the broker's cleaner or retention): \
                         {} {overlap}, but the two were read at different moments of the log; verify it again",
                        seg.log.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()
                    ),
                },
                None => Finding {
                    file: seg.log.clone(),
                    kind: ProblemKind::SegmentOverlap,
                    severity: Severity::Error,
                    position: Some(position),
                    offset: Some(first),
                    message: overlap,
                },
            });
        }
        if let Some(last) = rep.last_offset {
            prev = Some((prev.map_or(last, |(p, _)| p.max(last)), seg));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(file: &str) -> Finding {
        Finding {
            file: PathBuf::from(file),
            kind: ProblemKind::IndexMismatch,
            severity: Severity::Error,
            position: Some(0),
            offset: Some(1),
            message: "entry 0 points at position 586, which is not the start of a batch".into(),
        }
    }

    #[test]
    fn a_segment_file_replaced_or_shrunk_while_read_leaves_only_the_warning() {
        // What the churn phase met: the old .index read, then the cleaner's new .log.
        for change in
            [Change::Replaced { before: 520 }, Change::Removed { before: 520 }, Change::Shrank { before: 9, after: 3 }]
        {
            let mut findings = vec![error("0.index")];
            report_changes(&mut findings, &[(PathBuf::from("0.index"), change)]);
            let kinds: Vec<_> = findings.iter().map(|f| (f.kind, f.severity)).collect();
            assert_eq!(kinds, [(ProblemKind::ChangedDuringRead, Severity::Warning)], "{change:?}");
            assert!(findings[0].message.ends_with("verify it again"), "{}", findings[0].message);
        }
        // An index gone before it was opened: the log's own findings stand.
        let mut findings = vec![error("0.log")];
        report_changes(&mut findings, &[(PathBuf::from("0.index"), Change::Vanished)]);
        assert_eq!(findings.len(), 2);
        assert_eq!(findings[0].kind, ProblemKind::IndexMismatch);
    }
}
