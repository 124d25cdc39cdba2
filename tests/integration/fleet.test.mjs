/*
 * fleet.test.mjs: bedrockd tasks made one gateway by DynamoDB (dynalite, with the
 * AWS SDK reading the tables back on its own). `bedrockctl dynamodb create-tables`;
 * keys created, revoked and rotated by bedrockctl work or stop on both tasks by
 * themselves, stored as hashes only; model map additions reach both tasks; a
 * malformed item is skipped with a line naming its table and key; usage lands as
 * exactly one item per request, also across a DynamoDB outage, a SIGTERM while a
 * push waits for DynamoDB's answer, and a kill -9 after DynamoDB wrote but before
 * the task heard; the daily aggregates count each request once and `bedrockctl
 * usage` reads them; a seed-layout table of plaintext keys is imported; wrong
 * table names stop the start with a clear error; rpm and concurrency limits
 * hold across three tasks within their documented bounds, and a killed task's
 * concurrency slots are taken back by the others.
 * Run from tests/: BD_BEDROCKD=... BD_EMULATOR=... BD_BEDROCKCTL=... node --test
 * integration/fleet.test.mjs
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { GetItemCommand, PutItemCommand, UpdateItemCommand, CreateTableCommand }
    from '@aws-sdk/client-dynamodb';

import {
    awsTestEnv,
    binaryFromEnv,
    httpRequest,
    httpStream,
    makeTempDir,
    runBinary,
    startBedrockd,
    startEmulator,
    waitUntil,
} from './lib/harness.mjs';
import { startDynalite, startProxy } from './lib/dynamo.mjs';

const MODELS_CONF = fileURLToPath(new URL('../../conf/models.conf', import.meta.url));
const MODEL = 'claude-haiku-4-5';
const MASTER = 'sk-bd-fleet-master-key-0123456789';
const PREFIX = 'fleet-';
const KEYS = `${PREFIX}api-keys`;
const USAGE = `${PREFIX}usage`;
const LIMITS = `${PREFIX}limits`;
const WAIT = { timeoutMs: 20000, intervalMs: 100 };

let emu;
let ddb;
let proxy;
let ctlDir;
const tasks = [];

function conf(store, extra = '') {
    return `listen 127.0.0.1:0;
worker_threads 2;
store ${store};
master_key ${MASTER};
shutdown_timeout 20s;
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
dynamodb {
    endpoint ${proxy.url};
    table_prefix ${PREFIX};
    usage_push_interval 200ms;
    usage_aggregate_interval 300ms;
    request_timeout 3s;
    final_push_timeout 8s;
${extra}}
`;
}

async function ctl(args, { ok = true } = {}) {
    const confPath = path.join(ctlDir, 'ctl.conf');
    const fs = await import('node:fs');
    fs.writeFileSync(confPath, conf(path.join(ctlDir, 'unused.db')));
    const r = await runBinary(binaryFromEnv('BD_BEDROCKCTL', 'bedrockctl'), ['-c', confPath, ...args],
                              { env: awsTestEnv(ctlDir), timeoutMs: 30000 });
    if (ok) {
        assert.equal(r.code, 0, `bedrockctl ${args.join(' ')}: ${r.stderr}`);
    }
    return r;
}

function sqlite(db, query) {
    return execFileSync('sqlite3', [db, query], { encoding: 'utf8' }).trim();
}

function newStore() {
    return path.join(makeTempDir('bd-fleet-'), 'store.db');
}

async function startTask(store, t, extra) {
    const d = await startBedrockd({ conf: conf(store, extra), t, timeoutMs: 20000 });
    tasks.push(d);
    return d;
}

function message(url, key, text = 'hello') {
    return httpRequest(`${url}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': key },
        body: JSON.stringify({ model: MODEL, max_tokens: 16, messages: [{ role: 'user', content: text }] }),
    });
}

async function statusOn(task, key) {
    return (await message(task.url, key)).status;
}

/* Request items in the usage table, by request id. */
async function requestItems() {
    const items = await ddb.scanAll(USAGE, {
        FilterExpression: 'begins_with(pk, :p)',
        ExpressionAttributeValues: { ':p': { S: 'req#' } },
    });
    return items;
}

