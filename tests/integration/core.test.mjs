/*
 * core.test.mjs: the core of bedrockd as a real process on real sockets: flags,
 * configuration errors, the HTTP front (ids, errors, limits), reload under load,
 * listeners added and removed on reload, drain, -s, log reopening, access log.
 * Run from tests/: BD_BEDROCKD=.../bedrockd node --test integration/core.test.mjs
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import https from 'node:https';
import net from 'node:net';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';

import {
    canConnect,
    EMULATOR_CREDENTIALS,
    freePort,
    httpRequest,
    httpStream,
    makeTempDir,
    openConnection,
    runBedrockd,
    startBedrockd,
    startEmulator,
    waitUntil,
    withTimeout,
} from './lib/harness.mjs';

/* Asserts <res> is an error in the Anthropic format carrying the response's id. */
function assertAnthropicError(res, status, type) {
    assert.equal(res.status, status, res.body);
    assert.match(res.headers['content-type'], /^application\/json/);
    assert.ok(res.json, `not JSON: ${res.body}`);
    assert.equal(res.json.type, 'error');
    assert.equal(res.json.error.type, type);
    assert.equal(typeof res.json.error.message, 'string');
    assert.ok(res.json.error.message.length > 0);
    const id = res.headers['request-id'];
    assert.ok(id, 'no request-id header');
    assert.equal(res.json.request_id, id);
}

