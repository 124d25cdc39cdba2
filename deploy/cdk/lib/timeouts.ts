/*
 * The timeouts along a request's way and a task's stop, from deploy/timeouts.json:
 * the one file the ALB, the target group, the task definition and (through the
 * BEDROCKD_* variables the stack sets) bedrockd's container.conf all take them from.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface Timeouts {
    albIdleTimeoutSeconds: number;
    keepaliveTimeoutSeconds: number;
    deregistrationDelaySeconds: number;
    shutdownDelaySeconds: number;
    shutdownTimeoutSeconds: number;
    stopTimeoutSeconds: number;
}

export const TIMEOUTS_FILE = path.resolve(__dirname, '../../../timeouts.json');
/* Fargate's largest stopTimeout. */
export const FARGATE_MAX_STOP_TIMEOUT = 120;
/* Time kept between the end of bedrockd's drain and SIGKILL. */
export const STOP_MARGIN_SECONDS = 5;

/* The rules the numbers must follow; an empty list when they do. */
export function timeoutProblems(t: Timeouts, ssePingIntervalSeconds: number): string[] {
    const p: string[] = [];
    if (!(t.albIdleTimeoutSeconds > ssePingIntervalSeconds)) {
        p.push(`the ALB idle timeout (${t.albIdleTimeoutSeconds}s) must exceed sse_ping_interval ` +
               `(${ssePingIntervalSeconds}s), or silent streams are cut`);
    }
    if (!(t.keepaliveTimeoutSeconds > t.albIdleTimeoutSeconds)) {
        p.push(`keepalive_timeout (${t.keepaliveTimeoutSeconds}s) must exceed the ALB idle timeout ` +
               `(${t.albIdleTimeoutSeconds}s), or the ALB reuses connections bedrockd closes (502s)`);
    }
    if (!(t.shutdownTimeoutSeconds >= t.deregistrationDelaySeconds)) {
        p.push(`shutdown_timeout (${t.shutdownTimeoutSeconds}s) must be at least the ` +
               `deregistration delay (${t.deregistrationDelaySeconds}s)`);
    }
    const drain = t.shutdownDelaySeconds + t.shutdownTimeoutSeconds + STOP_MARGIN_SECONDS;
    if (!(t.stopTimeoutSeconds >= drain)) {
        p.push(`stopTimeout (${t.stopTimeoutSeconds}s) must be at least shutdown_delay + ` +
               `shutdown_timeout + ${STOP_MARGIN_SECONDS}s (${drain}s), or SIGKILL cuts the drain`);
    }
    if (t.stopTimeoutSeconds > FARGATE_MAX_STOP_TIMEOUT) {
        p.push(`stopTimeout (${t.stopTimeoutSeconds}s) is above Fargate's ${FARGATE_MAX_STOP_TIMEOUT}s`);
    }
    return p;
}

/* bedrockd's sse_ping_interval default (conf/bedrockd.conf); the container conf keeps it. */
export const SSE_PING_INTERVAL_SECONDS = 10;

export function loadTimeouts(file = TIMEOUTS_FILE): Timeouts {
    const t = JSON.parse(fs.readFileSync(file, 'utf8')) as Timeouts;
    const problems = timeoutProblems(t, SSE_PING_INTERVAL_SECONDS);
    if (problems.length > 0) {
        throw new Error(`${file}:\n  ${problems.join('\n  ')}`);
    }
    return t;
}

/* The container environment that hands the numbers to bedrockd's container.conf. */
export function bedrockdTimeoutEnv(t: Timeouts): Record<string, string> {
    return {
        BEDROCKD_KEEPALIVE_TIMEOUT: `${t.keepaliveTimeoutSeconds}s`,
        BEDROCKD_SHUTDOWN_DELAY: `${t.shutdownDelaySeconds}s`,
        BEDROCKD_SHUTDOWN_TIMEOUT: `${t.shutdownTimeoutSeconds}s`,
    };
}
