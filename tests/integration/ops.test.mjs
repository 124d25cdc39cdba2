/*
 * ops.test.mjs: what an operator behind a load balancer relies on, against the real
 * bedrockd and the real bedrock-emulator: /ready turns 503 when Bedrock keeps
 * refusing the gateway's AWS identity (and back when a call is accepted; throttling
 * never turns it), a listening address taken by another process fails the start,
 * trusted_proxies decides when X-Forwarded-For names the client, metrics_listen
 * serves /metrics on a port of its own, and `-t` checks the store and TLS files.
 *
 * Run from tests/:
 *   BD_BEDROCKD=.../bedrockd BD_EMULATOR=.../bedrock-emulator \
 *       node --test integration/ops.test.mjs
 * Node built-ins only.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, test } from 'node:test';

import {
    freePort,
    httpRequest,
    makeTempDir,
    runBedrockd,
    runBinary,
    startBedrockd,
    startEmulator,
    waitUntil,
} from './lib/harness.mjs';

const CLAUDE_ID = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const MASTER_KEY = 'ops-test-master-key-0123456789abcdef';

function conf(emulatorUrl, { workers = 1, extra = '', secret } = {}) {
    return `worker_threads ${workers};
listen 127.0.0.1:0;
error_log stderr info;
access_log stdout;
store off;
master_key ${MASTER_KEY};
${extra}
bedrock {
    region us-east-1;
    endpoint ${emulatorUrl};
    credentials static;
    access_key_id AKIDEXAMPLE;
    secret_access_key ${secret ?? 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'};
    retries 0;
    catalog off;
}

model claude-test {
    id ${CLAUDE_ID};
    route invoke;
}
`;
}

function messages(base, text, headers = {}) {
    return httpRequest(`${base}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': MASTER_KEY, ...headers },
        body: JSON.stringify({
            model: 'claude-test',
            max_tokens: 64,
            messages: [{ role: 'user', content: text }],
        }),
    });
}

describe('readiness follows what Bedrock says of the gateway\'s identity', () => {
    for (const scenario of ['unrecognized_client', 'invalid_signature', 'expired_token',
                            'access_denied']) {
        test(`${scenario} on every call: /ready 503 with the reason, back after a success`,
             async (t) => {
            const emu = await startEmulator({ t });
            const d = await startBedrockd({ t, conf: conf(emu.url) });
            assert.equal((await httpRequest(`${d.url}/ready`)).status, 200);
            for (let i = 0; i < 3; i++) {
                const r = await messages(d.url, `[[emu:${scenario}]] hello`);
                assert.ok(r.status >= 400, r.body);
            }
            const down = await httpRequest(`${d.url}/ready`);
            assert.equal(down.status, 503, down.body);
            assert.equal(down.json.status, 'not_ready');
            assert.match(down.json.reason, /refuses the gateway's AWS credentials/);
            assert.match(down.json.reason, /Exception/);
            /* /health stays 200: the process is alive, it just cannot serve. */
            assert.equal((await httpRequest(`${d.url}/health`)).status, 200);

            const ok = await messages(d.url, 'hello again');
            assert.equal(ok.status, 200, ok.body);
            const up = await httpRequest(`${d.url}/ready`);
            assert.equal(up.status, 200, up.body);
            assert.equal(await d.stop(), 0);
        });
    }

    test('a wrong secret (the emulator checks signatures): /ready 503', async (t) => {
        const emu = await startEmulator({ t });
        const d = await startBedrockd({ t, conf: conf(emu.url, { secret: 'not-the-secret' }) });
        for (let i = 0; i < 3; i++) {
            const r = await messages(d.url, 'hello');
            assert.ok(r.status >= 400, r.body);
        }
        const down = await httpRequest(`${d.url}/ready`);
        assert.equal(down.status, 503, down.body);
        assert.match(down.json.reason, /InvalidSignatureException/);
        assert.equal(await d.stop(), 0);
    });

    test('two refusals, or a throttling storm, leave /ready at 200', async (t) => {
        const emu = await startEmulator({ t });
        const d = await startBedrockd({ t, conf: conf(emu.url) });
        for (let i = 0; i < 2; i++) {
            assert.ok((await messages(d.url, '[[emu:unrecognized_client]] hi')).status >= 400);
        }
        assert.equal((await httpRequest(`${d.url}/ready`)).status, 200);
        for (let i = 0; i < 6; i++) {
            const r = await messages(d.url, '[[emu:throttle]] hi');
            assert.equal(r.status, 429, r.body);
        }
        /* A throttled call was authenticated: the two refusals before no longer count. */
        assert.ok((await messages(d.url, '[[emu:unrecognized_client]] hi')).status >= 400);
        const ready = await httpRequest(`${d.url}/ready`);
        assert.equal(ready.status, 200, ready.body);
        assert.equal(await d.stop(), 0);
    });
});

