/*
 * The synthesized template of each stage: the resources and properties the
 * deployment relies on, the timeouts agreeing with deploy/timeouts.json and with
 * what bedrockd makes of them, least-privilege IAM, and cdk-nag with nothing
 * left unacknowledged (a finding makes synthesis throw).
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';

import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';

import { REPO_ROOT, buildGateway } from '../lib/app';
import { API_PORT, CONTAINER_NAME, HEALTH_COMMAND, METRICS_PORT } from '../lib/gateway-stack';
import { ACCEPTED } from '../lib/nag';
import { STAGES, modelMapIds } from '../lib/stages';
import { TABLE_ACTIONS, TABLE_SPECS } from '../lib/tables';
import { SSE_PING_INTERVAL_SECONDS, loadTimeouts, timeoutProblems } from '../lib/timeouts';

const timeouts = loadTimeouts();

function synth(context: Record<string, string>): Template {
    const app = new App({
        context: { region: 'us-east-1', 'aws:cdk:disable-asset-staging': true, ...context },
    });
    return Template.fromStack(buildGateway(app));
}

/* Each resource of <type>, as [logicalId, resource]. */
function resources(t: Template, type: string): [string, any][] {
    return Object.entries(t.findResources(type));
}

function containerDef(t: Template): any {
    const [[, task]] = resources(t, 'AWS::ECS::TaskDefinition');
    return task.Properties.ContainerDefinitions.find((c: any) => c.Name === CONTAINER_NAME);
}

function attr(list: { Key: string; Value: string }[], key: string): string | undefined {
    return list.find((a) => a.Key === key)?.Value;
}

function seconds(v: string): number {
    const m = /^(\d+)s$/.exec(v);
    assert.ok(m, `not a duration in seconds: ${v}`);
    return Number(m[1]);
}

const bedrockd = process.env.BD_BEDROCKD ?? path.join(REPO_ROOT, 'build', 'bedrockd');
const bedrockctl = path.join(path.dirname(bedrockd), 'bedrockctl');
/* dynalite (a real DynamoDB in memory) from the integration suites' packages. */
const dynalitePath = path.join(REPO_ROOT, 'tests', 'node_modules', 'dynalite');

/* A DynamoDB JSON call to dynalite, which checks the form of the signature only. */
async function dynamoCall(url: string, target: string, body: object): Promise<any> {
    const r = await fetch(url, {
        method: 'POST',
        headers: {
            'content-type': 'application/x-amz-json-1.0',
            'x-amz-target': `DynamoDB_20120810.${target}`,
            'x-amz-date': '20260101T000000Z',
            authorization: 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/dynamodb/aws4_request, '
                + 'SignedHeaders=host;x-amz-date, Signature=00',
        },
        body: JSON.stringify(body),
    });
    const reply = await r.json();
    assert.equal(r.status, 200, JSON.stringify(reply));
    return reply;
}

/* The key schema of each table `bedrockctl dynamodb create-tables` makes (bedrockd's
 * own table definitions), by table name. */
