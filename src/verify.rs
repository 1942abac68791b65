//! Integrity checks for segments, their indexes and whole partitions.
//!
//! Each segment is checked in one forward pass: the batch walk decodes every
//! record, and the offset- and time-index entries are merged in as the walk
//! passes their positions, so the cost is linear in the size of the files.

use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::batch::TimestampType;
use crate::entry::{Batch, Decoder};
use crate::error::{DecodeError, ErrorKind};
use crate::index::{OffsetIndex, TimeIndex};
use crate::mmap::Mapped;
use crate::partition::Segment;
use crate::segment::{Step, Walker};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

/// One problem, with where it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub file: PathBuf,
    pub kind: &'static str,
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
    pub kind: &'static str,
    pub status: Status,
    pub batches: u64,
    pub records: u64,
    pub bytes: u64,
}

/// What verifying one segment found.
#[derive(Clone, Debug, Default)]
pub struct SegmentReport {
    pub files: Vec<FileReport>,
    pub findings: Vec<Finding>,
    /// First and last offsets of the batches read, and where the first is.
    pub first_offset: Option<(i64, u64)>,
    pub last_offset: Option<i64>,
}

#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub max_decompressed: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options { max_decompressed: crate::compression::DEFAULT_MAX_DECOMPRESSED }
    }
}

/// The finding kind for a decode error met inside a batch.
pub fn kind_of(e: &DecodeError) -> &'static str {
    match e.kind {
        ErrorKind::BadMagic(_) => "bad_magic",
        ErrorKind::SizeTooSmall(_) | ErrorKind::BatchTooShort(_) => "bad_size",
        ErrorKind::EntryTooLarge { .. } => "entry_too_large",
        ErrorKind::BadCodec(_) | ErrorKind::ZstdInLegacy(_) => "bad_attributes",
        ErrorKind::BadRecordCount(_) | ErrorKind::PrematureEnd { .. } | ErrorKind::RecordsRemaining(_) => {
            "record_count_mismatch"
        }
        ErrorKind::Decompress { .. } | ErrorKind::DecompressLimit(_) => "decompress",
        ErrorKind::NullWrapperValue
        | ErrorKind::EmptyWrapper
        | ErrorKind::NestedCompression
        | ErrorKind::WrapperOffset { .. } => "bad_wrapper",
        ErrorKind::Control(_) => "bad_control_record",
        ErrorKind::Truncated { .. }
        | ErrorKind::VarintTooLong
        | ErrorKind::BadLength(_)
        | ErrorKind::RecordSizeMismatch { .. }
        | ErrorKind::Other(_) => "bad_record",
    }
}

fn describe(e: &DecodeError) -> String {
    match e.decompressed_at {
        Some(at) => format!("{} (at byte {at} of the decompressed records)", e.kind),
        None => e.kind.to_string(),
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
}

impl Checker<'_> {
    fn add(
        &mut self,
        file: &Path,
        kind: &'static str,
        severity: Severity,
        position: Option<u64>,
        offset: Option<i64>,
        message: String,
    ) {
        self.findings.push(Finding { file: file.to_path_buf(), kind, severity, position, offset, message });
    }

    fn log(&mut self, kind: &'static str, position: u64, offset: Option<i64>, message: String) {
        let log = self.seg.log.clone();
        self.add(&log, kind, Severity::Error, Some(position), offset, message);
    }

    /// Damage at the end of the active segment is what a crash leaves.
    fn tail_severity(&self) -> Severity {
        if self.active { Severity::Warning } else { Severity::Error }
    }
}