async function aggregate(keyId) {
    const items = await ddb.scanAll(USAGE, {
        FilterExpression: 'pk = :p',
        ExpressionAttributeValues: { ':p': { S: `agg#key#${keyId}` } },
    });
    return items.reduce((n, i) => n + Number(i.requests.N), 0);
}

/* Sends <n> requests with <key> spread over <ts>; returns their request ids. */
async function serve(ts, key, n, tag) {
    const ids = [];
    for (let i = 0; i < n; i++) {
        const r = await message(ts[i % ts.length].url, key, `${tag} ${i}`);
        assert.equal(r.status, 200, r.body);
        ids.push(r.headers['request-id']);
    }
    return ids;
}

/* Every id appears exactly once among the request items. */
async function assertExactlyOnce(ids, what) {
    await waitUntil(async () => (await requestItems()).filter((i) => ids.includes(i.request_id.S)).length
                                >= ids.length, { ...WAIT, what });
    const items = (await requestItems()).filter((i) => ids.includes(i.request_id.S));
    const seen = new Map();
    for (const i of items) {
        seen.set(i.request_id.S, (seen.get(i.request_id.S) || 0) + 1);
    }
    assert.equal(items.length, ids.length, `${what}: ${items.length} items for ${ids.length} requests`);
    for (const id of ids) {
        assert.equal(seen.get(id), 1, `${what}: request ${id}`);
    }
}

before(async () => {
    emu = await startEmulator();
    ddb = await startDynalite();
    proxy = await startProxy(ddb.port);
    ctlDir = makeTempDir('bd-fleet-ctl-');
});

after(async () => {
    for (const t of tasks) {
        t.signal('SIGKILL');
    }
    /* gone before DynamoDB goes: their last calls end first */
    await Promise.all(tasks.map((t) => t.exited));
    await proxy?.close();
    await ddb?.close();
    await emu?.stop();
});

test('create-tables makes the five tables', async () => {
    const r = await ctl(['dynamodb', 'create-tables']);
    for (const name of ['api-keys', 'usage', 'cache', 'model-mapping', 'limits']) {
        assert.match(r.stdout, new RegExp(`${PREFIX}${name}: created`));
    }
    assert.match(r.stdout, /does not support TTL/); /* dynalite has no UpdateTimeToLive */
    const again = await ctl(['dynamodb', 'create-tables']);
    assert.match(again.stdout, /fleet-usage: exists/);
    await ctl(['dynamodb', 'check']);

});

test('a missing table is a clear start error', async () => {
    const dir = makeTempDir('bd-fleet-bad-');
    const fs = await import('node:fs');
    const confPath = path.join(dir, 'b.conf');
    fs.writeFileSync(confPath, conf(path.join(dir, 's.db'), '    api_keys_table fleet-nope;\n'));
    const r = await runBinary(binaryFromEnv('BD_BEDROCKD', 'bedrockd'), ['-c', confPath],
                              { env: awsTestEnv(dir), timeoutMs: 30000 });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /api_keys table "fleet-nope": does not exist/);
});

