/*
 * cache.test.mjs: the response cache (opt-in) on the real bedrockd in front of the
 * real bedrock-emulator, driven by the official SDKs and raw HTTP: a deterministic
 * request misses, then the same request (keys reordered, whitespace changed) hits
 * with the first answer's very bytes; a request that is not deterministic is not
 * cached; `cache-control: no-cache` bypasses; another key misses unless both keys
 * name one scope; streams (Anthropic and OpenAI) replay as well-formed SSE the SDKs
 * read to the end; hits are usage rows with zero tokens and the cache flag, and
 * counted in /metrics. Last, the emulator is stopped: hits still answer, so a hit
 * made no Bedrock call, while an uncached request fails.
 * Run from tests/: BD_BEDROCKD=... BD_EMULATOR=... BD_BEDROCKCTL=... node --test
 * integration/cache.test.mjs
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';

import {
    binaryFromEnv,
    httpRequest,
    makeTempDir,
    runBinary,
    startBedrockd,
    startEmulator,
    waitUntil,
} from './lib/harness.mjs';

const MODELS_CONF = fileURLToPath(new URL('../../conf/models.conf', import.meta.url));
const MASTER = 'sk-bd-cache-master-key-0123456789';
const MODEL = 'claude-haiku-4-5';     /* listed in response_cache_models */
const OTHER = 'claude-sonnet-4-5';    /* not listed: cached only for keys that opt in */
const HEADER = 'x-bedrockd-cache';

let emu;
let bd;
let db;
const keys = {};

function conf() {
    return `listen 127.0.0.1:0;
worker_threads 2;
store ${db};
store_flush_interval 5ms;
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
response_cache_size 4m;
response_cache_ttl 10m;
`;
}

async function createKey(name, metadata = '{}') {
    const r = await runBinary(binaryFromEnv('BD_BEDROCKCTL', 'bedrockctl'),
                              ['--store', db, 'key', 'create', '--name', name, '--metadata',
                               metadata, '--format', 'json']);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout).secret;
}

function sql(query) {
    return execFileSync('sqlite3', [db, query], { encoding: 'utf8' }).trim();
}

before(async () => {
    db = path.join(makeTempDir('bd-cache-'), 'store.db');
    emu = await startEmulator();
    keys.a = await createKey('a');
    keys.b = await createKey('b');
    keys.c = await createKey('c', '{"response_cache_scope":"team"}');
    keys.d = await createKey('d', '{"response_cache_scope":"team"}');
    keys.optIn = await createKey('opt-in', '{"response_cache":true}');
    keys.optOut = await createKey('opt-out', '{"response_cache":false}');
    bd = await startBedrockd({ conf: conf() });
});

after(async () => {
    await bd?.stop();
    await emu?.stop();
});

/* POST <path> with <body> as the exact text given (so key order and spaces are the
 * test's). */
