/*
 * edge.test.mjs: the HTTP edge of bedrockd, tried as an attacker would, on raw
 * sockets: request heads RFC 9112 does not allow (400 and the connection closed,
 * nothing behind them executed), errors in the format of the path's API with a
 * valid status line, HEAD and unknown methods, the key checked before the body is
 * read (a keyless flood leaves RSS near where it was), the body memory budget,
 * slowloris (the head deadline runs from the first byte; slow bodies are cut),
 * connection caps, running out of descriptors under `ulimit -n`, and the TLS listener's
 * cipher policy (forward-secret suites only by default, ssl_ciphers to choose).
 *
 * Run from tests/: BD_BEDROCKD=.../bedrockd node --test integration/edge.test.mjs
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';

import { makeTempDir, runBedrockd, startBedrockd, waitUntil, withTimeout } from './lib/harness.mjs';

const KEY = 'sk-bdtest-edge-master-0123456789';

function baseConf(extra = '', { body = '1m' } = {}) {
    return `listen 127.0.0.1:0;
worker_threads 1;
store off;
master_key ${KEY};
error_log stderr info;
client_max_body_size ${body};
client_max_header_size 4k;
${extra}`;
}

/* One raw connection: write bytes, collect everything until the server closes. */
function rawConnect(port) {
    return new Promise((resolve, reject) => {
        const sock = net.connect(port, '127.0.0.1');
        const c = { sock, data: Buffer.alloc(0), closed: false, error: null };
        c.ended = new Promise((res) => {
            sock.on('close', () => {
                c.closed = true;
                res();
            });
        });
        sock.on('data', (b) => {
            c.data = Buffer.concat([c.data, b]);
        });
        sock.on('error', (e) => {
            c.error = e;
        });
        c.text = () => c.data.toString('latin1');
        c.write = (b) => new Promise((res) => {
            if (sock.destroyed) {
                res(false);
                return;
            }
            sock.write(b, () => res(true));
        });
        sock.once('connect', () => resolve(c));
        sock.once('error', reject);
    });
}

/* Sends <bytes> on a fresh connection and resolves what came back once the server
 * closed it (bounded). */
async function exchange(port, bytes, { timeoutMs = 10000 } = {}) {
    const c = await rawConnect(port);
    c.sock.write(bytes);
    await withTimeout(c.ended, timeoutMs, 'the server closing the connection');
    return c.text();
}

/* Splits a byte string of HTTP responses into [{status, line, headers, body}]. */
function parseResponses(text) {
    const out = [];
    let rest = text;
    while (rest.length > 0) {
        const end = rest.indexOf('\r\n\r\n');
        if (end < 0) {
            break;
        }
        const lines = rest.slice(0, end).split('\r\n');
        const headers = {};
        for (const l of lines.slice(1)) {
            const i = l.indexOf(':');
            headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
        }
        const len = Number(headers['content-length'] ?? 0);
        const body = rest.slice(end + 4, end + 4 + len);
        out.push({ line: lines[0], status: Number(lines[0].split(' ')[1]), headers, body });
        rest = rest.slice(end + 4 + body.length);
    }
    return out;
}

function rssKb(pid) {
    const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/);
    return Number(m[1]);
}

function cpuTicks(pid) {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]); /* utime + stime */
}

function underAsan(pid) {
    return fs.readFileSync(`/proc/${pid}/maps`, 'utf8').includes('libasan');
}

