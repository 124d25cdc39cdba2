/*
 * backpressure.test.mjs: streaming is back-pressured end to end. A client that stops
 * reading a long, fast stream (200,000 pieces from bedrock-emulator, about 24 MB of
 * SSE and twice that of event stream) makes bedrockd pause the upstream transfer: the
 * emulator stops writing, bedrockd's RSS stays far below the stream's size, and once
 * the client reads again it receives the whole stream intact. A client that goes away
 * mid-stream makes bedrockd drop the upstream transfer: the access log says
 * client_gone and the emulator's connection closes. A raw socket that reads in bursts
 * gets a long stream whose chunked framing is whole, though bedrockd writes most chunks
 * straight to the socket and queues what a full socket did not take.
 *
 * Both processes are observed through /proc (VmRSS, the emulator's written bytes,
 * the loopback TCP table). A stall is the emulator's written byte count standing
 * still over ten polls; the assertions hold whatever the machine's speed: without
 * back-pressure the emulator writes the whole stream and bedrockd holds it.
 *
 * Run from tests/:
 *   BD_BEDROCKD=.../bedrockd BD_EMULATOR=.../bedrock-emulator \
 *       node --test integration/backpressure.test.mjs
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, test } from 'node:test';

import { startBedrockd, startEmulator, waitUntil, withTimeout } from './lib/harness.mjs';
import { establishedOn, openStream, parseSse, rssKb, underAsan, waitForStall, wchar } from './lib/streams.mjs';

const KEY = 'sk-bdtest-backpressure-0123456789';
const PIECES = 200000;
const WORDS = ['alpha', 'beta', 'gamma'];
const MAX_RSS_GROWTH_KB = 8 * 1024; /* the client's stream alone is about 24 MB */

function conf(emulatorUrl) {
    return `worker_threads 1;
listen 127.0.0.1:0;
error_log stderr info;
access_log stdout;
store off;
master_key ${KEY};
sse_ping_interval 1h;

bedrock {
    region us-east-1;
    endpoint ${emulatorUrl};
    control_endpoint ${emulatorUrl};
    catalog off;
    credentials static;
    access_key_id AKIDEXAMPLE;
    secret_access_key wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY;
    retries 0;
}

model claude-invoke { id us.anthropic.claude-sonnet-4-5-20250929-v1:0; route invoke; }
model claude-converse { id us.anthropic.claude-sonnet-4-5-20250929-v1:0; route converse; }
`;
}

/* A streaming call of <pieces> echoed words whose reading the test controls. */
function openEcho(d, model, pieces) {
    return openStream(d, KEY, {
        model,
        max_tokens: pieces + 1000,
        stream: true,
        messages: [{ role: 'user', content: `${WORDS.join(' ')} [[emu:echo tokens=${pieces}]]` }],
    });
}

async function startPair(t) {
    const emu = await startEmulator({ t });
    const d = await startBedrockd({ t, conf: conf(emu.url) });
    return { emu, d };
}

describe('a paused client', () => {
    for (const model of ['claude-invoke', 'claude-converse']) {
        test(`${model}: bounded RSS while paused, the whole stream after`, async (t) => {
            const { emu, d } = await startPair(t);
            /* warm up: the worker's buffers, the upstream connection */
            const warm = await openEcho(d, model, 1000);
            assert.match(await warm.done, /event: message_stop/);
            const baseRss = rssKb(d.pid);
            const wroteBefore = wchar(emu.pid);

            const s = await openEcho(d, model, PIECES);
            await waitUntil(() => s.received() > 0, { what: 'the first bytes' });
            s.res.pause();
            const stall = await waitForStall(emu.pid, d.pid, wroteBefore);
            const pausedRss = rssKb(d.pid);

            s.res.resume();
            const text = await withTimeout(s.done, 120000, 'the rest of the stream');
            const wroteAll = wchar(emu.pid) - wroteBefore;
            t.diagnostic(`RSS ${baseRss} kB before, at most ${stall.maxRss} kB while paused; ` +
                         `emulator wrote ${stall.written} of ${wroteAll} bytes before the stall; ` +
                         `client got ${text.length} bytes`);
            /* the upstream was held back: the emulator stopped well short of the end */
            assert.ok(stall.written < wroteAll / 2, `${stall.written} of ${wroteAll}`);
            if (underAsan(d.pid)) {
                t.diagnostic('AddressSanitizer build: RSS bound not checked (quarantine)');
            } else {
                assert.ok(stall.maxRss - baseRss < MAX_RSS_GROWTH_KB,
                          `RSS grew by ${stall.maxRss - baseRss} kB while paused`);
                assert.ok(pausedRss - baseRss < MAX_RSS_GROWTH_KB);
            }
            assert.ok(text.length > 20 * 1024 * 1024);

            const events = parseSse(text);
            assert.equal(events[0].event, 'message_start');
            assert.equal(events.at(-1).event, 'message_stop');
            const deltas = events.filter((e) => e.event === 'content_block_delta');
            assert.equal(deltas.length, PIECES);
            const expected = Array.from({ length: PIECES }, (_, i) => WORDS[i % 3]).join(' ') +
                             ' ';
            assert.equal(deltas.map((e) => e.data.delta.text).join(''), expected);
            const last = events.find((e) => e.event === 'message_delta');
            assert.equal(last.data.usage.output_tokens, PIECES);
            assert.equal(last.data.delta.stop_reason, 'end_turn');
        });
    }
});

