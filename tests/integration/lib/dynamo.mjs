/*
 * dynamo.mjs: DynamoDB for the fleet tests: dynalite (a real DynamoDB
 * implementation, in memory) on an ephemeral loopback port, the AWS SDK's
 * DynamoDB client reading it independently, and a TCP proxy in front of it that
 * the tests can turn off (connections reset: DynamoDB unreachable) or make hold
 * DynamoDB's answers (the write is done, the writer has not heard: a push in
 * flight), and release.
 */
import net from 'node:net';

import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';

import { EMULATOR_CREDENTIALS } from './harness.mjs';

/** Starts dynalite; resolves { port, url, client, scanAll(table, filter), close() }. */
export async function startDynalite() {
    const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    /* Requests whose handler has not answered yet. A handler goes on after its client
     * is gone (a task killed mid-call); closing dynalite under it then throws
     * "Database is closed" from its next store operation, outside any test. Every
     * handler ends in res.end, written or not. */
    let inFlight = 0;
    let onIdle = null;
    server.prependListener('request', (req, res) => {
        inFlight++;
        const end = res.end;
        res.end = function (...args) {
            res.end = end;
            if (--inFlight === 0 && onIdle) {
                onIdle();
            }
            return end.apply(this, args);
        };
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = server.address().port;
    const url = `http://127.0.0.1:${port}`;
    const client = new DynamoDBClient({
        endpoint: url,
        region: EMULATOR_CREDENTIALS.region,
        credentials: {
            accessKeyId: EMULATOR_CREDENTIALS.accessKeyId,
            secretAccessKey: EMULATOR_CREDENTIALS.secretAccessKey,
        },
    });
    return {
        port,
        url,
        client,
        /** Every item of <table> (all pages), optionally filtered by <filter> members. */
        async scanAll(table, filter = {}) {
            const items = [];
            let start;
            do {
                const r = await client.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start,
                                                              ...filter }));
                items.push(...r.Items);
                start = r.LastEvaluatedKey;
            } while (start);
            return items;
        },
        /** Stops dynalite once the requests it is still handling are answered (bounded). */
        async close({ timeoutMs = 10000 } = {}) {
            client.destroy();
            if (inFlight > 0) {
                await new Promise((resolve) => {
                    const timer = setTimeout(resolve, timeoutMs);
                    onIdle = () => {
                        clearTimeout(timer);
                        resolve();
                    };
                });
            }
            return new Promise((resolve) => server.close(resolve));
        },
    };
}

/**
 * A TCP proxy to 127.0.0.1:<targetPort>. mode(): 'pass' (default), 'down' (every
 * connection, new or open, is reset), 'hold' (requests go through, answers wait
 * until release()). Resolves { port, url, mode(m), release(), held(), close() }.
 */
export async function startProxy(targetPort) {
    let mode = 'pass';
    const pairs = new Set();
    const held = []; /* [socket, chunk] answers waiting */
    const server = net.createServer((client) => {
        if (mode === 'down') {
            client.resetAndDestroy();
            return;
        }
        const upstream = net.connect(targetPort, '127.0.0.1');
        const pair = { client, upstream };
        pairs.add(pair);
        client.on('data', (c) => upstream.write(c));
        upstream.on('data', (c) => {
            if (mode === 'hold') {
                held.push([client, c]);
            } else {
                client.write(c);
            }
        });
        const end = () => {
            pairs.delete(pair);
            client.destroy();
            upstream.destroy();
        };
        client.on('error', end);
        upstream.on('error', end);
        client.on('close', end);
        upstream.on('close', () => {
            if (!held.some(([s]) => s === client)) {
                end();
            }
        });
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = server.address().port;
    return {
        port,
        url: `http://127.0.0.1:${port}`,
        mode(m) {
            mode = m;
            if (m === 'down') {
                for (const p of pairs) {
                    p.client.resetAndDestroy();
                    p.upstream.destroy();
                }
                pairs.clear();
                held.length = 0;
            }
        },
        /** Answers held so far. */
        held: () => held.length,
        /** Sends the held answers and goes back to 'pass'. */
        release() {
            mode = 'pass';
            for (const [s, c] of held.splice(0)) {
                if (!s.destroyed) {
                    s.write(c);
                }
            }
        },
        close() {
            for (const p of pairs) {
                p.client.destroy();
                p.upstream.destroy();
            }
            return new Promise((resolve) => server.close(resolve));
        },
    };
}
