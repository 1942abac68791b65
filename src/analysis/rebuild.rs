//! The index files Kafka's segment recovery writes for a segment, computed
//! from its `.log` alone: `.index`, `.timeindex`, and the `.txnindex` from
//! the producer state replayed over the partition up to the segment.
//!
//! Followed from Kafka 4.4's `storage/.../log/LogSegment.java` (`recover`,
//! `updateProducerState`, `updateTxnIndex`), `OffsetIndex.append`,
//! `TimeIndex.maybeAppend`, `ProducerAppendInfo` and
//! `ProducerStateManager.lastStableOffset` (the 4.4.0 jar's bytecode checked
//! against that source):
//!
//! * batches are read in order until the first that Kafka's iteration or
//!   `ensureValid` rejects (an incomplete entry, a size below 14, a bad
//!   CRC): recovery truncates the log there, and the indexes cover only the
//!   valid bytes before it;
//! * the running maximum timestamp starts at (-1, base offset) and moves to
//!   (batch max timestamp, batch last offset) when a batch's max timestamp is
//!   strictly greater (for v0, whose timestamp is -1, it never moves);
//! * an offset-index entry (batch last offset, batch position) is written
//!   for a batch when more than `index.interval.bytes` lie between the last
//!   entry's position (0 at first) and this batch's: never for the batch at
//!   position 0. With it, the time index gets the running maximum, if its
//!   timestamp is greater than the time index's last (initially -1);
//! * at the end, the running maximum is offered to the time index once more
//!   (what a segment gets when it is rolled or closed);
//! * a v2 batch with a producer id updates the producer's state: a
//!   transactional data batch opens a transaction at its base offset if none
//!   is open; a COMMIT or ABORT marker closes the open one, and an ABORT
//!   writes (producer id, first offset, marker offset, last stable offset),
//!   the last stable offset being the first offset of the earliest
//!   transaction still open by another producer, else the marker offset + 1.
//!   A marker with no open transaction (an empty transaction, or a producer
//!   whose data was removed) writes nothing.
//!
//! Given bytes (a [`Source`]), nothing here opens a file. The computation
//! keeps only the entries it returns (bounded by the index size Kafka
//! allows) and one batch at a time.

use std::collections::{BTreeSet, HashMap};
use std::io;

use serde::Serialize;

use crate::analysis::producers::{BatchRole, control_kind};
use crate::format::batch::BatchV2;
use crate::format::head::EntryHead;
use crate::format::index::{OFFSET_ENTRY, OffsetEntry, OffsetIndex, TIME_ENTRY, TimeEntry, TimeIndex, relative};
use crate::format::snapshot::Snapshot;
use crate::format::txnindex::{self, AbortedTxn, TxnIndex};
use crate::format::walk::{Source, Step, Walker};

/// The topic's `index.interval.bytes` default.
pub const DEFAULT_INDEX_INTERVAL_BYTES: u32 = 4096;
/// The topic's `segment.index.bytes` default: the most an `.index` or
/// `.timeindex` may hold (recovery fails on a full index).
pub const DEFAULT_MAX_INDEX_BYTES: u32 = 10 * 1024 * 1024;

#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub index_interval_bytes: u32,
    pub max_index_bytes: u32,
    /// Largest decompressed size for a control batch's records.
    pub max_decompressed: usize,
    /// Keep where each entry came from ([`Rebuilt::explain`]).
    pub explain: bool,
    /// The base offset is not known (a stream): take the first batch's
    /// base offset (a legacy entry's own offset).
    pub base_from_first_batch: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            index_interval_bytes: DEFAULT_INDEX_INTERVAL_BYTES,
            max_index_bytes: DEFAULT_MAX_INDEX_BYTES,
            max_decompressed: crate::format::compression::DEFAULT_MAX_DECOMPRESSED,
            explain: false,
            base_from_first_batch: false,
        }
    }
}

/// The part of the broker's producer state the `.txnindex` depends on: each
/// producer's transaction in progress. Carried from one segment of a
/// partition to the next, in base-offset order.
#[derive(Clone, Debug, Default)]
pub struct TxnState {
    /// Producer id → first offset of its open transaction.
    current: HashMap<i64, i64>,
    /// (first offset, producer id) of every open transaction: Kafka's
    /// `ongoingTxns`, ordered by first offset.
    ongoing: BTreeSet<(i64, i64)>,
}

