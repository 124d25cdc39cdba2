/*
 * responses.test.mjs: the OpenAI Responses API of bedrockd through the official `openai`
 * npm SDK, against bedrock-emulator: responses.create (string and item inputs,
 * instructions, images, usage with cached tokens), responses.stream (the event sequence
 * and the SDK's accumulated final response), function tools both ways, reasoning carried
 * into the next turn, text.format json_schema, a conversation continued with
 * previous_response_id, GET and DELETE of stored responses scoped to the key that made
 * them, and errors as the SDK's own classes. Each case checks what the SDK got AND what
 * reached Bedrock (the emulator's --record file).
 *
 * Run from tests/ (after `npm ci` there):
 *   BD_BEDROCKD=.../bedrockd BD_EMULATOR=.../bedrock-emulator BD_BEDROCKCTL=.../bedrockctl \
 *       node --test integration/responses.test.mjs
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { TINY_PNG_B64, marker } from './lib/anthropic_env.mjs';
import { binaryFromEnv, makeTempDir, runBinary, startBedrockd, startEmulator } from './lib/harness.mjs';

if (!fs.existsSync(new URL('../node_modules/openai/', import.meta.url))) {
    throw new Error('tests/node_modules is missing: run `npm ci` in tests/ first');
}
const { default: OpenAI } = await import('openai');

const MASTER = 'sk-bdtest-responses-master-0123456789';
const MODEL = 'claude';
const CLAUDE_ID = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';

let emu;
let bd;
let recordPath;
let client;
let keyA;
let keyB;
let db;

function conf(emuUrl, db) {
    return `worker_threads 2;
listen 127.0.0.1:0;
error_log stderr info;
access_log off;
store ${db};
store_flush_interval 5ms;
master_key ${MASTER};
responses_retention 1h;
openai_default_max_tokens 1000;

bedrock {
    region us-east-1;
    endpoint ${emuUrl};
    credentials static;
    access_key_id AKIDEXAMPLE;
    secret_access_key wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY;
    retries 0;
}

model ${MODEL} { id ${CLAUDE_ID}; route converse; }
`;
}

async function createKey(db, name) {
    const bin = binaryFromEnv('BD_BEDROCKCTL', 'bedrockctl');
    const r = await runBinary(bin, ['--store', db, 'key', 'create', '--name', name, '--format',
                                    'json']);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout);
}

before(async () => {
    const dir = makeTempDir('bd-responses-');
    recordPath = path.join(dir, 'record.jsonl');
    db = path.join(dir, 'store.db');
    keyA = await createKey(db, 'a');
    keyB = await createKey(db, 'b');
    emu = await startEmulator({ args: ['--record', recordPath] });
    bd = await startBedrockd({ conf: conf(emu.url, db) });
    client = makeClient(MASTER);
});

after(async () => {
    await bd?.stop();
    await emu?.stop();
});

function makeClient(apiKey) {
    return new OpenAI({ baseURL: `${bd.url}/v1`, apiKey, maxRetries: 0 });
}

function records() {
    if (!fs.existsSync(recordPath)) {
        return [];
    }
    return fs.readFileSync(recordPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

/* Runs <fn> and resolves [its result, the Bedrock requests it caused]. */
async function withRecords(fn) {
    const from = records().length;
    const res = await fn();
    return [res, records().slice(from)];
}

function sql(query) {
    return execFileSync('sqlite3', [db, query], { encoding: 'utf8' }).trim();
}

/* The text of a Converse message's blocks. */
function textOf(msg) {
    return msg.content.filter((b) => b.text !== undefined).map((b) => b.text).join('');
}

const WEATHER = {
    type: 'function',
    name: 'get_weather',
    description: 'Weather for a city',
    parameters: {
        type: 'object',
        properties: { city: { type: 'string' } },
        required: ['city'],
    },
    strict: false,
};
const TOOL_INPUT = { city: 'Paris' };

function assertUsage(usage) {
    assert.ok(usage.input_tokens > 0, JSON.stringify(usage));
    assert.ok(usage.output_tokens > 0, JSON.stringify(usage));
    assert.equal(usage.total_tokens, usage.input_tokens + usage.output_tokens);
    assert.equal(typeof usage.input_tokens_details.cached_tokens, 'number');
    assert.equal(typeof usage.output_tokens_details.reasoning_tokens, 'number');
}

