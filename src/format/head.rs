//! [`EntryHead`]: the first bytes of a log entry of any magic, read in place.
//!
//! A view in the style of the `object` crate's raw structs: it borrows the
//! bytes and reads each field where the format puts it, and no read can
//! panic. A field the slice is too short to hold, or that this magic does not
//! have, is `None`. Code above [`crate::format`] reads entry headers only
//! through this view (or the full parsers, [`crate::format::batch::BatchV2`]
//! and [`crate::format::legacy::Message`]), never by byte offset.
//!
//! Layouts (positions from the start of the entry, log overhead included):
//!
//! | field | v0 / v1 message | v2 batch |
//! |---|---|---|
//! | offset (v2: base offset; legacy: the message's, for a wrapper its last inner) | 0 | 0 |
//! | size | 8 | 8 |
//! | CRC | 12 (CRC-32) | 17 (CRC-32C) |
//! | partition leader epoch | – | 12 |
//! | magic | 16 | 16 |
//! | attributes | 17 (one byte) | 21 (two bytes) |
//! | last offset delta | – | 23 |
//! | base timestamp | – | 27 |
//! | max timestamp | v1: 18 | 35 |
//! | producer id, epoch, base sequence | – | 43, 51, 53 |
//! | record count | – | 57 |
//!
//! [`EntryHead::new`] reads magic 0 and 1 with the legacy layout and magic 2
//! with the v2 layout; a field of an unknown magic is `None`.
//! [`EntryHead::any_magic`] reads every magic as Kafka's `FileLogInputStream`
//! does (below 2, negative included, as a legacy message, from 2 up as a v2
//! batch), for output that must match what Kafka's tools print for a
//! damaged entry.

use crate::format::batch::{CRC_START, TimestampType};
use crate::format::compression::Compression;
use crate::format::legacy::MESSAGE_OVERHEAD_V0;
use crate::format::walk::LOG_OVERHEAD;

/// Where the magic byte is in an entry of any version.
pub const MAGIC_AT: usize = 16;
/// Bytes needed to read every v2 header field.
pub const V2_HEADER_LEN: usize = 61;
/// Bytes needed to read every v1 header field (through the timestamp).
pub const V1_HEADER_LEN: usize = 26;
/// The smallest legacy entry: log overhead plus the v0 message overhead
/// (Kafka's `LegacyRecord.isValid` needs at least this much).
pub const LEGACY_MIN_LEN: usize = LOG_OVERHEAD as usize + MESSAGE_OVERHEAD_V0 as usize;

/// The layout a header is read with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    V0,
    /// Legacy with a timestamp: magic 1 (and, for [`EntryHead::any_magic`],
    /// any negative magic, which Kafka reads as a legacy message that is not v0).
    V1,
    V2,
}

/// The header of one log entry, borrowed. See the module documentation for
/// the layout; every accessor is total.
#[derive(Clone, Copy, Debug)]
pub struct EntryHead<'a> {
    bytes: &'a [u8],
    /// Read an unknown magic as Kafka does instead of as `None`.
    any_magic: bool,
}

impl<'a> EntryHead<'a> {
    /// A view over the first bytes of an entry (any length; fields past the
    /// end read as `None`).
    pub fn new(bytes: &'a [u8]) -> Self {
        EntryHead { bytes, any_magic: false }
    }

    /// A view that reads an entry of any magic the way Kafka's
    /// `FileLogInputStream` picks its reader: a magic below 2 (negative too)
    /// as a legacy message, v0 only for magic 0; a magic of 2 or more as a
    /// v2 batch. For printing what Kafka's tools print; code that must
    /// not trust an unknown magic uses [`EntryHead::new`].
    pub fn any_magic(bytes: &'a [u8]) -> Self {
        EntryHead { bytes, any_magic: true }
    }

    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    fn array<const N: usize>(&self, at: usize) -> Option<[u8; N]> {
        self.bytes.get(at..at.checked_add(N)?)?.try_into().ok()
    }
    fn i16_at(&self, at: usize) -> Option<i16> {
        self.array(at).map(i16::from_be_bytes)
    }
    fn i32_at(&self, at: usize) -> Option<i32> {
        self.array(at).map(i32::from_be_bytes)
    }
    fn i64_at(&self, at: usize) -> Option<i64> {
        self.array(at).map(i64::from_be_bytes)
    }
    /// The layout this view reads the magic with (`None`: not one it reads).
    fn layout(&self) -> Option<Layout> {
        match (self.magic()?, self.any_magic) {
            (0, _) => Some(Layout::V0),
            (1, _) => Some(Layout::V1),
            (2, _) => Some(Layout::V2),
            (m, true) if m < 0 => Some(Layout::V1),
            (_, true) => Some(Layout::V2),
            (_, false) => None,
        }
    }
    /// A field that only v2 batches have.
    fn v2<T>(&self, read: impl FnOnce(&Self) -> Option<T>) -> Option<T> {
        if self.layout()? == Layout::V2 { read(self) } else { None }
    }

