#!/usr/bin/env bash
# Regenerates testdata/broker/: a small set of files written by a real Kafka 4.4.0 broker, and what
# the real DumpLogSegments (4.4.0) prints for each of them in each mode. See testdata/broker/README.md.
#
#   bash interop/make-goldens.sh            (writes testdata/broker/, wiping it first)
#
# Environment: INTEROP_CACHE, JAVA as for run.sh; GOLDENS_DIR=dir to write elsewhere.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
VERSION=4.4.0
CACHE=${INTEROP_CACHE:-$HERE/.cache}
JAVA=${JAVA:-java}
DEST=${GOLDENS_DIR:-$ROOT/testdata/broker}
CLUSTER_ID=a2NlZy1nb2xkZW5zLTQ0MA
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kseg-goldens.XXXXXX")
OUT=$WORK
BROKER_PID=
cleanup() {
    local rc=$?
    [ -n "${BROKER_PID:-}" ] && { kill -9 "$BROKER_PID" 2>/dev/null || true; wait "$BROKER_PID" 2>/dev/null || true; }
    rm -rf "$WORK"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
say() { echo "[goldens] $*"; }

LIB=$CACHE/lib-$VERSION
if [ ! -f "$LIB/.complete" ]; then
    say "fetching Kafka $VERSION jars into $LIB"
    rm -rf "$LIB"
    mvn -q -B -f "$HERE/pom.xml" dependency:copy-dependencies -Dkafka.version=$VERSION \
        -DoutputDirectory="$LIB" -Dinterop.build.dir="$CACHE/build-deps" > "$WORK/mvn.log" 2>&1 || { cat "$WORK/mvn.log"; exit 1; }
    touch "$LIB/.complete"
fi
mvn -q -B -f "$HERE/pom.xml" compile -Dinterop.build.dir="$CACHE/build" > "$WORK/mvn.log" 2>&1 || { cat "$WORK/mvn.log"; exit 1; }
CLASSES=$CACHE/build/classes

# shellcheck source=broker.sh
source "$HERE/broker.sh"
write_log4j
write_client_log4j

DATA=$WORK/data
BPORT=$(free_port); CPORT=$(free_port)
write_config "$DATA" "$BPORT" "$CPORT" "$WORK/server.properties"
cat >> "$WORK/server.properties" <<'CFG'
# goldens: one partition per internal topic, fewer NoOpRecords
offsets.topic.num.partitions=1
transaction.state.log.num.partitions=1
metadata.max.idle.interval.ms=5000
CFG
say "formatting and starting Kafka $VERSION on 127.0.0.1:$BPORT"
"$JAVA" -Dlog4j2.configurationFile="$WORK/client-log4j2.properties" -cp "$LIB/*" kafka.tools.StorageTool \
    format -t "$CLUSTER_ID" -c "$WORK/server.properties" --standalone > "$WORK/format.log" 2>&1
start_broker "$WORK/server.properties" "$WORK/broker.log" "$BPORT"
say "goldens workload"
"$JAVA" -Xmx512m -Dlog4j2.configurationFile="$WORK/client-log4j2.properties" -cp "$CLASSES:$LIB/*" \
    kseg.interop.Workload "127.0.0.1:$BPORT" goldens
# g-rolled-0 is copied while the broker runs: its active segment keeps its preallocated 10 MiB
# .index/.timeindex (a clean stop trims them). Nothing writes to it any more.
cp -a "$DATA/g-rolled-0" "$WORK/g-rolled-0.live"
say "stopping the broker (SIGTERM)"
stop_broker
rm -rf "$DATA/g-rolled-0"
mv "$WORK/g-rolled-0.live" "$DATA/g-rolled-0"

say "selecting files, running DumpLogSegments $VERSION on them, writing $DEST"
rm -rf "$DEST"
mkdir -p "$DEST"
python3 - "$DATA" "$DEST" "$JAVA -cp $CLASSES:$LIB/* kseg.interop.DumpServer org.apache.kafka.tools.DumpLogSegments" "$HERE" <<'PY'
import os, re, shlex, shutil, subprocess, sys
data, dest, dump_cmd, here = sys.argv[1:5]
sys.path.insert(0, here)
from compare import file_kind, mode_name

DIRS = ["g-rolled-0", "g-compacted-0", "g-txn-0", "g-binary-0", "__consumer_offsets-0",
        "__transaction_state-0", "__cluster_metadata-0"]
ROOT_FILES = ["log-start-offset-checkpoint", "recovery-point-offset-checkpoint", "replication-offset-checkpoint",
              "cleaner-offset-checkpoint", "meta.properties"]
files = [f for f in ROOT_FILES if os.path.exists(os.path.join(data, f))]
for d in DIRS:
    for f in sorted(os.listdir(os.path.join(data, d))):
        files.append(d + "/" + f)

# the real tool, on the files as the broker left them (cwd = the data dir, relative paths)
reqs = []
for rel in files:
    kind, modes = file_kind(os.path.join(data, rel))
    for flags in modes:
        reqs.append(("r%04d" % len(reqs), rel, flags))
raw = os.path.join(data, "..", "raw")
with open(os.path.join(data, "..", "requests.tsv"), "w") as f:
    for rid, rel, flags in reqs:
        f.write("\t".join([rid, "--files", rel] + flags) + "\n")
subprocess.run(shlex.split(dump_cmd) + [os.path.abspath(raw)], cwd=data, check=True,
               stdin=open(os.path.join(data, "..", "requests.tsv")), stdout=subprocess.DEVNULL)

def real_entries(path, size):
    """Entries before the first zero slot (after slot 0), as DumpLogSegments reads an index."""
    b = open(path, "rb").read()
    n = len(b) // size
    for i in range(1, n):
        rel = b[i * size:(i * size) + 4] if size == 8 else b[i * size + 8:i * size + 12]
        if rel == b"\0\0\0\0":
            return i
    return n

manifest = ["# file\tmode\targs\texit\tstdout\tstderr"]
sizes = ["# file\tsize written by the broker\tsize committed (the rest were zeros)"]
for rel in files:
    src = os.path.join(data, rel)
    dst = os.path.join(dest, "data", rel)
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    shutil.copy2(src, dst)
    os.chmod(dst, 0o644)
    size = os.path.getsize(src)
    if re.search(r"\.(index|timeindex)$", rel):
        keep = real_entries(src, 8 if rel.endswith(".index") else 12) * (8 if rel.endswith(".index") else 12)
        if keep < size:
            assert open(src, "rb").read()[keep:].strip(b"\0") == b"", rel
            with open(dst, "r+b") as f:
                f.truncate(keep)
            sizes.append("%s\t%d\t%d" % (rel, size, keep))
for rid, rel, flags in reqs:
    mode = mode_name(flags)
    base = os.path.join("expected", rel + "." + mode)
    os.makedirs(os.path.dirname(os.path.join(dest, base)), exist_ok=True)
    out = open(os.path.join(raw, rid + ".out"), "rb").read()
    err = open(os.path.join(raw, rid + ".err"), "rb").read()
    rc = open(os.path.join(raw, rid + ".rc")).read().strip()
    open(os.path.join(dest, base + ".stdout"), "wb").write(out)
    errname = ""
    if err:
        errname = base + ".stderr"
        open(os.path.join(dest, errname), "wb").write(err)
    manifest.append("\t".join([rel, mode, " ".join(["--files", rel] + flags), rc, base + ".stdout", errname]))
open(os.path.join(dest, "manifest.tsv"), "w").write("\n".join(manifest) + "\n")
open(os.path.join(dest, "preallocated.tsv"), "w").write("\n".join(sizes) + "\n")
total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(dest) for f in fs)
print("[goldens] %d files, %d tool outputs, %d bytes in %s" % (len(files), len(reqs), total, dest))
PY
