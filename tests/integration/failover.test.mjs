/*
 * failover.test.mjs: fallback chains across regions and models, circuit breaking and
 * service tiers. Two bedrock-emulator processes stand for two AWS regions (us-east-1,
 * the bedrock block's endpoint, and us-west-2, named by `fallback ... endpoint=`); each
 * region's state (throttling, down, stalled) is set through the emulator's
 * /_emulator/state, scoped to one model id so that the tests do not disturb each other.
 * Clients are the official Anthropic and OpenAI SDKs and plain fetch (for raw SSE); the
 * usage rows are read from the real SQLite file with the sqlite3 CLI.
 *
 * Every model below has Bedrock ids of its own, so each test has circuits of its own.
 *
 * Run from tests/:
 *   BD_BEDROCKD=... BD_EMULATOR=... BD_BEDROCKCTL=... node --test integration/failover.test.mjs
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';

import {
    binaryFromEnv, makeTempDir, runBinary, startBedrockd, startEmulator, waitUntil,
} from './lib/harness.mjs';

if (!existsSync(new URL('../node_modules/openai/', import.meta.url))) {
    throw new Error('tests/node_modules is missing: run `npm ci` in tests/ first');
}
const { default: Anthropic } = await import('@anthropic-ai/sdk');
const { default: OpenAI } = await import('openai');

const KEY = 'sk-bdtest-failover-0123456789';
const ID = Object.freeze({
    throttled: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
    stalled: 'eu.anthropic.claude-sonnet-4-5-20250929-v1:0',
    midstream: 'global.anthropic.claude-sonnet-4-5-20250929-v1:0',
    breaker: 'us.anthropic.claude-haiku-4-5-20251001-v1:0',
    exhausted: 'us.anthropic.claude-opus-4-1-20250805-v1:0',
    clienterr: 'eu.anthropic.claude-haiku-4-5-20251001-v1:0',
    byname: 'global.anthropic.claude-haiku-4-5-20251001-v1:0',
    small: 'us.amazon.nova-lite-v1:0',
    spread: 'amazon.nova-pro-v1:0',
    tiered: 'amazon.nova-lite-v1:0',
    strict: 'amazon.nova-micro-v1:0',
    retryafter: 'eu.anthropic.claude-opus-4-1-20250805-v1:0',
});
const WEST = 'us-west-2';
const EAST = 'us-east-1';

function conf(east, west, db, cooldown = '1h') {
    const fb = (id, extra = '') => `fallback ${id} region=${WEST} endpoint=${west.url}${extra};`;
    return `worker_threads 2;
listen 127.0.0.1:0;
error_log stderr info;
access_log stdout;
store ${db};
master_key ${KEY};
sse_ping_interval 1h;

bedrock {
    region ${EAST};
    endpoint ${east.url};
    catalog off;
    credentials static;
    access_key_id AKIDEXAMPLE;
    secret_access_key wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY;
    retries 0;
    first_byte_timeout 1s;
    stream_idle_timeout 1s;
    circuit_failures 2;
    circuit_cooldown ${cooldown};
}

model throttled { id ${ID.throttled}; ${fb(ID.throttled)} }
model stalled { id ${ID.stalled}; ${fb(ID.stalled)} }
model midstream { id ${ID.midstream}; ${fb(ID.midstream)} }
model breaker { id ${ID.breaker}; ${fb(ID.breaker)} }
model exhausted { id ${ID.exhausted}; route converse; ${fb(ID.exhausted)} }
model clienterr { id ${ID.clienterr}; ${fb(ID.clienterr)} }
model retryafter { id ${ID.retryafter}; ${fb(ID.retryafter, ' on=throttle')} }
model small { id ${ID.small}; }
model byname { id ${ID.byname}; route converse; fallback small on=throttle; }
model spread { id ${ID.spread}; weight 3; ${fb(ID.spread, ' weight=1 name=spread-west')} }
model tiered { id ${ID.tiered}; service_tier priority; }
model strict { id ${ID.strict}; service_tier priority strict; }
`;
}

let east;
let west;
let bd;
let db;
let anthropic;
let openai;

async function setState(emu, spec, model) {
    const body = spec && model ? `${spec} model=${model}` : (spec || '');
    const res = await fetch(`${emu.url}/_emulator/state`, { method: 'POST', body });
    assert.equal(res.status, 200);
    return res.json();
}

async function emuState(emu) {
    return (await fetch(`${emu.url}/_emulator/state`)).json();
}

async function ready() {
    return (await fetch(`${bd.url}/ready`)).json();
}

function label(region, id) {
    return `${region}/${id}`;
}

function sql(query) {
    return execFileSync('sqlite3', [db, query], { encoding: 'utf8' }).trim();
}

/* The usage row of request <rid>, once the store thread wrote it. */
async function usageRow(rid) {
    return waitUntil(() => {
        const out = sql(`SELECT model, model_resolved, served_by, input_tokens, output_tokens, ` +
                        `status FROM usage WHERE request_id = '${rid}'`);
        return out ? out.split('|') : null;
    }, { what: `usage row of ${rid}` });
}

