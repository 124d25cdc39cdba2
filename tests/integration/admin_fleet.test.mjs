/*
 * admin_fleet.test.mjs: the admin API of one task of a fleet (two bedrockd
 * with a dynamodb block on dynalite): keys and model map additions made or
 * revoked through the API land in the fleet's DynamoDB tables, as with
 * `bedrockctl -c`, and reach the other task by its sync; a key revoked through
 * the API is refused on both tasks as a key revoked with bedrockctl is; usage
 * comes from the fleet's aggregates; the audit trail is the fleet's audit table,
 * read the same through the API and bedrockctl, and a row DynamoDB did not
 * take is sent again.
 * Run from tests/: BD_BEDROCKD=... BD_EMULATOR=... BD_BEDROCKCTL=... node --test
 * integration/admin_fleet.test.mjs.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { CreateTableCommand, DeleteTableCommand } from '@aws-sdk/client-dynamodb';

import { emulatorBedrock } from './lib/admin.mjs';
import { startDynalite } from './lib/dynamo.mjs';
import {
    awsTestEnv,
    binaryFromEnv,
    freePort,
    httpRequest,
    makeTempDir,
    runBinary,
    startBedrockd,
    startEmulator,
    waitUntil,
} from './lib/harness.mjs';

const MODELS_CONF = fileURLToPath(new URL('../../conf/models.conf', import.meta.url));
const PREFIX = 'adminfleet-';
const TOKEN = 'fleet-admin-token-0123456789';
const WAIT = { timeoutMs: 20000, intervalMs: 100 };

let emu;
let ddb;
let ctlDir;
let a;
let b;
let admin;
const secrets = []; /* every key secret the API answered: none may reach the audit table */

function conf(store, extra = '') {
    return `listen 127.0.0.1:0;
worker_threads 2;
store ${store};
shutdown_timeout 20s;
${emulatorBedrock(emu.url)}
include ${MODELS_CONF};
dynamodb {
    endpoint ${ddb.url};
    table_prefix ${PREFIX};
    sync_interval 200ms;
    usage_push_interval 200ms;
    usage_aggregate_interval 200ms;
    request_timeout 3s;
}
${extra}`;
}

async function ctl(args) {
    const confPath = path.join(ctlDir, 'ctl.conf');
    fs.writeFileSync(confPath, conf(path.join(ctlDir, 'unused.db')));
    const r = await runBinary(binaryFromEnv('BD_BEDROCKCTL', 'bedrockctl'), ['-c', confPath, ...args],
                              { env: awsTestEnv(ctlDir), timeoutMs: 30000 });
    assert.equal(r.code, 0, `bedrockctl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
}

async function api(method, p, body) {
    const r = await httpRequest(`${admin}${p}`, {
        method,
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (r.json?.secret) {
        secrets.push(r.json.secret);
    }
    return r;
}

async function status(task, key, model = 'claude-haiku-4-5') {
    const r = await httpRequest(`${task.url}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': key },
        body: JSON.stringify({ model, max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }),
    });
    return r.status;
}

before(async () => {
    emu = await startEmulator();
    ddb = await startDynalite();
    ctlDir = makeTempDir('bd-admin-fleet-ctl-');
    await ctl(['dynamodb', 'create-tables']);
    const port = await freePort();
    a = await startBedrockd({
        conf: conf(path.join(makeTempDir('bd-admin-fleet-a-'), 'store.db'),
                   `admin_listen 127.0.0.1:${port};\nadmin_token ops env:BD_TEST_ADMIN_TOKEN read-write;\n`),
        env: { BD_TEST_ADMIN_TOKEN: TOKEN },
        timeoutMs: 20000,
    });
    b = await startBedrockd({ conf: conf(path.join(makeTempDir('bd-admin-fleet-b-'), 'store.db')),
                              timeoutMs: 20000 });
    admin = `http://127.0.0.1:${port}`;
});

after(async () => {
    await a?.stop();
    await b?.stop();
    await ddb?.close();
    await emu?.stop();
});

test('a key made through one task\'s API is in DynamoDB and served by both tasks', async () => {
    const res = await api('POST', '/v1/keys', { name: 'fleet-web', rpm: 50 });
    assert.equal(res.status, 201, res.body);
    const k = res.json;
    const items = await ddb.scanAll(`${PREFIX}api-keys`);
    assert.ok(items.some((i) => i.key_id?.S === k.id), 'the key is in the api-keys table');
    assert.equal(JSON.stringify(items).includes(k.secret), false, 'only its hash is stored');
    const fromCtl = JSON.parse(await ctl(['key', 'show', k.id]));
    assert.deepEqual(fromCtl, (await api('GET', `/v1/keys/${k.id}`)).json);
    for (const task of [a, b]) {
        await waitUntil(async () => (await status(task, k.secret)) === 200,
                        { ...WAIT, what: 'the new key served' });
    }
});

