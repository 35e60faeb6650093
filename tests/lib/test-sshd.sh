#!/bin/sh
# Starts a throwaway OpenSSH sshd on 127.0.0.1 for the SSH transport tests.
# Usage: test-sshd.sh DIR PORT   (DIR holds host_key, authorized_keys)
# Writes DIR/sshd_config, logs to DIR/sshd.log, prints the listener's pid.
set -eu
dir=$1 port=$2
mkdir -p -m 755 /run/sshd
[ -f "$dir/host_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$dir/host_key"
cat > "$dir/sshd_config" <<CFG
ListenAddress 127.0.0.1
Port $port
HostKey $dir/host_key
PidFile $dir/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
LogLevel INFO
MaxStartups 64
CFG
rm -f "$dir/sshd.pid"
/usr/sbin/sshd -D -f "$dir/sshd_config" -E "$dir/sshd.log" </dev/null >/dev/null 2>&1 &
pid=$!
i=0
until [ -s "$dir/sshd.pid" ]; do
  i=$((i + 1)); [ $i -lt 100 ] || { echo "sshd did not start" >&2; exit 1; }
  sleep 0.05
done
echo $pid
