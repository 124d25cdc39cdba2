/*
 * cdk-nag AwsSolutions findings this stack accepts, each with the reason.
 * Anything not acknowledged here fails `cdk synth` and the tests.
 */
import { Stack, Validations } from 'aws-cdk-lib';

const PROFILE_PREFIX = /^(us|us-gov|eu|apac|jp|au|ca|global)\.(.+)$/;

export const ACCEPTED: { id: string; reason: string }[] = [
    { id: 'AwsSolutions::AwsSolutions-EC23',
      reason: 'The ALB is the public API endpoint: 443 (and 80, which only redirects) are open ' +
              'to the internet by design; WAF filters what reaches it.' },
    { id: 'AwsSolutions::AwsSolutions-SMG4',
      reason: 'The master key is an operator credential read by bedrockd at start: rotate it by ' +
              'putting a new value in the secret and forcing a new deployment (deploy/README.md); ' +
              'a rotation Lambda would add nothing the two commands do not.' },
    { id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
      reason: 'bedrock:ListFoundationModels and bedrock:ListInferenceProfiles (the model catalog) ' +
              'and ecr:GetAuthorizationToken (execution role, added by CDK) support no ' +
              'resource-level permissions.' },
    { id: 'AwsSolutions::AwsSolutions-ECS2',
      reason: 'The environment holds only non-secret settings (timeouts, table prefix, CIDRs); ' +
              'the master key comes from Secrets Manager as a secret.' },
    { id: 'AwsSolutions::AwsSolutions-S1',
      reason: 'This bucket receives the ALB access logs; logging its own accesses to another ' +
              'bucket would only move the finding.' },
];

/* Only with -c cloudFrontOriginDomain (the optional CloudFront in front). */
export const CLOUDFRONT_ACCEPTED: { id: string; reason: string }[] = [
    { id: 'AwsSolutions::AwsSolutions-CFR1',
      reason: 'An API for the operator\'s own clients: who may call it is decided by API keys, not geography.' },
    { id: 'AwsSolutions::AwsSolutions-CFR2',
      reason: 'The WAF web ACL sits on the ALB (regional), which CloudFront forwards every request to.' },
    { id: 'AwsSolutions::AwsSolutions-CFR3',
      reason: 'Every request is logged by the ALB (access logs) and by bedrockd (JSON access log).' },
    { id: 'AwsSolutions::AwsSolutions-CFR4',
      reason: 'The distribution uses its default *.cloudfront.net certificate, whose minimum TLS ' +
              'version cannot be set; give it an alias and certificate for TLS 1.2+ (deploy/README.md).' },
];

/* A cross-region inference profile reaches its model in any region of its
 * geography, so the foundation-model ARN has "*" for the region. */
export function profileAcknowledgements(modelIds: string[]): { id: string; reason: string }[] {
    return modelIds.flatMap((id) => {
        const m = PROFILE_PREFIX.exec(id);
        if (m === null) {
            return [];
        }
        return [{
            id: `AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:bedrock:*::foundation-model/${m[2]}]`,
            reason: `${id} is a cross-region inference profile: Bedrock authorizes the call on the ` +
                    'foundation model in whichever region of the geography serves it.',
        }];
    });
}

export function suppressAccepted(stack: Stack, modelIds: string[], cloudFront: boolean): void {
    for (const a of [...ACCEPTED, ...profileAcknowledgements(modelIds),
                     ...(cloudFront ? CLOUDFRONT_ACCEPTED : [])]) {
        Validations.of(stack).acknowledge(a);
    }
}
