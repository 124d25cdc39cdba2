/*
 * cdp.mjs: headless Chromium driven over the DevTools protocol on a pipe
 * (--remote-debugging-pipe: commands on fd 3, replies on fd 4, each message a
 * JSON text ended by a NUL byte), so that no WebSocket client is needed.
 * One page per browser; every wait is bounded.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';

import { makeTempDir, waitUntil, withTimeout } from './harness.mjs';

/* The Chromium binary: BD_CHROMIUM, else Debian's. Null when there is none. */
export function chromiumPath() {
    for (const p of [process.env.BD_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser']) {
        if (p && fs.existsSync(p)) {
            return p;
        }
    }
    return null;
}

/*
 * Starts the browser with one blank page. Resolves { send(method, params),
 * evaluate(expression), close() }; send() talks to the page's session.
 */
export async function startChromium({ timeoutMs = 20000 } = {}) {
    const profile = makeTempDir('bd-chromium-');
    const proc = spawn(chromiumPath(), [
        '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
        '--no-default-browser-check', '--disable-extensions', '--disable-background-networking',
        '--disable-dev-shm-usage', '--remote-debugging-pipe', `--user-data-dir=${profile}`,
        'about:blank',
    ], { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
    let stderr = '';
    proc.stderr.on('data', (c) => {
        stderr += c;
    });
    const exited = new Promise((resolve) => proc.on('exit', resolve));
    const toBrowser = proc.stdio[3];
    const fromBrowser = proc.stdio[4];
    let nextId = 1;
    const pending = new Map();
    let buf = Buffer.alloc(0);
    fromBrowser.on('data', (chunk) => {
        buf = Buffer.concat([buf, chunk]);
        let nul;
        while ((nul = buf.indexOf(0)) >= 0) {
            const msg = JSON.parse(buf.subarray(0, nul).toString('utf8'));
            buf = buf.subarray(nul + 1);
            const p = pending.get(msg.id);
            if (p) {
                pending.delete(msg.id);
                if (msg.error) {
                    p.reject(new Error(`${p.method}: ${msg.error.message}`));
                } else {
                    p.resolve(msg.result);
                }
            }
        }
    });
    function raw(method, params = {}, sessionId) {
        const id = nextId++;
        const msg = { id, method, params };
        if (sessionId) {
            msg.sessionId = sessionId;
        }
        const reply = new Promise((resolve, reject) => pending.set(id, { resolve, reject, method }));
        toBrowser.write(`${JSON.stringify(msg)}\0`);
        return withTimeout(reply, timeoutMs, `chromium ${method}; stderr: ${stderr}`);
    }
    const { targetId } = await raw('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = await raw('Target.attachToTarget', { targetId, flatten: true });
    const send = (method, params) => raw(method, params, sessionId);
    return {
        send,
        async evaluate(expression) {
            const r = await send('Runtime.evaluate', { expression, returnByValue: true });
            if (r.exceptionDetails) {
                throw new Error(`evaluate ${expression}: ${r.exceptionDetails.text}`);
            }
            return r.result.value;
        },
        /* Navigates and waits until document.readyState is complete. */
        async open(url) {
            await send('Page.navigate', { url });
            await waitUntil(async () => {
                const r = await send('Runtime.evaluate', {
                    expression: `location.href === ${JSON.stringify(url)} && document.readyState`,
                    returnByValue: true,
                });
                return r.result.value === 'complete';
            }, { timeoutMs, what: `${url} loaded` });
        },
        async close() {
            try {
                await raw('Browser.close');
            } catch {
                proc.kill('SIGKILL');
            }
            await withTimeout(exited, timeoutMs, 'chromium exit').catch(() => proc.kill('SIGKILL'));
            fs.rmSync(profile, { recursive: true, force: true });
        },
    };
}
