//! Finding an offset or a timestamp the way a broker does: the segment by a
//! floor lookup on base offsets, the sparse index by binary search, then a
//! short forward scan of the log.

use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::files::logdir::{LogStartSource, active_segment, log_start_offset};
use crate::files::mmap::Mapped;
use crate::files::partition::Segment;
use crate::files::read::FileSource;
use crate::format::batch;
use crate::format::entry::Decoder;
use crate::format::head::EntryHead;
use crate::format::index::{OffsetEntry, OffsetIndex, Probes, TimeIndex};
use crate::format::walk::Walker;

/// Lookups read the log in small pieces: about one index interval.
const SCAN_CHUNK: usize = 4 << 10;

#[derive(Clone, Debug, Default, Serialize)]
pub struct OffsetAnswer {
    pub target: i64,
    /// A record with exactly the target offset exists.
    pub found: bool,
    /// The first existing offset at or above the target.
    pub offset: Option<i64>,
    pub segment: Option<PathBuf>,
    /// Start of the batch holding `offset`.
    pub position: Option<u64>,
    pub batch_base_offset: Option<i64>,
    pub batch_last_offset: Option<i64>,
    pub timestamp: Option<i64>,
    pub index_entry: Option<OffsetEntry>,
    pub bytes_scanned: u64,
    /// When no offset at or above the target exists: the log end offset
    /// (one past the last record), as `find-time latest` finds it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_end_offset: Option<i64>,
    /// The record at `offset`: its key and the first [`PREVIEW`] bytes of
    /// its value (the command line shows them in its own encodings).
    #[serde(skip)]
    pub record: Option<Preview>,
    #[serde(skip)]
    pub explain: Vec<String>,
    #[serde(skip)]
    pub warnings: Vec<String>,
}

/// Bytes of a found record's value kept for showing.
pub const PREVIEW: usize = 256;

/// A found record, for showing: the key whole (keys are short; a long one
/// is cut at [`PREVIEW`] bytes too), the start of the value and the sizes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Preview {
    pub key: Option<Vec<u8>>,
    pub key_size: usize,
    pub value: Option<Vec<u8>>,
    pub value_size: usize,
    pub headers: usize,
}

impl Preview {
    fn of(r: &crate::format::record::Record<'_>) -> Preview {
        let cut = |b: &[u8]| b[..b.len().min(PREVIEW)].to_vec();
        Preview {
            key: r.key.map(cut),
            key_size: r.key.map_or(0, <[u8]>::len),
            value: r.value.map(cut),
            value_size: r.value.map_or(0, <[u8]>::len),
            headers: r.headers.len(),
        }
    }
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct TimeAnswer {
    pub target_timestamp: i64,
    pub found: bool,
    pub offset: Option<i64>,
    pub timestamp: Option<i64>,
    pub segment: Option<PathBuf>,
    pub position: Option<u64>,
    pub batch_base_offset: Option<i64>,
    pub bytes_scanned: u64,
    #[serde(skip)]
    pub explain: Vec<String>,
    #[serde(skip)]
    pub warnings: Vec<String>,
}

/// ListOffsets' special targets and a plain timestamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeTarget {
    Earliest,
    Latest,
    MaxTimestamp,
    At(i64),
}

