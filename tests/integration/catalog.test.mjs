/*
 * catalog.test.mjs: the Bedrock catalog behind GET /v1/models. Against
 * bedrock-emulator's control plane (which checks SigV4 on every GET): the official
 * Anthropic and OpenAI SDKs list the model map first, then the catalog's models,
 * Claude under ids that begin with "claude"; such a derived name works for
 * messages.create. Against a stand-in control plane written here: the profile pages
 * are followed through nextToken; an unreachable control plane leaves the map listed
 * and the gateway healthy, and a later recovery is picked up; the last good catalog
 * outlives a failing refresh; and a control-plane call that hangs does not hold up
 * requests (one worker thread, so a fetch on it would stall them).
 *
 * Run from tests/ (after `npm ci` there):
 *   BD_BEDROCKD=.../bedrockd BD_EMULATOR=.../bedrock-emulator \
 *       node --test integration/catalog.test.mjs
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import http from 'node:http';
import { before, describe, test } from 'node:test';

import { freePort, httpRequest, startBedrockd, startEmulator } from './lib/harness.mjs';

if (!existsSync(new URL('../node_modules/@anthropic-ai/sdk/', import.meta.url))) {
    throw new Error('tests/node_modules is missing: run `npm ci` in tests/ first');
}
const { default: Anthropic } = await import('@anthropic-ai/sdk');
const { default: OpenAI } = await import('openai');

const KEY = 'sk-bdtest-catalog-0123456789';
const AUTH = { 'x-api-key': KEY };
const SONNET_ID = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const CONF_MODELS = ['claude-gateway-sonnet', 'nova-lite'];
/* The emulator's catalogue as /v1/models adds it: Claude newest first under derived
 * names (Sonnet 4.5 is the map's), then the others by id. */
const CATALOG_CLAUDE = ['claude-haiku-4-5-20251001', 'claude-opus-4-1-20250805',
                        'claude-3-haiku-20240307'];
const CATALOG_OTHERS = ['amazon.nova-pro-v1:0', 'meta.llama3-1-8b-instruct-v1:0'];
const CATALOG_EMBEDDINGS = ['amazon.titan-embed-text-v2:0', 'cohere.embed-english-v3'];
const CATALOG_LINE = /bedrock catalog: (\d+) models, (\d+) inference profiles, (\d+) listed/;

function conf(runtimeUrl, controlUrl, { workers = 1, refresh = '10m' } = {}) {
    return `worker_threads ${workers};
listen 127.0.0.1:0;
error_log stderr info;
access_log stdout;
store off;
master_key ${KEY};

bedrock {
    region us-east-1;
    endpoint ${runtimeUrl};
    control_endpoint ${controlUrl};
    credentials static;
    access_key_id AKIDEXAMPLE;
    secret_access_key wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY;
    retries 0;
    catalog_refresh ${refresh};
}

model claude-gateway-sonnet { id ${SONNET_ID}; display_name "Claude Sonnet 4.5"; }
model nova-lite { id amazon.nova-lite-v1:0; }
`;
}

function anthropicClient(d) {
    return new Anthropic({ baseURL: d.url, apiKey: KEY, maxRetries: 0 });
}

function openaiClient(d) {
    return new OpenAI({ baseURL: `${d.url}/v1`, apiKey: KEY, maxRetries: 0 });
}

async function anthropicIds(d, params = {}) {
    const ids = [];
    for await (const m of anthropicClient(d).models.list(params)) {
        ids.push(m.id);
    }
    return ids;
}

/* --- a stand-in control plane --- */

function summary(id, name, inference) {
    return {
        modelArn: `arn:aws:bedrock:us-east-1::foundation-model/${id}`,
        modelId: id,
        modelName: name,
        providerName: id.startsWith('anthropic.') ? 'Anthropic' : 'Amazon',
        inputModalities: ['TEXT'],
        outputModalities: ['TEXT'],
        responseStreamingSupported: true,
        inferenceTypesSupported: [inference],
        modelLifecycle: { status: 'ACTIVE' },
    };
}

