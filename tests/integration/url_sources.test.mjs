/*
 * url_sources.test.mjs: image and document blocks given by URL, fetched by bedrockd
 * (models with `url_sources on;`) from a small HTTP server on loopback, through the
 * official Anthropic and OpenAI SDKs. A recording proxy between bedrockd and
 * bedrock-emulator shows the Bedrock body carries exactly the served bytes as base64.
 * Failures (model without url_sources, too large, too slow, 404, a content type that
 * does not fit, a loopback host while url_fetch_private is off) are 400s that say why.
 *
 * Run from tests/ (after `npm ci` there):
 *   BD_BEDROCKD=.../bedrockd BD_EMULATOR=.../bedrock-emulator \
 *       node --test integration/url_sources.test.mjs
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';

import { MEDIA_TOKENS, TINY_PDF_B64, TINY_PNG_B64, tokensOf } from './lib/anthropic_env.mjs';
import { startBedrockd, startEmulator, waitUntil } from './lib/harness.mjs';

if (!existsSync(new URL('../node_modules/openai/', import.meta.url)) ||
    !existsSync(new URL('../node_modules/@anthropic-ai/sdk/', import.meta.url))) {
    throw new Error('tests/node_modules is missing: run `npm ci` in tests/ first');
}
const { default: Anthropic } = await import('@anthropic-ai/sdk');
const { default: OpenAI } = await import('openai');

const KEY = 'sk-bdtest-url-sources-0123456789';
const CLAUDE_ID = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const MAX_SIZE = 4096; /* url_fetch_max_size in the test conf */
const PNG = Buffer.from(TINY_PNG_B64, 'base64');
const PDF = Buffer.from(TINY_PDF_B64, 'base64');
const TEXT = 'Plain notes fetched by the gateway.\n';

/* --- the servers around bedrockd --- */

/** Serves the files the tests point at; `/slow` never answers. */
function startFileServer() {
    const routes = {
        '/tiny.png': [200, { 'content-type': 'image/png' }, PNG],
        '/tiny.jpg-typed': [200, { 'content-type': 'image/jpg' }, PNG], /* wrong but common */
        '/octet': [200, { 'content-type': 'application/octet-stream' }, PNG],
        '/doc.pdf': [200, { 'content-type': 'application/pdf' }, PDF],
        '/notes.txt': [200, { 'content-type': 'text/plain; charset=utf-8' }, Buffer.from(TEXT)],
        '/page.html': [200, { 'content-type': 'text/html' }, Buffer.from('<p>hello</p>')],
        '/big.png': [200, { 'content-type': 'image/png' }, Buffer.alloc(MAX_SIZE + 1, 7)],
        '/redirect': [302, { location: '/tiny.png' }, Buffer.from('moved')],
        '/loop': [302, { location: '/loop' }, Buffer.alloc(0)],
    };
    const hits = [];
    const server = http.createServer((req, res) => {
        hits.push(req.url);
        if (req.url === '/slow') {
            return; /* held open until the test server closes */
        }
        if (req.url === '/big-chunked') {
            /* no Content-Length: the limit must be enforced on the bytes */
            res.writeHead(200, { 'content-type': 'image/png' });
            res.write(PNG);
            res.end(Buffer.alloc(MAX_SIZE, 1));
            return;
        }
        const r = routes[req.url];
        if (r === undefined) {
            res.writeHead(404, { 'content-type': 'text/plain' });
            res.end('not found');
            return;
        }
        res.writeHead(r[0], { ...r[1], 'content-length': r[2].length });
        res.end(r[2]);
    });
    return new Promise((resolve) => {
        server.listen(0, '127.0.0.1', () => {
            const base = `http://127.0.0.1:${server.address().port}`;
            resolve({
                base,
                hits,
                url: (p) => base + p,
                close: () => {
                    server.closeAllConnections();
                    return new Promise((r) => server.close(r));
                },
            });
        });
    });
}

