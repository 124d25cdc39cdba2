/*
 * Builds the stack from the app's context: -c stage=dev|prod, -c region=...,
 * -c account=..., -c arch=x86_64|arm64, -c natGateways=N (default 0: VPC
 * endpoints only), -c modelIds=id,id (beyond conf/models.conf),
 * -c cloudFrontOriginDomain=api.example.com, -c alarmEmail=ops@example.com.
 * cdk-nag's AwsSolutions pack checks it; every suppression carries its reason.
 */
import * as path from 'node:path';

import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';

import { GatewayStack } from './gateway-stack';
import { suppressAccepted } from './nag';
import { Arch, STAGES, modelMapIds } from './stages';
import { loadTimeouts } from './timeouts';

export const REPO_ROOT = path.resolve(__dirname, '../../../..');

function context(app: App, key: string): string | undefined {
    const v = app.node.tryGetContext(key);
    return v === undefined || v === null || v === '' ? undefined : String(v);
}

export function buildGateway(app: App): GatewayStack {
    const stageName = context(app, 'stage') ?? 'dev';
    const stage = STAGES[stageName];
    if (stage === undefined) {
        throw new Error(`unknown stage "${stageName}" (-c stage=${Object.keys(STAGES).join('|')})`);
    }
    const arch = (context(app, 'arch') ?? 'x86_64') as Arch;
    if (arch !== 'x86_64' && arch !== 'arm64') {
        throw new Error(`unknown arch "${arch}" (-c arch=x86_64|arm64)`);
    }
    const account = context(app, 'account') ?? process.env.CDK_DEFAULT_ACCOUNT;
    const region = context(app, 'region') ?? process.env.CDK_DEFAULT_REGION;
    if (region === undefined) {
        throw new Error('no region: give -c region=REGION (or set CDK_DEFAULT_REGION / an AWS profile)');
    }
    const extra = (context(app, 'modelIds') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    const modelIds = [...new Set([...modelMapIds(), ...extra])];
    const stack = new GatewayStack(app, `bedrockd-${stage.name}`, {
        env: { account, region },
        description: `bedrock-gateway (bedrockd) ${stage.name}: ALB, ECS Fargate, DynamoDB`,
        stage,
        timeouts: loadTimeouts(),
        arch,
        modelIds,
        repoRoot: REPO_ROOT,
        natGateways: Number(context(app, 'natGateways') ?? '0'),
        cloudFrontOriginDomain: context(app, 'cloudFrontOriginDomain'),
        alarmEmail: context(app, 'alarmEmail'),
    });
    suppressAccepted(stack, modelIds, context(app, 'cloudFrontOriginDomain') !== undefined);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
    return stack;
}