function post(key, body, { route = '/v1/messages', headers = {} } = {}) {
    return httpRequest(`${bd.url}${route}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': key, ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
    });
}

function ask(text, extra = {}) {
    return { model: MODEL, max_tokens: 32, temperature: 0,
             messages: [{ role: 'user', content: text }], ...extra };
}

test('a deterministic request misses, then the same request hits with the same bytes',
     async () => {
    const first = await post(keys.a, ask('cache me once'));
    assert.equal(first.status, 200, first.body);
    assert.equal(first.headers[HEADER], 'miss');
    /* The same request: keys in another order, other whitespace. */
    const same = '{ "temperature" : 0, "messages" : [ { "content" : "cache me once", "role" :'
        + ' "user" } ],\n "max_tokens": 32, "model": "' + MODEL + '" }';
    const second = await post(keys.a, same);
    assert.equal(second.status, 200, second.body);
    assert.equal(second.headers[HEADER], 'hit');
    assert.equal(second.body, first.body); /* the first answer, message id and all */
    const third = await post(keys.a, ask('cache me once', { max_tokens: 33 }));
    assert.equal(third.headers[HEADER], 'miss', 'another body is another entry');
});

test('large images are part of the key: another image misses, the same one hits',
     async () => {
    /* images this large bypass the JSON parser (core/bd_json_slices): the key must
     * still see their bytes */
    const png = (seed) => Buffer.alloc(6000, seed).toString('base64');
    const withImage = (data) => ask([
        { type: 'image', source: { type: 'base64', media_type: 'image/png', data } },
        { type: 'text', text: 'which image is this' },
    ]);
    const first = await post(keys.a, withImage(png(1)));
    assert.equal(first.status, 200, first.body);
    assert.equal(first.headers[HEADER], 'miss');
    const other = await post(keys.a, withImage(png(2)));
    assert.equal(other.status, 200, other.body);
    assert.equal(other.headers[HEADER], 'miss', 'another image is another entry');
    const again = await post(keys.a, withImage(png(1)));
    assert.equal(again.headers[HEADER], 'hit');
    assert.equal(again.body, first.body);
});

test('requests that are not deterministic are not cached', async () => {
    const body = ask('warm', { temperature: 0.7 });
    for (let i = 0; i < 2; i++) {
        const res = await post(keys.a, body);
        assert.equal(res.status, 200, res.body);
        assert.equal(res.headers[HEADER], undefined);
    }
    /* The request header opts a non-zero temperature in. */
    const opt = await post(keys.a, body, { headers: { [HEADER]: 'on' } });
    assert.equal(opt.headers[HEADER], 'miss');
    const again = await post(keys.a, body, { headers: { [HEADER]: 'on' } });
    assert.equal(again.headers[HEADER], 'hit');
    assert.equal(again.body, opt.body);
});

test('models and keys opt in and out', async () => {
    const other = ask('other model', { model: OTHER });
    assert.equal((await post(keys.a, other)).headers[HEADER], undefined);
    assert.equal((await post(keys.optIn, other)).headers[HEADER], 'miss');
    assert.equal((await post(keys.optIn, other)).headers[HEADER], 'hit');
    const listed = ask('listed model, key out');
    assert.equal((await post(keys.optOut, listed)).headers[HEADER], undefined);
    assert.equal((await post(keys.optOut, listed)).headers[HEADER], undefined);
});

test('cache-control: no-cache bypasses the lookup and refreshes the entry', async () => {
    const body = ask('bypass me');
    const first = await post(keys.a, body);
    assert.equal(first.headers[HEADER], 'miss');
    const fresh = await post(keys.a, body, { headers: { 'cache-control': 'no-cache' } });
    assert.equal(fresh.status, 200);
    assert.equal(fresh.headers[HEADER], 'bypass');
    assert.notEqual(fresh.json.id, first.json.id, 'a bypass is a new answer');
    const hit = await post(keys.a, body);
    assert.equal(hit.headers[HEADER], 'hit');
    assert.equal(hit.json.id, fresh.json.id, 'the bypass refreshed the entry');
});

test('a key never sees another key\'s answer unless both share a scope', async () => {
    const body = ask('private answer');
    const a = await post(keys.a, body);
    assert.equal(a.headers[HEADER], 'miss');
    const b = await post(keys.b, body);
    assert.equal(b.headers[HEADER], 'miss');
    assert.notEqual(b.json.id, a.json.id);
    const master = await post(MASTER, body);
    assert.equal(master.headers[HEADER], 'miss');

    const shared = ask('team answer');
    const c = await post(keys.c, shared);
    assert.equal(c.headers[HEADER], 'miss');
    const d = await post(keys.d, shared);
    assert.equal(d.headers[HEADER], 'hit');
    assert.equal(d.body, c.body);
    assert.equal((await post(keys.a, shared)).headers[HEADER], 'miss');
});

test('an Anthropic stream is replayed as a stream the SDK reads to the end', async () => {
    const client = new Anthropic({ baseURL: bd.url, apiKey: keys.a, maxRetries: 0 });
    const params = ask('stream me please', { stream: true });
    const results = [];
    for (let i = 0; i < 2; i++) {
        const { data: stream, response } = await client.messages.create(params).withResponse();
        const events = [];
        for await (const ev of stream) {
            events.push(ev);
        }
        results.push({ header: response.headers.get(HEADER), events });
    }
    assert.equal(results[0].header, 'miss');
    assert.equal(results[1].header, 'hit');
    assert.deepEqual(results[1].events, results[0].events);
    const types = results[1].events.map((e) => e.type);
    assert.equal(types[0], 'message_start');
    assert.equal(types.at(-1), 'message_stop');
    const text = results[1].events.filter((e) => e.type === 'content_block_delta')
        .map((e) => e.delta.text).join('');
    assert.equal(text, 'stream me please');
    /* The non-stream form of the same prompt is its own entry. */
    const plain = await post(keys.a, ask('stream me please'));
    assert.equal(plain.headers[HEADER], 'miss');
});

test('an OpenAI stream is replayed as a stream the SDK reads to the end', async () => {
    const client = new OpenAI({ baseURL: `${bd.url}/v1`, apiKey: keys.a, maxRetries: 0 });
    const params = { model: MODEL, temperature: 0, stream: true,
                     messages: [{ role: 'user', content: 'openai stream' }] };
    const runs = [];
    for (let i = 0; i < 2; i++) {
        const { data: stream, response } =
            await client.chat.completions.create(params).withResponse();
        const chunks = [];
        for await (const c of stream) {
            chunks.push(c);
        }
        runs.push({ header: response.headers.get(HEADER), chunks });
    }
    assert.equal(runs[0].header, 'miss');
    assert.equal(runs[1].header, 'hit');
    assert.deepEqual(runs[1].chunks, runs[0].chunks);
    const text = runs[1].chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
    assert.equal(text, 'openai stream');
    assert.ok(runs[1].chunks.some((c) => c.choices[0]?.finish_reason === 'stop'));

    const plain = { model: MODEL, temperature: 0, messages: [{ role: 'user', content: 'oa' }] };
    const one = await client.chat.completions.create(plain).withResponse();
    const two = await client.chat.completions.create(plain).withResponse();
    assert.equal(one.response.headers.get(HEADER), 'miss');
    assert.equal(two.response.headers.get(HEADER), 'hit');
    assert.deepEqual(two.data, one.data);
});

test('failed answers and cut streams are not cached', async () => {
    const body = ask('[[emu:validation]] fail');
    for (let i = 0; i < 2; i++) {
        const res = await post(keys.a, body);
        assert.equal(res.status, 400, res.body);
        assert.equal(res.headers[HEADER], 'miss');
    }
    for (const scenario of ['midstream_error', 'cut']) {
        const stream = ask(`[[emu:${scenario} after=2]] one two three four five`, { stream: true });
        for (let i = 0; i < 2; i++) {
            const res = await post(keys.a, stream);
            assert.equal(res.status, 200, res.body);
            assert.equal(res.headers[HEADER], 'miss', `${scenario} run ${i}`);
        }
    }
});

test('hits are usage rows with zero tokens and the cache flag, and counted in /metrics',
     async () => {
    await waitUntil(() => Number(sql('SELECT count(*) FROM usage WHERE cached = 1')) >= 8,
                    { timeoutMs: 10000, what: 'cached usage rows' });
    const hits = sql('SELECT sum(input_tokens + output_tokens), min(status), max(status) '
                     + 'FROM usage WHERE cached = 1');
    assert.equal(hits, '0|200|200');
    const misses = Number(sql('SELECT count(*) FROM usage WHERE cached = 0 AND status = 200 '
                              + 'AND input_tokens > 0'));
    assert.ok(misses > 0);
    const m = await httpRequest(`${bd.url}/metrics`);
    assert.equal(m.status, 200);
    const count = (result) => Number(m.body.match(
        new RegExp(`^bedrockd_response_cache_total\\{result="${result}"\\} (\\d+)`, 'm'))?.[1]);
    assert.equal(count('hit'), Number(sql('SELECT count(*) FROM usage WHERE cached = 1')));
    assert.ok(count('miss') > 0);
    assert.equal(count('bypass'), 1);
});

test('with Bedrock gone, hits still answer: a hit makes no Bedrock call', async () => {
    await emu.stop();
    const hit = await post(keys.a, ask('cache me once'));
    assert.equal(hit.status, 200, hit.body);
    assert.equal(hit.headers[HEADER], 'hit');
    const d = await post(keys.d, ask('team answer'));
    assert.equal(d.headers[HEADER], 'hit');
    const miss = await post(keys.a, ask('never asked before'));
    assert.equal(miss.headers[HEADER], 'miss');
    assert.ok(miss.status >= 500, `an uncached request needs Bedrock: ${miss.status}`);
});

test('bedrockd stops cleanly (a sanitizer build would report here)', async () => {
    assert.equal(await bd.stop(), 0, bd.stderr.slice(-3000));
});
