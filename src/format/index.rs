//! Offset index (`.index`) and time index (`.timeindex`): fixed-size
//! big-endian entries relative to the segment's base offset, no header, no
//! count and no checksum.
//!
//! A live segment's index is preallocated and zero-filled; a zero slot reads
//! as (base offset, position 0) or (timestamp 0, base offset). As Kafka's
//! DumpLogSegments does, the real entries end at the first slot after the
//! first whose offset equals the base offset.

use serde::Serialize;

pub const OFFSET_ENTRY: usize = 8;
pub const TIME_ENTRY: usize = 12;
/// Kafka's `AbstractIndex` searches the last 8 KiB of an index (the part a
/// broker's lookups touch most) apart from the rest.
const WARM_BYTES: usize = 8192;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct OffsetEntry {
    /// Absolute offset: the last offset of the batch at `position`.
    pub offset: i64,
    pub position: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct TimeEntry {
    pub timestamp: i64,
    /// Absolute offset of the batch holding the largest timestamp so far.
    pub offset: i64,
}

impl OffsetEntry {
    /// The entry's 8 bytes as Kafka's `OffsetIndex.append` writes them: the
    /// offset relative to `base_offset` (int32), then the position (int32),
    /// big-endian. `None` when the offset does not fit (Kafka's
    /// `IndexOffsetOverflowException`).
    pub fn encode(&self, base_offset: i64) -> Option<[u8; OFFSET_ENTRY]> {
        let rel = relative(self.offset, base_offset)?;
        let mut b = [0u8; OFFSET_ENTRY];
        b[..4].copy_from_slice(&rel.to_be_bytes());
        b[4..].copy_from_slice(&self.position.to_be_bytes());
        Some(b)
    }
}

impl TimeEntry {
    /// The entry's 12 bytes as Kafka's `TimeIndex.maybeAppend` writes them:
    /// the timestamp (int64), then the offset relative to `base_offset`
    /// (int32), big-endian. `None` when the offset does not fit.
    pub fn encode(&self, base_offset: i64) -> Option<[u8; TIME_ENTRY]> {
        let rel = relative(self.offset, base_offset)?;
        let mut b = [0u8; TIME_ENTRY];
        b[..8].copy_from_slice(&self.timestamp.to_be_bytes());
        b[8..].copy_from_slice(&rel.to_be_bytes());
        Some(b)
    }
}

/// `AbstractIndex.toRelative`: `offset - base_offset` when it lies in
/// `0..=i32::MAX`.
pub fn relative(offset: i64, base_offset: i64) -> Option<i32> {
    offset.checked_sub(base_offset).and_then(|r| i32::try_from(r).ok()).filter(|r| *r >= 0)
}

/// Counts a lookup's index probes, to show (and test) that lookups touch
/// only a few index entries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Probes {
    pub probes: u32,
}