describe('responses.create', () => {
    test('a string input and instructions', async () => {
        const [res, reqs] = await withRecords(() => client.responses.create({
            model: MODEL, input: 'Hello there, gateway', instructions: 'Answer briefly.',
        }));
        assert.match(res.id, /^resp_/);
        assert.equal(res.object, 'response');
        assert.equal(res.status, 'completed');
        assert.equal(res.model, MODEL);
        assert.equal(res.instructions, 'Answer briefly.');
        assert.equal(res.output_text, 'Hello there, gateway');
        assert.equal(res.output.length, 1);
        assert.equal(res.output[0].type, 'message');
        assert.equal(res.output[0].role, 'assistant');
        assert.equal(res.output[0].content[0].type, 'output_text');
        assertUsage(res.usage);
        assert.equal(reqs.length, 1);
        assert.equal(reqs[0].operation, 'converse');
        assert.equal(reqs[0].model, CLAUDE_ID);
        assert.deepEqual(reqs[0].body.system, [{ text: 'Answer briefly.' }]);
        assert.equal(reqs[0].body.inferenceConfig.maxTokens, 1000);
    });

    test('item inputs: developer, user parts with an image, assistant history', async () => {
        const [res, reqs] = await withRecords(() => client.responses.create({
            model: MODEL,
            max_output_tokens: 64,
            input: [
                { role: 'developer', content: 'Be terse.' },
                { role: 'user', content: 'first' },
                { type: 'message', role: 'assistant',
                  content: [{ type: 'output_text', text: 'ok', annotations: [] }] },
                { type: 'message', role: 'user', content: [
                    { type: 'input_text', text: 'what is this?' },
                    { type: 'input_image', detail: 'auto',
                      image_url: `data:image/png;base64,${TINY_PNG_B64}` },
                ] },
            ],
        }));
        assert.equal(res.status, 'completed');
        assert.equal(res.output_text, 'what is this?');
        const body = reqs[0].body;
        assert.deepEqual(body.system, [{ text: 'Be terse.' }]);
        assert.equal(body.inferenceConfig.maxTokens, 64);
        assert.deepEqual(body.messages.map((m) => m.role), ['user', 'assistant', 'user']);
        assert.equal(textOf(body.messages[1]), 'ok');
        assert.equal(body.messages[2].content[1].image.format, 'png');
    });

    test('cache reads are cached_tokens', async () => {
        const res = await client.responses.create({ model: MODEL,
                                                    input: `hi ${marker('cache read=2048')}` });
        assert.equal(res.usage.input_tokens_details.cached_tokens, 2048);
        assert.ok(res.usage.input_tokens > 2048);
    });

    test('max_output_tokens reached: status incomplete', async () => {
        const res = await client.responses.create({
            model: MODEL, max_output_tokens: 5, input: `go ${marker('max_tokens tokens=5')}`,
        });
        assert.equal(res.status, 'incomplete');
        assert.deepEqual(res.incomplete_details, { reason: 'max_output_tokens' });
    });

    test('text.format json_schema reaches Converse as structured output', async () => {
        const schema = { type: 'object', properties: { a: { type: 'string' } },
                         required: ['a'], additionalProperties: false };
        const [res, reqs] = await withRecords(() => client.responses.create({
            model: MODEL, input: '{"a":"b"}',
            text: { format: { type: 'json_schema', name: 'thing', schema, strict: true } },
        }));
        assert.equal(res.status, 'completed');
        assert.deepEqual(res.text.format.schema, schema);
        const fmt = reqs[0].body.outputConfig.textFormat;
        assert.equal(fmt.type, 'json_schema');
        assert.equal(fmt.structure.jsonSchema.name, 'thing');
        assert.deepEqual(JSON.parse(fmt.structure.jsonSchema.schema), schema);
    });

    test('hosted tools Bedrock cannot run are left out', async () => {
        const [res, reqs] = await withRecords(() => client.responses.create({
            model: MODEL, input: 'plain', tools: [{ type: 'web_search_preview' }],
        }));
        assert.equal(res.output_text, 'plain');
        assert.equal(reqs[0].body.toolConfig, undefined);
    });
});

