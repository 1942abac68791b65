//! Statistics over segments in the spirit of `pg_waldump --stats`: batches,
//! records and bytes by magic, codec and batch kind; compression ratios;
//! offset range and gaps; timestamp range; size distributions and a
//! distinct-key estimate.
//!
//! [`Stats`] is a monoid: the statistics of a run of batches merged with
//! those of the run that follows give the statistics of both. Segments, and
//! windows of batches inside a segment, are therefore summarised in parallel
//! and merged in offset order. Memory is fixed: the distributions are
//! log-scale histograms and the key count is a HyperLogLog.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

use serde::Serialize;

use crate::analysis::sketch::{Distribution, Histogram, HyperLogLog};
use crate::analysis::window::{EntryFold, Event, Reading, WindowSize, walk_segment};
use crate::files::change::Change;
use crate::format::batch::{BatchV2, TimestampType};
use crate::format::compression::{Compression, DEFAULT_MAX_DECOMPRESSED};
use crate::format::control;
use crate::format::entry::{Batch, Decoder};
use crate::format::error::Result;
use crate::format::head::EntryHead;
use crate::format::record::Record;
use crate::format::walk::Step;

/// What a batch is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BatchKind {
    Data,
    /// A transactional data batch.
    Transactional,
    /// A control batch, by the type of its first control record (-1 when it
    /// has none that parses).
    Control(i16),
}

impl BatchKind {
    pub fn name(self) -> String {
        match self {
            BatchKind::Data => "data".into(),
            BatchKind::Transactional => "transactional".into(),
            BatchKind::Control(-1) => "control".into(),
            BatchKind::Control(t) => format!("control:{}", control::type_name(t)),
        }
    }
}

/// Batches of one magic, codec and kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Group {
    pub batches: u64,
    pub records: u64,
    /// Whole batches as stored, log overhead included.
    pub bytes: u64,
    /// The records section as stored (compressed, for a compressed batch).
    pub stored_records_bytes: u64,
    /// The records section after decompression.
    pub uncompressed_records_bytes: u64,
}

impl Group {
    fn add(&mut self, o: &Group) {
        self.batches += o.batches;
        self.records += o.records;
        self.bytes += o.bytes;
        self.stored_records_bytes += o.stored_records_bytes;
        self.uncompressed_records_bytes += o.uncompressed_records_bytes;
    }
}

/// (magic, codec, kind); `None` for a codec id that names no codec.
pub type GroupKey = (i8, Option<Compression>, BatchKind);

/// Offsets seen, in the order the batches were added.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Offsets {
    /// Base offset of the first batch.
    pub first: i64,
    /// Last offset of the last batch.
    pub last: i64,
    /// Offsets missing between one batch and the next (compaction, or loss).
    pub missing_between: u64,
    /// How many such holes there are.
    pub gaps_between: u64,
    /// Offsets a batch spans but holds no record for (compaction inside a batch).
    pub missing_within: u64,
    pub batches_with_missing: u64,
    /// Batches whose base offset is not above the previous batch's last.
    pub not_increasing: u64,
}

/// Record timestamps in milliseconds; negative ones ("no timestamp") are skipped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Timestamps {
    pub first: i64,
    pub last: i64,
    pub min: i64,
    pub max: i64,
}

/// Bytes of the files that hold no complete batch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Unread {
    /// An incomplete entry at the end (a torn write).
    pub trailing_bytes: u64,
    /// Zeros to the end (a preallocated segment).
    pub zero_fill_bytes: u64,
    /// Bytes after a size field that cannot be right, and entries too large to read.
    pub unreadable_bytes: u64,
}

#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub groups: BTreeMap<GroupKey, Group>,
    /// Batches whose header or records could not be decoded (their records
    /// up to the damage are counted).
    pub damaged_batches: u64,
    /// Entries whose stored CRC is not the one computed over their bytes.
    pub crc_mismatches: u64,
    pub offsets: Option<Offsets>,
    pub timestamps: Option<Timestamps>,
    pub record_sizes: Histogram,
    pub batch_sizes: Histogram,
    pub keys: HyperLogLog,
    /// Data records with a key (counted in `keys`) and with a null key.
    pub keyed_records: u64,
    pub null_keys: u64,
    pub unread: Unread,
}

/// What reading one batch's records gave.
#[derive(Default)]
struct Read {
    records: u64,
    /// Decompressed records bytes.
    bytes: u64,
    control_type: Option<i16>,
    damaged: bool,
}

/// Buffers reused from batch to batch by [`Stats::add_entry`].
pub struct EntryReader {
    decoder: Decoder,
    scratch: Vec<u8>,
    max_decompressed: usize,
}

