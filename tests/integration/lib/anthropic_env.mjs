/*
 * anthropic_env.mjs: the shared setup of the Anthropic API suites (anthropic_sdk,
 * anthropic_sse): one bedrock-emulator and one bedrockd per test file, with the
 * same Claude model served on both Bedrock routes and a Nova model on Converse,
 * plus the helpers those suites share (scenario markers, the emulator's token
 * rule and signature format, a fetch that counts attempts, tiny media files).
 *
 * Built on harness.mjs; every process it starts dies when the file's tests end.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';

import { startBedrockd, startEmulator } from './harness.mjs';

/** The Bedrock id both Claude entries point at; only their route differs. */
export const CLAUDE_ID = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';

/** The gateway's master key (auth on, no key store): clients send it as x-api-key or Bearer. */
export const MASTER_KEY = 'sk-bdtest-anthropic-master-0123456789';

/** Client-facing Claude names, one per Bedrock route. */
export const ROUTES = Object.freeze([
    Object.freeze({ route: 'invoke', model: 'claude-invoke' }),
    Object.freeze({ route: 'converse', model: 'claude-converse' }),
]);

/** A non-Claude model, only reachable through Converse. */
export const NOVA = Object.freeze({ route: 'converse', model: 'nova-pro' });

/** Every listed model, in configuration order (GET /v1/models lists them so). */
export const LISTED_MODELS = Object.freeze(['claude-invoke', 'claude-converse', 'nova-pro']);

/** The configuration text: gateway on an ephemeral port in front of <emulatorUrl>. */
export function anthropicConf(emulatorUrl, { pingInterval = '10s', accessLog = 'stdout' } = {}) {
    return `worker_threads 1;
listen 127.0.0.1:0;
error_log stderr info;
access_log ${accessLog};
sse_ping_interval ${pingInterval};
store off;
master_key ${MASTER_KEY};

bedrock {
    region us-east-1;
    endpoint ${emulatorUrl};
    credentials static;
    access_key_id AKIDEXAMPLE;
    secret_access_key wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY;
    retries 2;
    retry_base 10ms;
}

model claude-invoke {
    id ${CLAUDE_ID};
    alias claude-invoke-latest;
    route invoke;
    display_name "Claude Sonnet 4.5 (InvokeModel)";
    created_at 2025-09-29T00:00:00Z;
    max_output_tokens 64000;
}

model claude-converse {
    id ${CLAUDE_ID};
    route converse;
    display_name "Claude Sonnet 4.5 (Converse)";
    created_at 2025-09-29T00:00:00Z;
    max_output_tokens 64000;
}

model nova-pro {
    id us.amazon.nova-pro-v1:0;
    route converse;
    display_name "Amazon Nova Pro";
    max_output_tokens 10000;
}
`;
}

/**
 * Starts the emulator and bedrockd (call from before()). Resolves
 * { emu, bd, baseURL }; baseURL has no /v1 (the SDKs add it).
 */
export async function startAnthropicEnv(opts = {}) {
    const emu = await startEmulator();
    const bd = await startBedrockd({ conf: anthropicConf(emu.url, opts) });
    return { emu, bd, baseURL: bd.url };
}

let tagSeq = 0;

/** A string no other request of this process uses (keys the emulator's count=N table). */
export function uniqueTag() {
    tagSeq += 1;
    return `${process.pid}x${tagSeq}x${crypto.randomBytes(4).toString('hex')}`;
}

/** `[[emu:SPEC]]`, the emulator's scenario marker for the last user message. */
export function marker(spec) {
    return `[[emu:${spec}]]`;
}

/** The emulator's token rule for a text: ceil(UTF-8 bytes / 4). */
export function tokensOf(text) {
    return Math.ceil(Buffer.byteLength(text, 'utf8') / 4);
}

/** Tokens the emulator counts for each image or document block. */
export const MEDIA_TOKENS = 100;

/** FNV-1a 64 as 16 hex digits, the hash the emulator puts in its thinking signatures. */
export function fnv1a64(text) {
    let h = 14695981039346656037n;
    for (const byte of Buffer.from(text, 'utf8')) {
        h ^= BigInt(byte);
        h = (h * 1099511628211n) & 0xffffffffffffffffn;
    }
    return h.toString(16).padStart(16, '0');
}

/**
 * Asserts <signature> is exactly the one the emulator made for <thinking>, so it
 * crossed the gateway byte for byte.
 */
export function assertEmulatorSignature(signature, thinking) {
    assert.equal(typeof signature, 'string');
    const decoded = Buffer.from(signature, 'base64').toString('utf8');
    assert.equal(decoded, `bedrock-emulator-signature:${fnv1a64(thinking)}`);
}

/**
 * A fetch that records every attempt: { url, status, retryAfter, requestHeaders,
 * body } in <attempts> once the answer's headers are in; body is a promise of the
 * raw answer text (read from a clone, so the client still gets the original).
 */
export function countingFetch() {
    const attempts = [];
    const fetchFn = async (url, init) => {
        const res = await fetch(url, init);
        const body = res.clone().text();
        body.catch(() => {}); /* an aborted stream rejects it; only tests that await it care */
        attempts.push({
            url: String(url),
            status: res.status,
            retryAfter: res.headers.get('retry-after'),
            requestHeaders: new Headers(init?.headers),
            body,
        });
        return res;
    };
    return { fetch: fetchFn, attempts };
}

/** A 1x1 transparent PNG. */
export const TINY_PNG_B64 =
    'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=';

/* A one-page PDF with a valid cross-reference table (offsets computed). */
function tinyPdf() {
    const objects = [
        '<< /Type /Catalog /Pages 2 0 R >>',
        '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
        '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 72 72] /Contents 4 0 R >>',
        '<< /Length 0 >>\nstream\n\nendstream',
    ];
    let out = '%PDF-1.4\n';
    const offsets = [];
    objects.forEach((body, i) => {
        offsets.push(out.length);
        out += `${i + 1} 0 obj\n${body}\nendobj\n`;
    });
    const xref = out.length;
    out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
    for (const off of offsets) {
        out += `${String(off).padStart(10, '0')} 00000 n \n`;
    }
    out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
    return Buffer.from(out, 'latin1').toString('base64');
}

/** A tiny one-page PDF, base64. */
export const TINY_PDF_B64 = tinyPdf();
