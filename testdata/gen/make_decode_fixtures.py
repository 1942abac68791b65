#!/usr/bin/env python3
"""Generate kseg's internal-topic decoder fixtures (testdata/decode/), stdlib only.

An encoder independent of kseg's Rust reader writes records of every record type
and every version kseg knows, for each internal topic, following Kafka's message
encoding (fixed-width big-endian ints; non-flexible: int16 string length, int32
bytes length / array count, -1 = null; flexible: unsigned-varint length+1 with
0 = null, and a tagged-field section after every struct; nullable structs lead
with an int8 -1/1).  The schemas below are this script's own restatement of
Kafka's message specs, written as Python data.

For each record the expected decoded JSON (Kafka's JSON conventions: camelCase
names in schema order, only the fields of that version, tagged fields only when
written, UUIDs URL-safe base64 without padding, bytes standard base64) is built
from the same Python values that were encoded, and stored beside the bytes.

Outputs (rewritten; corpus-golden.json, written by the Rust test, is left alone):
  testdata/decode/cases.json           every case: topic, key/value hex, expected
  testdata/decode/<topic>-0/00000000000000000000.log
                                       the cases of that topic as a v2 segment, one
                                       record per batch, in cases.json order
  testdata/decode/__cluster_metadata-0/00000000000000000100-0000000001.checkpoint
                                       a KRaft snapshot: header, kraft.version, voters,
                                       metadata records, footer (Kafka's testDumpMetadataSnapshot)

Run: python3 testdata/gen/make_decode_fixtures.py   (deterministic; no packages needed)
"""

import base64
import json
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(os.path.dirname(HERE), "decode")
T0 = 1700000000000
MAXV = 1 << 15

# ---------------------------------------------------------------------------
# Schemas: F(name, type, versions=(lo, hi), nullable_from=None, tag=None)
# types: 'bool','i8','i16','u16','i32','i64','f64','str','bytes','uuid',
#        ('arr', type) or ('struct', [fields])


def F(name, ty, lo=0, hi=MAXV, null=None, tag=None):
    return dict(name=name, ty=ty, lo=lo, hi=hi, null=null, tag=tag)


def A(t):
    return ("arr", t)


def S(*fields):
    return ("struct", list(fields))


TP = S(F("topicId", "uuid"), F("partitions", A("i32")))
# ConsumerGroupCurrentMemberAssignmentValue.TopicPartitions: + AssignmentEpochs (KIP-1251)
TP_EPOCHS = S(F("topicId", "uuid"), F("partitions", A("i32")), F("assignmentEpochs", A("i32"), null=0, tag=0))
TOPIC_META = S(F("topicId", "uuid"), F("topicName", "str"), F("numPartitions", "i32"),
               F("partitionMetadata", A(S(F("partition", "i32"), F("racks", A("str"))))))
TASKS = S(F("subtopologyId", "str"), F("partitions", A("i32")))
# StreamsGroupCurrentMemberAssignmentValue.TaskIds: + AssignmentEpochs (nullable []int32, tag 0)
TASKS_EPOCHS = S(F("subtopologyId", "str"), F("partitions", A("i32")), F("assignmentEpochs", A("i32"), null=0, tag=0))
KV = S(F("key", "str"), F("value", "str"))
TOPIC_INFO = S(F("name", "str"), F("partitions", "i32"), F("replicationFactor", "i16"), F("topicConfigs", A(KV)))
INIT_TOPIC = S(F("topicId", "uuid"), F("topicName", "str"), F("partitions", A("i32")))
OFFSET_VALUE = [F("offset", "i64"), F("leaderEpoch", "i32", 3), F("metadata", "str"), F("commitTimestamp", "i64"),
                F("expireTimestamp", "i64", 1, 1), F("topicId", "uuid", 4, tag=0)]
GROUP_KEY = [F("groupId", "str")]
MEMBER_KEY = [F("groupId", "str"), F("memberId", "str")]

