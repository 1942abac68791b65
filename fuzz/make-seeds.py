#!/usr/bin/env python3
"""Write the fuzz targets' seed corpora, fuzz/seeds/<target>/, from the small
real files under testdata/ (framed as each target reads its input), and with
--pathological DIR the large pathological inputs for the text parsers (not
committed: fuzz/run.sh and bench/run.sh generate them).

    python3 fuzz/make-seeds.py                 # rewrite fuzz/seeds/
    python3 fuzz/make-seeds.py --pathological DIR [--mib N]

Python 3 standard library only. Deterministic.
"""

import glob
import hashlib
import os
import shutil
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TD = os.path.join(ROOT, "testdata")
SEEDS = os.path.join(HERE, "seeds")
MAX = 64 << 10  # no seed larger than this: libFuzzer mutates small inputs best


def read(p):
    with open(p, "rb") as f:
        return f.read()


def u16(b):
    assert len(b) < 1 << 16
    return struct.pack("<H", len(b))


def frame(*parts):
    """common::parts framing: each part but the last prefixed by its u16 length."""
    out = b""
    for p in parts[:-1]:
        out += u16(p) + p
    return out + parts[-1]


def files(pattern):
    return sorted(p for p in glob.glob(os.path.join(TD, pattern), recursive=True)
                  if os.path.isfile(p) and os.path.getsize(p) <= MAX)


def varint(b, i):
    shift = raw = 0
    while True:
        c = b[i]
        i += 1
        raw |= (c & 0x7F) << shift
        if not c & 0x80:
            return (raw >> 1) ^ -(raw & 1), i
        shift += 7


def v2_records(data):
    """(key, value) of each record of each uncompressed v2 batch."""
    pos = 0
    while pos + 61 <= len(data):
        (length,) = struct.unpack_from(">i", data, pos + 8)
        end = pos + 12 + length
        if length < 49 or end > len(data):
            return
        magic, attrs = data[pos + 16], struct.unpack_from(">h", data, pos + 21)[0]
        if magic == 2 and attrs & 7 == 0:
            i = pos + 61
            try:
                while i < end:
                    n, j = varint(data, i)
                    rend = j + n
                    j += 1
                    _, j = varint(data, j)
                    _, j = varint(data, j)
                    kl, j = varint(data, j)
                    key = data[j:j + kl] if kl >= 0 else None
                    j += max(kl, 0)
                    vl, j = varint(data, j)
                    value = data[j:j + vl] if vl >= 0 else None
                    yield key, value
                    i = rend
            except IndexError:
                pass
        pos = end


def batches(data):
    """(magic, attributes, records section) of each v2 batch."""
    pos = 0
    while pos + 61 <= len(data):
        (length,) = struct.unpack_from(">i", data, pos + 8)
        end = pos + 12 + length
        if length < 49 or end > len(data):
            return
        if data[pos + 16] == 2:
            yield 2, struct.unpack_from(">h", data, pos + 21)[0], data[pos + 61:end]
        pos = end


def seeds():
    out = {}
    add = lambda target, data: out.setdefault(target, []).append(data)
    logs = files("segments/*/*.log") + files("producers/*/*.log") + files("decode/*/*.log") \
        + files("partitions/*/*.log") + files("files/logdir/*/*.log")
    for p in logs:
        add("decode_segment", read(p))
        add("stats_producers", read(p))
    for p in logs:
        for magic, attrs, section in batches(read(p)):
            if attrs & 7 and len(section) < MAX:
                add("decompress", bytes([attrs & 7 | (2 << 3) | (5 << 5)]) + section)
    for p in files("files/logdir/**/*") + files("producers/*/*.snapshot") + files("producers/*/*.txnindex"):
        if not p.endswith((".log", ".index", ".timeindex")):
            add("parse_files", read(p))
    for p in files("partitions/*/*.log") + files("files/logdir/*/*.log") + files("corrupt/**/*.log"):
        stem = p[:-4]
        idx = read(stem + ".index") if os.path.exists(stem + ".index") else b""
        tix = read(stem + ".timeindex") if os.path.exists(stem + ".timeindex") else b""
        for selector in (0x00, 0x04 | (7 << 3)):
            add("verify_find", bytes([selector]) + frame(idx, tix, read(p)))
    topics = {"__consumer_offsets": 0, "__transaction_state": 1, "__cluster_metadata": 2,
              "__remote_log_metadata": 3, "__share_group_state": 4}
    for p in files("decode/*/*.log"):
        kind = topics[os.path.basename(os.path.dirname(p)).rsplit("-", 1)[0]]
        for key, value in v2_records(read(p)):
            sel = kind | (8 if key is None else 0) | (16 if value is None else 0)
            add("topics", bytes([sel]) + frame(key or b"", value or b""))
        # kafka_text: the .log with that topic's decoder, deep, data printed.
        add("kafka_text", bytes([0 | 8 | 16, (kind + 1) << 5 | 2]) + frame(read(p), b""))
    ext = {".log": 0, ".index": 1, ".timeindex": 2, ".snapshot": 3, ".txnindex": 4, ".checkpoint": 5}
    for p in files("files/logdir/*/*") + files("producers/*/*") + files("segments/*/*.log"):
        e = os.path.splitext(p)[1]
        if e not in ext:
            continue
        log = p[: -len(e)] + ".log"
        sibling = read(log) if e != ".log" and os.path.exists(log) else b""
        for a in (ext[e] | 8 | 16, ext[e] | 128, ext[e] | 64):
            parser = 3 if e == ".checkpoint" else 0  # KRaft snapshots: the metadata decoder
            add("kafka_text", bytes([a, parser << 5 | 2]) + frame(read(p), sibling))
    return out


