#!/usr/bin/env python3
"""Generate partition directories for `kseg producers` (and `kseg stats`).

Each case is a broker-style partition directory under testdata/producers/:
`.log` segments whose batches come from kafka-python 3.0.12's
DefaultRecordBatchBuilder (through make_fixtures.build_v2, which sets the
broker-side fields and CRCs), plus the `.txnindex` and `.snapshot` files a
broker would write, computed here from this script's own model of Kafka's
ProducerStateManager (independent of kseg):

* txnindex: one 34-byte entry (version 0, producerId, firstOffset,
  lastOffset = ABORT marker offset, lastStableOffset) per ABORT marker, in
  the segment that holds the marker. lastStableOffset = first offset of the
  earliest transaction still open for another producer, else marker + 1.
* snapshot `<log end offset>.snapshot`: version 1, CRC-32C of bytes [6, EOF),
  one 46-byte entry per producer: epoch of its last batch; lastSequence,
  lastOffset, offsetDelta, timestamp of its last data batch in that epoch
  (-1, -1, 0, -1 when none); coordinatorEpoch of its last marker (-1 when
  none); currentTxnFirstOffset of its open transaction (-1 when none).

Then each case damages what it is named for (drops a batch, writes one
twice, leaves out a txnindex entry, ...). The expected findings are written
from the construction, not computed by a checker, into
testdata/producers/expected.json. Every .log is read back with
kafka-python's reader (CRCs, offsets, producer fields) before the run ends.

    pip install -r testdata/gen/requirements.txt
    python3 testdata/gen/make_producer_fixtures.py

Deterministic: fixed timestamps, no randomness; only uncompressed, lz4 and
zstd batches (gzip output would depend on the zlib version).
"""

import json
import os
import shutil
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_fixtures as mf  # noqa: E402  (kafka-python builders, CRC fix-ups)
from kafka.record.util import calc_crc32c  # noqa: E402

OUT = os.path.join(mf.TESTDATA, "producers")
T0 = mf.T0 + 500000
MIN = 60 * 1000
INT32_MAX = 2**31 - 1


def seq_add(seq, n):
    """Kafka's sequence arithmetic: wraps from Integer.MAX_VALUE to 0."""
    return (seq + n) % (INT32_MAX + 1)


