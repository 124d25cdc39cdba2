/*
 * metrics.test.mjs: observability of the real bedrockd in front of the real
 * bedrock-emulator: exact counters in GET /metrics after a known mix of
 * requests, `promtool check metrics` on the output, who may scrape
 * (metrics_allow, metrics off), readiness while draining and without
 * credentials, and the request id and Bedrock request id carried by the logs.
 *
 * Run from tests/:
 *   BD_BEDROCKD=.../bedrockd BD_EMULATOR=.../bedrock-emulator \
 *       node --test integration/metrics.test.mjs
 * Node built-ins only. promtool (from the Debian package `prometheus`, taken out
 * of it by deploy/deps.sh test without installing the server) is optional here:
 * without it that one test is skipped with a message.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
    httpRequest,
    makeTempDir,
    openConnection,
    runBedrockd,
    startBedrockd,
    startEmulator,
    withTimeout,
} from './lib/harness.mjs';

const CLAUDE_ID = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const MASTER_KEY = 'metrics-test-master-key-0123456789';

/* Whether this bedrockd knows <line> (a module may not be built in yet). */
async function accepts(line) {
    const dir = makeTempDir();
    const conf = path.join(dir, 'probe.conf');
    fs.writeFileSync(conf, `listen 127.0.0.1:0;\n${line}\n`);
    const r = await runBedrockd(['-t', '-c', conf]);
    return r.code === 0;
}

/* Optional modules: auth (master_key) and the store (`store off` keeps tests off disk). */
const features = { auth: false, store: false, ratelimit: false };

function conf(emulatorUrl, { workers = 2, extra = '', bedrock = 'retries 0;' } = {}) {
    return `worker_threads ${workers};
listen 127.0.0.1:0;
error_log stderr info;
access_log stdout;
${features.store ? 'store off;' : ''}
${features.auth ? `master_key ${MASTER_KEY};` : ''}
${extra}
bedrock {
    region us-east-1;
    endpoint ${emulatorUrl};
    credentials static;
    access_key_id AKIDEXAMPLE;
    secret_access_key wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY;
    ${bedrock}
}

model claude-test {
    id ${CLAUDE_ID};
    route invoke;
}
`;
}

function authHeaders() {
    return features.auth ? { 'x-api-key': MASTER_KEY } : {};
}

