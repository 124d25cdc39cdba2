/*
 * admin.mjs: what the admin suites share: the bedrock block that points
 * bedrockd at bedrock-emulator, and sums read from /metrics text.
 */

/* The `bedrock { }` block for an emulator at <url>. */
export function emulatorBedrock(url) {
    return `bedrock {
    region us-east-1;
    endpoint ${url};
    credentials static;
    access_key_id AKIDEXAMPLE;
    secret_access_key wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY;
    retries 0;
}`;
}

/* The sum of family <name>'s samples in exposition <text> whose labels match
 * <want> (a value, or a predicate on the value). */
export function metricSum(text, name, want = {}) {
    let sum = 0;
    for (const line of text.split('\n')) {
        const m = line.match(/^([a-z_]+)(?:\{(.*)\})? (\S+)$/);
        if (!m || m[1] !== name) {
            continue;
        }
        const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)]
            .map((x) => [x[1], x[2]]));
        if (Object.entries(want).every(([k, v]) => (typeof v === 'function' ? v(labels[k])
                                                                             : labels[k] === v))) {
            sum += Number(m[3]);
        }
    }
    return sum;
}
