/*
 * anthropic_sdk.test.mjs: conformance of bedrockd's Anthropic Messages API with the
 * official @anthropic-ai/sdk, against bedrock-emulator. Every case runs on both
 * Bedrock routes (InvokeModel and Converse, the same Claude id behind two model
 * names) and, where it applies, on a Nova model through Converse: text, streams,
 * tool round trips, thinking and redacted thinking carried into a second turn,
 * images and PDFs, stop sequences, max_tokens, cache usage, count_tokens, models,
 * every mapped error as the SDK's own class, SDK and gateway retries, mid-stream
 * errors, client aborts, ?beta=true, both auth headers, any anthropic-version.
 *
 * Run from tests/ (after `npm ci` there):
 *   BD_BEDROCKD=.../bedrockd BD_EMULATOR=.../bedrock-emulator \
 *       node --test integration/anthropic_sdk.test.mjs
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { before, describe, test } from 'node:test';

import {
    LISTED_MODELS,
    MASTER_KEY,
    MEDIA_TOKENS,
    NOVA,
    ROUTES,
    TINY_PDF_B64,
    TINY_PNG_B64,
    assertEmulatorSignature,
    countingFetch,
    marker,
    startAnthropicEnv,
    tokensOf,
    uniqueTag,
} from './lib/anthropic_env.mjs';

if (!existsSync(new URL('../node_modules/@anthropic-ai/sdk/', import.meta.url))) {
    throw new Error('tests/node_modules is missing: run `npm ci` in tests/ first');
}
const { default: Anthropic } = await import('@anthropic-ai/sdk');

const API_KEY = MASTER_KEY;
const ALL_MODELS = [...ROUTES, NOVA];

let env;
let client; /* maxRetries 0: an error reaches the test as it came from the gateway */

before(async () => {
    env = await startAnthropicEnv({ pingInterval: '200ms' });
    client = makeClient();
});

function makeClient(opts = {}) {
    return new Anthropic({ baseURL: env.baseURL, apiKey: API_KEY, maxRetries: 0, ...opts });
}

function user(content) {
    return [{ role: 'user', content }];
}

/* Runs <fn> for each model in <models>, as one named subtest each. */
function eachModel(name, models, fn) {
    for (const m of models) {
        test(`${name} [${m.model}]`, () => fn(m));
    }
}

/* The text of every text block of <msg>, joined. */
function textOf(msg) {
    return msg.content.filter((b) => b.type === 'text').map((b) => b.text).join('');
}

/* Streams <params> with messages.stream(); resolves { text, events, final, stream }. */
async function streamAll(params, opts) {
    const stream = client.messages.stream(params, opts);
    let text = '';
    const events = [];
    stream.on('text', (delta) => {
        text += delta;
    });
    stream.on('streamEvent', (ev) => events.push(ev));
    const final = await stream.finalMessage();
    return { text, events, final, stream };
}

describe('messages.create', () => {
    eachModel('text', ALL_MODELS, async (m) => {
        const msg = await client.messages.create({
            model: m.model,
            max_tokens: 100,
            messages: user('Hello there, gateway'),
        });
        assert.match(msg.id, /^msg_/);
        assert.equal(msg.type, 'message');
        assert.equal(msg.role, 'assistant');
        assert.equal(msg.model, m.model);
        assert.equal(msg.content.length, 1);
        assert.equal(msg.content[0].type, 'text');
        assert.equal(msg.content[0].text, 'Hello there, gateway');
        assert.equal(msg.stop_reason, 'end_turn');
        assert.equal(msg.stop_sequence, null);
        assert.equal(msg.usage.input_tokens, tokensOf('Hello there, gateway'));
        assert.equal(msg.usage.output_tokens, 3);
        assert.match(msg._request_id, /^req_/);
    });

    eachModel('system prompt and multi-turn history', ALL_MODELS, async (m) => {
        const system = 'You are terse.';
        const history = [
            { role: 'user', content: 'First question' },
            { role: 'assistant', content: [{ type: 'text', text: 'First answer' }] },
            { role: 'user', content: [{ type: 'text', text: 'Second question' }] },
        ];
        const msg = await client.messages.create({
            model: m.model, max_tokens: 100, system, messages: history,
        });
        assert.equal(textOf(msg), 'Second question');
        assert.equal(msg.usage.input_tokens,
                     tokensOf(system) + tokensOf('First question') + tokensOf('First answer') +
                     tokensOf('Second question'));
    });
});

