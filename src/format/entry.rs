//! One log entry of any magic: a v2 batch or a legacy (v0/v1) message,
//! summarised the same way and iterated record by record.

use serde::Serialize;

use crate::format::batch::{BatchV2, TimestampType};
use crate::format::compression::{self, Compression, DEFAULT_MAX_DECOMPRESSED};
use crate::format::error::{DecodeError, ErrorKind, Result};
use crate::format::legacy::{self, InnerSet, LegacyRecords, Message};
use crate::format::problem::ProblemKind;
use crate::format::record::{Record, RecordIter, Scan};

/// What a batch line shows, for every magic. For a legacy entry the base and
/// last offsets are its first and last (inner) offsets and the producer
/// fields are -1, as Kafka reports them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BatchInfo {
    pub position: u64,
    pub size: u64,
    pub base_offset: i64,
    pub last_offset: i64,
    /// Records in the batch; for a legacy wrapper that could not be
    /// decompressed, unknown.
    pub count: Option<u32>,
    pub magic: i8,
    /// `None` when the codec bits hold an id no codec has.
    pub compression: Option<Compression>,
    pub crc: u32,
    pub crc_valid: bool,
    pub timestamp_type: TimestampType,
    pub base_timestamp: i64,
    pub max_timestamp: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub partition_leader_epoch: i32,
    pub is_transactional: bool,
    pub is_control: bool,
    pub attributes: i16,
    pub delete_horizon: Option<i64>,
}

/// A parsed entry.
#[derive(Clone, Copy, Debug)]
pub enum Batch<'a> {
    V2(BatchV2<'a>),
    Legacy(Message<'a>),
}

impl<'a> Batch<'a> {
    /// Parse an entry (12-byte log overhead included) at `position`. The
    /// magic byte decides the layout: below 2 legacy, 2 a v2 batch.
    pub fn parse(bytes: &'a [u8], position: u64) -> Result<Self> {
        let Some(&magic) = bytes.get(16) else {
            return Err(DecodeError::new(position, ErrorKind::Truncated { needed: 17, available: bytes.len() as u64 }));
        };
        match magic as i8 {
            0 | 1 => Message::parse(bytes, position).map(Batch::Legacy),
            2 => BatchV2::parse(bytes, position).map(Batch::V2),
            m => Err(DecodeError::new(position + 16, ErrorKind::BadMagic(m))),
        }
    }

    pub fn magic(&self) -> i8 {
        match self {
            Batch::V2(b) => b.header.magic,
            Batch::Legacy(m) => m.magic,
        }
    }
}

/// Decodes entries, reusing one decompression buffer for all of them.
pub struct Decoder {
    scratch: Vec<u8>,
    pub max_decompressed: usize,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder { scratch: Vec::new(), max_decompressed: DEFAULT_MAX_DECOMPRESSED }
    }
}

/// A decoded batch (a v2 batch or a legacy entry): its summary, and its records on demand.
pub struct DecodedBatch<'s> {
    pub info: BatchInfo,
    pub batch: Batch<'s>,
    scratch: &'s mut Vec<u8>,
    max_decompressed: usize,
    /// For a compressed legacy wrapper: its inner set, or why it failed.
    inner: Option<Result<InnerSet>>,
}

impl Decoder {
    pub fn new(max_decompressed: usize) -> Self {
        Decoder { scratch: Vec::new(), max_decompressed }
    }

    /// Decode the entry `bytes` at `position`. Only a header that cannot be
    /// read is an error here; problems inside the records come from
    /// [`DecodedBatch::records`].
    pub fn decode<'s>(&'s mut self, bytes: &'s [u8], position: u64) -> Result<DecodedBatch<'s>> {
        let batch = Batch::parse(bytes, position)?;
        let (info, inner) = match &batch {
            Batch::V2(b) => (v2_info(b), None),
            Batch::Legacy(m) => {
                let inner = match m.compression() {
                    Ok(Compression::None) => None,
                    Ok(codec) => Some(decompress_wrapper(m, codec, &mut self.scratch, self.max_decompressed)),
                    Err(kind) => Some(Err(DecodeError::new(position + 17, kind))),
                };
                (legacy_info(m, inner.as_ref().and_then(|r| r.as_ref().ok())), inner)
            }
        };
        Ok(DecodedBatch { info, batch, scratch: &mut self.scratch, max_decompressed: self.max_decompressed, inner })
    }
}

fn decompress_wrapper(m: &Message<'_>, codec: Compression, out: &mut Vec<u8>, limit: usize) -> Result<InnerSet> {
    let Some(value) = m.value else {
        return Err(DecodeError::new(m.position, ErrorKind::NullWrapperValue));
    };
    let n = compression::decompress(codec, value, out, limit, m.magic).map_err(|k| DecodeError::new(m.position, k))?;
    // The inner set is the decompressed prefix; the rest is stale buffer.
    out.truncate(n);
    legacy::inner_set(m, out)
}

fn v2_info(b: &BatchV2<'_>) -> BatchInfo {
    let h = &b.header;
    BatchInfo {
        position: b.position,
        size: b.size() as u64,
        base_offset: h.base_offset,
        last_offset: h.last_offset(),
        count: u32::try_from(h.records_count).ok(),
        magic: h.magic,
        compression: h.compression(),
        crc: h.crc,
        crc_valid: b.crc_valid(),
        timestamp_type: h.timestamp_type(),
        base_timestamp: h.base_timestamp,
        max_timestamp: h.max_timestamp,
        producer_id: h.producer_id,
        producer_epoch: h.producer_epoch,
        base_sequence: h.base_sequence,
        partition_leader_epoch: h.partition_leader_epoch,
        is_transactional: h.is_transactional(),
        is_control: h.is_control(),
        attributes: h.attributes,
        delete_horizon: h.delete_horizon(),
    }
}

