/*
 * The task role's Bedrock statements: inference only on the models the stage
 * lists (their foundation-model ARNs and, for cross-region ids, the inference
 * profile), the catalog's List calls (which take no resource) on "*".
 */
import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';

/* Cross-region inference profile ids start with a geography: us.anthropic... */
const PROFILE_PREFIX = /^(us|us-gov|eu|apac|jp|au|ca|global)\.(.+)$/;

export const INVOKE_ACTIONS = [
    /* Converse and ConverseStream are authorized by these two as well. */
    'bedrock:InvokeModel',
    'bedrock:InvokeModelWithResponseStream',
    'bedrock:CountTokens',
];
export const CATALOG_ACTIONS = ['bedrock:ListFoundationModels', 'bedrock:ListInferenceProfiles'];

/* The resources one model id needs. */
export function modelResources(stack: Stack, id: string): string[] {
    const p = stack.partition;
    if (id.startsWith('arn:')) {
        return [id]; /* an application inference profile or a provisioned model */
    }
    const m = PROFILE_PREFIX.exec(id);
    if (m === null) {
        return [`arn:${p}:bedrock:${stack.region}::foundation-model/${id}`];
    }
    /* A profile routes to the model in any region of its geography (global: any
     * region at all), so the foundation model is allowed in every region. */
    const res = [`arn:${p}:bedrock:${stack.region}:${stack.account}:inference-profile/${id}`,
                 `arn:${p}:bedrock:*::foundation-model/${m[2]}`];
    if (m[1] === 'global') {
        res.push(`arn:${p}:bedrock:::foundation-model/${m[2]}`);
    }
    return res;
}

export function bedrockStatements(stack: Stack, modelIds: string[]): iam.PolicyStatement[] {
    const resources = [...new Set(modelIds.flatMap((id) => modelResources(stack, id)))];
    return [
        new iam.PolicyStatement({ sid: 'InvokeListedModels', actions: INVOKE_ACTIONS, resources }),
        new iam.PolicyStatement({ sid: 'ReadCatalog', actions: CATALOG_ACTIONS, resources: ['*'] }),
    ];
}