class Log:
    """One partition being written, with the broker's producer-state model."""

    def __init__(self, name):
        self.name = name
        self.segments = [(0, [])]  # (base offset, [(raw, info)])
        self.next_offset = 0
        self.ts = T0
        self.open = {}  # pid -> first offset of its open transaction
        self.aborted = []  # (segment base, pid, first, last, lso)
        self.state = {}  # pid -> dict (the ProducerStateEntry we expect in a snapshot)
        self.removed = 0  # offsets missing between batches
        self.within = 0  # offsets a batch spans with no record

    def roll(self):
        self.segments.append((self.next_offset, []))

    def skip(self, n):
        """Offsets the log cleaner removed (compaction)."""
        self.next_offset += n
        self.removed += n

    def tick(self, ms=10):
        self.ts += ms
        return self.ts

    def _append(self, raw, info):
        self.segments[-1][1].append((raw, info))

    def _entry(self, pid, epoch):
        st = self.state.setdefault(pid, {"epoch": epoch, "last_seq": -1, "last_offset": -1, "offset_delta": 0,
                                         "timestamp": -1, "coordinator_epoch": -1})
        if st["epoch"] != epoch:  # maybeUpdateProducerEpoch clears the batch metadata
            st.update(epoch=epoch, last_seq=-1, last_offset=-1, offset_delta=0, timestamp=-1)
        return st

    def data(self, pid, epoch, seq, n, *, txn=False, codec="none", deltas=None, track=True, ts=None):
        """A data batch of n records (or records at `deltas`, lastOffsetDelta = n - 1)."""
        base = self.next_offset
        t0 = self.tick() if ts is None else ts
        self.ts = max(self.ts, t0)
        deltas = list(range(n)) if deltas is None else deltas
        recs = [mf.Rec(d, t0 + i, b"%s-%d-%d" % (self.name.encode(), pid, base + d), mf.lorem(base + d, 60))
                for i, d in enumerate(deltas)]
        max_ts = t0 + len(deltas) - 1 if deltas else t0
        raw, _ = mf.build_v2(recs, base_offset=base, codec=codec, producer_id=pid, producer_epoch=epoch,
                             base_sequence=seq, transactional=txn, last_offset_delta=n - 1,
                             empty_max_ts=max_ts if not deltas else None)
        self.within += n - len(deltas)
        last = base + n - 1
        self._append(raw, {"base": base, "last": last, "pid": pid})
        self.next_offset = last + 1
        if track:
            st = self._entry(pid, epoch)
            if seq >= 0:
                st.update(last_seq=seq_add(seq, n - 1), last_offset=last, offset_delta=n - 1, timestamp=max_ts)
            if txn and pid not in self.open:
                self.open[pid] = base
        return base, last

    def marker(self, pid, epoch, commit, coordinator_epoch=0):
        off = self.next_offset
        t = self.tick()
        rec = mf.control_rec(0, t, 1 if commit else 0, mf.end_txn_value(coordinator_epoch))
        raw, _ = mf.build_v2([rec], base_offset=off, producer_id=pid, producer_epoch=epoch, base_sequence=-1,
                             transactional=True, control=True)
        self._append(raw, {"base": off, "last": off, "pid": pid})
        self.next_offset = off + 1
        st = self._entry(pid, epoch)
        st["coordinator_epoch"] = coordinator_epoch
        first = self.open.pop(pid, off)
        if not commit:
            others = sorted(self.open.values())
            lso = others[0] if others else off + 1
            self.aborted.append((self.segments[-1][0], pid, first, off, lso))
        return off

    def plain(self, n):
        """Non-idempotent data (producer id -1)."""
        return self.data(-1, -1, -1, n, track=False)

    # ---- files
    def write(self, *, txnindex=True, snapshot=True, drop_txn_entries=(), extra_txn_entries=(),
              snapshot_edit=None):
        d = os.path.join(OUT, self.name)
        os.makedirs(d)
        files = []
        for base, batches in self.segments:
            data = b"".join(raw for raw, _ in batches)
            path = os.path.join(d, "%020d.log" % base)
            with open(path, "wb") as f:
                f.write(data)
            check_with_kafka_python(data, batches)
            files.append("%020d.log" % base)
        entries = {}
        if txnindex:
            for seg, pid, first, last, lso in self.aborted:
                if (pid, last) in drop_txn_entries:
                    continue
                entries.setdefault(seg, []).append((pid, first, last, lso))
        for seg, pid, first, last, lso in extra_txn_entries:
            entries.setdefault(seg, []).append((pid, first, last, lso))
        txn_json = []
        for seg in sorted(entries):
            es = sorted(entries[seg], key=lambda e: e[2])
            raw = b"".join(struct.pack(">hqqqq", 0, *e) for e in es)
            with open(os.path.join(d, "%020d.txnindex" % seg), "wb") as f:
                f.write(raw)
            txn_json.append({"file": "%020d.txnindex" % seg, "entries": [
                {"producer_id": p, "first_offset": a, "last_offset": b, "last_stable_offset": l} for p, a, b, l in es]})
        snap_json = None
        if snapshot:
            snap = []
            for pid in sorted(self.state):
                st = dict(self.state[pid])
                st["current_txn_first_offset"] = self.open.get(pid, -1)
                snap.append((pid, st))
            if snapshot_edit:
                snap = snapshot_edit(snap)
            body = struct.pack(">i", len(snap))
            for pid, st in snap:
                body += struct.pack(">qhiqiqiq", pid, st["epoch"], st["last_seq"], st["last_offset"],
                                    st["offset_delta"], st["timestamp"], st["coordinator_epoch"],
                                    st["current_txn_first_offset"])
            raw = struct.pack(">hI", 1, calc_crc32c(body)) + body
            assert len(raw) == 10 + 46 * len(snap)
            name = "%020d.snapshot" % self.next_offset
            with open(os.path.join(d, name), "wb") as f:
                f.write(raw)
            snap_json = {"file": name, "offset": self.next_offset,
                         "entries": [dict(producer_id=pid, **st) for pid, st in snap]}
        return {"path": os.path.relpath(d, os.path.dirname(mf.TESTDATA)), "segments": files,
                "log_end_offset": self.next_offset,
                "last_stable_offset": min(self.open.values()) if self.open else self.next_offset,
                "missing_between": self.removed, "missing_within": self.within, "txnindex": txn_json, "snapshot": snap_json}


