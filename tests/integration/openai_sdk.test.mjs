/*
 * openai_sdk.test.mjs: conformance of bedrockd's OpenAI-compatible API with the official
 * `openai` npm SDK, against bedrock-emulator: chat completions created and streamed (text,
 * the usage chunk, tool calls reassembled by the SDK's stream helpers, a tool-message round
 * trip, images and PDFs, reasoning), embeddings decoded by the SDK from its default base64
 * for Titan and Cohere, models list and retrieve, GET /v1/models shared with the Anthropic
 * API, and mapped errors arriving as the SDK's own classes, mid-stream ones included.
 *
 * Run from tests/ (after `npm ci` there):
 *   BD_BEDROCKD=.../bedrockd BD_EMULATOR=.../bedrock-emulator \
 *       node --test integration/openai_sdk.test.mjs
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';

import { TINY_PDF_B64, TINY_PNG_B64, marker, tokensOf } from './lib/anthropic_env.mjs';
import { httpRequest, makeTempDir, startBedrockd, startEmulator } from './lib/harness.mjs';

if (!existsSync(new URL('../node_modules/openai/', import.meta.url))) {
    throw new Error('tests/node_modules is missing: run `npm ci` in tests/ first');
}
const { default: OpenAI } = await import('openai');

const KEY = 'sk-openai-test-0123456789';
const CLAUDE_ID = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
/* claude-invoke's route is invoke: the OpenAI API must still take Converse. */
const CHAT_MODELS = ['claude-invoke', 'claude-converse', 'nova-pro'];
const MEDIA_TOKENS = 100;

function conf(emulatorUrl) {
    return `worker_threads 1;
listen 127.0.0.1:0;
error_log stderr info;
access_log off;
store off;
master_key ${KEY};
openai_prefix /v1 /api/v1;
openai_default_max_tokens 1000;

bedrock {
    region us-east-1;
    endpoint ${emulatorUrl};
    credentials static;
    access_key_id AKIDEXAMPLE;
    secret_access_key wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY;
    retries 1;
    retry_base 10ms;
}

model claude-invoke { id ${CLAUDE_ID}; route invoke; created_at 2025-09-29T00:00:00Z; }
model claude-converse { id ${CLAUDE_ID}; route converse; }
model nova-pro { id us.amazon.nova-pro-v1:0; }
model titan-v2 { id amazon.titan-embed-text-v2:0; alias text-embedding-3-small; }
model cohere-en { id cohere.embed-english-v3; }
`;
}

let bd;
let client; /* maxRetries 0: an error reaches the test as the gateway sent it */
let record; /* the emulator's record of each call it served */

before(async () => {
    record = path.join(makeTempDir('bd-openai-sdk-'), 'record.jsonl');
    const emu = await startEmulator({ args: ['--record', record] });
    bd = await startBedrockd({ conf: conf(emu.url) });
    client = makeClient();
});

function makeClient(opts = {}) {
    return new OpenAI({ baseURL: `${bd.url}/v1`, apiKey: KEY, maxRetries: 0, ...opts });
}

/* The body of the last call that reached the emulator. */
function lastSent() {
    const lines = readFileSync(record, 'utf8').split('\n').filter(Boolean);
    return JSON.parse(lines[lines.length - 1]).body;
}

function user(content) {
    return [{ role: 'user', content }];
}

function eachModel(name, models, fn) {
    for (const model of models) {
        test(`${name} [${model}]`, () => fn(model));
    }
}

/* Every chunk of a create({stream: true}) call, after the iteration ended. */
async function chunksOf(params) {
    const stream = await client.chat.completions.create({ ...params, stream: true });
    const chunks = [];
    for await (const c of stream) {
        chunks.push(c);
    }
    return chunks;
}

