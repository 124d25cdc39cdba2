/*
 * claude_code.test.mjs: Claude Code itself (npm @anthropic-ai/claude-code, print mode)
 * against bedrockd and bedrock-emulator, on both Bedrock routes: the same kind of Claude
 * model served through InvokeModel (Sonnet 4.5) and through Converse (Haiku 4.5). Each
 * case checks what Claude Code printed AND what reached Bedrock (the emulator's --record
 * file): the anthropic_beta values the model family accepts (Claude Code's own betas
 * that Bedrock does not know are left out and counted in /metrics), beta-gated members
 * passed or left out per the fates table, a tool round trip (Read of a file the test
 * wrote), thinking carried into a second turn, and a session continued with --continue;
 * and, last, per-model beta edits (betas, beta_rename, beta_drop) applied by a reload.
 *
 * Claude Code runs with a fresh HOME, no telemetry, no updates, no non-essential traffic,
 * and only the environment this file gives it. The model families come from the shipped
 * conf/models.conf, so the test checks the data operators get.
 *
 * Run from tests/ (after `npm ci` there):
 *   BD_BEDROCKD=.../bedrockd BD_EMULATOR=.../bedrock-emulator \
 *       node --test integration/claude_code.test.mjs
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';

import { httpRequest, makeTempDir, startBedrockd, startEmulator, withTimeout } from './lib/harness.mjs';

const CLAUDE = new URL('../node_modules/.bin/claude', import.meta.url).pathname;
if (!fs.existsSync(CLAUDE)) {
    throw new Error('tests/node_modules is missing Claude Code: run `npm ci` in tests/ first');
}

const KEY = 'sk-bdtest-claude-code-master-0123456789';
const RUN_TIMEOUT_MS = 120000;

/* Client names as Claude Code knows them; each goes to Bedrock by one route. */
const ROUTES = Object.freeze([
    Object.freeze({
        route: 'invoke',
        model: 'claude-sonnet-4-5-20250929',
        id: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
    }),
    Object.freeze({
        route: 'converse',
        model: 'claude-haiku-4-5-20251001',
        id: 'us.anthropic.claude-haiku-4-5-20251001-v1:0',
    }),
]);

/* The model_family blocks of the shipped models.conf. */
function shippedFamilies() {
    const text = fs.readFileSync(new URL('../../conf/models.conf', import.meta.url), 'utf8');
    const blocks = text.match(/^model_family [\s\S]*?^}/gm);
    assert.ok(blocks && blocks.length > 0, 'conf/models.conf has model_family blocks');
    return blocks.join('\n');
}

function conf(emuUrl, sonnetExtra = '') {
    return `worker_threads 1;
listen 127.0.0.1:0;
error_log stderr debug;
store off;
master_key ${KEY};

bedrock {
    region us-east-1;
    endpoint ${emuUrl};
    credentials static;
    access_key_id AKIDEXAMPLE;
    secret_access_key wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY;
    catalog off;
}

${shippedFamilies()}

model ${ROUTES[0].model} { id ${ROUTES[0].id}; route invoke; max_output_tokens 64000; ${sonnetExtra} }
model ${ROUTES[1].model} { id ${ROUTES[1].id}; route converse; max_output_tokens 64000; }
`;
}

let emu;
let bd;
let recordPath;
let workDir;

before(async () => {
    const dir = makeTempDir('bd-claude-code-');
    recordPath = path.join(dir, 'record.jsonl');
    workDir = path.join(dir, 'work');
    fs.mkdirSync(workDir);
    emu = await startEmulator({ args: ['--record', recordPath] });
    bd = await startBedrockd({ conf: conf(emu.url) });
});