async function ask(model, text, opts = {}) {
    return anthropic.messages.create({
        model, max_tokens: 64, messages: [{ role: 'user', content: text }], ...opts,
    }).withResponse();
}

before(async () => {
    east = await startEmulator({ args: ['--region', EAST] });
    west = await startEmulator({ args: ['--region', WEST] });
    db = path.join(makeTempDir('bd-failover-'), 'store.db');
    bd = await startBedrockd({ conf: conf(east, west, db) });
    anthropic = new Anthropic({ baseURL: bd.url, apiKey: KEY, maxRetries: 0 });
    openai = new OpenAI({ baseURL: `${bd.url}/v1`, apiKey: KEY, maxRetries: 0 });
});

describe('failover before the first byte', () => {
    test('a throttled region hands the request to the next one', async () => {
        await setState(east, 'throttle', ID.throttled);
        const westBefore = (await emuState(west)).model_requests;
        const { data, response } = await ask('throttled', 'hello west');
        await setState(east, '');
        assert.equal(data.model, 'throttled', 'the answer carries the name the client sent');
        assert.equal(data.content[0].text, 'hello west');
        assert.equal(response.headers.get('x-bedrockd-served-by'), label(WEST, ID.throttled));
        assert.equal((await emuState(west)).model_requests, westBefore + 1);

        const rid = response.headers.get('request-id') ?? response.headers.get('x-request-id');
        assert.ok(rid, 'a request id header');
        const [model, resolved, servedBy, input, output, status] = await usageRow(rid);
        assert.deepEqual([model, resolved, servedBy, status],
                         ['throttled', ID.throttled, label(WEST, ID.throttled), '200']);
        assert.equal(Number(output), data.usage.output_tokens);
        assert.equal(Number(input), data.usage.input_tokens);
        await bd.stdout.waitFor(new RegExp(`"request_id":"${rid}".*"served_by":"us-west-2/`));
    });

    test('a stalled region times out and the next one streams the answer', async () => {
        await setState(east, 'slow ttft_ms=5000', ID.stalled);
        const res = await fetch(`${bd.url}/v1/messages`, {
            method: 'POST',
            headers: { 'x-api-key': KEY, 'content-type': 'application/json' },
            body: JSON.stringify({ model: 'stalled', max_tokens: 64, stream: true,
                                   messages: [{ role: 'user', content: 'stream from west' }] }),
        });
        const text = await res.text();
        await setState(east, '');
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('x-bedrockd-served-by'), label(WEST, ID.stalled));
        assert.match(text, /event: message_stop/);
        assert.match(text, /stream/);
    });

    test('a stream that started is never retried elsewhere', async () => {
        const westBefore = (await emuState(west)).model_requests;
        const res = await fetch(`${bd.url}/v1/messages`, {
            method: 'POST',
            headers: { 'x-api-key': KEY, 'content-type': 'application/json' },
            body: JSON.stringify({
                model: 'midstream', max_tokens: 64, stream: true,
                messages: [{ role: 'user',
                             content: '[[emu:midstream_error after=2 type=throttlingException]] ' +
                                      'one two three four' }],
            }),
        });
        const text = await res.text();
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('x-bedrockd-served-by'), label(EAST, ID.midstream));
        assert.match(text, /event: content_block_delta/);
        assert.match(text, /event: error\ndata: \{"type":"error","error":\{"type":"rate_limit_error"/);
        assert.doesNotMatch(text, /message_stop/);
        assert.equal((await emuState(west)).model_requests, westBefore,
                     'the second region never saw the request');
    });

    test('a client error is answered as it is, never failed over', async () => {
        await setState(east, 'validation', ID.clienterr);
        const westBefore = (await emuState(west)).model_requests;
        await assert.rejects(ask('clienterr', 'bad'), (err) => err instanceof Anthropic.BadRequestError);
        await setState(east, '');
        assert.equal((await emuState(west)).model_requests, westBefore);
    });

    test('a fallback naming another model takes that model\'s id, on its error classes', async () => {
        await setState(east, 'throttle', ID.byname);
        const { data, response } = await ask('byname', 'smaller model');
        assert.equal(data.model, 'byname');
        assert.equal(response.headers.get('x-bedrockd-served-by'), label(EAST, ID.small));
        await setState(east, 'unavailable', ID.byname);
        /* on=throttle: a 5xx does not move on to it */
        await assert.rejects(ask('byname', 'down'), (err) => err.status === 529);
        await setState(east, '');
    });
});

