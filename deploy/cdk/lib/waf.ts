/*
 * The regional web ACL on the ALB: a rate limit per client address, AWS's
 * common rule set and known-bad-inputs set. The common set's body rules count
 * instead of block: prompts routinely hold code, HTML and paths (which
 * CrossSiteScripting_BODY, GenericLFI_BODY... match) and are larger than the
 * 8 KB SizeRestrictions_BODY allows; bedrockd checks bodies itself
 * (client_max_body_size, JSON parsing).
 */
import { aws_wafv2 as wafv2 } from 'aws-cdk-lib';
import { Construct } from 'constructs';

export const COUNTED_BODY_RULES = [
    'SizeRestrictions_BODY', 'CrossSiteScripting_BODY', 'GenericLFI_BODY', 'GenericRFI_BODY',
    'EC2MetaDataSSRF_BODY',
];

export interface GatewayWafProps {
    resourceArn: string;
    ratePer5Min: number;
    /* Behind CloudFront the peer is an edge: limit on X-Forwarded-For instead. */
    behindCloudFront: boolean;
}

function visibility(name: string): wafv2.CfnWebACL.VisibilityConfigProperty {
    return { cloudWatchMetricsEnabled: true, sampledRequestsEnabled: true, metricName: name };
}

function managed(name: string, priority: number, counted: string[] = []): wafv2.CfnWebACL.RuleProperty {
    return {
        name, priority,
        overrideAction: { none: {} },
        statement: {
            managedRuleGroupStatement: {
                vendorName: 'AWS', name,
                ruleActionOverrides: counted.length === 0 ? undefined
                    : counted.map((rule) => ({ name: rule, actionToUse: { count: {} } })),
            },
        },
        visibilityConfig: visibility(name),
    };
}

export class GatewayWaf extends Construct {
    readonly acl: wafv2.CfnWebACL;

    constructor(scope: Construct, id: string, props: GatewayWafProps) {
        super(scope, id);
        const rate: wafv2.CfnWebACL.RateBasedStatementProperty = props.behindCloudFront
            ? { limit: props.ratePer5Min, aggregateKeyType: 'FORWARDED_IP',
                forwardedIpConfig: { headerName: 'X-Forwarded-For', fallbackBehavior: 'MATCH' } }
            : { limit: props.ratePer5Min, aggregateKeyType: 'IP' };
        this.acl = new wafv2.CfnWebACL(this, 'Acl', {
            scope: 'REGIONAL',
            defaultAction: { allow: {} },
            visibilityConfig: visibility('bedrockd'),
            rules: [
                { name: 'RatePerClient', priority: 0, action: { block: {} },
                  statement: { rateBasedStatement: rate }, visibilityConfig: visibility('RatePerClient') },
                managed('AWSManagedRulesCommonRuleSet', 1, COUNTED_BODY_RULES),
                managed('AWSManagedRulesKnownBadInputsRuleSet', 2),
            ],
        });
        new wafv2.CfnWebACLAssociation(this, 'Alb', {
            resourceArn: props.resourceArn, webAclArn: this.acl.attrArn,
        });
    }
}
