/*
 * bd_key.cc: key secrets (generation, shape, hashing) and the checks a key record
 * answers (models, expiry). Pure functions over OpenSSL's CSPRNG and SHA-256; any
 * thread. A secret never leaves these functions except to be shown once.
 */
#include "modules/store/bd_key.h"

#include <fnmatch.h>
#include <string.h>

#include <openssl/rand.h>

#include "core/aws/bd_digest.h"

static const char bd_key_b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char bd_key_b32[] = "abcdefghijklmnopqrstuvwxyz234567";

/* Unpadded base64url of <n> bytes. */
static void
bd_key_b64url_encode(const unsigned char *in, size_t n, std::string *out)
{
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1] << 8) | in[i + 2];
        out->push_back(bd_key_b64url[(v >> 18) & 63]);
        out->push_back(bd_key_b64url[(v >> 12) & 63]);
        out->push_back(bd_key_b64url[(v >> 6) & 63]);
        out->push_back(bd_key_b64url[v & 63]);
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out->push_back(bd_key_b64url[(v >> 18) & 63]);
        out->push_back(bd_key_b64url[(v >> 12) & 63]);
    } else if (n - i == 2) {
        uint32_t v = ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1] << 8);
        out->push_back(bd_key_b64url[(v >> 18) & 63]);
        out->push_back(bd_key_b64url[(v >> 12) & 63]);
        out->push_back(bd_key_b64url[(v >> 6) & 63]);
    }
}

int
bd_key_generate_secret(std::string *secret)
{
    unsigned char raw[32];
    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        return -1;
    }
    secret->assign(BD_KEY_SECRET_PREFIX);
    bd_key_b64url_encode(raw, sizeof(raw), secret);
    OPENSSL_cleanse(raw, sizeof(raw));
    return 0;
}

int
bd_key_generate_id(std::string *id)
{
    unsigned char raw[16];
    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        return -1;
    }
    id->assign("key_");
    for (unsigned char c : raw) {
        id->push_back(bd_key_b32[c & 31]);
    }
    return 0;
}

bool
bd_key_secret_valid(const char *s, size_t len)
{
    size_t plen = sizeof(BD_KEY_SECRET_PREFIX) - 1;
    if (len != BD_KEY_SECRET_LEN || memcmp(s, BD_KEY_SECRET_PREFIX, plen) != 0) {
        return false;
    }
    for (size_t i = plen; i < len; i++) {
        char c = s[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_';
        if (!ok) {
            return false;
        }
    }
    /* 43 characters carry 258 bits: the last one may only use its top 4 bits. */
    const char *last = strchr(bd_key_b64url, s[len - 1]);
    return ((last - bd_key_b64url) & 3) == 0;
}

void
bd_key_hash(const char *s, size_t len, std::string *out)
{
    unsigned char md[BD_SHA256_LEN];
    bd_sha256(s, len, md);
    out->assign((const char *)md, sizeof(md));
}

std::string
bd_key_hex(const std::string &raw)
{
    static const char digits[] = "0123456789abcdef";
    std::string hex;
    hex.reserve(raw.size() * 2);
    for (unsigned char c : raw) {
        hex.push_back(digits[c >> 4]);
        hex.push_back(digits[c & 15]);
    }
    return hex;
}

static int
bd_key_nibble(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

int
bd_key_unhex(const std::string &hex, std::string *raw)
{
    if (hex.size() % 2 != 0) {
        return -1;
    }
    raw->clear();
    for (size_t i = 0; i < hex.size(); i += 2) {
        int hi = bd_key_nibble(hex[i]);
        int lo = bd_key_nibble(hex[i + 1]);
        if (hi < 0 || lo < 0) {
            return -1;
        }
        raw->push_back((char)((hi << 4) | lo));
    }
    return 0;
}

std::string
bd_key_models_join(const std::vector<std::string> &models)
{
    std::string text;
    for (const std::string &m : models) {
        if (!text.empty()) {
            text.push_back(',');
        }
        text.append(m);
    }
    return text;
}

std::vector<std::string>
bd_key_models_split(const std::string &text)
{
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= text.size()) {
        size_t comma = text.find(',', start);
        size_t end = comma == std::string::npos ? text.size() : comma;
        std::string item = text.substr(start, end - start);
        while (!item.empty() && item.front() == ' ') {
            item.erase(0, 1);
        }
        while (!item.empty() && item.back() == ' ') {
            item.pop_back();
        }
        if (!item.empty()) {
            out.push_back(item);
        }
        if (comma == std::string::npos) {
            break;
        }
        start = comma + 1;
    }
    return out;
}

bool
bd_key_model_allowed(const bd_key_t *key, const char *model)
{
    if (key->models.empty()) {
        return true;
    }
    for (const std::string &pattern : key->models) {
        if (fnmatch(pattern.c_str(), model, 0) == 0) {
            return true;
        }
    }
    return false;
}

bool
bd_key_usable(const bd_key_t *key, int64_t now_ms)
{
    return key->active && (key->expires_ms == 0 || now_ms < key->expires_ms);
}