describe('request fields', () => {
    eachModel('non-ASCII text survives both directions', ALL_MODELS, async (m) => {
        const text = 'Grüße aus Zürich — 東京 🚀 done';
        const params = { model: m.model, max_tokens: 100, messages: user(text) };
        const msg = await client.messages.create(params);
        assert.equal(textOf(msg), text);
        assert.equal(msg.usage.input_tokens, tokensOf(text));
        const { text: streamed } = await streamAll(params);
        assert.equal(streamed, text);
    });

    eachModel('sampling, metadata and service_tier from older clients are accepted', ROUTES,
              async (m) => {
        const msg = await client.messages.create({
            model: m.model,
            max_tokens: 100,
            temperature: 0.5,
            top_k: 40,
            metadata: { user_id: 'user-1234' },
            service_tier: 'auto',
            messages: user('with parameters'),
        });
        assert.equal(textOf(msg), 'with parameters');
    });
});

describe('messages.stream', () => {
    eachModel('text events and finalMessage()', ALL_MODELS, async (m) => {
        const { text, events, final, stream } = await streamAll({
            model: m.model,
            max_tokens: 100,
            messages: user('Stream these four words'),
        });
        assert.equal(text, 'Stream these four words');
        assert.deepEqual(events.map((e) => e.type), [
            'message_start', 'content_block_start',
            'content_block_delta', 'content_block_delta', 'content_block_delta',
            'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop',
        ]);
        assert.match(final.id, /^msg_/);
        assert.equal(final.model, m.model);
        assert.equal(final.role, 'assistant');
        assert.equal(final.content.length, 1);
        assert.equal(final.content[0].text, 'Stream these four words');
        assert.equal(final.stop_reason, 'end_turn');
        assert.equal(final.stop_sequence, null);
        assert.equal(final.usage.input_tokens, tokensOf('Stream these four words'));
        assert.equal(final.usage.output_tokens, 4);
        assert.match(stream.request_id, /^req_/);
    });

    eachModel('pings on a slow stream are skipped by the SDK', ROUTES, async (m) => {
        const { fetch, attempts } = countingFetch();
        const c = makeClient({ fetch });
        const stream = c.messages.stream({
            model: m.model, max_tokens: 50,
            messages: user(`tick tock ${marker('slow delay_ms=600')}`),
        });
        const final = await stream.finalMessage();
        assert.equal(textOf(final), 'tick tock');
        /* Pieces come 600 ms apart and sse_ping_interval is 200 ms. */
        assert.match(await attempts[0].body, /\nevent: ping\ndata: \{"type":"ping"\}\n\n/);
    });

    eachModel('create({stream: true}) yields the raw events', ROUTES, async (m) => {
        const s = await client.messages.create({
            model: m.model, max_tokens: 100, stream: true, messages: user('raw events here'),
        });
        const seen = [];
        let text = '';
        for await (const ev of s) {
            seen.push(ev.type);
            if (ev.type === 'content_block_delta') {
                assert.equal(ev.index, 0);
                assert.equal(ev.delta.type, 'text_delta');
                text += ev.delta.text;
            }
        }
        assert.equal(seen[0], 'message_start');
        assert.equal(seen.at(-1), 'message_stop');
        assert.equal(text, 'raw events here');
    });
});

const WEATHER_TOOL = {
    name: 'get_weather',
    description: 'Weather forecast for a city',
    input_schema: {
        type: 'object',
        properties: {
            city: { type: 'string' },
            days: { type: 'integer' },
            units: { type: 'object', properties: { temp: { type: 'string' } } },
            tags: { type: 'array', items: { type: 'string' } },
        },
        required: ['city'],
    },
};
const CLOCK_TOOL = {
    name: 'get_time',
    description: 'The time in a city',
    input_schema: { type: 'object', properties: { city: { type: 'string' } } },
};
const TOOL_INPUT = {
    city: 'Paris', days: 3, units: { temp: 'C', wind: 'km/h' }, tags: ['a', 'b c'],
};
const TOOL_INPUT_ARG = encodeURIComponent(JSON.stringify(TOOL_INPUT));

