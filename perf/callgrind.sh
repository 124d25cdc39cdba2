#!/usr/bin/env bash
# perf/callgrind.sh: instructions per request of bedrockd (callgrind), for the
# converse-small and invoke-small scenarios of perf/run.sh (POST /v1/messages to a
# Converse model and to an InvokeModel model, small JSON answers from the emulator),
# and for streams of 100 pieces on both routes (the last column divides by 100).
# Instruction counts do not depend on the load of the machine, so two builds can be
# compared on a shared machine where wall and CPU time cannot.
#
# bedrockd runs under valgrind with one worker, auth and the store off (the set-up
# of perf/run.sh); instrumentation is switched on only while the measured requests
# run (after start-up and a warm-up), and the count is divided by the requests sent
# on one keep-alive connection. Background threads (the catalog refresh) count too:
# over a few seconds they are noise below 0.1%.
#
# Environment (all optional):
#   BD_PERF_BIN=FILE        the bedrockd binary (default: <repo>/build/bedrockd)
#   BD_PERF_EMULATOR=FILE   bedrock-emulator (default: <repo>/build/tests/emulator/...)
#   BD_PERF_REQUESTS=N      measured requests per scenario (default 2000)
#   BD_PERF_PORT_BASE=P     first of the 2 loopback ports used (default 18480)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PERF="$ROOT/perf"
BIN=${BD_PERF_BIN:-$ROOT/build/bedrockd}
EMU=${BD_PERF_EMULATOR:-$ROOT/build/tests/emulator/bedrock-emulator}
N=${BD_PERF_REQUESTS:-2000}
PORT_BASE=${BD_PERF_PORT_BASE:-18480}
EMU_PORT=$PORT_BASE
BD_PORT=$((PORT_BASE + 1))

WORK=$(mktemp -d /tmp/bd-callgrind.XXXXXX)
PIDS=()
TAG=callgrind
# shellcheck source=perf/procs.sh
. "$PERF/procs.sh"

command -v valgrind >/dev/null && command -v callgrind_control >/dev/null ||
    die "valgrind (callgrind) is needed"

"$EMU" --listen "127.0.0.1:$EMU_PORT" --threads 1 --no-verify >"$WORK/emu.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$EMU_PORT/foundation-models"

bench_conf "$WORK/bd.conf" "$BD_PORT" "$EMU_PORT"

valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$WORK/cg.out" \
    "$BIN" -c "$WORK/bd.conf" >"$WORK/valgrind.log" 2>&1 &
BD_PID=$!
PIDS+=("$BD_PID")
for _ in $(seq 600); do
    curl -s -o /dev/null "http://127.0.0.1:$BD_PORT/health" && break
    sleep 0.1
done

text='Summarise in one sentence why event loops scale better than a thread per connection for proxies that mostly wait on the network.'
printf '{"model":"nova-pro","max_tokens":256,"messages":[{"role":"user","content":"%s"}]}' \
    "$text" >"$WORK/converse-small.json"
printf '{"model":"claude-sonnet-4-5","max_tokens":256,"messages":[{"role":"user","content":"%s"}]}' \
    "$text" >"$WORK/invoke-small.json"
# Streams of 100 pieces, sent at once (tps=0): the per-event cost of perf/run.sh's stream.
stream="[[emu:echo tokens=100 tps=0]] $text"
printf '{"model":"claude-sonnet-4-5","max_tokens":256,"stream":true,"messages":[{"role":"user","content":"%s"}]}' \
    "$stream" >"$WORK/invoke-stream.json"
printf '{"model":"nova-pro","max_tokens":256,"stream":true,"messages":[{"role":"user","content":"%s"}]}' \
    "$stream" >"$WORK/converse-stream.json"

send() { # BODY COUNT: COUNT requests on one keep-alive connection; fails on a non-200
    python3 - "$BD_PORT" "$1" "$2" <<'EOF'
import http.client, sys
port, body, n = int(sys.argv[1]), open(sys.argv[2], 'rb').read(), int(sys.argv[3])
c = http.client.HTTPConnection('127.0.0.1', port, timeout=60)
for _ in range(n):
    c.request('POST', '/v1/messages', body, {'content-type': 'application/json'})
    resp = c.getresponse()
    resp.read()
    if resp.status != 200:
        sys.exit('status %d' % resp.status)
EOF
}

total_ir() { # the last dump's instruction total
    local f
    f=$(ls -t "$WORK"/cg.out* | head -1)
    awk '/^(summary|totals):/ {print $2; exit}' "$f"
}

echo "| scenario | requests | instructions per request | per streamed piece |"
echo "|---|---:|---:|---:|"
for sc in converse-small invoke-small invoke-stream converse-stream; do
    n=$N
    case $sc in *-stream) n=$(((N + 9) / 10)) ;; esac
    send "$WORK/$sc.json" 20 # warm-up: connections, caches, first-use allocations
    callgrind_control -i on "$BD_PID" >/dev/null 2>&1
    callgrind_control -z "$BD_PID" >/dev/null 2>&1
    send "$WORK/$sc.json" "$n"
    callgrind_control -d "$sc" "$BD_PID" >/dev/null 2>&1
    callgrind_control -i off "$BD_PID" >/dev/null 2>&1
    sleep 1
    per=$(($(total_ir) / n))
    case $sc in *-stream) piece=$((per / 100)) ;; *) piece=- ;; esac
    echo "| $sc | $n | $per | $piece |"
done
