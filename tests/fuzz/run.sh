#!/usr/bin/env bash
# tests/fuzz/run.sh — runs libFuzzer targets for a bounded time each, two
# at a time (the CI machine has 2 cores), each on a copy of its seed corpus
# (tests/fuzz/corpus/NAME) with its dictionary (NAME.dict) when there is one.
# Prints one line per target,
#   fuzz wire: 1234567 runs in 60 s, 0 crashes
# and for a crash, leak or timeout the path of the input that caused it
# (kept in OUT) and the end of the target's log. Exits 1 when any target
# found one or did not run.
#   run.sh BUILD_ROOT OUT SECONDS NAME...
set -u
build=$1 out=$2 secs=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"

# One target in the background: corpus copy, libFuzzer, its log and the
# inputs it found faulty, all under $out/NAME*.
fuzz_one() {
    local name=$1 exe=$build/tests/fuzz/fuzz_$1 dict=()
    rm -rf "$out/$name" "$out/$name-artifacts" "$out/$name.rc" && mkdir -p "$out/$name-artifacts" &&
        cp -r "$here/corpus/$name" "$out/$name" || return 1
    [ -f "$here/$name.dict" ] && dict=(-dict="$here/$name.dict")
    # -timeout: an input that takes 25 s under ASan is a hang; -rss_limit_mb
    # keeps two targets and the rest of the machine within its memory.
    "$exe" -max_total_time="$secs" -timeout=25 -rss_limit_mb=1536 -error_exitcode=1 \
        -timeout_exitcode=1 -print_final_stats=1 "${dict[@]}" \
        -artifact_prefix="$out/$name-artifacts/" "$out/$name" >"$out/$name.log" 2>&1
    echo $? >"$out/$name.rc"
}

report() {
    local name=$1 runs crashes rc
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$name.log")
    rc=$(cat "$out/$name.rc" 2>/dev/null || echo missing)
    crashes=$(find "$out/$name-artifacts" -type f | wc -l)
    echo "fuzz $name: ${runs:-0} runs in $secs s, $crashes crashes"
    if [ "$crashes" -gt 0 ] || [ -z "$runs" ] || [ "$rc" != 0 ]; then
        echo "  fuzz_$name exited $rc"
        find "$out/$name-artifacts" -type f -printf '  input: %p\n'
        # the sanitizer's verdict and the first frames, then the log's end
        grep -m 1 -A 12 -E '^==[0-9]+==ERROR|^SUMMARY|runtime error' "$out/$name.log" | sed 's/^/  | /'
        tail -n 12 "$out/$name.log" | sed 's/^/  | /'
        return 1
    fi
}

status=0
while [ $# -gt 0 ]; do
    pair=("$1")
    [ $# -gt 1 ] && pair+=("$2")
    pids=()
    for name in "${pair[@]}"; do
        fuzz_one "$name" &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do wait "$pid"; done
    for name in "${pair[@]}"; do report "$name" || status=1; done
    shift ${#pair[@]}
done
exit $status
