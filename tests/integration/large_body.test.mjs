/*
 * large_body.test.mjs: large base64 strings (images, PDFs) kept out of jansson
 * (core/bd_json_slices) reach Bedrock byte for byte, in their places, on both
 * Bedrock routes and for a non-Claude model, through the official Anthropic SDK:
 * one image, two different ones and a PDF, the same image twice. Only media
 * members are cut: long texts and names of base64 letters go through as before,
 * and no token reaches Bedrock or an error. A malformed body after a large string
 * gets the client's own position. What reached "Bedrock" is read back from the
 * emulator's --record file.
 *
 * A large body is read straight into one buffer once its head is parsed
 * (core/bd_http_body): on raw sockets, a body written in small pieces with a request
 * pipelined behind its last byte, "Expect: 100-continue" with and without body bytes
 * sent early, a body that stops half-way (cut at client_body_timeout, its memory
 * given back) and a client that goes away half-way. Once a stream has begun, nothing
 * of its request is held: its share of worker_body_memory is back, and twenty held
 * streams of 2 MB prompts leave RSS near where it was.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { CLAUDE_ID, MASTER_KEY, NOVA, ROUTES, anthropicConf } from './lib/anthropic_env.mjs';
import { httpRequest, makeTempDir, startBedrockd, startEmulator, waitUntil, withTimeout }
    from './lib/harness.mjs';
import { openStream, rssKb, underAsan } from './lib/streams.mjs';

const { default: Anthropic } = await import('@anthropic-ai/sdk');

let emu;
let bd;
let record;
let client;

before(async () => {
    record = path.join(makeTempDir('bd-large-body-'), 'record.jsonl');
    emu = await startEmulator({ args: ['--record', record] });
    bd = await startBedrockd({ conf: anthropicConf(emu.url) });
    client = new Anthropic({ baseURL: bd.url, apiKey: MASTER_KEY, maxRetries: 0 });
});

after(async () => {
    await bd?.stop();
    await emu?.stop();
});

function lastRecord() {
    const lines = fs.readFileSync(record, 'utf8').split('\n').filter(Boolean);
    return JSON.parse(lines[lines.length - 1]);
}

const b64 = (bytes) => randomBytes(bytes).toString('base64');

/* POST /v1/messages on <base> with the master key. */
const postMessages = (base, body) => httpRequest(`${base}/v1/messages`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': MASTER_KEY }, body,
});
const image = (data) => ({ type: 'image', source: { type: 'base64', media_type: 'image/png', data } });

/* The base64 data of every image or document block of the recorded Bedrock body,
 * in order, whichever route carried it. */
function mediaOf(rec) {
    const out = [];
    for (const m of rec.body.messages) {
        for (const b of m.content) {
            if (rec.operation.startsWith('converse')) {
                const block = b.image ?? b.document;
                if (block) out.push(block.source.bytes);
            } else if (b.type === 'image' || b.type === 'document') {
                out.push(b.source.data);
            }
        }
    }
    return out;
}

function textsOf(rec) {
    const out = [];
    for (const m of rec.body.messages) {
        for (const b of m.content) {
            if (typeof b.text === 'string') out.push(b.text);
        }
    }
    return out;
}

