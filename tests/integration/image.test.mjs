/*
 * The container image as deploy/image.sh builds it (podman, no registry), run on
 * the host's network in front of bedrock-emulator: the README's model names
 * through the official Anthropic and OpenAI SDKs, /ready, JSON access lines on
 * stdout, the HEALTHCHECK probe, and a stop that drains a live stream and exits 0.
 * Skipped, with the reason, where podman is missing or cannot run containers.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { EMULATOR_CREDENTIALS, OutputLog, binaryFromEnv, freePort, httpRequest, httpStream,
         startEmulator, withTimeout } from './lib/harness.mjs';

const { default: Anthropic } = await import('@anthropic-ai/sdk');
const { default: OpenAI } = await import('openai');

const TOP = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TAG = `localhost/bedrock-gateway-test:${process.pid}`;
const NAME = `bedrockd-image-test-${process.pid}`;
const MASTER_KEY = `sk-bd-${randomBytes(16).toString('hex')}`;
const MAX_IMAGE_BYTES = 40e6;
/* Generous bounds for a shared 2-core machine; nothing here is timed. */
const BUILD_MS = 120000;
const START_MS = 30000;

function podman(args, opts = {}) {
    return spawnSync('podman', args, { encoding: 'utf8', timeout: 60000, ...opts });
}

/* Why the image cannot be tested here, or null. */
function whyNot() {
    if (spawnSync('podman', ['--version']).error) {
        return 'podman is not installed (deploy/deps.sh test installs it where Debian has it)';
    }
    if (process.getuid() !== 0) {
        return 'deploy/image.sh needs root';
    }
    const bin = binaryFromEnv('BD_BEDROCKD', 'bedrockd');
    const ldd = spawnSync('ldd', [bin], { encoding: 'utf8' });
    if (/libasan|libubsan/.test(ldd.stdout)) {
        return 'bedrockd is a sanitizer build; the image is tested in the release build';
    }
    return null;
}

const reason = whyNot();
if (reason) {
    console.log(`# SKIP image test: ${reason}`);
}