describe('responses.stream', () => {
    test('text: the event sequence and the final response', async () => {
        const stream = client.responses.stream({ model: MODEL, input: 'streamed words here' });
        const types = [];
        let deltas = '';
        let seq = -1;
        for await (const ev of stream) {
            types.push(ev.type);
            assert.equal(ev.sequence_number, seq + 1);
            seq = ev.sequence_number;
            if (ev.type === 'response.output_text.delta') {
                deltas += ev.delta;
            }
        }
        const final = await stream.finalResponse();
        assert.equal(deltas, 'streamed words here');
        assert.equal(final.output_text, 'streamed words here');
        assert.equal(final.status, 'completed');
        assertUsage(final.usage);
        assert.deepEqual(types.slice(0, 4), ['response.created', 'response.in_progress',
                                             'response.output_item.added',
                                             'response.content_part.added']);
        assert.deepEqual(types.slice(-4), ['response.output_text.done', 'response.content_part.done',
                                           'response.output_item.done', 'response.completed']);
    });

    test('a function call streamed as argument deltas', async () => {
        const input = encodeURIComponent(JSON.stringify(TOOL_INPUT));
        const stream = client.responses.stream({
            model: MODEL, tools: [WEATHER],
            input: `weather? ${marker(`tool name=get_weather input=${input}`)}`,
        });
        let args = '';
        let done;
        stream.on('response.function_call_arguments.delta', (ev) => { args += ev.delta; });
        stream.on('response.function_call_arguments.done', (ev) => { done = ev; });
        const final = await stream.finalResponse();
        assert.deepEqual(JSON.parse(args), TOOL_INPUT);
        assert.equal(done.arguments, args);
        const call = final.output.find((o) => o.type === 'function_call');
        assert.equal(call.name, 'get_weather');
        assert.deepEqual(JSON.parse(call.arguments), TOOL_INPUT);
        assert.match(call.call_id, /\S/);
    });

    test('a failure mid-stream is an error event and response.failed', async () => {
        const stream = await client.responses.create({
            model: MODEL, stream: true, input: `x ${marker('midstream_error after=2')}`,
        });
        const types = [];
        for await (const ev of stream) {
            types.push(ev.type);
        }
        assert.deepEqual(types.slice(-2), ['error', 'response.failed']);
        assert.ok(!types.includes('response.completed'));
    });
});

describe('function tools', () => {
    test('a call, then its output sent back as input items', async () => {
        const input = encodeURIComponent(JSON.stringify(TOOL_INPUT));
        const first = await client.responses.create({
            model: MODEL, tools: [WEATHER], tool_choice: 'auto', store: false,
            input: [{ role: 'user', content: `weather? ${marker(`tool name=get_weather input=${input}`)}` }],
        });
        const call = first.output.find((o) => o.type === 'function_call');
        assert.ok(call, JSON.stringify(first.output));
        assert.equal(call.status, 'completed');
        const [second, reqs] = await withRecords(() => client.responses.create({
            model: MODEL, tools: [WEATHER], store: false,
            input: [
                { role: 'user', content: 'weather?' },
                ...first.output,
                { type: 'function_call_output', call_id: call.call_id, output: 'sunny, 21C' },
            ],
        }));
        assert.equal(second.output_text, 'sunny, 21C');
        const msgs = reqs[0].body.messages;
        assert.deepEqual(msgs.map((m) => m.role), ['user', 'assistant', 'user']);
        const use = msgs[1].content.find((b) => b.toolUse).toolUse;
        assert.equal(use.toolUseId, call.call_id);
        assert.deepEqual(use.input, TOOL_INPUT);
        assert.equal(msgs[2].content[0].toolResult.toolUseId, call.call_id);
        assert.equal(reqs[0].body.toolConfig.tools[0].toolSpec.name, 'get_weather');
    });

    test('a call before the text of its turn: text first, toolUse last (Converse order)',
         async () => {
             const [, reqs] = await withRecords(() => client.responses.create({
                 model: MODEL, tools: [WEATHER], store: false,
                 input: [
                     { role: 'user', content: 'weather?' },
                     { type: 'function_call', call_id: 'call_1', name: 'get_weather',
                       arguments: '{"city":"Oslo"}' },
                     { type: 'message', role: 'assistant',
                       content: [{ type: 'output_text', text: 'Looking it up.' }] },
                     { type: 'function_call_output', call_id: 'call_1', output: 'snow' },
                 ],
             }));
             const assistant = reqs[0].body.messages[1];
             assert.deepEqual(assistant.content.map((b) => Object.keys(b)[0]), ['text', 'toolUse']);
         });

    test('tool_choice naming a function forces it', async () => {
        const [, reqs] = await withRecords(() => client.responses.create({
            model: MODEL, tools: [WEATHER], input: `x ${marker('tool')}`,
            tool_choice: { type: 'function', name: 'get_weather' },
        }));
        assert.deepEqual(reqs[0].body.toolConfig.toolChoice, { tool: { name: 'get_weather' } });
    });
});

