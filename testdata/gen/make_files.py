#!/usr/bin/env python3
"""Generate fixtures for every kind of file a Kafka log directory holds, with
the values kseg must show for them, and damaged copies with the findings
`kseg verify` must report.

    python3 testdata/gen/make_files.py

Python 3 standard library only.  Deterministic.  Wipes and rewrites
testdata/files/:

    files/logdir/                  a broker log directory (see FILES below)
    files/expected.json            per file (paths from the repository
                                   root): the `file` object and every entry
                                   object `kseg dump --format jsonl` must
                                   write (without the `file` field), the
                                   batch count of log-framed files, and the
                                   order `kseg dump testdata/files/logdir`
                                   lists the files in
    files/corrupt/<case>/txn-0/    damaged copies of logdir/txn-0
    files/corrupt.json             per case: verify_path, exit_code,
                                   findings [{file, kind, severity,
                                   position}], dump_path, dump_problems
                                   [{kind, position}]

Record batches are not made here: the segment and the KRaft snapshot are
copies of the kafka-python-built fixtures testdata/segments/v2_transactions
and v2_control_kraft (see make_fixtures.py).  This script reads their batch
headers itself to build what a broker would write beside them: the offset and
time indexes (LogSegment's rule, index.interval.bytes = 256, preallocated
zero tails as in an active segment), the transaction index (one aborted
transaction), two producer state snapshots, and the text checkpoints.

Before writing the manifests the script checks every file again with its own
small readers (`read_*` below), and computes the expected findings of each
damaged case with an independent checker (`check_case`); both must agree with
what is written.
"""

import base64
import json
import os
import shutil
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TESTDATA = os.path.dirname(HERE)
ROOT = os.path.dirname(TESTDATA)
OUT = os.path.join(TESTDATA, "files")
LOGDIR = os.path.join(OUT, "logdir")

TXN_SEGMENT = os.path.join(TESTDATA, "segments", "v2_transactions", "00000000000000000000.log")
KRAFT_SEGMENT = os.path.join(TESTDATA, "segments", "v2_control_kraft", "00000000000000000000.log")
DEMO = os.path.join(TESTDATA, "partitions", "demo-0")

INDEX_INTERVAL = 256
INDEX_SLOTS = 10  # preallocated size of the active segment's indexes, in slots

# ---------------------------------------------------------------------------
# checksums

_CRC32C_TABLE = []
for _n in range(256):
    _c = _n
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _CRC32C_TABLE.append(_c)


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc = _CRC32C_TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value


