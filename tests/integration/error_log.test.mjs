/*
 * error_log.test.mjs: `error_log_format json`. Every line bedrockd writes to its
 * error log parses as one JSON object with time, level, pid, thread and message,
 * and request_id on the lines about a request: a start, requests served and
 * refused, an upstream failure that quotes a session token, a reload that fails
 * on a directive holding quotes, control characters and bytes that are not
 * UTF-8, and a drained stop. Secrets stay out. A reload switches the format
 * both ways; an unknown format is a clear -t error.
 *
 * Run from tests/: BD_BEDROCKD=... BD_EMULATOR=... node --test integration/error_log.test.mjs
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { EMULATOR_CREDENTIALS, httpRequest, runBedrockd, startBedrockd, startEmulator }
    from './lib/harness.mjs';

const MASTER = 'sk-bdtest-json-log-master-V3nB8qT1';
const AWS_SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYjsonLOG4Kx';
const SESSION = 'IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHjsonLOGsessionTOKEN';
const LEVELS = ['emerg', 'alert', 'crit', 'error', 'warn', 'notice', 'info', 'debug'];
const THREADS = /^(main|worker-\d+|store|dynamodb|cache-dynamodb|catalog)$/;
const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

function conf(emu, { format = 'json', secret = EMULATOR_CREDENTIALS.secretAccessKey } = {}) {
    return `listen 127.0.0.1:0;
worker_threads 2;
store off;
master_key ${MASTER};
error_log stderr debug;
error_log_format ${format};
access_log stdout;
bedrock {
    region us-east-1;
    endpoint ${emu.url};
    control_endpoint ${emu.url};
    catalog off;
    credentials static;
    access_key_id ${EMULATOR_CREDENTIALS.accessKeyId};
    secret_access_key ${secret};
    session_token ${SESSION};
    retries 0;
}
model claude-sonnet-4-5 { id us.anthropic.claude-sonnet-4-5-20250929-v1:0; }
`;
}

/* Parses every line of <text> (all must be JSON objects with the members); returns them. */
function parseAll(text, pid) {
    const lines = text.split('\n').filter((l) => l !== '');
    assert.ok(lines.length > 0, 'no error log lines');
    return lines.map((l) => {
        let o;
        assert.doesNotThrow(() => { o = JSON.parse(l); }, `not a JSON line: ${l}`);
        assert.equal(typeof o, 'object', l);
        assert.match(o.time, TIME, l);
        assert.ok(LEVELS.includes(o.level), l);
        assert.equal(o.pid, pid, l);
        assert.match(o.thread, THREADS, l);
        assert.equal(typeof o.message, 'string', l);
        assert.ok(o.request_id === undefined || /^req_/.test(o.request_id), l);
        return o;
    });
}

function messages(url, text, key = MASTER) {
    return httpRequest(`${url}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': key, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
        body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 16,
                               messages: [{ role: 'user', content: text }] }),
    });
}

function assertClean(text) {
    for (const s of [MASTER, AWS_SECRET, SESSION, SESSION.slice(0, 24)]) {
        assert.ok(!text.includes(s), `the error log contains ${JSON.stringify(s.slice(0, 12))}...`);
    }
}

describe('error_log_format json', () => {
    let emu;
    before(async () => {
        emu = await startEmulator();
    });
    after(async () => {
        await emu?.stop();
    });

    test('every line is a JSON object, requests name their id, secrets stay out', async (t) => {
        const d = await startBedrockd({ conf: conf(emu), t });
        const ok = await messages(d.url, 'hello');
        assert.equal(ok.status, 200, ok.body);
        const throttled = await messages(d.url, 'slow down [[emu:throttle]]');
        assert.equal(throttled.status, 429, throttled.body);
        const refused = await messages(d.url, 'x', 'sk-bd-not-a-key-0000000000');
        assert.equal(refused.status, 401);

        /* A failed reload logs the parser's message: quotes, a tab, a byte that is not UTF-8. */
        const bad = await d.reload(Buffer.concat([
            Buffer.from(`${conf(emu)}"odd\\"\tdir`), Buffer.from([0xff, 0xfe]), Buffer.from('ective" 1;\n'),
        ]));
        assert.equal(bad.ok, false, bad.line);
        assert.equal((await d.reload(conf(emu))).ok, true);

        assert.equal(await d.stop(), 0);

        const lines = parseAll(d.stderr, d.pid);
        assertClean(d.stderr);
        const started = lines.find((o) => /^bedrockd \S+ started/.test(o.message));
        assert.ok(started, d.stderr);
        assert.equal(started.thread, 'main');
        assert.equal(started.level, 'notice');
        assert.ok(lines.some((o) => o.message.includes('drained, exiting')), d.stderr);
        assert.ok(lines.some((o) => o.level === 'error' && /reload failed/.test(o.message)), d.stderr);

        const id = throttled.headers['request-id'];
        const about = lines.filter((o) => o.request_id === id);
        assert.ok(about.length > 0, `no line names ${id}:\n${d.stderr}`);
        assert.ok(about.some((o) => o.level === 'warn' && /ThrottlingException/.test(o.message)),
                  d.stderr);
        for (const o of about) {
            assert.match(o.thread, /^worker-\d+$/, JSON.stringify(o));
            assert.ok(!o.message.includes('request_id='), 'the id is a member, not in the text');
        }
    });

    test('an upstream failure quoting a session token: the id, no secret', async (t) => {
        /* Bedrock refuses the signature; its message quotes the canonical request. */
        const d = await startBedrockd({ conf: conf(emu, { secret: AWS_SECRET }), t });
        const signed = await messages(d.url, 'hello');
        assert.ok(signed.status >= 400, signed.body);
        assert.equal(await d.stop(), 0);
        const lines = parseAll(d.stderr, d.pid);
        assertClean(d.stderr);
        const id = signed.headers['request-id'];
        assert.ok(lines.some((o) => o.request_id === id && /InvalidSignature/.test(o.message)),
                  d.stderr);
    });

    test('a reload switches the format both ways', async (t) => {
        const d = await startBedrockd({ conf: conf(emu, { format: 'text' }), t });
        const asText = d.stderr;
        assert.match(asText, /^\S+Z \[notice\] bedrockd \S+ started/m);
        assert.ok(!asText.includes('{"time"'));

        const from = d.mark();
        assert.equal((await d.reload(conf(emu))).ok, true);
        await messages(d.url, 'hello');
        const jsonPart = d.stderr.slice(from);
        const lines = parseAll(jsonPart.slice(jsonPart.indexOf('{"time"')), d.pid);
        assert.ok(lines.some((o) => /^configuration reloaded/.test(o.message)), jsonPart);

        const back = d.mark();
        assert.equal((await d.reload(conf(emu, { format: 'text' }))).ok, true);
        assert.equal(await d.stop(), 0);
        const textPart = d.stderr.slice(back);
        assert.match(textPart, /^\S+Z \[notice\] drained, exiting/m);
        assert.ok(!/^\{/m.test(textPart.slice(textPart.indexOf('\n') + 1)), textPart);
    });

    test('an unknown format is a clear -t error', async () => {
        const d = await startBedrockd({ conf: conf(emu), t: undefined });
        d.writeConf(conf(emu, { format: 'yaml' }));
        const r = await runBedrockd(['-t', '-c', d.confPath]);
        assert.equal(await d.stop(), 0);
        assert.equal(r.code, 1);
        assert.match(r.stderr, /invalid value "yaml" in "error_log_format" directive/);
        assert.match(r.stderr, /text, json/);
    });
});
