/*
 * bedrock_api.test.mjs: the Bedrock Runtime API served by bedrockd itself (the front
 * door), driven by real Bedrock clients with a bedrockd key as their Bedrock API key:
 * the AWS SDK for JavaScript's BedrockRuntimeClient (AWS_BEARER_TOKEN_BEDROCK; Converse,
 * ConverseStream, InvokeModel, InvokeModelWithResponseStream, CountTokens), the
 * @anthropic-ai/bedrock-sdk, and Claude Code in Bedrock mode. Checks that the key's
 * allowed models apply, that the model id goes through the model map, that bedrockd
 * re-signs (the emulator only takes its own SigV4 credentials), that errors keep
 * Bedrock's shape, and that each call leaves a usage record with Bedrock's token counts.
 *
 * Run from tests/ (after `npm ci` there):
 *   BD_BEDROCKD=.../bedrockd BD_EMULATOR=.../bedrock-emulator BD_BEDROCKCTL=.../bedrockctl \
 *       node --test integration/bedrock_api.test.mjs
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';

import {
    binaryFromEnv, httpRequest, makeTempDir, runBinary, startBedrockd, startEmulator, waitUntil,
    withTimeout,
} from './lib/harness.mjs';

const {
    BedrockRuntimeClient, ConverseCommand, ConverseStreamCommand, CountTokensCommand,
    InvokeModelCommand, InvokeModelWithResponseStreamCommand,
} = await import('@aws-sdk/client-bedrock-runtime');
const { NodeHttpHandler } = await import('@smithy/node-http-handler');

const MASTER = 'sk-bdtest-bedrock-api-master-0123456789';
const SONNET = 'claude-sonnet-4-5';
const SONNET_ID = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const CLAUDE = new URL('../node_modules/.bin/claude', import.meta.url).pathname;

let emu;
let bd;
let db;
let key;       /* a store key allowed claude-sonnet-* only */
let record;

function sql(query) {
    return execFileSync('sqlite3', [db, query], { encoding: 'utf8' }).trim();
}

before(async () => {
    const dir = makeTempDir('bd-bedrock-api-');
    db = path.join(dir, 'store.db');
    record = path.join(dir, 'record.jsonl');
    emu = await startEmulator({ args: ['--record', record] });
    bd = await startBedrockd({ conf: `listen 127.0.0.1:0;
worker_threads 1;
store ${db};
store_flush_interval 5ms;
master_key ${MASTER};
bedrock {
    region us-east-1;
    endpoint ${emu.url};
    credentials static;
    access_key_id AKIDEXAMPLE;
    secret_access_key wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY;
    retries 0;
    catalog off;
}
model ${SONNET} { id ${SONNET_ID}; alias claude-sonnet-4-5-20250929; }
model claude-haiku-4-5 { id us.anthropic.claude-haiku-4-5-20251001-v1:0; }
` });
    const ctl = binaryFromEnv('BD_BEDROCKCTL', 'bedrockctl');
    const r = await runBinary(ctl, ['--store', db, 'key', 'create', '--name', 'front-door',
                                    '--models', 'claude-sonnet-*,us.anthropic.claude-sonnet-*',
                                    '--format', 'json']);
    assert.equal(r.code, 0, r.stderr);
    key = JSON.parse(r.stdout);
    /* the store's key cache picks the new key up */
    await waitUntil(async () => (await httpRequest(`${bd.url}/model/${SONNET}/converse`, {
        method: 'POST', headers: { authorization: `Bearer ${key.secret}` },
        body: JSON.stringify({ messages: [{ role: 'user', content: [{ text: 'warm' }] }] }),
    })).status === 200, { timeoutMs: 10000, what: 'the new key is known' });
});

function client(token) {
    process.env.AWS_BEARER_TOKEN_BEDROCK = token; /* what users set: the SDK prefers bearer */
    return new BedrockRuntimeClient({
        region: 'us-east-1',
        endpoint: bd.url,
        requestHandler: new NodeHttpHandler(),
        maxAttempts: 1,
    });
}

function lastRecord() {
    const lines = fs.readFileSync(record, 'utf8').split('\n').filter(Boolean);
    return JSON.parse(lines[lines.length - 1]);
}

/* The id of the newest usage row now, so a later lastUsage(mark) cannot read an
 * older request's row that the store wrote late. */
function usageMark() {
    return Number(sql('SELECT coalesce(max(id), 0) FROM usage'));
}

/* The newest usage row written after `mark`, once it is written. */
async function lastUsage(mark) {
    let row = '';
    await waitUntil(() => {
        row = sql("SELECT key_id, model, model_resolved, status, input_tokens, output_tokens " +
                  `FROM usage WHERE id > ${mark} ORDER BY id DESC LIMIT 1`);
        return row !== '';
    }, { what: 'a usage row' });
    const [keyId, model, resolved, status, input, output] = row.split('|');
    return { keyId, model, resolved, status: Number(status), input: Number(input),
             output: Number(output) };
}