describe('container image (deploy/image.sh)', { skip: reason ?? false }, () => {
    let runtimeArgs = null; /* podman run options that work on this host */
    let emu;

    before(async () => {
        const build = spawnSync(path.join(TOP, 'deploy/image.sh'), [TAG], {
            encoding: 'utf8',
            timeout: BUILD_MS,
            env: { ...process.env, BD_IMAGE_BIN_DIR: path.dirname(process.env.BD_BEDROCKD) },
        });
        assert.equal(build.status, 0, `deploy/image.sh failed:\n${build.stdout}${build.stderr}`);
        console.log(`# ${build.stdout.trim().split('\n').pop()}`);
        /* crun cannot run in a cgroup v1/v2 hybrid (some CI sandboxes), and podman's
         * default rlimits may exceed the host's: try the default, then runc with
         * limits the host allows. */
        const candidates = [[], ['--runtime', 'runc', '--ulimit', 'nofile=4096:4096',
                                 '--ulimit', 'nproc=4096:4096']];
        const errors = [];
        for (const args of candidates) {
            const r = podman(['run', '--rm', '--no-healthcheck', ...args, '--entrypoint',
                              '/usr/local/sbin/bedrockd', TAG, '-v']);
            if (r.status === 0) {
                runtimeArgs = args;
                break;
            }
            errors.push(`${args.join(' ') || 'default runtime'}: ${r.stderr.trim()}`);
        }
        assert.ok(runtimeArgs, `podman cannot run the image here:\n${errors.join('\n')}`);
        emu = await startEmulator();
    });

    after(() => {
        podman(['rm', '-f', '-t', '0', NAME]);
        podman(['rmi', '-f', TAG]);
    });

    test('is small, runs as uid 10001 and keeps its HEALTHCHECK', () => {
        const r = podman(['image', 'inspect', TAG]);
        assert.equal(r.status, 0, r.stderr);
        const img = JSON.parse(r.stdout)[0];
        console.log(`# image size: ${(img.Size / 1e6).toFixed(1)} MB`);
        assert.ok(img.Size < MAX_IMAGE_BYTES, `image is ${img.Size} bytes`);
        assert.equal(img.Config.User, '10001:10001');
        /* podman shows it beside Config, docker inside it */
        assert.deepEqual((img.Healthcheck ?? img.Config.Healthcheck)?.Test,
                         ['CMD', '/usr/bin/curl', '-fsS', '-o', '/dev/null',
                          'http://127.0.0.1:8080/health']);
        assert.deepEqual(img.Config.Entrypoint,
                         ['/usr/local/sbin/bedrockd', '-c', '/etc/bedrockd/bedrockd.conf']);
    });

    test('serves both APIs with the README model names, then drains and exits 0', async () => {
        const env = {
            BEDROCKD_LISTEN: '127.0.0.1:0',
            BEDROCKD_METRICS_LISTEN: `127.0.0.1:${await freePort()}`, /* not 9090 of the host */
            BEDROCKD_WORKER_THREADS: '2',
            BEDROCKD_SHUTDOWN_TIMEOUT: '30s',
            BEDROCKD_MASTER_KEY: MASTER_KEY,
            AWS_REGION: EMULATOR_CREDENTIALS.region,
            AWS_ACCESS_KEY_ID: EMULATOR_CREDENTIALS.accessKeyId,
            AWS_SECRET_ACCESS_KEY: EMULATOR_CREDENTIALS.secretAccessKey,
            AWS_ENDPOINT_URL: emu.url,
            AWS_EC2_METADATA_DISABLED: 'true',
        };
        /* Variables are passed by name, so the key is not on a command line. */
        const proc = spawn('podman', ['run', '--rm', '--name', NAME, '--network', 'host',
                                      '--no-healthcheck', ...runtimeArgs,
                                      ...Object.keys(env).flatMap((k) => ['-e', k]), TAG],
                           { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
        const exited = new Promise((resolve) => proc.on('exit', (code) => resolve(code)));
        const errLog = new OutputLog(proc.stderr, 'container stderr');
        const outLog = new OutputLog(proc.stdout, 'container stdout');
        try {
            /* Both logs are on stdout, one JSON object a line (the container conf). */
            const m = await outLog.waitFor(/listening on 127\.0\.0\.1:(\d+)/, { timeoutMs: START_MS });
            await outLog.waitFor(/bedrockd \S+ started/, { timeoutMs: START_MS });
            const url = `http://127.0.0.1:${m[1]}`;

            const ready = await httpRequest(`${url}/ready`);
            assert.equal(ready.status, 200, ready.body);

            const anthropic = new Anthropic({ baseURL: url, apiKey: MASTER_KEY, maxRetries: 0 });
            const msg = await anthropic.messages.create({
                model: 'claude-sonnet-4-5', max_tokens: 64,
                messages: [{ role: 'user', content: 'hello from the image' }],
            });
            assert.equal(msg.content[0].text, 'hello from the image');

            const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 });
            const chat = await openai.chat.completions.create({
                model: 'claude-haiku-4-5',
                messages: [{ role: 'user', content: 'hello through openai' }],
            });
            assert.equal(chat.choices[0].message.content, 'hello through openai');

            const bad = await httpRequest(`${url}/v1/messages`, {
                method: 'POST',
                headers: { 'x-api-key': 'sk-bd-not-a-key-0000000000', 'content-type': 'application/json',
                           'anthropic-version': '2023-06-01' },
                body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 8,
                                       messages: [{ role: 'user', content: 'x' }] }),
            });
            assert.equal(bad.status, 401);

            const line = await outLog.waitFor(/^\{.*"path":"\/v1\/chat\/completions".*\}$/m);
            assert.equal(JSON.parse(line[0]).status, 200);
            assert.ok(!outLog.text.includes(MASTER_KEY) && !errLog.text.includes(MASTER_KEY));

            /* The HEALTHCHECK's probe works inside the image (its libraries are there). */
            const probe = podman(['exec', NAME, '/usr/bin/curl', '-fsS', `${url}/health`]);
            assert.equal(probe.status, 0, probe.stderr);

            /* A stream in flight when the orchestrator stops the container finishes. */
            const words = Array.from({ length: 12 }, (_, i) => `w${i}`).join(' ');
            const s = await httpStream(`${url}/v1/messages`, {
                headers: { 'x-api-key': MASTER_KEY, 'content-type': 'application/json',
                           'anthropic-version': '2023-06-01' },
                body: JSON.stringify({
                    model: 'claude-sonnet-4-5', max_tokens: 64, stream: true,
                    messages: [{ role: 'user', content: `[[emu:slow delay_ms=150]]${words}` }],
                }),
            });
            assert.equal(s.status, 200);
            await s.log.waitFor(/"text_delta"/);
            const stop = podman(['stop', '-t', '60', NAME], { timeout: 90000 });
            assert.equal(stop.status, 0, stop.stderr);
            const done = await withTimeout(s.done, 30000, 'the stream to end');
            assert.ok(done.complete, 'the stream was cut');
            assert.match(done.text, /event: message_stop/);
            assert.equal(await withTimeout(exited, 30000, 'podman run to exit'), 0);
            assert.match(outLog.text, /draining: \d+ requests? in flight/);
            assert.match(outLog.text, /drained, exiting/);
            const lines = outLog.text.split('\n').filter((l) => l !== '');
            for (const l of lines) {
                assert.doesNotThrow(() => JSON.parse(l), `not a JSON line: ${l}`);
            }
            const started = lines.map((l) => JSON.parse(l)).find((o) => /started/.test(o.message ?? ''));
            assert.equal(started.level, 'notice');
            assert.equal(started.thread, 'main');
            assert.equal(errLog.text, '', 'bedrockd wrote to stderr');
        } finally {
            podman(['rm', '-f', '-t', '0', NAME]);
        }
    });
});
