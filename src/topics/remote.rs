//! `__remote_log_metadata`: tiered storage's segment metadata (KIP-405).
//!
//! Value framing as in `__cluster_metadata`: uvarint frame version (1),
//! uvarint record type, uvarint record version, then the flexible record.
//! Schemas from Kafka's `storage` message specs.

pub const SCHEMAS: &str = r#"
struct TopicIdPartition
  name string
  id uuid
  partition int32

struct LeaderEpoch
  leaderEpoch int32
  offset int64

record 0 REMOTE_LOG_SEGMENT_METADATA_RECORD
value 0 flex 0+
  remoteLogSegmentId {
    topicIdPartition TopicIdPartition
    id uuid
  startOffset int64
  endOffset int64
  brokerId int32
  maxTimestampMs int64
  eventTimestampMs int64
  segmentLeaderEpochs []LeaderEpoch
  segmentSizeInBytes int32
  customMetadata bytes null
  remoteLogSegmentState int8
  txnIndexEmpty bool tag0

record 1 REMOTE_LOG_SEGMENT_METADATA_UPDATE_RECORD
value 0 flex 0+
  remoteLogSegmentId {
    topicIdPartition TopicIdPartition
    id uuid
  brokerId int32
  eventTimestampMs int64
  customMetadata bytes null
  remoteLogSegmentState int8

record 2 REMOTE_PARTITION_DELETE_METADATA_RECORD
value 0 flex 0+
  topicIdPartition TopicIdPartition
  brokerId int32
  eventTimestampMs int64
  remotePartitionDeleteState int8

record 3 REMOTE_LOG_SEGMENT_METADATA_SNAPSHOT_RECORD
value 0 flex 0+
  segmentId uuid
  startOffset int64
  endOffset int64
  brokerId int32
  maxTimestampMs int64
  eventTimestampMs int64
  segmentLeaderEpochs []LeaderEpoch
  segmentSizeInBytes int32
  customMetadata bytes null
  remoteLogSegmentState int8
  txnIndexEmpty bool tag0
"#;

/// `RemoteLogSegmentState` ids.
pub fn segment_state(id: i64) -> Option<&'static str> {
    Some(match id {
        0 => "COPY_SEGMENT_STARTED",
        1 => "COPY_SEGMENT_FINISHED",
        2 => "DELETE_SEGMENT_STARTED",
        3 => "DELETE_SEGMENT_FINISHED",
        _ => return None,
    })
}

/// `RemotePartitionDeleteState` ids.
pub fn partition_delete_state(id: i64) -> Option<&'static str> {
    Some(match id {
        0 => "DELETE_PARTITION_MARKED",
        1 => "DELETE_PARTITION_STARTED",
        2 => "DELETE_PARTITION_FINISHED",
        _ => return None,
    })
}
