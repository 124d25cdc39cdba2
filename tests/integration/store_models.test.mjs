/*
 * store_models.test.mjs: the model map additions kept in the store. `bedrockctl model
 * set` while bedrockd runs makes a new name resolvable within a bounded poll (the store
 * thread republishes on PRAGMA data_version, as for keys), GET /v1/models lists it after
 * the conf entries, a conf entry of the same name keeps winning, and `model unset` makes
 * the name unknown (404) again.
 * Run from tests/: BD_BEDROCKD=... BD_EMULATOR=... BD_BEDROCKCTL=... node --test
 * integration/store_models.test.mjs (node built-ins only).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';

import {
    binaryFromEnv,
    httpRequest,
    makeTempDir,
    runBinary,
    startBedrockd,
    startEmulator,
    waitUntil,
} from './lib/harness.mjs';

const MASTER = 'sk-bd-store-models-master-key';
const CLAUDE_ID = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const STORE_ONLY_ID = 'us.amazon.nova-pro-v1:0';

let emu;
let bd;
let db;

function conf(emuUrl, store) {
    return `listen 127.0.0.1:0;
worker_threads 2;
store ${store};
master_key ${MASTER};
bedrock {
    region us-east-1;
    endpoint ${emuUrl};
    credentials static;
    access_key_id AKIDEXAMPLE;
    secret_access_key wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY;
    retries 0;
    catalog off;
}
model conf-sonnet { id ${CLAUDE_ID}; route converse; created_at 2025-09-29T00:00:00Z; }
model conf-other { id ${CLAUDE_ID}; route invoke; }
`;
}

async function ctl(args) {
    const r = await runBinary(binaryFromEnv('BD_BEDROCKCTL', 'bedrockctl'), ['--store', db, ...args]);
    assert.equal(r.code, 0, `bedrockctl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
}

function message(model, text = 'hello') {
    return httpRequest(`${bd.url}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': MASTER },
        body: JSON.stringify({ model, max_tokens: 16,
                               messages: [{ role: 'user', content: text }] }),
    });
}

async function modelIds() {
    const r = await httpRequest(`${bd.url}/v1/models?limit=100`, {
        headers: { 'x-api-key': MASTER, 'anthropic-version': '2023-06-01' },
    });
    assert.equal(r.status, 200, r.body);
    return r.json.data.map((m) => m.id);
}

/* The resolved Bedrock ids bedrockd_requests_total has seen (the metrics label). */
async function resolvedModels() {
    const r = await httpRequest(`${bd.url}/metrics`);
    assert.equal(r.status, 200);
    const ids = new Set();
    for (const m of r.body.matchAll(/^bedrockd_requests_total\{[^}]*model="([^"]*)"/gm)) {
        ids.add(m[1]);
    }
    return ids;
}

before(async () => {
    emu = await startEmulator();
    db = path.join(makeTempDir('bd-store-models-'), 'store.db');
    bd = await startBedrockd({ conf: conf(emu.url, db) });
});

after(async () => {
    await bd?.stop();
    await emu?.stop();
});

test('a name the store adds resolves while bedrockd runs, and goes with unset', async () => {
    const before = await message('house-nova');
    assert.equal(before.status, 404, before.body);
    assert.equal(before.json.error.type, 'not_found_error');

    await ctl(['model', 'set', 'house-nova', STORE_ONLY_ID, '--route', 'converse']);
    let res;
    await waitUntil(async () => {
        res = await message('house-nova', 'from the store');
        return res.status !== 404;
    }, { what: 'house-nova to resolve' });
    assert.equal(res.status, 200, res.body);
    assert.equal(res.json.model, 'house-nova');
    assert.equal(res.json.content[0].text, 'from the store');
    assert.ok((await resolvedModels()).has(STORE_ONLY_ID));

    const ids = await modelIds();
    assert.deepEqual(ids, ['conf-sonnet', 'conf-other', 'house-nova'],
                     'store rows come after the conf entries');
    const one = await httpRequest(`${bd.url}/v1/models/house-nova`, {
        headers: { 'x-api-key': MASTER, 'anthropic-version': '2023-06-01' },
    });
    assert.equal(one.status, 200, one.body);
    assert.equal(one.json.id, 'house-nova');

    await ctl(['model', 'unset', 'house-nova']);
    await waitUntil(async () => (await message('house-nova')).status === 404,
                    { what: 'house-nova to be unknown again' });
    assert.deepEqual(await modelIds(), ['conf-sonnet', 'conf-other']);
});

test('a conf entry wins over a store row of the same name', async () => {
    /* Point the conf's name elsewhere in the store, and add a marker row whose
     * appearance proves the store's change was picked up. */
    const markerId = 'meta.llama3-1-8b-instruct-v1:0';
    await ctl(['model', 'set', 'conf-sonnet', 'amazon.nova-lite-v1:0']);
    await ctl(['model', 'set', 'marker-llama', markerId]);
    await waitUntil(async () => (await message('marker-llama')).status === 200,
                    { what: 'marker-llama to resolve' });
    const res = await message('conf-sonnet', 'conf wins');
    assert.equal(res.status, 200, res.body);
    assert.equal(res.json.content[0].text, 'conf wins');
    const seen = await resolvedModels();
    assert.ok(seen.has(CLAUDE_ID));
    assert.ok(seen.has(markerId));
    assert.ok(!seen.has('amazon.nova-lite-v1:0'), 'the store row of a conf name is not used');
    const ids = await modelIds();
    assert.deepEqual(ids, ['conf-sonnet', 'conf-other', 'marker-llama'],
                     'the shadowed store row is not listed');
    await ctl(['model', 'unset', 'conf-sonnet']);
    await ctl(['model', 'unset', 'marker-llama']);
});