const WEATHER = {
    type: 'function',
    function: {
        name: 'get_weather',
        description: 'Weather for a city',
        parameters: {
            type: 'object',
            properties: { city: { type: 'string' }, days: { type: 'integer' } },
            required: ['city'],
        },
    },
};
const CLOCK = { type: 'function', function: { name: 'get_time' } }; /* no parameters */
const TOOL_INPUT = { city: 'Paris', days: 3, nested: { a: [1, 'two'] } };

describe('chat.completions.create', () => {
    eachModel('text', CHAT_MODELS, async (model) => {
        const text = 'Hello there, gateway';
        const res = await client.chat.completions.create({ model, messages: user(text) });
        assert.match(res.id, /^chatcmpl-/);
        assert.equal(res.object, 'chat.completion');
        assert.equal(res.model, model);
        assert.ok(Math.abs(res.created - Date.now() / 1000) < 600);
        assert.equal(res.choices.length, 1);
        assert.equal(res.choices[0].index, 0);
        assert.equal(res.choices[0].message.role, 'assistant');
        assert.equal(res.choices[0].message.content, text);
        assert.equal(res.choices[0].finish_reason, 'stop');
        assert.deepEqual(res.usage, {
            prompt_tokens: tokensOf(text),
            completion_tokens: 3,
            total_tokens: tokensOf(text) + 3,
            prompt_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
        });
        assert.match(res._request_id, /^req_/);
    });

    test('system and developer messages are hoisted, same-role turns merged', async () => {
        const messages = [
            { role: 'system', content: 'You are terse.' },
            { role: 'developer', content: [{ type: 'text', text: 'Answer in French.' }] },
            { role: 'user', content: 'one' },
            { role: 'user', content: [{ type: 'text', text: 'two' }, { type: 'text', text: ' ' }] },
        ];
        const res = await client.chat.completions.create({ model: 'claude-converse', messages });
        /* the emulator echoes the last user turn: both merged texts, one per line */
        assert.equal(res.choices[0].message.content, 'one\ntwo');
        assert.equal(res.usage.prompt_tokens, tokensOf('You are terse.') +
                     tokensOf('Answer in French.') + tokensOf('one') + tokensOf('two'));
    });

    test('max_completion_tokens and the configured default', async () => {
        const res = await client.chat.completions.create({
            model: 'claude-converse', max_completion_tokens: 3, messages: user('a b c d e f g'),
        });
        assert.equal(res.choices[0].finish_reason, 'length');
        assert.equal(res.choices[0].message.content, 'a b c ');
        assert.equal(res.usage.completion_tokens, 3);
        const legacy = await client.chat.completions.create({
            model: 'claude-converse', max_tokens: 2, messages: user('a b c d e f g'),
        });
        assert.equal(legacy.usage.completion_tokens, 2);
        /* the scenario writes as many pieces as the request allows */
        const dflt = await client.chat.completions.create({
            model: 'claude-converse', messages: user(`Go ${marker('max_tokens')}`),
        });
        assert.equal(dflt.usage.completion_tokens, 1000); /* openai_default_max_tokens */
    });

    test('stop sequences end with finish_reason stop', async () => {
        const res = await client.chat.completions.create({
            model: 'claude-converse', stop: ['HALT'],
            messages: user(`Before ${marker('stop_sequence')}`),
        });
        assert.equal(res.choices[0].finish_reason, 'stop');
        assert.equal(res.choices[0].message.content.includes('HALT'), false);
    });

    test('cache tokens count in prompt_tokens and cached_tokens', async () => {
        const text = `Cached ${marker('cache read=1024 write=512')}`;
        const res = await client.chat.completions.create({
            model: 'claude-converse', messages: user(text),
        });
        const input = tokensOf(text); /* a marker counts as the text it is */
        assert.equal(res.usage.prompt_tokens, input + 1024 + 512);
        assert.equal(res.usage.prompt_tokens_details.cached_tokens, 1024);
        assert.equal(res.usage.total_tokens, res.usage.prompt_tokens + res.usage.completion_tokens);
    });

    test('the same API under the second prefix', async () => {
        const alt = makeClient({ baseURL: `${bd.url}/api/v1` });
        const res = await alt.chat.completions.create({ model: 'nova-pro', messages: user('alt') });
        assert.equal(res.choices[0].message.content, 'alt');
    });
});

