/*
 * anthropic_sse.test.mjs: the raw bytes of bedrockd's Anthropic SSE streams on both
 * Bedrock routes, compared with recordings in expected/*.sse (event names, JSON key
 * order and blank lines byte for byte; only the random message and tool ids are
 * normalized, and pings, which depend on timing, are checked apart). Also: headers
 * of streams, request-id on every response, an upstream failure mid-stream ends the
 * stream with an error event and the chunked terminator, pings while Bedrock is
 * silent for longer than sse_ping_interval.
 *
 * Run from tests/:
 *   BD_BEDROCKD=.../bedrockd BD_EMULATOR=.../bedrock-emulator \
 *       node --test integration/anthropic_sse.test.mjs
 * BD_RECORD_SSE=1 rewrites the recordings from what bedrockd sends (review the diff).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { before, describe, test } from 'node:test';

import { httpRequest, httpStream, openConnection } from './lib/harness.mjs';
import { MASTER_KEY, ROUTES, marker, startAnthropicEnv } from './lib/anthropic_env.mjs';

const EXPECTED_DIR = new URL('./expected/', import.meta.url);
const PING = 'event: ping\ndata: {"type":"ping"}\n\n';
const AUTH = { 'x-api-key': MASTER_KEY };
const JSON_HEADERS = { 'content-type': 'application/json', 'anthropic-version': '2023-06-01',
                       ...AUTH };

let env;

before(async () => {
    env = await startAnthropicEnv({ pingInterval: '200ms' });
});

/* The fixed requests whose streams are recorded, by recording name. */
const RECORDED = {
    echo: {
        max_tokens: 64,
        stream: true,
        messages: [{ role: 'user', content: 'Hello from the SSE test' }],
    },
    tool: {
        max_tokens: 256,
        stream: true,
        tools: [{
            name: 'get_weather',
            description: 'Weather for a city',
            input_schema: { type: 'object',
                            properties: { city: { type: 'string' }, days: { type: 'integer' } } },
        }],
        tool_choice: { type: 'auto' },
        messages: [{ role: 'user', content: `Weather in Oslo? ${marker('tool')}` }],
    },
    reasoning: {
        max_tokens: 2048,
        stream: true,
        thinking: { type: 'enabled', budget_tokens: 1024 },
        messages: [{ role: 'user', content: `Ponder this ${marker('reasoning')}` }],
    },
    midstream_error: {
        max_tokens: 64,
        stream: true,
        messages: [{ role: 'user', content: `a b c d e ${marker('midstream_error after=2')}` }],
    },
};

function said(content) {
    return [{ role: 'user', content }];
}

function post(path, body, headers = JSON_HEADERS) {
    return httpRequest(`${env.bd.url}${path}`, {
        method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body),
    });
}

