#!/usr/bin/env bash
# A fuzz campaign for one target, its finds kept in the corpus:
#   scripts/fuzz.sh TARGET [SECONDS]      e.g. scripts/fuzz.sh http_server 1800
# Builds fuzz_TARGET (build-fuzz), runs it niced for SECONDS (default 1800)
# from tests/fuzz/corpus/TARGET into a scratch folder, then merges into the
# corpus the inputs that reach new code (libFuzzer -merge=1, by edges only,
# -use_counters=0, which keeps it to a few hundred small files): commit them.
# Crashes, if any, land in build-fuzz/artifacts/TARGET/; the final figures
# (execs, execs/s, cov, ft, corpus) are in build-fuzz/campaign/TARGET.log.
set -euo pipefail
cd "$(dirname "$0")/.."
target=$1
seconds=${2:-1800}
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DBREAKGLASS_FUZZ=ON >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target "fuzz_$target"
bin=build-fuzz/tests/fuzz/fuzz_$target
corpus=tests/fuzz/corpus/$target
work=build-fuzz/campaign/$target
artifacts=build-fuzz/artifacts/$target/
dict=()
[[ -f tests/fuzz/$target.dict ]] && dict=(-dict="tests/fuzz/$target.dict")
mkdir -p "$corpus" "$work" "$artifacts"
status=0
nice "$bin" "${dict[@]}" -max_total_time="$seconds" -timeout=30 -max_len=4096 \
  -print_final_stats=1 -artifact_prefix="$artifacts" "$work" "$corpus" \
  >"build-fuzz/campaign/$target.log" 2>&1 || status=$?
grep -E '^#[0-9]+ +DONE|^stat::|^Done ' "build-fuzz/campaign/$target.log" || true
before=$(ls "$corpus" | wc -l)
"$bin" -merge=1 -use_counters=0 -max_len=4096 "$corpus" "$work" >"build-fuzz/campaign/$target.merge.log" 2>&1
echo "corpus/$target: $before files before, $(ls "$corpus" | wc -l) after the merge"
if [[ $status -ne 0 ]]; then
  echo "fuzz_$target stopped with status $status: see build-fuzz/campaign/$target.log and $artifacts" >&2
fi
exit "$status"
