# perf/procs.sh: what perf/run.sh and perf/soak.sh share, sourced after they set
# WORK (their work directory), PIDS=() (what they start) and TAG (their log prefix):
# log/die, the stop of every started process and the removal of WORK on exit
# (BD_PERF_KEEP=1 keeps it), wait_http, start_emulator, small_bodies (the bodies of
# the small scenarios), bedrock_block (a conf block calling the emulator) and
# bench_conf (the one-worker benchmark conf around it).

log() { echo "$TAG: $*" >&2; }
die() { log "$*"; exit 1; }

cleanup() {
    local pid
    trap - EXIT INT TERM
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [ "${BD_PERF_KEEP:-0}" = 1 ]; then
        log "work directory kept: $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'log interrupted; exit 130' INT TERM

wait_http() { # URL: until it answers anything, at most 10 s
    for _ in $(seq 200); do
        curl -s -o /dev/null "$1" && return 0
        sleep 0.05
    done
    die "nothing answers at $1"
}

start_emulator() { # PORT [ARG...]: $EMU on 127.0.0.1:PORT, once it answers
    local port=$1
    shift
    "$EMU" --listen "127.0.0.1:$port" --no-verify "$@" >"$WORK/emu-$port.log" 2>&1 &
    PIDS+=($!)
    wait_http "http://127.0.0.1:$port/foundation-models"
}

small_bodies() { # WORK/converse-small.json and invoke-small.json, as perf/run.sh sends
    local text='Summarise in one sentence why event loops scale better than a thread per connection for proxies that mostly wait on the network.'
    printf '{"model":"nova-pro","max_tokens":256,"messages":[{"role":"user","content":"%s"}]}' \
        "$text" >"$WORK/converse-small.json"
    printf '{"model":"claude-sonnet-4-5","max_tokens":256,"messages":[{"role":"user","content":"%s"}]}' \
        "$text" >"$WORK/invoke-small.json"
}

bedrock_block() { # EMULATOR_PORT [LINE...]: a bedrock { } block calling the emulator
    local port=$1 l
    shift
    printf 'bedrock {\n    region              us-east-1;\n'
    printf '    endpoint            http://127.0.0.1:%s;\n' "$port"
    printf '    control_endpoint    http://127.0.0.1:%s;\n' "$port"
    printf '    credentials         static;\n    access_key_id       AKIDEXAMPLE;\n'
    printf '    secret_access_key   wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY;\n'
    for l in "$@"; do printf '    %s\n' "$l"; done
    printf '}\n'
}

bench_conf() { # FILE BD_PORT EMU_PORT [BEDROCK_LINE...]: one worker, auth and the store off
    local file=$1 port=$2 emu=$3
    shift 3
    cat >"$file" <<EOF
worker_threads      1;
listen              127.0.0.1:$port;
error_log           $WORK/bedrockd.log notice;
access_log          off;
auth                off;
store               off;
$(bedrock_block "$emu" "$@")
include $ROOT/conf/models.conf;
EOF
}
