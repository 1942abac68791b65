//! Producer state snapshots (`<20-digit offset>.snapshot`), reference §3.11:
//! `version:int16 (1), crc:uint32 (CRC-32C of bytes [6, EOF)), count:int32`,
//! then `count` 46-byte entries. The offset in the file name is the log end
//! offset (exclusive) when the snapshot was taken.
//!
//! Parsing checks what Kafka's `readSnapshot` checks (version, a non-negative
//! count, entries that fit) and reports the CRC rather than failing on it, so
//! a caller can show a damaged snapshot's contents and say it is damaged.

use serde::Serialize;

use crate::bytes::Reader;
use crate::error::{DecodeError, ErrorKind, Result};

pub const HEADER_LEN: usize = 10;
pub const ENTRY_LEN: usize = 46;
/// The only version Kafka writes and reads.
pub const VERSION: i16 = 1;

/// One producer's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct SnapshotEntry {
    pub producer_id: i64,
    pub epoch: i16,
    /// Last sequence of the producer's last data batch in its current epoch; -1 if none.
    pub last_sequence: i32,
    /// Offset of that batch's last record; -1 if none.
    pub last_offset: i64,
    /// That batch's last offset minus its base offset.
    pub offset_delta: i32,
    /// That batch's max timestamp.
    pub timestamp: i64,
    pub coordinator_epoch: i32,
    /// First offset of the producer's open transaction; -1 if none.
    pub current_txn_first_offset: i64,
}

impl SnapshotEntry {
    pub fn read(r: &mut Reader<'_>) -> Result<Self> {
        Ok(SnapshotEntry {
            producer_id: r.i64()?,
            epoch: r.i16()?,
            last_sequence: r.i32()?,
            last_offset: r.i64()?,
            offset_delta: r.i32()?,
            timestamp: r.i64()?,
            coordinator_epoch: r.i32()?,
            current_txn_first_offset: r.i64()?,
        })
    }

    /// The first sequence of the last batch, as DumpLogSegments computes it
    /// (wrapping below 0 to `i32::MAX`).
    pub fn first_sequence(&self) -> i32 {
        if self.last_sequence < self.offset_delta {
            i32::MAX - (self.offset_delta - self.last_sequence) + 1
        } else {
            self.last_sequence - self.offset_delta
        }
    }
}

/// A parsed snapshot borrowing its bytes.
#[derive(Clone, Copy, Debug)]
pub struct ProducerSnapshot<'a> {
    pub version: i16,
    pub crc: u32,
    pub computed_crc: u32,
    pub count: u32,
    entries: &'a [u8],
    /// Bytes after the last entry (a valid file has none; they break the CRC).
    pub trailing_bytes: usize,
}

impl<'a> ProducerSnapshot<'a> {
    /// Parse a whole snapshot file. Errors are what Kafka reports as "failed
    /// schema validation"; a CRC mismatch is not an error here (see
    /// [`ProducerSnapshot::crc_valid`]).
    pub fn parse(bytes: &'a [u8]) -> Result<Self> {
        let mut r = Reader::new(bytes, 0);
        let version = r.i16()?;
        if version != VERSION {
            return Err(DecodeError::new(
                0,
                ErrorKind::Other(format!("snapshot contained an unknown file version {version}")),
            ));
        }
        let crc = r.u32()?;
        let count = r.i32()?;
        let count = u32::try_from(count)
            .map_err(|_| DecodeError::new(6, ErrorKind::Other(format!("invalid producer entry count {count}"))))?;
        let need = count as u64 * ENTRY_LEN as u64;
        if need > r.remaining() as u64 {
            return Err(r.error(ErrorKind::Truncated { needed: need, available: r.remaining() as u64 }));
        }
        let entries = r.take(need as usize)?;
        let computed_crc = crc32c::crc32c(bytes.get(6..).unwrap_or_default());
        Ok(ProducerSnapshot { version, crc, computed_crc, count, entries, trailing_bytes: r.remaining() })
    }

    pub fn crc_valid(&self) -> bool {
        self.crc == self.computed_crc
    }

    /// The entries in file order.
    pub fn entries(&self) -> impl Iterator<Item = SnapshotEntry> + 'a {
        let mut r = Reader::new(self.entries, HEADER_LEN as u64);
        (0..self.count).map_while(move |_| SnapshotEntry::read(&mut r).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(version: i16, entries: &[SnapshotEntry], trailing: &[u8]) -> Vec<u8> {
        let mut body = (entries.len() as i32).to_be_bytes().to_vec();
        for e in entries {
            body.extend(e.producer_id.to_be_bytes());
            body.extend(e.epoch.to_be_bytes());
            body.extend(e.last_sequence.to_be_bytes());
            body.extend(e.last_offset.to_be_bytes());
            body.extend(e.offset_delta.to_be_bytes());
            body.extend(e.timestamp.to_be_bytes());
            body.extend(e.coordinator_epoch.to_be_bytes());
            body.extend(e.current_txn_first_offset.to_be_bytes());
        }
        let mut out = version.to_be_bytes().to_vec();
        out.extend(crc32c::crc32c(&body).to_be_bytes());
        out.extend(body);
        out.extend(trailing);
        out
    }

    const E: SnapshotEntry = SnapshotEntry {
        producer_id: 5000,
        epoch: 2,
        last_sequence: 4,
        last_offset: 6,
        offset_delta: 1,
        timestamp: 1_700_000_010_040,
        coordinator_epoch: 7,
        current_txn_first_offset: -1,
    };

    #[test]
    fn round_trip() {
        let other = SnapshotEntry { producer_id: 1, current_txn_first_offset: 12, ..E };
        let bytes = file(1, &[E, other], &[]);
        assert_eq!(bytes.len(), HEADER_LEN + 2 * ENTRY_LEN);
        let s = ProducerSnapshot::parse(&bytes).unwrap();
        assert!(s.crc_valid());
        assert_eq!(s.entries().collect::<Vec<_>>(), [E, other]);
        assert_eq!(E.first_sequence(), 3);
    }

    #[test]
    fn trailing_bytes_break_the_crc_only() {
        let bytes = file(1, &[E], &[0xde, 0xad]);
        let s = ProducerSnapshot::parse(&bytes).unwrap();
        assert!(!s.crc_valid());
        assert_eq!(s.trailing_bytes, 2);
        assert_eq!(s.entries().count(), 1);
    }

    #[test]
    fn schema_errors() {
        assert!(ProducerSnapshot::parse(&file(2, &[E], &[])).is_err());
        let mut short = file(1, &[E], &[]);
        short.truncate(40);
        assert!(matches!(ProducerSnapshot::parse(&short).unwrap_err().kind, ErrorKind::Truncated { .. }));
        let mut neg = file(1, &[], &[]);
        neg[6..10].copy_from_slice(&(-1i32).to_be_bytes());
        assert!(ProducerSnapshot::parse(&neg).is_err());
        assert!(ProducerSnapshot::parse(&[0, 1]).is_err());
        assert!(ProducerSnapshot::parse(&[]).is_err());
    }

    #[test]
    fn first_sequence_wraps_like_kafka() {
        // DumpLogSegments prints 2147483647 for a producer with no batch.
        let e = SnapshotEntry { last_sequence: -1, offset_delta: 0, ..E };
        assert_eq!(e.first_sequence(), i32::MAX);
        let e = SnapshotEntry { last_sequence: 2, offset_delta: 5, ..E };
        assert_eq!(e.first_sequence(), i32::MAX - 2);
    }
}