impl EntryReader {
    pub fn new(max_decompressed: usize) -> Self {
        EntryReader { decoder: Decoder::new(max_decompressed), scratch: Vec::new(), max_decompressed }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub max_decompressed: usize,
    pub reading: Reading,
}

impl Default for Options {
    fn default() -> Self {
        Options { max_decompressed: DEFAULT_MAX_DECOMPRESSED, reading: Reading::Mapped }
    }
}

impl Stats {
    pub fn totals(&self) -> Group {
        let mut t = Group::default();
        for g in self.groups.values() {
            t.add(g);
        }
        t
    }

    /// Stored and uncompressed records bytes per codec, in codec order.
    pub fn by_codec(&self) -> BTreeMap<Option<Compression>, Group> {
        let mut out: BTreeMap<Option<Compression>, Group> = BTreeMap::new();
        for ((_, codec, _), g) in &self.groups {
            out.entry(*codec).or_default().add(g);
        }
        out
    }

    pub fn record_size(&self) -> Option<Distribution> {
        self.record_sizes.distribution()
    }

    pub fn batch_size(&self) -> Option<Distribution> {
        self.batch_sizes.distribution()
    }

    pub fn distinct_keys(&self) -> u64 {
        self.keys.estimate()
    }

    fn offsets_follow(&mut self, base: i64, last: i64) {
        match &mut self.offsets {
            None => self.offsets = Some(Offsets { first: base, last, ..Offsets::default() }),
            Some(o) => {
                if base <= o.last {
                    o.not_increasing += 1;
                } else if base > o.last.saturating_add(1) {
                    o.missing_between = o.missing_between.saturating_add(base.abs_diff(o.last) - 1);
                    o.gaps_between += 1;
                }
                o.last = last;
            }
        }
    }

    fn timestamp(&mut self, ts: i64) {
        if ts < 0 {
            return;
        }
        match &mut self.timestamps {
            None => self.timestamps = Some(Timestamps { first: ts, last: ts, min: ts, max: ts }),
            Some(t) => {
                t.last = ts;
                t.min = t.min.min(ts);
                t.max = t.max.max(ts);
            }
        }
    }

    /// Add the entry `bytes` (log overhead included) at `position`. Entries
    /// must be added in file order. Every entry's CRC is checked (a
    /// mismatch is counted, and the entry still summarised); legacy entries
    /// go through the decoder, which unwraps compressed wrappers.
    pub fn add_entry(&mut self, rd: &mut EntryReader, bytes: &[u8], position: u64) {
        self.batch_sizes.add(bytes.len() as u64);
        let head = EntryHead::new(bytes);
        if head.magic().is_some() && !head.crc_valid() {
            self.crc_mismatches += 1;
        }
        let parsed = if EntryHead::new(bytes).magic() == Some(2) {
            BatchV2::parse(bytes, position).map(|b| {
                let h = b.header;
                let stored = b.records_bytes().len() as u64;
                let read = if h.is_control() {
                    match b.records(&mut rd.scratch, rd.max_decompressed) {
                        Ok(it) => self.take_records(it, true),
                        Err(_) => Read { damaged: true, ..Read::default() },
                    }
                } else {
                    if h.compression() == Some(Compression::None) {
                        warm(b.records_bytes());
                    }
                    self.visit_records(&b, rd)
                };
                let kind = (h.magic, h.compression(), h.is_control(), h.is_transactional());
                (kind, h.base_offset, h.last_offset(), stored, read)
            })
        } else {
            rd.decoder.decode(bytes, position).map(|mut d| {
                let info = &d.info;
                let kind = (info.magic, info.compression, info.is_control, info.is_transactional);
                let (base, last) = (info.base_offset, info.last_offset);
                let stored = match &d.batch {
                    Batch::Legacy(m) if m.codec_id() != 0 => m.value.map_or(0, |v| v.len() as u64),
                    Batch::Legacy(m) => m.size_in_file() as u64,
                    Batch::V2(b) => b.records_bytes().len() as u64,
                };
                let wrapper_damaged = d.wrapper_error().is_some();
                let mut read = self.take_records(d.records(), false);
                read.damaged |= wrapper_damaged;
                (kind, base, last, stored, read)
            })
        };
        let Ok(((magic, codec, is_control, is_txn), base, last, stored, read)) = parsed else {
            self.damaged_batches += 1;
            self.unread.unreadable_bytes += bytes.len() as u64;
            return;
        };
        let kind = match (is_control, is_txn) {
            (true, _) => BatchKind::Control(read.control_type.unwrap_or(-1)),
            (false, true) => BatchKind::Transactional,
            (false, false) => BatchKind::Data,
        };
        if read.damaged {
            self.damaged_batches += 1;
        }
        let g = self.groups.entry((magic, codec, kind)).or_default();
        g.add(&Group {
            batches: 1,
            records: read.records,
            bytes: bytes.len() as u64,
            stored_records_bytes: stored,
            uncompressed_records_bytes: read.bytes,
        });
        self.offsets_follow(base, last);
        let span = last.wrapping_sub(base).wrapping_add(1);
        if !read.damaged && span > read.records as i64 {
            let o = self.offsets.as_mut().expect("set just above");
            o.missing_within = o.missing_within.saturating_add(span as u64 - read.records);
            o.batches_with_missing += 1;
        }
    }