/* The requests that reached the emulator so far. */
function records() {
    if (!fs.existsSync(recordPath)) {
        return [];
    }
    return fs.readFileSync(recordPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

/*
 * Runs `claude -p <prompt> --model <model> [...extra]` with its own HOME (<home>) and
 * only the environment given here. Resolves { code, stdout, stderr, requests } where
 * requests are the records it caused.
 */
async function claude(prompt, { model, home, extra = [], cwd = workDir }) {
    const before = records().length;
    const env = {
        PATH: process.env.PATH,
        HOME: home,
        LANG: 'C.UTF-8',
        ANTHROPIC_BASE_URL: bd.url,
        ANTHROPIC_API_KEY: KEY,
        DISABLE_TELEMETRY: '1',
        DISABLE_AUTOUPDATER: '1',
        DISABLE_ERROR_REPORTING: '1',
        DISABLE_BUG_COMMAND: '1',
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    };
    const proc = spawn(CLAUDE, ['-p', prompt, '--model', model, ...extra], {
        cwd, env, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (c) => { stdout += c; });
    proc.stderr.on('data', (c) => { stderr += c; });
    const exited = new Promise((resolve) => proc.on('close', (code) => resolve(code)));
    let code;
    try {
        code = await withTimeout(exited, RUN_TIMEOUT_MS, `claude -p (${model})`);
    } finally {
        if (proc.exitCode === null) {
            proc.kill('SIGKILL');
        }
    }
    return { code, stdout, stderr, requests: records().slice(before) };
}

function freshHome() {
    return makeTempDir('bd-claude-home-');
}

/* The Messages-shaped view of a recorded request, whichever route it took. */
function view(rec) {
    const b = rec.body;
    if (rec.operation.startsWith('invoke')) {
        return {
            betas: b.anthropic_beta ?? [],
            contextManagement: b.context_management,
            thinking: b.thinking,
            toolNames: (b.tools ?? []).map((t) => t.name),
            deferred: (b.tools ?? []).filter((t) => t.defer_loading).map((t) => t.name),
            messages: b.messages,
            text: JSON.stringify(b.messages),
        };
    }
    const add = b.additionalModelRequestFields ?? {};
    return {
        betas: add.anthropic_beta ?? [],
        contextManagement: add.context_management,
        thinking: add.thinking,
        toolNames: (b.toolConfig?.tools ?? []).filter((t) => t.toolSpec).map((t) => t.toolSpec.name),
        deferred: [],
        messages: b.messages,
        text: JSON.stringify(b.messages),
    };
}

for (const r of ROUTES) {
    describe(`Claude Code on the ${r.route} route [${r.model}]`, () => {
        test('a plain prompt: answer printed; betas and gated members as the family says', async () => {
            const res = await claude(`Say the word. [[emu:echo text=PLAIN-${r.route}]]`,
                                     { model: r.model, home: freshHome() });
            assert.equal(res.code, 0, res.stderr + res.stdout);
            assert.match(res.stdout, new RegExp(`PLAIN-${r.route}`));
            assert.equal(res.requests.length, 1, JSON.stringify(res.requests.map((q) => q.operation)));
            const q = res.requests[0];
            assert.equal(q.model, r.id);
            assert.equal(q.operation, r.route === 'invoke' ? 'invoke-with-response-stream'
                                                             : 'converse-stream');
            const v = view(q);
            /* Claude Code's own betas that Bedrock does not take are not sent. */
            assert.ok(!v.betas.includes('claude-code-20250219'), v.betas.join());
            assert.ok(v.betas.includes('interleaved-thinking-2025-05-14'), v.betas.join());
            assert.ok(v.betas.includes('context-management-2025-06-27'), v.betas.join());
            assert.deepEqual(v.contextManagement?.edits?.[0]?.type, 'clear_thinking_20251015');
            assert.equal(v.thinking?.type, 'enabled');
            assert.ok(v.toolNames.includes('Read'));
            if (r.route === 'invoke') {
                /* Sonnet 4.5 has tool search on Bedrock: advanced-tool-use is renamed, and
                 * the deferred placeholder goes to the model as Claude Code sent it. */
                assert.ok(v.betas.includes('tool-search-tool-2025-10-19'), v.betas.join());
                assert.ok(!v.betas.includes('advanced-tool-use-2025-11-20'));
                assert.ok(v.deferred.length >= 1, 'deferred tools passed with tool search');
            } else {
                /* Converse has no deferred tools: they are left out of what the model sees. */
                assert.ok(!v.betas.includes('tool-search-tool-2025-10-19'));
                assert.ok(!v.toolNames.includes('DeferredToolPlaceholder'), v.toolNames.join());
            }
            const m = await httpRequest(`${bd.url}/metrics`);
            const line = m.body.split('\n').find((l) =>
                l.startsWith(`bedrockd_betas_dropped_total{model="${r.id}"}`));
            assert.ok(line && Number(line.split(' ').pop()) >= 1, 'dropped betas are counted');
            await bd.waitForLog(/anthropic-beta not accepted by .*claude-code-20250219/);
        });

        test('a tool round trip: Read of a file the test wrote', async () => {
            const secret = `secret-${r.route}-${process.pid}`;
            const file = path.join(workDir, `note-${r.route}.txt`);
            fs.writeFileSync(file, `${secret}\n`);
            const input = encodeURIComponent(JSON.stringify({ file_path: file }));
            const res = await claude(`Read the note. [[emu:tool name=Read input=${input}]]`,
                                     { model: r.model, home: freshHome(),
                                       extra: ['--allowedTools', 'Read'] });
            assert.equal(res.code, 0, res.stderr + res.stdout);
            assert.ok(res.requests.length >= 2, 'a second call carries the tool result');
            const last = view(res.requests[res.requests.length - 1]);
            assert.ok(last.text.includes(secret), 'the file content went back as the tool result');
            assert.match(res.stdout, new RegExp(secret)); /* the echo of the tool result */
        });

        test('thinking, then the session continued with its signature (--continue)', async () => {
            const home = freshHome();
            const cwd = makeTempDir('bd-claude-cwd-');
            const first = await claude(`Think first. [[emu:reasoning]] FIRST-${r.route}`,
                                       { model: r.model, home, cwd });
            assert.equal(first.code, 0, first.stderr + first.stdout);
            assert.match(first.stdout, new RegExp(`FIRST-${r.route}`));
            const second = await claude(`[[emu:echo text=SECOND-${r.route}]]`,
                                        { model: r.model, home, cwd, extra: ['--continue'] });
            assert.equal(second.code, 0, second.stderr + second.stdout);
            assert.match(second.stdout, new RegExp(`SECOND-${r.route}`));
            const v = view(second.requests[second.requests.length - 1]);
            assert.ok(v.text.includes(`FIRST-${r.route}`), 'the first turn is in the history');
            /* The assistant turn came back with its thinking block and signature. */
            const signed = r.route === 'invoke'
                ? v.messages.some((m) => m.role === 'assistant' && Array.isArray(m.content) &&
                                  m.content.some((b) => b.type === 'thinking' && b.signature))
                : v.messages.some((m) => m.role === 'assistant' &&
                                  m.content.some((b) => b.reasoningContent?.reasoningText?.signature));
            assert.ok(signed, 'thinking and its signature carried into the second turn');
        });
    });
}

/* Runs last: it changes the configuration. */
describe('operators edit betas per model; a reload applies it', () => {
    test('add, rename and drop on top of the family, effective on SIGHUP', async () => {
        const betas = 'interleaved-thinking-2025-05-14,context-management-2025-06-27,' +
                      'effort-2025-11-24';
        const send = async () => {
            const before = records().length;
            const res = await httpRequest(`${bd.url}/v1/messages`, {
                method: 'POST',
                headers: { 'content-type': 'application/json', 'x-api-key': KEY,
                           'anthropic-beta': betas },
                body: JSON.stringify({ model: ROUTES[0].model, max_tokens: 16,
                                       messages: [{ role: 'user', content: 'betas' }] }),
            });
            assert.equal(res.status, 200, res.body);
            return records().slice(before)[0].body.anthropic_beta;
        };
        /* the family: effort is not Sonnet 4.5's on Bedrock */
        assert.deepEqual(await send(), ['interleaved-thinking-2025-05-14',
                                        'context-management-2025-06-27']);
        const r = await bd.reload(conf(emu.url, 'betas effort-2025-11-24; ' +
            'beta_drop context-management-2025-06-27; ' +
            'beta_rename interleaved-thinking-2025-05-14 dev-full-thinking-2025-05-14;'));
        assert.ok(r.ok, r.line);
        assert.deepEqual(await send(), ['dev-full-thinking-2025-05-14', 'effort-2025-11-24']);
    });
});
