//! Legacy message format, magic v0 and v1: one message per log entry, and
//! compressed "wrapper" messages whose value is a nested message set.

use crate::format::batch::TimestampType;
use crate::format::bytes::Reader;
use crate::format::compression::Compression;
use crate::format::error::{DecodeError, ErrorKind, Result};
use crate::format::head::EntryHead;
use crate::format::record::{Headers, Record};

/// Bytes after the log overhead that every v0 message has (crc, magic,
/// attributes, key length, value length).
pub const MESSAGE_OVERHEAD_V0: i32 = 14;
const LOG_OVERHEAD: usize = 12;

/// One legacy message borrowed from its bytes (log overhead included).
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    pub position: u64,
    pub offset: i64,
    pub size: i32,
    pub crc: u32,
    pub magic: i8,
    pub attributes: i8,
    /// -1 for magic v0, which has no timestamp.
    pub timestamp: i64,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    bytes: &'a [u8],
}

impl<'a> Message<'a> {
    pub fn parse(bytes: &'a [u8], position: u64) -> Result<Self> {
        Self::parse_with(Reader::new(bytes, position), bytes, position)
    }

    /// `r` reads `bytes`, the message and whatever follows it; `position`
    /// is what the message reports as its own position.
    fn parse_with(mut r: Reader<'a>, bytes: &'a [u8], position: u64) -> Result<Self> {
        let offset = r.i64()?;
        let size = r.i32()?;
        if size < MESSAGE_OVERHEAD_V0 {
            return Err(r.error_at(8, ErrorKind::SizeTooSmall(size)));
        }
        let crc = r.u32()?;
        let magic = r.i8()?;
        if !(0..=1).contains(&magic) {
            return Err(r.error_at(16, ErrorKind::BadMagic(magic)));
        }
        let attributes = r.i8()?;
        let timestamp = if magic == 1 { r.i64()? } else { -1 };
        let key = r.i32_bytes()?;
        let value = r.i32_bytes()?;
        let bytes = bytes.get(..LOG_OVERHEAD + size as usize).unwrap_or(bytes);
        Ok(Message { position, offset, size, crc, magic, attributes, timestamp, key, value, bytes })
    }

    pub fn codec_id(&self) -> u8 {
        (self.attributes & 0x07) as u8
    }

    /// The codec; zstd (and ids 5-7) are not valid in legacy messages.
    pub fn compression(&self) -> Result<Compression, ErrorKind> {
        match Compression::from_id(self.codec_id()) {
            Some(Compression::Zstd) => Err(ErrorKind::ZstdInLegacy(self.magic)),
            Some(c) => Ok(c),
            None => Err(ErrorKind::BadCodec(self.codec_id())),
        }
    }

    pub fn timestamp_type(&self) -> TimestampType {
        match (self.magic, self.attributes & 0x08 != 0) {
            (0, _) => TimestampType::NoTimestampType,
            (_, true) => TimestampType::LogAppendTime,
            (_, false) => TimestampType::CreateTime,
        }
    }

    pub fn size_in_file(&self) -> usize {
        self.bytes.len()
    }

    /// CRC-32 (IEEE) from the magic byte to the end of the message.
    pub fn computed_crc(&self) -> u32 {
        // A parsed message holds its magic byte, so the CRC is always there.
        EntryHead::new(self.bytes).computed_crc().unwrap_or_default()
    }

    pub fn crc_valid(&self) -> bool {
        self.computed_crc() == self.crc
    }

    fn as_record(&self, offset: i64, timestamp: i64) -> Record<'a> {
        Record {
            offset,
            timestamp,
            attributes: self.attributes,
            key: self.key,
            value: self.value,
            headers: Headers::default(),
            size: self.bytes.len(),
            control: None,
            message: Some(self.bytes),
        }
    }
}

/// Offsets of a compressed wrapper's inner message set, found in one quick
/// pass so that v1 relative offsets can be made absolute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InnerSet {
    pub count: u32,
    pub first_offset: i64,
    pub last_offset: i64,
    /// Added to each stored inner offset to get the absolute offset.
    pub delta: i64,
}

