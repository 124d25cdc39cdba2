/*
 * bd_sigv4.cc: AWS Signature Version 4 (canonical request, string to sign, derived key,
 * Authorization header) and the parser of an incoming Authorization value.
 * Pure functions over the digests of bd_digest.h; callable on any thread. The only
 * state is per thread: those digests' contexts and a copy of the last derived key, keyed
 * by everything it is derived from, so a signature never depends on the call before.
 */
#include "bd_sigv4.h"

#include <openssl/crypto.h>
#include <string.h>
#include <time.h>

#include <algorithm>

#include "bd_digest.h"

static const char bd_sigv4_hex_upper[] = "0123456789ABCDEF";
static const char bd_sigv4_hex_lower[] = "0123456789abcdef";
static const char bd_sigv4_empty_hash[] =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/* Writes the 2 * <len> lowercase hex digits of <p> to <out> (no terminator). */
static void
bd_sigv4_hex_into(const unsigned char *p, size_t len, char *out)
{
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = bd_sigv4_hex_lower[p[i] >> 4];
        out[2 * i + 1] = bd_sigv4_hex_lower[p[i] & 0x0f];
    }
}

static std::string
bd_sigv4_hex(const unsigned char *p, size_t len)
{
    std::string s;
    s.resize(len * 2);
    bd_sigv4_hex_into(p, len, &s[0]);
    return s;
}

/* Appends the lowercase hex SHA-256 of <data> to <out>. */
static void
bd_sigv4_append_sha256_hex(std::string *out, const void *data, size_t len)
{
    unsigned char md[BD_SHA256_LEN];
    char hex[2 * BD_SHA256_LEN];
    bd_sha256(data ? data : "", len, md);
    bd_sigv4_hex_into(md, sizeof(md), hex);
    out->append(hex, sizeof(hex));
}

static void
bd_sigv4_hmac(const void *key, size_t key_len, const std::string &data, unsigned char out[32])
{
    bd_hmac_sha256(key, key_len, data.data(), data.size(), out);
}

static bool
bd_sigv4_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'
           || c == '_' || c == '.' || c == '~';
}

static void
bd_sigv4_append_uri_encoded(std::string *out, const char *s, size_t len, bool keep_slash)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) s[i];
        if (bd_sigv4_unreserved(c) || (keep_slash && c == '/')) {
            out->push_back((char) c);
            continue;
        }
        char esc[3] = {'%', bd_sigv4_hex_upper[c >> 4], bd_sigv4_hex_upper[c & 0x0f]};
        out->append(esc, 3);
    }
}

std::string
bd_sigv4_uri_encode(const char *s, size_t len, bool keep_slash)
{
    std::string out;
    out.reserve(len * 3);
    bd_sigv4_append_uri_encoded(&out, s, len, keep_slash);
    return out;
}

/* Appends the canonical URI of <wire_path> to <out>. Same normalization as the JS
 * signer: drop empty and "." segments, ".." pops one, a trailing '/' survives when
 * anything is left; then every segment is encoded again. Each kept segment is encoded
 * straight into <out>; a ".." cuts <out> back to where the segment before began. */
static void
bd_sigv4_append_canonical_uri(std::string *out, const char *wire_path)
{
    const char *p = wire_path ? wire_path : "";
    size_t n = strlen(p);
    size_t marks[32];                 /* where each kept segment's '/' is in <out> */
    std::vector<size_t> more;         /* the marks past the 32nd (a rare, deep path) */
    size_t kept = 0;
    size_t start = 0;

    for (size_t i = 0; i <= n; i++) {
        if (i < n && p[i] != '/') {
            continue;
        }
        const char *seg = p + start;
        size_t len = i - start;
        start = i + 1;
        if (len == 0 || (len == 1 && seg[0] == '.')) {
            continue;
        }
        if (len == 2 && seg[0] == '.' && seg[1] == '.') {
            if (kept > 0) {
                kept--;
                out->resize(kept < 32 ? marks[kept] : more[kept - 32]);
                if (kept >= 32) {
                    more.pop_back();
                }
            }
            continue;
        }
        if (kept < 32) {
            marks[kept] = out->size();
        } else {
            more.push_back(out->size());
        }
        kept++;
        out->push_back('/');
        bd_sigv4_append_uri_encoded(out, seg, len, false);
    }
    if (kept == 0) {
        out->push_back('/');
    } else if (n > 0 && p[n - 1] == '/') {
        out->push_back('/');
    }
}

