/*
 * reload.test.mjs: what a reload (SIGHUP) changes and what it cannot, against the real
 * bedrockd and the real bedrock-emulator: each worker's Bedrock client takes a new
 * max_connections and keeps serving; a change to a directive that only takes effect
 * at the next restart is logged by name (a secret without its value), on every
 * reload until the restart, while the running value keeps serving; a reload that
 * touches none of them says nothing of a restart.
 *
 * Run from tests/:
 *   BD_BEDROCKD=.../bedrockd BD_EMULATOR=.../bedrock-emulator \
 *       node --test integration/reload.test.mjs
 * Node built-ins only.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { freePort, httpRequest, startBedrockd, startEmulator } from './lib/harness.mjs';

const CLAUDE_ID = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const MASTER_KEY = 'reload-test-master-key-0123456789abcdef';
const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';

function conf(emulatorUrl, { workers = 2, maxConnections = 256, secret = SECRET, extra = '',
                             retries = 0 } = {}) {
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
    secret_access_key ${secret};
    retries ${retries};
    max_connections ${maxConnections};
    catalog off;
}

model claude-test {
    id ${CLAUDE_ID};
    route invoke;
}
`;
}

function messages(base) {
    return httpRequest(`${base}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': MASTER_KEY },
        body: JSON.stringify({
            model: 'claude-test',
            max_tokens: 64,
            messages: [{ role: 'user', content: 'hello' }],
        }),
    });
}

/* The error log from <from> on. */
function since(d, from) {
    return d.stderr.slice(from);
}

describe('reload', () => {
    test('each worker\'s Bedrock client takes a new max_connections and keeps serving',
         async (t) => {
        const emu = await startEmulator({ t });
        const d = await startBedrockd({ t, conf: conf(emu.url) });
        assert.equal((await messages(d.url)).status, 200);
        const from = d.mark();
        const r = await d.reload(conf(emu.url, { maxConnections: 7 }));
        assert.equal(r.ok, true, r.line);
        await d.waitForLog(/worker 0: bedrock max_connections 7/, { from });
        await d.waitForLog(/worker 1: bedrock max_connections 7/, { from });
        assert.doesNotMatch(since(d, from), /max_connections changes take effect/);
        for (let i = 0; i < 4; i++) {
            assert.equal((await messages(d.url)).status, 200);
        }
        assert.equal(await d.stop(), 0);
    });

    test('a restart-only change is named at every reload until the restart; the running ' +
         'value keeps serving; a secret is named without its value', async (t) => {
        const emu = await startEmulator({ t });
        const mport = await freePort();
        const d = await startBedrockd({ t, conf: conf(emu.url) });
        const changed = conf(emu.url, {
            workers: 3,
            secret: 'a-new-secret-that-must-not-be-logged-0123',
            extra: `metrics_listen 127.0.0.1:${mport};\nstore_flush_interval 50ms;`,
        });
        for (let round = 0; round < 2; round++) {
            const from = d.mark();
            const r = await d.reload(changed);
            assert.equal(r.ok, true, r.line);
            const log = since(d, from);
            assert.match(log, /worker_threads changes take effect at the next restart \(running "2"\)/);
            assert.match(log, /metrics_listen changes take effect at the next restart/);
            assert.match(log, /store_flush_interval changes take effect at the next restart/);
            assert.match(log, /bedrock secret_access_key changes take effect at the next restart/);
            assert.doesNotMatch(log, /a-new-secret-that-must-not-be-logged/);
            assert.doesNotMatch(log, /wJalrXUtnFEMI/);
        }
        /* The running values: still two workers' worth of service, /metrics where it was. */
        assert.equal((await messages(d.url)).status, 200);
        assert.equal((await httpRequest(`${d.url}/metrics`)).status, 200);
        assert.equal(await d.stop(), 0);
    });

    test('a reload of reloadable directives only says nothing of a restart', async (t) => {
        const emu = await startEmulator({ t });
        const d = await startBedrockd({ t, conf: conf(emu.url) });
        const from = d.mark();
        const r = await d.reload(conf(emu.url, { retries: 2, maxConnections: 9 }));
        assert.equal(r.ok, true, r.line);
        assert.doesNotMatch(since(d, from), /next restart/);
        assert.equal((await messages(d.url)).status, 200);
        assert.equal(await d.stop(), 0);
    });
});
