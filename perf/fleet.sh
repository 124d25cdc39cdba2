#!/usr/bin/env bash
# fleet.sh: what the DynamoDB sync costs. Starts bedrock-emulator, dynalite (tests/
# node_modules, in memory) and bedrockd (1 worker, store on, one API key or
# BD_PERF_KEYS) on loopback, then:
#   1. cpu: the same fixed-rate run (bd-loadgen, POST /v1/messages with the key,
#      BD_PERF_RATE requests a second) against bedrockd without and with a
#      `dynamodb` block; bedrockd's CPU time (utime + stime from /proc) per 1,000
#      requests, for each, alternating, BD_PERF_ROUNDS. A fixed rate, not wrk's
#      closed loop: on two shared cores the sync and dynalite slowed a closed loop
#      down, and CPU per request depends on the rate it is served at. With the
#      block, the CPU is read once the run's usage is all pushed (backlog 0), so it
#      includes the push however far behind the requests it ran, and the
#      aggregates (usage_aggregate_interval after it at the most).
#   2. push: BD_PERF_ROWS usage rows put in the store's outbox before the start,
#      then the time until the sync has pushed them all (backlog 0 in /metrics):
#      request items pushed per second, one task; the CPU per row once the
#      aggregates are in too.
# Every process it starts is stopped on exit. Benchmarks, not tests.
#   BD_PERF_BUILD=DIR (default <repo>/build)  BD_PERF_DURATION=S (default 8)
#   BD_PERF_RATE=R (requests a second, default 5000)
#   BD_PERF_ROUNDS=N (default 3)  BD_PERF_ROWS=N (default 50000)
#   BD_PERF_KEYS=N (default 1): the cpu runs' requests take N API keys in turn
#   BD_PERF_PORT_BASE=P (default 18450)  BD_PERF_DDB_IDLE=0 (dynalite at normal
#   priority; by default SCHED_IDLE, see perf/fleet_env.sh)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BD_PERF_BUILD:-$ROOT/build}
DUR=${BD_PERF_DURATION:-8}
ROUNDS=${BD_PERF_ROUNDS:-3}
ROWS=${BD_PERF_ROWS:-50000}
RATE=${BD_PERF_RATE:-5000}
P=${BD_PERF_PORT_BASE:-18450}
EMU=$P DDB=$((P + 1)) BD=$((P + 2))
WORK=$(mktemp -d /tmp/bd-perf-fleet.XXXXXX)
NAME=fleet.sh
# shellcheck source=perf/fleet_env.sh
. "$ROOT/perf/fleet_env.sh"

run_bd() { # CONF; sets BDP
    "$BUILD/bedrockd" -c "$1" >>"$WORK/bedrockd.log" 2>&1 &
    BDP=$!
    PIDS+=("$BDP")
    wait_http "http://127.0.0.1:$BD/health"
}
sync_stat() { # AWK_EXPR: the expression over bedrockd's sync thread's stat fields
               # ('$14 + $15' CPU ticks, '$10' minor page faults); 0 without one
    local t
    for t in /proc/"$BDP"/task/*; do
        if [ "$(cat "$t/comm" 2>/dev/null)" = dynamodb ]; then
            awk "{print $1}" "$t/stat"
            return
        fi
    done
    echo 0
}
stop_bd() { kill -TERM "$BDP"; wait "$BDP" 2>/dev/null || true; }
key_works() { # SECRET WHAT: waits until a request with the key is answered 200
    local s
    for _ in $(seq 1 100); do
        s=$(curl -s -o /dev/null -w '%{http_code}' -H "x-api-key: $1" \
            -H 'content-type: application/json' --data @"$WORK/body.json" \
            "http://127.0.0.1:$BD/v1/messages")
        [ "$s" = 200 ] && return 0
        sleep 0.1
    done
    die "$2 does not work ($s)"
}

# The key reaches the store through a first run with DynamoDB (the off runs use it).
run_bd "$WORK/on.conf"
stop_bd

echo "cpu: bedrockd CPU ms per 1000 requests (bd-loadgen -r $RATE -d $DUR, ${ROUNDS} rounds)"
for r in $(seq 1 "$ROUNDS"); do
    for mode in off on; do
        run_bd "$WORK/$mode.conf"
        # the keys must be known before measuring (the on run pulls them from DynamoDB)
        key_works "$SECRET" "the key ($mode)"
        key_works "$LAST_SECRET" "the last key ($mode)"
        t0=$(cpu_ticks "$BDP") s0=$(sync_stat '$14 + $15')
        out=$("$BUILD/perf/loadgen/bd-loadgen" -u "http://127.0.0.1:$BD/v1/messages" -r "$RATE" \
              -d "$DUR" -c 64 -b "$WORK/body.json" -K "$WORK/keys.txt")
        # on: the CPU counted includes pushing every row of the run (the push runs
        # behind the requests when DynamoDB is slower than they come)
        drain=0
        if [ "$mode" = on ]; then
            t_drain=$(date +%s.%N)
            # the aggregates too, up to usage_aggregate_interval later (a build
            # without the metric aggregated with each push)
            for _ in $(seq 1 1200); do
                b=$(metric bedrockd_dynamodb_usage_backlog)
                a=$(metric bedrockd_dynamodb_usage_aggregate_backlog)
                [ "${b:-1}" = 0 ] && [ "${a:-0}" = 0 ] && break
                sleep 0.1
            done
            [ "${b:-1}" = 0 ] && [ "${a:-0}" = 0 ] || die "the usage backlog did not drain in 120 s"
            drain=$(awk -v s="$t_drain" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
        fi
        t1=$(cpu_ticks "$BDP") s1=$(sync_stat '$14 + $15')
        n=$(sed -n 's/.* ok=\([0-9]*\).*/\1/p' <<<"$out")
        bad=$(($(sed -n 's/.*non2xx=\([0-9]*\) errors=\([0-9]*\) unfinished=\([0-9]*\).*/\1+\2+\3/p' <<<"$out")))
        p99=$(sed -n 's/.* p99=\([0-9]*\).*/\1/p' <<<"$out")
        hz=$(getconf CLK_TCK)
        awk -v m="$mode" -v r="$r" -v n="$n" -v b="$bad" -v t="$((t1 - t0))" -v hz="$hz" -v d="$DUR" \
            -v w="$drain" -v p="$p99" -v st="$((s1 - s0))" \
            'BEGIN { printf "  round %d %-3s %6d req (%d failed) %7.0f req/s p99 %6d us  %.2f CPU ms/1000 req%s\n",
                     r, m, n, b, n / d, p, t * 1000 / hz / n * 1000,
                     m == "on" ? sprintf(" (usage pushed in full %.1f s after the run; the sync thread %.2f of them)",
                                         w, st * 1000 / hz / n * 1000) : "" }'
        stop_bd
    done