describe('strict request heads', () => {
    let d;
    before(async () => {
        d = await startBedrockd({ conf: baseConf() });
    });
    after(async () => {
        assert.equal(await d.stop(), 0);
    });

    const bad = {
        'two Content-Length headers (a request hidden behind the body)':
            'POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 37\r\n\r\n' +
            'GET /ready HTTP/1.1\r\nHost: x\r\n\r\n',
        'the same Content-Length twice':
            'POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab',
        'Content-Length: +N': 'POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: +2\r\n\r\nab',
        'Content-Length in hex': 'POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 0x2\r\n\r\nab',
        'an empty Content-Length': 'POST /health HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n',
        'a space before the colon': 'GET /health HTTP/1.1\r\nHost : x\r\n\r\n',
        'a tab before the colon': 'GET /health HTTP/1.1\r\nHost\t: x\r\n\r\n',
        'obsolete line folding': 'GET /health HTTP/1.1\r\nHost: x\r\nX-A: b\r\n c\r\n\r\n',
        'bare LF line endings': 'GET /health HTTP/1.1\nHost: x\n\n',
        'a bare LF after one header': 'GET /health HTTP/1.1\r\nHost: x\nX-A: b\r\n\r\n',
        'a NUL in a header value': 'GET /health HTTP/1.1\r\nHost: x\r\nX-A: a\u0000b\r\n\r\n',
        'a bare CR in a header value': 'GET /health HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n',
        'Content-Length and Transfer-Encoding':
            'POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n' +
            'Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
        'a Transfer-Encoding other than chunked':
            'POST /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n',
        'a malformed request line': 'GET  /health HTTP/1.1\r\nHost: x\r\n\r\n',
    };
    for (const [what, bytes] of Object.entries(bad)) {
        test(`${what}: 400, closed, nothing behind it runs`, async () => {
            const from = d.mark();
            const text = await exchange(d.port, bytes);
            const res = parseResponses(text);
            assert.equal(res.length, 1, `one response only:\n${text}`);
            assert.equal(res[0].line, 'HTTP/1.1 400 Bad Request', text);
            assert.equal(res[0].headers.connection, 'close');
            const body = JSON.parse(res[0].body);
            assert.equal(body.type, 'error');
            assert.equal(body.error.type, 'invalid_request_error');
            assert.doesNotMatch(d.log.text.slice(from), /GET \/ready/);
        });
    }

    test('pipelined requests and keep-alive keep working', async () => {
        const c = await rawConnect(d.port);
        await c.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\n' +
                      'POST /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n' +
                      '3\r\nabc\r\n0\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\n');
        await waitUntil(() => parseResponses(c.text()).length >= 4, { what: 'four responses' });
        const res = parseResponses(c.text());
        assert.deepEqual(res.map((r) => r.status), [200, 200, 405, 200]);
        assert.equal(c.closed, false, 'the connection stays open');
        await c.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
        await waitUntil(() => parseResponses(c.text()).length >= 5, { what: 'a fifth response' });
        c.sock.destroy();
    });
});

