#!/usr/bin/env bash
# Builds the container image (Containerfile) on a machine that reaches
# Debian's package mirror but no container registry: both bases are made
# from Debian's packages with mmdebstrap and imported into podman, then
# podman builds the image from the tracked files of this checkout (never
# build/ folders or untracked files). Needs root and the packages
# scripts/setup.sh installs (podman, runc, mmdebstrap, ...).
#
# The bases are cached, keyed by everything that makes them (suite,
# mirrors, package lists, the hook), so a second run only builds (about
# 25 s). The last line of output is the image's reference and its size;
# progress goes to stderr.
#
# Environment:
#   BREAKGLASS_DEBIAN_MIRROR    default http://deb.debian.org/debian
#   BREAKGLASS_DEBIAN_SECURITY  default http://deb.debian.org/debian-security
#   BREAKGLASS_IMAGE_CACHE      where the base tarballs are kept
#                               (default ~/.cache/breakglass-image)
#   BREAKGLASS_IMAGE_REFRESH=1  make the bases again (security updates)
#   BREAKGLASS_IMAGE_NAME       default localhost/breakglass (tagged :VERSION)
#   BREAKGLASS_IMAGE_BASE       run on this image instead of the base made
#                               here (it must hold the runtime libraries)
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."

readonly SUITE=bookworm
# Debian 12's podman: crun fails on this kind of host's cgroup layout, and
# the default ulimits are refused (see the project's stack notes).
readonly PODMAN=(podman --storage-driver vfs --cgroup-manager=cgroupfs --runtime runc)
readonly ULIMITS=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
# What the Containerfile copies: the build context holds nothing else.
readonly CONTEXT_PATHS=(Containerfile CMakeLists.txt core pve lua www scripts/check-hardening.sh)
readonly BASE_HOOK=scripts/image-base-hook.sh

