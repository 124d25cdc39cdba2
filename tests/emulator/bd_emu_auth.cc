/*
 * bd_emu_auth.cc: checks a request's credentials as the AWS front end does: SigV4
 * recomputed from what arrived on the wire (raw path, raw query, the headers the client
 * listed as signed, the hash of the body actually received), or a Bedrock API key sent as
 * "Authorization: Bearer". The canonical request is assembled here, independently of the
 * signer bedrockd uses, from the shared encoding primitives. Loop thread; no state.
 */
#include "tests/emulator/bd_emu.h"

#include <algorithm>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/aws/bd_sigv4.h"

#define BD_EMU_SKEW_S (15 * 60)

static const char bd_emu_bad_token[] = "The security token included in the request is invalid.";

static int
bd_emu_deny(bd_emu_xchg_t *x, const char *type, const std::string &message)
{
    bd_emu_send_error(x, 403, type, message.c_str(), nullptr);
    return -1;
}

/* All values of header <name> (case-insensitive), joined with ',', each trimmed and with
 * runs of blanks collapsed. Returns false when the request has no such header. */
static bool
bd_emu_canonical_value(const bd_emu_xchg_t *x, const std::string &name, std::string *out)
{
    bool found = false;
    out->clear();
    for (const auto &kv : x->in_headers) {
        if (strcasecmp(kv.first.c_str(), name.c_str()) != 0) {
            continue;
        }
        if (found) {
            out->push_back(',');
        }
        found = true;
        size_t start = out->size();
        const char *p = kv.second.c_str();
        while (*p == ' ' || *p == '\t') {
            p++;
        }
        bool blank = false;
        for (; *p != '\0'; p++) {
            bool ws = *p == ' ' || *p == '\t' || *p == '\r' || *p == '\n';
            if (ws) {
                blank = true;
                continue;
            }
            if (blank && out->size() > start) {
                out->push_back(' ');
            }
            blank = false;
            out->push_back(*p);
        }
    }
    return found;
}

/* The canonical query string of a raw query: decode, encode again, sort. */
static std::string
bd_emu_canonical_query(const char *query)
{
    std::vector<std::pair<std::string, std::string>> params;
    const char *p = query;
    while (p != nullptr && *p != '\0') {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len > 0) {
            const char *eq = (const char *)memchr(p, '=', len);
            size_t name_len = eq ? (size_t)(eq - p) : len;
            std::string name = bd_emu_pct_decode(p, name_len);
            std::string value = eq ? bd_emu_pct_decode(eq + 1, len - name_len - 1) : "";
            params.emplace_back(bd_sigv4_uri_encode(name.data(), name.size(), false),
                                bd_sigv4_uri_encode(value.data(), value.size(), false));
        }
        p = amp ? amp + 1 : nullptr;
    }
    std::sort(params.begin(), params.end());
    std::string out;
    for (const auto &kv : params) {
        if (!out.empty()) {
            out.push_back('&');
        }
        out += kv.first + "=" + kv.second;
    }
    return out;
}

static bool
bd_emu_parse_amz_date(const char *s, time_t *out)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (s == nullptr || strlen(s) != 16 || s[8] != 'T' || s[15] != 'Z' ||
        sscanf(s, "%4d%2d%2dT%2d%2d%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec) != 6) {
        return false;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *out = timegm(&tm);
    return true;
}

static std::string
bd_emu_amz_date(time_t t)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    char buf[20];
    strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", &tm);
    return buf;
}

/* Rejects a date outside the skew window, with the service's wording. */
static int
bd_emu_check_time(bd_emu_xchg_t *x, const char *amz_date)
{
    time_t t;
    if (!bd_emu_parse_amz_date(amz_date, &t)) {
        return bd_emu_deny(x, "IncompleteSignatureException",
                           std::string("Date must be in ISO-8601 'basic format'. Got '") +
                               amz_date + "'. See http://en.wikipedia.org/wiki/ISO_8601");
    }
    time_t now = time(nullptr);
    if (t < now - BD_EMU_SKEW_S) {
        return bd_emu_deny(x, "InvalidSignatureException",
                           std::string("Signature expired: ") + amz_date +
                               " is now earlier than " + bd_emu_amz_date(now - BD_EMU_SKEW_S) +
                               " (" + bd_emu_amz_date(now) + " - 15 min.)");
    }
    if (t > now + BD_EMU_SKEW_S) {
        return bd_emu_deny(x, "InvalidSignatureException",
                           std::string("Signature not yet current: ") + amz_date +
                               " is still later than " + bd_emu_amz_date(now + BD_EMU_SKEW_S) +
                               " (" + bd_emu_amz_date(now) + " + 15 min.)");
    }
    return 0;
}

/* Builds the canonical request; false when a signed header is absent from the request. */
static bool
bd_emu_canonical_request(const bd_emu_xchg_t *x, const bd_sigv4_auth_parts_t *auth,
                         std::string *out)
{
    const char *raw_uri = x->uri.c_str();
    const char *q = strchr(raw_uri, '?');
    std::string path(raw_uri, q ? (size_t)(q - raw_uri) : strlen(raw_uri));
    *out = x->method;
    *out += "\n" + bd_sigv4_canonical_uri(path.c_str()) + "\n";
    *out += bd_emu_canonical_query(q ? q + 1 : nullptr) + "\n";
    bool complete = true;
    std::string value;
    std::string names;
    for (const std::string &name : auth->signed_headers) {
        if (!bd_emu_canonical_value(x, name, &value)) {
            complete = false;
        }
        *out += name + ":" + value + "\n";
        names += (names.empty() ? "" : ";") + name;
    }
    *out += "\n" + names + "\n" + bd_sigv4_sha256_hex(x->body.data(), x->body.size());
    return complete;
}

