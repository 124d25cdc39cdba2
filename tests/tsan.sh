#!/usr/bin/env bash
# tests/tsan.sh [DIR]: a ThreadSanitizer build (-DBD_TSAN=ON, in DIR, default
# build-tsan) of what shares state across threads, and its tests: the unit tests of
# the publication primitive, the merged model table, the rate-limit table, the
# metrics slots, the credential refresher, the store and the log writer, and the
# integration suites where workers, the store thread and the main thread meet
# (metrics scrapes from any worker, readiness, the metrics listener, streams cut at
# a stop). Any race report
# fails the run (halt_on_error), except those tests/tsan.supp lists with the reason.
# Run by tests/run.sh; kept to what exercises threads, so that it fits the CI budget.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
dir=${1:-build-tsan}
jobs=$(nproc 2>/dev/null || echo 2)

units="bd_published_test bd_ratelimit_test bd_metrics_test bd_credentials_test bd_store_test
       bd_models_table_test bd_log_test"
suites="metrics_integration|ops_integration|faults_integration"

echo "== build $dir (-DBD_TSAN=ON)"
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBD_TESTS=ON -DBD_TSAN=ON >/dev/null
# shellcheck disable=SC2086
cmake --build "$dir" -j"$jobs" --target bedrockd bedrockctl bedrock-emulator $units

# tests/tsan.supp says why each of its reports is not a race in bedrockd.
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:history_size=4:suppressions=$top/tests/tsan.supp"
echo "== test $dir (ThreadSanitizer)"
for t in $units; do
    bin=$(find "$dir/tests/unit" -name "$t" -type f -perm -u+x | head -n1)
    echo "-- $t"
    "$bin" --gtest_brief=1
done
ctest --test-dir "$dir" --output-on-failure --timeout 300 -j"$jobs" -R "^($suites)\$"
