//! `__share_group_state`: the share coordinator's records (KIP-932).
//!
//! Same framing as `__consumer_offsets`: 0 = a full snapshot of a share
//! partition's state, 1 = an update on top of it.

pub const SCHEMAS: &str = r#"
struct StateBatch
  firstOffset int64
  lastOffset int64
  deliveryState int8
  deliveryCount int16

record 0 SHARE_SNAPSHOT
key
  groupId string
  topicId uuid
  partition int32
value 0 flex 0+
  snapshotEpoch int32
  stateEpoch int32
  leaderEpoch int32
  startOffset int64
  deliveryCompleteCount int32 tag0
  createTimestamp int64
  writeTimestamp int64
  stateBatches []StateBatch

record 1 SHARE_UPDATE
key
  groupId string
  topicId uuid
  partition int32
value 0 flex 0+
  snapshotEpoch int32
  leaderEpoch int32
  startOffset int64
  deliveryCompleteCount int32 tag0
  stateBatches []StateBatch
"#;