describe('stored responses', () => {
    test('a conversation continued with previous_response_id', async () => {
        const a = makeClient(keyA.secret);
        const first = await a.responses.create({ model: MODEL, input: 'my name is Ada',
                                                 instructions: 'first instructions' });
        const [second, reqs] = await withRecords(() => a.responses.create({
            model: MODEL, input: 'what is my name?', previous_response_id: first.id,
        }));
        assert.equal(second.previous_response_id, first.id);
        assert.equal(second.output_text, 'what is my name?');
        const body = reqs[0].body;
        assert.deepEqual(body.messages.map((m) => [m.role, textOf(m)]),
                         [['user', 'my name is Ada'], ['assistant', 'my name is Ada'],
                          ['user', 'what is my name?']]);
        assert.equal(body.system, undefined); /* instructions are not carried over */
        const [third, reqs3] = await withRecords(() => a.responses.create({
            model: MODEL, input: 'and again', previous_response_id: second.id, stream: true,
        }));
        let text = '';
        for await (const ev of third) {
            if (ev.type === 'response.output_text.delta') {
                text += ev.delta;
            }
        }
        assert.equal(text, 'and again');
        assert.equal(reqs3[0].body.messages.length, 5);
    });

    test('GET returns the stored response; DELETE removes it', async () => {
        const a = makeClient(keyA.secret);
        const res = await a.responses.create({ model: MODEL, input: 'keep me' });
        const got = await a.responses.retrieve(res.id);
        assert.equal(got.id, res.id);
        assert.equal(got.status, 'completed');
        assert.deepEqual(got.output, res.output);
        assert.deepEqual(got.usage, res.usage);
        await a.responses.delete(res.id);
        await assert.rejects(a.responses.retrieve(res.id), (e) => {
            assert.ok(e instanceof OpenAI.NotFoundError, String(e));
            assert.equal(e.status, 404);
            assert.match(e.message, new RegExp(`Response with id '${res.id}' not found`));
            return true;
        });
        await assert.rejects(a.responses.delete(res.id), OpenAI.NotFoundError);
    });

    test('input items: the conversation so far, newest first, paged by the SDK', async () => {
        const a = makeClient(keyA.secret);
        const first = await a.responses.create({ model: MODEL, input: 'one' });
        const second = await a.responses.create({
            model: MODEL, previous_response_id: first.id,
            input: [{ role: 'user', content: 'two' }, { role: 'user', content: 'three' }],
        });
        const page = await a.responses.inputItems.list(second.id);
        assert.deepEqual(page.data.map((i) => i.type), ['message', 'message', 'message', 'message']);
        assert.equal(page.data[0].content, 'three');
        assert.equal(page.data[2].id, first.output[0].id); /* the first answer */
        const all = [];
        for await (const item of a.responses.inputItems.list(second.id, { order: 'asc', limit: 1 })) {
            all.push(item.id);
        }
        assert.deepEqual(all, page.data.map((i) => i.id).reverse());
        await assert.rejects(makeClient(keyB.secret).responses.inputItems.list(second.id),
                             OpenAI.NotFoundError);
    });

    test('a streamed response is stored too', async () => {
        const a = makeClient(keyA.secret);
        const stream = a.responses.stream({ model: MODEL, input: 'streamed and kept' });
        const final = await stream.finalResponse();
        const got = await a.responses.retrieve(final.id);
        assert.equal(got.output[0].content[0].text, 'streamed and kept');
    });

    test('a 1 MiB image and a 512 KiB PDF reach Bedrock, the client and the store as sent',
         async () => {
        /* their base64 is set aside before the body is parsed (core/bd_json_slices), sent
         * to Bedrock from the client's own bytes, and put back wherever the gateway
         * repeats or keeps it: the stored input, and a response object's echo of the
         * request (here metadata holding a data URL) */
        const image = crypto.randomBytes(786432).toString('base64');
        const pdf = crypto.randomBytes(393216).toString('base64');
        const echoed = `data:text/plain;base64,${crypto.randomBytes(6144).toString('base64')}`;
        const input = [{ role: 'user', content: [
            { type: 'input_text', text: 'Compare them' },
            { type: 'input_image', detail: 'auto', image_url: `data:image/png;base64,${image}` },
            { type: 'input_file', filename: 'big.pdf', file_data: `data:application/pdf;base64,${pdf}` },
        ] }];
        const a = makeClient(keyA.secret);
        const [res, reqs] = await withRecords(() => a.responses.create({
            model: MODEL, input, metadata: { url: echoed },
        }));
        assert.equal(res.output_text, 'Compare them');
        assert.equal(res.metadata.url, echoed);
        const sent = reqs[0].body.messages[0].content;
        assert.equal(sent.find((b) => b.image).image.source.bytes, image);
        assert.equal(sent.find((b) => b.document).document.source.bytes, pdf);
        const items = await a.responses.inputItems.list(res.id);
        const parts = items.data[0].content;
        assert.equal(parts.find((p) => p.type === 'input_image').image_url, `data:image/png;base64,${image}`);
        assert.equal(parts.find((p) => p.type === 'input_file').file_data,
                     `data:application/pdf;base64,${pdf}`);
        assert.equal((await a.responses.retrieve(res.id)).metadata.url, echoed);

        const [events, sreqs] = await withRecords(async () => {
            const stream = await a.responses.create({
                model: MODEL, input, metadata: { url: echoed }, stream: true,
            });
            const all = [];
            for await (const ev of stream) {
                all.push(ev);
            }
            return all;
        });
        assert.ok(!JSON.stringify(events).includes('bdslice'));
        const done = events.find((ev) => ev.type === 'response.completed').response;
        assert.equal(done.metadata.url, echoed);
        assert.equal(events.find((ev) => ev.type === 'response.created').response.metadata.url, echoed);
        assert.equal(sreqs[0].body.messages[0].content.find((b) => b.image).image.source.bytes, image);
        const kept = await a.responses.inputItems.list(done.id);
        assert.equal(kept.data[0].content.find((p) => p.type === 'input_image').image_url,
                     `data:image/png;base64,${image}`);
    });

    test('another key sees nothing', async () => {
        const a = makeClient(keyA.secret);
        const b = makeClient(keyB.secret);
        const res = await a.responses.create({ model: MODEL, input: 'private' });
        await assert.rejects(b.responses.retrieve(res.id), OpenAI.NotFoundError);
        await assert.rejects(b.responses.delete(res.id), OpenAI.NotFoundError);
        await assert.rejects(
            b.responses.create({ model: MODEL, input: 'x', previous_response_id: res.id }),
            (e) => {
                assert.ok(e instanceof OpenAI.BadRequestError, String(e));
                assert.match(e.message, /Previous response with id '.*' not found/);
                return true;
            });
        assert.equal((await a.responses.retrieve(res.id)).id, res.id);
    });

    test('the row: the key that made it, kept for responses_retention, gone once expired',
         async () => {
             const a = makeClient(keyA.secret);
             const res = await a.responses.create({ model: MODEL, input: 'expire me' });
             await a.responses.retrieve(res.id); /* the write is in the file */
             const [keyId, created, expires] = sql(
                 `SELECT key_id, created_ms, expires_ms FROM responses WHERE id = '${res.id}'`)
                 .split('|');
             assert.equal(keyId, keyA.id);
             assert.equal(Number(expires) - Number(created), 3600 * 1000); /* 1h */
             sql(`UPDATE responses SET expires_ms = 1 WHERE id = '${res.id}'`);
             await assert.rejects(a.responses.retrieve(res.id), OpenAI.NotFoundError);
             await assert.rejects(a.responses.create({ model: MODEL, input: 'x',
                                                       previous_response_id: res.id }),
                                  OpenAI.BadRequestError);
         });

    test('store: false keeps nothing', async () => {
        const res = await client.responses.create({ model: MODEL, input: 'forget me',
                                                    store: false });
        assert.equal(res.store, false);
        await assert.rejects(client.responses.retrieve(res.id), OpenAI.NotFoundError);
    });

    test('reasoning: effort to thinking, and the signed thinking carried into the next turn',
         async () => {
             const [first, reqs] = await withRecords(() => client.responses.create({
                 model: MODEL, max_output_tokens: 4096, reasoning: { effort: 'low' },
                 input: `think ${marker('reasoning')}`,
             }));
             assert.deepEqual(reqs[0].body.additionalModelRequestFields.thinking,
                              { type: 'enabled', budget_tokens: 1024 });
             const rs = first.output.find((o) => o.type === 'reasoning');
             assert.ok(rs, JSON.stringify(first.output));
             assert.match(rs.summary[0].text, /The user wrote/);
             assert.ok(rs.encrypted_content);
             assert.equal(first.output_text, 'think');
             const [, reqs2] = await withRecords(() => client.responses.create({
                 model: MODEL, max_output_tokens: 4096, reasoning: { effort: 'low' },
                 input: 'next', previous_response_id: first.id,
             }));
             const assistant = reqs2[0].body.messages[1];
             assert.equal(assistant.role, 'assistant');
             const rc = assistant.content[0].reasoningContent;
             assert.ok(rc && rc.reasoningText.signature, JSON.stringify(assistant));
             assert.match(rc.reasoningText.text, /The user wrote/);
         });
});

