#!/usr/bin/env bash
# fleet_callgrind.sh: what the DynamoDB sync costs, in instructions (callgrind),
# figures that repeat from run to run where CPU time on a shared machine does
# not. bedrock-emulator and dynalite (tests/node_modules, in memory) on loopback,
# bedrockd (1 worker, store on, one API key) under valgrind --tool=callgrind:
#   1. request: a bounded wrk run of POST /v1/messages with the key, without and
#      with the `dynamodb` block; the instructions of the whole process (every
#      thread) from just before the run until its usage is pushed (counters
#      zeroed and dumped with callgrind_control), per request.
#   2. push: BD_PERF_ROWS usage rows put in the outbox before a start with the
#      `dynamodb` block; the inclusive instructions, per row pushed, of
#        bd_ddb_push        the whole push of both outboxes: outbox reads, request
#                           items, aggregates, marking rows done (SQLite included)
#        bd_ddb_push_items  the BatchWriteItem calls of the request items:
#                           bodies, SigV4, curl, replies
#        bd_ddb_push_aggregates  the aggregate UpdateItems (their rounds run at
#                           the stop that ends the push, after usage_aggregate_interval
#                           or then, whichever comes first)
# Every process it starts is stopped on exit. Benchmarks, not tests.
#   BD_PERF_BUILD=DIR (default <repo>/build)  BD_PERF_DURATION=S (wrk, default 10)
#   BD_PERF_ROWS=N (default 2000)  BD_PERF_PORT_BASE=P (default 18470)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BD_PERF_BUILD:-$ROOT/build}
DUR=${BD_PERF_DURATION:-10}
ROWS=${BD_PERF_ROWS:-2000}
P=${BD_PERF_PORT_BASE:-18470}
EMU=$P DDB=$((P + 1)) BD=$((P + 2))
WORK=$(mktemp -d /tmp/bd-perf-cg.XXXXXX)
NAME=fleet_callgrind.sh
BD_DDB_EXTRA='    request_timeout 60s;\n    final_push_timeout 120s;\n' # callgrind is slow
# shellcheck source=perf/fleet_env.sh
. "$ROOT/perf/fleet_env.sh"
backlog_zero() {
    while :; do
        b=$(metric bedrockd_dynamodb_usage_backlog)
        [ "${b:-0}" = 0 ] && return 0
        kill -0 "$BDP" 2>/dev/null || die "bedrockd exited: $(tail -5 "$WORK/bedrockd.log")"
        sleep 0.5
    done
}

run_bd() { # CONF; starts bedrockd under callgrind, sets BDP
    (cd "$WORK" && exec valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.%p" \
        "$BUILD/bedrockd" -c "$1") >>"$WORK/valgrind.log" 2>&1 &
    BDP=$!
    PIDS+=("$BDP")
    wait_http "http://127.0.0.1:$BD/health"
}
stop_bd() { kill -TERM "$BDP"; wait "$BDP" 2>/dev/null || true; }

echo "request: instructions per request, whole process, wrk -t1 -c4 -d${DUR}s under callgrind"
for mode in on off; do
    run_bd "$WORK/$mode.conf"
    # the key must work first (the on run pulls it from DynamoDB into the store the off run uses)
    for _ in $(seq 1 100); do
        s=$(curl -s -o /dev/null -w '%{http_code}' -H "x-api-key: $SECRET" -H 'content-type: application/json' \
            --data @"$WORK/body.json" "http://127.0.0.1:$BD/v1/messages")
        [ "$s" = 200 ] && break
        sleep 0.2
    done
    [ "$s" = 200 ] || die "the key does not work ($mode: $s)"
    [ "$mode" = on ] && backlog_zero
    rm -f "$WORK"/cg.*
    callgrind_control -z "$BDP" >/dev/null 2>&1
    out=$(BD_BODY="$WORK/body.json" BD_HEADERS="x-api-key: $SECRET" wrk -t1 -c4 -d"${DUR}s" \
          -s "$ROOT/perf/post.lua" "http://127.0.0.1:$BD/v1/messages" | grep BDPERF)
    [ "$mode" = on ] && backlog_zero
    callgrind_control -d "$BDP" >/dev/null 2>&1
    for _ in $(seq 1 100); do ls "$WORK"/cg.* >/dev/null 2>&1 && break; sleep 0.2; done
    sleep 1 # the dump is written by bedrockd's next scheduled thread
    n=$(sed -n 's/.*requests=\([0-9]*\).*/\1/p' <<<"$out")
    ir=$(awk '/^(summary|totals):/ {print $2; exit}' "$WORK"/cg.*)
    awk -v m="$mode" -v n="$n" -v ir="${ir:-0}" \
        'BEGIN { printf "  %-3s %6d requests  %14.0f Ir  %9.0f Ir per request\n", m, n, ir, ir / n }'
    stop_bd
done

echo "push: $ROWS usage rows in the outbox, pushed by one task to dynalite, under callgrind"
sqlite3 "$WORK/store.db" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $ROWS)
  INSERT INTO usage (request_id, time_ms, key_id, model, model_resolved, api, route, status,
                     input_tokens, output_tokens, latency_ms, ttft_ms, user_id)
  SELECT 'req_perf' || i, CAST(strftime('%s','now') AS INTEGER) * 1000, 'key_perf' || (i % 50),
         'claude-haiku-4-5', 'us.anthropic.claude-haiku-4-5-20251001-v1:0', 'anthropic',
         'invoke', 200, 1200, 350, 900, 310, 'user-' || (i % 7) FROM n;" ||
    die "filling the outbox failed (columns changed?)"
rm -f "$WORK"/cg.*
run_bd "$WORK/on.conf"
backlog_zero
pushed=$(metric bedrockd_dynamodb_usage_items_pushed_total)
stop_bd
callgrind_annotate --inclusive=yes "$(ls "$WORK"/cg.* | head -1)" 2>/dev/null >"$WORK/annotate.txt"
inclusive() { # 'NAME(': the function's inclusive Ir, 0 when not found
    grep -F "$1" "$WORK/annotate.txt" | grep -v '\[clone' | head -1 | awk '{gsub(",", "", $1); print $1 + 0}'
}
per_row() { # NAME IR
    awk -v f="$1" -v ir="${2:-0}" -v n="$pushed" 'BEGIN {
        printf "  %-24s %14.0f Ir  %9.0f Ir per row (%d rows)\n", f, ir, ir / n, n }'
}
per_row bd_ddb_push "$(inclusive 'bd_ddb_push(')"
per_row bd_ddb_push_items "$(inclusive 'bd_ddb_push_items(')"
per_row bd_ddb_push_aggregates "$(inclusive 'bd_ddb_push_aggregates(')"
