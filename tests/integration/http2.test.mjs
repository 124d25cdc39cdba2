/*
 * http2.test.mjs: bedrockd speaks HTTP/2 to Bedrock over TLS, as Bedrock Runtime
 * offers it (ALPN), with the default `http2 on`. bedrock-emulator serves its HTTP/2
 * port (--h2) on a certificate made for the run, and checks every signature.
 *
 * - Both routes, plain and streamed, give over HTTP/2 the answers they give over
 *   HTTP/1.1 (two gateways, one emulator, the same requests).
 * - Three hundred streams in flight share a few connections (curl puts up to 100
 *   streams on each; bedrockd lets it open one more than the streams need), and
 *   bedrockd holds one descriptor per client, not two.
 * - A stream the emulator resets mid-way ends that client's stream with an error
 *   event; another stream on the same connection finishes whole.
 * - A 1 MiB body goes up whole (the emulator's signature check covers every byte),
 *   again on the same connection and handles; so does a 1 MiB image, sent in pieces
 *   from the client's own body.
 * - A paused client holds back its own stream (HTTP/2 flow control), while other
 *   calls on the same connection go on; after it reads again it gets all of it.
 * - A client that goes away ends its upstream stream at once (the emulator counts its
 *   open streams): curl would send the RST_STREAM only when the connection is next
 *   used, so bedrockd closes a connection no other stream uses.
 * - An endpoint whose TLS offers only HTTP/1.1 gets HTTP/1.1, a connection per call in
 *   flight, as do plain-HTTP calls after HTTP/2 ones (the cap on connections that
 *   HTTP/2 calls set while they run is gone with them); `http2 off` against an
 *   HTTP/2-only endpoint fails cleanly, in the client's format.
 *
 * Run from tests/:
 *   BD_BEDROCKD=.../bedrockd BD_EMULATOR=.../bedrock-emulator \
 *       node --test integration/http2.test.mjs
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import path from 'node:path';
import { describe, test } from 'node:test';

import { startBedrockd, startEmulator, waitUntil, withTimeout } from './lib/harness.mjs';
import { establishedOn, openStream, parseSse, rssKb, underAsan, waitForStall, wchar } from './lib/streams.mjs';

const KEY = 'sk-bdtest-http2-0123456789abcdef';
const CLAUDE = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const WORDS = ['alpha', 'beta', 'gamma'];

function conf(endpoint, caFile, extra = '') {
    return `worker_threads 1;
listen 127.0.0.1:0;
error_log stderr info;
access_log stdout;
store off;
master_key ${KEY};
sse_ping_interval 1h;

bedrock {
    region us-east-1;
    endpoint ${endpoint};
    ${caFile ? `ca_file ${caFile};` : ''}
    catalog off;
    credentials static;
    access_key_id AKIDEXAMPLE;
    secret_access_key wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY;
    retries 0;
    ${extra}
}

model claude-invoke { id ${CLAUDE}; route invoke; }
model claude-converse { id ${CLAUDE}; route converse; }
`;
}

/* One /v1/messages call, read whole. Resolves { status, body }. */
async function messages(d, model, content, { stream = false } = {}) {
    const res = await fetch(`${d.url}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': KEY,
                   'anthropic-version': '2023-06-01' },
        body: JSON.stringify({ model, max_tokens: 4000, stream,
                               messages: [{ role: 'user', content }] }),
    });
    return { status: res.status, body: await res.text() };
}

/* A streaming call whose reading the test controls (see openStream). */
function openCall(d, model, content) {
    return openStream(d, KEY, { model, max_tokens: 300000, stream: true,
                                messages: [{ role: 'user', content }] });
}

/* The text of a whole SSE stream that ended with message_stop. */
function streamText(body) {
    const events = parseSse(body);
    assert.equal(events[0]?.event, 'message_start', body.slice(0, 400));
    assert.equal(events.at(-1).event, 'message_stop', body.slice(-400));
    return events.filter((e) => e.event === 'content_block_delta')
        .map((e) => e.data.delta.text ?? '').join('');
}

/* <n> words of the emulator's echo: the expected text of a long stream (for <n> not a
 * multiple of three: the prompt's last word, ending a cycle, has no space after it). */
function echoed(n) {
    return Array.from({ length: n }, (_, i) => WORDS[i % 3]).join(' ') + ' ';
}

async function startH2(t, extra = '') {
    const emu = await startEmulator({ t, h2: true });
    const h2Port = Number(new URL(emu.h2Url).port);
    const d = await startBedrockd({ t, conf: conf(emu.h2Url, emu.caFile, extra) });
    return { emu, h2Port, d };
}

/* The emulator's /_emulator/state (on its HTTP/1.1 port). */
async function emuState(emu) {
    return (await fetch(`${emu.url}/_emulator/state`)).json();
}

/* The fields of an answer that do not vary between calls. */
function stable(body) {
    const j = JSON.parse(body);
    return { content: j.content, stop_reason: j.stop_reason, usage: j.usage, model: j.model };
}

describe('HTTP/2 to Bedrock', () => {
    test('both routes answer over HTTP/2 as over HTTP/1.1', async (t) => {
        const { emu, h2Port, d } = await startH2(t);
        const d1 = await startBedrockd({ t, conf: conf(emu.url) });
        for (const model of ['claude-invoke', 'claude-converse']) {
            const q = `the same question on ${model}`;
            const [a2, a1] = [await messages(d, model, q), await messages(d1, model, q)];
            assert.equal(a2.status, 200, a2.body);
            assert.equal(a1.status, 200, a1.body);
            assert.deepEqual(stable(a2.body), stable(a1.body));
            const [s2, s1] = [await messages(d, model, q, { stream: true }),
                              await messages(d1, model, q, { stream: true })];
            assert.equal(streamText(s2.body), streamText(s1.body));
            assert.equal(streamText(s2.body), q);
        }
        /* every call of the first gateway went over the emulator's HTTP/2 port, on one
         * connection kept between calls */
        assert.equal(establishedOn(h2Port), 1);
    });

    test('three hundred streams in flight share a few connections', async (t) => {
        const { h2Port, d } = await startH2(t);
        const n = 300;
        const pieces = 20;
        const streams = await Promise.all(Array.from({ length: n }, (_, i) =>
            openCall(d, i % 2 ? 'claude-invoke' : 'claude-converse',
                       `${WORDS.join(' ')} [[emu:slow delay_ms=300 tokens=${pieces}]]`)));
        /* all are open at once: the emulator paces each over six seconds */
        const conns = establishedOn(h2Port);
        const fds = fs.readdirSync(`/proc/${d.pid}/fd`).length;
        t.diagnostic(`${n} streams in flight: ${conns} upstream connections, ${fds} descriptors`);
        assert.ok(conns >= 1 && conns <= Math.ceil(n / 100) + 1, `${conns} connections`);
        /* one per client, the few upstream ones, and the process's own (logs, listener,
         * event loop) */
        assert.ok(fds < n + 30, `${fds} descriptors`);
        /* none waited for another to end: all were answering before the first ended */
        assert.equal(streams.filter((s) => s.ended()).length, 0, 'a stream ended before others began');
        const bodies = await withTimeout(Promise.all(streams.map((s) => s.done)), 60000,
                                         'every stream');
        for (const body of bodies) {
            assert.equal(streamText(body), echoed(pieces));
        }
    });

    test('a stream reset mid-way fails alone; the connection carries on', async (t) => {
        const { h2Port, d } = await startH2(t);
        const good = openCall(d, 'claude-converse',
                                `${WORDS.join(' ')} [[emu:slow delay_ms=50 tokens=32]]`);
        const cut = await messages(d, 'claude-invoke',
                                   `${WORDS.join(' ')} [[emu:cut after=3 tokens=30 tps=20]]`,
                                   { stream: true });
        const events = parseSse(cut.body);
        assert.equal(events.at(-1).event, 'error', cut.body);
        assert.ok(!events.some((e) => e.event === 'message_stop'), cut.body);
        assert.equal(streamText(await (await good).done), echoed(32));
        assert.equal(establishedOn(h2Port), 1);
    });

    test('a 1 MiB body goes up whole, twice on the same connection', async (t) => {
        const { h2Port, d } = await startH2(t);
        /* the emulator checks the signature, which covers every byte of the body */
        const filler = 'lorem ipsum '.repeat(90000);
        for (const model of ['claude-invoke', 'claude-converse', 'claude-invoke']) {
            const r = await messages(d, model, `${filler} [[emu:echo tokens=3]]`,
                                     { stream: true });
            assert.equal(r.status, 200, r.body.slice(0, 400));
            assert.equal(streamText(r.body), 'lorem ipsum lorem ');
        }
        assert.equal(establishedOn(h2Port), 1);
    });

    test('a 1 MiB image goes up in pieces, its signature whole, on both routes', async (t) => {
        const { h2Port, d } = await startH2(t);
        /* the image's base64 is read from the client's body as curl sends it; the
         * emulator's check of the payload hash covers every byte of every piece */
        const data = crypto.randomBytes(786432).toString('base64');
        for (const model of ['claude-invoke', 'claude-converse', 'claude-invoke']) {
            const content = [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data } },
                             { type: 'text', text: 'describe this image [[emu:echo tokens=2]]' }];
            const r = await messages(d, model, content, { stream: true });
            assert.equal(r.status, 200, r.body.slice(0, 400));
            assert.equal(streamText(r.body), 'describe this ');
        }
        assert.equal(establishedOn(h2Port), 1);
    });

    test('a paused client holds back its own stream, not the connection', async (t) => {
        const { emu, h2Port, d } = await startH2(t);
        const pieces = 200000;
        /* warm up: the worker's buffers, the upstream connection */
        assert.equal(streamText((await messages(d, 'claude-invoke', 'warm', { stream: true }))
            .body), 'warm');
        const baseRss = rssKb(d.pid);
        const wroteBefore = wchar(emu.pid);
        const s = await openCall(d, 'claude-invoke',
                                   `${WORDS.join(' ')} [[emu:echo tokens=${pieces}]]`);
        await waitUntil(() => s.received() > 0, { what: 'the first bytes' });
        s.res.pause();
        const stall = await waitForStall(emu.pid, d.pid, wroteBefore);

        /* the shared connection still carries other calls, both ways */
        const other = await messages(d, 'claude-converse', 'meanwhile', { stream: true });
        assert.equal(streamText(other.body), 'meanwhile');
        assert.equal(stable((await messages(d, 'claude-invoke', 'and this')).body).content[0]
            .text, 'and this');
        assert.equal(establishedOn(h2Port), 1);

        s.res.resume();
        const text = await withTimeout(s.done, 120000, 'the rest of the stream');
        const wroteAll = wchar(emu.pid) - wroteBefore;
        t.diagnostic(`RSS ${baseRss} kB before, at most ${stall.maxRss} kB while paused; ` +
                     `emulator wrote ${stall.written} of ${wroteAll} bytes before the stall`);
        assert.ok(stall.written < wroteAll / 2, `${stall.written} of ${wroteAll}`);
        if (!underAsan(d.pid)) {
            assert.ok(stall.maxRss - baseRss < 8 * 1024,
                      `RSS grew by ${stall.maxRss - baseRss} kB while paused`);
        }
        assert.equal(streamText(text), echoed(pieces));
    });

    test('a client that goes away ends its upstream stream at once', async (t) => {
        const { emu, h2Port, d } = await startH2(t);
        const wroteBefore = wchar(emu.pid);
        const from = d.stdout.mark();
        const s = await openCall(d, 'claude-invoke',
                                   `${WORDS.join(' ')} [[emu:echo tokens=200000]]`);
        await waitUntil(() => s.received() > 0, { what: 'the first bytes' });
        s.res.pause();
        const stall = await waitForStall(emu.pid, d.pid, wroteBefore);
        s.req.destroy();
        const line = await d.stdout.waitFor(/^\{.*"client_gone":true.*\}$/m, { from });
        assert.equal(JSON.parse(line[0]).model, 'claude-invoke');
        /* bedrockd resets the upstream stream: the emulator sees it end */
        await waitUntil(async () => (await emuState(emu)).h2_streams_open === 0,
                        { what: 'the upstream stream to be reset' });
        const wrote = (await waitForStall(emu.pid, d.pid, wroteBefore)).written;
        assert.ok(wrote - stall.written < 1024 * 1024, `the emulator wrote ${wrote} bytes`);
        /* curl would send the RST_STREAM only when the connection is next used; bedrockd
         * closes a connection no other stream uses instead, and the next call opens one */
        assert.equal(streamText((await messages(d, 'claude-invoke', 'next', { stream: true }))
            .body), 'next');
        assert.equal(establishedOn(h2Port), 1);
    });
});

/*
 * A TLS front offering only HTTP/1.1 (ALPN http/1.1), piping each connection to the
 * emulator's HTTP/1.1 port: an endpoint without HTTP/2.
 */
async function http11TlsFront(t, emu) {
    const dir = path.dirname(emu.caFile);
    const server = tls.createServer({
        key: fs.readFileSync(path.join(dir, 'key.pem')),
        cert: fs.readFileSync(emu.caFile),
        ALPNProtocols: ['http/1.1'],
    }, (sock) => {
        const up = net.connect({ host: '127.0.0.1', port: emu.port });
        sock.pipe(up).pipe(sock);
        sock.on('error', () => up.destroy());
        up.on('error', () => sock.destroy());
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => server.close());
    return { url: `https://127.0.0.1:${server.address().port}` };
}

/* Four streams at once through <d> take four HTTP/1.1 connections to <port>, and each
 * ends whole. */
async function fourCallsFourConnections(d, port) {
    const streams = await Promise.all(Array.from({ length: 4 }, () =>
        openCall(d, 'claude-converse', `${WORDS.join(' ')} [[emu:slow delay_ms=100 tokens=10]]`)));
    await waitUntil(() => establishedOn(port) === 4, { what: 'four upstream HTTP/1.1 connections' });
    for (const s of streams) {
        assert.equal(streamText(await s.done), echoed(10));
    }
}

describe('HTTP/1.1 where HTTP/2 is not offered', () => {
    test('TLS without h2: HTTP/1.1, one connection per call in flight', async (t) => {
        const emu = await startEmulator({ t, h2: true });
        const front = await http11TlsFront(t, emu);
        const d = await startBedrockd({ t, conf: conf(front.url, emu.caFile) });
        /* four calls in flight: four HTTP/1.1 connections behind the front */
        await fourCallsFourConnections(d, emu.port);
        const a = await messages(d, 'claude-invoke', 'over http/1.1');
        assert.equal(stable(a.body).content[0].text, 'over http/1.1');
    });

    test('after HTTP/2 calls, HTTP/1.1 calls get a connection each again', async (t) => {
        const { emu, d } = await startH2(t);
        /* the HTTP/2 call caps the connections per host while it runs */
        assert.equal(stable((await messages(d, 'claude-invoke', 'first')).body).content[0]
            .text, 'first');
        const r = await d.reload(conf(emu.url, emu.caFile));
        assert.ok(r.ok, r.line);
        await fourCallsFourConnections(d, emu.port);
    });

    test('http2 off against an HTTP/2-only endpoint: a clean error', async (t) => {
        const emu = await startEmulator({ t, h2: true });
        const d = await startBedrockd({ t, conf: conf(emu.h2Url, emu.caFile, 'http2 off;') });
        const r = await messages(d, 'claude-invoke', 'no common protocol');
        assert.ok(r.status >= 500, `${r.status} ${r.body}`);
        const j = JSON.parse(r.body);
        assert.equal(j.type, 'error');
        assert.equal(typeof j.error.message, 'string');
    });
});