describe('errors', () => {
    test('bad input is a 400 naming the field', async () => {
        await assert.rejects(
            client.responses.create({ model: MODEL, input: [{ type: 'computer_call' }] }),
            (e) => {
                assert.ok(e instanceof OpenAI.BadRequestError, String(e));
                assert.equal(e.type, 'invalid_request_error');
                assert.match(e.message, /input\.0\.type: "computer_call" items are not supported/);
                return true;
            });
        await assert.rejects(client.responses.create({ model: MODEL, input: 'x', background: true }),
                             OpenAI.BadRequestError);
        await assert.rejects(client.responses.create({
            model: MODEL, input: 'x', text: { format: { type: 'grammar' } },
        }), OpenAI.BadRequestError);
    });

    test('an unknown model is a 404', async () => {
        await assert.rejects(client.responses.create({ model: 'no-such-model', input: 'x' }),
                             (e) => {
                                 assert.ok(e instanceof OpenAI.NotFoundError, String(e));
                                 assert.equal(e.code, 'model_not_found');
                                 return true;
                             });
    });

    test('a bad key is a 401 in OpenAI\'s envelope (the prefix is shared with Anthropic\'s)',
         async () => {
             await assert.rejects(makeClient('sk-wrong').responses.create({ model: MODEL,
                                                                             input: 'x' }),
                                  OpenAI.AuthenticationError);
             for (const [method, p] of [['POST', '/v1/responses'], ['GET', '/v1/responses/resp_x'],
                                        ['DELETE', '/v1/responses/resp_x']]) {
                 const res = await fetch(`${bd.url}${p}`, { method });
                 assert.equal(res.status, 401);
                 const body = await res.json();
                 assert.equal(body.type, undefined, JSON.stringify(body));
                 assert.equal(body.error.type, 'authentication_error');
                 assert.ok('param' in body.error && 'code' in body.error, JSON.stringify(body));
             }
         });

    test('Bedrock throttling is a 429', async () => {
        await assert.rejects(client.responses.create({ model: MODEL,
                                                       input: `x ${marker('throttle')}` }),
                             OpenAI.RateLimitError);
    });

    test('an unknown previous_response_id is a 400', async () => {
        await assert.rejects(client.responses.create({ model: MODEL, input: 'x',
                                                       previous_response_id: 'resp_nope' }),
                             OpenAI.BadRequestError);
    });
});
