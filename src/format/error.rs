//! Decode errors as values. Every error names the byte position in the file
//! where the bad structure starts, so a user can cut the bytes out with `dd`.

use std::fmt;

use crate::format::problem::ProblemKind;

/// What went wrong, without the position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErrorKind {
    #[error("unexpected end of data: needed {needed} bytes, {available} available")]
    Truncated { needed: u64, available: u64 },
    #[error("varint is too long")]
    VarintTooLong,
    #[error("unknown magic byte {0}")]
    BadMagic(i8),
    #[error("entry size {0} is smaller than the minimum record overhead (14)")]
    SizeTooSmall(i32),
    #[error("entry size {size} exceeds the limit of {limit} bytes")]
    EntryTooLarge { size: u64, limit: u64 },
    #[error("batch length {0} is smaller than the v2 batch header")]
    BatchTooShort(i32),
    #[error("invalid compression codec id {0}")]
    BadCodec(u8),
    #[error("zstd is not allowed in magic v{0} messages")]
    ZstdInLegacy(i8),
    #[error("invalid record count {0}")]
    BadRecordCount(i32),
    #[error("invalid length {0}")]
    BadLength(i64),
    #[error("record size mismatch: expected to read {expected} bytes in record payload, but read {actual}")]
    RecordSizeMismatch { expected: u64, actual: u64 },
    #[error("incorrect declared batch size, premature end of records after {read} of {declared} records")]
    PrematureEnd { read: u64, declared: u64 },
    #[error("incorrect declared batch size, {0} bytes remain after the last record")]
    RecordsRemaining(u64),
    #[error("decompression ({codec}) failed: {message}")]
    Decompress { codec: &'static str, message: String },
    #[error("decompressed size exceeds the limit of {0} bytes")]
    DecompressLimit(u64),
    #[error("compressed legacy wrapper has a null value")]
    NullWrapperValue,
    #[error("compressed legacy wrapper holds no messages")]
    EmptyWrapper,
    #[error("compressed legacy wrapper holds a compressed message")]
    NestedCompression,
    #[error("legacy wrapper offset {wrapper} is below its last inner relative offset {last_inner}")]
    WrapperOffset { wrapper: i64, last_inner: i64 },
    #[error("invalid control record: {0}")]
    Control(String),
    #[error("{0}")]
    Other(String),
}

/// A decode failure at a byte position.
///
/// `position` is always a position in the file (or input buffer). Inside a
/// compressed batch the position is the batch's own, and `decompressed_at`
/// says where in the decompressed records the failure was met.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    pub position: u64,
    pub decompressed_at: Option<u64>,
    pub kind: ErrorKind,
}

impl DecodeError {
    pub fn new(position: u64, kind: ErrorKind) -> Self {
        DecodeError { position, decompressed_at: None, kind }
    }

    /// A short machine name for the kind, shared by `dump` problems and
    /// `verify` findings (documented in docs/verify.md and docs/json.md).
    pub fn kind_name(&self) -> ProblemKind {
        match &self.kind {
            ErrorKind::BadMagic(_) => ProblemKind::BadMagic,
            ErrorKind::SizeTooSmall(_) | ErrorKind::BatchTooShort(_) => ProblemKind::BadSize,
            ErrorKind::EntryTooLarge { .. } => ProblemKind::EntryTooLarge,
            ErrorKind::BadCodec(_) | ErrorKind::ZstdInLegacy(_) => ProblemKind::BadAttributes,
            ErrorKind::BadRecordCount(_) | ErrorKind::PrematureEnd { .. } | ErrorKind::RecordsRemaining(_) => {
                ProblemKind::RecordCountMismatch
            }
            ErrorKind::Decompress { .. } | ErrorKind::DecompressLimit(_) => ProblemKind::Decompress,
            ErrorKind::NullWrapperValue
            | ErrorKind::EmptyWrapper
            | ErrorKind::NestedCompression
            | ErrorKind::WrapperOffset { .. } => ProblemKind::BadWrapper,
            ErrorKind::Control(_) => ProblemKind::BadControlRecord,
            ErrorKind::Truncated { .. }
            | ErrorKind::VarintTooLong
            | ErrorKind::BadLength(_)
            | ErrorKind::RecordSizeMismatch { .. }
            | ErrorKind::Other(_) => ProblemKind::BadRecord,
        }
    }

    /// The message for people, with where in decompressed data it was met.
    pub fn describe(&self) -> String {
        match self.decompressed_at {
            Some(at) => format!("{} (at byte {at} of the decompressed records)", self.kind),
            None => self.kind.to_string(),
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.decompressed_at {
            Some(at) => write!(f, "at byte {} (byte {} of the decompressed records): {}", self.position, at, self.kind),
            None => write!(f, "at byte {}: {}", self.position, self.kind),
        }
    }
}

impl std::error::Error for DecodeError {}

pub type Result<T, E = DecodeError> = std::result::Result<T, E>;