describe('command line', () => {
    test('-t accepts a good configuration', async () => {
        const dir = makeTempDir();
        const conf = path.join(dir, 'good.conf');
        fs.writeFileSync(conf, 'listen 127.0.0.1:0;\nworker_threads 2;\nclient_max_body_size 1m;\n');
        const r = await runBedrockd(['-t', '-c', conf]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, /test is successful/);
    });

    /* Each bad configuration is main.conf; <files> are written next to it. The
     * expected line names the file and line where the error is. */
    const badConfs = [
        {
            name: 'unknown directive',
            conf: 'listen 127.0.0.1:0;\nfoo bar;\n',
            where: ['main.conf', 2],
            message: 'unknown directive "foo"',
        },
        {
            name: 'directive in the wrong context',
            conf: 'listen 127.0.0.1:0;\nregion us-east-1;\n',
            where: ['main.conf', 2],
            message: '"region" directive is not allowed here',
        },
        {
            name: 'main directive inside a block',
            conf: 'listen 127.0.0.1:0;\nbedrock {\n    region us-east-1;\n    pid x.pid;\n}\n',
            where: ['main.conf', 4],
            message: 'unknown directive "pid"',
        },
        {
            name: 'a block on a directive that takes none',
            conf: 'listen 127.0.0.1:0;\npid /tmp/x.pid {\n}\n',
            where: ['main.conf', 2],
            message: '"pid" directive is not terminated by ";"',
        },
        {
            name: 'a bare block where only directives may stand',
            conf: 'listen 127.0.0.1:0;\n\n{\n    pid /tmp/x.pid;\n}\n',
            where: ['main.conf', 3],
            message: 'unexpected "{"',
        },
        {
            name: 'wrong number of arguments',
            conf: 'listen 127.0.0.1:0;\npid;\n',
            where: ['main.conf', 2],
            message: 'invalid number of arguments in "pid" directive',
        },
        {
            name: 'bad size value',
            conf: 'listen 127.0.0.1:0;\nclient_max_body_size 12q;\n',
            where: ['main.conf', 2],
            message: 'invalid value "12q" in "client_max_body_size" directive',
        },
        {
            name: 'bad duration value',
            conf: 'listen 127.0.0.1:0;\n# a comment\nshutdown_timeout 5x;\n',
            where: ['main.conf', 3],
            message: 'invalid value "5x" in "shutdown_timeout" directive',
        },
        {
            name: 'value out of bounds',
            conf: 'listen 127.0.0.1:0;\nworker_connections 3;\n',
            where: ['main.conf', 2],
            message: '"worker_connections" directive value must be between 16 and 1000000',
        },
        {
            name: 'duplicate directive',
            conf: 'listen 127.0.0.1:0;\npid a.pid;\npid b.pid;\n',
            where: ['main.conf', 3],
            message: '"pid" directive is duplicate',
        },
        {
            name: 'missing include',
            conf: 'listen 127.0.0.1:0;\ninclude missing.conf;\n',
            where: ['main.conf', 2],
            message: (dir) => `open() "${path.join(dir, 'missing.conf')}" failed ` +
                              '(No such file or directory)',
        },
        {
            name: 'error inside an included file',
            conf: 'listen 127.0.0.1:0;\ninclude part.conf;\n',
            files: { 'part.conf': '# part\n\nworker_threads 0;\n' },
            where: ['part.conf', 3],
            message: 'invalid value "0" in "worker_threads" directive, it must be "auto" or a ' +
                     'number from 1 to 256',
        },
        {
            name: 'unset environment variable',
            conf: 'listen 127.0.0.1:0;\nworker_threads ${BD_IT_SURELY_UNSET};\n',
            where: ['main.conf', 2],
            message: 'environment variable "BD_IT_SURELY_UNSET" is not set',
        },
        {
            name: 'missing semicolon at the end',
            conf: 'listen 127.0.0.1:0;\nworker_threads 1\n',
            where: ['main.conf', 2],
            message: 'unexpected end of file, expecting ";" or "}"',
        },
        {
            name: 'bad listen address',
            conf: 'listen 127.0.0.1:99999;\n',
            where: ['main.conf', 1],
            message: 'invalid address "127.0.0.1:99999" in "listen" directive',
        },
    ];
    for (const bc of badConfs) {
        test(`-t rejects: ${bc.name}`, async () => {
            const dir = makeTempDir();
            const conf = path.join(dir, 'main.conf');
            fs.writeFileSync(conf, bc.conf);
            for (const [name, text] of Object.entries(bc.files || {})) {
                fs.writeFileSync(path.join(dir, name), text);
            }
            const r = await runBedrockd(['-t', '-c', conf], { env: { BD_IT_SURELY_UNSET: undefined } });
            assert.equal(r.code, 1, r.stderr);
            const msg = typeof bc.message === 'function' ? bc.message(dir) : bc.message;
            const line = `bedrockd: ${path.join(dir, bc.where[0])}:${bc.where[1]}: ${msg}`;
            assert.ok(r.stderr.split('\n').includes(line),
                      `expected the line\n  ${line}\nin stderr:\n${r.stderr}`);
            assert.match(r.stderr, /test failed/);
        });
    }

    test('-T prints the effective configuration with includes and ${VAR:-default}', async () => {
        const dir = makeTempDir();
        const conf = path.join(dir, 'main.conf');
        fs.writeFileSync(path.join(dir, 'extra.conf'), 'shutdown_delay 1s;\n');
        fs.writeFileSync(conf, 'listen 127.0.0.1:0;\n' +
                               'worker_threads ${BD_IT_WORKERS:-3};\n' +
                               'client_max_body_size ${BD_IT_BODY:-1m};\n' +
                               'include extra.conf;\n');
        const r = await runBedrockd(['-T', '-c', conf],
                                    { env: { BD_IT_WORKERS: undefined, BD_IT_BODY: '2m' } });
        assert.equal(r.code, 0, r.stderr);
        const lines = r.stdout.split('\n');
        for (const want of ['listen 127.0.0.1:0;', 'worker_threads 3;', 'client_max_body_size 2m;',
                            'shutdown_delay 1s;']) {
            assert.ok(lines.includes(want), `no "${want}" in:\n${r.stdout}`);
        }
        assert.ok(!r.stdout.includes('include'), r.stdout);
        assert.ok(!r.stdout.includes('${'), r.stdout);
    });

    test('-v prints the version and exits 0', async () => {
        const r = await runBedrockd(['-v']);
        assert.equal(r.code, 0);
        assert.match(r.stdout, /^bedrockd version \d+\.\d+\.\d+/m);
        assert.match(r.stdout, /libevent/);
        /* and the allocator it runs on (mimalloc; glibc's in sanitizer builds) */
        assert.match(r.stdout, /^build options: .*; (mimalloc \d+\.\d+\.\d+|glibc malloc)$/m);
    });

    test('-h lists the flags and exits 0', async () => {
        const r = await runBedrockd(['-h']);
        assert.equal(r.code, 0);
        for (const flag of ['-h', '-v', '-t', '-T', '-c FILE', '-s SIGNAL']) {
            assert.ok(r.stdout.includes(flag), `no ${flag} in:\n${r.stdout}`);
        }
    });

    test('an unknown flag exits 1', async () => {
        const r = await runBedrockd(['-Q']);
        assert.equal(r.code, 1);
        assert.match(r.stderr, /invalid option/);
    });
});

