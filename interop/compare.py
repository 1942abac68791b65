#!/usr/bin/env python3
"""Comparisons of the interop suite (called by run.sh; standard library only).

Inputs (in --from, a report directory of a broker run):
  clean/data/   the log directory copied after a clean broker stop
  crash/data/   the log directory copied after kill -9 (optional)
  oracle/       what the Kafka clients saw (Oracle.java): partitions.tsv, records/, lookups.tsv,
                producers.jsonl
  live/runs.tsv the live loop's runs (run.sh), live/verify-churn-final.{json,err,rc} the fresh
                verify of the churn phase's directory after its clean stop

Outputs (in --out): report.md, differences.tsv, diffs/<category>/<n>.diff, kseg/ (kseg's JSON
for the record, producer and verify comparisons), and the summary line on stdout, last:

  interop: Kafka V, F files, O outputs compared, D differ; R records compared, RD differ; L lookups, LD differ

Exit status 1 when a difference is not covered by the expectations file, else 0.
"""
import argparse
import base64
import concurrent.futures
import difflib
import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections import defaultdict, OrderedDict

LOG_MODES = [[], ["--deep-iteration"], ["--print-data-log"],
             ["--deep-iteration", "--skip-record-metadata"], ["--print-data-log", "--skip-record-metadata"]]
INDEX_MODES = [[], ["--index-sanity-check"], ["--verify-index-only"]]
DECODER_MODES = {
    "offsets": [["--offsets-decoder"], ["--offsets-decoder", "--skip-record-metadata"]],
    "txnstate": [["--transaction-log-decoder"], ["--transaction-log-decoder", "--skip-record-metadata"]],
    "metadata": [["--cluster-metadata-decoder"], ["--cluster-metadata-decoder", "--skip-record-metadata"]],
}
DIFF_CONTEXT = 3
DIFF_LINES = 60


def dir_kind(name):
    if name.startswith("__cluster_metadata"):
        return "metadata"
    if name.startswith("__consumer_offsets"):
        return "offsets"
    if name.startswith("__transaction_state"):
        return "txnstate"
    if name.startswith("__"):
        return "internal"
    return "user"


def file_kind(path):
    """(kind, modes) for one file of a log directory."""
    name = os.path.basename(path)
    parent = os.path.basename(os.path.dirname(path))
    if re.match(r".*-\d+\.[0-9a-f]{32}-delete$", parent):
        dk = "deleted-topic"  # a deleted topic's directory, renamed until the broker removes it
    elif re.match(r".*-\d+$", parent):
        dk = dir_kind(parent)
    else:
        dk = "root"
    for state in (".deleted", ".cleaned", ".swap"):
        if name.endswith(state):
            return "%s%s@%s" % (name.split(".")[1] if name.count(".") > 1 else "file", state, dk), [[]]
    suffix = name.rsplit(".", 1)[1] if "." in name else ""
    active = False
    m = re.match(r"^(\d{20})\.", name)
    if m and suffix in ("log", "index", "timeindex"):
        bases = [f[:20] for f in os.listdir(os.path.dirname(path)) if re.match(r"^\d{20}\.log$", f)]
        active = bool(bases) and m.group(1) == max(bases)
    if suffix == "log" or (suffix == "checkpoint" and dk == "metadata"):
        modes = LOG_MODES + DECODER_MODES.get(dk, [])
        kind = suffix
    elif suffix in ("index", "timeindex"):
        modes = INDEX_MODES
        kind = suffix
    elif suffix in ("txnindex", "snapshot"):
        modes = [[]]
        kind = suffix
    else:
        modes = [[]]
        kind = "other:" + (name if not m else "*." + suffix)
    if active:
        kind += "-active"
    return "%s@%s" % (kind, dk), modes


def mode_name(flags):
    return "+".join(f.lstrip("-") for f in flags) or "default"


STACK_LINE = re.compile(r"^\t(at |\.\.\. \d+ more)")


def norm_err(b):
    return b"".join(l for l in b.splitlines(keepends=True) if not STACK_LINE.match(l.decode("utf-8", "replace")))


def first_diff(a, b):
    """Index of the first differing line, and the lines."""
    al = a.decode("utf-8", "replace").splitlines()
    bl = b.decode("utf-8", "replace").splitlines()
    i = 0
    while i < len(al) and i < len(bl) and al[i] == bl[i]:
        i += 1
    return i, al, bl


def reason(kafka_line, kseg_line):
    """A short name for why two first differing lines differ (the last part of a category)."""
    collapse = lambda x: re.sub("\ufffd+", "\ufffd", x)
    if kafka_line != kseg_line and collapse(kafka_line) == collapse(kseg_line):
        return "utf8-replacement"
    m = re.search(r'payload: \{"type":"([A-Z_]+)","version":(\d+)', kafka_line)
    if m:
        return "%s-v%s" % (m.group(1), m.group(2))
    m = re.search(r'key: \{"type":"(\d+)".*?payload: \{"version":"(\d+)"', kafka_line)
    if m:
        return "coordinator-type%s-v%s" % (m.group(1), m.group(2))
    if kafka_line.startswith("Exception in thread"):
        return "uncaught-exception-text"
    if kafka_line.startswith("The following indexed offsets are not found in :"):
        return "not-found-header"
    return "other"


def short(s, n=300):
    return s if len(s) <= n else s[:n] + "…(%d chars)" % len(s)


def unified(a, b, label_a, label_b):
    i, al, bl = first_diff(a, b)
    lo = max(0, i - DIFF_CONTEXT)
    wa, wb = al[lo:i + DIFF_LINES], bl[lo:i + DIFF_LINES]
    head = "first difference at line %d (of %d / %d lines)\n" % (i + 1, len(al), len(bl))
    body = "".join(short(l, 2000) + "\n" for l in difflib.unified_diff(wa, wb, label_a, label_b, lineterm="", n=DIFF_CONTEXT))
    return head + body, (al[i] if i < len(al) else "<end of output>"), (bl[i] if i < len(bl) else "<end of output>")