done

echo "push: $ROWS usage rows in the outbox, pushed by one task to dynalite"
last=$(sqlite3 "$WORK/store.db" 'SELECT max(id) FROM usage')
sqlite3 "$WORK/store.db" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $ROWS)
  INSERT INTO usage (request_id, time_ms, key_id, model, api, route, status, input_tokens,
                     output_tokens, latency_ms)
  SELECT 'perf-' || i, CAST(strftime('%s','now') AS INTEGER) * 1000, 'key_perf' || (i % 50),
         'claude-haiku-4-5', 'anthropic', '/v1/messages', 200, 10, 16, 5 FROM n;" ||
    die "filling the outbox failed (columns changed?)"
start=$(date +%s.%N)
d0=$(cpu_ticks "$DDBP")
run_bd "$WORK/on.conf"
while :; do
    b=$(metric bedrockd_dynamodb_usage_backlog)
    [ "${b:-1}" = 0 ] && break
    sleep 0.2
done
end=$(date +%s.%N)
# CPU is read once the aggregates are in too (usage_aggregate_interval later at
# the most; a build without the metric aggregated with each push)
for _ in $(seq 1 600); do
    a=$(metric bedrockd_dynamodb_usage_aggregate_backlog)
    [ "${a:-0}" = 0 ] && break
    sleep 0.2
done
pushed=$(metric bedrockd_dynamodb_usage_items_pushed_total)
# the sync thread alone (start-up, the HTTP listener and /metrics excluded)
sync_ticks=$(sync_stat '$14 + $15')
sync_faults=$(sync_stat '$10') # minor faults: memory touched afresh
awk -v n="$pushed" -v s="$start" -v e="$end" -v l="${last:-0}" \
    'BEGIN { printf "  %d request items pushed in %.1f s (start included): %.0f rows/s\n", n, e - s, n / (e - s) }'
cpu=$(cpu_ticks "$BDP")
d1=$(cpu_ticks "$DDBP")
awk -v t="$cpu" -v d="$((d1 - d0))" -v hz="$(getconf CLK_TCK)" -v n="$pushed" -v s="$start" -v e="$end" \
    'BEGIN { printf "  bedrockd CPU: %.2f s (%.1f us per row); dynalite CPU: %.2f s of %.1f s (%.0f%% of a core)\n",
             t / hz, t / hz / n * 1e6, d / hz, e - s, d / hz / (e - s) * 100 }'
hwm=$(awk '$1 == "VmHWM:" {print $2}' "/proc/$BDP/status")
awk -v t="$sync_ticks" -v hz="$(getconf CLK_TCK)" -v n="$pushed" -v f="$sync_faults" -v h="$hwm" \
    'BEGIN { printf "  the sync thread alone: %.2f s (%.1f us per row), %d page faults (%.1f per 1,000 rows); bedrockd peak RSS %.1f MB\n",
             t / hz, t / hz / n * 1e6, f, f / n * 1000, h / 1024 }'
stop_bd