impl TxnState {
    /// The state a producer snapshot holds (Kafka's `ProducerStateManager`
    /// loads the newest one before replaying the log after it): the
    /// transaction each producer has in progress. A snapshot Kafka would
    /// reject (a bad CRC or version) gives `None`.
    pub fn from_snapshot(snapshot: &Snapshot<'_>) -> Option<TxnState> {
        if !snapshot.issues.is_empty() {
            return None;
        }
        let mut state = TxnState::default();
        for e in snapshot.entries().filter(|e| e.current_txn_first_offset >= 0) {
            state.current.insert(e.producer_id, e.current_txn_first_offset);
            state.ongoing.insert((e.current_txn_first_offset, e.producer_id));
        }
        Some(state)
    }

    /// Open transactions, as (first offset, producer id).
    pub fn open(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        self.ongoing.iter().copied()
    }

    fn data(&mut self, producer_id: i64, base_offset: i64, transactional: bool) {
        if transactional && !self.current.contains_key(&producer_id) {
            self.current.insert(producer_id, base_offset);
            self.ongoing.insert((base_offset, producer_id));
        }
    }

    /// A COMMIT or ABORT marker at `offset`: the `.txnindex` entry it
    /// writes, if any.
    fn marker(&mut self, producer_id: i64, offset: i64, abort: bool) -> Option<AbortedTxn> {
        let first = self.current.remove(&producer_id)?;
        // Kafka's `findNextIncompleteTxn`: the earliest open transaction of
        // another producer, looked up before this one is completed.
        let lso = self.ongoing.iter().find(|&&(_, p)| p != producer_id).map_or(offset.wrapping_add(1), |&(o, _)| o);
        self.ongoing.remove(&(first, producer_id));
        abort.then_some(AbortedTxn {
            position: 0,
            version: txnindex::VERSION,
            producer_id,
            first_offset: first,
            last_offset: offset,
            last_stable_offset: lso,
        })
    }
}

/// Why recovery stops reading the log before its end: it truncates the log
/// at the stop's position.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// Bytes too few for a complete entry (Kafka's iteration ends silently).
    Incomplete,
    /// Zeros to the end of the file (a preallocated log).
    ZeroTail,
    /// An entry size below 14 (`CorruptRecordException`).
    BadSize,
    /// A batch whose CRC or size `ensureValid` rejects.
    InvalidBatch,
}

/// Where and why recovery stops before the end of the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Stop {
    pub position: u64,
    pub reason: StopReason,
    /// Bytes recovery would cut from the log.
    pub truncated_bytes: u64,
}

/// Why Kafka's recovery of the segment would fail instead of finishing (and
/// so write no index like the one computed so far).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Failure {
    /// A batch's last offset is below the base offset or more than
    /// `i32::MAX` above it: Kafka splits such a segment
    /// (`LogSegmentOffsetOverflowException`) before recovering it.
    OffsetOverflow { position: u64, last_offset: i64 },
    /// An offset-index entry whose offset is not above the last one
    /// (`InvalidOffsetException`).
    OffsetNotIncreasing { position: u64, last_offset: i64, previous: i64 },
    /// More entries than `segment.index.bytes` holds.
    IndexFull { position: u64 },
    /// An entry larger than kseg reads into memory.
    EntryTooLarge { position: u64, size: u64 },
    /// A batch past the 2 GiB an index position (and Kafka's `FileRecords`) can address.
    PositionTooLarge { position: u64 },
}