class Report:
    def __init__(self, out, expected_file, version=None):
        self.out = out
        self.patterns = []  # (pattern, reason)
        self.deliberate_patterns = set()
        if expected_file and os.path.exists(expected_file):
            for line in open(expected_file, encoding="utf-8"):
                line = line.rstrip("\n")
                if not line.strip() or line.lstrip().startswith("#"):
                    continue
                pat, _, reason = line.partition("#")
                pat = pat.strip()
                m = re.match(r"^\[([^\]]*)\]\s*(.*)$", pat)
                if m:  # [4.3.1,4.1.1] pattern: only for these versions of the dump tool
                    if version not in [v.strip() for v in m.group(1).split(",")]:
                        continue
                    pat = m.group(2)
                # "deliberate: PATTERN": kseg differs on purpose (docs/kafka-dump-log.md); such
                # differences are not counted in the summary line's D.
                if pat.startswith("deliberate:"):
                    pat = pat[len("deliberate:"):].strip()
                    self.deliberate_patterns.add(pat)
                self.patterns.append((pat, reason.strip()))
        self.used = set()
        self.by_cat = OrderedDict()  # category -> [count, example]
        self.n = 0
        os.makedirs(os.path.join(out, "diffs"), exist_ok=True)
        self.tsv = open(os.path.join(out, "differences.tsv"), "w", encoding="utf-8")
        self.tsv.write("category\texpected\twhat\tkafka\tkseg\tdiff\n")

    def expected(self, cat):
        for pat, _ in self.patterns:
            if fnmatch.fnmatchcase(cat, pat):
                self.used.add(pat)
                return True
        return False

    def deliberate(self, cat):
        """True when `cat` is a difference kseg makes on purpose."""
        for pat, _ in self.patterns:
            if fnmatch.fnmatchcase(cat, pat):
                return pat in self.deliberate_patterns
        return False

    def add(self, cat, what, kafka_line, kseg_line, diff_text=None):
        """Records one difference; returns True when expected."""
        self.n += 1
        exp = self.expected(cat)
        path = ""
        if diff_text is not None:
            d = os.path.join(self.out, "diffs", cat.replace("/", "_").replace("@", "_at_").replace(":", "_"))
            os.makedirs(d, exist_ok=True)
            path = os.path.join(d, "%05d.diff" % self.n)
            with open(path, "w", encoding="utf-8") as f:
                f.write(what + "\n" + diff_text)
        ent = self.by_cat.setdefault(cat, [0, None, exp])
        ent[0] += 1
        if ent[1] is None:
            ent[1] = (what, kafka_line, kseg_line, path)
        self.tsv.write("\t".join(x.replace("\t", " ").replace("\n", "\\n") for x in
                                 (cat, "yes" if exp else "no", what, short(kafka_line), short(kseg_line), path)) + "\n")
        return exp


