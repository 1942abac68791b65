#!/usr/bin/env bash
# Real-Kafka interop suite for kseg: a real Kafka 4.4.0 broker writes the files, the real tools
# and clients read them, and kseg must say the same. See interop/README.md.
#
#   bash interop/run.sh
#
# Environment:
#   KSEG=/path/to/kseg          kseg binary (default: cargo build --release, target/release/kseg)
#   INTEROP_DUMP_VERSION=4.4.0  Kafka version of the DumpLogSegments the files are compared with
#                               (4.1.1, 4.3.1, ...: its own classpath, fetched into the cache)
#   INTEROP_OUT=dir             report directory, new or empty (default: a new temp dir; printed)
#   INTEROP_FROM=dir            reuse the broker files of an earlier run's INTEROP_OUT: no broker,
#                               only the file comparisons (dump-log, verify); e.g. with another
#                               INTEROP_DUMP_VERSION
#   INTEROP_CACHE=dir           jars and compiled driver (default: interop/.cache, gitignored)
#   INTEROP_CRASH=0             skip the second (kill -9) broker run
#   INTEROP_EXPECTED=file       known differences (default: interop/expected-differences.txt)
#   INTEROP_ONLY=a,b            only these comparisons (dump-log,records,lookups,producers,groups,verify,live,rebuild,
#                               export)
#   INTEROP_RECOVER=0           skip the third broker run (index files deleted, rebuilt by recovery)
#   INTEROP_CHURN_SECONDS=300   length of the churn phase (a fresh broker, small segments, short
#                               retention, the cleaner swapping, the live loop reading); 0 skips it
#   JAVA=java                   the JVM (17+)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
BROKER_VERSION=4.4.0
DUMP_VERSION=${INTEROP_DUMP_VERSION:-$BROKER_VERSION}
CACHE=${INTEROP_CACHE:-$HERE/.cache}
JAVA=${JAVA:-java}
EXPECTED=${INTEROP_EXPECTED:-$HERE/expected-differences.txt}
CRASH=${INTEROP_CRASH:-1}
RECOVER=${INTEROP_RECOVER:-1}
CHURN_SECONDS=${INTEROP_CHURN_SECONDS:-300}
FROM=${INTEROP_FROM:-}
CLUSTER_ID=a2NlZy1pbnRlcm9wLTQ0MA  # fixed, so runs are alike
START=$(date +%s)

if [ -z "${INTEROP_OUT:-}" ]; then
    OUT=$(mktemp -d "${TMPDIR:-/tmp}/kseg-interop.XXXXXX")
else
    OUT=$INTEROP_OUT
    # A broker run copies its log directories into OUT and appends to OUT/live/runs.tsv: an
    # earlier run's files there would be compared as this run's.
    if [ -z "$FROM" ] && [ -d "$OUT" ] && [ -n "$(ls -A "$OUT")" ]; then
        echo "interop: INTEROP_OUT=$OUT is not empty: give a new directory (or INTEROP_FROM to compare an earlier run's)" >&2
        exit 2
    fi
    mkdir -p "$OUT"