describe('HTTP front', () => {
    let d;
    before(async () => {
        d = await startBedrockd({
            conf: 'listen 127.0.0.1:0;\nworker_threads 2;\n' +
                  'client_max_body_size 1k;\nclient_max_header_size 2k;\n',
        });
    });
    after(async () => {
        assert.equal(await d.stop(), 0);
    });

    test('GET /health is 200 {"status":"ok"} with a request-id', async () => {
        const r = await httpRequest(`${d.url}/health`);
        assert.equal(r.status, 200);
        assert.deepEqual(r.json, { status: 'ok' });
        assert.match(r.headers['request-id'], /^\S{8,}$/);
    });

    test('the Date header is RFC 9110 time, the current second, once per response', async () => {
        const before = Math.floor(Date.now() / 1000);
        const raw = await new Promise((resolve, reject) => {
            http.get(`${d.url}/health`, { agent: false }, (res) => {
                res.resume();
                res.on('end', () => resolve(res.rawHeaders));
            }).on('error', reject);
        });
        const after = Math.ceil(Date.now() / 1000);
        const dates = raw.filter((h, i) => i % 2 === 0 && h.toLowerCase() === 'date');
        assert.equal(dates.length, 1, `Date headers: ${raw}`);
        const date = raw[raw.findIndex((h, i) => i % 2 === 0 && h.toLowerCase() === 'date') + 1];
        assert.match(date, /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/);
        const t = Date.parse(date) / 1000;
        assert.ok(t >= before - 1 && t <= after, `${date} is not now`);
    });

    test('request ids differ between requests', async () => {
        const a = await httpRequest(`${d.url}/health`);
        const b = await httpRequest(`${d.url}/health`);
        assert.notEqual(a.headers['request-id'], b.headers['request-id']);
    });

    test('GET /ready is 200 while running', async () => {
        const r = await httpRequest(`${d.url}/ready`);
        assert.equal(r.status, 200);
        assert.equal(r.json.status, 'ready');
        assert.ok(r.headers['request-id']);
    });

    test('an incoming x-request-id is echoed as request-id', async () => {
        const r = await httpRequest(`${d.url}/health`, { headers: { 'x-request-id': 'it-echo-42' } });
        assert.equal(r.status, 200);
        assert.equal(r.headers['request-id'], 'it-echo-42');
        const e = await httpRequest(`${d.url}/nope`, { headers: { 'x-request-id': 'it-echo-43' } });
        assertAnthropicError(e, 404, 'not_found_error');
        assert.equal(e.json.request_id, 'it-echo-43');
    });

    test('unknown path is 404 in the Anthropic format', async () => {
        assertAnthropicError(await httpRequest(`${d.url}/no/such/path`), 404, 'not_found_error');
    });

    test('wrong method is 405 in the Anthropic format with Allow', async () => {
        const r = await httpRequest(`${d.url}/health`, { method: 'POST', body: '{}' });
        assertAnthropicError(r, 405, 'invalid_request_error');
        assert.match(r.headers.allow, /GET/);
    });

    test('a body over client_max_body_size is 413 in the Anthropic format', async () => {
        const under = await httpRequest(`${d.url}/health`, { method: 'POST', body: 'x'.repeat(1000) });
        assert.equal(under.status, 405, 'a body under the limit reaches the route');
        const r = await httpRequest(`${d.url}/health`, { method: 'POST', body: 'x'.repeat(2000) });
        assertAnthropicError(r, 413, 'invalid_request_error');
    });

    test('headers over client_max_header_size are 431 in the Anthropic format', async () => {
        const ok = await httpRequest(`${d.url}/health`, { headers: { 'x-pad': 'a'.repeat(1000) } });
        assert.equal(ok.status, 200, 'headers under the limit pass');
        const r = await httpRequest(`${d.url}/health`, { headers: { 'x-big': 'b'.repeat(3000) } });
        assertAnthropicError(r, 431, 'invalid_request_error');
        const many = {};
        for (let i = 0; i < 40; i++) {
            many[`x-h${i}`] = 'c'.repeat(60);
        }
        assertAnthropicError(await httpRequest(`${d.url}/health`, { headers: many }), 431,
                             'invalid_request_error');
    });

    test('keep-alive: many requests on one connection', async () => {
        const c = await openConnection(d.port);
        for (let i = 0; i < 20; i++) {
            const r = await c.request({ path: i % 2 ? '/health' : '/ready' });
            assert.equal(r.status, 200);
        }
        assert.equal(c.closed, false);
        c.close();
    });
});

/* Drives GET /health without pause over <keepAlive> persistent connections and
 * <fresh> loops of one-request connections until stop(); counts answers. */