describe('tools', () => {
    for (const streaming of [false, true]) {
        eachModel(`tool use round trip (${streaming ? 'stream' : 'create'})`, ALL_MODELS,
                  async (m) => {
            const question = 'Weather in Paris? ' +
                marker(`tool name=get_weather input=${TOOL_INPUT_ARG}`);
            const params = {
                model: m.model,
                max_tokens: 500,
                tools: [CLOCK_TOOL, WEATHER_TOOL],
                tool_choice: { type: 'tool', name: 'get_weather' },
                messages: user(question),
            };
            const first = streaming ? (await streamAll(params)).final
                                    : await client.messages.create(params);
            assert.equal(first.stop_reason, 'tool_use');
            assert.deepEqual(first.content.map((b) => b.type), ['text', 'tool_use']);
            assert.equal(first.content[0].text, 'Let me call get_weather.');
            const call = first.content[1];
            assert.equal(call.name, 'get_weather');
            assert.equal(typeof call.id, 'string');
            assert.ok(call.id.length > 0);
            assert.deepEqual(call.input, TOOL_INPUT);

            const second = await client.messages.create({
                model: m.model,
                max_tokens: 500,
                tools: [CLOCK_TOOL, WEATHER_TOOL],
                tool_choice: { type: 'auto' },
                messages: [
                    { role: 'user', content: question },
                    { role: 'assistant', content: first.content },
                    {
                        role: 'user',
                        content: [{ type: 'tool_result', tool_use_id: call.id,
                                    content: '18 degrees and sunny' }],
                    },
                ],
            });
            assert.equal(second.stop_reason, 'end_turn');
            assert.equal(textOf(second), '18 degrees and sunny');
        });
    }

    eachModel('the streamed input_json_delta fragments rebuild the input', ROUTES, async (m) => {
        const { events, final } = await streamAll({
            model: m.model,
            max_tokens: 500,
            tools: [WEATHER_TOOL],
            tool_choice: { type: 'any' },
            messages: user('Go. ' + marker(
                `tool text= input=${TOOL_INPUT_ARG}`)),
        });
        const fragments = events.filter((e) => e.type === 'content_block_delta' &&
                                                e.delta.type === 'input_json_delta')
            .map((e) => e.delta.partial_json);
        assert.ok(fragments.filter((f) => f !== '').length > 1, 'input came in one piece');
        assert.deepEqual(JSON.parse(fragments.join('')), TOOL_INPUT);
        assert.equal(final.content.length, 1);
        assert.deepEqual(final.content[0].input, TOOL_INPUT);
    });
});

const THINKING = { type: 'enabled', budget_tokens: 1024 };

describe('thinking', () => {
    for (const streaming of [false, true]) {
        eachModel(`signature carried into a second turn (${streaming ? 'stream' : 'create'})`,
                  ROUTES, async (m) => {
            const question = `Think about this. ${marker('reasoning')}`;
            const params = {
                model: m.model, max_tokens: 2048, thinking: THINKING, messages: user(question),
            };
            const first = streaming ? (await streamAll(params)).final
                                    : await client.messages.create(params);
            assert.deepEqual(first.content.map((b) => b.type), ['thinking', 'text']);
            const thought = first.content[0];
            assert.equal(thought.thinking, 'The user wrote: Think about this. I will repeat it.');
            assertEmulatorSignature(thought.signature, thought.thinking);
            assert.equal(first.content[1].text, 'Think about this.');

            const second = await client.messages.create({
                model: m.model,
                max_tokens: 2048,
                thinking: THINKING,
                messages: [
                    { role: 'user', content: question },
                    { role: 'assistant', content: first.content },
                    { role: 'user', content: 'And then?' },
                ],
            });
            assert.equal(textOf(second), 'And then?');
            /* The thinking block reached Bedrock: its text is counted as input. */
            assert.equal(second.usage.input_tokens,
                         tokensOf(question) + tokensOf(thought.thinking) +
                         tokensOf('Think about this.') + tokensOf('And then?'));
        });
    }

    eachModel('a thinking block without its signature is refused', ROUTES, async (m) => {
        await assert.rejects(client.messages.create({
            model: m.model,
            max_tokens: 2048,
            thinking: THINKING,
            messages: [
                { role: 'user', content: 'Hi' },
                { role: 'assistant', content: [{ type: 'thinking', thinking: 'Hmm.' },
                                               { type: 'text', text: 'Hello' }] },
                { role: 'user', content: 'Again' },
            ],
        }), (err) => err instanceof Anthropic.BadRequestError && /signature/.test(err.message));
    });

    for (const streaming of [false, true]) {
        const how = streaming ? 'stream' : 'create';
        eachModel(`redacted thinking carried into a second turn (${how})`, ROUTES, async (m) => {
            const question = `Secret plans. ${marker('reasoning redacted=1')}`;
            const params = {
                model: m.model, max_tokens: 2048, thinking: THINKING, messages: user(question),
            };
            const first = streaming ? (await streamAll(params)).final
                                    : await client.messages.create(params);
            assert.deepEqual(first.content.map((b) => b.type), ['redacted_thinking', 'text']);
            assert.match(Buffer.from(first.content[0].data, 'base64').toString('utf8'),
                         /^bedrock-emulator redacted thinking [A-Za-z0-9]{16}$/);
            assert.equal(first.content[1].text, 'Secret plans.');

            const second = await client.messages.create({
                model: m.model,
                max_tokens: 2048,
                thinking: THINKING,
                messages: [
                    { role: 'user', content: question },
                    { role: 'assistant', content: first.content },
                    { role: 'user', content: 'Go on' },
                ],
            });
            assert.equal(textOf(second), 'Go on');
        });
    }
});

