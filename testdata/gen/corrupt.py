#!/usr/bin/env python3
"""Generate damaged copies of kseg's valid fixtures, with the exact findings
`kseg verify` must report, for tests of the verifier.

    python3 testdata/gen/corrupt.py

Python 3 standard library only (no kafka-python).  Deterministic.  Reads the
committed fixtures under testdata/segments/ and testdata/partitions/, wipes
and rewrites testdata/corrupt/:

    testdata/corrupt/<case>/...          a partition directory or one .log file
    testdata/corrupt/expected.json       the manifest (list of cases)

Manifest entry:

    case, description, verify_path (relative to the repo root),
    exit_code (0 = no error finding, 1 = at least one error finding),
    findings: [{file, kind, severity, position, offset}]   the findings, all of them:
                        offset is the batch's base offset for a finding in a .log (the
                        8-byte offset field of a legacy entry, which for a compressed
                        wrapper is its last inner offset), the entry's absolute offset
                        for one in an index, null when no offset is concerned
    may_also: [kind]    kinds the damage may additionally cause, depending on
                        how far a verifier decodes: only this script's simplified
                        checker may report them; tests/verify.rs holds kseg to
                        `findings` exactly.

Every case is checked before the manifest is written by an independent,
simplified checker in this script (`check_path`): each expected finding must
be reported by it, and every ERROR it reports must be expected or listed in
may_also.  The checker decodes uncompressed, gzip and LZ4 payloads itself
(snappy and zstd payloads are only CRC-checked).
"""

import gzip
import json
import os
import shutil
import struct
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
TESTDATA = os.path.dirname(HERE)
ROOT = os.path.dirname(TESTDATA)
SEG = os.path.join(TESTDATA, "segments")
PART = os.path.join(TESTDATA, "partitions")
OUT = os.path.join(TESTDATA, "corrupt")

ERROR, WARNING = "error", "warning"
DECODE_KINDS = ["decompress", "bad_record", "record_count_mismatch", "offsets_not_increasing",
                "max_timestamp_mismatch", "bad_control_record"]

# ---------------------------------------------------------------------------
# checksums

_CRC32C_TABLE = []
for _n in range(256):
    _c = _n
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _CRC32C_TABLE.append(_c)


def crc32c(data):
    """CRC-32C (Castagnoli), reflected poly 0x82F63B78, init/xorout 0xFFFFFFFF."""
    c = 0xFFFFFFFF
    for b in data:
        c = _CRC32C_TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283  # standard check value


def fix_crc_v2(buf, pos):
    """Recompute the CRC-32C of the v2 batch at pos: over [pos+21, pos+12+batchLength)."""
    (length,) = struct.unpack_from(">i", buf, pos + 8)
    struct.pack_into(">I", buf, pos + 17, crc32c(bytes(buf[pos + 21:pos + 12 + length])))


def fix_crc_legacy(buf, pos):
    """Recompute the CRC-32 (IEEE) of the v0/v1 message at pos: over [pos+16, pos+12+size)."""
    (size,) = struct.unpack_from(">i", buf, pos + 8)
    struct.pack_into(">I", buf, pos + 12, zlib.crc32(bytes(buf[pos + 16:pos + 12 + size])))


# ---------------------------------------------------------------------------
# small decoders (used to find damage locations and by the checker)

class DecodeError(Exception):
    pass


def read_varint(buf, i, end):
    """ZigZag varint/varlong; returns (value, next index)."""
    shift = 0
    raw = 0
    while True:
        if i >= end:
            raise DecodeError("varint runs past the end")
        b = buf[i]
        i += 1
        raw |= (b & 0x7F) << shift
        if not b & 0x80:
            break
        shift += 7
        if shift > 63:
            raise DecodeError("varint too long")
    return (raw >> 1) ^ -(raw & 1), i


def parse_v2_records(buf, start, end):
    """Parse concatenated v2 records in buf[start:end] until it is exhausted.
    Returns a list of dicts with absolute field positions; raises DecodeError."""
    recs = []
    i = start
    while i < end:
        r = {"start": i}
        length, j = read_varint(buf, i, end)
        r["length_pos"], r["length"] = i, length
        body = j
        if length < 0 or body + length > end:
            raise DecodeError("record length runs outside the batch")
        rend = body + length
        r["attributes_pos"] = j
        j += 1
        r["ts_delta"], j = read_varint(buf, j, rend)
        r["offset_delta"], j = read_varint(buf, j, rend)
        r["key_len_pos"] = j
        klen, j = read_varint(buf, j, rend)
        r["key_pos"], r["key_len"] = j, klen
        if klen > 0:
            j += klen
        if j > rend:
            raise DecodeError("key runs outside the record")
        r["value_len_pos"] = j
        vlen, j = read_varint(buf, j, rend)
        r["value_pos"], r["value_len"] = j, vlen
        if vlen > 0:
            j += vlen
        if j > rend:
            raise DecodeError("value runs outside the record")
        hcount, j = read_varint(buf, j, rend)
        if hcount < 0 or hcount > rend - j:
            raise DecodeError("bad header count")
        for _ in range(hcount):
            hk, j = read_varint(buf, j, rend)
            if hk < 0 or j + hk > rend:
                raise DecodeError("bad header key")
            j += hk
            hv, j = read_varint(buf, j, rend)
            if hv > 0:
                j += hv
            if j > rend:
                raise DecodeError("bad header value")
        if j != rend:
            raise DecodeError("record length mismatch")
        r["end"] = rend
        recs.append(r)
        i = rend
    return recs