fn name(p: &Path) -> String {
    p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Open an index if it exists and looks usable; say why not otherwise.
fn open_offset_index(seg: &Segment, log_len: u64, warnings: &mut Vec<String>) -> Option<OffsetIndex<Mapped>> {
    let Some(path) = &seg.index else {
        warnings.push(format!("{}: no offset index; scanning the log from its start", name(&seg.log)));
        return None;
    };
    match Mapped::open(path) {
        Ok(map) => {
            let idx = OffsetIndex::new(map, seg.base_offset);
            if idx.trailing_bytes() != 0 {
                warnings.push(format!("{}: size is not a multiple of 8; not used", name(path)));
                return None;
            }
            if idx.entries > 0 && (idx.entry(idx.entries - 1).position as u64) > log_len {
                warnings.push(format!("{}: points past the end of the log; not used", name(path)));
                return None;
            }
            Some(idx)
        }
        Err(e) => {
            warnings.push(format!("{}: {e}; scanning the log from its start", name(path)));
            None
        }
    }
}

fn open_time_index(seg: &Segment) -> Option<TimeIndex<Mapped>> {
    let map = Mapped::open(seg.timeindex.as_ref()?).ok()?;
    let idx = TimeIndex::new(map, seg.base_offset);
    (idx.trailing_bytes() == 0).then_some(idx)
}

/// The segment whose base offset is the greatest not above `target`
/// (or the first one when the target is below them all).
pub fn floor_segment(segments: &[Segment], target: i64) -> usize {
    segments.partition_point(|s| s.base_offset <= target).saturating_sub(1)
}

struct Hit {
    offset: i64,
    timestamp: i64,
    position: u64,
    base: i64,
    last: i64,
    record: Preview,
}

/// Scan batches of `seg` from `start`, returning the first record that
/// `want` accepts among batches that `batch_may_hold` accepts.
fn scan(
    seg: &Segment,
    start: u64,
    decoder: &mut Decoder,
    bytes_scanned: &mut u64,
    batch_may_hold: impl Fn(i64, i64) -> bool,
    want: impl Fn(i64, i64) -> bool,
) -> io::Result<Option<Hit>> {
    let mut walker = Walker::new(open_log(seg)?.with_chunk(SCAN_CHUNK));
    walker.seek(start);
    let mut hit = None;
    // Headers first: a batch is read whole only when it may hold the answer.
    while let Some((position, size, head)) = walker.next_head(batch::HEADER_LEN)? {
        let Some((last, max_ts)) = EntryHead::new(head).last_offset_and_max_timestamp() else { continue };
        if !batch_may_hold(last, max_ts) {
            continue;
        }
        let bytes = walker.read_entry(position, size)?;
        let Ok(mut d) = decoder.decode(bytes, position) else { continue };
        let base = d.info.base_offset;
        if let Some(r) = d.records().filter_map(Result::ok).find(|r| want(r.offset, r.timestamp)) {
            hit = Some(Hit { offset: r.offset, timestamp: r.timestamp, position, base, last, record: Preview::of(&r) });
            break;
        }
    }
    *bytes_scanned += walker.source().bytes_read();
    Ok(hit)
}

pub fn find_offset(segments: &[Segment], target: i64) -> io::Result<OffsetAnswer> {
    let mut a = OffsetAnswer { target, ..Default::default() };
    if segments.is_empty() {
        return Ok(a);
    }
    let mut decoder = Decoder::default();
    let first = floor_segment(segments, target);
    a.explain.push(format!(
        "{} segments; floor of {target} by base offset: {} (base {})",
        segments.len(),
        name(&segments[first].log),
        segments[first].base_offset
    ));
    for (i, seg) in segments.iter().enumerate().skip(first) {
        let log_len = std::fs::metadata(&seg.log)?.len();
        let mut start = 0;
        if i == first
            && let Some(idx) = open_offset_index(seg, log_len, &mut a.warnings)
        {
            let mut probes = Probes::default();
            a.index_entry = idx.lookup(target, &mut probes);
            start = a.index_entry.map_or(0, |e| u64::from(e.position));
            a.explain.push(format!(
                "{}: {} entries, {} probes: {}",
                name(seg.index.as_deref().unwrap_or(Path::new(""))),
                idx.entries,
                probes.probes,
                match a.index_entry {
                    Some(e) => format!("entry offset {} -> position {}", e.offset, e.position),
                    None => "no entry at or below the target -> position 0".into(),
                }
            ));
        }
        let before = a.bytes_scanned;
        let hit = scan(seg, start, &mut decoder, &mut a.bytes_scanned, |last, _| last >= target, |o, _| o >= target)?;
        a.explain.push(format!(
            "{}: scanned {} bytes from position {start}{}",
            name(&seg.log),
            a.bytes_scanned - before,
            if hit.is_some() { "" } else { ", nothing at or above the target; next segment" }
        ));
        if let Some(h) = hit {
            a.found = h.offset == target;
            a.offset = Some(h.offset);
            a.timestamp = Some(h.timestamp);
            a.segment = Some(seg.log.clone());
            a.position = Some(h.position);
            a.batch_base_offset = Some(h.base);
            a.batch_last_offset = Some(h.last);
            a.record = Some(h.record);
            return Ok(a);
        }
    }
    let latest = find_time(segments, TimeTarget::Latest)?;
    a.log_end_offset = latest.offset;
    if let Some(leo) = latest.offset {
        a.explain.push(format!("no offset at or above {target}: the log end offset is {leo}"));
    }
    Ok(a)
}

/// The largest timestamp in a segment: the time index's last entry for a
/// rolled segment (Kafka forces one in at roll), and for the active one the
/// batches after the last entry too.
fn largest_timestamp(seg: &Segment, active: bool, scanned: &mut u64) -> io::Result<i64> {
    let tidx = open_time_index(seg);
    let last = tidx.as_ref().and_then(|t| t.last());
    if let (Some(e), false) = (last, active) {
        return Ok(e.timestamp);
    }
    // Scan from the batch of the last time-index entry (or the start).
    let start = match (last, seg.index.as_ref().and_then(|p| Mapped::open(p).ok())) {
        (Some(e), Some(map)) => {
            let idx = OffsetIndex::new(map, seg.base_offset);
            idx.lookup(e.offset, &mut Probes::default()).map_or(0, |x| u64::from(x.position))
        }
        _ => 0,
    };
    let mut max = last.map_or(-1, |e| e.timestamp);
    each_head(seg, start, scanned, |_, _, (_, ts)| max = max.max(ts))?;
    Ok(max)
}

/// Call `f(position, size, (last offset, max timestamp))` for every batch of
/// `seg` from `start`, reading only batch headers.
fn each_head(seg: &Segment, start: u64, scanned: &mut u64, mut f: impl FnMut(u64, u64, (i64, i64))) -> io::Result<()> {
    let mut walker = Walker::new(open_log(seg)?.with_chunk(SCAN_CHUNK));
    walker.seek(start);
    while let Some((position, size, head)) = walker.next_head(batch::HEADER_LEN)? {
        if let Some(summary) = EntryHead::new(head).last_offset_and_max_timestamp() {
            f(position, size, summary);
        }
    }
    *scanned += walker.source().bytes_read();
    Ok(())
}

pub fn find_time(segments: &[Segment], target: TimeTarget) -> io::Result<TimeAnswer> {
    let mut a = TimeAnswer { target_timestamp: -1, ..Default::default() };
    if segments.is_empty() {
        return Ok(a);
    }
    let mut decoder = Decoder::default();
    let fill = |a: &mut TimeAnswer, seg: &Segment, h: Hit| {
        a.found = true;
        a.offset = Some(h.offset);
        a.timestamp = Some(h.timestamp);
        a.segment = Some(seg.log.clone());
        a.position = Some(h.position);
        a.batch_base_offset = Some(h.base);
    };
    match target {
        TimeTarget::Earliest => {
            // As ListOffsets: the log start offset, whether or not a record
            // with that offset is still there (the cleaner may have removed
            // it). The batch shown is the first one at or after it.
            a.target_timestamp = -2;
            if let Some((start, source)) = log_start_offset(segments) {
                a.explain.push(match source {
                    LogStartSource::FirstSegment => {
                        format!("earliest: log start offset {start}, the first segment's base offset")
                    }
                    LogStartSource::Checkpoint(p) => {
                        format!("earliest: log start offset {start}, from {}", p.display())
                    }
                });
                a.found = true;
                a.offset = Some(start);
                for seg in &segments[floor_segment(segments, start)..] {
                    let hit =
                        scan(seg, 0, &mut decoder, &mut a.bytes_scanned, |last, _| last >= start, |o, _| o >= start)?;
                    if let Some(h) = hit {
                        a.timestamp = Some(h.timestamp);
                        a.segment = Some(seg.log.clone());
                        a.position = Some(h.position);
                        a.batch_base_offset = Some(h.base);
                        break;
                    }
                }
            }
        }
        TimeTarget::Latest => {
            a.target_timestamp = -1;
            // The log end offset: one past the last batch of the last
            // non-empty segment, found from its last index entry.
            for (i, seg) in segments.iter().enumerate().rev() {
                let log_len = std::fs::metadata(&seg.log)?.len();
                let start = open_offset_index(seg, log_len, &mut a.warnings)
                    .and_then(|i| i.entries.checked_sub(1).map(|n| u64::from(i.entry(n).position)))
                    .unwrap_or(0);
                let mut end = None;
                each_head(seg, start, &mut a.bytes_scanned, |position, size, (last, _)| {
                    end = Some((last + 1, position, size));
                })?;
                if let Some((leo, position, size)) = end {
                    let mut walker = Walker::new(open_log(seg)?);
                    let bytes = walker.read_entry(position, size)?;
                    let base = decoder.decode(bytes, position).map_or(leo - 1, |d| d.info.base_offset);
                    a.explain.push(format!("latest: log end offset after the last batch of {}", name(&seg.log)));
                    a.found = true;
                    a.offset = Some(leo);
                    a.segment = Some(seg.log.clone());
                    a.position = Some(position);
                    a.batch_base_offset = Some(base);
                    break;
                }
                if active_segment(segments) == Some(i) {
                    // An empty active segment: the broker rolled it at the
                    // log end offset, which is its base offset.
                    a.explain.push(format!("latest: log end offset, the base offset of the empty {}", name(&seg.log)));
                    a.found = true;
                    a.offset = Some(seg.base_offset);
                    a.segment = Some(seg.log.clone());
                    break;
                }
            }
        }
        TimeTarget::MaxTimestamp => {
            a.target_timestamp = -3;
            let mut best: Option<(i64, usize)> = None;
            for (i, seg) in segments.iter().enumerate() {
                let ts = largest_timestamp(seg, active_segment(segments) == Some(i), &mut a.bytes_scanned)?;
                if ts >= 0 && best.is_none_or(|(b, _)| ts > b) {
                    best = Some((ts, i));
                }
            }
            if let Some((ts, i)) = best {
                let seg = &segments[i];
                a.explain.push(format!("max-timestamp: {ts} in {}", name(&seg.log)));
                if let Some(h) = scan(seg, 0, &mut decoder, &mut a.bytes_scanned, |_, m| m == ts, |_, t| t == ts)? {
                    fill(&mut a, seg, h);
                }
            }
        }
        TimeTarget::At(t) => {
            a.target_timestamp = t;
            // As ListOffsets: records below the log start offset (still in a
            // segment after DeleteRecords) are not an answer.
            let start_offset = log_start_offset(segments).map_or(i64::MIN, |(o, _)| o);
            for (i, seg) in segments.iter().enumerate() {
                let largest = largest_timestamp(seg, active_segment(segments) == Some(i), &mut a.bytes_scanned)?;
                a.explain.push(format!("{}: largest timestamp {largest}", name(&seg.log)));
                if largest < t {
                    continue;
                }
                let log_len = std::fs::metadata(&seg.log)?.len();
                let mut probes = Probes::default();
                let time_entry = open_time_index(seg).and_then(|ti| ti.lookup(t, &mut probes));
                let from_offset = time_entry.map_or(seg.base_offset, |e| e.offset).max(start_offset);
                let start = open_offset_index(seg, log_len, &mut a.warnings)
                    .and_then(|idx| idx.lookup(from_offset, &mut probes))
                    .map_or(0, |e| u64::from(e.position));
                a.explain.push(format!(
                    "{}: time index -> {}; offset index -> position {start} ({} probes)",
                    name(&seg.log),
                    match time_entry {
                        Some(e) => format!("entry ({}, offset {})", e.timestamp, e.offset),
                        None => "no entry at or below the target".into(),
                    },
                    probes.probes
                ));
                let before = a.bytes_scanned;
                let hit = scan(
                    seg,
                    start,
                    &mut decoder,
                    &mut a.bytes_scanned,
                    |last, m| m >= t && last >= start_offset,
                    |o, ts| ts >= t && o >= start_offset,
                )?;
                a.explain.push(format!("{}: scanned {} bytes", name(&seg.log), a.bytes_scanned - before));
                if let Some(h) = hit {
                    fill(&mut a, seg, h);
                }
                // As ListOffsets: the first segment that can hold the target
                // answers, found or not.
                break;
            }
        }
    }
    Ok(a)
}

/// A segment's log, for a scan; an error names the file (on a live broker,
/// retention may delete it between listing and opening).
fn open_log(seg: &Segment) -> io::Result<FileSource> {
    FileSource::open(&seg.log).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", seg.log.display())))
}
