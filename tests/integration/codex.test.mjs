/*
 * codex.test.mjs: Codex CLI itself (npm @openai/codex, `codex exec`, non-interactive)
 * against bedrockd's Responses API and bedrock-emulator, through a custom model provider
 * with wire_api "responses": a prompt answered, and a shell-tool round trip (the emulator
 * scripts an exec_command call, Codex runs the command, and its output goes back to the
 * model as a function_call_output), and the same with reasoning on, where Claude's signed
 * thinking must come back to Bedrock in the tool call's turn through the reasoning item's
 * encrypted_content (Codex keeps no server-side state: store is false). Each case checks what Codex printed AND what reached
 * Bedrock (the emulator's --record file).
 *
 * Codex runs with CODEX_HOME and HOME in a fresh temporary directory, no sandbox (the
 * command is the test's own echo), no analytics, no update check, and only the
 * environment this file gives it.
 *
 * Run from tests/ (after `npm ci` there):
 *   BD_BEDROCKD=.../bedrockd BD_EMULATOR=.../bedrock-emulator \
 *       node --test integration/codex.test.mjs
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { marker } from './lib/anthropic_env.mjs';
import { makeTempDir, startBedrockd, startEmulator, withTimeout } from './lib/harness.mjs';

const CODEX = new URL('../node_modules/.bin/codex', import.meta.url).pathname;
if (!fs.existsSync(CODEX)) {
    throw new Error('tests/node_modules is missing Codex CLI: run `npm ci` in tests/ first');
}

const KEY = 'sk-bdtest-codex-master-0123456789';
const MODEL = 'claude-codex';
const CLAUDE_ID = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const RUN_TIMEOUT_MS = 120000;

let emu;
let bd;
let recordPath;

function conf(emuUrl) {
    return `worker_threads 1;
listen 127.0.0.1:0;
error_log stderr info;
access_log off;
store off;
master_key ${KEY};

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

before(async () => {
    recordPath = path.join(makeTempDir('bd-codex-rec-'), 'record.jsonl');
    emu = await startEmulator({ args: ['--record', recordPath] });
    bd = await startBedrockd({ conf: conf(emu.url) });
});

after(async () => {
    await bd?.stop();
    await emu?.stop();
});

function records() {
    if (!fs.existsSync(recordPath)) {
        return [];
    }
    return fs.readFileSync(recordPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

/* Runs `codex exec <prompt>` in a fresh home, with <extra> config.toml lines; resolves
 * { code, stdout, stderr, requests }. */
async function codex(prompt, extra = '') {
    const home = makeTempDir('bd-codex-');
    const work = path.join(home, 'work');
    fs.mkdirSync(work);
    fs.writeFileSync(path.join(home, 'config.toml'), `model = "${MODEL}"
model_provider = "bedrockd"
${extra}
approval_policy = "never"
sandbox_mode = "danger-full-access"
check_for_update_on_startup = false

[analytics]
enabled = false

[model_providers.bedrockd]
name = "bedrockd"
base_url = "${bd.url}/v1"
env_key = "BEDROCKD_API_KEY"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0
`);
    const env = {
        PATH: process.env.PATH,
        HOME: home,
        CODEX_HOME: home,
        BEDROCKD_API_KEY: KEY,
        NO_COLOR: '1',
    };
    const before = records().length;
    const child = spawn(CODEX, ['exec', '--skip-git-repo-check', prompt],
                        { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const code = await withTimeout(new Promise((resolve) => child.on('close', resolve)),
                                   RUN_TIMEOUT_MS, 'codex exec').catch((e) => {
        child.kill('SIGKILL');
        throw e;
    });
    return { code, stdout, stderr, requests: records().slice(before) };
}

test('codex exec: a prompt answered through the Responses API', async () => {
    const r = await codex('Say the words blue heron');
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /blue heron/);
    assert.equal(r.requests.length, 1, JSON.stringify(r.requests.map((q) => q.operation)));
    const body = r.requests[0].body;
    assert.equal(r.requests[0].operation, 'converse-stream');
    /* Codex's developer messages became the system prompt; its function tools arrived,
     * its hosted web_search did not */
    assert.ok(body.system.length > 0);
    const names = body.toolConfig.tools.map((t) => t.toolSpec.name);
    assert.ok(names.includes('exec_command'), names.join(','));
    assert.ok(!names.includes('web_search'));
    assert.equal(body.messages[body.messages.length - 1].role, 'user');
});

test('codex exec: a shell-tool round trip', async () => {
    const input = encodeURIComponent(JSON.stringify({ cmd: 'echo codex-roundtrip-$((6*7))' }));
    const r = await codex(`Run the command. ${marker(`tool name=exec_command input=${input}`)}`);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.equal(r.requests.length, 2, JSON.stringify(r.requests.map((q) => q.operation)));
    /* the second call carries the call and the command's output back to the model */
    const msgs = r.requests[1].body.messages;
    const use = msgs[msgs.length - 2].content.find((b) => b.toolUse).toolUse;
    assert.equal(use.name, 'exec_command');
    assert.equal(use.input.cmd, 'echo codex-roundtrip-$((6*7))');
    const result = msgs[msgs.length - 1].content.find((b) => b.toolResult).toolResult;
    assert.equal(result.toolUseId, use.toolUseId);
    assert.match(JSON.stringify(result.content), /codex-roundtrip-42/);
    /* the model's last answer (the emulator echoes the tool result) is what Codex printed */
    assert.match(r.stdout, /codex-roundtrip-42/);
});

test('codex exec: reasoning carried across a shell-tool round trip', async () => {
    const input = encodeURIComponent(JSON.stringify({ cmd: 'echo thought-through' }));
    const r = await codex(`Run it. ${marker(`tool thinking=1 name=exec_command input=${input}`)}`,
                          'model_reasoning_effort = "low"');
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.equal(r.requests.length, 2, JSON.stringify(r.requests.map((q) => q.operation)));
    for (const q of r.requests) {
        assert.deepEqual(q.body.additionalModelRequestFields.thinking,
                         { type: 'enabled', budget_tokens: 1024 });
    }
    /* the tool call's turn goes back with its signed thinking first, toolUse last */
    const msgs = r.requests[1].body.messages;
    const turn = msgs[msgs.length - 2];
    assert.equal(turn.role, 'assistant');
    const kinds = turn.content.map((b) => Object.keys(b)[0]);
    assert.equal(kinds[0], 'reasoningContent', JSON.stringify(turn));
    assert.equal(kinds[kinds.length - 1], 'toolUse');
    const rt = turn.content[0].reasoningContent.reasoningText;
    assert.match(rt.text, /The user wrote/);
    assert.match(Buffer.from(rt.signature, 'base64').toString(), /^bedrock-emulator-signature:/);
    assert.match(r.stdout, /thought-through/);
});
