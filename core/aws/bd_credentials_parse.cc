/*
 * bd_credentials_parse.cc: the small parsers the credential sources need: RFC 3339
 * times, the flat JSON of container/IMDS answers, the STS XML answer, and form
 * encoding. Pure functions, safe on any thread; they never read past <len> and
 * reject what they do not understand rather than guess.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/aws/bd_credentials_int.h"
#include "core/bd_json.h"

static const int BD_JSON_MAX_DEPTH = 32;

static int64_t
bd_days_from_civil(int64_t y, int64_t m, int64_t d)
{
    /* Howard Hinnant's algorithm: proleptic Gregorian, no time zone involved. */
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static bool
bd_read_digits(const char *s, size_t len, size_t *i, int n, int *out)
{
    int v = 0;
    for (int k = 0; k < n; k++) {
        if (*i >= len || s[*i] < '0' || s[*i] > '9') {
            return false;
        }
        v = v * 10 + (s[(*i)++] - '0');
    }
    *out = v;
    return true;
}

static bool
bd_expect(const char *s, size_t len, size_t *i, const char *alts)
{
    if (*i < len && strchr(alts, s[*i]) != nullptr) {
        (*i)++;
        return true;
    }
    return false;
}

int
bd_credentials_parse_time(const char *s, size_t len, int64_t *ms)
{
    size_t i = 0;
    int y, mo, d, h, mi, sec, frac_ms = 0;
    if (!bd_read_digits(s, len, &i, 4, &y) || !bd_expect(s, len, &i, "-")
        || !bd_read_digits(s, len, &i, 2, &mo) || !bd_expect(s, len, &i, "-")
        || !bd_read_digits(s, len, &i, 2, &d) || !bd_expect(s, len, &i, "Tt ")
        || !bd_read_digits(s, len, &i, 2, &h) || !bd_expect(s, len, &i, ":")
        || !bd_read_digits(s, len, &i, 2, &mi) || !bd_expect(s, len, &i, ":")
        || !bd_read_digits(s, len, &i, 2, &sec)) {
        return -1;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) {
        return -1;
    }
    if (i < len && s[i] == '.') {
        i++;
        int digits = 0;
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
            if (digits < 3) {
                frac_ms = frac_ms * 10 + (s[i] - '0');
            }
        }
        if (digits == 0) {
            return -1;
        }
        for (; digits < 3; digits++) {
            frac_ms *= 10;
        }
    }
    int64_t offset_s = 0;
    if (bd_expect(s, len, &i, "Zz")) {
        offset_s = 0;
    } else if (i < len && (s[i] == '+' || s[i] == '-')) {
        int sign = s[i++] == '-' ? -1 : 1, oh, om;
        if (!bd_read_digits(s, len, &i, 2, &oh) || !bd_expect(s, len, &i, ":")
            || !bd_read_digits(s, len, &i, 2, &om)) {
            return -1;
        }
        offset_s = sign * (oh * 3600 + om * 60);
    } else {
        return -1; /* a time without a zone is ambiguous */
    }
    if (i != len) {
        return -1;
    }
    int64_t t = bd_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset_s;
    *ms = t * 1000 + frac_ms;
    return 0;
}