    /// Count the records of a v2 data batch, up to the first that fails,
    /// the same as [`Stats::take_records`] but without building a `Record`
    /// per record: the hot path.
    fn visit_records(&mut self, b: &BatchV2<'_>, rd: &mut EntryReader) -> Read {
        let h = &b.header;
        let log_append_time = (h.timestamp_type() == TimestampType::LogAppendTime).then_some(h.max_timestamp);
        let mut read = Read::default();
        let complete = b.visit(&mut rd.scratch, rd.max_decompressed, |f| {
            let timestamp = log_append_time.unwrap_or_else(|| h.base_timestamp.wrapping_add(f.timestamp_delta));
            self.tally(&mut read, f.size, timestamp);
            self.key(f.key);
        });
        read.damaged = !complete;
        read
    }

    /// Count the records of one batch, up to the first that fails.
    fn take_records<'r>(&mut self, records: impl Iterator<Item = Result<Record<'r>>>, control: bool) -> Read {
        let mut read = Read::default();
        for r in records {
            let Ok(r) = r else {
                read.damaged = true;
                break;
            };
            self.tally(&mut read, r.size, r.timestamp);
            if let Some(c) = &r.control {
                read.control_type.get_or_insert(c.type_id);
            } else if !control {
                self.key(r.key);
            }
        }
        read
    }

    /// One record read: its count, size and timestamp.
    #[inline]
    fn tally(&mut self, read: &mut Read, size: usize, timestamp: i64) {
        read.records += 1;
        read.bytes += size as u64;
        self.record_sizes.add(size as u64);
        self.timestamp(timestamp);
    }

    /// A data record's key, for the keyed/null counts and the distinct-key sketch.
    #[inline]
    fn key(&mut self, key: Option<&[u8]>) {
        match key {
            Some(k) => {
                self.keyed_records += 1;
                self.keys.add(k);
            }
            None => self.null_keys += 1,
        }
    }

    /// Account for a walk step that is not a complete entry.
    pub fn add_step(&mut self, step: &Step<'_>) {
        match step {
            Step::Entry { .. } => {}
            Step::Trailing { len, .. } => self.unread.trailing_bytes += len,
            Step::ZeroFill { len, .. } => self.unread.zero_fill_bytes += len,
            Step::TooLarge { size, .. } => {
                self.damaged_batches += 1;
                self.unread.unreadable_bytes += size;
            }
            Step::Corrupt(_) => self.damaged_batches += 1,
        }
    }

    /// Append the statistics of the batches that follow these (the next
    /// window of a segment, or the next segment of a partition).
    pub fn merge(&mut self, later: &Stats) {
        self.merge_counts(later);
        if let Some(b) = later.offsets {
            match &mut self.offsets {
                None => self.offsets = Some(b),
                Some(a) => {
                    let mut joined = *a;
                    joined.last = b.last;
                    joined.missing_between = joined.missing_between.saturating_add(b.missing_between);
                    joined.gaps_between += b.gaps_between;
                    joined.missing_within = joined.missing_within.saturating_add(b.missing_within);
                    joined.batches_with_missing += b.batches_with_missing;
                    joined.not_increasing += b.not_increasing;
                    if b.first <= a.last {
                        joined.not_increasing += 1;
                    } else if b.first > a.last.saturating_add(1) {
                        joined.missing_between = joined.missing_between.saturating_add(b.first.abs_diff(a.last) - 1);
                        joined.gaps_between += 1;
                    }
                    *a = joined;
                }
            }
        }
        if let Some(b) = later.timestamps {
            match &mut self.timestamps {
                None => self.timestamps = Some(b),
                Some(a) => {
                    a.last = b.last;
                    a.min = a.min.min(b.min);
                    a.max = a.max.max(b.max);
                }
            }
        }
    }

    /// Add the statistics of another partition: counts, distributions and
    /// keys add up; offsets and first/last timestamps of different
    /// partitions do not follow each other, so only the gap counts and the
    /// time range (min, max) are kept.
    pub fn absorb(&mut self, other: &Stats) {
        self.merge_counts(other);
        if let Some(b) = other.offsets {
            let a = self.offsets.get_or_insert(Offsets { first: b.first, last: b.last, ..Offsets::default() });
            a.missing_between = a.missing_between.saturating_add(b.missing_between);
            a.gaps_between += b.gaps_between;
            a.missing_within = a.missing_within.saturating_add(b.missing_within);
            a.batches_with_missing += b.batches_with_missing;
            a.not_increasing += b.not_increasing;
            a.first = a.first.min(b.first);
            a.last = a.last.max(b.last);
        }
        if let Some(b) = other.timestamps {
            let a = self.timestamps.get_or_insert(b);
            a.min = a.min.min(b.min);
            a.max = a.max.max(b.max);
            a.first = a.min;
            a.last = a.max;
        }
    }

