//! Transaction index (`.txnindex`): one fixed 34-byte `AbortedTxn` entry per
//! transaction aborted in the segment, big-endian, no header, no count and
//! no checksum. Kafka appends them in increasing `lastOffset` order.
//!
//! | bytes | field |
//! |---|---|
//! | 0..2 | version (int16, 0) |
//! | 2..10 | producerId |
//! | 10..18 | firstOffset |
//! | 18..26 | lastOffset (the ABORT marker's offset) |
//! | 26..34 | lastStableOffset |

use crate::format::problem::ProblemKind;
use serde::Serialize;

use crate::format::bytes::Reader;
use crate::format::issue::Issue;

pub const ENTRY: usize = 34;
/// The only version Kafka writes and reads.
pub const VERSION: i16 = 0;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct AbortedTxn {
    /// Byte position of the entry in the file.
    pub position: u64,
    pub version: i16,
    pub producer_id: i64,
    pub first_offset: i64,
    pub last_offset: i64,
    pub last_stable_offset: i64,
}

impl AbortedTxn {
    /// The version as Kafka's `AbortedTxn.version()` reads it: the first
    /// byte of the int16 field.
    pub fn kafka_version(&self) -> u8 {
        (self.version >> 8) as u8
    }
}

impl AbortedTxn {
    /// The entry's 34 bytes as Kafka's `TransactionIndex.append` writes an
    /// `AbortedTxn`: version, producer id, first offset, last offset, last
    /// stable offset, big-endian.
    pub fn encode(&self) -> [u8; ENTRY] {
        let mut b = [0u8; ENTRY];
        b[..2].copy_from_slice(&self.version.to_be_bytes());
        for (i, x) in
            [self.producer_id, self.first_offset, self.last_offset, self.last_stable_offset].iter().enumerate()
        {
            b[2 + i * 8..10 + i * 8].copy_from_slice(&x.to_be_bytes());
        }
        b
    }
}

/// The entries of a transaction index held in `data`.
#[derive(Clone, Copy, Debug)]
pub struct TxnIndex<'a> {
    data: &'a [u8],
}

impl<'a> TxnIndex<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        TxnIndex { data }
    }

    /// Whole entries in the file.
    pub fn len(&self) -> usize {
        self.data.len() / ENTRY
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Entry `i`, if it is whole in the file.
    pub fn get(&self, i: usize) -> Option<AbortedTxn> {
        let at = i.checked_mul(ENTRY)?;
        let bytes = self.data.get(at..at.checked_add(ENTRY)?)?;
        read_entry(&mut Reader::new(bytes, at as u64), at as u64).ok()
    }

    /// Every whole entry, in file order.
    pub fn entries(&self) -> impl Iterator<Item = AbortedTxn> + 'a {
        let data = self.data;
        (0..data.len() / ENTRY).filter_map(move |i| {
            let at = i * ENTRY;
            read_entry(&mut Reader::new(&data[at..at + ENTRY], at as u64), at as u64).ok()
        })
    }

    /// The bytes after the last whole entry: a partial entry, which Kafka
    /// ignores. Reported, never fatal.
    pub fn trailing(&self) -> Option<Issue> {
        let extra = self.data.len() % ENTRY;
        (extra != 0).then(|| {
            let at = (self.data.len() - extra) as u64;
            Issue::at(
                ProblemKind::TrailingBytes,
                at,
                format!(
                    "{extra} bytes after the last whole entry: a partial entry ({} bytes is not a multiple of {ENTRY})",
                    self.data.len()
                ),
            )
        })
    }
}

fn read_entry(r: &mut Reader<'_>, position: u64) -> crate::format::error::Result<AbortedTxn> {
    Ok(AbortedTxn {
        position,
        version: r.i16()?,
        producer_id: r.i64()?,
        first_offset: r.i64()?,
        last_offset: r.i64()?,
        last_stable_offset: r.i64()?,
    })
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
    fn entries_in_file_order_with_positions() {
        let mut data = entry(0, 5001, 3, 11, 12);
        data.extend(entry(0, 7, 20, 25, 26));
        let idx = TxnIndex::new(&data);
        let got: Vec<AbortedTxn> = idx.entries().collect();
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[0],
            AbortedTxn {
                position: 0,
                version: 0,
                producer_id: 5001,
                first_offset: 3,
                last_offset: 11,
                last_stable_offset: 12
            }
        );
        assert_eq!((got[1].position, got[1].producer_id, got[1].last_offset), (34, 7, 25));
        assert!(idx.trailing().is_none());
    }

    #[test]
    fn entries_encode_as_kafka_writes_them() {
        let bytes = entry(0, 5001, 3, 11, 12);
        let e = TxnIndex::new(&bytes).get(0).unwrap();
        assert_eq!(e.encode().to_vec(), bytes);
        let e = AbortedTxn {
            position: 0,
            version: 0,
            producer_id: 1,
            first_offset: 2,
            last_offset: 3,
            last_stable_offset: 4,
        };
        let mut want = vec![0u8, 0];
        for x in [1u8, 2, 3, 4] {
            want.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, x]);
        }
        assert_eq!(e.encode().to_vec(), want);
    }

    #[test]
    fn a_partial_entry_is_reported_not_fatal() {
        let mut data = entry(0, 1, 2, 3, 4);
        data.extend_from_slice(&[0, 0, 0, 9, 9]);
        let idx = TxnIndex::new(&data);
        assert_eq!(idx.entries().count(), 1);
        let t = idx.trailing().unwrap();
        assert_eq!((t.kind.name(), t.position), ("trailing_bytes", 34));
        assert!(TxnIndex::new(&[1, 2, 3]).entries().next().is_none());
        assert_eq!(TxnIndex::new(&[1, 2, 3]).trailing().unwrap().position, 0);
        assert!(TxnIndex::new(&[]).is_empty());
    }
}