test('keys and model map are fleet-wide; hashes only; malformed items skipped', async (t) => {
    const a = await startTask(newStore(), t);
    const b = await startTask(newStore(), t);
    const created = JSON.parse((await ctl(['key', 'create', '--name', 'fleet a', '--rpm', '100',
                                           '--format', 'json'])).stdout);
    await waitUntil(async () => (await statusOn(a, created.secret)) === 200 &&
                                (await statusOn(b, created.secret)) === 200,
                    { ...WAIT, what: 'the new key on both tasks' });

    const item = (await ddb.client.send(new GetItemCommand({ TableName: KEYS,
                                                             Key: { key_id: { S: created.id } } }))).Item;
    const hash = crypto.createHash('sha256').update(created.secret).digest('hex');
    assert.equal(item.key_hash.S, hash);
    assert.equal(item.rpm.N, '100');
    assert.ok(!JSON.stringify(item).includes(created.secret), 'the secret is in DynamoDB');

    const listed = JSON.parse((await ctl(['key', 'list', '--format', 'json'])).stdout);
    assert.ok(listed.some((k) => k.id === created.id && k.rpm === 100));

    await ctl(['key', 'revoke', created.id]);
    await waitUntil(async () => (await statusOn(a, created.secret)) === 401 &&
                                (await statusOn(b, created.secret)) === 401,
                    { ...WAIT, what: 'the revoked key refused on both tasks' });

    const second = JSON.parse((await ctl(['key', 'create', '--name', 'fleet b', '--format', 'json'])).stdout);
    const rotated = JSON.parse((await ctl(['key', 'rotate', second.id, '--format', 'json'])).stdout);
    await waitUntil(async () => (await statusOn(b, rotated.secret)) === 200 &&
                                (await statusOn(b, second.secret)) === 401 &&
                                (await statusOn(a, rotated.secret)) === 200,
                    { ...WAIT, what: 'the rotated key on both tasks, the old secret refused' });

    await ctl(['model', 'set', 'fleet-fast', 'us.anthropic.claude-haiku-4-5-20251001-v1:0']);
    await waitUntil(async () => {
        const r = await httpRequest(`${b.url}/v1/messages`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-api-key': rotated.secret },
            body: JSON.stringify({ model: 'fleet-fast', max_tokens: 8,
                                   messages: [{ role: 'user', content: 'hi' }] }),
        });
        return r.status === 200;
    }, { ...WAIT, what: 'the model map addition on task b' });

    /* A broken item, and a change after it that must still arrive. */
    await ddb.client.send(new PutItemCommand({ TableName: KEYS, Item: {
        key_id: { S: 'key_broken' }, key_hash: { S: 'not-hex' } } }));
    const third = JSON.parse((await ctl(['key', 'create', '--name', 'after broken', '--format', 'json'])).stdout);
    await a.waitForLog(/api_keys table "fleet-api-keys": item key_id="key_broken" skipped: "key_hash"/,
                       { timeoutMs: 20000 });
    await waitUntil(async () => (await statusOn(a, third.secret)) === 200, { ...WAIT, what: 'key after a broken item' });
    assert.equal(await statusOn(a, rotated.secret), 200);
});

test('usage: one item per request across an outage, a SIGTERM and a kill -9', async (t) => {
    const key = JSON.parse((await ctl(['key', 'create', '--name', 'usage', '--format', 'json'])).stdout);
    const storeA = newStore();
    let a = await startTask(storeA, t);
    const b = await startTask(newStore(), t);
    const all = []; /* every request served with the key, by id */
    const works = async (task) => {
        const r = await message(task.url, key.secret, 'ready?');
        if (r.status === 200) {
            all.push(r.headers['request-id']);
        }
        return r.status === 200;
    };
    await waitUntil(async () => await works(a) && await works(b), { ...WAIT, what: 'the key' });
    all.push(...await serve([a, b], key.secret, 10, 'steady'));
    await assertExactlyOnce(all, 'steady state');

    /* DynamoDB unreachable: serving goes on, usage waits, then arrives once. */
    proxy.mode('down');
    const down = await serve([a, b], key.secret, 8, 'outage');
    all.push(...down);
    await a.waitForLog(/dynamodb: unreachable/, { timeoutMs: 20000 });
    proxy.mode('pass');
    await a.waitForLog(/dynamodb: reachable again/, { timeoutMs: 20000 });
    await assertExactlyOnce(all, 'after the outage');

    /* SIGTERM while a push waits for DynamoDB's answer. */
    proxy.mode('hold');
    const termed = await serve([a], key.secret, 6, 'sigterm');
    all.push(...termed);
    await waitUntil(() => proxy.held() > 0, { ...WAIT, what: 'a push in flight' });
    const exiting = a.stop('SIGTERM', { timeoutMs: 30000 });
    await a.waitForLog(/draining|stopping|shutdown/i, { timeoutMs: 10000 }).catch(() => {});
    proxy.release();
    assert.equal(await exiting, 0);
    await assertExactlyOnce(all, 'after SIGTERM during a push');

    /* kill -9 after DynamoDB wrote and before the task heard: the restart repeats
     * the round, and nothing counts twice. */
    a = await startTask(storeA, t);
    proxy.mode('hold');
    const killed = await serve([a], key.secret, 7, 'kill');
    all.push(...killed);
    /* kill -9 loses what the store thread has not written yet (up to
     * store_flush_interval after a response): kill once the outbox holds them all. */
    const inList = killed.map((id) => `'${id}'`).join(',');
    await waitUntil(() => sqlite(storeA, `SELECT count(*) FROM usage WHERE request_id IN (${inList})`)
                    === String(killed.length), { ...WAIT, what: 'the rows in the outbox' });
    await waitUntil(() => proxy.held() > 0, { ...WAIT, what: 'a push in flight' });
    a.signal('SIGKILL');
    await a.exited;
    proxy.mode('pass');
    a = await startTask(storeA, t);
    await assertExactlyOnce(all, 'after kill -9 during a push');

    await waitUntil(async () => (await aggregate(key.id)) === all.length,
                    { ...WAIT, what: `the daily aggregate reaching ${all.length}` });
    assert.equal(await aggregate(key.id), all.length);
    const report = JSON.parse((await ctl(['usage', '--by', 'key', '--format', 'json'])).stdout);
    const row = report.find((r) => r.key === key.id);
    assert.equal(row?.requests, all.length, JSON.stringify(report));
});