describe('media', () => {
    eachModel('image and PDF reach Bedrock as well-formed blocks', ALL_MODELS, async (m) => {
        const msg = await client.messages.create({
            model: m.model,
            max_tokens: 100,
            messages: user([
                { type: 'image', source: { type: 'base64', media_type: 'image/png',
                                           data: TINY_PNG_B64 } },
                { type: 'document', title: 'tiny', source: { type: 'base64',
                                                             media_type: 'application/pdf',
                                                             data: TINY_PDF_B64 } },
                { type: 'text', text: 'Describe both.' },
            ]),
        });
        /* The emulator echoes the text and counts each media block as 100 tokens. */
        assert.equal(textOf(msg), 'Describe both.');
        assert.equal(msg.usage.input_tokens, tokensOf('Describe both.') + 2 * MEDIA_TOKENS);
    });

    eachModel('an image in a tool result', ROUTES, async (m) => {
        const first = await client.messages.create({
            model: m.model,
            max_tokens: 200,
            tools: [WEATHER_TOOL],
            messages: user(`Map please ${marker('tool text=')}`),
        });
        const call = first.content.find((b) => b.type === 'tool_use');
        const second = await client.messages.create({
            model: m.model,
            max_tokens: 200,
            tools: [WEATHER_TOOL],
            messages: [
                { role: 'user', content: `Map please ${marker('tool text=')}` },
                { role: 'assistant', content: first.content },
                { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: [
                    { type: 'text', text: 'here is the map' },
                    { type: 'image', source: { type: 'base64', media_type: 'image/png',
                                               data: TINY_PNG_B64 } },
                ] }] },
            ],
        });
        assert.equal(second.stop_reason, 'end_turn');
        assert.match(textOf(second), /here is the map/);
    });
});

describe('stops and usage', () => {
    for (const streaming of [false, true]) {
        const how = streaming ? 'stream' : 'create';
        eachModel(`stop_sequences (${how})`, ALL_MODELS, async (m) => {
            const params = {
                model: m.model,
                max_tokens: 100,
                stop_sequences: ['HALT', 'NEVER'],
                messages: user(`Say hi ${marker('stop_sequence seq=HALT')}`),
            };
            const msg = streaming ? (await streamAll(params)).final
                                  : await client.messages.create(params);
            assert.equal(msg.stop_reason, 'stop_sequence');
            assert.equal(msg.stop_sequence, 'HALT');
            assert.equal(textOf(msg).trim(), 'Say hi');
        });

        eachModel(`max_tokens stop (${how})`, ALL_MODELS, async (m) => {
            const params = {
                model: m.model,
                max_tokens: 5,
                messages: user(`one two three ${marker('max_tokens')}`),
            };
            const msg = streaming ? (await streamAll(params)).final
                                  : await client.messages.create(params);
            assert.equal(msg.stop_reason, 'max_tokens');
            assert.equal(msg.stop_sequence, null);
            assert.equal(msg.usage.output_tokens, 5);
            assert.equal(textOf(msg), 'one two three one two ');
        });

        eachModel(`cache usage tokens (${how})`, ALL_MODELS, async (m) => {
            const text = `Cached prompt ${marker('cache read=1200 write=300')}`;
            const params = {
                model: m.model,
                max_tokens: 100,
                system: [{ type: 'text', text: 'Long system prompt',
                           cache_control: { type: 'ephemeral' } }],
                messages: user(text),
            };
            const msg = streaming ? (await streamAll(params)).final
                                  : await client.messages.create(params);
            assert.equal(msg.usage.cache_read_input_tokens, 1200);
            assert.equal(msg.usage.cache_creation_input_tokens, 300);
            /* input_tokens excludes cache reads and writes */
            assert.equal(msg.usage.input_tokens, tokensOf('Long system prompt') + tokensOf(text));
        });
    }
});

