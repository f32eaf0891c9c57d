#!/usr/bin/env bash
# Builds the fuzz targets (debug+ASan and release+ASan, both with libFuzzer), replays the seed
# corpus and every past crasher in FailCases/, then fuzzes each variant for a bounded time.
#
#   FuzzTesting/run.sh [seconds]      seconds of fuzzing per variant (default 60)
#
# Environment:
#   FUZZ_VARIANTS="debug release"     which variants to build and run
#   FUZZ_TARGETS="FuzzHTTPParser FuzzJSONScanner FuzzConnection FuzzMultipart FuzzJSON FuzzZoneRules"   which targets to run
#   FUZZ_EXTRA_ARGS="..."             more libFuzzer flags (e.g. "-fork=2 -ignore_crashes=1")
#
# Exits 1 if a seed or a FailCases/ input crashes, or if fuzzing finds a crash (its path is
# printed); 2 if the build fails. See README.md.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
HERE=$(pwd)
SECONDS_PER_VARIANT=${1:-60}
VARIANTS=${FUZZ_VARIANTS:-debug release}
TARGETS=${FUZZ_TARGETS:-FuzzHTTPParser FuzzJSONScanner FuzzConnection FuzzMultipart FuzzJSON FuzzZoneRules}
EXTRA_ARGS=${FUZZ_EXTRA_ARGS:-}

if ! [[ $SECONDS_PER_VARIANT =~ ^[0-9]+$ ]]; then
    echo "usage: $0 [seconds-per-variant]" >&2
    exit 2
fi
if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
    export PATH=/opt/swift/usr/bin:$PATH
fi

# A trap must not start swift-backtrace: it holds the pipe open for minutes
# (shared/research/reliability-anchors.md §3). libFuzzer writes the crash file and exits.
export SWIFT_BACKTRACE=enable=no
# libFuzzer's own handlers report the crash; ASan should not sit on leaks at exit of replays.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:handle_abort=1}

LOGS=$HERE/.build/fuzz-logs
mkdir -p "$LOGS" corpus
failed=0
crashes=()

# ld.gold prints a harmless "Cannot export local symbol __asan_*" per symbol; hide those.
for variant in $VARIANTS; do
    echo "== build $variant (-sanitize=fuzzer,address)"
    if ! timeout --kill-after=15s 1200 swift build -c "$variant" \
            -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library \
            >"$LOGS/build-$variant.log" 2>&1; then
        grep -v "Cannot export local symbol" "$LOGS/build-$variant.log" | tail -40 >&2
        echo "run.sh: $variant build failed (log: $LOGS/build-$variant.log)" >&2
        exit 2
    fi
done

shopt -s nullglob

# Each target has its own seeds (read only), dictionary and past crashers.
target_files() {  # target -> SEED_DIR DICT FAIL_DIR
    case $1 in
        FuzzJSONScanner) SEED_DIR=seeds-json DICT=json.dict FAIL_DIR=FailCases-json ;;
        FuzzConnection) SEED_DIR=seeds-conn DICT=http.dict FAIL_DIR=FailCases-conn ;;
        FuzzMultipart) SEED_DIR=seeds-multipart DICT=multipart.dict FAIL_DIR=FailCases-multipart ;;
        FuzzJSON) SEED_DIR=seeds-jsonvalue DICT=json.dict FAIL_DIR=FailCases-jsonvalue ;;
        FuzzZoneRules) SEED_DIR=seeds-zone DICT=zone.dict FAIL_DIR=FailCases-zone ;;
        *) SEED_DIR=seeds DICT=http.dict FAIL_DIR=FailCases ;;
    esac
}

# Runs one libFuzzer invocation; records any new crash file it leaves under $artifacts.
run_fuzzer() {  # variant target artifacts log args...
    local variant=$1 target=$2 artifacts=$3 log=$4
    shift 4
    local mark=$LOGS/.mark-$variant rc f
    touch "$mark"
    sleep 1  # mtime granularity: a crash file rewritten under the same name must look new
    timeout --kill-after=30s $((SECONDS_PER_VARIANT + 600)) \
        ".build/$variant/$target" -artifact_prefix="$artifacts/" "$@" >"$log" 2>&1
    rc=$?
    while IFS= read -r f; do
        [ -n "$f" ] && crashes+=("$HERE/$f")
    done < <(find "$artifacts" -type f -newer "$mark" | sort)
    return $rc
}

