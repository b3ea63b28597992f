#!/usr/bin/env bash
# Two versions of almc-assistant and the naive verified copy, one after the other, with
# the page cache dropped before each: for a change whose effect is smaller than this
# machine's run-to-run swing (README, "Why (a) and (b) swing here").
#
#   bench/alternate_copy.sh SRC_A SRC_B DATASET [ROUNDS]
#     SRC_A, SRC_B  the src/ folders of two checkouts (e.g. /work/main/src ./src)
#     DATASET       a folder of bench_copy.py's cache, e.g. /work/bench-data/a-1x2GiB
# Run as root (drops caches), under the bench lock:
#   flock /work/notes/bench.lock bench/alternate_copy.sh /work/main/src src /work/bench-data/a-1x2GiB 3
# With FLOOR=1 each round also times the device's floor for a verified copy of the data
# set's files, without any hashing: each file read, written and read back with O_DIRECT
# by dd (16 MiB blocks), one after the other.
set -euo pipefail
A=$1 B=$2 DS=$3 R=${4:-3}
PY=${PYTHON:-$(dirname "$0")/../.venv/bin/python}
D=${DEST:-$(dirname "$DS")-dest/alternate}
run() {
  rm -rf "$D"; mkdir -p "$D"; sync; echo 3 > /proc/sys/vm/drop_caches; sleep 1
  local s e; s=$(date +%s.%N)
  bash -c "$2" > /dev/null
  e=$(date +%s.%N)
  printf '%-6s %6.2f s  load %s\n' "$1" "$(echo "$e - $s" | bc)" "$(cut -d' ' -f1 /proc/loadavg)"
  rm -rf "$D"; sync
}
for _ in $(seq "$R"); do
  run A "PYTHONPATH=$A $PY -m almc_assistant copy $DS --to $D/1 --json"
  run B "PYTHONPATH=$B $PY -m almc_assistant copy $DS --to $D/1 --json"
  run naive "cp -r $DS $D/ && sync && echo 3 > /proc/sys/vm/drop_caches && find $D/$(basename "$DS") -type f -print0 | xargs -0 b3sum > /dev/null"
  if [ "${FLOOR:-0}" = 1 ]; then
    run floor "mkdir -p $D/f && for f in $DS/*; do dd if=\$f of=$D/f/x bs=16M iflag=direct oflag=direct conv=fdatasync status=none && dd if=$D/f/x of=/dev/null bs=16M iflag=direct status=none && rm $D/f/x; done"
  fi
done