impl Failure {
    pub fn describe(&self) -> String {
        match self {
            Failure::OffsetOverflow { position, last_offset } => format!(
                "the batch at byte {position} ends at offset {last_offset}, which does not fit an index relative to the base offset: Kafka would split this segment before recovering it"
            ),
            Failure::OffsetNotIncreasing { position, last_offset, previous } => format!(
                "the batch at byte {position} ends at offset {last_offset}, not above the previous index entry's {previous}: Kafka's recovery would fail (InvalidOffsetException)"
            ),
            Failure::IndexFull { position } => {
                format!(
                    "at the batch at byte {position} the index is full (segment.index.bytes): Kafka's recovery would fail"
                )
            }
            Failure::EntryTooLarge { position, size } => {
                format!("the entry at byte {position} is {size} bytes, more than kseg reads into memory")
            }
            Failure::PositionTooLarge { position } => {
                format!("a batch at byte {position}: past the 2 GiB a Kafka segment can address")
            }
        }
    }
}

/// Where one pair of index entries came from (for `--explain`): the batch
/// that triggered an offset-index entry, or the end of the segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct IndexPoint {
    /// The offset-index entry number written here (none at the end).
    pub offset_entry: Option<usize>,
    /// The time-index entry number written here, if the running maximum
    /// had grown since the last.
    pub time_entry: Option<usize>,
    /// The batch's position (at the end: the valid bytes).
    pub position: u64,
    /// The batch's last offset (none at the end).
    pub last_offset: Option<i64>,
    /// Bytes from the previous offset-index entry's position (0 at first).
    pub bytes_since_previous: u64,
    /// The running maximum timestamp (-1: none yet) and its batch's last offset.
    pub max_timestamp: i64,
    pub max_timestamp_offset: i64,
}

/// What recovery writes for one segment.
#[derive(Clone, Debug, Default)]
pub struct Rebuilt {
    pub base_offset: i64,
    pub offsets: Vec<OffsetEntry>,
    pub times: Vec<TimeEntry>,
    pub aborted: Vec<AbortedTxn>,
    pub batches: u64,
    /// Bytes recovery keeps (the log is truncated to this length).
    pub valid_bytes: u64,
    pub log_bytes: u64,
    pub stop: Option<Stop>,
    pub failure: Option<Failure>,
    /// With [`Options::explain`]: one point per offset-index entry, and the end.
    pub explain: Vec<IndexPoint>,
    /// The last time-index entry is the one recovery appends at the end (a
    /// live broker appends it only when it rolls or closes the segment).
    pub closing_time_entry: bool,
}

impl Rebuilt {
    /// The `.index` file's bytes.
    pub fn index_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.offsets.len() * OFFSET_ENTRY);
        for e in &self.offsets {
            // Every entry was checked to fit when it was made.
            out.extend_from_slice(&e.encode(self.base_offset).unwrap_or_default());
        }
        out
    }

    /// The `.timeindex` file's bytes.
    pub fn timeindex_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.times.len() * TIME_ENTRY);
        for e in &self.times {
            out.extend_from_slice(&e.encode(self.base_offset).unwrap_or_default());
        }
        out
    }

    /// The `.txnindex` file's bytes (empty: recovery writes no file).
    pub fn txnindex_bytes(&self) -> Vec<u8> {
        self.aborted.iter().flat_map(|e| e.encode()).collect()
    }
}

/// The running state of one segment's recovery.
struct Recovery<'o> {
    opts: &'o Options,
    out: Rebuilt,
    max_ts: (i64, i64),
    last_entry_position: u64,
    scratch: Vec<u8>,
}

