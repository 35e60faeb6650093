#!/usr/bin/env bash
# The C files of core/, pve/, tests/unit, tests/fuzz and tests/lib-c are as
# .clang-format (at the top) writes them. Fails naming each file and line
# that is not.
#
#   scripts/check-format.sh [ROOT]        check (ROOT: the tree, default this one)
#   scripts/check-format.sh --fix [ROOT]  rewrite them so, in place
#
# CI runs Debian 12's clang-format 14; another version may lay out a few
# lines its own way.
set -euo pipefail

fix=0
if [ "${1:-}" = "--fix" ]; then
  fix=1
  shift
fi
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root"
if ! command -v clang-format >/dev/null; then
  echo "check-format: clang-format is not installed (scripts/setup.sh installs it)" >&2
  exit 2
fi

mapfile -d '' files < <(find core pve tests/unit tests/fuzz tests/lib-c -type f \
  \( -name '*.c' -o -name '*.h' \) -print0 2>/dev/null | sort -z)
if [ ${#files[@]} -eq 0 ]; then
  echo "check-format: no C files under $root" >&2
  exit 2
fi
if [ $fix -eq 1 ]; then
  # clang-format 14 settles a few lines (trailing comments of a wrapped
  # array) only on a second pass over its own output.
  for pass in 1 2 3; do
    clang-format -i "${files[@]}"
    clang-format --dry-run --Werror "${files[@]}" 2>/dev/null && exit 0
  done
  echo "check-format: clang-format does not settle on a layout after $pass passes" >&2
  exit 1
fi
if ! clang-format --dry-run --Werror "${files[@]}"; then
  echo "check-format: the files above are not as .clang-format lays them out;" \
    "scripts/check-format.sh --fix rewrites them ($(clang-format --version))" >&2
  exit 1
fi
echo "check-format: ${#files[@]} files as .clang-format lays them out"