def write_seeds():
    if os.path.exists(SEEDS):
        shutil.rmtree(SEEDS)
    total = 0
    for target, items in sorted(seeds().items()):
        d = os.path.join(SEEDS, target)
        os.makedirs(d)
        for data in items:
            name = hashlib.sha1(data).hexdigest()
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
            total += len(data)
        print("%-16s %4d seeds" % (target, len(os.listdir(d))))
    print("%d bytes in all" % total)


# ---------------------------------------------------------------------------
# Pathological inputs for the text parsers: each named so that `kseg dump`
# reads it as its kind, and so that parse_files (every text format at once)
# replays it.

def pathological(size):
    """(file name, bytes) of about `size` bytes each."""
    cont = b"\\\\\\\n"  # a line of three backslashes: continues
    yield "continuation/meta.properties", cont * (size // len(cont))
    yield "continuation-kv/meta.properties", b"a=" + b"x\\\n" * (size // 3)
    yield "unicode-escapes/meta.properties", b"a=" + b"\\u0041" * (size // 6)
    yield "escapes/meta.properties", b"k\\=" * (size // 3) + b"=v\n"
    yield "huge-line/meta.properties", b"version=0\ncluster.id=" + b"x" * size + b"\n"
    yield "huge-key/meta.properties", b"x" * size + b"=1\n"
    yield "comments/meta.properties", b"#" * size + b"\n"
    yield "huge-line/recovery-point-offset-checkpoint", b"0\n1\n" + b"t" * size + b" 0 1\n"
    yield "many-lines/recovery-point-offset-checkpoint", b"0\n%d\n" % (size // 8) + b"t 0 1\n" * (size // 6)
    yield "huge-number/recovery-point-offset-checkpoint", b"0\n1\nt 0 " + b"9" * size + b"\n"
    yield "huge-line/leader-epoch-checkpoint", b"0\n1\n" + b"1" * size + b" 0\n"
    yield "many-lines/leader-epoch-checkpoint", b"0\n%d\n" % (size // 4) + b"1 0\n" * (size // 4)
    yield "huge-line/partition.metadata", b"version: 0\ntopic_id: " + b"A" * size + b"\n"
    yield "huge-string/quorum-state", b'{"leaderId":1,"x":"' + b"a" * size + b'","data_version":1}'
    yield "deep/quorum-state", b"[" * (size // 2) + b"]" * (size // 2)
    yield "many-fields/quorum-state", b"{" + b'"a":1,' * (size // 6) + b'"data_version":1}'
    yield "huge-line/.kafka_cleanshutdown", b'{"version":0,"broker_epoch":' + b"1" * size + b"}"


def write_pathological(out, mib):
    size = int(mib * (1 << 20))
    for name, data in pathological(size):
        p = os.path.join(out, name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
        print(p)


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--pathological":
        mib = float(sys.argv[4]) if len(sys.argv) >= 5 and sys.argv[3] == "--mib" else 1.0
        write_pathological(sys.argv[2], mib)
    else:
        write_seeds()
