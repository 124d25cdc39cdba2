/*
 * bd_json_tree.cc: a jansson tree built from a text the scanner has validated. The
 * build trusts the grammar (bd_json_valid said yes), so it only decodes: strings
 * (escapes, surrogate pairs), numbers (jansson's rule: a '.', 'e' or 'E' makes a
 * real) and literals. Iterative, with the open containers on a vector, as the
 * scanner is: a deep text cannot exhaust a worker's stack. Each value is attached
 * to its parent when it is made, so freeing the root frees everything on failure.
 */
#include "core/bd_json_tree.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <string>
#include <vector>

#include "core/bd_json.h"
#include "core/bd_json_scan.h"

static const char *
bd_json_tree_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
        p++;
    }
    return p;
}

static unsigned
bd_json_tree_hex4(const char *p)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v = v * 16 + (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return v;
}

/* Decodes the string whose opening quote is at <p> into <out>; returns the byte after
 * its closing quote. Runs without escapes are copied whole. */
static const char *
bd_json_tree_string(const char *p, std::string *out)
{
    out->clear();
    p++;
    for (;;) {
        const char *run = p;
        while (*p != '"' && *p != '\\') {
            p++;
        }
        out->append(run, (size_t)(p - run));
        if (*p == '"') {
            return p + 1;
        }
        char e = p[1];
        p += 2;
        switch (e) {
        case 'b': out->push_back('\b'); break;
        case 'f': out->push_back('\f'); break;
        case 'n': out->push_back('\n'); break;
        case 'r': out->push_back('\r'); break;
        case 't': out->push_back('\t'); break;
        case 'u': {
            unsigned cp = bd_json_tree_hex4(p);
            p += 4;
            if (cp >= 0xd800 && cp < 0xdc00) { /* the scan saw its low half follow */
                cp = 0x10000 + ((cp - 0xd800) << 10) + (bd_json_tree_hex4(p + 2) - 0xdc00);
                p += 6;
            }
            bd_json_append_utf8(out, cp);
            break;
        }
        default: out->push_back(e); break; /* '"', '\\', '/' */
        }
    }
}

/* The number at <*p> as jansson makes it, and <*p> past it; null when jansson
 * would refuse it (out of range). */
static json_t *
bd_json_tree_number(const char **p, std::string *buf)
{
    const char *s = *p;
    const char *e = s;
    bool real = false;
    while (strchr("0123456789-+.eE", *e) != nullptr && *e != '\0') {
        real = real || *e == '.' || *e == 'e' || *e == 'E';
        e++;
    }
    *p = e;
    buf->assign(s, (size_t)(e - s)); /* the text is not NUL-terminated */
    errno = 0;
    if (real) {
        double d = strtod(buf->c_str(), nullptr);
        if ((d == HUGE_VAL || d == -HUGE_VAL) && errno == ERANGE) {
            return nullptr;
        }
        return json_real(d);
    }
    long long v = strtoll(buf->c_str(), nullptr, 10);
    if (errno == ERANGE) {
        return nullptr;
    }
    return json_integer((json_int_t)v);
}

json_t *
bd_json_tree_load(const char *text, size_t n)
{
    if (text == nullptr || !bd_json_valid(text, n)) {
        return nullptr;
    }
    /* Every read below stays inside the text, which need not be terminated: it is
     * valid, a value inside a container is always followed by a delimiter, and the
     * build returns at the root's closing bracket. */
    const char *p = bd_json_tree_ws(text);
    if (*p != '{' && *p != '[') {
        return nullptr; /* json_loadb without JSON_DECODE_ANY wants a container */
    }
    std::vector<json_t *> open;
    std::string key, str;
    json_t *root = nullptr;
    open.reserve(16);

    for (;;) {
        json_t *v;
        bool container = false;
        switch (*p) {
        case '{': v = json_object(); container = true; p++; break;
        case '[': v = json_array(); container = true; p++; break;
        case '"':
            p = bd_json_tree_string(p, &str);
            v = json_stringn_nocheck(str.data(), str.size());
            break;
        case 't': v = json_true(); p += 4; break;
        case 'f': v = json_false(); p += 5; break;
        case 'n': v = json_null(); p += 4; break;
        default: v = bd_json_tree_number(&p, &str); break;
        }
        if (v == nullptr) {
            json_decref(root);
            return nullptr;
        }
        if (root == nullptr) {
            root = v;
        } else if (json_is_object(open.back())) {
            json_object_set_new_nocheck(open.back(), key.c_str(), v);
        } else {
            json_array_append_new(open.back(), v);
        }
        bool just_opened = container;
        if (container) {
            open.push_back(v);
        }
        /* to the next value, closing the containers that end on the way */
        for (;;) {
            if (open.empty()) {
                return root;
            }
            p = bd_json_tree_ws(p);
            if (*p == '}' || *p == ']') {
                open.pop_back();
                p++;
                just_opened = false;
                continue;
            }
            if (!just_opened) {
                p = bd_json_tree_ws(p + 1); /* the ',' */
            }
            if (json_is_object(open.back())) {
                p = bd_json_tree_string(p, &key);
                p = bd_json_tree_ws(bd_json_tree_ws(p) + 1); /* the ':' */
            }
            break;
        }
    }
}
