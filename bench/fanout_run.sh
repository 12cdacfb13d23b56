#!/usr/bin/env bash
# Side-by-side room benchmark with schema-valid writes: the Node y-websocket reference server vs
# another y-websocket compatible room (ours). Follows ../shared/bench/fanout/run.sh (same Node
# server from the shared package.json's pinned dependencies, started the same way, same
# scenarios, alternating servers, same JSON lines) but runs bench/fanout.mjs, whose writes are
# valid under our board schema (real pen shapes in "shapes", awareness `cursor`), against both.
# Usage: fanout_run.sh OTHER_WS_URL [N_LIST] [SECONDS]
#   OTHER_WS_URL  base URL the provider appends "/<room>" to, e.g. ws://127.0.0.1:8765/ws
#   FANOUT_PARAMS='token=XYZ'  query parameters the provider adds (ours needs a token)
#   FANOUT_ROOM=name           room for OTHER (default: a fresh random name per run, as for Node)
#   FANOUT_WORK=dir            where the pinned packages are installed (default below)
#   FANOUT_SCENARIOS='strokes 50,cursors 20'  the scenarios, comma-separated (default: both);
#                              bench/fanout_kernel.py runs one per call, each on a new share
# Prints one JSON line per (server, scenario, N): latency p50/p95/p99 in ms and messages received.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
shared=${FANOUT_SHARED:-$here/../../shared/bench/fanout}
work=${FANOUT_WORK:-/tmp/fanout-bench-schema}
mkdir -p "$work"
cp "$shared/package.json" "$here/fanout.mjs" "$here/board_writes.mjs" "$work/"
(cd "$work" && [ -d node_modules ] || npm install --silent --no-audit --no-fund >/dev/null)
other=$1; ns=${2:-"10 30 50"}; secs=${3:-5}
port=$((20000 + RANDOM % 20000))
params=${FANOUT_PARAMS:-}; export FANOUT_PARAMS=
(cd "$work" && HOST=127.0.0.1 PORT=$port exec node node_modules/y-websocket-v2-server/bin/server.cjs >/dev/null 2>&1) &
node_pid=$!
trap 'kill $node_pid 2>/dev/null || true' EXIT
sleep 1
for n in $ns; do
  IFS=, read -r -a scenarios <<< "${FANOUT_SCENARIOS:-strokes 50,cursors 20}"
  for scenario in "${scenarios[@]}"; do
    set -- $scenario
    for target in "node ws://127.0.0.1:$port" "other $other"; do
      set -- $target $scenario
      if [ "$1" = other ]; then export FANOUT_PARAMS=$params; else export FANOUT_PARAMS=; fi
      printf '{"server":"%s",' "$1"
      room="r$RANDOM"; [ "$1" = other ] && [ -n "${FANOUT_ROOM:-}" ] && room=$FANOUT_ROOM
      out=$(cd "$work" && timeout 120 node fanout.mjs "$2" "$room" "$n" "$3" "$secs" "$4" 2>>"$work/errors.log") || true
      [ -n "$out" ] && echo "${out#\{}" || echo '"scenario":"'"$3"'","N":'"$n"',"error":"no result (timeout or crash); see '"$work"'/errors.log"}'
    done
  done
done
