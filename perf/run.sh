#!/usr/bin/env bash
# perf/run.sh: the benchmark harness of bedrockd. Builds (Release) when needed,
# starts bedrock-emulator, bedrockd and nginx (a plain reverse proxy to the same
# emulator) on loopback, drives them with wrk, and prints one table. Every run is
# bounded in time; every process it starts is stopped on exit, Ctrl-C included.
# Benchmarks, not tests: nothing here passes or fails on a number.
#
# Set-up (perf/RESULTS.md says why): bedrockd runs one worker thread and nginx one
# worker process, with auth and the store off; the emulator runs two threads with
# --no-verify, so all three targets (direct, nginx, bedrockd) cost it the same.
# bedrockd still signs every call; a preflight sends one request per route through
# bedrockd to a second, verifying emulator, so the signatures are known to be good.
# wrk uses one thread (two at 256+ connections).
#
# Environment (all optional):
#   BD_PERF_BUILD=DIR      build directory (default: <repo>/build-perf)
#   BD_PERF_NO_BUILD=1     use the binaries in BD_PERF_BUILD as they are
#   BD_PERF_DURATION=S     seconds per measured wrk run (default 8)
#   BD_PERF_ROUNDS=N       alternating rounds per scenario; figures are medians (default 2)
#   BD_PERF_STREAMS=N      streams held open in the many-streams scenario (default 8000)
#   BD_PERF_STREAMS_H2=N   streams held open in many-streams-h2 (default 10000)
#   BD_PERF_STREAMS_LARGE=N streams held open in many-streams-large (default 500)
#   BD_PERF_PORT_BASE=P    first of the 15 loopback ports used (default 18400)
#   BD_PERF_ONLY=a,b       run only these scenarios (names as in the table)
#   BD_PERF_KEEP=1         keep the work directory (logs, confs, raw wrk output)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PERF="$ROOT/perf"
BUILD=${BD_PERF_BUILD:-$ROOT/build-perf}
DUR=${BD_PERF_DURATION:-8}
ROUNDS=${BD_PERF_ROUNDS:-2}
STREAMS=${BD_PERF_STREAMS:-8000}
STREAMS_H2=${BD_PERF_STREAMS_H2:-10000}
STREAMS_LARGE=${BD_PERF_STREAMS_LARGE:-500}
PORT_BASE=${BD_PERF_PORT_BASE:-18400}
ONLY=${BD_PERF_ONLY:-all}
CONNS=64

EMU_PORT=$PORT_BASE              # emulator, --no-verify: what every comparison calls
EMU_VERIFY_PORT=$((PORT_BASE + 1)) # emulator with SigV4 verification: the preflight
BD_PORT=$((PORT_BASE + 2))       # bedrockd, the benchmark conf
BD_AUTH_PORT=$((PORT_BASE + 3))  # bedrockd with auth + rate limit (when the modules exist)
NGX_PORT=$((PORT_BASE + 4))      # nginx
BD_CHAIN_PORT=$((PORT_BASE + 8)) # bedrockd whose model has a failover chain
EMU_H2_PLAIN_PORT=$((PORT_BASE + 9)) # emulator of many-streams-h2: its HTTP/1.1 port,
EMU_H2_PORT=$((PORT_BASE + 10))      # its HTTP/2-over-TLS port,
BD_H2_PORT=$((PORT_BASE + 11))       # and the bedrockd calling it with http2 on
NGX_TLS_PORT=$((PORT_BASE + 12))   # nginx's TLS port (ALPN h2 and http/1.1) to the emulator
BD_TLS_H2_PORT=$((PORT_BASE + 13)) # bedrockd calling it with http2 on (HTTP/2)
BD_TLS_H1_PORT=$((PORT_BASE + 14)) # bedrockd calling it with http2 off (HTTP/1.1)

CLAUDE_ID="us.anthropic.claude-sonnet-4-5-20250929-v1:0"
NOVA_ID="us.amazon.nova-pro-v1:0"

WORK=$(mktemp -d /tmp/bd-perf.XXXXXX)
RESULTS="$WORK/results.txt"     # one line per measured run, see record()
EXTRA="$WORK/extra.txt"         # scenario|target|text rows for the single-figure items
PIDS=()
BD_CONF_EXTRA=""                # lines every benchmark conf gets (see main)
CLK_TCK=$(getconf CLK_TCK)

# --- processes ----------------------------------------------------------------

TAG=perf
# shellcheck source=perf/procs.sh
. "$PERF/procs.sh"
wants() { [ "$ONLY" = all ] || [[ ",$ONLY," == *",$1,"* ]]; }

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_emulator() { # PORT ARGS...
    local port=$1
    shift
    "$BUILD/tests/emulator/bedrock-emulator" --listen "127.0.0.1:$port" "$@" \
        >"$WORK/emu-$port.log" 2>&1 &
    PIDS+=($!)
    wait_http "http://127.0.0.1:$port/foundation-models"
}

write_bd_conf() { # FILE PORT
    cat >"$1" <<EOF
worker_threads      1;
listen              127.0.0.1:$2;
error_log           $WORK/bedrockd-$2.log notice;
access_log          off;
worker_connections  19000;
bedrock {
    region              us-east-1;
    endpoint            http://127.0.0.1:$EMU_PORT;
    control_endpoint    http://127.0.0.1:$EMU_PORT;
    credentials         static;
    access_key_id       AKIDEXAMPLE;
    secret_access_key   wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY;
    max_connections     1024;
}
include $ROOT/conf/models.conf;
EOF
    # Optional modules this binary may have: the comparisons run without client
    # auth and without the store, as nginx does neither.
    printf '%s' "$BD_CONF_EXTRA" >>"$1"
}

start_bedrockd() { # CONF PORT; sets BD_PID
    "$BUILD/bedrockd" -c "$1" >>"$WORK/bedrockd-$2.log" 2>&1 &
    BD_PID=$!
    PIDS+=("$BD_PID")
    wait_http "http://127.0.0.1:$2/health"
}