/* Replaces the ids that differ on every call (message ids, tool use ids). */
function normalizeIds(text) {
    return text
        .replace(/("type":"message_start","message":\{"id":")msg_[A-Za-z0-9_]+"/g, '$1msg_ID"')
        .replace(/("content_block":\{"type":"tool_use","id":")[A-Za-z0-9_]+"/g, '$1TOOL_ID"');
}

/* Splits the pings out of an SSE body: { body without them, count }. Each one
 * must be exactly PING and come after message_start. */
function takePings(text) {
    const start = text.indexOf('event: message_start\n');
    assert.ok(!text.slice(0, start).includes('event: ping'), 'ping before message_start');
    const parts = text.split(PING);
    assert.ok(!parts.join('').includes('event: ping'), 'a ping that is not byte-exact');
    return { body: parts.join(''), count: parts.length - 1 };
}

function expectedPath(name) {
    return new URL(`anthropic_${name}.sse`, EXPECTED_DIR);
}

/* Compares <actual> with the recording <name> (or records it under BD_RECORD_SSE). */
function assertRecording(name, actual) {
    const file = expectedPath(name);
    if (process.env.BD_RECORD_SSE) {
        fs.mkdirSync(EXPECTED_DIR, { recursive: true });
        fs.writeFileSync(file, actual);
    }
    const expected = fs.readFileSync(file, 'utf8');
    assert.equal(actual, expected, `stream differs from ${file.pathname}`);
}

/* Checks that every event is `event: T\ndata: {"type":"T",...}\n\n`, one-line JSON. */
function assertFraming(text) {
    assert.ok(text.endsWith('\n\n'), 'the stream does not end with a blank line');
    const events = text.slice(0, -2).split('\n\n');
    for (const ev of events) {
        const m = /^event: ([a-z_]+)\ndata: (\{.*\})$/.exec(ev);
        assert.ok(m, `badly framed event: ${JSON.stringify(ev)}`);
        assert.equal(JSON.parse(m[2]).type, m[1], `event name and type differ in ${ev}`);
    }
    return events.map((ev) => ev.slice('event: '.length, ev.indexOf('\n')));
}

describe('recorded streams', () => {
    for (const { route, model } of ROUTES) {
        for (const [name, body] of Object.entries(RECORDED)) {
            const file = `expected/anthropic_${route}_${name}.sse`;
            test(`${name} on ${route} matches ${file}`, async () => {
                const res = await post('/v1/messages', { model, ...body });
                assert.equal(res.status, 200, res.body);
                assert.match(res.headers['content-type'], /^text\/event-stream(;|$)/);
                assert.equal(res.headers['cache-control'], 'no-cache');
                assert.match(res.headers['request-id'], /^req_[A-Za-z0-9]+$/);
                assert.equal(res.headers['transfer-encoding'], 'chunked');
                const { body: text } = takePings(res.body);
                const names = assertFraming(text);
                assert.equal(names[0], 'message_start');
                assert.equal(names.at(-1), name === 'midstream_error' ? 'error' : 'message_stop');
                assertRecording(`${route}_${name}`, normalizeIds(text));
            });
        }
    }
});

describe('request-id on every response', () => {
    const model = ROUTES[0].model;
    const cases = [
        ['message', () => post('/v1/messages', { model, max_tokens: 9, messages: said('hi') })],
        ['stream', () => post('/v1/messages', { ...RECORDED.echo, model })],
        ['count_tokens', () => post('/v1/messages/count_tokens', { model, messages: said('hi') })],
        ['models', () => httpRequest(`${env.bd.url}/v1/models`, { headers: AUTH })],
        ['model', () => httpRequest(`${env.bd.url}/v1/models/${model}`, { headers: AUTH })],
        ['unknown model id', () => httpRequest(`${env.bd.url}/v1/models/none`, { headers: AUTH })],
        ['bad JSON', () => post('/v1/messages', '{"model"')],
        ['empty body', () => post('/v1/messages', '')],
        ['unknown model', () => post('/v1/messages', { model: 'nope', max_tokens: 9,
                                                       messages: [] })],
        ['upstream throttle', () => post('/v1/messages', { model, max_tokens: 9,
                                                           messages: said(marker('throttle')) })],
        ['upstream throttle, stream', () => post('/v1/messages', {
            model, max_tokens: 9, stream: true, messages: said(marker('throttle')),
        })],
        ['unknown path', () => post('/v1/nothing-here', {})],
        ['wrong method', () => httpRequest(`${env.bd.url}/v1/messages`, { headers: AUTH })],
        ['no API key', () => post('/v1/messages', { model, max_tokens: 9, messages: [] },
                                  { 'content-type': 'application/json' })],
        ['wrong API key, stream', () => post('/v1/messages', { ...RECORDED.echo, model },
                                             { 'content-type': 'application/json',
                                               authorization: 'Bearer sk-wrong' })],
    ];
    for (const [name, call] of cases) {
        test(name, async () => {
            const res = await call();
            const id = res.headers['request-id'];
            assert.match(id ?? '', /^req_[A-Za-z0-9]+$/, `${res.status} without request-id`);
            if (res.status >= 400) {
                assert.match(res.headers['content-type'], /^application\/json/);
                assert.equal(res.json?.type, 'error', res.body);
                assert.equal(res.json.request_id, id);
            }
        });
    }

    test('ids differ between requests', async () => {
        const a = await httpRequest(`${env.bd.url}/v1/models`, { headers: AUTH });
        const b = await httpRequest(`${env.bd.url}/v1/models`, { headers: AUTH });
        assert.notEqual(a.headers['request-id'], b.headers['request-id']);
    });
});

describe('failures mid-stream', () => {
    /* openConnection parses the chunked body and resolves only on its terminator
     * (rejecting after its timeout), so a resolved request proves the stream ended. */
    async function streamOnConnection(body) {
        const c = await openConnection(env.bd.port, { timeoutMs: 5000 });
        try {
            return await c.request({
                method: 'POST',
                path: '/v1/messages',
                headers: { ...JSON_HEADERS, 'content-length': String(Buffer.byteLength(body)) },
                body,
            });
        } finally {
            c.close();
        }
    }

    const cases = [
        ['midstream_error after=2', 'api_error'],
        ['midstream_error after=1 type=throttlingException', 'rate_limit_error'],
        ['midstream_error after=3 type=serviceUnavailableException', 'overloaded_error'],
        ['cut after=2', 'api_error'],
    ];
    for (const { route, model } of ROUTES) {
        for (const [spec, type] of cases) {
            test(`${spec} on ${route}: error event, then the chunked terminator`, async () => {
                const res = await streamOnConnection(JSON.stringify({
                    model, max_tokens: 64, stream: true,
                    messages: [{ role: 'user', content: `w1 w2 w3 w4 w5 w6 ${marker(spec)}` }],
                }));
                assert.equal(res.status, 200);
                assert.equal(res.headers['transfer-encoding'], 'chunked');
                const { body } = takePings(res.body);
                const names = assertFraming(body);
                assert.equal(names[0], 'message_start');
                assert.equal(names.at(-1), 'error');
                assert.equal(names.filter((n) => n === 'error').length, 1);
                assert.ok(!names.includes('message_stop'));
                const last = JSON.parse(body.slice(0, -2).split('\n\n').at(-1).split('data: ')[1]);
                assert.equal(last.error.type, type);
                assert.equal(typeof last.error.message, 'string');
                assert.ok(last.error.message.length > 0);
            });
        }
    }

    test('bedrockd keeps serving after the failures', async () => {
        const res = await post('/v1/messages', { ...RECORDED.echo, model: ROUTES[1].model });
        assert.equal(res.status, 200);
        assert.match(res.body, /event: message_stop\n/);
    });
});

describe('pings', () => {
    for (const { route, model } of ROUTES) {
        test(`a ping while Bedrock is silent over sse_ping_interval (${route})`, async () => {
            const s = await httpStream(`${env.bd.url}/v1/messages`, {
                headers: JSON_HEADERS,
                body: JSON.stringify({
                    model, max_tokens: 64, stream: true,
                    messages: said(`slow one two ${marker('slow delay_ms=700')}`),
                }),
            });
            assert.equal(s.status, 200);
            const { text, complete } = await s.done;
            assert.ok(complete, 'the stream broke');
            /* Pieces come 700 ms apart and the interval is 200 ms. */
            const { body, count } = takePings(text);
            assert.ok(count >= 1, `no ping in:\n${text}`);
            const firstPing = text.indexOf(PING);
            assert.ok(firstPing > text.indexOf('event: message_start\n'));
            assert.ok(text.lastIndexOf(PING) < text.indexOf('event: message_stop\n'));
            const names = assertFraming(body);
            assert.equal(names.at(-1), 'message_stop');
            const deltas = body.match(/"text_delta","text":"[^"]*"/g).map((d) => d.split(':"')[1]);
            assert.deepEqual(deltas, ['slow "', 'one "', 'two"']);
        });
    }
});