/** A proxy in front of the emulator that keeps every request body it forwards. */
function startRecorder(target) {
    const bodies = [];
    const t = new URL(target);
    const server = http.createServer((req, res) => {
        const chunks = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', () => {
            const body = Buffer.concat(chunks);
            bodies.push({ path: req.url, body: body.toString('utf8') });
            const up = http.request({ host: t.hostname, port: t.port, method: req.method,
                                      path: req.url, headers: req.headers }, (ur) => {
                res.writeHead(ur.statusCode, ur.headers);
                ur.pipe(res);
            });
            up.on('error', () => res.destroy());
            up.end(body);
        });
    });
    return new Promise((resolve) => {
        server.listen(0, '127.0.0.1', () => {
            resolve({
                url: `http://127.0.0.1:${server.address().port}`,
                bodies,
                /* the JSON body of the last call, after <from> */
                last: (from) => JSON.parse(bodies.slice(from).at(-1).body),
                close: () => {
                    server.closeAllConnections();
                    return new Promise((r) => server.close(r));
                },
            });
        });
    });
}

function conf(upstream, { fetchPrivate }) {
    return `worker_threads 2;
listen 127.0.0.1:0;
error_log stderr info;
store off;
master_key ${KEY};
url_fetch_max_size ${MAX_SIZE};
url_fetch_timeout 1s;
url_fetch_private ${fetchPrivate ? 'on' : 'off'};

bedrock {
    region us-east-1;
    endpoint ${upstream};
    credentials static;
    access_key_id AKIDEXAMPLE;
    secret_access_key wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY;
    retries 0;
}

model vision { id ${CLAUDE_ID}; route converse; url_sources on; }
model vision-invoke { id ${CLAUDE_ID}; route invoke; url_sources on; }
model plain { id ${CLAUDE_ID}; route converse; }
`;
}

let emu;
let rec;
let files;
let bd; /* url_fetch_private on: loopback URLs are fetched */
let strict; /* url_fetch_private off */
let anthropic;
let openai;

before(async () => {
    emu = await startEmulator();
    rec = await startRecorder(emu.url);
    files = await startFileServer();
    bd = await startBedrockd({ conf: conf(rec.url, { fetchPrivate: true }) });
    strict = await startBedrockd({ conf: conf(rec.url, { fetchPrivate: false }) });
    anthropic = new Anthropic({ baseURL: bd.url, apiKey: KEY, maxRetries: 0 });
    openai = new OpenAI({ baseURL: `${bd.url}/v1`, apiKey: KEY, maxRetries: 0 });
});

after(async () => {
    await bd?.stop();
    await strict?.stop();
    await files?.close();
    await rec?.close();
    await emu?.stop();
});

/* --- Anthropic Messages API --- */

function imageTurn(url, text = 'What is in the picture?') {
    return [{ role: 'user', content: [
        { type: 'image', source: { type: 'url', url } },
        { type: 'text', text },
    ] }];
}

async function anthropicRejects(client, params, re) {
    await assert.rejects(client.messages.create({ max_tokens: 50, ...params }), (e) => {
        assert.ok(e instanceof Anthropic.BadRequestError, `${e.constructor.name}: ${e.message}`);
        assert.equal(e.status, 400);
        assert.equal(e.error?.error?.type, 'invalid_request_error');
        assert.match(e.error.error.message, re);
        return true;
    });
}