def lz4_block(src, track=False):
    """Decode one raw LZ4 block.  With track, also return for every output byte
    the src index it was copied from as a literal (-1 for match bytes) and the
    set of output indexes that some match copies from."""
    out = bytearray()
    prov = []
    referenced = set()
    i = 0
    n = len(src)
    while i < n:
        token = src[i]
        i += 1
        ll = token >> 4
        if ll == 15:
            while True:
                if i >= n:
                    raise DecodeError("lz4: literal length runs past the block")
                b = src[i]
                i += 1
                ll += b
                if b != 255:
                    break
        if i + ll > n:
            raise DecodeError("lz4: literals run past the block")
        out += src[i:i + ll]
        if track:
            prov.extend(range(i, i + ll))
        i += ll
        if i >= n:
            break
        if i + 2 > n:
            raise DecodeError("lz4: truncated match offset")
        off = src[i] | src[i + 1] << 8
        i += 2
        ml = token & 15
        if ml == 15:
            while True:
                if i >= n:
                    raise DecodeError("lz4: match length runs past the block")
                b = src[i]
                i += 1
                ml += b
                if b != 255:
                    break
        ml += 4
        s = len(out) - off
        if off == 0 or s < 0:
            raise DecodeError("lz4: bad match offset")
        for k in range(ml):
            out.append(out[s + k])
            if track:
                prov.append(-1)
                referenced.add(s + k)
    return (bytes(out), prov, referenced) if track else bytes(out)


def lz4_frame(data, track=False):
    """Kafka's LZ4 frame subset.  With track: (output, [(output index, input index)])
    mapping literal output bytes that no match copies from to their frame index."""
    if len(data) < 7 or data[:4] != b"\x04\x22\x4d\x18":
        raise DecodeError("lz4: bad magic")
    flg = data[4]
    i = 6 + (8 if flg & 0x08 else 0) + 1
    block_sum = flg & 0x10
    out = bytearray()
    safe = []
    while True:
        if i + 4 > len(data):
            raise DecodeError("lz4: premature end")
        (size,) = struct.unpack_from("<I", data, i)
        i += 4
        if size == 0:
            break
        stored, size = size & 0x80000000, size & 0x7FFFFFFF
        if i + size > len(data):
            raise DecodeError("lz4: block runs past the end")
        block = data[i:i + size]
        if stored:
            out += block
        elif track:
            dec, prov, ref = lz4_block(block, True)
            base = len(out)
            safe += [(base + k, i + p) for k, p in enumerate(prov) if p >= 0 and k not in ref]
            out += dec
        else:
            out += lz4_block(block)
        i += size + (4 if block_sum else 0)
    return (bytes(out), safe) if track else bytes(out)


def gunzip(data):
    try:
        return gzip.decompress(data)
    except Exception as e:  # noqa: BLE001 - any failure is a decompress finding
        raise DecodeError("gzip: %s" % e)


def decompress(codec, data):
    if codec == 0:
        return data
    if codec == 1:
        return gunzip(data)
    if codec == 3:
        return lz4_frame(data)
    return None  # snappy / zstd: not decoded by this stdlib-only checker


def walk(data):
    """(position, size, magic) of every complete entry, Kafka's framing."""
    out = []
    pos = 0
    while pos + 17 <= len(data):
        (size,) = struct.unpack_from(">i", data, pos + 8)
        if size < 14 or pos + 12 + size > len(data):
            break
        out.append((pos, 12 + size, struct.unpack_from(">b", data, pos + 16)[0]))
        pos += 12 + size
    return out


def v2_field(data, pos, fmt, off):
    return struct.unpack_from(fmt, data, pos + off)[0]


# ---------------------------------------------------------------------------
# the independent checker (spec semantics of `kseg verify`, simplified)

def decode_legacy_inner(data):
    """Inner messages of a legacy wrapper: [(offset, magic, timestamp)]."""
    out = []
    pos = 0
    while pos + 12 <= len(data):
        off, size = struct.unpack_from(">qi", data, pos)
        if size < 14:
            raise DecodeError("inner size")
        if pos + 12 + size > len(data):
            break
        magic = data[pos + 16]
        ts = struct.unpack_from(">q", data, pos + 18)[0] if magic == 1 else -1
        out.append((off, magic, ts))
        pos += 12 + size
    if not out:
        raise DecodeError("empty inner set")
    return out