/// Verify one segment: its `.log`, and its `.index` and `.timeindex` if
/// present. `active` marks the partition's last segment, where a torn tail
/// is only a warning.
pub fn verify_segment(seg: &Segment, active: bool, opts: &Options) -> io::Result<SegmentReport> {
    let mut c = Checker { seg, active, findings: Vec::new() };
    let mut report = SegmentReport::default();
    let mut walker = Walker::open(&seg.log)?;
    let file_len = walker.end();
    let mut decoder = Decoder::new(opts.max_decompressed);

    let offset_index = match &seg.index {
        Some(p) => Some(OffsetIndex::new_exact(Mapped::open(p)?, seg.base_offset)),
        None => None,
    };
    let time_index = match &seg.timeindex {
        Some(p) => Some(TimeIndex::new_exact(Mapped::open(p)?, seg.base_offset)),
        None => None,
    };
    let mut oi = IndexMerge::new(offset_index.as_ref());
    let mut ti = TimeMerge::new(time_index.as_ref());
    let (mut batches, mut records) = (0u64, 0u64);
    let mut prev_last: Option<i64> = None;
    // Where the complete entries end; a torn tail starts here.
    let mut valid_end = 0u64;
    let mut torn = false;

    while let Some(step) = walker.next_step()? {
        let (position, bytes) = match step {
            Step::Entry { position, bytes } => (position, bytes),
            Step::Trailing { position, len } => {
                torn = true;
                let sev = c.tail_severity();
                let log = seg.log.clone();
                c.add(
                    &log,
                    "truncated_entry",
                    sev,
                    Some(position),
                    None,
                    format!("{len} bytes at the end do not hold a complete entry"),
                );
                continue;
            }
            Step::ZeroFill { position, len } => {
                torn = true;
                let sev = c.tail_severity();
                let log = seg.log.clone();
                c.add(
                    &log,
                    "preallocated_tail",
                    sev,
                    Some(position),
                    None,
                    format!("{len} zero bytes to the end of the file"),
                );
                continue;
            }
            Step::TooLarge { position, size } => {
                valid_end = position + size;
                c.log("entry_too_large", position, None, format!("entry of {size} bytes is too large to check"));
                continue;
            }
            Step::Corrupt(e) => {
                torn = true;
                let at = e.position.saturating_sub(8);
                c.log("bad_size", at, None, format!("{}; the rest of the file cannot be walked", e.kind));
                continue;
            }
        };
        valid_end = position + bytes.len() as u64;
        let mut d = match decoder.decode(bytes, position) {
            Ok(d) => d,
            Err(e) => {
                c.log(kind_of(&e), position, None, describe(&e));
                continue;
            }
        };
        batches += 1;
        let info = d.info.clone();
        if !info.crc_valid {
            let computed = match d.batch {
                Batch::V2(b) => b.computed_crc(),
                Batch::Legacy(m) => m.computed_crc(),
            };
            c.log(
                "crc_mismatch",
                position,
                Some(info.base_offset),
                format!("stored CRC {:08x}, computed {computed:08x}", info.crc),
            );
        }
        if info.compression.is_none() || (info.magic < 2 && info.attributes & 7 == 4) {
            c.log(
                "bad_attributes",
                position,
                Some(info.base_offset),
                format!("invalid codec id {} for magic v{}", info.attributes & 7, info.magic),
            );
        }
        if let Some(e) = d.wrapper_error() {
            let e = e.clone();
            c.log(kind_of(&e), position, Some(info.base_offset), describe(&e));
        }
        if report.first_offset.is_none() {
            report.first_offset = Some((info.base_offset, position));
            if seg.base_offset > info.base_offset {
                c.log(
                    "base_offset_above_first_batch",
                    position,
                    Some(info.base_offset),
                    format!(
                        "file name base offset {} is above the first batch's offset {}",
                        seg.base_offset, info.base_offset
                    ),
                );
            }
        }
        if let Some(prev) = prev_last
            && info.base_offset <= prev
        {
            c.log(
                "offsets_backwards",
                position,
                Some(info.base_offset),
                format!("batch starts at offset {} but the previous batch ended at {prev}", info.base_offset),
            );
        }
        prev_last = Some(prev_last.map_or(info.last_offset, |p| p.max(info.last_offset)));

        // Every record, decoded once.
        let mut count = 0u64;
        let mut prev_offset: Option<i64> = None;
        let mut max_ts = i64::MIN;
        let mut order_reported = false;
        let mut record_error = None;
        for r in d.records() {
            match r {
                Ok(r) => {
                    count += 1;
                    max_ts = max_ts.max(r.timestamp);
                    let out_of_range = r.offset < info.base_offset || r.offset > info.last_offset;
                    if !order_reported && (out_of_range || prev_offset.is_some_and(|p| r.offset <= p)) {
                        order_reported = true;
                        c.log(
                            "offsets_not_increasing",
                            position,
                            Some(r.offset),
                            format!(
                                "record offset {} is out of order or outside the batch's {}..{}",
                                r.offset, info.base_offset, info.last_offset
                            ),
                        );
                    }
                    prev_offset = Some(r.offset);
                }
                Err(e) => record_error = Some(e),
            }
        }
        records += count;
        if let Some(e) = record_error {
            c.log(kind_of(&e), position, Some(info.base_offset), describe(&e));
        } else if info.magic == 2
            && info.timestamp_type == TimestampType::CreateTime
            && info.delete_horizon.is_none()
            && count > 0
            && max_ts != info.max_timestamp
        {
            c.log(
                "max_timestamp_mismatch",
                position,
                Some(info.base_offset),
                format!("batch max timestamp {} but its largest record timestamp is {max_ts}", info.max_timestamp),
            );
        }
        let seen = Seen { position, base: info.base_offset, last: info.last_offset, max_timestamp: info.max_timestamp };
        oi.batch(&seen, &mut c);
        ti.batch(&seen, &mut c);
    }
    report.last_offset = prev_last;
    oi.finish(valid_end, file_len, torn, &mut c);
    ti.finish(prev_last, torn, &mut c);

    report.findings = c.findings;
    let status_of = |file: &Path, findings: &[Finding]| {
        let worst = findings.iter().filter(|f| f.file == file).map(|f| f.severity).max();
        match worst {
            None => Status::Ok,
            Some(Severity::Warning) => Status::Warning,
            Some(Severity::Error) => Status::Error,
        }
    };
    report.files.push(FileReport {
        file: seg.log.clone(),
        kind: "log",
        status: status_of(&seg.log, &report.findings),
        batches,
        records,
        bytes: file_len,
    });
    for (path, kind, idx_len) in [
        (&seg.index, "index", offset_index.as_ref().map(|i| i.byte_len())),
        (&seg.timeindex, "timeindex", time_index.as_ref().map(|i| i.byte_len())),
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

    /// Advance past entries whose position is at or before this batch.
    fn batch(&mut self, b: &Seen, c: &mut Checker<'_>) {
        let Some(idx) = self.idx else { return };
        while self.next < idx.entries {
            let e = idx.entry(self.next);
            let at = (self.next * crate::index::OFFSET_ENTRY) as u64;
            if u64::from(e.position) > b.position {
                return;
            }
            self.next += 1;
            if let Some((po, pp)) = self.prev
                && (e.offset <= po || e.position <= pp)
            {
                let path = Self::path(c);
                c.add(
                    &path,
                    "index_not_increasing",
                    Severity::Error,
                    Some(at),
                    Some(e.offset),
                    format!(
                        "entry {} (offset {}, position {}) does not follow (offset {po}, position {pp})",
                        self.next - 1,
                        e.offset,
                        e.position
                    ),
                );
                continue;
            }
            self.prev = Some((e.offset, e.position));
            if u64::from(e.position) < b.position {
                let path = Self::path(c);
                c.add(
                    &path,
                    "index_mismatch",
                    Severity::Error,
                    Some(at),
                    Some(e.offset),
                    format!(
                        "entry {} points at position {}, which is not the start of a batch",
                        self.next - 1,
                        e.position
                    ),
                );
            } else if e.offset != b.last {
                let path = Self::path(c);
                c.add(
                    &path,
                    "index_mismatch",
                    Severity::Error,
                    Some(at),
                    Some(e.offset),
                    format!(
                        "entry {} says offset {} at position {}, but the batch there ends at offset {}",
                        self.next - 1,
                        e.offset,
                        e.position,
                        b.last
                    ),
                );
            }
        }
    }

    fn finish(&mut self, valid_end: u64, file_len: u64, torn: bool, c: &mut Checker<'_>) {
        let Some(idx) = self.idx else { return };
        if idx.trailing_bytes() != 0 {
            let path = Self::path(c);
            c.add(
                &path,
                "index_size",
                Severity::Error,
                None,
                None,
                format!("{} bytes is not a multiple of 8", idx.byte_len()),
            );
        }
        while self.next < idx.entries {
            let e = idx.entry(self.next);
            let at = (self.next * crate::index::OFFSET_ENTRY) as u64;
            self.next += 1;
            if let Some((po, pp)) = self.prev
                && (e.offset <= po || e.position <= pp)
            {
                let path = Self::path(c);
                c.add(
                    &path,
                    "index_not_increasing",
                    Severity::Error,
                    Some(at),
                    Some(e.offset),
                    format!(
                        "entry {} (offset {}, position {}) does not follow (offset {po}, position {pp})",
                        self.next - 1,
                        e.offset,
                        e.position
                    ),
                );
                continue;
            }
            self.prev = Some((e.offset, e.position));
            let into_tail = torn && u64::from(e.position) >= valid_end;
            let severity = if into_tail { c.tail_severity() } else { Severity::Error };
            let path = Self::path(c);
            let msg = if u64::from(e.position) >= file_len {
                format!(
                    "entry {} points at position {}, past the end of the log ({file_len} bytes)",
                    self.next - 1,
                    e.position
                )
            } else {
                format!("entry {} points at position {}, after the last complete batch", self.next - 1, e.position)
            };
            c.add(&path, "index_past_end", severity, Some(at), Some(e.offset), msg);
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

    /// Check the entries whose offset is at or below this batch's last.
    fn batch(&mut self, b: &Seen, c: &mut Checker<'_>) {
        let Some(idx) = self.idx else { return };
        while self.next < idx.entries {
            let e = idx.entry(self.next);
            if e.offset > b.last {
                return;
            }
            let at = (self.next * crate::index::TIME_ENTRY) as u64;
            self.next += 1;
            if let Some((pt, po)) = self.prev
                && (e.timestamp < pt || e.offset < po)
            {
                let path = Self::path(c);
                c.add(
                    &path,
                    "timeindex_not_increasing",
                    Severity::Error,
                    Some(at),
                    Some(e.offset),
                    format!(
                        "entry {} ({}, offset {}) goes back from ({pt}, offset {po})",
                        self.next - 1,
                        e.timestamp,
                        e.offset
                    ),
                );
                continue;
            }
            self.prev = Some((e.timestamp, e.offset));
            // Current brokers point at the batch's last offset, older ones at
            // a record inside it: any offset the batch covers is accepted.
            if e.offset < b.base {
                let path = Self::path(c);
                c.add(
                    &path,
                    "timeindex_mismatch",
                    Severity::Error,
                    Some(at),
                    Some(e.offset),
                    format!("entry {} points at offset {}, which no batch holds", self.next - 1, e.offset),
                );
            } else if e.timestamp != b.max_timestamp {
                let path = Self::path(c);
                c.add(&path, "timeindex_mismatch", Severity::Error, Some(at), Some(e.offset), format!(
                    "entry {} says timestamp {} for offset {}, but that batch's max timestamp is {} (batch at position {})",
                    self.next - 1, e.timestamp, e.offset, b.max_timestamp, b.position
                ));
            }
        }
    }

    fn finish(&mut self, last_offset: Option<i64>, torn: bool, c: &mut Checker<'_>) {
        let Some(idx) = self.idx else { return };
        if idx.trailing_bytes() != 0 {
            let path = Self::path(c);
            c.add(
                &path,
                "timeindex_size",
                Severity::Error,
                None,
                None,
                format!("{} bytes is not a multiple of 12", idx.byte_len()),
            );
        }
        while self.next < idx.entries {
            let e = idx.entry(self.next);
            let at = (self.next * crate::index::TIME_ENTRY) as u64;
            self.next += 1;
            if let Some((pt, po)) = self.prev
                && (e.timestamp < pt || e.offset < po)
            {
                let path = Self::path(c);
                c.add(
                    &path,
                    "timeindex_not_increasing",
                    Severity::Error,
                    Some(at),
                    Some(e.offset),
                    format!(
                        "entry {} ({}, offset {}) goes back from ({pt}, offset {po})",
                        self.next - 1,
                        e.timestamp,
                        e.offset
                    ),
                );
                continue;
            }
            self.prev = Some((e.timestamp, e.offset));
            let severity = if torn { c.tail_severity() } else { Severity::Error };
            let path = Self::path(c);
            c.add(
                &path,
                "timeindex_past_end",
                severity,
                Some(at),
                Some(e.offset),
                format!(
                    "entry {} points at offset {}, beyond the last offset in the log ({})",
                    self.next - 1,
                    e.offset,
                    last_offset.map_or("none".into(), |o| o.to_string())
                ),
            );
        }
    }
}

/// Checks across the segments of one partition, after each was verified:
/// segments must not overlap.
pub fn cross_segment(segments: &[Segment], reports: &[SegmentReport]) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut prev: Option<(i64, &Segment)> = None;
    for (seg, rep) in segments.iter().zip(reports) {
        // Data that repeats earlier offsets, or a file name whose base offset
        // claims offsets the previous segment already holds.
        if let (Some((prev_last, prev_seg)), Some((first, position))) = (prev, rep.first_offset)
            && (first <= prev_last || seg.base_offset <= prev_last)
        {
            out.push(Finding {
                file: seg.log.clone(),
                kind: "segment_overlap",
                severity: Severity::Error,
                position: Some(position),
                offset: Some(first),
                message: format!(
                    "base offset {} / first offset {first} is not above the last offset {prev_last} of {}",
                    seg.base_offset,
                    prev_seg.log.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()
                ),
            });
        }
        if let Some(last) = rep.last_offset {
            prev = Some((prev.map_or(last, |(p, _)| p.max(last)), seg));
        }
    }
    out
}
