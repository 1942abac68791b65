//! Producer state snapshot (`<20-digit offset>.snapshot`), schema
//! `ProducerSnapshot.json` version 1:
//!
//! | bytes | field |
//! |---|---|
//! | 0..2 | version (int16, must be 1) |
//! | 2..6 | crc (uint32): CRC-32C of bytes [6, end of file) |
//! | 6..10 | entry count (int32) |
//! | 10.. | count × 46-byte entries |
//!
//! Entry: producerId int64, producerEpoch int16, lastSequence int32,
//! lastOffset int64, offsetDelta int32, timestamp int64, coordinatorEpoch
//! int32, currentTxnFirstOffset int64 (−1 = none).
//!
//! The file name's offset is the log end offset when the snapshot was taken.
//! Parsing never fails: what cannot be read is an [`Issue`] with its byte
//! position, and the count is never trusted for an allocation.

use crate::format::problem::ProblemKind;
use serde::Serialize;

use crate::format::bytes::Reader;
use crate::format::issue::Issue;

pub const HEADER: usize = 10;
pub const ENTRY: usize = 46;
/// The only version Kafka reads.
pub const VERSION: i16 = 1;

/// The header fields; `None` when the file is too short to hold one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct SnapshotHeader {
    pub version: Option<i16>,
    pub crc: Option<u32>,
    /// The stored CRC equals the CRC-32C of bytes [6, end).
    pub crc_valid: bool,
    pub count: Option<i32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ProducerEntry {
    /// Byte position of the entry in the file.
    pub position: u64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub last_sequence: i32,
    pub last_offset: i64,
    pub offset_delta: i32,
    pub timestamp: i64,
    pub coordinator_epoch: i32,
    pub current_txn_first_offset: i64,
}

#[derive(Clone, Debug)]
pub struct Snapshot<'a> {
    pub header: SnapshotHeader,
    /// CRC-32C of bytes [6, end), when the file has them.
    pub computed_crc: Option<u32>,
    /// Schema, version and checksum problems, in file order.
    pub issues: Vec<Issue>,
    data: &'a [u8],
    /// Entries that are both counted and whole in the file.
    readable: usize,
}

impl Snapshot<'_> {
    /// The size of the file parsed.
    pub fn byte_len(&self) -> usize {
        self.data.len()
    }
}

/// Parse a whole snapshot file.
pub fn parse(data: &[u8]) -> Snapshot<'_> {
    let mut issues = Vec::new();
    let mut r = Reader::new(data, 0);
    let version = r.i16().ok();
    let crc = r.u32().ok();
    let count = r.i32().ok();
    let computed_crc = data.get(6..).map(crate::format::crc::crc32c);
    let crc_valid = crc.is_some() && crc == computed_crc;
    if data.len() < HEADER {
        issues.push(Issue::at(
            ProblemKind::SnapshotTruncated,
            data.len() as u64,
            format!("the file is {} bytes, shorter than the {HEADER}-byte header", data.len()),
        ));
    }
    if let Some(v) = version
        && v != VERSION
    {
        issues.push(Issue::at(
            ProblemKind::SnapshotVersion,
            0,
            format!("unknown snapshot version {v} (Kafka reads only version {VERSION})"),
        ));
    }
    if let (Some(stored), Some(computed)) = (crc, computed_crc)
        && stored != computed
    {
        issues.push(Issue::at(
            ProblemKind::SnapshotCrc,
            2,
            format!("stored CRC {stored:08x} but bytes [6, {}) give {computed:08x}", data.len()),
        ));
    }
    let whole = data.len().saturating_sub(HEADER) / ENTRY;
    let mut readable = 0;
    match count {
        Some(n) if n < 0 => {
            issues.push(Issue::at(ProblemKind::SnapshotCount, 6, format!("entry count {n} is negative")));
        }
        Some(n) => {
            let n = n as usize;
            readable = n.min(whole);
            if n > whole {
                let at = HEADER + whole * ENTRY;
                issues.push(Issue::at(
                    ProblemKind::SnapshotTruncated,
                    at as u64,
                    format!(
                        "the count says {n} entries ({} bytes) but the file holds {whole} whole entries ({} bytes after the header)",
                        n as u64 * ENTRY as u64,
                        data.len() - HEADER
                    ),
                ));
            } else if data.len() > HEADER + n * ENTRY {
                let at = HEADER + n * ENTRY;
                issues.push(Issue::at(
                    ProblemKind::SnapshotTrailingBytes,
                    at as u64,
                    format!("{} bytes after the last of the {n} entries", data.len() - at),
                ));
            }
        }
        None => {}
    }
    issues.sort_by_key(|i| i.position);
    Snapshot { header: SnapshotHeader { version, crc, crc_valid, count }, computed_crc, issues, data, readable }
}

