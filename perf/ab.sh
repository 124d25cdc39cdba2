#!/usr/bin/env bash
# perf/ab.sh: CPU per small request of two or more bedrockd binaries, measured in
# turns on one emulator, for before/after pairs on a machine whose speed drifts (a
# shared VM: throughput moved 2-3x between minutes here, so one run per binary says
# little). Each turn starts a binary, warms it up for 1 s, then drives it for
# BD_AB_SECS with wrk (64 connections, closed loop) on the converse-small and
# invoke-small bodies of perf/run.sh, and reads its CPU time from /proc. The turns
# go A B A B ...; the table gives every turn and the median per binary and route.
# Benchmarks, not tests: nothing here passes or fails on a number.
#
#   perf/ab.sh BEDROCKD_A BEDROCKD_B [...]
#
# Environment (all optional):
#   BD_AB_ROUNDS=N        turns per binary and route (default 5)
#   BD_AB_SECS=S          measured seconds per turn (default 3)
#   BD_PERF_EMULATOR=F    bedrock-emulator (default: <repo>/build/tests/emulator/...)
#   BD_PERF_PORT_BASE=P   first of the 2 loopback ports used (default 18560)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROUNDS=${BD_AB_ROUNDS:-5}
SECS=${BD_AB_SECS:-3}
EMU=${BD_PERF_EMULATOR:-$ROOT/build/tests/emulator/bedrock-emulator}
PORT_BASE=${BD_PERF_PORT_BASE:-18560}
EMU_PORT=$PORT_BASE
BD_PORT=$((PORT_BASE + 1))
CLK_TCK=$(getconf CLK_TCK)
[ $# -ge 2 ] || { echo "usage: perf/ab.sh BEDROCKD_A BEDROCKD_B [...]" >&2; exit 2; }
command -v wrk >/dev/null || { echo "perf/ab.sh: wrk is not installed" >&2; exit 2; }

WORK=$(mktemp -d /tmp/bd-ab.XXXXXX)
PIDS=()
TAG=ab
# shellcheck source=perf/procs.sh
. "$ROOT/perf/procs.sh"

start_emulator "$EMU_PORT" --threads 2
# The benchmark conf of perf/run.sh: one worker, auth and the store off.
bench_conf "$WORK/bd.conf" "$BD_PORT" "$EMU_PORT" "max_connections     1024;"
echo "worker_connections  19000;" >>"$WORK/bd.conf"
small_bodies

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

turn() { # BIN SCENARIO: prints µs of CPU per request
    local bin=$1 sc=$2 pid t0 t1 n url="http://127.0.0.1:$BD_PORT/v1/messages"
    "$bin" -c "$WORK/bd.conf" >>"$WORK/bedrockd.out" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    wait_http "http://127.0.0.1:$BD_PORT/health"
    BD_BODY="$WORK/$sc.json" wrk -t1 -c64 -d1s -s "$ROOT/perf/post.lua" "$url" >/dev/null
    t0=$(cpu_ticks "$pid")
    n=$(BD_BODY="$WORK/$sc.json" wrk -t1 -c64 -d"${SECS}s" -s "$ROOT/perf/post.lua" "$url" |
        sed -n 's/^BDPERF requests=\([0-9]*\).*/\1/p')
    t1=$(cpu_ticks "$pid")
    kill -TERM "$pid"
    wait "$pid" 2>/dev/null || true
    awk -v d=$((t1 - t0)) -v n="$n" -v hz="$CLK_TCK" 'BEGIN { printf "%.1f", d * 1e6 / hz / n }'
}

declare -A turns
for _ in $(seq "$ROUNDS"); do
    for sc in converse-small invoke-small; do
        for bin in "$@"; do
            turns["$bin|$sc"]+="$(turn "$bin" "$sc") "
        done
    done
done

echo "| binary | scenario | µs of CPU per request, each turn | median |"
echo "|---|---|---|---:|"
for bin in "$@"; do
    for sc in converse-small invoke-small; do
        v=${turns["$bin|$sc"]}
        med=$(tr ' ' '\n' <<<"$v" | grep . | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
        echo "| $bin | $sc | ${v% } | $med |"
    done
done
