#!/usr/bin/env bash
# The CDK app's tests, offline: compile, `cdk synth` of each stage with the real
# CLI (cdk-nag findings fail it), then the template assertions (node:test).
# CTest runs it (test deploy_cdk); by hand: deploy/cdk/test.sh after `npm ci`.
# BD_BEDROCKD points the conf check at a bedrockd binary (default build/bedrockd).
set -euo pipefail
cd "$(dirname "$0")"
[ -d node_modules/aws-cdk-lib ] || { echo "deploy/cdk: run npm ci here (deploy/deps.sh test does)" >&2; exit 1; }
export CDK_DISABLE_VERSION_CHECK=1 CDK_DISABLE_CLI_TELEMETRY=true
npx tsc -p .
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for stage in dev prod; do
    echo "== cdk synth -c stage=$stage"
    # No account: the VPC takes its AZs from Fn::GetAZs, so nothing is looked up.
    npx cdk synth -q --no-notices -c stage=$stage -c region=us-east-1 -o "$out/$stage" >"$out/$stage.log" 2>&1 ||
        { cat "$out/$stage.log" >&2; exit 1; }
    test -s "$out/$stage/bedrockd-$stage.template.json"
done
node --test dist/test/
