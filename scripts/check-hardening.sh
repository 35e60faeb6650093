#!/bin/sh
# Checks, as checksec does, that an ELF executable carries the hardening the
# image build asks for: PIE, full RELRO (BIND_NOW), a non-executable stack,
# stack protector canaries and FORTIFY_SOURCE's checked functions. Stripped
# binaries work: the dynamic symbols are enough. Exits 1 naming the first
# property missing. Used by the Containerfile's build stage and the image
# test; needs binutils' readelf.
#   scripts/check-hardening.sh BINARY
set -eu
bin=$1
fail() {
  echo "check-hardening: $bin: $*" >&2
  exit 1
}

[ -f "$bin" ] || fail "no such file"
readelf -h "$bin" | grep -Eq 'Type:[[:space:]]+DYN' ||
  fail "not a position-independent executable (build with -fPIE, link with -pie)"
segments=$(readelf -l -W "$bin")
echo "$segments" | grep -q GNU_RELRO || fail "no RELRO segment (link with -z relro)"
readelf -d -W "$bin" | grep -Eq '\(FLAGS\).*BIND_NOW|\(FLAGS_1\).*NOW' ||
  fail "partial RELRO: no BIND_NOW (link with -z now)"
echo "$segments" | grep -q GNU_STACK || fail "no GNU_STACK segment: the stack would be executable"
if echo "$segments" | grep GNU_STACK | grep -q 'RWE'; then fail "executable stack"; fi
symbols=$(readelf --dyn-syms -W "$bin")
echo "$symbols" | grep -q '__stack_chk_fail' ||
  fail "no stack protector canaries (build with -fstack-protector-strong)"
echo "$symbols" | grep -Eq ' __[a-z0-9_]+_chk(@|$)' ||
  fail "no fortified calls (build with -O2 -D_FORTIFY_SOURCE=2)"
echo "check-hardening: $bin: PIE, full RELRO, NX stack, canaries, FORTIFY_SOURCE"