describe('Anthropic API: URL sources', () => {
    test('an image URL on the Converse route arrives as the served bytes', async () => {
        const from = rec.bodies.length;
        const text = 'What is in the picture?';
        const msg = await anthropic.messages.create({
            model: 'vision', max_tokens: 50, messages: imageTurn(files.url('/tiny.png'), text),
        });
        assert.equal(msg.content[0].text, text);
        assert.equal(msg.usage.input_tokens, tokensOf(text) + MEDIA_TOKENS);
        const body = rec.last(from);
        assert.deepEqual(body.messages[0].content[0],
                         { image: { format: 'png', source: { bytes: TINY_PNG_B64 } } });
    });

    test('an image URL on the InvokeModel route becomes a base64 source', async () => {
        const from = rec.bodies.length;
        const msg = await anthropic.messages.create({
            model: 'vision-invoke', max_tokens: 50, messages: imageTurn(files.url('/octet')),
        });
        assert.equal(msg.usage.input_tokens, tokensOf('What is in the picture?') + MEDIA_TOKENS);
        const body = rec.last(from);
        assert.deepEqual(body.messages[0].content[0].source,
                         { type: 'base64', media_type: 'image/png', data: TINY_PNG_B64 });
    });

    test('several URLs in one request, a redirect and a document, streamed', async () => {
        const from = rec.bodies.length;
        const stream = anthropic.messages.stream({
            model: 'vision', max_tokens: 50, messages: [{ role: 'user', content: [
                { type: 'image', source: { type: 'url', url: files.url('/redirect') } },
                { type: 'image', source: { type: 'url', url: files.url('/tiny.jpg-typed') } },
                { type: 'document', source: { type: 'url', url: files.url('/doc.pdf') } },
                { type: 'document', source: { type: 'url', url: files.url('/notes.txt') } },
                { type: 'text', text: 'Compare them.' },
            ] }],
        });
        const msg = await stream.finalMessage();
        assert.equal(msg.content[0].text, 'Compare them.');
        assert.equal(msg.usage.input_tokens, tokensOf('Compare them.') + 4 * MEDIA_TOKENS);
        const content = rec.last(from).messages[0].content;
        assert.deepEqual(content[0].image, { format: 'png', source: { bytes: TINY_PNG_B64 } });
        assert.deepEqual(content[1].image, { format: 'jpeg', source: { bytes: TINY_PNG_B64 } });
        assert.equal(content[2].document.format, 'pdf');
        assert.equal(content[2].document.source.bytes, TINY_PDF_B64);
        assert.equal(content[3].document.format, 'txt');
        assert.equal(Buffer.from(content[3].document.source.bytes, 'base64').toString(), TEXT);
    });

    test('a model without url_sources gets a clear 400 and nothing is fetched', async () => {
        const hits = files.hits.length;
        await anthropicRejects(anthropic, { model: 'plain', messages: imageTurn(files.url('/tiny.png')) },
                               /URL sources are not supported for this model/);
        assert.equal(files.hits.length, hits);
    });

    test('a body over url_fetch_max_size is a 400, with or without Content-Length', async () => {
        for (const p of ['/big.png', '/big-chunked']) {
            await anthropicRejects(anthropic, { model: 'vision', messages: imageTurn(files.url(p)) },
                                   new RegExp(`could not fetch image URL ${files.url(p)}: the ` +
                                              `content is larger than .*${MAX_SIZE} bytes`));
        }
    });

    test('a server that does not answer within url_fetch_timeout is a 400', async () => {
        await anthropicRejects(anthropic, { model: 'vision', messages: imageTurn(files.url('/slow')) },
                               /could not fetch image URL .*\/slow: no complete answer within 1s/);
    });

    test('a 404 is a 400 naming the status', async () => {
        await anthropicRejects(anthropic,
                               { model: 'vision', messages: imageTurn(files.url('/missing.png')) },
                               /could not fetch image URL http:\/\/127\.0\.0\.1:\d+\/missing\.png: HTTP 404/);
    });

    test('endless redirects are a 400', async () => {
        await anthropicRejects(anthropic, { model: 'vision', messages: imageTurn(files.url('/loop')) },
                               /more than 5 redirects/);
    });

    test('a content type that does not fit the block is a 400', async () => {
        await anthropicRejects(anthropic,
                               { model: 'vision', messages: imageTurn(files.url('/page.html')) },
                               /media type 'text\/html'/);
        await anthropicRejects(anthropic,
                               { model: 'vision', messages: imageTurn(files.url('/doc.pdf')) },
                               /media type 'application\/pdf'/);
    });

    test('a scheme other than http or https is a 400', async () => {
        await anthropicRejects(anthropic,
                               { model: 'vision', messages: imageTurn('ftp://127.0.0.1/a.png') },
                               /only http and https URLs are fetched/);
    });

    test('loopback is refused while url_fetch_private is off', async () => {
        const client = new Anthropic({ baseURL: strict.url, apiKey: KEY, maxRetries: 0 });
        const hits = files.hits.length;
        await anthropicRejects(client, { model: 'vision', messages: imageTurn(files.url('/tiny.png')) },
                               /private or local address/);
        assert.equal(files.hits.length, hits, 'no request reached the loopback server');
    });

    test('a client that leaves during a fetch leaves the gateway serving', async () => {
        const ac = new AbortController();
        const hits = files.hits.length;
        const p = anthropic.messages.create({
            model: 'vision', max_tokens: 50, messages: imageTurn(files.url('/slow')),
        }, { signal: ac.signal });
        p.catch(() => {});
        await waitUntil(() => files.hits.slice(hits).includes('/slow'), { what: 'the fetch' });
        ac.abort();
        await assert.rejects(p);
        const msg = await anthropic.messages.create({
            model: 'vision', max_tokens: 50, messages: imageTurn(files.url('/tiny.png'), 'again'),
        });
        assert.equal(msg.content[0].text, 'again');
    });
});