const native = (text) => JSON.stringify({
    anthropic_version: 'bedrock-2023-05-31', max_tokens: 64,
    messages: [{ role: 'user', content: text }],
});

describe('AWS SDK BedrockRuntimeClient with a bedrockd key as bearer token', () => {
    test('Converse: mapped model, re-signed, usage recorded for the key', async () => {
        const c = client(key.secret);
        const mark = usageMark();
        const out = await c.send(new ConverseCommand({
            modelId: SONNET,
            messages: [{ role: 'user', content: [{ text: 'front door converse' }] }],
            inferenceConfig: { maxTokens: 64 },
        }));
        assert.equal(out.output.message.content[0].text, 'front door converse');
        assert.equal(lastRecord().model, SONNET_ID);
        assert.equal(lastRecord().operation, 'converse');
        const u = await lastUsage(mark);
        assert.equal(u.keyId, key.id);
        assert.equal(u.model, SONNET);
        assert.equal(u.resolved, SONNET_ID);
        assert.equal(u.input, out.usage.inputTokens);
        assert.equal(u.output, out.usage.outputTokens);
    });

    test('ConverseStream: the event stream relayed, usage from its metadata', async () => {
        const c = client(key.secret);
        const mark = usageMark();
        const out = await c.send(new ConverseStreamCommand({
            modelId: SONNET_ID,
            messages: [{ role: 'user', content: [{ text: 'streamed through the door' }] }],
        }));
        let text = '';
        let usage;
        for await (const ev of out.stream) {
            if (ev.contentBlockDelta) text += ev.contentBlockDelta.delta.text ?? '';
            if (ev.metadata) usage = ev.metadata.usage;
        }
        assert.equal(text, 'streamed through the door');
        const u = await lastUsage(mark);
        assert.equal(u.input, usage.inputTokens);
        assert.equal(u.output, usage.outputTokens);
    });

    test('InvokeModel and InvokeModelWithResponseStream with the native body', async () => {
        const c = client(key.secret);
        let mark = usageMark();
        const res = await c.send(new InvokeModelCommand({
            modelId: 'claude-sonnet-4-5-20250929', contentType: 'application/json',
            body: native('invoked natively'),
        }));
        const msg = JSON.parse(Buffer.from(res.body).toString('utf8'));
        assert.equal(msg.content[0].text, 'invoked natively');
        let u = await lastUsage(mark);
        assert.equal(u.output, msg.usage.output_tokens);

        mark = usageMark();
        const s = await c.send(new InvokeModelWithResponseStreamCommand({
            modelId: SONNET, contentType: 'application/json', body: native('natively streamed'),
        }));
        let text = '';
        for await (const ev of s.body) {
            const e = JSON.parse(Buffer.from(ev.chunk.bytes).toString('utf8'));
            if (e.type === 'content_block_delta') text += e.delta.text;
        }
        assert.equal(text, 'natively streamed');
        u = await lastUsage(mark);
        assert.ok(u.output > 0 && u.input > 0, JSON.stringify(u));
        assert.equal(lastRecord().operation, 'invoke-with-response-stream');
    });

    test('a 1 MiB image goes as the client wrote it, on InvokeModel and Converse', async () => {
        /* the image is set aside before the body is parsed and sent from the client's
         * own bytes (core/bd_json_slices); what reached Bedrock is the client's body */
        const c = client(key.secret);
        const bytes = crypto.randomBytes(786432);
        const body = JSON.stringify({
            anthropic_version: 'bedrock-2023-05-31', max_tokens: 64,
            messages: [{ role: 'user', content: [
                { type: 'image', source: { type: 'base64', media_type: 'image/png', data: bytes.toString('base64') } },
                { type: 'text', text: 'an image, natively' }] }],
        });
        const res = await c.send(new InvokeModelCommand({ modelId: SONNET, contentType: 'application/json', body }));
        assert.equal(JSON.parse(Buffer.from(res.body).toString('utf8')).content[0].text, 'an image, natively');
        assert.deepEqual(lastRecord().body, JSON.parse(body));

        const out = await c.send(new ConverseCommand({
            modelId: SONNET,
            messages: [{ role: 'user', content: [{ image: { format: 'png', source: { bytes } } },
                                                 { text: 'an image, conversed' }] }],
            inferenceConfig: { maxTokens: 64 },
        }));
        assert.equal(out.output.message.content[0].text, 'an image, conversed');
        const sent = lastRecord().body.messages[0].content[0].image.source.bytes;
        assert.equal(sent, bytes.toString('base64'));
    });

    test('x-api-key works too; a gateway error has x-amzn-ErrorType and {"message"}', async () => {
        const body = JSON.stringify({ messages: [{ role: 'user', content: [{ text: 'by header' }] }] });
        const ok = await httpRequest(`${bd.url}/model/${SONNET}/converse`, {
            method: 'POST', headers: { 'x-api-key': key.secret, 'content-type': 'application/json' },
            body,
        });
        assert.equal(ok.status, 200, ok.body);
        assert.equal(ok.json.output.message.content[0].text, 'by header');
        const bad = await httpRequest(`${bd.url}/model/${encodeURIComponent('nope:0')}/converse`, {
            method: 'POST', headers: { 'x-api-key': key.secret }, body,
        });
        assert.equal(bad.status, 400);
        assert.equal(bad.headers['x-amzn-errortype'], 'ValidationException');
        assert.deepEqual(bad.json, { message: 'The provided model identifier is invalid.' });
        const op = await httpRequest(`${bd.url}/model/${SONNET}/explode`, {
            method: 'POST', headers: { 'x-api-key': key.secret }, body,
        });
        assert.equal(op.status, 404);
        assert.equal(op.headers['x-amzn-errortype'], 'UnknownOperationException');
    });

    test('CountTokens', async () => {
        const c = client(key.secret);
        const out = await c.send(new CountTokensCommand({
            modelId: SONNET_ID,
            input: { converse: { messages: [{ role: 'user', content: [{ text: 'count me' }] }] } },
        }));
        assert.ok(out.inputTokens > 0);
    });

    test('errors keep Bedrock shape: Bedrock\'s own, unknown model, model not allowed', async () => {
        const c = client(key.secret);
        await assert.rejects(c.send(new ConverseCommand({
            modelId: SONNET,
            messages: [{ role: 'user', content: [{ text: '[[emu:throttle]]' }] }],
        })), (err) => err.name === 'ThrottlingException' && err.$metadata.httpStatusCode === 429);
        await assert.rejects(c.send(new ConverseCommand({
            modelId: 'no-such-model',
            messages: [{ role: 'user', content: [{ text: 'x' }] }],
        })), (err) => err.name === 'ValidationException' && err.$metadata.httpStatusCode === 400);
        await assert.rejects(c.send(new ConverseCommand({
            modelId: 'claude-haiku-4-5',
            messages: [{ role: 'user', content: [{ text: 'x' }] }],
        })), (err) => err.name === 'AccessDeniedException' && err.$metadata.httpStatusCode === 403);
        await assert.rejects(client('sk-not-a-key').send(new ConverseCommand({
            modelId: SONNET, messages: [{ role: 'user', content: [{ text: 'x' }] }],
        })), (err) => err.name === 'UnrecognizedClientException' &&
                      err.$metadata.httpStatusCode === 401);
    });
});