describe('listening addresses', () => {
    test('a port another bedrockd holds fails the start, naming the address', async (t) => {
        const emu = await startEmulator({ t });
        const port = await freePort();
        const first = await startBedrockd({
            t, conf: conf(emu.url).replace('listen 127.0.0.1:0;', `listen 127.0.0.1:${port};`),
        });
        const dir = makeTempDir();
        const file = path.join(dir, 'second.conf');
        fs.writeFileSync(file, conf(emu.url)
            .replace('listen 127.0.0.1:0;', `listen 127.0.0.1:${port};`));
        const second = await runBedrockd(['-c', file], {
            env: { AWS_EC2_METADATA_DISABLED: 'true' }, timeoutMs: 30000,
        });
        assert.equal(second.code, 1, second.stderr);
        assert.match(second.stderr,
                     new RegExp(`127\\.0\\.0\\.1:${port} failed \\(address already in use`));
        /* The first one still has every connection. */
        assert.equal((await httpRequest(`${first.url}/health`)).status, 200);
        assert.equal(await first.stop(), 0);
    });

    test('a reload adding a port another process holds is refused; the old ones serve on',
         async (t) => {
        const emu = await startEmulator({ t });
        const holder = net.createServer();
        await new Promise((resolve) => holder.listen(0, '127.0.0.1', resolve));
        t.after(() => holder.close());
        const taken = holder.address().port;
        const d = await startBedrockd({ t, conf: conf(emu.url) });
        const r = await d.reload(conf(emu.url).replace('listen 127.0.0.1:0;',
            `listen 127.0.0.1:${d.port};\nlisten 127.0.0.1:${taken};`));
        assert.equal(r.ok, false, r.line);
        assert.match(r.line, new RegExp(`127\\.0\\.0\\.1:${taken} failed`));
        assert.equal((await httpRequest(`${d.url}/health`)).status, 200);
        assert.equal(await d.stop(), 0);
    });
});

/* The access log lines (JSON on stdout) whose path is <p>. */
async function accessLines(d, p, n) {
    await waitUntil(() => d.stdout.text.split('\n').filter((l) => l.includes(`"path":"${p}"`))
        .length >= n, { what: `${n} access log lines for ${p}` });
    return d.stdout.text.split('\n').filter((l) => l.includes(`"path":"${p}"`))
        .map((l) => JSON.parse(l));
}

describe('trusted_proxies', () => {
    test('without it, X-Forwarded-For is ignored: the peer is the client', async (t) => {
        const emu = await startEmulator({ t });
        const d = await startBedrockd({ t, conf: conf(emu.url) });
        const r = await httpRequest(`${d.url}/health`,
                                    { headers: { 'x-forwarded-for': '203.0.113.9' } });
        assert.equal(r.status, 200);
        const [line] = await accessLines(d, '/health', 1);
        assert.equal(line.client, '127.0.0.1');
        /* metrics_allow (loopback by default) still lets the loopback peer in. */
        const m = await httpRequest(`${d.url}/metrics`,
                                    { headers: { 'x-forwarded-for': '203.0.113.9' } });
        assert.equal(m.status, 200);
        assert.equal(await d.stop(), 0);
    });

    test('from a trusted peer, the rightmost untrusted hop is the client', async (t) => {
        const emu = await startEmulator({ t });
        const d = await startBedrockd({
            t, conf: conf(emu.url, { extra: 'trusted_proxies 127.0.0.0/8 10.0.0.0/16;' }),
        });
        const cases = [
            ['203.0.113.9', '203.0.113.9'],
            ['198.51.100.1, 203.0.113.9', '203.0.113.9'],        /* a client-written hop */
            ['203.0.113.9, 10.0.3.4', '203.0.113.9'],            /* through two proxies */
            ['10.0.1.1, 10.0.3.4', '10.0.1.1'],                  /* every hop trusted */
            ['2001:db8::7', '2001:db8::7'],
            ['not-an-address, 10.0.3.4', '10.0.3.4'],            /* garbage stops the walk */
        ];
        for (const [xff] of cases) {
            const r = await httpRequest(`${d.url}/health`, { headers: { 'x-forwarded-for': xff } });
            assert.equal(r.status, 200);
        }
        const noHeader = await httpRequest(`${d.url}/health`);
        assert.equal(noHeader.status, 200);
        const lines = await accessLines(d, '/health', cases.length + 1);
        cases.forEach(([xff, want], i) => assert.equal(lines[i].client, want, xff));
        assert.equal(lines[cases.length].client, '127.0.0.1');

        /* metrics_allow judges the client, not the proxy: a scrape relayed for an
         * outside address is refused, as an unknown path. */
        const outside = await httpRequest(`${d.url}/metrics`,
                                          { headers: { 'x-forwarded-for': '203.0.113.9' } });
        assert.equal(outside.status, 404);
        const local = await httpRequest(`${d.url}/metrics`);
        assert.equal(local.status, 200);
        assert.equal(await d.stop(), 0);
    });

    test('a malformed range fails the configuration test', async () => {
        const dir = makeTempDir();
        const file = path.join(dir, 'bad.conf');
        fs.writeFileSync(file, 'listen 127.0.0.1:0;\ntrusted_proxies 10.0.0.0/99;\n');
        const r = await runBedrockd(['-t', '-c', file]);
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, /bad\.conf:2: invalid address range "10\.0\.0\.0\/99"/);
    });
});