# (id, name, key fields, value versions (lo, hi), first flexible version, value fields)
OFFSETS = [
    # LegacyOffsetCommitValue: version 0 only, never flexible
    (0, "LEGACY_OFFSET_COMMIT", [F("group", "str"), F("topic", "str"), F("partition", "i32")], (0, 0), MAXV, [
        F("offset", "i64"), F("metadata", "str"), F("commitTimestamp", "i64")]),
    (1, "OFFSET_COMMIT", [F("group", "str"), F("topic", "str"), F("partition", "i32")], (0, 4), 4, OFFSET_VALUE),
    (2, "GROUP_METADATA", [F("group", "str")], (0, 4), 4, [
        F("protocolType", "str"), F("generation", "i32"), F("protocol", "str", null=0), F("leader", "str", null=0),
        F("currentStateTimestamp", "i64", 2),
        F("members", A(S(F("memberId", "str"), F("groupInstanceId", "str", 3, null=3), F("clientId", "str"),
                         F("clientHost", "str"), F("rebalanceTimeout", "i32", 1), F("sessionTimeout", "i32"),
                         F("subscription", "bytes"), F("assignment", "bytes"))))]),
    (3, "CONSUMER_GROUP_METADATA", GROUP_KEY, (0, 0), 0, [
        F("epoch", "i32"), F("metadataHash", "i64", tag=0)]),
    (4, "CONSUMER_GROUP_PARTITION_METADATA", GROUP_KEY, (0, 0), 0, [F("topics", A(TOPIC_META))]),
    (5, "CONSUMER_GROUP_MEMBER_METADATA", MEMBER_KEY, (0, 0), 0, [
        F("instanceId", "str", null=0), F("rackId", "str", null=0), F("clientId", "str"), F("clientHost", "str"),
        F("subscribedTopicNames", A("str")), F("subscribedTopicRegex", "str", null=0), F("rebalanceTimeoutMs", "i32"),
        F("serverAssignor", "str", null=0),
        F("classicMemberMetadata", S(F("sessionTimeoutMs", "i32"),
                                     F("supportedProtocols", A(S(F("name", "str"), F("metadata", "bytes"))))),
          null=0, tag=0)]),
    (6, "CONSUMER_GROUP_TARGET_ASSIGNMENT_METADATA", GROUP_KEY, (0, 0), 0, [
        F("assignmentEpoch", "i32"), F("assignmentTimestamp", "i64", tag=0)]),
    (7, "CONSUMER_GROUP_TARGET_ASSIGNMENT_MEMBER", MEMBER_KEY, (0, 0), 0, [F("topicPartitions", A(TP))]),
    (8, "CONSUMER_GROUP_CURRENT_MEMBER_ASSIGNMENT", MEMBER_KEY, (0, 0), 0, [
        F("memberEpoch", "i32"), F("previousMemberEpoch", "i32"), F("state", "i8"),
        F("assignedPartitions", A(TP_EPOCHS)), F("partitionsPendingRevocation", A(TP_EPOCHS))]),
    (9, "SHARE_GROUP_PARTITION_METADATA", GROUP_KEY, (0, 0), 0, [F("topics", A(TOPIC_META))]),
    (10, "SHARE_GROUP_MEMBER_METADATA", MEMBER_KEY, (0, 0), 0, [
        F("rackId", "str", null=0), F("clientId", "str"), F("clientHost", "str"), F("subscribedTopicNames", A("str"))]),
    (11, "SHARE_GROUP_METADATA", GROUP_KEY, (0, 0), 0, [F("epoch", "i32"), F("metadataHash", "i64")]),
    (12, "SHARE_GROUP_TARGET_ASSIGNMENT_METADATA", GROUP_KEY, (0, 0), 0, [
        F("assignmentEpoch", "i32"), F("assignmentTimestamp", "i64", tag=0)]),
    (13, "SHARE_GROUP_TARGET_ASSIGNMENT_MEMBER", MEMBER_KEY, (0, 0), 0, [F("topicPartitions", A(TP))]),
    (14, "SHARE_GROUP_CURRENT_MEMBER_ASSIGNMENT", MEMBER_KEY, (0, 0), 0, [
        F("memberEpoch", "i32"), F("previousMemberEpoch", "i32"), F("state", "i8"), F("assignedPartitions", A(TP))]),
    (15, "SHARE_GROUP_STATE_PARTITION_METADATA", GROUP_KEY, (0, 0), 0, [
        F("initializingTopics", A(INIT_TOPIC)), F("initializedTopics", A(INIT_TOPIC)),
        F("deletingTopics", A(S(F("topicId", "uuid"), F("topicName", "str"))))]),
    (16, "CONSUMER_GROUP_REGULAR_EXPRESSION", [F("groupId", "str"), F("regularExpression", "str")], (0, 0), 0, [
        F("topics", A("str")), F("version", "i64"), F("timestamp", "i64")]),
    (17, "STREAMS_GROUP_METADATA", GROUP_KEY, (0, 0), 0, [
        F("epoch", "i32"), F("metadataHash", "i64"), F("validatedTopologyEpoch", "i32", tag=0),
        F("lastAssignmentConfigs", A(KV), null=0, tag=1), F("storedDescriptionTopologyEpoch", "i32", tag=2),
        F("failedDescriptionTopologyEpoch", "i32", tag=3)]),
    (18, "STREAMS_GROUP_PARTITION_METADATA", GROUP_KEY, (0, 0), 0, [F("topics", A(TOPIC_META))]),
    (19, "STREAMS_GROUP_MEMBER_METADATA", MEMBER_KEY, (0, 0), 0, [
        F("instanceId", "str", null=0), F("rackId", "str", null=0), F("clientId", "str"), F("clientHost", "str"),
        F("rebalanceTimeoutMs", "i32"), F("topologyEpoch", "i32"), F("processId", "str"),
        F("userEndpoint", S(F("host", "str"), F("port", "u16")), null=0), F("clientTags", A(KV))]),
    (20, "STREAMS_GROUP_TARGET_ASSIGNMENT_METADATA", GROUP_KEY, (0, 0), 0, [
        F("assignmentEpoch", "i32"), F("assignmentTimestamp", "i64", tag=0)]),
    (21, "STREAMS_GROUP_TARGET_ASSIGNMENT_MEMBER", MEMBER_KEY, (0, 0), 0, [
        F("activeTasks", A(TASKS)), F("standbyTasks", A(TASKS)), F("warmupTasks", A(TASKS))]),
    (22, "STREAMS_GROUP_CURRENT_MEMBER_ASSIGNMENT", MEMBER_KEY, (0, 0), 0, [
        F("memberEpoch", "i32"), F("previousMemberEpoch", "i32"), F("state", "i8"),
        F("activeTasks", A(TASKS_EPOCHS)), F("standbyTasks", A(TASKS_EPOCHS)), F("warmupTasks", A(TASKS_EPOCHS)),
        F("activeTasksPendingRevocation", A(TASKS_EPOCHS)), F("standbyTasksPendingRevocation", A(TASKS_EPOCHS)),
        F("warmupTasksPendingRevocation", A(TASKS_EPOCHS))]),
    (23, "STREAMS_GROUP_TOPOLOGY", GROUP_KEY, (0, 0), 0, [
        F("epoch", "i32"),
        F("subtopologies", A(S(F("subtopologyId", "str"), F("sourceTopics", A("str")), F("sourceTopicRegex", A("str")),
                               F("stateChangelogTopics", A(TOPIC_INFO)), F("repartitionSinkTopics", A("str")),
                               F("repartitionSourceTopics", A(TOPIC_INFO)),
                               F("copartitionGroups", A(S(F("sourceTopics", A("i16")), F("sourceTopicRegex", A("i16")),
                                                          F("repartitionSourceTopics", A("i16")))))))),
    ]),
]

TRANSACTIONS = [
    (0, "TRANSACTION_LOG", [F("transactionalId", "str")], (0, 1), 1, [
        F("producerId", "i64"), F("previousProducerId", "i64", 1, tag=0), F("nextProducerId", "i64", 1, tag=1),
        F("producerEpoch", "i16"), F("nextProducerEpoch", "i16", 1, tag=3), F("transactionTimeoutMs", "i32"),
        F("transactionStatus", "i8"),
        F("transactionPartitions", A(S(F("topic", "str"), F("partitionIds", A("i32")))), null=0),
        F("transactionLastUpdateTimestampMs", "i64"), F("transactionStartTimestampMs", "i64"),
        F("clientTransactionVersion", "i16", 1, tag=2)]),
]

