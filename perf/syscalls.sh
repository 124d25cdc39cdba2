#!/usr/bin/env bash
# perf/syscalls.sh: system calls per request of bedrockd's worker thread, for one or
# more binaries, on converse-small (the benchmark conf and body of perf/ab.sh; wrk,
# 64 connections, closed loop). Counted with `perf stat` on the syscall tracepoints
# of the worker thread only: unlike strace, it barely slows the worker, and a slowed
# worker merges more epoll changes into each loop turn than a fast one does.
# Benchmarks, not tests: nothing here passes or fails on a number.
#
#   perf/syscalls.sh BEDROCKD [...]
#
# Environment (all optional):
#   BD_SC_SECS=S          counted seconds per binary (default 3)
#   BD_PERF_EMULATOR=F    bedrock-emulator (default: <repo>/build/tests/emulator/...)
#   BD_PERF_PORT_BASE=P   first of the 2 loopback ports used (default 18570)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SECS=${BD_SC_SECS:-3}
EMU=${BD_PERF_EMULATOR:-$ROOT/build/tests/emulator/bedrock-emulator}
PORT_BASE=${BD_PERF_PORT_BASE:-18570}
EMU_PORT=$PORT_BASE
BD_PORT=$((PORT_BASE + 1))
CALLS="epoll_wait epoll_ctl poll readv ioctl sendto recvfrom writev"
[ $# -ge 1 ] || { echo "usage: perf/syscalls.sh BEDROCKD [...]" >&2; exit 2; }
for tool in wrk perf; do
    command -v "$tool" >/dev/null || { echo "perf/syscalls.sh: $tool is not installed" >&2; exit 2; }
done

WORK=$(mktemp -d /tmp/bd-syscalls.XXXXXX)
PIDS=()
TAG=syscalls
# shellcheck source=perf/procs.sh
. "$ROOT/perf/procs.sh"

start_emulator "$EMU_PORT" --threads 2
bench_conf "$WORK/bd.conf" "$BD_PORT" "$EMU_PORT" "max_connections     1024;"
small_bodies

events=""
for c in $CALLS; do events+="${events:+,}syscalls:sys_enter_$c"; done
printf '| binary |'
for c in $CALLS; do printf ' %s |' "$c"; done
printf ' total |\n|---|'
for _ in $CALLS; do printf -- '---:|'; done
printf -- '---:|\n'

url="http://127.0.0.1:$BD_PORT/v1/messages"
for bin in "$@"; do
    "$bin" -c "$WORK/bd.conf" >>"$WORK/bedrockd.out" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    wait_http "http://127.0.0.1:$BD_PORT/health"
    BD_BODY="$WORK/converse-small.json" wrk -t1 -c64 -d1s -s "$ROOT/perf/post.lua" "$url" >/dev/null
    tid=$(ps -L -o tid=,comm= -p "$pid" | awk '$2 ~ /^worker/ {print $1; exit}')
    perf stat -x, -e "$events" -t "$tid" -o "$WORK/stat.csv" &
    spid=$!
    n=$(BD_BODY="$WORK/converse-small.json" wrk -t1 -c64 -d"${SECS}s" -s "$ROOT/perf/post.lua" "$url" |
        sed -n 's/^BDPERF requests=\([0-9]*\).*/\1/p')
    kill -INT "$spid"
    wait "$spid" 2>/dev/null || true
    kill -TERM "$pid"
    wait "$pid" 2>/dev/null || true
    awk -F, -v n="$n" -v bin="$bin" -v calls="$CALLS" '
        $3 ~ /^syscalls:sys_enter_/ { c = $3; sub("syscalls:sys_enter_", "", c); v[c] = $1 }
        END {
            k = split(calls, names, " "); line = "| " bin " |"; total = 0
            for (i = 1; i <= k; i++) {
                line = line sprintf(" %.2f |", v[names[i]] / n); total += v[names[i]] / n
            }
            print line sprintf(" %.2f |", total)
        }' "$WORK/stat.csv"
done