function messages(base, text, { stream = false, headers = {} } = {}) {
    return httpRequest(`${base}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...authHeaders(), ...headers },
        body: JSON.stringify({
            model: 'claude-test',
            max_tokens: 200,
            stream,
            messages: [{ role: 'user', content: text }],
        }),
    });
}

/* Usage from an SSE body: input from message_start, output from message_delta. */
function sseUsage(body) {
    const usage = { input: 0, output: 0 };
    for (const line of body.split('\n')) {
        if (!line.startsWith('data: ')) {
            continue;
        }
        const ev = JSON.parse(line.slice(6));
        if (ev.type === 'message_start') {
            usage.input = ev.message.usage.input_tokens;
        } else if (ev.type === 'message_delta') {
            usage.output = ev.usage.output_tokens;
        }
    }
    return usage;
}

/*
 * Parses the text exposition format into { samples: Map("name{l=\"v\",...}" ->
 * number), types: Map(name -> type) }. Label order is kept as written.
 */
function parseMetrics(text) {
    const samples = new Map();
    const types = new Map();
    for (const line of text.split('\n')) {
        if (line === '') {
            continue;
        }
        const t = /^# TYPE (\S+) (\S+)$/.exec(line);
        if (t) {
            types.set(t[1], t[2]);
            continue;
        }
        if (line.startsWith('#')) {
            continue;
        }
        const m = /^(\S+?(?:\{.*\})?) (\S+)$/.exec(line);
        assert.ok(m, `unparsable sample line: ${line}`);
        assert.ok(!samples.has(m[1]), `duplicate sample: ${m[1]}`);
        samples.set(m[1], Number(m[2]));
    }
    return { samples, types };
}

/* The samples of <name> whose labels include every pair of <labels>. */
function select(samples, name, labels = {}) {
    const out = [];
    for (const [key, value] of samples) {
        const m = /^([^{]+)(?:\{(.*)\})?$/.exec(key);
        if (m[1] !== name) {
            continue;
        }
        const have = {};
        for (const pair of (m[2] || '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
            have[pair[1]] = pair[2];
        }
        if (Object.entries(labels).every(([k, v]) => have[k] === v)) {
            out.push({ labels: have, value });
        }
    }
    return out;
}

function sum(samples, name, labels) {
    return select(samples, name, labels).reduce((a, s) => a + s.value, 0);
}

function one(samples, name, labels) {
    const found = select(samples, name, labels);
    assert.equal(found.length, 1, `${name} ${JSON.stringify(labels)}: ${JSON.stringify(found)}`);
    return found[0].value;
}

/* Every histogram series: cumulative buckets never decrease and +Inf equals _count. */
function assertHistogramsConsistent(parsed) {
    for (const [name, type] of parsed.types) {
        if (type !== 'histogram') {
            continue;
        }
        const series = new Map();
        for (const b of select(parsed.samples, `${name}_bucket`)) {
            const { le, ...rest } = b.labels;
            const key = JSON.stringify(rest);
            if (!series.has(key)) {
                series.set(key, []);
            }
            series.get(key).push({ le: le === '+Inf' ? Infinity : Number(le), value: b.value });
        }
        for (const [key, buckets] of series) {
            let last = 0;
            for (const b of buckets) {
                assert.ok(b.value >= last, `${name}${key}: buckets decrease at le=${b.le}`);
                last = b.value;
            }
            assert.equal(buckets.at(-1).le, Infinity, `${name}${key}: no +Inf bucket`);
            const count = one(parsed.samples, `${name}_count`, JSON.parse(key));
            assert.equal(count, last, `${name}${key}`);
        }
    }
}

async function scrape(base) {
    const res = await httpRequest(`${base}/metrics`);
    assert.equal(res.status, 200, res.body);
    assert.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/);
    return res.body;
}

before(async () => {
    features.auth = await accepts(`master_key ${MASTER_KEY};`);
    features.store = await accepts('store off;');
    features.ratelimit = await accepts('ratelimit_global_rpm 1;');
});

describe('counters after a known mix of requests', () => {
    let emu;
    let d;
    let text;
    const expect = { input: 0, output: 0 };
    const ids = {};

    before(async () => {
        emu = await startEmulator();
        d = await startBedrockd({ conf: conf(emu.url) });
        for (let i = 0; i < 2; i++) {
            const ok = await messages(d.url, `hello number ${i} from the metrics test`);
            assert.equal(ok.status, 200, ok.body);
            expect.input += ok.json.usage.input_tokens;
            expect.output += ok.json.usage.output_tokens;
            ids[`ok${i}`] = ok.headers['request-id'];
        }
        const st = await messages(d.url, 'a streamed answer please', { stream: true });
        assert.equal(st.status, 200, st.body);
        const u = sseUsage(st.body);
        assert.ok(u.input > 0 && u.output > 0, st.body);
        expect.input += u.input;
        expect.output += u.output;

        const throttled = await messages(d.url, 'slow down [[emu:throttle]]');
        assert.equal(throttled.status, 429, throttled.body);
        ids.throttled = throttled.headers['request-id'];

        const unknown = await httpRequest(`${d.url}/v1/messages`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...authHeaders() },
            body: JSON.stringify({ model: 'no-such-model', max_tokens: 10,
                                   messages: [{ role: 'user', content: 'x' }] }),
        });
        assert.equal(unknown.status, 404, unknown.body);

        if (features.auth) {
            const denied = await messages(d.url, 'bad key', { headers: { 'x-api-key': 'wrong' } });
            assert.equal(denied.status, 401, denied.body);
            const anonymous = await httpRequest(`${d.url}/v1/messages`, {
                method: 'POST',
                headers: { 'content-type': 'application/json' },
                body: '{}',
            });
            assert.equal(anonymous.status, 401, anonymous.body);
        }
        const health = await httpRequest(`${d.url}/health`);
        assert.equal(health.status, 200);
        text = await scrape(d.url);
    });

    after(async () => {
        assert.equal(await d.stop(), 0);
        await emu.stop();
    });

    test('requests_total by route, status and resolved model', () => {
        const { samples } = parseMetrics(text);
        const route = '/v1/messages';
        assert.equal(one(samples, 'bedrockd_requests_total',
                         { route, status: '200', model: CLAUDE_ID }), 3);
        assert.equal(one(samples, 'bedrockd_requests_total',
                         { route, status: '429', model: CLAUDE_ID }), 1);
        /* A name the model map does not know never becomes a label value. */
        assert.equal(one(samples, 'bedrockd_requests_total',
                         { route, status: '404', model: 'unknown' }), 1);
        assert.equal(select(samples, 'bedrockd_requests_total', { model: 'no-such-model' }).length,
                     0);
        assert.equal(one(samples, 'bedrockd_requests_total',
                         { route: '/health', status: '200', model: '' }), 1);
        const messagesTotal = features.auth ? 7 : 5;
        assert.equal(sum(samples, 'bedrockd_requests_total', { route }), messagesTotal);
        assert.equal(one(samples, 'bedrockd_request_duration_seconds_count', { route }),
                     messagesTotal);
    });

    test('auth failures and rate-limit rejections', (t) => {
        const { samples } = parseMetrics(text);
        /* The upstream throttle is an upstream error, not a gateway rate limit. */
        assert.equal(sum(samples, 'bedrockd_ratelimit_rejections_total'), 0);
        if (!features.auth) {
            t.diagnostic('auth module not built in: the 401 part is skipped');
            assert.equal(sum(samples, 'bedrockd_auth_failures_total'), 0);
            return;
        }
        assert.equal(one(samples, 'bedrockd_requests_total',
                         { route: '/v1/messages', status: '401', model: '' }), 2);
        assert.equal(one(samples, 'bedrockd_auth_failures_total', { reason: 'invalid_key' }), 1);
        assert.equal(one(samples, 'bedrockd_auth_failures_total', { reason: 'missing_key' }), 1);
        assert.equal(sum(samples, 'bedrockd_auth_failures_total'), 2);
    });

    test('tokens, time to first token and upstream calls', () => {
        const { samples } = parseMetrics(text);
        assert.equal(one(samples, 'bedrockd_tokens_total', { model: CLAUDE_ID, type: 'input' }),
                     expect.input);
        assert.equal(one(samples, 'bedrockd_tokens_total', { model: CLAUDE_ID, type: 'output' }),
                     expect.output);
        assert.equal(select(samples, 'bedrockd_tokens_total', { type: 'cache_read' }).length, 0);
        assert.equal(one(samples, 'bedrockd_time_to_first_token_seconds_count',
                         { model: CLAUDE_ID }), 1);
        assert.equal(one(samples, 'bedrockd_upstream_duration_seconds_count',
                         { operation: 'InvokeModel' }), 3);
        assert.equal(one(samples, 'bedrockd_upstream_duration_seconds_count',
                         { operation: 'InvokeModelWithResponseStream' }), 1);
        assert.equal(one(samples, 'bedrockd_upstream_errors_total',
                         { type: 'ThrottlingException' }), 1);
        assert.equal(sum(samples, 'bedrockd_upstream_errors_total'), 1);
        assert.equal(one(samples, 'bedrockd_upstream_retries_total'), 0);
    });

    test('gauges: in flight, streams, credentials, build, process', () => {
        const { samples, types } = parseMetrics(text);
        assert.equal(one(samples, 'bedrockd_requests_in_flight'), 1); /* the scrape itself */
        assert.equal(one(samples, 'bedrockd_streams_open'), 0);
        assert.equal(one(samples, 'bedrockd_workers'), 2);
        assert.equal(one(samples, 'bedrockd_credentials_ready'), 1);
        /* Static keys never expire: no expiry sample to alert on. */
        assert.equal(select(samples, 'bedrockd_credentials_expiry_timestamp_seconds').length, 0);
        const build = select(samples, 'bedrockd_build_info');
        assert.equal(build.length, 1);
        assert.equal(build[0].value, 1);
        for (const k of ['version', 'libevent', 'curl', 'openssl', 'malloc']) {
            assert.ok(build[0].labels[k], `build_info without ${k}`);
        }
        /* The allocator the process runs on: mimalloc, or glibc's under a sanitizer. */
        assert.match(build[0].labels.malloc, /^(mimalloc \d+\.\d+\.\d+|glibc malloc)$/);
        assert.ok(one(samples, 'process_resident_memory_bytes') > 1024 * 1024);
        assert.ok(one(samples, 'process_open_fds') > 3);
        const start = one(samples, 'process_start_time_seconds');
        assert.ok(start > 1.6e9 && start <= Date.now() / 1000 + 1, String(start));
        assert.equal(types.get('bedrockd_requests_total'), 'counter');
        assert.equal(types.get('bedrockd_request_duration_seconds'), 'histogram');
        assertHistogramsConsistent(parseMetrics(text));
    });

    test('promtool check metrics accepts the exposition', async (t) => {
        const probe = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
        if (probe.error) {
            t.skip('promtool not found: deploy/deps.sh test takes it out of the Debian package "prometheus"');
            return;
        }
        const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
        let out = '';
        child.stdout.on('data', (c) => { out += c; });
        child.stderr.on('data', (c) => { out += c; });
        child.stdin.end(text);
        const code = await withTimeout(new Promise((resolve) => child.on('exit', resolve)), 10000,
                                       'promtool check metrics');
        assert.equal(code, 0, `promtool check metrics:\n${out}`);
        assert.equal(out.trim(), '', `promtool lint findings:\n${out}`);
    });

    test('logs carry the request id; an upstream failure is logged once with its ids', async () => {
        const id = ids.throttled;
        assert.ok(id);
        const access = await d.stdout.waitFor(new RegExp(`^\\{.*"request_id":"${id}".*$`, 'm'));
        const line = JSON.parse(access[0]);
        assert.equal(line.status, 429);
        assert.equal(line.error, 'ThrottlingException');
        assert.equal(line.model_resolved, CLAUDE_ID);
        assert.ok(line.upstream_request_id, access[0]);

        const failures = d.log.matchAll(new RegExp(`^.*\\[warn\\] request_id=${id} .*$`, 'm'));
        assert.equal(failures.length, 1, d.stderr);
        const warn = failures[0][0];
        assert.match(warn, /ThrottlingException/);
        assert.ok(warn.includes(CLAUDE_ID), warn);
        assert.ok(warn.includes(`aws request ${line.upstream_request_id}`), warn);
        /* Every error-log line of a request names it. */
        for (const m of d.log.matchAll(/^.*(Throttling|bedrock attempt).*$/m)) {
            assert.match(m[0], /request_id=req_/, m[0]);
        }
        for (const key of ['ok0', 'ok1']) {
            const ok = await d.stdout.waitFor(
                new RegExp(`^\\{.*"request_id":"${ids[key]}".*$`, 'm'));
            assert.ok(JSON.parse(ok[0]).upstream_request_id, ok[0]);
        }
    });
});

/* A request is counted before its answer reaches the client: a client that has its
 * answer and then scrapes (on a new connection, often another worker) finds it. The
 * window it guards is a few instructions wide, so it is tried many times; with the
 * answer written before the count, about one in 400 scrapes under load missed it. */
describe('an answer is counted before the client can read it', () => {
    let emu;
    let d;

    before(async () => {
        emu = await startEmulator();
        d = await startBedrockd({ conf: conf(emu.url) });
    });

    after(async () => {
        assert.equal(await d.stop(), 0);
        await emu.stop();
    });

    test('every scrape after an answer counts it', async () => {
        const answered = async () => sum(parseMetrics(await scrape(d.url)).samples,
                                         'bedrockd_requests_total',
                                         { route: '/v1/messages', status: '200' });
        let misses = 0;
        for (let i = 0; i < 400; i++) {
            const ok = await messages(d.url, `count me ${i}`);
            assert.equal(ok.status, 200, ok.body);
            if ((await answered()) !== i + 1) {
                misses++;
            }
        }
        assert.equal(misses, 0, `${misses} of 400 scrapes missed the answer before them`);
    });
});

describe('retries', () => {
    test('a retried throttle counts one retry and no error', async (t) => {
        const emu = await startEmulator({ t });
        const d = await startBedrockd({
            t,
            conf: conf(emu.url, { workers: 1, bedrock: 'retries 2;\n    retry_base 10ms;' }),
        });
        /* A fresh emulator throttles the first call only; the retry succeeds. */
        const res = await messages(d.url, 'retry me [[emu:throttle count=1]]');
        assert.equal(res.status, 200, res.body);
        const { samples } = parseMetrics(await scrape(d.url));
        assert.equal(one(samples, 'bedrockd_upstream_retries_total'), 1);
        assert.equal(sum(samples, 'bedrockd_upstream_errors_total'), 0);
        assert.equal(one(samples, 'bedrockd_upstream_duration_seconds_count',
                         { operation: 'InvokeModel' }), 1);
        assert.equal(await d.stop(), 0);
    });
});

describe('gateway rate limits', () => {
    test('a refusal counts by limit, not as an upstream error', async (t) => {
        if (!features.ratelimit) {
            t.skip('ratelimit module not built in');
            return;
        }
        const emu = await startEmulator({ t });
        const d = await startBedrockd({
            t,
            conf: conf(emu.url, { workers: 1, extra: 'ratelimit_global_rpm 1;' }),
        });
        assert.equal((await messages(d.url, 'first')).status, 200);
        const refused = await messages(d.url, 'second');
        assert.equal(refused.status, 429, refused.body);
        assert.equal(refused.json.error.type, 'rate_limit_error');
        const { samples } = parseMetrics(await scrape(d.url));
        assert.equal(one(samples, 'bedrockd_ratelimit_rejections_total',
                         { limit: 'global_rpm' }), 1);
        assert.equal(sum(samples, 'bedrockd_ratelimit_rejections_total'), 1);
        assert.equal(sum(samples, 'bedrockd_upstream_errors_total'), 0);
        assert.equal(await d.stop(), 0);
    });
});

describe('who may scrape', () => {
    let emu;
    before(async () => {
        emu = await startEmulator();
    });
    after(async () => {
        await emu.stop();
    });

    async function assertAbsent(d) {
        const metrics = await httpRequest(`${d.url}/metrics`);
        const nothing = await httpRequest(`${d.url}/no-such-path`);
        assert.equal(metrics.status, 404, metrics.body);
        assert.equal(metrics.json.error.type, 'not_found_error');
        assert.equal(metrics.json.error.message, nothing.json.error.message);
        assert.doesNotMatch(metrics.body, /bedrockd_/);
    }

    test('an address outside metrics_allow gets the 404 of an unknown path', async (t) => {
        const extra = 'metrics_allow 10.0.0.0/8;';
        const d = await startBedrockd({ t, conf: conf(emu.url, { extra }) });
        await assertAbsent(d);
        assert.equal(await d.stop(), 0);
    });

    test('metrics off removes the endpoint', async (t) => {
        const d = await startBedrockd({ t, conf: conf(emu.url, { extra: 'metrics off;' }) });
        await assertAbsent(d);
        assert.equal(await d.stop(), 0);
    });

    test('metrics_allow all and several directives', async (t) => {
        const extra = 'metrics_allow 10.0.0.0/8;\nmetrics_allow all;';
        const d = await startBedrockd({ t, conf: conf(emu.url, { extra }) });
        assert.match(await scrape(d.url), /^bedrockd_upstream_retries_total 0$/m);
        assert.equal(await d.stop(), 0);
    });

    test('a malformed range fails the configuration test with file and line', async () => {
        const dir = makeTempDir();
        const file = path.join(dir, 'bad.conf');
        fs.writeFileSync(file, 'listen 127.0.0.1:0;\nmetrics_allow 10.0.0.0/40;\n');
        const r = await runBedrockd(['-t', '-c', file]);
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, /bad\.conf:2: invalid address range "10\.0\.0\.0\/40"/);
    });
});

describe('readiness', () => {
    test('no credentials: /ready is 503 with the reason, metrics say not ready', async (t) => {
        const emu = await startEmulator({ t });
        const text = conf(emu.url, { workers: 1 })
            .replace('credentials static;', 'credentials env;');
        const d = await startBedrockd({
            t,
            conf: text,
            env: { AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined },
        });
        const ready = await httpRequest(`${d.url}/ready`);
        assert.equal(ready.status, 503, ready.body);
        assert.equal(ready.json.status, 'not_ready');
        assert.ok(ready.json.reason.length > 0 && ready.json.reason !== 'draining', ready.body);
        const { samples } = parseMetrics(await scrape(d.url));
        assert.equal(one(samples, 'bedrockd_credentials_ready'), 0);
        assert.equal(await d.stop(), 0);
    });

    /* A container credentials endpoint on loopback handing out keys that expire at <ms>. */
    async function credentialServer(t, ms) {
        const srv = http.createServer((req, res) => {
            res.setHeader('content-type', 'application/json');
            res.end(JSON.stringify({
                AccessKeyId: 'ASIAEXAMPLE', SecretAccessKey: 'secret', Token: 'token',
                Expiration: new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z'),
            }));
        });
        await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
        t.after(() => srv.close());
        return `http://127.0.0.1:${srv.address().port}/creds`;
    }

    async function startWithContainerCredentials(t, expiresMs) {
        const emu = await startEmulator({ t });
        const uri = await credentialServer(t, expiresMs);
        return startBedrockd({
            t,
            conf: conf(emu.url, { workers: 1 })
                .replace('credentials static;', 'credentials container;'),
            env: { AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined,
                   AWS_CONTAINER_CREDENTIALS_FULL_URI: uri },
        });
    }

    test('temporary credentials: their expiry is exported', async (t) => {
        const expires = Math.floor(Date.now() / 1000) * 1000 + 2 * 3600 * 1000;
        const d = await startWithContainerCredentials(t, expires);
        assert.equal((await httpRequest(`${d.url}/ready`)).status, 200);
        const { samples } = parseMetrics(await scrape(d.url));
        assert.equal(one(samples, 'bedrockd_credentials_ready'), 1);
        assert.equal(one(samples, 'bedrockd_credentials_expiry_timestamp_seconds'), expires / 1000);
        assert.equal(await d.stop(), 0);
    });

    test('expired credentials: /ready is 503', async (t) => {
        const expired = Math.floor(Date.now() / 1000) * 1000 - 60 * 1000;
        const d = await startWithContainerCredentials(t, expired);
        const ready = await httpRequest(`${d.url}/ready`);
        assert.equal(ready.status, 503, ready.body);
        assert.equal(ready.json.status, 'not_ready');
        assert.match(ready.json.reason, /expir/, ready.body);
        const { samples } = parseMetrics(await scrape(d.url));
        assert.equal(one(samples, 'bedrockd_credentials_ready'), 0);
        assert.equal(await d.stop(), 0);
    });

    test('SIGTERM: /ready turns 503 on a kept-alive connection while a stream finishes',
        async (t) => {
            const emu = await startEmulator({ t });
            const d = await startBedrockd({
                t,
                conf: conf(emu.url,
                           { workers: 1, extra: 'shutdown_delay 2s;\nshutdown_timeout 20s;' }),
            });
            const probe = await openConnection(d.port);
            const before = await probe.request({ path: '/ready' });
            assert.equal(before.status, 200, before.body);

            /* A stream of 30 pieces 100 ms apart: about 3 s in flight. */
            let streamEnded = false;
            let firstChunk;
            const gotFirst = new Promise((resolve) => { firstChunk = resolve; });
            const streamDone = new Promise((resolve, reject) => {
                const req = http.request(`${d.url}/v1/messages`, {
                    method: 'POST',
                    agent: false,
                    headers: { 'content-type': 'application/json', ...authHeaders() },
                }, (res) => {
                    let body = '';
                    res.setEncoding('utf8');
                    res.on('data', (c) => {
                        body += c;
                        firstChunk();
                    });
                    res.on('end', () => {
                        streamEnded = true;
                        resolve({ status: res.statusCode, body });
                    });
                    res.on('error', reject);
                });
                req.on('error', reject);
                req.end(JSON.stringify({
                    model: 'claude-test', max_tokens: 200, stream: true,
                    messages: [{ role: 'user', content: 'go [[emu:slow delay_ms=100 tokens=30]]' }],
                }));
            });
            await withTimeout(gotFirst, 10000, 'the first bytes of the stream');
            const mid = parseMetrics((await probe.request({ path: '/metrics' })).body).samples;
            assert.equal(one(mid, 'bedrockd_streams_open'), 1);
            assert.equal(one(mid, 'bedrockd_requests_in_flight'), 2); /* the stream, the scrape */

            const from = d.mark();
            d.signal('SIGTERM');
            await d.waitForLog(/draining: \d+ requests in flight/, { from });
            const during = await probe.request({ path: '/ready' });
            assert.equal(during.status, 503, during.body);
            assert.equal(during.json.status, 'not_ready');
            assert.equal(during.json.reason, 'draining');
            assert.equal(streamEnded, false, 'the stream ended before /ready said 503');

            const res = await withTimeout(streamDone, 20000, 'the stream to finish');
            assert.equal(res.status, 200);
            assert.match(res.body, /event: message_stop/);
            assert.equal(sseUsage(res.body).output, 30);
            const exit = await withTimeout(d.exited, 20000, 'bedrockd to exit after the drain');
            assert.equal(exit.code, 0, d.stderr);
            probe.close();
        });
});