    /// Bytes 0..8: a v2 batch's base offset; a legacy message's own offset
    /// (for a compressed wrapper, the offset of its last inner message).
    pub fn offset(&self) -> Option<i64> {
        self.i64_at(0)
    }
    /// The entry size after the 12-byte log overhead.
    pub fn size(&self) -> Option<i32> {
        self.i32_at(8)
    }
    pub fn magic(&self) -> Option<i8> {
        self.bytes.get(MAGIC_AT).map(|&b| b as i8)
    }
    /// The stored checksum: CRC-32C of a v2 batch, CRC-32 of a legacy message.
    pub fn crc(&self) -> Option<u32> {
        let at = if self.magic()? >= 2 { 17 } else { 12 };
        self.array(at).map(u32::from_be_bytes)
    }
    /// The attributes, widened for legacy messages (whose field is one byte).
    pub fn attributes(&self) -> Option<i16> {
        self.magic()?;
        match self.layout() {
            Some(Layout::V0 | Layout::V1) => self.bytes.get(17).map(|&b| i16::from(b as i8)),
            // A strict view of an unknown magic keeps the v2 position.
            _ => self.i16_at(21),
        }
    }
    /// The codec id of the attributes (bits 0-2), known to kseg or not.
    pub fn compression_id(&self) -> Option<u8> {
        Some((self.attributes()? & 0x07) as u8)
    }
    /// The codec named by the attributes (`None` also for an unknown id).
    pub fn compression(&self) -> Option<Compression> {
        Compression::from_id(self.compression_id()?)
    }
    /// No timestamp for v0; otherwise the attributes' timestamp-type bit.
    pub fn timestamp_type(&self) -> Option<TimestampType> {
        Some(match self.layout()? {
            Layout::V0 => TimestampType::NoTimestampType,
            _ if self.is_log_append_time()? => TimestampType::LogAppendTime,
            _ => TimestampType::CreateTime,
        })
    }
    pub fn is_log_append_time(&self) -> Option<bool> {
        match self.magic()? {
            0 => Some(false),
            _ => Some(self.attributes()? & 0x08 != 0),
        }
    }
    pub fn is_transactional(&self) -> Option<bool> {
        self.v2(|h| Some(h.attributes()? & 0x10 != 0))
    }
    pub fn is_control(&self) -> Option<bool> {
        self.v2(|h| Some(h.attributes()? & 0x20 != 0))
    }
    pub fn partition_leader_epoch(&self) -> Option<i32> {
        self.v2(|h| h.i32_at(12))
    }
    pub fn last_offset_delta(&self) -> Option<i32> {
        self.v2(|h| h.i32_at(23))
    }
    pub fn base_timestamp(&self) -> Option<i64> {
        self.v2(|h| h.i64_at(27))
    }
    /// The largest timestamp of the entry: a v2 batch's max timestamp, a v1
    /// message's timestamp; v0 has none.
    pub fn max_timestamp(&self) -> Option<i64> {
        match self.layout()? {
            Layout::V0 => None,
            Layout::V1 => self.i64_at(18),
            Layout::V2 => self.i64_at(35),
        }
    }
    pub fn producer_id(&self) -> Option<i64> {
        self.v2(|h| h.i64_at(43))
    }
    pub fn producer_epoch(&self) -> Option<i16> {
        self.v2(|h| h.i16_at(51))
    }
    pub fn base_sequence(&self) -> Option<i32> {
        self.v2(|h| h.i32_at(53))
    }
    pub fn record_count(&self) -> Option<i32> {
        self.v2(|h| h.i32_at(57))
    }
    /// The last offset the entry holds: base offset plus last offset delta
    /// for v2 (wrapping, as Kafka's arithmetic does), the message's own
    /// offset for legacy messages.
    pub fn last_offset(&self) -> Option<i64> {
        match self.layout()? {
            Layout::V0 | Layout::V1 => self.offset(),
            Layout::V2 => Some(self.offset()?.wrapping_add(i64::from(self.last_offset_delta()?))),
        }
    }
    /// Last offset and max timestamp (`-1` for v0, as Kafka reports it).
    pub fn last_offset_and_max_timestamp(&self) -> Option<(i64, i64)> {
        let last = self.last_offset()?;
        match self.layout()? {
            Layout::V0 => Some((last, -1)),
            _ => Some((last, self.max_timestamp()?)),
        }
    }
    /// The checksum of the bytes the view holds, computed over what the
    /// stored one covers: CRC-32C from the attributes to the end for a v2
    /// batch (any magic from 2 up, as [`EntryHead::crc`] reads it), CRC-32
    /// from the magic byte to the end for a legacy message. It is the
    /// entry's checksum only when the view holds the whole entry.
    pub fn computed_crc(&self) -> Option<u32> {
        if self.magic()? >= 2 {
            self.bytes.get(CRC_START..).map(crate::format::crc::crc32c)
        } else {
            self.bytes.get(MAGIC_AT..).map(crc32fast::hash)
        }
    }
    /// Kafka's `isValid` of a whole entry: at least the smallest entry of its
    /// kind ([`V2_HEADER_LEN`], [`LEGACY_MIN_LEN`]) and a stored checksum
    /// equal to [`EntryHead::computed_crc`].
    pub fn crc_valid(&self) -> bool {
        let Some(magic) = self.magic() else { return false };
        let min = if magic >= 2 { V2_HEADER_LEN } else { LEGACY_MIN_LEN };
        self.bytes.len() >= min && self.crc().is_some() && self.crc() == self.computed_crc()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v2_head() -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&100i64.to_be_bytes()); // base offset
        b.extend_from_slice(&49i32.to_be_bytes()); // batch length
        b.extend_from_slice(&7i32.to_be_bytes()); // leader epoch
        b.push(2); // magic
        b.extend_from_slice(&0xdead_beefu32.to_be_bytes()); // crc
        b.extend_from_slice(&0x0033i16.to_be_bytes()); // attributes: lz4 (3), transactional, control
        b.extend_from_slice(&4i32.to_be_bytes()); // last offset delta
        b.extend_from_slice(&1000i64.to_be_bytes());
        b.extend_from_slice(&2000i64.to_be_bytes());
        b.extend_from_slice(&55i64.to_be_bytes()); // producer id
        b.extend_from_slice(&3i16.to_be_bytes());
        b.extend_from_slice(&9i32.to_be_bytes());
        b.extend_from_slice(&5i32.to_be_bytes());
        b
    }

    #[test]
    fn v2_fields_where_the_format_puts_them() {
        let b = v2_head();
        assert_eq!(b.len(), V2_HEADER_LEN);
        let h = EntryHead::new(&b);
        assert_eq!(h.offset(), Some(100));
        assert_eq!(h.size(), Some(49));
        assert_eq!(h.partition_leader_epoch(), Some(7));
        assert_eq!(h.magic(), Some(2));
        assert_eq!(h.crc(), Some(0xdead_beef));
        assert_eq!(h.compression(), Some(Compression::Lz4));
        assert_eq!(h.is_transactional(), Some(true));
        assert_eq!(h.is_control(), Some(true));
        assert_eq!(h.is_log_append_time(), Some(false));
        assert_eq!(h.last_offset(), Some(104));
        assert_eq!(h.base_timestamp(), Some(1000));
        assert_eq!(h.max_timestamp(), Some(2000));
        assert_eq!(h.producer_id(), Some(55));
        assert_eq!(h.producer_epoch(), Some(3));
        assert_eq!(h.base_sequence(), Some(9));
        assert_eq!(h.record_count(), Some(5));
        // Cut short: the fields past the end are None, the ones before stay.
        let h = EntryHead::new(&b[..40]);
        assert_eq!(h.last_offset(), Some(104));
        assert_eq!(h.max_timestamp(), None);
        assert_eq!(h.producer_id(), None);
    }

    #[test]
    fn legacy_fields() {
        // v1: offset, size, crc, magic 1, attributes (gzip | log-append), timestamp.
        let mut b = Vec::new();
        b.extend_from_slice(&42i64.to_be_bytes());
        b.extend_from_slice(&30i32.to_be_bytes());
        b.extend_from_slice(&0x0102_0304u32.to_be_bytes());
        b.push(1);
        b.push(0x09);
        b.extend_from_slice(&777i64.to_be_bytes());
        let h = EntryHead::new(&b);
        assert_eq!(h.crc(), Some(0x0102_0304));
        assert_eq!(h.compression(), Some(Compression::Gzip));
        assert_eq!(h.is_log_append_time(), Some(true));
        assert_eq!(h.last_offset_and_max_timestamp(), Some((42, 777)));
        assert_eq!(h.producer_id(), None);
        assert_eq!(h.is_control(), None);
        b[16] = 0;
        let h = EntryHead::new(&b);
        assert_eq!(h.last_offset_and_max_timestamp(), Some((42, -1)));
        assert_eq!(h.is_log_append_time(), Some(false));
        b[16] = 9;
        assert_eq!(EntryHead::new(&b).last_offset(), None);
    }

    #[test]
    fn any_magic_reads_as_kafka_picks_the_reader() {
        // Magic 3: no field in the strict view, the v2 layout in Kafka's.
        let mut b = v2_head();
        b[16] = 3;
        assert_eq!(EntryHead::new(&b).last_offset(), None);
        assert_eq!(EntryHead::new(&b).max_timestamp(), None);
        let h = EntryHead::any_magic(&b);
        assert_eq!((h.last_offset(), h.max_timestamp(), h.record_count()), (Some(104), Some(2000), Some(5)));
        assert_eq!(h.attributes(), Some(0x0033));
        // Magic -1: a legacy message that is not v0 (attributes at 17,
        // timestamp at 18, offset as last offset).
        b[16] = 0xff;
        b[17] = 0x08;
        let h = EntryHead::any_magic(&b);
        assert_eq!(h.attributes(), Some(8));
        assert_eq!(h.timestamp_type(), Some(TimestampType::LogAppendTime));
        assert_eq!(h.max_timestamp(), Some(i64::from_be_bytes(b[18..26].try_into().unwrap())));
        assert_eq!(h.last_offset(), Some(100));
        assert_eq!(h.producer_id(), None);
        assert_eq!(EntryHead::new(&b).timestamp_type(), None);
        // Both views agree on magic 0, 1 and 2.
        b[16] = 2;
        let (strict, kafka) = (EntryHead::new(&b), EntryHead::any_magic(&b));
        assert_eq!(strict.last_offset_and_max_timestamp(), kafka.last_offset_and_max_timestamp());
        assert_eq!(strict.attributes(), kafka.attributes());
    }

    #[test]
    fn compression_id_includes_unknown_codecs() {
        let mut b = v2_head();
        assert_eq!(EntryHead::new(&b).compression_id(), Some(3));
        b[22] = 0x07;
        let h = EntryHead::new(&b);
        assert_eq!((h.compression_id(), h.compression()), (Some(7), None));
        assert_eq!(EntryHead::new(&b[..22]).compression_id(), None);
    }

    #[test]
    fn timestamp_types() {
        let mut b = v2_head();
        assert_eq!(EntryHead::new(&b).timestamp_type(), Some(TimestampType::CreateTime));
        b[22] |= 0x08;
        assert_eq!(EntryHead::new(&b).timestamp_type(), Some(TimestampType::LogAppendTime));
        b[16] = 0;
        assert_eq!(EntryHead::new(&b).timestamp_type(), Some(TimestampType::NoTimestampType));
        assert_eq!(EntryHead::new(&b[..10]).timestamp_type(), None);
    }

    #[test]
    fn computed_crc_covers_what_the_stored_one_does() {
        // A v2 batch: CRC-32C from byte 21.
        let mut b = v2_head();
        let crc = crate::format::crc::crc32c(&b[21..]);
        b[17..21].copy_from_slice(&crc.to_be_bytes());
        let h = EntryHead::new(&b);
        assert_eq!(h.computed_crc(), Some(crc));
        assert!(h.crc_valid());
        b[60] ^= 1;
        assert!(!EntryHead::new(&b).crc_valid());
        // Shorter than the v2 header: never valid, whatever the CRC.
        let short = &b[..40];
        let mut short = short.to_vec();
        let crc = crate::format::crc::crc32c(&short[21..]);
        short[17..21].copy_from_slice(&crc.to_be_bytes());
        assert_eq!(EntryHead::new(&short).computed_crc(), Some(crc));
        assert!(!EntryHead::new(&short).crc_valid());
        // A legacy message: CRC-32 from the magic byte, 26 bytes at least.
        let mut m = Vec::new();
        m.extend_from_slice(&5i64.to_be_bytes());
        m.extend_from_slice(&14i32.to_be_bytes());
        m.extend_from_slice(&[0; 4]);
        m.extend_from_slice(&[0, 0]);
        m.extend_from_slice(&(-1i32).to_be_bytes());
        m.extend_from_slice(&(-1i32).to_be_bytes());
        let crc = crc32fast::hash(&m[16..]);
        m[12..16].copy_from_slice(&crc.to_be_bytes());
        let h = EntryHead::new(&m);
        assert_eq!(h.computed_crc(), Some(crc));
        assert!(h.crc_valid());
        assert!(!EntryHead::new(&m[..25]).crc_valid());
        assert_eq!(EntryHead::new(&m[..12]).computed_crc(), None);
        assert!(!EntryHead::new(&[]).crc_valid());
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_any_field_no_panic(b in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..80)) {
            for h in [EntryHead::new(&b), EntryHead::any_magic(&b)] {
            let _ = (h.compression_id(), h.timestamp_type(), h.computed_crc(), h.crc_valid());
            let _ = (h.offset(), h.size(), h.crc(), h.attributes(), h.compression(), h.is_log_append_time(),
                     h.is_transactional(), h.is_control(), h.partition_leader_epoch(), h.base_timestamp(),
                     h.max_timestamp(), h.producer_id(), h.producer_epoch(), h.base_sequence(),
                     h.record_count(), h.last_offset_and_max_timestamp());
            }
        }
    }
}