function startTraffic(port, { keepAlive = 2, fresh = 2 } = {}) {
    const state = { ok: 0, failures: [], stopping: false };
    const record = (r, how) => {
        if (r.status === 200) {
            state.ok++;
        } else {
            state.failures.push(`${how}: status ${r.status} ${r.body}`);
        }
    };
    const persistent = async () => {
        let c;
        try {
            c = await openConnection(port);
            while (!state.stopping) {
                record(await c.request({ path: '/health' }), 'keep-alive');
            }
        } catch (err) {
            state.failures.push(`keep-alive: ${err.message}`);
        } finally {
            c?.close();
        }
    };
    const oneShot = async () => {
        while (!state.stopping) {
            try {
                record(await httpRequest(`http://127.0.0.1:${port}/health`), 'new connection');
            } catch (err) {
                state.failures.push(`new connection: ${err.message}`);
            }
        }
    };
    const loops = [];
    for (let i = 0; i < keepAlive; i++) {
        loops.push(persistent());
    }
    for (let i = 0; i < fresh; i++) {
        loops.push(oneShot());
    }
    state.stop = async () => {
        state.stopping = true;
        await Promise.all(loops);
    };
    /* Resolves once <n> more requests have succeeded. */
    state.progress = (n = 20) => {
        const target = state.ok + n;
        return waitUntil(() => state.ok >= target || state.failures.length > 0,
                         { what: `${n} more requests`, intervalMs: 5 });
    };
    return state;
}

describe('reload', () => {
    test('under traffic: no failed request, new settings apply, a broken conf keeps the old',
         async (t) => {
        const base = 'listen 127.0.0.1:0;\nworker_threads 2;\n';
        const d = await startBedrockd({ conf: base + 'client_max_body_size 16k;\n', t });
        const body = 'x'.repeat(2000);
        const post = () => httpRequest(`${d.url}/health`, { method: 'POST', body });
        assert.equal((await post()).status, 405, 'the body passes under 16k');

        const traffic = startTraffic(d.port);
        await traffic.progress();

        const r1 = await d.reload(base + 'client_max_body_size 1k;\n');
        assert.ok(r1.ok, r1.line);
        await traffic.progress();
        /* Workers adopt the new snapshot right after the main thread logs it. */
        await waitUntil(async () => (await post()).status === 413,
                        { what: 'the lowered client_max_body_size to apply' });
        assertAnthropicError(await post(), 413, 'invalid_request_error');

        const from = d.mark();
        const r2 = await d.reload(base + 'client_max_body_size 16k;\nbogus_directive on;\n');
        assert.equal(r2.ok, false, r2.line);
        const errLine = `${d.confPath}:4: unknown directive "bogus_directive"`;
        assert.ok(r2.line.includes(errLine), `expected ${errLine} in: ${r2.line}`);
        assert.match(d.stderr.slice(from), /\[error\] reload failed/);
        await traffic.progress();
        assert.equal((await post()).status, 413, 'the running configuration (1k) still applies');

        const r3 = await d.reload(base + 'client_max_body_size 16k;\n');
        assert.ok(r3.ok, r3.line);
        await waitUntil(async () => (await post()).status === 405,
                        { what: 'the raised client_max_body_size to apply' });
        await traffic.progress();

        await traffic.stop();
        assert.deepEqual(traffic.failures, []);
        assert.ok(traffic.ok > 0);
        assert.equal(await d.stop(), 0);
    });

    test('a listen added on reload accepts, a removed one stops, kept connections stay',
         async (t) => {
        const p2 = await freePort();
        let p3 = await freePort();
        while (p3 === p2) {
            p3 = await freePort();
        }
        const base = 'listen 127.0.0.1:0;\nworker_threads 2;\n';
        const d = await startBedrockd({ conf: base + `listen 127.0.0.1:${p2};\n`, t });
        assert.deepEqual(d.ports.slice(1), [p2]);
        const kept = await openConnection(d.port);
        assert.equal((await kept.request({ path: '/health' })).status, 200);
        const onRemoved = await openConnection(p2);
        assert.equal((await onRemoved.request({ path: '/health' })).status, 200);
        assert.equal(await canConnect(p3), false, 'nothing listens on the new port yet');

        const from = d.mark();
        const r = await d.reload(base + `listen 127.0.0.1:${p3};\n`);
        assert.ok(r.ok, r.line);
        assert.match(d.stderr.slice(from), new RegExp(`listening on 127\\.0\\.0\\.1:${p3}\\b`));
        assert.doesNotMatch(d.stderr.slice(from), new RegExp(`listening on 127\\.0\\.0\\.1:${d.port}\\b`),
                            'a kept address is not bound again');

        const added = await waitUntil(async () => {
            const res = await httpRequest(`http://127.0.0.1:${p3}/health`);
            return res.status === 200 && res;
        }, { what: 'the added listener to answer' });
        assert.deepEqual(added.json, { status: 'ok' });
        await waitUntil(async () => !(await canConnect(p2)), { what: 'the removed listener to close' });

        for (let i = 0; i < 5; i++) {
            assert.equal((await kept.request({ path: '/health' })).status, 200);
        }
        assert.equal(kept.closed, false, 'the keep-alive connection on a kept address survived');
        assert.equal((await httpRequest(`${d.url}/health`)).status, 200);
        kept.close();
        onRemoved.close();
        assert.equal(await d.stop(), 0);
    });
});

