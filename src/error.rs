//! Decode errors as values. Every error names the byte position in the file
//! where the bad structure starts, so a user can cut the bytes out with `dd`.

use std::fmt;

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

    /// A short machine name for the kind, used as `kind` in JSON problems.
    pub fn kind_name(&self) -> &'static str {
        match &self.kind {
            ErrorKind::Truncated { .. } => "truncated",
            ErrorKind::VarintTooLong => "bad_varint",
            ErrorKind::BadMagic(_) => "bad_magic",
            ErrorKind::SizeTooSmall(_) => "bad_size",
            ErrorKind::EntryTooLarge { .. } => "entry_too_large",
            ErrorKind::BatchTooShort(_) => "bad_size",
            ErrorKind::BadCodec(_) | ErrorKind::ZstdInLegacy(_) => "bad_attributes",
            ErrorKind::BadRecordCount(_) => "bad_record_count",
            ErrorKind::BadLength(_) => "bad_length",
            ErrorKind::RecordSizeMismatch { .. } => "bad_record",
            ErrorKind::PrematureEnd { .. } => "record_count_mismatch",
            ErrorKind::RecordsRemaining(_) => "records_remaining",
            ErrorKind::Decompress { .. } => "decompress",
            ErrorKind::DecompressLimit(_) => "decompress_limit",
            ErrorKind::NullWrapperValue
            | ErrorKind::EmptyWrapper
            | ErrorKind::NestedCompression
            | ErrorKind::WrapperOffset { .. } => "bad_wrapper",
            ErrorKind::Control(_) => "bad_control_record",
            ErrorKind::Other(_) => "invalid",
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