describe('an exhausted chain answers with the last target\'s error', () => {
    test('in the Anthropic format', async () => {
        await setState(east, 'throttle', ID.exhausted);
        await setState(west, 'unavailable', ID.exhausted);
        const err = await ask('exhausted', 'nobody').then(() => null, (e) => e);
        assert.ok(err instanceof Anthropic.APIError, String(err));
        assert.equal(err.status, 529);
        assert.equal(err.error.error.type, 'overloaded_error');
        assert.match(err.error.error.message, /unable to process/);
        const h = err.headers;
        assert.equal(typeof h.get === 'function' ? h.get('x-bedrockd-served-by')
                                                 : h['x-bedrockd-served-by'],
                     label(WEST, ID.exhausted));
    });

    test('in the OpenAI format', async () => {
        const err = await openai.chat.completions.create({
            model: 'exhausted', messages: [{ role: 'user', content: 'nobody' }],
        }).then(() => null, (e) => e);
        await setState(east, '');
        await setState(west, '');
        assert.ok(err instanceof OpenAI.APIError, String(err));
        assert.equal(err.status, 503);
        assert.equal(err.error.type, 'server_error');
        assert.match(err.error.message, /unable to process/);
    });
});

describe('circuit breaking', () => {
    test('opens after consecutive failures, skips, probes, and closes', async () => {
        const A = label(EAST, ID.breaker);
        await setState(east, 'unavailable', ID.breaker);
        for (let i = 0; i < 2; i++) {
            const { response } = await ask('breaker', `fail ${i}`);
            assert.equal(response.headers.get('x-bedrockd-served-by'), label(WEST, ID.breaker));
        }
        assert.equal((await ready()).upstreams[A].state, 'open');
        const metrics = await (await fetch(`${bd.url}/metrics`)).text();
        assert.match(metrics, new RegExp(`bedrockd_upstream_circuit_state\\{target="${A}"\\} 1`));

        /* open: the first region is skipped, not asked */
        const eastBefore = (await emuState(east)).model_requests;
        for (let i = 0; i < 3; i++) {
            const { response } = await ask('breaker', `skip ${i}`);
            assert.equal(response.headers.get('x-bedrockd-served-by'), label(WEST, ID.breaker));
        }
        assert.equal((await emuState(east)).model_requests, eastBefore);

        /* a reload shortens the cool-down: the next request probes, fails, opens again */
        const r1 = await bd.reload(conf(east, west, db, '1ms'));
        assert.ok(r1.ok, r1.line);
        await ask('breaker', 'probe fails');
        assert.equal((await emuState(east)).model_requests, eastBefore + 1);

        /* the region recovers: the probe succeeds and the circuit closes */
        await setState(east, '');
        const { response } = await ask('breaker', 'probe succeeds');
        assert.equal(response.headers.get('x-bedrockd-served-by'), A);
        assert.equal((await ready()).upstreams[A].state, 'closed');
        const r2 = await bd.reload(conf(east, west, db));
        assert.ok(r2.ok, r2.line);
    });

    test('a throttle with retry-after skips the target for that long', async () => {
        const A = label(EAST, ID.retryafter);
        await setState(east, 'throttle retry_after=3600', ID.retryafter);
        const first = await ask('retryafter', 'once');
        assert.equal(first.response.headers.get('x-bedrockd-served-by'), label(WEST, ID.retryafter));
        await setState(east, '');
        const state = (await ready()).upstreams[A];
        assert.equal(state.state, 'open', 'one throttle with retry-after opens the circuit');
        assert.ok(state.open_ms > 3000 * 1000, JSON.stringify(state));
        const eastBefore = (await emuState(east)).model_requests;
        const { response } = await ask('retryafter', 'skipped');
        assert.equal(response.headers.get('x-bedrockd-served-by'), label(WEST, ID.retryafter));
        assert.equal((await emuState(east)).model_requests, eastBefore);
    });
});