std::string
bd_sigv4_canonical_uri(const char *wire_path)
{
    std::string out;
    bd_sigv4_append_canonical_uri(&out, wire_path);
    return out;
}

std::string
bd_sigv4_sha256_hex(const void *data, size_t len)
{
    unsigned char md[BD_SHA256_LEN];
    bd_sha256(data ? data : "", len, md);
    return bd_sigv4_hex(md, sizeof(md));
}

void
bd_sigv4_signing_key(const char *secret, const char *datestamp, const char *region,
                     const char *service, unsigned char out[32])
{
    std::string k = "AWS4";
    k += secret;
    unsigned char a[32], b[32];
    bd_sigv4_hmac(k.data(), k.size(), datestamp, a);
    bd_sigv4_hmac(a, 32, region, b);
    bd_sigv4_hmac(b, 32, service, a);
    bd_sigv4_hmac(a, 32, "aws4_request", out);
    OPENSSL_cleanse(a, sizeof(a));
    OPENSSL_cleanse(b, sizeof(b));
    OPENSSL_cleanse(&k[0], k.size());
}

/* The derived key depends only on the secret, the day, the region and the service, yet
 * deriving it is four HMACs: about 40% of a signature with OpenSSL 3's one-shot HMAC.
 * Each thread keeps the last key it derived (plain data, zero-initialised). */
struct bd_sigv4_key_cache_t {
    bool valid;
    char secret[128];
    char datestamp[16];
    char region[64];
    char service[32];
    unsigned char key[32];
};
static thread_local bd_sigv4_key_cache_t bd_sigv4_key_cache;

static bool
bd_sigv4_copy_fits(char *dst, size_t cap, const char *src)
{
    size_t len = strlen(src);
    if (len >= cap) {
        return false;
    }
    memcpy(dst, src, len + 1);
    return true;
}

static void
bd_sigv4_cached_signing_key(const char *secret, const char *datestamp, const char *region,
                            const char *service, unsigned char out[32])
{
    bd_sigv4_key_cache_t *c = &bd_sigv4_key_cache;
    if (c->valid && strcmp(c->secret, secret) == 0 && strcmp(c->datestamp, datestamp) == 0
        && strcmp(c->region, region) == 0 && strcmp(c->service, service) == 0) {
        memcpy(out, c->key, 32);
        return;
    }
    bd_sigv4_signing_key(secret, datestamp, region, service, out);
    c->valid = bd_sigv4_copy_fits(c->secret, sizeof(c->secret), secret)
               && bd_sigv4_copy_fits(c->datestamp, sizeof(c->datestamp), datestamp)
               && bd_sigv4_copy_fits(c->region, sizeof(c->region), region)
               && bd_sigv4_copy_fits(c->service, sizeof(c->service), service);
    if (c->valid) {
        memcpy(c->key, out, 32);
    } else {
        OPENSSL_cleanse(c, sizeof(*c));
    }
}

/* "YYYYMMDD'T'HHMMSS'Z'" and its terminator into <buf>. */
static void
bd_sigv4_format_date(int64_t time_s, char buf[32])
{
    time_t t = (time_t) time_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, 32, "%Y%m%dT%H%M%SZ", &tm);
}

std::string
bd_sigv4_amz_date(int64_t time_s)
{
    char buf[32];
    bd_sigv4_format_date(time_s, buf);
    return buf;
}

