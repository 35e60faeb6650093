#!/bin/sh
# Every figure of docs/benchmarks.md in one run, each beside its baseline
# (today's Python service, OpenSSH measured in the same run, or the same
# daemon under a lighter load) and the ratio; the table on stdout, and as
# JSON with the machine described in BUILD_DIR/bench.json (or --json FILE).
# The SSH figures need the lab, so root (network namespaces, sshd).
#
#   bench/run.sh BUILD_DIR [--quick] [--json FILE]
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 1 ] || { echo "usage: bench/run.sh BUILD_DIR [--quick] [--json FILE]" >&2; exit 2; }
exec node "$root/bench/run.mjs" "$@"