STATE_BATCH = S(F("firstOffset", "i64"), F("lastOffset", "i64"), F("deliveryState", "i8"), F("deliveryCount", "i16"))
SHARE_KEY = [F("groupId", "str"), F("topicId", "uuid"), F("partition", "i32")]
SHARE = [
    (0, "SHARE_SNAPSHOT", SHARE_KEY, (0, 0), 0, [
        F("snapshotEpoch", "i32"), F("stateEpoch", "i32"), F("leaderEpoch", "i32"), F("startOffset", "i64"),
        F("deliveryCompleteCount", "i32", tag=0), F("createTimestamp", "i64"), F("writeTimestamp", "i64"),
        F("stateBatches", A(STATE_BATCH))]),
    (1, "SHARE_UPDATE", SHARE_KEY, (0, 0), 0, [
        F("snapshotEpoch", "i32"), F("leaderEpoch", "i32"), F("startOffset", "i64"),
        F("deliveryCompleteCount", "i32", tag=0), F("stateBatches", A(STATE_BATCH))]),
]

ENDPOINT = S(F("name", "str"), F("host", "str"), F("port", "u16"), F("securityProtocol", "i16"))
FEATURE = S(F("name", "str"), F("minSupportedVersion", "i16"), F("maxSupportedVersion", "i16"))
# (id, name, versions, fields); every metadata record is flexible in every version
METADATA = [
    (0, "REGISTER_BROKER_RECORD", (0, 4), [
        F("brokerId", "i32"), F("isMigratingZkBroker", "bool", 2), F("incarnationId", "uuid"), F("brokerEpoch", "i64"),
        F("endPoints", A(ENDPOINT)), F("features", A(FEATURE)), F("rack", "str", null=0), F("fenced", "bool"),
        F("inControlledShutdown", "bool", 1), F("logDirs", A("uuid"), 3, tag=0),
        F("cordonedLogDirs", A("uuid"), 4, null=4, tag=1)]),
    (1, "UNREGISTER_BROKER_RECORD", (0, 0), [F("brokerId", "i32"), F("brokerEpoch", "i64")]),
    (2, "TOPIC_RECORD", (0, 0), [F("name", "str"), F("topicId", "uuid")]),
    (3, "PARTITION_RECORD", (0, 2), [
        F("partitionId", "i32"), F("topicId", "uuid"), F("replicas", A("i32")), F("isr", A("i32")),
        F("removingReplicas", A("i32")), F("addingReplicas", A("i32")), F("leader", "i32"),
        F("leaderRecoveryState", "i8", tag=0), F("leaderEpoch", "i32"), F("partitionEpoch", "i32"),
        F("directories", A("uuid"), 1), F("eligibleLeaderReplicas", A("i32"), 2, null=2, tag=1),
        F("lastKnownElr", A("i32"), 2, null=2, tag=2)]),
    (4, "CONFIG_RECORD", (0, 0), [F("resourceType", "i8"), F("resourceName", "str"), F("name", "str"),
                                  F("value", "str", null=0)]),
    (5, "PARTITION_CHANGE_RECORD", (0, 2), [
        F("partitionId", "i32"), F("topicId", "uuid"), F("isr", A("i32"), null=0, tag=0), F("leader", "i32", tag=1),
        F("replicas", A("i32"), null=0, tag=2), F("removingReplicas", A("i32"), null=0, tag=3),
        F("addingReplicas", A("i32"), null=0, tag=4), F("leaderRecoveryState", "i8", tag=5),
        F("directories", A("uuid"), 1, null=1, tag=8), F("eligibleLeaderReplicas", A("i32"), 2, null=2, tag=6),
        F("lastKnownElr", A("i32"), 2, null=2, tag=7)]),
    (7, "FENCE_BROKER_RECORD", (0, 0), [F("id", "i32"), F("epoch", "i64")]),
    (8, "UNFENCE_BROKER_RECORD", (0, 0), [F("id", "i32"), F("epoch", "i64")]),
    (9, "REMOVE_TOPIC_RECORD", (0, 0), [F("topicId", "uuid")]),
    (10, "DELEGATION_TOKEN_RECORD", (0, 0), [
        F("owner", "str"), F("requester", "str"), F("renewers", A("str")), F("issueTimestamp", "i64"),
        F("maxTimestamp", "i64"), F("expirationTimestamp", "i64"), F("tokenId", "str")]),
    (11, "USER_SCRAM_CREDENTIAL_RECORD", (0, 0), [
        F("name", "str"), F("mechanism", "i8"), F("salt", "bytes"), F("storedKey", "bytes"), F("serverKey", "bytes"),
        F("iterations", "i32")]),
    (12, "FEATURE_LEVEL_RECORD", (0, 0), [F("name", "str"), F("featureLevel", "i16")]),
    (14, "CLIENT_QUOTA_RECORD", (0, 0), [
        F("entity", A(S(F("entityType", "str"), F("entityName", "str", null=0)))), F("key", "str"), F("value", "f64"),
        F("remove", "bool")]),
    (15, "PRODUCER_IDS_RECORD", (0, 0), [F("brokerId", "i32"), F("brokerEpoch", "i64"), F("nextProducerId", "i64")]),
    (17, "BROKER_REGISTRATION_CHANGE_RECORD", (0, 3), [
        F("brokerId", "i32"), F("brokerEpoch", "i64"), F("fenced", "i8", tag=0), F("inControlledShutdown", "i8", 1, tag=1),
        F("logDirs", A("uuid"), 2, tag=2), F("cordonedLogDirs", A("uuid"), 3, null=3, tag=3)]),
    (18, "ACCESS_CONTROL_ENTRY_RECORD", (0, 0), [
        F("id", "uuid"), F("resourceType", "i8"), F("resourceName", "str"), F("patternType", "i8"), F("principal", "str"),
        F("host", "str"), F("operation", "i8"), F("permissionType", "i8")]),
    (19, "REMOVE_ACCESS_CONTROL_ENTRY_RECORD", (0, 0), [F("id", "uuid")]),
    (20, "NO_OP_RECORD", (0, 0), []),
    (21, "ZK_MIGRATION_STATE_RECORD", (0, 0), [F("zkMigrationState", "i8")]),
    (22, "REMOVE_USER_SCRAM_CREDENTIAL_RECORD", (0, 0), [F("name", "str"), F("mechanism", "i8")]),
    (23, "BEGIN_TRANSACTION_RECORD", (0, 0), [F("name", "str", null=0, tag=0)]),
    (24, "END_TRANSACTION_RECORD", (0, 0), []),
    (25, "ABORT_TRANSACTION_RECORD", (0, 0), [F("reason", "str", null=0, tag=0)]),
    (26, "REMOVE_DELEGATION_TOKEN_RECORD", (0, 0), [F("tokenId", "str")]),
    (27, "REGISTER_CONTROLLER_RECORD", (0, 0), [
        F("controllerId", "i32"), F("incarnationId", "uuid"), F("zkMigrationReady", "bool"), F("endPoints", A(ENDPOINT)),
        F("features", A(FEATURE))]),
    (28, "CLEAR_ELR_RECORD", (0, 0), [F("topicName", "str")]),
    (29, "UNREGISTER_CONTROLLER_RECORD", (0, 0), [F("controllerId", "i32")]),
]

