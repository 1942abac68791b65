#!/usr/bin/env python3
"""A real distributed engine over `kseg export`: Spark (local mode) against DuckDB and kseg.

    python3 interop/export_spark.py [--kseg target/release/kseg] [--out DIR] LOGDIR

`kseg export LOGDIR --add-column broker=1` into OUT/broker=1 (Hive layout: broker, topic and
partition are directory columns); then Spark (pyspark, local[2]) and DuckDB run the same
queries over OUT, and

  * records and max(offset) by topic and partition: Spark = DuckDB = `kseg stats --format json`
    (partitions[].records, offsets.last),
  * keys by topic and partition (data records only): count(key) and nulls, Spark = DuckDB =
    kseg stats (keys.keyed_records, keys.null_keys); count(DISTINCT key): Spark = DuckDB
    exactly, and kseg stats' HyperLogLog estimate (keys.distinct_estimate) within 3 standard
    errors (it is an estimate by design),
  * records and key + value bytes by producer id (data records): Spark = DuckDB (kseg has no
    per-producer byte count to compare with),
  * read_committed rows (NOT aborted AND NOT is_control) by topic and partition: Spark = DuckDB.

Partitions whose directory name is not `<topic>-<n>` (a deleted topic's `...-delete`) have a
null topic and partition in the export and are summed into one group on every side.
Exit 0 when everything agrees, 1 otherwise, 3 when pyspark or duckdb cannot be imported.
Needs the `export` feature in the binary.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict

try:
    import duckdb
    from pyspark.sql import SparkSession
except ImportError as e:  # run.sh installs them into a venv; say what is missing
    print("export_spark: %s; skipped" % e)
    sys.exit(3)

# kseg's sketch: HyperLogLog with 2^14 registers, standard error 1.04 / sqrt(m).
HLL_ERROR = 1.04 / (1 << 7)


def run(cmd):
    r = subprocess.run(cmd, capture_output=True)
    if r.returncode not in (0, 1):
        sys.exit("%s: exit %d\n%s" % (" ".join(cmd), r.returncode, r.stderr.decode()))
    return r.stdout


def origin(path):
    """Topic and partition as kseg export takes them from a directory name."""
    m = re.fullmatch(r"(.+)-(\d+)", os.path.basename(path.rstrip("/")))
    if not m or int(m.group(2)) > 2**31 - 1:
        return (None, None)
    return (m.group(1), int(m.group(2)))


def norm(rows):
    """{(topic, partition): values} from (topic, partition, values...) rows; Spark gives
    Python ints for bigint, DuckDB too."""
    return {(r[0], r[1]): tuple(int(v) for v in r[2:]) for r in rows}


def compare(failures, what, a_name, a, b_name, b):
    for k in sorted(set(a) | set(b), key=repr):
        if a.get(k) != b.get(k):
            failures.append("%s %s: %s %s, %s %s" % (what, k, a_name, a.get(k), b_name, b.get(k)))
    return len(set(a) | set(b))


QUERIES = {
    # name: (SQL over the view `records`, in the dialect both engines share)
    "records": "SELECT topic, `partition`, count(*), max(`offset`) FROM records GROUP BY topic, `partition`",
    "keys": "SELECT topic, `partition`, count(key), count(*) - count(key), count(DISTINCT key) FROM records "
            "WHERE NOT is_control GROUP BY topic, `partition`",
    "producers": "SELECT producer_id, NULL, count(*), sum(coalesce(octet_length(key), 0) + coalesce(octet_length(value), 0)) "
                 "FROM records WHERE NOT is_control GROUP BY producer_id",
    "read_committed": "SELECT topic, `partition`, count(*) FROM records WHERE NOT aborted AND NOT is_control "
                      "GROUP BY topic, `partition`",
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kseg", default="target/release/kseg")
    ap.add_argument("--out", help="export here (default: a temp dir, removed)")
    ap.add_argument("logdir")
    a = ap.parse_args()
    tmp = None
    if a.out:
        out = a.out
    else:
        tmp = tempfile.TemporaryDirectory()
        out = tmp.name
    failures = []
    t0 = time.time()
    run([a.kseg, "export", a.logdir, "--out", os.path.join(out, "broker=1"), "--add-column", "broker=1", "--quiet"])
    t_export = time.time() - t0

    # kseg stats, summed like the export groups them.
    stats = json.loads(run([a.kseg, "stats", "--format", "json", a.logdir]))
    kseg_records, kseg_keys, kseg_distinct = defaultdict(lambda: [0, None]), defaultdict(lambda: [0, 0]), {}
    for p in stats["partitions"]:
        k = origin(p["path"])
        r = kseg_records[k]
        r[0] += p["records"]
        if p["offsets"] is not None:
            r[1] = p["offsets"]["last"] if r[1] is None else max(r[1], p["offsets"]["last"])
        kseg_keys[k][0] += p["keys"]["keyed_records"]
        kseg_keys[k][1] += p["keys"]["null_keys"]
        kseg_distinct[k] = p["keys"]["distinct_estimate"] if k[0] is not None else None
    kseg_records = {k: tuple(v) for k, v in kseg_records.items() if v[0] > 0}
    kseg_keys = {k: tuple(v) for k, v in kseg_keys.items() if v[0] + v[1] > 0}

    t0 = time.time()
    db = duckdb.connect()
    db.sql("CREATE VIEW records AS SELECT * FROM read_parquet('%s/**/*.parquet', hive_partitioning = true)" % out)
    duck = {name: db.sql(q.replace("`", '"')).fetchall() for name, q in QUERIES.items()}
    t_duck = time.time() - t0

    t0 = time.time()
    spark = (SparkSession.builder.master("local[2]").appName("kseg-export-check")
             .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
             .config("spark.driver.memory", "1g")
             .config("spark.sql.shuffle.partitions", "4")
             .config("spark.sql.session.timeZone", "UTC").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    try:
        # Read once: the files are small next to Spark's per-query start-up.
        spark.read.parquet(out).cache().createOrReplaceTempView("records")
        sp = {name: [tuple(r) for r in spark.sql(q).collect()] for name, q in QUERIES.items()}
        total = spark.sql("SELECT count(*) FROM records").collect()[0][0]
    finally:
        spark.stop()
    t_spark = time.time() - t0

    n = compare(failures, "records, max offset", "Spark", norm(sp["records"]), "DuckDB", norm(duck["records"]))
    compare(failures, "records, max offset", "Spark", norm(sp["records"]), "kseg stats", kseg_records)
    sk = norm(sp["keys"])
    compare(failures, "keys", "Spark", sk, "DuckDB", norm(duck["keys"]))
    compare(failures, "keyed, null keys", "Spark", {k: v[:2] for k, v in sk.items()}, "kseg stats", kseg_keys)
    for k, v in sk.items():
        est = kseg_distinct.get(k)
        if k[0] is not None and est is not None and abs(est - v[2]) > 3 * HLL_ERROR * v[2] + 1:
            failures.append("distinct keys %s: Spark %d, kseg stats estimates %d (beyond 3 standard errors)" % (k, v[2], est))
    compare(failures, "producer records, bytes", "Spark", norm(sp["producers"]), "DuckDB", norm(duck["producers"]))
    compare(failures, "read_committed", "Spark", norm(sp["read_committed"]), "DuckDB", norm(duck["read_committed"]))

    print("export_spark: %s: %d rows, %d topic-partitions, %d producers; export %.1f s, DuckDB %.1f s, Spark %.1f s"
          % (a.logdir, total, n, len(sp["producers"]), t_export, t_duck, t_spark))
    show = sorted(norm(sp["records"]).items(), key=repr)[:8]
    for k, v in show:
        print("  %-28s Spark %-14s DuckDB %-14s kseg stats %s" % (k, v, norm(duck["records"]).get(k), kseg_records.get(k)))
    for f in failures:
        print("FAIL", f)
    if tmp:
        tmp.cleanup()
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