describe('count_tokens', () => {
    eachModel('counts what messages.create is billed for', ALL_MODELS, async (m) => {
        const params = {
            model: m.model,
            system: 'Count me too.',
            tools: [WEATHER_TOOL],
            messages: [
                { role: 'user', content: 'How many tokens is this?' },
                { role: 'assistant', content: 'Some.' },
                { role: 'user', content: [{ type: 'text', text: 'Exactly how many?' }] },
            ],
        };
        const counted = await client.messages.countTokens(params);
        assert.deepEqual(Object.keys(counted), ['input_tokens']);
        const billed = await client.messages.create({ ...params, max_tokens: 50 });
        assert.equal(counted.input_tokens, billed.usage.input_tokens);
        const texts = ['Count me too.', 'How many tokens is this?', 'Some.', 'Exactly how many?'];
        assert.ok(counted.input_tokens > texts.reduce((n, t) => n + tokensOf(t), 0),
                  'the tool definition was not counted');
    });

    eachModel('plain text count is exact', ROUTES, async (m) => {
        const counted = await client.messages.countTokens({
            model: m.model, messages: user('twelve bytes'),
        });
        assert.equal(counted.input_tokens, tokensOf('twelve bytes'));
    });

    test('count_tokens for an unknown model is NotFoundError', async () => {
        await assert.rejects(
            client.messages.countTokens({ model: 'no-such-model', messages: user('x') }),
            Anthropic.NotFoundError);
    });
});

describe('models', () => {
    test('list pages with limit=2, after_id and has_more', async () => {
        const page1 = await client.models.list({ limit: 2 });
        assert.deepEqual(page1.data.map((d) => d.id), LISTED_MODELS.slice(0, 2));
        assert.equal(page1.has_more, true);
        assert.equal(page1.first_id, LISTED_MODELS[0]);
        assert.equal(page1.last_id, LISTED_MODELS[1]);
        assert.equal(page1.hasNextPage(), true);
        const page2 = await page1.getNextPage();
        assert.deepEqual(page2.data.map((d) => d.id), LISTED_MODELS.slice(2));
        assert.equal(page2.has_more, false);
        assert.equal(page2.first_id, LISTED_MODELS[2]);
        assert.equal(page2.last_id, LISTED_MODELS[2]);
        assert.equal(page2.hasNextPage(), false);

        const all = [];
        for await (const model of client.models.list({ limit: 2 })) {
            all.push(model.id);
        }
        assert.deepEqual(all, LISTED_MODELS);

        const direct = await client.models.list({ limit: 1, after_id: LISTED_MODELS[0] });
        assert.deepEqual(direct.data.map((d) => d.id), [LISTED_MODELS[1]]);
        assert.equal(direct.has_more, true);
        const back = await client.models.list({ limit: 2, before_id: LISTED_MODELS[2] });
        assert.deepEqual(back.data.map((d) => d.id), LISTED_MODELS.slice(0, 2));
    });

    test('list entries are Anthropic model objects', async () => {
        const page = await client.models.list();
        assert.equal(page.has_more, false);
        assert.deepEqual(page.data[0], {
            type: 'model',
            id: 'claude-invoke',
            display_name: 'Claude Sonnet 4.5 (InvokeModel)',
            created_at: '2025-09-29T00:00:00Z',
        });
    });

    test('retrieve by name and by alias; unknown is NotFoundError', async () => {
        const m = await client.models.retrieve('claude-converse');
        assert.equal(m.id, 'claude-converse');
        assert.equal(m.type, 'model');
        assert.equal(m.display_name, 'Claude Sonnet 4.5 (Converse)');
        const byAlias = await client.models.retrieve('claude-invoke-latest');
        assert.equal(byAlias.id, 'claude-invoke');
        await assert.rejects(client.models.retrieve('claude-unknown'), (err) =>
            err instanceof Anthropic.NotFoundError && err.status === 404 &&
            err.error?.error?.type === 'not_found_error');
    });
});

/* scenario -> the SDK class, status and Anthropic error type the client must see. */
const MAPPED_ERRORS = [
    ['throttle', 'RateLimitError', 429, 'rate_limit_error'],
    ['validation', 'BadRequestError', 400, 'invalid_request_error'],
    ['access_denied', 'PermissionDeniedError', 403, 'permission_error'],
    ['not_found', 'NotFoundError', 404, 'not_found_error'],
    ['unavailable', 'OverloadedError', 529, 'overloaded_error'],
    ['not_ready', 'OverloadedError', 529, 'overloaded_error'],
    ['model_error', 'InternalServerError', 500, 'api_error'],
];

function assertSdkError(err, className, status, type) {
    assert.ok(err instanceof Anthropic.APIError, `not an APIError: ${err}`);
    assert.ok(err instanceof Anthropic[className],
              `${err.constructor.name} (status ${err.status}) is not ${className}`);
    if (status >= 500) {
        assert.ok(err instanceof Anthropic.InternalServerError);
    }
    assert.equal(err.status, status);
    assert.equal(err.error?.type, 'error');
    assert.equal(err.error?.error?.type, type);
    assert.equal(typeof err.error?.error?.message, 'string');
    assert.match(err.requestID, /^req_/);
    assert.equal(err.error.request_id, err.requestID);
    return true;
}

