#!/usr/bin/env bash
# Installs what is needed, builds, and runs bedrockd in the foreground on
# 127.0.0.1:8080. With AWS credentials in reach (environment, AWS_PROFILE or
# ~/.aws, a Bedrock API key, container or instance credentials) it uses
# conf/bedrockd.conf and real Bedrock; without, or with BD_DEMO=1, it starts the
# bundled bedrock-emulator and uses conf/demo.conf. Ctrl-C stops both.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
deploy/deps.sh build

jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBD_TESTS=OFF >/dev/null
cmake --build build -j"$jobs" --target bedrockd bedrockctl bedrock-emulator

have_aws_credentials() {
    [ -n "${AWS_ACCESS_KEY_ID:-}" ] || [ -n "${AWS_PROFILE:-}" ] ||
        [ -n "${AWS_BEARER_TOKEN_BEDROCK:-}" ] || [ -n "${AWS_WEB_IDENTITY_TOKEN_FILE:-}" ] ||
        [ -n "${AWS_CONTAINER_CREDENTIALS_RELATIVE_URI:-}" ] ||
        [ -n "${AWS_CONTAINER_CREDENTIALS_FULL_URI:-}" ] || [ -f "$HOME/.aws/credentials" ]
}

if [ "${BD_DEMO:-0}" != "1" ] && have_aws_credentials; then
    echo "quickstart: AWS credentials found: bedrockd on conf/bedrockd.conf"
    # The conf's store defaults to /var/lib/bedrockd (what the systemd unit
    # creates); here it lives in the build tree unless BEDROCKD_STORE says where.
    export BEDROCKD_STORE=${BEDROCKD_STORE:-$top/build/bedrockd.db}
    mkdir -p "$(dirname "$BEDROCKD_STORE")"
    # Without a master key and without a key in the store, every request would
    # be 401: make the first key (its secret is shown once, below).
    if [ -z "${BEDROCKD_MASTER_KEY:-}" ] &&
        ! build/bedrockctl --store "$BEDROCKD_STORE" key list --format csv | grep -q ',active,'; then
        echo "quickstart: no key yet; creating one. Send its secret as x-api-key (or Bearer):"
        build/bedrockctl --store "$BEDROCKD_STORE" key create --name quickstart
        echo "quickstart: more keys: build/bedrockctl --store $BEDROCKD_STORE key create --name NAME"
    fi
    build/bedrockd -t -c conf/bedrockd.conf
    exec build/bedrockd -c conf/bedrockd.conf
fi

emu_port=${BEDROCK_EMULATOR_PORT:-4000}
echo "quickstart: no AWS credentials (or BD_DEMO=1): demo mode on bedrock-emulator :$emu_port"
emu_out=$(mktemp)
build/tests/emulator/bedrock-emulator --listen "127.0.0.1:$emu_port" >"$emu_out" 2>&1 &
emu_pid=$!
trap 'kill "$emu_pid" 2>/dev/null || true; rm -f "$emu_out"' EXIT INT TERM
for _ in $(seq 1 50); do
    grep -q "listening on" "$emu_out" && break
    if ! kill -0 "$emu_pid" 2>/dev/null; then
        echo "quickstart: bedrock-emulator did not start:" >&2
        cat "$emu_out" >&2
        echo "quickstart: is port $emu_port taken? set BEDROCK_EMULATOR_PORT" >&2
        exit 1
    fi
    sleep 0.1
done
export BEDROCK_EMULATOR_PORT=$emu_port
build/bedrockd -c conf/demo.conf