TIP = S(F("name", "str"), F("id", "uuid"), F("partition", "i32"))
SEGMENT_ID = S(F("topicIdPartition", TIP), F("id", "uuid"))
LEADER_EPOCH = S(F("leaderEpoch", "i32"), F("offset", "i64"))
REMOTE = [
    (0, "REMOTE_LOG_SEGMENT_METADATA_RECORD", (0, 0), [
        F("remoteLogSegmentId", SEGMENT_ID), F("startOffset", "i64"), F("endOffset", "i64"), F("brokerId", "i32"),
        F("maxTimestampMs", "i64"), F("eventTimestampMs", "i64"), F("segmentLeaderEpochs", A(LEADER_EPOCH)),
        F("segmentSizeInBytes", "i32"), F("customMetadata", "bytes", null=0), F("remoteLogSegmentState", "i8"),
        F("txnIndexEmpty", "bool", tag=0)]),
    (1, "REMOTE_LOG_SEGMENT_METADATA_UPDATE_RECORD", (0, 0), [
        F("remoteLogSegmentId", SEGMENT_ID), F("brokerId", "i32"), F("eventTimestampMs", "i64"),
        F("customMetadata", "bytes", null=0), F("remoteLogSegmentState", "i8")]),
    (2, "REMOTE_PARTITION_DELETE_METADATA_RECORD", (0, 0), [
        F("topicIdPartition", TIP), F("brokerId", "i32"), F("eventTimestampMs", "i64"),
        F("remotePartitionDeleteState", "i8")]),
    (3, "REMOTE_LOG_SEGMENT_METADATA_SNAPSHOT_RECORD", (0, 0), [
        F("segmentId", "uuid"), F("startOffset", "i64"), F("endOffset", "i64"), F("brokerId", "i32"),
        F("maxTimestampMs", "i64"), F("eventTimestampMs", "i64"), F("segmentLeaderEpochs", A(LEADER_EPOCH)),
        F("segmentSizeInBytes", "i32"), F("customMetadata", "bytes", null=0), F("remoteLogSegmentState", "i8"),
        F("txnIndexEmpty", "bool", tag=0)]),
]

TXN_STATES = ["Empty", "Ongoing", "PrepareCommit", "PrepareAbort", "CompleteCommit", "CompleteAbort", "Dead",
              "PrepareEpochFence"]
SEGMENT_STATES = ["COPY_SEGMENT_STARTED", "COPY_SEGMENT_FINISHED", "DELETE_SEGMENT_STARTED", "DELETE_SEGMENT_FINISHED"]
DELETE_STATES = ["DELETE_PARTITION_MARKED", "DELETE_PARTITION_STARTED", "DELETE_PARTITION_FINISHED"]

# ---------------------------------------------------------------------------
# Encoding


def uvarint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def zigzag(n, bits=64):
    return uvarint((n << 1) ^ (n >> (bits - 1)))


PRIM = {"bool": ">?", "i8": ">b", "i16": ">h", "u16": ">H", "i32": ">i", "i64": ">q", "f64": ">d"}


def enc(ty, v, flex, version, nullable):
    if isinstance(ty, tuple) and ty[0] == "arr":
        if v is None:
            return uvarint(0) if flex else struct.pack(">i", -1)
        head = uvarint(len(v) + 1) if flex else struct.pack(">i", len(v))
        return head + b"".join(enc(ty[1], x, flex, version, False) for x in v)
    if isinstance(ty, tuple) and ty[0] == "struct":
        if nullable:
            if v is None:
                return struct.pack(">b", -1)
            return struct.pack(">b", 1) + enc_struct(ty[1], v, flex, version)
        return enc_struct(ty[1], v, flex, version)
    if ty in PRIM:
        return struct.pack(PRIM[ty], v)
    if ty == "uuid":
        return v
    if ty in ("str", "bytes"):
        if v is None:
            return uvarint(0) if flex else struct.pack(">h" if ty == "str" else ">i", -1)
        b = v.encode() if ty == "str" else v
        head = uvarint(len(b) + 1) if flex else struct.pack(">h" if ty == "str" else ">i", len(b))
        return head + b
    raise ValueError(ty)


def present(f, version):
    return f["lo"] <= version <= f["hi"]


def nullable(f, version):
    return f["null"] is not None and version >= f["null"]


def enc_tagged(f, v, version):
    """A tagged field's bytes. A nullable struct leads with an unsigned varint here (0 = null, 1 =
    present), not the int8 of an untagged one: Kafka 4.4.0's generated ConsumerGroupMemberMetadataValue
    writes a null ClassicMemberMetadata (tag 0) as size 1, varint 0, and reads varint > 0 as present."""
    ty = f["ty"]
    if isinstance(ty, tuple) and ty[0] == "struct" and nullable(f, version):
        return uvarint(0) if v is None else uvarint(1) + enc_struct(ty[1], v, True, version)
    return enc(ty, v, True, version, nullable(f, version))


def enc_struct(fields, values, flex, version, extra_tags=()):
    out = b""
    for f in fields:
        if f["tag"] is None and present(f, version):
            out += enc(f["ty"], values[f["name"]], flex, version, nullable(f, version))
    if flex:
        tags = []
        for f in fields:
            if f["tag"] is not None and present(f, version) and f["name"] in values:
                tags.append((f["tag"], enc_tagged(f, values[f["name"]], version)))
        tags += list(extra_tags)
        tags.sort()
        out += uvarint(len(tags))
        for tag, data in tags:
            out += uvarint(tag) + uvarint(len(data)) + data
    return out