describe('metrics_listen', () => {
    test('metrics on a port of their own; the main port answers /metrics with 404',
         async (t) => {
        const emu = await startEmulator({ t });
        const mport = await freePort();
        const d = await startBedrockd({
            t, conf: conf(emu.url, { workers: 2, extra: `metrics_listen 127.0.0.1:${mport};` }),
        });
        await d.waitForLog(new RegExp(`serving \\/metrics on 127\\.0\\.0\\.1:${mport}`));
        const ok = await messages(d.url, 'hello');
        assert.equal(ok.status, 200, ok.body);

        assert.equal((await httpRequest(`${d.url}/metrics`)).status, 404);
        const m = await httpRequest(`http://127.0.0.1:${mport}/metrics`);
        assert.equal(m.status, 200);
        assert.match(m.headers['content-type'], /^text\/plain; version=0\.0\.4/);
        assert.match(m.body, /bedrockd_requests_total\{route="\/v1\/messages",status="200"/);
        assert.equal((await httpRequest(`http://127.0.0.1:${mport}/health`)).status, 200);
        const ready = await httpRequest(`http://127.0.0.1:${mport}/ready`);
        assert.equal(ready.status, 200);
        assert.equal(ready.json.status, 'ready');
        /* Nothing else is served there. */
        const api = await httpRequest(`http://127.0.0.1:${mport}/v1/messages`, {
            method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': MASTER_KEY },
            body: '{}',
        });
        assert.equal(api.status, 405);
        assert.equal((await httpRequest(`http://127.0.0.1:${mport}/v1/models`)).status, 404);
        assert.equal(await d.stop(), 0);
    });

    test('metrics_allow applies there too', async (t) => {
        const emu = await startEmulator({ t });
        const mport = await freePort();
        const d = await startBedrockd({
            t, conf: conf(emu.url, { extra: `metrics_listen 127.0.0.1:${mport};\n` +
                                             'metrics_allow 10.0.0.0/16;' }),
        });
        assert.equal((await httpRequest(`http://127.0.0.1:${mport}/metrics`)).status, 404);
        assert.equal((await httpRequest(`http://127.0.0.1:${mport}/ready`)).status, 200);
        assert.equal(await d.stop(), 0);
    });

    test('a reload does not move /metrics: the change waits for a restart, and says so',
         async (t) => {
        const emu = await startEmulator({ t });
        const mport = await freePort();
        const d = await startBedrockd({ t, conf: conf(emu.url) });
        const r = await d.reload(conf(emu.url, { extra: `metrics_listen 127.0.0.1:${mport};` }));
        assert.equal(r.ok, true, r.line);
        await d.waitForLog(/metrics_listen changes take effect at the next restart/);
        assert.equal((await httpRequest(`${d.url}/metrics`)).status, 200);
        assert.equal(await d.stop(), 0);
    });

    test('a taken metrics port fails the start, naming it', async (t) => {
        const emu = await startEmulator({ t });
        const holder = net.createServer();
        await new Promise((resolve) => holder.listen(0, '127.0.0.1', resolve));
        t.after(() => holder.close());
        const taken = holder.address().port;
        const dir = makeTempDir();
        const file = path.join(dir, 'taken.conf');
        fs.writeFileSync(file, conf(emu.url, { extra: `metrics_listen 127.0.0.1:${taken};` }));
        const r = await runBedrockd(['-c', file], {
            env: { AWS_EC2_METADATA_DISABLED: 'true' }, timeoutMs: 30000,
        });
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, new RegExp(`metrics_listen: bind\\(\\) to 127\\.0\\.0\\.1:${taken} ` +
                                          'failed \\(address already in use'));
    });
});