async function bedrockdKeySchemas(prefix: string): Promise<Record<string, any>> {
    const dynalite = createRequire(__filename)(dynalitePath);
    const server = dynalite({ createTableMs: 0 });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${server.address().port}`;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bd-cdk-tables-'));
    try {
        const conf = path.join(dir, 'ctl.conf');
        fs.writeFileSync(conf, `store ${dir}/s.db;\ndynamodb {\n    region us-east-1;\n`
            + `    endpoint ${url};\n    table_prefix ${prefix};\n}\n`);
        await new Promise<void>((resolve, reject) => {
            execFile(bedrockctl, ['-c', conf, 'dynamodb', 'create-tables'], {
                env: { PATH: process.env.PATH, AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
                       AWS_SECRET_ACCESS_KEY: 'secret-for-dynalite', HOME: dir },
                timeout: 60000,
            }, (err, _stdout, stderr) => (err ? reject(new Error(`${err.message}: ${stderr}`)) : resolve()));
        });
        const schemas: Record<string, any> = {};
        for (const name of (await dynamoCall(url, 'ListTables', {})).TableNames) {
            schemas[name] = (await dynamoCall(url, 'DescribeTable', { TableName: name })).Table.KeySchema;
        }
        return schemas;
    } finally {
        server.close();
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

for (const stageName of Object.keys(STAGES)) {
    describe(`stage ${stageName}`, () => {
        const stage = STAGES[stageName];
        const t = synth({ stage: stageName });
        const prefix = `bedrockd-${stageName}-`;

        test('the DynamoDB tables the dynamodb block expects: on demand, PITR, TTL, encrypted', () => {
            t.resourceCountIs('AWS::DynamoDB::Table', TABLE_SPECS.length);
            for (const spec of TABLE_SPECS) {
                const keys = [{ AttributeName: spec.partitionKey, KeyType: 'HASH' }];
                if (spec.sortKey) {
                    keys.push({ AttributeName: spec.sortKey, KeyType: 'RANGE' });
                }
                t.hasResource('AWS::DynamoDB::Table', {
                    Properties: {
                        TableName: `${prefix}${spec.suffix}`,
                        KeySchema: keys,
                        BillingMode: 'PAY_PER_REQUEST',
                        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
                        /* SSEEnabled alone: KMS with the AWS managed key (aws/dynamodb). */
                        SSESpecification: { SSEEnabled: true, SSEType: Match.absent() },
                        TimeToLiveSpecification: spec.ttl === undefined ? Match.absent()
                            : { AttributeName: spec.ttl, Enabled: true },
                    },
                    DeletionPolicy: stage.retainData ? 'Retain' : 'Delete',
                });
            }
        });

        test('the tables have the keys bedrockd reads and writes (bedrockctl create-tables in dynalite)',
             async (tc) => {
            if (!fs.existsSync(bedrockctl) || !fs.existsSync(dynalitePath)) {
                tc.skip(`needs ${bedrockctl} and ${dynalitePath}`);
                return;
            }
            const theirs = await bedrockdKeySchemas(prefix);
            const ours: Record<string, any> = {};
            for (const [, table] of resources(t, 'AWS::DynamoDB::Table')) {
                ours[table.Properties.TableName] = table.Properties.KeySchema;
            }
            assert.deepEqual(ours, theirs);
        });

        test('the three stop timeouts and the idle timeouts come from timeouts.json and agree', () => {
            assert.deepEqual(timeoutProblems(timeouts, SSE_PING_INTERVAL_SECONDS), []);
            const c = containerDef(t);
            assert.equal(c.StopTimeout, timeouts.stopTimeoutSeconds);
            const [[, tg]] = resources(t, 'AWS::ElasticLoadBalancingV2::TargetGroup');
            assert.equal(attr(tg.Properties.TargetGroupAttributes, 'deregistration_delay.timeout_seconds'),
                         String(timeouts.deregistrationDelaySeconds));
            const [[, alb]] = resources(t, 'AWS::ElasticLoadBalancingV2::LoadBalancer');
            assert.equal(attr(alb.Properties.LoadBalancerAttributes, 'idle_timeout.timeout_seconds'),
                         String(timeouts.albIdleTimeoutSeconds));
            const env = Object.fromEntries(c.Environment.map((e: any) => [e.Name, e.Value]));
            assert.equal(seconds(env.BEDROCKD_SHUTDOWN_TIMEOUT), timeouts.shutdownTimeoutSeconds);
            assert.ok(c.StopTimeout >= seconds(env.BEDROCKD_SHUTDOWN_TIMEOUT));
            assert.ok(seconds(env.BEDROCKD_SHUTDOWN_TIMEOUT) >= timeouts.deregistrationDelaySeconds);
        });

        test('bedrockd reads the same numbers from the container conf with the task environment', (tc) => {
            if (!fs.existsSync(bedrockd)) {
                tc.skip(`no bedrockd at ${bedrockd} (set BD_BEDROCKD)`);
                return;
            }
            /* The image's layout: bedrockd.conf beside models.conf. */
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bd-cdk-conf-'));
            fs.copyFileSync(path.join(REPO_ROOT, 'deploy/container.conf'), path.join(dir, 'bedrockd.conf'));
            fs.copyFileSync(path.join(REPO_ROOT, 'conf/models.conf'), path.join(dir, 'models.conf'));
            fs.cpSync(path.join(REPO_ROOT, 'deploy/container.d'), path.join(dir, 'container.d'),
                      { recursive: true });
            const env = Object.fromEntries(containerDef(t).Environment.map((e: any) => [e.Name, e.Value]));
            const r = spawnSync(bedrockd, ['-T', '-c', path.join(dir, 'bedrockd.conf')], {
                encoding: 'utf8',
                env: { PATH: process.env.PATH, ...env, BEDROCKD_MASTER_KEY: 'conf-check-master-key-0000' },
            });
            fs.rmSync(dir, { recursive: true, force: true });
            assert.equal(r.status, 0, r.stderr);
            const value = (name: string) => {
                const m = new RegExp(`^${name} (\\S+);$`, 'm').exec(r.stdout);
                assert.ok(m, `${name} missing from bedrockd -T`);
                return seconds(m[1]);
            };
            assert.deepEqual(timeoutProblems({
                ...timeouts,
                keepaliveTimeoutSeconds: value('keepalive_timeout'),
                shutdownDelaySeconds: value('shutdown_delay'),
                shutdownTimeoutSeconds: value('shutdown_timeout'),
            }, value('sse_ping_interval')), []);
            assert.equal(value('shutdown_timeout'), timeouts.shutdownTimeoutSeconds);
            assert.equal(value('keepalive_timeout'), timeouts.keepaliveTimeoutSeconds);
            assert.ok(!r.stdout.includes('conf-check-master-key'), 'bedrockd -T shows the master key');
        });

        test('ALB: HTTPS with the certificate parameter, HTTP redirect, /ready, no /metrics', () => {
            t.hasParameter('CertificateArn', { Type: 'String' });
            t.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
                Port: 443, Protocol: 'HTTPS', Certificates: [{ CertificateArn: { Ref: 'CertificateArn' } }],
            });
            t.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
                Port: 80, DefaultActions: [Match.objectLike({ Type: 'redirect',
                    RedirectConfig: Match.objectLike({ Protocol: 'HTTPS', StatusCode: 'HTTP_301' }) })],
            });
            const tgs = resources(t, 'AWS::ElasticLoadBalancingV2::TargetGroup');
            assert.equal(tgs.length, 1, 'one target group, on the API port only');
            assert.equal(tgs[0][1].Properties.Port, API_PORT);
            assert.equal(tgs[0][1].Properties.HealthCheckPath, '/ready');
            assert.equal(tgs[0][1].Properties.TargetType, 'ip');
            t.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
                Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/metrics', '/metrics/*'] } }],
                Actions: [Match.objectLike({ Type: 'fixed-response',
                                              FixedResponseConfig: Match.objectLike({ StatusCode: '404' }) })],
            });
            t.hasResourceProperties('AWS::ECS::Service', {
                LoadBalancers: [{ ContainerName: CONTAINER_NAME, ContainerPort: API_PORT,
                                  TargetGroupArn: Match.anyValue() }],
            });
        });

        test('Fargate service: autoscaling on CPU and requests per target, secret, health check', () => {
            t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
                MinCapacity: stage.minTasks, MaxCapacity: stage.maxTasks,
            });
            const metrics = resources(t, 'AWS::ApplicationAutoScaling::ScalingPolicy').map(([, p]) =>
                p.Properties.TargetTrackingScalingPolicyConfiguration.PredefinedMetricSpecification
                    .PredefinedMetricType).sort();
            assert.deepEqual(metrics, ['ALBRequestCountPerTarget', 'ECSServiceAverageCPUUtilization']);
            const c = containerDef(t);
            assert.deepEqual(c.Secrets.map((s: any) => s.Name), ['BEDROCKD_MASTER_KEY']);
            assert.deepEqual(c.HealthCheck.Command, HEALTH_COMMAND);
            assert.deepEqual(c.PortMappings.map((p: any) => p.ContainerPort), [API_PORT, METRICS_PORT]);
            assert.equal(c.User, '10001:10001');
            const env = Object.fromEntries(c.Environment.map((e: any) => [e.Name, e.Value]));
            assert.equal(env.BEDROCKD_DYNAMODB, 'on');
            assert.equal(env.BEDROCKD_DYNAMODB_TABLE_PREFIX, prefix);
            assert.equal(env.BEDROCKD_METRICS_LISTEN, `0.0.0.0:${METRICS_PORT}`);
            t.resourceCountIs('AWS::SecretsManager::Secret', 1);
            t.hasResourceProperties('AWS::Logs::LogGroup', {
                LogGroupName: `/bedrockd/${stageName}`, RetentionInDays: stage.logRetentionDays,
            });
        });

        test('VPC: two AZs, no NAT, endpoints for Bedrock, Secrets Manager, Logs, ECR, DynamoDB', () => {
            t.resourceCountIs('AWS::EC2::NatGateway', 0);
            const services = resources(t, 'AWS::EC2::VPCEndpoint').map(([, e]) =>
                JSON.stringify(e.Properties.ServiceName));
            for (const s of ['bedrock-runtime', '.bedrock"', 'secretsmanager', '.logs', 'ecr.api',
                             'ecr.dkr', 'dynamodb', '.s3']) {
                assert.ok(services.some((n) => n.includes(s)), `no VPC endpoint for ${s}`);
            }
            t.resourceCountIs('AWS::EC2::Subnet', 4);
        });

        test('IAM: Bedrock inference only on the listed models, DynamoDB only on the tables', () => {
            const statements = resources(t, 'AWS::IAM::Policy').flatMap(([, p]) =>
                p.Properties.PolicyDocument.Statement);
            const json = JSON.stringify(statements);
            assert.ok(!/"(bedrock|dynamodb):\*"/.test(json), 'a service-wide action');
            const invoke = statements.find((s: any) => s.Sid === 'InvokeListedModels');
            assert.deepEqual([...invoke.Action].sort(),
                             ['bedrock:CountTokens', 'bedrock:InvokeModel',
                              'bedrock:InvokeModelWithResponseStream']);
            const text = JSON.stringify(invoke.Resource);
            for (const id of modelMapIds()) {
                assert.ok(text.includes(id), `${id} is not allowed`);
            }
            assert.ok(!invoke.Resource.includes('*'), 'inference on every resource');
            const catalog = statements.find((s: any) => s.Sid === 'ReadCatalog');
            assert.deepEqual(catalog.Action, ['bedrock:ListFoundationModels', 'bedrock:ListInferenceProfiles']);
            const tables = statements.find((s: any) => s.Sid === 'GatewayTables');
            assert.deepEqual(tables.Action, TABLE_ACTIONS);
            assert.equal(tables.Resource.length, TABLE_SPECS.length);
            for (const r of tables.Resource) {
                assert.ok(r['Fn::GetAtt'] && r['Fn::GetAtt'][1] === 'Arn', 'a table ARN, nothing wider');
            }
            for (const s of statements) {
                if (String(s.Action).startsWith('dynamodb:')) {
                    assert.equal(s.Sid, 'GatewayTables');
                }
            }
        });

        test('WAF on the ALB: a rate limit and the AWS common rules', () => {
            t.hasResourceProperties('AWS::WAFv2::WebACL', {
                Scope: 'REGIONAL',
                Rules: Match.arrayWith([
                    Match.objectLike({ Statement: { RateBasedStatement: Match.objectLike({
                        Limit: stage.wafRateLimitPer5Min }) } }),
                    Match.objectLike({ Statement: { ManagedRuleGroupStatement: Match.objectLike({
                        Name: 'AWSManagedRulesCommonRuleSet' }) } }),
                ]),
            });
            t.resourceCountIs('AWS::WAFv2::WebACLAssociation', 1);
        });

        test('alarms on 5xx, unhealthy hosts, latency and Bedrock throttling', () => {
            const alarms = resources(t, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties.MetricName);
            assert.deepEqual(alarms.sort(), ['BedrockThrottles', 'HTTPCode_ELB_5XX_Count',
                                             'HTTPCode_Target_5XX_Count', 'TargetResponseTime',
                                             'UnHealthyHostCount']);
            t.hasResourceProperties('AWS::Logs::MetricFilter', {
                FilterPattern: Match.stringLikeRegexp('429.*upstream_request_id'),
            });
        });
    });
}

describe('options', () => {
    test('arm64 and CloudFront synthesize with every nag finding acknowledged', () => {
        const t = synth({ stage: 'prod', arch: 'arm64', cloudFrontOriginDomain: 'api.example.com' });
        t.hasResourceProperties('AWS::ECS::TaskDefinition', {
            RuntimePlatform: { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' },
        });
        t.hasResourceProperties('AWS::CloudFront::Distribution', {
            DistributionConfig: Match.objectLike({ DefaultCacheBehavior: Match.objectLike({
                AllowedMethods: Match.arrayWith(['POST']) }) }),
        });
    });

    test('every acknowledged finding says why', () => {
        for (const a of ACCEPTED) {
            assert.ok(a.reason.length > 40, `${a.id}: no reason`);
        }
    });

    test('an unacknowledged finding fails synthesis', () => {
        const app = new App({ context: { region: 'us-east-1', 'aws:cdk:disable-asset-staging': true } });
        const stack = buildGateway(app);
        /* An S3 bucket with none of the protections the pack wants. */
        new (require('aws-cdk-lib/aws-s3').Bucket)(stack, 'Unprotected');
        assert.throws(() => app.synth());
    });
});
