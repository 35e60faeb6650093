#!/usr/bin/env bash
# Sets up and runs every test: the plain build, the same suite under
# AddressSanitizer + UndefinedBehaviorSanitizer (LeakSanitizer included),
# and libFuzzer runs of every target (docs/fuzzing.md): FUZZ_SECONDS each,
# two at a time. About six targets at 120 s: six minutes on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

scripts/build.sh build
(cd build && ctest -j2 --output-on-failure)

scripts/build.sh build-asan -DBREAKGLASS_SANITIZE=ON
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
   UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest -j2 --output-on-failure)

cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DBREAKGLASS_FUZZ=ON \
  -DBREAKGLASS_FUZZ_SECONDS="${FUZZ_SECONDS:-120}" >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target fuzz_all
(cd build-fuzz && ctest -R '^fuzz\.' -j2 --output-on-failure)