impl<'a> Snapshot<'a> {
    /// The entries that are counted and whole, in file order.
    pub fn entries(&self) -> impl Iterator<Item = ProducerEntry> + 'a {
        let data = self.data;
        (0..self.readable).filter_map(move |i| {
            let at = HEADER + i * ENTRY;
            read_entry(&mut Reader::new(data.get(at..at + ENTRY)?, at as u64), at as u64).ok()
        })
    }

    /// Entries that are counted and whole.
    pub fn readable(&self) -> usize {
        self.readable
    }
}

fn read_entry(r: &mut Reader<'_>, position: u64) -> crate::format::error::Result<ProducerEntry> {
    Ok(ProducerEntry {
        position,
        producer_id: r.i64()?,
        producer_epoch: r.i16()?,
        last_sequence: r.i32()?,
        last_offset: r.i64()?,
        offset_delta: r.i32()?,
        timestamp: r.i64()?,
        coordinator_epoch: r.i32()?,
        current_txn_first_offset: r.i64()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(version: i16, count: i32, entries: &[[i64; 8]], extra: &[u8]) -> Vec<u8> {
        let mut body = count.to_be_bytes().to_vec();
        for e in entries {
            body.extend_from_slice(&e[0].to_be_bytes());
            body.extend_from_slice(&(e[1] as i16).to_be_bytes());
            body.extend_from_slice(&(e[2] as i32).to_be_bytes());
            body.extend_from_slice(&e[3].to_be_bytes());
            body.extend_from_slice(&(e[4] as i32).to_be_bytes());
            body.extend_from_slice(&e[5].to_be_bytes());
            body.extend_from_slice(&(e[6] as i32).to_be_bytes());
            body.extend_from_slice(&e[7].to_be_bytes());
        }
        body.extend_from_slice(extra);
        let mut out = version.to_be_bytes().to_vec();
        out.extend_from_slice(&crate::format::crc::crc32c(&body).to_be_bytes());
        out.extend(body);
        out
    }

    const E1: [i64; 8] = [5000, 2, 4, 6, 1, 1_700_000_010_047, 7, -1];
    const E2: [i64; 8] = [5002, 1, 46, 13, 1, 1_700_000_010_107, -1, 12];

    #[test]
    fn a_valid_snapshot() {
        let data = file(1, 2, &[E1, E2], &[]);
        let s = parse(&data);
        assert!(s.issues.is_empty(), "{:?}", s.issues);
        assert_eq!(s.header.version, Some(1));
        assert_eq!(s.header.count, Some(2));
        assert!(s.header.crc_valid);
        let e: Vec<ProducerEntry> = s.entries().collect();
        assert_eq!(
            e[0],
            ProducerEntry {
                position: 10,
                producer_id: 5000,
                producer_epoch: 2,
                last_sequence: 4,
                last_offset: 6,
                offset_delta: 1,
                timestamp: 1_700_000_010_047,
                coordinator_epoch: 7,
                current_txn_first_offset: -1
            }
        );
        assert_eq!((e[1].position, e[1].current_txn_first_offset), (56, 12));
        // An empty snapshot: header only.
        let empty = file(1, 0, &[], &[]);
        let s = parse(&empty);
        assert!(s.issues.is_empty() && s.entries().next().is_none());
    }

    fn kinds(s: &Snapshot<'_>) -> Vec<(&'static str, u64)> {
        s.issues.iter().map(|i| (i.kind.name(), i.position)).collect()
    }

    #[test]
    fn damage_is_reported_with_positions() {
        let mut data = file(1, 2, &[E1, E2], &[]);
        data[30] ^= 1;
        let s = parse(&data);
        assert_eq!(kinds(&s), [("snapshot_crc", 2)]);
        assert!(!s.header.crc_valid);
        assert_eq!(s.entries().count(), 2);

        assert_eq!(kinds(&parse(&file(2, 0, &[], &[]))), [("snapshot_version", 0)]);
        assert_eq!(kinds(&parse(&file(1, -1, &[], &[]))), [("snapshot_count", 6)]);
        assert_eq!(kinds(&parse(&file(1, 1, &[E1], &[9, 9]))), [("snapshot_trailing_bytes", 56)]);

        // A count far beyond the file: an issue, never an allocation.
        let huge = file(1, i32::MAX, &[E1], &[1, 2, 3]);
        let s = parse(&huge);
        assert_eq!(kinds(&s), [("snapshot_truncated", 56)]);
        assert_eq!(s.entries().count(), 1);

        // Cut inside the header: what is there is still shown.
        let full = file(1, 0, &[], &[]);
        let s = parse(&full[..7]);
        assert_eq!(kinds(&s), [("snapshot_crc", 2), ("snapshot_truncated", 7)]);
        assert_eq!((s.header.version, s.header.count), (Some(1), None));
        let s = parse(&[]);
        assert_eq!(kinds(&s), [("snapshot_truncated", 0)]);
        assert_eq!(s.header, SnapshotHeader { version: None, crc: None, crc_valid: false, count: None });
    }
}
