/*
 * bd_json.h: small JSON helpers for hand-built output on hot paths (access log
 * lines, error bodies) where building a jansson tree would cost allocations.
 * Pure functions; any thread.
 */
#ifndef BD_JSON_H
#define BD_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <string>

/* Length of the valid UTF-8 sequence at <p> (1-4), or 0 when invalid. */
size_t bd_json_utf8_len(const unsigned char *p, size_t left);

/* Appends code point <cp> (below 0x110000, not a surrogate) as UTF-8. */
void bd_json_append_utf8(std::string *out, uint32_t cp);

/* Appends <s> as a JSON string literal, quotes included; invalid UTF-8 bytes
 * become U+FFFD so the output is always valid JSON. */
void bd_json_append_string(std::string *out, const char *s, size_t len);

/* The same without the quotes: for a literal written in parts ("req#" + id). */
void bd_json_append_escaped(std::string *out, const char *s, size_t len);

/* The bytes a JSON string carries as they are (not '"', '\\', a control character
 * or a byte of a multibyte sequence): one load and test per byte in a scan,
 * instead of four comparisons. */
struct bd_json_plain_table_t {
    bool plain[256];
    constexpr bd_json_plain_table_t() : plain()
    {
        for (int c = 0; c < 256; c++) {
            plain[c] = c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
        }
    }
};
inline constexpr bd_json_plain_table_t bd_json_plain;

/* The length of the run of such bytes <s> starts with. */
static inline size_t
bd_json_plain_run(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len && bd_json_plain.plain[(unsigned char)s[i]]) {
        i++;
    }
    return i;
}

/* Appends <v> as a JSON number (std::to_chars: no locale, no format parsing). */
void bd_json_append_int(std::string *out, int64_t v);

static inline void
bd_json_append_string(std::string *out, const std::string &s)
{
    bd_json_append_string(out, s.data(), s.size());
}

#endif