make_cert() { # $WORK/tls/cert.pem and key.pem for 127.0.0.1, once
    [ -f "$WORK/tls/cert.pem" ] && return 0
    mkdir -p "$WORK/tls"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
        -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
        -keyout "$WORK/tls/key.pem" -out "$WORK/tls/cert.pem" 2>/dev/null
}

# bd_tls_conf FILE PORT ENDPOINT HTTP2: the benchmark conf calling ENDPOINT (https) with
# the run's certificate as its CA, http2 HTTP2 (on|off).
bd_tls_conf() {
    write_bd_conf "$1" "$2"
    sed -i "s|^    endpoint .*|    endpoint            $3;\n    ca_file             $WORK/tls/cert.pem;\n    http2               $4;|" "$1"
}

start_nginx() { # sets NGX_PID (master) and NGX_WORKER
    local d="$WORK/nginx"
    mkdir -p "$d/logs"
    make_cert
    sed -e "s|@DIR@|$d|g" -e "s|@PORT@|$NGX_PORT|g" -e "s|@EMU@|$EMU_PORT|g" \
        -e "s|@TLSPORT@|$NGX_TLS_PORT|g" -e "s|@CERT@|$WORK/tls/cert.pem|g" \
        -e "s|@KEY@|$WORK/tls/key.pem|g" "$PERF/nginx.conf.in" >"$d/nginx.conf"
    nginx -p "$d" -c "$d/nginx.conf" -e "$d/error.log" &
    NGX_PID=$!
    PIDS+=("$NGX_PID")
    wait_http "http://127.0.0.1:$NGX_PORT/foundation-models"
    NGX_WORKER=$(cat "/proc/$NGX_PID/task/$NGX_PID/children" | awk '{print $1}')
    [ -n "$NGX_WORKER" ] || die "no nginx worker"
}

# --- /proc figures ---------------------------------------------------------------

cpu_ticks() { # PID: utime + stime of every thread, in clock ticks
    sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'
}
status_kb() { # PID FIELD (VmRSS, VmHWM)
    awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status"
}
reset_hwm() { echo 5 >"/proc/$1/clear_refs" 2>/dev/null || true; }
open_fds() { ls "/proc/$1/fd" | wc -l; }

# --- wrk ---------------------------------------------------------------------------

# measure SCENARIO TARGET ROUND CONNS BODY URL PID [HEADERS]: one wrk run. Appends to
# $RESULTS: scenario target round conns rps p50 p99 p999 cpu_s_per_1k hwm_kb errors
# (latencies in µs; PID is the proxy whose CPU and peak RSS are read, 0 for none).
measure() {
    local sc=$1 tg=$2 rd=$3 c=$4 body=$5 url=$6 pid=$7 hdr=${8:-}
    local threads=1 t0=0 t1=0 out line
    [ "$c" -ge 256 ] && threads=2
    if [ "$pid" != 0 ]; then
        reset_hwm "$pid"
        t0=$(cpu_ticks "$pid")
    fi
    out="$WORK/wrk-$sc-$tg-$rd.txt"
    BD_BODY="$body" BD_HEADERS="$hdr" wrk -t"$threads" -c"$c" -d"${DUR}s" --latency \
        --timeout 30s -s "$PERF/post.lua" "$url" >"$out" 2>&1 || true
    [ "$pid" != 0 ] && t1=$(cpu_ticks "$pid")
    line=$(grep '^BDPERF' "$out" || true)
    [ -n "$line" ] || die "wrk gave no result for $sc/$tg (see $out)"
    awk -v sc="$sc" -v tg="$tg" -v rd="$rd" -v c="$c" -v dt=$((t1 - t0)) -v hz="$CLK_TCK" \
        -v hwm="$( [ "$pid" != 0 ] && status_kb "$pid" VmHWM || echo 0)" '{
        for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        rps = v["requests"] / (v["duration_us"] / 1e6)
        err = v["err_connect"] + v["err_read"] + v["err_write"] + v["err_status"] + v["err_timeout"]
        cpu = (v["requests"] > 0 && dt > 0) ? (dt / hz) / v["requests"] * 1000 : 0
        printf "%s %s %s %s %.1f %d %d %d %.3f %d %d\n", sc, tg, rd, c, rps, v["p50"], v["p99"],
            v["p999"], cpu, hwm, err
    }' <<<"$line" >>"$RESULTS"
    log "$(tail -1 "$RESULTS")"
}

# measure_rate SCENARIO TARGET ROUND RATE BODY URL PID: one fixed-rate run of
# bd-loadgen (open loop: request k is due at k / RATE, its latency counted from then).
# Appends to $RESULTS in measure's format (rps = answered / duration).
measure_rate() {
    local sc=$1 tg=$2 rd=$3 rate=$4 body=$5 url=$6 pid=$7 t0=0 t1=0 out line
    if [ "$pid" != 0 ]; then
        reset_hwm "$pid"
        t0=$(cpu_ticks "$pid")
    fi
    out="$WORK/load-$sc-$tg-$rd.txt"
    "$BUILD/perf/loadgen/bd-loadgen" -u "$url" -r "$rate" -d "$DUR" -c 256 -b "$body" >"$out" 2>&1 || true
    [ "$pid" != 0 ] && t1=$(cpu_ticks "$pid")
    line=$(grep '^BDLOAD' "$out" || true)
    [ -n "$line" ] || die "bd-loadgen gave no result for $sc/$tg (see $out)"
    awk -v sc="$sc" -v tg="$tg" -v rd="$rd" -v dt=$((t1 - t0)) -v hz="$CLK_TCK" \
        -v hwm="$( [ "$pid" != 0 ] && status_kb "$pid" VmHWM || echo 0)" '{
        for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        n = v["ok"] + v["non2xx"]
        cpu = (n > 0 && dt > 0) ? (dt / hz) / n * 1000 : 0
        printf "%s %s %s %s %.1f %d %d %d %.3f %d %d\n", sc, tg, rd, v["conns"], n / (v["duration_us"] / 1e6),
            v["p50"], v["p99"], v["p999"], cpu, hwm, v["non2xx"] + v["errors"] + v["unfinished"]
    }' <<<"$line" >>"$RESULTS"
    log "$(tail -1 "$RESULTS")"
}