describe('@anthropic-ai/bedrock-sdk', () => {
    test('messages.create and a stream through the front door', async () => {
        const { AnthropicBedrock } = await import('@anthropic-ai/bedrock-sdk');
        process.env.AWS_BEARER_TOKEN_BEDROCK = key.secret;
        const c = new AnthropicBedrock({ baseURL: bd.url, awsRegion: 'us-east-1', maxRetries: 0,
                                         apiKey: key.secret });
        const msg = await c.messages.create({
            model: SONNET_ID, max_tokens: 64,
            messages: [{ role: 'user', content: 'hello bedrock sdk' }],
        });
        assert.equal(msg.content[0].text, 'hello bedrock sdk');
        let text = '';
        const s = c.messages.stream({ model: SONNET, max_tokens: 64,
                                      messages: [{ role: 'user', content: 'bedrock sdk stream' }] });
        s.on('text', (d) => { text += d; });
        await s.finalMessage();
        assert.equal(text, 'bedrock sdk stream');
        assert.equal(lastRecord().operation, 'invoke-with-response-stream');
    });
});

describe('Claude Code in Bedrock mode', () => {
    test('claude -p with CLAUDE_CODE_USE_BEDROCK and the key as bearer token', async () => {
        const home = makeTempDir('bd-claude-bedrock-home-');
        const env = {
            PATH: process.env.PATH, HOME: home, LANG: 'C.UTF-8',
            CLAUDE_CODE_USE_BEDROCK: '1', ANTHROPIC_BEDROCK_BASE_URL: bd.url,
            AWS_BEARER_TOKEN_BEDROCK: key.secret, AWS_REGION: 'us-east-1',
            DISABLE_TELEMETRY: '1', DISABLE_AUTOUPDATER: '1', DISABLE_ERROR_REPORTING: '1',
            CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
        };
        const mark = usageMark();
        const proc = spawn(CLAUDE, ['-p', 'Say it. [[emu:echo text=BEDROCK-MODE]]', '--model',
                                    SONNET_ID], { cwd: home, env, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        proc.stdout.on('data', (d) => { stdout += d; });
        proc.stderr.on('data', (d) => { stderr += d; });
        const code = await withTimeout(new Promise((r) => proc.on('close', r)), 120000, 'claude');
        assert.equal(code, 0, stderr + stdout);
        assert.match(stdout, /BEDROCK-MODE/);
        const rec = lastRecord();
        assert.equal(rec.model, SONNET_ID);
        assert.equal(rec.operation, 'invoke-with-response-stream');
        const u = await lastUsage(mark);
        assert.equal(u.keyId, key.id);
    });
});
