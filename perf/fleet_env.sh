# fleet_env.sh: the set-up perf/fleet.sh and perf/fleet_callgrind.sh share, sourced
# after they set ROOT, BUILD, EMU, DDB, BD, WORK and NAME: cleanup on exit,
# bedrock-emulator and dynalite (tests/node_modules, in memory) on loopback, the
# two confs ($WORK/on.conf with the `dynamodb` block plus BD_DDB_EXTRA, and
# $WORK/off.conf), the tables, API keys ($SECRET, and BD_PERF_KEYS in
# $WORK/keys.txt) and a request body
# ($WORK/body.json). Sets DDBP (dynalite's pid); PIDS collects what to stop.
# dynalite runs at SCHED_IDLE unless BD_PERF_DDB_IDLE=0 (why: below).
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
die() { echo "$NAME: $*" >&2; exit 1; }
wait_http() {
    for _ in $(seq 1 1200); do curl -s -o /dev/null "$1" && return 0; sleep 0.05; done
    die "nothing answers at $1"
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
metric() { curl -s "http://127.0.0.1:$BD/metrics" | awk -v n="$1" '$1 == n {print $2}'; }

"$BUILD/tests/emulator/bedrock-emulator" --listen "127.0.0.1:$EMU" --no-verify >"$WORK/emu.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$EMU/foundation-models"
(cd "$ROOT/tests" && exec node -e "require('dynalite')({createTableMs:0}).listen($DDB, '127.0.0.1')") \
    >"$WORK/ddb.log" 2>&1 &
DDBP=$!
PIDS+=("$DDBP")
wait_http "http://127.0.0.1:$DDB/"
# dynalite takes 110% of a core when pushed hard. At normal priority it starved the
# worker, which then served requests in bursts that cost less CPU each, so "on"
# could read cheaper than "off". At SCHED_IDLE it gets only the CPU the rest
# leaves (BD_PERF_DDB_IDLE=0: normal priority, as before 2026-12-08).
if [ "${BD_PERF_DDB_IDLE:-1}" = 1 ]; then
    chrt -a --idle -p 0 "$DDBP" || die "chrt --idle failed"
fi

conf() { # FILE DYNAMODB(0|1)
    cat >"$1" <<EOF
worker_threads 1;
listen 127.0.0.1:$BD;
error_log $WORK/bedrockd.log notice;
access_log off;
store $WORK/store.db;
bedrock {
    region us-east-1;
    endpoint http://127.0.0.1:$EMU;
    control_endpoint http://127.0.0.1:$EMU;
    credentials static;
    access_key_id AKIDEXAMPLE;
    secret_access_key wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY;
    catalog off;
}
include $ROOT/conf/models.conf;
EOF
    if [ "$2" = 1 ]; then
        printf 'dynamodb {\n    endpoint http://127.0.0.1:%s;\n    table_prefix perf-;\n%b}\n' "$DDB" \
            "${BD_DDB_EXTRA:-}" >>"$1"
    fi
}
export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
conf "$WORK/on.conf" 1
conf "$WORK/off.conf" 0
"$BUILD/bedrockctl" -c "$WORK/on.conf" dynamodb create-tables >/dev/null
SECRET=$("$BUILD/bedrockctl" -c "$WORK/on.conf" key create --name perf --format json |
         sed -n 's/.*"secret": *"\([^"]*\)".*/\1/p')
[ -n "$SECRET" ] || die "no key"
# BD_PERF_KEYS=N: N keys in all, one "x-api-key:" line each in $WORK/keys.txt
# (bd-loadgen -K sends them in turn); LAST_SECRET is the last one made.
echo "x-api-key: $SECRET" >"$WORK/keys.txt"
LAST_SECRET=$SECRET
for i in $(seq 2 "${BD_PERF_KEYS:-1}"); do
    LAST_SECRET=$("$BUILD/bedrockctl" -c "$WORK/on.conf" key create --name "perf-$i" --format json |
                  sed -n 's/.*"secret": *"\([^"]*\)".*/\1/p')
    [ -n "$LAST_SECRET" ] || die "no key $i"
    echo "x-api-key: $LAST_SECRET" >>"$WORK/keys.txt"
done
printf '{"model":"claude-haiku-4-5","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}' \
    >"$WORK/body.json"
