"""Generate testdata/groups/: a log directory with one `__consumer_offsets-0`
partition and the `orders-0` partition its groups committed offsets for, for
`kseg groups`.

Every byte is written here by hand from Kafka's formats (no Kafka library):
v2 record batches (CRC-32C over attributes..end), the group coordinator's
record keys and values (`OffsetCommitKey` v1 / `OffsetCommitValue` v3,
`GroupMetadataKey` v2 / `GroupMetadataValue` v3), and transaction markers
(control key version 0 + type, value version 0 + coordinatorEpoch). The
expected groups are written from this script's own model of the group
coordinator's replay, not by kseg, into testdata/groups/expected.json.

    python3 testdata/gen/make_groups_fixture.py

Deterministic; standard library only.
"""

import json
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "groups")
T0 = 1700000000000

_T = []
for _n in range(256):
    _c = _n
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _T.append(_c)


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _T[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283


def varint(n):
    z = (n << 1) ^ (n >> 63)  # zigzag
    out = b""
    while True:
        b = z & 0x7F
        z >>= 7
        if z:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def s16(s):
    """A non-null int16-length string."""
    b = s.encode()
    return struct.pack(">h", len(b)) + b


def ns16(s):
    return struct.pack(">h", -1) if s is None else s16(s)


def record(offset_delta, ts_delta, key, value):
    body = b"\x00" + varint(ts_delta) + varint(offset_delta)
    body += varint(-1) if key is None else varint(len(key)) + key
    body += varint(-1) if value is None else varint(len(value)) + value
    body += varint(0)  # no headers
    return varint(len(body)) + body


def batch(base_offset, ts, records, producer_id=-1, transactional=False, control=False):
    attrs = (0x10 if transactional else 0) | (0x20 if control else 0)
    recs = b"".join(record(i, 0, k, v) for i, (k, v) in enumerate(records))
    after_crc = struct.pack(">hiqqqhii", attrs, len(records) - 1, ts, ts, producer_id, 0 if producer_id >= 0 else -1,
                            -1 if control or producer_id < 0 else 0, len(records)) + recs
    head = struct.pack(">ib", 0, 2)  # partitionLeaderEpoch, magic
    body = head + struct.pack(">I", crc32c(after_crc)) + after_crc
    return struct.pack(">qi", base_offset, len(body)) + body


def commit_key(group, topic, partition):
    return struct.pack(">h", 1) + s16(group) + s16(topic) + struct.pack(">i", partition)


def commit_value(offset, ts, metadata=""):
    return struct.pack(">hqi", 3, offset, 0) + s16(metadata) + struct.pack(">q", ts)


def group_key(group):
    return struct.pack(">h", 2) + s16(group)


def group_value(protocol_type, generation, protocol, leader, ts, members):
    out = struct.pack(">h", 3) + s16(protocol_type) + struct.pack(">i", generation) + ns16(protocol) + ns16(leader)
    out += struct.pack(">q", ts) + struct.pack(">i", len(members))
    for member_id, client_id, host in members:
        out += s16(member_id) + ns16(None) + s16(client_id) + s16(host) + struct.pack(">ii", 300000, 45000)
        out += struct.pack(">i", 0) + struct.pack(">i", 0)  # empty subscription and assignment
    return out


def marker(commit):
    return struct.pack(">hh", 0, 1 if commit else 0), struct.pack(">hi", 0, 0)


class Model:
    """The coordinator's replay, written independently of kseg."""

    def __init__(self):
        self.groups = {}
        self.pending = {}

    def g(self, gid):
        return self.groups.setdefault(gid, {"state": "Empty", "protocol": None, "generation": None, "members": [],
                                            "offsets": {}})

    def commit(self, gid, topic, p, value, pid=None):
        if pid is not None:
            self.pending.setdefault(pid, []).append((gid, topic, p, value))
        else:
            self.apply(gid, topic, p, value)

    def apply(self, gid, topic, p, value):
        offs = self.g(gid)["offsets"]
        if value is None:
            offs.pop("%s-%d" % (topic, p), None)
        else:
            offs["%s-%d" % (topic, p)] = value

    def end(self, pid, commit):
        for op in self.pending.pop(pid, []):
            if commit:
                self.apply(*op)


def main():
    if os.path.exists(OUT):
        shutil.rmtree(OUT)
    logs = os.path.join(OUT, "logs")
    co = os.path.join(logs, "__consumer_offsets-0")
    os.makedirs(co)
    m = Model()
    batches = []
    off = 0

    def add(records, ts, **kw):
        nonlocal off
        batches.append(batch(off, ts, records, **kw))
        off += len(records)

    # g1: a classic consumer group, one member, then empty.
    add([(group_key("g1"), group_value("consumer", 1, "range", "m1", T0, [("m1", "c1", "/10.0.0.1")]))], T0)
    g1 = m.g("g1")
    g1.update(state="Stable", protocol="range", generation=1, members=["m1"])
    for topic, p, o, dt in [("orders", 0, 5, 1), ("orders", 1, 7, 2), ("orders", 0, 9, 3)]:
        add([(commit_key("g1", topic, p), commit_value(o, T0 + dt))], T0 + dt)
        m.commit("g1", topic, p, {"offset": o, "commit_timestamp": T0 + dt})
    # g2: a commit, its tombstone, another commit (offsets only: no metadata).
    add([(commit_key("g2", "orders", 0), commit_value(3, T0 + 4))], T0 + 4)
    m.commit("g2", "orders", 0, {"offset": 3, "commit_timestamp": T0 + 4})
    add([(commit_key("g2", "orders", 0), None)], T0 + 5)
    m.commit("g2", "orders", 0, None)
    add([(commit_key("g2", "payments", 0), commit_value(11, T0 + 6, "meta"))], T0 + 6)
    m.commit("g2", "payments", 0, {"offset": 11, "commit_timestamp": T0 + 6})
    # g3: transactional commits: committed, aborted, still open.
    for pid, topic, p, o, end in [(1000, "orders", 0, 2, True), (1001, "orders", 1, 4, False),
                                  (1002, "payments", 0, 1, None)]:
        add([(commit_key("g3", topic, p), commit_value(o, T0 + 7))], T0 + 7, producer_id=pid, transactional=True)
        m.commit("g3", topic, p, {"offset": o, "commit_timestamp": T0 + 7}, pid=pid)
        if end is not None:
            add([marker(end)], T0 + 8, producer_id=pid, transactional=True, control=True)
            m.end(pid, end)
    # g1 empties; g5 is created and deleted.
    add([(group_key("g1"), group_value("consumer", 2, None, None, T0 + 9, []))], T0 + 9)
    g1.update(state="Empty", protocol=None, generation=2, members=[])
    add([(group_key("g5"), group_value("consumer", 1, "range", "m5", T0 + 10, [("m5", "c5", "/10.0.0.5")]))], T0 + 10)
    add([(group_key("g5"), None)], T0 + 11)
    m.g("g5").update(state="Dead", protocol="range", generation=1, members=[])

    with open(os.path.join(co, "%020d.log" % 0), "wb") as f:
        f.write(b"".join(batches))
    # orders-0: 20 plain records, offsets 0..19: log end offset 20.
    orders = os.path.join(logs, "orders-0")
    os.makedirs(orders)
    with open(os.path.join(orders, "%020d.log" % 0), "wb") as f:
        f.write(batch(0, T0, [(b"k%d" % i, b"v%d" % i) for i in range(20)]))
    leo = {"orders-0": 20}
    expected = {"pending_transactions": len(m.pending), "groups": {}}
    for gid, g in sorted(m.groups.items()):
        offs = {}
        for tp, v in sorted(g["offsets"].items()):
            e = leo.get(tp)
            offs[tp] = dict(v, log_end_offset=e, lag=None if e is None else e - v["offset"])
        expected["groups"][gid] = dict(g, offsets=offs)
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