def kafka_uuid(raw16):
    """Kafka's Uuid.toString(): URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(raw16).decode().rstrip("=")


# ---------------------------------------------------------------------------
# v2 batch headers (enough for indexes and producer state)


def read_batches(data):
    out = []
    pos = 0
    while pos + 61 <= len(data):
        base, length = struct.unpack_from(">qi", data, pos)
        (magic,) = struct.unpack_from(">b", data, pos + 16)
        assert magic == 2, "v2 only"
        attrs, last_delta, first_ts, max_ts, pid, epoch, base_seq, count = struct.unpack_from(
            ">hiqqqhii", data, pos + 21)
        (leader_epoch,) = struct.unpack_from(">i", data, pos + 12)
        size = 12 + length
        out.append(dict(position=pos, size=size, base_offset=base, last_offset=base + last_delta,
                        last_delta=last_delta, max_timestamp=max_ts, producer_id=pid,
                        producer_epoch=epoch, base_sequence=base_seq, count=count,
                        transactional=bool(attrs & 16), control=bool(attrs & 32),
                        leader_epoch=leader_epoch))
        pos += size
    assert pos == len(data), "the segment must end on a batch boundary"
    return out


def control_marker(data, b):
    """(type, coordinator_epoch) of a one-record control batch (ABORT=0, COMMIT=1)."""
    # records start at batch position + 61: length varint, attributes, ts delta, offset delta,
    # key length varint, key (version int16, type int16), value length, value.
    pos = b["position"] + 61

    def varint(p):
        shift = result = 0
        while True:
            byte = data[p]
            p += 1
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return (result >> 1) ^ -(result & 1), p
            shift += 7

    _, pos = varint(pos)
    pos += 1
    _, pos = varint(pos)
    _, pos = varint(pos)
    klen, pos = varint(pos)
    _, ctype = struct.unpack_from(">hh", data, pos)
    pos += klen
    vlen, pos = varint(pos)
    _, coord = struct.unpack_from(">hi", data, pos)
    return ctype, coord


# ---------------------------------------------------------------------------
# writers


def index_files(batches, base):
    """LogSegment.append, one batch per append: offset-index and time-index entries."""
    index, timeindex = [], []
    since = 0
    max_ts, offset_of_max = -1, base
    for b in batches:
        if b["max_timestamp"] > max_ts:
            max_ts, offset_of_max = b["max_timestamp"], b["last_offset"]
        if since > INDEX_INTERVAL:
            index.append((b["last_offset"], b["position"]))
            if not timeindex or max_ts > timeindex[-1][0]:
                timeindex.append((max_ts, offset_of_max))
            since = 0
        since += b["size"]
    return index, timeindex


def encode_index(entries, base, slots):
    out = b"".join(struct.pack(">ii", off - base, pos) for off, pos in entries)
    return out + b"\0" * (8 * slots - len(out))


def encode_timeindex(entries, base, slots):
    out = b"".join(struct.pack(">qi", ts, off - base) for ts, off in entries)
    return out + b"\0" * (12 * slots - len(out))


def encode_txn(entries):
    return b"".join(struct.pack(">hqqqq", *e) for e in entries)


SNAPSHOT_ENTRY = ">qhiqiqiq"


def encode_snapshot(entries, version=1, count=None, extra=b""):
    body = struct.pack(">i", len(entries) if count is None else count)
    for e in entries:
        body += struct.pack(SNAPSHOT_ENTRY, e["producer_id"], e["producer_epoch"], e["last_sequence"],
                            e["last_offset"], e["offset_delta"], e["timestamp"], e["coordinator_epoch"],
                            e["current_txn_first_offset"])
    body += extra
    return struct.pack(">hI", version, crc32c(body)) + body


def producer_state(data, batches, end):
    """Producer entries after the batches below `end`, as ProducerStateManager keeps them:
    the last data batch's sequence, offset and timestamp; the coordinator epoch of the last
    marker; the first offset of a transaction still open."""
    state = {}
    for b in batches:
        if b["base_offset"] >= end or b["producer_id"] < 0:
            continue
        e = state.setdefault(b["producer_id"], dict(producer_id=b["producer_id"], producer_epoch=b["producer_epoch"],
                                                    last_sequence=-1, last_offset=-1, offset_delta=0, timestamp=-1,
                                                    coordinator_epoch=-1, current_txn_first_offset=-1))
        e["producer_epoch"] = b["producer_epoch"]
        if b["control"]:
            _, coord = control_marker(data, b)
            e["coordinator_epoch"] = coord
            e["current_txn_first_offset"] = -1
            continue
        e["last_sequence"] = b["base_sequence"] + b["last_delta"]
        e["last_offset"] = b["last_offset"]
        e["offset_delta"] = b["last_delta"]
        e["timestamp"] = b["max_timestamp"]
        if b["transactional"] and e["current_txn_first_offset"] < 0:
            e["current_txn_first_offset"] = b["base_offset"]
    return [state[p] for p in sorted(state)]


def aborted_txns(data, batches):
    """One AbortedTxn per ABORT marker: (version, producerId, firstOffset, lastOffset,
    lastStableOffset). The LSO is the first offset of the earliest transaction still open
    after this one completes, else the marker's offset + 1."""
    open_txn = {}
    out = []
    for b in batches:
        pid = b["producer_id"]
        if not b["transactional"]:
            continue
        if not b["control"]:
            open_txn.setdefault(pid, b["base_offset"])
            continue
        ctype, _ = control_marker(data, b)
        first = open_txn.pop(pid)
        if ctype == 0:
            lso = min(open_txn.values(), default=b["last_offset"] + 1)
            out.append((0, pid, first, b["last_offset"], lso))
    return out


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(path, mode) as f:
        f.write(data)


# ---------------------------------------------------------------------------
# independent readers, used to check what was written


def read_index(data, base, entry, fmt):
    slots = len(data) // entry
    rel_at = 0 if entry == 8 else 8
    real = slots
    for i in range(1, slots):
        if struct.unpack_from(">i", data, i * entry + rel_at)[0] == 0:
            real = i
            break
    return [struct.unpack_from(fmt, data, i * entry) for i in range(real)], slots - real


