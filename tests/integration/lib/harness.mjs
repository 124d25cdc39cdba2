/*
 * harness.mjs: starts the real bedrockd and bedrock-emulator binaries for the
 * integration tests and gives the tests event-driven ways to wait on them.
 *
 * Binaries come from the environment: BD_BEDROCKD (bedrockd) and BD_EMULATOR
 * (bedrock-emulator); CTest sets both. Every wait is bounded and driven by
 * events (process output, exit, sockets): nothing here sleeps to synchronise.
 * Every process started is killed when the test file ends, whatever happened.
 * Temporary directories are removed then too, unless BD_KEEP_TMP is set.
 *
 * Node 20 built-ins only.
 *
 *   const emu = await startEmulator({ t });            // bedrock-emulator, ephemeral port
 *   const d = await startBedrockd({ t, conf: (dir) =>
 *       `listen 127.0.0.1:0;\nbedrock {\n    endpoint ${emu.url};\n}\n` });
 *   const res = await httpRequest(d.url + '/health');  // { status, headers, body, json }
 *   const s = await httpStream(d.url + '/v1/messages', { headers, body });
 *   await s.log.waitFor(/event: message_start/);
 *   await d.reload(newConfText);                        // resolves { ok, line }
 *   const code = await d.stop();                        // SIGTERM, resolves the exit code
 *
 * Exports: startBedrockd, runBedrockd, startEmulator, runBinary, awsTestEnv,
 * EMULATOR_CREDENTIALS, httpRequest, httpStream, openConnection (one keep-alive
 * socket), waitUntil, withTimeout, canConnect, freePort, makeTempDir, OutputLog,
 * binaryFromEnv, DEFAULT_TIMEOUT_MS. Set BD_TEST_VERBOSE to echo child output.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** Default bound for waits on a process (start, log line, exit), in ms. */
export const DEFAULT_TIMEOUT_MS = 10000;

const live = new Set(); /* child processes not yet seen exiting */
const tempDirs = [];

function killLeftovers() {
    for (const proc of live) {
        try {
            proc.kill('SIGKILL');
        } catch {
            /* already gone */
        }
    }
    live.clear();
}

function removeTempDirs() {
    if (process.env.BD_KEEP_TMP) {
        return;
    }
    for (const dir of tempDirs.splice(0)) {
        /* A killed browser's helpers may still be writing its profile for a moment
         * (ENOTEMPTY): retry, and never let a leftover directory fail the tests. */
        try {
            fs.rmSync(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 50 });
        } catch (e) {
            process.stderr.write(`harness: ${dir} left behind: ${e.code ?? e.message}\n`);
        }
    }
}

/* Under the test runner, leftovers die when the file's tests are over (a live
 * child would keep the file's process from ending); in any program they die,
 * synchronously, when the process exits. Plain scripts (demos, benchmarks) do not
 * load node:test, which would print a TAP report of zero tests. */
if (process.env.NODE_TEST_CONTEXT || process.execArgv.includes('--test')) {
    const { after } = await import('node:test');
    after(() => {
        killLeftovers();
        removeTempDirs();
    });
}
process.on('exit', () => {
    killLeftovers();
    removeTempDirs();
});

/** Returns the path of a binary named by env <name>; throws a clear error when unset. */
export function binaryFromEnv(name, what) {
    const p = process.env[name];
    if (!p) {
        throw new Error(`${name} is not set: point it at the ${what} binary ` +
                        `(ctest sets it; by hand: ${name}=build/... node --test ...)`);
    }
    try {
        fs.accessSync(p, fs.constants.X_OK);
    } catch {
        throw new Error(`${name}=${p} is not an executable file`);
    }
    return p;
}

/** Creates a fresh directory under the system temp dir, removed when the file ends. */
export function makeTempDir(prefix = 'bd-it-') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    tempDirs.push(dir);
    return dir;
}

/**
 * Text collected from a stream (a child's stderr or stdout), with waits on it.
 * Offsets are character positions in <text>; mark() returns the current end so
 * that a later wait only looks at what came after it.
 */
