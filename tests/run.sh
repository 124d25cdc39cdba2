#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing, builds twice
# (release, then AddressSanitizer + UndefinedBehaviorSanitizer) and runs every
# CTest test (unit tests, the emulator proven against the AWS SDK, and the
# integration suites driving the real bedrockd with the official SDKs) in each.
#   tests/run.sh            both builds
#   BD_SKIP_ASAN=1 tests/run.sh   the release build only (a quicker local loop)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
deploy/deps.sh test

jobs=$(nproc 2>/dev/null || echo 2)
run_build() {
    local dir=$1
    shift
    echo "== build $dir ($*)"
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBD_TESTS=ON "$@" >/dev/null
    cmake --build "$dir" -j"$jobs"
    echo "== test $dir"
    ctest --test-dir "$dir" --output-on-failure --timeout 300 -j"$jobs"
}

run_build build
if [ "${BD_SKIP_ASAN:-0}" != "1" ]; then
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
        run_build build-asan -DBD_SANITIZE=ON
fi
echo "== all tests passed"