describe('errors', () => {
    for (const [scenario, cls, status, type] of MAPPED_ERRORS) {
        eachModel(`${scenario} -> ${cls} ${status}`, ROUTES, async (m) => {
            const params = {
                model: m.model, max_tokens: 50, messages: user(`x ${marker(scenario)}`),
            };
            await assert.rejects(client.messages.create(params),
                                 (err) => assertSdkError(err, cls, status, type));
            await assert.rejects(client.messages.stream(params).finalMessage(),
                                 (err) => assertSdkError(err, cls, status, type));
        });
    }

    /* The SDKs wait for retry-after before retrying; Bedrock sends none, so bedrockd must. */
    const overloads = [['throttle', 'RateLimitError'], ['unavailable', 'OverloadedError'],
                       ['not_ready', 'OverloadedError']];
    for (const [scenario, cls] of overloads) {
        test(`${scenario} carries retry-after (messages and count_tokens)`, async () => {
            const { fetch, attempts } = countingFetch();
            const c = makeClient({ fetch });
            const messages = user(`x ${marker(scenario)}`);
            await assert.rejects(
                c.messages.create({ model: ROUTES[0].model, max_tokens: 50, messages }),
                Anthropic[cls]);
            await assert.rejects(c.messages.countTokens({ model: ROUTES[1].model, messages }),
                                 Anthropic[cls]);
            assert.equal(attempts.length, 2);
            for (const a of attempts) {
                assert.ok(Number(a.retryAfter) > 0, `${a.url}: retry-after ${a.retryAfter}`);
            }
        });
    }

    eachModel('an upstream connection cut before the answer -> InternalServerError', ROUTES,
              async (m) => {
        await assert.rejects(client.messages.create({
            model: m.model, max_tokens: 50, messages: user(`x y z ${marker('cut')}`),
        }), (err) => err instanceof Anthropic.InternalServerError && err.status >= 500);
    });

    test('unknown model -> NotFoundError', async () => {
        await assert.rejects(client.messages.create({
            model: 'claude-does-not-exist', max_tokens: 10, messages: user('x'),
        }), (err) => assertSdkError(err, 'NotFoundError', 404, 'not_found_error') &&
                     /claude-does-not-exist/.test(err.message));
    });

    eachModel('missing max_tokens -> BadRequestError naming the field', ROUTES, async (m) => {
        await assert.rejects(client.messages.create({ model: m.model, messages: user('x') }),
                             (err) => assertSdkError(err, 'BadRequestError', 400,
                                                     'invalid_request_error') &&
                                      /max_tokens/.test(err.message));
    });

    test('missing messages -> BadRequestError naming the field', async () => {
        await assert.rejects(client.messages.create({ model: ROUTES[0].model, max_tokens: 10 }),
                             (err) => assertSdkError(err, 'BadRequestError', 400,
                                                     'invalid_request_error') &&
                                      /messages/.test(err.message));
    });

    test('a body that is not JSON -> BadRequestError', async () => {
        const broken = (url, init) => fetch(url, { ...init, body: '{"model": "claude-invoke",' });
        const c = makeClient({ fetch: broken });
        await assert.rejects(c.messages.create({
            model: ROUTES[0].model, max_tokens: 10, messages: user('x'),
        }), (err) => assertSdkError(err, 'BadRequestError', 400, 'invalid_request_error') &&
                     /JSON/.test(err.message));
    });
});