export class OutputLog {
    constructor(stream, name) {
        this.name = name;
        this.text = '';
        this.ended = false;
        this.waiters = new Set();
        stream.setEncoding('utf8');
        stream.on('data', (chunk) => {
            this.text += chunk;
            if (process.env.BD_TEST_VERBOSE) {
                process.stderr.write(`[${name}] ${chunk}`);
            }
            this.wake();
        });
        /* Resolves once the stream has ended or closed (the other side closed
         * its end, or the connection broke). */
        this.done = new Promise((resolve) => {
            const finish = () => {
                this.ended = true;
                this.wake();
                resolve();
            };
            stream.on('end', finish);
            stream.on('close', finish);
            stream.on('error', () => {}); /* a broken response ends like a closed one */
        });
    }

    wake() {
        for (const w of [...this.waiters]) {
            w();
        }
    }

    /** The end of the text so far; pass it as `from` to wait only for newer lines. */
    mark() {
        return this.text.length;
    }

    /** Every match of <re> (global flag added) in the text from offset <from>. */
    matchAll(re, from = 0) {
        const g = new RegExp(re.source, re.flags.includes('g') ? re.flags : re.flags + 'g');
        return [...this.text.slice(from).matchAll(g)];
    }

    /**
     * Resolves the first match of <re> in the text from <from> on, as soon as it
     * appears; rejects when the stream ends without it or after <timeoutMs>.
     */
    waitFor(re, { from = 0, timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
        return new Promise((resolve, reject) => {
            let timer = null;
            const check = () => {
                const m = re.exec(this.text.slice(from));
                if (m) {
                    finish();
                    resolve(m);
                } else if (this.ended) {
                    finish();
                    reject(new Error(`${this.name} ended without ${re}; it said:\n${this.text}`));
                }
            };
            const finish = () => {
                clearTimeout(timer);
                this.waiters.delete(check);
            };
            timer = setTimeout(() => {
                finish();
                reject(new Error(`no ${re} from ${this.name} within ${timeoutMs} ms; ` +
                                 `it said:\n${this.text}`));
            }, timeoutMs);
            this.waiters.add(check);
            check();
        });
    }
}

/*
 * Spawns <bin> and tracks it: <exited> resolves { code, signal } once it is gone.
 * stdin is closed; stdout and stderr are collected.
 */
function spawnTracked(bin, args, env, cwd) {
    const proc = spawn(bin, args, {
        cwd,
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
    });
    live.add(proc);
    const stderr = new OutputLog(proc.stderr, `${path.basename(bin)} stderr`);
    const exited = new Promise((resolve) => {
        proc.on('exit', (code, signal) => {
            live.delete(proc);
            /* A sanitizer's report is the only account of why a child died with
             * exit code 66 or 1: show it, since the test sees only the symptom. */
            stderr.done.then(() => reportSanitizer(bin, stderr.text));
            resolve({ code, signal });
        });
        proc.on('error', (err) => {
            live.delete(proc);
            resolve({ code: null, signal: null, error: err });
        });
    });
    return {
        proc,
        exited,
        stdout: new OutputLog(proc.stdout, `${path.basename(bin)} stdout`),
        stderr,
    };
}

const SANITIZER_REPORT = /^(==\d+==ERROR: \w+Sanitizer|WARNING: ThreadSanitizer|\S+:\d+:\d+: runtime error:)/m;

/* Writes a child's sanitizer report, from its first line on, to the test's stderr. */
function reportSanitizer(bin, text) {
    const m = SANITIZER_REPORT.exec(text);
    if (m) {
        process.stderr.write(`harness: ${path.basename(bin)} reported:\n${text.slice(m.index)}\n`);
    }
}

/** Resolves <promise>, or rejects with <what> after <timeoutMs>. */
export function withTimeout(promise, timeoutMs, what) {
    let timer;
    const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms: ${what}`)),
                           timeoutMs);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Runs <bin> with <args> to completion (for -t, -T, -v, -h, -s).
 * Resolves { code, signal, stdout, stderr }.
 */
export async function runBinary(bin, args, { env = {}, cwd, timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
    const t = spawnTracked(bin, args, env, cwd);
    const res = await withTimeout(t.exited, timeoutMs, `${bin} ${args.join(' ')}`);
    /* Output pipes may close just after the exit event. */
    await withTimeout(Promise.all([t.stdout.done, t.stderr.done]), timeoutMs, `output of ${bin}`);
    return { ...res, stdout: t.stdout.text, stderr: t.stderr.text };
}

/** Runs bedrockd (BD_BEDROCKD) with <args> to completion; see runBinary. */
export function runBedrockd(args, opts) {
    return runBinary(binaryFromEnv('BD_BEDROCKD', 'bedrockd'), args, opts);
}

/** The credentials and region bedrock-emulator accepts by default. */
export const EMULATOR_CREDENTIALS = Object.freeze({
    accessKeyId: 'AKIDEXAMPLE',
    secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
    region: 'us-east-1',
});

/**
 * Environment for a bedrockd that must not find the machine's AWS setup: every
 * inherited AWS_* variable is removed, the emulator's static credentials and
 * region are set, the shared config files point at nothing and IMDS is off.
 * Anything in <overrides> wins (undefined removes a variable).
 */
export function awsTestEnv(dir, overrides = {}) {
    const env = {};
    for (const k of Object.keys(process.env)) {
        if (k.startsWith('AWS_')) {
            env[k] = undefined;
        }
    }
    Object.assign(env, {
        AWS_ACCESS_KEY_ID: EMULATOR_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: EMULATOR_CREDENTIALS.secretAccessKey,
        AWS_REGION: EMULATOR_CREDENTIALS.region,
        AWS_CONFIG_FILE: path.join(dir, 'no-aws-config'),
        AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'no-aws-credentials'),
        AWS_EC2_METADATA_DISABLED: 'true',
    }, overrides);
    return env;
}

/** Writes <conf> (a string, or a function of the directory returning one) to <file>. */
function writeConf(file, conf, dir) {
    const text = typeof conf === 'function' ? conf(dir) : conf;
    fs.writeFileSync(file, text);
    return text;
}

/**
 * Starts bedrockd on a configuration written to a fresh temp directory.
 *
 * options:
 *   conf       string, or function(dir) -> string (dir: the temp directory, for
 *              pid, log and include paths). Use `listen 127.0.0.1:0;` for an
 *              ephemeral port; the error log must stay on stderr (the default).
 *   env        extra environment variables (undefined removes one); they apply
 *              over awsTestEnv(dir) unless awsEnv is false
 *   awsEnv     default true: run with awsTestEnv(dir) (the emulator's static
 *              credentials, nothing from the machine); false inherits AWS_*
 *   args       extra command-line arguments (after `-c FILE`)
 *   t          a node:test context: the daemon is killed when that test ends
 *   timeoutMs  bound on the start (default DEFAULT_TIMEOUT_MS)
 *
 * Resolves, once the "started" line is logged, an object with:
 *   port, ports        the first / every port from the `listening on` lines
 *   url, urls          http://127.0.0.1:PORT for each
 *   pid, proc, dir, confPath
 *   log                OutputLog of stderr (the error log); stdout: OutputLog
 *   stderr             (getter) the error log text so far
 *   waitForLog(re, {from, timeoutMs})  first match of <re> after offset <from>
 *   mark()             offset of the end of the error log so far
 *   signal(sig)        sends a signal
 *   exited             promise of { code, signal }
 *   writeConf(conf)    rewrites the configuration file (string or function)
 *   reload(conf?)      optionally rewrites the conf, sends SIGHUP, resolves
 *                      { ok, line } from "configuration reloaded" or "reload failed"
 *   stop(sig='SIGTERM', timeoutMs)  sends <sig>, resolves the exit code (null
 *                      when killed by a signal)
 */
export async function startBedrockd({ conf, env = {}, args = [], awsEnv = true, t,
                                      timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
    const bin = binaryFromEnv('BD_BEDROCKD', 'bedrockd');
    if (conf === undefined) {
        throw new Error('startBedrockd: conf is required');
    }
    const dir = makeTempDir('bd-bedrockd-');
    const confPath = path.join(dir, 'bedrockd.conf');
    writeConf(confPath, conf, dir);

    const fullEnv = awsEnv ? { ...awsTestEnv(dir), ...env } : env;
    const child = spawnTracked(bin, ['-c', confPath, ...args], fullEnv, dir);
    const log = child.stderr;
    const d = {
        dir,
        confPath,
        proc: child.proc,
        pid: child.proc.pid,
        log,
        stdout: child.stdout,
        exited: child.exited,
        get stderr() {
            return log.text;
        },
        mark: () => log.mark(),
        waitForLog: (re, opts) => log.waitFor(re, opts),
        signal: (sig) => child.proc.kill(sig),
        writeConf: (c) => writeConf(confPath, c, dir),
        async reload(c, { timeoutMs: ms = DEFAULT_TIMEOUT_MS } = {}) {
            if (c !== undefined) {
                d.writeConf(c);
            }
            const from = log.mark();
            child.proc.kill('SIGHUP');
            const m = await log.waitFor(/^.*(configuration reloaded|reload failed).*$/m,
                                        { from, timeoutMs: ms });
            return { ok: m[1] === 'configuration reloaded', line: m[0] };
        },
        async stop(sig = 'SIGTERM', { timeoutMs: ms = DEFAULT_TIMEOUT_MS } = {}) {
            if (child.proc.exitCode === null && child.proc.signalCode === null) {
                child.proc.kill(sig);
            }
            const res = await withTimeout(child.exited, ms, `bedrockd exit after ${sig}`);
            return res.code;
        },
    };
    if (t) {
        t.after(() => {
            if (live.has(child.proc)) {
                child.proc.kill('SIGKILL');
            }
        });
    }

    try {
        await log.waitFor(/bedrockd \S+ started/, { timeoutMs });
    } catch (err) {
        child.proc.kill('SIGKILL');
        throw err;
    }
    d.ports = log.matchAll(/listening on 127\.0\.0\.1:(\d+)/).map((m) => Number(m[1]));
    if (d.ports.length === 0) {
        throw new Error('bedrockd started without a "listening on 127.0.0.1:PORT" line:\n' +
                        log.text);
    }
    d.port = d.ports[0];
    d.urls = d.ports.map((p) => `http://127.0.0.1:${p}`);
    d.url = d.urls[0];
    return d;
}

/**
 * Starts bedrock-emulator (BD_EMULATOR) on an ephemeral loopback port.
 *
 * options: args (extra command-line arguments, e.g. ['--ttft-ms', '500']; the
 * listen address is always 127.0.0.1:0), env, t, timeoutMs, as for startBedrockd.
 * It accepts EMULATOR_CREDENTIALS unless told otherwise. It announces itself on
 * stdout with `bedrock-emulator listening on 127.0.0.1:PORT`.
 * h2: also serve HTTP/2 over TLS (ALPN h2, as Bedrock Runtime), on a certificate for
 * 127.0.0.1 made for this run; h2Url and caFile (the PEM to trust) say where.
 *
 * Resolves { port, url, h2Url, caFile, pid, proc, dir, stdout, stderr (OutputLogs),
 * exited, stop(sig='SIGTERM') -> exit code }.
 */
export async function startEmulator({ args = [], env = {}, t, timeoutMs = DEFAULT_TIMEOUT_MS,
                                      h2 = false } = {}) {
    const bin = binaryFromEnv('BD_EMULATOR', 'bedrock-emulator');
    const dir = makeTempDir('bd-emulator-');
    const caFile = path.join(dir, 'cert.pem');
    if (h2) {
        execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt',
                                 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
                                 '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
                                 '-keyout', path.join(dir, 'key.pem'), '-out', caFile],
                     { stdio: 'ignore' });
        args = ['--h2', '0', '--tls-cert', caFile, '--tls-key', path.join(dir, 'key.pem'),
                ...args];
    }
    const child = spawnTracked(bin, ['--listen', '127.0.0.1:0', ...args], env, dir);
    if (t) {
        t.after(() => {
            if (live.has(child.proc)) {
                child.proc.kill('SIGKILL');
            }
        });
    }
    let m;
    try {
        m = await Promise.race([
            child.stdout.waitFor(/bedrock-emulator listening on 127\.0\.0\.1:(\d+)/, { timeoutMs }),
            child.exited.then(() => {
                throw new Error(`bedrock-emulator exited at start:\n${child.stderr.text}`);
            }),
        ]);
    } catch (err) {
        child.proc.kill('SIGKILL');
        throw err;
    }
    const port = Number(m[1]);
    /* the h2 line comes in the same write as the first */
    const h2m = h2 ? /bedrock-emulator h2 on 127\.0\.0\.1:(\d+)/.exec(child.stdout.text) : null;
    return {
        port,
        url: `http://127.0.0.1:${port}`,
        h2Url: h2m ? `https://127.0.0.1:${h2m[1]}` : undefined,
        caFile: h2 ? caFile : undefined,
        pid: child.proc.pid,
        proc: child.proc,
        dir,
        stdout: child.stdout,
        stderr: child.stderr,
        exited: child.exited,
        async stop(sig = 'SIGTERM', { timeoutMs: ms = DEFAULT_TIMEOUT_MS } = {}) {
            if (child.proc.exitCode === null && child.proc.signalCode === null) {
                child.proc.kill(sig);
            }
            return (await withTimeout(child.exited, ms, `emulator exit after ${sig}`)).code;
        },
    };
}