# open_loop RATE: Converse at a fixed rate, direct, through nginx and through
# bedrockd in alternating order, ROUNDS times (the table's "added" column is the
# latency each adds at that rate; CPU per request at a fixed rate is about three
# times wrk's closed loop for both proxies, as each request wakes them alone).
open_loop() {
    local rate=$1 sc="open-$1" r order tg
    for r in $(seq "$ROUNDS"); do
        if [ $((r % 2)) = 1 ]; then order="direct nginx bedrockd"; else order="bedrockd nginx direct"; fi
        for tg in $order; do
            case $tg in
            direct) measure_rate "$sc" direct "$r" "$rate" "$WORK/conv.json" \
                "http://127.0.0.1:$EMU_PORT/model/$NOVA_ID/converse" 0 ;;
            nginx) measure_rate "$sc" nginx "$r" "$rate" "$WORK/conv.json" \
                "http://127.0.0.1:$NGX_PORT/model/$NOVA_ID/converse" "$NGX_WORKER" ;;
            bedrockd) measure_rate "$sc" bedrockd "$r" "$rate" "$WORK/msg-nova.json" \
                "http://127.0.0.1:$BD_PORT/v1/messages" "$BD_PID" ;;
            esac
        done
    done
}

# compare SCENARIO CONNS BODY_NATIVE NATIVE_PATH BODY_CLIENT [CLIENT_PATH]: direct,
# nginx and bedrockd in alternating order, ROUNDS times; bedrockd gets BODY_CLIENT at
# CLIENT_PATH (default /v1/messages).
compare() {
    local sc=$1 c=$2 nbody=$3 npath=$4 cbody=$5 cpath=${6:-/v1/messages} r order tg
    for r in $(seq "$ROUNDS"); do
        if [ $((r % 2)) = 1 ]; then order="direct nginx bedrockd"; else order="bedrockd nginx direct"; fi
        for tg in $order; do
            case $tg in
            direct) measure "$sc" direct "$r" "$c" "$nbody" "http://127.0.0.1:$EMU_PORT$npath" 0 ;;
            nginx) measure "$sc" nginx "$r" "$c" "$nbody" "http://127.0.0.1:$NGX_PORT$npath" "$NGX_WORKER" ;;
            bedrockd) measure "$sc" bedrockd "$r" "$c" "$cbody" "http://127.0.0.1:$BD_PORT$cpath" "$BD_PID" ;;
            esac
        done
    done
}

warm_up() { # a short unmeasured run on each target, so first-run effects stay out
    BD_BODY="$WORK/conv.json" wrk -t1 -c"$CONNS" -d2s -s "$PERF/post.lua" \
        "http://127.0.0.1:$NGX_PORT/model/$NOVA_ID/converse" >/dev/null 2>&1 || true
    BD_BODY="$WORK/msg-nova.json" wrk -t1 -c"$CONNS" -d2s -s "$PERF/post.lua" \
        "http://127.0.0.1:$BD_PORT/v1/messages" >/dev/null 2>&1 || true
}

# --- scenarios beyond the three-way comparisons ------------------------------------

# hold_streams TARGET PORT URL BODY PID [UPSTREAM NOTE]: STREAMS long streams (one piece
# a second) held open by wrk; RSS is read once the proxy holds them all: STREAMS client
# connections on PORT and, upstream, what UPSTREAM says (a function given PID; default
# upstream_of: as many of its own connections to the emulator, so pooled upstream
# connections do not skew the count). NOTE, a function given PID, adds a row of its
# own, taken while the streams are held.
held_on() { ss -Htn state established "( sport = :$1 )" | wc -l; }
upstream_of() { ss -Htnp state established "( dport = :$EMU_PORT )" | grep -c "pid=$1," || true; }
hold_streams() {
    local tg=$1 port=$2 url=$3 body=$4 pid=$5 upstream=${6:-upstream_of} note=${7:-}
    local hold=$((DUR + 30)) base_rss held=0 prev=-1 rss wpid stable=0 t fds up notes=""
    base_rss=$(status_kb "$pid" VmRSS)
    BD_BODY="$body" wrk -t2 -c"$STREAMS" -d"${hold}s" --timeout 300s -s "$PERF/post.lua" "$url" \
        >"$WORK/wrk-streams-$tg.txt" 2>&1 &
    wpid=$!
    PIDS+=("$wpid")
    for t in $(seq $((hold * 2 - 20))); do
        sleep 0.5
        held=$(held_on "$port")
        up=$("$upstream" "$pid")
        [ "$held" -ge "$STREAMS" ] && [ "$up" -ge "$STREAMS" ] && break
        if [ "$held.$up" = "$prev" ] && [ "$held" -gt 100 ]; then
            stable=$((stable + 1))
            [ "$stable" -ge 6 ] && break
        else
            stable=0
        fi
        prev=$held.$up
    done
    sleep 2 # every stream past its first event
    rss=$(status_kb "$pid" VmRSS)
    held=$(held_on "$port")
    fds=$(open_fds "$pid")
    [ -z "$note" ] || notes=$("$note" "$pid")
    kill -TERM "$wpid" 2>/dev/null || true
    wait "$wpid" 2>/dev/null || true
    awk -v tg="$tg" -v n="$STREAMS" -v held="$held" -v b="$base_rss" -v r="$rss" -v t="$t" -v fds="$fds" 'BEGIN {
        per = held > 0 ? (r - b) / held : 0
        printf "many-streams|%s|%d of %d streams held (all within %.1f s), %d open files; RSS %.1f MB (%.1f MB before): %.1f KB per open stream; 10,000 streams ~ %.0f MB\n",
            tg, held, n, t / 2, fds, r / 1024, b / 1024, per, (b + per * 10000) / 1024
    }' >>"$EXTRA"
    log "$(tail -1 "$EXTRA")"
    if [ -n "$notes" ]; then
        echo "many-streams|$tg|$notes" >>"$EXTRA"
        log "$(tail -1 "$EXTRA")"
    fi
}