void
bd_credentials_format_time(int64_t ms, char *buf, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- JSON: just enough to read one flat object's string members ---- */

static void
bd_json_ws(const char *s, size_t len, size_t *i)
{
    while (*i < len && (s[*i] == ' ' || s[*i] == '\t' || s[*i] == '\n' || s[*i] == '\r')) {
        (*i)++;
    }
}

static bool
bd_json_hex4(const char *s, size_t len, size_t *i, uint32_t *out)
{
    uint32_t v = 0;
    for (int k = 0; k < 4; k++, (*i)++) {
        if (*i >= len) {
            return false;
        }
        char c = s[*i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0) {
            return false;
        }
        v = v * 16 + (uint32_t)d;
    }
    *out = v;
    return true;
}

static bool
bd_json_escape(const char *s, size_t len, size_t *i, std::string *out)
{
    if (*i >= len) {
        return false;
    }
    char c = s[(*i)++];
    const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
    const char *hit = c != '\0' ? strchr(from, c) : nullptr;
    if (hit != nullptr) {
        out->push_back(to[hit - from]);
        return true;
    }
    uint32_t cp, lo;
    if (c != 'u' || !bd_json_hex4(s, len, i, &cp)) {
        return false;
    }
    if (cp >= 0xd800 && cp <= 0xdbff) {
        /* A high surrogate must be followed by an escaped low one. */
        if (*i + 2 > len || s[*i] != '\\' || s[*i + 1] != 'u') {
            return false;
        }
        *i += 2;
        if (!bd_json_hex4(s, len, i, &lo) || lo < 0xdc00 || lo > 0xdfff) {
            return false;
        }
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
    } else if (cp >= 0xdc00 && cp <= 0xdfff) {
        return false;
    }
    bd_json_append_utf8(out, cp);
    return true;
}

/* At s[*i] == '"'; leaves *i after the closing quote. <out> may be null (skip). */
static bool
bd_json_string(const char *s, size_t len, size_t *i, std::string *out)
{
    std::string tmp;
    std::string *o = out != nullptr ? out : &tmp;
    o->clear();
    for ((*i)++; *i < len; (*i)++) {
        unsigned char c = (unsigned char)s[*i];
        if (c == '"') {
            (*i)++;
            return true;
        }
        if (c < 0x20) {
            return false;
        }
        if (c == '\\') {
            (*i)++;
            if (!bd_json_escape(s, len, i, o)) {
                return false;
            }
            (*i)--;
            continue;
        }
        o->push_back((char)c);
    }
    return false;
}

static bool
bd_json_skip(const char *s, size_t len, size_t *i, int depth)
{
    bd_json_ws(s, len, i);
    if (*i >= len || depth > BD_JSON_MAX_DEPTH) {
        return false;
    }
    char c = s[*i];
    if (c == '"') {
        return bd_json_string(s, len, i, nullptr);
    }
    if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        (*i)++;
        bd_json_ws(s, len, i);
        if (*i < len && s[*i] == close) {
            (*i)++;
            return true;
        }
        for (;;) {
            if (c == '{') {
                bd_json_ws(s, len, i);
                if (*i >= len || s[*i] != '"' || !bd_json_string(s, len, i, nullptr)) {
                    return false;
                }
                bd_json_ws(s, len, i);
                if (*i >= len || s[(*i)++] != ':') {
                    return false;
                }
            }
            if (!bd_json_skip(s, len, i, depth + 1)) {
                return false;
            }
            bd_json_ws(s, len, i);
            if (*i >= len) {
                return false;
            }
            char sep = s[(*i)++];
            if (sep == close) {
                return true;
            }
            if (sep != ',') {
                return false;
            }
        }
    }
    static const char *const literals[] = {"true", "false", "null"};
    for (const char *lit : literals) {
        size_t n = strlen(lit);
        if (*i + n <= len && memcmp(s + *i, lit, n) == 0) {
            *i += n;
            return true;
        }
    }
    size_t start = *i;
    while (*i < len && s[*i] != '\0' && strchr("+-0123456789.eE", s[*i]) != nullptr) {
        (*i)++;
    }
    return *i > start;
}

int
bd_credentials_json_string(const char *s, size_t len, const char *name, std::string *out)
{
    size_t i = 0;
    int found = 0;
    std::string key;
    bd_json_ws(s, len, &i);
    if (i >= len || s[i++] != '{') {
        return -1;
    }
    bd_json_ws(s, len, &i);
    if (i < len && s[i] == '}') {
        return 0;
    }
    for (;;) {
        bd_json_ws(s, len, &i);
        if (i >= len || s[i] != '"' || !bd_json_string(s, len, &i, &key)) {
            return -1;
        }
        bd_json_ws(s, len, &i);
        if (i >= len || s[i++] != ':') {
            return -1;
        }
        bd_json_ws(s, len, &i);
        if (!found && key == name && i < len && s[i] == '"') {
            if (!bd_json_string(s, len, &i, out)) {
                return -1;
            }
            found = 1;
        } else if (!bd_json_skip(s, len, &i, 1)) {
            return -1;
        }
        bd_json_ws(s, len, &i);
        if (i >= len) {
            return -1;
        }
        char sep = s[i++];
        if (sep == '}') {
            return found;
        }
        if (sep != ',') {
            return -1;
        }
    }
}

int
bd_credentials_parse_json(const char *body, size_t len, bd_credentials_result_t *res)
{
    std::string code, msg, exp;
    if (bd_credentials_json_string(body, len, "Code", &code) < 0) {
        res->error = "malformed JSON in the credentials response";
        return -1;
    }
    int a = bd_credentials_json_string(body, len, "AccessKeyId", &res->access_key_id);
    int b = bd_credentials_json_string(body, len, "SecretAccessKey", &res->secret_access_key);
    int t = bd_credentials_json_string(body, len, "Token", &res->session_token);
    int e = bd_credentials_json_string(body, len, "Expiration", &exp);
    if (!code.empty() && code != "Success") {
        bd_credentials_json_string(body, len, "Message", &msg);
        res->error = code + (msg.empty() ? "" : ": " + msg);
        return -1;
    }
    if (a != 1 || b != 1 || t != 1 || e != 1 || res->access_key_id.empty()
        || res->secret_access_key.empty()) {
        res->error = "the credentials response lacks AccessKeyId, SecretAccessKey, Token "
                     "or Expiration";
        return -1;
    }
    if (bd_credentials_parse_time(exp.data(), exp.size(), &res->expiration_ms) != 0) {
        res->error = "bad Expiration \"" + exp + "\" in the credentials response";
        return -1;
    }
    return 0;
}