describe('large base64 strings reach Bedrock byte for byte', () => {
    for (const m of [...ROUTES, NOVA]) {
        test(`a 1 MiB image [${m.model}]`, async () => {
            const data = b64(786432);
            const msg = await client.messages.create({
                model: m.model, max_tokens: 32,
                messages: [{ role: 'user', content: [image(data), { type: 'text', text: 'Describe it.' }] }],
            });
            assert.equal(msg.content[0].text, 'Describe it.');
            const rec = lastRecord();
            assert.deepEqual(mediaOf(rec), [data]);
        });

        test(`two different images, a PDF and the first image again [${m.model}]`, async () => {
            const a = b64(300000);
            const b = b64(20000);
            const pdf = b64(50000);
            await client.messages.create({
                model: m.model, max_tokens: 32,
                messages: [{ role: 'user', content: [
                    image(a), image(b),
                    { type: 'document', title: 'doc', source: { type: 'base64', media_type: 'application/pdf', data: pdf } },
                    image(a), { type: 'text', text: 'Compare them.' },
                ] }],
            });
            assert.deepEqual(mediaOf(lastRecord()), [a, b, pdf, a]);
        });

        test(`a long text of base64 letters, and one with spaces [${m.model}]`, async () => {
            const letters = 'QUJD'.repeat(5000);
            const spaced = 'word '.repeat(5000);
            await client.messages.create({
                model: m.model, max_tokens: 32,
                messages: [{ role: 'user', content: [
                    { type: 'text', text: letters }, { type: 'text', text: spaced },
                ] }],
            });
            assert.deepEqual(textsOf(lastRecord()), [letters, spaced]);
        });
    }

    test('a system prompt of base64 letters', async () => {
        const system = 'c3lzdGVt'.repeat(1000);
        await client.messages.create({
            model: NOVA.model, max_tokens: 32, system,
            messages: [{ role: 'user', content: 'hi' }],
        });
        const rec = lastRecord();
        assert.equal(JSON.stringify(rec.body.system).includes(system), true);
        assert.equal(JSON.stringify(rec.body).includes('bdslice'), false, 'no token reached Bedrock');
    });
});

describe('bad bodies with large strings', () => {
    test('malformed JSON after a large string: 400 at the client\'s own position', async () => {
        const data = b64(30000);
        const text = `{"model":"${ROUTES[0].model}","max_tokens":8,"messages":[{"role":"user","content":[`
            + `{"type":"image","source":{"type":"base64","media_type":"image/png","data":"${data}"}}]}],]`;
        const res = await postMessages(bd.url, text);
        assert.equal(res.status, 400, res.body);
        const err = JSON.parse(res.body);
        assert.equal(err.type, 'error');
        assert.equal(err.error.type, 'invalid_request_error');
        const at = Number(err.error.message.match(/at position (\d+)/)?.[1]);
        assert.ok(at > data.length, `position ${at} is in the client's text, after the image`);
    });

    test('an unterminated large string: 400, not a hang or a crash', async () => {
        const text = `{"model":"${ROUTES[0].model}","max_tokens":8,"messages":"${b64(20000)}`;
        const res = await postMessages(bd.url, text);
        assert.equal(res.status, 400, res.body);
        assert.equal(JSON.parse(res.body).error.type, 'invalid_request_error');
    });

    test('a large string where a short one belongs is refused as before', async () => {
        const res = await postMessages(bd.url, JSON.stringify({
            model: 'QUJD'.repeat(2000), max_tokens: 8, messages: [{ role: 'user', content: 'hi' }],
        }));
        assert.equal(res.status, 404, res.body);
        assert.match(JSON.parse(res.body).error.message, /^model: /);
        assert.equal(res.body.includes('bdslice'), false, 'the error names no token');
    });
});

test('the Claude routes carry the image to the same Bedrock id', async () => {
    const data = b64(10000);
    for (const m of ROUTES) {
        await client.messages.create({
            model: m.model, max_tokens: 8,
            messages: [{ role: 'user', content: [image(data), { type: 'text', text: 'x' }] }],
        });
        const rec = lastRecord();
        assert.equal(rec.model, CLAUDE_ID);
        assert.deepEqual(mediaOf(rec), [data]);
    }
});

/* A raw connection that collects every byte until the server closes it. */
function rawConnect(port) {
    return new Promise((resolve, reject) => {
        const sock = net.connect(port, '127.0.0.1');
        const c = { sock, data: Buffer.alloc(0), closed: false };
        c.ended = new Promise((res) => sock.on('close', () => {
            c.closed = true;
            res();
        }));
        sock.on('data', (b) => {
            c.data = Buffer.concat([c.data, b]);
        });
        sock.on('error', () => {});
        c.write = (b) => new Promise((res) => sock.write(b, () => res()));
        sock.once('connect', () => resolve(c));
        sock.once('error', reject);
    });
}

