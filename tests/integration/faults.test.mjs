/*
 * faults.test.mjs: the real bedrockd in front of a bedrock-emulator that misbehaves
 * on purpose: throttling storms, 5xx, a connection reset mid-stream, corrupt frames
 * (bad message CRC, a prelude claiming impossible header lengths, invalid JSON in a
 * valid frame), every frame split at every byte boundary, a stalled upstream, an
 * upstream that is down, and a stop that cuts streams at shutdown_timeout. For each:
 * the client gets the right error in its own API's shape, retries happen only before
 * the first byte reached the client, and no descriptor is left behind (counted in
 * /proc/PID/fd before and after).
 *
 * Run from tests/:
 *   BD_BEDROCKD=.../bedrockd BD_EMULATOR=.../bedrock-emulator \
 *       node --test integration/faults.test.mjs
 * Node built-ins and the sqlite3 command.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
    freePort,
    httpRequest,
    httpStream,
    startBedrockd,
    startEmulator,
    waitUntil,
} from './lib/harness.mjs';

const CLAUDE_ID = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const NOVA_ID = 'us.amazon.nova-pro-v1:0';
const MASTER_KEY = 'faults-test-master-key-0123456789';
const MAX_CONNECTIONS = 4;

function conf(endpoint, { extra = '', bedrock = '' } = {}) {
    return `worker_threads 1;
listen 127.0.0.1:0;
error_log stderr info;
store off;
master_key ${MASTER_KEY};
${extra}
bedrock {
    region us-east-1;
    endpoint ${endpoint};
    credentials static;
    access_key_id AKIDEXAMPLE;
    secret_access_key wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY;
    catalog off;
    retries 2;
    retry_base 10ms;
    max_connections ${MAX_CONNECTIONS};
    ${bedrock}
}

model claude-invoke {
    id ${CLAUDE_ID};
    route invoke;
}
model claude-converse {
    id ${CLAUDE_ID};
    route converse;
}
model nova {
    id ${NOVA_ID};
}
`;
}

let seq = 0;
/* A marker unique to this call, so count=N applies to it alone. */
function marker(scenario) {
    seq += 1;
    return `[[emu:${scenario} id=${process.pid}-${seq}]] hello there`;
}

/* A stream's status and whole body, once it ended (or its headers only: { opened }). */
async function streamed(p, { opened = false } = {}) {
    const s = await p;
    if (opened) {
        return s;
    }
    const done = await s.done;
    return { status: s.status, body: done.text, complete: done.complete };
}

function anthropic(base, text, { model = 'claude-converse', stream = false, opened } = {}) {
    const body = JSON.stringify({ model, max_tokens: 64, stream,
                                  messages: [{ role: 'user', content: text }] });
    const headers = { 'content-type': 'application/json', 'x-api-key': MASTER_KEY };
    return stream ? streamed(httpStream(`${base}/v1/messages`, { headers, body }), { opened })
                  : httpRequest(`${base}/v1/messages`, { method: 'POST', headers, body });
}

function openai(base, text, { stream = false, opened } = {}) {
    const body = JSON.stringify({ model: 'nova', stream,
                                  messages: [{ role: 'user', content: text }] });
    const headers = { 'content-type': 'application/json',
                      authorization: `Bearer ${MASTER_KEY}` };
    return stream ? streamed(httpStream(`${base}/v1/chat/completions`, { headers, body }),
                             { opened })
                  : httpRequest(`${base}/v1/chat/completions`, { method: 'POST', headers, body });
}

/* The SSE events of an Anthropic stream body: [{ event, data }]. */
function sseEvents(body) {
    const out = [];
    for (const block of body.split('\n\n')) {
        const ev = /^event: (.*)$/m.exec(block);
        const data = /^data: (.*)$/m.exec(block);
        if (ev && data) {
            out.push({ event: ev[1], data: JSON.parse(data[1]) });
        }
    }
    return out;
}

/* The data lines of an OpenAI stream body, parsed; '[DONE]' kept as a string. */
function chunks(body) {
    return body.split('\n').filter((l) => l.startsWith('data: '))
        .map((l) => (l === 'data: [DONE]' ? '[DONE]' : JSON.parse(l.slice(6))));
}

function assertAnthropicError(r, status, type) {
    assert.equal(r.status, status, r.body);
    assert.equal(r.json?.type, 'error', r.body);
    assert.equal(r.json.error.type, type, r.body);
    assert.ok(r.json.error.message.length > 0);
}

function assertOpenAIError(r, status) {
    assert.equal(r.status, status, r.body);
    assert.ok(r.json?.error && typeof r.json.error.message === 'string', r.body);
}