fi
OUT=$(cd "$OUT" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kseg-interop-work.XXXXXX")
echo "interop: report directory $OUT"

say() { echo "[interop $(( $(date +%s) - START ))s] $*"; }

# ------------------------------------------------------------------ cleanup of everything we start
HANG_PID=
CRASH_PID=
LIVE_PID=
cleanup() {
    local rc=$?
    [ -n "$LIVE_PID" ] && { touch "$WORK/live.stop"; kill "$LIVE_PID" 2>/dev/null || true; wait "$LIVE_PID" 2>/dev/null || true; }
    [ -n "$HANG_PID" ] && { kill -9 "$HANG_PID" 2>/dev/null || true; wait "$HANG_PID" 2>/dev/null || true; }
    [ -n "$CRASH_PID" ] && { kill -9 "$CRASH_PID" 2>/dev/null || true; wait "$CRASH_PID" 2>/dev/null || true; }
    [ -n "${BROKER_PID:-}" ] && { kill -9 "$BROKER_PID" 2>/dev/null || true; wait "$BROKER_PID" 2>/dev/null || true; }
    rm -rf "$WORK"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------ jars, driver, kseg
# fetch_lib VERSION: the runtime jars of Kafka VERSION (broker, tools, clients, log4j2) in one dir
fetch_lib() {
    INTEROP_CACHE=$CACHE "$HERE/fetch-jars.sh" "$1"
}
LIB=$(fetch_lib "$BROKER_VERSION")
DUMP_LIB=$(fetch_lib "$DUMP_VERSION")
say "compiling the driver"
mkdir -p "$CACHE"
mvn -q -B -Dstyle.color=never -f "$HERE/pom.xml" compile -Dinterop.build.dir="$CACHE/build" > "$CACHE/mvn-compile.log" 2>&1 \
    || { cat "$CACHE/mvn-compile.log" >&2; exit 1; }
CLASSES=$CACHE/build/classes
if unzip -Z1 "$DUMP_LIB/kafka-tools-$DUMP_VERSION.jar" 2>/dev/null | grep -c '^org/apache/kafka/tools/DumpLogSegments.class$' >/dev/null; then
    DUMP_MAIN=org.apache.kafka.tools.DumpLogSegments
else
    DUMP_MAIN=kafka.tools.DumpLogSegments
fi

if [ -z "${KSEG:-}" ]; then
    # With `kseg export` (the export step below): one binary for everything here.
    say "building kseg (cargo build --release --features export)"
    (cd "$ROOT" && cargo build --release --quiet --features export)
    KSEG=$ROOT/target/release/kseg
fi
KSEG=$(cd "$(dirname "$KSEG")" && pwd)/$(basename "$KSEG")
"$KSEG" --version >/dev/null

# python_env: the venv with pyspark, duckdb and pyarrow (pinned; PyPI, once, into the cache);
# prints its python, or fails when they cannot be installed (no network, no venv module).
python_env() {
    local venv=$CACHE/py
    if ! "$venv/bin/python" -c 'import pyspark, duckdb, pyarrow' 2>/dev/null; then
        { python3 -m venv "$venv" && "$venv/bin/pip" install -q pyspark==4.3.0 duckdb==2.0.1 pyarrow==26.0.1; } \
            > "$CACHE/pip.log" 2>&1 || return 1
    fi
    echo "$venv/bin/python"
}

# the client JVM command (an array, so that "${CLIENT[@]}" ... & gives the JVM's own pid in $!)
CLIENT=("$JAVA" -Xmx768m -Dlog4j2.configurationFile="$WORK/client-log4j2.properties" -cp "$CLASSES:$LIB/*")

# shellcheck source=broker.sh
source "$HERE/broker.sh"
write_client_log4j

# ------------------------------------------------------------------ live loop
# Runs every kseg subcommand over the live log directory, under timeout, until $WORK/live.stop:
# one line per run in $OUT/live/runs.tsv (phase, command, exit code, seconds, arguments, and the
# number of "while being read" lines on stderr and on stdout: the runs that saw a file change).
# Exit codes other than 0/1/2 (a signal such as 135 = SIGBUS, 137 = hang killed by timeout) are
# what we look for; the output of such runs, and of verify, stats and producers runs that exit 1
# (an error, a batch not decoded, an anomaly), is kept.
live_loop() {
    local phase=$1 data=$2 dir=$OUT/live
    mkdir -p "$dir"
    local n=0 kept=0
    while [ ! -e "$WORK/live.stop" ]; do
        n=$((n + 1))
        local part seg pseg stem sfx base spec
        part=$(find "$data" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | shuf -n 1 || true)
        # a segment anywhere, now and then a .deleted/.cleaned/.swap one given by name
        seg=$(find "$data" \( -name '*.log' -o -name '*.log.deleted' -o -name '*.log.cleaned' -o -name '*.log.swap' \) 2>/dev/null | shuf -n 1 || true)
        stem=${seg%%.log*}; sfx=${seg#"$stem".log}
        # an offset near the start of a random segment of the partition, and a time to look up
        pseg=$(find "${part:-$data}" -maxdepth 1 -name '*.log' 2>/dev/null | shuf -n 1 || true)
        base=$(basename "${pseg:-0.log}" .log); base=$((10#${base//[^0-9]/0} + RANDOM % 200))
        case $((n % 4)) in
            0) spec=earliest ;; 1) spec=latest ;; 2) spec=max-timestamp ;;
            *) spec=$(( $(date +%s%3N) - RANDOM * 10 )) ;;
        esac
        local name args
        for name in verify verify-nommap stats producers dump-records kafka-dump-log kafka-dump-log-index find-offset find-time rebuild-index; do
            [ -e "$WORK/live.stop" ] && break
            case $name in
                verify) args=(verify "$data") ;;
                verify-nommap) args=(verify --no-mmap "$data") ;;
                stats) args=(stats --totals "$data") ;;
                producers) args=(producers "$data") ;;
                dump-records) args=(dump --records --format jsonl "${part:-$data}") ;;
                kafka-dump-log) args=(kafka-dump-log --files "${seg:-x.log}" --deep-iteration) ;;
                kafka-dump-log-index) args=(kafka-dump-log --files "$stem.index$sfx,$stem.timeindex$sfx" --verify-index-only) ;;
                find-offset) args=(find-offset "${part:-$data}" "$base") ;;
                find-time) args=(find-time "${part:-$data}" "$spec") ;;
                rebuild-index) args=(rebuild-index --no-mmap --index-interval-bytes 512 "$data") ;;
            esac
            local t0 t1 rc
            t0=$(date +%s.%N)
            rc=0
            timeout -s KILL 120 "$KSEG" "${args[@]}" > "$dir/last.out" 2> "$dir/last.err" || rc=$?
            t1=$(date +%s.%N)
            printf '%s\t%s\t%s\t%.2f\t%s\t%d\t%d\n' "$phase" "$name" "$rc" "$(echo "$t1 - $t0" | bc)" "${args[*]}" \
                "$(grep -c 'while being read' "$dir/last.err" || true)" "$(grep -c 'while being read' "$dir/last.out" || true)" >> "$dir/runs.tsv"
            if [ "$name" = verify ] && [ ! -e "$dir/verify-$phase.txt" ]; then
                cp "$dir/last.out" "$dir/verify-$phase.txt"; cat "$dir/last.err" >> "$dir/verify-$phase.txt"
            fi
            # every signal; the first 60 of: could not run (2), and a finding (1) of verify, stats, producers
            if [ "$rc" -gt 2 ] || { [ "$kept" -lt 60 ] && { [ "$rc" = 2 ] || { [ "$rc" = 1 ] && case $name in verify*|stats|producers) true ;; *) false ;; esac; }; }; }; then
                [ "$rc" -le 2 ] && kept=$((kept + 1))
                cp "$dir/last.out" "$dir/rc$rc-$phase-$n-$name.out"; cp "$dir/last.err" "$dir/rc$rc-$phase-$n-$name.err"
            fi
        done
    done
}
start_live() {
    rm -f "$WORK/live.stop"
    mkdir -p "$OUT/live"
    live_loop "$1" "$2" 2>> "$OUT/live/loop.err" &   # bash reports kseg's signals ("Bus error") there
    LIVE_PID=$!
}
stop_live() {
    touch "$WORK/live.stop"
    [ -n "$LIVE_PID" ] && wait "$LIVE_PID" 2>/dev/null || true
    LIVE_PID=
}

