#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing, builds twice
# (release, then AddressSanitizer + UndefinedBehaviorSanitizer) and runs every
# CTest test (unit tests, the emulator proven against the AWS SDK, and the
# integration suites driving the real bedrockd with the official SDKs) in each.
# Then a ThreadSanitizer build runs the unit tests of the parts that share state
# across threads and the multi-worker integration suites, and, when clang++ is
# there, the fuzz targets run under libFuzzer for a fixed number of executions.
#   tests/run.sh            every build
#   BD_SKIP_ASAN=1 tests/run.sh   the release build only (a quicker local loop;
#                                 also skips ThreadSanitizer and libFuzzer)
#   BD_SKIP_TSAN=1, BD_SKIP_LIBFUZZER=1   skip one of those two
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
    [ "${BD_SKIP_TSAN:-0}" = "1" ] || tests/tsan.sh build-tsan
    [ "${BD_SKIP_LIBFUZZER:-0}" = "1" ] || tests/fuzz/libfuzzer.sh build-fuzz
fi
echo "== all tests passed"