# ---------------------------------------------------------------------------
# Sample values and their expected JSON


class Gen:
    def __init__(self, seed):
        self.n = seed

    def next(self):
        self.n += 1
        return self.n


def sample(ty, g):
    """A deterministic sample value of a primitive type."""
    n = g.next()
    if ty == "bool":
        return n % 2 == 0
    if ty == "i8":
        return n % 100
    if ty in ("i16", "u16"):
        return n * 7 % 30000
    if ty == "i32":
        return n * 1000 - 5
    if ty == "i64":
        return T0 + n
    if ty == "f64":
        return n + 0.5
    if ty == "uuid":
        u = bytes((n * 31 + i * 7) % 256 for i in range(16))
        return u
    if ty == "str":
        return "s%d-é" % n
    if ty == "bytes":
        return bytes(range(n % 7, n % 7 + 5))
    raise ValueError(ty)


def to_json(ty, v):
    if v is None:
        return None
    if isinstance(ty, tuple) and ty[0] == "arr":
        return [to_json(ty[1], x) for x in v]
    if isinstance(ty, tuple) and ty[0] == "struct":
        return {f["name"]: to_json(f["ty"], v[f["name"]]) for f in ty[1] if f["name"] in v}
    if ty == "uuid":
        return base64.urlsafe_b64encode(v).rstrip(b"=").decode()
    if ty == "bytes":
        return base64.b64encode(v).decode()
    return v


def struct_sample(fields, g, version, with_tags, null_pick):
    """Values for a struct at `version` (nested structs use the same version)."""
    values = {}
    for f in fields:
        if not present(f, version) or (f["tag"] is not None and not with_tags):
            continue
        values[f["name"]] = value_for(f["ty"], g, version, nullable(f, version) and null_pick, with_tags)
    return values


def value_for(ty, g, version, make_null, with_tags):
    if make_null:
        return None
    if isinstance(ty, tuple) and ty[0] == "arr":
        return [value_for(ty[1], g, version, False, with_tags) for _ in range(2)]
    if isinstance(ty, tuple) and ty[0] == "struct":
        return struct_sample(ty[1], g, version, with_tags, False)
    return sample(ty, g)


def json_struct(fields, values, version):
    out = {}
    for f in fields:
        if f["name"] in values and present(f, version):
            out[f["name"]] = json_value(f["ty"], values[f["name"]], version)
    return out


def json_value(ty, v, version):
    if v is None:
        return None
    if isinstance(ty, tuple) and ty[0] == "arr":
        return [json_value(ty[1], x, version) for x in v]
    if isinstance(ty, tuple) and ty[0] == "struct":
        return json_struct(ty[1], v, version)
    return to_json(ty, v)


# ---------------------------------------------------------------------------
# Consumer protocol (embedded in GroupMetadataValue members)


def consumer_subscription(version, topics, owned, generation, rack, user_data=None):
    out = struct.pack(">h", version) + struct.pack(">i", len(topics))
    for t in topics:
        out += struct.pack(">h", len(t)) + t.encode()
    out += struct.pack(">i", -1) if user_data is None else struct.pack(">i", len(user_data)) + user_data
    if version >= 1:
        out += struct.pack(">i", len(owned))
        for t, ps in owned:
            out += struct.pack(">h", len(t)) + t.encode() + struct.pack(">i", len(ps))
            out += b"".join(struct.pack(">i", p) for p in ps)
    if version >= 2:
        out += struct.pack(">i", generation)
    if version >= 3:
        out += struct.pack(">h", -1) if rack is None else struct.pack(">h", len(rack)) + rack.encode()
    return out


def consumer_assignment(version, assigned, user_data=None):
    out = struct.pack(">h", version) + struct.pack(">i", len(assigned))
    for t, ps in assigned:
        out += struct.pack(">h", len(t)) + t.encode() + struct.pack(">i", len(ps))
        out += b"".join(struct.pack(">i", p) for p in ps)
    out += struct.pack(">i", -1) if user_data is None else struct.pack(">i", len(user_data)) + user_data
    return out


# ---------------------------------------------------------------------------
# Cases


def coord_key(type_id, fields, values):
    return struct.pack(">h", type_id) + enc_struct(fields, values, False, 0)


def coord_value(version, flex_from, fields, values, extra_tags=()):
    return struct.pack(">h", version) + enc_struct(fields, values, version >= flex_from, version, extra_tags)


def frame(type_id, version, fields, values, extra_tags=()):
    return uvarint(1) + uvarint(type_id) + uvarint(version) + enc_struct(fields, values, True, version, extra_tags)


def case(topic, name, key, value, record_type, key_json, value_json, tombstone=False, notes=()):
    return {
        "topic": topic,
        "name": name,
        "key": None if key is None else key.hex(),
        "value": None if value is None else value.hex(),
        "expected": {
            "record_type": record_type,
            "key": key_json,
            "value": value_json,
            "tombstone": tombstone,
            "notes": list(notes),
        },
    }


def coordinator_cases(topic, table, seed):
    out = []
    g = Gen(seed)
    for type_id, name, key_fields, (lo, hi), flex, fields in table:
        kv = struct_sample(key_fields, g, 0, False, False)
        key = coord_key(type_id, key_fields, kv)
        key_json = {"type": type_id, "data": json_struct(key_fields, kv, 0)}
        for version in range(lo, hi + 1):
            for with_tags, null_pick in ((True, False), (False, True)):
                if not with_tags and not any(f["tag"] is not None or f["null"] is not None for f in fields):
                    continue
                vals = struct_sample(fields, g, version, with_tags, null_pick)
                value = coord_value(version, flex, fields, vals)
                exp = json_struct(fields, vals, version)
                fix_names(topic, type_id, exp)
                label = "%s v%d%s" % (name, version, "" if with_tags else " (tags absent, nulls)")
                out.append(case(topic, label, key, value, name, key_json, {"version": version, "data": exp}))
        # a tombstone
        out.append(case(topic, name + " tombstone", key, None, name, key_json, None, tombstone=True))
        # a value one version newer than kseg knows, adding only a tagged field (99)
        if hi + 1 >= flex:
            vals = struct_sample(fields, g, hi, True, False)
            value = struct.pack(">h", hi + 1) + enc_struct(fields, vals, True, hi, [(99, b"\x01\x02")])
            exp = json_struct(fields, vals, hi)
            fix_names(topic, type_id, exp)
            exp["_unknownTaggedFields"] = [{"tag": 99, "hex": "0102"}]
            out.append(case(topic, "%s v%d (newer than known)" % (name, hi + 1), key, value, name, key_json,
                            {"version": hi + 1, "data": exp},
                            notes=["newer than kseg knows", "unknown tagged field 99"]))
    return out