/* A chunked body decoded by the rules, not leniently: every size line, every CRLF. */
function dechunk(buf) {
    const parts = [];
    let at = 0;
    for (;;) {
        const eol = buf.indexOf('\r\n', at);
        assert.ok(eol > at, `a chunk size line at byte ${at}`);
        const size = Number.parseInt(buf.subarray(at, eol).toString('latin1'), 16);
        assert.ok(Number.isInteger(size) && size >= 0, `chunk size at byte ${at}`);
        const start = eol + 2;
        if (size === 0) {
            assert.equal(buf.subarray(start).toString('latin1'), '\r\n', 'the last chunk');
            return Buffer.concat(parts).toString('utf8');
        }
        parts.push(buf.subarray(start, start + size));
        assert.equal(buf.subarray(start + size, start + size + 2).toString('latin1'), '\r\n',
                     `the CRLF after the chunk at byte ${at}`);
        at = start + size + 2;
    }
}

describe('a raw socket that reads in bursts', () => {
    /* Stream chunks are written to the socket directly when nothing is queued, and
     * what the socket does not take is queued behind: the framing must stay whole
     * across those partial writes. */
    test('claude-invoke: the chunked framing of a long stream is whole', async (t) => {
        const { emu, d } = await startPair(t);
        const pieces = PIECES; /* more than the loopback socket buffers hold */
        const body = JSON.stringify({
            model: 'claude-invoke', max_tokens: pieces + 1000, stream: true,
            messages: [{ role: 'user', content: `${WORDS.join(' ')} [[emu:echo tokens=${pieces}]]` }],
        });
        const { port } = new URL(d.url);
        const wroteBefore = wchar(emu.pid);
        const sock = net.connect({ host: '127.0.0.1', port: Number(port) });
        const got = [];
        sock.on('data', (c) => got.push(c));
        let closed = false;
        const ended = new Promise((resolve) => sock.on('close', () => {
            closed = true;
            resolve();
        }));
        sock.write(`POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: ${KEY}\r\n` +
                   'anthropic-version: 2023-06-01\r\ncontent-type: application/json\r\n' +
                   `connection: close\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
        /* not read until every buffer on the way is full (the emulator stops writing),
         * then read in short bursts to the end: bedrockd's writes keep meeting a socket
         * that takes only part */
        await waitUntil(() => got.length > 0, { what: 'the first bytes' });
        sock.pause();
        await waitForStall(emu.pid, d.pid, wroteBefore);
        while (!closed) {
            sock.pause();
            await new Promise((r) => setTimeout(r, 10));
            sock.resume();
            await new Promise((r) => setTimeout(r, 1));
        }
        await withTimeout(ended, 120000, 'the end of the stream');
        const raw = Buffer.concat(got);
        const split = raw.indexOf('\r\n\r\n');
        const head = raw.subarray(0, split).toString('latin1');
        assert.match(head, /^HTTP\/1\.1 200 /);
        assert.match(head, /transfer-encoding: chunked/i);
        const events = parseSse(dechunk(raw.subarray(split + 4)));
        assert.equal(events[0].event, 'message_start');
        assert.equal(events.at(-1).event, 'message_stop');
        const deltas = events.filter((e) => e.event === 'content_block_delta');
        assert.equal(deltas.length, pieces);
        const expected = Array.from({ length: pieces }, (_, i) => WORDS[i % 3]).join(' ') + ' ';
        assert.equal(deltas.map((e) => e.data.delta.text).join(''), expected);
    });
});

describe('a raw socket that does not read an answer at once', () => {
    /* A whole answer is written to the socket as soon as it is ready; what the socket
     * does not take goes out through the connection's buffer, and only then does the
     * connection read its next request. An answer far larger than the loopback buffers
     * meets a socket that takes only part of it. */
    test('claude-invoke: a long answer comes whole, then the next request on the connection', async (t) => {
        const { d } = await startPair(t);
        const pieces = 2000000; /* about 12 MB of text */
        const request = (p) => {
            const body = JSON.stringify({
                model: 'claude-invoke', max_tokens: p + 1000,
                messages: [{ role: 'user', content: `${WORDS.join(' ')} [[emu:echo tokens=${p}]]` }],
            });
            return `POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: ${KEY}\r\n` +
                   'anthropic-version: 2023-06-01\r\ncontent-type: application/json\r\n' +
                   `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
        };
        const { port } = new URL(d.url);
        const sock = net.connect({ host: '127.0.0.1', port: Number(port) });
        let got = Buffer.alloc(0);
        sock.on('data', (c) => { got = Buffer.concat([got, c]); });
        sock.on('error', () => {});
        /* one response parsed off the front of what came; null until it is whole */
        const take = () => {
            const split = got.indexOf('\r\n\r\n');
            if (split < 0) {
                return null;
            }
            const head = got.subarray(0, split).toString('latin1');
            const len = Number(/content-length: (\d+)/i.exec(head)?.[1]);
            if (got.length < split + 4 + len) {
                return null;
            }
            const body = got.subarray(split + 4, split + 4 + len).toString('utf8');
            got = got.subarray(split + 4 + len);
            return { head, body };
        };
        sock.write(request(pieces));
        await waitUntil(() => got.length > 0, { what: 'the first bytes', timeoutMs: 120000 });
        sock.pause();
        await new Promise((r) => setTimeout(r, 300));
        let first = null;
        while (first === null) {
            sock.resume();
            await new Promise((r) => setTimeout(r, 2));
            sock.pause();
            await new Promise((r) => setTimeout(r, 5));
            first = take();
        }
        sock.resume();
        assert.match(first.head, /^HTTP\/1\.1 200 /);
        const answer = JSON.parse(first.body);
        const expected = Array.from({ length: pieces }, (_, i) => WORDS[i % 3]).join(' ') + ' ';
        assert.equal(answer.content[0].text, expected);
        sock.write(request(5));
        let second = null;
        await waitUntil(() => (second = take()) !== null, { what: 'the next answer' });
        assert.match(second.head, /^HTTP\/1\.1 200 /);
        assert.equal(JSON.parse(second.body).content[0].text, 'alpha beta gamma alpha beta ');
        sock.destroy();
    });
});