test('import-keys turns a seed table of plaintext keys into hashed keys', async (t) => {
    await ddb.client.send(new CreateTableCommand({
        TableName: 'seed-api-keys', BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'api_key', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'api_key', KeyType: 'HASH' }],
    }));
    const seedKey = 'seed-plaintext-key-0123456789abcdef';
    const offKey = 'seed-inactive-key-0123456789abcdef';
    await ddb.client.send(new PutItemCommand({ TableName: 'seed-api-keys', Item: {
        api_key: { S: seedKey }, name: { S: 'seed user' }, user_id: { S: 'bob' },
        rate_limit: { N: '42' }, active: { BOOL: true } } }));
    await ddb.client.send(new PutItemCommand({ TableName: 'seed-api-keys', Item: {
        api_key: { S: offKey }, name: { S: 'gone' }, active: { BOOL: false } } }));
    const r = await ctl(['dynamodb', 'import-keys', '--from', 'seed-api-keys']);
    assert.match(r.stdout, /2 imported/);
    const again = await ctl(['dynamodb', 'import-keys', '--from', 'seed-api-keys']);
    assert.match(again.stdout, /0 imported, 2 already there/);

    const keys = await ddb.scanAll(KEYS);
    const hash = crypto.createHash('sha256').update(seedKey).digest('hex');
    const imported = keys.find((k) => k.key_hash?.S === hash);
    assert.ok(imported, 'the imported key by its hash');
    assert.equal(imported.rpm.N, '42');
    assert.equal(imported.owner.S, 'bob');
    assert.ok(!JSON.stringify(keys).includes(seedKey), 'a plaintext key in the keys table');

    const c = await startTask(newStore(), t);
    assert.equal(await statusOn(c, seedKey), 200);
    assert.equal(await statusOn(c, offKey), 401);
    await ddb.client.send(new UpdateItemCommand({ TableName: KEYS, Key: { key_id: imported.key_id },
        UpdateExpression: 'SET active = :f', ExpressionAttributeValues: { ':f': { BOOL: false } } }));
});

/* Sends requests with <key> to <task> from <loops> loops until <until> (ms since the
 * epoch) or <max> each; returns the count of 200s and asserts every other answer
 * is a 429 rate_limit_error. */
async function hammer(task, key, until, { loops = 3, max = 300 } = {}) {
    let ok = 0;
    await Promise.all(Array.from({ length: loops }, async () => {
        for (let i = 0; i < max && Date.now() < until; i++) {
            const r = await message(task.url, key, 'hammer');
            if (r.status === 200) {
                ok++;
            } else {
                assert.equal(r.status, 429, r.body);
                assert.equal(JSON.parse(r.body).error.type, 'rate_limit_error');
            }
        }
    }));
    return ok;
}

async function readyJson(task) {
    return JSON.parse((await httpRequest(`${task.url}/ready`)).body);
}

async function metric(task, name) {
    const text = (await httpRequest(`${task.url}/metrics`)).body;
    const m = text.match(new RegExp(`^${name} (\\S+)$`, 'm'));
    return m ? Number(m[1]) : undefined;
}