def fix_names(topic, type_id, exp):
    if topic == "transactions" and type_id == 0 and "transactionStatus" in exp:
        s = exp["transactionStatus"]
        if 0 <= s < len(TXN_STATES):
            exp["transactionStatus"] = TXN_STATES[s]
    if topic == "remote-log-metadata":
        if "remoteLogSegmentState" in exp and 0 <= exp["remoteLogSegmentState"] < 4:
            exp["remoteLogSegmentState"] = SEGMENT_STATES[exp["remoteLogSegmentState"]]
        if "remotePartitionDeleteState" in exp and 0 <= exp["remotePartitionDeleteState"] < 3:
            exp["remotePartitionDeleteState"] = DELETE_STATES[exp["remotePartitionDeleteState"]]


def framed_cases(topic, table, seed):
    out = []
    g = Gen(seed)
    for type_id, name, (lo, hi), fields in table:
        for version in range(lo, hi + 1):
            for with_tags, null_pick in ((True, False), (False, True)):
                if not with_tags and not any(f["tag"] is not None or f["null"] is not None for f in fields):
                    continue
                vals = struct_sample(fields, g, version, with_tags, null_pick)
                exp = json_struct(fields, vals, version)
                fix_names(topic, type_id, exp)
                label = "%s v%d%s" % (name, version, "" if with_tags else " (tags absent, nulls)")
                out.append(case(topic, label, None, frame(type_id, version, fields, vals), name, None,
                                {"type": type_id, "version": version, "data": exp}))
        vals = struct_sample(fields, g, hi, True, False)
        exp = json_struct(fields, vals, hi)
        fix_names(topic, type_id, exp)
        exp["_unknownTaggedFields"] = [{"tag": 99, "hex": "0102"}]
        value = uvarint(1) + uvarint(type_id) + uvarint(hi + 1) + enc_struct(fields, vals, True, hi, [(99, b"\x01\x02")])
        out.append(case(topic, "%s v%d (newer than known)" % (name, hi + 1), None, value, name, None,
                        {"type": type_id, "version": hi + 1, "data": exp},
                        notes=["newer than kseg knows", "unknown tagged field 99"]))
    return out