fn legacy_info(m: &Message<'_>, inner: Option<&InnerSet>) -> BatchInfo {
    let (base_offset, last_offset, count) = match (m.codec_id(), inner) {
        (0, _) => (m.offset, m.offset, Some(1)),
        (_, Some(set)) => (set.first_offset, set.last_offset, Some(set.count)),
        (_, None) => (m.offset, m.offset, None),
    };
    BatchInfo {
        position: m.position,
        size: m.size_in_file() as u64,
        base_offset,
        last_offset,
        count,
        magic: m.magic,
        compression: m.compression().ok(),
        crc: m.crc,
        crc_valid: m.crc_valid(),
        timestamp_type: m.timestamp_type(),
        base_timestamp: m.timestamp,
        max_timestamp: m.timestamp,
        producer_id: -1,
        producer_epoch: -1,
        base_sequence: -1,
        partition_leader_epoch: -1,
        is_transactional: false,
        is_control: false,
        attributes: i16::from(m.attributes),
        delete_horizon: None,
    }
}

fn is_codec_error(e: &DecodeError) -> bool {
    matches!(e.kind, ErrorKind::BadCodec(_) | ErrorKind::ZstdInLegacy(_))
}

/// One problem of a batch, ready to report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchProblem {
    pub kind: ProblemKind,
    /// Byte position in the file (inside a compressed batch, the batch's own;
    /// the message says where in the decompressed records).
    pub position: u64,
    pub message: String,
}

impl From<&DecodeError> for BatchProblem {
    fn from(e: &DecodeError) -> Self {
        BatchProblem { kind: e.kind_name(), position: e.position, message: e.describe() }
    }
}

/// Records of any entry kind.
pub enum Records<'s> {
    V2(RecordIter<'s>),
    Legacy(LegacyRecords<'s>),
    Failed(Option<DecodeError>),
}

impl<'s> Iterator for Records<'s> {
    type Item = Result<Record<'s>>;
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Records::V2(it) => it.next(),
            Records::Legacy(it) => it.next(),
            Records::Failed(e) => e.take().map(Err),
        }
    }
}

impl<'s> DecodedBatch<'s> {
    /// The records, decompressing a v2 batch on first use. A failure
    /// (bad codec, decompression) comes out as the iterator's only item.
    pub fn records(&mut self) -> Records<'_> {
        match &self.batch {
            Batch::V2(b) => match b.records(self.scratch, self.max_decompressed) {
                Ok(it) => Records::V2(it),
                Err(e) => Records::Failed(Some(e)),
            },
            Batch::Legacy(m) => match &self.inner {
                None => Records::Legacy(LegacyRecords::single(m)),
                Some(Ok(set)) => Records::Legacy(LegacyRecords::inner(m, set, self.scratch)),
                Some(Err(e)) => Records::Failed(Some(e.clone())),
            },
        }
    }

    /// The records' summary, for a v2 batch other than a control batch, when
    /// every record is well formed ([`BatchV2::scan`]); `None` otherwise, and
    /// then [`DecodedBatch::records`] tells what is wrong.
    pub fn scan(&mut self) -> Option<Scan> {
        match &self.batch {
            Batch::V2(b) if !b.header.is_control() => b.scan(self.scratch, self.max_decompressed),
            _ => None,
        }
    }

    /// Problems the header alone shows: a CRC that does not match, and
    /// codec bits that name no codec valid for the magic (a legacy wrapper's
    /// decompression error comes with them). Each is at the batch's position.
    pub fn header_problems(&self) -> Vec<BatchProblem> {
        let info = &self.info;
        let at = |kind, message| BatchProblem { kind, position: info.position, message };
        let mut out = Vec::new();
        if !info.crc_valid {
            let computed = match self.batch {
                Batch::V2(b) => b.computed_crc(),
                Batch::Legacy(m) => m.computed_crc(),
            };
            out.push(at(ProblemKind::CrcMismatch, format!("stored CRC {:08x}, computed {computed:08x}", info.crc)));
        }
        if info.compression.is_none() || (info.magic < 2 && info.attributes & 7 == 4) {
            let msg = format!("invalid codec id {} for magic v{}", info.attributes & 7, info.magic);
            out.push(at(ProblemKind::BadAttributes, msg));
        }
        if let Some(e) = self.wrapper_error()
            && !is_codec_error(e)
        {
            out.push(BatchProblem::from(e));
        }
        out
    }

    /// The problem a failure of [`DecodedBatch::records`] adds to
    /// [`DecodedBatch::header_problems`]; `None` when it repeats one of them
    /// (a bad codec, or the legacy wrapper's failure), so that each problem of
    /// a batch is reported once.
    pub fn record_problem(&self, e: &DecodeError) -> Option<BatchProblem> {
        (!is_codec_error(e) && self.wrapper_error() != Some(e)).then(|| BatchProblem::from(e))
    }

    /// The error met while decompressing a legacy wrapper at decode time.
    pub fn wrapper_error(&self) -> Option<&DecodeError> {
        self.inner.as_ref().and_then(|r| r.as_ref().err())
    }
}