describe('weights', () => {
    test('spread load across equivalents in proportion, within a statistical bound', async () => {
        const N = 400;
        const counts = new Map();
        let next = 0;
        async function worker() {
            while (next < N) {
                next++;
                const { response } = await openai.chat.completions.create({
                    model: 'spread', max_tokens: 8, messages: [{ role: 'user', content: 'x' }],
                }).withResponse();
                const who = response.headers.get('x-bedrockd-served-by');
                counts.set(who, (counts.get(who) ?? 0) + 1);
            }
        }
        await Promise.all(Array.from({ length: 8 }, worker));
        const westCount = counts.get('spread-west') ?? 0;
        const eastCount = counts.get(label(EAST, ID.spread)) ?? 0;
        assert.equal(westCount + eastCount, N, JSON.stringify([...counts]));
        /* weights 3:1: west is Binomial(400, 1/4), mean 100, sd 8.7; 5 sd either side */
        assert.ok(Math.abs(westCount - 100) <= 43, `west served ${westCount} of ${N}`);
    });
});

describe('service tiers', () => {
    test('a tier the region lacks falls back to the default tier', async () => {
        await setState(east, 'tier_unsupported', ID.tiered);
        const before = (await emuState(east)).service_tiers;
        const { data, response } = await ask('tiered', 'priority please');
        assert.equal(data.content[0].text, 'priority please');
        assert.equal(response.headers.get('x-bedrockd-service-tier'), 'default');
        const after = (await emuState(east)).service_tiers;
        assert.equal((after.priority ?? 0) - (before.priority ?? 0), 1, 'asked for priority once');
        assert.equal((after.none ?? 0) - (before.none ?? 0), 1, 'then for the default tier');
    });

    test('strict: the tier error reaches the client', async () => {
        await setState(east, 'tier_unsupported', ID.strict);
        await assert.rejects(ask('strict', 'priority only'),
                             (err) => err instanceof Anthropic.BadRequestError);
        await setState(east, '');
    });

    test('a key asks for its tier through its metadata, on both routes', async () => {
        const bin = binaryFromEnv('BD_BEDROCKCTL', 'bedrockctl');
        const r = await runBinary(bin, ['--store', db, 'key', 'create', '--name', 'flexy',
                                        '--metadata', '{"service_tier":"flex"}',
                                        '--format', 'json']);
        assert.equal(r.code, 0, r.stderr);
        const secret = JSON.parse(r.stdout).secret;
        const client = new Anthropic({ baseURL: bd.url, apiKey: secret, maxRetries: 0 });
        const before = (await emuState(east)).service_tiers.flex ?? 0;
        /* small is Converse (serviceTier in the body); throttled is InvokeModel (a header) */
        for (const model of ['small', 'throttled']) {
            const { response } = await waitUntil(
                () => client.messages.create({ model, max_tokens: 8,
                                               messages: [{ role: 'user', content: 'x' }] })
                    .withResponse().catch(() => null),
                { what: 'the new key to be known' });
            assert.equal(response.headers.get('x-bedrockd-service-tier'), 'flex');
        }
        assert.equal((await emuState(east)).service_tiers.flex, before + 2);
    });
});

describe('the end', () => {
    test('bedrockd stops cleanly (under the sanitizers too)', async () => {
        assert.equal(await bd.stop(), 0);
        assert.doesNotMatch(bd.stderr, /AddressSanitizer|LeakSanitizer|runtime error:/);
    });
});