/**
 * One request on a new connection (node:http, no agent, so never a reused socket).
 * <body> may be a string or Buffer. Resolves { status, headers, body (string),
 * json (parsed when the body is JSON, else undefined) }; rejects on network errors.
 */
export function httpRequest(url, { method = 'GET', headers = {}, body, timeoutMs = DEFAULT_TIMEOUT_MS }
                            = {}) {
    return new Promise((resolve, reject) => {
        const req = http.request(url, { method, headers, agent: false }, (res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => resolve(finishResponse(res.statusCode, res.headers,
                                                       Buffer.concat(chunks))));
            res.on('error', reject);
        });
        req.setTimeout(timeoutMs, () => req.destroy(new Error(`no response from ${url}`)));
        req.on('error', reject);
        req.end(body);
    });
}

/**
 * A request whose response is read as it arrives (SSE streams). <body> may be a
 * string or Buffer. Resolves, once the status line and headers are in,
 * { status, headers, log, done, abort() }: log is an OutputLog of the body text
 * (log.waitFor(/event: message_stop/) ...), done resolves { text, complete }
 * when the body ends, complete being false when the connection broke first.
 */
export async function httpStream(url, { method = 'POST', headers = {}, body,
                                        timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
    const req = http.request(url, { method, headers, agent: false });
    const res = await withTimeout(new Promise((resolve, reject) => {
        req.once('response', resolve);
        req.once('error', reject);
        req.end(body);
    }), timeoutMs, `response headers from ${url}`);
    req.on('error', () => {}); /* reported through done.complete */
    const log = new OutputLog(res, `response of ${url}`);
    return {
        status: res.statusCode,
        headers: res.headers,
        log,
        done: log.done.then(() => ({ text: log.text, complete: res.complete })),
        abort: () => req.destroy(),
    };
}

function finishResponse(status, headers, buf) {
    const body = buf.toString('utf8');
    let json;
    try {
        json = JSON.parse(body);
    } catch {
        json = undefined;
    }
    return { status, headers, body, json };
}

/**
 * A single HTTP/1.1 connection that carries requests one after the other, so a
 * test knows every request went over the same socket (keep-alive). Answers with
 * Content-Length or chunked bodies are parsed.
 *
 *   const c = await openConnection(port);
 *   const r = await c.request({ path: '/health' });   // { status, headers, body, json }
 *   c.closed                                          // true once the server closed it
 *   c.close();
 */
export async function openConnection(port, { host = '127.0.0.1', timeoutMs = DEFAULT_TIMEOUT_MS }
                                     = {}) {
    const sock = net.connect({ host, port });
    await withTimeout(new Promise((resolve, reject) => {
        sock.once('connect', resolve);
        sock.once('error', reject);
    }), timeoutMs, `connect to ${host}:${port}`);

    const conn = {
        closed: false,
        buf: Buffer.alloc(0),
        pending: null, /* { tryParse, reject } of the request awaiting its answer */
        request(opts) {
            return connRequest(conn, sock, host, port, opts, timeoutMs);
        },
        close() {
            sock.destroy();
        },
    };
    sock.on('data', (chunk) => {
        conn.buf = Buffer.concat([conn.buf, chunk]);
        if (conn.pending) {
            conn.pending.tryParse();
        }
    });
    const onGone = (err) => {
        conn.closed = true;
        if (conn.pending) {
            conn.pending.tryParse();
            if (conn.pending) {
                conn.pending.reject(err || new Error('connection closed by the server'));
            }
        }
    };
    sock.on('end', () => onGone());
    sock.on('close', () => onGone());
    sock.on('error', (err) => onGone(err));
    return conn;
}

function connRequest(conn, sock, host, port, { method = 'GET', path: p = '/', headers = {}, body },
                     timeoutMs) {
    if (conn.pending) {
        return Promise.reject(new Error('openConnection: one request at a time'));
    }
    if (conn.closed) {
        return Promise.reject(new Error('connection closed by the server'));
    }
    const payload = body === undefined ? null : Buffer.from(body);
    const lines = [`${method} ${p} HTTP/1.1`, `Host: ${host}:${port}`];
    const names = Object.keys(headers).map((k) => k.toLowerCase());
    for (const [k, v] of Object.entries(headers)) {
        lines.push(`${k}: ${v}`);
    }
    if (payload && !names.includes('content-length')) {
        lines.push(`Content-Length: ${payload.length}`);
    }
    const head = Buffer.from(lines.join('\r\n') + '\r\n\r\n');
    return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
            conn.pending = null;
            reject(new Error(`no answer to ${method} ${p} within ${timeoutMs} ms`));
        }, timeoutMs);
        conn.pending = {
            tryParse() {
                const res = parseResponse(conn.buf, conn.closed, method === 'HEAD');
                if (res) {
                    clearTimeout(timer);
                    conn.buf = conn.buf.subarray(res.used);
                    conn.pending = null;
                    resolve(finishResponse(res.status, res.headers, res.body));
                }
            },
            reject(err) {
                clearTimeout(timer);
                conn.pending = null;
                reject(err);
            },
        };
        sock.write(payload ? Buffer.concat([head, payload]) : head);
    });
}