function profile(geo, id) {
    return {
        inferenceProfileName: `${geo} ${id}`,
        inferenceProfileArn:
            `arn:aws:bedrock:us-east-1:123456789012:inference-profile/${geo}.${id}`,
        models: [{ modelArn: `arn:aws:bedrock:us-east-1::foundation-model/${id}` }],
        inferenceProfileId: `${geo}.${id}`,
        status: 'ACTIVE',
        type: 'SYSTEM_DEFINED',
    };
}

const STUB_MODELS = [
    summary('anthropic.claude-stub-4-20250601-v1:0', 'Claude Stub 4', 'INFERENCE_PROFILE'),
    summary('anthropic.claude-paged-5-20250701-v1:0', 'Claude Paged 5', 'INFERENCE_PROFILE'),
];
const STUB_TOKEN = 'page+2/of=2';
const STUB_PAGES = [
    { inferenceProfileSummaries: [profile('eu', 'anthropic.claude-stub-4-20250601-v1:0'),
                                  profile('us', 'anthropic.claude-stub-4-20250601-v1:0')],
      nextToken: STUB_TOKEN },
    /* the only profile of the second model is on the second page */
    { inferenceProfileSummaries: [profile('us', 'anthropic.claude-paged-5-20250701-v1:0')] },
];

/*
 * A control plane on <port> (0: any). mode(): 'ok' answers, 'fail' answers 500, 'hold'
 * keeps each request open until release(). Records every request as { path, query,
 * authorization }; onRequest resolves waiters.
 */
async function startControlPlane(port = 0) {
    const cp = {
        mode: 'ok',
        requests: [],
        held: [],
        waiters: [],
        release() {
            for (const fn of this.held.splice(0)) {
                fn();
            }
        },
        /** Resolves once a request for <path> has arrived (counting earlier ones). */
        waitForRequest(path) {
            return new Promise((resolve) => {
                const check = () => {
                    const r = this.requests.find((q) => q.path === path);
                    if (r) {
                        resolve(r);
                        return true;
                    }
                    return false;
                };
                if (!check()) {
                    this.waiters.push(check);
                }
            });
        },
    };
    const answer = (req, res) => {
        const url = new URL(req.url, 'http://x');
        const send = (status, body) => {
            res.writeHead(status, { 'content-type': 'application/json' });
            res.end(JSON.stringify(body));
        };
        if (cp.mode === 'fail') {
            send(500, { message: 'stand-in failure' });
        } else if (url.pathname === '/foundation-models') {
            send(200, { modelSummaries: STUB_MODELS });
        } else if (url.pathname === '/inference-profiles') {
            send(200, url.searchParams.get('nextToken') === STUB_TOKEN ? STUB_PAGES[1]
                                                                       : STUB_PAGES[0]);
        } else {
            send(404, { message: 'no such path' });
        }
    };
    cp.server = http.createServer((req, res) => {
        const url = new URL(req.url, 'http://x');
        cp.requests.push({ path: url.pathname, query: url.searchParams,
                           authorization: req.headers.authorization ?? '' });
        cp.waiters = cp.waiters.filter((check) => !check());
        if (cp.mode === 'hold') {
            cp.held.push(() => answer(req, res));
        } else {
            answer(req, res);
        }
    });
    await new Promise((resolve) => cp.server.listen(port, '127.0.0.1', resolve));
    cp.port = cp.server.address().port;
    cp.url = `http://127.0.0.1:${cp.port}`;
    cp.close = () => {
        cp.release();
        cp.server.closeAllConnections();
        return new Promise((resolve) => cp.server.close(resolve));
    };
    return cp;
}

/* --- against the emulator --- */