fn be_i32(b: &[u8]) -> i32 {
    i32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn be_i64(b: &[u8]) -> i64 {
    i64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}

/// Shared shape of both index kinds.
#[derive(Clone, Debug)]
pub struct Index<B, const N: usize> {
    data: B,
    pub base_offset: i64,
    /// Real entries, before the zero-filled preallocated tail.
    pub entries: usize,
}

pub type OffsetIndex<B> = Index<B, OFFSET_ENTRY>;
pub type TimeIndex<B> = Index<B, TIME_ENTRY>;

impl<B: AsRef<[u8]>, const N: usize> Index<B, N> {
    /// Open an index for lookups. The end of the real entries is found by
    /// binary search (a few page touches even for a 10 MiB preallocated
    /// file): in a well-formed index every real slot after the first has a
    /// non-zero relative offset and every preallocated slot a zero one.
    pub fn new(data: B, base_offset: i64) -> Self {
        let mut idx = Index { data, base_offset, entries: 0 };
        let (mut lo, mut hi) = (1usize, idx.slots().max(1));
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if idx.relative_offset(mid) == 0 { hi = mid } else { lo = mid + 1 }
        }
        idx.entries = lo.min(idx.slots());
        idx
    }

    /// Open an index the way DumpLogSegments reads it: the entries end at the
    /// first slot after 0 whose relative offset is 0, found by a forward
    /// scan, which is exact even when the file is damaged.
    pub fn new_exact(data: B, base_offset: i64) -> Self {
        let mut idx = Index { data, base_offset, entries: 0 };
        let slots = idx.slots();
        idx.entries = (1..slots).find(|&i| idx.relative_offset(i) == 0).unwrap_or(slots);
        idx
    }

    /// As [`Index::new_exact`], for checking an index against its log: an
    /// index whose first slot is all zeros holds no entries. Kafka writes no
    /// offset-index entry for the batch at position 0 (an entry is added only
    /// once `index.interval.bytes` have been written since the last), so
    /// such a slot is the preallocated space of a segment without entries
    /// yet: a fresh active segment's index is 10 MiB of zeros
    /// (`segment.index.bytes`). A time-index entry (timestamp 0, base offset)
    /// would be real only for records stamped 1970-01-01T00:00:00Z, and is
    /// read as preallocated too. DumpLogSegments, which kseg's Kafka text
    /// mode imitates, still prints such a first slot ([`Index::new_exact`]).
    pub fn new_checked(data: B, base_offset: i64) -> Self {
        let mut idx = Self::new_exact(data, base_offset);
        if idx.slots() > 0 && idx.slot(0).iter().all(|&b| b == 0) {
            idx.entries = 0;
        }
        idx
    }

    /// The bytes the index reads.
    pub fn data(&self) -> &B {
        &self.data
    }

    /// All whole slots in the file, real or preallocated.
    pub fn slots(&self) -> usize {
        self.data.as_ref().len() / N
    }

    /// Bytes after the last whole slot (a damaged file).
    pub fn trailing_bytes(&self) -> usize {
        self.data.as_ref().len() % N
    }

    pub fn byte_len(&self) -> usize {
        self.data.as_ref().len()
    }

    /// Preallocated slots after the real entries.
    pub fn zero_slots(&self) -> usize {
        self.slots() - self.entries
    }

    fn slot(&self, i: usize) -> &[u8] {
        &self.data.as_ref()[i * N..(i + 1) * N]
    }

    fn relative_offset(&self, i: usize) -> i32 {
        let s = self.slot(i);
        if N == OFFSET_ENTRY { be_i32(&s[..4]) } else { be_i32(&s[8..]) }
    }

    /// The greatest real entry whose key is at most `target`, by binary
    /// search over real entries, as Kafka's `largestLowerBoundSlotFor`.
    fn floor_by(&self, target: i64, key: impl Fn(usize) -> i64, probes: &mut Probes) -> Option<usize> {
        let (mut lo, mut hi) = (0usize, self.entries);
        // Invariant: every slot below lo has key <= target; every slot at or
        // above hi has key > target.
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            probes.probes += 1;
            if key(mid) <= target { lo = mid + 1 } else { hi = mid }
        }
        lo.checked_sub(1)
    }
}

