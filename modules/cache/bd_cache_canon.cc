/*
 * bd_cache_canon.cc: canonical bodies, cache keys and the checks on what is kept.
 */
#include "modules/cache/bd_cache_canon.h"

#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "modules/store/bd_key.h"

std::string
bd_cache_canonical(const json_t *body)
{
    std::string out;
    char *text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    if (text != nullptr) {
        out.assign(text);
        free(text);
    }
    return out;
}

static void
bd_cache_digest_part(EVP_MD_CTX *md, const std::string &part)
{
    char len[24];
    int n = snprintf(len, sizeof(len), "%zu:", part.size());
    EVP_DigestUpdate(md, len, (size_t)n);
    EVP_DigestUpdate(md, part.data(), part.size());
}

std::string
bd_cache_key(const std::string &scope, const std::string &path, const std::string &canonical)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), nullptr);
    bd_cache_digest_part(md, scope);
    bd_cache_digest_part(md, path);
    bd_cache_digest_part(md, canonical);
    EVP_DigestFinal_ex(md, digest, &dlen);
    EVP_MD_CTX_free(md);
    return bd_key_hex(std::string((const char *)digest, dlen));
}

bool
bd_cache_deterministic(const json_t *body)
{
    const json_t *t = json_object_get(body, "temperature");
    return t != nullptr && json_is_number(t) && json_number_value(t) == 0.0;
}

bool
bd_cache_control_bypass(const char *value)
{
    if (value == nullptr) {
        return false;
    }
    const char *p = value;
    while (*p != '\0') {
        p += strspn(p, " \t,");
        size_t n = strcspn(p, " \t,=");
        if ((n == 8 && strncasecmp(p, "no-cache", 8) == 0) ||
            (n == 8 && strncasecmp(p, "no-store", 8) == 0)) {
            return true;
        }
        p += strcspn(p, ",");
    }
    return false;
}

/* The last non-empty SSE event of <sse>, without its trailing blank line. */
static std::string
bd_cache_last_event(const char *sse, size_t len)
{
    std::string s(sse, len);
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) {
        s.pop_back();
    }
    size_t start = s.rfind("\n\n");
    return start == std::string::npos ? s : s.substr(start + 2);
}

bool
bd_cache_stream_complete(const char *sse, size_t len)
{
    std::string all(sse, len);
    if (all.find("event: error\n") != std::string::npos ||
        all.find("\ndata: {\"error\"") != std::string::npos ||
        all.compare(0, 15, "data: {\"error\"") == 0) {
        return false;
    }
    std::string last = bd_cache_last_event(sse, len);
    return last.compare(0, 19, "event: message_stop") == 0 || last == "data: [DONE]";
}