    fn merge_counts(&mut self, o: &Stats) {
        for (k, g) in &o.groups {
            self.groups.entry(*k).or_default().add(g);
        }
        self.damaged_batches += o.damaged_batches;
        self.crc_mismatches += o.crc_mismatches;
        self.record_sizes.merge(&o.record_sizes);
        self.batch_sizes.merge(&o.batch_sizes);
        self.keys.merge(&o.keys);
        self.keyed_records += o.keyed_records;
        self.null_keys += o.null_keys;
        self.unread.trailing_bytes += o.unread.trailing_bytes;
        self.unread.zero_fill_bytes += o.unread.zero_fill_bytes;
        self.unread.unreadable_bytes += o.unread.unreadable_bytes;
    }
}

/// Batches summarised in parallel at a time, and the bytes they may span
/// (the mapped pages of a window are released once it is summarised).
const WINDOW: WindowSize = WindowSize { entries: 4096, bytes: 32 << 20 };

/// Every entry added to a [`Stats`]; runs merge in order.
struct Summarise {
    max_decompressed: usize,
}

impl EntryFold for Summarise {
    type Reader = EntryReader;
    type Acc = Stats;
    fn reader(&self) -> EntryReader {
        EntryReader::new(self.max_decompressed)
    }
    fn empty(&self) -> Stats {
        Stats::default()
    }
    fn add(&self, reader: &mut EntryReader, acc: &mut Stats, bytes: &[u8], position: u64) {
        acc.add_entry(reader, bytes, position);
    }
    fn merge(&self, acc: &mut Stats, later: Stats) {
        acc.merge(&later);
    }
}

/// Read one byte of every cache line of `bytes`, in order. The record walk
/// reads only the first bytes of each record, hundreds of bytes apart: a
/// stride the hardware prefetcher does not follow, so without this every
/// record waits on memory. One sequential pass first streams the batch into
/// cache (`stats -j1` on a 1 GiB segment of 500-byte records: 0.22 s
/// without, 0.13 s with).
fn warm(bytes: &[u8]) {
    let acc = bytes.iter().step_by(64).fold(0u8, |a, &b| a ^ b);
    std::hint::black_box(acc);
}

/// Statistics of one `.log` file, read once.
pub fn segment_stats(log: &Path, opts: &Options) -> io::Result<Stats> {
    segment_stats_read(log, opts).map(|(stats, _)| stats)
}

/// As [`segment_stats`], and how the file changed while it was read, if it
/// did (then the statistics are of what was read, zeros past a truncation).
pub fn segment_stats_read(log: &Path, opts: &Options) -> io::Result<(Stats, Option<Change>)> {
    let mut stats = Stats::default();
    let fold = Summarise { max_decompressed: opts.max_decompressed };
    let walked = walk_segment(log, opts.reading, WINDOW, &fold, |event| match event {
        Event::Entries(part) => stats.merge(&part),
        Event::Step(step) => stats.add_step(step),
    })?;
    Ok((stats, walked.change))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_windows_keeps_gaps_at_the_seams() {
        let mut a = Stats::default();
        a.offsets_follow(0, 4);
        a.timestamp(10);
        let mut b = Stats::default();
        b.offsets_follow(10, 12);
        b.offsets_follow(14, 20);
        b.timestamp(5);
        b.timestamp(30);
        let mut seq = Stats::default();
        seq.offsets_follow(0, 4);
        seq.offsets_follow(10, 12);
        seq.offsets_follow(14, 20);
        a.merge(&b);
        let o = a.offsets.unwrap();
        assert_eq!(o, seq.offsets.unwrap());
        assert_eq!((o.first, o.last, o.missing_between, o.gaps_between), (0, 20, 6, 2));
        assert_eq!(a.timestamps, Some(Timestamps { first: 10, last: 30, min: 5, max: 30 }));
        // Empty sides change nothing.
        let mut e = Stats::default();
        e.merge(&a);
        e.merge(&Stats::default());
        assert_eq!(e.offsets, a.offsets);
    }

    #[test]
    fn backwards_batches_are_counted_not_gapped() {
        let mut s = Stats::default();
        s.offsets_follow(10, 12);
        s.offsets_follow(5, 7);
        let o = s.offsets.unwrap();
        assert_eq!((o.not_increasing, o.missing_between, o.last), (1, 0, 7));
    }
}
