#!/usr/bin/env bash
# Sets up and runs every test: the plain build, the same suite under
# AddressSanitizer + UndefinedBehaviorSanitizer (LeakSanitizer included),
# and libFuzzer runs of every target (docs/fuzzing.md): FUZZ_SECONDS each,
# two at a time. The container image test (ctest label "image") builds the
# image from the sources, not from the build tree, so only the plain pass
# runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

scripts/build.sh build
(cd build && ctest -j2 --output-on-failure)

scripts/build.sh build-asan -DBREAKGLASS_SANITIZE=ON
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
   UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest -j2 --label-exclude image --output-on-failure)

cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DBREAKGLASS_FUZZ=ON \
  -DBREAKGLASS_FUZZ_SECONDS="${FUZZ_SECONDS:-120}" >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target fuzz_all
(cd build-fuzz && ctest -R '^fuzz\.' -j2 --output-on-failure)
