/*
 * keys.test.mjs: keys, limits and usage on the real bedrockd (four worker
 * threads) in front of bedrock-emulator, with bedrockctl editing the same SQLite
 * file while the daemon runs: 401/403/429 bodies and rate-limit headers, exact
 * requests-per-minute admission under 200 concurrent clients, live revocation,
 * concurrency slots held by slow streams, and one usage row per request served
 * across SIGTERM, SIGHUP and kill -9.
 * Run from tests/: BD_BEDROCKD=... BD_EMULATOR=... BD_BEDROCKCTL=... node --test
 * integration/keys.test.mjs (node built-ins only; the sqlite3 CLI counts rows).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

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
const MASTER = 'sk-bd-integration-master-key';
const MODEL = 'claude-haiku-4-5';
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

let emu;

before(async () => {
    emu = await startEmulator();
});

after(async () => {
    await emu?.stop();
});

/* A fresh store file in its own directory. */
function newStore() {
    return path.join(makeTempDir('bd-keys-'), 'store.db');
}

function confFor(db, extra = '', { flush = '5ms' } = {}) {
    return `listen 127.0.0.1:0;
worker_threads 4;
store ${db};
store_flush_interval ${flush};
master_key ${MASTER};
shutdown_timeout 20s;
bedrock {
    region us-east-1;
    endpoint ${emu.url};
    credentials static;
    access_key_id AKIDEXAMPLE;
    secret_access_key wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY;
    retries 0;
}
include ${MODELS_CONF};
${extra}`;
}