def check_segment(data, fname, name_base, active, out):
    """Append findings for one .log; return (batches, torn_start, last_offset).
    batches: [{pos, size, base, last, max_ts}]."""
    sev = WARNING if active else ERROR
    batches = []
    torn = None
    pos = 0
    end = len(data)

    def add(kind, severity, position):
        out.append((fname, kind, severity, position))

    while pos < end:
        if not any(data[pos:]):
            add("preallocated_tail", sev, pos)
            break
        if end - pos < 17:
            add("trailing_bytes", sev, pos)
            torn = pos
            break
        base, size = struct.unpack_from(">qi", data, pos)
        if size < 14:
            add("bad_size", ERROR, pos)
            break
        if pos + 12 + size > end:
            add("trailing_bytes", sev, pos)
            torn = pos
            break
        magic = struct.unpack_from(">b", data, pos + 16)[0]
        bend = pos + 12 + size
        b = {"pos": pos, "size": 12 + size, "base": base, "last": base, "max_ts": -1}
        if magic == 2:
            stored = v2_field(data, pos, ">I", 17)
            if stored != crc32c(data[pos + 21:bend]):
                add("crc_mismatch", ERROR, pos)
            attrs = v2_field(data, pos, ">h", 21)
            delta = v2_field(data, pos, ">i", 23)
            base_ts = v2_field(data, pos, ">q", 27)
            max_ts = v2_field(data, pos, ">q", 35)
            count = v2_field(data, pos, ">i", 57)
            b["last"] = base + delta
            b["max_ts"] = max_ts
            codec = attrs & 7
            if codec > 4:
                add("bad_attributes", ERROR, pos)
            else:
                try:
                    payload = decompress(codec, data[pos + 61:bend])
                except DecodeError:
                    add("decompress", ERROR, pos)
                    payload = None
                if payload is not None:
                    try:
                        recs = parse_v2_records(payload, 0, len(payload))
                    except DecodeError:
                        add("bad_record", ERROR, pos)
                        recs = None
                    if recs is not None:
                        if len(recs) != count:
                            add("record_count_mismatch", ERROR, pos)
                        offs = [base + r["offset_delta"] for r in recs]
                        if any(o < base or o > base + delta for o in offs) or \
                                any(b2 <= a for a, b2 in zip(offs, offs[1:])):
                            add("offsets_not_increasing", ERROR, pos)
                        if recs and not attrs & 0x08 and not attrs & 0x40:
                            if max(base_ts + r["ts_delta"] for r in recs) != max_ts:
                                add("max_timestamp_mismatch", ERROR, pos)
                        if attrs & 0x20:
                            for r in recs:
                                k = r["key_pos"]
                                if r["key_len"] < 4 or struct.unpack_from(">h", payload, k)[0] < 0:
                                    add("bad_control_record", ERROR, pos)
                                    break
        elif magic in (0, 1):
            stored = struct.unpack_from(">I", data, pos + 12)[0]
            if stored != zlib.crc32(data[pos + 16:bend]):
                add("crc_mismatch", ERROR, pos)
            attrs = data[pos + 17]
            codec = attrs & 7
            hdr = pos + 18 + (8 if magic == 1 else 0)
            if magic == 1:
                b["max_ts"] = struct.unpack_from(">q", data, pos + 18)[0]
            if codec > 3:
                add("bad_attributes", ERROR, pos)
            elif codec:
                (klen,) = struct.unpack_from(">i", data, hdr)
                vpos = hdr + 4 + max(klen, 0)
                (vlen,) = struct.unpack_from(">i", data, vpos)
                try:
                    raw = decompress(codec, data[vpos + 4:vpos + 4 + vlen])
                    if raw is not None:
                        inner = decode_legacy_inner(raw)
                        if magic == 1:
                            b["base"] = base - inner[-1][0] + inner[0][0]
                        else:
                            b["base"] = inner[0][0]
                except DecodeError:
                    add("decompress", ERROR, pos)
        else:
            add("bad_magic", ERROR, pos)
        batches.append(b)
        pos = bend

    if batches and name_base is not None and batches[0]["base"] < name_base:
        add("base_offset_above_first_batch", ERROR, 0)
    for a, b in zip(batches, batches[1:]):
        if b["base"] <= a["last"]:
            add("offsets_backwards", ERROR, b["pos"])
    last = batches[-1]["last"] if batches else None
    return batches, torn, last