def kafka_test_cases():
    """Kafka's DumpLogSegmentsTest parser cases (items 20-22), as records."""
    out = []
    s16 = lambda s: struct.pack(">h", len(s)) + s.encode()
    # 20 (b): ConsumerGroupMetadata key type 3 / value version 0 epoch 10
    out.append(case("offsets", "kafka: consumer group metadata", struct.pack(">h", 3) + s16("group"),
                    struct.pack(">hi", 0, 10) + uvarint(0), "CONSUMER_GROUP_METADATA",
                    {"type": 3, "data": {"groupId": "group"}}, {"version": 0, "data": {"epoch": 10}}))
    # 20 (c): GroupMetadataValue v4, protocol type consumer: subscription/assignment expanded
    sub = consumer_subscription(3, ["foo"], [("foo", [0])], 0, "rack")
    asg = consumer_assignment(3, [("foo", [0])])
    cs = lambda s: uvarint(len(s) + 1) + s.encode()
    cb = lambda b: uvarint(len(b) + 1) + b
    member = cs("member-1") + cs("instance-1") + cs("client-1") + cs("host-1") + struct.pack(">ii", 1000, 1500)
    member += cb(sub) + cb(asg) + uvarint(0)
    value = struct.pack(">h", 4) + cs("consumer") + struct.pack(">i", 10) + cs("range") + cs("member-1")
    value += struct.pack(">q", 1234) + uvarint(2) + member + uvarint(0)
    gkey = struct.pack(">h", 2) + s16("group")
    member_json = {"memberId": "member-1", "groupInstanceId": "instance-1", "clientId": "client-1",
                   "clientHost": "host-1", "rebalanceTimeout": 1000, "sessionTimeout": 1500}
    out.append(case("offsets", "kafka: group metadata with consumer protocol", gkey, value, "GROUP_METADATA",
                    {"type": 2, "data": {"group": "group"}},
                    {"version": 4, "data": {
                        "protocolType": "consumer", "generation": 10, "protocol": "range", "leader": "member-1",
                        "currentStateTimestamp": 1234, "members": [dict(member_json, **{
                            "subscription": {"topics": ["foo"], "userData": None,
                                             "ownedPartitions": [{"topic": "foo", "partitions": [0]}],
                                             "generationId": 0, "rackId": "rack"},
                            "assignment": {"assignedPartitions": [{"topic": "foo", "partitions": [0]}],
                                           "userData": None}})]}}))
    # 20 (d): malformed embedded protocol keeps base64
    member = cs("member-1") + cs("instance-1") + cs("client-1") + cs("host-1") + struct.pack(">ii", 1000, 1500)
    member += cb(b"Subscription") + cb(b"Assignment") + uvarint(0)
    value = struct.pack(">h", 4) + cs("consumer") + struct.pack(">i", 10) + cs("range") + cs("member-1")
    value += struct.pack(">q", 1234) + uvarint(2) + member + uvarint(0)
    out.append(case("offsets", "kafka: group metadata with a malformed consumer protocol", gkey, value,
                    "GROUP_METADATA", {"type": 2, "data": {"group": "group"}},
                    {"version": 4, "data": {
                        "protocolType": "consumer", "generation": 10, "protocol": "range", "leader": "member-1",
                        "currentStateTimestamp": 1234, "members": [dict(member_json, **{
                            "subscription": "U3Vic2NyaXB0aW9u", "assignment": "QXNzaWdubWVudA=="})]}},
                    notes=["subscription kept as base64", "assignment kept as base64"]))
    # LegacyOffsetCommitKey (type 0) with its only value version, 0, as the oldest brokers wrote it
    lkey = struct.pack(">h", 0) + s16("group") + s16("topic") + struct.pack(">i", 3)
    out.append(case("offsets", "legacy offset commit, empty metadata", lkey,
                    struct.pack(">hq", 0, 42) + s16("") + struct.pack(">q", T0), "LEGACY_OFFSET_COMMIT",
                    {"type": 0, "data": {"group": "group", "topic": "topic", "partition": 3}},
                    {"version": 0, "data": {"offset": 42, "metadata": "", "commitTimestamp": T0}}))
    # A ConsumerGroupMemberMetadataValue as a Kafka 4.4.0 broker writes it for a consumer-protocol member:
    # the tagged ClassicMemberMetadata (tag 0) is written although null, as size 1 and a varint 0.
    mkey = struct.pack(">h", 5) + s16("g-consumer") + s16("m-1")
    mval = struct.pack(">h", 0) + b"\x00\x00" + cs("consumer-g-1") + cs("/127.0.0.1") + uvarint(2) + cs("t")
    mval += cs("") + struct.pack(">i", 300000) + b"\x00" + uvarint(1) + uvarint(0) + uvarint(1) + uvarint(0)
    out.append(case("offsets", "kafka 4.4.0: consumer group member, null classicMemberMetadata tag", mkey, mval,
                    "CONSUMER_GROUP_MEMBER_METADATA",
                    {"type": 5, "data": {"groupId": "g-consumer", "memberId": "m-1"}},
                    {"version": 0, "data": {
                        "instanceId": None, "rackId": None, "clientId": "consumer-g-1", "clientHost": "/127.0.0.1",
                        "subscribedTopicNames": ["t"], "subscribedTopicRegex": "", "rebalanceTimeoutMs": 300000,
                        "serverAssignor": None, "classicMemberMetadata": None}}))
    # 20 (e): tombstone
    out.append(case("offsets", "kafka: tombstone", struct.pack(">h", 3) + s16("group"), None,
                    "CONSUMER_GROUP_METADATA", {"type": 3, "data": {"groupId": "group"}}, None, tombstone=True))
    # 20 (f): unknown record type 32767
    out.append(case("offsets", "kafka: unknown record type", struct.pack(">h", 32767) + b"\x00\x00", b"\x00\x00",
                    None, {"type": 32767}, None, notes=["unknown record type 32767"]))
    # 20 (g): a value of the wrong type: an OffsetCommit key with a ConsumerGroupMetadata-like value
    out.append(case("offsets", "kafka: value of the wrong type",
                    struct.pack(">h", 1) + s16("group") + s16("topic") + struct.pack(">i", 0),
                    struct.pack(">hi", 0, 10) + uvarint(0), "OFFSET_COMMIT",
                    {"type": 1, "data": {"group": "group", "topic": "topic", "partition": 0}}, {"version": 0},
                    notes=["could not read OFFSET_COMMIT value version 0"]))
    # 21: transaction log v0 and v1 with tagged fields
    tkey = struct.pack(">h", 0) + s16("txnId")
    v0 = struct.pack(">hqhib", 0, 123, 0, 0, 0) + struct.pack(">i", 0) + struct.pack(">qq", 0, 0)
    out.append(case("transactions", "kafka: transaction log v0", tkey, v0, "TRANSACTION_LOG",
                    {"type": 0, "data": {"transactionalId": "txnId"}},
                    {"version": 0, "data": {"producerId": 123, "producerEpoch": 0, "transactionTimeoutMs": 0,
                                            "transactionStatus": "Empty", "transactionPartitions": [],
                                            "transactionLastUpdateTimestampMs": 0,
                                            "transactionStartTimestampMs": 0}}))
    v1 = struct.pack(">hqhib", 1, 12, 3, 15, 1) + uvarint(1) + struct.pack(">qq", 13, 14)
    tags = [(0, struct.pack(">q", 10)), (1, struct.pack(">q", 11))]
    v1 += uvarint(2) + b"".join(uvarint(t) + uvarint(len(d)) + d for t, d in tags)
    out.append(case("transactions", "kafka: transaction log v1 with tagged fields", tkey, v1, "TRANSACTION_LOG",
                    {"type": 0, "data": {"transactionalId": "txnId"}},
                    {"version": 1, "data": {"producerId": 12, "previousProducerId": 10, "nextProducerId": 11,
                                            "producerEpoch": 3, "transactionTimeoutMs": 15,
                                            "transactionStatus": "Ongoing", "transactionPartitions": [],
                                            "transactionLastUpdateTimestampMs": 13,
                                            "transactionStartTimestampMs": 14}}))
    out.append(case("transactions", "kafka: transaction tombstone", tkey, None, "TRANSACTION_LOG",
                    {"type": 0, "data": {"transactionalId": "txnId"}}, None, tombstone=True))
    out.append(case("transactions", "kafka: unknown record type", struct.pack(">h", 32767) + b"\x00\x00", b"\x00\x00",
                    None, {"type": 32767}, None, notes=["unknown record type 32767"]))
    # 22: share group state snapshot key and a null stateBatches
    topic_id = base64.urlsafe_b64decode("Uj5wn_FqTXirEASvVZRY1w==")
    skey = struct.pack(">h", 0) + s16("gs1") + topic_id + struct.pack(">i", 0)
    sval = struct.pack(">hiiiqqq", 0, 0, 1, 2, 3, 4, 5) + uvarint(2) + struct.pack(">qqbh", 4, 8, 2, 1) + uvarint(0)
    sval += uvarint(0)
    skey_json = {"type": 0, "data": {"groupId": "gs1", "topicId": "Uj5wn_FqTXirEASvVZRY1w", "partition": 0}}
    out.append(case("share-group-state", "kafka: share snapshot", skey, sval, "SHARE_SNAPSHOT", skey_json,
                    {"version": 0, "data": {"snapshotEpoch": 0, "stateEpoch": 1, "leaderEpoch": 2, "startOffset": 3,
                                            "createTimestamp": 4, "writeTimestamp": 5,
                                            "stateBatches": [{"firstOffset": 4, "lastOffset": 8, "deliveryState": 2,
                                                              "deliveryCount": 1}]}}))
    ukey = struct.pack(">h", 1) + s16("gs1") + topic_id + struct.pack(">i", 0)
    uval = struct.pack(">hiiq", 0, 0, 1, 2) + uvarint(0) + uvarint(0)
    out.append(case("share-group-state", "kafka: share update with null stateBatches", ukey, uval, "SHARE_UPDATE",
                    dict(skey_json, type=1), {"version": 0},
                    notes=["non-nullable field stateBatches was serialized as null"]))
    out.append(case("share-group-state", "kafka: share tombstone", skey, None, "SHARE_SNAPSHOT", skey_json, None,
                    tombstone=True))
    # 15: a bogus metadata value (frame 1, uvarint 10000, uvarint 10000) is skipped, not fatal
    out.append(case("metadata", "kafka: unknown metadata record type", None, uvarint(1) + uvarint(10000) + uvarint(10000),
                    None, None, {"type": 10000, "version": 10000}, notes=["unknown record type 10000"]))
    # 10 (remote): "corrupted" is not a metadata record
    out.append(case("remote-log-metadata", "kafka: corrupted value", None, b"corrupted", None, None, None,
                    notes=["could not deserialize metadata record"]))
    out.append(case("metadata", "frame version 0", None, uvarint(0) + uvarint(2) + uvarint(0), None, None, None,
                    notes=["unknown frame version 0"]))
    out.append(case("metadata", "garbage after a record", None,
                    uvarint(1) + uvarint(12) + uvarint(0) + uvarint(2) + b"a" + struct.pack(">h", 3) + uvarint(0) + b"zz",
                    "FEATURE_LEVEL_RECORD", None, {"type": 12, "version": 0, "data": {"name": "a", "featureLevel": 3}},
                    notes=["2 byte(s) of garbage after FEATURE_LEVEL_RECORD"]))
    return out