impl Recovery<'_> {
    /// `TimeIndex.maybeAppend`: only a timestamp above the last entry's
    /// (-1 while empty) makes an entry.
    fn maybe_append_time(&mut self) -> Option<usize> {
        let last = self.out.times.last().map_or(-1, |e| e.timestamp);
        (self.max_ts.0 > last).then(|| {
            self.out.times.push(TimeEntry { timestamp: self.max_ts.0, offset: self.max_ts.1 });
            self.out.times.len() - 1
        })
    }

    /// One valid batch at `position` of `size` bytes.
    fn batch(&mut self, head: EntryHead<'_>, bytes: &[u8], position: u64, txn: &mut TxnState) -> Result<(), Failure> {
        let base = self.out.base_offset;
        let Ok(pos32) = i32::try_from(position) else { return Err(Failure::PositionTooLarge { position }) };
        // A whole entry with a valid CRC has every header field.
        let (last_offset, max_timestamp) = head.last_offset_and_max_timestamp().unwrap_or((base, -1));
        if relative(last_offset, base).is_none() {
            return Err(Failure::OffsetOverflow { position, last_offset });
        }
        if max_timestamp > self.max_ts.0 {
            self.max_ts = (max_timestamp, last_offset);
        }
        let since = position - self.last_entry_position;
        if since > u64::from(self.opts.index_interval_bytes) {
            if let Some(prev) = self.out.offsets.last()
                && last_offset <= prev.offset
            {
                return Err(Failure::OffsetNotIncreasing { position, last_offset, previous: prev.offset });
            }
            let max = self.opts.max_index_bytes as usize;
            if self.out.offsets.len() >= max / OFFSET_ENTRY || self.out.times.len() >= max / TIME_ENTRY {
                return Err(Failure::IndexFull { position });
            }
            self.out.offsets.push(OffsetEntry { offset: last_offset, position: pos32 as u32 });
            let time_entry = self.maybe_append_time();
            if self.opts.explain {
                self.out.explain.push(IndexPoint {
                    offset_entry: Some(self.out.offsets.len() - 1),
                    time_entry,
                    position,
                    last_offset: Some(last_offset),
                    bytes_since_previous: since,
                    max_timestamp: self.max_ts.0,
                    max_timestamp_offset: self.max_ts.1,
                });
            }
            self.last_entry_position = position;
        }
        self.out.batches += 1;
        self.out.valid_bytes = position + bytes.len() as u64;
        if head.magic().is_some_and(|m| m >= 2) {
            self.producer_state(bytes, position, txn);
        }
        Ok(())
    }

    /// `LogSegment.updateProducerState` for a v2 batch.
    fn producer_state(&mut self, bytes: &[u8], position: u64, txn: &mut TxnState) {
        let Ok(b) = BatchV2::parse(bytes, position) else { return };
        let h = &b.header;
        if h.producer_id < 0 {
            return;
        }
        if !h.is_control() {
            txn.data(h.producer_id, h.base_offset, h.is_transactional());
            return;
        }
        let abort = match control_kind(&b, &mut self.scratch, self.opts.max_decompressed) {
            BatchRole::Abort { .. } => true,
            BatchRole::Commit { .. } => false,
            _ => return,
        };
        if let Some(mut e) = txn.marker(h.producer_id, h.base_offset, abort) {
            e.position = (self.out.aborted.len() * txnindex::ENTRY) as u64;
            self.out.aborted.push(e);
        }
    }
}

/// Recover one segment (base offset `base_offset`) read through `src`, with
/// the producer state `txn` at its start; `txn` is left as it is at the
/// segment's end (pass it on to the next segment). A read error of the
/// source is returned; what Kafka would reject is in the result.
pub fn rebuild_segment<S: Source>(src: S, base_offset: i64, opts: &Options, txn: &mut TxnState) -> io::Result<Rebuilt> {
    let mut walker = Walker::new(src);
    let mut r = Recovery {
        opts,
        out: Rebuilt { base_offset, log_bytes: walker.end(), ..Rebuilt::default() },
        max_ts: (-1, base_offset),
        last_entry_position: 0,
        scratch: Vec::new(),
    };
    while let Some(step) = walker.next_step()? {
        let (position, reason) = match step {
            Step::Entry { position, bytes } => {
                let head = EntryHead::any_magic(bytes);
                if opts.base_from_first_batch && r.out.batches == 0 && position == 0 {
                    r.out.base_offset = head.offset().unwrap_or(base_offset);
                    r.max_ts.1 = r.out.base_offset;
                }
                if !head.crc_valid() {
                    (position, StopReason::InvalidBatch)
                } else {
                    match r.batch(head, bytes, position, txn) {
                        Ok(()) => continue,
                        Err(f) => {
                            r.out.failure = Some(f);
                            break;
                        }
                    }
                }
            }
            Step::Trailing { position, .. } => (position, StopReason::Incomplete),
            Step::ZeroFill { position, .. } => (position, StopReason::ZeroTail),
            Step::Corrupt(e) => (e.position.saturating_sub(8), StopReason::BadSize),
            Step::TooLarge { position, size } => {
                r.out.failure = Some(Failure::EntryTooLarge { position, size });
                break;
            }
        };
        r.out.stop = Some(Stop { position, reason, truncated_bytes: r.out.log_bytes.saturating_sub(position) });
        break;
    }
    // "A normally closed segment always appends the biggest timestamp ever
    // seen into log segment, we do this as well."
    let time_entry = r.maybe_append_time();
    r.out.closing_time_entry = time_entry.is_some();
    if opts.explain {
        let since = r.out.valid_bytes - r.last_entry_position;
        r.out.explain.push(IndexPoint {
            offset_entry: None,
            time_entry,
            position: r.out.valid_bytes,
            last_offset: None,
            bytes_since_previous: since,
            max_timestamp: r.max_ts.0,
            max_timestamp_offset: r.max_ts.1,
        });
    }
    Ok(r.out)
}

