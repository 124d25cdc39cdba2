#!/usr/bin/env bash
# perf/soak.sh: a bounded soak of bedrockd. One bedrockd (2 workers, auth with a
# master key, the SQLite store and usage on) in front of bedrock-emulator, driven by
# wrk with perf/soak.lua: a fixed number of mixed requests (default 1,000,000), after
# which wrk stops by itself; a hard time limit (BD_SOAK_MAX_S, 1200 s) stops it in
# any case. Every 5 s it samples bedrockd's requests served (from /metrics), RSS and
# open descriptors into samples.csv, and prints a summary: both from the first sample
# past 100,000 requests to the end. Not a test: nothing passes or fails on a number.
#
# Environment (all optional):
#   BD_PERF_BUILD=DIR      build directory (default: <repo>/build-perf)
#   BD_PERF_NO_BUILD=1     use the binaries in BD_PERF_BUILD as they are
#   BD_SOAK_REQUESTS=N     requests in all (default 1000000)
#   BD_SOAK_CONNS=N        wrk connections (default 32)
#   BD_SOAK_MAX_S=S        hard limit on the wrk run (default 1200)
#   BD_PERF_PORT_BASE=P    first of the 2 loopback ports used (default 18420)
#   BD_PERF_KEEP=1         keep the work directory (confs, logs, samples.csv)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BD_PERF_BUILD:-$ROOT/build-perf}
REQUESTS=${BD_SOAK_REQUESTS:-1000000}
CONNS=${BD_SOAK_CONNS:-32}
MAX_S=${BD_SOAK_MAX_S:-1200}
PORT_BASE=${BD_PERF_PORT_BASE:-18420}
EMU_PORT=$PORT_BASE
BD_PORT=$((PORT_BASE + 1))
KEY=sk-bd-soak-master-key-0123456789

WORK=$(mktemp -d /tmp/bd-soak.XXXXXX)
PIDS=()
TAG=soak
# shellcheck source=perf/procs.sh
. "$ROOT/perf/procs.sh"

command -v wrk >/dev/null && command -v curl >/dev/null || {
    log "installing wrk and curl"
    apt-get install -y -qq --no-install-recommends wrk curl >/dev/null
}
if [ "${BD_PERF_NO_BUILD:-0}" != 1 ]; then
    [ -f "$BUILD/CMakeCache.txt" ] ||
        cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DBD_TESTS=OFF >/dev/null
    cmake --build "$BUILD" -j"$(nproc)" --target bedrockd bedrock-emulator >/dev/null
fi

"$BUILD/tests/emulator/bedrock-emulator" --listen "127.0.0.1:$EMU_PORT" --threads 2 \
    >"$WORK/emulator.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$EMU_PORT/foundation-models"

cat >"$WORK/bedrockd.conf" <<CONF
worker_threads      2;
listen              127.0.0.1:$BD_PORT;
error_log           $WORK/bedrockd.log warn;
access_log          off;
store               $WORK/bedrockd.db;
master_key          $KEY;
bedrock {
    region              us-east-1;
    endpoint            http://127.0.0.1:$EMU_PORT;
    control_endpoint    http://127.0.0.1:$EMU_PORT;
    credentials         static;
    access_key_id       AKIDEXAMPLE;
    secret_access_key   wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY;
    retries             0;
}
include $ROOT/conf/models.conf;
CONF
"$BUILD/bedrockd" -c "$WORK/bedrockd.conf" >>"$WORK/bedrockd.log" 2>&1 &
BD_PID=$!
PIDS+=("$BD_PID")
wait_http "http://127.0.0.1:$BD_PORT/health"

served() {
    curl -s "http://127.0.0.1:$BD_PORT/metrics" |
        awk '/^bedrockd_requests_total\{/ {n += $2} END {printf "%d\n", n}'
}
sample() {
    local rss fds
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$BD_PID/status")
    fds=$(ls "/proc/$BD_PID/fd" | wc -l)
    echo "$(date +%s),$(served),$rss,$fds" >>"$WORK/samples.csv"
}
echo "time_s,requests,rss_kb,fds" >"$WORK/samples.csv"
sample
(
    while kill -0 "$BD_PID" 2>/dev/null; do
        sleep 5
        sample 2>/dev/null || true
    done
) &
SAMPLER=$!
PIDS+=("$SAMPLER")

log "$REQUESTS mixed requests over $CONNS connections (at most ${MAX_S}s)"
start=$(date +%s)
# wrk runs until -d even when its thread has stopped: the Lua script leaves a marker
# after the last response, and SIGINT makes wrk print its summary and exit.
BD_SOAK_KEY=$KEY BD_SOAK_PER_THREAD=$REQUESTS BD_SOAK_DONE="$WORK/done" \
    wrk -t1 -c"$CONNS" -d"${MAX_S}s" --timeout 30s \
    -s "$ROOT/perf/soak.lua" "http://127.0.0.1:$BD_PORT" >"$WORK/wrk.txt" 2>&1 &
WRK=$!
PIDS+=("$WRK")
while kill -0 "$WRK" 2>/dev/null && [ ! -e "$WORK/done" ]; do
    sleep 1
done
elapsed=$(( $(date +%s) - start ))
kill -INT "$WRK" 2>/dev/null || true
wait "$WRK" 2>/dev/null || true
sleep 6 # one more sample at rest
sample
kill "$SAMPLER" 2>/dev/null || true

grep BDSOAK "$WORK/wrk.txt" || { cat "$WORK/wrk.txt"; exit 1; }
awk -F, -v elapsed="$elapsed" '
    NR == 1 { next }
    { t[NR] = $1; n[NR] = $2; rss[NR] = $3; fd[NR] = $4; last = NR }
    $2 >= 100000 && !first { first = NR }
    END {
        if (!first) { first = last }
        maxrss = 0; maxfd = 0
        for (i = first; i <= last; i++) {
            if (rss[i] > maxrss) maxrss = rss[i]
            if (fd[i] > maxfd) maxfd = fd[i]
        }
        printf "soak: %d requests served in %d s (%.0f/s)\n", n[last], elapsed, n[last] / elapsed
        printf "soak: RSS   at start %.1f MB, at %d requests %.1f MB, at the end %.1f MB, max after %.1f MB\n",
            rss[2] / 1024, n[first], rss[first] / 1024, rss[last] / 1024, maxrss / 1024
        printf "soak: fds   at start %d, at %d requests %d, at the end %d, max after %d\n",
            fd[2], n[first], fd[first], fd[last], maxfd
    }' "$WORK/samples.csv"
cp "$WORK/samples.csv" "${BD_SOAK_SAMPLES:-/dev/null}" 2>/dev/null || true