/* Trim, and collapse every run of spaces, tabs, CR and LF into one space. */
static std::string
bd_sigv4_header_value(const std::string &v)
{
    std::string out;
    bool pending_space = false;
    for (char c : v) {
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            pending_space = !out.empty();
            continue;
        }
        if (pending_space) {
            out.push_back(' ');
            pending_space = false;
        }
        out.push_back(c);
    }
    return out;
}

static std::string
bd_sigv4_lower(const std::string &s)
{
    std::string out = s;
    for (char &c : out) {
        if (c >= 'A' && c <= 'Z') {
            c = (char) (c - 'A' + 'a');
        }
    }
    return out;
}

/* These are always computed here from the request and credentials, never taken from
 * the caller's list, so a caller cannot sign a stale date or a foreign host. */
static bool
bd_sigv4_derived_header(const std::string &lname)
{
    return lname == "host" || lname == "x-amz-date" || lname == "x-amz-security-token"
           || lname == "authorization";
}

typedef std::pair<std::string, std::string> bd_sigv4_kv_t;

static bool
bd_sigv4_name_less(const bd_sigv4_kv_t &a, const bd_sigv4_kv_t &b)
{
    return a.first < b.first;
}

static std::string
bd_sigv4_canonical_query(const bd_sigv4_request_t *req)
{
    std::vector<bd_sigv4_kv_t> q;
    for (const bd_sigv4_query_param_t &p : req->query) {
        q.emplace_back(bd_sigv4_uri_encode(p.name.data(), p.name.size(), false),
                       bd_sigv4_uri_encode(p.value.data(), p.value.size(), false));
    }
    std::sort(q.begin(), q.end());
    std::string out;
    for (size_t i = 0; i < q.size(); i++) {
        if (i > 0) {
            out.push_back('&');
        }
        out += q[i].first;
        out.push_back('=');
        out += q[i].second;
    }
    return out;
}

/* Collects lowercased, normalized headers (sorted, duplicates joined by ',') and the payload
 * hash: a caller-supplied x-amz-content-sha256 is taken as the hash, as the JS signer does. */
static void
bd_sigv4_collect_headers(const bd_sigv4_request_t *req, const bd_sigv4_credentials_t *creds,
                         const std::string &amz_date, bd_sigv4_result_t *out,
                         std::vector<bd_sigv4_kv_t> *hs, std::string *payload_hash)
{
    payload_hash->clear();
    if (req->body_iov != nullptr) {
        unsigned char md[BD_SHA256_LEN];
        char hex[2 * BD_SHA256_LEN];
        bd_sha256_iov(req->body_iov, req->body_iovcnt, md);
        bd_sigv4_hex_into(md, sizeof(md), hex);
        payload_hash->assign(hex, sizeof(hex));
    } else if (req->body_len) {
        bd_sigv4_append_sha256_hex(payload_hash, req->body, req->body_len);
    } else {
        payload_hash->assign(bd_sigv4_empty_hash);
    }
    hs->reserve(req->headers.size() + 4);
    for (const bd_sigv4_header_t &h : req->headers) {
        std::string lname = bd_sigv4_lower(h.name);
        if (bd_sigv4_derived_header(lname)
            || (req->add_content_sha256 && lname == "x-amz-content-sha256")) {
            continue;
        }
        std::string v = bd_sigv4_header_value(h.value);
        if (lname == "x-amz-content-sha256") {
            *payload_hash = v;
        }
        hs->emplace_back(lname, v);
    }
    hs->emplace_back("host", bd_sigv4_header_value(req->host));
    hs->emplace_back("x-amz-date", amz_date);
    out->add_headers.push_back({"x-amz-date", amz_date});
    if (!creds->session_token.empty()) {
        hs->emplace_back("x-amz-security-token", creds->session_token);
        out->add_headers.push_back({"x-amz-security-token", creds->session_token});
    }
    if (req->add_content_sha256) {
        hs->emplace_back("x-amz-content-sha256", *payload_hash);
        out->add_headers.push_back({"x-amz-content-sha256", *payload_hash});
    }
    /* Stable: duplicates keep the order given, which is the order their values join.
     * An insertion sort, as a request signs a handful of headers; it moves strings
     * and allocates nothing. */
    for (size_t i = 1; i < hs->size(); i++) {
        for (size_t j = i; j > 0 && bd_sigv4_name_less((*hs)[j], (*hs)[j - 1]); j--) {
            std::swap((*hs)[j], (*hs)[j - 1]);
        }
    }
}