/// The kinds of index file recovery writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IndexKind {
    Index,
    Timeindex,
    Txnindex,
}

impl IndexKind {
    pub const ALL: [IndexKind; 3] = [IndexKind::Index, IndexKind::Timeindex, IndexKind::Txnindex];

    pub fn extension(self) -> &'static str {
        match self {
            IndexKind::Index => "index",
            IndexKind::Timeindex => "timeindex",
            IndexKind::Txnindex => "txnindex",
        }
    }

    fn entry_size(self) -> usize {
        match self {
            IndexKind::Index => OFFSET_ENTRY,
            IndexKind::Timeindex => TIME_ENTRY,
            IndexKind::Txnindex => txnindex::ENTRY,
        }
    }

    /// The rebuilt file's bytes.
    pub fn bytes(self, r: &Rebuilt) -> Vec<u8> {
        match self {
            IndexKind::Index => r.index_bytes(),
            IndexKind::Timeindex => r.timeindex_bytes(),
            IndexKind::Txnindex => r.txnindex_bytes(),
        }
    }
}

/// One entry of any index, as read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum EntryValue {
    Offset(OffsetEntry),
    Time(TimeEntry),
    Txn(AbortedTxn),
}

impl std::fmt::Display for EntryValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EntryValue::Offset(e) => write!(f, "offset {} position {}", e.offset, e.position),
            EntryValue::Time(e) => write!(f, "timestamp {} offset {}", e.timestamp, e.offset),
            EntryValue::Txn(e) => write!(
                f,
                "producer {} first {} last {} lso {}{}",
                e.producer_id,
                e.first_offset,
                e.last_offset,
                e.last_stable_offset,
                if e.version == 0 { String::new() } else { format!(" version {}", e.version) }
            ),
        }
    }
}

fn entry_at(kind: IndexKind, bytes: &[u8], i: usize, base: i64) -> Option<EntryValue> {
    let size = kind.entry_size();
    let slot = bytes.get(i * size..(i + 1) * size)?;
    Some(match kind {
        IndexKind::Index => EntryValue::Offset(OffsetIndex::new_exact(slot, base).entry(0)),
        IndexKind::Timeindex => EntryValue::Time(TimeIndex::new_exact(slot, base).entry(0)),
        IndexKind::Txnindex => {
            let mut e = TxnIndex::new(slot).get(0)?;
            e.position = (i * size) as u64;
            EntryValue::Txn(e)
        }
    })
}

/// The first entry that differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct FirstDiff {
    /// Entry number (0-based).
    pub entry: u64,
    /// None: the rebuilt file has no entry there.
    pub rebuilt: Option<EntryValue>,
    /// None: the file on disk has no entry there.
    pub on_disk: Option<EntryValue>,
}