describe('stop', () => {
    test('SIGTERM with shutdown_delay: /ready turns 503 on a kept connection, then exit 0',
         async (t) => {
        const d = await startBedrockd({
            conf: 'listen 127.0.0.1:0;\nworker_threads 2;\nshutdown_delay 3s;\n',
            t,
        });
        const c = await openConnection(d.port);
        const before = await c.request({ path: '/ready' });
        assert.equal(before.status, 200);

        const from = d.mark();
        d.signal('SIGTERM');
        await d.waitForLog(/draining/, { from });
        /* The flag is set before the line is logged: no request can see "ready" now. */
        const during = await c.request({ path: '/ready' });
        assert.equal(during.status, 503, during.body);
        assert.equal(during.json.status, 'not_ready');
        assert.equal(during.json.reason, 'draining');
        assert.equal((await c.request({ path: '/health' })).status, 200, 'still live');
        const fresh = await httpRequest(`${d.url}/ready`);
        assert.equal(fresh.status, 503, 'listeners stay open during shutdown_delay');

        const res = await withTimeout(d.exited, 15000, 'bedrockd to exit after the delay');
        assert.equal(res.code, 0, d.stderr);
        assert.match(d.stderr.slice(from), /drained, exiting/);
        assert.equal(await canConnect(d.port), false);
        c.close();
    });

    /* bedrockd in front of the emulator, for requests that take a while. */
    const CORE_MASTER_KEY = 'sk-bd-core-test-master-key';

    function upstreamConf(emu, extra) {
        /* Keys are the keys suite's business: here the gateway runs without a store
         * and accepts the master key. */
        return 'listen 127.0.0.1:0;\nworker_threads 1;\nstore off;\n' +
               `master_key ${CORE_MASTER_KEY};\n` + extra +
               `bedrock {\n    endpoint ${emu.url};\n    region ${EMULATOR_CREDENTIALS.region};\n` +
               '    credentials static;\n' +
               `    access_key_id ${EMULATOR_CREDENTIALS.accessKeyId};\n` +
               `    secret_access_key ${EMULATOR_CREDENTIALS.secretAccessKey};\n}\n` +
               'model claude-sonnet-4-5 {\n    id us.anthropic.claude-sonnet-4-5-20250929-v1:0;\n}\n';
    }

    /* A streamed message whose words the emulator sends <delayMs> apart. */
    function slowStream(d, words, delayMs) {
        const text = Array.from({ length: words }, (_, i) => `w${i}`).join(' ');
        return httpStream(`${d.url}/v1/messages`, {
            headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01',
                       'x-api-key': CORE_MASTER_KEY },
            body: JSON.stringify({
                model: 'claude-sonnet-4-5',
                max_tokens: 200,
                stream: true,
                messages: [{ role: 'user', content: `${text} [[emu:slow delay_ms=${delayMs}]]` }],
            }),
        });
    }

    test('SIGTERM lets a slow stream in flight finish, closes listeners, then exits 0',
         async (t) => {
        const emu = await startEmulator({ t });
        const d = await startBedrockd({ conf: upstreamConf(emu, 'shutdown_timeout 60s;\n'), t });
        const s = await slowStream(d, 6, 300);
        assert.equal(s.status, 200);
        await s.log.waitFor(/event: message_start/);

        const from = d.mark();
        d.signal('SIGTERM');
        await d.waitForLog(/draining: 1 requests in flight/, { from });
        await waitUntil(async () => !(await canConnect(d.port)),
                        { what: 'the listeners to close (shutdown_delay 0)' });
        const { text, complete } = await s.done;
        assert.ok(complete, `the stream was cut:\n${text}`);
        assert.equal((text.match(/event: content_block_delta/g) || []).length, 6, text);
        assert.match(text, /event: message_stop/);

        const res = await withTimeout(d.exited, 15000, 'bedrockd to exit after the stream');
        assert.equal(res.code, 0, d.stderr);
        assert.match(d.stderr.slice(from), /drained, exiting/);
        assert.doesNotMatch(d.stderr.slice(from), /shutdown_timeout reached/);
    });

    /* Sends <bytes> on a raw connection to <port>; resolves with what came back once
     * the server closes it. */
    function rawClient(port) {
        const sock = net.connect(port, '127.0.0.1');
        let got = '';
        sock.on('data', (b) => { got += b.toString('latin1'); });
        sock.on('error', () => {});
        const closed = new Promise((resolve) => sock.on('close', () => resolve(got)));
        return { send: (bytes) => sock.write(bytes), closed,
                 ready: new Promise((resolve) => sock.on('connect', resolve)) };
    }

    test('SIGTERM waits for requests whose head or body is still arriving', async (t) => {
        const emu = await startEmulator({ t });
        const d = await startBedrockd({ conf: upstreamConf(emu, 'shutdown_timeout 30s;\n'), t });
        const body = JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 20,
                                      messages: [{ role: 'user', content: 'hi' }] });
        const head = 'POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n' +
                     'content-type: application/json\r\nanthropic-version: 2023-06-01\r\n' +
                     `x-api-key: ${CORE_MASTER_KEY}\r\ncontent-length: ${body.length}\r\n\r\n`;
        const halfHead = rawClient(d.port);
        const halfBody = rawClient(d.port);
        await Promise.all([halfHead.ready, halfBody.ready]);
        halfHead.send(head.slice(0, 40));
        halfBody.send(head + body.slice(0, 10));
        /* the worker has read both: they count as connections (and so does the scrape) */
        await waitUntil(async () => {
            const m = await httpRequest(`${d.url}/metrics`);
            const n = /^bedrockd_connections (\d+)$/m.exec(m.body);
            return n !== null && Number(n[1]) >= 3;
        }, { what: 'the two requests being read to show in bedrockd_connections' });

        const from = d.mark();
        d.signal('SIGTERM');
        await d.waitForLog(/draining/, { from });
        await waitUntil(async () => !(await canConnect(d.port)),
                        { what: 'the listeners to close (shutdown_delay 0)' });
        /* many drain ticks (20 ms) with nothing active but the two requests being read */
        await new Promise((resolve) => setTimeout(resolve, 400));
        halfHead.send(head.slice(40) + body);
        halfBody.send(body.slice(10));
        for (const [name, c] of [['half a head', halfHead], ['half a body', halfBody]]) {
            const answer = await withTimeout(c.closed, 10000, `the answer to ${name}`);
            assert.match(answer, /^HTTP\/1\.1 200 /, `${name}: ${answer.slice(0, 300)}`);
            assert.match(answer, /\r\nConnection: close\r\n/i, name);
            assert.match(answer, /"type":"message"/, name);
        }
        const res = await withTimeout(d.exited, 15000, 'bedrockd to exit after the two answers');
        assert.equal(res.code, 0, d.stderr);
        assert.match(d.stderr.slice(from), /drained, exiting/);
    });

    /* A forward proxy on loopback: records each request's target and relays it. */
    async function startForwardProxy(t) {
        const seen = [];
        const server = http.createServer((req, res) => {
            seen.push(`${req.method} ${req.url}`);
            const target = new URL(req.url); /* absolute form, as a proxy is asked */
            const up = http.request({ host: target.hostname, port: target.port, method: req.method,
                                      path: target.pathname + target.search, headers: req.headers },
                                    (ur) => {
                res.writeHead(ur.statusCode, ur.headers);
                ur.pipe(res);
            });
            up.on('error', () => res.destroy());
            req.pipe(up);
        });
        await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
        t.after(() => server.close());
        return { url: `http://127.0.0.1:${server.address().port}`, seen };
    }

    function askSonnet(d) {
        return httpRequest(`${d.url}/v1/messages`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01',
                       'x-api-key': CORE_MASTER_KEY },
            body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 20,
                                   messages: [{ role: 'user', content: 'hi' }] }),
        });
    }

    test('http_proxy from the environment carries the calls to Bedrock, and no_proxy ' +
         'exempts a host', async (t) => {
        const emu = await startEmulator({ t });
        const proxy = await startForwardProxy(t);
        const viaProxy = await startBedrockd({ conf: upstreamConf(emu, ''), t,
                                               env: { http_proxy: proxy.url } });
        const res = await askSonnet(viaProxy);
        assert.equal(res.status, 200, res.body);
        assert.ok(proxy.seen.some((r) => r.startsWith(`POST ${emu.url}/model/`)),
                  `the proxy saw: ${JSON.stringify(proxy.seen)}`);

        const before = proxy.seen.length;
        const exempt = await startBedrockd({ conf: upstreamConf(emu, ''), t,
                                             env: { http_proxy: proxy.url, no_proxy: '127.0.0.1' } });
        assert.equal((await askSonnet(exempt)).status, 200);
        /* and without any proxy variable, straight to the emulator */
        const direct = await startBedrockd({ conf: upstreamConf(emu, ''), t,
                                             env: { http_proxy: undefined, https_proxy: undefined,
                                                    HTTPS_PROXY: undefined, all_proxy: undefined,
                                                    ALL_PROXY: undefined, no_proxy: undefined,
                                                    NO_PROXY: undefined } });
        assert.equal((await askSonnet(direct)).status, 200);
        assert.equal(proxy.seen.length, before, `the proxy saw: ${JSON.stringify(proxy.seen)}`);
    });

    test('SIGTERM gives up on a stream after shutdown_timeout and exits 0', async (t) => {
        const emu = await startEmulator({ t });
        const d = await startBedrockd({ conf: upstreamConf(emu, 'shutdown_timeout 300ms;\n'), t });
        /* 40 words 1 s apart: far longer than the bounded wait below. */
        const s = await slowStream(d, 40, 1000);
        await s.log.waitFor(/event: message_start/);

        const from = d.mark();
        d.signal('SIGTERM');
        await d.waitForLog(/shutdown_timeout reached, closing 1 requests/, { from });
        const res = await withTimeout(d.exited, 10000, 'bedrockd to exit at shutdown_timeout');
        assert.equal(res.code, 0, d.stderr);
        const { text, complete } = await withTimeout(s.done, 10000, 'the cut stream to end');
        assert.ok(!complete || !/event: message_stop/.test(text), 'the stream cannot have finished');
    });

    test('a second SIGTERM exits at once', async (t) => {
        const d = await startBedrockd({
            conf: 'listen 127.0.0.1:0;\nworker_threads 1;\nshutdown_delay 120s;\n',
            t,
        });
        const from = d.mark();
        d.signal('SIGTERM');
        await d.waitForLog(/draining/, { from });
        assert.equal((await httpRequest(`${d.url}/ready`)).status, 503);
        d.signal('SIGTERM');
        const res = await withTimeout(d.exited, 10000, 'bedrockd to exit on the second SIGTERM');
        assert.equal(res.code, 0, d.stderr);
        assert.match(d.stderr.slice(from), /second stop signal/);
    });

    test('-s stop signals the daemon named by the pid file', async (t) => {
        const d = await startBedrockd({
            conf: (dir) => `listen 127.0.0.1:0;\nworker_threads 1;\npid ${dir}/bedrockd.pid;\n`,
            t,
        });
        const pidFile = path.join(d.dir, 'bedrockd.pid');
        assert.equal(fs.readFileSync(pidFile, 'utf8').trim(), String(d.pid));
        const r = await runBedrockd(['-c', d.confPath, '-s', 'stop']);
        assert.equal(r.code, 0, r.stderr);
        const res = await withTimeout(d.exited, 10000, 'bedrockd to exit after -s stop');
        assert.equal(res.code, 0, d.stderr);
        assert.equal(fs.existsSync(pidFile), false, 'the pid file is removed at exit');
    });

    test('-s with an unknown signal name exits 1', async () => {
        const dir = makeTempDir();
        const conf = path.join(dir, 'main.conf');
        fs.writeFileSync(conf, `listen 127.0.0.1:0;\npid ${dir}/x.pid;\n`);
        const r = await runBedrockd(['-c', conf, '-s', 'explode']);
        assert.equal(r.code, 1);
        assert.match(r.stderr, /invalid signal "explode"/);
    });
});

