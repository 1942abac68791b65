//! Magic v2 record batches: the 61-byte header as a view over the entry bytes.

use serde::Serialize;

use crate::format::bytes::Reader;
use crate::format::compression::{self, Compression};
use crate::format::error::{ErrorKind, Result};
use crate::format::record::{self, RecordIter, Scan};

/// Bytes of the fixed v2 header, from the base offset to the record count.
pub const HEADER_LEN: usize = 61;
/// The CRC covers everything from the attributes field to the end of the batch.
pub const CRC_START: usize = 21;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum TimestampType {
    NoTimestampType,
    CreateTime,
    LogAppendTime,
}

impl TimestampType {
    pub fn name(self) -> &'static str {
        match self {
            TimestampType::NoTimestampType => "NoTimestampType",
            TimestampType::CreateTime => "CreateTime",
            TimestampType::LogAppendTime => "LogAppendTime",
        }
    }
}

/// The v2 batch header, field by field as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub base_offset: i64,
    pub batch_length: i32,
    pub partition_leader_epoch: i32,
    pub magic: i8,
    pub crc: u32,
    pub attributes: i16,
    pub last_offset_delta: i32,
    pub base_timestamp: i64,
    pub max_timestamp: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub records_count: i32,
}

impl Header {
    pub fn compression_id(&self) -> u8 {
        (self.attributes & 0x07) as u8
    }
    pub fn compression(&self) -> Option<Compression> {
        Compression::from_id(self.compression_id())
    }
    pub fn timestamp_type(&self) -> TimestampType {
        if self.attributes & 0x08 != 0 { TimestampType::LogAppendTime } else { TimestampType::CreateTime }
    }
    pub fn is_transactional(&self) -> bool {
        self.attributes & 0x10 != 0
    }
    pub fn is_control(&self) -> bool {
        self.attributes & 0x20 != 0
    }
    /// KIP-534: when set, the base timestamp holds the delete horizon.
    pub fn has_delete_horizon(&self) -> bool {
        self.attributes & 0x40 != 0
    }
    pub fn delete_horizon(&self) -> Option<i64> {
        self.has_delete_horizon().then_some(self.base_timestamp)
    }
    pub fn last_offset(&self) -> i64 {
        self.base_offset.wrapping_add(i64::from(self.last_offset_delta))
    }
}

/// A v2 batch borrowed from the segment: the header plus the whole entry.
#[derive(Clone, Copy, Debug)]
pub struct BatchV2<'a> {
    pub header: Header,
    /// Byte position of the batch in its file.
    pub position: u64,
    bytes: &'a [u8],
}

impl<'a> BatchV2<'a> {
    /// Parse the header of the entry `bytes` (12-byte log overhead included),
    /// which starts at `position` in its file.
    pub fn parse(bytes: &'a [u8], position: u64) -> Result<Self> {
        let mut r = Reader::new(bytes, position);
        let base_offset = r.i64()?;
        let batch_length = r.i32()?;
        if (batch_length as i64) < (HEADER_LEN as i64 - 12) {
            return Err(r.error_at(8, ErrorKind::BatchTooShort(batch_length)));
        }
        let header = Header {
            base_offset,
            batch_length,
            partition_leader_epoch: r.i32()?,
            magic: r.i8()?,
            crc: r.u32()?,
            attributes: r.i16()?,
            last_offset_delta: r.i32()?,
            base_timestamp: r.i64()?,
            max_timestamp: r.i64()?,
            producer_id: r.i64()?,
            producer_epoch: r.i16()?,
            base_sequence: r.i32()?,
            records_count: r.i32()?,
        };
        Ok(BatchV2 { header, position, bytes })
    }

    /// Total size in the file: 12 + batch length.
    pub fn size(&self) -> usize {
        self.bytes.len()
    }

    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    pub fn computed_crc(&self) -> u32 {
        crate::format::crc::crc32c(self.bytes.get(CRC_START..).unwrap_or_default())
    }

    pub fn crc_valid(&self) -> bool {
        self.computed_crc() == self.header.crc
    }

    /// The records section as stored (compressed or not).
    pub fn records_bytes(&self) -> &'a [u8] {
        self.bytes.get(HEADER_LEN..).unwrap_or_default()
    }

    /// Iterate the records. An uncompressed batch is read in place; a
    /// compressed one is decompressed once into `scratch`.
    pub fn records<'s>(&'s self, scratch: &'s mut Vec<u8>, max_decompressed: usize) -> Result<RecordIter<'s>>
    where
        'a: 's,
    {
        let h = &self.header;
        let reader = self.records_reader(scratch, max_decompressed)?;
        let log_append_time = (h.timestamp_type() == TimestampType::LogAppendTime).then_some(h.max_timestamp);
        Ok(RecordIter::new(
            reader,
            h.base_offset,
            h.base_timestamp,
            log_append_time,
            h.records_count as u32,
            h.is_control(),
        ))
    }

    /// Check the records' framing without building them (see
    /// [`record::scan`]); `None` when anything is wrong, including a codec
    /// or decompression failure, which [`BatchV2::records`] then reports.
    pub fn scan<'s>(&'s self, scratch: &'s mut Vec<u8>, max_decompressed: usize) -> Option<Scan>
    where
        'a: 's,
    {
        let h = &self.header;
        let reader = self.records_reader(scratch, max_decompressed).ok()?;
        record::scan(reader.rest_slice(), h.records_count as u32, h.base_offset, h.last_offset(), h.base_timestamp)
    }

    /// Call `f` with each record's fields (see [`record::visit`]); `false`
    /// when a record, the codec or the decompression fails, after `f` saw
    /// the records before the failure.
    pub fn visit<'s>(
        &'s self,
        scratch: &'s mut Vec<u8>,
        max_decompressed: usize,
        f: impl FnMut(&record::Fields<'s>),
    ) -> bool
    where
        'a: 's,
    {
        match self.records_reader(scratch, max_decompressed) {
            Ok(reader) => record::visit(reader.rest_slice(), self.header.records_count as u32, f),
            Err(_) => false,
        }
    }

    /// The records section as a reader: in place, or decompressed into `scratch`.
    fn records_reader<'s>(&'s self, scratch: &'s mut Vec<u8>, max_decompressed: usize) -> Result<Reader<'s>>
    where
        'a: 's,
    {
        let h = &self.header;
        let codec = h.compression().ok_or_else(|| {
            crate::format::error::DecodeError::new(self.position + 21, ErrorKind::BadCodec(h.compression_id()))
        })?;
        if h.records_count < 0 {
            return Err(crate::format::error::DecodeError::new(
                self.position + 57,
                ErrorKind::BadRecordCount(h.records_count),
            ));
        }
        Ok(if codec == Compression::None {
            Reader::new(self.records_bytes(), self.position + HEADER_LEN as u64)
        } else {
            let n = compression::decompress(codec, self.records_bytes(), scratch, max_decompressed, 2)
                .map_err(|kind| crate::format::error::DecodeError::new(self.position + HEADER_LEN as u64, kind))?;
            Reader::decompressed(&scratch[..n], self.position)
        })
    }
}
