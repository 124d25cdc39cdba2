// sigv4_vectors.mjs: regenerates SigV4 signing vectors with the AWS JS SDK's own signer
// (@smithy/signature-v4 and @smithy/hash-node), so the C++ signer's unit tests
// (tests/unit/aws/bd_sigv4_test.cc) can be checked against an independent implementation.
//
// Usage:   cd tests && npm ci && node tools/sigv4_vectors.mjs [case-name ...]
// Output:  a JSON array on stdout, one object per case: the request as signed (wire path,
//          raw query, headers, body), the canonical request, the string to sign, the signed
//          header list, the signature, the Authorization value and the headers the signer added.
// Paths are wire paths (each label already percent-encoded once), exactly what the C++ signer
// takes in bd_sigv4_request_t.path; the signer encodes them a second time for the canonical URI.

import { SignatureV4 } from "@smithy/signature-v4";
import { Hash } from "@smithy/hash-node";

const CREDENTIALS = {
    accessKeyId: "AKIDEXAMPLE",
    secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
};
const TOKEN = "FQoGZXIvYXdzEXAMPLETOKEN";
const TIME = "2024-01-15T12:00:00Z";

// The label encoding of aws-protocols.md 5.3: RFC 3986 unreserved bytes stay, the rest is %XX.
const uriEncode = (s) =>
    encodeURIComponent(s).replace(
        /[!'()*]/g,
        (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase(),
    );

const CASES = [
    {
        name: "V1-converse",
        method: "POST",
        host: "bedrock-runtime.us-east-1.amazonaws.com",
        path: `/model/${uriEncode("anthropic.claude-3-5-sonnet-20241022-v2:0")}/converse`,
        region: "us-east-1",
        service: "bedrock",
        headers: { "content-type": "application/json" },
        body:
            '{"messages":[{"role":"user","content":[{"text":"Hello"}]}],' +
            '"inferenceConfig":{"maxTokens":256}}',
    },
    {
        name: "V2-converse-stream-profile-arn",
        method: "POST",
        host: "bedrock-runtime.us-east-1.amazonaws.com",
        path: `/model/${uriEncode(
            "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123",
        )}/converse-stream`,
        region: "us-east-1",
        service: "bedrock",
        headers: {
            "content-type": "application/json",
            accept: "application/vnd.amazon.eventstream",
        },
        body: '{"messages":[{"role":"user","content":[{"text":"Hi"}]}]}',
        sessionToken: TOKEN,
        contentSha256: true,
    },
    {
        name: "V4-list-inference-profiles",
        method: "GET",
        host: "bedrock.us-west-2.amazonaws.com",
        path: "/inference-profiles",
        query: { type: "SYSTEM_DEFINED", maxResults: "50", nextToken: "ab+c/d=" },
        region: "us-west-2",
        service: "bedrock",
        headers: {},
    },
    {
        name: "X1-query-and-unicode-path",
        method: "GET",
        host: "bedrock.eu-west-1.amazonaws.com",
        path: `/foundation-models/${uriEncode("ሴ model~1")}/info`,
        query: { byProvider: "Anthropic", "by output": "TEXT IMAGE", empty: "", "Z*": "a+b=c" },
        region: "eu-west-1",
        service: "bedrock",
        headers: { "X-Custom": "  spaced   out\tvalue  " },
        sessionToken: TOKEN,
    },
    {
        name: "X2-emulator-port-invoke",
        method: "POST",
        host: "127.0.0.1:8443",
        path: `/model/${uriEncode("us.anthropic.claude-3-5-sonnet-20241022-v2:0")}/invoke`,
        region: "us-east-1",
        service: "bedrock",
        headers: { "content-type": "application/json" },
        body: '{"anthropic_version":"bedrock-2023-05-31","max_tokens":16,"messages":[]}',
        contentSha256: true,
    },
];

async function signCase(c) {
    const signer = new SignatureV4({
        credentials: c.sessionToken
            ? { ...CREDENTIALS, sessionToken: c.sessionToken }
            : CREDENTIALS,
        region: c.region,
        service: c.service,
        sha256: Hash.bind(null, "sha256"),
        applyChecksum: Boolean(c.contentSha256),
    });
    // Capture the intermediate strings the signer builds (instance-level wrappers).
    const seen = {};
    const createCanonicalRequest = signer.createCanonicalRequest.bind(signer);
    signer.createCanonicalRequest = (...args) => {
        seen.canonicalRequest = createCanonicalRequest(...args);
        return seen.canonicalRequest;
    };
    const createStringToSign = signer.createStringToSign.bind(signer);
    signer.createStringToSign = async (...args) => {
        seen.stringToSign = await createStringToSign(...args);
        return seen.stringToSign;
    };

    const request = {
        method: c.method,
        protocol: "https:",
        hostname: c.host.split(":")[0],
        path: c.path,
        query: c.query ?? {},
        headers: { host: c.host, ...c.headers },
        body: c.body,
    };
    const signed = await signer.sign(request, { signingDate: new Date(TIME) });
    const authorization = signed.headers.authorization;
    const added = {};
    for (const [k, v] of Object.entries(signed.headers)) {
        if (!(k in request.headers)) {
            added[k] = v;
        }
    }
    return {
        name: c.name,
        request: {
            method: c.method,
            host: c.host,
            path: c.path,
            query: c.query ?? {},
            headers: c.headers,
            body: c.body ?? "",
            region: c.region,
            service: c.service,
            time: TIME,
            sessionToken: c.sessionToken ?? "",
            contentSha256: Boolean(c.contentSha256),
        },
        canonicalRequest: seen.canonicalRequest,
        stringToSign: seen.stringToSign,
        signedHeaders: /SignedHeaders=([^,]*)/.exec(authorization)[1],
        signature: /Signature=([0-9a-f]{64})/.exec(authorization)[1],
        authorization,
        addedHeaders: added,
    };
}

const wanted = process.argv.slice(2);
const out = [];
for (const c of CASES) {
    if (wanted.length === 0 || wanted.includes(c.name)) {
        out.push(await signCase(c));
    }
}
process.stdout.write(JSON.stringify(out, null, 2) + "\n");
