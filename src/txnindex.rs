//! Transaction index (`.txnindex`): one fixed 34-byte `AbortedTxn` entry per
//! aborted transaction whose ABORT marker is in the segment, in increasing
//! `last_offset` order, with no header (reference §3.10).
//!
//! Entries are read lazily from borrowed bytes, so a caller can walk a mapped
//! file without copying it. A trailing partial entry is not an entry; Kafka
//! ignores it silently, and [`TxnIndex::trailing_bytes`] says how long it is.

use serde::Serialize;

use crate::bytes::Reader;
use crate::error::Result;

/// Bytes of one entry.
pub const ENTRY_LEN: usize = 34;

/// One aborted transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct AbortedTxn {
    /// The int16 version field as stored (Kafka writes 0; its reader checks
    /// only the first byte).
    pub version: i16,
    pub producer_id: i64,
    /// Offset of the transaction's first batch in this partition.
    pub first_offset: i64,
    /// Offset of the ABORT marker.
    pub last_offset: i64,
    /// The partition's last stable offset right after the abort.
    pub last_stable_offset: i64,
}

impl AbortedTxn {
    /// Parse one entry from a reader positioned at it.
    pub fn read(r: &mut Reader<'_>) -> Result<Self> {
        Ok(AbortedTxn {
            version: r.i16()?,
            producer_id: r.i64()?,
            first_offset: r.i64()?,
            last_offset: r.i64()?,
            last_stable_offset: r.i64()?,
        })
    }

    /// The version as Kafka's `AbortedTxn.version()` sees it: the first byte.
    pub fn kafka_version(&self) -> u8 {
        (self.version >> 8) as u8
    }
}

/// The entries of a `.txnindex` file held in `bytes`.
#[derive(Clone, Copy, Debug)]
pub struct TxnIndex<'a> {
    bytes: &'a [u8],
}

impl<'a> TxnIndex<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        TxnIndex { bytes }
    }

    /// Complete entries.
    pub fn len(&self) -> usize {
        self.bytes.len() / ENTRY_LEN
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes after the last complete entry (Kafka ignores them).
    pub fn trailing_bytes(&self) -> usize {
        self.bytes.len() % ENTRY_LEN
    }

    /// Entry `i`, if it is complete.
    pub fn get(&self, i: usize) -> Option<AbortedTxn> {
        let start = i.checked_mul(ENTRY_LEN)?;
        let bytes = self.bytes.get(start..start.checked_add(ENTRY_LEN)?)?;
        AbortedTxn::read(&mut Reader::new(bytes, start as u64)).ok()
    }

    /// The complete entries in file order, each with its byte position.
    pub fn iter(&self) -> impl Iterator<Item = (u64, AbortedTxn)> + 'a {
        let this = *self;
        (0..this.len()).filter_map(move |i| this.get(i).map(|e| ((i * ENTRY_LEN) as u64, e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(version: i16, pid: i64, first: i64, last: i64, lso: i64) -> Vec<u8> {
        let mut v = version.to_be_bytes().to_vec();
        for x in [pid, first, last, lso] {
            v.extend_from_slice(&x.to_be_bytes());
        }
        v
    }

    #[test]
    fn entries_in_order_with_positions() {
        let mut bytes = entry(0, 5001, 3, 11, 3);
        bytes.extend(entry(0, 7, 20, 25, 26));
        let idx = TxnIndex::new(&bytes);
        assert_eq!(idx.len(), 2);
        assert_eq!(idx.trailing_bytes(), 0);
        let got: Vec<_> = idx.iter().collect();
        assert_eq!(
            got[0],
            (0, AbortedTxn { version: 0, producer_id: 5001, first_offset: 3, last_offset: 11, last_stable_offset: 3 })
        );
        assert_eq!(got[1].0, 34);
        assert_eq!(got[1].1.last_stable_offset, 26);
    }

    #[test]
    fn a_partial_entry_is_trailing_not_an_entry() {
        let mut bytes = entry(0, 1, 2, 3, 4);
        bytes.extend([0u8; 20]);
        let idx = TxnIndex::new(&bytes);
        assert_eq!((idx.len(), idx.trailing_bytes()), (1, 20));
        assert_eq!(idx.iter().count(), 1);
        assert!(idx.get(1).is_none());
        assert!(TxnIndex::new(&[]).is_empty());
        assert!(TxnIndex::new(&[1, 2, 3]).get(usize::MAX).is_none());
    }

    #[test]
    fn version_is_the_first_byte_for_kafka() {
        let bytes = entry(0x0100, 1, 2, 3, 4);
        let e = TxnIndex::new(&bytes).get(0).unwrap();
        assert_eq!((e.version, e.kafka_version()), (256, 1));
    }
}
