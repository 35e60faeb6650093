#!/usr/bin/env bash
# The local lab: builds breakglass and runs it on this machine against a
# scripted mock model served over TLS from a throwaway CA, or against the
# real model when ANTHROPIC_API_KEY is set. Prints the address and the
# token to use; Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh build >/dev/null

lab=$(mktemp -d /tmp/breakglass-lab.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

token=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
listen=${BREAKGLASS_LISTEN:-127.0.0.1:8080}
env_model=()
if [ -z "${ANTHROPIC_API_KEY:-}" ]; then
  node --input-type=module -e "
    import {makeCA} from './tests/lib/ca.mjs';
    makeCA('$lab');" >/dev/null
  node tests/lib/mock-anthropic-cli.mjs --cert "$lab/server.crt" --key "$lab/server.key" \
    --scenario lab >"$lab/mock.out" 2>"$lab/mock.log" &
  pids+=($!)
  for _ in $(seq 50); do grep -q '^listening' "$lab/mock.out" && break; sleep 0.1; done
  port=$(awk '/^listening/ {print $2}' "$lab/mock.out")
  env_model=(ANTHROPIC_API_KEY=lab-mock-key ANTHROPIC_BASE_URL="https://127.0.0.1:$port"
             BREAKGLASS_CA_FILE="$lab/ca.crt")
  model_note="the scripted mock model (set ANTHROPIC_API_KEY to use the real one)"
else
  model_note="the real model, ${BREAKGLASS_MODEL:-claude-sonnet-4-5}"
fi

env "${env_model[@]}" API_BEARER_TOKEN="$token" BREAKGLASS_LISTEN="$listen" \
  BREAKGLASS_DATA_DIR="$lab/data" BREAKGLASS_SCRIPTS_DIR=lua BREAKGLASS_WWW_DIR=www \
  build/breakglass serve 2>"$lab/breakglass.log" &
pids+=($!)
for _ in $(seq 50); do grep -q 'listening on' "$lab/breakglass.log" && break; sleep 0.1; done

cat <<MSG
breakglass lab is up.
  page:   http://$listen/   (paste the token when the page asks)
  token:  $token
  model:  $model_note
  logs:   $lab/breakglass.log
Ctrl-C stops the lab.
MSG
wait "${pids[-1]}"
