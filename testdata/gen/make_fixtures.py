#!/usr/bin/env python3
"""Generate kseg's Kafka log-segment test fixtures with an independent encoder.

Record bytes come from kafka-python's own builders
(kafka.record.default_records.DefaultRecordBatchBuilder for magic 2,
kafka.record.legacy_records.LegacyRecordBatchBuilder for magic 0/1).  The
script then sets the fields a broker sets (v2 base offset and
partitionLeaderEpoch, legacy entry offsets, compressed-wrapper offset and
timestamp, control/transactional bits, LogAppendTime bit + maxTimestamp) and
recomputes the CRCs (CRC-32C over [21, end) for v2, CRC-32 over
[magic, end) for v0/v1).

Every segment is read back with kafka-python's reader
(kafka.record.MemoryRecords) and compared field by field with the sidecar
before the run succeeds.  Partition directories (.log/.index/.timeindex) are
built following the broker's LogSegment indexing rule and checked again.

Deterministic: fixed timestamps, fixed seeds, gzip MTIME forced to 0.  Rerun:

    pip install -r testdata/gen/requirements.txt
    python3 testdata/gen/make_fixtures.py

Output goes to testdata/segments/ and testdata/partitions/ (next to this
script's parent directory); both are wiped and rewritten.
"""

import base64
import binascii
import hashlib
import importlib.metadata as md
import json
import os
import random
import shutil
import struct
import sys

import kafka.codec as kcodec
import kafka.record.default_records as kdr
import kafka.record.legacy_records as klr
from kafka.record import MemoryRecords
from kafka.record.default_records import (ControlRecord, DefaultRecordBatch,
                                          DefaultRecordBatchBuilder)
from kafka.record.legacy_records import LegacyRecordBatch, LegacyRecordBatchBuilder
from kafka.record.util import calc_crc32c

HERE = os.path.dirname(os.path.abspath(__file__))
TESTDATA = os.path.dirname(HERE)
SEG_ROOT = os.path.join(TESTDATA, "segments")
PART_ROOT = os.path.join(TESTDATA, "partitions")

T0 = 1700000000000  # all CreateTime timestamps are T0 + something
CODEC_ID = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
CODEC_NAME = {v: k for k, v in CODEC_ID.items()}
BIG = 4096  # key/value/header values longer than this are summarised (len+sha256+prefix)


# ---------------------------------------------------------------------------
# determinism: kafka-python's gzip_encode uses gzip.GzipFile, which stamps the
# current time into the member header (bytes 4..8, not covered by any CRC).
# Wrap it so that MTIME is always 0 (what Java's GZIPOutputStream writes).
# ---------------------------------------------------------------------------
_orig_gzip_encode = kcodec.gzip_encode


def _gzip_encode_fixed_mtime(payload, compresslevel=None):
    out = bytearray(_orig_gzip_encode(payload, compresslevel))
    assert out[:3] == b"\x1f\x8b\x08"
    out[4:8] = b"\x00\x00\x00\x00"
    return bytes(out)


kcodec.gzip_encode = _gzip_encode_fixed_mtime
kdr.gzip_encode = _gzip_encode_fixed_mtime
klr.gzip_encode = _gzip_encode_fixed_mtime


def gzip_member(data):
    """One gzip member with MTIME 0, made with the same codec function."""
    return _gzip_encode_fixed_mtime(data)


def crc32(data):
    return binascii.crc32(data) & 0xFFFFFFFF


def generator_block():
    libs = {}
    for dist, key in (("python-snappy", "snappy"), ("cramjam", "cramjam"), ("lz4", "lz4"),
                      ("zstandard", "zstandard"), ("xxhash", "xxhash")):
        libs[key] = md.version(dist)
    kp = md.version("kafka-python")
    return {"tool": "kafka-python %s record builders" % kp, "kafka_python": kp, "codec_libs": libs}


# ---------------------------------------------------------------------------
# JSON helpers (same conventions as the shared kafka-python corpus)
# ---------------------------------------------------------------------------
def bytes_json(b):
    if b is None:
        return None
    b = bytes(b)
    if len(b) > BIG:
        return {"len": len(b), "sha256": hashlib.sha256(b).hexdigest(), "hex_prefix": b[:64].hex()}
    d = {"len": len(b), "hex": b.hex()}
    try:
        d["utf8"] = b.decode("utf-8")
    except UnicodeDecodeError:
        pass
    return d


def headers_json(headers):
    return [{"key": k, "value": bytes_json(v)} for k, v in headers]


def write_json(path, obj):
    with open(path, "w", encoding="ascii") as f:
        f.write(json.dumps(obj, indent=1))
        f.write("\n")


def _compact(obj, ind):
    """JSON with one line per flat object (used for the long partition listings)."""
    pad = " " * ind
    if isinstance(obj, dict) and any(isinstance(v, (dict, list)) and v for v in obj.values()):
        items = ["%s %s: %s" % (pad, json.dumps(k), _compact(v, ind + 1)) for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list) and obj and any(isinstance(v, (dict, list)) for v in obj):
        items = ["%s %s" % (pad, _compact(v, ind + 1)) for v in obj]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(obj)


def write_json_compact(path, obj):
    text = _compact(obj, 0)
    assert json.loads(text) == obj
    with open(path, "w", encoding="ascii") as f:
        f.write(text)
        f.write("\n")