/* Runs bedrockctl on <db>; resolves stdout, throws on a non-zero exit. */
async function ctl(db, args) {
    const bin = binaryFromEnv('BD_BEDROCKCTL', 'bedrockctl');
    const r = await runBinary(bin, ['--store', db, ...args]);
    assert.equal(r.code, 0, `bedrockctl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
}

/* Creates a key; resolves { id, secret, ... } from bedrockctl's JSON. */
async function createKey(db, name, opts = []) {
    return JSON.parse(await ctl(db, ['key', 'create', '--name', name, '--format', 'json', ...opts]));
}

function sql(db, query) {
    return execFileSync('sqlite3', [db, query], { encoding: 'utf8' }).trim();
}

/* POST /v1/messages on a new connection. */
function message(url, key, { model = MODEL, maxTokens = 16, text = 'hello', stream = false,
                              headers = {}, keyHeader = 'x-api-key' } = {}) {
    const h = { 'content-type': 'application/json', ...headers };
    if (key !== undefined) {
        h[keyHeader] = keyHeader === 'authorization' ? `Bearer ${key}` : key;
    }
    return httpRequest(`${url}/v1/messages`, {
        method: 'POST',
        headers: h,
        body: JSON.stringify({ model, max_tokens: maxTokens, stream,
                               messages: [{ role: 'user', content: text }] }),
    });
}

/* An error in the Anthropic format, with its request id. */
function assertError(res, status, type, message) {
    assert.equal(res.status, status, res.body);
    assert.match(res.headers['content-type'], /^application\/json/);
    assert.equal(res.json?.type, 'error', res.body);
    assert.equal(res.json.error.type, type);
    if (message instanceof RegExp) {
        assert.match(res.json.error.message, message);
    } else if (message !== undefined) {
        assert.equal(res.json.error.message, message);
    }
    assert.equal(res.json.request_id, res.headers['request-id']);
}

/*
 * A streaming request whose progress is visible: <headers> resolves when the
 * response starts (the request holds its concurrency slot), <done> when it ends;
 * abort() closes the connection.
 */
function openStream(url, key, text) {
    const body = JSON.stringify({ model: MODEL, max_tokens: 64, stream: true,
                                  messages: [{ role: 'user', content: text }] });
    let req;
    let resolveHeaders;
    let rejectHeaders;
    const headers = new Promise((res, rej) => {
        resolveHeaders = res;
        rejectHeaders = rej;
    });
    const done = new Promise((resolve) => {
        req = http.request(`${url}/v1/messages`, {
            method: 'POST', agent: false,
            headers: { 'content-type': 'application/json', 'x-api-key': key },
        }, (res) => {
            resolveHeaders(res);
            let data = '';
            res.setEncoding('utf8');
            res.on('data', (c) => {
                data += c;
            });
            res.on('end', () => resolve({ status: res.statusCode, body: data }));
            res.on('error', () => resolve({ status: res.statusCode, body: data, aborted: true }));
        });
        req.on('error', (err) => {
            rejectHeaders(err);
            resolve({ error: err });
        });
        req.end(body);
    });
    return { headers, done, abort: () => req.destroy() };
}

/*
 * Load: <loops> clients each sending one request after the other (new
 * connection each, x-request-id set) until stop() or a connection fails.
 * served holds the ids of the requests that got an answer; refused those a
 * stopping daemon refused before starting them (it found nothing in flight and
 * was about to exit when they began), after which that client stops.
 */
function startLoad(url, key, { loops = 8 } = {}) {
    const served = new Set();
    const refused = new Set();
    let stopping = false;
    let n = 0;
    const run = async (li) => {
        while (!stopping) {
            const id = `load-${li}-${n++}`;
            try {
                const res = await message(url, key, { headers: { 'x-request-id': id } });
                assert.equal(res.headers['request-id'], id);
                if (res.status === 503 && /the gateway is shutting down/.test(res.body)) {
                    assert.equal(JSON.parse(res.body).error.type, 'overloaded_error');
                    refused.add(id);
                    return;
                }
                assert.equal(res.status, 200, res.body);
                served.add(id);
            } catch (err) {
                if (err.code === 'ERR_ASSERTION') {
                    throw err;
                }
                return; /* the daemon is going away */
            }
        }
    };
    const all = Promise.all(Array.from({ length: loops }, (_, i) => run(i)));
    return {
        served,
        refused,
        stop: async () => {
            stopping = true;
            await all;
        },
        finished: all,
    };
}

/* The request ids of the usage rows. */
function usageIds(db) {
    const out = sql(db, 'SELECT request_id FROM usage');
    return new Set(out ? out.split('\n') : []);
}

function assertSameIds(rows, served) {
    const missing = [...served].filter((id) => !rows.has(id));
    const extra = [...rows].filter((id) => !served.has(id));
    assert.deepEqual({ missing: missing.slice(0, 5), extra: extra.slice(0, 5) },
                     { missing: [], extra: [] },
                     `${rows.size} rows for ${served.size} requests served`);
}

describe('authentication', () => {
    let d;
    let db;
    let key;
    let haiku;

    before(async () => {
        db = newStore();
        key = await createKey(db, 'plain');
        haiku = await createKey(db, 'haiku-only', ['--models', 'claude-haiku-*', '--rpm', '100',
                                                   '--tpm', '100000']);
        d = await startBedrockd({ conf: confFor(db) });
    });

    after(async () => {
        await d?.stop();
    });

    test('the health route needs no key', async () => {
        const res = await httpRequest(`${d.url}/health`);
        assert.equal(res.status, 200);
    });

    test('a missing key is 401 authentication_error', async () => {
        assertError(await message(d.url), 401, 'authentication_error',
                    'x-api-key header is required');
    });

    test('an unknown or malformed key is 401 "invalid x-api-key"', async () => {
        const forged = 'sk-bd-' + 'A'.repeat(42) + 'E';
        for (const bad of ['nope', forged, key.secret + 'x', key.secret.slice(0, -1)]) {
            assertError(await message(d.url, bad), 401, 'authentication_error',
                        'invalid x-api-key');
        }
    });

    test('x-api-key and Authorization: Bearer both work; the master key too', async () => {
        const a = await message(d.url, key.secret);
        assert.equal(a.status, 200, a.body);
        const b = await message(d.url, key.secret, { keyHeader: 'authorization' });
        assert.equal(b.status, 200, b.body);
        const m = await message(d.url, MASTER);
        assert.equal(m.status, 200, m.body);
    });

    test('a model outside the key\'s patterns is 403 permission_error', async () => {
        const ok = await message(d.url, haiku.secret, { model: 'claude-haiku-4-5' });
        assert.equal(ok.status, 200, ok.body);
        assertError(await message(d.url, haiku.secret, { model: 'claude-sonnet-4-5' }), 403,
                    'permission_error', /claude-sonnet-4-5/);
    });

    test('an expired key is 401', async () => {
        const old = await createKey(db, 'old', ['--expires', '2001-01-01']);
        /* New keys reach the daemon within a poll; the valid twin proves it. */
        const twin = await createKey(db, 'twin');
        await waitUntil(async () => (await message(d.url, twin.secret)).status === 200,
                        { timeoutMs: 2000, what: 'the new key to work' });
        assertError(await message(d.url, old.secret), 401, 'authentication_error',
                    'invalid x-api-key');
    });

    test('keyed responses carry the anthropic-ratelimit headers', async () => {
        const res = await message(d.url, haiku.secret);
        assert.equal(res.status, 200, res.body);
        const h = res.headers;
        assert.equal(h['anthropic-ratelimit-requests-limit'], '100');
        assert.match(h['anthropic-ratelimit-requests-remaining'], /^\d+$/);
        assert.ok(Number(h['anthropic-ratelimit-requests-remaining']) < 100);
        assert.match(h['anthropic-ratelimit-requests-reset'], RFC3339);
        assert.equal(h['anthropic-ratelimit-tokens-limit'], '100000');
        assert.match(h['anthropic-ratelimit-tokens-remaining'], /^\d+$/);
        assert.match(h['anthropic-ratelimit-tokens-reset'], RFC3339);
        assert.ok(Date.parse(h['anthropic-ratelimit-requests-reset']) >= Date.now() - 2000);
    });

    test('usage rows name the key, the models and the user', async () => {
        const res = await httpRequest(`${d.url}/v1/messages`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-api-key': key.secret,
                       'x-request-id': 'who-asked', 'x-session-id': 'sess-9' },
            body: JSON.stringify({ model: MODEL, max_tokens: 16, metadata: { user_id: 'u-7' },
                                   messages: [{ role: 'user', content: 'four words of text' }] }),
        });
        assert.equal(res.status, 200, res.body);
        const row = await waitUntil(() => sql(db, 'SELECT key_id, model, model_resolved, status, ' +
                                              'input_tokens, output_tokens, user_id, session_id, api ' +
                                              "FROM usage WHERE request_id = 'who-asked'"),
                                    { what: 'the usage row' });
        assert.equal(row, [key.id, MODEL, 'us.anthropic.claude-haiku-4-5-20251001-v1:0', 200,
                           res.json.usage.input_tokens, res.json.usage.output_tokens, 'u-7',
                           'sess-9', 'anthropic'].join('|'));
    });
});

describe('auth without a store', () => {
    test('store off: only the master key is accepted', async () => {
        const d = await startBedrockd({ conf: confFor('off') });
        try {
            assert.match(d.stderr, /store off/);
            assert.equal((await message(d.url, MASTER)).status, 200);
            assertError(await message(d.url, 'sk-bd-' + 'A'.repeat(42) + 'E'), 401,
                        'authentication_error');
        } finally {
            await d.stop();
        }
    });

    test('auth off admits anyone and says so in the log', async () => {
        const d = await startBedrockd({ conf: confFor('off', 'auth off;') });
        try {
            assert.match(d.stderr, /\[warn\] auth is off/);
            assert.equal((await message(d.url)).status, 200);
        } finally {
            await d.stop();
        }
    });
});

describe('rate limits', () => {
    test('rpm 50 and 200 concurrent requests: 50 admitted, the rest 429 with retry-after',
         async () => {
        const db = newStore();
        const key = await createKey(db, 'rpm50', ['--rpm', '50']);
        const d = await startBedrockd({ conf: confFor(db) });
        try {
            const t0 = Date.now();
            const results = await Promise.all(Array.from({ length: 200 },
                                                         () => message(d.url, key.secret)));
            const elapsed = Date.now() - t0;
            const ok = results.filter((r) => r.status === 200);
            const limited = results.filter((r) => r.status === 429);
            assert.equal(ok.length + limited.length, 200,
                         results.filter((r) => r.status !== 200 && r.status !== 429)
                             .map((r) => r.body).join('\n'));
            /* The bucket refills one request every 1.2 s: a burst that took
             * longer than that may rightly admit one more per 1.2 s. */
            assert.ok(ok.length >= 50 && ok.length <= 50 + Math.floor(elapsed / 1200),
                      `${ok.length} admitted in ${elapsed} ms`);
            for (const r of limited) {
                assertError(r, 429, 'rate_limit_error',
                            /50 requests per minute for this API key/);
                assert.match(r.headers['retry-after'], /^[1-9]\d*$/);
                assert.equal(r.headers['anthropic-ratelimit-requests-limit'], '50');
                assert.equal(r.headers['anthropic-ratelimit-requests-remaining'], '0');
            }
        } finally {
            await d.stop();
        }
    });

    test('counters survive a reload', async () => {
        const db = newStore();
        const key = await createKey(db, 'rpm5', ['--rpm', '5']);
        const d = await startBedrockd({ conf: confFor(db) });
        try {
            for (let i = 0; i < 5; i++) {
                assert.equal((await message(d.url, key.secret)).status, 200);
            }
            const r = await d.reload(confFor(db, 'ratelimit_global_concurrency 100;\n'));
            assert.ok(r.ok, r.line);
            assertError(await message(d.url, key.secret), 429, 'rate_limit_error',
                        /5 requests per minute/);
        } finally {
            await d.stop();
        }
    });

    test('tokens per minute: the estimate is charged, the real usage settled', async () => {
        const db = newStore();
        const key = await createKey(db, 'tpm', ['--tpm', '50']);
        const d = await startBedrockd({ conf: confFor(db) });
        try {
            /* 100 max_tokens exceed 50 tpm: admitted only from a full bucket. */
            const first = await message(d.url, key.secret, { maxTokens: 100, text: 'a b c' });
            assert.equal(first.status, 200, first.body);
            const second = await message(d.url, key.secret, { maxTokens: 100, text: 'a b c' });
            assertError(second, 429, 'rate_limit_error', /50 tokens per minute/);
            assert.match(second.headers['retry-after'], /^[1-9]\d*$/);
            /* What the first used came off the bucket, the rest was given back. */
            const used = first.json.usage.input_tokens + first.json.usage.output_tokens;
            const left = Number(second.headers['anthropic-ratelimit-tokens-remaining']);
            assert.ok(left >= 50 - used && left < 50, `${left} left after ${used} used`);
        } finally {
            await d.stop();
        }
    });

    test('max concurrency per key holds with slow streams, and aborts free their slot',
         async () => {
        const db = newStore();
        const key = await createKey(db, 'conc', ['--concurrency', '2']);
        const d = await startBedrockd({ conf: confFor(db) });
        const slow = '[[emu:slow delay_ms=150]] one two three four five six seven eight';
        try {
            const a = openStream(d.url, key.secret, slow);
            const b = openStream(d.url, key.secret, slow);
            assert.equal((await a.headers).statusCode, 200);
            assert.equal((await b.headers).statusCode, 200);
            const third = await message(d.url, key.secret);
            assertError(third, 429, 'rate_limit_error', /2 concurrent requests/);
            assert.match(third.headers['retry-after'], /^[1-9]\d*$/);

            /* A client that goes away releases its slot. */
            a.abort();
            await waitUntil(async () => (await message(d.url, key.secret)).status === 200,
                            { timeoutMs: 5000, what: 'the aborted stream\'s slot' });
            const doneB = await b.done;
            assert.equal(doneB.status, 200);
            assert.match(doneB.body, /message_stop/);
            const gone = await waitUntil(() => sql(db, 'SELECT count(*) FROM usage WHERE ' +
                                                   'client_gone = 1 AND streamed = 1') === '1',
                                         { what: 'the aborted stream\'s usage row' });
            assert.ok(gone);
            /* What the aborted stream consumed before the client left is recorded. */
            const tokens = Number(sql(db, 'SELECT input_tokens FROM usage WHERE client_gone = 1'));
            assert.ok(tokens > 0, `aborted stream recorded ${tokens} input tokens`);
            /* Both slots free again. */
            const c = openStream(d.url, key.secret, 'x');
            const e = openStream(d.url, key.secret, 'y');
            assert.equal((await c.done).status, 200);
            assert.equal((await e.done).status, 200);
        } finally {
            await d.stop();
        }
    });

    test('global concurrency applies to the master key too', async () => {
        const db = newStore();
        const d = await startBedrockd({ conf: confFor(db, 'ratelimit_global_concurrency 1;\n') });
        try {
            const a = openStream(d.url, MASTER, '[[emu:slow delay_ms=150]] a b c d e f');
            assert.equal((await a.headers).statusCode, 200);
            assertError(await message(d.url, MASTER), 429, 'rate_limit_error',
                        /1 concurrent requests for this gateway/);
            assert.equal((await a.done).status, 200);
            assert.equal((await message(d.url, MASTER)).status, 200);
        } finally {
            await d.stop();
        }
    });
});

describe('live changes from bedrockctl', () => {
    test('a key revoked under load is refused on every worker within a second', async () => {
        const db = newStore();
        const key = await createKey(db, 'doomed');
        const d = await startBedrockd({ conf: confFor(db) });
        try {
            /* Keep-alive clients spread over the workers (SO_REUSEPORT). */
            const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
            let stop = false;
            let confirmed = false; /* every worker was seen refusing the key */
            const before = [];
            const afterConfirmed = [];
            const hammer = async () => {
                while (!stop) {
                    const late = confirmed;
                    const status = await new Promise((resolve, reject) => {
                        const req = http.request(`${d.url}/v1/messages`, {
                            method: 'POST', agent,
                            headers: { 'content-type': 'application/json',
                                       'x-api-key': key.secret },
                        }, (r) => {
                            r.resume();
                            r.on('end', () => resolve(r.statusCode));
                        });
                        req.on('error', reject);
                        req.end(JSON.stringify({ model: MODEL, max_tokens: 4,
                                                 messages: [{ role: 'user', content: 'hi' }] }));
                    });
                    (late ? afterConfirmed : before).push(status);
                }
            };
            const loops = Array.from({ length: 16 }, hammer);
            await waitUntil(() => before.length >= 200, { what: 'load to build up' });
            assert.ok(before.every((s) => s === 200));

            await ctl(db, ['key', 'revoke', key.id]);
            /* Within a second every new request, on any connection, is refused. */
            await waitUntil(async () => {
                const fresh = await Promise.all(Array.from({ length: 16 },
                                                           () => message(d.url, key.secret)));
                return fresh.every((r) => r.status === 401);
            }, { timeoutMs: 1000, intervalMs: 10, what: 'the revocation on every worker' });
            confirmed = true;
            await waitUntil(() => afterConfirmed.length >= 200,
                            { what: 'more load after the revocation' });
            stop = true;
            await Promise.all(loops);
            agent.destroy();
            assert.ok(before.includes(401), 'the keep-alive clients never saw the revocation');
            assert.deepEqual([...new Set(afterConfirmed)], [401]);
        } finally {
            await d.stop();
        }
    });

    test('rotation: the old secret stops, the new one works', async () => {
        const db = newStore();
        const key = await createKey(db, 'rot');
        const d = await startBedrockd({ conf: confFor(db) });
        try {
            assert.equal((await message(d.url, key.secret)).status, 200);
            const rotated = JSON.parse(await ctl(db, ['key', 'rotate', key.id, '--format', 'json']));
            assert.equal(rotated.id, key.id);
            assert.notEqual(rotated.secret, key.secret);
            await waitUntil(async () => (await message(d.url, rotated.secret)).status === 200,
                            { timeoutMs: 2000, what: 'the rotated secret' });
            assertError(await message(d.url, key.secret), 401, 'authentication_error');
        } finally {
            await d.stop();
        }
    });
});

describe('usage records survive stops and reloads', () => {
    test('SIGTERM under load: one row per request served', async () => {
        const db = newStore();
        const key = await createKey(db, 'load');
        /* A long flush interval leaves records queued at the stop: the final
         * flush must write them. */
        const d = await startBedrockd({ conf: confFor(db, '', { flush: '10s' }) });
        const load = startLoad(d.url, key.secret);
        await waitUntil(() => load.served.size >= 300, { timeoutMs: 20000, what: 'load' });
        assert.equal(await d.stop('SIGTERM', { timeoutMs: 30000 }), 0);
        await load.finished;
        assert.match(d.stderr, /store: flushed \d+ usage records at stop/);
        /* a refused request is answered, so it has its row too */
        assertSameIds(usageIds(db), new Set([...load.served, ...load.refused]));
    });

    test('SIGHUP under load: no row lost across the reload', async () => {
        const db = newStore();
        const key = await createKey(db, 'reload');
        const d = await startBedrockd({ conf: confFor(db, '', { flush: '1s' }) });
        const load = startLoad(d.url, key.secret);
        await waitUntil(() => load.served.size >= 200, { timeoutMs: 20000, what: 'load' });
        const r1 = await d.reload(confFor(db, 'ratelimit_global_rpm 0;\n', { flush: '1s' }));
        assert.ok(r1.ok, r1.line);
        const atReload = load.served.size;
        await waitUntil(() => load.served.size >= atReload + 200, { timeoutMs: 20000,
                                                                     what: 'load after reload' });
        await load.stop();
        /* While running: every record reaches the file within the flush interval. */
        await waitUntil(() => usageIds(db).size === load.served.size,
                        { timeoutMs: 5000, what: 'rows to catch up' });
        assertSameIds(usageIds(db), load.served);
        assert.equal(await d.stop(), 0);
        assertSameIds(usageIds(db), load.served);
    });

    test('kill -9 under load leaves a sound database', async () => {
        const db = newStore();
        const key = await createKey(db, 'crash');
        const d = await startBedrockd({ conf: confFor(db) });
        const load = startLoad(d.url, key.secret);
        await waitUntil(() => load.served.size >= 300, { timeoutMs: 20000, what: 'load' });
        d.signal('SIGKILL');
        await d.exited;
        await load.finished;
        assert.equal(sql(db, 'PRAGMA integrity_check'), 'ok');
        assert.ok(Number(sql(db, 'SELECT count(*) FROM usage')) > 0);
        /* And the daemon starts on it again. */
        const again = await startBedrockd({ conf: confFor(db) });
        try {
            assert.equal((await message(again.url, key.secret)).status, 200);
        } finally {
            await again.stop();
        }
        assert.equal(sql(db, 'PRAGMA integrity_check'), 'ok');
    });
});

describe('bedrockctl', () => {
    test('-c reads the store from a bedrockd conf; usage reports', async () => {
        const db = newStore();
        const key = await createKey(db, 'report');
        const d = await startBedrockd({ conf: confFor(db) });
        try {
            for (let i = 0; i < 3; i++) {
                assert.equal((await message(d.url, key.secret)).status, 200);
            }
        } finally {
            await d.stop();
        }
        const bin = binaryFromEnv('BD_BEDROCKCTL', 'bedrockctl');
        const r = await runBinary(bin, ['-c', d.confPath, 'usage', '--by', 'key', '--format',
                                        'json']);
        assert.equal(r.code, 0, r.stderr);
        const rows = JSON.parse(r.stdout);
        assert.equal(rows.length, 1);
        assert.equal(rows[0].key, key.id);
        assert.equal(rows[0].requests, 3);
        assert.ok(rows[0].input_tokens > 0 && rows[0].output_tokens > 0);
        const csv = await ctl(db, ['usage', '--by', 'model', '--format', 'csv']);
        assert.match(csv, new RegExp(`^model,REQUESTS,.*\\n${MODEL},3,0,`));
        const list = JSON.parse(await ctl(db, ['key', 'list', '--format', 'json']));
        assert.equal(list[0].id, key.id);
        assert.ok(!('secret' in list[0]));
        assert.equal(sql(db, `SELECT count(*) FROM keys WHERE hash = '${key.secret}'`), '0');
        const bad = await runBinary(bin, ['--store', db, 'key', 'show', 'key_missing']);
        assert.equal(bad.code, 1);
        assert.match(bad.stderr, /no key "key_missing"/);
    });
});
