//! `__cluster_metadata` and KRaft snapshots: the controller's records.
//!
//! Value framing (`MetadataRecordSerde`): uvarint frame version (must be 1),
//! uvarint record type (`apiKey`), uvarint record version, then the record,
//! flexible in every version; trailing bytes are an error. The key is unused.
//! Record types and fields follow Kafka's `metadata` specs (`*Record.json`);
//! names are Kafka's `MetadataRecordType` enum names.

pub const SCHEMAS: &str = r#"
struct Endpoint
  name string
  host string
  port uint16
  securityProtocol int16

struct Feature
  name string
  minSupportedVersion int16
  maxSupportedVersion int16

record 0 REGISTER_BROKER_RECORD
value 0-4 flex 0+
  brokerId int32
  isMigratingZkBroker bool v2+
  incarnationId uuid
  brokerEpoch int64
  endPoints []Endpoint
  features []Feature
  rack string null
  fenced bool
  inControlledShutdown bool v1+
  logDirs []uuid v3+ tag0
  cordonedLogDirs []uuid v4+ null tag1

record 1 UNREGISTER_BROKER_RECORD
value 0 flex 0+
  brokerId int32
  brokerEpoch int64

record 2 TOPIC_RECORD
value 0 flex 0+
  name string
  topicId uuid

record 3 PARTITION_RECORD
value 0-2 flex 0+
  partitionId int32
  topicId uuid
  replicas []int32
  isr []int32
  removingReplicas []int32
  addingReplicas []int32
  leader int32
  leaderRecoveryState int8 tag0
  leaderEpoch int32
  partitionEpoch int32
  directories []uuid v1+
  eligibleLeaderReplicas []int32 v2+ null tag1
  lastKnownElr []int32 v2+ null tag2

record 4 CONFIG_RECORD
value 0 flex 0+
  resourceType int8
  resourceName string
  name string
  value string null

record 5 PARTITION_CHANGE_RECORD
value 0-2 flex 0+
  partitionId int32
  topicId uuid
  isr []int32 null tag0
  leader int32 tag1
  replicas []int32 null tag2
  removingReplicas []int32 null tag3
  addingReplicas []int32 null tag4
  leaderRecoveryState int8 tag5
  directories []uuid v1+ null tag8
  eligibleLeaderReplicas []int32 v2+ null tag6
  lastKnownElr []int32 v2+ null tag7

record 7 FENCE_BROKER_RECORD
value 0 flex 0+
  id int32
  epoch int64

record 8 UNFENCE_BROKER_RECORD
value 0 flex 0+
  id int32
  epoch int64

record 9 REMOVE_TOPIC_RECORD
value 0 flex 0+
  topicId uuid

record 10 DELEGATION_TOKEN_RECORD
value 0 flex 0+
  owner string
  requester string
  renewers []string
  issueTimestamp int64
  maxTimestamp int64
  expirationTimestamp int64
  tokenId string

record 11 USER_SCRAM_CREDENTIAL_RECORD
value 0 flex 0+
  name string
  mechanism int8
  salt bytes
  storedKey bytes
  serverKey bytes
  iterations int32

record 12 FEATURE_LEVEL_RECORD
value 0 flex 0+
  name string
  featureLevel int16

record 14 CLIENT_QUOTA_RECORD
value 0 flex 0+
  entity []{
    entityType string
    entityName string null
  key string
  value float64
  remove bool

record 15 PRODUCER_IDS_RECORD
value 0 flex 0+
  brokerId int32
  brokerEpoch int64
  nextProducerId int64

record 17 BROKER_REGISTRATION_CHANGE_RECORD
value 0-3 flex 0+
  brokerId int32
  brokerEpoch int64
  fenced int8 tag0
  inControlledShutdown int8 v1+ tag1
  logDirs []uuid v2+ tag2
  cordonedLogDirs []uuid v3+ null tag3

record 18 ACCESS_CONTROL_ENTRY_RECORD
value 0 flex 0+
  id uuid
  resourceType int8
  resourceName string
  patternType int8
  principal string
  host string
  operation int8
  permissionType int8

record 19 REMOVE_ACCESS_CONTROL_ENTRY_RECORD
value 0 flex 0+
  id uuid

record 20 NO_OP_RECORD
value 0 flex 0+

record 21 ZK_MIGRATION_STATE_RECORD
value 0 flex 0+
  zkMigrationState int8

record 22 REMOVE_USER_SCRAM_CREDENTIAL_RECORD
value 0 flex 0+
  name string
  mechanism int8

record 23 BEGIN_TRANSACTION_RECORD
value 0 flex 0+
  name string null tag0

record 24 END_TRANSACTION_RECORD
value 0 flex 0+

record 25 ABORT_TRANSACTION_RECORD
value 0 flex 0+
  reason string null tag0

record 26 REMOVE_DELEGATION_TOKEN_RECORD
value 0 flex 0+
  tokenId string

record 27 REGISTER_CONTROLLER_RECORD
value 0 flex 0+
  controllerId int32
  incarnationId uuid
  zkMigrationReady bool
  endPoints []Endpoint
  features []Feature

record 28 CLEAR_ELR_RECORD
value 0 flex 0+
  topicName string

record 29 UNREGISTER_CONTROLLER_RECORD
value 0 flex 0+
  controllerId int32
"#;