# The streams the HTTP/2 emulator was asked for (its model_requests, less the warm-up
# call), and the connections from PID that carry them.
h2_streams_of() {
    local n
    n=$(curl -s "http://127.0.0.1:$EMU_H2_PLAIN_PORT/_emulator/state" |
        sed -n 's/.*"model_requests":\([0-9]*\).*/\1/p')
    echo $((${n:-1} - 1))
}
h2_conns_of() {
    echo "upstream: $(ss -Htnp state established "( dport = :$EMU_H2_PORT )" | grep -c "pid=$1,") HTTP/2 connections to the emulator carried the streams"
}

# many-streams-h2: STREAMS_H2 held streams through a bedrockd calling an emulator that
# speaks HTTP/2 over TLS (a certificate made for the run), http2 on. bedrockd holds one
# descriptor per client and a few upstream connections.
many_streams_h2() {
    local dir="$WORK/tls" conf="$WORK/bd-h2.conf" pid STREAMS=$STREAMS_H2
    make_cert
    start_emulator "$EMU_H2_PLAIN_PORT" --threads 2 --no-verify --h2 "$EMU_H2_PORT" \
        --tls-cert "$dir/cert.pem" --tls-key "$dir/key.pem"
    bd_tls_conf "$conf" "$BD_H2_PORT" "https://127.0.0.1:$EMU_H2_PORT" on
    sed -i "s|^    control_endpoint .*|    control_endpoint    http://127.0.0.1:$EMU_H2_PLAIN_PORT;|" "$conf"
    start_bedrockd "$conf" "$BD_H2_PORT"
    pid=$BD_PID
    # warm: the first connection and its TLS handshake
    curl -s -o /dev/null -H 'content-type: application/json' --data-binary "@$WORK/msg-claude.json" \
        "http://127.0.0.1:$BD_H2_PORT/v1/messages"
    hold_streams bedrockd-h2 "$BD_H2_PORT" "http://127.0.0.1:$BD_H2_PORT/v1/messages" \
        "$WORK/msg-long.json" "$pid" h2_streams_of h2_conns_of
    kill -TERM "$pid" 2>/dev/null || true
}

# tls-small, tls-stream: bedrockd over TLS to Bedrock as in AWS, through nginx's TLS
# port (which offers h2 and http/1.1, forwarding to the emulator): one bedrockd with
# http2 on (HTTP/2, calls multiplexed), one with http2 off (HTTP/1.1, a connection per
# call in flight), alternating rounds. What differs is bedrockd's own CPU per call.
start_tls_bedrockds() { # sets BD_TLS_H2_PID and BD_TLS_H1_PID, keeps BD_PID
    local main=$BD_PID
    bd_tls_conf "$WORK/bd-tls-h2.conf" "$BD_TLS_H2_PORT" "https://127.0.0.1:$NGX_TLS_PORT" on
    start_bedrockd "$WORK/bd-tls-h2.conf" "$BD_TLS_H2_PORT"
    BD_TLS_H2_PID=$BD_PID
    bd_tls_conf "$WORK/bd-tls-h1.conf" "$BD_TLS_H1_PORT" "https://127.0.0.1:$NGX_TLS_PORT" off
    start_bedrockd "$WORK/bd-tls-h1.conf" "$BD_TLS_H1_PORT"
    BD_TLS_H1_PID=$BD_PID
    BD_PID=$main
}

tls_scenarios() {
    local r order tg pid port
    start_tls_bedrockds
    for r in $(seq "$ROUNDS"); do
        if [ $((r % 2)) = 1 ]; then order="h1 h2"; else order="h2 h1"; fi
        for tg in $order; do
            if [ "$tg" = h2 ]; then pid=$BD_TLS_H2_PID port=$BD_TLS_H2_PORT; else pid=$BD_TLS_H1_PID port=$BD_TLS_H1_PORT; fi
            if wants tls-small; then
                measure tls-small "bedrockd-$tg" "$r" "$CONNS" "$WORK/msg-nova.json" \
                    "http://127.0.0.1:$port/v1/messages" "$pid"
            fi
            if wants tls-stream; then
                measure tls-stream "bedrockd-$tg" "$r" 200 "$WORK/msg-stream.json" \
                    "http://127.0.0.1:$port/v1/messages" "$pid"
            fi
        done
    done
    kill -TERM "$BD_TLS_H2_PID" "$BD_TLS_H1_PID" 2>/dev/null || true
}

# many-streams-tls: held streams as in AWS, over TLS through nginx's TLS port: STREAMS
# with http2 off (a TLS connection per stream), then STREAMS_H2 with http2 on (the
# emulator's request count says when all arrived through nginx).
tls_conns_of() { ss -Htnp state established "( dport = :$NGX_TLS_PORT )" | grep -c "pid=$1," || true; }
emu_requests() {
    curl -s "http://127.0.0.1:$EMU_PORT/_emulator/state" |
        sed -n 's/.*"model_requests":\([0-9]*\).*/\1/p'
}
emu_requests_since_base() { echo $(($(emu_requests) - EMU_BASE_REQUESTS)); }
tls_h2_note() { echo "upstream: $(tls_conns_of "$1") HTTP/2 connections to nginx's TLS port carried the streams"; }
many_streams_tls() {
    start_tls_bedrockds
    # thousands of TLS handshakes at once take longer than the default 5 s connect
    # timeout here (HTTP/1.1 needs one per stream): the figure is the memory held
    sed -i "s|^    ca_file |    connect_timeout     120s;\n    ca_file |" "$WORK/bd-tls-h1.conf"
    kill -HUP "$BD_TLS_H1_PID"
    sleep 1
    hold_streams bedrockd-tls-h1 "$BD_TLS_H1_PORT" "http://127.0.0.1:$BD_TLS_H1_PORT/v1/messages" \
        "$WORK/msg-long.json" "$BD_TLS_H1_PID" tls_conns_of
    kill -TERM "$BD_TLS_H1_PID" 2>/dev/null || true
    sleep 3
    EMU_BASE_REQUESTS=$(emu_requests)
    local STREAMS=$STREAMS_H2
    hold_streams bedrockd-tls-h2 "$BD_TLS_H2_PORT" "http://127.0.0.1:$BD_TLS_H2_PORT/v1/messages" \
        "$WORK/msg-long.json" "$BD_TLS_H2_PID" emu_requests_since_base tls_h2_note
    kill -TERM "$BD_TLS_H2_PID" 2>/dev/null || true
}