def check_with_kafka_python(data, batches):
    kbs = mf.kp_batches(data)
    assert len(kbs) == len(batches)
    for (pos, kb), (_, info) in zip(kbs, batches):
        assert kb.validate_crc()
        assert kb.base_offset == info["base"] and kb.last_offset == info["last"], (kb.base_offset, info)
        assert kb.producer_id == info["pid"]
        list(kb)  # every record decodes


def finding(kind, pid, epoch, first, last):
    return {"kind": kind, "producer_id": pid, "epoch": epoch, "first_offset": first, "last_offset": last}


CASES = []


def case(fn):
    CASES.append(fn)
    return fn


@case
def clean_idempotent():
    log = Log("clean_idempotent-0")
    log.data(100, 0, 0, 5)
    log.data(200, 3, 0, 4, codec="lz4")
    log.plain(3)
    log.data(100, 0, 5, 5, codec="zstd")
    log.data(300, 0, INT32_MAX - 2, 5)  # sequences 2147483645..2147483647, 0, 1
    log.roll()
    log.data(200, 3, 4, 4)
    log.data(300, 0, 2, 3)  # continues after the wrap
    log.data(100, 1, 0, 2)  # epoch bump: sequences restart at 0
    log.data(100, 1, 2, 6, codec="lz4")
    log.data(200, 3, 8, 1)
    exp = log.write()
    exp.update(exit_code=0, anomalies=[], notes=[], description=(
        "two segments (base 0 and 22); producers 100 (epoch 0 then 1, sequences restart at 0), 200 (epoch 3, "
        "spans both segments), 300 (sequences wrap from 2147483647 to 0), and non-idempotent data; snapshot "
        "at the log end agrees with the log"),
        producers={"100": {"epochs": [0, 1], "sequences": {"0": [[0, 9]], "1": [[0, 7]]}},
                   "200": {"epochs": [3], "sequences": {"3": [[0, 8]]}},
                   "300": {"epochs": [0], "sequences": {"0": [[INT32_MAX - 2, 4]]}}})
    return exp


