/*
 * admin.test.mjs: the operator's console on the real bedrockd in front of
 * bedrock-emulator: admin_listen and its tokens (sha256:, env: and file:
 * forms; 401 without a valid one, 403 for a write with a read-only one), every
 * endpoint of the admin API against bedrockctl on the same store file, bad
 * input answered with a 4xx naming the field and nothing half-applied, the
 * audit rows (also through `bedrockctl audit`), a revoked or rotated key
 * refused by the client API as soon as the API answered, /v1/stats and the
 * server-rendered status page equal to /metrics, and the conf checks.
 * Run from tests/: BD_BEDROCKD=... BD_EMULATOR=... BD_BEDROCKCTL=... node --test
 * integration/admin.test.mjs (node built-ins only).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { emulatorBedrock, metricSum } from './lib/admin.mjs';
import {
    binaryFromEnv,
    freePort,
    httpRequest,
    makeTempDir,
    runBinary,
    runBedrockd,
    startBedrockd,
    startEmulator,
    waitUntil,
} from './lib/harness.mjs';

const MODELS_CONF = fileURLToPath(new URL('../../conf/models.conf', import.meta.url));
const OPENAPI = fileURLToPath(new URL('../../modules/admin/openapi.json', import.meta.url));
const MODEL = 'claude-haiku-4-5';
const RW = 'rw-admin-token-0123456789abcdef';
const RO = 'ro-admin-token-fedcba9876543210';
const FILE_TOKEN = 'file-admin-token-from-secrets-manager';
const sha256 = (s) => createHash('sha256').update(s).digest('hex');

let emu;
let d;
let db;
let admin;
let metricsUrl;
let tokenFile;

function confFor(store, adminPort, metricsPort, extra = '') {
    return `listen 127.0.0.1:0;
worker_threads 2;
store ${store};
store_flush_interval 5ms;
metrics_listen 127.0.0.1:${metricsPort};
admin_listen 127.0.0.1:${adminPort};
admin_token ops env:BD_TEST_ADMIN_TOKEN read-write;
admin_token viewer sha256:${sha256(RO)} read-only;
admin_token secrets file:${tokenFile} read-write;
${emulatorBedrock(emu.url)}
include ${MODELS_CONF};
${extra}`;
}

/* A request to the admin API; <token> null sends none. */
function api(method, p, { token = RW, body, headers = {} } = {}) {
    const h = { ...headers };
    if (token !== null) {
        h.authorization = `Bearer ${token}`;
    }
    if (body !== undefined) {
        h['content-type'] = 'application/json';
    }
    return httpRequest(`${admin}${p}`, {
        method,
        headers: h,
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
}

async function ctl(args) {
    const r = await runBinary(binaryFromEnv('BD_BEDROCKCTL', 'bedrockctl'), ['--store', db, ...args]);
    assert.equal(r.code, 0, `bedrockctl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
}

function message(key, { text = 'hello', model = MODEL } = {}) {
    return httpRequest(`${d.url}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': key },
        body: JSON.stringify({ model, max_tokens: 16, messages: [{ role: 'user', content: text }] }),
    });
}

/* An admin error: status, JSON body naming <field> (when given). */
function assertError(res, status, field) {
    assert.equal(res.status, status, res.body);
    assert.match(res.headers['content-type'], /^application\/json/);
    assert.equal(typeof res.json?.error?.message, 'string', res.body);
    assert.equal(res.json.request_id, res.headers['x-request-id']);
    if (field !== undefined) {
        assert.equal(res.json.error.field, field, res.body);
        assert.match(res.json.error.message, new RegExp(field));
    }
}

before(async () => {
    emu = await startEmulator();
    const dir = makeTempDir('bd-admin-');
    db = path.join(dir, 'store.db');
    tokenFile = path.join(dir, 'admin-token');
    fs.writeFileSync(tokenFile, `${FILE_TOKEN}\n`, { mode: 0o600 });
    const adminPort = await freePort();
    const metricsPort = await freePort();
    d = await startBedrockd({ conf: confFor(db, adminPort, metricsPort),
                              env: { BD_TEST_ADMIN_TOKEN: RW } });
    assert.match(d.stderr, new RegExp(`admin_listen: serving the admin API and status page on 127\\.0\\.0\\.1:${adminPort}`));
    admin = `http://127.0.0.1:${adminPort}`;
    metricsUrl = `http://127.0.0.1:${metricsPort}`;
});

after(async () => {
    await d?.stop();
    await emu?.stop();
});

describe('admin tokens', () => {
    test('no token or a wrong one: 401 JSON with a Basic challenge; the log says it without the token', async () => {
        for (const token of [null, 'not-a-token', RW.slice(0, -1)]) {
            const res = await api('GET', '/v1/keys', { token });
            assertError(res, 401);
            assert.equal(res.json.error.type, 'authentication_error');
            assert.match(res.headers['www-authenticate'], /^Basic realm="bedrockd admin"/);
        }
        assert.doesNotMatch(d.stderr, new RegExp(RW.slice(0, -1)));
    });

    test('each value form works: env:, sha256:, file: (Bearer, or Basic with the token as password)', async () => {
        for (const token of [RW, RO, FILE_TOKEN]) {
            const res = await api('GET', '/v1/keys', { token });
            assert.equal(res.status, 200, res.body);
        }
        const basic = Buffer.from(`anyone:${RO}`).toString('base64');
        const res = await api('GET', '/v1/keys', { token: null, headers: { authorization: `Basic ${basic}` } });
        assert.equal(res.status, 200, res.body);
    });

    test('a read-only token may read but every write is 403, written to the audit as denied', async () => {
        for (const [method, p] of [['POST', '/v1/keys'], ['PATCH', '/v1/keys/key_x'],
            ['POST', '/v1/reload'], ['PUT', '/v1/models/x'], ['DELETE', '/v1/models/x']]) {
            const res = await api(method, p, { token: RO, body: { name: 'x' } });
            assertError(res, 403);
            assert.equal(res.json.error.type, 'permission_error');
            const audit = await api('GET', '/v1/audit?limit=1');
            assert.deepEqual(
                { token: audit.json.audit[0].token, action: audit.json.audit[0].action,
                  target: audit.json.audit[0].target, status: audit.json.audit[0].status,
                  request_id: audit.json.audit[0].request_id },
                { token: 'viewer', action: 'denied', target: p, status: 403,
                  request_id: res.headers['x-request-id'] });
        }
        assert.equal((await ctl(['key', 'list', '--format', 'json'])).includes('"x"'), false);
    });

    test('/health and /openapi.json need no token; /openapi.json is the document in the repo', async () => {
        assert.equal((await api('GET', '/health', { token: null })).status, 200);
        const res = await api('GET', '/openapi.json', { token: null });
        assert.equal(res.status, 200);
        assert.deepEqual(res.json, JSON.parse(fs.readFileSync(OPENAPI, 'utf8')));
        for (const p of ['/v1/keys', '/v1/keys/{id}', '/v1/usage', '/v1/models', '/v1/budgets',
            '/v1/live', '/v1/reload', '/v1/audit', '/v1/stats', '/']) {
            assert.ok(res.json.paths[p], `openapi.json describes ${p}`);
        }
    });

    test('the client listener serves none of it', async () => {
        for (const p of ['/v1/keys', '/v1/audit', '/v1/stats']) {
            const res = await httpRequest(`${d.url}${p}`, { headers: { authorization: `Bearer ${RW}` } });
            assert.equal(res.status, 404, `${p} on the client listener`);
        }
        const page = await httpRequest(`${d.url}/`, { headers: { authorization: `Bearer ${RW}` } });
        assert.doesNotMatch(page.body, /bedrockd status/);
    });
});

describe('keys through the API, with bedrockctl semantics', () => {
    test('create shows the secret once; list and show never; bedrockctl sees the same key', async () => {
        const res = await api('POST', '/v1/keys', {
            body: { name: 'alice', owner: 'team-a', rpm: 100, models: ['claude-*'],
                    metadata: { cost_center: 'r&d' }, budget_usd: 12.5 },
        });
        assert.equal(res.status, 201, res.body);
        const k = res.json;
        assert.match(k.secret, /^sk-bd-[A-Za-z0-9_-]{43}$/);
        assert.equal(k.prefix, k.secret.slice(0, 12));
        assert.equal(k.budget_usd, 12.5);
        const shown = await api('GET', `/v1/keys/${k.id}`);
        assert.equal(shown.status, 200);
        assert.equal(shown.json.secret, undefined);
        assert.deepEqual(shown.json, JSON.parse(await ctl(['key', 'show', k.id])));
        const list = await api('GET', '/v1/keys');
        assert.equal(list.body.includes(k.secret), false);
        assert.deepEqual(list.json.keys, JSON.parse(await ctl(['key', 'list', '--format', 'json'])));
        assert.equal((await message(k.secret)).status, 200);
    });

    test('update changes only what it names; a bad body changes nothing', async () => {
        const k = (await api('POST', '/v1/keys', { body: { name: 'bob', rpm: 10 } })).json;
        const before = (await api('GET', `/v1/keys/${k.id}`)).json;
        const bad = [
            ['{"rpm":', undefined],
            ['[1,2]', undefined],
            [{ rpm: 20, colour: 'red' }, 'colour'],
            [{ name: 'bob2', rpm: 1000000001 }, 'rpm'],
            [{ owner: 'x', tpm: -1 }, 'tpm'],
            [{ concurrency: 1.5 }, 'concurrency'],
            [{ rpm: '5' }, 'rpm'],
            [{ models: 'claude-*' }, 'models'],
            [{ expires: 'tomorrow' }, 'expires'],
            [{ metadata: [1] }, 'metadata'],
            [{ active: 'yes' }, 'active'],
            [{ budget_usd: -3 }, 'budget_usd'],
            [{ name: '' }, 'name'],
            ['{"rpm":1,"rpm":2}', undefined],
        ];
        for (const [body, field] of bad) {
            const res = await api('PATCH', `/v1/keys/${k.id}`, { body });
            assertError(res, 400, field);
        }
        assert.deepEqual((await api('GET', `/v1/keys/${k.id}`)).json, before);
        const res = await api('PATCH', `/v1/keys/${k.id}`, { body: { owner: 'team-b', tpm: 5000, expires: '2099-01-01' } });
        assert.equal(res.status, 200, res.body);
        assert.deepEqual(res.json, { ...before, owner: 'team-b', tpm: 5000, expires: '2099-01-01T00:00:00Z' });
        assert.equal(res.json.secret, undefined);
    });

    test('unknown key ids, paths and methods: 404 and 405 naming them', async () => {
        assertError(await api('GET', '/v1/keys/key_doesnotexist'), 404, 'id');
        assertError(await api('PATCH', '/v1/keys/key_doesnotexist', { body: { rpm: 1 } }), 404, 'id');
        assertError(await api('POST', '/v1/keys/key_doesnotexist/revoke'), 404, 'id');
        assertError(await api('POST', '/v1/keys/key_doesnotexist/rotate'), 404, 'id');
        assertError(await api('DELETE', '/v1/keys'), 405);
        assertError(await api('GET', '/v1/keys/key_x/revoke'), 405);
        assertError(await api('GET', '/v1/nothing'), 404);
        assertError(await api('POST', '/v1/keys', { body: { owner: 'nobody' } }), 400, 'name');
    });

    test('a key revoked through the API is refused by the very next request; through bedrockctl within the store poll', async () => {
        const a = (await api('POST', '/v1/keys', { body: { name: 'revoke-api' } })).json;
        const b = (await api('POST', '/v1/keys', { body: { name: 'revoke-ctl' } })).json;
        assert.equal((await message(a.secret)).status, 200);
        assert.equal((await message(b.secret)).status, 200);
        const res = await api('POST', `/v1/keys/${a.id}/revoke`);
        assert.equal(res.status, 200, res.body);
        assert.equal(res.json.status, 'revoked');
        for (let i = 0; i < 4; i++) { /* every worker */
            assert.equal((await message(a.secret)).status, 401);
        }
        await ctl(['key', 'revoke', b.id]);
        await waitUntil(async () => (await message(b.secret)).status === 401,
                        { what: 'the key revoked by bedrockctl refused' });
        assert.equal(JSON.parse(await ctl(['key', 'show', a.id])).status, 'revoked');
    });

    test('rotate: the new secret works at once, the old one is refused', async () => {
        const k = (await api('POST', '/v1/keys', { body: { name: 'rotating' } })).json;
        const res = await api('POST', `/v1/keys/${k.id}/rotate`);
        assert.equal(res.status, 200, res.body);
        assert.notEqual(res.json.secret, k.secret);
        assert.equal((await message(res.json.secret)).status, 200);
        assert.equal((await message(k.secret)).status, 401);
        assertError(await api('POST', `/v1/keys/${k.id}/rotate`, { body: { name: 'x' } }), 400, 'name');
    });
});

describe('usage, models, budgets, live state and reload', () => {
    test('usage by key, model and day equals bedrockctl usage; CSV export; ranges; bad parameters', async () => {
        const k = (await api('POST', '/v1/keys', { body: { name: 'usage' } })).json;
        for (let i = 0; i < 3; i++) {
            assert.equal((await message(k.secret)).status, 200);
        }
        await waitUntil(async () => {
            const r = await api('GET', '/v1/usage?by=key');
            return r.json.rows.find((x) => x.key === k.id)?.requests === 3;
        }, { what: 'three usage rows of the key' });
        for (const by of ['key', 'model', 'day']) {
            const res = await api('GET', `/v1/usage?by=${by}`);
            assert.equal(res.status, 200, res.body);
            assert.deepEqual(res.json.rows, JSON.parse(await ctl(['usage', '--by', by, '--format', 'json'])));
            const csv = await api('GET', `/v1/usage.csv?by=${by}`);
            assert.match(csv.headers['content-type'], /^text\/csv/);
            /* the same rows; the header in lower case throughout */
            const [head, ...lines] = (await ctl(['usage', '--by', by, '--format', 'csv'])).split('\n');
            assert.equal(csv.body, [head.toLowerCase(), ...lines].join('\r\n'));
            assert.equal((await api('GET', `/v1/usage?by=${by}&format=csv`)).body, csv.body);
        }
        const future = await api('GET', '/v1/usage?from=2099-01-01');
        assert.deepEqual(future.json.rows, []);
        assert.equal(future.json.from, '2099-01-01T00:00:00Z');
        const past = await api('GET', '/v1/usage?from=2000-01-01&to=2000-01-02');
        assert.deepEqual(past.json.rows, []);
        assertError(await api('GET', '/v1/usage?by=week'), 400, 'by');
        assertError(await api('GET', '/v1/usage?from=yesterday'), 400, 'from');
        assertError(await api('GET', '/v1/usage?to=2020-13-01'), 400, 'to');
        assertError(await api('GET', '/v1/usage?format=xml'), 400, 'format');
        assertError(await api('GET', '/v1/usage?from=2030-01-01&to=2020-01-01'), 400, 'from');
    });

    test('model map additions: set, list, remove, as bedrockctl model sees them; served at once', async () => {
        const set = await api('PUT', '/v1/models/my-haiku', {
            body: { bedrock_id: 'anthropic.claude-haiku-4-5-20251001-v1:0', route: 'converse' } });
        assert.equal(set.status, 200, set.body);
        const list = await api('GET', '/v1/models');
        assert.ok(list.json.conf.some((m) => m.name === MODEL));
        const added = list.json.additions.find((m) => m.name === 'my-haiku');
        assert.equal(added.route, 'converse');
        const fromCtl = JSON.parse(await ctl(['model', 'list', '--format', 'json']))
            .find((m) => m.name === 'my-haiku');
        assert.equal(fromCtl.id, added.bedrock_id);
        const k = (await api('POST', '/v1/keys', { body: { name: 'models' } })).json;
        assert.equal((await message(k.secret, { model: 'my-haiku' })).status, 200);
        assertError(await api('PUT', '/v1/models/x', { body: { bedrock_id: '' } }), 400, 'bedrock_id');
        assertError(await api('PUT', '/v1/models/x', { body: { bedrock_id: 'a', route: 'fast' } }), 400, 'route');
        assertError(await api('PUT', '/v1/models/x', { body: { id: 'a' } }), 400, 'id');
        const del = await api('DELETE', '/v1/models/my-haiku');
        assert.equal(del.status, 200, del.body);
        assertError(await api('DELETE', '/v1/models/my-haiku'), 404, 'name');
        assert.equal((await api('GET', '/v1/models')).json.additions.some((m) => m.name === 'my-haiku'), false);
    });

    test('budgets list the keys that have one', async () => {
        const k = (await api('POST', '/v1/keys', { body: { name: 'budgeted', budget_tokens: 5000, budget_usd: '7.25' } })).json;
        const res = await api('GET', '/v1/budgets');
        assert.equal(res.status, 200);
        const b = res.json.budgets.find((x) => x.id === k.id);
        assert.deepEqual({ budget_tokens: b.budget_tokens, budget_usd: b.budget_usd },
                         { budget_tokens: 5000, budget_usd: 7.25 });
        assert.equal(res.json.budgets.some((x) => x.name === 'bob'), false);
    });

    test('live state: per key in flight and what its limits have left', async () => {
        const k = (await api('POST', '/v1/keys', { body: { name: 'live', rpm: 1, concurrency: 3 } })).json;
        assert.equal((await message(k.secret)).status, 200);
        const res = await api('GET', '/v1/live');
        assert.equal(res.status, 200);
        assert.equal(res.json.workers, 2);
        assert.equal(typeof res.json.streams, 'number');
        const row = res.json.keys.find((x) => x.id === k.id);
        assert.deepEqual(row, { id: k.id, name: 'live', usable: true, in_flight: 0,
                                requests_remaining: 0, tokens_remaining: null });
    });

    test('reload: 202, the process reloads, the audit has it', async () => {
        const from = d.mark();
        const res = await api('POST', '/v1/reload');
        assert.equal(res.status, 202, res.body);
        await d.waitForLog(/configuration reloaded/, { from });
        assertError(await api('GET', '/v1/reload'), 405);
    });
});

describe('audit trail', () => {
    test('every write has a row: token, action, target, before/after without secrets, request id, client', async () => {
        const created = await api('POST', '/v1/keys', { token: FILE_TOKEN, body: { name: 'audited', rpm: 7 } });
        const k = created.json;
        const upd = await api('PATCH', `/v1/keys/${k.id}`, { body: { rpm: 8 } });
        const rot = await api('POST', `/v1/keys/${k.id}/rotate`);
        const rows = (await api('GET', '/v1/audit')).json.audit;
        const mine = rows.filter((r) => r.target === k.id);
        assert.deepEqual(mine.map((r) => [r.token, r.action, r.status]),
                         [['secrets', 'key.create', 201], ['ops', 'key.update', 200], ['ops', 'key.rotate', 200]]);
        assert.deepEqual(mine.map((r) => r.request_id),
                         [created, upd, rot].map((r) => r.headers['x-request-id']));
        assert.equal(mine[0].before, null);
        assert.equal(mine[0].after.rpm, 7);
        assert.equal(mine[1].before.rpm, 7);
        assert.equal(mine[1].after.rpm, 8);
        assert.notEqual(mine[2].before.prefix, mine[2].after.prefix);
        for (const r of mine) {
            assert.equal(r.client, '127.0.0.1');
            assert.match(r.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        }
        // The audit line is logged before the answer is sent, but the test reads
        // the daemon's stderr through a pipe that may not have been drained yet.
        await d.waitForLog(new RegExp(`request_id=${upd.headers['x-request-id']} admin audit: token=ops action=key.update target=${k.id} status=200 client=127\\.0\\.0\\.1`));
        const all = JSON.stringify(rows);
        for (const secret of [k.secret, rot.json.secret, RW, RO, FILE_TOKEN]) {
            assert.equal(all.includes(secret), false);
            assert.equal(d.stderr.includes(secret), false);
        }
        const fromCtl = JSON.parse(await ctl(['audit', '--format', 'json']));
        assert.deepEqual(fromCtl, rows);
        const table = await ctl(['audit']);
        assert.match(table, new RegExp(`ops\\s+key\\.update\\s+${k.id}\\s+200\\s+127\\.0\\.0\\.1`));
        assertError(await api('GET', '/v1/audit?limit=0'), 400, 'limit');
        assert.equal((await api('GET', '/v1/audit?limit=2')).json.audit.length, 2);
    });
});

describe('status numbers', () => {
    test('/v1/stats and the server-rendered page equal /metrics', async () => {
        const k = (await api('POST', '/v1/keys', { body: { name: 'stats' } })).json;
        assert.equal((await message(k.secret)).status, 200);
        assert.equal((await message('sk-bd-wrong')).status, 401);
        assert.equal((await message(k.secret, { model: 'no-such-model' })).status, 404);
        const metrics = (await httpRequest(`${metricsUrl}/metrics`)).body;
        const stats = (await api('GET', '/v1/stats')).json;
        const page = (await api('GET', '/')).body;
        const requests = metricSum(metrics, 'bedrockd_requests_total');
        const errors = metricSum(metrics, 'bedrockd_requests_total', { status: (s) => Number(s) >= 400 });
        const tokens = metricSum(metrics, 'bedrockd_tokens_total');
        assert.ok(requests > 0 && errors >= 2 && tokens > 0);
        assert.deepEqual([stats.totals.requests, stats.totals.errors, stats.totals.tokens],
                         [requests, errors, tokens]);
        const keyRow = stats.keys.find((r) => r.key === k.id);
        assert.equal(keyRow.name, 'stats');
        assert.equal(keyRow.requests, metricSum(metrics, 'bedrockd_key_requests_total', { key: k.id }));
        assert.equal(keyRow.requests, 2);
        assert.equal(keyRow.errors, 1);
        assert.equal(keyRow.input_tokens, metricSum(metrics, 'bedrockd_key_tokens_total', { key: k.id, type: 'input' }));
        const model = stats.models.find((r) => r.model !== '' && r.model !== 'unknown');
        assert.equal(model.requests, metricSum(metrics, 'bedrockd_requests_total', { model: model.model }));
        for (const [id, v] of [['t-requests', requests], ['t-errors', errors], ['t-tokens', tokens]]) {
            assert.match(page, new RegExp(`id="${id}">${v}<`));
        }
        assert.match(page, new RegExp(`<tr data-key="${k.id}"><th scope="row">${k.id} <small>stats</small></th><td class="req">2</td><td class="err">1</td>`));
        assert.doesNotMatch(page, /<script[^>]+src=|<link[^>]+href=/);
    });
});

describe('bedrockctl --url: the same commands through the API', () => {
    async function remote(args, token = RW) {
        const dir = makeTempDir('bd-admin-remote-');
        const file = path.join(dir, 'token');
        fs.writeFileSync(file, `${token}\n`, { mode: 0o600 });
        return runBinary(binaryFromEnv('BD_BEDROCKCTL', 'bedrockctl'),
                         ['--url', `${admin}/`, '--token-file', file, ...args]);
    }

    test('keys, models, usage and audit print what the file gives; errors as on the file', async () => {
        const made = await remote(['key', 'create', '--name', 'remote', '--rpm', '9', '--models', 'claude-*',
            '--metadata', '{"team":"ops"}', '--format', 'json']);
        assert.equal(made.code, 0, made.stderr);
        const k = JSON.parse(made.stdout);
        assert.match(k.secret, /^sk-bd-/);
        assert.equal((await message(k.secret)).status, 200);
        for (const args of [['key', 'list', '--format', 'json'], ['key', 'list'], ['key', 'show', k.id],
            ['model', 'list', '--format', 'csv'], ['usage', '--by', 'model', '--format', 'json'],
            ['usage', '--by', 'day', '--since', '2020-01-01']]) {
            const r = await remote(args);
            assert.equal(r.code, 0, r.stderr);
            assert.equal(r.stdout, await ctl(args), args.join(' '));
        }
        const bad = await remote(['key', 'update', k.id, '--rpm', '2000000000']);
        assert.equal(bad.code, 2);
        assert.match(bad.stderr, /--rpm wants a number from 0 \(no limit\) to 1000000000/);
        const missing = await remote(['key', 'revoke', 'key_nothere']);
        assert.equal(missing.code, 1);
        assert.match(missing.stderr, /no key "key_nothere"/);
        const revoked = await remote(['key', 'revoke', k.id]);
        assert.equal(revoked.code, 0, revoked.stderr);
        assert.equal((await message(k.secret)).status, 401, 'refused as soon as bedrockctl returned');
        const audit = await remote(['audit', '--format', 'json', '--limit', '3']);
        assert.equal(audit.code, 0, audit.stderr);
        const rows = JSON.parse(audit.stdout);
        assert.deepEqual(rows.map((r) => [r.token, r.action, r.target]).slice(-1), [['ops', 'key.revoke', k.id]]);
        assert.equal(audit.stdout.includes(k.secret), false);
        const ro = await remote(['key', 'create', '--name', 'nope'], RO);
        assert.equal(ro.code, 1);
        assert.match(ro.stderr, /admin token "viewer" is read-only/);
        assert.equal(ro.stderr.includes(RO), false);
        const wrong = await remote(['key', 'list'], 'not-the-token-at-all');
        assert.equal(wrong.code, 1);
        assert.match(wrong.stderr, /a valid admin token is required/);
    });
});

describe('conf checks', () => {
    async function check(extra, env = {}) {
        const dir = makeTempDir('bd-admin-conf-');
        const conf = path.join(dir, 'bedrockd.conf');
        fs.writeFileSync(conf, `listen 127.0.0.1:18080;\nstore off;\n${extra}\n`);
        return runBedrockd(['-t', '-c', conf], { env });
    }

    test('tokens are required, never written in clear, long enough; the admin port is not a client port', async () => {
        const cases = [
            ['admin_listen 127.0.0.1:18081;', /"admin_listen" needs at least one "admin_token"/],
            ['admin_listen 127.0.0.1:18080;\nadmin_token a sha256:' + sha256('x') + ' read-only;', /uses the port of "listen 127\.0\.0\.1:18080"/],
            ['admin_listen 18081;\nadmin_token a plain-token-in-the-conf read-write;', /sha256:HEX, env:NAME or file:PATH/],
            ['admin_listen 18081;\nadmin_token a env:BD_SHORT read-write;', /shorter than 16 characters/],
            ['admin_listen 18081;\nadmin_token a env:BD_UNSET_VARIABLE read-write;', /"BD_UNSET_VARIABLE" is not set/],
            ['admin_listen 18081;\nadmin_token a file:/nonexistent/token read-write;', /cannot open "\/nonexistent\/token"/],
            ['admin_listen 18081;\nadmin_token a sha256:abc read-write;', /64 hex digits/],
            ['admin_listen 18081;\nadmin_token a sha256:' + sha256('x') + ' admin;', /invalid scope "admin"/],
            ['admin_listen 18081;\nadmin_token a sha256:' + sha256('x') + ' read-only;\nadmin_token a sha256:' + sha256('y') + ' read-only;', /duplicate admin token name "a"/],
            ['admin_listen localhost:18081;\nadmin_token a sha256:' + sha256('x') + ' read-only;', /invalid address "localhost:18081"/],
        ];
        for (const [extra, re] of cases) {
            const r = await check(extra, { BD_SHORT: 'short' });
            assert.notEqual(r.code, 0, extra);
            assert.match(r.stderr, re);
            assert.equal(r.stderr.includes('plain-token-in-the-conf'), false);
        }
        const ok = await check('admin_listen 18081;\nadmin_token a sha256:' + sha256('x') + ' read-only;');
        assert.equal(ok.code, 0, ok.stderr);
    });
});