describe('chat.completions streaming', () => {
    eachModel('chunks, [DONE] and the usage chunk', CHAT_MODELS, async (model) => {
        const text = 'Stream these four words';
        const chunks = await chunksOf({
            model, messages: user(text), stream_options: { include_usage: true },
        });
        const withChoices = chunks.filter((c) => c.choices.length > 0);
        assert.equal(withChoices[0].choices[0].delta.role, 'assistant');
        for (const c of chunks) {
            assert.match(c.id, /^chatcmpl-/);
            assert.equal(c.id, chunks[0].id);
            assert.equal(c.object, 'chat.completion.chunk');
            assert.equal(c.model, model);
            for (const ch of c.choices) {
                assert.equal(ch.index, 0);
            }
        }
        assert.equal(withChoices.map((c) => c.choices[0].delta.content ?? '').join(''), text);
        assert.equal(withChoices.at(-1).choices[0].finish_reason, 'stop');
        const last = chunks.at(-1);
        assert.deepEqual(last.choices, []);
        assert.equal(last.usage.prompt_tokens, tokensOf(text));
        assert.equal(last.usage.completion_tokens, 4);
        assert.equal(last.usage.total_tokens, tokensOf(text) + 4);
        for (const c of chunks.slice(0, -1)) {
            assert.equal(c.usage, null);
        }
    });

    test('no usage chunk unless asked for', async () => {
        const chunks = await chunksOf({ model: 'claude-converse', messages: user('no usage') });
        assert.ok(chunks.every((c) => c.choices.length === 1));
        assert.ok(chunks.every((c) => c.usage === undefined));
    });

    test('the stream() helper builds the final completion', async () => {
        const stream = client.chat.completions.stream({
            model: 'claude-invoke', messages: user('helper text here'),
        });
        let deltas = '';
        stream.on('content', (d) => {
            deltas += d;
        });
        const final = await stream.finalChatCompletion();
        assert.equal(deltas, 'helper text here');
        assert.equal(final.choices[0].message.content, 'helper text here');
        assert.equal(final.choices[0].finish_reason, 'stop');
    });
});

