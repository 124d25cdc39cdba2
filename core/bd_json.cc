/*
 * bd_json.cc: JSON string escaping with UTF-8 validation.
 */
#include "core/bd_json.h"

#include <stdio.h>

#include <charconv>

size_t
bd_json_utf8_len(const unsigned char *p, size_t left)
{
    unsigned char c = p[0];
    size_t n;
    if (c < 0x80) {
        return 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
    } else {
        return 0;
    }
    if (n > left) {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }
    }
    /* Overlong 3-byte forms, surrogates, and code points past U+10FFFF. */
    if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] >= 0xa0) || (c == 0xf0 && p[1] < 0x90) ||
        (c == 0xf4 && p[1] >= 0x90)) {
        return 0;
    }
    return n;
}

void
bd_json_append_string(std::string *out, const char *s, size_t len)
{
    out->push_back('"');
    bd_json_append_escaped(out, s, len);
    out->push_back('"');
}

void
bd_json_append_escaped(std::string *out, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        /* Plain ASCII goes out a run at a time: one append per run, not per byte. */
        size_t run = i + bd_json_plain_run(s + i, len - i);
        if (run > i) {
            out->append(s + i, run - i);
            i = run;
            continue;
        }
        unsigned char c = p[i];
        switch (c) {
        case '"':
            out->append("\\\"");
            i++;
            continue;
        case '\\':
            out->append("\\\\");
            i++;
            continue;
        case '\n':
            out->append("\\n");
            i++;
            continue;
        case '\r':
            out->append("\\r");
            i++;
            continue;
        case '\t':
            out->append("\\t");
            i++;
            continue;
        default:
            break;
        }
        if (c < 0x20) {
            char buf[8];
            snprintf(buf, sizeof(buf), "\\u%04x", c);
            out->append(buf);
            i++;
            continue;
        }
        size_t n = bd_json_utf8_len(p + i, len - i);
        if (n == 0) {
            out->append("\\ufffd");
            i++;
            continue;
        }
        out->append(s + i, n);
        i += n;
    }
}

void
bd_json_append_utf8(std::string *out, uint32_t cp)
{
    if (cp < 0x80) {
        out->push_back((char)cp);
    } else if (cp < 0x800) {
        out->push_back((char)(0xc0 | (cp >> 6)));
        out->push_back((char)(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
        out->push_back((char)(0xe0 | (cp >> 12)));
        out->push_back((char)(0x80 | ((cp >> 6) & 0x3f)));
        out->push_back((char)(0x80 | (cp & 0x3f)));
    } else {
        out->push_back((char)(0xf0 | (cp >> 18)));
        out->push_back((char)(0x80 | ((cp >> 12) & 0x3f)));
        out->push_back((char)(0x80 | ((cp >> 6) & 0x3f)));
        out->push_back((char)(0x80 | (cp & 0x3f)));
    }
}

void
bd_json_append_int(std::string *out, int64_t v)
{
    char buf[24];
    char *end = std::to_chars(buf, buf + sizeof(buf), v).ptr;
    out->append(buf, (size_t)(end - buf));
}