def lorem(i, n):
    """Compressible text value."""
    base = "value-%d " % i
    filler = "lorem ipsum dolor sit amet consectetur "
    s = base + filler * (n // len(filler) + 1)
    return s[:n].encode()


# ---------------------------------------------------------------------------
# v2 batches
# ---------------------------------------------------------------------------
HDR = struct.Struct(">qiibIhiqqqhii")  # 61-byte v2 header


class Rec:
    """One record as we intend it: offset delta, CreateTime timestamp, key, value, headers."""

    def __init__(self, delta, ts, key, value, headers=(), control=None):
        self.delta = delta
        self.ts = ts
        self.key = key
        self.value = value
        self.headers = list(headers)
        self.control = control  # decoded control description for the sidecar


def v2_fix_crc(buf):
    struct.pack_into(">I", buf, 17, calc_crc32c(bytes(buf[21:])))


def build_v2(records, *, base_offset, codec="none", leader_epoch=0, producer_id=-1,
             producer_epoch=-1, base_sequence=-1, transactional=False, control=False,
             log_append_time=None, last_offset_delta=None, empty_max_ts=None):
    """Build one v2 batch with kafka-python and apply the broker-side fields.

    Returns (bytes, batch_sidecar_without_position)."""
    b = DefaultRecordBatchBuilder(magic=2, compression_type=CODEC_ID[codec],
                                  is_transactional=transactional, producer_id=producer_id,
                                  producer_epoch=producer_epoch, base_sequence=base_sequence,
                                  batch_size=1 << 30)
    for r in records:
        md_ = b.append(r.delta, r.ts, r.key, r.value, r.headers)
        assert md_ is not None
    buf = bytearray(b.build())
    (_, blen, _, magic, _, attrs, lod, first_ts, max_ts, pid, pep, bseq, cnt) = HDR.unpack_from(buf)
    assert magic == 2 and blen == len(buf) - 12 and cnt == len(records)
    # kafka-python silently stores uncompressed data when compression does not help
    assert attrs & 7 == CODEC_ID[codec], "kafka-python did not apply codec %s" % codec
    # broker-side fields
    struct.pack_into(">q", buf, 0, base_offset)
    struct.pack_into(">i", buf, 12, leader_epoch)
    if control:
        attrs |= 0x20
    if log_append_time is not None:
        attrs |= 0x08
        max_ts = log_append_time
    if last_offset_delta is not None:
        assert last_offset_delta >= lod
        lod = last_offset_delta
    if not records:  # empty batch as the log cleaner leaves it (writeEmptyHeader)
        first_ts = -1
        max_ts = empty_max_ts
    struct.pack_into(">hiqq", buf, 21, attrs, lod, first_ts, max_ts)
    v2_fix_crc(buf)
    return bytes(buf), v2_sidecar(bytes(buf), records, codec)


def rebuild_v2_records_section(buf, codec_id, new_section):
    """Replace the records section of an (uncompressed) v2 batch with custom compressed bytes."""
    buf = bytearray(buf[:61]) + bytearray(new_section)
    struct.pack_into(">i", buf, 8, len(buf) - 12)
    attrs = struct.unpack_from(">h", buf, 21)[0]
    attrs = (attrs & ~7) | codec_id
    struct.pack_into(">h", buf, 21, attrs)
    v2_fix_crc(buf)
    return bytes(buf)


def v2_sidecar(buf, records, codec_requested):
    (base, blen, ple, magic, crc, attrs, lod, first_ts, max_ts, pid, pep, bseq, cnt) = HDR.unpack_from(buf)
    assert crc == calc_crc32c(buf[21:])
    lat = bool(attrs & 0x08)
    recs = []
    for r in records:
        assert records[0].ts == first_ts  # the builder takes the first record's time as baseTimestamp
        d = {"offset": base + r.delta, "timestamp": max_ts if lat else r.ts,
             "key": bytes_json(r.key), "value": bytes_json(r.value),
             "headers": headers_json(r.headers)}
        if r.control is not None:
            d["control"] = r.control
        if lat:
            d["create_timestamp_as_encoded"] = r.ts
        recs.append(d)
    return {
        "magic": 2, "base_offset": base, "last_offset": base + lod, "last_offset_delta": lod,
        "compression_requested": codec_requested, "compression": CODEC_NAME[attrs & 7],
        "attributes": attrs, "timestamp_type": "LogAppendTime" if lat else "CreateTime",
        "transactional": bool(attrs & 0x10), "control": bool(attrs & 0x20),
        "partition_leader_epoch": ple, "producer_id": pid, "producer_epoch": pep,
        "base_sequence": bseq, "first_timestamp": first_ts, "max_timestamp": max_ts,
        "crc32c": crc, "record_count": cnt, "records": recs,
    }


def simple_records(n, ts0, *, step=7, key_fmt="key-%d", vlen=60, start_delta=0, ts_list=None):
    out = []
    for j in range(n):
        ts = ts_list[j] if ts_list is not None else ts0 + j * step
        out.append(Rec(start_delta + j, ts, (key_fmt % j).encode(), lorem(j, vlen)))
    return out


# ---------------------------------------------------------------------------
# legacy (v0/v1) batches
# ---------------------------------------------------------------------------
def legacy_fix_crc(buf, pos):
    size = struct.unpack_from(">i", buf, pos + 8)[0]
    struct.pack_into(">I", buf, pos + 12, crc32(bytes(buf[pos + 16:pos + 12 + size])))


def build_legacy(magic, items, *, first_offset, codec="none", log_append_time=None):
    """items: list of (ts, key, value).  Returns (bytes, sidecar_batch_without_position).

    Uncompressed: one log entry per message, absolute offsets.
    Compressed: one wrapper; v0 inner offsets absolute, v1 inner offsets relative 0..n-1;
    wrapper offset = last absolute offset; v1 wrapper timestamp = max inner timestamp
    (CreateTime) or the log-append time (LogAppendTime bit set on the wrapper only)."""
    n = len(items)
    offsets = list(range(first_offset, first_offset + n))
    b = LegacyRecordBatchBuilder(magic=magic, compression_type=CODEC_ID[codec], batch_size=1 << 30)
    for j, (ts, k, v) in enumerate(items):
        if codec == "none" or magic == 0:
            off = offsets[j]  # absolute (v0 wrappers: the broker rewrote inner offsets)
        else:
            off = j  # v1 wrapper: relative inner offsets
        assert b.append(off, ts, k, v) is not None
    raw_len = b.size()
    buf = bytearray(b.build())
    recs = []
    if codec == "none":
        pos = 0
        j = 0
        while pos < len(buf):
            size = struct.unpack_from(">i", buf, pos + 8)[0]
            assert struct.unpack_from(">q", buf, pos)[0] == offsets[j]
            if magic == 1 and log_append_time is not None:
                buf[pos + 17] |= 0x08
                struct.pack_into(">q", buf, pos + 18, log_append_time)
                legacy_fix_crc(buf, pos)
            pos += 12 + size
            j += 1
        assert j == n
        wrapper = None
        log_entries = n
    else:
        wsize = struct.unpack_from(">i", buf, 8)[0]
        assert len(buf) == 12 + wsize and buf[17] & 7 == CODEC_ID[codec]
        assert len(buf) < raw_len, "compressed wrapper is not smaller than its content"
        struct.pack_into(">q", buf, 0, offsets[-1])
        if magic == 1:
            if log_append_time is not None:
                buf[17] |= 0x08
                wts = log_append_time
            else:
                wts = max(ts for ts, _, _ in items)
            struct.pack_into(">q", buf, 18, wts)
        legacy_fix_crc(buf, 0)
        wcrc = struct.unpack_from(">I", buf, 12)[0]
        wrapper = {"offset": offsets[-1]}
        if magic == 1:
            wrapper["timestamp"] = wts
        wrapper["attributes"] = buf[17]
        if magic == 1:
            wrapper["timestamp_type"] = "LogAppendTime" if buf[17] & 8 else "CreateTime"
        wrapper["crc32"] = wcrc
        log_entries = 1
    for j, (ts, k, v) in enumerate(items):
        if magic == 0:
            rts = -1
        elif log_append_time is not None:
            rts = log_append_time
        else:
            rts = ts
        recs.append({"offset": offsets[j], "timestamp": rts, "key": bytes_json(k),
                     "value": bytes_json(v), "headers": []})
    if magic == 0:
        tst = None
    else:
        tst = "LogAppendTime" if log_append_time is not None else "CreateTime"
    side = {"magic": magic, "base_offset": offsets[0], "last_offset": offsets[-1],
            "compression_requested": codec, "compression": codec, "timestamp_type": tst,
            "log_entries": log_entries, "wrapper": wrapper, "record_count": n, "records": recs}
    return bytes(buf), side


def legacy_items(n, ts0, *, key_fmt="k%d", vlen=60, step=7):
    return [(ts0 + j * step, (key_fmt % j).encode(), lorem(j, vlen)) for j in range(n)]


# ---------------------------------------------------------------------------
# control record values
# ---------------------------------------------------------------------------
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


def read_uvarint(buf, pos):
    shift = 0
    val = 0
    while True:
        b = buf[pos]
        pos += 1
        val |= (b & 0x7F) << shift
        if not b & 0x80:
            return val, pos
        shift += 7


TAGS_NONE = uvarint(0)


def compact_string(s):
    b = s.encode("utf-8")
    return uvarint(len(b) + 1) + b


def compact_array(elems):
    return uvarint(len(elems) + 1) + b"".join(elems)


def control_key(ctype, version=0):
    return struct.pack(">hh", version, ctype)


def end_txn_value(coordinator_epoch, version=0):
    return struct.pack(">hi", version, coordinator_epoch)


def kafka_uuid_str(raw16):
    """Kafka's Uuid.toString(): URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(raw16).decode().rstrip("=")


def enc_leader_change(leader_id, voters, granting):
    return (struct.pack(">hi", 0, leader_id)
            + compact_array([struct.pack(">i", v) + TAGS_NONE for v in voters])
            + compact_array([struct.pack(">i", v) + TAGS_NONE for v in granting])
            + TAGS_NONE)


def enc_snapshot_header(last_ts):
    return struct.pack(">hq", 0, last_ts) + TAGS_NONE


def enc_snapshot_footer():
    return struct.pack(">h", 0) + TAGS_NONE


def enc_kraft_version(v):
    return struct.pack(">hh", 0, v) + TAGS_NONE


def enc_voters(voters):
    elems = []
    for v in voters:
        eps = [compact_string(e["name"]) + compact_string(e["host"]) + struct.pack(">H", e["port"]) + TAGS_NONE
               for e in v["endpoints"]]
        elems.append(struct.pack(">i", v["voter_id"]) + v["uuid"] + compact_array(eps)
                     + struct.pack(">hh", v["min"], v["max"]) + TAGS_NONE + TAGS_NONE)
    return struct.pack(">h", 0) + compact_array(elems) + TAGS_NONE


class Cur:
    def __init__(self, b):
        self.b = b
        self.p = 0

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.b, self.p)
        self.p += struct.calcsize(fmt)
        return v[0] if len(v) == 1 else v

    def uv(self):
        v, self.p = read_uvarint(self.b, self.p)
        return v

    def tags(self):
        n = self.uv()
        assert n == 0
        return n

    def cstr(self):
        n = self.uv() - 1
        s = self.b[self.p:self.p + n].decode()
        self.p += n
        return s

    def carray(self, fn):
        n = self.uv() - 1
        return [fn() for _ in range(n)]

    def done(self):
        assert self.p == len(self.b), "trailing bytes in control value"


def decode_control(key, value):
    """Independent re-decode of a control record (used to build/verify sidecars)."""
    kv, ctype = struct.unpack(">hh", key[:4])
    names = {0: "ABORT", 1: "COMMIT", 2: "LEADER_CHANGE", 3: "SNAPSHOT_HEADER", 4: "SNAPSHOT_FOOTER",
             5: "KRAFT_VERSION", 6: "KRAFT_VOTERS"}
    c = Cur(value)
    if ctype in (0, 1):
        ver, ce = struct.unpack(">hi", value[:6])
        return {"version": ver, "type": names[ctype], "coordinator_epoch": ce}
    if ctype == 2:
        ver = c.take(">h")
        leader = c.take(">i")

        def voter():
            vid = c.take(">i")
            c.tags()
            return {"voter_id": vid}
        voters = c.carray(voter)
        granting = c.carray(voter)
        c.tags()
        c.done()
        return {"version": ver, "type": "LEADER_CHANGE", "leader_id": leader, "voters": voters,
                "granting_voters": granting}
    if ctype == 3:
        ver = c.take(">h")
        ts = c.take(">q")
        c.tags()
        c.done()
        return {"version": ver, "type": "SNAPSHOT_HEADER", "last_contained_log_timestamp": ts}
    if ctype == 4:
        ver = c.take(">h")
        c.tags()
        c.done()
        return {"version": ver, "type": "SNAPSHOT_FOOTER"}
    if ctype == 5:
        ver = c.take(">h")
        kv2 = c.take(">h")
        c.tags()
        c.done()
        return {"version": ver, "type": "KRAFT_VERSION", "kraft_version": kv2}
    if ctype == 6:
        ver = c.take(">h")

        def endpoint():
            name = c.cstr()
            host = c.cstr()
            port = c.take(">H")
            c.tags()
            return {"name": name, "host": host, "port": port}

        def voter():
            vid = c.take(">i")
            raw = c.b[c.p:c.p + 16]
            c.p += 16
            eps = c.carray(endpoint)
            mn, mx = c.take(">hh")
            c.tags()  # KRaftVersionFeature
            c.tags()  # Voter
            return {"voter_id": vid, "voter_directory_id": kafka_uuid_str(raw),
                    "voter_directory_id_hex": raw.hex(), "endpoints": eps,
                    "kraft_version_feature": {"min_supported_version": mn, "max_supported_version": mx}}
        voters = c.carray(voter)
        c.tags()
        c.done()
        return {"version": ver, "type": "KRAFT_VOTERS", "voters": voters}
    return {"version": kv, "type": "UNKNOWN", "type_id": ctype}


def control_rec(delta, ts, ctype, value):
    key = control_key(ctype)
    return Rec(delta, ts, key, value, control=decode_control(key, value))


# ---------------------------------------------------------------------------
# segment assembly + verification with kafka-python's reader
# ---------------------------------------------------------------------------
def write_segment(name, base_offset, parts, description):
    """parts: list of (bytes, sidecar_batch).  Writes .log + .expected.json and verifies."""
    d = os.path.join(SEG_ROOT, name)
    os.makedirs(d, exist_ok=True)
    fname = "%020d.log" % base_offset
    data = bytearray()
    batches = []
    for raw, side in parts:
        side = dict(side)
        side["position"] = len(data)
        side["size"] = len(raw)
        data += raw
        batches.append(side)
    data = bytes(data)
    next_offset = max(b["last_offset"] for b in batches) + 1
    sidecar = {
        "generator": generator_block(),
        "segment": name,
        "file": fname,
        "size": len(data),
        "base_offset": base_offset,
        "next_offset": next_offset,
        "batch_count": len(batches),
        "record_count": sum(b["record_count"] for b in batches),
        "description": description,
        "batches": batches,
    }
    with open(os.path.join(d, fname), "wb") as f:
        f.write(data)
    write_json(os.path.join(d, "%020d.expected.json" % base_offset), sidecar)
    verify_with_kafka_python(data, sidecar)
    return sidecar


def kp_batches(data):
    """(position, batch) pairs as kafka-python's MemoryRecords yields them."""
    mr = MemoryRecords(data)
    pos = 0
    out = []
    while mr.has_next():
        b = mr.next_batch()
        out.append((pos, b))
        pos += b.size_in_bytes
    assert pos == len(data), "kafka-python stopped at %d of %d" % (pos, len(data))
    return out


def check_record(kr, exp, ctx):
    assert kr.offset == exp["offset"], (ctx, kr.offset, exp["offset"])
    kts = -1 if kr.timestamp is None else kr.timestamp  # kafka-python says None for v0; Kafka says -1
    assert kts == exp["timestamp"], (ctx, kr.offset, kr.timestamp, exp["timestamp"])
    assert bytes_json(kr.key) == exp["key"], (ctx, kr.offset)
    assert bytes_json(kr.value) == exp["value"], (ctx, kr.offset)
    assert headers_json(kr.headers) == exp["headers"], (ctx, kr.offset)
    if "control" in exp:
        assert isinstance(kr, ControlRecord)
        assert kr.type == struct.unpack(">h", bytes(kr.key)[2:4])[0]
        assert decode_control(kr.key, kr.value) == exp["control"]


def verify_with_kafka_python(data, sidecar):
    kbs = kp_batches(data)
    i = 0
    nrec = 0
    for sb in sidecar["batches"]:
        ctx = "%s@%d" % (sidecar["segment"], sb["position"])
        if sb["magic"] == 2:
            pos, kb = kbs[i]
            i += 1
            assert isinstance(kb, DefaultRecordBatch)
            assert pos == sb["position"] and kb.size_in_bytes == sb["size"], ctx
            assert kb.validate_crc(), ctx
            assert kb.crc == sb["crc32c"]
            assert kb.base_offset == sb["base_offset"] and kb.last_offset == sb["last_offset"], ctx
            assert kb.last_offset_delta == sb["last_offset_delta"]
            assert kb.attributes == sb["attributes"] and kb.compression_type == CODEC_ID[sb["compression"]]
            assert kb.timestamp_type == (1 if sb["timestamp_type"] == "LogAppendTime" else 0)
            assert kb.is_transactional == sb["transactional"] and kb.is_control_batch == sb["control"]
            assert kb.leader_epoch == sb["partition_leader_epoch"]
            assert (kb.producer_id, kb.producer_epoch, kb.base_sequence) == (
                sb["producer_id"], sb["producer_epoch"], sb["base_sequence"])
            assert (kb.first_timestamp, kb.max_timestamp) == (sb["first_timestamp"], sb["max_timestamp"]), ctx
            assert kb.records_count == sb["record_count"]
            recs = list(kb)
            assert len(recs) == len(sb["records"]), ctx
            for kr, er in zip(recs, sb["records"]):
                check_record(kr, er, ctx)
            if sb["timestamp_type"] == "CreateTime" and recs:
                assert max(r.timestamp for r in recs) == sb["max_timestamp"], ctx
        else:
            n = sb["log_entries"]
            group = kbs[i:i + n]
            i += n
            assert len(group) == n
            assert group[0][0] == sb["position"], ctx
            assert sum(b.size_in_bytes for _, b in group) == sb["size"], ctx
            recs = []
            for pos, kb in group:
                assert isinstance(kb, LegacyRecordBatch) and kb.magic == sb["magic"], ctx
                assert kb.validate_crc(), ctx
                assert kb.compression_type == CODEC_ID[sb["compression"]], ctx
                exp_tt = {None: None, "CreateTime": 0, "LogAppendTime": 1}[sb["timestamp_type"]]
                assert kb.timestamp_type == exp_tt, ctx
                for r in kb:
                    assert r.validate_crc(), ctx
                    recs.append(r)
            if sb["wrapper"] is not None:
                kb = group[0][1]
                w = sb["wrapper"]
                assert kb.base_offset == w["offset"] == sb["last_offset"]
                hdr = bytes(data[sb["position"]:sb["position"] + 26])
                assert struct.unpack_from(">I", hdr, 12)[0] == w["crc32"]
                assert hdr[17] == w["attributes"]
                if sb["magic"] == 1:
                    assert struct.unpack_from(">q", hdr, 18)[0] == w["timestamp"]
            assert len(recs) == len(sb["records"]), ctx
            for kr, er in zip(recs, sb["records"]):
                check_record(kr, er, ctx)
        nrec += len(sb["records"])
    assert i == len(kbs)
    assert nrec == sidecar["record_count"]


# ---------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------
def fx_codec_matrix():
    for magic in (0, 1):
        for codec in ("none", "gzip", "snappy", "lz4"):
            parts = []
            off = 0
            for bi in range(3):
                n = (4, 3, 5)[bi]
                items = legacy_items(n, T0 + bi * 1000, key_fmt="k%%d-%d" % bi, vlen=70 + 10 * bi)
                parts.append(build_legacy(magic, items, first_offset=off, codec=codec))
                off += n
            desc = "magic %d, %s, 3 batches of 4/3/5 records" % (magic, codec)
            if codec != "none":
                desc += "; each batch is one compressed wrapper (offset = last inner offset"
                desc += ", inner offsets absolute)" if magic == 0 else \
                    ", inner offsets relative 0..n-1, wrapper timestamp = max inner timestamp)"
            else:
                desc += "; each 'batch' here is a group of n uncompressed log entries (log_entries)"
            if magic == 0 and codec == "lz4":
                desc += ("; kafka-python writes the pre-KIP-57 BROKEN LZ4 frame header checksum for magic 0 "
                         "(HC over magic+descriptor, no content size), as Kafka does: a reader must skip HC "
                         "validation for magic 0")
            if magic == 0 and codec == "snappy":
                desc += "; snappy uses xerial framing"
            write_segment("v%d_%s" % (magic, codec), 0, parts, desc)
    for codec in ("none", "gzip", "snappy", "lz4", "zstd"):
        parts = []
        off = 0
        for bi in range(3):
            n = (4, 3, 5)[bi]
            recs = simple_records(n, T0 + bi * 1000, key_fmt="key-%%d-%d" % bi, vlen=70 + 10 * bi)
            if bi == 1:
                recs[1].headers = [("h1", b"v1"), ("trace", b"abc")]
            parts.append(build_v2(recs, base_offset=off, codec=codec, leader_epoch=(0, 0, 1)[bi]))
            off += n
        desc = "magic 2, %s, 3 batches of 4/3/5 records (leader epochs 0,0,1; batch 2 record 1 has 2 headers)" % codec
        if codec == "snappy":
            desc += "; snappy uses xerial framing"
        if codec == "lz4":
            desc += "; standard LZ4 frame (FLG 0x68, content size present, correct HC)"
        write_segment("v2_%s" % codec, 0, parts, desc)


def fx_transactions():
    parts = []
    ts = T0 + 10000
    # pid 5000 txn (committed): batches at 0-2 and 5-6
    parts.append(build_v2(simple_records(3, ts, key_fmt="txA-%d"), base_offset=0, producer_id=5000,
                          producer_epoch=2, base_sequence=0, transactional=True))
    # pid 5001 txn (aborted), lz4
    parts.append(build_v2(simple_records(2, ts + 20, key_fmt="txB-%d", vlen=120), base_offset=3, codec="lz4",
                          producer_id=5001, producer_epoch=0, base_sequence=0, transactional=True))
    parts.append(build_v2(simple_records(2, ts + 40, key_fmt="txA-%d", vlen=40, start_delta=0), base_offset=5,
                          producer_id=5000, producer_epoch=2, base_sequence=3, transactional=True))
    # pid 5002 idempotent, not transactional, gzip
    parts.append(build_v2(simple_records(3, ts + 60, key_fmt="idem-%d", vlen=120), base_offset=7, codec="gzip",
                          producer_id=5002, producer_epoch=1, base_sequence=42))
    # COMMIT for 5000, coordinator epoch 7
    parts.append(build_v2([control_rec(0, ts + 80, 1, end_txn_value(7))], base_offset=10, producer_id=5000,
                          producer_epoch=2, base_sequence=-1, transactional=True, control=True))
    # ABORT for 5001, coordinator epoch 7
    parts.append(build_v2([control_rec(0, ts + 90, 0, end_txn_value(7))], base_offset=11, producer_id=5001,
                          producer_epoch=0, base_sequence=-1, transactional=True, control=True))
    parts.append(build_v2(simple_records(2, ts + 100, key_fmt="idem2-%d", vlen=40), base_offset=12,
                          producer_id=5002, producer_epoch=1, base_sequence=45))
    write_segment("v2_transactions", 0, parts,
                  "pid 5000 epoch 2 txn COMMITTED: offsets 0-2 and 5-6 (baseSequence 0 and 3), COMMIT marker at 10; "
                  "pid 5001 epoch 0 txn ABORTED: offsets 3-4 (lz4), ABORT marker at 11; "
                  "pid 5002 epoch 1 idempotent non-transactional: 7-9 (gzip, baseSequence 42) and 12-13 "
                  "(baseSequence 45). Markers: control+transactional (attributes 48), baseSequence -1, "
                  "key 0000000{0,1}, value 0000 00000007 (version 0, coordinatorEpoch 7). "
                  "A read_committed reader drops offsets 3-4 and the two control records.")


def fx_headers():
    ts = T0 + 20000
    rnd7 = random.Random(7)
    bin200 = bytes(rnd7.randrange(256) for _ in range(200))
    recs = [
        Rec(0, ts, b"hdrs", b"repeated keys", [("a", b"1"), ("a", b"2"), ("b", b"3")]),
        Rec(1, ts + 1, b"hnull", b"null header value", [("null-value", None)]),
        Rec(2, ts + 2, b"hempty", b"empty header value", [("empty", b"")]),
        Rec(3, ts + 3, b"hbin", b"binary header value", [("bin", b"\x00\x01\xfe\xff\x80")]),
        Rec(4, ts + 4, None, b"null key", []),
        Rec(5, ts + 5, b"null value", None, [("tombstone", b"yes")]),
        Rec(6, ts + 6, b"", b"", []),
        Rec(7, ts + 7, "ключ-鍵".encode(), "значение-値-🔑".encode(), [("ünï-kéy", "välue".encode())]),
        Rec(8, ts + 8, None, None, []),
        Rec(9, ts + 9, b"bigbin", bin200, [("", b"empty header key")]),
        Rec(10, ts - 3000, b"ts-back", b"timestamp 3000 ms lower than the batch's first", []),
    ]
    p1 = build_v2(recs, base_offset=0)
    recs2 = [Rec(0, ts + 100, b"z0", lorem(0, 300), [("a", b"1"), ("a", b"2"), ("n", None), ("e", b"")]),
             Rec(1, ts + 50, None, lorem(1, 300), [("bin", b"\x00\xff")]),
             Rec(2, ts + 120, b"z2", None, [])]
    p2 = build_v2(recs2, base_offset=11, codec="zstd")
    write_segment("v2_headers", 0, [p1, p2],
                  "batch 1 (none, offsets 0-10): repeated header key a=1,a=2; null header value; empty header "
                  "value; binary header value; null key; null value (with a header); empty key and value; unicode "
                  "key/value/header key; null key AND null value; 200-byte binary value (2-byte varint length) "
                  "with an empty header key; last record's timestamp is 3000 ms LOWER than the batch's first "
                  "(negative timestampDelta). batch 2 (zstd, offsets 11-13): headers inside a compressed batch, "
                  "second record's timestamp lower than the first, null value")


def fx_log_append_time():
    parts = []
    lat2 = T0 + 999999
    lat1 = T0 + 888888
    parts.append(build_v2(simple_records(3, T0, vlen=50), base_offset=0, log_append_time=lat2))
    parts.append(build_v2(simple_records(3, T0 + 10, vlen=120), base_offset=3, codec="lz4",
                          log_append_time=lat2 + 1))
    parts.append(build_legacy(1, legacy_items(2, T0 + 20, vlen=50), first_offset=6, log_append_time=lat1))
    parts.append(build_legacy(1, legacy_items(3, T0 + 30, vlen=120), first_offset=8, codec="gzip",
                              log_append_time=lat1 + 1))
    write_segment("log_append_time", 0, parts,
                  "v2 none (LogAppendTime=%d) and v2 lz4 (LogAppendTime=%d): attribute bit 3, maxTimestamp = "
                  "log-append time, record deltas keep the producer CreateTime (create_timestamp_as_encoded); "
                  "v1 none with LogAppendTime=%d (broker rewrote each message's timestamp and attribute bit 3) "
                  "and v1 gzip wrapper with LogAppendTime=%d (only the wrapper carries the bit and the time; "
                  "inner messages keep CreateTime and their own timestamps). Every record must READ as the "
                  "log-append time" % (lat2, lat2 + 1, lat1, lat1 + 1))


def fx_offset_gaps():
    parts = []
    ts = T0 + 30000
    parts.append(build_v2(simple_records(3, ts), base_offset=500))
    # gap 503..509; compacted batch with in-batch gaps: deltas 0,3,4,9
    recs = [Rec(d, ts + 100 + i, k, v) for i, (d, k, v) in
            enumerate([(0, b"a", b"1"), (3, b"b", b"2"), (4, b"c", b"3"), (9, b"d", b"4")])]
    parts.append(build_v2(recs, base_offset=510, last_offset_delta=9))
    # empty batch left by the cleaner to keep producer state: 520..524, 0 records
    parts.append(build_v2([], base_offset=520, last_offset_delta=4, producer_id=7000, producer_epoch=3,
                          base_sequence=10, empty_max_ts=ts + 200))
    # compacted batch whose first record is gone: base 525, records at deltas 2 and 5, lastOffsetDelta 7
    recs = [Rec(2, ts + 302, b"e", lorem(2, 120)), Rec(5, ts + 305, b"f", lorem(5, 120))]
    parts.append(build_v2(recs, base_offset=525, last_offset_delta=7, codec="gzip"))
    # gap 533..539
    parts.append(build_v2(simple_records(3, ts + 400, vlen=100), base_offset=540, codec="lz4"))
    write_segment("v2_offset_gaps", 500, parts,
                  "base offset 500. 500-502; gap 503-509; batch 510 with in-batch gaps (offset deltas 0,3,4,9 -> "
                  "510,513,514,519, lastOffsetDelta 9); EMPTY batch 520-524 (recordsCount 0, lastOffsetDelta 4, "
                  "baseTimestamp -1, maxTimestamp kept, pid 7000 epoch 3 baseSequence 10, as the cleaner leaves it); "
                  "gzip batch 525-532 whose first record is gone (deltas 2,5 -> 527,530; lastOffsetDelta 7); "
                  "gap 533-539; lz4 batch 540-542")


def fx_control_kraft():
    parts = []
    ts = T0 + 40000
    parts.append(build_v2([control_rec(0, ts, 2, enc_leader_change(2, [1, 2, 3], [2, 3]))],
                          base_offset=0, leader_epoch=5, control=True))
    uuids = [bytes(range(16)), bytes(range(0xA0, 0xB0))]
    voters = [
        {"voter_id": 1, "uuid": uuids[0], "endpoints": [{"name": "CONTROLLER", "host": "c1.example", "port": 9093}],
         "min": 0, "max": 1},
        {"voter_id": 2, "uuid": uuids[1], "endpoints": [{"name": "CONTROLLER", "host": "c2.example", "port": 9093},
                                                       {"name": "CTRL_TLS", "host": "c2.example", "port": 65535}],
         "min": 0, "max": 1},
    ]
    parts.append(build_v2([control_rec(0, ts + 10, 3, enc_snapshot_header(ts - 5)),
                           control_rec(1, ts + 10, 5, enc_kraft_version(1)),
                           control_rec(2, ts + 10, 6, enc_voters(voters))],
                          base_offset=1, leader_epoch=5, control=True))
    parts.append(build_v2(simple_records(2, ts + 20, key_fmt="meta-%d", vlen=30), base_offset=4, leader_epoch=5))
    parts.append(build_v2([control_rec(0, ts + 30, 4, enc_snapshot_footer())],
                          base_offset=6, leader_epoch=5, control=True))
    parts.append(build_v2([control_rec(0, ts + 40, 99, b"\x00\x00\xde\xad\xbe\xef")],
                          base_offset=7, leader_epoch=6, control=True))
    write_segment("v2_control_kraft", 0, parts,
                  "KRaft control batches (control bit only, attributes 32, producerId -1): offset 0 LEADER_CHANGE "
                  "(leader 2, voters 1,2,3, granting 2,3); offsets 1-3 one batch with SNAPSHOT_HEADER "
                  "(lastContainedLogTimestamp), KRAFT_VERSION (kraftVersion 1) and KRAFT_VOTERS (2 voters with "
                  "directory ids, 1 and 2 endpoints, port 65535 tests uint16); offsets 4-5 plain data; offset 6 "
                  "SNAPSHOT_FOOTER; offset 7 unknown control type 99 (value 0000deadbeef). Values are flexible "
                  "version-0 messages: compact arrays/strings, a 00 tagged-fields byte closing every struct. "
                  "voter_directory_id is Kafka's Uuid.toString() (URL-safe base64, no padding)")


def fx_codec_variants():
    parts = []
    ts = T0 + 50000

    def plain(base, n, vlen, ts0):
        raw, _ = build_v2(simple_records(n, ts0, key_fmt="cv-%d", vlen=vlen), base_offset=base)
        return raw, simple_records(n, ts0, key_fmt="cv-%d", vlen=vlen)

    def variant(base, n, vlen, ts0, codec, section_fn, what):
        raw, recs = plain(base, n, vlen, ts0)
        section = raw[61:]
        comp = section_fn(section)
        out = rebuild_v2_records_section(raw, CODEC_ID[codec], comp)
        side = v2_sidecar(out, recs, codec)
        return (out, side), len(section), len(comp), what

    chunk_counts = []
    import snappy as _snappy
    import lz4.frame as _lz4f
    import zstandard as _zstd

    def raw_snappy(s):
        c = _snappy.compress(s)
        assert c[0] != 0x82
        return c

    def xerial_chunks(s):
        c = kcodec.snappy_encode(s, xerial_compatible=True, xerial_blocksize=256)
        assert c[:8] == b"\x82SNAPPY\x00"
        # count chunks
        p, k = 16, 0
        while p < len(c):
            p += 4 + struct.unpack_from(">i", c, p)[0]
            k += 1
        assert k >= 3, k
        chunk_counts.append(k)
        return c

    def record_starts(sec):
        starts, p = [], 0
        while p < len(sec):
            starts.append(p)
            ln, q = read_uvarint(sec, p)  # zigzag varint; lengths are positive so ln == 2 * length
            p = q + ln // 2
        assert p == len(sec)
        return starts

    def mid_record_cut(sec, rec_index):
        st = record_starts(sec)
        cut = st[rec_index] + 17  # 17 bytes into that record
        assert cut not in st
        return cut

    def gzip_two(s):
        cut = mid_record_cut(s, 1)  # the second record straddles the two members
        return gzip_member(s[:cut]) + gzip_member(s[cut:])

    def zstd_two(s):
        cut = mid_record_cut(s, 2)  # the third record straddles the two frames
        z = _zstd.ZstdCompressor()
        return z.compress(s[:cut]) + z.compress(s[cut:])

    def lz4_checksums(s):
        c = _lz4f.compress(s, block_linked=False, block_checksum=True, content_checksum=True,
                           store_size=False)
        assert c[4] == 0x74, hex(c[4])  # version 01, block indep, block checksum, content checksum
        return c

    variants = [
        variant(0, 4, 120, ts, "snappy", raw_snappy,
                "RAW snappy: the records section is one plain Snappy block (no xerial header); Kafka falls back "
                "to Snappy.uncompress when the 0x82 SNAPPY magic is absent"),
        variant(4, 5, 200, ts + 10, "snappy", xerial_chunks,
                "xerial snappy with several chunks (xerial block size 256 bytes -> %d chunks)"),
        variant(9, 4, 120, ts + 20, "gzip", gzip_two,
                "gzip with TWO concatenated members; the split is 17 bytes into record 2 (not a record boundary)"),
        variant(13, 4, 120, ts + 30, "zstd", zstd_two,
                "zstd with TWO concatenated frames; the split is 17 bytes into record 3"),
        variant(17, 4, 120, ts + 40, "lz4", lz4_checksums,
                "lz4 frame with block checksums and content checksum (FLG 0x74), no content size"),
    ]
    # lz4 frame whose only data block is stored uncompressed (block size high bit set): incompressible records
    rnd = random.Random(99)
    recs = [Rec(j, ts + 50 + j, b"rnd-%d" % j, bytes(rnd.randrange(256) for _ in range(100))) for j in range(3)]
    raw, _ = build_v2(recs, base_offset=21)
    comp = _lz4f.compress(raw[61:], block_linked=False)
    blk = struct.unpack_from("<I", comp, 4 + 3 + 8)[0]
    assert blk & 0x80000000, "expected a stored (uncompressed) lz4 block"
    out = rebuild_v2_records_section(raw, 3, comp)
    variants.append(((out, v2_sidecar(out, recs, "lz4")), len(raw) - 61, len(comp),
                     "lz4 frame whose data block is STORED uncompressed (block size bit 31 set): random values"))
    descs = []
    variants[1] = variants[1][:3] + (variants[1][3] % chunk_counts[0],)
    for (p, side), ulen, clen, what in variants:
        parts.append((p, side))
        descs.append("offsets %d-%d: %s [%d -> %d bytes]" % (side["base_offset"], side["last_offset"], what,
                                                              ulen, clen))
    write_segment("v2_codec_variants", 0, parts,
                  "records sections compressed by the generator (not by kafka-python's builder), header rebuilt "
                  "(codec bits, batchLength, CRC-32C). " + "; ".join(descs))


def fx_mixed():
    parts = []
    ts = T0 + 60000
    parts.append(build_legacy(0, legacy_items(2, ts, vlen=50), first_offset=0))
    parts.append(build_legacy(0, legacy_items(3, ts, vlen=100), first_offset=2, codec="snappy"))
    parts.append(build_legacy(1, legacy_items(2, ts + 10, vlen=50), first_offset=5))
    parts.append(build_legacy(1, legacy_items(3, ts + 20, vlen=100), first_offset=7, codec="gzip"))
    parts.append(build_legacy(1, legacy_items(2, ts + 25, vlen=100), first_offset=10, codec="lz4"))
    parts.append(build_v2(simple_records(3, ts + 30, vlen=100), base_offset=12, codec="zstd", leader_epoch=1))
    parts.append(build_v2(simple_records(2, ts + 40, vlen=40), base_offset=15, leader_epoch=1))
    write_segment("mixed_v0_v1_v2", 0, parts,
                  "one segment, increasing offsets: v0 none (0-1), v0 snappy wrapper (2-4, absolute inner offsets), "
                  "v1 none (5-6), v1 gzip wrapper (7-9, relative inner offsets 0..2), v1 lz4 wrapper (10-11), "
                  "v2 zstd (12-14, leader epoch 1), v2 none (15-16)")


# ---------------------------------------------------------------------------
# partition directories with .index / .timeindex
# ---------------------------------------------------------------------------
INDEX_INTERVAL = 256


class SegBatch:
    """One entry as FileLogInputStream sees it (a v2 batch or ONE legacy log entry)."""

    def __init__(self, raw, magic, base_offset, last_offset, max_ts, codec, ts_type, records):
        self.raw = raw
        self.magic = magic
        self.base_offset = base_offset
        self.last_offset = last_offset
        self.max_ts = max_ts
        self.codec = codec
        self.ts_type = ts_type
        self.records = records  # [(offset, timestamp as read)]


def segbatches_from(raw, side):
    """Split a (bytes, sidecar) part into FileLogInputStream-level entries."""
    out = []
    if side["magic"] == 2:
        out.append(SegBatch(raw, 2, side["base_offset"], side["last_offset"], side["max_timestamp"],
                            side["compression"], side["timestamp_type"],
                            [(r["offset"], r["timestamp"]) for r in side["records"]]))
    elif side["wrapper"] is not None:
        w = side["wrapper"]
        out.append(SegBatch(raw, side["magic"], side["base_offset"], side["last_offset"],
                            w.get("timestamp", -1), side["compression"], side["timestamp_type"],
                            [(r["offset"], r["timestamp"]) for r in side["records"]]))
    else:
        pos = 0
        for r in side["records"]:
            size = struct.unpack_from(">i", raw, pos + 8)[0]
            out.append(SegBatch(raw[pos:pos + 12 + size], side["magic"], r["offset"], r["offset"], r["timestamp"],
                                "none", side["timestamp_type"], [(r["offset"], r["timestamp"])]))
            pos += 12 + size
        assert pos == len(raw)
    return out


def build_indexes(base, batches, rolled):
    """Kafka's LogSegment rule, one batch per append: update max timestamp, then if
    bytesSinceLastIndexEntry > interval add (lastOffset, position) and maybeAppend(maxTs, offsetOfMaxTs)."""
    oi, ti = [], []
    since = 0
    pos = 0
    max_ts, max_off = -1, base  # TimeIndex.lastEntry() of an empty index: (NO_TIMESTAMP, baseOffset)

    def ti_append(ts_, off_):
        last_ts = ti[-1][0] if ti else -1
        if ti:
            assert off_ >= ti[-1][1] and ts_ >= last_ts
        if ts_ > last_ts:
            ti.append((ts_, off_))

    positions = []
    for b in batches:
        positions.append(pos)
        if b.max_ts > max_ts:
            max_ts, max_off = b.max_ts, b.last_offset
        if since > INDEX_INTERVAL:
            assert not oi or b.last_offset > oi[-1][0]
            oi.append((b.last_offset, pos))
            ti_append(max_ts, max_off)
            since = 0
        pos += len(b.raw)
        since += len(b.raw)
    if rolled:  # onBecomeInactiveSegment / close: force the final (maxTimestampSoFar, offset) entry
        ti_append(max_ts, max_off)
    return oi, ti, positions, max_ts


def write_partition(dirname, segments, description, *, prealloc=None, drop_index_of=None,
                    offset_queries=(), time_queries=()):
    """segments: list of (base_offset, [parts]); the last one is active when prealloc is given."""
    d = os.path.join(PART_ROOT, dirname)
    os.makedirs(d, exist_ok=True)
    seg_json = []
    all_records = []
    for si, (base, parts) in enumerate(segments):
        active = si == len(segments) - 1 and prealloc is not None
        batches = []
        for raw, side in parts:
            batches.extend(segbatches_from(raw, side))
        assert batches[0].base_offset >= base
        oi, ti, positions, max_ts = build_indexes(base, batches, rolled=not active)
        log = b"".join(b.raw for b in batches)
        name = "%020d" % base
        with open(os.path.join(d, name + ".log"), "wb") as f:
            f.write(log)
        idx = b"".join(struct.pack(">ii", o - base, p) for o, p in oi)
        tix = b"".join(struct.pack(">qi", t, o - base) for t, o in ti)
        idx_size, tix_size = len(idx), len(tix)
        if active:
            idx_size, tix_size = prealloc
            assert idx_size % 8 == 0 and tix_size % 12 == 0 and idx_size > len(idx) and tix_size > len(tix)
            idx = idx + b"\x00" * (idx_size - len(idx))
            tix = tix + b"\x00" * (tix_size - len(tix))
        missing = drop_index_of is not None and base == drop_index_of
        if not missing:
            with open(os.path.join(d, name + ".index"), "wb") as f:
                f.write(idx)
            with open(os.path.join(d, name + ".timeindex"), "wb") as f:
                f.write(tix)
        blist = []
        for b, p in zip(batches, positions):
            blist.append({"position": p, "size": len(b.raw), "magic": b.magic, "base_offset": b.base_offset,
                          "last_offset": b.last_offset, "max_timestamp": b.max_ts, "compression": b.codec,
                          "timestamp_type": b.ts_type, "record_count": len(b.records)})
            for off, ts in b.records:
                all_records.append({"segment": name + ".log", "batch_position": p, "batch_base_offset": b.base_offset,
                                    "batch_last_offset": b.last_offset, "offset": off, "timestamp": ts})
        seg_json.append({
            "file": name + ".log", "base_offset": base, "size": len(log), "active": active,
            "next_offset": batches[-1].last_offset + 1, "max_timestamp_so_far": max_ts,
            "batches": blist,
            "index": None if missing else {
                "file": name + ".index", "size": len(idx), "real_entries": len(oi),
                "zero_slots": (len(idx) - 8 * len(oi)) // 8,
                "entries": [{"offset": o, "relative_offset": o - base, "position": p} for o, p in oi]},
            "timeindex": None if missing else {
                "file": name + ".timeindex", "size": len(tix), "real_entries": len(ti),
                "zero_slots": (len(tix) - 12 * len(ti)) // 12,
                "entries": [{"timestamp": t, "offset": o, "relative_offset": o - base} for t, o in ti]},
        })
        if missing:
            seg_json[-1]["missing_files"] = [name + ".index", name + ".timeindex"]
    lookups = compute_lookups(seg_json, all_records, offset_queries, time_queries)
    out = {"generator": generator_block(), "partition": dirname, "description": description,
           "index_interval_bytes": INDEX_INTERVAL, "segments": seg_json, "records": all_records,
           "lookups": lookups}
    write_json_compact(os.path.join(d, "expected.json"), out)
    verify_partition(d, out)
    return out


def _oi_lookup(seg, target):
    """OffsetIndex.lookup: largest entry with offset <= target, else None (= (base, position 0))."""
    entries = seg["index"]["entries"] if seg["index"] else []
    cand = [e for e in entries if e["offset"] <= target]
    return cand[-1] if cand else None


def _ti_lookup(seg, target):
    """TimeIndex.lookup: largest entry with timestamp <= target, else None (= (-1, base))."""
    entries = seg["timeindex"]["entries"] if seg["timeindex"] else []
    cand = [e for e in entries if e["timestamp"] <= target]
    return cand[-1] if cand else None


def _entry(e, *keys):
    return None if e is None else {k: e[k] for k in keys}


def compute_lookups(segs, records, offset_queries, time_queries):
    """Expected answers of the broker's two lookup paths (reference section 3.15), using the
    indexes as written (a missing index behaves as an empty one: start at position 0), and
    cross-checked against a brute-force scan of the records."""
    res = {"by_offset": [], "by_timestamp": []}
    for q in offset_queries:
        seg = [s for s in segs if s["base_offset"] <= q][-1]  # floor segment by base offset
        ie = _oi_lookup(seg, q)
        start = ie["position"] if ie else 0
        hit_seg = hit_batch = None
        for s in segs[segs.index(seg):]:  # LocalLog.read moves on to the next segment if needed
            for b in s["batches"]:
                if s is seg and b["position"] < start:
                    continue
                if b["last_offset"] >= q:  # FileRecords.searchForOffsetWithSize
                    hit_seg, hit_batch = s, b
                    break
            if hit_batch:
                break
        rec = next((r for r in records if r["offset"] >= q), None)
        if rec is not None:  # the first record at/after the target is in that batch or a later one
            assert segs.index(hit_seg) <= [s["file"] for s in segs].index(rec["segment"])
        res["by_offset"].append({
            "target": q, "found": rec is not None, "segment": seg["file"],
            "index_entry": _entry(ie, "offset", "position"), "start_position": start,
            "batch_segment": hit_seg and hit_seg["file"], "batch_position": hit_batch and hit_batch["position"],
            "batch_last_offset": hit_batch and hit_batch["last_offset"],
            "record_segment": rec and rec["segment"], "record_batch_position": rec and rec["batch_position"],
            "offset": rec and rec["offset"], "timestamp": rec and rec["timestamp"]})
    for q in time_queries:
        # first segment (base-offset order) whose largest timestamp >= target
        seg = next((s for s in segs if s["max_timestamp_so_far"] >= q), None)
        out = {"target": q, "found": False, "segment": seg and seg["file"], "timeindex_entry": None,
               "index_entry": None, "start_position": None, "batch_position": None,
               "offset": None, "timestamp": None}
        if seg is not None:
            te = _ti_lookup(seg, q)
            o = te["offset"] if te else seg["base_offset"]
            ie = _oi_lookup(seg, o)
            start = ie["position"] if ie else 0
            out.update(timeindex_entry=_entry(te, "timestamp", "offset"),
                       index_entry=_entry(ie, "offset", "position"), start_position=start)
            hit = None
            for b in seg["batches"]:  # FileRecords.searchForTimestamp
                if b["position"] < start or b["max_timestamp"] < q:
                    continue
                hit = next((r for r in records if r["segment"] == seg["file"] and
                            r["batch_position"] == b["position"] and r["timestamp"] >= q), None)
                if hit:
                    break
            brute = next((r for r in records if r["segment"] == seg["file"] and r["timestamp"] >= q), None)
            assert hit == brute, (q, hit, brute)
            if hit:
                out.update(found=True, batch_position=hit["batch_position"], offset=hit["offset"],
                           timestamp=hit["timestamp"])
        res["by_timestamp"].append(out)
    return res


def verify_partition(d, exp):
    recs_iter = iter(exp["records"])
    for seg in exp["segments"]:
        data = open(os.path.join(d, seg["file"]), "rb").read()
        assert len(data) == seg["size"]
        kbs = kp_batches(data)
        assert [p for p, _ in kbs] == [b["position"] for b in seg["batches"]]
        by_pos = {}
        for (pos, kb), sb in zip(kbs, seg["batches"]):
            assert kb.validate_crc()
            recs = list(kb)
            assert len(recs) == sb["record_count"]
            if recs:
                assert recs[-1].offset <= sb["last_offset"] and recs[0].offset >= sb["base_offset"]
            if sb["magic"] == 2:
                assert kb.last_offset == sb["last_offset"] and kb.max_timestamp == sb["max_timestamp"]
            else:
                assert kb.base_offset == sb["last_offset"]  # legacy entry offset = last (wrapper) offset
            by_pos[pos] = (kb, recs)
            for r in recs:
                e = next(recs_iter)
                kts = -1 if r.timestamp is None else r.timestamp
                assert (e["segment"], e["batch_position"], e["offset"], e["timestamp"]) == (
                    seg["file"], pos, r.offset, kts), (e, r)
        # index files on disk
        base = seg["base_offset"]
        if seg["index"] is None:
            assert not os.path.exists(os.path.join(d, seg["file"][:-4] + ".index"))
            continue
        raw = open(os.path.join(d, seg["index"]["file"]), "rb").read()
        assert len(raw) == seg["index"]["size"]
        for i, e in enumerate(seg["index"]["entries"]):
            rel, pos = struct.unpack_from(">ii", raw, 8 * i)
            assert rel + base == e["offset"] and pos == e["position"]
            # the batch at that position ends at exactly that offset (what DumpLogSegments checks)
            sb = next(b for b in seg["batches"] if b["position"] == pos)
            assert sb["last_offset"] == e["offset"]
            assert pos != 0  # the first batch of a segment is never indexed
        assert raw[8 * seg["index"]["real_entries"]:] == b"\x00" * (8 * seg["index"]["zero_slots"])
        raw = open(os.path.join(d, seg["timeindex"]["file"]), "rb").read()
        prev = -1
        for i, e in enumerate(seg["timeindex"]["entries"]):
            ts, rel = struct.unpack_from(">qi", raw, 12 * i)
            assert ts == e["timestamp"] and rel + base == e["offset"] and ts > prev
            prev = ts
            # T = max timestamp of all records up to and including the batch whose lastOffset is O
            sb = next(b for b in seg["batches"] if b["last_offset"] == e["offset"])
            upto = [r["timestamp"] for r in exp["records"]
                    if r["segment"] == seg["file"] and r["batch_position"] <= sb["position"]]
            assert max(upto) == ts
        assert raw[12 * seg["timeindex"]["real_entries"]:] == b"\x00" * (12 * seg["timeindex"]["zero_slots"])


def demo_parts():
    """Batches of the demo-0 partition (all v2), by segment."""
    ts = T0 + 100000
    seg0, seg1, seg2 = [], [], []
    # ---- segment 0 (base 0)
    seg0.append(build_v2(simple_records(5, ts, vlen=30), base_offset=0))
    seg0.append(build_v2(simple_records(5, 0, vlen=80, ts_list=[ts + 50, ts + 90, ts + 60, ts + 40, ts + 70]),
                         base_offset=5, codec="gzip"))
    seg0.append(build_v2(simple_records(5, ts + 100, vlen=30), base_offset=10))
    recs = [Rec(d_, ts + 150 + d_, b"c%d" % d_, lorem(d_, 30)) for d_ in (0, 2, 5)]
    seg0.append(build_v2(recs, base_offset=15, last_offset_delta=6))  # compacted: 15,17,20 (21 removed)
    # 22..24 compacted away
    seg0.append(build_v2(simple_records(5, ts + 200, vlen=120), base_offset=25, codec="lz4",
                         log_append_time=ts + 500))  # LogAppendTime batch
    seg0.append(build_v2(simple_records(5, ts + 300, vlen=120), base_offset=30, codec="zstd"))
    # max timestamp of this batch (ts+450) is LOWER than the LAT batch's: no new time index entry here
    seg0.append(build_v2(simple_records(5, 0, vlen=30, ts_list=[ts + 410, ts + 450, ts + 420, ts + 400, ts + 430]),
                         base_offset=35))
    # ---- segment 1 (base 40; 40-41 were compacted away, first batch starts at 42)
    ts1 = ts + 1000
    seg1.append(build_v2(simple_records(4, ts1, vlen=40), base_offset=42, leader_epoch=1))
    seg1.append(build_v2(simple_records(6, ts1 + 20, vlen=150), base_offset=46, codec="snappy", leader_epoch=1))
    seg1.append(build_v2(simple_records(5, 0, vlen=40, ts_list=[ts1 + 90, ts1 + 60, ts1 + 100, ts1 + 80, ts1 + 70]),
                         base_offset=52, leader_epoch=1))
    recs = [Rec(d_, ts1 + 120 + d_, b"k%d" % d_, lorem(d_, 100)) for d_ in (0, 1, 4, 8)]
    seg1.append(build_v2(recs, base_offset=57, last_offset_delta=9, codec="gzip", leader_epoch=1))  # 57..66
    # gap 67..69
    seg1.append(build_v2(simple_records(5, ts1 + 200, vlen=40), base_offset=70, leader_epoch=1))
    seg1.append(build_v2(simple_records(8, ts1 + 300, vlen=100), base_offset=75, codec="zstd", leader_epoch=2))
    seg1.append(build_v2(simple_records(4, ts1 + 400, vlen=40), base_offset=83, leader_epoch=2,
                         producer_id=9000, producer_epoch=0, base_sequence=0))
    seg1.append(build_v2(simple_records(8, ts1 + 500, vlen=100), base_offset=87, codec="lz4", leader_epoch=2,
                         producer_id=9000, producer_epoch=0, base_sequence=4))
    # ---- segment 2 (base 95, active)
    ts2 = ts + 2000
    seg2.append(build_v2(simple_records(5, ts2, vlen=40), base_offset=95, leader_epoch=2))
    seg2.append(build_v2(simple_records(5, 0, vlen=100, ts_list=[ts2 + 40, ts2 + 10, ts2 + 30, ts2 + 20, ts2 + 35]),
                         base_offset=100, codec="snappy", leader_epoch=2))
    seg2.append(build_v2(simple_records(5, ts2 + 100, vlen=40), base_offset=105, leader_epoch=2))
    seg2.append(build_v2(simple_records(6, ts2 + 200, vlen=100), base_offset=110, codec="gzip", leader_epoch=2))
    seg2.append(build_v2(simple_records(3, ts2 + 300, vlen=40), base_offset=116, leader_epoch=2))
    return [(0, seg0), (40, seg1), (95, seg2)], ts


def fx_partitions():
    segs, ts = demo_parts()
    oq = [0, 3, 16, 21, 22, 24, 38, 40, 41, 42, 60, 67, 69, 94, 95, 103, 118, 119, 500]
    tq = [ts - 1, ts, ts + 55, ts + 95, ts + 460, ts + 500, ts + 501, ts + 1050, ts + 1095, ts + 1510,
          ts + 1600, ts + 2000, ts + 2015, ts + 2302, ts + 2303]
    desc = ("3 v2 segments, index.interval.bytes=256. Segment 0 (base 0): gzip batch with out-of-order "
            "timestamps, compacted batch 15-21 (records 15,17,20), gap 22-24, LogAppendTime lz4 batch 25-29, "
            "zstd, and a batch whose max timestamp is below the LAT one (no new time entry). Segment 1 (base 40, "
            "first batch at 42 because 40-41 were compacted away): snappy, out-of-order timestamps, compacted "
            "gzip batch 57-66 (57,58,61,65), gap 67-69, zstd, idempotent batches; leader epochs 1-2. Segment 2 "
            "(base 95) is ACTIVE: its .index/.timeindex are preallocated (zero slots after the real entries). "
            "Rolled segments got the forced final time-index entry.")
    write_partition("demo-0", segs, desc, prealloc=(800, 1200), offset_queries=oq, time_queries=tq)
    segs, ts = demo_parts()
    write_partition("noindex-0", segs, "same data as demo-0, but the middle segment's .index and .timeindex "
                    "are MISSING (a reader must fall back to scanning the .log from position 0)",
                    prealloc=(800, 1200), drop_index_of=40, offset_queries=oq, time_queries=tq)
    # legacy-0: a v0 segment (no timestamps -> empty time index) and a v1 segment; both trimmed
    ts = T0 + 200000
    v0 = []
    v0.append(build_legacy(0, legacy_items(4, ts, vlen=60), first_offset=0))
    v0.append(build_legacy(0, legacy_items(4, ts, vlen=100), first_offset=4, codec="gzip"))
    v0.append(build_legacy(0, legacy_items(3, ts, vlen=40), first_offset=8))
    v0.append(build_legacy(0, legacy_items(4, ts, vlen=100), first_offset=11, codec="snappy"))
    v0.append(build_legacy(0, legacy_items(4, ts, vlen=100), first_offset=15, codec="lz4"))
    v0.append(build_legacy(0, legacy_items(3, ts, vlen=40), first_offset=19))
    v1 = []
    v1.append(build_legacy(1, legacy_items(3, ts + 100, vlen=60), first_offset=22))
    v1.append(build_legacy(1, legacy_items(4, ts + 200, vlen=100), first_offset=25, codec="gzip"))
    v1.append(build_legacy(1, [(ts + 390, b"o1", lorem(1, 40)), (ts + 350, b"o2", lorem(2, 40)),
                               (ts + 380, b"o3", lorem(3, 40))], first_offset=29))
    v1.append(build_legacy(1, legacy_items(4, ts + 400, vlen=100), first_offset=32, codec="lz4"))
    v1.append(build_legacy(1, legacy_items(2, ts + 500, vlen=60), first_offset=36, log_append_time=ts + 600))
    v1.append(build_legacy(1, legacy_items(4, ts + 700, vlen=100), first_offset=38, codec="snappy"))
    v1.append(build_legacy(1, legacy_items(3, ts + 800, vlen=40), first_offset=42))
    oq = [0, 5, 10, 21, 22, 27, 37, 44, 45]
    tq = [ts + 100, ts + 360, ts + 395, ts + 600, ts + 801, ts + 900]
    # time lookups only hit the v1 segment: the v0 segment's largestTimestamp falls back to the file mtime
    write_partition("legacy-0", [(0, v0), (22, v1)],
                    "segment 0 = magic v0 only (uncompressed entries, gzip/snappy/lz4 wrappers with absolute inner "
                    "offsets; no timestamps, so its .timeindex is EMPTY); segment 22 = magic v1 (uncompressed "
                    "entries incl. out-of-order timestamps and 2 LogAppendTime entries, gzip/lz4/snappy wrappers "
                    "with relative inner offsets). Every legacy log entry is one 'batch' for indexing. Both "
                    "segments are trimmed (as after roll / clean shutdown). NOTE: by_timestamp lookups assume the "
                    "v0 segment is skipped (Kafka uses its file mtime as largestTimestamp, which is not fixed)",
                    offset_queries=oq, time_queries=tq)


def main():
    for root in (SEG_ROOT, PART_ROOT):
        if os.path.isdir(root):
            shutil.rmtree(root)
        os.makedirs(root)
    fx_codec_matrix()
    fx_transactions()
    fx_headers()
    fx_log_append_time()
    fx_offset_gaps()
    fx_control_kraft()
    fx_codec_variants()
    fx_mixed()
    fx_partitions()
    total = 0
    for dp, _, fns in os.walk(TESTDATA):
        for fn in fns:
            total += os.path.getsize(os.path.join(dp, fn))
    print("ok: fixtures written and verified with kafka-python's reader; testdata total %d bytes" % total)


if __name__ == "__main__":
    sys.exit(main())
