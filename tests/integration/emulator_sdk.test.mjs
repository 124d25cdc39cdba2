// Proves bedrock-emulator against the real AWS SDK for JavaScript: every runtime operation
// with SigV4 verification on, model ids containing ':' and an application inference-profile
// ARN, the AWS error shapes, and the control-plane listings with pagination. The SDK's
// default HTTP/2 handler also runs the four runtime operations on the --h2 port.
// Run: BD_EMULATOR=/path/to/bedrock-emulator node --test integration/emulator_sdk.test.mjs
// (from tests/, after `npm ci` there). CTest runs it as `emulator_sdk`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

if (!existsSync(new URL('../node_modules/@aws-sdk/client-bedrock-runtime/', import.meta.url))) {
  throw new Error('tests/node_modules is missing: run `npm ci` in tests/ first');
}
const EMULATOR = process.env.BD_EMULATOR;
if (!EMULATOR) {
  throw new Error('BD_EMULATOR is not set: point it at the bedrock-emulator binary ' +
                  '(ctest sets it; by hand: BD_EMULATOR=build/tests/emulator/bedrock-emulator)');
}
if (!existsSync(EMULATOR)) {
  throw new Error(`BD_EMULATOR=${EMULATOR} does not exist: build the bedrock-emulator target`);
}

const rt = await import('@aws-sdk/client-bedrock-runtime');
const cp = await import('@aws-sdk/client-bedrock');
const { NodeHttpHandler, NodeHttp2Handler } = await import('@smithy/node-http-handler');
const { startEmulator: startH2Emulator } = await import('./lib/harness.mjs');