def read_snapshot(data):
    version, crc, count = struct.unpack_from(">hIi", data, 0)
    entries = []
    for i in range(count):
        at = 10 + 46 * i
        v = struct.unpack_from(SNAPSHOT_ENTRY, data, at)
        entries.append(dict(zip(["producer_id", "producer_epoch", "last_sequence", "last_offset", "offset_delta",
                                 "timestamp", "coordinator_epoch", "current_txn_first_offset"], v), position=at))
    assert len(data) == 10 + 46 * count
    return dict(version=version, crc=crc, crc_valid=crc == crc32c(data[6:]), count=count), entries


# ---------------------------------------------------------------------------
# the log directory

TXN_TOPIC_ID = kafka_uuid(bytes(range(1, 17)))
STATES_TOPIC_ID = kafka_uuid(bytes(range(17, 33)))
METADATA_TOPIC_ID = "AAAAAAAAAAAAAAAAAAAAAQ"  # Kafka's fixed id of __cluster_metadata
DIRECTORY_ID = kafka_uuid(bytes(range(100, 116)))
CLUSTER_ID = "q1w2e3r4Ty6u7i8o9p0AzQ"


def build():
    expected = []  # [{path, file: {...}, objects: [...], batches: n}]

    def expect(rel, file_obj, objects=(), batches=None):
        entry = {"path": rel, "file": file_obj, "objects": list(objects)}
        if batches is not None:
            entry["batches"] = batches
        expected.append(entry)

    def rel(path):
        return os.path.relpath(path, ROOT).replace(os.sep, "/")

    # --- log directory root -------------------------------------------------
    meta = ("#\n#Tue Nov 14 22:13:20 UTC 2023\nnode.id=1\ndirectory.id=%s\nversion=1\ncluster.id=%s\n"
            % (DIRECTORY_ID, CLUSTER_ID))
    write(os.path.join(LOGDIR, "meta.properties"), meta)
    props = [(3, "node.id", "1"), (4, "directory.id", DIRECTORY_ID), (5, "version", "1"), (6, "cluster.id", CLUSTER_ID)]
    expect(rel(os.path.join(LOGDIR, "meta.properties")), {"kind": "meta.properties", "size": len(meta)},
           [{"type": "checkpoint_entry", "line": n, "key": k, "value": v} for n, k, v in props])

    shutdown = '{"version":0,"brokerEpoch":42}'
    write(os.path.join(LOGDIR, ".kafka_cleanshutdown"), shutdown)
    expect(rel(os.path.join(LOGDIR, ".kafka_cleanshutdown")), {"kind": ".kafka_cleanshutdown", "size": len(shutdown)},
           [{"type": "checkpoint_entry", "key": "brokerEpoch", "value": 42},
            {"type": "checkpoint_entry", "key": "version", "value": 0}])

    offsets = {
        "recovery-point-offset-checkpoint": [("__cluster_metadata", 0, 8), ("txn", 0, 14), ("states", 0, 95)],
        "log-start-offset-checkpoint": [("txn", 0, 0), ("states", 0, 40)],
        "replication-offset-checkpoint": [("__cluster_metadata", 0, 8), ("txn", 0, 14), ("states", 0, 95)],
        "cleaner-offset-checkpoint": [("states", 0, 95)],
    }
    for name, rows in offsets.items():
        text = "0\n%d\n" % len(rows) + "".join("%s %d %d\n" % r for r in rows)
        write(os.path.join(LOGDIR, name), text)
        objs = [{"type": "checkpoint", "version": 0, "count": len(rows)}]
        objs += [{"type": "checkpoint_entry", "line": 3 + i, "topic": t, "partition": p, "offset": o}
                 for i, (t, p, o) in enumerate(rows)]
        expect(rel(os.path.join(LOGDIR, name)), {"kind": name, "size": len(text)}, objs)

    # --- txn-0: the active segment of a partition with transactions ----------
    part = os.path.join(LOGDIR, "txn-0")
    with open(TXN_SEGMENT, "rb") as f:
        log = f.read()
    batches = read_batches(log)
    base = 0
    end = batches[-1]["last_offset"] + 1
    name = "%020d" % base
    write(os.path.join(part, name + ".log"), log)
    expect(rel(os.path.join(part, name + ".log")), {"kind": "log", "size": len(log), "base_offset": base},
           batches=len(batches))

    index, timeindex = index_files(batches, base)
    idx_bytes = encode_index(index, base, INDEX_SLOTS)
    tidx_bytes = encode_timeindex(timeindex, base, INDEX_SLOTS)
    write(os.path.join(part, name + ".index"), idx_bytes)
    write(os.path.join(part, name + ".timeindex"), tidx_bytes)
    got, zeros = read_index(idx_bytes, base, 8, ">ii")
    assert [(base + o, p) for o, p in got] == index and zeros == INDEX_SLOTS - len(index)
    got, zeros = read_index(tidx_bytes, base, 12, ">qi")
    assert [(t, base + o) for t, o in got] == timeindex and zeros == INDEX_SLOTS - len(timeindex)
    # Every index entry points at a batch start whose last offset is the entry's offset.
    by_pos = {b["position"]: b for b in batches}
    assert all(by_pos[p]["last_offset"] == o for o, p in index)
    expect(rel(os.path.join(part, name + ".index")),
           {"kind": "index", "size": len(idx_bytes), "base_offset": base, "entries": len(index),
            "preallocated_slots": INDEX_SLOTS - len(index)},
           [{"type": "index_entry", "offset": o, "position": p} for o, p in index])
    expect(rel(os.path.join(part, name + ".timeindex")),
           {"kind": "timeindex", "size": len(tidx_bytes), "base_offset": base, "entries": len(timeindex),
            "preallocated_slots": INDEX_SLOTS - len(timeindex)},
           [{"type": "time_index_entry", "timestamp": t, "offset": o} for t, o in timeindex])

    txns = aborted_txns(log, batches)
    assert txns == [(0, 5001, 3, 11, 12)], txns  # the one aborted transaction of v2_transactions
    txn_bytes = encode_txn(txns)
    write(os.path.join(part, name + ".txnindex"), txn_bytes)
    expect(rel(os.path.join(part, name + ".txnindex")),
           {"kind": "txnindex", "size": len(txn_bytes), "base_offset": base},
           [{"type": "txn_entry", "position": 34 * i, "version": v, "producer_id": p, "first_offset": f,
             "last_offset": l, "last_stable_offset": s} for i, (v, p, f, l, s) in enumerate(txns)])

    # Producer snapshots: one taken mid-transaction (log end offset 7), one at the end.
    for at in (7, end):
        entries = producer_state(log, batches, at)
        data = encode_snapshot(entries)
        header, back = read_snapshot(data)
        assert header["crc_valid"] and [{k: v for k, v in e.items() if k != "position"} for e in back] == entries
        path = os.path.join(part, "%020d.snapshot" % at)
        write(path, data)
        expect(rel(path), {"kind": "snapshot", "size": len(data), "base_offset": at},
               [{"type": "snapshot", "version": 1, "crc": header["crc"], "crc_valid": True, "count": len(entries)}]
               + [dict(type="producer_entry", position=e["position"], **{k: v for k, v in e.items() if k != "position"})
                  for e in back])
    mid = producer_state(log, batches, 7)
    assert [(e["producer_id"], e["current_txn_first_offset"]) for e in mid] == [(5000, 0), (5001, 3)]

    epochs = sorted({(b["leader_epoch"], min(x["base_offset"] for x in batches if x["leader_epoch"] == b["leader_epoch"]))
                     for b in batches})
    write_epochs(part, epochs, expect, rel)
    write_partition_metadata(part, TXN_TOPIC_ID, expect, rel)

    # --- states-0: files being deleted and cleaned beside a live segment ----
    part = os.path.join(LOGDIR, "states-0")
    os.makedirs(part)
    for src, dst in [("00000000000000000000.log", "00000000000000000000.log.deleted"),
                     ("00000000000000000000.index", "00000000000000000000.index.deleted"),
                     ("00000000000000000000.timeindex", "00000000000000000000.timeindex.deleted"),
                     ("00000000000000000040.log", "00000000000000000040.log"),
                     ("00000000000000000040.index", "00000000000000000040.index"),
                     ("00000000000000000040.timeindex", "00000000000000000040.timeindex"),
                     ("00000000000000000040.log", "00000000000000000040.log.cleaned")]:
        shutil.copyfile(os.path.join(DEMO, src), os.path.join(part, dst))
    with open(os.path.join(DEMO, "expected.json")) as f:
        demo = json.load(f)
    for dst in sorted(os.listdir(part)):
        kind = dst.split(".")[1]
        state = dst.split(".")[2] if dst.count(".") == 2 else None
        size = os.path.getsize(os.path.join(part, dst))
        obj = {"kind": kind, "size": size, "base_offset": int(dst[:20])}
        if state:
            obj["state"] = state
        objects = []
        if kind in ("index", "timeindex"):
            with open(os.path.join(part, dst), "rb") as f:
                data = f.read()
            entry, fmt = (8, ">ii") if kind == "index" else (12, ">qi")
            got, zeros = read_index(data, obj["base_offset"], entry, fmt)
            obj["entries"], obj["preallocated_slots"] = len(got), zeros
            if kind == "index":
                objects = [{"type": "index_entry", "offset": obj["base_offset"] + o, "position": p} for o, p in got]
            else:
                objects = [{"type": "time_index_entry", "timestamp": t, "offset": obj["base_offset"] + o}
                           for t, o in got]
        batches_n = None
        if kind == "log":
            seg = next(s for s in demo["segments"] if s["base_offset"] == obj["base_offset"])
            batches_n = len(seg["batches"])
        expect(rel(os.path.join(part, dst)), obj, objects, batches=batches_n)
    write_epochs(part, [(0, 0), (1, 42), (2, 70)], expect, rel)
    write_partition_metadata(part, STATES_TOPIC_ID, expect, rel)

    # --- __cluster_metadata-0: a KRaft snapshot and the quorum state -------
    part = os.path.join(LOGDIR, "__cluster_metadata-0")
    with open(KRAFT_SEGMENT, "rb") as f:
        kraft = f.read()
    kb = read_batches(kraft)
    snap_name = "%020d-%010d.checkpoint" % (kb[-1]["last_offset"] + 1, kb[-1]["leader_epoch"])
    write(os.path.join(part, snap_name), kraft)
    expect(rel(os.path.join(part, snap_name)), {"kind": "kraft-checkpoint", "size": len(kraft)}, batches=len(kb))
    quorum = ('{"clusterId":"","leaderId":1,"leaderEpoch":6,"votedId":-1,"appliedOffset":0,'
              '"currentVoters":[{"voterId":1}],"data_version":0}')
    write(os.path.join(part, "quorum-state"), quorum)
    fields = json.loads(quorum)
    expect(rel(os.path.join(part, "quorum-state")), {"kind": "quorum-state", "size": len(quorum)},
           [{"type": "checkpoint_entry", "key": k, "value": fields[k]} for k in sorted(fields)])
    epochs = sorted({(b["leader_epoch"], min(x["base_offset"] for x in kb if x["leader_epoch"] == b["leader_epoch"]))
                     for b in kb})
    write_epochs(part, epochs, expect, rel)
    write_partition_metadata(part, METADATA_TOPIC_ID, expect, rel)
    return expected


