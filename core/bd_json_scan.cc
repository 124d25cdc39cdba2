/*
 * bd_json_scan.cc: JSON validation and member walks without a tree.
 */
#include "core/bd_json_scan.h"

#include <limits.h>
#include <string.h>

#include "core/bd_json.h"

static const char *
bd_json_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) {
        p++;
    }
    return p;
}

/* The code unit of the \\uXXXX escape at <p> (6 bytes known to be there), or -1. */
static long
bd_json_escape_unit(const char *p)
{
    long v = 0;
    for (int i = 2; i < 6; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0) {
            return -1;
        }
        v = v * 16 + d;
    }
    return v;
}

/* <p> at a \\u escape: past it (a surrogate pair is one), or null. Like jansson,
 * NUL and unpaired surrogates are refused: what passes through this scan is what
 * the gateway's parser would have read. */
static const char *
bd_json_scan_escape_u(const char *p, const char *end)
{
    long v = end - p >= 6 ? bd_json_escape_unit(p) : -1;
    if (v <= 0 || (v >= 0xdc00 && v <= 0xdfff)) {
        return nullptr;
    }
    if (v >= 0xd800 && v <= 0xdbff) {
        long low = end - p >= 12 && p[6] == '\\' && p[7] == 'u' ? bd_json_escape_unit(p + 6) : -1;
        return low >= 0xdc00 && low <= 0xdfff ? p + 12 : nullptr;
    }
    return p + 6;
}

/* <p> at the opening quote: past the closing one, or null. */
static const char *
bd_json_scan_string(const char *p, const char *end)
{
    p++;
    while (p < end) {
        while (p < end && bd_json_plain.plain[(unsigned char)*p]) {
            p++;
        }
        if (p >= end) {
            break;
        }
        unsigned char c = (unsigned char)*p;
        if (c == '"') {
            return p + 1;
        }
        if (c < 0x20) {
            return nullptr;
        }
        if (c == '\\') {
            if (p + 1 >= end) {
                return nullptr;
            }
            char e = p[1];
            if (e == 'u') {
                if ((p = bd_json_scan_escape_u(p, end)) == nullptr) {
                    return nullptr;
                }
            } else if (strchr("\"\\/bfnrt", e) != nullptr && e != '\0') {
                p += 2;
            } else {
                return nullptr;
            }
            continue;
        }
        if (c < 0x80) {
            p++;
            continue;
        }
        size_t n = bd_json_utf8_len((const unsigned char *)p, (size_t)(end - p));
        if (n == 0) {
            return nullptr;
        }
        p += n;
    }
    return nullptr;
}

static const char *
bd_json_digits(const char *p, const char *end)
{
    const char *start = p;
    while (p < end && *p >= '0' && *p <= '9') {
        p++;
    }
    return p > start ? p : nullptr;
}

static const char *
bd_json_scan_number(const char *p, const char *end)
{
    if (p < end && *p == '-') {
        p++;
    }
    if (p < end && *p == '0') {
        p++;
    } else if ((p = bd_json_digits(p, end)) == nullptr) {
        return nullptr;
    }
    if (p < end && *p == '.' && (p = bd_json_digits(p + 1, end)) == nullptr) {
        return nullptr;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-')) {
            p++;
        }
        p = bd_json_digits(p, end);
    }
    return p;
}

static const char *
bd_json_scan_literal(const char *p, const char *end, const char *word)
{
    size_t n = strlen(word);
    return (size_t)(end - p) >= n && memcmp(p, word, n) == 0 ? p + n : nullptr;
}

/* <p> at a key's opening quote: past the ':' that follows the key, or null. */
static const char *
bd_json_scan_key(const char *p, const char *end)
{
    if (p >= end || *p != '"' || (p = bd_json_scan_string(p, end)) == nullptr) {
        return nullptr;
    }
    p = bd_json_ws(p, end);
    return p < end && *p == ':' ? p + 1 : nullptr;
}

/* Iterative, with the open containers on a byte stack: a deeply nested answer
 * cannot exhaust a worker's C stack. */