static std::string
bd_emu_signature(const bd_emu_options_t *opts, const bd_sigv4_auth_parts_t *auth,
                 const std::string &string_to_sign)
{
    unsigned char key[32];
    bd_sigv4_signing_key(opts->secret_key.c_str(), auth->datestamp.c_str(),
                         auth->region.c_str(), auth->service.c_str(), key);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    HMAC(EVP_sha256(), key, sizeof(key), (const unsigned char *)string_to_sign.data(),
         string_to_sign.size(), mac, &mac_len);
    static const char hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < mac_len; i++) {
        out.push_back(hex[mac[i] >> 4]);
        out.push_back(hex[mac[i] & 15]);
    }
    return out;
}

/* Scope checks that come before the signature itself, in the service's order. */
static int
bd_emu_check_scope(const bd_emu_options_t *opts, bd_emu_xchg_t *x,
                   const bd_sigv4_auth_parts_t *auth, const char *amz_date)
{
    if (auth->access_key_id != opts->access_key) {
        return bd_emu_deny(x, "UnrecognizedClientException", bd_emu_bad_token);
    }
    if (amz_date == nullptr) {
        return bd_emu_deny(x, "IncompleteSignatureException",
                           "Authorization header requires existence of either a 'X-Amz-Date' "
                           "or a 'Date' header.");
    }
    if (bd_emu_check_time(x, amz_date) != 0) {
        return -1;
    }
    if (strncmp(amz_date, auth->datestamp.c_str(), 8) != 0) {
        return bd_emu_deny(x, "InvalidSignatureException",
                           "Date in Credential scope does not match YYYYMMDD from ISO-8601 "
                           "version of date from HTTP: '" + auth->datestamp + "' != '" +
                               std::string(amz_date, 8) + "', from '" + amz_date + "'.");
    }
    if (auth->region != opts->region) {
        return bd_emu_deny(x, "InvalidSignatureException",
                           "Credential should be scoped to a valid region. ");
    }
    if (auth->service != "bedrock") {
        return bd_emu_deny(x, "InvalidSignatureException",
                           "Credential should be scoped to correct service: 'bedrock'. ");
    }
    /* HTTP/2 clients may sign the :authority pseudo-header instead (the AWS SDK for
     * JavaScript does), and the service accepts either */
    const std::vector<std::string> &sh = auth->signed_headers;
    if (std::find(sh.begin(), sh.end(), "host") == sh.end() &&
        std::find(sh.begin(), sh.end(), ":authority") == sh.end()) {
        return bd_emu_deny(x, "InvalidSignatureException",
                           "'Host' or ':authority' must be a 'SignedHeader' in the AWS "
                           "Authorization.");
    }
    return 0;
}

static int
bd_emu_check_bearer(const bd_emu_options_t *opts, bd_emu_xchg_t *x, const char *token)
{
    size_t n = opts->bearer_token.size();
    if (n == 0 || strlen(token) != n || CRYPTO_memcmp(token, opts->bearer_token.data(), n) != 0) {
        return bd_emu_deny(x, "UnrecognizedClientException", bd_emu_bad_token);
    }
    return 0;
}

int
bd_emu_auth_check(const bd_emu_options_t *opts, bd_emu_xchg_t *x)
{
    if (!opts->verify) {
        return 0;
    }
    const char *authz = bd_emu_header(x, "Authorization");
    if (authz == nullptr || *authz == '\0') {
        return bd_emu_deny(x, "MissingAuthenticationTokenException",
                           "Missing Authentication Token");
    }
    if (strncasecmp(authz, "Bearer ", 7) == 0) {
        return bd_emu_check_bearer(opts, x, authz + 7);
    }
    bd_sigv4_auth_parts_t auth;
    if (bd_sigv4_parse_authorization(authz, &auth) != 0) {
        return bd_emu_deny(x, "IncompleteSignatureException",
                           "Authorization header requires 'Credential' parameter. Authorization "
                           "header requires 'Signature' parameter. Authorization header "
                           "requires 'SignedHeaders' parameter.");
    }
    const char *amz_date = bd_emu_header(x, "X-Amz-Date");
    if (bd_emu_check_scope(opts, x, &auth, amz_date) != 0) {
        return -1;
    }
    std::string canonical;
    bool complete = bd_emu_canonical_request(x, &auth, &canonical);
    std::string string_to_sign = std::string("AWS4-HMAC-SHA256\n") + amz_date + "\n" +
                                 auth.datestamp + "/" + auth.region + "/" + auth.service +
                                 "/aws4_request\n" +
                                 bd_sigv4_sha256_hex(canonical.data(), canonical.size());
    std::string expected = bd_emu_signature(opts, &auth, string_to_sign);
    if (complete && CRYPTO_memcmp(expected.data(), auth.signature.data(), 64) == 0) {
        return 0;
    }
    return bd_emu_deny(x, "InvalidSignatureException",
                       "The request signature we calculated does not match the signature you "
                       "provided. Check your AWS Secret Access Key and signing method. Consult "
                       "the service documentation for details.\n\nThe Canonical String for this "
                       "request should have been\n'" + canonical +
                           "'\n\nThe String-to-Sign should have been\n'" + string_to_sign +
                           "'\n");
}