describe('logs', () => {
    /* Resolves the parsed JSON lines of <file> once one has request_id <id>. */
    function waitForAccessLine(file, id) {
        return waitUntil(() => {
            if (!fs.existsSync(file)) {
                return null;
            }
            const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
            const parsed = lines.map((l) => JSON.parse(l));
            return parsed.some((e) => e.request_id === id) && parsed;
        }, { what: `access log line ${id} in ${file}` });
    }

    test('access log lines are JSON with request_id, status, path, duration_ms', async (t) => {
        const d = await startBedrockd({
            conf: (dir) => `listen 127.0.0.1:0;\nworker_threads 1;\naccess_log ${dir}/access.log;\n`,
            t,
        });
        const file = path.join(d.dir, 'access.log');
        await httpRequest(`${d.url}/health`, { headers: { 'x-request-id': 'acc-health' } });
        await httpRequest(`${d.url}/nope?q=1`, { headers: { 'x-request-id': 'acc-missing' } });
        await waitForAccessLine(file, 'acc-health');
        const entries = await waitForAccessLine(file, 'acc-missing');
        const health = entries.find((e) => e.request_id === 'acc-health');
        assert.equal(health.status, 200);
        assert.equal(health.path, '/health');
        assert.equal(health.method, 'GET');
        assert.equal(typeof health.duration_ms, 'number');
        assert.ok(health.duration_ms >= 0);
        const missing = entries.find((e) => e.request_id === 'acc-missing');
        assert.equal(missing.status, 404);
        assert.equal(missing.path, '/nope');
        assert.equal(typeof missing.duration_ms, 'number');
        assert.equal(await d.stop(), 0);
    });

    test('SIGUSR1 reopens the access log after it was renamed', async (t) => {
        const d = await startBedrockd({
            conf: (dir) => `listen 127.0.0.1:0;\nworker_threads 1;\naccess_log ${dir}/access.log;\n`,
            t,
        });
        const file = path.join(d.dir, 'access.log');
        const rotated = path.join(d.dir, 'access.log.1');
        await httpRequest(`${d.url}/health`, { headers: { 'x-request-id': 'before-rotate' } });
        await waitForAccessLine(file, 'before-rotate');
        fs.renameSync(file, rotated);

        const from = d.mark();
        d.signal('SIGUSR1');
        await d.waitForLog(/reopening log files/, { from });
        /* The reopen creates the file; from then on lines go to it. */
        await waitUntil(() => fs.existsSync(file), { what: `${file} to be created by the reopen` });
        await httpRequest(`${d.url}/health`, { headers: { 'x-request-id': 'after-rotate' } });
        const fresh = await waitForAccessLine(file, 'after-rotate');
        assert.ok(!fresh.some((e) => e.request_id === 'before-rotate'));
        const old = fs.readFileSync(rotated, 'utf8');
        assert.match(old, /"before-rotate"/);
        assert.doesNotMatch(old, /"after-rotate"/);
        assert.equal(await d.stop(), 0);
    });
});