describe('the emulator catalogue', () => {
    let emu;
    let d;

    before(async () => {
        emu = await startEmulator();
        d = await startBedrockd({ conf: conf(emu.url, emu.url, { workers: 2 }) });
        const m = await d.waitForLog(CATALOG_LINE);
        assert.deepEqual(m.slice(1, 4).map(Number), [9, 10, 9]);
    });

    test('Anthropic SDK: the map, then catalog Claude models under claude ids', async () => {
        const ids = await anthropicIds(d, { limit: 2 }); /* pages through the merged list */
        assert.deepEqual(ids, [...CONF_MODELS, ...CATALOG_CLAUDE, ...CATALOG_OTHERS]);
        for (const id of ids.filter((i) => /claude|anthropic/.test(i))) {
            assert.match(id, /^claude/, id);
        }
        const back = await anthropicClient(d).models.list({ limit: 2, before_id: ids[4] });
        assert.deepEqual(back.data.map((m) => m.id), ids.slice(2, 4));
        assert.equal(back.has_more, true);

        const opus = await anthropicClient(d).models.retrieve('claude-opus-4-1-20250805');
        assert.deepEqual(opus, { type: 'model', id: 'claude-opus-4-1-20250805',
                                 display_name: 'Claude Opus 4.1',
                                 created_at: '2025-08-05T00:00:00Z' });
        const nova = await anthropicClient(d).models.retrieve('amazon.nova-pro-v1:0');
        assert.equal(nova.display_name, 'Nova Pro');
        /* embedding models are for the OpenAI API only */
        await assert.rejects(anthropicClient(d).models.retrieve(CATALOG_EMBEDDINGS[0]),
                             Anthropic.NotFoundError);
    });

    test('OpenAI SDK: the same list, embedding models included', async () => {
        const ids = [];
        for await (const m of openaiClient(d).models.list()) {
            ids.push(m.id);
        }
        assert.deepEqual(ids, [...CONF_MODELS, ...CATALOG_CLAUDE, ...CATALOG_OTHERS.slice(0, 1),
                               ...CATALOG_EMBEDDINGS, ...CATALOG_OTHERS.slice(1)]);
        const haiku = await openaiClient(d).models.retrieve('claude-haiku-4-5-20251001');
        assert.deepEqual(haiku, { id: 'claude-haiku-4-5-20251001', object: 'model',
                                  created: Date.UTC(2025, 9, 1) / 1000, owned_by: 'anthropic' });
        const titan = await openaiClient(d).models.retrieve(CATALOG_EMBEDDINGS[0]);
        assert.equal(titan.owned_by, 'amazon');
    });

    test('a derived name works for messages.create, through the region\'s profile', async () => {
        const from = d.stdout.mark();
        const msg = await anthropicClient(d).messages.create({
            model: 'claude-haiku-4-5-20251001',
            max_tokens: 50,
            messages: [{ role: 'user', content: 'derived names resolve' }],
        });
        assert.equal(msg.model, 'claude-haiku-4-5-20251001');
        assert.equal(msg.content[0].text, 'derived names resolve');
        /* profile-only in the catalogue: called through the us. profile (us-east-1) */
        const line = await d.stdout.waitFor(/^\{.*"path":"\/v1\/messages".*\}$/m, { from });
        const entry = JSON.parse(line[0]);
        assert.equal(entry.status, 200);
        assert.equal(entry.model_resolved, 'us.anthropic.claude-haiku-4-5-20251001-v1:0');

        const chat = await openaiClient(d).chat.completions.create({
            model: 'claude-3-haiku-20240307',
            messages: [{ role: 'user', content: 'on demand' }],
        });
        assert.equal(chat.choices[0].message.content, 'on demand');
    });

    test('names the catalog does not know stay unknown', async () => {
        await assert.rejects(anthropicClient(d).messages.create({
            model: 'claude-nonexistent-20990101',
            max_tokens: 10,
            messages: [{ role: 'user', content: 'x' }],
        }), Anthropic.NotFoundError);
    });
});

/* --- against a stand-in control plane --- */