def write_epochs(part, epochs, expect, rel):
    text = "0\n%d\n" % len(epochs) + "".join("%d %d\n" % e for e in epochs)
    path = os.path.join(part, "leader-epoch-checkpoint")
    write(path, text)
    expect(rel(path), {"kind": "leader-epoch-checkpoint", "size": len(text)},
           [{"type": "checkpoint", "version": 0, "count": len(epochs)}]
           + [{"type": "checkpoint_entry", "line": 3 + i, "epoch": e, "start_offset": o}
              for i, (e, o) in enumerate(epochs)])


def write_partition_metadata(part, topic_id, expect, rel):
    # As Kafka writes it: no newline after the topic id.
    text = "version: 0\ntopic_id: %s" % topic_id
    assert len(base64.urlsafe_b64decode(topic_id + "==")) == 16
    path = os.path.join(part, "partition.metadata")
    write(path, text)
    expect(rel(path), {"kind": "partition.metadata", "size": len(text)},
           [{"type": "checkpoint_entry", "line": 1, "key": "version", "value": "0"},
            {"type": "checkpoint_entry", "line": 2, "key": "topic_id", "value": topic_id}])


# ---------------------------------------------------------------------------
# the order `kseg dump files/logdir` lists files in


def listing_order():
    segment_kinds = ["log", "index", "timeindex", "txnindex"]
    text_order = ["meta.properties", ".kafka_cleanshutdown", "recovery-point-offset-checkpoint",
                  "log-start-offset-checkpoint", "replication-offset-checkpoint", "cleaner-offset-checkpoint",
                  "partition.metadata", "leader-epoch-checkpoint", "quorum-state"]
    states = [None, "cleaned", "swap", "deleted"]

    def key(name):
        parts = name.split(".")
        if name in text_order:
            return (3, 0, 0, text_order.index(name), name)
        head = parts[0]
        offset = int(head.split("-")[0]) if head.split("-")[0].isdigit() else -1
        state = parts[2] if len(parts) == 3 and parts[2] in states else None
        kind = parts[1] if len(parts) > 1 else ""
        if kind in segment_kinds and offset >= 0:
            return (0, offset, states.index(state), segment_kinds.index(kind), name)
        if kind == "snapshot":
            return (1, offset, states.index(state), 0, name)
        if kind == "checkpoint":
            return (2, offset, states.index(state), 0, name)
        return (4, 0, 0, 0, name)

    def partition_key(d):
        topic, _, n = d.rpartition("-")
        return (topic, int(n), d) if n.isdigit() else (d, 0, d)

    out = []

    def walk(d):
        names = sorted((n for n in os.listdir(d) if os.path.isfile(os.path.join(d, n))), key=key)
        out.extend(os.path.relpath(os.path.join(d, n), ROOT).replace(os.sep, "/") for n in names)
        for sub in sorted((n for n in os.listdir(d) if os.path.isdir(os.path.join(d, n))), key=partition_key):
            walk(os.path.join(d, sub))

    walk(LOGDIR)
    return out