test('an rpm limit holds across three tasks; DynamoDB away: a per-task share', async (t) => {
    const RPM = 60;
    const TASKS = 3;
    const SLICE = Math.max(1, Math.floor(RPM * 5 / 100)); /* limits_lease_percent 5 (default) */
    const BOUND = RPM + TASKS * SLICE; /* man bedrockd.conf(5), "Fleet-wide limits" */
    const extra = `    expected_tasks ${TASKS};\n`;
    const ts = [];
    for (let i = 0; i < TASKS; i++) {
        ts.push(await startTask(newStore(), t, extra));
    }
    const key = JSON.parse((await ctl(['key', 'create', '--name', 'rpm fleet', '--rpm', String(RPM),
                                       '--format', 'json'])).stdout);
    let admitted = 0;
    let minute = Math.floor(Date.now() / 60000);
    for (const task of ts) {
        await waitUntil(async () => {
            const s = await statusOn(task, key.secret);
            admitted += s === 200 ? 1 : 0;
            return s === 200;
        }, { ...WAIT, what: 'the rpm key on every task' });
    }
    /* The bound is per UTC minute: hammer inside one, with time to spare. */
    if (Math.floor(Date.now() / 60000) !== minute || 60000 - (Date.now() % 60000) < 15000) {
        minute = Math.floor(Date.now() / 60000) + 1;
        await waitUntil(() => Date.now() >= minute * 60000 + 200, { timeoutMs: 70000, intervalMs: 100,
                                                                  what: 'the next minute' });
        admitted = 0;
    }
    const until = Math.min(Date.now() + 8000, (minute + 1) * 60000 - 3000);
    const counts = await Promise.all(ts.map((task) => hammer(task, key.secret, until)));
    admitted += counts.reduce((a, b) => a + b, 0);
    t.diagnostic(`admitted ${admitted} in one minute (bound ${BOUND}; hammer per task ${counts})`);
    assert.equal(Math.floor(Date.now() / 60000), minute, 'the hammer left its minute');
    assert.ok(admitted <= BOUND, `${admitted} admitted in one minute, bound ${BOUND}`);
    /* not a refuse-all limiter (how close it gets to RPM depends on lease latency) */
    assert.ok(admitted >= RPM / 2, `only ${admitted} admitted of ${RPM}`);
    assert.ok(counts.filter((c) => c > 0).length >= 2, `one task took it all: ${counts}`);
    const ready = await readyJson(ts[0]);
    assert.equal(ready.dynamodb.limits, 'fleet');
    assert.equal(ready.dynamodb.reachable, true);
    assert.equal(await metric(ts[0], 'bedrockd_dynamodb_limits_degraded'), 0);
    assert.ok((await metric(ts[0], 'bedrockd_dynamodb_lease_slices_total')) > 0);

    /* DynamoDB unreachable: every task keeps serving with 1/3 of the limit. */
    const other = JSON.parse((await ctl(['key', 'create', '--name', 'rpm share', '--rpm', String(RPM),
                                         '--format', 'json'])).stdout);
    await waitUntil(async () => (await statusOn(ts[1], other.secret)) === 200,
                    { ...WAIT, what: 'the second key' });
    proxy.mode('down');
    try {
        await ts[1].waitForLog(/rate limits fall back to a per-task share \(1\/3/, { timeoutMs: 20000 });
        const down = await readyJson(ts[1]);
        assert.equal(down.status, 'ready');
        assert.equal(down.dynamodb.limits, 'per_task_share');
        assert.equal(down.dynamodb.reachable, false);
        assert.equal(await metric(ts[1], 'bedrockd_dynamodb_limits_degraded'), 1);
        const started = Date.now();
        const served = await hammer(ts[1], other.secret, Date.now() + 3000);
        const refill = Math.ceil((Date.now() - started) / 60000 * (RPM / TASKS)) + 1;
        assert.ok(served > 0, 'nothing served while DynamoDB is away');
        assert.ok(served <= RPM / TASKS + refill, `${served} served on one task, share ${RPM / TASKS}`);
    } finally {
        proxy.mode('pass');
    }
    await ts[1].waitForLog(/rate limits are fleet-wide again/, { timeoutMs: 20000 });
    assert.equal((await readyJson(ts[1])).dynamodb.limits, 'fleet');
});

/* Opens streams with <key> on <task> from <loops> loops, each retrying a 429
 * until it holds a 200 stream or <until> passes; resolves the held streams. */
async function holdStreams(task, key, until, loops) {
    const held = [];
    const words = Array.from({ length: 60 }, (_, i) => `w${i}`).join(' ');
    await Promise.all(Array.from({ length: loops }, async () => {
        while (Date.now() < until) {
            const s = await httpStream(`${task.url}/v1/messages`, {
                headers: { 'content-type': 'application/json', 'x-api-key': key },
                body: JSON.stringify({ model: MODEL, max_tokens: 256, stream: true, messages: [
                    { role: 'user', content: `[[emu:slow delay_ms=400]]${words}` }] }),
            });
            if (s.status === 200) {
                let ended = false;
                s.done.then(() => { ended = true; });
                held.push({ ...s, ended: () => ended });
                return;
            }
            assert.equal(s.status, 429, `${s.status}`);
            assert.equal(JSON.parse((await s.done).text).error.type, 'rate_limit_error');
            await new Promise((resolve) => setTimeout(resolve, 100));
        }
    }));
    return held;
}

/* A key's "#conc" item read back by the SDK: total and the tasks' counts. */
async function concItem(keyId) {
    const [item] = await ddb.scanAll(LIMITS, {
        FilterExpression: 'pk = :p',
        ExpressionAttributeValues: { ':p': { S: `${keyId}#conc` } },
    });
    const tasks = Object.fromEntries(Object.entries(item ?? {}).filter(([n]) => n.startsWith('t_'))
                                         .map(([n, v]) => [n.slice(2), Number(v.N)]));
    return { total: Number(item?.total?.N ?? 0), tasks };
}

test('a concurrency limit holds across three tasks; a dead task\'s slots come back', async (t) => {
    const CONC = 6;
    const TASKS = 3;
    const SLICE = Math.max(1, Math.floor(CONC * 5 / 100)); /* limits_lease_percent 5 (default) */
    const BOUND = CONC + TASKS * SLICE; /* man bedrockd.conf(5), "Fleet-wide limits" */
    /* expected_tasks 1, though three run: a per-task share would let 3 x 6 through. */
    const extra = '    expected_tasks 1;\n    limits_concurrency_ttl 3s;\n';
    const ts = [];
    for (let i = 0; i < TASKS; i++) {
        ts.push(await startTask(newStore(), t, extra));
    }
    const key = JSON.parse((await ctl(['key', 'create', '--name', 'conc fleet', '--concurrency',
                                       String(CONC), '--format', 'json'])).stdout);
    for (const task of ts) {
        await waitUntil(async () => (await statusOn(task, key.secret)) === 200,
                        { ...WAIT, what: 'the concurrency key on every task' });
    }
    /* Four times the limit in streams that last 24 s, retried for up to 10 s: at
     * the end every admitted stream is still open, so they were in flight at once. */
    const held = (await Promise.all(ts.map((task) => holdStreams(task, key.secret, Date.now() + 10000,
                                                                 (CONC * 4) / TASKS)))).flat();
    try {
        t.diagnostic(`${held.length} streams in flight at once (limit ${CONC}, bound ${BOUND})`);
        assert.ok(held.every((s) => !s.ended()), 'a stream ended before the count: inconclusive');
        assert.ok(held.length <= BOUND, `${held.length} in flight, bound ${BOUND}`);
        assert.ok(held.length >= CONC / 2, `only ${held.length} in flight of ${CONC}`);
        const item = await concItem(key.id);
        const sum = Object.values(item.tasks).reduce((a, b) => a + b, 0);
        assert.equal(item.total, sum, JSON.stringify(item));
        assert.ok(item.total <= BOUND, JSON.stringify(item));
        const heldSlots = await Promise.all(ts.map((task) =>
            metric(task, 'bedrockd_dynamodb_concurrency_slots_held')));
        assert.ok(heldSlots.reduce((a, b) => a + b, 0) > 0, `${heldSlots}`);
    } finally {
        for (const s of held) {
            s.abort();
        }
    }
    /* A task killed while it holds slots: the others take them back once its
     * expiry passes, and total still is the sum of the live tasks' counts. */
    const dead = ts[0];
    const deadId = dead.stderr.match(/\(task (\S+), tables/)[1];
    const mine = await holdStreams(dead, key.secret, Date.now() + 10000, 2);
    assert.ok(mine.length > 0, 'the task to be killed got no stream');
    await waitUntil(async () => (await concItem(key.id)).tasks[deadId] > 0,
                    { ...WAIT, what: 'the task to hold slots' });
    dead.signal('SIGKILL');
    await dead.exited;
    await waitUntil(async () => {
        const counts = await Promise.all(ts.slice(1).map((task) =>
            metric(task, 'bedrockd_dynamodb_concurrency_slots_reclaimed_total')));
        if (counts.reduce((a, b) => a + b, 0) > 0) {
            return true;
        }
        await statusOn(ts[1], key.secret); /* the key stays in use on the live tasks */
        await statusOn(ts[2], key.secret);
        return false;
    }, { timeoutMs: 30000, intervalMs: 200, what: 'the dead task\'s slots taken back' });
    const after = await concItem(key.id);
    assert.equal(after.tasks[deadId], undefined, JSON.stringify(after));
    assert.equal(after.total, Object.values(after.tasks).reduce((a, b) => a + b, 0),
                 JSON.stringify(after));
    await waitUntil(() => /took back \d+ concurrency slots of key \S+ from task/
                    .test(ts[1].stderr + ts[2].stderr), { ...WAIT, what: 'the log line' });
    for (const s of mine) {
        s.abort();
    }
    /* A task that stops gives its slots back at once. */
    for (const task of ts.slice(1)) {
        assert.equal(await task.stop('SIGTERM', { timeoutMs: 30000 }), 0);
    }
    const end = await concItem(key.id);
    assert.deepEqual(end, { total: 0, tasks: {} });
});

test('monthly budgets in tokens and USD hold across two tasks', async (t) => {
    const prices = '    model_price claude-haiku-4-5 1 5 0.1 1.25;\n';
    const a = await startTask(newStore(), t, prices);
    const b = await startTask(newStore(), t, prices);
    const tokens = JSON.parse((await ctl(['key', 'create', '--name', 'budget t', '--budget-tokens', '60',
                                          '--format', 'json'])).stdout);
    const usd = JSON.parse((await ctl(['key', 'create', '--name', 'budget $', '--budget-usd', '0.0005',
                                       '--format', 'json'])).stdout);
    const shown = JSON.parse((await ctl(['key', 'show', usd.id, '--format', 'json'])).stdout);
    assert.equal(shown.budget_usd, 0.0005);
    for (const [key, words] of [[tokens, /monthly budget of 60 tokens/], [usd, /monthly budget of \$0\.0005/]]) {
        /* Spend through task a only, until a refuses. */
        let last;
        await waitUntil(async () => {
            last = await message(a.url, key.secret, 'spend');
            assert.ok(last.status === 200 || last.status === 429 || last.status === 401, last.body);
            return last.status === 429;
        }, { ...WAIT, what: `task a refusing ${key.id}` });
        const err = JSON.parse(last.body);
        assert.equal(err.error.type, 'rate_limit_error');
        assert.match(err.error.message, words);
        /* Task b, which served nothing with the key, refuses it too. */
        await waitUntil(async () => (await statusOn(b, key.secret)) === 429,
                        { ...WAIT, what: `task b refusing ${key.id}` });
        const o = await httpRequest(`${b.url}/v1/chat/completions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${key.secret}` },
            body: JSON.stringify({ model: MODEL, max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }),
        });
        assert.equal(o.status, 429);
        assert.equal(JSON.parse(o.body).error.code, 'insufficient_quota');
        assert.match(JSON.parse(o.body).error.message, words);
    }
    /* The monthly aggregate holds what was spent. */
    const month = new Date().toISOString().slice(0, 7);
    const agg = (await ddb.client.send(new GetItemCommand({ TableName: USAGE, Key: {
        pk: { S: `agg#keymonth#${usd.id}` }, sk: { S: month } } }))).Item;
    assert.ok(Number(agg.cost_micro_usd.N) >= 500, JSON.stringify(agg));
    /* Raising the budget lets the key through again on both tasks. */
    await ctl(['key', 'update', tokens.id, '--budget-tokens', '1000000']);
    await waitUntil(async () => (await statusOn(a, tokens.secret)) === 200 &&
                                (await statusOn(b, tokens.secret)) === 200,
                    { ...WAIT, what: 'the raised budget on both tasks' });
});
