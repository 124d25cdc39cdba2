/*
 * What differs between stages (-c stage=dev|prod), and the models the task may
 * call: every `id` of conf/models.conf (the map the image ships), plus any given
 * with -c modelIds=a,b.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export type Arch = 'x86_64' | 'arm64';

export interface StageConfig {
    name: string;
    cpu: number;               /* task vCPU units (1024 = 1 vCPU) */
    memoryMiB: number;
    minTasks: number;
    maxTasks: number;
    cpuTargetPercent: number;
    requestsPerTargetPerMinute: number;
    logRetentionDays: number;
    retainData: boolean;       /* tables, secret and logs survive `cdk destroy` */
    wafRateLimitPer5Min: number;
    latencyAlarmSeconds: number; /* p90 time to response headers (time to first token) */
}

export const STAGES: Record<string, StageConfig> = {
    dev: {
        name: 'dev', cpu: 512, memoryMiB: 1024, minTasks: 2, maxTasks: 4,
        cpuTargetPercent: 60, requestsPerTargetPerMinute: 600, logRetentionDays: 7,
        retainData: false, wafRateLimitPer5Min: 2000, latencyAlarmSeconds: 20,
    },
    prod: {
        name: 'prod', cpu: 1024, memoryMiB: 2048, minTasks: 2, maxTasks: 10,
        cpuTargetPercent: 60, requestsPerTargetPerMinute: 1200, logRetentionDays: 90,
        retainData: true, wafRateLimitPer5Min: 10000, latencyAlarmSeconds: 20,
    },
};

export const MODELS_CONF = path.resolve(__dirname, '../../../../conf/models.conf');

/* The Bedrock ids (`id ...;` lines) of the model map. */
export function modelMapIds(file = MODELS_CONF): string[] {
    const ids = new Set<string>();
    for (const m of fs.readFileSync(file, 'utf8').matchAll(/^\s*id\s+([^;\s#]+)\s*;/gm)) {
        ids.add(m[1]);
    }
    return [...ids];
}