const char *
bd_json_scan_value(const char *p, const char *end)
{
    char open[BD_JSON_SCAN_DEPTH];
    int depth = 0;

    for (;;) {
        /* a value */
        p = bd_json_ws(p, end);
        if (p >= end) {
            return nullptr;
        }
        char c = *p;
        if (c == '{' || c == '[') {
            if (depth == BD_JSON_SCAN_DEPTH) {
                return nullptr;
            }
            open[depth++] = c;
            p = bd_json_ws(p + 1, end);
            if (p < end && *p == (c == '{' ? '}' : ']')) {
                depth--;
                p++;
            } else {
                if (c == '{' && (p = bd_json_scan_key(p, end)) == nullptr) {
                    return nullptr;
                }
                continue;
            }
        } else if (c == '"') {
            p = bd_json_scan_string(p, end);
        } else if (c == 't') {
            p = bd_json_scan_literal(p, end, "true");
        } else if (c == 'f') {
            p = bd_json_scan_literal(p, end, "false");
        } else if (c == 'n') {
            p = bd_json_scan_literal(p, end, "null");
        } else {
            p = bd_json_scan_number(p, end);
        }
        if (p == nullptr) {
            return nullptr;
        }
        /* after a value: a separator, or the close of one or more containers */
        for (;;) {
            if (depth == 0) {
                return p;
            }
            p = bd_json_ws(p, end);
            if (p >= end) {
                return nullptr;
            }
            char top = open[depth - 1];
            if (*p == ',') {
                p = bd_json_ws(p + 1, end);
                if (top == '{' && (p = bd_json_scan_key(p, end)) == nullptr) {
                    return nullptr;
                }
                break;
            }
            if (*p != (top == '{' ? '}' : ']')) {
                return nullptr;
            }
            depth--;
            p++;
        }
    }
}

bool
bd_json_valid(const char *p, size_t n)
{
    const char *end = p + n;
    const char *q = n > 0 ? bd_json_scan_value(p, end) : nullptr;
    return q != nullptr && bd_json_ws(q, end) == end;
}

void
bd_json_members_init(bd_json_members_t *it, const char *p, size_t n)
{
    it->p = p;
    it->end = p + n;
    it->started = false;
    it->done = false;
    it->ok = false;
}

/* The walk is over: well-formed when only whitespace is left after <p>. */
static bool
bd_json_members_finish(bd_json_members_t *it, const char *p)
{
    it->done = true;
    it->ok = p != nullptr && bd_json_ws(p, it->end) == it->end;
    return false;
}

/* The next item of an object (<open> '{', items are keyed) or an array ('['). */
static bool
bd_json_walk_next(bd_json_members_t *it, char open, bd_json_member_t *m)
{
    const char *p = bd_json_ws(it->p, it->end);
    const char *end = it->end;
    char close = open == '{' ? '}' : ']';

    if (it->done) {
        return false;
    }
    if (!it->started) {
        it->started = true;
        if (p >= end || *p != open) {
            return bd_json_members_finish(it, nullptr);
        }
        p = bd_json_ws(p + 1, end);
        if (p < end && *p == close) {
            return bd_json_members_finish(it, p + 1);
        }
    } else if (p < end && *p == ',') {
        p = bd_json_ws(p + 1, end);
    } else {
        return bd_json_members_finish(it, p < end && *p == close ? p + 1 : nullptr);
    }
    m->key.p = p;
    m->key.n = 0;
    if (open == '{') {
        const char *key = p;
        if ((p = bd_json_scan_key(p, end)) == nullptr) {
            return bd_json_members_finish(it, nullptr);
        }
        const char *quote = p - 1; /* the ':'; the key's closing quote is before it */
        while (*quote != '"') {
            quote--;
        }
        m->key.p = key + 1;
        m->key.n = (size_t)(quote - key - 1);
    }
    const char *value = bd_json_ws(p, end);
    if ((p = bd_json_scan_value(value, end)) == nullptr) {
        return bd_json_members_finish(it, nullptr);
    }
    m->value.p = value;
    m->value.n = (size_t)(p - value);
    m->kind = (*value == '-' || (*value >= '0' && *value <= '9')) ? '0' : *value;
    it->p = p;
    return true;
}

bool
bd_json_members_next(bd_json_members_t *it, bd_json_member_t *m)
{
    return bd_json_walk_next(it, '{', m);
}

void
bd_json_elements_init(bd_json_members_t *it, const char *p, size_t n)
{
    bd_json_members_init(it, p, n);
}

bool
bd_json_elements_next(bd_json_members_t *it, bd_json_member_t *m)
{
    return bd_json_walk_next(it, '[', m);
}

bool
bd_json_key_is(const bd_json_member_t *m, const char *name)
{
    size_t n = strlen(name);
    return m->key.n == n && memcmp(m->key.p, name, n) == 0;
}

int
bd_json_member_int(const bd_json_member_t *m, int64_t *v)
{
    const char *p = m->value.p;
    const char *end = p + m->value.n;
    bool neg = p < end && *p == '-';
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    uint64_t x = 0;

    if (m->kind != '0') {
        return -1;
    }
    for (p += neg; p < end; p++) {
        if (*p < '0' || *p > '9') {
            return -1; /* a fraction or an exponent */
        }
        unsigned d = (unsigned)(*p - '0');
        if (x > (limit - d) / 10) {
            return -1;
        }
        x = x * 10 + d;
    }
    *v = neg ? (int64_t)(0 - x) : (int64_t)x;
    return 0;
}