describe('retries', () => {
    eachModel('the SDK retries a 429 after retry-after and then succeeds', ROUTES, async (m) => {
        /* bedrockd tries Bedrock 3 times (retries 2), so count=3 makes exactly the
         * first client attempt fail; the SDK's second attempt gets the echo. */
        const { fetch, attempts } = countingFetch();
        const c = makeClient({ fetch, maxRetries: 2 });
        const msg = await c.messages.create({
            model: m.model,
            max_tokens: 50,
            messages: user(`retry me ${marker(`throttle count=3 tag=${uniqueTag()}`)}`),
        });
        assert.equal(textOf(msg), 'retry me');
        assert.deepEqual(attempts.map((a) => a.status), [429, 200]);
        assert.equal(attempts[0].retryAfter, '1');
        assert.equal(attempts[1].requestHeaders.get('x-stainless-retry-count'), '1');
    });

    for (const scenario of ['throttle', 'unavailable', 'not_ready']) {
        eachModel(`bedrockd retries ${scenario} upstream itself`, ROUTES, async (m) => {
            const { fetch, attempts } = countingFetch();
            const c = makeClient({ fetch });
            const msg = await c.messages.create({
                model: m.model,
                max_tokens: 50,
                messages: user(`again ${marker(`${scenario} count=2 tag=${uniqueTag()}`)}`),
            });
            assert.equal(textOf(msg), 'again');
            assert.equal(attempts.length, 1);
        });
    }

    eachModel('bedrockd gives up after 1 + retries attempts', ROUTES, async (m) => {
        const params = {
            model: m.model,
            max_tokens: 50,
            messages: user(`spent ${marker(`throttle count=3 tag=${uniqueTag()}`)}`),
        };
        await assert.rejects(client.messages.create(params), Anthropic.RateLimitError);
        /* All three throttles were used by that one request: the next one passes. */
        const msg = await client.messages.create(params);
        assert.equal(textOf(msg), 'spent');
    });

    eachModel('a stream is retried upstream before its first byte', ROUTES, async (m) => {
        const { final } = await streamAll({
            model: m.model,
            max_tokens: 50,
            messages: user(`stream again ${marker(`unavailable count=2 tag=${uniqueTag()}`)}`),
        });
        assert.equal(textOf(final), 'stream again');
    });

    test('a validation error is not retried by bedrockd', async () => {
        const params = {
            model: ROUTES[1].model,
            max_tokens: 50,
            messages: user(`once ${marker(`validation count=1 tag=${uniqueTag()}`)}`),
        };
        await assert.rejects(client.messages.create(params), Anthropic.BadRequestError);
        const msg = await client.messages.create(params);
        assert.equal(textOf(msg), 'once');
    });
});

describe('mid-stream failures', () => {
    const cases = [
        ['modelStreamErrorException', 'api_error'],
        ['throttlingException', 'rate_limit_error'],
        ['serviceUnavailableException', 'overloaded_error'],
        ['validationException', 'invalid_request_error'],
    ];
    for (const [type, errorType] of cases) {
        eachModel(`${type} after 2 pieces -> APIError ${errorType}`, ROUTES, async (m) => {
            const stream = client.messages.stream({
                model: m.model,
                max_tokens: 100,
                messages: user('alpha beta gamma delta ' +
                               marker(`midstream_error after=2 type=${type}`)),
            });
            let text = '';
            const types = [];
            stream.on('text', (d) => {
                text += d;
            });
            stream.on('streamEvent', (ev) => types.push(ev.type));
            const err = await stream.finalMessage().then(
                () => assert.fail('the stream did not fail'), (e) => e);
            assert.ok(err instanceof Anthropic.APIError, `${err}`);
            assert.equal(err.status, undefined);
            assert.equal(err.error?.type, 'error');
            assert.equal(err.error?.error?.type, errorType);
            assert.equal(text, 'alpha beta ');
            assert.ok(!types.includes('message_stop'));
            assert.equal(stream.ended, true);
            /* The gateway keeps serving. */
            const after = await client.messages.create({
                model: m.model, max_tokens: 20, messages: user('still here'),
            });
            assert.equal(textOf(after), 'still here');
        });
    }

    eachModel('the connection cut mid-stream -> APIError', ROUTES, async (m) => {
        const stream = client.messages.stream({
            model: m.model,
            max_tokens: 100,
            messages: user(`one two three four five ${marker('cut after=2')}`),
        });
        const err = await stream.finalMessage().then(() => assert.fail('no error'), (e) => e);
        assert.ok(err instanceof Anthropic.APIError, `${err}`);
        assert.equal(err.error?.error?.type, 'api_error');
    });

    eachModel('a client abort ends the request and bedrockd keeps serving', ROUTES, async (m) => {
        const from = env.bd.stdout.mark();
        const ac = new AbortController();
        const stream = client.messages.stream({
            model: m.model,
            max_tokens: 100,
            messages: user('one two three four five six seven eight ' +
                           marker('slow delay_ms=300')),
        }, { signal: ac.signal });
        const gotText = new Promise((resolve) => stream.once('text', resolve));
        const ended = stream.finalMessage().then(() => null, (e) => e);
        assert.equal(await gotText, 'one ');
        const id = stream.request_id;
        assert.match(id, /^req_/);
        ac.abort();
        const err = await ended;
        assert.ok(err instanceof Anthropic.APIUserAbortError, `${err}`);
        /* bedrockd finishes the request as one the client left (access log line). */
        const line = await env.bd.stdout.waitFor(new RegExp(`^\\{.*"request_id":"${id}".*$`, 'm'),
                                                 { from });
        const rec = JSON.parse(line[0]);
        assert.equal(rec.client_gone, true);
        assert.equal(rec.stream, true);
        assert.equal(rec.model, m.model);
        const msg = await client.messages.create({
            model: m.model, max_tokens: 20, messages: user('after the abort'),
        });
        assert.equal(textOf(msg), 'after the abort');
    });
});