/// How the index on disk compares with the rebuilt one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Comparison {
    /// Byte for byte the same.
    Identical,
    /// The same entries, then zero slots: the active segment's preallocated
    /// index (`segment.index.bytes`), which the broker trims when it rolls
    /// or closes the segment.
    IdenticalPreallocated { zero_slots: u64 },
    /// The active segment's `.timeindex` as a running broker has it: the
    /// rebuilt entries but the last, which recovery appends at the end and a
    /// broker only when it rolls or closes the segment; then zero slots.
    IdenticalUnclosed { zero_slots: u64 },
    /// Neither on disk nor rebuilt: a `.txnindex` with nothing to hold.
    Absent,
    /// Not on disk.
    Missing { rebuilt_entries: u64 },
    Differs {
        /// Entry slots that differ, or are on one side only (a zero tail excluded).
        entries: u64,
        first: Option<FirstDiff>,
        /// Zero slots after the entries (a preallocated tail on a segment
        /// that is not the active one).
        zero_slots: u64,
        /// Bytes after the last whole slot.
        trailing_bytes: u64,
    },
}

impl Comparison {
    /// Whether the file on disk is what recovery would leave (the active
    /// segment's zero tail allowed).
    pub fn equal(&self) -> bool {
        matches!(
            self,
            Comparison::Identical
                | Comparison::IdenticalPreallocated { .. }
                | Comparison::IdenticalUnclosed { .. }
                | Comparison::Absent
        )
    }
}

/// Compare the rebuilt file of `kind` with the file on disk, as
/// [`compare`], and for the active segment's `.timeindex` also with the
/// rebuilt entries but the one recovery appends at the end
/// ([`Comparison::IdenticalUnclosed`]).
pub fn compare_rebuilt(kind: IndexKind, r: &Rebuilt, on_disk: Option<&[u8]>, active: bool) -> Comparison {
    let bytes = kind.bytes(r);
    let full = compare(kind, r.base_offset, &bytes, on_disk, active);
    if full.equal() || !(active && kind == IndexKind::Timeindex && r.closing_time_entry) {
        return full;
    }
    match compare(kind, r.base_offset, &bytes[..bytes.len() - TIME_ENTRY], on_disk, active) {
        Comparison::Identical => Comparison::IdenticalUnclosed { zero_slots: 0 },
        Comparison::IdenticalPreallocated { zero_slots } => Comparison::IdenticalUnclosed { zero_slots },
        _ => full,
    }
}

/// Compare a rebuilt index with the file on disk (`None`: no file).
/// `active`: the segment is the partition's active one, whose `.index` and
/// `.timeindex` the broker preallocates.
pub fn compare(kind: IndexKind, base_offset: i64, rebuilt: &[u8], on_disk: Option<&[u8]>, active: bool) -> Comparison {
    let Some(disk) = on_disk else {
        return if rebuilt.is_empty() && kind == IndexKind::Txnindex {
            Comparison::Absent
        } else {
            Comparison::Missing { rebuilt_entries: (rebuilt.len() / kind.entry_size()) as u64 }
        };
    };
    if disk == rebuilt {
        return Comparison::Identical;
    }
    let size = kind.entry_size();
    let (ours, slots) = (rebuilt.len() / size, disk.len() / size);
    let trailing_bytes = (disk.len() % size) as u64;
    let zero = |i: usize| disk[i * size..(i + 1) * size].iter().all(|&b| b == 0);
    // Slots after the last non-zero one (and after the rebuilt entries) are
    // a zero tail; only `.index` and `.timeindex` are preallocated.
    let mut used = slots;
    if kind != IndexKind::Txnindex {
        while used > ours && zero(used - 1) {
            used -= 1;
        }
    }
    let zero_slots = (slots - used) as u64;
    let mut entries = 0u64;
    let mut first = None;
    for i in 0..ours.max(used) {
        let a = rebuilt.get(i * size..(i + 1) * size);
        let b = (i < used).then(|| &disk[i * size..(i + 1) * size]);
        if a != b {
            entries += 1;
            first.get_or_insert_with(|| FirstDiff {
                entry: i as u64,
                rebuilt: entry_at(kind, rebuilt, i, base_offset),
                on_disk: b.and_then(|_| entry_at(kind, disk, i, base_offset)),
            });
        }
    }
    if entries == 0 && trailing_bytes == 0 && active && kind != IndexKind::Txnindex {
        return Comparison::IdenticalPreallocated { zero_slots };
    }
    Comparison::Differs { entries, first, zero_slots, trailing_bytes }
}

#[cfg(test)]
#[path = "rebuild_tests.rs"]
mod tests;