mirror=${BREAKGLASS_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${BREAKGLASS_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}
image=${BREAKGLASS_IMAGE_NAME:-localhost/breakglass}
cache=${BREAKGLASS_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/breakglass-image}
sources=("deb $mirror $SUITE main" "deb $mirror $SUITE-updates main" "deb $security $SUITE-security main")

say() { echo "image: $*" >&2; }
die() {
  say "$*"
  exit 1
}

for tool in podman mmdebstrap git; do
  command -v "$tool" >/dev/null || die "$tool is not installed (scripts/setup.sh installs it)"
done
git rev-parse --is-inside-work-tree >/dev/null 2>&1 || die "run it in a git checkout: it builds from tracked files only"

version=$(sed -n 's/^project(breakglass VERSION \([0-9][0-9.]*\).*/\1/p' CMakeLists.txt)
[ -n "$version" ] || die "no project VERSION in CMakeLists.txt"
# The package lists live in the Containerfile, which uses them when built
# from a registry; the base adds base-files for /etc/os-release.
arg_value() {
  sed -n "s/^ARG $1=\"\\(.*\\)\"\$/\\1/p" Containerfile
}
runtime_packages="$(arg_value RUNTIME_PACKAGES) base-files"
build_packages=$(arg_value BUILD_PACKAGES)
[ -n "$runtime_packages" ] && [ -n "$build_packages" ] || die "no package lists in the Containerfile"

# Makes (or takes from the cache) one base and imports it as NAME:KEY;
# prints the image name. The rest of the arguments go to mmdebstrap.
base_image() {
  local name=$1 packages=$2
  shift 2
  local key
  # Not the checkout's path: every checkout shares the cache.
  key=$(printf '%s\n' "$SUITE" "${sources[@]}" "$packages" "${*//$PWD\//}" "$(mmdebstrap --version)" |
    cat - "$BASE_HOOK" | sha256sum | cut -c1-16)
  local ref="localhost/$name:$key" tar="$cache/$name-$key.tar"
  if [ "${BREAKGLASS_IMAGE_REFRESH:-}" = 1 ]; then
    rm -f "$tar"
    "${PODMAN[@]}" rmi -f "$ref" >/dev/null 2>&1 || true
  fi
  if "${PODMAN[@]}" image exists "$ref"; then
    say "$name: $ref is there already"
  else
    if [ -f "$tar" ]; then
      say "$name: from the cache, $tar"
    else
      say "$name: mmdebstrap $SUITE with ${packages// /,}"
      mkdir -p "$cache"
      rm -f "$tar.part"
      mmdebstrap --quiet --format=tar --include="${packages// /,}" "$@" "$SUITE" "$tar.part" "${sources[@]}" >&2
      mv "$tar.part" "$tar"
    fi
    find "$cache" -name "$name-*.tar" ! -name "${tar##*/}" -delete
    "${PODMAN[@]}" import --quiet "$tar" "$ref" >/dev/null
  fi
  # The Containerfile's default, for a plain `podman build` after this;
  # bases of older keys are garbage now.
  "${PODMAN[@]}" tag "$ref" "localhost/$name:$SUITE"
  local old
  for old in $("${PODMAN[@]}" images --format '{{.Repository}}:{{.Tag}}' "localhost/$name"); do
    [ "$old" = "$ref" ] || [ "$old" = "localhost/$name:$SUITE" ] || "${PODMAN[@]}" rmi "$old" >/dev/null 2>&1 || true
  done
  echo "$ref"
}

started=$(date +%s)
# The run stage's base: the packages extracted, never configured (their
# maintainer scripts would need a shell); the hook does what is needed.
if [ -n "${BREAKGLASS_IMAGE_BASE:-}" ]; then
  base=$BREAKGLASS_IMAGE_BASE
else
  base=$(base_image breakglass-base "$runtime_packages" --variant=extract \
    --extract-hook="$PWD/$BASE_HOOK")
fi
# The build stage's: the essential set (a shell, dpkg) and the build packages.
builder=$(base_image breakglass-builder "$build_packages" --variant=essential \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias')

context=$(mktemp -d /tmp/breakglass-image.XXXXXX)
trap 'rm -rf "$context"' EXIT
git ls-files -z -- "${CONTEXT_PATHS[@]}" | xargs -0 cp --parents -t "$context"
[ -f "$context/Containerfile" ] || die "the Containerfile is not tracked by git (git add it)"
revision=$(git rev-parse HEAD)
[ -z "$(git status --porcelain --untracked-files=no -- "${CONTEXT_PATHS[@]}")" ] || revision="$revision-dirty"
# A label is public: never the credentials a remote URL may carry.
source=$(git config --get remote.origin.url | sed -E 's#^([a-z+]+://)[^/@]*@#\1#' || true)
source=${source:-unknown}

previous=$("${PODMAN[@]}" image inspect --format '{{.Id}}' "$image:$version" 2>/dev/null || true)
say "building $image:$version ($revision)"
# One commit per stage (--layers=false): the vfs storage copies a layer's
# parent whole, and the builder weighs ~470 MB, so a layer per step made
# the build four times slower than compiling. No network: all it needs is
# in the bases and the context.
"${PODMAN[@]}" build "${ULIMITS[@]}" --network=none --layers=false \
  --build-arg BUILDER="$builder" --build-arg BASE="$base" \
  --build-arg VERSION="$version" --build-arg REVISION="$revision" --build-arg SOURCE="$source" \
  --tag "$image:$version" --file "$context/Containerfile" "$context" >&2

# The image this one replaces, unless a container still uses it.
if [ -n "$previous" ] && [ "$previous" != "$("${PODMAN[@]}" image inspect --format '{{.Id}}' "$image:$version")" ]; then
  "${PODMAN[@]}" rmi "$previous" >/dev/null 2>&1 || true
fi
bytes=$("${PODMAN[@]}" image inspect --format '{{.Size}}' "$image:$version")
say "done in $(($(date +%s) - started)) s"
echo "$image:$version $(awk -v b="$bytes" 'BEGIN { printf "%.1f MB (%d bytes)", b / 1e6, b }')"
