/*
 * admin_page.test.mjs: the status page in a real browser. bedrockd in front of
 * bedrock-emulator answers a known mix of requests (two keys made through the
 * admin API, two models, a stream, a refused key, an unknown model); headless Chromium (Debian's
 * `chromium --headless --no-sandbox`, driven over the DevTools pipe) opens the
 * page with an admin token, waits for the script's refresh from /v1/stats, and
 * the numbers read from the DOM must equal /metrics; with scripts off the
 * server-rendered page shows the same totals; on a phone-sized screen nothing
 * overflows. Screenshots go to BD_TEST_OUTPUT (default: a temporary directory).
 * Skipped when Chromium is not installed (deploy/deps.sh test installs it).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { emulatorBedrock, metricSum } from './lib/admin.mjs';
import { chromiumPath, startChromium } from './lib/cdp.mjs';
import {
    freePort,
    httpRequest,
    makeTempDir,
    startBedrockd,
    startEmulator,
} from './lib/harness.mjs';

const MODELS_CONF = fileURLToPath(new URL('../../conf/models.conf', import.meta.url));
const TOKEN = 'page-admin-token-0123456789';
const skip = chromiumPath() === null ? 'chromium is not installed' : false;

let emu;
let d;
let browser;
let admin;
let metricsUrl;
let outDir;

function message(key, model, { stream = false } = {}) {
    const headers = { 'content-type': 'application/json' };
    if (key) {
        headers['x-api-key'] = key;
    }
    return httpRequest(`${d.url}/v1/messages`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ model, max_tokens: 16, stream,
                               messages: [{ role: 'user', content: 'hello there' }] }),
    });
}

/* What the page shows, read from its DOM. */
const READ_DOM = `(() => {
    const num = (id) => document.getElementById(id).textContent.trim();
    const rows = (table, kind) => [...document.querySelectorAll('#' + table + ' tbody tr')].map((tr) => ({
        [kind]: tr.getAttribute('data-' + kind),
        requests: Number(tr.querySelector('.req').textContent),
        errors: Number(tr.querySelector('.err').textContent),
        input_tokens: Number(tr.querySelector('.in').textContent),
        output_tokens: Number(tr.querySelector('.out').textContent),
    }));
    return {
        requests: Number(num('t-requests')), errors: Number(num('t-errors')),
        tokens: Number(num('t-tokens')), streams: Number(num('t-streams')),
        p50: num('t-p50'), models: rows('models', 'model'), keys: rows('keys', 'key'),
        refreshed: document.body.getAttribute('data-refreshed'),
        overflow: document.documentElement.scrollWidth > window.innerWidth,
        external: [...document.querySelectorAll('script[src], link[href], img[src]')].length,
    };
})()`;

async function screenshot(name) {
    const shot = await browser.send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true });
    const file = path.join(outDir, name);
    fs.writeFileSync(file, Buffer.from(shot.data, 'base64'));
    assert.ok(fs.statSync(file).size > 1000, `${file} holds a picture`);
    return file;
}

before(async () => {
    if (skip) {
        return;
    }
    outDir = process.env.BD_TEST_OUTPUT ?? makeTempDir('bd-admin-page-');
    fs.mkdirSync(outDir, { recursive: true });
    emu = await startEmulator();
    const dir = makeTempDir('bd-admin-page-store-');
    const adminPort = await freePort();
    const metricsPort = await freePort();
    d = await startBedrockd({
        conf: `listen 127.0.0.1:0;
worker_threads 2;
store ${path.join(dir, 'store.db')};
store_flush_interval 5ms;
metrics_listen 127.0.0.1:${metricsPort};
admin_listen 127.0.0.1:${adminPort};
admin_token ops env:BD_TEST_ADMIN_TOKEN read-write;
${emulatorBedrock(emu.url)}
include ${MODELS_CONF};
`,
        env: { BD_TEST_ADMIN_TOKEN: TOKEN },
    });
    admin = `http://127.0.0.1:${adminPort}`;
    metricsUrl = `http://127.0.0.1:${metricsPort}`;
    /* keys made through the API are served as soon as it answers */
    const keys = [];
    for (const name of ['web', 'batch']) {
        const r = await httpRequest(`${admin}/v1/keys`, {
            method: 'POST',
            headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
            body: JSON.stringify({ name }),
        });
        assert.equal(r.status, 201, r.body);
        keys.push(r.json);
    }
    /* the known mix */
    for (let i = 0; i < 5; i++) {
        assert.equal((await message(keys[0].secret, 'claude-haiku-4-5')).status, 200);
    }
    for (let i = 0; i < 4; i++) {
        assert.equal((await message(keys[1].secret, 'claude-sonnet-4-5')).status, 200);
    }
    assert.equal((await message(keys[1].secret, 'claude-sonnet-4-5', { stream: true })).status, 200);
    assert.equal((await message(keys[0].secret, 'no-such-model')).status, 404);
    assert.equal((await message('sk-bd-not-a-key', 'claude-haiku-4-5')).status, 401);
    assert.equal((await message(undefined, 'claude-haiku-4-5')).status, 401);
    browser = await startChromium();
    await browser.send('Network.enable', {});
    await browser.send('Network.setExtraHTTPHeaders', { headers: { Authorization: `Bearer ${TOKEN}` } });
});