/// Walk the inner entries' framing (offset, size) the way Kafka does: an
/// entry that runs past the end ends the set quietly.
fn inner_frames(inner: &[u8]) -> impl Iterator<Item = (usize, i64, i32)> + '_ {
    let mut pos = 0usize;
    std::iter::from_fn(move || {
        let head = inner.get(pos..pos + LOG_OVERHEAD)?;
        let offset = i64::from_be_bytes(head[..8].try_into().ok()?);
        let size = i32::from_be_bytes(head[8..].try_into().ok()?);
        let start = pos;
        if size >= MESSAGE_OVERHEAD_V0 && inner.len() - pos - LOG_OVERHEAD >= size as usize {
            pos += LOG_OVERHEAD + size as usize;
        } else {
            pos = inner.len();
            if size >= MESSAGE_OVERHEAD_V0 {
                return None;
            }
        }
        Some((start, offset, size))
    })
}

/// Inspect a decompressed inner message set of `wrapper`.
pub fn inner_set(wrapper: &Message<'_>, inner: &[u8]) -> Result<InnerSet> {
    let mut count = 0u32;
    let mut first = None;
    let mut last = 0i64;
    for (at, offset, size) in inner_frames(inner) {
        if size < MESSAGE_OVERHEAD_V0 {
            return Err(DecodeError {
                position: wrapper.position,
                decompressed_at: Some(at as u64 + 8),
                kind: ErrorKind::SizeTooSmall(size),
            });
        }
        count += 1;
        first.get_or_insert(offset);
        last = offset;
    }
    let Some(first) = first else {
        return Err(DecodeError::new(wrapper.position, ErrorKind::EmptyWrapper));
    };
    let delta = if wrapper.magic == 0 || wrapper.offset == 0 {
        // v0 inner offsets were rewritten by the broker and are absolute;
        // a v1 wrapper at offset 0 (librdkafka) keeps relative offsets.
        0
    } else {
        if wrapper.offset < last {
            return Err(DecodeError::new(
                wrapper.position,
                ErrorKind::WrapperOffset { wrapper: wrapper.offset, last_inner: last },
            ));
        }
        // Java's long arithmetic: an absurd (negative) inner offset wraps
        // instead of overflowing.
        wrapper.offset.wrapping_sub(last)
    };
    Ok(InnerSet { count, first_offset: first.wrapping_add(delta), last_offset: last.wrapping_add(delta), delta })
}

/// Records of one legacy entry.
pub enum LegacyRecords<'a> {
    Single(Option<Record<'a>>),
    Inner { wrapper_timestamp: Option<i64>, delta: i64, inner: &'a [u8], batch_position: u64, pos: usize, done: bool },
}

impl<'a> LegacyRecords<'a> {
    pub fn single(m: &Message<'a>) -> Self {
        LegacyRecords::Single(Some(m.as_record(m.offset, m.timestamp)))
    }

    pub fn inner(wrapper: &Message<'_>, set: &InnerSet, inner: &'a [u8]) -> Self {
        // Inner messages take the wrapper's timestamp type.
        let wrapper_timestamp = (wrapper.timestamp_type() == TimestampType::LogAppendTime).then_some(wrapper.timestamp);
        LegacyRecords::Inner {
            wrapper_timestamp,
            delta: set.delta,
            inner,
            batch_position: wrapper.position,
            pos: 0,
            done: false,
        }
    }
}

impl<'a> Iterator for LegacyRecords<'a> {
    type Item = Result<Record<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            LegacyRecords::Single(r) => r.take().map(Ok),
            LegacyRecords::Inner { wrapper_timestamp, delta, inner, batch_position, pos, done } => {
                if *done {
                    return None;
                }
                let (at, _, size) = inner_frames(inner.get(*pos..)?).next()?;
                let start = *pos + at;
                let bytes = &inner[start..];
                // A reader whose error positions count from the start of the
                // whole decompressed set.
                let mut whole = Reader::decompressed(inner, *batch_position);
                let r = whole.take(start).and_then(|_| whole.sub(bytes.len()));
                *pos = start + LOG_OVERHEAD + size.max(0) as usize;
                let parsed = r.and_then(|r| Message::parse_with(r, bytes, *batch_position));
                let m = match parsed {
                    Ok(m) => m,
                    Err(e) => {
                        *done = true;
                        return Some(Err(e));
                    }
                };
                if m.codec_id() != 0 {
                    *done = true;
                    return Some(Err(DecodeError {
                        position: *batch_position,
                        decompressed_at: Some(start as u64),
                        kind: ErrorKind::NestedCompression,
                    }));
                }
                let timestamp = wrapper_timestamp.unwrap_or(m.timestamp);
                Some(Ok(m.as_record(m.offset.wrapping_add(*delta), timestamp)))
            }
        }
    }
}