impl<B: AsRef<[u8]>> Index<B, OFFSET_ENTRY> {
    pub fn entry(&self, i: usize) -> OffsetEntry {
        let s = self.slot(i);
        OffsetEntry {
            offset: self.base_offset.wrapping_add(i64::from(be_i32(&s[..4]))),
            position: be_i32(&s[4..]) as u32,
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = OffsetEntry> + '_ {
        (0..self.entries).map(|i| self.entry(i))
    }

    /// The greatest entry with offset <= `target`, or `None` (start at 0).
    pub fn lookup(&self, target: i64, probes: &mut Probes) -> Option<OffsetEntry> {
        self.floor_by(target, |i| self.entry(i).offset, probes).map(|i| self.entry(i))
    }

    /// What Kafka's `OffsetIndex.lookup` returns for `target` on this file:
    /// `largestLowerBoundSlotFor`, a binary search of the warm section (the
    /// last 8 KiB of slots) when the target is past its first slot and of
    /// the slots before it otherwise, over every whole slot (a preallocated
    /// zero tail included, as Kafka reads an existing file), and
    /// (base offset, position 0) when slot 0 is already past the target.
    /// On a sorted index without a zero tail this is [`Index::lookup`]'s
    /// floor; on a zero-tailed or damaged one the two differ, and
    /// DumpLogSegments' checks see this one.
    pub fn kafka_lookup(&self, target: i64) -> OffsetEntry {
        let slots = self.slots();
        let not_found = OffsetEntry { offset: self.base_offset, position: 0 };
        if slots == 0 {
            return not_found;
        }
        let key = |i: usize| self.entry(i).offset;
        // Kafka's binarySearch: the upper middle, and an exact match ends it.
        let search = |mut lo: usize, mut hi: usize| {
            while lo < hi {
                let mid = (lo + hi).div_ceil(2);
                match key(mid).cmp(&target) {
                    std::cmp::Ordering::Greater => hi = mid - 1,
                    std::cmp::Ordering::Less => lo = mid,
                    std::cmp::Ordering::Equal => return mid,
                }
            }
            lo
        };
        let first_warm = slots.saturating_sub(1 + WARM_BYTES / OFFSET_ENTRY);
        let slot = if key(first_warm) < target {
            search(first_warm, slots - 1)
        } else if key(0) > target {
            return not_found;
        } else {
            search(0, first_warm)
        };
        self.entry(slot)
    }
}

impl<B: AsRef<[u8]>> Index<B, TIME_ENTRY> {
    pub fn entry(&self, i: usize) -> TimeEntry {
        let s = self.slot(i);
        TimeEntry { timestamp: be_i64(&s[..8]), offset: self.base_offset.wrapping_add(i64::from(be_i32(&s[8..]))) }
    }

    pub fn iter(&self) -> impl Iterator<Item = TimeEntry> + '_ {
        (0..self.entries).map(|i| self.entry(i))
    }

    /// The greatest entry with timestamp <= `target`.
    pub fn lookup(&self, target: i64, probes: &mut Probes) -> Option<TimeEntry> {
        self.floor_by(target, |i| self.entry(i).timestamp, probes).map(|i| self.entry(i))
    }

