/*
 * large_body.test.mjs: large base64 strings (images, PDFs) kept out of jansson
 * (core/bd_json_slices) reach Bedrock byte for byte, in their places, on both
 * Bedrock routes and for a non-Claude model, through the official Anthropic SDK:
 * one image, two different ones and a PDF, the same image twice. Only media
 * members are cut: long texts and names of base64 letters go through as before,
 * and no token reaches Bedrock or an error. A malformed body after a large string
 * gets the client's own position. What reached "Bedrock" is read back from the
 * emulator's --record file.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { CLAUDE_ID, MASTER_KEY, NOVA, ROUTES, anthropicConf } from './lib/anthropic_env.mjs';
import { httpRequest, makeTempDir, startBedrockd, startEmulator } from './lib/harness.mjs';

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
        const res = await httpRequest(`${bd.url}/v1/messages`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-api-key': MASTER_KEY },
            body: text,
        });
        assert.equal(res.status, 400, res.body);
        const err = JSON.parse(res.body);
        assert.equal(err.type, 'error');
        assert.equal(err.error.type, 'invalid_request_error');
        const at = Number(err.error.message.match(/at position (\d+)/)?.[1]);
        assert.ok(at > data.length, `position ${at} is in the client's text, after the image`);
    });

    test('an unterminated large string: 400, not a hang or a crash', async () => {
        const text = `{"model":"${ROUTES[0].model}","max_tokens":8,"messages":"${b64(20000)}`;
        const res = await httpRequest(`${bd.url}/v1/messages`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-api-key': MASTER_KEY },
            body: text,
        });
        assert.equal(res.status, 400, res.body);
        assert.equal(JSON.parse(res.body).error.type, 'invalid_request_error');
    });

    test('a large string where a short one belongs is refused as before', async () => {
        const res = await httpRequest(`${bd.url}/v1/messages`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-api-key': MASTER_KEY },
            body: JSON.stringify({ model: 'QUJD'.repeat(2000), max_tokens: 8,
                                   messages: [{ role: 'user', content: 'hi' }] }),
        });
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