def run_kseg(kseg, args, timeout=600):
    p = subprocess.run([kseg] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


# ------------------------------------------------------------------------------------ dump-log

def dump_log(a, rep, copies, raw):
    """Every file of every copy, in every mode that applies: DumpLogSegments vs kseg kafka-dump-log."""
    reqs = []
    files = 0
    for copy in copies:
        for dirpath, dirnames, filenames in os.walk(copy):
            dirnames.sort()
            for fn in sorted(filenames):
                path = os.path.join(dirpath, fn)
                kind, modes = file_kind(path)
                files += 1
                for flags in modes:
                    reqs.append(("r%06d" % len(reqs), ["--files", path] + flags, kind, mode_name(flags), path))
    os.makedirs(raw, exist_ok=True)
    with open(os.path.join(raw, "requests.tsv"), "w", encoding="utf-8") as f:
        for rid, args, _, _, _ in reqs:
            f.write(rid + "\t" + "\t".join(args) + "\n")
    print("[compare] dump-log: %d files, %d requests" % (files, len(reqs)), flush=True)
    t0 = time.time()
    java = subprocess.Popen(shlex.split(a.dump_cmd) + [os.path.join(raw, "kafka")],
                            stdin=open(os.path.join(raw, "requests.tsv"), "rb"),
                            stdout=open(os.path.join(raw, "dumpserver.log"), "wb"), stderr=subprocess.STDOUT)

    def kseg_one(req):
        rid, args = req[0], req[1]
        try:
            # The text of the tool compared with (kseg prints 4.4's unless told).
            version = [] if a.dump_version == "4.4.0" else ["--kafka-version", a.dump_version]
            rc, o, e = run_kseg(a.kseg, ["kafka-dump-log"] + args + version, timeout=300)
        except subprocess.TimeoutExpired:
            rc, o, e = 124, b"", b"kseg timed out\n"
        d = os.path.join(raw, "kseg")
        with open(os.path.join(d, rid + ".out"), "wb") as f:
            f.write(o)
        with open(os.path.join(d, rid + ".err"), "wb") as f:
            f.write(e)
        with open(os.path.join(d, rid + ".rc"), "w") as f:
            f.write("%d\n" % rc)

    os.makedirs(os.path.join(raw, "kseg"), exist_ok=True)
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as ex:
        list(ex.map(kseg_one, reqs))
    t1 = time.time()
    java.wait()
    t2 = time.time()
    print("[compare] dump-log: kseg %.0fs, DumpLogSegments (one JVM) %.0fs" % (t1 - t0, t2 - t0), flush=True)
    if java.returncode != 0:
        print("[compare] DumpServer failed, see %s" % os.path.join(raw, "dumpserver.log"), file=sys.stderr)
        sys.exit(2)

    outputs = differ = unexpected = 0
    for rid, args, kind, mode, path in reqs:
        kd, jd = os.path.join(raw, "kseg"), os.path.join(raw, "kafka")
        rd = lambda d, ext: open(os.path.join(d, rid + ext), "rb").read()
        jo, je, jr = rd(jd, ".out"), rd(jd, ".err"), rd(jd, ".rc").strip()
        ko, ke, kr = rd(kd, ".out"), rd(kd, ".err"), rd(kd, ".rc").strip()
        outputs += 1
        cmd = "kafka-dump-log " + " ".join(shlex.quote(x) for x in args)
        problems = []
        if jo != ko:
            problems.append(("stdout", jo, ko))
        jen, ken = norm_err(je), norm_err(ke)
        if jen != ken or jr != kr:
            problems.append(("stderr", jen + b"exit status " + jr + b"\n", ken + b"exit status " + kr + b"\n"))
        if not problems:
            for d in (kd, jd):
                for ext in (".out", ".err", ".rc"):
                    os.remove(os.path.join(d, rid + ext))
            continue
        all_expected = True
        all_deliberate = True
        for stream, j, k in problems:
            text, jl, kl = unified(j, k, "kafka " + a.dump_version, "kseg")
            cat = "dump-log/%s/%s/%s/%s" % (kind, mode, stream, reason(jl, kl))
            if not rep.add(cat, cmd, jl, kl, "$ " + cmd + "\n" + text):
                all_expected = False
            if not rep.deliberate(cat):
                all_deliberate = False
        if not all_deliberate:
            differ += 1
        if not all_expected:
            unexpected += 1
    return files, outputs, differ, unexpected


# ------------------------------------------------------------------------------------ records

def read_tsv(path):
    with open(path, encoding="utf-8") as f:
        return [l.rstrip("\n").split("\t") for l in f if l.strip()]


def kseg_dump(a, path, extra=()):
    rc, o, e = run_kseg(a.kseg, ["dump", "--records", "--format", "jsonl", "--key-encoding", "base64",
                                 "--value-encoding", "base64"] + list(extra) + [path])
    objs = []
    for line in o.decode("utf-8").splitlines():
        if line.strip():
            objs.append(json.loads(line))
    return rc, objs, e.decode("utf-8", "replace")


def records(a, rep, data, oracle, kdir):
    parts = {(r[0], int(r[1])): (int(r[2]), int(r[3]), int(r[4])) for r in read_tsv(os.path.join(oracle, "partitions.tsv"))}
    compared = differ = unexpected = 0
    committed_compared = 0
    for (topic, p), (lso_start, hw, lso) in sorted(parts.items()):
        if topic.startswith("__"):
            continue
        pdir = os.path.join(data, "%s-%d" % (topic, p))
        ru_file = os.path.join(oracle, "records", "%s-%d.ru.jsonl" % (topic, p))
        if not os.path.isdir(pdir) or not os.path.exists(ru_file):
            continue
        rc, objs, err = kseg_dump(a, pdir)
        with open(os.path.join(kdir, "dump-%s-%d.jsonl" % (topic, p)), "w", encoding="utf-8") as f:
            for o in objs:
                if o.get("type") != "record":
                    f.write(json.dumps(o) + "\n")
        ks = {}
        dups = 0
        batch = fileobj = None
        txn_entries = []
        ctl = {}
        for o in objs:
            t = o.get("type")
            if t == "file":
                fileobj = o
            elif t == "batch":
                batch = o
            elif t == "txn_entry":
                txn_entries.append(o)
            elif t == "record":
                rec = dict(o, _batch=batch, _file=fileobj)
                if batch and batch.get("is_control"):
                    ctl[o["offset"]] = rec
                    continue
                if o["offset"] in ks:
                    dups += 1
                    if True:
                        what = "%s-%d offset %d read twice by kseg dump (%s and %s)" % (
                            topic, p, o["offset"], ks[o["offset"]]["_file"]["file"], fileobj["file"])
                        rep.add("records/duplicate-offset%s" % ("/.deleted" if fileobj.get("state") else ""),
                                what, "once", "twice")
                    continue
                ks[o["offset"]] = rec
        oracle_recs = [json.loads(l) for l in open(ru_file, encoding="utf-8") if l.strip()]
        seen = set()
        for orec in oracle_recs:
            compared += 1
            off = orec["offset"]
            seen.add(off)
            k = ks.get(off)
            what = "%s-%d offset %d" % (topic, p, off)
            fields = []
            if k is None:
                fields.append(("missing", "present", "missing"))
            else:
                if k["timestamp"] != orec["timestamp"]:
                    fields.append(("timestamp", str(orec["timestamp"]), str(k["timestamp"])))
                for fld in ("key", "value"):
                    if k.get(fld) != orec[fld]:
                        fields.append((fld, str(orec[fld]), str(k.get(fld))))
                kh = [{"key": h["key"], "value": h.get("value")} for h in k.get("headers", [])]
                if kh != orec["headers"]:
                    fields.append(("headers", json.dumps(orec["headers"]), json.dumps(kh)))
            if fields:
                differ += 1
                exp = True
                for fld, kv, sv in fields:
                    if not rep.add("records/%s" % fld, what, kv, sv):
                        exp = False
                if not exp:
                    unexpected += 1
        extra = [off for off in ks if lso_start <= off < hw and off not in seen]
        for off in extra:
            st = ks[off]["_file"].get("state")
            cat = "records/extra" + ("/." + st if st else "")
            differ += 1
            if not rep.add(cat, "%s-%d offset %d: kseg has a record the consumer did not read (%s)" % (
                    topic, p, off, ks[off]["_file"]["file"]), "absent", "present"):
                unexpected += 1
        below = [off for off in ks if off < lso_start]
        if below:
            with open(os.path.join(kdir, "below-log-start.txt"), "a") as f:
                f.write("%s-%d: %d records below the log start offset %d (not read by a consumer; not compared)\n" % (topic, p, len(below), lso_start))

        # read_committed: what the consumer skipped must be exactly the aborted transactions of .txnindex
        rc_file = os.path.join(oracle, "records", "%s-%d.rc.jsonl" % (topic, p))
        if os.path.exists(rc_file):
            aborted = {}
            for te in txn_entries:
                aborted[(te["producer_id"], te["first_offset"], te["last_offset"])] = te
            aborted_ranges = defaultdict(list)
            for (pid, fo, lo) in aborted:
                aborted_ranges[pid].append((fo, lo))

            def is_aborted(rec):
                b = rec["_batch"]
                if not b or not b.get("is_transactional"):
                    return False
                return any(fo <= rec["offset"] <= lo for fo, lo in aborted_ranges.get(b["producer_id"], []))

            expected_rc = sorted(off for off, r in ks.items() if lso_start <= off < lso and not is_aborted(r))
            got_rc = [json.loads(l)["offset"] for l in open(rc_file, encoding="utf-8") if l.strip()]
            committed_compared += len(got_rc)
            compared += len(got_rc)
            es, gs = set(expected_rc), set(got_rc)
            only_k = sorted(es - gs)
            only_c = sorted(gs - es)
            with open(os.path.join(kdir, "committed-%s-%d.txt" % (topic, p)), "w") as f:
                f.write("LSO %d, %d aborted txns in .txnindex, consumer read %d, expected from kseg %d\n" % (
                    lso, len(aborted), len(got_rc), len(expected_rc)))
            if only_k or only_c:
                differ += len(only_k) + len(only_c)
                what = "%s-%d read_committed: %d offsets kseg says are committed but the consumer skipped (first %s), %d the consumer read but .txnindex says aborted (first %s)" % (
                    topic, p, len(only_k), only_k[:5], len(only_c), only_c[:5])
                if not rep.add("committed/%s" % topic, what, str(only_c[:10]), str(only_k[:10])):
                    unexpected += len(only_k) + len(only_c)
    return compared, differ, unexpected, committed_compared


# ------------------------------------------------------------------------------------ lookups

def lookups(a, rep, data, oracle):
    rows = read_tsv(os.path.join(oracle, "lookups.tsv"))
    log_start = {(r[0], int(r[1])): int(r[2]) for r in read_tsv(os.path.join(oracle, "partitions.tsv"))}

    def one(row):
        topic, p, spec, off, ts = row[0], int(row[1]), row[2], int(row[3]), int(row[4])
        pdir = os.path.join(data, "%s-%d" % (topic, p))
        rc, o, e = run_kseg(a.kseg, ["find-time", "--format", "json", pdir, spec])
        try:
            j = json.loads(o.decode("utf-8"))
        except ValueError:
            j = {"error": e.decode("utf-8", "replace").strip(), "rc": rc}
        return row, j

    n = differ = unexpected = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as ex:
        results = list(ex.map(one, rows))
    with open(os.path.join(a.out, "kseg", "lookups.tsv"), "w") as f:
        for row, j in results:
            f.write("\t".join(row) + "\t" + json.dumps(j) + "\n")
    for row, j in results:
        topic, p, spec, off, ts = row[0], int(row[1]), row[2], int(row[3]), int(row[4])
        n += 1
        koff = j.get("offset")
        koff = -1 if koff is None else koff
        kind = spec if spec in ("earliest", "latest", "max-timestamp") else "timestamp"
        if kind == "timestamp" and j.get("offset") is not None and j["offset"] < off and off == log_start.get((topic, p)):
            kind = "timestamp/below-log-start"
        bad = koff != off
        if spec == "max-timestamp" and not bad and off >= 0:
            bad = j.get("timestamp") != ts
        if bad:
            differ += 1
            what = "find-time %s-%d %s" % (topic, p, spec)
            if not rep.add("lookups/%s" % kind, what, "offset %d timestamp %d" % (off, ts),
                           "offset %s timestamp %s" % (j.get("offset"), j.get("timestamp")) if "error" not in j else str(j)):
                unexpected += 1
    return n, differ, unexpected


# ------------------------------------------------------------------------------------ producers

def producers(a, rep, data, oracle):
    want = [json.loads(l) for l in open(os.path.join(oracle, "producers.jsonl"), encoding="utf-8") if l.strip()]
    by_part = defaultdict(list)
    # Every partition the oracle described, also those where the broker had no producer:
    # kseg must list no producer there either.
    for r in read_tsv(os.path.join(oracle, "partitions.tsv")):
        by_part[(r[0], int(r[1]))]
    for w in want:
        by_part[(w["topic"], w["partition"])].append(w)
    n = differ = unexpected = 0
    fields_seen = defaultdict(int)
    out = open(os.path.join(a.out, "kseg", "producers.jsonl"), "w")
    for (topic, p), ws in sorted(by_part.items()):
        pdir = os.path.join(data, "%s-%d" % (topic, p))
        rc, o, e = run_kseg(a.kseg, ["producers", "--format", "json", pdir])
        try:
            j = json.loads(o.decode("utf-8"))
        except ValueError:
            rep.add("producers/no-output", "kseg producers %s-%d exit %d" % (topic, p, rc), "", e.decode()[:300])
            continue
        out.write(json.dumps({"partition": "%s-%d" % (topic, p), "kseg": j}) + "\n")
        part = (j.get("partitions") or [{}])[0]
        kp = {x["producer_id"]: x for x in part.get("producers", [])}
        for w in ws:
            n += 1
            pid = w["producer_id"]
            k = kp.get(pid)
            what = "%s-%d producer %d" % (topic, p, pid)
            if k is None:
                differ += 1
                if not rep.add("producers/missing", what, json.dumps(w), "not listed by kseg producers"):
                    unexpected += 1
                continue
            # The broker's view as kseg computes it; none is -1 on the wire (Oracle.java).
            none = lambda v: -1 if v is None else v
            mine = {
                "producer_epoch": k.get("epoch"),
                "last_sequence": k.get("last_sequence"),
                "last_timestamp": k.get("last_timestamp"),
                "coordinator_epoch": none(k.get("coordinator_epoch")),
                "current_txn_start_offset": none(k.get("current_txn_start_offset")),
            }
            bad = False
            for fld, mv in mine.items():
                if mv != w[fld]:
                    fields_seen[fld] += 1
                    bad = True
                    if not rep.add("producers/%s" % fld, what, str(w[fld]), str(mv)):
                        unexpected += 1
            if bad:
                differ += 1
        broker = {w["producer_id"] for w in ws}
        for pid in sorted(set(kp) - broker):
            n += 1
            differ += 1
            if not rep.add("producers/extra", "%s-%d producer %d" % (topic, p, pid), "not listed by describeProducers",
                           json.dumps({f: kp[pid].get(f) for f in ("epoch", "last_sequence", "last_timestamp")})):
                unexpected += 1
    out.close()
    return n, differ, unexpected


# ------------------------------------------------------------------------------------ groups

def groups(a, rep, data, oracle):
    """Every committed offset listConsumerGroupOffsets gave vs `kseg groups` on the clean copy."""
    path = os.path.join(oracle, "groups.jsonl")
    if not os.path.exists(path):
        return 0, 0, 0
    want = {(w["group"], w["topic"], w["partition"]): w["offset"]
            for w in (json.loads(l) for l in open(path, encoding="utf-8") if l.strip())}
    rc, o, e = run_kseg(a.kseg, ["groups", "--format", "json", data])
    with open(os.path.join(a.out, "kseg", "groups.json"), "wb") as f:
        f.write(o)
    try:
        j = json.loads(o.decode("utf-8"))
    except ValueError:
        rep.add("groups/no-output", "kseg groups exit %d" % rc, "", e.decode()[:300])
        return len(want), len(want), 1
    got = {(g["group"], x["topic"], x["partition"]): x["offset"] for g in j["groups"] for x in g["offsets"]}
    n = differ = unexpected = 0
    for key in sorted(set(want) | set(got)):
        n += 1
        w, k = want.get(key), got.get(key)
        if w == k:
            continue
        differ += 1
        cat = "groups/missing" if k is None else "groups/extra" if w is None else "groups/offset"
        if not rep.add(cat, "%s %s-%d" % key, str(w), str(k)):
            unexpected += 1
    if rc not in (0, 1):
        differ += 1
        if not rep.add("groups/exit", "kseg groups exit %d" % rc, "0", str(rc)):
            unexpected += 1
    return n, differ, unexpected


# ------------------------------------------------------------------------------------ rebuild-index

# The broker's log.index.interval.bytes (broker.sh); its KRaft metadata log keeps Kafka's default.
INDEX_INTERVAL = 512
METADATA_INDEX_INTERVAL = 4096


def rebuild(a, rep, data, which):
    """kseg rebuild-index over a copied log directory against the index files the broker wrote:
    `clean` (written live, the broker stopped with SIGTERM) or `recovered` (the broker rebuilt
    them in recovery after they were deleted). Every rolled segment's files must be the broker's,
    byte for byte; an active segment's must compare as equal (its preallocated zero tail, and,
    for a live-written one, the time-index entry the broker appends at roll/close, allowed).
    A `recovered` segment that was active at the start and that the broker appended to after its
    recovery (the third run's transactions; rarely, a roll after them) is checked up to its size
    before the start (`appended_after_recovery`). Returns (files compared, differing, unexpected, segments checked
    that way)."""
    dirs = sorted(d for d in os.listdir(data) if re.match(r".*-\d+$", d) and os.path.isdir(os.path.join(data, d)))
    only = None
    sizes = {}
    listed_sizes = os.path.join(os.path.dirname(data), "active-sizes.txt")
    if which == "recovered" and os.path.exists(listed_sizes):
        for line in open(listed_sizes, encoding="utf-8"):
            name, size = line.split()
            sizes[name] = int(size)
    appended = set()
    listed = os.path.join(os.path.dirname(data), "partitions.txt")
    if which == "recovered" and os.path.exists(listed):
        only = set(open(listed, encoding="utf-8").read().split())
        dirs = [d for d in dirs if d in only]
    out = os.path.join(a.out, "kseg", "rebuilt-" + which)
    shutil.rmtree(out, ignore_errors=True)
    segs = []
    groups = [([d for d in dirs if dir_kind(d) != "metadata"], INDEX_INTERVAL),
              ([d for d in dirs if dir_kind(d) == "metadata"], METADATA_INDEX_INTERVAL)]
    for group, interval in groups:
        if not group:
            continue
        rc, o, e = run_kseg(a.kseg, ["rebuild-index", "--out", out, "--index-interval-bytes", str(interval),
                                     "--format", "jsonl"] + [os.path.join(data, d) for d in group])
        if rc not in (0, 1):
            rep.add("rebuild/%s/exit%d" % (which, rc), "kseg rebuild-index %s" % " ".join(group), "exit 0", e.decode()[:300])
            return 0, 0, 1
        for line in o.decode("utf-8").splitlines():
            j = json.loads(line)
            if j.get("type") == "segment":
                segs.append(j)
    with open(os.path.join(a.out, "kseg", "rebuild-%s.jsonl" % which), "w", encoding="utf-8") as f:
        for j in segs:
            f.write(json.dumps(j) + "\n")
    n = differ = unexpected = 0
    for seg in segs:
        log = seg["log"]
        part = os.path.basename(os.path.dirname(log))
        dk = dir_kind(part)
        before = sizes.get(part + "/" + os.path.basename(log))
        prefix = None
        for fj in seg["files"]:
            kind = fj["kind"] + ("-active" if seg["active"] else "")
            theirs = fj.get("on_disk")
            ours = fj.get("written")
            n += 1
            ok = fj["status"] in ("identical", "identical_preallocated", "identical_unclosed", "absent")
            if ok and not seg["active"] and theirs:
                # The oracle for a rolled segment: the broker's bytes are the bytes kseg wrote
                # (an empty .txnindex, which an earlier recovery truncated, is none).
                tb = open(theirs, "rb").read()
                ob = open(ours, "rb").read() if ours else None
                ok = ob is None if (fj["kind"] == "txnindex" and not tb) else tb == ob
            if seg["failure"] is not None:
                ok = False
            if not ok and fj["kind"] in SLOTS and seg["failure"] is None and theirs and before is not None \
                    and before < os.path.getsize(log):
                if prefix is None:
                    prefix = rebuilt_before_appends(a, log, before, METADATA_INDEX_INTERVAL if dk == "metadata" else INDEX_INTERVAL)
                ours = prefix.get(fj["kind"])
                # kseg writes an .index and a .timeindex for every segment it rebuilds: none
                # means the rebuild of the cut segment failed, which is a difference
                ok = ours is not None and appended_after_recovery(ours, theirs, fj["kind"])
                if ok:
                    appended.add(log)
            if ok:
                continue
            differ += 1
            detail = {k: v for k, v in fj.items() if k not in ("kind", "written", "on_disk")}
            cat = "rebuild/%s/%s@%s/%s" % (which, kind, dk, fj["status"])
            if not rep.add(cat, "%s (%s)" % (log, fj["kind"]), "the broker's file", json.dumps(detail)[:300]):
                unexpected += 1
    return n, differ, unexpected, len(appended)


def rebuilt_before_appends(a, log, size, interval):
    """kseg rebuild-index over the partition of `log` with `log` cut to `size` bytes (its size
    when the broker started and recovered it): {file kind: path of the file kseg wrote or None}.
    The other files are hard links to the copy (kseg only reads its inputs)."""
    part = os.path.dirname(log)
    name = os.path.basename(part)
    work = os.path.join(a.out, "kseg", "recovered-prefix")
    src = os.path.join(work, "in", name)
    out = os.path.join(work, "out")
    shutil.rmtree(src, ignore_errors=True)
    shutil.rmtree(os.path.join(out, name), ignore_errors=True)
    os.makedirs(src)
    for f in os.listdir(part):
        p = os.path.join(part, f)
        if not os.path.isfile(p) or f.endswith((".index", ".timeindex", ".txnindex")):
            continue
        if p == log:
            with open(log, "rb") as i, open(os.path.join(src, f), "wb") as o:
                o.write(i.read(size))
        else:
            os.link(p, os.path.join(src, f))
    rc, o, e = run_kseg(a.kseg, ["rebuild-index", "--out", out, "--index-interval-bytes", str(interval),
                                 "--format", "jsonl", src])
    if rc in (0, 1):
        for line in o.decode("utf-8").splitlines():
            j = json.loads(line)
            if j.get("type") == "segment" and os.path.basename(j["log"]) == os.path.basename(log):
                return {fj["kind"]: fj.get("written") for fj in j["files"]}
    return {}  # failed: no file to compare with, so the segment's files differ


# Slot widths and where each slot's relative offset sits (LogSegment's OffsetIndex and TimeIndex).
SLOTS = {"index": (8, 0), "timeindex": (12, 8)}


def appended_after_recovery(ours, theirs, kind):
    """Whether the broker's .index or .timeindex (`kind`) is what its recovery wrote followed by
    entries for appends after it: kseg's rebuild of the segment as it was before the start
    (`ours`) is a byte prefix of the broker's file (its preallocated zero slots left out), and
    every entry after it names a later offset than the one before. Kafka's recovery does not
    carry the bytes counted since the last index entry into the appends that follow
    (LogSegment.recover), so those entries are not where a rebuild of the whole segment puts
    them, and recovery's last time-index entry stays in the file though a later batch has a
    larger timestamp. (A .txnindex does not depend on those bytes: it is compared whole.)"""
    tb = open(theirs, "rb").read()
    ob = open(ours, "rb").read()
    width, at = SLOTS[kind]
    # up to the last slot holding a byte that is not zero
    tb = tb[:-(-len(tb.rstrip(b"\0")) // width) * width]
    if not tb.startswith(ob):
        return False
    if len(tb) % width or len(ob) % width:
        return False
    offsets = [int.from_bytes(tb[i + at:i + at + 4], "big", signed=True) for i in range(0, len(tb), width)]
    first_new = len(ob) // width
    return all(offsets[i - 1] < offsets[i] for i in range(max(first_new, 1), len(offsets)))


# ------------------------------------------------------------------------------------ verify, live

def verify(a, rep, data, which):
    rc, o, e = run_kseg(a.kseg, ["verify", "--format", "json", data])
    with open(os.path.join(a.out, "kseg", "verify-%s.json" % which), "wb") as f:
        f.write(o + e)
    return verify_findings(rep, which, rc, o, e)


def verify_findings(rep, which, rc, o, e):
    """Differences in one `kseg verify --format json` answer: every error; after a clean stop
    (`clean`, and `churn`: the churn phase's broker stopped with SIGTERM) every warning too."""
    try:
        j = json.loads(o.decode("utf-8"))
    except ValueError:
        rep.add("verify/%s/no-output" % which, "kseg verify exit %d" % rc, "", e.decode(errors="replace")[:300])
        return "exit %d, no JSON" % rc, 1
    probs = j.get("problems", [])
    counts = defaultdict(int)
    unexpected = 0
    for pr in probs:
        counts[(pr.get("severity"), pr.get("kind"))] += 1
    for pr in probs:
        sev, kind = pr.get("severity"), pr.get("kind")
        if sev == "error" or (sev == "warning" and which in ("clean", "churn")):
            f = pr.get("file") or ""
            where = "other"
            if os.path.isfile(f):
                fk, _ = file_kind(f)
                where = "active" if "-active" in fk.split("@")[0] else "rolled"
                if fk.endswith("@deleted-topic"):
                    where += "@deleted-topic"
            cat = "verify/%s/%s/%s/%s" % (which, sev, kind, where)
            if not rep.add(cat, "%s: %s" % (f, pr.get("message")), "no %s" % sev, "%s %s" % (sev, kind)):
                unexpected += 1
    if rc != 0 and not probs and which == "churn":
        rep.add("verify/%s/exit%d" % (which, rc), "kseg verify exit %d" % rc, "exit 0", e.decode(errors="replace")[:300])
        unexpected += 1
    s = j.get("summary", {})
    text = "exit %d, %s errors, %s warnings (%s)" % (rc, s.get("errors"), s.get("warnings"),
                                                      ", ".join("%d %s %s" % (c, sv, k) for (sv, k), c in sorted(counts.items())) or "none")
    return text, unexpected


def live(a, rep, live_dir):
    """The live loop's runs (live/runs.tsv: phase, command, exit, seconds, arguments, and the
    "while being read" lines on stderr and stdout). Every phase: exit 0/1/2 only (no signal, no
    hang). The churn phase: a verify, stats or producers run that exits 1 is a difference unless
    the same command after the clean stop (live/<command>-churn-final.*) exits 1 too; the fresh
    verify has no error and no warning. Returns the note lines and the number of unexpected differences."""
    runs_file = os.path.join(live_dir, "runs.tsv")
    if not os.path.exists(runs_file):
        return ["no live runs"], 0
    rows = read_tsv(runs_file)
    unexpected = 0
    final_rc = None
    final = os.path.join(live_dir, "verify-churn-final")
    notes = []
    if os.path.exists(final + ".rc"):
        final_rc = int(open(final + ".rc").read().strip() or "-1")
        o = open(final + ".json", "rb").read()
        e = open(final + ".err", "rb").read() if os.path.exists(final + ".err") else b""
        text, u = verify_findings(rep, "churn", final_rc, o, e)
        notes.append("churn phase, fresh verify after the clean stop: " + text)
        unexpected += u
    # exit codes of the fresh verify, stats, producers after the churn phase's clean stop: a live
    # run of these that exits 1 must be matched by the fresh one
    finals = {}
    for name in ("verify", "stats", "producers"):
        f = os.path.join(live_dir, "%s-churn-final.rc" % name)
        if os.path.exists(f):
            finals[name] = int(open(f).read().strip() or "-1")
    if finals:
        notes.append("churn phase, after the clean stop: " + ", ".join("%s exit %d" % kv for kv in finals.items()))
    by = OrderedDict()  # (phase, command) -> [runs, {rc: n}, runs that saw a change, seconds]
    for r in rows:
        phase, name, rc = r[0], r[1], int(r[2])
        changed = sum(int(x) for x in r[5:7]) if len(r) >= 7 else 0
        ent = by.setdefault((phase, name), [0, defaultdict(int), 0, 0.0])
        ent[0] += 1
        ent[1][rc] += 1
        ent[2] += changed > 0
        ent[3] += float(r[3])
        if rc not in (0, 1, 2):
            if not rep.add("live/%s/rc%d" % (name, rc), "%s: kseg %s" % (phase, r[4]), "exit 0/1/2", "exit %d" % rc):
                unexpected += 1
        elif phase == "churn" and rc == 1 and finals.get(name.split("-")[0], 1) != 1:
            if not rep.add("live/churn/%s/rc1" % name, "churn: kseg %s (saved output: live/rc1-churn-*-%s.*)" % (r[4], name),
                           "exit %s as the fresh %s after the clean stop" % (finals[name.split("-")[0]], name.split("-")[0]),
                           "exit 1 (an error or anomaly)"):
                unexpected += 1
    phases = OrderedDict()
    for (phase, name), (n, rcs, ch, secs) in by.items():
        phases.setdefault(phase, []).append("%s %d (%s%s, %.1f s avg)" % (
            name, n, ", ".join("rc%d x%d" % (rc, c) for rc, c in sorted(rcs.items())),
            ", %d saw a change" % ch if ch else "", secs / n))
    changed_runs = sum(v[2] for v in by.values())
    notes.insert(0, "live loop: %d runs, %d of them saw a file change (\"while being read\")" % (len(rows), changed_runs))
    for phase, parts in phases.items():
        notes.insert(1 + list(phases).index(phase), "live loop %s: %s" % (phase, "; ".join(parts)))
    return notes, unexpected


# ------------------------------------------------------------------------------------ main

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kseg", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--from", dest="src", required=True)
    ap.add_argument("--expected")
    ap.add_argument("--dump-version", required=True)
    ap.add_argument("--dump-cmd", required=True)
    ap.add_argument("--elapsed-start", type=int, default=int(time.time()))
    ap.add_argument("--keep-raw", action="store_true")
    ap.add_argument("--only", default="", help="comma list of: dump-log,records,lookups,producers,groups,verify,live,rebuild")
    a = ap.parse_args()
    os.makedirs(os.path.join(a.out, "kseg"), exist_ok=True)
    rep = Report(a.out, a.expected, a.dump_version)
    copies = [c for c in (os.path.join(a.src, "clean", "data"), os.path.join(a.src, "crash", "data")) if os.path.isdir(c)]
    raw = os.path.join(a.out, "raw-" + a.dump_version)
    shutil.rmtree(raw, ignore_errors=True)
    notes = []
    only = set(x for x in a.only.split(",") if x)
    want = lambda sec: not only or sec in only
    F = O = D = DU = 0
    if want("dump-log"):
        F, O, D, DU = dump_log(a, rep, copies, raw)
    notes.append("dump-log: %d files, %d outputs, %d differ (%d not expected)" % (F, O, D, DU))
    unexpected = DU

    R = RD = L = LD = 0
    oracle = os.path.join(a.src, "oracle")
    clean = os.path.join(a.src, "clean", "data")
    if os.path.isdir(oracle) and os.path.isdir(clean):
        if want("records"):
            R, RD, RU, RC = records(a, rep, clean, oracle, os.path.join(a.out, "kseg"))
            notes.append("records: %d compared (%d of them read_committed), %d differ (%d not expected)" % (R, RC, RD, RU))
            unexpected += RU
        if want("lookups"):
            L, LD, LU = lookups(a, rep, clean, oracle)
            notes.append("lookups: %d, %d differ (%d not expected)" % (L, LD, LU))
            unexpected += LU
        if want("producers"):
            PN, PD, PU = producers(a, rep, clean, oracle)
            notes.append("producers: %d producer states (describeProducers) compared, %d differ (%d field differences not expected)" % (PN, PD, PU))
            unexpected += PU
        if want("groups"):
            GN, GD, GU = groups(a, rep, clean, oracle)
            notes.append("groups: %d committed offsets (listConsumerGroupOffsets) compared, %d differ (%d not expected)" % (GN, GD, GU))
            unexpected += GU
    for which, c in (("clean", clean), ("crash", os.path.join(a.src, "crash", "data"))):
        if os.path.isdir(c) and want("verify"):
            text, u = verify(a, rep, c, which)
            notes.append("verify after %s: %s" % ("clean stop" if which == "clean" else "kill -9", text))
            unexpected += u
    for which in ("clean", "recovered"):
        c = os.path.join(a.src, which, "data")
        if os.path.isdir(c) and want("rebuild"):
            n, d, u, grown = rebuild(a, rep, c, which)
            notes.append("rebuild-index against the broker's index files (%s): %d files compared, %d differ (%d not expected)%s" % (
                "written live, clean stop" if which == "clean" else "rebuilt by the broker's recovery", n, d, u,
                "; %d active segments appended to after recovery, compared up to their size before it" % grown if grown else ""))
            unexpected += u
    if want("live"):
        lines, u = live(a, rep, os.path.join(a.src, "live"))
        notes.extend(lines)
        unexpected += u
    for pat in a.src and [os.path.join(a.src, "live")] or []:
        for fn in sorted(os.listdir(pat)) if os.path.isdir(pat) else []:
            if fn.startswith("verify-") and fn.endswith(".txt"):
                first = open(os.path.join(pat, fn), encoding="utf-8", errors="replace").read().splitlines()
                lines = [l for l in first if l.strip()]
                tail = [l for l in lines if " errors, " in l][-1:] or lines[-1:] or ["(empty)"]
                notes.append("live verify (%s, first run during the workload): %s" % (fn[7:-4], tail[0]))
    rep.tsv.close()
    if not a.keep_raw:
        shutil.rmtree(raw, ignore_errors=True)

    ran = set()
    for sec in ("dump-log", "records", "lookups", "producers", "groups", "verify", "live", "rebuild"):
        if want(sec) and (sec in ("dump-log", "verify", "live", "rebuild") or os.path.isdir(oracle)):
            ran.add(sec)
    if "records" in ran:
        ran.add("committed")
    stale = [p for p, _ in rep.patterns if p not in rep.used and p.split("/")[0] in ran]
    with open(os.path.join(a.out, "report.md"), "w", encoding="utf-8") as f:
        f.write("# kseg interop report (DumpLogSegments of Kafka %s, broker 4.4.0)\n\n" % a.dump_version)
        for nline in notes:
            f.write("* " + nline + "\n")
        f.write("\n## Differences by category\n\n| category | count | expected | example | kafka | kseg | diff |\n|---|---|---|---|---|---|---|\n")
        for cat, (c, ex, exp) in rep.by_cat.items():
            what, kl, sl, path = ex
            f.write("| `%s` | %d | %s | %s | `%s` | `%s` | %s |\n" % (cat, c, "yes" if exp else "**no**",
                                                              short(what, 200).replace("|", "\\|"), short(kl, 200).replace("|", "\\|").replace("`", "'"),
                                                              short(sl, 200).replace("|", "\\|").replace("`", "'"), os.path.relpath(path, a.out) if path else ""))
        if stale:
            f.write("\n## Expected differences that did not occur (fixed?)\n\n" + "".join("* `%s`\n" % s for s in stale))
    for nline in notes:
        print("interop: " + nline)
    print("interop: differences by category (count, expected?):")
    for cat, (c, ex, exp) in rep.by_cat.items():
        print("  %-70s %6d %s" % (cat, c, "expected" if exp else "NOT EXPECTED"))
    for s in stale:
        print("interop: expected difference did not occur (fixed?): %s" % s)
    print("interop: %d differences not covered by %s; report %s; %d s" % (
        unexpected, a.expected, os.path.join(a.out, "report.md"), int(time.time()) - a.elapsed_start))
    print("interop: Kafka %s, %d files, %d outputs compared, %d differ; %d records compared, %d differ; %d lookups, %d differ" % (
        a.dump_version, F, O, D, R, RD, L, LD))
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