/* Parses one response from <buf>; null while incomplete. */
function parseResponse(buf, eof, noBody) {
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) {
        return null;
    }
    const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
    const status = Number(lines[0].split(' ')[1]);
    const headers = {};
    for (const line of lines.slice(1)) {
        const i = line.indexOf(':');
        const k = line.slice(0, i).trim().toLowerCase();
        const v = line.slice(i + 1).trim();
        headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
    }
    let pos = end + 4;
    if (noBody || status === 204 || status === 304) {
        return { status, headers, body: Buffer.alloc(0), used: pos };
    }
    if (headers['content-length'] !== undefined) {
        const n = Number(headers['content-length']);
        if (buf.length < pos + n) {
            return null;
        }
        return { status, headers, body: buf.subarray(pos, pos + n), used: pos + n };
    }
    if (/chunked/i.test(headers['transfer-encoding'] || '')) {
        const parts = [];
        for (;;) {
            const eol = buf.indexOf('\r\n', pos);
            if (eol < 0) {
                return null;
            }
            const size = parseInt(buf.subarray(pos, eol).toString('latin1'), 16);
            if (buf.length < eol + 2 + size + 2) {
                return null;
            }
            if (size === 0) {
                return { status, headers, body: Buffer.concat(parts), used: eol + 4 };
            }
            parts.push(buf.subarray(eol + 2, eol + 2 + size));
            pos = eol + 2 + size + 2;
        }
    }
    /* Body delimited by the end of the connection. */
    return eof ? { status, headers, body: buf.subarray(pos), used: buf.length } : null;
}

