#!/usr/bin/env bash
# tests/fuzz/libfuzzer.sh [DIR]: the fuzz targets built with clang++ and libFuzzer
# (-DBD_FUZZ=ON, ASan and UBSan, in DIR, default build-fuzz), each run for a fixed
# number of executions (BD_LIBFUZZER_RUNS, default 100000: bounded time, five times
# the 20,000 mutations of the default driver) from the seeds in corpus/. Any
# crash, sanitizer report or failed check fails the run. Without clang++ it says so
# and does nothing. Run by tests/run.sh.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
dir=${1:-build-fuzz}
runs=${BD_LIBFUZZER_RUNS:-100000}
jobs=$(nproc 2>/dev/null || echo 2)

if ! command -v clang++ >/dev/null 2>&1 || ! command -v clang >/dev/null 2>&1; then
    echo "== libFuzzer: clang++ not found, skipped (apt-get install clang)"
    exit 0
fi
echo "== build $dir (clang++, -DBD_FUZZ=ON)"
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBD_TESTS=ON -DBD_FUZZ=ON \
    -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang -DBD_FUZZ_MUTATIONS="$runs" >/dev/null
targets=$(cd tests/fuzz && ls bd_fuzz_*.cc | sed -n 's/^\(bd_fuzz_[a-z]*\)\.cc$/\1/p' |
          grep -v -e bd_fuzz_driver -e '_mutate$')
# shellcheck disable=SC2086
cmake --build "$dir" -j"$jobs" --target $targets
echo "== test $dir (libFuzzer, $runs executions per target)"
ctest --test-dir "$dir" --output-on-failure -L fuzz -j"$jobs" --timeout 900
