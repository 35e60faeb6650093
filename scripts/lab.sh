#!/usr/bin/env bash
# The local lab: sets up, builds and runs breakglass on this machine against
# the lab's hosts (tests/lib/lab-cli.mjs: a real sshd playing the devvm, one
# playing the Proxmox host with the real breakglass-pve, a fake qm) and a
# scripted mock model served over TLS from a throwaway CA, or the real model
# when ANTHROPIC_API_KEY is set. Prints the page's address and the token;
# Ctrl-C stops everything and removes what it made. Needs root.
#
# Environment:
#   BREAKGLASS_LISTEN_PORT      the page's port on 127.0.0.1 (default 8080)
#   BREAKGLASS_LAB_SKIP_BUILD=1 no setup and no build: run $BREAKGLASS_BIN
#                               (default build/breakglass) as it is
#   ANTHROPIC_API_KEY           talk to the real model instead of the mock
set -euo pipefail
cd "$(dirname "$0")/.."

readonly START_WAIT_TENTHS=600 # 60 s for each process to come up
readonly STOP_WAIT_TENTHS=100  # 10 s for each to stop before SIGKILL

if [ "$(id -u)" -ne 0 ]; then
  echo "lab: run as root (the lab adds a user and network namespaces): sudo $0" >&2
  exit 1
fi
if [ "${BREAKGLASS_LAB_SKIP_BUILD:-}" != 1 ]; then
  scripts/setup.sh
  scripts/build.sh build >/dev/null
fi
bin=${BREAKGLASS_BIN:-build/breakglass}
# lab.mjs runs this breakglass-pve as the Proxmox host's forced command.
export BREAKGLASS_PVE_BIN=${BREAKGLASS_PVE_BIN:-$(dirname "$bin")/breakglass-pve}
listen=127.0.0.1:${BREAKGLASS_LISTEN_PORT:-8080}

lab=$(mktemp -d /tmp/breakglass-lab.XXXXXX)
# The devvm's sshd reads authorized_keys below here as the lab's user.
chmod 711 "$lab"
pids=()

# A pid that still runs (a zombie has ended).
running() {
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ]
}

# Newest first: the daemon, then the mock, then the lab's hosts.
cleanup() {
  trap - EXIT INT TERM
  local i pid n
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    pid=${pids[i]}
    kill -TERM "$pid" 2>/dev/null || true
    for ((n = 0; n < STOP_WAIT_TENTHS; n++)); do running "$pid" || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$lab"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Waits until FILE has a line matching RE while PID runs; else shows LOG.
wait_for() {
  local what=$1 file=$2 re=$3 pid=$4 log=$5 n
  for ((n = 0; n < START_WAIT_TENTHS; n++)); do
    grep -qE "$re" "$file" 2>/dev/null && return 0
    running "$pid" || break
    sleep 0.1
  done
  echo "lab: $what did not come up; the end of $log:" >&2
  tail -n 20 "$log" >&2 || true
  exit 1
}

node tests/lib/lab-cli.mjs --dir "$lab/hosts" >"$lab/hosts.env" 2>"$lab/hosts.log" &
pids+=($!)
lab_pid=$!
wait_for "the lab's hosts" "$lab/hosts.env" '^ready$' "$lab_pid" "$lab/hosts.log"
mapfile -t hosts_env < <(grep '^BREAKGLASS_' "$lab/hosts.env")

model_env=()
if [ -z "${ANTHROPIC_API_KEY:-}" ]; then
  node --input-type=module -e "
    import {makeCA} from './tests/lib/ca.mjs';
    makeCA(process.argv[1]);" "$lab/pki" >/dev/null
  node tests/lib/mock-anthropic-cli.mjs --cert "$lab/pki/server.crt" --key "$lab/pki/server.key" \
    --scenario lab >"$lab/mock.out" 2>"$lab/mock.log" &
  pids+=($!)
  wait_for "the mock model" "$lab/mock.out" '^listening ' "$!" "$lab/mock.log"
  port=$(awk '/^listening/ {print $2}' "$lab/mock.out")
  model_env=(ANTHROPIC_API_KEY=lab-mock-key ANTHROPIC_BASE_URL="https://127.0.0.1:$port"
             BREAKGLASS_CA_FILE="$lab/pki/ca.crt")
  model_note="the scripted mock model (set ANTHROPIC_API_KEY to use the real one)"
else
  model_note="the real model, ${BREAKGLASS_MODEL:-claude-sonnet-4-5}"
fi

token=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
env "${hosts_env[@]}" "${model_env[@]}" API_BEARER_TOKEN="$token" BREAKGLASS_LISTEN="$listen" \
  BREAKGLASS_DATA_DIR="$lab/data" BREAKGLASS_SCRIPTS_DIR=lua BREAKGLASS_WWW_DIR=www \
  "$bin" serve >"$lab/breakglass.log" 2>&1 &
pids+=($!)
wait_for "breakglass" "$lab/breakglass.log" 'listening on ' "$!" "$lab/breakglass.log"

devvm=$(grep -E '^BREAKGLASS_DEVVM_(USER|HOST|PORT)=' "$lab/hosts.env" | sort | cut -d= -f2 | tr '\n' ' ')
read -r devvm_host devvm_port devvm_user <<<"$devvm"
cat <<MSG
breakglass lab is up.
  page:   http://$listen/   (paste the token when the page asks)
  token:  $token
  model:  $model_note
  devvm:  $devvm_user@$devvm_host port $devvm_port; wedge it: kill -USR1 $lab_pid (un-wedge: -USR2)
  files:  $lab (logs; removed when the lab stops)
Ctrl-C stops the lab.
MSG
# Any of them ending ends the lab.
wait -n "${pids[@]}" || true
echo "lab: a process ended; stopping the lab" >&2