def check_index(idx, fname, name_base, active, log_size, batches, torn, out):
    by_pos = {b["pos"]: b for b in batches}
    if len(idx) % 8:
        out.append((fname, "index_size", ERROR, None))
    prev = None
    for i in range(len(idx) // 8):
        rel, p = struct.unpack_from(">ii", idx, 8 * i)
        if active and i > 0 and rel == 0 and p == 0:
            break  # preallocated zero slots of the live index
        off = name_base + rel
        if prev is not None and (off <= prev[0] or p <= prev[1]):
            out.append((fname, "index_not_increasing", ERROR, 8 * i))
        prev = (off, p)
        if p >= log_size or (torn is not None and p >= torn):
            sev = WARNING if active and torn is not None else ERROR
            out.append((fname, "index_past_end", sev, 8 * i))
        elif p not in by_pos or by_pos[p]["last"] != off:
            out.append((fname, "index_mismatch", ERROR, 8 * i))


def check_timeindex(tix, fname, name_base, active, batches, torn, last, out):
    if len(tix) % 12:
        out.append((fname, "timeindex_size", ERROR, None))
    prev = None
    for i in range(len(tix) // 12):
        ts, rel = struct.unpack_from(">qi", tix, 12 * i)
        if active and i > 0 and ts == 0 and rel == 0:
            break
        off = name_base + rel
        if prev is not None and (ts < prev[0] or off < prev[1]):
            out.append((fname, "timeindex_not_increasing", ERROR, 12 * i))
        prev = (ts, off)
        holder = [b for b in batches if b["base"] <= off <= b["last"]]
        if last is None or off > last:
            sev = WARNING if active and torn is not None else ERROR
            out.append((fname, "timeindex_past_end", sev, 12 * i))
        elif not holder or holder[0]["max_ts"] != ts:
            out.append((fname, "timeindex_mismatch", ERROR, 12 * i))


def seg_base(name):
    return int(name.split(".")[0])


def check_path(path):
    """Findings [(file, kind, severity, position)] for a partition dir or one .log."""
    out = []
    if os.path.isfile(path):
        data = open(path, "rb").read()
        check_segment(data, os.path.basename(path), seg_base(os.path.basename(path)), True, out)
        return out
    logs = sorted((f for f in os.listdir(path) if f.endswith(".log")), key=seg_base)
    prev = None
    for n, f in enumerate(logs):
        active = n == len(logs) - 1
        base = seg_base(f)
        data = open(os.path.join(path, f), "rb").read()
        batches, torn, last = check_segment(data, f, base, active, out)
        if prev is not None and batches:
            prev_last = prev[1]
            if prev_last is not None and (batches[0]["base"] <= prev_last or prev_last >= base):
                out.append((f, "segment_overlap", ERROR, batches[0]["pos"]))
        prev = (base, last if last is not None else (prev[1] if prev else None))
        stem = f[:-4]
        ip = os.path.join(path, stem + ".index")
        if os.path.exists(ip):
            check_index(open(ip, "rb").read(), stem + ".index", base, active, len(data),
                        batches, torn, out)
        tp = os.path.join(path, stem + ".timeindex")
        if os.path.exists(tp):
            check_timeindex(open(tp, "rb").read(), stem + ".timeindex", base, active,
                            batches, torn, last, out)
    return out


# ---------------------------------------------------------------------------
# case construction helpers

CASES = []


def rel(p):
    return os.path.relpath(p, ROOT).replace(os.sep, "/")


def finding(file, kind, severity, position, offset=None):
    return {"file": file, "kind": kind, "severity": severity, "position": position,
            "offset": offset}


def add_case(case, description, verify_path, findings, may_also=()):
    exit_code = 1 if any(f["severity"] == ERROR for f in findings) else 0
    CASES.append({
        "case": case,
        "description": description,
        "verify_path": rel(verify_path),
        "exit_code": exit_code,
        "findings": findings,
        "may_also": sorted(set(may_also)),
    })


def copy_partition(src_name, case):
    """Copy .log/.index/.timeindex of a partition dir (not its sidecar)."""
    dst = os.path.join(OUT, case, src_name)
    os.makedirs(dst)
    src = os.path.join(PART, src_name)
    for f in sorted(os.listdir(src)):
        if f.endswith((".log", ".index", ".timeindex")):
            shutil.copyfile(os.path.join(src, f), os.path.join(dst, f))
    return dst


def copy_segment(fixture, case):
    src_dir = os.path.join(SEG, fixture)
    (log,) = [f for f in os.listdir(src_dir) if f.endswith(".log")]
    dst_dir = os.path.join(OUT, case)
    os.makedirs(dst_dir)
    dst = os.path.join(dst_dir, log)
    shutil.copyfile(os.path.join(src_dir, log), dst)
    return dst


def load(path):
    return bytearray(open(path, "rb").read())


def save(path, buf):
    with open(path, "wb") as f:
        f.write(bytes(buf))


def part_meta(name):
    return json.load(open(os.path.join(PART, name, "expected.json")))


def seg_meta(fixture):
    src_dir = os.path.join(SEG, fixture)
    (side,) = [f for f in os.listdir(src_dir) if f.endswith(".expected.json")]
    return json.load(open(os.path.join(src_dir, side)))


def log_name(base):
    return "%020d.log" % base


def flip(buf, at, mask=0x01):
    buf[at] ^= mask


def v2_value_byte(buf, pos, record_index=1):
    """Absolute position of a middle byte of a record value in the uncompressed
    v2 batch at pos."""
    (length,) = struct.unpack_from(">i", buf, pos + 8)
    recs = parse_v2_records(buf, pos + 61, pos + 12 + length)
    r = recs[record_index]
    assert r["value_len"] > 2
    return r["value_pos"] + r["value_len"] // 2


# ---------------------------------------------------------------------------
# the cases

def demo():
    meta = part_meta("demo-0")
    segs = meta["segments"]
    s0, s1, s2 = segs
    f0, f1, f2 = s0["file"], s1["file"], s2["file"]
    i0, i1, i2 = (s["index"]["file"] for s in segs)
    t0, t1, t2 = (s["timeindex"]["file"] for s in segs)

    # 16a. clean copy
    d = copy_partition("demo-0", "clean_demo")
    add_case("clean_demo", "Untouched copy of demo-0 (active segment's .index/.timeindex "
             "have preallocated zero slots, which are normal).", d, [])

    # 1. payload bit flip in an uncompressed v2 batch of the middle segment
    b = s1["batches"][2]
    assert b["compression"] == "none"
    d = copy_partition("demo-0", "v2_bitflip_none")
    p = os.path.join(d, f1)
    buf = load(p)
    at = v2_value_byte(buf, b["position"], 1)
    flip(buf, at)
    save(p, buf)
    add_case("v2_bitflip_none",
             "demo-0, middle segment: bit 0 flipped at byte %d, inside the value of record 2 "
             "(offset %d) of the uncompressed batch at %d. Records still decode." %
             (at, b["base_offset"] + 1, b["position"]),
             d, [finding(f1, "crc_mismatch", ERROR, b["position"], b["base_offset"])])

    # 4. older (first) segment cut mid-batch
    b = s0["batches"][2]
    cut = b["position"] + 100
    d = copy_partition("demo-0", "cut_older_segment")
    p = os.path.join(d, f0)
    save(p, load(p)[:cut])
    fs = [finding(f0, "trailing_bytes", ERROR, b["position"])]
    for i, e in enumerate(s0["index"]["entries"]):
        if e["position"] >= cut:
            fs.append(finding(i0, "index_past_end", ERROR, 8 * i, e["offset"]))
    last_kept = s0["batches"][1]["last_offset"]
    for i, e in enumerate(s0["timeindex"]["entries"]):
        if e["offset"] > last_kept:
            fs.append(finding(t0, "timeindex_past_end", ERROR, 12 * i, e["offset"]))
    add_case("cut_older_segment",
             "demo-0 with the FIRST (rolled) segment's .log cut to %d bytes, 100 bytes into the "
             "batch at %d (offsets %d-%d). Its index entries at or beyond the cut and time-index "
             "entries above offset %d now point past the end." %
             (cut, b["position"], b["base_offset"], b["last_offset"], last_kept),
             d, fs, may_also=["index_mismatch", "timeindex_mismatch"])

    # 5. torn active tail
    b = s2["batches"][2]
    cut = b["position"] + 100
    d = copy_partition("demo-0", "torn_active_tail")
    p = os.path.join(d, f2)
    save(p, load(p)[:cut])
    fs = [finding(f2, "trailing_bytes", WARNING, b["position"])]
    for i, e in enumerate(s2["index"]["entries"]):
        if e["position"] >= cut:
            fs.append(finding(i2, "index_past_end", WARNING, 8 * i, e["offset"]))
    last_kept = s2["batches"][1]["last_offset"]
    for i, e in enumerate(s2["timeindex"]["entries"]):
        if e["offset"] > last_kept:
            fs.append(finding(t2, "timeindex_past_end", WARNING, 12 * i, e["offset"]))
    assert len(fs) == 3
    add_case("torn_active_tail",
             "demo-0 with the LAST (active) segment's .log cut to %d bytes, 100 bytes into the "
             "batch at %d (offsets %d-%d), as after a crash. Its real index entry at position %d "
             "and time-index entry for offset %d point into the torn tail. The zero slots after "
             "the real entries stay normal." %
             (cut, b["position"], b["base_offset"], b["last_offset"],
              s2["index"]["entries"][1]["position"], s2["timeindex"]["entries"][1]["offset"]),
             d, fs, may_also=["index_mismatch", "timeindex_mismatch"])

    # 16b. preallocated (zero-filled) tail on the active .log
    d = copy_partition("demo-0", "prealloc_active_log")
    p = os.path.join(d, f2)
    save(p, load(p) + bytes(4096))
    add_case("prealloc_active_log",
             "demo-0 with 4096 zero bytes appended to the active segment's .log "
             "(log.preallocate=true style).", d,
             [finding(f2, "preallocated_tail", WARNING, s2["size"])])

    # extra: the same zero tail on an older segment is an error
    d = copy_partition("demo-0", "prealloc_older_log")
    p = os.path.join(d, f0)
    save(p, load(p) + bytes(4096))
    add_case("prealloc_older_log",
             "demo-0 with 4096 zero bytes appended to the FIRST (rolled) segment's .log.", d,
             [finding(f0, "preallocated_tail", ERROR, s0["size"])])

    # 7. index entry pointing mid-batch
    i = 2
    e = s1["index"]["entries"][i]
    d = copy_partition("demo-0", "index_mid_batch")
    p = os.path.join(d, i1)
    buf = load(p)
    struct.pack_into(">i", buf, 8 * i + 4, e["position"] + 7)
    save(p, buf)
    add_case("index_mid_batch",
             "demo-0, middle segment .index entry %d (offset %d): position %d -> %d, inside the "
             "batch. Still increasing." % (i, e["offset"], e["position"], e["position"] + 7),
             d, [finding(i1, "index_mismatch", ERROR, 8 * i, e["offset"])])

    # 8. index entry past the end of an older segment's log
    i = len(s1["index"]["entries"]) - 1
    e = s1["index"]["entries"][i]
    d = copy_partition("demo-0", "index_past_end")
    p = os.path.join(d, i1)
    buf = load(p)
    struct.pack_into(">i", buf, 8 * i + 4, 4096)
    save(p, buf)
    assert 4096 >= s1["size"]
    add_case("index_past_end",
             "demo-0, middle (rolled) segment .index last entry %d (offset %d): position %d -> "
             "4096, beyond the %d-byte log." % (i, e["offset"], e["position"], s1["size"]),
             d, [finding(i1, "index_past_end", ERROR, 8 * i, e["offset"])], may_also=["index_mismatch"])

    # 9. index entries out of order
    d = copy_partition("demo-0", "index_swapped")
    p = os.path.join(d, i1)
    buf = load(p)
    buf[8:16], buf[16:24] = buf[16:24], buf[8:16]
    save(p, buf)
    add_case("index_swapped",
             "demo-0, middle segment .index entries 1 and 2 swapped (each still points at a "
             "correct batch); entry 2 is below entry 1.", d,
             [finding(i1, "index_not_increasing", ERROR, 16, s1["index"]["entries"][1]["offset"])])

    # 10. index file length not a multiple of 8
    d = copy_partition("demo-0", "index_extra_bytes")
    p = os.path.join(d, i0)
    save(p, load(p) + b"\xab\xcd\xef")
    add_case("index_extra_bytes",
             "demo-0, first segment .index with 3 extra bytes (27 bytes).", d,
             [finding(i0, "index_size", ERROR, None)])

    # 11a. time index out of order
    d = copy_partition("demo-0", "timeindex_swapped")
    p = os.path.join(d, t1)
    buf = load(p)
    buf[12:24], buf[24:36] = buf[24:36], buf[12:24]
    save(p, buf)
    add_case("timeindex_swapped",
             "demo-0, middle segment .timeindex entries 1 and 2 swapped (each still matches its "
             "batch); entry 2 has a lower timestamp and offset than entry 1.", d,
             [finding(t1, "timeindex_not_increasing", ERROR, 24,
                      s1["timeindex"]["entries"][1]["offset"])])

    # 11b. time index entry with a wrong timestamp
    i = 3
    e = s1["timeindex"]["entries"][i]
    newts = e["timestamp"] - 49
    assert s1["timeindex"]["entries"][i - 1]["timestamp"] < newts
    d = copy_partition("demo-0", "timeindex_wrong_timestamp")
    p = os.path.join(d, t1)
    buf = load(p)
    struct.pack_into(">q", buf, 12 * i, newts)
    save(p, buf)
    add_case("timeindex_wrong_timestamp",
             "demo-0, middle segment .timeindex entry %d (offset %d): timestamp %d -> %d (the "
             "batch's maxTimestamp is %d). Still increasing." %
             (i, e["offset"], e["timestamp"], newts, e["timestamp"]),
             d, [finding(t1, "timeindex_mismatch", ERROR, 12 * i, e["offset"])])

    # extra: time index entry beyond the last offset of an older segment
    i = len(s1["timeindex"]["entries"]) - 1
    e = s1["timeindex"]["entries"][i]
    d = copy_partition("demo-0", "timeindex_past_end")
    p = os.path.join(d, t1)
    buf = load(p)
    struct.pack_into(">i", buf, 12 * i + 8, e["relative_offset"] + 6)
    save(p, buf)
    add_case("timeindex_past_end",
             "demo-0, middle (rolled) segment .timeindex last entry %d: offset %d -> %d, beyond "
             "the segment's last offset %d." %
             (i, e["offset"], e["offset"] + 6, s1["batches"][-1]["last_offset"]),
             d, [finding(t1, "timeindex_past_end", ERROR, 12 * i, e["offset"] + 6)], may_also=["timeindex_mismatch"])

    # extra: time index length not a multiple of 12
    d = copy_partition("demo-0", "timeindex_extra_bytes")
    p = os.path.join(d, t1)
    save(p, load(p) + b"\x01\x02\x03\x04\x05")
    add_case("timeindex_extra_bytes",
             "demo-0, middle segment .timeindex with 5 extra bytes (65 bytes).", d,
             [finding(t1, "timeindex_size", ERROR, None)])

    # 12. overlapping segments
    b = s0["batches"][-1]
    new_base = 41
    d = copy_partition("demo-0", "segment_overlap")
    p = os.path.join(d, f0)
    buf = load(p)
    struct.pack_into(">q", buf, b["position"], new_base)
    fix_crc_v2(buf, b["position"])  # no-op: baseOffset is outside the CRC range
    save(p, buf)
    new_last = new_base + b["last_offset"] - b["base_offset"]
    add_case("segment_overlap",
             "demo-0, first segment's last batch (at %d) rebased from %d-%d to %d-%d: it now "
             "repeats offsets %d-%d of segment %d (first batch %d-%d) and runs past that "
             "segment's file-name base. Neither index references that batch." %
             (b["position"], b["base_offset"], b["last_offset"], new_base, new_last,
              s1["batches"][0]["base_offset"], new_last, s1["base_offset"],
              s1["batches"][0]["base_offset"], s1["batches"][0]["last_offset"]),
             d, [finding(f1, "segment_overlap", ERROR, 0, s1["batches"][0]["base_offset"])])

    # 13. file-name base offset above the first batch
    shift = 3
    new = s1["base_offset"] + shift
    assert new > s1["batches"][0]["base_offset"] > s0["batches"][-1]["last_offset"]
    d = copy_partition("demo-0", "base_above_first_batch")
    stem_old, stem_new = "%020d" % s1["base_offset"], "%020d" % new
    for suffix, width, off in ((".log", None, None), (".index", 8, 0), (".timeindex", 12, 8)):
        src, dst = os.path.join(d, stem_old + suffix), os.path.join(d, stem_new + suffix)
        os.rename(src, dst)
        if width:  # keep the absolute offsets of the index entries right
            buf = load(dst)
            for k in range(len(buf) // width):
                (r,) = struct.unpack_from(">i", buf, width * k + off)
                struct.pack_into(">i", buf, width * k + off, r - shift)
            save(dst, buf)
    add_case("base_above_first_batch",
             "demo-0 with the middle segment renamed %s -> %s (first batch is %d); its index "
             "relative offsets rewritten (-%d) so the entries keep their absolute offsets." %
             (stem_old, stem_new, s1["batches"][0]["base_offset"], shift),
             d, [finding(stem_new + ".log", "base_offset_above_first_batch", ERROR, 0,
                        s1["batches"][0]["base_offset"])])


def segments():
    # 2a. compressed v2 (gzip): flip the gzip ID1 byte -> crc + certain decompress failure
    m = seg_meta("v2_gzip")
    b = m["batches"][1]
    p = copy_segment("v2_gzip", "v2_bitflip_gzip")
    buf = load(p)
    at = b["position"] + 61
    assert buf[at] == 0x1F
    flip(buf, at)
    save(p, buf)
    f = os.path.basename(p)
    add_case("v2_bitflip_gzip",
             "v2_gzip: bit 0 of byte %d flipped, the first gzip magic byte (0x1f -> 0x1e) of the "
             "batch at %d. The CRC fails and the payload cannot be gunzipped." % (at, b["position"]),
             p, [finding(f, "crc_mismatch", ERROR, b["position"], b["base_offset"]),
                 finding(f, "decompress", ERROR, b["position"], b["base_offset"])],
             may_also=["record_count_mismatch"])

    # 2b. compressed v2 (lz4): flip a literal byte that decodes into a record value
    m = seg_meta("v2_lz4")
    b = m["batches"][1]
    p = copy_segment("v2_lz4", "v2_bitflip_lz4")
    buf = load(p)
    start, end = b["position"] + 61, b["position"] + b["size"]
    raw, safe = lz4_frame(bytes(buf[start:end]), track=True)
    recs = parse_v2_records(raw, 0, len(raw))
    val = recs[1]
    lo, hi = val["value_pos"], val["value_pos"] + val["value_len"]
    cand = [(o, i) for o, i in safe if lo + 2 <= o < hi - 2]
    assert cand
    out_idx, in_idx = cand[len(cand) // 2]
    at = start + in_idx
    flip(buf, at)
    save(p, buf)
    raw2 = lz4_frame(bytes(buf[start:end]))
    diff = [k for k in range(len(raw)) if raw[k] != raw2[k]]
    assert diff == [out_idx] and len(raw2) == len(raw)
    f = os.path.basename(p)
    add_case("v2_bitflip_lz4",
             "v2_lz4: bit 0 of byte %d flipped, a literal in the LZ4 block of the batch at %d "
             "that no match copies; it decompresses to byte %d of the value of record 2, so the "
             "batch still decodes (Kafka's LZ4 frames carry no checksum here)." %
             (at, b["position"], out_idx - lo), p,
             [finding(f, "crc_mismatch", ERROR, b["position"], b["base_offset"])])

    # 3a. legacy v1 uncompressed message
    m = seg_meta("v1_none")
    p = copy_segment("v1_none", "v1_bitflip_none")
    buf = load(p)
    ents = walk(bytes(buf))
    pos = ents[5][0]
    assert struct.unpack_from(">q", buf, pos)[0] == 5 and buf[pos + 16] == 1
    (klen,) = struct.unpack_from(">i", buf, pos + 26)
    vpos = pos + 30 + max(klen, 0)
    (vlen,) = struct.unpack_from(">i", buf, vpos)
    at = vpos + 4 + vlen // 2
    flip(buf, at)
    save(p, buf)
    f = os.path.basename(p)
    add_case("v1_bitflip_none",
             "v1_none: bit 0 of byte %d flipped, inside the value of the message at offset 5 "
             "(log entry at %d, inside the sidecar's 3-message group at %d)." %
             (at, pos, m["batches"][1]["position"]),
             p, [finding(f, "crc_mismatch", ERROR, pos, 5)])

    # 3b. legacy v1 gzip wrapper: flip a bit of the gzip CRC32 trailer
    m = seg_meta("v1_gzip")
    b = m["batches"][1]
    p = copy_segment("v1_gzip", "v1_bitflip_gzip")
    buf = load(p)
    pos = b["position"]
    (klen,) = struct.unpack_from(">i", buf, pos + 26)
    vpos = pos + 30 + max(klen, 0)
    (vlen,) = struct.unpack_from(">i", buf, vpos)
    at = vpos + 4 + vlen - 8  # first byte of the gzip member's CRC32
    assert vpos + 4 + vlen == pos + b["size"]
    (wrapper_offset,) = struct.unpack_from(">q", buf, pos)  # the last inner offset
    assert wrapper_offset == b["last_offset"]
    flip(buf, at)
    save(p, buf)
    f = os.path.basename(p)
    add_case("v1_bitflip_gzip",
             "v1_gzip: bit 0 of byte %d flipped, in the gzip CRC32 trailer of the wrapper at %d "
             "(offsets %d-%d). The message CRC fails and gunzip fails its trailer check." %
             (at, pos, b["base_offset"], b["last_offset"]),
             p, [finding(f, "crc_mismatch", ERROR, pos, wrapper_offset),
                 finding(f, "decompress", ERROR, pos, wrapper_offset)])

    # 6. garbage over a batch header: size = -1
    m = seg_meta("v2_none")
    b = m["batches"][1]
    p = copy_segment("v2_none", "garbage_header")
    buf = load(p)
    buf[b["position"] + 8:b["position"] + 17] = b"\xff" * 9
    save(p, buf)
    f = os.path.basename(p)
    add_case("garbage_header",
             "v2_none: bytes [8, 17) of the batch at %d (batchLength, partitionLeaderEpoch, magic) "
             "overwritten with 0xFF: batchLength = -1. The walk stops there; the third batch is "
             "not reached." % b["position"],
             p, [finding(f, "bad_size", ERROR, b["position"])], may_also=["bad_magic"])

    # extra: magic 3
    b = m["batches"][1]
    p = copy_segment("v2_none", "bad_magic")
    buf = load(p)
    buf[b["position"] + 16] = 3
    save(p, buf)
    add_case("bad_magic",
             "v2_none: magic byte of the batch at %d set to 3 (not covered by the CRC). The size "
             "is intact, so the walk continues to the next batch." % b["position"],
             p, [finding(f, "bad_magic", ERROR, b["position"])])

    # 14. offsets going backwards
    b, prev = m["batches"][2], m["batches"][1]
    new_base = prev["last_offset"] - 1
    p = copy_segment("v2_none", "offsets_backwards")
    buf = load(p)
    struct.pack_into(">q", buf, b["position"], new_base)
    fix_crc_v2(buf, b["position"])  # no-op: baseOffset is outside the CRC range
    save(p, buf)
    add_case("offsets_backwards",
             "v2_none: baseOffset of the batch at %d set %d -> %d (now %d-%d), below the previous "
             "batch's last offset %d. (baseOffset is not CRC-covered; the CRC stays valid.)" %
             (b["position"], b["base_offset"], new_base, new_base,
              new_base + b["last_offset_delta"], prev["last_offset"]),
             p, [finding(f, "offsets_backwards", ERROR, b["position"], new_base)])

    # 15a. recordsCount + 1 / - 1
    for case, which, delta in (("record_count_plus1", 1, 1), ("record_count_minus1", 2, -1)):
        b = m["batches"][which]
        p = copy_segment("v2_none", case)
        buf = load(p)
        struct.pack_into(">i", buf, b["position"] + 57, b["record_count"] + delta)
        fix_crc_v2(buf, b["position"])
        save(p, buf)
        add_case(case,
                 "v2_none: recordsCount of the batch at %d set %d -> %d, CRC recomputed." %
                 (b["position"], b["record_count"], b["record_count"] + delta),
                 p, [finding(f, "record_count_mismatch", ERROR, b["position"], b["base_offset"])],
                 may_also=["bad_record", "max_timestamp_mismatch"])

    # 15b. maxTimestamp wrong on a CreateTime batch
    b = m["batches"][0]
    p = copy_segment("v2_none", "max_timestamp_wrong")
    buf = load(p)
    struct.pack_into(">q", buf, b["position"] + 35, b["max_timestamp"] + 1000)
    fix_crc_v2(buf, b["position"])
    save(p, buf)
    add_case("max_timestamp_wrong",
             "v2_none: maxTimestamp of the CreateTime batch at %d set %d -> %d, CRC recomputed." %
             (b["position"], b["max_timestamp"], b["max_timestamp"] + 1000),
             p, [finding(f, "max_timestamp_mismatch", ERROR, b["position"], b["base_offset"])])

    # 15c. codec id 6
    b = m["batches"][1]
    p = copy_segment("v2_none", "bad_codec_v2")
    buf = load(p)
    buf[b["position"] + 22] = (buf[b["position"] + 22] & ~7) | 6
    fix_crc_v2(buf, b["position"])
    save(p, buf)
    add_case("bad_codec_v2",
             "v2_none: attributes of the batch at %d set to codec id 6, CRC recomputed." %
             b["position"], p, [finding(f, "bad_attributes", ERROR, b["position"], b["base_offset"])],
             may_also=["decompress"])

    # extra: zstd codec in a v1 wrapper
    mg = seg_meta("v1_gzip")
    b = mg["batches"][0]
    p = copy_segment("v1_gzip", "zstd_in_v1")
    buf = load(p)
    buf[b["position"] + 17] = (buf[b["position"] + 17] & ~7) | 4
    fix_crc_legacy(buf, b["position"])
    save(p, buf)
    (wrapper_offset,) = struct.unpack_from(">q", buf, b["position"])  # the last inner offset
    assert wrapper_offset == b["last_offset"]
    fg = os.path.basename(p)
    add_case("zstd_in_v1",
             "v1_gzip: the wrapper at %d relabelled as zstd (codec 4, not allowed in magic 0/1), "
             "message CRC-32 recomputed." % b["position"],
             p, [finding(fg, "bad_attributes", ERROR, b["position"], wrapper_offset)], may_also=["decompress"])

    # extra: bad_record: last record's value length runs past the batch
    b = m["batches"][0]
    p = copy_segment("v2_none", "bad_record")
    buf = load(p)
    recs = parse_v2_records(buf, b["position"] + 61, b["position"] + b["size"])
    r = recs[-1]
    old_enc = zigzag_varint(r["value_len"])
    new_len = 4000
    new_enc = zigzag_varint(new_len)
    assert len(old_enc) == len(new_enc) and r["value_pos"] + new_len > b["position"] + b["size"]
    buf[r["value_len_pos"]:r["value_pos"]] = new_enc
    fix_crc_v2(buf, b["position"])
    save(p, buf)
    add_case("bad_record",
             "v2_none: valueLength of the last record (offset %d) of the batch at %d set %d -> "
             "%d (same varint width), running past the record and the batch; CRC recomputed." %
             (b["last_offset"], b["position"], r["value_len"], new_len),
             p, [finding(f, "bad_record", ERROR, b["position"], b["base_offset"])],
             may_also=["record_count_mismatch", "max_timestamp_mismatch"])

    # extra: control record with a negative key version
    mt = seg_meta("v2_transactions")
    b = [x for x in mt["batches"] if x["control"]][0]
    p = copy_segment("v2_transactions", "bad_control_record")
    buf = load(p)
    recs = parse_v2_records(buf, b["position"] + 61, b["position"] + b["size"])
    k = recs[0]["key_pos"]
    assert recs[0]["key_len"] == 4 and buf[k:k + 2] == b"\x00\x00"
    buf[k:k + 2] = b"\xff\xff"
    fix_crc_v2(buf, b["position"])
    save(p, buf)
    ft = os.path.basename(p)
    add_case("bad_control_record",
             "v2_transactions: the COMMIT marker batch at %d: its control key version set to -1 "
             "(0xffff); CRC recomputed." % b["position"],
             p, [finding(ft, "bad_control_record", ERROR, b["position"], b["base_offset"])])

    # extra: decompress failure with a valid CRC
    m2 = seg_meta("v2_gzip")
    b = m2["batches"][1]
    p = copy_segment("v2_gzip", "decompress_gzip")
    buf = load(p)
    flip(buf, b["position"] + 61)
    fix_crc_v2(buf, b["position"])
    save(p, buf)
    add_case("decompress_gzip",
             "v2_gzip: gzip magic byte of the batch at %d damaged (0x1f -> 0x1e), then the batch "
             "CRC recomputed: only decompression fails." % b["position"],
             p, [finding(os.path.basename(p), "decompress", ERROR, b["position"],
                         b["base_offset"])],
             may_also=["record_count_mismatch"])


def zigzag_varint(v):
    z = (v << 1) ^ (v >> 63)
    out = bytearray()
    while True:
        b = z & 0x7F
        z >>= 7
        if z:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def clean_fixtures():
    """The valid fixtures themselves (not copied): no error finding expected."""
    for name in ("legacy-0", "noindex-0"):
        add_case("clean_partition_" + name.replace("-", "_"),
                 "Valid fixture testdata/partitions/%s (not copied)." % name,
                 os.path.join(PART, name), [])
    for fixture in sorted(os.listdir(SEG)):
        d = os.path.join(SEG, fixture)
        (log,) = [f for f in os.listdir(d) if f.endswith(".log")]
        add_case("clean_segment_" + fixture, "Valid fixture testdata/segments/%s (not copied)." %
                 fixture, os.path.join(d, log), [])


# ---------------------------------------------------------------------------

def validate():
    """Run the independent checker on every case and compare."""
    bad = 0
    for c in CASES:
        got = check_path(os.path.join(ROOT, c["verify_path"]))
        exp = {(f["file"], f["kind"], f["severity"], f["position"]) for f in c["findings"]}
        missing = exp - set(got)
        unexpected = [g for g in got if g not in exp and g[2] == ERROR and g[1] not in c["may_also"]]
        if missing or unexpected:
            bad += 1
            print("%s: checker disagrees: missing %s, unexpected %s" %
                  (c["case"], sorted(missing, key=str), unexpected), file=sys.stderr)
        if (1 if any(g[2] == ERROR for g in got) else 0) != c["exit_code"]:
            bad += 1
            print("%s: exit code %d but checker found %s" % (c["case"], c["exit_code"], got),
                  file=sys.stderr)
    if bad:
        sys.exit("corrupt.py: %d disagreement(s)" % bad)


def main():
    if os.path.exists(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    demo()
    segments()
    clean_fixtures()
    validate()
    with open(os.path.join(OUT, "expected.json"), "w") as fh:
        json.dump(CASES, fh, indent=1)
        fh.write("\n")
    print("wrote %d cases to %s" % (len(CASES), rel(OUT)))


if __name__ == "__main__":
    main()
