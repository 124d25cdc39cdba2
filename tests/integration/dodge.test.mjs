/*
 * dodge.test.mjs: usage cannot be dodged by leaving. A client reads a stream and goes
 * away before its end (half way, well before the last event), when Bedrock has not reported the tokens yet (Converse sends
 * them in its last event, InvokeModel in message_delta): the call is canceled, and the
 * usage row holds at least the tokens the client received (one per piece) and an input
 * count, and the key's tokens-per-minute bucket is charged for them, on both routes and
 * both APIs. A client that stops reading is cut after send_timeout.
 *
 * Run from tests/: BD_BEDROCKD=... BD_EMULATOR=... BD_BEDROCKCTL=... node --test
 *     integration/dodge.test.mjs
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
    binaryFromEnv,
    EMULATOR_CREDENTIALS,
    httpRequest,
    makeTempDir,
    runBinary,
    startBedrockd,
    startEmulator,
    waitUntil,
    withTimeout,
} from './lib/harness.mjs';

const MASTER = 'sk-bdtest-dodge-master-0123456789';
const TPM = 600;
const PIECES = 300; /* output tokens of each stream */

function conf(db, endpoint, extra = '') {
    return `listen 127.0.0.1:0;
worker_threads 1;
store ${db};
store_flush_interval 5ms;
master_key ${MASTER};
access_log stdout;
sse_ping_interval 1h;
${extra}
bedrock {
    region us-east-1;
    endpoint ${endpoint};
    catalog off;
    credentials static;
    access_key_id ${EMULATOR_CREDENTIALS.accessKeyId};
    secret_access_key ${EMULATOR_CREDENTIALS.secretAccessKey};
    retries 0;
}
model claude-invoke { id us.anthropic.claude-sonnet-4-5-20250929-v1:0; route invoke; }
model claude-converse { id us.anthropic.claude-sonnet-4-5-20250929-v1:0; route converse; }
`;
}

function sql(db, query) {
    return execFileSync('sqlite3', [db, query], { encoding: 'utf8' }).trim();
}

/* Starts a stream, reads until <deltas> pieces arrived, then closes the connection. */
function readThenLeave(url, key, api, model, deltas = PIECES / 2) {
    const text = `[[emu:slow delay_ms=5 tokens=${PIECES}]] one two three`;
    const anthropic = api === 'anthropic';
    const body = { model, max_tokens: 400, stream: true,
                   messages: [{ role: 'user', content: text }] };
    return new Promise((resolve, reject) => {
        const req = http.request(`${url}${anthropic ? '/v1/messages' : '/v1/chat/completions'}`, {
            method: 'POST', agent: false,
            headers: { 'content-type': 'application/json', 'x-api-key': key,
                       'anthropic-version': '2023-06-01' },
        }, (res) => {
            let seen = 0;
            let data = '';
            res.setEncoding('utf8');
            res.on('data', (c) => {
                data += c;
                seen = (data.match(anthropic ? /^event: content_block_delta/gm : /"delta":\{"content"/g) ||
                        []).length;
                if (seen >= deltas) {
                    assert.doesNotMatch(data, anthropic ? /message_stop/ : /\[DONE\]/);
                    req.destroy();
                    resolve({ status: res.statusCode, seen });
                }
            });
            res.on('end', () => reject(new Error(`the stream ended before the client left: ${data}`)));
            res.on('error', () => {});
        });
        req.on('error', () => {});
        req.end(JSON.stringify(body));
    });
}

describe('leaving a stream early', () => {
    let emu;
    let db;
    let d;
    const keys = {};
    before(async () => {
        emu = await startEmulator();
        db = path.join(makeTempDir('bd-dodge-'), 'store.db');
        /* a key of its own for each case: each starts from a full bucket */
        for (const name of ['anthropic-claude-invoke', 'anthropic-claude-converse',
                            'openai-claude-invoke', 'openai-claude-converse']) {
            const r = await runBinary(binaryFromEnv('BD_BEDROCKCTL', 'bedrockctl'),
                                      ['--store', db, 'key', 'create', '--name', name, '--format',
                                       'json', '--tpm', String(TPM)]);
            assert.equal(r.code, 0, r.stderr);
            keys[name] = JSON.parse(r.stdout).secret;
        }
        d = await startBedrockd({ conf: conf(db, emu.url) });
    });
    after(async () => {
        assert.equal(await d?.stop(), 0);
        await emu?.stop();
    });

    for (const api of ['anthropic', 'openai']) {
        for (const model of ['claude-invoke', 'claude-converse']) {
            test(`${api} on ${model}: Bedrock's tokens recorded and charged`, async () => {
                const key = keys[`${api}-${model}`];
                const before = Number(sql(db, 'SELECT coalesce(max(rowid), 0) FROM usage'));
                const left = await readThenLeave(d.url, key, api, model);
                assert.equal(left.status, 200);
                const row = await waitUntil(() => {
                    const out = sql(db, 'SELECT input_tokens, output_tokens FROM usage WHERE ' +
                                        `client_gone = 1 AND rowid > ${before}`);
                    return out ? out.split('|').map(Number) : null;
                }, { what: 'the usage row of the stream left early', timeoutMs: 30000 });
                assert.ok(row[1] >= left.seen, `output tokens recorded: ${row}, ${left.seen} received`);
                assert.ok(row[0] > 0, `input tokens recorded: ${row}`);
                /* the bucket was charged: a small request sees what is left */
                const probe = await httpRequest(`${d.url}/v1/messages`, {
                    method: 'POST', headers: { 'x-api-key': key, 'content-type': 'application/json' },
                    body: JSON.stringify({ model, max_tokens: 1,
                                           messages: [{ role: 'user', content: 'x' }] }),
                });
                const remaining = Number(probe.headers['anthropic-ratelimit-tokens-remaining']);
                assert.ok(remaining < TPM - left.seen / 2,
                          `${remaining} of ${TPM} tokens left after a stream of ${PIECES}`);
            });
        }
    }
});

describe('a client that stops reading', () => {
    test('is cut after send_timeout', async (t) => {
        const emu = await startEmulator({ t });
        const db = path.join(makeTempDir('bd-dodge-'), 'store.db');
        const d = await startBedrockd({ conf: conf(db, emu.url, 'send_timeout 1s;'), t });
        const sock = net.connect(d.port, '127.0.0.1');
        await new Promise((res) => sock.once('connect', res));
        const body = JSON.stringify({
            model: 'claude-converse', max_tokens: 100000, stream: true,
            messages: [{ role: 'user', content: '[[emu:echo tokens=200000]] alpha beta gamma' }],
        });
        sock.pause(); /* never read a byte */
        sock.write(`POST /v1/messages HTTP/1.1\r\nHost: x\r\nx-api-key: ${MASTER}\r\n` +
                   `content-type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}` +
                   `\r\n\r\n${body}`);
        const line = await d.stdout.waitFor(/^.*"client_gone":true.*$/m, { timeoutMs: 30000 });
        assert.match(line[0], /"stream":true/);
        sock.destroy();
        assert.equal(await withTimeout(d.stop(), 30000, 'bedrockd stopping'), 0);
        await emu.stop();
    });
});