/**
 * Polls <fn> (sync or async) until it returns a truthy value, which is resolved.
 * Between tries it yields to the event loop for <intervalMs> (a polling period,
 * not a synchronisation); rejects after <timeoutMs> with <what> and the last error.
 */
export async function waitUntil(fn, { timeoutMs = DEFAULT_TIMEOUT_MS, intervalMs = 20, what = 'condition' }
                                = {}) {
    const deadline = Date.now() + timeoutMs;
    let lastErr;
    for (;;) {
        try {
            const v = await fn();
            if (v) {
                return v;
            }
        } catch (err) {
            lastErr = err;
        }
        if (Date.now() >= deadline) {
            throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}` +
                            (lastErr ? ` (last error: ${lastErr.message})` : ''));
        }
        await new Promise((r) => setTimeout(r, intervalMs));
    }
}

/** Whether a TCP connection to 127.0.0.1:<port> is accepted (false when refused). */
export function canConnect(port, { timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
    return new Promise((resolve) => {
        const sock = net.connect({ host: '127.0.0.1', port });
        const timer = setTimeout(() => {
            sock.destroy();
            resolve(false);
        }, timeoutMs);
        sock.once('connect', () => {
            clearTimeout(timer);
            sock.destroy();
            resolve(true);
        });
        sock.once('error', () => {
            clearTimeout(timer);
            resolve(false);
        });
    });
}

/**
 * A loopback port that was free a moment ago (bound to 0, read, closed). For
 * configurations that must name a port before the daemon starts.
 */
export function freePort() {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.once('error', reject);
        srv.listen(0, '127.0.0.1', () => {
            const { port } = srv.address();
            srv.close(() => resolve(port));
        });
    });
}
