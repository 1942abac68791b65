#!/usr/bin/env bash
# Cost of one lookup on a partition holding a 1 GiB segment: wall time of the
# whole command (process start included, warm page cache), log bytes read,
# index probes and page faults. See bench/README.md.
#
#   KSEG_BENCH_DIR   where bench/run.sh keeps its segments (default /tmp/kseg-bench)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${KSEG_BENCH_DIR:-/tmp/kseg-bench}
KSEG=$ROOT/target/release/kseg
PART=$DIR/none-1024

(cd "$ROOT" && cargo build --release --quiet --bin kseg --example gen_segment)
if [[ ! -s $PART/00000000000000000000.log ]]; then
    mkdir -p "$PART"
    "$ROOT/target/release/examples/gen_segment" --out "$PART/00000000000000000000.log" --size-mib 1024 --codec none >"$DIR/none-1024.meta"
fi
command -v hyperfine >/dev/null || apt-get install -y hyperfine >/dev/null
cat "$PART"/* >/dev/null

# A target in the middle of the segment, and the timestamp of that record.
mid=$("$KSEG" find-time "$PART" latest --format json | sed -n 's/.*"offset": \([0-9]*\).*/\1/p')
mid=$((mid / 2 + 7))
ts=$("$KSEG" find-offset "$PART" "$mid" --format json | sed -n 's/.*"timestamp": \([0-9]*\).*/\1/p')

echo "== partition $PART ($(du -h "$PART/00000000000000000000.log" | cut -f1) segment), offset $mid, timestamp $ts"
for cmd in "find-offset $PART $mid" "find-time $PART $ts"; do
    # shellcheck disable=SC2086
    "$KSEG" $cmd --explain | sed 's/^/   /'
    # shellcheck disable=SC2086
    faults=$(/usr/bin/time -f %R "$KSEG" $cmd 2>&1 >/dev/null | tail -1)
    base=$(/usr/bin/time -f %R "$KSEG" --version 2>&1 >/dev/null | tail -1)
    echo "   page faults: $faults (kseg --version alone: $base)"
done
hyperfine -N --warmup 20 --runs 200 \
    "$KSEG find-offset $PART $mid" \
    "$KSEG find-time $PART $ts" \
    "$KSEG --version"