    /// The last real entry: the segment's largest timestamp once rolled.
    pub fn last(&self) -> Option<TimeEntry> {
        self.entries.checked_sub(1).map(|i| self.entry(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offset_index(entries: &[(i32, i32)], zero_slots: usize) -> Vec<u8> {
        let mut v = Vec::new();
        for (o, p) in entries {
            v.extend_from_slice(&o.to_be_bytes());
            v.extend_from_slice(&p.to_be_bytes());
        }
        v.resize(v.len() + zero_slots * 8, 0);
        v
    }

    #[test]
    fn zero_tail_is_not_entries() {
        let data = offset_index(&[(4, 100), (9, 300)], 5);
        let idx = OffsetIndex::new(&data[..], 1000);
        assert_eq!((idx.entries, idx.zero_slots()), (2, 5));
        assert_eq!(OffsetIndex::new_exact(&data[..], 1000).entries, 2);
        assert_eq!(OffsetIndex::new(&[][..], 0).entries, 0);
        assert_eq!(OffsetIndex::new(&[0u8; 8][..], 0).entries, 1);
        // A preallocated index beside an empty log: as dumped, one zero entry;
        // as checked, none.
        let fresh = vec![0u8; 10 << 20];
        assert_eq!(OffsetIndex::new_exact(&fresh[..], 5).entries, 1);
        assert_eq!(OffsetIndex::new_checked(&fresh[..], 5).entries, 0);
        assert_eq!(TimeIndex::new_checked(&fresh[..12 * 100], 5).entries, 0);
        assert_eq!(OffsetIndex::new_checked(&data[..], 1000).entries, 2);
        assert_eq!(idx.entry(1), OffsetEntry { offset: 1009, position: 300 });
    }

    /// A file named near `i64::MAX` (any name can be given): the offset wraps
    /// as Java's `long` arithmetic does, never a panic.
    #[test]
    fn offsets_near_the_top_wrap_like_java() {
        let data = offset_index(&[(5, 100)], 0);
        let idx = OffsetIndex::new_exact(&data[..], i64::MAX);
        assert_eq!(idx.entry(0).offset, i64::MAX.wrapping_add(5));
        let t = [1i64.to_be_bytes().as_slice(), &7i32.to_be_bytes()].concat();
        assert_eq!(TimeIndex::new_exact(&t[..], i64::MAX).entry(0).offset, i64::MAX.wrapping_add(7));
    }

    #[test]
    fn lookup_takes_the_floor() {
        let data = offset_index(&[(4, 100), (9, 300), (15, 700)], 3);
        let idx = OffsetIndex::new(&data[..], 0);
        let mut p = Probes::default();
        assert_eq!(idx.lookup(3, &mut p), None);
        assert_eq!(idx.lookup(4, &mut p).unwrap().position, 100);
        assert_eq!(idx.lookup(14, &mut p).unwrap().position, 300);
        assert_eq!(idx.lookup(99, &mut p).unwrap().position, 700);
    }

    #[test]
    fn kafka_lookup_searches_every_slot() {
        // Entries (3, 100), (7, 300): the floor, as `lookup` finds it.
        let mut data = offset_index(&[(3, 100), (7, 300)], 0);
        let idx = OffsetIndex::new(&data[..], 0);
        assert_eq!(idx.kafka_lookup(7).position, 300);
        assert_eq!(idx.kafka_lookup(5).position, 100);
        assert_eq!(idx.kafka_lookup(2), OffsetEntry { offset: 0, position: 0 });
        // A zero tail takes part in Kafka's search (its slots read as the
        // base offset), so the lookup lands on a zero slot.
        data.resize(data.len() + 8 * 10, 0);
        let idx = OffsetIndex::new(&data[..], 0);
        assert_eq!(idx.kafka_lookup(7).position, 0);
        assert_eq!(idx.lookup(7, &mut Probes::default()).unwrap().position, 300);
        // The warm section: the last 1024 slots, searched apart.
        let many: Vec<(i32, i32)> = (1..=2000).map(|i| (i * 2, i * 10)).collect();
        let data = offset_index(&many, 0);
        let idx = OffsetIndex::new(&data[..], 1000);
        assert_eq!(idx.kafka_lookup(1000 + 3999).position, 19990);
        assert_eq!(idx.kafka_lookup(1000 + 5).position, 20);
        assert_eq!(idx.kafka_lookup(1000 + 1).position, 0);
        assert_eq!(OffsetIndex::new(&[][..], 9).kafka_lookup(5), OffsetEntry { offset: 9, position: 0 });
    }

    #[test]
    fn entries_encode_as_kafka_writes_them() {
        // Hand-computed bytes: offset 1009 in a segment based at 1000 at
        // position 300 is relative offset 9 = 00 00 00 09, then 00 00 01 2c.
        let e = OffsetEntry { offset: 1009, position: 300 };
        assert_eq!(e.encode(1000), Some([0, 0, 0, 9, 0, 0, 1, 0x2c]));
        assert_eq!(OffsetIndex::new(&e.encode(1000).unwrap()[..], 1000).entry(0), e);
        let t = TimeEntry { timestamp: 0x0102_0304_0506_0708, offset: 1000 + 258 };
        assert_eq!(t.encode(1000), Some([1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 1, 2]));
        assert_eq!(OffsetEntry { offset: 999, position: 0 }.encode(1000), None);
        assert_eq!(relative(i64::from(i32::MAX) + 1, 0), None);
        assert_eq!(relative(i64::MIN, 5), None);
        assert_eq!(relative(i64::from(i32::MAX) + 7, 7), Some(i32::MAX));
    }

    #[test]
    fn time_index_entries() {
        let mut data = Vec::new();
        for (t, o) in [(1000i64, 3i32), (2000, 8)] {
            data.extend_from_slice(&t.to_be_bytes());
            data.extend_from_slice(&o.to_be_bytes());
        }
        data.resize(data.len() + 24 + 5, 0);
        let idx = TimeIndex::new(&data[..], 50);
        assert_eq!((idx.entries, idx.zero_slots(), idx.trailing_bytes()), (2, 2, 5));
        let mut p = Probes::default();
        assert_eq!(idx.lookup(1999, &mut p), Some(TimeEntry { timestamp: 1000, offset: 53 }));
        assert_eq!(idx.last(), Some(TimeEntry { timestamp: 2000, offset: 58 }));
    }
}