/* An Anthropic stream that ended with an error event and nothing after it. */
function assertStreamFailed(body, { type } = {}) {
    const events = sseEvents(body);
    assert.ok(events.length > 0, body);
    const last = events[events.length - 1];
    assert.equal(last.event, 'error', body);
    if (type) {
        assert.equal(last.data.error.type, type, body);
    }
    assert.ok(!events.some((e) => e.event === 'message_stop'), body);
}

function fdCount(pid) {
    return fs.readdirSync(`/proc/${pid}/fd`).length;
}

/* The descriptor count once the (single) worker has made its own: it answered. */
async function settledFdCount(d) {
    assert.equal((await httpRequest(`${d.url}/health`)).status, 200);
    return fdCount(d.pid);
}

/* What the descriptors of <pid> are, for a failure message. */
function fdList(pid) {
    const dir = `/proc/${pid}/fd`;
    return fs.readdirSync(dir).map((fd) => {
        try {
            return `${fd}:${fs.readlinkSync(path.join(dir, fd))}`;
        } catch {
            return fd;
        }
    }).join(' ');
}

describe('an upstream that misbehaves', () => {
    let emu;
    let d;
    let baseline;

    before(async () => {
        emu = await startEmulator();
        d = await startBedrockd({ conf: conf(emu.url) });
        /* Warm up: the upstream pool and the lazily made parts exist before counting. */
        for (let i = 0; i < MAX_CONNECTIONS; i++) {
            assert.equal((await anthropic(d.url, 'warm up')).status, 200);
        }
        baseline = fdCount(d.pid);
    });

    after(async () => {
        /* Every client connection closed and every upstream connection back in (or
         * out of) the pool: no more descriptors than before the faults, give or take
         * the pool's cached connections. */
        await waitUntil(() => fdCount(d.pid) <= baseline + MAX_CONNECTIONS,
                        { timeoutMs: 20000, what: 'descriptors back to the baseline' });
        const afterCount = fdCount(d.pid);
        assert.ok(afterCount <= baseline + MAX_CONNECTIONS,
                  `descriptors: ${baseline} before, ${afterCount} after`);
        assert.equal(await d.stop(), 0);
        await emu.stop();
    });

    test('a throttling storm: retried within budget, then 429 in each API\'s shape', async () => {
        const rs = await Promise.all(Array.from({ length: 12 }, (_, i) =>
            (i % 2 ? openai(d.url, marker('throttle')) : anthropic(d.url, marker('throttle')))));
        rs.forEach((r, i) => (i % 2 ? assertOpenAIError(r, 429)
                                    : assertAnthropicError(r, 429, 'rate_limit_error')));
        const ok = await anthropic(d.url, marker('throttle count=2'));
        assert.equal(ok.status, 200, ok.body);
    });

    test('5xx: retried, then the model\'s answer; always 5xx: api_error', async () => {
        assert.equal((await anthropic(d.url, marker('internal count=1'))).status, 200);
        assert.equal((await openai(d.url, marker('unavailable count=2'))).status, 200);
        assertAnthropicError(await anthropic(d.url, marker('internal')), 500, 'api_error');
        assertOpenAIError(await openai(d.url, marker('internal')), 500);
    });

    test('a reset before the first byte is retried; mid-stream it is an error event, ' +
         'never a retry', async () => {
        /* Non-streaming: half a body, then the close; the second attempt answers. */
        const plain = await anthropic(d.url, marker('cut count=1'));
        assert.equal(plain.status, 200, plain.body);
        for (const model of ['claude-converse', 'claude-invoke']) {
            /* A retry after the first byte would answer the rest: count=1 lets it. */
            const s = await anthropic(d.url, marker('cut after=2 count=1'), { model, stream: true });
            assert.equal(s.status, 200);
            assertStreamFailed(s.body);
        }
        const o = await openai(d.url, marker('cut after=2 count=1'), { stream: true });
        const cs = chunks(o.body);
        assert.ok(cs.some((c) => c !== '[DONE]' && c.error), o.body);
        assert.ok(!cs.some((c) => c !== '[DONE]' && c.choices?.[0]?.finish_reason), o.body);
    });

    for (const kind of ['json', 'crc', 'header_len']) {
        test(`a corrupt frame (${kind}) mid-stream: an error event, not a quiet end`, async () => {
            for (const model of ['claude-converse', 'claude-invoke']) {
                const s = await anthropic(d.url, marker(`corrupt kind=${kind} after=2`),
                                          { model, stream: true });
                assert.equal(s.status, 200);
                assertStreamFailed(s.body, { type: 'api_error' });
            }
            const o = await openai(d.url, marker(`corrupt kind=${kind} after=2`), { stream: true });
            const cs = chunks(o.body);
            assert.ok(cs.some((c) => c !== '[DONE]' && c.error), o.body);
        });
    }

    test('a 200 whose body is not JSON: api_error, not a crash', async () => {
        assertAnthropicError(await anthropic(d.url, marker('corrupt')), 502, 'api_error');
        assertOpenAIError(await openai(d.url, marker('corrupt')), 502);
    });

    test('every frame split at every byte boundary: the same answer as in one piece',
         async () => {
        for (const model of ['claude-converse', 'claude-invoke']) {
            const whole = await anthropic(d.url, '[[emu:echo tokens=6]] split me', { model, stream: true });
            const split = await anthropic(d.url, '[[emu:echo tokens=6 bytewise=1]] split me',
                                          { model, stream: true });
            const text = (b) => sseEvents(b).filter((e) => e.event === 'content_block_delta')
                .map((e) => e.data.delta.text).join('');
            assert.ok(sseEvents(split.body).some((e) => e.event === 'message_stop'), split.body);
            assert.equal(text(split.body), text(whole.body));
            assert.ok(text(whole.body).length > 0);
        }
    });
});

