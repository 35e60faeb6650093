#!/bin/sh
# Replay speed: a journal of 1,000 tool calls replayed against the shipped
# scripts (lua/), side by side with two baselines measured in the same run:
# `check` (loading and validating the same set) and the replay of the same
# session with no calls (load, read, report). The difference between the
# full and the empty replay, divided by the calls, is the time per call.
#
#   bench/replay.sh [BUILD_DIR] [CALLS]     (defaults: build, 1000)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
calls=${2:-1000}
bin="$root/$build/breakglass"
# Each figure is the fastest of RUNS, so a busy machine skews it less.
RUNS=5

[ -x "$bin" ] || { echo "no $bin: build first (bash scripts/build.sh $build)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
node "$root/bench/replay-journal.mjs" "$calls" > "$work/full.jsonl"
node "$root/bench/replay-journal.mjs" 0 > "$work/empty.jsonl"

now_ns() { date +%s%N; }
# Fastest wall time of RUNS runs of the command, in microseconds; exit
# statuses other than 0 and 1 (a divergence is still a timed replay) stop.
fastest_us() {
  best=
  for _ in $(seq "$RUNS"); do
    t0=$(now_ns)
    status=0
    "$@" > "$work/out" 2>&1 || status=$?
    t1=$(now_ns)
    [ "$status" -le 1 ] || { echo "failed ($status): $*" >&2; cat "$work/out" >&2; exit 2; }
    us=$(( (t1 - t0) / 1000 ))
    if [ -z "$best" ] || [ "$us" -lt "$best" ]; then best=$us; fi
  done
  echo "$best"
}

check_us=$(fastest_us "$bin" check "$root/lua")
empty_us=$(fastest_us "$bin" replay "$work/empty.jsonl" --scripts "$root/lua")
full_us=$(fastest_us "$bin" replay "$work/full.jsonl" --scripts "$root/lua")
"$bin" replay "$work/full.jsonl" --scripts "$root/lua" | tail -n 1

per_call_us=$(( (full_us - empty_us) / calls ))
printf '%-40s %12s\n' "what (fastest of $RUNS)" "wall time"
printf '%-40s %9d us\n' "check lua/ (baseline: load the set)" "$check_us"
printf '%-40s %9d us\n' "replay, 0 calls (baseline)" "$empty_us"
printf '%-40s %9d us\n' "replay, $calls calls" "$full_us"
printf '%-40s %9d us\n' "per call (full - empty) / $calls" "$per_call_us"