describe('tools', () => {
    const question = `Weather in Paris? ${marker(
        `tool name=get_weather input=${encodeURIComponent(JSON.stringify(TOOL_INPUT))}`)}`;

    eachModel('tool_calls (create)', CHAT_MODELS, async (model) => {
        const res = await client.chat.completions.create({
            model, messages: user(question), tools: [CLOCK, WEATHER],
            tool_choice: { type: 'function', function: { name: 'get_weather' } },
        });
        const choice = res.choices[0];
        assert.equal(choice.finish_reason, 'tool_calls');
        assert.equal(choice.message.content, 'Let me call get_weather.');
        assert.equal(choice.message.tool_calls.length, 1);
        const call = choice.message.tool_calls[0];
        assert.equal(call.type, 'function');
        assert.equal(call.function.name, 'get_weather');
        assert.ok(call.id.length > 0);
        assert.deepEqual(JSON.parse(call.function.arguments), TOOL_INPUT);
    });

    eachModel('tool_calls reassembled by the stream helper', CHAT_MODELS, async (model) => {
        const stream = client.chat.completions.stream({
            model, messages: user(question), tools: [CLOCK, WEATHER], tool_choice: 'required',
        });
        const argDeltas = [];
        stream.on('tool_calls.function.arguments.delta', (e) => argDeltas.push(e));
        const final = await stream.finalChatCompletion();
        assert.ok(argDeltas.length > 1, 'the arguments came in one piece');
        assert.ok(argDeltas.every((e) => e.index === 0));
        const choice = final.choices[0];
        assert.equal(choice.finish_reason, 'tool_calls');
        assert.equal(choice.message.tool_calls.length, 1);
        assert.equal(choice.message.tool_calls[0].function.name, 'get_weather');
        assert.deepEqual(JSON.parse(choice.message.tool_calls[0].function.arguments), TOOL_INPUT);
    });

    test('a tool call with no text before it has tool_calls index 0', async () => {
        const chunks = await chunksOf({
            model: 'claude-converse', tools: [WEATHER],
            messages: user(`Go ${marker('tool text=')}`),
        });
        const calls = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
        assert.ok(calls.length > 1);
        assert.ok(calls.every((t) => t.index === 0));
        assert.equal(calls[0].type, 'function');
        assert.equal(calls[0].function.name, 'get_weather');
        assert.equal(calls[0].function.arguments, '');
        assert.deepEqual(JSON.parse(calls.map((t) => t.function.arguments).join('')),
                         { city: 'sample', days: 1 });
    });

    eachModel('a tool message round trip', CHAT_MODELS, async (model) => {
        const first = await client.chat.completions.create({
            model, messages: user(question), tools: [CLOCK, WEATHER],
        });
        const msg = first.choices[0].message;
        const second = await client.chat.completions.create({
            model, tools: [CLOCK, WEATHER],
            messages: [
                { role: 'user', content: question },
                msg,
                {
                    role: 'tool', tool_call_id: msg.tool_calls[0].id,
                    content: '18 degrees and sunny',
                },
            ],
        });
        assert.equal(second.choices[0].finish_reason, 'stop');
        assert.equal(second.choices[0].message.content, '18 degrees and sunny');
    });

    test('history with tool calls but no tools still works', async () => {
        const res = await client.chat.completions.create({
            model: 'claude-converse',
            messages: [
                { role: 'user', content: 'go' },
                { role: 'assistant', content: null, tool_calls: [
                    { id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
                { role: 'tool', tool_call_id: 'call_1', content: 'done' },
                { role: 'user', content: 'summarise' },
            ],
        });
        assert.equal(res.choices[0].message.content, 'summarise');
    });
});

describe('media', () => {
    eachModel('an image as a data URL', CHAT_MODELS, async (model) => {
        const res = await client.chat.completions.create({
            model, messages: user([
                { type: 'text', text: 'What is this?' },
                { type: 'image_url', image_url: { url: `data:image/png;base64,${TINY_PNG_B64}` } },
            ]),
        });
        assert.equal(res.choices[0].message.content, 'What is this?');
        assert.equal(res.usage.prompt_tokens, tokensOf('What is this?') + MEDIA_TOKENS);
    });

    test('a PDF file part', async () => {
        const res = await client.chat.completions.create({
            model: 'claude-converse', messages: user([
                {
                    type: 'file',
                    file: { filename: 'tiny.pdf',
                            file_data: `data:application/pdf;base64,${TINY_PDF_B64}` },
                },
                { type: 'text', text: 'Summarise it' },
            ]),
        });
        assert.equal(res.choices[0].message.content, 'Summarise it');
        assert.equal(res.usage.prompt_tokens, tokensOf('Summarise it') + MEDIA_TOKENS);
    });

    test('a 1 MiB image and a 512 KiB PDF reach Bedrock as the client encoded them', async () => {
        /* their base64 is set aside before the body is parsed and sent from the
         * client's own bytes (core/bd_json_slices), streamed or not */
        const image = crypto.randomBytes(786432).toString('base64');
        const pdf = crypto.randomBytes(393216).toString('base64');
        const content = [
            { type: 'image_url', image_url: { url: `data:image/png;base64,${image}` } },
            { type: 'file', file: { filename: 'big.pdf', file_data: `data:application/pdf;base64,${pdf}` } },
            { type: 'text', text: 'Compare them' },
        ];
        const res = await client.chat.completions.create({ model: 'nova-pro', messages: user(content) });
        assert.equal(res.choices[0].message.content, 'Compare them');
        assert.equal(res.usage.prompt_tokens, tokensOf('Compare them') + 2 * MEDIA_TOKENS);
        let sent = lastSent().messages[0].content;
        assert.equal(sent[0].image.format, 'png');
        assert.equal(sent[0].image.source.bytes, image);
        assert.equal(sent[1].document.format, 'pdf');
        assert.equal(sent[1].document.source.bytes, pdf);

        const stream = await client.chat.completions.create({
            model: 'claude-invoke', stream: true, messages: user(content),
        });
        let text = '';
        for await (const chunk of stream) {
            text += chunk.choices[0]?.delta?.content ?? '';
        }
        assert.equal(text, 'Compare them');
        sent = lastSent().messages[0].content;
        assert.equal(sent[0].image.source.bytes, image);
        assert.equal(sent[1].document.source.bytes, pdf);
    });

    test('a large data URL of the wrong type is a 400 that quotes the client, not the gateway',
         async () => {
        const big = crypto.randomBytes(65536).toString('base64');
        await assert.rejects(client.chat.completions.create({
            model: 'nova-pro', messages: user([
                { type: 'file', file: { file_data: `data:image/bmp;base64,${big}` } }]),
        }), (e) => e instanceof OpenAI.BadRequestError && /"image\/bmp"/.test(e.message) &&
                   !/bdslice/.test(e.message));
        await assert.rejects(client.chat.completions.create({
            model: 'nova-pro', messages: user([
                { type: 'image_url', image_url: { url: `data:image/tiff;base64,${big}` } }]),
        }), (e) => e instanceof OpenAI.BadRequestError && /data URL of a png/.test(e.message) &&
                   !/bdslice/.test(e.message));
    });

    test('an http image URL is a clear 400', async () => {
        await assert.rejects(client.chat.completions.create({
            model: 'claude-converse', messages: user([
                { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }]),
        }), (e) => e instanceof OpenAI.BadRequestError && /data URL/.test(e.message) &&
                   e.error?.type === 'invalid_request_error');
    });
});

describe('reasoning', () => {
    const question = `Think about this. ${marker('reasoning')}`;
    const thought = 'The user wrote: Think about this. I will repeat it.';

    test('reasoning_content, never <think> tags, and a round trip of thinking_blocks',
         async () => {
        const res = await client.chat.completions.create({
            model: 'claude-converse', reasoning_effort: 'low', messages: user(question),
        });
        const msg = res.choices[0].message;
        assert.equal(msg.reasoning_content, thought);
        assert.equal(msg.content, 'Think about this.');
        assert.equal(msg.content.includes('<think>'), false);
        assert.equal(msg.thinking_blocks[0].thinking, thought);
        /* the signed block goes back to Bedrock with the history: its text is input */
        const second = await client.chat.completions.create({
            model: 'claude-converse', reasoning_effort: 'low',
            messages: [{ role: 'user', content: question }, msg, { role: 'user', content: 'Next' }],
        });
        assert.equal(second.usage.prompt_tokens, tokensOf(question) + tokensOf(thought) +
                     tokensOf('Think about this.') + tokensOf('Next'));
    });

    test('streamed reasoning_content deltas', async () => {
        const chunks = await chunksOf({
            model: 'claude-invoke', reasoning_effort: 'medium', messages: user(question),
        });
        const deltas = chunks.map((c) => c.choices[0]?.delta ?? {});
        assert.equal(deltas.map((d) => d.reasoning_content ?? '').join(''), thought);
        assert.equal(deltas.map((d) => d.content ?? '').join(''), 'Think about this.');
    });
});

/* The float a float32 round trip gives: what base64 embeddings carry. */
function f32(x) {
    return Math.fround(x);
}

describe('embeddings', () => {
    for (const [model, dims] of [['titan-v2', 1024], ['cohere-en', 1024]]) {
        test(`a batch with the SDK's default base64 encoding [${model}]`, async () => {
            const input = ['alpha', 'beta gamma', 'delta'];
            const res = await client.embeddings.create({ model, input });
            assert.equal(res.object, 'list');
            assert.equal(res.model, model);
            assert.equal(res.data.length, input.length);
            const floats = await client.embeddings.create({
                model, input, encoding_format: 'float',
            });
            res.data.forEach((d, i) => {
                assert.equal(d.object, 'embedding');
                assert.equal(d.index, i);
                assert.ok(Array.isArray(d.embedding));
                assert.equal(d.embedding.length, dims);
                /* decoded from little-endian float32: the float answer, rounded to float32 */
                assert.deepEqual(d.embedding, floats.data[i].embedding.map(f32));
            });
            assert.notDeepEqual(res.data[0].embedding, res.data[1].embedding);
            const tokens = input.reduce((n, t) => n + tokensOf(t), 0);
            assert.deepEqual(res.usage, { prompt_tokens: tokens, total_tokens: tokens });
        });
    }

    test('dimensions and a single string, by an alias', async () => {
        const res = await client.embeddings.create({
            model: 'text-embedding-3-small', input: 'one text', dimensions: 256,
        });
        assert.equal(res.data.length, 1);
        assert.equal(res.data[0].embedding.length, 256);
        assert.equal(res.model, 'text-embedding-3-small');
    });

    test('unsupported dimensions and token arrays are a 400', async () => {
        await assert.rejects(client.embeddings.create({
            model: 'titan-v2', input: 'x', dimensions: 300,
        }), OpenAI.BadRequestError);
        await assert.rejects(client.embeddings.create({ model: 'titan-v2', input: [[1, 2, 3]] }),
                             OpenAI.BadRequestError);
        await assert.rejects(client.embeddings.create({ model: 'claude-converse', input: 'x' }),
                             OpenAI.BadRequestError);
    });
});

describe('models', () => {
    test('list and retrieve', async () => {
        const ids = [];
        for await (const m of client.models.list()) {
            assert.equal(m.object, 'model');
            assert.equal(m.owned_by, 'bedrock');
            ids.push(m.id);
        }
        assert.deepEqual(ids, ['claude-invoke', 'claude-converse', 'nova-pro', 'titan-v2',
                               'cohere-en']);
        const one = await client.models.retrieve('claude-invoke');
        assert.deepEqual(one, { id: 'claude-invoke', object: 'model', created: 1759104000,
                                owned_by: 'bedrock' });
        await assert.rejects(client.models.retrieve('nope'), OpenAI.NotFoundError);
    });

    test('GET /v1/models answers each API in its own shape', async () => {
        const openai = await httpRequest(`${bd.url}/v1/models`,
                                         { headers: { authorization: `Bearer ${KEY}` } });
        assert.equal(openai.json.object, 'list');
        assert.equal(openai.json.data[0].object, 'model');
        const anthropic = await httpRequest(`${bd.url}/v1/models`, {
            headers: { 'x-api-key': KEY, 'anthropic-version': '2023-06-01' },
        });
        assert.equal(anthropic.json.data[0].type, 'model');
        assert.equal(anthropic.json.has_more, false);
        const sdk12 = await httpRequest(`${bd.url}/v1/models/claude-invoke`, {
            headers: { authorization: `Bearer ${KEY}`, 'anthropic-version': '2026-10-21' },
        });
        assert.equal(sdk12.json.type, 'model');
    });
});

describe('errors', () => {
    const cases = [
        ['throttle', OpenAI.RateLimitError, 429, 'rate_limit_error'],
        ['quota', OpenAI.RateLimitError, 429, 'rate_limit_error'],
        ['validation', OpenAI.BadRequestError, 400, 'invalid_request_error'],
        ['access_denied', OpenAI.PermissionDeniedError, 403, 'permission_error'],
        ['not_found', OpenAI.NotFoundError, 404, 'invalid_request_error'],
        ['internal', OpenAI.InternalServerError, 500, 'server_error'],
        ['unavailable', OpenAI.InternalServerError, 503, 'server_error'],
        ['model_timeout', OpenAI.InternalServerError, 504, 'server_error'],
    ];
    for (const [scenario, cls, status, type] of cases) {
        for (const stream of [false, true]) {
            test(`${scenario} -> ${cls.name} ${status}${stream ? ' (stream)' : ''}`, async () => {
                const call = async () => {
                    const r = await client.chat.completions.create({
                        model: 'claude-converse', stream,
                        messages: user(`x ${marker(scenario)}`),
                    });
                    if (stream) {
                        for await (const c of r) {
                            void c;
                        }
                    }
                };
                await assert.rejects(call, (e) => {
                    assert.ok(e instanceof cls, `${e.constructor.name}: ${e.message}`);
                    assert.equal(e.status, status);
                    assert.equal(e.error.type, type);
                    assert.match(e.requestID, /^req_/);
                    return true;
                });
            });
        }
    }

    test('an unknown model is NotFoundError with code model_not_found', async () => {
        await assert.rejects(client.chat.completions.create({
            model: 'gpt-4o', messages: user('x'),
        }), (e) => e instanceof OpenAI.NotFoundError && e.code === 'model_not_found');
    });

    test('n > 1 and malformed requests are BadRequestError', async () => {
        await assert.rejects(client.chat.completions.create({
            model: 'claude-converse', n: 2, messages: user('x'),
        }), (e) => e instanceof OpenAI.BadRequestError && /n=1/.test(e.message));
        await assert.rejects(client.chat.completions.create({
            model: 'claude-converse', messages: [],
        }), OpenAI.BadRequestError);
    });

    test('a bad key is AuthenticationError', async () => {
        await assert.rejects(makeClient({ apiKey: 'sk-wrong-0123456789' }).chat.completions.create({
            model: 'claude-converse', messages: user('x'),
        }), (e) => e instanceof OpenAI.AuthenticationError && e.status === 401);
    });

    test('a Bedrock exception mid-stream is an APIError, never a quiet finish', async () => {
        const stream = await client.chat.completions.create({
            model: 'claude-converse', stream: true,
            messages: user(`one two three four five ${marker('midstream_error after=2')}`),
        });
        let text = '';
        let finish = null;
        await assert.rejects(async () => {
            for await (const c of stream) {
                text += c.choices[0]?.delta.content ?? '';
                finish = c.choices[0]?.finish_reason ?? finish;
            }
        }, (e) => e instanceof OpenAI.APIError && e.error?.type === 'server_error');
        assert.equal(text, 'one two ');
        assert.equal(finish, null);
    });

    test('a Bedrock connection cut mid-stream is an APIError', async () => {
        const stream = await client.chat.completions.create({
            model: 'nova-pro', stream: true,
            messages: user(`a b c d e ${marker('cut after=2')}`),
        });
        let text = '';
        await assert.rejects(async () => {
            for await (const c of stream) {
                text += c.choices[0]?.delta.content ?? '';
            }
        }, (e) => e instanceof OpenAI.APIError && e.error?.type === 'server_error');
        assert.equal(text, 'a b ');
    });

    test('a throttled stream mid-way surfaces its rate limit error', async () => {
        const stream = await client.chat.completions.create({
            model: 'claude-invoke', stream: true,
            messages: user(`a b c d ${marker('midstream_error after=1 type=throttlingException')}`),
        });
        await assert.rejects(async () => {
            for await (const c of stream) {
                void c;
            }
        }, (e) => e instanceof OpenAI.APIError && e.error?.type === 'rate_limit_error');
    });
});
