/*
 * secrets.test.mjs: no secret leaves bedrockd. Known secrets are configured (the master
 * key, an AWS secret key Bedrock refuses and a session token, a store key); every error
 * path is driven on both APIs and both routes, streaming or not (Bedrock refusing the
 * signature, whose message quotes the canonical request with the session token and the
 * endpoint host; Bedrock unreachable; bad client keys; client errors), and then every
 * byte the run produced is searched: responses (headers and bodies), the error log, the
 * access log, /metrics and /ready, and the output of `bedrockd -T`. Responses must not
 * name the upstream's address either.
 *
 * Run from tests/: BD_BEDROCKD=... BD_EMULATOR=... node --test integration/secrets.test.mjs
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
    EMULATOR_CREDENTIALS,
    freePort,
    httpRequest,
    runBedrockd,
    startBedrockd,
    startEmulator,
} from './lib/harness.mjs';

const MASTER = 'sk-bdtest-secret-master-Q7mZ2xV9kL4pR8';
const AWS_SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYSECRET9Zq';
const SESSION = 'IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQDsecretSESSIONtoken';

function conf(endpoint) {
    return `listen 127.0.0.1:0;
worker_threads 1;
store off;
master_key ${MASTER};
error_log stderr debug;
access_log stdout;
bedrock {
    region us-east-1;
    endpoint ${endpoint};
    control_endpoint ${endpoint};
    catalog off;
    credentials static;
    access_key_id ${EMULATOR_CREDENTIALS.accessKeyId};
    secret_access_key ${AWS_SECRET};
    session_token ${SESSION};
    retries 0;
}
model claude-invoke { id us.anthropic.claude-sonnet-4-5-20250929-v1:0; route invoke; }
model claude-converse { id us.anthropic.claude-sonnet-4-5-20250929-v1:0; route converse; }
`;
}

/* Every error path of one bedrockd; returns the text of everything it answered. */
async function drive(d) {
    const out = [];
    const keep = (r) => {
        out.push(JSON.stringify(r.headers), r.body);
        return r;
    };
    const auth = { 'x-api-key': MASTER, 'content-type': 'application/json' };
    const user = [{ role: 'user', content: 'hello' }];
    for (const model of ['claude-invoke', 'claude-converse']) {
        for (const stream of [false, true]) {
            const a = keep(await httpRequest(`${d.url}/v1/messages`, {
                method: 'POST', headers: { ...auth, 'anthropic-version': '2023-06-01' },
                body: JSON.stringify({ model, max_tokens: 16, stream, messages: user }),
            }));
            assert.ok(a.status >= 400 || stream, `${model}: ${a.status} ${a.body}`);
            const o = keep(await httpRequest(`${d.url}/v1/chat/completions`, {
                method: 'POST', headers: { authorization: `Bearer ${MASTER}`, 'content-type':
                'application/json' },
                body: JSON.stringify({ model, stream, messages: user }),
            }));
            assert.ok(o.status >= 400 || stream, `${model}: ${o.status} ${o.body}`);
        }
    }
    keep(await httpRequest(`${d.url}/v1/messages/count_tokens`, {
        method: 'POST', headers: { ...auth, 'anthropic-version': '2023-06-01' },
        body: JSON.stringify({ model: 'claude-invoke', messages: user }),
    }));
    keep(await httpRequest(`${d.url}/v1/embeddings`, {
        method: 'POST', headers: { authorization: `Bearer ${MASTER}` },
        body: JSON.stringify({ model: 'amazon.titan-embed-text-v2:0', input: 'x' }),
    }));
    for (const key of [MASTER.slice(0, -1), `${MASTER}x`, 'sk-nope']) {
        keep(await httpRequest(`${d.url}/v1/messages`, {
            method: 'POST', headers: { 'x-api-key': key }, body: '{}',
        }));
    }
    keep(await httpRequest(`${d.url}/v1/messages`, { method: 'POST', headers: auth, body: '{' }));
    keep(await httpRequest(`${d.url}/metrics`));
    keep(await httpRequest(`${d.url}/ready`));
    keep(await httpRequest(`${d.url}/health`));
    return out.join('\n');
}

function assertClean(text, where, extra = []) {
    for (const s of [MASTER, AWS_SECRET, SESSION, SESSION.slice(0, 24), ...extra]) {
        assert.ok(!text.includes(s), `${where} contains ${JSON.stringify(s.slice(0, 12))}...`);
    }
}

describe('no secret leaves the process', () => {
    let emu;
    before(async () => {
        emu = await startEmulator();
    });
    after(async () => {
        await emu.stop();
    });

    test('Bedrock refusing the signature', async () => {
        const d = await startBedrockd({ conf: conf(emu.url) });
        const responses = await drive(d);
        assert.match(responses, /InvalidSignatureException|credentials/,
                     'the client learns what failed');
        assertClean(responses, 'the responses', [`127.0.0.1:${emu.port}`, 'x-amz-security-token']);
        assert.equal(await d.stop(), 0);
        assertClean(d.stderr, 'the error log');
        assertClean(d.stdout.text, 'the access log');
        assert.match(d.stderr, /InvalidSignatureException/, 'the log keeps the detail');
    });

    test('Bedrock unreachable', async () => {
        const port = await freePort();
        const d = await startBedrockd({ conf: conf(`http://127.0.0.1:${port}`) });
        const responses = await drive(d);
        assertClean(responses, 'the responses', [`127.0.0.1:${port}`, `port ${port}`]);
        assert.equal(await d.stop(), 0);
        assertClean(d.stderr, 'the error log');
        assertClean(d.stdout.text, 'the access log');
    });

    test('bedrockd -T prints fingerprints, not secrets', async () => {
        const d = await startBedrockd({ conf: conf(emu.url) });
        const r = await runBedrockd(['-T', '-c', d.confPath]);
        assert.equal(await d.stop(), 0);
        assert.equal(r.code, 0, r.stderr);
        assertClean(r.stdout + r.stderr, '-T');
        assert.match(r.stdout, /master_key "<redacted sha256:[0-9a-f]{8}>"/);
        assert.match(r.stdout, /secret_access_key "<redacted sha256:[0-9a-f]{8}>"/);
        assert.match(r.stdout, /session_token "<redacted sha256:[0-9a-f]{8}>"/);
    });
});
