//! [`ProblemKind`]: one name for each kind of problem kseg reports, shared by
//! `dump` problems, `verify` findings and the parsers' issues, so the same
//! fault has the same name wherever it is met. Each name is documented in
//! `docs/json.md` or `docs/verify.md` (a test holds every variant to that).

use std::fmt;

use serde::{Serialize, Serializer};

/// Problems of one kind in one file kept, by every reader (verify, the
/// small files' checks, a checkpoint's lines); the rest are only counted,
/// so that a segment, an index or a checkpoint of garbage (a million
/// mismatched entries) costs bounded memory: no reader of a report needs
/// the millionth copy of one complaint.
pub const KEPT_PER_KIND: usize = 1000;

macro_rules! problem_kinds {
    ($($(#[doc = $doc:literal])+ $variant:ident => $name:literal,)+) => {
        /// A kind of problem, with a stable machine name ([`ProblemKind::name`]).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum ProblemKind {
            $($(#[doc = $doc])+ $variant,)+
        }

        impl ProblemKind {
            /// Every kind, in declaration order.
            pub const ALL: &'static [ProblemKind] = &[$(ProblemKind::$variant,)+];

            /// The stable machine name (`crc_mismatch`, `trailing_bytes`, …).
            pub fn name(self) -> &'static str {
                match self {
                    $(ProblemKind::$variant => $name,)+
                }
            }
        }
    };
}

problem_kinds! {
    // Entries of a log: the walk and the batches.
    /// The stored CRC differs from the one computed over the bytes.
    CrcMismatch => "crc_mismatch",
    /// A magic byte other than 0, 1 or 2.
    BadMagic => "bad_magic",
    /// An entry size below Kafka's minimum, or a v2 batch too short for its header.
    BadSize => "bad_size",
    /// An entry (or text file) larger than kseg reads into memory.
    EntryTooLarge => "entry_too_large",
    /// An invalid codec id, or zstd in a v0/v1 message.
    BadAttributes => "bad_attributes",
    /// The record count disagrees with the records the batch holds.
    RecordCountMismatch => "record_count_mismatch",
    /// A record whose varints or lengths run outside its batch.
    BadRecord => "bad_record",
    /// Compressed records that do not decompress, or exceed the limit.
    Decompress => "decompress",
    /// A compressed legacy wrapper that cannot be right.
    BadWrapper => "bad_wrapper",
    /// A control record whose key or value does not parse.
    BadControlRecord => "bad_control_record",
    /// Record offsets inside a batch not strictly increasing, or outside its range.
    OffsetsNotIncreasing => "offsets_not_increasing",
    /// A CreateTime batch whose max timestamp is not its largest record timestamp.
    MaxTimestampMismatch => "max_timestamp_mismatch",
    /// Bytes at the end that do not hold a complete entry (or index slot).
    TrailingBytes => "trailing_bytes",
    /// Zero bytes from here to the end of the file (preallocated space).
    PreallocatedTail => "preallocated_tail",
    // Segments of a partition.
    /// The file name's base offset is above the first batch's base offset.
    BaseOffsetAboveFirstBatch => "base_offset_above_first_batch",
    /// A batch whose base offset is not above the previous batch's last offset.
    OffsetsBackwards => "offsets_backwards",
    /// A segment that starts at or below the end of the segments before it.
    SegmentOverlap => "segment_overlap",
    /// A file that could not be read (I/O error).
    Unreadable => "unreadable",
    /// A file whose name has no base offset where one is needed.
    NoBaseOffset => "no_base_offset",
    /// A file that shrank, lost mapped pages, or was replaced or removed
    /// while kseg read it (a live broker's roll, truncation, cleaning or
    /// retention): what was read from it is not a verdict on its bytes.
    ChangedDuringRead => "changed_during_read",
    // Offset and time indexes.
    /// An offset index whose size is not a multiple of 8.
    IndexSize => "index_size",
    /// An offset index entry not above the previous one.
    IndexNotIncreasing => "index_not_increasing",
    /// An offset index entry that does not point at the batch it names.
    IndexMismatch => "index_mismatch",
    /// An offset index entry at or beyond the end of the complete batches.
    IndexPastEnd => "index_past_end",
    /// A slot after an index's real entries that is not zero.
    IndexTailNotZero => "index_tail_not_zero",
    /// A time index whose size is not a multiple of 12.
    TimeindexSize => "timeindex_size",
    /// A time index entry lower than the previous one.
    TimeindexNotIncreasing => "timeindex_not_increasing",
    /// A time index entry that does not match the batch holding its offset.
    TimeindexMismatch => "timeindex_mismatch",
    /// A time index entry whose offset is beyond the last offset in the log.
    TimeindexPastEnd => "timeindex_past_end",
    // Transaction indexes.
    /// A transaction index whose size is not a multiple of 34.
    TxnindexSize => "txnindex_size",
    /// A transaction index entry Kafka refuses.
    TxnindexEntry => "txnindex_entry",
    /// Transaction index entries out of `lastOffset` order.
    TxnindexOrder => "txnindex_order",
    /// A transaction index entry whose ABORT marker cannot be in this segment.
    TxnindexOutsideSegment => "txnindex_outside_segment",
    // Producer snapshots.
    /// A producer snapshot version other than 1.
    SnapshotVersion => "snapshot_version",
    /// A producer snapshot whose CRC does not match its bytes.
    SnapshotCrc => "snapshot_crc",
    /// A producer snapshot with a negative entry count.
    SnapshotCount => "snapshot_count",
    /// A producer snapshot shorter than its header or its count needs.
    SnapshotTruncated => "snapshot_truncated",
    /// Bytes after a producer snapshot's counted entries.
    SnapshotTrailingBytes => "snapshot_trailing_bytes",
    // The other files of partition and log directories.
    /// Leader epochs (or their start offsets) not increasing in a `leader-epoch-checkpoint`.
    LeaderEpochNotIncreasing => "leader_epoch_not_increasing",
    /// A leader epoch starting past the partition's log end offset.
    LeaderEpochPastEnd => "leader_epoch_past_end",
    /// Partitions of one topic whose `partition.metadata` name different topic ids.
    TopicIdMismatch => "topic_id_mismatch",
    /// A log-directory checkpoint entry for a partition with no directory there.
    CheckpointUnknownPartition => "checkpoint_unknown_partition",
    /// A `log-start-offset-checkpoint` entry past the partition's log end offset.
    LogStartPastEnd => "log_start_past_end",
    /// A producer snapshot whose offset is past the partition's log end offset.
    SnapshotPastEnd => "snapshot_past_end",
    /// An index file whose `.log` segment is missing.
    IndexWithoutSegment => "index_without_segment",
    /// A `.deleted`, `.cleaned` or `.swap` file the broker cleans up at start-up.
    LeftoverFile => "leftover_file",
    // Text files.
    /// A line Kafka cannot parse.
    MalformedLine => "malformed_line",
    /// A version Kafka does not know.
    UnknownVersion => "unknown_version",
    /// A count line that disagrees with the entries.
    CountMismatch => "count_mismatch",
    /// A value Kafka rejects.
    BadValue => "bad_value",
    /// A property or field Kafka requires is missing.
    MissingProperty => "missing_property",
    /// JSON that does not parse or is not an object.
    BadJson => "bad_json",
    /// Bytes that are not UTF-8.
    NotUtf8 => "not_utf8",
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for ProblemKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_snake_case() {
        let mut names: Vec<_> = ProblemKind::ALL.iter().map(|k| k.name()).collect();
        assert!(names.iter().all(|n| n.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')));
        names.sort();
        let n = names.len();
        names.dedup();
        assert_eq!(names.len(), n, "two kinds share a name");
    }
}