after(async () => {
    await browser?.close();
    await d?.stop();
    await emu?.stop();
});

test('the page the browser shows equals /metrics, after its own refresh from /v1/stats', { skip }, async () => {
    await browser.send('Emulation.setDeviceMetricsOverride', { width: 1280, height: 1000, deviceScaleFactor: 1, mobile: false });
    await browser.open(`${admin}/`);
    const first = await browser.evaluate(READ_DOM);
    /* the script's refresh replaces the server's numbers; wait for one to land */
    let dom;
    for (let i = 0; ; i++) {
        dom = await browser.evaluate(READ_DOM);
        if (dom.refreshed !== null) {
            break;
        }
        assert.ok(i < 500, 'the page refreshed itself from /v1/stats');
        await new Promise((r) => setTimeout(r, 20));
    }
    const metrics = (await httpRequest(`${metricsUrl}/metrics`)).body;
    const want = {
        requests: metricSum(metrics, 'bedrockd_requests_total'),
        errors: metricSum(metrics, 'bedrockd_requests_total', { status: (s) => Number(s) >= 400 }),
        tokens: metricSum(metrics, 'bedrockd_tokens_total'),
        streams: metricSum(metrics, 'bedrockd_streams_open'),
    };
    assert.deepEqual({ requests: dom.requests, errors: dom.errors, tokens: dom.tokens, streams: dom.streams }, want);
    assert.deepEqual({ requests: first.requests, errors: first.errors, tokens: first.tokens }, {
        requests: want.requests, errors: want.errors, tokens: want.tokens });
    /* web: 5 + an unknown model; batch: 4 + a stream; two without a valid key */
    assert.equal(want.requests, 13);
    assert.equal(want.errors, 3);
    for (const row of dom.models) {
        assert.equal(row.requests, metricSum(metrics, 'bedrockd_requests_total', { model: row.model }), row.model);
        assert.equal(row.input_tokens, metricSum(metrics, 'bedrockd_tokens_total', { model: row.model, type: 'input' }));
        assert.equal(row.output_tokens, metricSum(metrics, 'bedrockd_tokens_total', { model: row.model, type: 'output' }));
    }
    assert.equal(dom.keys.length, 2);
    for (const row of dom.keys) {
        assert.equal(row.requests, metricSum(metrics, 'bedrockd_key_requests_total', { key: row.key }));
        assert.equal(row.errors, metricSum(metrics, 'bedrockd_key_requests_total', { key: row.key, status: (s) => Number(s) >= 400 }));
        assert.equal(row.input_tokens, metricSum(metrics, 'bedrockd_key_tokens_total', { key: row.key, type: 'input' }));
        assert.equal(row.output_tokens, metricSum(metrics, 'bedrockd_key_tokens_total', { key: row.key, type: 'output' }));
    }
    assert.deepEqual(dom.keys.map((r) => [r.requests, r.errors]).sort(), [[5, 0], [6, 1]]);
    assert.equal(dom.external, 0, 'nothing is loaded from elsewhere');
    assert.equal(await browser.evaluate("document.querySelectorAll('canvas').length"), 4);
    await screenshot('status-desktop.png');
});

test('without scripts the server-rendered totals read the same; on a phone nothing overflows', { skip }, async () => {
    await browser.send('Emulation.setScriptExecutionDisabled', { value: true });
    await browser.send('Emulation.setDeviceMetricsOverride', { width: 390, height: 844, deviceScaleFactor: 2, mobile: true });
    await browser.open(`${admin}/?noscript`);
    const dom = await browser.evaluate(READ_DOM);
    assert.equal(dom.refreshed, null, 'no script ran');
    const metrics = (await httpRequest(`${metricsUrl}/metrics`)).body;
    assert.equal(dom.requests, metricSum(metrics, 'bedrockd_requests_total'));
    assert.equal(dom.errors, metricSum(metrics, 'bedrockd_requests_total', { status: (s) => Number(s) >= 400 }));
    assert.equal(dom.tokens, metricSum(metrics, 'bedrockd_tokens_total'));
    assert.equal(dom.overflow, false, 'the page fits a 390 px wide screen');
    await browser.send('Emulation.setScriptExecutionDisabled', { value: false });
    const file = await screenshot('status-phone.png');
    process.stdout.write(`# screenshots in ${path.dirname(file)}\n`);
});