@case
def clean_transactions():
    log = Log("clean_transactions-0")
    log.data(500, 2, 0, 3, txn=True)
    log.data(501, 0, 0, 2, txn=True, codec="lz4")
    log.data(500, 2, 3, 2, txn=True)
    log.plain(2)
    log.marker(500, 2, commit=True, coordinator_epoch=7)
    log.roll()
    log.data(502, 1, 0, 4, txn=True)
    # 501 aborts while 502's transaction is open: lastStableOffset = 502's first offset
    log.marker(501, 0, commit=False, coordinator_epoch=7)
    log.data(501, 0, 2, 2, txn=True)
    log.marker(501, 0, commit=False, coordinator_epoch=8)  # aborted, nothing else open but 502's
    log.data(502, 1, 4, 2, txn=True, codec="zstd")
    log.marker(502, 1, commit=True, coordinator_epoch=8)
    log.data(501, 0, 4, 3, txn=True)  # an open transaction, still in flight (20 ms old)
    log.marker(500, 2, commit=False, coordinator_epoch=8)  # an abort with no data in this partition
    exp = log.write()
    assert len(exp["txnindex"]) == 1 and len(exp["txnindex"][0]["entries"]) == 3
    exp.update(exit_code=0, anomalies=[], notes=[finding("open_transaction", 501, 0, 21, 23)], description=(
        "two segments; 500 commits a transaction with interleaved non-transactional data; 501 aborts twice "
        "while 502's transaction (spanning the abort) is open, so the .txnindex lastStableOffset is 502's first "
        "offset; 502 commits; 501 leaves a transaction open 20 ms before the newest timestamp (in flight: a "
        "note); 500 aborts with no data here (firstOffset = marker). .txnindex and snapshot agree with the log"),
        producers={"500": {"committed": 1, "aborted": 1, "open_first_offset": None},
                   "501": {"committed": 0, "aborted": 2, "open_first_offset": 21},
                   "502": {"committed": 1, "aborted": 0, "open_first_offset": None}})
    return exp


@case
def clean_compacted():
    log = Log("clean_compacted-0")
    log.data(700, 0, 0, 5)
    log.skip(5)  # the batch with sequences 5..9 was cleaned away
    log.data(700, 0, 10, 5, deltas=[1, 4])  # records 0, 2, 3 removed inside the batch
    log.plain(2)
    log.skip(3)
    log.data(700, 0, 15, 4, deltas=[])  # an empty batch the cleaner keeps for producer state
    log.data(701, 2, 0, 3)
    exp = log.write()
    exp.update(exit_code=0, anomalies=[], notes=[finding("sequence_gap", 700, 0, 4, 10)], description=(
        "a compacted log: producer 700's batch with sequences 5..9 (offsets 5..9) was removed whole, another "
        "batch lost records inside, an empty batch was kept; the sequence gap is explained by the removed "
        "offsets (a note, exit 0)"))
    return exp


@case
def sequence_gap():
    log = Log("sequence_gap-0")
    log.data(800, 0, 0, 5)
    log.data(801, 0, 0, 2)
    log.data(800, 0, 10, 5, codec="lz4")  # sequences 5..9 never arrived
    log.data(800, 0, 15, 2)
    exp = log.write()
    exp.update(exit_code=1, anomalies=[finding("sequence_gap", 800, 0, 4, 7)], notes=[], description=(
        "producer 800 jumps from sequence 4 (offset 4) to 10 (offset 7) with no offset missing: sequences "
        "5..9 were lost before the broker"))
    return exp


@case
def duplicate_batch():
    log = Log("duplicate_batch-0")
    log.data(900, 1, 0, 5)
    log.data(900, 1, 5, 5)
    log.data(900, 1, 5, 5)  # the same sequences again: a retry idempotence should have rejected
    log.data(900, 1, 10, 3)
    exp = log.write()
    exp.update(exit_code=1, anomalies=[finding("sequence_duplicate", 900, 1, 10, 14)], notes=[], description=(
        "producer 900 writes sequences 5..9 twice, at offsets 5..9 and again at 10..14"))
    return exp


@case
def epoch_fenced():
    log = Log("epoch_fenced-0")
    log.data(1000, 0, 0, 3)
    log.data(1000, 1, 0, 3)  # a new instance bumps the epoch: clean
    log.data(1000, 1, 3, 3)
    log.data(1000, 0, 3, 2)  # the old instance (epoch 0) still writes: fenced zombie
    log.data(1000, 0, 5, 2, codec="lz4")
    log.data(1000, 1, 6, 2)
    log.data(1001, 5, 0, 2)
    log.data(1001, 2, 0, 2)  # epoch goes back to one never seen
    exp = log.write(snapshot=False)
    exp.update(exit_code=1, anomalies=[finding("fenced_writer", 1000, 0, 9, 12),
                                       finding("epoch_backwards", 1001, 2, 17, 18)], notes=[], description=(
        "producer 1000 bumps its epoch 0 -> 1 (sequences restart at 0: clean), then epoch 0 writes offsets "
        "9..12 after epoch 1 took over (a fenced writer); producer 1001 goes from epoch 5 back to epoch 2"))
    return exp


