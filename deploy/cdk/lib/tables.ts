/*
 * The six DynamoDB tables of bedrockd's `dynamodb` block, named
 * <prefix><suffix> as the block expects (table_prefix), with the key schemas
 * the sync module reads and writes. On demand, point-in-time recovery,
 * encrypted with the AWS managed key, TTL where items expire.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

interface TableSpec {
    suffix: string;
    partitionKey: string;
    sortKey?: string;
    ttl?: string;
}

export const TABLE_SPECS: TableSpec[] = [
    { suffix: 'api-keys', partitionKey: 'key_id' },
    { suffix: 'usage', partitionKey: 'pk', sortKey: 'sk', ttl: 'expires_at' },
    { suffix: 'cache', partitionKey: 'cache_key', ttl: 'expires_at' },
    { suffix: 'model-mapping', partitionKey: 'model' },
    { suffix: 'limits', partitionKey: 'pk', ttl: 'expires_at' },
    { suffix: 'audit', partitionKey: 'pk', sortKey: 'sk' },
];

/* What the sync thread does: item reads and writes, no table management. */
export const TABLE_ACTIONS = [
    'dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:Scan',
    'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem',
    'dynamodb:ConditionCheckItem', 'dynamodb:DescribeTable',
];

export class GatewayTables extends Construct {
    readonly tables: dynamodb.Table[] = [];

    constructor(scope: Construct, id: string, prefix: string, retain: boolean) {
        super(scope, id);
        for (const spec of TABLE_SPECS) {
            this.tables.push(new dynamodb.Table(this, spec.suffix, {
                tableName: `${prefix}${spec.suffix}`,
                partitionKey: { name: spec.partitionKey, type: dynamodb.AttributeType.STRING },
                sortKey: spec.sortKey === undefined ? undefined
                    : { name: spec.sortKey, type: dynamodb.AttributeType.STRING },
                timeToLiveAttribute: spec.ttl,
                billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
                pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
                encryption: dynamodb.TableEncryption.AWS_MANAGED,
                deletionProtection: retain,
                removalPolicy: retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
            }));
        }
    }

    /* Item access to these tables and nothing else (no index, no other table). */
    statement(): iam.PolicyStatement {
        return new iam.PolicyStatement({
            sid: 'GatewayTables',
            actions: TABLE_ACTIONS,
            resources: this.tables.map((t) => t.tableArn),
        });
    }
}