describe('a stand-in control plane', () => {
    let emu;

    before(async () => {
        emu = await startEmulator();
    });

    test('profile pages are followed through nextToken, signed', async (t) => {
        const cp = await startControlPlane();
        t.after(() => cp.close());
        const d = await startBedrockd({ t, conf: conf(emu.url, cp.url) });
        await d.waitForLog(CATALOG_LINE);
        const pages = cp.requests.filter((r) => r.path === '/inference-profiles');
        assert.equal(pages.length, 2);
        assert.equal(pages[0].query.get('nextToken'), null);
        assert.equal(pages[1].query.get('nextToken'), STUB_TOKEN); /* encoded, decoded intact */
        assert.equal(pages[1].query.get('maxResults'), '1000');
        for (const r of cp.requests) {
            assert.match(r.authorization,
                         /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/bedrock\//);
        }
        assert.deepEqual(await anthropicIds(d), [...CONF_MODELS, 'claude-paged-5-20250701',
                                                 'claude-stub-4-20250601']);
    });

    test('an unreachable control plane: the map is listed, the gateway healthy, ' +
         'recovery picked up', async (t) => {
        const port = await freePort();
        const d = await startBedrockd({ t, conf: conf(emu.url, `http://127.0.0.1:${port}`) });
        await d.waitForLog(new RegExp('\\[warn\\] bedrock catalog: GET http://127\\.0\\.0\\.1:' +
                                      '\\d+/foundation-models: .*model map only'));
        assert.deepEqual(await anthropicIds(d), CONF_MODELS);
        const ready = await httpRequest(`${d.url}/ready`);
        assert.equal(ready.status, 200);
        const msg = await anthropicClient(d).messages.create({
            model: 'claude-gateway-sonnet', max_tokens: 20,
            messages: [{ role: 'user', content: 'still served' }],
        });
        assert.equal(msg.content[0].text, 'still served');
        await assert.rejects(anthropicClient(d).messages.create({
            model: 'claude-stub-4-20250601', max_tokens: 20,
            messages: [{ role: 'user', content: 'x' }],
        }), Anthropic.NotFoundError);

        /* the control plane comes up on that port: a retry finds it */
        const cp = await startControlPlane(port);
        t.after(() => cp.close());
        await d.waitForLog(CATALOG_LINE, { timeoutMs: 20000 });
        assert.deepEqual(await anthropicIds(d), [...CONF_MODELS, 'claude-paged-5-20250701',
                                                 'claude-stub-4-20250601']);
    });

    test('a failing refresh keeps the last good catalog', async (t) => {
        const cp = await startControlPlane();
        t.after(() => cp.close());
        const d = await startBedrockd({ t, conf: conf(emu.url, cp.url, { refresh: '1s' }) });
        await d.waitForLog(CATALOG_LINE);
        cp.mode = 'fail';
        const from = d.mark();
        await d.waitForLog(new RegExp('\\[warn\\] bedrock catalog: .*HTTP 500: stand-in failure; ' +
                                      '/v1/models lists the last catalog'), { from });
        assert.deepEqual(await anthropicIds(d), [...CONF_MODELS, 'claude-paged-5-20250701',
                                                 'claude-stub-4-20250601']);
        const msg = await anthropicClient(d).messages.create({
            model: 'claude-stub-4-20250601', max_tokens: 20,
            messages: [{ role: 'user', content: 'last good' }],
        });
        assert.equal(msg.content[0].text, 'last good');
    });

    test('a control-plane call that hangs does not hold up requests', async (t) => {
        const cp = await startControlPlane();
        cp.mode = 'hold';
        t.after(() => cp.close());
        /* one worker: were the fetch on it, nothing below could be answered */
        const d = await startBedrockd({ t, conf: conf(emu.url, cp.url, { workers: 1 }) });
        await cp.waitForRequest('/foundation-models');
        assert.equal(cp.held.length, 1); /* the fetch is in progress, unanswered */

        const msg = await anthropicClient(d).messages.create({
            model: 'claude-gateway-sonnet', max_tokens: 20,
            messages: [{ role: 'user', content: 'not delayed' }],
        });
        assert.equal(msg.content[0].text, 'not delayed');
        assert.deepEqual(await anthropicIds(d), CONF_MODELS);
        const health = await httpRequest(`${d.url}/health`);
        assert.equal(health.status, 200);
        assert.equal(cp.held.length, 1); /* still unanswered while those were served */

        cp.mode = 'ok';
        cp.release();
        await d.waitForLog(CATALOG_LINE);
        assert.deepEqual(await anthropicIds(d), [...CONF_MODELS, 'claude-paged-5-20250701',
                                                 'claude-stub-4-20250601']);
    });
});
