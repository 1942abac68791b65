#!/usr/bin/env python3
"""`kseg export` read by DuckDB and pyarrow, checked against kseg's own text outputs.

    pip install duckdb pyarrow
    python3 interop/export_duckdb.py [--kseg target/release/kseg] LOGDIR...

For each LOGDIR: `kseg export` to Parquet (Hive layout, with --add-column broker=N) and to an
Arrow IPC stream; then DuckDB (over every LOGDIR's export at once, as one dataset of many
brokers) and pyarrow read them, and per topic and partition

  * count(*) and max(offset) equal `kseg stats --format json` (records, offsets.last),
  * every row (key, value and header bytes, offsets, timestamps, batch fields) equals
    `kseg dump --records --format jsonl --key-encoding hex --value-encoding hex`,
  * the Arrow stream holds the same rows as the Parquet files,

and prints what a read_committed consumer would see (NOT aborted AND NOT is_control).

With --oracle DIR (interop/run.sh's oracle/: what the Kafka consumers read, Oracle.java) and one
LOGDIR, the broker's files: per partition with a read_committed consumer's records
(records/T-P.rc.jsonl), count(*) WHERE NOT aborted AND NOT is_control, between the log start
offset and the last stable offset (partitions.tsv; a consumer reads no further), equals the
consumer's count; and per partition with a read_uncommitted consumer's records (T-P.ru.jsonl),
count(*) WHERE NOT is_control between the log start offset and the high watermark equals its.
Exit 0 when everything agrees, 1 otherwise. Needs the `export` feature in the binary
(`cargo build --release --features export`).
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

import duckdb
import pyarrow.ipc


def run(cmd):
    r = subprocess.run(cmd, capture_output=True)
    if r.returncode not in (0, 1):
        sys.exit("%s: exit %d\n%s" % (" ".join(cmd), r.returncode, r.stderr.decode()))
    return r.stdout


def dump_rows(kseg, logdir):
    out = run([kseg, "dump", "--records", "--format", "jsonl", "--key-encoding", "hex",
               "--value-encoding", "hex", "--decode", "none", logdir])
    rows, batch, segment = {}, None, False
    for line in out.splitlines():
        o = json.loads(line)
        if o["type"] == "file":
            segment = o["kind"] == "log"
        elif o["type"] == "batch":
            batch = o
        elif o["type"] == "record" and segment:
            key = (batch["file"], o["offset"])
            rows[key] = (o["timestamp"], o["key"], o["value"],
                         [(h["key"], h["value"]) for h in o["headers"]],
                         batch["base_offset"], batch["producer_id"], batch["producer_epoch"],
                         batch["base_sequence"], batch["is_transactional"], batch["is_control"],
                         batch["compression"], batch["partition_leader_epoch"], batch["position"],
                         batch["timestamp_type"])
    return rows


def origin(path):
    """Topic and partition as kseg export takes them from a directory name."""
    m = re.fullmatch(r"(.+)-(\d+)", os.path.basename(path.rstrip("/")))
    if not m or int(m.group(2)) > 2**31 - 1:
        return (None, None)
    return (m.group(1), int(m.group(2)))


def hexb(b):
    return None if b is None else b.hex()


def oracle_counts(db, oracle, failures):
    """The export's rows against what Kafka's consumers read (broker 1)."""
    checked = {"rc": 0, "ru": 0}
    with open(os.path.join(oracle, "partitions.tsv")) as f:
        parts = [l.rstrip("\n").split("\t") for l in f if l.strip()]
    for topic, p, log_start, hw, lso in parts:
        for mode, where, end in (("rc", "NOT aborted AND NOT is_control", lso), ("ru", "NOT is_control", hw)):
            path = os.path.join(oracle, "records", "%s-%s.%s.jsonl" % (topic, p, mode))
            if not os.path.exists(path):
                continue
            with open(path) as f:
                consumer = sum(1 for l in f if l.strip())
            got = db.execute("SELECT count(*) FROM records WHERE broker = 1 AND topic = ? AND partition = ? AND %s "
                             "AND \"offset\" >= ? AND \"offset\" < ?" % where,
                             [topic, int(p), int(log_start), int(end)]).fetchall()[0][0]
            checked[mode] += 1
            if got != consumer:
                failures.append("%s-%s: the %s consumer read %d records, the export has %d (%s, offsets %s..%s)"
                                % (topic, p, "read_committed" if mode == "rc" else "read_uncommitted",
                                   consumer, got, where, log_start, end))
            elif mode == "rc":
                print("%s-%s: read_committed consumer %d records = export NOT aborted AND NOT is_control %d"
                      % (topic, p, consumer, got))
    print("oracle: %d partitions' read_committed counts and %d read_uncommitted counts compared with the export"
          % (checked["rc"], checked["ru"]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kseg", default="target/release/kseg")
    ap.add_argument("--oracle", help="interop/run.sh's oracle directory for the broker files of the one LOGDIR")
    ap.add_argument("logdirs", nargs="+")
    a = ap.parse_args()
    if a.oracle and len(a.logdirs) != 1:
        sys.exit("--oracle goes with one LOGDIR")
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        for n, logdir in enumerate(a.logdirs, 1):
            run([a.kseg, "export", logdir, "--out", os.path.join(tmp, "broker=%d" % n),
                 "--add-column", "broker=%d" % n, "--quiet"])
            run([a.kseg, "export", logdir, "--format", "arrow", "--out",
                 os.path.join(tmp, "broker%d.arrows" % n), "--quiet"])
        db = duckdb.connect()
        db.sql("CREATE VIEW records AS SELECT * FROM read_parquet('%s/**/*.parquet', hive_partitioning = true)" % tmp)
        for n, logdir in enumerate(a.logdirs, 1):
            # Counts against kseg stats.
            stats = json.loads(run([a.kseg, "stats", "--format", "json", logdir]))
            # Summed as the export groups them: a directory not named <topic>-<n> (a deleted
            # topic's ...-delete) has a null topic and partition.
            want = {}
            for p in stats["partitions"]:
                k = origin(p["path"])
                c, m = want.get(k, (0, None))
                last = p["offsets"]["last"] if p["offsets"] else None
                want[k] = (c + p["records"], last if m is None else m if last is None else max(m, last))
            want = {k: v for k, v in want.items() if v[0] > 0}
            got = {(t, p): (c, m) for t, p, c, m in db.sql(
                "SELECT topic, partition, count(*), max(\"offset\") FROM records WHERE broker = %d GROUP BY ALL" % n).fetchall()}
            for k in sorted(set(want) | set(got), key=repr):
                w, g = want.get(k, (0, None)), got.get(k, (0, None))
                if w != g:
                    failures.append("%s %s: kseg stats says %s records, max offset %s; DuckDB %s, %s" % (logdir, k, w[0], w[1], g[0], g[1]))
            # Every row, bytes exact, against kseg dump.
            dumped = dump_rows(a.kseg, logdir)
            cur = db.sql("SELECT file, \"offset\", epoch_ms(\"timestamp\"), key, value, headers, base_offset, producer_id, "
                         "producer_epoch, base_sequence, is_transactional, is_control, compression, "
                         "partition_leader_epoch, position, timestamp_type FROM records WHERE broker = %d" % n).fetchall()
            exported = {}
            for r in cur:
                ts = -1 if r[2] is None else r[2]
                exported[(r[0], r[1])] = (ts, hexb(r[3]), hexb(r[4]),
                                          [(h["key"], hexb(h["value"])) for h in r[5]], *r[6:])
            for k in sorted(set(dumped) | set(exported)):
                if dumped.get(k) != exported.get(k):
                    failures.append("%s %s offset %d: dump %s, DuckDB %s" % (logdir, k[0], k[1], dumped.get(k), exported.get(k)))
                    break
            # The Arrow stream: same rows.
            with open(os.path.join(tmp, "broker%d.arrows" % n), "rb") as f:
                table = pyarrow.ipc.open_stream(f).read_all()
            if table.num_rows != len(exported):
                failures.append("%s: the Arrow stream has %d rows, the Parquet files %d" % (logdir, table.num_rows, len(exported)))
            print("%s: %d rows compared with kseg dump, %d partitions with kseg stats" % (logdir, len(dumped), len(want)))
        if a.oracle:
            oracle_counts(db, a.oracle, failures)
        print(db.sql("SELECT broker, topic, partition, count(*) AS records, "
                     "count(*) FILTER (WHERE NOT aborted AND NOT is_control) AS read_committed, "
                     "count(*) FILTER (WHERE aborted) AS aborted, count(DISTINCT key) AS distinct_keys "
                     "FROM records GROUP BY ALL ORDER BY ALL"))
    for f in failures:
        print("FAIL", f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