reload_under_load() {
    local before after hup
    before=$(grep -c 'configuration reloaded' "$WORK/bedrockd-$BD_PORT.log" || true)
    (while :; do kill -HUP "$BD_PID" 2>/dev/null || exit 0; sleep 0.2; done) &
    hup=$!
    PIDS+=("$hup")
    measure reload bedrockd 1 "$CONNS" "$WORK/msg-nova.json" \
        "http://127.0.0.1:$BD_PORT/v1/messages" "$BD_PID"
    kill -TERM "$hup" 2>/dev/null || true
    wait "$hup" 2>/dev/null || true
    sleep 0.3
    after=$(grep -c 'configuration reloaded' "$WORK/bedrockd-$BD_PORT.log" || true)
    echo "reload|bedrockd|SIGHUP every 200 ms during the run: $((after - before)) reloads; failed requests (non-2xx + socket errors): $(tail -1 "$RESULTS" | awk '{print $11}')" >>"$EXTRA"
    log "$(tail -1 "$EXTRA")"
}

startup_idle() {
    local line conf2="$WORK/bd-auto.conf"
    command -v python3 >/dev/null || { echo "startup|bedrockd|not measured: python3 absent" >>"$EXTRA"; return; }
    write_bd_conf "$WORK/bd-ready.conf" $((PORT_BASE + 5))
    sed 's/^worker_threads .*/worker_threads      auto;/' "$WORK/bd-ready.conf" >"$conf2"
    line=$(python3 "$PERF/ready.py" "$BUILD/bedrockd" "$WORK/bd-ready.conf" 5 2>>"$WORK/ready.log")
    echo "startup|bedrockd 1 worker|$(fmt_ready "$line")" >>"$EXTRA"
    line=$(python3 "$PERF/ready.py" "$BUILD/bedrockd" "$conf2" 5 2>>"$WORK/ready.log")
    echo "startup|bedrockd auto ($(nproc) workers)|$(fmt_ready "$line")" >>"$EXTRA"
    log "$(tail -2 "$EXTRA")"
}
fmt_ready() {
    awk '{for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        printf "startup to READY=1 (sd_notify) median %.1f ms (min %.1f, max %.1f, %d runs); idle RSS %.1f MB",
            v["ready_ms_median"], v["ready_ms_min"], v["ready_ms_max"], v["runs"], v["idle_rss_kb_median"] / 1024}' <<<"$1"
}

# conf_accepts LINES...: whether this bedrockd accepts the benchmark conf plus these
# lines (`bedrockd -t`); tells which optional modules the binary has.
conf_accepts() {
    local f="$WORK/probe.conf" l BD_CONF_EXTRA=""
    write_bd_conf "$f" $((PORT_BASE + 7))
    for l in "$@"; do echo "$l" >>"$f"; done
    "$BUILD/bedrockd" -t -c "$f" >/dev/null 2>&1
}

# Adds a key with limits far above the load (so the limiter runs on every request
# and never refuses) straight into the store file; prints its secret.
add_key() { # DB
    python3 - "$1" <<'PY'
import base64, hashlib, os, secrets, sqlite3, sys, time
secret = "sk-bd-" + base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
kid = "key_" + "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz234567") for _ in range(16))
db = sqlite3.connect(sys.argv[1], timeout=10)
db.execute("INSERT INTO keys (id, hash, prefix, name, created_ms, rpm, tpm, concurrency) "
           "VALUES (?, ?, ?, 'perf', ?, 1000000000, 1000000000, 100000)",
           (kid, hashlib.sha256(secret.encode()).hexdigest(), secret[:12], int(time.time() * 1000)))
db.commit()
print(secret)
PY
}

# Auth + rate limit on versus off: a second bedrockd with the store, an API key
# (with rpm, tpm and concurrency limits) and the gateway-wide limits, against the
# benchmark one (auth off), alternating. Usage records are written by the store
# thread in the "on" case: that is part of what a keyed request costs.
auth_scenario() {
    local conf="$WORK/bd-auth.conf" rl="" key code r order tg main=$BD_PID
    if ! command -v python3 >/dev/null || ! conf_accepts "auth on;" "store $WORK/perf.db;"; then
        echo "auth+ratelimit|bedrockd|not measured: module absent" >>"$EXTRA"
        return
    fi
    if conf_accepts "ratelimit_global_rpm 1000000000;" "ratelimit_global_concurrency 100000;"; then
        rl="ratelimit_global_rpm 1000000000; ratelimit_global_concurrency 100000;"
    else
        echo "auth+ratelimit|bedrockd+auth|rate limit not measured: module absent (auth alone)" >>"$EXTRA"
    fi
    write_bd_conf "$conf" "$BD_AUTH_PORT"
    sed -i '/^auth off;$/d; /^store off;$/d' "$conf"
    printf 'auth on;\nstore %s;\n%s\n' "$WORK/perf.db" "$rl" >>"$conf"
    start_bedrockd "$conf" "$BD_AUTH_PORT"
    BD_AUTH_PID=$BD_PID
    BD_PID=$main
    key=$(add_key "$WORK/perf.db")
    for _ in $(seq 50); do # the store thread polls for other writers' commits
        code=$(curl -s -o /dev/null -w '%{http_code}' -H "x-api-key: $key" \
            -H 'content-type: application/json' --data-binary "@$WORK/msg-nova.json" \
            "http://127.0.0.1:$BD_AUTH_PORT/v1/messages")
        [ "$code" = 200 ] && break
        sleep 0.1
    done
    [ "$code" = 200 ] || die "the API key is not accepted (HTTP $code)"
    for r in $(seq "$ROUNDS"); do
        if [ $((r % 2)) = 1 ]; then order="off on"; else order="on off"; fi
        for tg in $order; do
            if [ "$tg" = off ]; then
                measure auth+ratelimit bedrockd "$r" "$CONNS" "$WORK/msg-nova.json" \
                    "http://127.0.0.1:$BD_PORT/v1/messages" "$BD_PID"
            else
                measure auth+ratelimit bedrockd+auth "$r" "$CONNS" "$WORK/msg-nova.json" \
                    "http://127.0.0.1:$BD_AUTH_PORT/v1/messages" "$BD_AUTH_PID" "x-api-key: $key"
            fi
        done
    done
}

