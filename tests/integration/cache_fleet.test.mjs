/*
 * cache_fleet.test.mjs: the response cache shared by two bedrockd tasks through the
 * DynamoDB cache table (dynalite; the AWS SDK reads the items back on its own). An
 * answer one task produced is a hit on the other, a stream replayed there as SSE the
 * Anthropic SDK reads to the end; the item has the documented layout (cache_key,
 * expires_at, compressed body). With DynamoDB holding its answers, a lookup is a miss
 * after response_cache_lookup_timeout and the request is served. Last, the emulator
 * is stopped and the other task still answers from the table: no Bedrock call.
 * Run from tests/: BD_BEDROCKD=... BD_EMULATOR=... BD_BEDROCKCTL=... node --test
 * integration/cache_fleet.test.mjs
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import Anthropic from '@anthropic-ai/sdk';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';

import {
    awsTestEnv,
    binaryFromEnv,
    httpRequest,
    makeTempDir,
    runBinary,
    startBedrockd,
    startEmulator,
    waitUntil,
} from './lib/harness.mjs';
import { startDynalite, startProxy } from './lib/dynamo.mjs';

const MODELS_CONF = fileURLToPath(new URL('../../conf/models.conf', import.meta.url));
const MODEL = 'claude-haiku-4-5';
const MASTER = 'sk-bd-cache-fleet-master-key-0123';
const PREFIX = 'cf-';
const CACHE = `${PREFIX}cache`;
const HEADER = 'x-bedrockd-cache';
const WAIT = { timeoutMs: 20000, intervalMs: 100 };

let emu;
let ddb;
let proxy;
let a;
let b;

function conf(store) {
    return `listen 127.0.0.1:0;
worker_threads 2;
store ${store};
master_key ${MASTER};
bedrock {
    region us-east-1;
    endpoint ${emu.url};
    credentials static;
    access_key_id AKIDEXAMPLE;
    secret_access_key wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY;
    retries 0;
    catalog off;
}
include ${MODELS_CONF};
response_cache_models ${MODEL};
response_cache_lookup_timeout 300ms;
dynamodb {
    endpoint ${proxy.url};
    table_prefix ${PREFIX};
    request_timeout 3s;
    final_push_timeout 2s;
}
`;
}

function newStore() {
    return path.join(makeTempDir('bd-cache-fleet-'), 'store.db');
}

before(async () => {
    emu = await startEmulator();
    ddb = await startDynalite();
    proxy = await startProxy(ddb.port);
    const dir = makeTempDir('bd-cache-fleet-ctl-');
    const confPath = path.join(dir, 'ctl.conf');
    fs.writeFileSync(confPath, conf(path.join(dir, 'unused.db')));
    const r = await runBinary(binaryFromEnv('BD_BEDROCKCTL', 'bedrockctl'),
                              ['-c', confPath, 'dynamodb', 'create-tables'],
                              { env: awsTestEnv(dir), timeoutMs: 30000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`${CACHE}: created`));
    a = await startBedrockd({ conf: conf(newStore()), timeoutMs: 20000 });
    b = await startBedrockd({ conf: conf(newStore()), timeoutMs: 20000 });
});

after(async () => {
    await a?.stop('SIGTERM', { timeoutMs: 20000 });
    await b?.stop('SIGTERM', { timeoutMs: 20000 });
    await proxy?.close();
    await ddb?.close();
    await emu?.stop();
});

function ask(text, extra = {}) {
    return { model: MODEL, max_tokens: 32, temperature: 0,
             messages: [{ role: 'user', content: text }], ...extra };
}

function post(task, body) {
    return httpRequest(`${task.url}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': MASTER },
        body: JSON.stringify(body),
    });
}

/* How many items the cache table holds (read by the AWS SDK, not by bedrockd). */
async function items() {
    return ddb.scanAll(CACHE);
}

test('an answer made on one task is a hit on the other, through the cache table', async () => {
    const before = (await items()).length;
    const first = await post(a, ask('fleet cached'));
    assert.equal(first.status, 200, first.body);
    assert.equal(first.headers[HEADER], 'miss');
    await waitUntil(async () => (await items()).length > before, { ...WAIT, what: 'cache item' });
    const [item] = (await items()).filter((i) => i.model_resolved !== undefined);
    assert.match(item.cache_key.S, /^[0-9a-f]{64}$/);
    assert.ok(Number(item.expires_at.N) > Date.now() / 1000);
    assert.ok(item.body.B.length > 0);
    assert.equal(item.stream.BOOL, false);
    const got = await ddb.client.send(new GetItemCommand({ TableName: CACHE,
                                                            Key: { cache_key: item.cache_key } }));
    assert.deepEqual(got.Item.body.B, item.body.B);

    const second = await post(b, ask('fleet cached'));
    assert.equal(second.status, 200, second.body);
    assert.equal(second.headers[HEADER], 'hit');
    assert.equal(second.body, first.body);
});

test('a stream made on one task replays on the other as SSE the SDK reads', async () => {
    const run = async (task) => {
        const client = new Anthropic({ baseURL: task.url, apiKey: MASTER, maxRetries: 0 });
        const { data: stream, response } =
            await client.messages.create(ask('fleet stream words', { stream: true })).withResponse();
        const events = [];
        for await (const ev of stream) {
            events.push(ev);
        }
        return { header: response.headers.get(HEADER), events };
    };
    const n = (await items()).length;
    const first = await run(a);
    assert.equal(first.header, 'miss');
    await waitUntil(async () => (await items()).length > n, { ...WAIT, what: 'stream item' });
    const second = await run(b);
    assert.equal(second.header, 'hit');
    assert.deepEqual(second.events, first.events);
    assert.equal(second.events.at(-1).type, 'message_stop');
});

test('DynamoDB slow to answer: the lookup is a miss after its bound, and the request served',
     async () => {
    proxy.mode('hold');
    try {
        const res = await post(b, ask('never cached, dynamodb held'));
        assert.equal(res.status, 200, res.body);
        assert.equal(res.headers[HEADER], 'miss');
    } finally {
        proxy.release();
    }
});

test('with Bedrock gone, the other task still answers from the table', async () => {
    const third = await post(a, ask('made on a, asked on b after'));
    assert.equal(third.headers[HEADER], 'miss');
    await waitUntil(async () => (await items()).length >= 3, { ...WAIT, what: 'third item' });
    await emu.stop();
    const hit = await post(b, ask('made on a, asked on b after'));
    assert.equal(hit.status, 200, hit.body);
    assert.equal(hit.headers[HEADER], 'hit');
    assert.equal(hit.body, third.body);
    const miss = await post(b, ask('nobody asked this'));
    assert.ok(miss.status >= 500, `an uncached request needs Bedrock: ${miss.status}`);
});

test('both tasks stop cleanly (a sanitizer build would report here)', async () => {
    assert.equal(await a.stop('SIGTERM', { timeoutMs: 20000 }), 0, a.stderr.slice(-3000));
    assert.equal(await b.stop('SIGTERM', { timeoutMs: 20000 }), 0, b.stderr.slice(-3000));
});