describe('a client that goes away', () => {
    test('bedrockd drops the upstream transfer at once', async (t) => {
        const { emu, d } = await startPair(t);
        const wroteBefore = wchar(emu.pid);
        const from = d.stdout.mark();
        const s = await openEcho(d, 'claude-invoke', PIECES);
        await waitUntil(() => s.received() > 0, { what: 'the first bytes' });
        s.res.pause();
        const stall = await waitForStall(emu.pid, d.pid, wroteBefore);
        assert.equal(establishedOn(emu.port), 1); /* the paused transfer, still open */

        s.req.destroy();
        const line = await d.stdout.waitFor(/^\{.*"client_gone":true.*\}$/m, { from });
        const entry = JSON.parse(line[0]);
        assert.equal(entry.path, '/v1/messages');
        assert.equal(entry.stream, true);
        assert.equal(entry.model, 'claude-invoke');
        /* the connection to the emulator is closed, not left to finish the stream */
        await waitUntil(() => establishedOn(emu.port) === 0,
                        { what: 'the upstream connection to close' });
        const wrote = wchar(emu.pid) - wroteBefore;
        t.diagnostic(`emulator wrote ${stall.written} bytes before the stall, ${wrote} in all`);
        assert.ok(wrote - stall.written < 1024 * 1024, `the emulator wrote ${wrote} bytes`);

        /* and the gateway goes on serving */
        const next = await openEcho(d, 'claude-invoke', 10);
        assert.match(await next.done, /event: message_stop/);
    });
});
