#!/usr/bin/env bash
# Fuzz for SECONDS_TOTAL seconds in all, restarting after each finding (saved under
# bench/out/fuzz-seeds/findings/). Usage: nice -n 19 bench/fuzz/loop.sh 3600
set -u
cd "$(dirname "$0")/../.."
total="${1:-600}"; start=$(date +%s); logs=bench/out/fuzzlogs; mkdir -p "$logs"
while :; do
    left=$(( total - ($(date +%s) - start) )); [ "$left" -le 5 ] && break
    log="$logs/run-$(date +%s).log"
    .venv/bin/python -m bench.fuzz.fuzz_headers -max_total_time="$left" -print_final_stats=1 > "$log" 2>&1
    echo "$(date -u +%T) run ended rc=$? $(grep -c 'Uncaught' "$log") finding(s): $log"
done