describe('errors in the format of the path', () => {
    let d;
    before(async () => {
        d = await startBedrockd({ conf: baseConf() });
    });
    after(async () => {
        assert.equal(await d.stop(), 0);
    });

    const openaiError = (r, status) => {
        assert.equal(r.status, status, r.line);
        assert.match(r.line, /^HTTP\/1\.1 /);
        const body = JSON.parse(r.body);
        assert.equal(typeof body.error.message, 'string');
        assert.equal(body.type, undefined, 'not the Anthropic shape');
    };
    const anthropicError = (r, status) => {
        assert.equal(r.status, status, r.line);
        assert.match(r.line, /^HTTP\/1\.1 /);
        assert.equal(JSON.parse(r.body).type, 'error');
    };

    test('a body over the limit: 413 as OpenAI on /v1/chat/completions', async () => {
        for (const te of [false, true]) {
            const head = te ? 'Transfer-Encoding: chunked\r\n\r\n' + `200000\r\n${'x'.repeat(0x20)}`
                : `Content-Length: ${2 * 1024 * 1024}\r\n\r\n`;
            const text = await exchange(d.port, `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n` +
                                                `x-api-key: ${KEY}\r\n${head}`);
            openaiError(parseResponses(text)[0], 413);
        }
        const text = await exchange(d.port, `POST /v1/messages HTTP/1.1\r\nHost: x\r\n` +
                                            `x-api-key: ${KEY}\r\nContent-Length: ${2 << 20}\r\n\r\n`);
        anthropicError(parseResponses(text)[0], 413);
    });

    test('headers over the limit: 431 as OpenAI on /v1/embeddings', async () => {
        const text = await exchange(d.port, 'POST /v1/embeddings HTTP/1.1\r\nHost: x\r\n' +
                                            `X-Big: ${'b'.repeat(6000)}\r\n\r\n`);
        openaiError(parseResponses(text)[0], 431);
    });

    test('a malformed head: 400 as OpenAI on /v1/chat/completions, Anthropic elsewhere', async () => {
        openaiError(parseResponses(await exchange(d.port,
            'POST /v1/chat/completions HTTP/1.1\r\nHost : x\r\n\r\n'))[0], 400);
        anthropicError(parseResponses(await exchange(d.port,
            'POST /v1/messages HTTP/1.1\r\nHost : x\r\n\r\n'))[0], 400);
    });

    test('an unparsable request line still gets an HTTP/1.1 status line', async () => {
        for (const bytes of ['GARBAGE\r\n\r\n', 'GET /health HTTP/9.9\r\n\r\n',
                             'GET /health\r\n\r\n']) {
            const text = await exchange(d.port, bytes);
            assert.match(text, /^HTTP\/1\.1 400 /, JSON.stringify(bytes));
        }
    });

    test('a missing key: 401 as OpenAI on /v1/chat/completions', async () => {
        const text = await exchange(d.port, 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n' +
                                            'Content-Length: 2\r\n\r\n{}');
        const r = parseResponses(text)[0];
        openaiError(r, 401);
        assert.equal(JSON.parse(r.body).error.code, 'invalid_api_key');
    });

    test('HEAD is GET without a body, on every path; the connection stays usable', async () => {
        const c = await rawConnect(d.port);
        const auth = `x-api-key: ${KEY}\r\n`;
        await c.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n' +
                      'HEAD /health HTTP/1.1\r\nHost: x\r\n\r\n' +
                      `HEAD /no/such/path HTTP/1.1\r\nHost: x\r\n\r\n` +
                      `HEAD /v1/messages HTTP/1.1\r\nHost: x\r\n${auth}\r\n` +
                      'GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
        await waitUntil(() => (c.text().match(/HTTP\/1\.1 /g) || []).length >= 5,
                        { what: 'five responses' });
        /* Parse by hand: HEAD responses announce a length but carry no body. */
        const text = c.text();
        const parts = [];
        let at = 0;
        for (const isHead of [false, true, true, true, false]) {
            const end = text.indexOf('\r\n\r\n', at);
            const headText = text.slice(at, end);
            const len = Number(/content-length: (\d+)/i.exec(headText)[1]);
            const body = isHead ? '' : text.slice(end + 4, end + 4 + len);
            parts.push({ headText, len, body });
            at = end + 4 + body.length;
        }
        assert.equal(at, text.length, 'no stray body bytes');
        assert.match(parts[1].headText, /^HTTP\/1\.1 200/);
        assert.equal(parts[1].len, parts[0].body.length);
        assert.match(parts[2].headText, /^HTTP\/1\.1 404/);
        assert.match(parts[3].headText, /^HTTP\/1\.1 405/);
        assert.match(parts[3].headText, /\r\nAllow: POST/i);
        assert.equal(parts[4].body, parts[0].body);
        assert.equal(c.closed, false);
        c.sock.destroy();
    });

    test('an unknown or unserved method is 405 with Allow', async () => {
        for (const m of ['FOO', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
            const text = await exchange(d.port, `${m} /health HTTP/1.1\r\nHost: x\r\n` +
                                                'Connection: close\r\n\r\n');
            const r = parseResponses(text)[0];
            assert.equal(r.status, 405, `${m}: ${r.line}`);
            assert.equal(r.headers.allow, 'GET, HEAD');
        }
    });
});

describe('the key before the body', () => {
    let d;
    before(async () => {
        d = await startBedrockd({ conf: baseConf('worker_body_memory 3m;\n', { body: '32m' }) });
    });
    after(async () => {
        assert.equal(await d.stop(), 0);
    });

    test('no key: 401 on the head, the body unread, the connection closed', async () => {
        for (const key of ['', 'x-api-key: sk-not-a-key-at-all-0000000000\r\n']) {
            const c = await rawConnect(d.port);
            await c.write(`POST /v1/messages HTTP/1.1\r\nHost: x\r\n${key}` +
                          `Content-Length: ${32 * 1024 * 1024}\r\n\r\n`);
            await c.write(Buffer.alloc(64 * 1024, 'a'));
            await waitUntil(() => /\r\n\r\n\{/.test(c.text()) || c.closed, { what: 'a response' });
            const r = parseResponses(c.text())[0];
            assert.equal(r.status, 401, c.text());
            assert.equal(r.headers.connection, 'close');
            await withTimeout(c.ended, 10000, 'the connection closing');
        }
    });

    test('a client still sending its body reads the 401 and a clean close, not a reset',
         async () => {
        /* the whole (refused) upload in one go: bedrockd answers on the head, shuts its
         * side and drains the rest for a while instead of resetting the connection */
        const c = await rawConnect(d.port);
        c.sock.write(`POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: ${2 << 20}\r\n\r\n`);
        c.sock.write(Buffer.alloc(2 << 20, 'b'));
        c.sock.end();
        await withTimeout(c.ended, 10000, 'the connection closing');
        assert.equal(c.error, null, `no error on the client side: ${c.error?.code}`);
        assert.equal(parseResponses(c.text())[0]?.status, 401, c.text());
    });

    test('connections in a lingering close cost no CPU while they linger', async (t) => {
        /* Each client is refused on its head and then neither sends nor closes (a
         * half-open socket), so its close lingers for a second. Their sockets must
         * leave epoll with their connections: a registration left behind (a duplicated
         * descriptor under a batched epoll changelist did that) wakes the worker in a
         * loop until the linger ends. */
        const clients = [];
        for (let i = 0; i < 5; i++) {
            const sock = net.connect({ port: d.port, host: '127.0.0.1', allowHalfOpen: true });
            const c = { sock, data: '', ended: false };
            sock.on('data', (b) => { c.data += b.toString('latin1'); });
            sock.on('end', () => { c.ended = true; });
            sock.on('error', () => {});
            sock.write(Buffer.concat([
                Buffer.from(`POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: ${1 << 20}\r\n\r\n`),
                Buffer.alloc(1000, 'c')]));
            clients.push(c);
        }
        await waitUntil(() => clients.every((c) => c.ended), { what: 'the 401s and their FINs' });
        const ticks0 = cpuTicks(d.pid);
        const t0 = Date.now();
        await new Promise((res) => setTimeout(res, 600));
        const cpuMs = (cpuTicks(d.pid) - ticks0) * (1000 / 100);
        const wallMs = Date.now() - t0;
        t.diagnostic(`CPU ${cpuMs} ms over ${wallMs} ms with 5 lingering closes`);
        assert.ok(cpuMs < wallMs / 4, `bedrockd used ${cpuMs} ms of CPU in ${wallMs} ms`);
        for (const c of clients) {
            assert.equal(parseResponses(c.data)[0]?.status, 401, c.data);
            c.sock.destroy();
        }
    });

    test('a keyless flood leaves RSS near its baseline', async (t) => {
        if (underAsan(d.pid)) {
            t.skip('RSS means nothing under AddressSanitizer');
            return;
        }
        const before = rssKb(d.pid);
        const chunk = Buffer.alloc(256 * 1024, 'z');
        let peak = before;
        const flood = async () => {
            const c = await rawConnect(d.port);
            c.sock.write('POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n' +
                         `Content-Length: ${32 * 1024 * 1024}\r\n\r\n`);
            for (let i = 0; i < 128 && !c.closed && !c.error; i++) {
                if (!c.sock.write(chunk)) {
                    await Promise.race([new Promise((r) => c.sock.once('drain', r)), c.ended]);
                }
                peak = Math.max(peak, rssKb(d.pid));
            }
            await withTimeout(c.ended, 20000, 'a flood connection closing');
        };
        await Promise.all(Array.from({ length: 40 }, flood));
        const afterKb = rssKb(d.pid);
        t.diagnostic(`RSS before ${before} kB, peak ${peak} kB, after ${afterKb} kB`);
        assert.ok(peak - before < 64 * 1024, `peak RSS grew by ${peak - before} kB`);
        assert.ok(afterKb - before < 16 * 1024, `RSS after the flood grew by ${afterKb - before} kB`);
    });

    test('admitted bodies count against worker_body_memory: beyond it, 503 unread', async () => {
        const auth = `x-api-key: ${KEY}\r\n`;
        /* Four heads of 1 MiB bodies against a 3 MiB budget. Which head the worker
         * reads last is its choice (they arrive together on a loaded machine): that
         * one is refused, the other three are admitted and wait for their bodies. */
        const conns = [];
        for (let i = 0; i < 4; i++) {
            const c = await rawConnect(d.port);
            await c.write(`POST /v1/messages HTTP/1.1\r\nHost: x\r\n${auth}` +
                          `Content-Length: ${1024 * 1024}\r\n\r\n`);
            conns.push(c);
        }
        await waitUntil(() => conns.some((c) => c.data.length > 0 || c.closed),
                        { what: 'one head refused' });
        const refused = conns.filter((c) => c.data.length > 0 || c.closed);
        assert.equal(refused.length, 1, refused.map((c) => c.text()).join('\n---\n'));
        await withTimeout(refused[0].ended, 10000, 'the refused connection closing');
        const r = parseResponses(refused[0].text())[0];
        assert.equal(r?.status, 503, refused[0].text());
        assert.equal(JSON.parse(r.body).error.type, 'overloaded_error');
        for (const c of conns) {
            if (c !== refused[0]) {
                assert.equal(c.data.length, 0, 'the admitted ones are still being read');
                c.sock.destroy();
            }
        }
        /* their memory is given back: a whole body is admitted and read again (its
         * JSON is invalid: 400 from the handler, not 503 from the edge) */
        await waitUntil(async () => {
            const text = await exchange(d.port, `POST /v1/messages HTTP/1.1\r\nHost: x\r\n${auth}` +
                                                `Content-Length: ${1024 * 1024}\r\n` +
                                                `Connection: close\r\n\r\n${'a'.repeat(1024 * 1024)}`);
            return parseResponses(text)[0]?.status === 400;
        }, { what: 'the budget admitting again' });
    });
});

describe('slow clients and connection caps', () => {
    let d;
    before(async () => {
        d = await startBedrockd({ conf: baseConf('client_header_timeout 1s;\n' +
                                                 'client_body_timeout 1s;\n' +
                                                 'client_body_min_rate 1k;\n' +
                                                 'keepalive_timeout 60s;\n' +
                                                 'worker_connections 16;\n' +
                                                 'client_connections_per_address 12;\n') });
    });
    after(async () => {
        assert.equal(await d.stop(), 0);
    });

    test('a head trickled a byte at a time is cut at client_header_timeout', async () => {
        const c = await rawConnect(d.port);
        const head = 'GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(200);
        let i = 0;
        const timer = setInterval(() => {
            if (i < head.length && !c.closed) {
                c.sock.write(head[i++]);
            }
        }, 100);
        try {
            await withTimeout(c.ended, 15000, 'the server closing a slowloris connection');
        } finally {
            clearInterval(timer);
        }
        assert.ok(i < head.length, 'cut before the head was complete');
        assert.equal(c.data.length, 0);
    });

    test('a body below client_body_min_rate is cut', async () => {
        const c = await rawConnect(d.port);
        await c.write(`POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n`);
        const timer = setInterval(() => {
            if (!c.closed) {
                c.sock.write('a');
            }
        }, 100);
        try {
            await withTimeout(c.ended, 15000, 'the server closing a slow body');
        } finally {
            clearInterval(timer);
        }
    });

    test('connections over client_connections_per_address get 503 and are closed', async () => {
        const held = [];
        for (let i = 0; i < 12; i++) {
            const c = await rawConnect(d.port);
            await c.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
            held.push(c);
        }
        await waitUntil(() => held.every((c) => /\{"status":"ok"\}/.test(c.text())),
                        { what: 'twelve answers' });
        const text = await exchange(d.port, 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
        assert.equal(parseResponses(text)[0].status, 503, text);
        for (const c of held) {
            c.sock.destroy();
        }
    });

    test('connections over worker_connections get 503 and are closed', async () => {
        const held = [];
        for (let i = 0; i < 16; i++) {
            held.push(await rawConnect(d.port));
        }
        const text = await exchange(d.port, 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
        assert.equal(parseResponses(text)[0].status, 503, text);
        for (const c of held) {
            c.sock.destroy();
        }
        await waitUntil(async () => {
            const t = await exchange(d.port, 'GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
            return parseResponses(t)[0]?.status === 200;
        }, { what: 'connections admitted again' });
    });
});

describe('out of descriptors', () => {
    test('accepting pauses instead of spinning, logs rarely, resumes', async (t) => {
        const dir = makeTempDir('bd-edge-ulimit-');
        const wrapper = path.join(dir, 'bedrockd-ulimit');
        fs.writeFileSync(wrapper, `#!/bin/sh\nulimit -n 48\nexec "${process.env.BD_BEDROCKD}" "$@"\n`,
                         { mode: 0o755 });
        const real = process.env.BD_BEDROCKD;
        process.env.BD_BEDROCKD = wrapper;
        let d;
        try {
            d = await startBedrockd({ conf: baseConf(), t });
        } finally {
            process.env.BD_BEDROCKD = real;
        }
        const socks = [];
        for (let i = 0; i < 80; i++) {
            socks.push(await rawConnect(d.port));
        }
        /* Every descriptor is taken and connections wait in the backlog. */
        await waitUntil(() => /accept\(\) failed/.test(d.log.text), { what: 'the accept report' });
        const ticks0 = cpuTicks(d.pid);
        const t0 = Date.now();
        await new Promise((res) => setTimeout(res, 2000));
        const cpuMs = (cpuTicks(d.pid) - ticks0) * (1000 / 100);
        const wallMs = Date.now() - t0;
        t.diagnostic(`CPU ${cpuMs} ms over ${wallMs} ms while out of descriptors`);
        assert.ok(cpuMs < wallMs / 2, `bedrockd used ${cpuMs} ms of CPU in ${wallMs} ms`);
        const reports = d.log.text.split('\n').filter((l) => /accept\(\) failed/.test(l));
        assert.ok(reports.length <= 2, `${reports.length} accept reports`);
        for (const s of socks) {
            s.sock.destroy();
        }
        await waitUntil(async () => {
            try {
                const text = await exchange(d.port, 'GET /health HTTP/1.1\r\nHost: x\r\n' +
                                                    'Connection: close\r\n\r\n', { timeoutMs: 2000 });
                return parseResponses(text)[0]?.status === 200;
            } catch {
                return false;
            }
        }, { what: 'accepting again', timeoutMs: 20000 });
        assert.equal(await d.stop(), 0);
    });
});

describe('TLS cipher policy', () => {
    /* Resolves the cipher a TLS 1.2 handshake with <ciphers> agreed on, or null. */
    function handshake(port, ciphers) {
        return new Promise((resolve) => {
            const s = tls.connect({ host: '127.0.0.1', port, ciphers, maxVersion: 'TLSv1.2',
                                    rejectUnauthorized: false }, () => {
                const c = s.getCipher().standardName;
                s.destroy();
                resolve(c);
            });
            s.on('error', () => resolve(null));
        });
    }

    function tlsConf(dir, extra = '') {
        execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1',
                                 '-subj', '/CN=localhost', '-keyout', path.join(dir, 'key.pem'),
                                 '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
        return 'worker_threads 1;\nlisten 127.0.0.1:0 ssl;\n' +
               `ssl_certificate ${path.join(dir, 'cert.pem')};\n` +
               `ssl_certificate_key ${path.join(dir, 'key.pem')};\n${extra}`;
    }

    test('forward-secret suites only by default; ssl_ciphers chooses', async (t) => {
        const d = await startBedrockd({ t, conf: (dir) => tlsConf(dir) });
        assert.equal(await handshake(d.port, 'AES128-GCM-SHA256'), null, 'RSA key exchange refused');
        assert.equal(await handshake(d.port, 'ECDHE-RSA-AES128-GCM-SHA256'),
                     'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256');
        assert.equal(await d.stop(), 0);

        const e = await startBedrockd({ t, conf: (dir) => tlsConf(dir,
                                                                 'ssl_ciphers AES128-GCM-SHA256;\n') });
        assert.equal(await handshake(e.port, 'AES128-GCM-SHA256'), 'TLS_RSA_WITH_AES_128_GCM_SHA256');
        assert.equal(await e.stop(), 0);
    });

    test('-t refuses an ssl_ciphers that selects nothing', async () => {
        const dir = makeTempDir('bd-edge-tls-');
        const conf = path.join(dir, 'bedrockd.conf');
        fs.writeFileSync(conf, tlsConf(dir, 'ssl_ciphers NO-SUCH-CIPHER;\n'));
        const r = await runBedrockd(['-t', '-c', conf]);
        assert.equal(r.code, 1);
        assert.match(r.stderr, /"ssl_ciphers" "NO-SUCH-CIPHER" selects no cipher/);
    });
});