describe('a stalled or absent upstream', () => {
    test('stalled: read_timeout for a plain call, stream_idle_timeout for a stream',
         async (t) => {
        const emu = await startEmulator({ t });
        const d = await startBedrockd({
            t, conf: conf(emu.url, { bedrock: 'read_timeout 1s; stream_idle_timeout 1s; ' +
                                              'request_timeout 10m;' }),
        });
        const before = await settledFdCount(d);
        assertAnthropicError(await anthropic(d.url, marker('slow ttft_ms=60000')), 504, 'api_error');
        assertOpenAIError(await openai(d.url, marker('slow ttft_ms=60000')), 504);
        const s = await anthropic(d.url, marker('slow delay_ms=60000 tokens=4'), { stream: true });
        assertStreamFailed(s.body);
        /* The stalled connections were closed, not kept. */
        await waitUntil(() => fdCount(d.pid) <= before,
                        { timeoutMs: 30000, what: `stalled connections closed (${fdList(d.pid)})` });
        assert.equal(await d.stop(), 0);
    });

    test('down: connection refused, retried, then an error in the client\'s shape',
         async (t) => {
        const port = await freePort();
        const d = await startBedrockd({ t, conf: conf(`http://127.0.0.1:${port}`) });
        const before = await settledFdCount(d);
        const from = d.mark();
        assertAnthropicError(await anthropic(d.url, 'hello'), 500, 'api_error');
        assertOpenAIError(await openai(d.url, 'hello'), 500);
        const s = await anthropic(d.url, 'hello', { stream: true });
        assert.ok(s.status >= 500, s.body);
        await d.waitForLog(/bedrock attempt 2 failed .*retrying/, { from });
        await waitUntil(() => fdCount(d.pid) <= before,
                        { what: `descriptors back to ${before} after refused connections` });
        assert.equal(await d.stop(), 0);
    });
});

describe('a stop that outlasts shutdown_timeout', () => {
    const sqlite = spawnSync('sqlite3', ['--version']).status === 0;

    test('cut streams end with an error event and their usage rows say 503', async (t) => {
        if (!sqlite) {
            t.skip('sqlite3 not found (deploy/deps.sh test installs it)');
            return;
        }
        const emu = await startEmulator({ t });
        const d = await startBedrockd({
            t,
            conf: (dir) => conf(emu.url, { extra: `store ${path.join(dir, 'bd.db')};\n` +
                                                  'shutdown_timeout 300ms;' })
                .replace('store off;', ''),
        });
        const slow = 'slow delay_ms=400 tokens=40';
        /* Each resolves once its response headers arrived: every stream has started. */
        const opened = await Promise.all([
            anthropic(d.url, marker(slow), { stream: true, opened: true }),
            anthropic(d.url, marker(slow), { model: 'claude-invoke', stream: true, opened: true }),
            openai(d.url, marker(slow), { stream: true, opened: true }),
        ]);
        d.signal('SIGTERM');
        const [a, inv, o] = await Promise.all(opened.map((s) => s.done.then((x) => ({ body: x.text }))));
        assertStreamFailed(a.body, { type: 'overloaded_error' });
        assertStreamFailed(inv.body, { type: 'overloaded_error' });
        const cs = chunks(o.body);
        assert.ok(cs.some((c) => c !== '[DONE]' && c.error), o.body);
        assert.equal(await d.exited.then((e) => e.code), 0);

        const rows = spawnSync('sqlite3', [path.join(d.dir, 'bd.db'),
                                           'SELECT status, streamed FROM usage ORDER BY id'],
                               { encoding: 'utf8' });
        assert.equal(rows.status, 0, rows.stderr);
        assert.deepEqual(rows.stdout.trim().split('\n').sort(), ['503|1', '503|1', '503|1']);
    });
});