# --- setup ---------------------------------------------------------------------------

need_tools() {
    local missing=()
    command -v wrk >/dev/null || missing+=(wrk)
    command -v nginx >/dev/null || missing+=(nginx-light)
    command -v curl >/dev/null || missing+=(curl)
    command -v ss >/dev/null || missing+=(iproute2)
    command -v openssl >/dev/null || missing+=(openssl)
    if [ "${#missing[@]}" -gt 0 ]; then
        log "installing ${missing[*]}"
        local sudo=""
        [ "$(id -u)" = 0 ] || sudo=sudo
        $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
            "${missing[@]}" >/dev/null
    fi
}

build() {
    if [ "${BD_PERF_NO_BUILD:-0}" = 1 ]; then
        [ -x "$BUILD/bedrockd" ] || die "no $BUILD/bedrockd"
        [ -x "$BUILD/perf/loadgen/bd-loadgen" ] || die "no $BUILD/perf/loadgen/bd-loadgen"
        return
    fi
    if [ ! -f "$BUILD/CMakeCache.txt" ]; then
        cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DBD_TESTS=OFF >/dev/null
    fi
    grep -q '^CMAKE_BUILD_TYPE:STRING=Release' "$BUILD/CMakeCache.txt" ||
        die "$BUILD is not a Release build"
    cmake --build "$BUILD" --target bedrockd bedrock-emulator bd-loadgen -j"$(nproc)" >"$WORK/build.log" 2>&1 ||
        die "build failed (see $WORK/build.log; BD_PERF_KEEP=1 keeps it)"
}

# failover: the same Converse request on the same bedrockd conf, without and with a
# failover chain (a second region, a smaller model) on its model. The first target
# serves every request: the chain's cost is the lookup and the walk's bookkeeping.
failover_scenario() {
    local conf="$WORK/bd-chain.conf" main=$BD_PID r order tg
    write_bd_conf "$conf" "$BD_CHAIN_PORT"
    cat >>"$conf" <<EOF
model nova-pro-chain {
    id $NOVA_ID;
    fallback $NOVA_ID region=us-west-2 endpoint=http://127.0.0.1:$EMU_PORT;
    fallback amazon.nova-lite-v1:0 on=throttle,5xx;
}
EOF
    start_bedrockd "$conf" "$BD_CHAIN_PORT"
    BD_CHAIN_PID=$BD_PID
    BD_PID=$main
    sed 's/"model":"nova-pro"/"model":"nova-pro-chain"/' "$WORK/msg-nova.json" >"$WORK/msg-chain.json"
    for r in $(seq "$ROUNDS"); do
        if [ $((r % 2)) = 1 ]; then order="off on"; else order="on off"; fi
        for tg in $order; do
            if [ "$tg" = off ]; then
                measure failover bedrockd "$r" "$CONNS" "$WORK/msg-nova.json" \
                    "http://127.0.0.1:$BD_PORT/v1/messages" "$BD_PID"
            else
                measure failover bedrockd+chain "$r" "$CONNS" "$WORK/msg-chain.json" \
                    "http://127.0.0.1:$BD_CHAIN_PORT/v1/messages" "$BD_CHAIN_PID"
            fi
        done
    done
}

make_bodies() {
    local text='Summarise in one sentence why event loops scale better than a thread per connection for proxies that mostly wait on the network.'
    local stream="[[emu:echo tokens=100 tps=50]] $text"
    local long="[[emu:echo tokens=$((DUR + 60)) tps=1]] $text"
    local img
    printf '{"model":"nova-pro","max_tokens":256,"messages":[{"role":"user","content":"%s"}]}' \
        "$text" >"$WORK/msg-nova.json"
    printf '{"messages":[{"role":"user","content":[{"text":"%s"}]}],"inferenceConfig":{"maxTokens":256}}' \
        "$text" >"$WORK/conv.json"
    printf '{"model":"claude-sonnet-4-5","max_tokens":256,"messages":[{"role":"user","content":"%s"}]}' \
        "$text" >"$WORK/msg-claude.json"
    printf '{"anthropic_version":"bedrock-2023-05-31","max_tokens":256,"messages":[{"role":"user","content":"%s"}]}' \
        "$text" >"$WORK/invoke.json"
    printf '{"model":"claude-sonnet-4-5","max_tokens":256,"stream":true,"messages":[{"role":"user","content":"%s"}]}' \
        "$stream" >"$WORK/msg-stream.json"
    printf '{"anthropic_version":"bedrock-2023-05-31","max_tokens":256,"messages":[{"role":"user","content":"%s"}]}' \
        "$stream" >"$WORK/invoke-stream.json"
    printf '{"model":"claude-sonnet-4-5","max_tokens":256,"stream":true,"messages":[{"role":"user","content":"%s"}]}' \
        "$long" >"$WORK/msg-long.json"
    printf '{"anthropic_version":"bedrock-2023-05-31","max_tokens":256,"messages":[{"role":"user","content":"%s"}]}' \
        "$long" >"$WORK/invoke-long.json"
    # A long stream whose prompt is 300 KB, the size of a coding agent's turn.
    local context
    context=$(printf 'A line of a long coding session: code, notes and tool results. %.0s' $(seq 4700))
    printf '{"model":"claude-sonnet-4-5","max_tokens":256,"stream":true,"messages":[{"role":"user","content":"%s %s"}]}' \
        "$long" "$context" >"$WORK/msg-large-prompt.json"
    printf '{"anthropic_version":"bedrock-2023-05-31","max_tokens":256,"messages":[{"role":"user","content":"%s %s"}]}' \
        "$long" "$context" >"$WORK/invoke-large-prompt.json"
    # 768 KiB of bytes = 1 MiB of base64, the size of a large screenshot.
    img=$(head -c 786432 /dev/urandom | base64 -w0)
    printf '{"model":"claude-sonnet-4-5","max_tokens":256,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"%s"}},{"type":"text","text":"Describe this image."}]}]}' \
        "$img" >"$WORK/msg-image.json"
    printf '{"anthropic_version":"bedrock-2023-05-31","max_tokens":256,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"%s"}},{"type":"text","text":"Describe this image."}]}]}' \
        "$img" >"$WORK/invoke-image.json"
    # The same image on the Converse route (Nova): bytes in an image block.
    printf '{"model":"nova-pro","max_tokens":256,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"%s"}},{"type":"text","text":"Describe this image."}]}]}' \
        "$img" >"$WORK/msg-nova-image.json"
    printf '{"messages":[{"role":"user","content":[{"image":{"format":"png","source":{"bytes":"%s"}}},{"text":"Describe this image."}]}],"inferenceConfig":{"maxTokens":256}}' \
        "$img" >"$WORK/conv-image.json"
    # The same image from an OpenAI client: a data URL in an image_url part.
    printf '{"model":"nova-pro","max_tokens":256,"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,%s"}},{"type":"text","text":"Describe this image."}]}]}' \
        "$img" >"$WORK/chat-nova-image.json"
}