# ------------------------------------------------------------------ the broker runs
if [ -z "$FROM" ]; then
    write_log4j
    DATA=$WORK/data
    BPORT=$(free_port); CPORT=$(free_port)
    write_config "$DATA" "$BPORT" "$CPORT" "$WORK/server.properties"
    BOOT=127.0.0.1:$BPORT
    say "formatting $DATA (KRaft, standalone controller) and starting Kafka $BROKER_VERSION on $BOOT"
    "$JAVA" -Dlog4j2.configurationFile="$WORK/client-log4j2.properties" -cp "$LIB/*" kafka.tools.StorageTool \
        format -t "$CLUSTER_ID" -c "$WORK/server.properties" --standalone > "$OUT/format.log" 2>&1
    mkdir -p "$OUT/broker"
    start_broker "$WORK/server.properties" "$OUT/broker/run1.log" "$BPORT"

    say "workload: topics, a hanging transaction (producer killed with -9), then the main workload"
    "${CLIENT[@]}" kseg.interop.Workload "$BOOT" topics > "$OUT/workload.log" 2>&1
    "${CLIENT[@]}" kseg.interop.Workload "$BOOT" hang > "$WORK/hang.out" 2>> "$OUT/workload.log" &
    HANG_PID=$!
    for _ in $(seq 1 60); do grep -q READY "$WORK/hang.out" && break; sleep 1; done
    grep -q READY "$WORK/hang.out" || { echo "hanging-transaction producer did not get ready" >&2; exit 1; }
    kill -9 "$HANG_PID"; wait "$HANG_PID" 2>/dev/null || true; HANG_PID=
    cat "$WORK/hang.out" >> "$OUT/workload.log"
    start_live run1 "$DATA"
    "${CLIENT[@]}" kseg.interop.Workload "$BOOT" main >> "$OUT/workload.log" 2>&1 \
        || { tail -30 "$OUT/workload.log" >&2; exit 1; }
    say "workload done; letting the cleaner finish, then the oracle reads through the broker"
    sleep 8
    "${CLIENT[@]}" kseg.interop.Workload "$BOOT" freeze >> "$OUT/workload.log" 2>&1
    sleep 2
    stop_live
    "${CLIENT[@]}" kseg.interop.Oracle "$BOOT" "$OUT/oracle" >> "$OUT/workload.log" 2>&1 \
        || { tail -30 "$OUT/workload.log" >&2; exit 1; }
    say "stopping the broker (SIGTERM, controlled shutdown)"
    stop_broker
    mkdir -p "$OUT/clean"
    cp -a "$DATA" "$OUT/clean/data"

    if [ "$CRASH" = 1 ]; then
        say "second run on the same files: restart, write, kill -9 the broker in the middle of writes"
        start_broker "$WORK/server.properties" "$OUT/broker/run2.log" "$BPORT"
        start_live run2 "$DATA"
        "${CLIENT[@]}" kseg.interop.Workload "$BOOT" crash >> "$OUT/workload.log" 2>&1 &
        CRASH_PID=$!
        sleep 25
        stop_broker KILL
        say "broker killed with -9"
        kill -9 "$CRASH_PID" 2>/dev/null || true; wait "$CRASH_PID" 2>/dev/null || true; CRASH_PID=
        stop_live
        mkdir -p "$OUT/crash"
        cp -a "$DATA" "$OUT/crash/data"

        if [ "$RECOVER" = 1 ]; then
            # The index files of every partition but the KRaft metadata log's are deleted; the
            # broker's recovery (LogLoader -> LogSegment.recover) writes them again at start-up.
            say "third run: index files deleted, the broker rebuilds them in recovery; two transactions, then kill -9"
            mkdir -p "$OUT/recovered"
            : > "$OUT/recovered/partitions.txt"
            : > "$OUT/recovered/active-sizes.txt"
            for part in "$DATA"/*-[0-9]*; do
                [ -d "$part" ] || continue
                case $(basename "$part") in __cluster_metadata-*|*-delete|*-stray) continue ;; esac
                basename "$part" >> "$OUT/recovered/partitions.txt"
                find "$part" -maxdepth 1 -type f \( -name '*.index' -o -name '*.timeindex' -o -name '*.txnindex' \) -delete
                # The active segment's size before recovery: the transactions after it append to
                # some, and the broker indexes those appends from the end of its recovery, not as
                # a rebuild of the whole segment would (compare.py, appended_after_recovery).
                active=$(find "$part" -maxdepth 1 -name '*.log' | sort | tail -n 1)
                [ -n "$active" ] && printf '%s %s\n' "$(basename "$part")/$(basename "$active")" "$(stat -c %s "$active")" \
                    >> "$OUT/recovered/active-sizes.txt"
            done
            start_broker "$WORK/server.properties" "$OUT/broker/run3.log" "$BPORT"
            # A client that cannot reach the coordinator is the test bed's failure, not kseg's:
            # the copy is still compared, its segments as recovery left them.
            "${CLIENT[@]}" kseg.interop.Workload "$BOOT" after-recovery >> "$OUT/workload.log" 2>&1 \
                || say "after-recovery transactions failed (see $OUT/workload.log); the recovered copy is compared without them"
            stop_broker KILL
            say "broker killed with -9 after recovery"
            cp -a "$DATA" "$OUT/recovered/data"
        fi
    fi

    if [ "$CHURN_SECONDS" -gt 0 ] && { [ -z "${INTEROP_ONLY:-}" ] || [[ ",$INTEROP_ONLY," == *,live,* ]]; }; then
        # A broker of its own on a fresh directory (the copies above stay as they are): the churn
        # topics (Workload.java) roll 1 MiB segments, delete by size and time and compact, with
        # file.delete.delay.ms=1s, while the live loop reads; then a clean stop and a fresh verify.
        CDATA=$WORK/churn-data
        BPORT=$(free_port); CPORT=$(free_port)
        write_config "$CDATA" "$BPORT" "$CPORT" "$WORK/churn.properties"
        BOOT=127.0.0.1:$BPORT
        say "churn phase: a fresh broker on $BOOT, $CHURN_SECONDS s of writes with small segments and short retention under the live loop"
        "$JAVA" -Dlog4j2.configurationFile="$WORK/client-log4j2.properties" -cp "$LIB/*" kafka.tools.StorageTool \
            format -t "$CLUSTER_ID" -c "$WORK/churn.properties" --standalone >> "$OUT/format.log" 2>&1
        mkdir -p "$OUT/broker"
        start_broker "$WORK/churn.properties" "$OUT/broker/churn.log" "$BPORT"
        start_live churn "$CDATA"
        "${CLIENT[@]}" kseg.interop.Workload "$BOOT" churn "$CHURN_SECONDS" > "$OUT/churn-workload.log" 2>&1 \
            || { tail -30 "$OUT/churn-workload.log" >&2; exit 1; }
        stop_live
        say "churn workload done; stopping the broker (SIGTERM), then a fresh verify"
        stop_broker
        rc=0
        "$KSEG" verify --format json "$CDATA" > "$OUT/live/verify-churn-final.json" 2> "$OUT/live/verify-churn-final.err" || rc=$?
        echo "$rc" > "$OUT/live/verify-churn-final.rc"
        for name in stats producers; do   # a live run that exits 1 is compared with these
            rc=0; "$KSEG" "$name" "$CDATA" > "$OUT/live/$name-churn-final.out" 2>&1 || rc=$?
            echo "$rc" > "$OUT/live/$name-churn-final.rc"
        done
        mkdir -p "$OUT/churn"
        cp -a "$CDATA" "$OUT/churn/data"
    fi
    FROM=$OUT
else
    FROM=$(cd "$FROM" && pwd)
    say "reusing the broker files of $FROM"
fi

# ------------------------------------------------------------------ comparisons
say "comparing (DumpLogSegments of Kafka $DUMP_VERSION: $DUMP_MAIN)"
rc=0
python3 "$HERE/compare.py" \
    --kseg "$KSEG" --out "$OUT" --from "$FROM" --expected "$EXPECTED" \
    --dump-version "$DUMP_VERSION" \
    --dump-cmd "$JAVA -Xmx2g -cp $CLASSES:$DUMP_LIB/* kseg.interop.DumpServer $DUMP_MAIN" \
    --only "${INTEROP_ONLY:-}" --elapsed-start "$START" || rc=$?

# ------------------------------------------------------------------ kseg export (issue 21)
# The broker's files exported to Parquet, read back by DuckDB and pyarrow (every row = kseg dump,
# read_committed and read_uncommitted counts = the consumers', export_duckdb.py) and by Spark in
# local mode (= DuckDB = kseg stats, export_spark.py). Needs a kseg built with --features export
# and pyspark/duckdb/pyarrow from PyPI in a venv under the cache; skipped, with a note, without.
if [ -z "${INTEROP_ONLY:-}" ] || [[ ",$INTEROP_ONLY," == *,export,* ]]; then
    if ! "$KSEG" export --help >/dev/null 2>&1; then
        say "export: skipped ($KSEG was built without --features export)"
    elif ! PY=$(python_env); then
        say "export: skipped (pyspark, duckdb and pyarrow could not be installed into $CACHE/py; see $CACHE/pip.log)"
    else
        mkdir -p "$OUT/export"
        say "export: DuckDB and pyarrow against kseg dump and the consumers"
        "$PY" "$HERE/export_duckdb.py" --kseg "$KSEG" --oracle "$FROM/oracle" "$FROM/clean/data" \
            > "$OUT/export/duckdb.txt" 2>&1 || { rc=1; tail -20 "$OUT/export/duckdb.txt"; }
        grep -E '^(oracle|FAIL|/)' "$OUT/export/duckdb.txt" || true
        say "export: Spark (local mode) against DuckDB and kseg stats"
        "$PY" "$HERE/export_spark.py" --kseg "$KSEG" "$FROM/clean/data" \
            > "$OUT/export/spark.txt" 2> "$OUT/export/spark.err" || { rc=1; tail -20 "$OUT/export/spark.err"; }
        grep -E '^(export_spark|FAIL)' "$OUT/export/spark.txt" || true
    fi
fi
exit $rc