static void
bd_sigv4_canonical_headers(const std::vector<bd_sigv4_kv_t> &hs, std::string *block,
                           std::string *signed_headers)
{
    for (size_t i = 0; i < hs.size(); i++) {
        if (i > 0 && hs[i].first == hs[i - 1].first) {
            block->back() = ',';
            *block += hs[i].second;
            block->push_back('\n');
            continue;
        }
        if (!signed_headers->empty()) {
            signed_headers->push_back(';');
        }
        *signed_headers += hs[i].first;
        *block += hs[i].first;
        block->push_back(':');
        *block += hs[i].second;
        block->push_back('\n');
    }
}

int
bd_sigv4_sign(const bd_sigv4_request_t *req, const bd_sigv4_credentials_t *creds,
              bd_sigv4_result_t *out)
{
    if (req == NULL || creds == NULL || out == NULL || req->method == NULL || req->host == NULL
        || req->path == NULL || req->region == NULL || req->service == NULL
        || (req->body == NULL && req->body_len > 0) || creds->access_key_id.empty()
        || creds->secret_access_key.empty() || req->host[0] == '\0') {
        return -1;
    }
    *out = bd_sigv4_result_t();
    char date_buf[32];
    bd_sigv4_format_date(req->time_s, date_buf);
    std::string amz_date(date_buf);
    char datestamp[9];
    memcpy(datestamp, date_buf, 8);
    datestamp[8] = '\0';

    std::vector<bd_sigv4_kv_t> hs;
    std::string payload_hash, header_block;
    out->add_headers.reserve(4);
    bd_sigv4_collect_headers(req, creds, amz_date, out, &hs, &payload_hash);
    header_block.reserve(512);
    bd_sigv4_canonical_headers(hs, &header_block, &out->signed_headers);
    out->query_string = bd_sigv4_canonical_query(req);

    /* Each string is built in one buffer, sized up front: no temporaries. */
    std::string &cr = out->canonical_request;
    cr.reserve(strlen(req->method) + strlen(req->path) * 2 + out->query_string.size() +
               header_block.size() + out->signed_headers.size() + payload_hash.size() + 16);
    cr += req->method;
    cr += '\n';
    bd_sigv4_append_canonical_uri(&cr, req->path);
    cr += '\n';
    cr += out->query_string;
    cr += '\n';
    cr += header_block;
    cr += '\n';
    cr += out->signed_headers;
    cr += '\n';
    cr += payload_hash;

    std::string scope;
    scope.reserve(8 + strlen(req->region) + strlen(req->service) + 16);
    scope.append(datestamp, 8);
    scope += '/';
    scope += req->region;
    scope += '/';
    scope += req->service;
    scope += "/aws4_request";

    std::string &sts = out->string_to_sign;
    sts.reserve(17 + amz_date.size() + 1 + scope.size() + 1 + 2 * BD_SHA256_LEN);
    sts += "AWS4-HMAC-SHA256\n";
    sts += amz_date;
    sts += '\n';
    sts += scope;
    sts += '\n';
    bd_sigv4_append_sha256_hex(&sts, cr.data(), cr.size());

    unsigned char key[32], sig[32];
    bd_sigv4_cached_signing_key(creds->secret_access_key.c_str(), datestamp, req->region,
                                req->service, key);
    bd_sigv4_hmac(key, 32, sts, sig);
    OPENSSL_cleanse(key, sizeof(key));
    out->signature = bd_sigv4_hex(sig, 32);

    std::string &a = out->authorization;
    a.reserve(28 + creds->access_key_id.size() + 1 + scope.size() + 16 +
              out->signed_headers.size() + 12 + out->signature.size());
    a += "AWS4-HMAC-SHA256 Credential=";
    a += creds->access_key_id;
    a += '/';
    a += scope;
    a += ", SignedHeaders=";
    a += out->signed_headers;
    a += ", Signature=";
    a += out->signature;
    out->add_headers.push_back({"authorization", out->authorization});
    return 0;
}