# One request per route through bedrockd to an emulator that verifies SigV4: the
# signing work measured everywhere else produces signatures Bedrock would accept.
preflight() {
    local conf="$WORK/bd-verify.conf" port=$((PORT_BASE + 6)) body path code pid
    start_emulator "$EMU_VERIFY_PORT"
    write_bd_conf "$conf" "$port"
    sed -i "s|127.0.0.1:$EMU_PORT;|127.0.0.1:$EMU_VERIFY_PORT;|" "$conf"
    start_bedrockd "$conf" "$port"
    pid=$BD_PID
    for body in msg-nova msg-claude msg-image chat-nova-image; do
        path=/v1/messages
        [ "$body" = chat-nova-image ] && path=/v1/chat/completions
        code=$(curl -s -o "$WORK/preflight-$body.out" -w '%{http_code}' \
            -H 'content-type: application/json' --data-binary "@$WORK/$body.json" \
            "http://127.0.0.1:$port$path")
        [ "$code" = 200 ] || die "preflight $body: HTTP $code: $(head -c 300 "$WORK/preflight-$body.out")"
    done
    kill -TERM "$pid"
    wait "$pid" 2>/dev/null || true
}

# --- the table -------------------------------------------------------------------------

print_table() {
    awk -F'|' 'FNR == NR { extra[++ne] = $0; next }
    function med(s,   a, n, i, j, t) {
        n = split(s, a, " ")
        for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
        return n == 0 ? 0 : (n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2)
    }
    function ms(us) { return sprintf("%.2f", us / 1000) }
    {
        split($0, f, " ")
        sc = f[1]; tg = f[2]; rd = f[3]; k = sc SUBSEP tg
        if (!(sc in seen)) { seen[sc] = 1; scs[++nsc] = sc }
        if (!(k in tseen)) { tseen[k] = 1; tgs[sc] = tgs[sc] " " tg }
        conns[k] = f[4]
        for (m = 5; m <= 10; m++) v[k, m] = v[k, m] " " f[m]
        err[k] += f[11]
        x[sc, tg, rd, "rps"] = f[5]; x[sc, tg, rd, "p50"] = f[6]; x[sc, tg, rd, "p99"] = f[7]
        rounds[sc, rd] = 1; rlist[sc] = (index(rlist[sc] " ", " " rd " ") ? rlist[sc] : rlist[sc] " " rd)
    }
    function ratio(sc, a, b, what,   s, n, r, i) {
        n = split(rlist[sc], r, " "); s = ""
        for (i = 1; i <= n; i++)
            if ((sc, a, r[i], what) in x && (sc, b, r[i], what) in x && x[sc, b, r[i], what] > 0)
                s = s " " x[sc, a, r[i], what] / x[sc, b, r[i], what]
        return s == "" ? "" : sprintf("%.2f", med(s))
    }
    function added(sc, a, what,   s, n, r, i) {
        n = split(rlist[sc], r, " "); s = ""
        for (i = 1; i <= n; i++)
            if ((sc, a, r[i], what) in x && (sc, "direct", r[i], what) in x)
                s = s " " (x[sc, a, r[i], what] - x[sc, "direct", r[i], what])
        return s == "" ? "" : ms(med(s))
    }
    END {
        print "| scenario | target | conns | req/s | p50 ms | p99 ms | p99.9 ms | added p50 / p99 ms (vs direct) | CPU s per 1k req | peak RSS MB | failed | req/s ratios |"
        print "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
        for (i = 1; i <= nsc; i++) {
            sc = scs[i]; nt = split(tgs[sc], t, " ")
            for (j = 1; j <= nt; j++) {
                tg = t[j]; k = sc SUBSEP tg
                add = added(sc, tg, "p50")
                add = (tg == "direct" || add == "") ? "-" : add " / " added(sc, tg, "p99")
                rat = ""
                if (tg != "direct" && (r = ratio(sc, tg, "direct", "rps")) != "") rat = rat "÷direct " r " "
                if (tg == "bedrockd" && (r = ratio(sc, tg, "nginx", "rps")) != "") rat = rat "÷nginx " r " "
                if (tg == "bedrockd+auth" && (r = ratio(sc, tg, "bedrockd", "rps")) != "") rat = rat "÷bedrockd " r " "
                if (tg == "bedrockd-h2" && (r = ratio(sc, tg, "bedrockd-h1", "rps")) != "") rat = rat "÷bedrockd-h1 " r " "
                cpu = med(v[k, 9]); hwm = med(v[k, 10])
                cs = (cpu > 0) ? sprintf("%.3f", cpu) : "-"
                hs = (hwm > 0) ? sprintf("%.1f", hwm / 1024) : "-"
                if (rat == "") rat = "-"
                printf("| %s | %s | %d | %.0f | %s | %s | %s | %s | %s | %s | %d | %s |\n", sc, tg,
                    conns[k], med(v[k, 5]), ms(med(v[k, 6])), ms(med(v[k, 7])), ms(med(v[k, 8])),
                    add, cs, hs, err[k], rat)
            }
        }
        for (i = 1; i <= ne; i++) {
            split(extra[i], e, "|")
            printf "| %s | %s | | | | | | | | | | %s |\n", e[1], e[2], e[3]
        }
    }' "$EXTRA" "$RESULTS"
}