# ---------------------------------------------------------------------------
# damaged copies of txn-0 for `kseg verify`

ERROR, WARNING = "error", "warning"
SNAP = "00000000000000000014.snapshot"
TXN = "00000000000000000000.txnindex"


def check_case(part):
    """Independent checker: findings for the snapshots and the transaction index of a
    partition directory (the rest of txn-0 is known to be clean)."""
    findings = []
    with open(os.path.join(part, "00000000000000000000.log"), "rb") as f:
        batches = read_batches(f.read())
    last = batches[-1]["last_offset"]
    for name in sorted(os.listdir(part)):
        path = os.path.join(part, name)
        with open(path, "rb") as f:
            data = f.read()
        if name.endswith(".snapshot"):
            if len(data) < 10:
                findings.append((name, "snapshot_truncated", ERROR, len(data)))
                continue
            version, crc, count = struct.unpack_from(">hIi", data, 0)
            if version != 1:
                findings.append((name, "snapshot_version", ERROR, 0))
            if crc != crc32c(data[6:]):
                findings.append((name, "snapshot_crc", ERROR, 2))
            whole = (len(data) - 10) // 46
            if count < 0:
                findings.append((name, "snapshot_count", ERROR, 6))
            elif count > whole:
                findings.append((name, "snapshot_truncated", ERROR, 10 + 46 * whole))
            elif len(data) > 10 + 46 * count:
                findings.append((name, "snapshot_trailing_bytes", WARNING, 10 + 46 * count))
        elif name.endswith(".txnindex"):
            if len(data) % 34:
                findings.append((name, "txnindex_size", ERROR, len(data) - len(data) % 34))
            prev = None
            for i in range(len(data) // 34):
                v, pid, first, lastoff, lso = struct.unpack_from(">hqqqq", data, 34 * i)
                if v != 0 or first > lastoff:
                    findings.append((name, "txnindex_entry", ERROR, 34 * i))
                if prev is not None and lastoff <= prev:
                    findings.append((name, "txnindex_order", ERROR, 34 * i))
                prev = lastoff if prev is None else max(prev, lastoff)
                if lastoff < 0 or lastoff > last:
                    findings.append((name, "txnindex_outside_segment", ERROR, 34 * i))
    return sorted(findings, key=lambda f: (f[0], f[3]))


def corrupt_cases():
    src = os.path.join(LOGDIR, "txn-0")
    with open(os.path.join(src, SNAP), "rb") as f:
        snap = f.read()
    with open(os.path.join(src, TXN), "rb") as f:
        txn = f.read()
    entries = read_snapshot(snap)[1]
    plain = [{k: v for k, v in e.items() if k != "position"} for e in entries]

    def flip(data, at):
        b = bytearray(data)
        b[at] ^= 0x01
        return bytes(b)

    cases = [
        ("snapshot_bad_crc", "a bit of the second producer entry's timestamp (byte 90) flipped", SNAP,
         flip(snap, 90)),
        ("snapshot_bad_version", "version 1 -> 2 (outside the CRC, so only the version is wrong)", SNAP,
         struct.pack(">h", 2) + snap[2:]),
        ("snapshot_cut", "cut to 80 bytes, inside the second of three entries", SNAP, snap[:80]),
        ("snapshot_count_too_big", "count 3 -> 1000, CRC recomputed: a count the file cannot hold", SNAP,
         encode_snapshot(plain, count=1000)),
        ("snapshot_trailing_bytes", "3 bytes after the last entry, CRC recomputed (Kafka reads it: a warning)",
         SNAP, encode_snapshot(plain, extra=b"\x01\x02\x03")),
        ("txnindex_partial_entry", "10 bytes appended after the one entry", TXN, txn + bytes(range(1, 11))),
        ("txnindex_bad_version", "entry version 0 -> 1", TXN, struct.pack(">h", 1) + txn[2:]),
        ("txnindex_first_after_last", "firstOffset 3 -> 12 (lastOffset 11)", TXN,
         encode_txn([(0, 5001, 12, 11, 12)])),
        ("txnindex_out_of_order", "a second entry whose lastOffset (10) is below the first's (11)", TXN,
         encode_txn([(0, 5001, 3, 11, 12), (0, 5000, 0, 10, 12)])),
        ("txnindex_past_segment", "lastOffset 11 -> 20, past the segment's last offset 13", TXN,
         encode_txn([(0, 5001, 3, 20, 21)])),
    ]
    manifest = []
    for case, description, target, data in cases:
        part = os.path.join(OUT, "corrupt", case, "txn-0")
        shutil.copytree(src, part)
        write(os.path.join(part, target), data)
        findings = check_case(part)
        assert findings, case
        manifest.append({
            "case": case,
            "description": description,
            "verify_path": os.path.relpath(part, ROOT).replace(os.sep, "/"),
            "exit_code": 1 if any(f[2] == ERROR for f in findings) else 0,
            "findings": [{"file": f, "kind": k, "severity": s, "position": p} for f, k, s, p in findings],
            "dump_path": os.path.relpath(os.path.join(part, target), ROOT).replace(os.sep, "/"),
            "dump_problems": [{"kind": dump_kind(k), "position": p} for f, k, s, p in findings
                              if f == target and dump_kind(k)],
        })
    # The clean original has no finding.
    assert check_case(src) == [], check_case(src)
    return manifest


def dump_kind(verify_kind):
    """The problem `kseg dump` reports for the same damage (dump does not relate a
    transaction index to its segment, so only the file's own structure counts)."""
    return {
        "snapshot_version": "snapshot_version",
        "snapshot_crc": "snapshot_crc",
        "snapshot_truncated": "snapshot_truncated",
        "snapshot_count": "snapshot_count",
        "snapshot_trailing_bytes": "snapshot_trailing_bytes",
        "txnindex_size": "trailing_bytes",
    }.get(verify_kind)


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    expected = build()
    order = listing_order()
    paths = [e["path"] for e in expected]
    assert sorted(paths) == sorted(order), (sorted(paths), sorted(order))
    doc = {
        "generator": "testdata/gen/make_files.py",
        "directory": "testdata/files/logdir",
        "order": order,
        "files": sorted(expected, key=lambda e: order.index(e["path"])),
    }
    write(os.path.join(OUT, "expected.json"), json.dumps(doc, indent=1) + "\n")
    manifest = corrupt_cases()
    write(os.path.join(OUT, "corrupt.json"), json.dumps(manifest, indent=1) + "\n")
    print("wrote %d files, %d damaged cases under %s" % (len(expected), len(manifest), OUT))


if __name__ == "__main__":
    sys.exit(main())