static const char *
bd_sigv4_skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    return p;
}

/* Splits "AKID/date/region/service/aws4_request" into <out>. */
static int
bd_sigv4_parse_credential(const std::string &v, bd_sigv4_auth_parts_t *out)
{
    std::vector<std::string> parts;
    size_t start = 0;
    for (size_t i = 0; i <= v.size(); i++) {
        if (i == v.size() || v[i] == '/') {
            parts.push_back(v.substr(start, i - start));
            start = i + 1;
        }
    }
    if (parts.size() != 5 || parts[4] != "aws4_request" || parts[1].size() != 8) {
        return -1;
    }
    for (size_t i = 0; i < 4; i++) {
        if (parts[i].empty()) {
            return -1;
        }
    }
    out->access_key_id = parts[0];
    out->datestamp = parts[1];
    out->region = parts[2];
    out->service = parts[3];
    return 0;
}

static int
bd_sigv4_parse_signed_headers(const std::string &v, bd_sigv4_auth_parts_t *out)
{
    size_t start = 0;
    for (size_t i = 0; i <= v.size(); i++) {
        if (i == v.size() || v[i] == ';') {
            if (i == start) {
                return -1;
            }
            out->signed_headers.push_back(bd_sigv4_lower(v.substr(start, i - start)));
            start = i + 1;
        }
    }
    return 0;
}

/* Accepts the parts in any order, separated by ',' with optional spaces; each exactly once. */
int
bd_sigv4_parse_authorization(const char *value, bd_sigv4_auth_parts_t *out)
{
    static const char alg[] = "AWS4-HMAC-SHA256";
    if (value == NULL || out == NULL) {
        return -1;
    }
    *out = bd_sigv4_auth_parts_t();
    const char *p = bd_sigv4_skip_ws(value);
    if (strncmp(p, alg, sizeof(alg) - 1) != 0 || (p[sizeof(alg) - 1] != ' ')) {
        return -1;
    }
    p += sizeof(alg) - 1;
    int seen = 0;
    while (*(p = bd_sigv4_skip_ws(p)) != '\0') {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t) (end - p) : strlen(p);
        std::string part(p, len);
        while (!part.empty() && (part.back() == ' ' || part.back() == '\t')) {
            part.pop_back();
        }
        p += len + (end ? 1 : 0);
        size_t eq = part.find('=');
        if (eq == std::string::npos) {
            return -1;
        }
        std::string key = part.substr(0, eq), val = part.substr(eq + 1);
        int bit = key == "Credential" ? 1 : key == "SignedHeaders" ? 2 : key == "Signature" ? 4 : 0;
        if (bit == 0 || (seen & bit)) {
            return -1;
        }
        seen |= bit;
        if ((bit == 1 && bd_sigv4_parse_credential(val, out) != 0)
            || (bit == 2 && bd_sigv4_parse_signed_headers(val, out) != 0)) {
            return -1;
        }
        if (bit == 4) {
            if (val.size() != 64
                || val.find_first_not_of(bd_sigv4_hex_lower) != std::string::npos) {
                return -1;
            }
            out->signature = val;
        }
    }
    return seen == 7 ? 0 : -1;
}