# ---------------------------------------------------------------------------
# Segment writing (magic v2, uncompressed, CRC-32C)


def _crc32c_table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


CRC_TABLE = _crc32c_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = CRC_TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def varbytes(b):
    return zigzag(-1, 32) if b is None else zigzag(len(b), 32) + b


def batch(base_offset, records, control=False, ts=T0):
    """records: list of (key bytes|None, value bytes|None)."""
    body = b""
    for i, (k, v) in enumerate(records):
        r = b"\x00" + zigzag(0) + zigzag(i, 32) + varbytes(k) + varbytes(v) + zigzag(0, 32)
        body += zigzag(len(r), 32) + r
    attrs = 0x20 if control else 0
    after_crc = struct.pack(">hiqqqhii", attrs, len(records) - 1, ts, ts, -1, -1, -1, len(records)) + body
    crc = crc32c(after_crc)
    head = struct.pack(">ibI", 0, 2, crc)  # partitionLeaderEpoch, magic, crc
    inner = head + after_crc
    return struct.pack(">qi", base_offset, len(inner)) + inner


def segment(records):
    return b"".join(batch(i, [r]) for i, r in enumerate(records))


def snapshot():
    """A KRaft snapshot as Kafka's testDumpMetadataSnapshot builds it."""
    ctl = lambda t, v: (struct.pack(">hh", 0, t), v)
    header = ctl(3, struct.pack(">hq", 0, 10000) + uvarint(0))
    kraft = ctl(5, struct.pack(">hh", 0, 1) + uvarint(0))
    voters = b""
    for vid in range(3):
        d = bytes([vid + 1] * 16)
        ep = uvarint(len("CONTROLLER") + 1) + b"CONTROLLER" + uvarint(len("localhost") + 1) + b"localhost"
        ep += struct.pack(">H", 9990 + vid) + uvarint(0)
        voters += struct.pack(">i", vid) + d + uvarint(2) + ep + struct.pack(">hh", 0, 1) + uvarint(0) + uvarint(0)
    voters_rec = ctl(6, struct.pack(">h", 0) + uvarint(4) + voters + uvarint(0))
    footer = ctl(4, struct.pack(">h", 0) + uvarint(0))
    topic_id = bytes(range(16))
    topic = frame(2, 0, METADATA[2][3], {"name": "test-topic", "topicId": topic_id})
    broker = frame(0, 0, METADATA[0][3], {
        "brokerId": 0, "incarnationId": bytes(16), "brokerEpoch": 0, "endPoints": [], "features": [],
        "rack": None, "fenced": True})
    data = batch(0, [(None, topic), (None, broker)])
    return batch(0, [header, kraft, voters_rec], control=True) + data + batch(2, [footer], control=True)


def main():
    cases = []
    cases += coordinator_cases("offsets", OFFSETS, 100)
    cases += coordinator_cases("transactions", TRANSACTIONS, 200)
    cases += coordinator_cases("share-group-state", SHARE, 300)
    cases += framed_cases("metadata", METADATA, 400)
    cases += framed_cases("remote-log-metadata", REMOTE, 500)
    cases += kafka_test_cases()
    os.makedirs(OUT, exist_ok=True)
    dirs = {"offsets": "__consumer_offsets-0", "transactions": "__transaction_state-0",
            "metadata": "__cluster_metadata-0", "remote-log-metadata": "__remote_log_metadata-0",
            "share-group-state": "__share_group_state-0"}
    for topic, d in dirs.items():
        recs = [(None if c["key"] is None else bytes.fromhex(c["key"]),
                 None if c["value"] is None else bytes.fromhex(c["value"])) for c in cases if c["topic"] == topic]
        if os.path.isdir(os.path.join(OUT, d)):
            shutil.rmtree(os.path.join(OUT, d))
        os.makedirs(os.path.join(OUT, d))
        with open(os.path.join(OUT, d, "00000000000000000000.log"), "wb") as f:
            f.write(segment(recs))
    with open(os.path.join(OUT, dirs["metadata"], "00000000000000000100-0000000001.checkpoint"), "wb") as f:
        f.write(snapshot())
    with open(os.path.join(OUT, "cases.json"), "w", encoding="utf-8") as f:
        json.dump(cases, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print("%d cases written to %s" % (len(cases), OUT))


if __name__ == "__main__":
    main()