# The invariant that broke, from a replay with the debug build: optimised builds drop
# precondition messages.
explain() {  # target file
    local bin=.build/debug/$1
    [ -x "$bin" ] || return 0
    timeout --kill-after=10s 300 "$bin" -artifact_prefix="$LOGS/replay-" "$2" 2>&1 \
        | grep -E "Fatal error|^ +(whole|fragmented|byte-by-byte|pieces[^:]*):|ERROR: AddressSanitizer" | head -4 | sed 's/^ */     /'
}

for target in $TARGETS; do
    target_files "$target"
    seeds=("$SEED_DIR"/*)
    failcases=()
    for f in "$FAIL_DIR"/*; do
        case $f in *.md|*.txt) ;; *) failcases+=("$f") ;; esac
    done
    for variant in $VARIANTS; do
        bin=.build/$variant/$target
        artifacts=artifacts/$target-$variant
        mkdir -p "$artifacts"

        # 1. Seeds: each must pass (they are the documented cases).
        if ((${#seeds[@]})); then
            if run_fuzzer "$variant" "$target" "$artifacts" "$LOGS/$target-$variant-seeds.log" "${seeds[@]}"; then
                echo "== $target/$variant: ${#seeds[@]} seeds replayed, no crash"
            else
                echo "== $target/$variant: a SEED crashes (log: $LOGS/$target-$variant-seeds.log)"
                grep -E "Fatal error|ERROR: |^Running: " "$LOGS/$target-$variant-seeds.log" | tail -5
                failed=1
            fi
        fi

        # 2. Past crashers, one by one so each failure is named (swift-protobuf's FailCases/).
        for f in "${failcases[@]}"; do
            if ! timeout --kill-after=10s 300 "$bin" -artifact_prefix="$LOGS/replay-" "$f" \
                    >"$LOGS/$target-$variant-failcase.log" 2>&1; then
                echo "== $target/$variant: FailCases regression still fails: $HERE/$f"
                explain "$target" "$f"
                failed=1
            fi
        done
        [ ${#failcases[@]} -eq 0 ] || echo "== $target/$variant: ${#failcases[@]} FailCases replayed"

        # 3. Fuzz for a bounded time. New inputs go to corpus/ (git-ignored); seeds/ is read only.
        if [ "$SECONDS_PER_VARIANT" -gt 0 ]; then
            mkdir -p "corpus/$target"
            log=$LOGS/$target-$variant-fuzz.log
            echo "== $target/$variant: fuzzing for ${SECONDS_PER_VARIANT}s (log: $log)"
            # shellcheck disable=SC2086
            run_fuzzer "$variant" "$target" "$artifacts" "$log" \
                -max_total_time="$SECONDS_PER_VARIANT" -max_len=16384 -timeout=25 -rss_limit_mb=2560 \
                -dict="$DICT" -print_final_stats=1 $EXTRA_ARGS "corpus/$target" "$SEED_DIR"
            rc=$?
            cov=$(grep -E '^#[0-9]+' "$log" | grep -o 'cov: [0-9]* ft: [0-9]* corp: [0-9]*/[0-9a-zA-Z]*' | tail -1)
            execs=$(grep -o 'number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
            rate=$(grep -o 'average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$')
            echo "   ${execs:-?} execs, ${rate:-?} exec/s${cov:+, $cov}"
            if [ $rc -ne 0 ]; then
                echo "   libFuzzer exited with $rc: $(grep -E "^SUMMARY" "$log" | head -1)"
                for c in "${crashes[@]}"; do
                    case $c in "$HERE/$artifacts/"*) echo "   $c"; explain "$target" "$c" ;; esac
                done
                failed=1
            fi
        fi
    done
done

if ((${#crashes[@]})); then
    echo
    echo "Crash inputs (replay: .build/<variant>/<target> FILE; minimise: -minimize_crash=1):"
    for c in "${crashes[@]}"; do echo "  $c"; done
fi
if [ $failed -ne 0 ]; then
    echo "run.sh: FAILED"
    exit 1
fi
echo "run.sh: no crash"
