#!/usr/bin/env bash
# Time-boxed fuzzing of every target with cargo-fuzz (libFuzzer), on stable Rust through
# RUSTC_BOOTSTRAP=1. Called by .ci/run; see fuzz/README.md.
#
#   fuzz/run.sh                 every target, KSEG_FUZZ_SECONDS each
#   fuzz/run.sh verify_find     one target
#
# Environment:
#   KSEG_FUZZ_SECONDS   fuzzing time per target                  (default 25; 7 targets ≈ 3 min)
#   KSEG_FUZZ_TIMEOUT   seconds one input may take: slower is a finding (default 10)
#
# Each target starts from its committed seeds (fuzz/seeds/<target>, written by make-seeds.py)
# plus what earlier runs found (fuzz/corpus/<target>, not committed). parse_files first replays
# the pathological text inputs (1 MiB of continuation lines, escapes, one huge line, ...) with
# the same per-input timeout. A crash, a timeout or an out-of-memory stops the run with
# libFuzzer's report and the input in fuzz/artifacts/<target>/; make it a regression test.
# The last lines give executions and coverage per target.
set -euo pipefail
cd "$(dirname "$0")"
export RUSTC_BOOTSTRAP=1

SECONDS_PER=${KSEG_FUZZ_SECONDS:-25}
TIMEOUT=${KSEG_FUZZ_TIMEOUT:-10}
ALL=(decode_segment decompress parse_files stats_producers verify_find topics kafka_text)
TARGETS=("${@:-${ALL[@]}}")

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

echo "== building ${#TARGETS[@]} fuzz targets (release, debug assertions, AddressSanitizer)"
if [[ ${#TARGETS[@]} == 1 ]]; then
    cargo fuzz build --debug-assertions "${TARGETS[0]}"
else
    cargo fuzz build --debug-assertions
fi

SUMMARY=()
for t in "${TARGETS[@]}"; do
    corpus=corpus/$t
    mkdir -p "$corpus" "artifacts/$t"
    log=$(mktemp)
    if [[ $t == parse_files ]]; then
        # Slow rather than wrong: every text parser on large pathological inputs, each within
        # the per-input timeout.
        patho=$(mktemp -d)
        python3 make-seeds.py --pathological "$patho" --mib 1 >/dev/null
        echo "== $t: replaying $(find "$patho" -type f | wc -l) pathological inputs of 1 MiB (timeout ${TIMEOUT} s each)"
        # The built target run on files (not directories) runs just those inputs.
        bin=target/$(rustc -vV | sed -n 's/^host: //p')/release/$t
        # shellcheck disable=SC2046
        if ! "$bin" -timeout="$TIMEOUT" -rss_limit_mb=2048 $(find "$patho" -type f | sort) >"$log" 2>&1; then
            tail -n 40 "$log"
            echo "FAIL $t: a pathological text input crashed, ran out of memory or took over ${TIMEOUT} s" >&2
            exit 1
        fi
        grep -c '^Executed ' "$log" | sed 's/^/   inputs run: /'
        sed -n 's/^Executed \(.*\) in \([0-9]*\) ms$/   \2 ms  \1/p' "$log" | sort -rn | head -n 3
        rm -rf "$patho"
    fi
    echo "== $t: fuzzing for ${SECONDS_PER} s"
    # -max_len: the seeds go up to 64 KiB; -close_fd_mask=2: the kafka_text target prints
    # Kafka's stderr lines, which would drown libFuzzer's own.
    if ! cargo fuzz run --debug-assertions "$t" "$corpus" seeds/"$t" -- \
        -max_total_time="$SECONDS_PER" -timeout="$TIMEOUT" -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 -close_fd_mask=2 >"$log" 2>&1; then
        tail -n 60 "$log"
        echo "FAIL $t: see fuzz/artifacts/$t/ and turn the input into a regression test" >&2
        exit 1
    fi
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    units=$(find "$corpus" -type f | wc -l)
    SUMMARY+=("$(printf '%-16s %10s execs %6s edges %7s features %6s corpus' "$t" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$units")")
    rm -f "$log"
done
echo "== fuzzing: ${SECONDS_PER} s per target, no crash, no input over ${TIMEOUT} s"
printf '%s\n' "${SUMMARY[@]}"
