#!/bin/sh
# Search speed: GET /api/sessions/search over 1,000 sessions of 200 events
# each (issue 16: p50 <= 50 ms), beside /health and /api/sessions of the
# same daemon, and `breakglass search` with and without its index files.
#
#   bench/search.sh [BUILD_DIR] [SESSIONS] [EVENTS] [QUERIES]
#                   (defaults: build, 1000, 200, 200)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
bin="$root/$build/breakglass"
[ -x "$bin" ] || { echo "no $bin: build first (bash scripts/build.sh $build)" >&2; exit 2; }
BREAKGLASS_SOURCE_DIR="$root" exec node "$root/bench/search-bench.mjs" "$bin" "${2:-1000}" "${3:-200}" "${4:-200}"
