/*
 * The whole bedrockd stack: VPC (2 AZs, VPC endpoints instead of NAT unless
 * asked), ALB (HTTPS, HTTP redirect, WAF), ECS Fargate service (2-10 tasks,
 * autoscaled on CPU and on requests per target), the DynamoDB tables, the
 * master key in Secrets Manager, logs, alarms, and optionally CloudFront.
 */
import { CfnOutput, CfnParameter, Duration, RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import { IgnoreMode } from 'aws-cdk-lib';
import { Construct } from 'constructs';

import { bedrockStatements } from './bedrock-access';
import { Arch, StageConfig } from './stages';
import { GatewayTables } from './tables';
import { Timeouts, bedrockdTimeoutEnv } from './timeouts';
import { GatewayWaf } from './waf';

export const API_PORT = 8080;
export const METRICS_PORT = 9090;
export const CONTAINER_NAME = 'bedrockd';
/* A fixed CIDR, so that security group rules and bedrockd's trusted proxies and
 * metrics_allow are plain strings (and checkable before deployment). */
export const VPC_CIDR = '10.40.0.0/16';
/* The container's liveness probe: the image's HEALTHCHECK, which ECS ignores. */
export const HEALTH_COMMAND = ['CMD', '/usr/bin/curl', '-fsS', '-o', '/dev/null',
                               `http://127.0.0.1:${API_PORT}/health`];
/* The image's build context: only what deploy/Dockerfile copies. */
const IMAGE_CONTEXT = ['*', '!CMakeLists.txt', '!core', '!modules', '!conf', '!deploy',
                       'deploy/cdk', '**/node_modules'];

export interface GatewayStackProps extends StackProps {
    stage: StageConfig;
    timeouts: Timeouts;
    arch: Arch;
    modelIds: string[];
    repoRoot: string;
    natGateways: number;
    /* A DNS name the ALB's certificate covers, pointed at the ALB: turns CloudFront on. */
    cloudFrontOriginDomain?: string;
    alarmEmail?: string;
}

export class GatewayStack extends Stack {
    constructor(scope: Construct, id: string, props: GatewayStackProps) {
        super(scope, id, props);
        const { stage, timeouts: t } = props;
        const retain = stage.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
        const tablePrefix = `bedrockd-${stage.name}-`;

        const certificateArn = new CfnParameter(this, 'CertificateArn', {
            type: 'String',
            description: 'ACM certificate (same region) for the ALB HTTPS listener',
            allowedPattern: '^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/.+$',
        });

        /* ---- network ---- */
        const private_ = props.natGateways > 0 ? ec2.SubnetType.PRIVATE_WITH_EGRESS
                                               : ec2.SubnetType.PRIVATE_ISOLATED;
        const flowLogs = new logs.LogGroup(this, 'VpcFlowLogs', {
            retention: stage.logRetentionDays, removalPolicy: retain,
        });
        const vpc = new ec2.Vpc(this, 'Vpc', {
            ipAddresses: ec2.IpAddresses.cidr(VPC_CIDR),
            maxAzs: 2,
            natGateways: props.natGateways,
            subnetConfiguration: [
                { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
                { name: 'private', subnetType: private_, cidrMask: 22 },
            ],
            gatewayEndpoints: {
                DynamoDb: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB },
                S3: { service: ec2.GatewayVpcEndpointAwsService.S3 }, /* ECR image layers */
            },
            flowLogs: {
                rejected: {
                    destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs),
                    trafficType: ec2.FlowLogTrafficType.REJECT,
                },
            },
        });
        if (props.natGateways === 0) {
            /* Everything the task talks to, without a way out to the internet. */
            const endpoints: [string, ec2.InterfaceVpcEndpointAwsService][] = [
                ['BedrockRuntime', ec2.InterfaceVpcEndpointAwsService.BEDROCK_RUNTIME],
                ['Bedrock', ec2.InterfaceVpcEndpointAwsService.BEDROCK],
                ['SecretsManager', ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER],
                ['Logs', ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS],
                ['EcrApi', ec2.InterfaceVpcEndpointAwsService.ECR],
                ['EcrDocker', ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER],
            ];
            for (const [name, service] of endpoints) {
                vpc.addInterfaceEndpoint(name, { service, subnets: { subnetType: private_ } });
            }
        }

        /* ---- data ---- */
        const tables = new GatewayTables(this, 'Tables', tablePrefix, stage.retainData);
        const masterKey = new secretsmanager.Secret(this, 'MasterKey', {
            description: `bedrockd ${stage.name} master key (BEDROCKD_MASTER_KEY)`,
            generateSecretString: { passwordLength: 48, excludePunctuation: true, includeSpace: false },
            removalPolicy: retain,
        });
        const logGroup = new logs.LogGroup(this, 'Logs', {
            logGroupName: `/bedrockd/${stage.name}`,
            retention: stage.logRetentionDays,
            removalPolicy: retain,
        });

        /* ---- the service ---- */
        const cluster = new ecs.Cluster(this, 'Cluster', {
            vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED,
        });
        const task = new ecs.FargateTaskDefinition(this, 'Task', {
            cpu: stage.cpu,
            memoryLimitMiB: stage.memoryMiB,
            runtimePlatform: {
                cpuArchitecture: props.arch === 'arm64' ? ecs.CpuArchitecture.ARM64
                                                        : ecs.CpuArchitecture.X86_64,
                operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
            },
        });
        for (const s of bedrockStatements(this, props.modelIds)) {
            task.addToTaskRolePolicy(s);
        }
        task.addToTaskRolePolicy(tables.statement());

        task.addContainer(CONTAINER_NAME, {
            image: ecs.ContainerImage.fromAsset(props.repoRoot, {
                file: 'deploy/Dockerfile',
                platform: props.arch === 'arm64' ? Platform.LINUX_ARM64 : Platform.LINUX_AMD64,
                ignoreMode: IgnoreMode.DOCKER,
                exclude: IMAGE_CONTEXT,
            }),
            user: '10001:10001',
            logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'bedrockd', logGroup }),
            environment: {
                AWS_REGION: this.region,
                BEDROCKD_WORKER_THREADS: String(Math.max(1, Math.ceil(stage.cpu / 1024))),
                ...bedrockdTimeoutEnv(t),
                BEDROCKD_DYNAMODB: 'on',
                BEDROCKD_DYNAMODB_TABLE_PREFIX: tablePrefix,
                BEDROCKD_METRICS_LISTEN: `0.0.0.0:${METRICS_PORT}`,
                BEDROCKD_METRICS_ALLOW: VPC_CIDR,
                BEDROCKD_TRUSTED_PROXIES: VPC_CIDR,
            },
            secrets: { BEDROCKD_MASTER_KEY: ecs.Secret.fromSecretsManager(masterKey) },
            stopTimeout: Duration.seconds(t.stopTimeoutSeconds),
            healthCheck: {
                command: HEALTH_COMMAND,
                interval: Duration.seconds(15),
                timeout: Duration.seconds(3),
                retries: 3,
                startPeriod: Duration.seconds(10),
            },
            portMappings: [
                { containerPort: API_PORT, name: 'api' },
                { containerPort: METRICS_PORT, name: 'metrics' },
            ],
            ulimits: [{ name: ecs.UlimitName.NOFILE, softLimit: 65535, hardLimit: 65535 }],
        });

        const taskSg = new ec2.SecurityGroup(this, 'TaskSg', {
            vpc, description: 'bedrockd tasks: API from the ALB, metrics from inside the VPC',
        });
        taskSg.addIngressRule(ec2.Peer.ipv4(VPC_CIDR), ec2.Port.tcp(METRICS_PORT),
                              'Prometheus scrape from inside the VPC');
        const service = new ecs.FargateService(this, 'Service', {
            cluster,
            taskDefinition: task,
            desiredCount: stage.minTasks,
            minHealthyPercent: 100,
            maxHealthyPercent: 200,
            circuitBreaker: { rollback: true },
            vpcSubnets: { subnetType: private_ },
            securityGroups: [taskSg],
            assignPublicIp: false,
            healthCheckGracePeriod: Duration.seconds(30),
        });

        /* ---- the load balancer ---- */
        const albSg = new ec2.SecurityGroup(this, 'AlbSg', {
            vpc, allowAllOutbound: false, description: 'bedrockd ALB: HTTPS and the HTTP redirect',
        });
        albSg.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS');
        albSg.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(80), 'HTTP, redirected to HTTPS');
        const alb = new elbv2.ApplicationLoadBalancer(this, 'Alb', {
            vpc,
            internetFacing: true,
            securityGroup: albSg,
            vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
            idleTimeout: Duration.seconds(t.albIdleTimeoutSeconds),
            dropInvalidHeaderFields: true,
        });
        const albLogs = new s3.Bucket(this, 'AlbLogs', {
            encryption: s3.BucketEncryption.S3_MANAGED,
            enforceSSL: true,
            blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
            lifecycleRules: [{ expiration: Duration.days(stage.logRetentionDays) }],
            removalPolicy: RemovalPolicy.RETAIN,
        });
        alb.logAccessLogs(albLogs);

        const https = alb.addListener('Https', {
            port: 443,
            protocol: elbv2.ApplicationProtocol.HTTPS,
            certificates: [elbv2.ListenerCertificate.fromArn(certificateArn.valueAsString)],
            sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
            open: false,
        });
        const targets = https.addTargets('Api', {
            port: API_PORT,
            protocol: elbv2.ApplicationProtocol.HTTP,
            targets: [service.loadBalancerTarget({ containerName: CONTAINER_NAME,
                                                   containerPort: API_PORT })],
            deregistrationDelay: Duration.seconds(t.deregistrationDelaySeconds),
            healthCheck: {
                path: '/ready',
                healthyHttpCodes: '200',
                interval: Duration.seconds(10),
                timeout: Duration.seconds(5),
                healthyThresholdCount: 2,
                unhealthyThresholdCount: 2,
            },
        });
        /* /metrics is served on its own port, which no target group uses; this
         * rule keeps the path closed at the ALB even if a conf served it on the API port. */
        https.addAction('NoMetrics', {
            priority: 10,
            conditions: [elbv2.ListenerCondition.pathPatterns(['/metrics', '/metrics/*'])],
            action: elbv2.ListenerAction.fixedResponse(404, {
                contentType: 'application/json',
                messageBody: '{"error":{"type":"not_found_error","message":"Not found"}}',
            }),
        });
        alb.addListener('Http', {
            port: 80,
            open: false,
            defaultAction: elbv2.ListenerAction.redirect({ protocol: 'HTTPS', port: '443',
                                                           permanent: true }),
        });

        const scaling = service.autoScaleTaskCount({ minCapacity: stage.minTasks,
                                                     maxCapacity: stage.maxTasks });
        scaling.scaleOnCpuUtilization('Cpu', { targetUtilizationPercent: stage.cpuTargetPercent });
        scaling.scaleOnRequestCount('Requests', {
            requestsPerTarget: stage.requestsPerTargetPerMinute, targetGroup: targets,
        });

        new GatewayWaf(this, 'Waf', {
            resourceArn: alb.loadBalancerArn,
            ratePer5Min: stage.wafRateLimitPer5Min,
            behindCloudFront: props.cloudFrontOriginDomain !== undefined,
        });

        /* ---- alarms ---- */
        const topic = new sns.Topic(this, 'Alarms', {
            enforceSSL: true,
            masterKey: kms.Alias.fromAliasName(this, 'SnsKey', 'alias/aws/sns'),
        });
        if (props.alarmEmail) {
            new sns.Subscription(this, 'AlarmEmail', {
                topic, protocol: sns.SubscriptionProtocol.EMAIL, endpoint: props.alarmEmail,
            });
        }
        const throttles = new logs.MetricFilter(this, 'BedrockThrottles', {
            logGroup,
            /* Bedrock's throttles reach the client as 429 with Bedrock's request id;
             * the gateway's own limits answer 429 without one. */
            filterPattern: logs.FilterPattern.all(
                logs.FilterPattern.numberValue('$.status', '=', 429),
                logs.FilterPattern.stringValue('$.upstream_request_id', '=', '*')),
            metricNamespace: `bedrockd/${stage.name}`,
            metricName: 'BedrockThrottles',
            metricValue: '1',
            defaultValue: 0,
        });
        const fiveMin = Duration.minutes(5);
        const alarms: [string, cloudwatch.IMetric, number, number, string][] = [
            ['Target5xx', alb.metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT,
                                                     { period: fiveMin, statistic: 'Sum' }),
             10, 1, 'bedrockd answered 5xx'],
            ['Alb5xx', alb.metrics.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT,
                                               { period: fiveMin, statistic: 'Sum' }),
             10, 1, 'the ALB answered 5xx (no healthy target, target timeouts or resets)'],
            ['UnhealthyHosts', targets.metrics.unhealthyHostCount({ period: Duration.minutes(1),
                                                                    statistic: 'Maximum' }),
             1, 3, 'a task fails /ready'],
            ['Latency', targets.metrics.targetResponseTime({ period: fiveMin, statistic: 'p90' }),
             stage.latencyAlarmSeconds, 3, 'p90 time to response headers (time to first token)'],
            ['BedrockThrottling', throttles.metric({ period: fiveMin, statistic: 'Sum' }),
             5, 1, 'Bedrock throttled requests (after bedrockd\'s retries)'],
        ];
        for (const [name, metric, threshold, periods, what] of alarms) {
            const alarm = new cloudwatch.Alarm(this, name, {
                metric, threshold, evaluationPeriods: periods,
                comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
                alarmDescription: `bedrockd ${stage.name}: ${what}`,
            });
            alarm.addAlarmAction(new cwActions.SnsAction(topic));
        }

        /* ---- optional CloudFront ---- */
        if (props.cloudFrontOriginDomain !== undefined) {
            const cdn = new cloudfront.Distribution(this, 'Cdn', {
                comment: `bedrockd ${stage.name}`,
                minimumProtocolVersion: cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
                defaultBehavior: {
                    /* CloudFront waits at most readTimeout (60s unless a quota increase)
                     * for each byte from the origin: SSE pings keep streams alive,
                     * a non-streaming answer slower than that gets a 504. */
                    origin: new origins.HttpOrigin(props.cloudFrontOriginDomain, {
                        protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
                        originSslProtocols: [cloudfront.OriginSslPolicy.TLS_V1_2],
                        readTimeout: Duration.seconds(60),
                        keepaliveTimeout: Duration.seconds(60),
                    }),
                    viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                    allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
                    cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
                    originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER,
                },
            });
            new CfnOutput(this, 'CloudFrontDomain', { value: cdn.distributionDomainName });
        }

        new CfnOutput(this, 'AlbDnsName', { value: alb.loadBalancerDnsName });
        new CfnOutput(this, 'MasterKeySecretArn', { value: masterKey.secretArn });
        new CfnOutput(this, 'TablePrefix', { value: tablePrefix });
        new CfnOutput(this, 'LogGroupName', { value: logGroup.logGroupName });
        new CfnOutput(this, 'ClusterName', { value: cluster.clusterName });
        new CfnOutput(this, 'ServiceName', { value: service.serviceName });
        new CfnOutput(this, 'AlarmTopicArn', { value: topic.topicArn });
    }
}