@case
def hanging_transaction():
    log = Log("hanging_transaction-0")
    log.data(1100, 0, 0, 2, txn=True)
    log.marker(1100, 0, commit=True)
    log.data(1100, 0, 2, 3, txn=True)  # never committed or aborted
    log.data(1100, 0, 5, 1, txn=True)
    log.ts += 20 * MIN
    log.plain(4)  # other data 20 minutes later: past transaction.max.timeout.ms (15 min)
    log.data(1101, 0, 0, 2)
    exp = log.write()
    exp.update(exit_code=1, anomalies=[finding("hanging_transaction", 1100, 0, 3, 6)], notes=[], description=(
        "producer 1100 commits one transaction, then writes transactional data at offsets 3..6 with no marker; "
        "the partition goes on 20 minutes later, so the transaction hangs and holds the last stable offset at 3"))
    return exp


@case
def abort_missing_from_txnindex():
    log = Log("abort_missing_from_txnindex-0")
    log.data(1200, 0, 0, 2, txn=True)
    log.marker(1200, 0, commit=False)
    log.data(1200, 0, 2, 3, txn=True)
    log.marker(1200, 0, commit=False)
    log.data(1200, 0, 5, 2, txn=True)
    log.marker(1200, 0, commit=True)
    exp = log.write(drop_txn_entries=[(1200, 6)])
    assert len(exp["txnindex"][0]["entries"]) == 1
    exp.update(exit_code=1, anomalies=[finding("abort_missing_from_txnindex", 1200, 0, 3, 6)], notes=[],
               description=("producer 1200 aborts two transactions (markers at 2 and 6) and commits one; the "
                            ".txnindex lists only the first abort"))
    return exp


@case
def txnindex_extra():
    log = Log("txnindex_extra-0")
    log.data(1300, 0, 0, 2, txn=True)
    log.marker(1300, 0, commit=True)
    log.data(1300, 0, 2, 2, txn=True)
    log.marker(1300, 0, commit=False)
    exp = log.write(extra_txn_entries=[(0, 1300, 0, 2, 3)])
    exp.update(exit_code=1, anomalies=[finding("txnindex_extra", 1300, None, 0, 2)], notes=[], description=(
        "the .txnindex lists the COMMITTED transaction 0..2 as aborted (besides the real abort 3..5): a "
        "read_committed consumer would drop committed data"))
    return exp


@case
def snapshot_mismatch():
    log = Log("snapshot_mismatch-0")
    log.data(1400, 0, 0, 4)
    log.data(1401, 1, 0, 2)
    log.data(1400, 0, 4, 4)

    def edit(snap):
        out = []
        for pid, st in snap:
            if pid == 1400:
                st = dict(st, last_seq=11, last_offset=13)  # the snapshot remembers more than the log holds
            out.append((pid, st))
        return out

    exp = log.write(snapshot_edit=edit)
    exp.update(exit_code=1, anomalies=[finding("snapshot_mismatch", 1400, 0, 9, 9)], notes=[], description=(
        "the producer snapshot says producer 1400's last sequence is 11 at offset 13; the log ends its "
        "sequences at 7, offset 9"))
    return exp


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    cases = []
    for fn in CASES:
        exp = fn()
        exp["case"] = fn.__name__
        cases.append(exp)
    mf.write_json(os.path.join(OUT, "expected.json"), {"generator": mf.generator_block(), "cases": cases})
    print("ok: %d producer cases written to %s" % (len(cases), OUT))


if __name__ == "__main__":
    sys.exit(main())
