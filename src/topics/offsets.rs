//! `__consumer_offsets`: the group coordinator's records.
//!
//! Key = `recordType:int16` + the key struct; value = `version:int16` + the
//! value struct at that version. Record types (the `apiKey` of each
//! `coordinator-key` spec) and field lists follow Kafka's `group-coordinator`
//! message specs (`*Key.json` / `*Value.json`), written here in kseg's schema
//! text (see `schema.rs`).

pub const SCHEMAS: &str = r#"
struct TopicPartitions
  topicId uuid
  partitions []int32

# TopicPartitions of CONSUMER_GROUP_CURRENT_MEMBER_ASSIGNMENT, which also
# carries the epoch each partition was assigned at (KIP-1251).
struct AssignedTopicPartitions
  topicId uuid
  partitions []int32
  assignmentEpochs []int32 null tag0

struct TopicMetadata
  topicId uuid
  topicName string
  numPartitions int32
  partitionMetadata []{
    partition int32
    racks []string

struct TaskIds
  subtopologyId string
  partitions []int32

# TaskIds of STREAMS_GROUP_CURRENT_MEMBER_ASSIGNMENT, which also carries the
# epoch each partition was assigned at.
struct AssignedTaskIds
  subtopologyId string
  partitions []int32
  assignmentEpochs []int32 null tag0

struct KeyValue
  key string
  value string

struct TopicInfo
  name string
  partitions int32
  replicationFactor int16
  topicConfigs []KeyValue

struct InitTopic
  topicId uuid
  topicName string
  partitions []int32

# 0: the oldest offset commit key (LegacyOffsetCommitKey); its value is
# LegacyOffsetCommitValue, version 0 only, never flexible.
record 0 LEGACY_OFFSET_COMMIT
key
  group string
  topic string
  partition int32
value 0
  offset int64
  metadata string
  commitTimestamp int64

record 1 OFFSET_COMMIT
key
  group string
  topic string
  partition int32
value 0-4 flex 4+
  offset int64
  leaderEpoch int32 v3+
  metadata string
  commitTimestamp int64
  expireTimestamp int64 v1
  topicId uuid v4+ tag0

record 2 GROUP_METADATA
key
  group string
value 0-4 flex 4+
  protocolType string
  generation int32
  protocol string null
  leader string null
  currentStateTimestamp int64 v2+
  members []{
    memberId string
    groupInstanceId string v3+ null
    clientId string
    clientHost string
    rebalanceTimeout int32 v1+
    sessionTimeout int32
    subscription bytes
    assignment bytes

record 3 CONSUMER_GROUP_METADATA
key
  groupId string
value 0 flex 0+
  epoch int32
  metadataHash int64 tag0

record 4 CONSUMER_GROUP_PARTITION_METADATA
key
  groupId string
value 0 flex 0+
  topics []TopicMetadata

record 5 CONSUMER_GROUP_MEMBER_METADATA
key
  groupId string
  memberId string
value 0 flex 0+
  instanceId string null
  rackId string null
  clientId string
  clientHost string
  subscribedTopicNames []string
  subscribedTopicRegex string null
  rebalanceTimeoutMs int32
  serverAssignor string null
  classicMemberMetadata { null tag0
    sessionTimeoutMs int32
    supportedProtocols []{
      name string
      metadata bytes

record 6 CONSUMER_GROUP_TARGET_ASSIGNMENT_METADATA
key
  groupId string
value 0 flex 0+
  assignmentEpoch int32
  assignmentTimestamp int64 tag0

record 7 CONSUMER_GROUP_TARGET_ASSIGNMENT_MEMBER
key
  groupId string
  memberId string
value 0 flex 0+
  topicPartitions []TopicPartitions

record 8 CONSUMER_GROUP_CURRENT_MEMBER_ASSIGNMENT
key
  groupId string
  memberId string
value 0 flex 0+
  memberEpoch int32
  previousMemberEpoch int32
  state int8
  assignedPartitions []AssignedTopicPartitions
  partitionsPendingRevocation []AssignedTopicPartitions

# 9: newer group coordinators no longer write or replay it (metadataHash in
# 11 replaced it); kept for data written while it was in use.
record 9 SHARE_GROUP_PARTITION_METADATA
key
  groupId string
value 0 flex 0+
  topics []TopicMetadata

record 10 SHARE_GROUP_MEMBER_METADATA
key
  groupId string
  memberId string
value 0 flex 0+
  rackId string null
  clientId string
  clientHost string
  subscribedTopicNames []string

record 11 SHARE_GROUP_METADATA
key
  groupId string
value 0 flex 0+
  epoch int32
  metadataHash int64

record 12 SHARE_GROUP_TARGET_ASSIGNMENT_METADATA
key
  groupId string
value 0 flex 0+
  assignmentEpoch int32
  assignmentTimestamp int64 tag0

record 13 SHARE_GROUP_TARGET_ASSIGNMENT_MEMBER
key
  groupId string
  memberId string
value 0 flex 0+
  topicPartitions []TopicPartitions

record 14 SHARE_GROUP_CURRENT_MEMBER_ASSIGNMENT
key
  groupId string
  memberId string
value 0 flex 0+
  memberEpoch int32
  previousMemberEpoch int32
  state int8
  assignedPartitions []TopicPartitions

record 15 SHARE_GROUP_STATE_PARTITION_METADATA
key
  groupId string
value 0 flex 0+
  initializingTopics []InitTopic
  initializedTopics []InitTopic
  deletingTopics []{
    topicId uuid
    topicName string

record 16 CONSUMER_GROUP_REGULAR_EXPRESSION
key
  groupId string
  regularExpression string
value 0 flex 0+
  topics []string
  version int64
  timestamp int64

record 17 STREAMS_GROUP_METADATA
key
  groupId string
value 0 flex 0+
  epoch int32
  metadataHash int64
  validatedTopologyEpoch int32 tag0
  lastAssignmentConfigs []KeyValue null tag1
  storedDescriptionTopologyEpoch int32 tag2
  failedDescriptionTopologyEpoch int32 tag3

# 18: newer group coordinators no longer write or replay it (metadataHash in
# 17 replaced it); kept for data written while it was in use.
record 18 STREAMS_GROUP_PARTITION_METADATA
key
  groupId string
value 0 flex 0+
  topics []TopicMetadata

record 19 STREAMS_GROUP_MEMBER_METADATA
key
  groupId string
  memberId string
value 0 flex 0+
  instanceId string null
  rackId string null
  clientId string
  clientHost string
  rebalanceTimeoutMs int32
  topologyEpoch int32
  processId string
  userEndpoint { null
    host string
    port uint16
  clientTags []KeyValue

record 20 STREAMS_GROUP_TARGET_ASSIGNMENT_METADATA
key
  groupId string
value 0 flex 0+
  assignmentEpoch int32
  assignmentTimestamp int64 tag0

record 21 STREAMS_GROUP_TARGET_ASSIGNMENT_MEMBER
key
  groupId string
  memberId string
value 0 flex 0+
  activeTasks []TaskIds
  standbyTasks []TaskIds
  warmupTasks []TaskIds

record 22 STREAMS_GROUP_CURRENT_MEMBER_ASSIGNMENT
key
  groupId string
  memberId string
value 0 flex 0+
  memberEpoch int32
  previousMemberEpoch int32
  state int8
  activeTasks []AssignedTaskIds
  standbyTasks []AssignedTaskIds
  warmupTasks []AssignedTaskIds
  activeTasksPendingRevocation []AssignedTaskIds
  standbyTasksPendingRevocation []AssignedTaskIds
  warmupTasksPendingRevocation []AssignedTaskIds

record 23 STREAMS_GROUP_TOPOLOGY
key
  groupId string
value 0 flex 0+
  epoch int32
  subtopologies []{
    subtopologyId string
    sourceTopics []string
    sourceTopicRegex []string
    stateChangelogTopics []TopicInfo
    repartitionSinkTopics []string
    repartitionSourceTopics []TopicInfo
    copartitionGroups []{
      sourceTopics []int16
      sourceTopicRegex []int16
      repartitionSourceTopics []int16
"#;

/// The consumer protocol's embedded messages (`ConsumerProtocolSubscription`
/// and `ConsumerProtocolAssignment`): an int16 version, then the struct. Not
/// flexible in any version.
pub const CONSUMER_PROTOCOL: &str = r#"
record 0 SUBSCRIPTION
value 0-3
  topics []string
  userData bytes null
  ownedPartitions []{ v1+
    topic string
    partitions []int32
  generationId int32 v2+
  rackId string v3+ null

record 1 ASSIGNMENT
value 0-3
  assignedPartitions []{
    topic string
    partitions []int32
  userData bytes null
"#;
