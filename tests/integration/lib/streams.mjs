/*
 * streams.mjs: watching long streams from outside the processes, for the suites that
 * hold streams open (backpressure, http2): /proc figures of bedrockd and the emulator
 * (RSS, bytes written, established connections), the wait for an emulator that stopped
 * writing, SSE parsing, and a streaming call whose reading the test controls.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';

import { waitUntil, withTimeout } from './harness.mjs';

/* AddressSanitizer keeps freed memory in quarantine, so RSS says nothing about
 * what the program holds; under it the stall of the emulator is the evidence. */
export function underAsan(pid) {
    return fs.readFileSync(`/proc/${pid}/maps`, 'utf8').includes('libasan');
}

export function rssKb(pid) {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return Number(m[1]);
}

/* Bytes the process has written to its sockets and files so far. */
export function wchar(pid) {
    return Number(/wchar: (\d+)/.exec(fs.readFileSync(`/proc/${pid}/io`, 'utf8'))[1]);
}

/* Established IPv4 connections whose local port is <port> (the emulator's side). */
export function establishedOn(port) {
    const hex = port.toString(16).toUpperCase().padStart(4, '0');
    return fs.readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)
        .map((l) => l.trim().split(/\s+/))
        .filter((f) => f.length > 3 && f[1].endsWith(`:${hex}`) && f[3] === '01').length;
}

/*
 * Polls the emulator's written bytes until they stand still for ten polls in a row
 * (the transfer is blocked), sampling bedrockd's RSS all along. Resolves
 * { written, maxRss } with <written> counted from <from>.
 */
export async function waitForStall(emuPid, bdPid, from) {
    let last = -1;
    let still = 0;
    let maxRss = 0;
    await waitUntil(() => {
        maxRss = Math.max(maxRss, rssKb(bdPid));
        const now = wchar(emuPid);
        still = now === last ? still + 1 : 0;
        last = now;
        return still >= 10;
    }, { timeoutMs: 60000, intervalMs: 50, what: 'the emulator to stop writing' });
    return { written: last - from, maxRss };
}

/* The SSE events of a body, as [{ event, data }]. */
export function parseSse(text) {
    return text.split('\n\n').filter((b) => b.trim() !== '').map((block) => {
        const ev = /^event: (.*)$/m.exec(block);
        const data = /^data: (.*)$/m.exec(block);
        return { event: ev?.[1], data: data ? JSON.parse(data[1]) : undefined };
    });
}

/*
 * A streaming /v1/messages call of <d> (a bedrockd from startBedrockd) with <key> and
 * the request <body> (an object), on its own connection (node:http, no agent), whose
 * reading the test controls. Resolves once the headers are in:
 * { req, res, received(), ended(), done } where done resolves the body.
 */
export async function openStream(d, key, body) {
    const req = http.request(`${d.url}/v1/messages`, {
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', 'x-api-key': key,
                   'anthropic-version': '2023-06-01' },
    });
    req.on('error', () => {}); /* a destroyed request is the test's own doing */
    const res = await withTimeout(new Promise((resolve, reject) => {
        req.once('response', resolve);
        req.once('error', reject);
        req.end(JSON.stringify(body));
    }), 10000, 'stream response headers');
    assert.equal(res.statusCode, 200);
    const chunks = [];
    let bytes = 0;
    let ended = false;
    res.on('data', (c) => {
        chunks.push(c);
        bytes += c.length;
    });
    res.on('error', () => {});
    const done = new Promise((resolve) => {
        const end = () => {
            ended = true;
            resolve(Buffer.concat(chunks).toString('utf8'));
        };
        res.on('end', end);
        res.on('close', end);
    });
    return { req, res, received: () => bytes, ended: () => ended, done };
}