# --- main ------------------------------------------------------------------------------

main() {
    local p
    need_tools
    build
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
    local fdmax
    fdmax=$(ulimit -n)
    if [ $((2 * STREAMS + 200)) -gt "$fdmax" ]; then
        STREAMS=$(((fdmax - 200) / 2))
        log "open-file limit $fdmax: many-streams lowered to $STREAMS streams"
    fi
    if [ $((STREAMS_H2 + 200)) -gt "$fdmax" ]; then
        STREAMS_H2=$((fdmax - 200))
        log "open-file limit $fdmax: many-streams-h2 lowered to $STREAMS_H2 streams"
    fi
    for p in "$EMU_PORT" "$EMU_VERIFY_PORT" "$BD_PORT" "$BD_AUTH_PORT" "$NGX_PORT" \
        $((PORT_BASE + 5)) $((PORT_BASE + 6)) "$BD_CHAIN_PORT" "$EMU_H2_PLAIN_PORT" "$EMU_H2_PORT" \
        "$BD_H2_PORT" "$NGX_TLS_PORT" "$BD_TLS_H2_PORT" "$BD_TLS_H1_PORT"; do
        port_free "$p" || die "port $p is in use (set BD_PERF_PORT_BASE)"
    done
    : >"$RESULTS"
    : >"$EXTRA"
    if conf_accepts "auth off;"; then BD_CONF_EXTRA+=$'auth off;\n'; fi
    if conf_accepts "store off;"; then BD_CONF_EXTRA+=$'store off;\n'; fi
    make_bodies
    log "bedrockd $("$BUILD/bedrockd" -v 2>&1 | head -1); $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
    if wants startup; then startup_idle; fi
    preflight
    start_emulator "$EMU_PORT" --threads 2 --no-verify
    write_bd_conf "$WORK/bd.conf" "$BD_PORT"
    start_bedrockd "$WORK/bd.conf" "$BD_PORT"
    start_nginx
    echo "idle|bedrockd 1 worker|idle RSS after start $(awk '{printf "%.1f MB", $1 / 1024}' <<<"$(status_kb "$BD_PID" VmRSS)"); nginx worker $(awk '{printf "%.1f MB", $1 / 1024}' <<<"$(status_kb "$NGX_WORKER" VmRSS)"), master $(awk '{printf "%.1f MB", $1 / 1024}' <<<"$(status_kb "$NGX_PID" VmRSS)")" >>"$EXTRA"
    warm_up

    if wants converse-small; then
        compare converse-small "$CONNS" "$WORK/conv.json" "/model/$NOVA_ID/converse" "$WORK/msg-nova.json"
    fi
    if wants invoke-small; then
        compare invoke-small "$CONNS" "$WORK/invoke.json" "/model/$CLAUDE_ID/invoke" "$WORK/msg-claude.json"
    fi
    if wants converse-1conn; then
        compare converse-1conn 1 "$WORK/conv.json" "/model/$NOVA_ID/converse" "$WORK/msg-nova.json"
    fi
    if wants stream; then
        compare stream 200 "$WORK/invoke-stream.json" "/model/$CLAUDE_ID/invoke-with-response-stream" \
            "$WORK/msg-stream.json"
    fi
    if wants open-2000; then open_loop 2000; fi
    if wants open-5000; then open_loop 5000; fi
    if wants auth+ratelimit; then auth_scenario; fi
    if wants tls-small || wants tls-stream; then tls_scenarios; fi
    if wants failover; then failover_scenario; fi
    if wants reload; then reload_under_load; fi
    if wants many-streams; then
        hold_streams bedrockd "$BD_PORT" "http://127.0.0.1:$BD_PORT/v1/messages" \
            "$WORK/msg-long.json" "$BD_PID"
        sleep 3
        hold_streams nginx "$NGX_PORT" \
            "http://127.0.0.1:$NGX_PORT/model/$CLAUDE_ID/invoke-with-response-stream" \
            "$WORK/invoke-long.json" "$NGX_WORKER"
    fi
    if wants many-streams-large; then # what a held stream keeps of a large request
        sleep 3
        STREAMS=$STREAMS_LARGE hold_streams bedrockd-large "$BD_PORT" \
            "http://127.0.0.1:$BD_PORT/v1/messages" "$WORK/msg-large-prompt.json" "$BD_PID"
        sleep 3
        STREAMS=$STREAMS_LARGE hold_streams nginx-large "$NGX_PORT" \
            "http://127.0.0.1:$NGX_PORT/model/$CLAUDE_ID/invoke-with-response-stream" \
            "$WORK/invoke-large-prompt.json" "$NGX_WORKER"
    fi
    if wants many-streams-h2; then
        sleep 3
        many_streams_h2
    fi
    if wants many-streams-tls; then
        sleep 3
        many_streams_tls
    fi
    # Last: the 1 MB bodies leave freed heap behind that later RSS readings would count.
    if wants image-1mb; then
        compare image-1mb 16 "$WORK/invoke-image.json" "/model/$CLAUDE_ID/invoke" "$WORK/msg-image.json"
    fi
    if wants image-1mb-converse; then
        compare image-1mb-converse 16 "$WORK/conv-image.json" "/model/$NOVA_ID/converse" \
            "$WORK/msg-nova-image.json"
    fi
    if wants image-1mb-openai; then
        compare image-1mb-openai 16 "$WORK/conv-image.json" "/model/$NOVA_ID/converse" \
            "$WORK/chat-nova-image.json" /v1/chat/completions
    fi
    echo
    echo "bedrockd benchmark, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, ${DUR}s runs, $ROUNDS rounds (medians)"
    echo
    print_table
}

main "$@"
