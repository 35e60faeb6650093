#!/bin/sh
# mmdebstrap --extract-hook for the image's run stage (scripts/image.sh):
# turns the extracted packages into a base that runs one dynamically linked
# program and nothing else. The extract variant runs no maintainer script
# (they would need a shell, which this base must not have), so this hook
# does, from the host, the little of their work the daemon needs:
#   - the dpkg database, so scanners (trivy, grype) see the packages;
#   - the CA bundle update-ca-certificates would make (every Mozilla CA, the
#     package's default) for libcurl;
#   - /etc/passwd and /etc/group with root and the daemon's user, 65532;
#   - the loader's cache.
# Then it removes what no one reads: documentation (the copyright files
# stay), manuals, locales, glibc's iconv modules (8 MB; its built-in
# converters cover ASCII and UTF-8, all the daemon's libraries use), and
# every executable the dependencies brought (openssl, mawk, ldd, ...):
# nothing runs in the image but breakglass.
set -eu
root=$1
uid=65532

cd "$root"
: >var/lib/dpkg/status
for deb in var/cache/apt/archives/*.deb; do
  dpkg-deb --field "$deb" | sed '/^Package:/a Status: install ok installed' >>var/lib/dpkg/status
  echo >>var/lib/dpkg/status
done

mkdir -p etc/ssl/certs
find usr/share/ca-certificates -name '*.crt' | LC_ALL=C sort | while read -r crt; do
  cat "$crt"
  # update-ca-certificates ends every certificate with a newline too
  [ -z "$(tail -c 1 "$crt")" ] || echo
done >etc/ssl/certs/ca-certificates.crt
[ -s etc/ssl/certs/ca-certificates.crt ] || { echo "image-base-hook: no CA certificates" >&2; exit 1; }

printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nbreakglass:x:%d:%d:breakglass:/nonexistent:/usr/sbin/nologin\n' \
  "$uid" "$uid" >etc/passwd
printf 'root:x:0:\nbreakglass:x:%d:\n' "$uid" >etc/group

find usr/share/doc -mindepth 1 ! -type d ! -name copyright -delete
find usr/share/doc -mindepth 1 -type d -empty -delete
rm -rf usr/share/man usr/share/info usr/share/locale usr/share/lintian usr/share/bug
rm -rf usr/lib/x86_64-linux-gnu/gconv
rm -rf bin sbin usr/bin usr/sbin usr/libexec usr/lib/x86_64-linux-gnu/libexec
mkdir -p usr/local/bin

ldconfig -r "$root"