/* --- OpenAI chat completions --- */

function chatImage(url, text = 'Describe it.') {
    return [{ role: 'user', content: [
        { type: 'text', text },
        { type: 'image_url', image_url: { url } },
    ] }];
}

async function openaiRejects(client, params, re) {
    await assert.rejects(client.chat.completions.create({ max_tokens: 50, ...params }), (e) => {
        assert.ok(e instanceof OpenAI.BadRequestError, `${e.constructor.name}: ${e.message}`);
        assert.equal(e.status, 400);
        assert.equal(e.error?.type, 'invalid_request_error');
        assert.match(e.error.message, re);
        return true;
    });
}

describe('OpenAI API: image URLs', () => {
    test('an image URL arrives as the served bytes', async () => {
        const from = rec.bodies.length;
        const r = await openai.chat.completions.create({
            model: 'vision', max_tokens: 50, messages: chatImage(files.url('/tiny.png')),
        });
        assert.equal(r.choices[0].message.content, 'Describe it.');
        assert.equal(r.usage.prompt_tokens, tokensOf('Describe it.') + MEDIA_TOKENS);
        const content = rec.last(from).messages[0].content;
        assert.deepEqual(content[1], { image: { format: 'png', source: { bytes: TINY_PNG_B64 } } });
    });

    test('streamed, with two images', async () => {
        const stream = await openai.chat.completions.create({
            model: 'vision', max_tokens: 50, stream: true,
            stream_options: { include_usage: true },
            messages: [{ role: 'user', content: [
                { type: 'image_url', image_url: { url: files.url('/tiny.png') } },
                { type: 'image_url', image_url: { url: files.url('/redirect') } },
                { type: 'text', text: 'Two.' },
            ] }],
        });
        let text = '';
        let usage;
        for await (const chunk of stream) {
            text += chunk.choices[0]?.delta?.content ?? '';
            usage = chunk.usage ?? usage;
        }
        assert.equal(text, 'Two.');
        assert.equal(usage.prompt_tokens, tokensOf('Two.') + 2 * MEDIA_TOKENS);
    });

    test('a model without url_sources gets a clear 400', async () => {
        await openaiRejects(openai, { model: 'plain', messages: chatImage(files.url('/tiny.png')) },
                            /image URLs are not supported for this model/);
    });

    test('too large, too slow, 404 and a non-image type are 400s that say why', async () => {
        const cases = [
            ['/big.png', /could not fetch image URL .*\/big\.png: the content is larger than/],
            ['/slow', /could not fetch image URL .*\/slow: no complete answer within 1s/],
            ['/missing.png', /could not fetch image URL .*\/missing\.png: HTTP 404/],
            ['/notes.txt', /media type 'text\/plain'/],
        ];
        for (const [p, re] of cases) {
            await openaiRejects(openai, { model: 'vision', messages: chatImage(files.url(p)) }, re);
        }
    });

    test('loopback is refused while url_fetch_private is off', async () => {
        const client = new OpenAI({ baseURL: `${strict.url}/v1`, apiKey: KEY, maxRetries: 0 });
        await openaiRejects(client, { model: 'vision', messages: chatImage(files.url('/tiny.png')) },
                            /could not fetch image URL .*: the host has a private or local address/);
    });
});