/* The complete responses in <buf> (Content-Length framed, 1xx without a body). */
function responsesIn(buf) {
    const out = [];
    let rest = buf.toString('latin1');
    for (;;) {
        const end = rest.indexOf('\r\n\r\n');
        if (end < 0) {
            return out;
        }
        const lines = rest.slice(0, end).split('\r\n');
        const status = Number(lines[0].split(' ')[1]);
        const cl = lines.find((l) => /^content-length:/i.test(l));
        const len = cl ? Number(cl.split(':')[1]) : 0;
        if (rest.length < end + 4 + len) {
            return out;
        }
        out.push({ status, body: rest.slice(end + 4, end + 4 + len) });
        rest = rest.slice(end + 4 + len);
    }
}

function messagesHead(port, length, extra = '') {
    return `POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n`
        + `x-api-key: ${MASTER_KEY}\r\nContent-Length: ${length}\r\n${extra}\r\n`;
}

function imageBody(data, text) {
    return Buffer.from(JSON.stringify({
        model: NOVA.model, max_tokens: 8,
        messages: [{ role: 'user', content: [image(data), { type: 'text', text }] }],
    }));
}

describe('large bodies on raw sockets', () => {
    let slow;
    before(async () => {
        slow = await startBedrockd({ conf: anthropicConf(emu.url) + 'client_body_timeout 1s;\n'
                                          + 'client_body_min_rate 0;\nworker_body_memory 4m;\n' });
    });
    after(async () => {
        await slow?.stop();
    });

    test('written in small pieces, the next request pipelined behind its last byte', async () => {
        const data = b64(300000);
        const body = imageBody(data, 'pieces');
        const c = await rawConnect(bd.port);
        await c.write(messagesHead(bd.port, body.length));
        for (let at = 0; at < body.length - 1000; at += 3000) {
            await c.write(body.subarray(at, Math.min(at + 3000, body.length - 1000)));
            if (at % 60000 === 0) {
                await new Promise((r) => setTimeout(r, 5));
            }
        }
        const next = `GET /health HTTP/1.1\r\nHost: 127.0.0.1:${bd.port}\r\n\r\n`;
        await c.write(Buffer.concat([body.subarray(body.length - 1000), Buffer.from(next)]));
        await waitUntil(() => responsesIn(c.data).length >= 2, { what: 'two answers' });
        const [first, second] = responsesIn(c.data);
        assert.equal(first.status, 200, first.body);
        assert.equal(JSON.parse(first.body).content[0].text, 'pieces');
        assert.deepEqual(mediaOf(lastRecord()), [data]);
        assert.equal(second.status, 200);
        c.sock.destroy();
    });

    test('"Expect: 100-continue": 100 first, then the answer', async () => {
        const data = b64(200000);
        const body = imageBody(data, 'expected');
        const c = await rawConnect(bd.port);
        await c.write(messagesHead(bd.port, body.length, 'Expect: 100-continue\r\n'));
        await waitUntil(() => c.data.toString('latin1').startsWith('HTTP/1.1 100 Continue\r\n\r\n'),
                        { what: '100 Continue' });
        await c.write(body);
        await waitUntil(() => responsesIn(c.data).length >= 2, { what: 'the answer' });
        const answer = responsesIn(c.data)[1];
        assert.equal(answer.status, 200, answer.body);
        assert.deepEqual(mediaOf(lastRecord()), [data]);
        c.sock.destroy();
    });

    test('"Expect: 100-continue" with the body sent at once: answered, no 100 after bytes came', async () => {
        const data = b64(200000);
        const body = imageBody(data, 'eager');
        const c = await rawConnect(bd.port);
        await c.write(Buffer.concat([Buffer.from(messagesHead(bd.port, body.length, 'Expect: 100-continue\r\n')),
                                     body]));
        await waitUntil(() => responsesIn(c.data).some((r) => r.status === 200), { what: 'the answer' });
        assert.deepEqual(mediaOf(lastRecord()), [data]);
        c.sock.destroy();
    });

    test('a body that stops half-way is cut at client_body_timeout, its memory given back', async () => {
        const body = imageBody(b64(2000000), 'never');
        const c = await rawConnect(slow.port);
        await c.write(messagesHead(slow.port, body.length));
        await c.write(body.subarray(0, body.length / 2));
        await withTimeout(c.ended, 10000, 'the server closing a stalled body');
        assert.equal(responsesIn(c.data).length, 0);
        await slow.waitForLog(/sent no body bytes for client_body_timeout/);
        /* worker_body_memory (4m) would refuse this one were the stalled 2.7 MB still held */
        const data = b64(2000000);
        const res = await postMessages(slow.url, imageBody(data, 'after'));
        assert.equal(res.status, 200, res.body);
        assert.deepEqual(mediaOf(lastRecord()), [data]);
    });

    test('a client gone half-way through its body: nothing answered, the worker serves on', async () => {
        const body = imageBody(b64(1000000), 'gone');
        for (let i = 0; i < 3; i++) {
            const c = await rawConnect(slow.port);
            await c.write(messagesHead(slow.port, body.length));
            await c.write(body.subarray(0, 200000 * (i + 1)));
            c.sock.destroy();
        }
        const res = await httpRequest(`${slow.url}/health`);
        assert.equal(res.status, 200);
        const data = b64(2000000);
        const ok = await postMessages(slow.url, imageBody(data, 'served'));
        assert.equal(ok.status, 200, ok.body);
    });
});