describe('the configuration test (-t) checks what it can without starting', () => {
    const top = path.resolve(import.meta.dirname, '..', '..');
    const exampleConf = path.join(top, 'conf', 'bedrockd.conf');
    const ctl = () => process.env.BD_BEDROCKCTL;

    test('an explicit store whose directory is missing fails, naming it', async () => {
        const dir = makeTempDir();
        const file = path.join(dir, 'store.conf');
        fs.writeFileSync(file, `listen 127.0.0.1:0;\nstore ${dir}/missing/bd.db;\n` +
                               `master_key ${MASTER_KEY};\n`);
        const r = await runBedrockd(['-t', '-c', file]);
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, /directory "[^"]*\/missing" does not exist/);
        assert.match(r.stderr, /test failed/);
    });

    test('an explicit store in a directory it cannot write fails', async (t) => {
        if (process.getuid && process.getuid() === 0) {
            t.skip('root writes everywhere: the permission check cannot fail here');
            return;
        }
        const dir = makeTempDir();
        fs.mkdirSync(path.join(dir, 'ro'), { mode: 0o555 });
        const file = path.join(dir, 'store.conf');
        fs.writeFileSync(file, `listen 127.0.0.1:0;\nstore ${dir}/ro/bd.db;\n`);
        const r = await runBedrockd(['-t', '-c', file]);
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, /is not writable/);
    });

    test('TLS files that cannot be read fail, naming the file and why', async () => {
        const dir = makeTempDir();
        const file = path.join(dir, 'tls.conf');
        fs.writeFileSync(file, `listen 127.0.0.1:0 ssl;\nstore off;\nmaster_key ${MASTER_KEY};\n` +
                               `ssl_certificate ${dir}/nope.pem;\nssl_certificate_key ${dir}/nope.key;\n`);
        const r = await runBedrockd(['-t', '-c', file]);
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, /cannot load certificate "[^"]*\/nope\.pem" \(No such file or directory\)/);
    });

    test('auth on, no master key, nothing in the store: "no client can authenticate"',
         async () => {
        const dir = makeTempDir();
        const store = path.join(dir, 'bd.db');
        const env = { BEDROCKD_STORE: store, BEDROCKD_MASTER_KEY: undefined, BEDROCKD_PORT: '0' };
        const empty = await runBedrockd(['-t', '-c', exampleConf], { env });
        assert.equal(empty.code, 0, empty.stderr);
        assert.match(empty.stderr, /no client can authenticate: .*has no usable key/);
        assert.match(empty.stderr, /bedrockctl -c \S+ key create/);

        const off = path.join(dir, 'off.conf');
        fs.writeFileSync(off, 'listen 127.0.0.1:0;\nstore off;\n');
        const r = await runBedrockd(['-t', '-c', off]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, /no client can authenticate: auth is on, the store is off/);

        const withMaster = await runBedrockd(['-t', '-c', exampleConf],
                                             { env: { ...env, BEDROCKD_MASTER_KEY: MASTER_KEY } });
        assert.equal(withMaster.code, 0, withMaster.stderr);
        assert.doesNotMatch(withMaster.stderr, /no client can authenticate/);
    });

    test('the example conf on a fresh machine: the quick start\'s steps make the first ' +
         'request work', async (t) => {
        assert.ok(ctl(), 'BD_BEDROCKCTL is not set');
        const emu = await startEmulator({ t });
        const dir = makeTempDir();
        const store = path.join(dir, 'state', 'bedrockd.db');
        fs.mkdirSync(path.dirname(store));
        /* What deploy/quickstart.sh does on real credentials: a store it can write,
         * and a first key. */
        const created = await runBinaryCtl(['--store', store, 'key', 'create', '--name', 'first']);
        const secret = /secret\s+(sk-bd-\S+)/.exec(created)[1];
        const env = {
            BEDROCKD_STORE: store, BEDROCKD_MASTER_KEY: undefined, BEDROCKD_PORT: '0',
            AWS_ENDPOINT_URL_BEDROCK_RUNTIME: emu.url, AWS_ENDPOINT_URL_BEDROCK: emu.url,
        };
        const check = await runBedrockd(['-t', '-c', exampleConf], { env });
        assert.equal(check.code, 0, check.stderr);
        assert.doesNotMatch(check.stderr, /no client can authenticate/);
        const d = await startBedrockd({
            t, env,
            conf: (tmp) => {
                fs.copyFileSync(path.join(top, 'conf', 'models.conf'), path.join(tmp, 'models.conf'));
                return fs.readFileSync(exampleConf, 'utf8');
            },
        });
        const r = await httpRequest(`${d.url}/v1/messages`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-api-key': secret },
            body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 32,
                                   messages: [{ role: 'user', content: 'hello' }] }),
        });
        assert.equal(r.status, 200, r.body);
        assert.equal(r.json.type, 'message');
        assert.equal(await d.stop(), 0);
    });

    async function runBinaryCtl(args) {
        const r = await runBinary(ctl(), args);
        assert.equal(r.code, 0, r.stderr);
        return r.stdout;
    }
});