describe('client variants', () => {
    eachModel('?beta=true on the path', ROUTES, async (m) => {
        const { fetch, attempts } = countingFetch();
        const c = makeClient({ fetch });
        const msg = await c.messages.create({
            model: m.model, max_tokens: 20, messages: user('beta query'),
        }, { query: { beta: true } });
        assert.equal(textOf(msg), 'beta query');
        const { final } = await (async () => {
            const s = c.messages.stream({
                model: m.model, max_tokens: 20, messages: user('beta stream'),
            }, { query: { beta: true } });
            return { final: await s.finalMessage() };
        })();
        assert.equal(textOf(final), 'beta stream');
        const counted = await c.messages.countTokens({
            model: m.model, messages: user('beta count'),
        }, { query: { beta: true } });
        assert.equal(counted.input_tokens, tokensOf('beta count'));
        assert.equal(attempts.length, 3);
        for (const a of attempts) {
            assert.match(a.url, /\/v1\/messages(\/count_tokens)?\?beta=true$/);
            assert.equal(a.status, 200);
        }
    });

    eachModel('beta.messages with an anthropic-beta list', ROUTES, async (m) => {
        const msg = await client.beta.messages.create({
            model: m.model,
            max_tokens: 2048,
            betas: ['interleaved-thinking-2025-05-14', 'fine-grained-tool-streaming-2025-05-14'],
            thinking: THINKING,
            messages: user(`beta surface ${marker('reasoning')}`),
        });
        assert.deepEqual(msg.content.map((b) => b.type), ['thinking', 'text']);
        assert.equal(msg.content[1].text, 'beta surface');
        const s = client.beta.messages.stream({
            model: m.model, max_tokens: 50, betas: ['context-1m-2025-08-07'],
            messages: user('beta streamed'),
        });
        assert.equal(textOf(await s.finalMessage()), 'beta streamed');
    });

    test('authToken (Authorization: Bearer) is accepted', async () => {
        const { fetch, attempts } = countingFetch();
        const c = new Anthropic({ baseURL: env.baseURL, authToken: API_KEY, apiKey: null,
                                  maxRetries: 0, fetch });
        const msg = await c.messages.create({
            model: ROUTES[0].model, max_tokens: 20, messages: user('bearer auth'),
        });
        assert.equal(textOf(msg), 'bearer auth');
        assert.equal(attempts[0].requestHeaders.get('authorization'), `Bearer ${API_KEY}`);
        assert.equal(attempts[0].requestHeaders.get('x-api-key'), null);
    });

    test('x-api-key alone, Bearer alone, and both are accepted', async () => {
        const body = JSON.stringify({
            model: ROUTES[1].model, max_tokens: 20, messages: user('auth'),
        });
        const variants = [
            { 'x-api-key': API_KEY },
            { authorization: `Bearer ${API_KEY}` },
            { 'x-api-key': API_KEY, authorization: `Bearer ${API_KEY}` },
        ];
        for (const auth of variants) {
            const res = await fetch(`${env.baseURL}/v1/messages`, {
                method: 'POST',
                headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01',
                           ...auth },
                body,
            });
            const json = await res.json();
            assert.equal(res.status, 200, `${JSON.stringify(auth)}: ${JSON.stringify(json)}`);
            assert.equal(json.content[0].text, 'auth');
        }
    });

    test('a missing or wrong key -> AuthenticationError', async () => {
        const params = { model: ROUTES[0].model, max_tokens: 20, messages: user('no') };
        const wrong = makeClient({ apiKey: 'sk-not-a-key' });
        await assert.rejects(wrong.messages.create(params),
                             (err) => assertSdkError(err, 'AuthenticationError', 401,
                                                     'authentication_error'));
        const none = makeClient({ apiKey: null, defaultHeaders: { authorization: null } });
        await assert.rejects(none.messages.create(params),
                             (err) => assertSdkError(err, 'AuthenticationError', 401,
                                                     'authentication_error'));
        await assert.rejects(wrong.models.list(), Anthropic.AuthenticationError);
    });

    test('any anthropic-version is accepted', async () => {
        for (const version of ['2023-06-01', '2026-10-21', '1999-12-31', 'not-a-date']) {
            const c = makeClient({ defaultHeaders: { 'anthropic-version': version } });
            const msg = await c.messages.create({
                model: ROUTES[0].model, max_tokens: 20, messages: user(`version ${version}`),
            });
            assert.equal(textOf(msg), `version ${version}`);
        }
        const res = await fetch(`${env.baseURL}/v1/messages`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
            body: JSON.stringify({
                model: ROUTES[1].model, max_tokens: 20, messages: user('none'),
            }),
        });
        assert.equal(res.status, 200);
    });
});