describe('a held stream keeps nothing of its request', () => {
    let held;
    before(async () => {
        held = await startBedrockd({ conf: anthropicConf(emu.url) + 'worker_body_memory 8m;\n' });
    });
    after(async () => {
        await held?.stop();
    });

    const prompt = (mb, tag) => `[[emu:echo tokens=40 tps=2]] ${tag} ` + 'context line. '.repeat(mb * 75000);

    test('its body memory is given back once it is sent: a second large body is admitted', async () => {
        const a = await openStream(held, MASTER_KEY, {
            model: NOVA.model, max_tokens: 64, stream: true,
            messages: [{ role: 'user', content: prompt(5, 'first') }],
        });
        await waitUntil(() => a.received() > 0, { what: 'the first stream under way' });
        /* 5 MB + 5 MB would pass worker_body_memory (8m) were the first still held */
        const res = await postMessages(held.url, JSON.stringify({
            model: NOVA.model, max_tokens: 8,
            messages: [{ role: 'user', content: prompt(5, 'second').slice(30) }],
        }));
        assert.equal(res.status, 200, res.body.slice(0, 300));
        assert.equal(a.ended(), false, 'the first stream was still held');
        a.req.destroy();
    });

    test('twenty streams of 2 MB prompts leave RSS near where it was', async (t) => {
        const roomy = await startBedrockd({ t, conf: anthropicConf(emu.url) }); /* 256m of bodies */
        t.after(() => roomy.stop());
        if (underAsan(roomy.pid)) {
            t.skip('RSS means nothing under AddressSanitizer');
            return;
        }
        const before = rssKb(roomy.pid);
        const streams = [];
        for (let i = 0; i < 20; i++) {
            const body = { model: i % 2 ? NOVA.model : ROUTES[0].model, max_tokens: 64, stream: true,
                           messages: [{ role: 'user', content: prompt(2, `s${i}`) }] };
            streams.push(await openStream(roomy, MASTER_KEY, body));
        }
        await waitUntil(() => streams.every((s) => s.received() > 0), { what: 'every stream under way' });
        /* the allocator gives freed pages back within about a second (bd_malloc_release);
         * the streams last 20 s, so a wait that ends sooner saw them all held */
        let grown = 0;
        await waitUntil(() => {
            grown = rssKb(roomy.pid) - before;
            return grown < 30 * 1024;
        }, { timeoutMs: 10000, what: 'RSS back near where it was' }).catch(() => {});
        assert.equal(streams.filter((s) => s.ended()).length, 0, 'all still held');
        /* holding the requests would be 20 x (2 MB body + 2 MB Bedrock body + its tree) */
        t.diagnostic(`RSS grew by ${grown} KB`);
        assert.ok(grown < 30 * 1024, `RSS grew by ${grown} KB for 20 held streams`);
        for (const s of streams) {
            s.req.destroy();
        }
    });
});