describe('listeners', () => {
    /* A GET over TLS that accepts the test's self-signed certificate. */
    function httpsGet(port, pathname) {
        return new Promise((resolve, reject) => {
            const req = https.get({ host: '127.0.0.1', port, path: pathname, rejectUnauthorized: false },
                (res) => {
                    const protocol = res.socket.getProtocol(); /* before the socket is released */
                    let body = '';
                    res.on('data', (c) => { body += c; });
                    res.on('end', () => resolve({ status: res.statusCode, body, protocol,
                                                  headers: res.headers }));
                });
            req.on('error', reject);
        });
    }

    function selfSignedCert(dir) {
        execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1',
                                 '-subj', '/CN=localhost', '-keyout', path.join(dir, 'key.pem'),
                                 '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
    }

    test('TLS and IPv6 listeners serve beside plain IPv4', async (t) => {
        const d = await startBedrockd({
            t,
            conf: (dir) => {
                selfSignedCert(dir);
                return 'worker_threads 2;\nlisten 127.0.0.1:0;\nlisten [::1]:0;\n' +
                       'listen 127.0.0.1:0 ssl;\n' +
                       `ssl_certificate ${path.join(dir, 'cert.pem')};\n` +
                       `ssl_certificate_key ${path.join(dir, 'key.pem')};\n`;
            },
        });
        const v6 = Number(d.log.matchAll(/listening on \[::1\]:(\d+)/)[0][1]);
        const tls = Number(d.log.matchAll(/listening on 127\.0\.0\.1:(\d+) ssl/)[0][1]);

        const secure = await httpsGet(tls, '/health');
        assert.equal(secure.status, 200);
        assert.deepEqual(JSON.parse(secure.body), { status: 'ok' });
        assert.match(secure.protocol, /^TLSv1\.[23]$/);
        assert.ok(secure.headers['request-id']);

        const res = await httpRequest(`http://[::1]:${v6}/health`);
        assert.equal(res.status, 200);
        const plain = await httpRequest(`http://127.0.0.1:${d.ports[0]}/health`);
        assert.equal(plain.status, 200);
        assert.equal(await d.stop(), 0);
    });

    test('-t fails on an ssl listener whose certificate cannot be loaded', async () => {
        const dir = makeTempDir();
        const conf = path.join(dir, 'bedrockd.conf');
        fs.writeFileSync(conf, 'listen 127.0.0.1:0 ssl;\n' +
                               `ssl_certificate ${path.join(dir, 'missing.pem')};\n` +
                               `ssl_certificate_key ${path.join(dir, 'missing.key')};\n`);
        const r = await runBedrockd(['-t', '-c', conf]);
        assert.equal(r.code, 1);
        assert.match(r.stderr, /cannot load certificate ".*missing\.pem"/);
    });
});
