#!/usr/bin/env bash
# fetch-jars.sh VERSION: the runtime jars of Kafka VERSION (broker, tools, clients, log4j2)
# in one directory of the cache, fetched from Maven Central with interop/pom.xml on first use;
# prints the directory. Used by interop/run.sh and bench/run.sh.
#   INTEROP_CACHE   where the jars go (default interop/.cache, gitignored)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${INTEROP_CACHE:-$HERE/.cache}
version=${1:?usage: fetch-jars.sh VERSION}
dir=$CACHE/lib-$version
if [ ! -f "$dir/.complete" ]; then
    echo "fetching Kafka $version jars into $dir" >&2
    mkdir -p "$CACHE"
    rm -rf "$dir"
    mvn -q -B -Dstyle.color=never -f "$HERE/pom.xml" dependency:copy-dependencies -Dkafka.version="$version" \
        -DoutputDirectory="$dir" -Dinterop.build.dir="$CACHE/build-deps" > "$CACHE/mvn-$version.log" 2>&1 \
        || { cat "$CACHE/mvn-$version.log" >&2; exit 1; }
    touch "$dir/.complete"
fi
echo "$dir"
