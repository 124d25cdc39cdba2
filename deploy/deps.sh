#!/usr/bin/env bash
# Installs what bedrock-gateway needs to build, run and test, from Debian's
# packages and the npm registry. Safe to run again: it installs only what is
# missing. Used by deploy/quickstart.sh and tests/run.sh.
set -euo pipefail

BUILD_PACKAGES="build-essential cmake pkg-config libevent-dev libcurl4-openssl-dev libnghttp2-dev
  libjansson-dev libssl-dev libsqlite3-dev libmimalloc-dev ca-certificates"
TEST_PACKAGES="libgtest-dev googletest mandoc sqlite3 curl chromium"
# promtool (`promtool check metrics` in the metrics suite) ships only inside the
# `prometheus` package, which would also install, enable and start a Prometheus
# server. So the package is downloaded, not installed, and promtool alone (a
# static binary) is taken out of it into $PROMTOOL_DIR.
PROMTOOL_DIR=${PROMTOOL_DIR:-/usr/local/bin}
# The container image test (tests/integration/image.test.mjs) builds and runs
# the image with podman; runc runs where crun cannot (cgroup v1/v2 hybrids).
# Optional: without them that test is skipped.
IMAGE_TEST_PACKAGES="podman runc"

bd_missing_packages() {
    local missing=""
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
            missing="$missing $p"
    done
    echo "$missing"
}

bd_install_packages() {
    local missing
    missing=$(bd_missing_packages "$@")
    [ -z "$missing" ] && return 0
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "deps: installing$missing"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing
}

bd_install_promtool() {
    command -v promtool >/dev/null 2>&1 && return 0
    [ -x "$PROMTOOL_DIR/promtool" ] && return 0
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    local tmp
    tmp=$(mktemp -d)
    chmod 755 "$tmp" # apt fetches as the _apt user
    echo "deps: promtool from the prometheus package (the server is not installed)"
    $sudo apt-get update -qq
    (cd "$tmp" && apt-get download -qq prometheus)
    dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/root"
    $sudo install -D -m 0755 "$tmp/root/usr/bin/promtool" "$PROMTOOL_DIR/promtool"
    rm -rf "$tmp"
}

bd_install_node() {
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        bd_install_packages nodejs npm
    fi
}

what=${1:-build}
# shellcheck disable=SC2086
bd_install_packages $BUILD_PACKAGES
if [ "$what" = "test" ]; then
    # shellcheck disable=SC2086
    bd_install_packages $TEST_PACKAGES
    bd_install_promtool
    # shellcheck disable=SC2086
    bd_install_packages $IMAGE_TEST_PACKAGES ||
        echo "deps: podman could not be installed; the container image test will be skipped"
    bd_install_node
    top=$(cd "$(dirname "$0")/.." && pwd)
    # npm ci again only when the lock file changed since the last install.
    stamp="$top/tests/node_modules/.bd-lock-stamp"
    if [ ! -f "$stamp" ] || ! cmp -s "$top/tests/package-lock.json" "$stamp"; then
        (cd "$top/tests" && npm ci --no-audit --no-fund --loglevel=error)
        cp "$top/tests/package-lock.json" "$stamp"
    fi
    # The CDK app and its tests (deploy/cdk), the same way.
    stamp="$top/deploy/cdk/node_modules/.bd-lock-stamp"
    if [ ! -f "$stamp" ] || ! cmp -s "$top/deploy/cdk/package-lock.json" "$stamp"; then
        (cd "$top/deploy/cdk" && npm ci --no-audit --no-fund --loglevel=error)
        cp "$top/deploy/cdk/package-lock.json" "$stamp"
    fi
fi