test('revoked through the API or with bedrockctl: refused on both tasks by the same sync', async () => {
    const viaApi = (await api('POST', '/v1/keys', { name: 'fleet-api' })).json;
    const viaCtl = (await api('POST', '/v1/keys', { name: 'fleet-ctl' })).json;
    for (const task of [a, b]) {
        for (const k of [viaApi, viaCtl]) {
            await waitUntil(async () => (await status(task, k.secret)) === 200, { ...WAIT, what: 'served' });
        }
    }
    assert.equal((await api('POST', `/v1/keys/${viaApi.id}/revoke`)).status, 200);
    await ctl(['key', 'revoke', viaCtl.id]);
    for (const task of [a, b]) {
        for (const k of [viaApi, viaCtl]) {
            await waitUntil(async () => (await status(task, k.secret)) === 401, { ...WAIT, what: 'refused' });
        }
    }
    assert.equal(JSON.parse(await ctl(['key', 'show', viaApi.id])).status, 'revoked');
});

test('model map additions and usage come from the fleet\'s tables', async () => {
    const set = await api('PUT', '/v1/models/fleet-haiku', { bedrock_id: 'anthropic.claude-haiku-4-5-20251001-v1:0' });
    assert.equal(set.status, 200, set.body);
    const items = await ddb.scanAll(`${PREFIX}model-mapping`);
    assert.ok(items.some((i) => i.model?.S === 'fleet-haiku'));
    const k = (await api('POST', '/v1/keys', { name: 'fleet-usage' })).json;
    await waitUntil(async () => (await status(b, k.secret, 'fleet-haiku')) === 200,
                    { ...WAIT, what: 'the addition served by the other task' });
    await waitUntil(async () => {
        const r = await api('GET', '/v1/usage?by=key');
        return r.json.rows.some((row) => row.key === k.id && row.requests >= 1);
    }, { ...WAIT, what: 'the fleet aggregate of the key' });
    const r = await api('GET', '/v1/usage?by=key');
    assert.deepEqual(r.json.rows, JSON.parse(await ctl(['usage', '--by', 'key', '--format', 'json'])));
    assert.equal((await api('DELETE', '/v1/models/fleet-haiku')).status, 200);
    assert.equal(JSON.parse(await ctl(['model', 'list', '--format', 'json'])).some((m) => m.name === 'fleet-haiku'), false);
});

test('the audit trail is the fleet\'s table, read the same through the API and bedrockctl', async () => {
    const rows = (await api('GET', '/v1/audit')).json.audit;
    assert.deepEqual(rows.map((r) => r.action).filter((x) => x !== 'reload').slice(0, 4),
                     ['key.create', 'key.create', 'key.create', 'key.revoke']);
    assert.ok(rows.some((r) => r.action === 'model.set' && r.target === 'fleet-haiku'));
    const items = await ddb.scanAll(`${PREFIX}audit`);
    assert.equal(items.length, rows.length);
    for (const item of items) {
        assert.equal(item.pk.S, 'audit');
        assert.match(item.sk.S, /^\d{13}#adm_[0-9A-Za-z]{24}#[a-z.]+$/);
        assert.ok(rows.some((r) => r.request_id === item.request_id.S && r.action === item.action.S &&
                                   r.id === Number(item.id.N)), item.sk.S);
    }
    assert.ok(secrets.length >= 4);
    for (const secret of secrets) {
        assert.equal(JSON.stringify(items).includes(secret), false, 'no key secret in the audit table');
    }
    assert.deepEqual(JSON.parse(await ctl(['audit', '--format', 'json'])), rows);
    assert.deepEqual(JSON.parse(await ctl(['audit', '--format', 'json', '--limit', '2'])), rows.slice(-2));
    assert.deepEqual(JSON.parse(await ctl(['audit', '--format', 'json', '--until', '2000-01-01'])), []);
});

test('an audit row DynamoDB did not take is kept and sent again', async () => {
    const table = `${PREFIX}audit`;
    await ddb.client.send(new DeleteTableCommand({ TableName: table }));
    const set = await api('PUT', '/v1/models/fleet-outage', { bedrock_id: 'anthropic.claude-haiku-4-5-20251001-v1:0' });
    assert.equal(set.status, 200, 'the action itself does not wait for the audit table');
    assert.equal((await api('GET', '/v1/audit')).status, 500, 'the trail cannot be read meanwhile');
    await ddb.client.send(new CreateTableCommand({
        TableName: table,
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' },
                               { AttributeName: 'sk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }],
        BillingMode: 'PAY_PER_REQUEST',
    }));
    await waitUntil(async () => (await ddb.scanAll(table)).some(
        (i) => i.action?.S === 'model.set' && i.target?.S === 'fleet-outage'),
    { timeoutMs: 30000, intervalMs: 250, what: 'the kept row sent again' });
    const rows = (await api('GET', '/v1/audit')).json.audit;
    assert.deepEqual(rows.map((r) => `${r.action} ${r.target}`), ['model.set fleet-outage']);
    assert.equal((await api('DELETE', '/v1/models/fleet-outage')).status, 200);
});
