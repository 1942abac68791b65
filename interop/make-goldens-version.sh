#!/usr/bin/env bash
# What an older release's DumpLogSegments prints for testdata/broker/data, row by row of
# testdata/broker/manifest.tsv (the same files and modes as the 4.4.0 goldens): written to
# testdata/broker/expected-VERSION/ with manifest-VERSION.tsv, for the --kafka-version tests.
#
#   bash interop/make-goldens-version.sh 4.1.1
#
# The tool runs once per row (one JVM serving every request: interop/src/.../DumpServer.java),
# in a copy of the data whose preallocated index files are extended back to the size the broker
# wrote, as tests/broker.rs does. Environment: INTEROP_CACHE, JAVA as for run.sh.
set -euo pipefail

VERSION=${1:?usage: make-goldens-version.sh VERSION}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
CACHE=${INTEROP_CACHE:-$HERE/.cache}
JAVA=${JAVA:-java}
BROKER=$ROOT/testdata/broker
DEST=$BROKER/expected-$VERSION
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kseg-goldens-version.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

INTEROP_CACHE=$CACHE "$HERE/fetch-jars.sh" "$VERSION"
mvn -q -B -f "$HERE/pom.xml" compile -Dinterop.build.dir="$CACHE/build" > "$WORK/mvn.log" 2>&1 || { cat "$WORK/mvn.log"; exit 1; }
LIB=$CACHE/lib-$VERSION
if unzip -Z1 "$LIB/kafka-tools-$VERSION.jar" 2>/dev/null | grep -q '^org/apache/kafka/tools/DumpLogSegments.class$'; then
    MAIN=org.apache.kafka.tools.DumpLogSegments
else
    MAIN=kafka.tools.DumpLogSegments
fi

cp -a "$BROKER/data" "$WORK/data"
grep -v "^#" "$BROKER/preallocated.tsv" | while IFS=$'\t' read -r file size _; do
    [ -n "$file" ] && truncate -s "$size" "$WORK/data/$file"
done

# One request per manifest row: ID, then the arguments.
: > "$WORK/requests"
n=0
grep -v '^#' "$BROKER/manifest.tsv" | while IFS=$'\t' read -r file mode args _; do
    n=$((n + 1))
    printf '%s' "$n" >> "$WORK/requests"
    for a in $args; do printf '\t%s' "$a" >> "$WORK/requests"; done
    printf '\n' >> "$WORK/requests"
done
mkdir -p "$WORK/out"
(cd "$WORK/data" && "$JAVA" -cp "$CACHE/build/classes:$LIB/*" kseg.interop.DumpServer "$MAIN" "$WORK/out" < "$WORK/requests" > "$WORK/server.log")

rm -rf "$DEST"
mkdir -p "$DEST"
echo "# file	mode	args	exit	stdout	stderr (Kafka $VERSION's $MAIN)" > "$BROKER/manifest-$VERSION.tsv"
n=0
grep -v '^#' "$BROKER/manifest.tsv" | while IFS=$'\t' read -r file mode args _; do
    n=$((n + 1))
    base=$(echo "$file.$mode" | tr '/' '_')
    # Absolute paths name the copy the tool ran in: {DATA} stands for it.
    sed "s|$WORK/data|{DATA}|g" "$WORK/out/$n.out" > "$DEST/$base.stdout"
    # The stack frames after an uncaught exception are left out (kseg has none, deliberately).
    sed -e "s|$WORK/data|{DATA}|g" -e '/^	at /d' -e '/^	\.\.\. [0-9]* more$/d' "$WORK/out/$n.err" > "$DEST/$base.stderr"
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$file" "$mode" "$args" "$(cat "$WORK/out/$n.rc")" \
        "expected-$VERSION/$base.stdout" "expected-$VERSION/$base.stderr" >> "$BROKER/manifest-$VERSION.tsv"
done
echo "wrote $(grep -vc '^#' "$BROKER/manifest-$VERSION.tsv") outputs of Kafka $VERSION to $DEST"