const REGION = 'us-east-1';
const CREDS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const MODEL = 'anthropic.claude-sonnet-4-5-20250929-v1:0';
const PROFILE = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const APP_ARN = 'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/emusonnet45ab';
const WEATHER_TOOL = {
  toolSpec: {
    name: 'get_weather',
    description: 'Current weather for a city',
    inputSchema: { json: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' } } } },
  },
};

let emu;

function startEmulator(args) {
  return new Promise((resolve, reject) => {
    const proc = spawn(EMULATOR, ['--listen', '127.0.0.1:0', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    proc.once('error', reject);
    // Never leave an emulator behind, even when the runner dies before after() runs.
    process.once('exit', () => proc.kill('SIGKILL'));
    proc.once('exit', (code) => reject(new Error(`bedrock-emulator exited early with ${code}`)));
    const lines = createInterface({ input: proc.stdout });
    lines.once('line', (line) => {
      const m = /^bedrock-emulator listening on 127\.0\.0\.1:(\d+)$/.exec(line);
      if (!m) {
        reject(new Error(`unexpected first line: ${line}`));
        return;
      }
      resolve({ proc, url: `http://127.0.0.1:${m[1]}` });
    });
  });
}

function stopEmulator(e) {
  e.proc.removeAllListeners('exit');
  return new Promise((resolve) => {
    e.proc.once('exit', resolve);
    e.proc.kill('SIGTERM');
  });
}

function runtime(extra = {}) {
  // The runtime client defaults to HTTP/2; the emulator's --listen port speaks HTTP/1.1,
  // which the service also accepts (its --h2 port is tested below).
  return new rt.BedrockRuntimeClient({
    region: REGION, endpoint: emu.url, credentials: CREDS, maxAttempts: 1,
    requestHandler: new NodeHttpHandler(), ...extra,
  });
}

// Adds request headers before signing (the build step runs before finalizeRequest).
function withHeaders(client, headers) {
  client.middlewareStack.add((next) => (args) => {
    Object.assign(args.request.headers, headers);
    return next(args);
  }, { step: 'build', name: 'emulatorHeaders' });
  return client;
}

function userText(text) {
  return [{ role: 'user', content: [{ text }] }];
}

// The emulator's token rule: ceil(UTF-8 bytes / 4) per string.
function tokensOf(s) {
  return Math.ceil(Buffer.byteLength(s) / 4);
}

async function collectConverseStream(response) {
  const events = [];
  for await (const ev of response.stream) {
    events.push(ev);
  }
  return events;
}

async function collectInvokeStream(response) {
  const events = [];
  for await (const ev of response.body) {
    assert.ok(ev.chunk, `unexpected member ${Object.keys(ev)}`);
    events.push(JSON.parse(Buffer.from(ev.chunk.bytes).toString('utf8')));
  }
  return events;
}

function anthropicBody(text, extra = {}) {
  return JSON.stringify({
    anthropic_version: 'bedrock-2023-05-31',
    max_tokens: 256,
    messages: [{ role: 'user', content: text }],
    ...extra,
  });
}

before(async () => {
  emu = await startEmulator(['--bearer-token', 'emu-api-key']);
});

after(async () => {
  if (emu) {
    await stopEmulator(emu);
  }
});

test('Converse echoes the user text with usage and metrics (model id with ":")', async () => {
  const out = await runtime().send(new rt.ConverseCommand({ modelId: MODEL, messages: userText('Hello emulator world') }));
  assert.equal(out.output.message.role, 'assistant');
  assert.deepEqual(out.output.message.content, [{ text: 'Hello emulator world' }]);
  assert.equal(out.stopReason, 'end_turn');
  assert.equal(out.usage.inputTokens, tokensOf('Hello emulator world'));
  assert.equal(out.usage.outputTokens, 3);
  assert.equal(out.usage.totalTokens, out.usage.inputTokens + 3);
  assert.equal(typeof out.metrics.latencyMs, 'number');
  assert.match(out.$metadata.requestId, /^[0-9a-f-]{36}$/);
});

test('Converse through an application inference-profile ARN and a system profile id', async () => {
  for (const modelId of [APP_ARN, PROFILE]) {
    const out = await runtime().send(new rt.ConverseCommand({ modelId, messages: userText('via profile') }));
    assert.equal(out.output.message.content[0].text, 'via profile');
  }
});

test('Converse reasoning, tool use, cache, stop sequence and max tokens scenarios', async () => {
  const c = runtime();
  let out = await c.send(new rt.ConverseCommand({ modelId: MODEL, messages: userText('[[emu:reasoning]] think') }));
  const r = out.output.message.content[0].reasoningContent.reasoningText;
  assert.match(r.text, /think/);
  assert.ok(r.signature.length > 10);
  assert.equal(out.output.message.content[1].text, 'think');

  out = await c.send(new rt.ConverseCommand({ modelId: MODEL, messages: userText('[[emu:reasoning redacted=1]] x') }));
  assert.ok(out.output.message.content[0].reasoningContent.redactedContent instanceof Uint8Array);

  out = await c.send(new rt.ConverseCommand({
    modelId: MODEL, messages: userText('[[emu:tool]] weather?'), toolConfig: { tools: [WEATHER_TOOL] },
  }));
  assert.equal(out.stopReason, 'tool_use');
  const tu = out.output.message.content.find((b) => b.toolUse).toolUse;
  assert.equal(tu.name, 'get_weather');
  assert.match(tu.toolUseId, /^tooluse_/);
  assert.deepEqual(tu.input, { city: 'sample', days: 1 });

  out = await c.send(new rt.ConverseCommand({ modelId: MODEL, messages: userText('[[emu:cache read=300 write=40]] hi') }));
  assert.equal(out.usage.cacheReadInputTokens, 300);
  assert.equal(out.usage.cacheWriteInputTokens, 40);

  out = await c.send(new rt.ConverseCommand({
    modelId: MODEL, messages: userText('[[emu:stop_sequence]] one two'),
    inferenceConfig: { stopSequences: ['END'] }, additionalModelResponseFieldPaths: ['/stop_sequence'],
  }));
  assert.equal(out.stopReason, 'stop_sequence');
  assert.equal(out.output.message.content[0].text.trim(), 'one two');
  assert.equal(out.usage.outputTokens, 2);
  assert.deepEqual(out.additionalModelResponseFields, { stop_sequence: 'END' });

  out = await c.send(new rt.ConverseCommand({
    modelId: MODEL, messages: userText('a b c d e f g h'), inferenceConfig: { maxTokens: 3 },
  }));
  assert.equal(out.stopReason, 'max_tokens');
  assert.equal(out.usage.outputTokens, 3);
  assert.equal(out.output.message.content[0].text, 'a b c ');
});

test('ConverseStream text: no contentBlockStart for text, usage in metadata after messageStop', async () => {
  const res = await runtime().send(new rt.ConverseStreamCommand({ modelId: APP_ARN, messages: userText('stream me please') }));
  const events = await collectConverseStream(res);
  const kinds = events.map((e) => Object.keys(e)[0]);
  assert.equal(kinds[0], 'messageStart');
  assert.ok(!kinds.includes('contentBlockStart'));
  assert.deepEqual(kinds.slice(-3), ['contentBlockStop', 'messageStop', 'metadata']);
  const text = events.filter((e) => e.contentBlockDelta).map((e) => e.contentBlockDelta.delta.text).join('');
  assert.equal(text, 'stream me please');
  assert.equal(events.filter((e) => e.contentBlockDelta).length, 3);
  assert.equal(events.at(-2).messageStop.stopReason, 'end_turn');
  assert.equal(events.at(-1).metadata.usage.outputTokens, 3);
  assert.equal(events.at(-1).metadata.usage.inputTokens, tokensOf('stream me please'));
});

test('paced output (slow, ttft_ms, tps) goes through the timer-driven sender intact', async () => {
  const c = runtime();
  const res = await c.send(new rt.ConverseStreamCommand({ modelId: MODEL, messages: userText('[[emu:slow delay_ms=5 ttft_ms=5]] p q r s') }));
  const events = await collectConverseStream(res);
  assert.equal(events.filter((e) => e.contentBlockDelta).map((e) => e.contentBlockDelta.delta.text).join(''), 'p q r s');
  assert.equal(events.at(-1).metadata.usage.outputTokens, 4);
  const out = await c.send(new rt.ConverseCommand({ modelId: MODEL, messages: userText('[[emu:echo tps=500 ttft_ms=5 tokens=6]] u v') }));
  assert.equal(out.output.message.content[0].text, 'u v u v u v');
  assert.equal(out.usage.outputTokens, 6);
});

test('ConverseStream tool use: input JSON arrives in several fragments', async () => {
  const input = encodeURIComponent(JSON.stringify({ city: 'Paris', units: 'metric' }));
  const res = await runtime().send(new rt.ConverseStreamCommand({
    modelId: MODEL, messages: userText(`[[emu:tool input=${input}]] weather`), toolConfig: { tools: [WEATHER_TOOL] },
  }));
  const events = await collectConverseStream(res);
  const start = events.find((e) => e.contentBlockStart).contentBlockStart;
  assert.equal(start.start.toolUse.name, 'get_weather');
  const idx = start.contentBlockIndex;
  const fragments = events.filter((e) => e.contentBlockDelta?.contentBlockIndex === idx)
    .map((e) => e.contentBlockDelta.delta.toolUse.input);
  assert.ok(fragments.length >= 3, `only ${fragments.length} fragments`);
  assert.deepEqual(JSON.parse(fragments.join('')), { city: 'Paris', units: 'metric' });
  assert.ok(events.some((e) => e.contentBlockStop?.contentBlockIndex === idx));
  assert.equal(events.find((e) => e.messageStop).messageStop.stopReason, 'tool_use');
});

test('ConverseStream reasoning: text deltas, then a signature delta', async () => {
  const res = await runtime().send(new rt.ConverseStreamCommand({ modelId: MODEL, messages: userText('[[emu:reasoning]] ponder') }));
  const events = await collectConverseStream(res);
  const r = events.filter((e) => e.contentBlockDelta?.contentBlockIndex === 0).map((e) => e.contentBlockDelta.delta.reasoningContent);
  assert.ok(r.length >= 2);
  assert.match(r.slice(0, -1).map((x) => x.text).join(''), /ponder/);
  assert.ok(r.at(-1).signature.length > 10);
  const text = events.filter((e) => e.contentBlockDelta?.contentBlockIndex === 1).map((e) => e.contentBlockDelta.delta.text).join('');
  assert.equal(text, 'ponder');
});

test('ConverseStream midstream_error and cut surface as errors after some text', async () => {
  const c = runtime();
  const res = await c.send(new rt.ConverseStreamCommand({ modelId: MODEL, messages: userText('[[emu:midstream_error after=2]] a b c d') }));
  const seen = [];
  await assert.rejects(async () => {
    for await (const ev of res.stream) {
      if (ev.contentBlockDelta) seen.push(ev.contentBlockDelta.delta.text);
    }
  }, (err) => err.name === 'ModelStreamErrorException' && err.originalStatusCode === 500);
  assert.deepEqual(seen, ['a ', 'b ']);

  const cut = await c.send(new rt.ConverseStreamCommand({ modelId: MODEL, messages: userText('[[emu:cut after=2]] a b c d') }));
  await assert.rejects(async () => {
    for await (const ev of cut.stream) { void ev; }
  });
});

test('the SDK\'s own HTTP/2 handler on the --h2 port: the four runtime operations', async (t) => {
  const e = await startH2Emulator({ t, h2: true });
  const c = new rt.BedrockRuntimeClient({
    region: REGION, endpoint: e.h2Url, credentials: CREDS, maxAttempts: 1,
    requestHandler: new NodeHttp2Handler({ nodeHttp2ConnectOptions: { ca: readFileSync(e.caFile) } }),
  });
  t.after(() => c.destroy());
  const conv = await c.send(new rt.ConverseCommand({ modelId: MODEL, messages: userText('over h2') }));
  assert.equal(conv.output.message.content[0].text, 'over h2');

  const cs = await collectConverseStream(await c.send(new rt.ConverseStreamCommand({
    modelId: APP_ARN, messages: userText('[[emu:slow delay_ms=5]] stream me please') })));
  assert.equal(cs.filter((ev) => ev.contentBlockDelta).map((ev) => ev.contentBlockDelta.delta.text).join(''),
               'stream me please');
  assert.equal(cs.at(-1).metadata.usage.outputTokens, 3);

  /* two at once on the one HTTP/2 connection */
  const [inv, invs] = await Promise.all([
    c.send(new rt.InvokeModelCommand({ modelId: PROFILE, contentType: 'application/json',
                                       accept: 'application/json', body: anthropicBody('native over h2') })),
    c.send(new rt.InvokeModelWithResponseStreamCommand({ modelId: MODEL, contentType: 'application/json',
                                                         body: anthropicBody('[[emu:slow delay_ms=5]] chunked reply') })),
  ]);
  assert.deepEqual(JSON.parse(Buffer.from(inv.body).toString('utf8')).content,
                   [{ type: 'text', text: 'native over h2' }]);
  const events = await collectInvokeStream(invs);
  assert.equal(events.filter((ev) => ev.type === 'content_block_delta').map((ev) => ev.delta.text).join(''),
               'chunked reply');
  assert.equal(events.at(-1).type, 'message_stop');

  /* a bad signature is refused over HTTP/2 as over HTTP/1.1 */
  const bad = new rt.BedrockRuntimeClient({
    region: REGION, endpoint: e.h2Url, maxAttempts: 1,
    credentials: { ...CREDS, secretAccessKey: 'not-the-secret' },
    requestHandler: new NodeHttp2Handler({ nodeHttp2ConnectOptions: { ca: readFileSync(e.caFile) } }),
  });
  t.after(() => bad.destroy());
  await assert.rejects(bad.send(new rt.ConverseCommand({ modelId: MODEL, messages: userText('x') })),
                       (err) => err.name === 'UnrecognizedClientException' || err.name === 'InvalidSignatureException');
});

test('InvokeModel with the Anthropic-native body', async () => {
  const out = await runtime().send(new rt.InvokeModelCommand({
    modelId: PROFILE, contentType: 'application/json', accept: 'application/json', body: anthropicBody('native hello'),
  }));
  const msg = JSON.parse(Buffer.from(out.body).toString('utf8'));
  assert.match(msg.id, /^msg_bdrk_/);
  assert.equal(msg.type, 'message');
  assert.equal(msg.role, 'assistant');
  assert.equal(msg.model, 'claude-sonnet-4-5-20250929');
  assert.deepEqual(msg.content, [{ type: 'text', text: 'native hello' }]);
  assert.equal(msg.stop_reason, 'end_turn');
  assert.equal(msg.stop_sequence, null);
  assert.equal(msg.usage.input_tokens, tokensOf('native hello'));
  assert.equal(msg.usage.output_tokens, 2);
});

test('InvokeModelWithResponseStream: chunk events with Anthropic streaming events', async () => {
  const c = runtime();
  let res = await c.send(new rt.InvokeModelWithResponseStreamCommand({ modelId: APP_ARN, contentType: 'application/json', body: anthropicBody('chunked reply') }));
  let events = await collectInvokeStream(res);
  assert.deepEqual(events.map((e) => e.type), ['message_start', 'content_block_start', 'content_block_delta',
    'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
  assert.equal(events.filter((e) => e.type === 'content_block_delta').map((e) => e.delta.text).join(''), 'chunked reply');
  assert.equal(events[5].delta.stop_reason, 'end_turn');
  assert.equal(events[5].usage.output_tokens, 2);
  const metrics = events[6]['amazon-bedrock-invocationMetrics'];
  assert.equal(metrics.inputTokenCount, tokensOf('chunked reply'));
  assert.equal(metrics.outputTokenCount, 2);

  res = await c.send(new rt.InvokeModelWithResponseStreamCommand({
    modelId: MODEL, contentType: 'application/json',
    body: anthropicBody('[[emu:tool]] go', { tools: [{ name: 'lookup', description: 'd', input_schema: { type: 'object', properties: { q: { type: 'string' } } } }] }),
  }));
  events = await collectInvokeStream(res);
  const start = events.find((e) => e.type === 'content_block_start' && e.content_block.type === 'tool_use');
  assert.equal(start.content_block.name, 'lookup');
  const parts = events.filter((e) => e.index === start.index && e.type === 'content_block_delta').map((e) => e.delta.partial_json);
  assert.ok(parts.length >= 2);
  assert.deepEqual(JSON.parse(parts.join('')), { q: 'sample' });
  assert.equal(events.find((e) => e.type === 'message_delta').delta.stop_reason, 'tool_use');

  res = await c.send(new rt.InvokeModelWithResponseStreamCommand({ modelId: MODEL, contentType: 'application/json', body: anthropicBody('[[emu:reasoning]] hmm') }));
  events = await collectInvokeStream(res);
  assert.equal(events[1].content_block.type, 'thinking');
  assert.ok(events.some((e) => e.delta?.type === 'signature_delta' && e.delta.signature.length > 10));
});

test('CountTokens for a Converse input and an InvokeModel body', async () => {
  assert.ok(rt.CountTokensCommand, 'this SDK version has CountTokensCommand');
  const c = runtime();
  let out = await c.send(new rt.CountTokensCommand({ modelId: MODEL, input: { converse: { messages: userText('count these words please') } } }));
  assert.equal(out.inputTokens, tokensOf('count these words please'));
  out = await c.send(new rt.CountTokensCommand({
    modelId: MODEL, input: { invokeModel: { body: new TextEncoder().encode(anthropicBody('twelve bytes', { system: 'sys' })) } },
  }));
  assert.equal(out.inputTokens, tokensOf('twelve bytes') + tokensOf('sys'));
});

test('a wrong secret or an unknown key id is refused like AWS does', async () => {
  const bad = runtime({ credentials: { ...CREDS, secretAccessKey: 'not-the-secret' } });
  await assert.rejects(bad.send(new rt.ConverseCommand({ modelId: MODEL, messages: userText('x') })), (err) => {
    assert.equal(err.name, 'InvalidSignatureException');
    assert.equal(err.$metadata.httpStatusCode, 403);
    assert.match(err.message, /signature we calculated does not match/);
    return true;
  });
  const unknown = runtime({ credentials: { ...CREDS, accessKeyId: 'AKIDUNKNOWN' } });
  await assert.rejects(unknown.send(new rt.ConverseCommand({ modelId: MODEL, messages: userText('x') })),
    (err) => err.name === 'UnrecognizedClientException' && err.$metadata.httpStatusCode === 403);
});

test('missing credentials and bearer API keys', async () => {
  const body = JSON.stringify({ messages: userText('bearer') });
  const url = `${emu.url}/model/${encodeURIComponent(MODEL)}/converse`;
  let res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  assert.equal(res.status, 403);
  assert.match(res.headers.get('x-amzn-errortype'), /^MissingAuthenticationTokenException/);
  res = await fetch(url, { method: 'POST', body, headers: { authorization: 'Bearer emu-api-key' } });
  assert.equal(res.status, 200);
  assert.equal((await res.json()).output.message.content[0].text, 'bearer');
  res = await fetch(url, { method: 'POST', body, headers: { authorization: 'Bearer wrong' } });
  assert.equal(res.status, 403);
});

test('error scenarios map to the SDK exception classes', async () => {
  const c = runtime();
  const cases = [
    ['throttle', rt.ThrottlingException, 429],
    ['validation', rt.ValidationException, 400],
    ['unavailable', rt.ServiceUnavailableException, 503],
    ['not_ready', rt.ModelNotReadyException, 429],
    ['access_denied', rt.AccessDeniedException, 403],
    ['not_found', rt.ResourceNotFoundException, 404],
    ['model_error', rt.ModelErrorException, 424],
  ];
  for (const [name, cls, status] of cases) {
    await assert.rejects(c.send(new rt.ConverseCommand({ modelId: MODEL, messages: userText(`[[emu:${name}]]`) })), (err) => {
      assert.ok(err instanceof cls, `${name}: got ${err.name}`);
      assert.equal(err.$metadata.httpStatusCode, status);
      return true;
    });
  }
  await assert.rejects(c.send(new rt.ConverseCommand({ modelId: MODEL, messages: userText('[[emu:throttle]]') })),
    (err) => err instanceof rt.ThrottlingException && err.message === 'Too many requests, please wait before trying again.');
});

test('count=N fails only the first N requests with the same x-emulator-key (SDK retries)', async () => {
  const key = `retry-${process.pid}-${Date.now()}`;
  const c = withHeaders(runtime({ maxAttempts: 3 }), { 'x-emulator-key': key, 'x-emulator-scenario': 'throttle count=2' });
  const out = await c.send(new rt.ConverseCommand({ modelId: MODEL, messages: userText('after retries') }));
  assert.equal(out.output.message.content[0].text, 'after retries');
  assert.equal(out.$metadata.attempts, 3);
  const again = await c.send(new rt.ConverseCommand({ modelId: MODEL, messages: userText('no more failures') }));
  assert.equal(again.$metadata.attempts, 1);
});

test('ListFoundationModels and ListInferenceProfiles (paginated) via @aws-sdk/client-bedrock', async () => {
  const c = new cp.BedrockClient({ region: REGION, endpoint: emu.url, credentials: CREDS, maxAttempts: 1 });
  const models = await c.send(new cp.ListFoundationModelsCommand({}));
  const ids = models.modelSummaries.map((m) => m.modelId);
  assert.ok(ids.includes(MODEL));
  assert.ok(ids.includes('amazon.titan-embed-text-v2:0'));
  const sonnet = models.modelSummaries.find((m) => m.modelId === MODEL);
  assert.equal(sonnet.providerName, 'Anthropic');
  assert.deepEqual(sonnet.outputModalities, ['TEXT']);
  assert.equal(sonnet.responseStreamingSupported, true);
  assert.match(sonnet.modelArn, /^arn:aws:bedrock:us-east-1::foundation-model\//);
  const anthropic = await c.send(new cp.ListFoundationModelsCommand({ byProvider: 'anthropic' }));
  assert.ok(anthropic.modelSummaries.every((m) => m.providerName === 'Anthropic'));
  const embed = await c.send(new cp.ListFoundationModelsCommand({ byOutputModality: 'EMBEDDING' }));
  assert.equal(embed.modelSummaries.length, 2);

  const profiles = [];
  let pages = 0;
  for await (const page of cp.paginateListInferenceProfiles({ client: c, pageSize: 4 }, {})) {
    pages++;
    assert.ok(page.inferenceProfileSummaries.length <= 4);
    profiles.push(...page.inferenceProfileSummaries);
  }
  assert.equal(pages, 3);
  assert.equal(profiles.length, 10);
  assert.ok(profiles.some((p) => p.inferenceProfileId === PROFILE && p.type === 'SYSTEM_DEFINED'));
  assert.ok(profiles.some((p) => p.inferenceProfileId.startsWith('global.')));
  const app = profiles.find((p) => p.type === 'APPLICATION');
  assert.equal(app.inferenceProfileArn, APP_ARN);
  assert.ok(app.createdAt instanceof Date);
  const onlyApp = await c.send(new cp.ListInferenceProfilesCommand({ typeEquals: 'APPLICATION' }));
  assert.equal(onlyApp.inferenceProfileSummaries.length, 1);
});