/* ---- XML: leaf elements of the STS answer ---- */

static void
bd_xml_unescape(const char *s, size_t len, std::string *out)
{
    static const struct {
        const char *name;
        char c;
    } ents[] = {{"amp;", '&'}, {"lt;", '<'}, {"gt;", '>'}, {"quot;", '"'}, {"apos;", '\''}};
    out->clear();
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '&') {
            out->push_back(s[i]);
            continue;
        }
        bool done = false;
        for (const auto &e : ents) {
            size_t n = strlen(e.name);
            if (i + 1 + n <= len && memcmp(s + i + 1, e.name, n) == 0) {
                out->push_back(e.c);
                i += n;
                done = true;
                break;
            }
        }
        const char *semi = (const char *)memchr(s + i, ';', len - i);
        if (!done && semi != nullptr && i + 2 < len && s[i + 1] == '#') {
            bool hex = s[i + 2] == 'x' || s[i + 2] == 'X';
            std::string num(s + i + (hex ? 3 : 2), semi);
            char *end = nullptr;
            unsigned long cp = strtoul(num.c_str(), &end, hex ? 16 : 10);
            if (!num.empty() && end != nullptr && *end == '\0' && cp > 0 && cp < 0x110000) {
                bd_json_append_utf8(out, (uint32_t)cp);
                i = (size_t)(semi - s);
                done = true;
            }
        }
        if (!done) {
            out->push_back('&');
        }
    }
}

/* Finds element <name> in [s, s+len); sets the content range. Returns true if found. */
static bool
bd_xml_find(const char *s, size_t len, const char *name, size_t *cs, size_t *ce)
{
    size_t n = strlen(name);
    std::string close = std::string("</") + name + ">";
    for (size_t i = 0; i + 1 + n < len; i++) {
        if (s[i] != '<' || memcmp(s + i + 1, name, n) != 0) {
            continue;
        }
        char after = s[i + 1 + n];
        if (after != '>' && after != ' ' && after != '/' && after != '\t' && after != '\n'
            && after != '\r') {
            continue; /* a longer name with this prefix */
        }
        const char *gt = (const char *)memchr(s + i, '>', len - i);
        if (gt == nullptr) {
            return false;
        }
        size_t start = (size_t)(gt - s) + 1;
        if (gt[-1] == '/') {
            *cs = *ce = start; /* <name/> is empty */
            return true;
        }
        const char *end = (const char *)memmem(s + start, len - start, close.data(), close.size());
        if (end == nullptr) {
            return false;
        }
        *cs = start;
        *ce = (size_t)(end - s);
        return true;
    }
    return false;
}

int
bd_credentials_xml_text(const char *xml, size_t len, const char *name, std::string *out)
{
    size_t cs, ce;
    if (!bd_xml_find(xml, len, name, &cs, &ce)) {
        return 0;
    }
    bd_xml_unescape(xml + cs, ce - cs, out);
    return 1;
}

int
bd_credentials_parse_sts_xml(const char *body, size_t len, bd_credentials_result_t *res)
{
    size_t cs, ce, ks, ke;
    std::string code, msg, exp;
    if (bd_xml_find(body, len, "Error", &cs, &ce)) {
        bd_credentials_xml_text(body + cs, ce - cs, "Code", &code);
        bd_credentials_xml_text(body + cs, ce - cs, "Message", &msg);
        res->error = (code.empty() ? "unknown STS error" : code) + (msg.empty() ? "" : ": " + msg);
        return -1;
    }
    if (!bd_xml_find(body, len, "AssumeRoleWithWebIdentityResult", &cs, &ce)
        || !bd_xml_find(body + cs, ce - cs, "Credentials", &ks, &ke)) {
        res->error = "the STS response has no Credentials element";
        return -1;
    }
    const char *c = body + cs + ks; /* ks, ke are relative to the Result element */
    size_t n = ke - ks;
    if (!bd_credentials_xml_text(c, n, "AccessKeyId", &res->access_key_id)
        || !bd_credentials_xml_text(c, n, "SecretAccessKey", &res->secret_access_key)
        || !bd_credentials_xml_text(c, n, "SessionToken", &res->session_token)
        || !bd_credentials_xml_text(c, n, "Expiration", &exp) || res->access_key_id.empty()
        || res->secret_access_key.empty()) {
        res->error = "the STS Credentials element is incomplete";
        return -1;
    }
    if (bd_credentials_parse_time(exp.data(), exp.size(), &res->expiration_ms) != 0) {
        res->error = "bad Expiration \"" + exp + "\" in the STS response";
        return -1;
    }
    return 0;
}

std::string
bd_credentials_form_encode(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    std::string out;
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'
            || c == '_' || c == '.' || c == '~') {
            out.push_back((char)c);
        } else {
            out.push_back('%');
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
        }
    }
    return out;
}
