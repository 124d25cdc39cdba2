/*
 * ops.test.mjs: what an operator behind a load balancer relies on, against the real
 * bedrockd and the real bedrock-emulator: /ready turns 503 when Bedrock keeps
 * refusing the gateway's AWS identity (and back when a call is accepted; throttling
 * never turns it), a listening address taken by another process fails the start,
 * trusted_proxies decides when X-Forwarded-For names the client, metrics_listen
 * serves /metrics on a port of its own, and `-t` checks the store and TLS files.
 *
 * Run from tests/:
 *   BD_BEDROCKD=.../bedrockd BD_EMULATOR=.../bedrock-emulator \
 *       node --test integration/ops.test.mjs
 * Node built-ins only.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, test } from 'node:test';

import {
    freePort,
    httpRequest,
    makeTempDir,
    runBedrockd,
    startBedrockd,
    startEmulator,
    waitUntil,
} from './lib/harness.mjs';

const CLAUDE_ID = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const MASTER_KEY = 'ops-test-master-key-0123456789abcdef';

function conf(emulatorUrl, { workers = 1, extra = '', secret } = {}) {
    return `worker_threads ${workers};
listen 127.0.0.1:0;
error_log stderr info;
access_log stdout;
store off;
master_key ${MASTER_KEY};
${extra}
bedrock {
    region us-east-1;
    endpoint ${emulatorUrl};
    credentials static;
    access_key_id AKIDEXAMPLE;
    secret_access_key ${secret ?? 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'};
    retries 0;
    catalog off;
}

model claude-test {
    id ${CLAUDE_ID};
    route invoke;
}
`;
}

function messages(base, text, headers = {}) {
    return httpRequest(`${base}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': MASTER_KEY, ...headers },
        body: JSON.stringify({
            model: 'claude-test',
            max_tokens: 64,
            messages: [{ role: 'user', content: text }],
        }),
    });
}

describe('readiness follows what Bedrock says of the gateway\'s identity', () => {
    for (const scenario of ['unrecognized_client', 'invalid_signature', 'expired_token',
                            'access_denied']) {
        test(`${scenario} on every call: /ready 503 with the reason, back after a success`,
             async (t) => {
            const emu = await startEmulator({ t });
            const d = await startBedrockd({ t, conf: conf(emu.url) });
            assert.equal((await httpRequest(`${d.url}/ready`)).status, 200);
            for (let i = 0; i < 3; i++) {
                const r = await messages(d.url, `[[emu:${scenario}]] hello`);
                assert.ok(r.status >= 400, r.body);
            }
            const down = await httpRequest(`${d.url}/ready`);
            assert.equal(down.status, 503, down.body);
            assert.equal(down.json.status, 'not_ready');
            assert.match(down.json.reason, /refuses the gateway's AWS credentials/);
            assert.match(down.json.reason, /Exception/);
            /* /health stays 200: the process is alive, it just cannot serve. */
            assert.equal((await httpRequest(`${d.url}/health`)).status, 200);

            const ok = await messages(d.url, 'hello again');
            assert.equal(ok.status, 200, ok.body);
            const up = await httpRequest(`${d.url}/ready`);
            assert.equal(up.status, 200, up.body);
            assert.equal(await d.stop(), 0);
        });
    }

    test('a wrong secret (the emulator checks signatures): /ready 503', async (t) => {
        const emu = await startEmulator({ t });
        const d = await startBedrockd({ t, conf: conf(emu.url, { secret: 'not-the-secret' }) });
        for (let i = 0; i < 3; i++) {
            const r = await messages(d.url, 'hello');
            assert.ok(r.status >= 400, r.body);
        }
        const down = await httpRequest(`${d.url}/ready`);
        assert.equal(down.status, 503, down.body);
        assert.match(down.json.reason, /InvalidSignatureException/);
        assert.equal(await d.stop(), 0);
    });

    test('two refusals, or a throttling storm, leave /ready at 200', async (t) => {
        const emu = await startEmulator({ t });
        const d = await startBedrockd({ t, conf: conf(emu.url) });
        for (let i = 0; i < 2; i++) {
            assert.ok((await messages(d.url, '[[emu:unrecognized_client]] hi')).status >= 400);
        }
        assert.equal((await httpRequest(`${d.url}/ready`)).status, 200);
        for (let i = 0; i < 6; i++) {
            const r = await messages(d.url, '[[emu:throttle]] hi');
            assert.equal(r.status, 429, r.body);
        }
        /* A throttled call was authenticated: the two refusals before no longer count. */
        assert.ok((await messages(d.url, '[[emu:unrecognized_client]] hi')).status >= 400);
        const ready = await httpRequest(`${d.url}/ready`);
        assert.equal(ready.status, 200, ready.body);
        assert.equal(await d.stop(), 0);
    });
});
