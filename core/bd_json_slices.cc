/*
 * bd_json_slices.cc: cutting large base64 strings out of a JSON text, and pasting
 * them back into a serialized one.
 */
#include "core/bd_json_slices.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <string_view>

/* "bdslice" + 16 hex digits of nonce + 8 of index: fixed width, so a token ends
 * where it ends even inside a longer string. */
static const size_t BD_SLICE_PREFIX = 7 + 16;
static const size_t BD_SLICE_TOKEN = BD_SLICE_PREFIX + 8;

static const std::string &
bd_json_slice_prefix(void)
{
    static const std::string prefix = [] {
        unsigned long long nonce = 0;
        if (getrandom(&nonce, sizeof(nonce), 0) != (ssize_t)sizeof(nonce)) {
            struct timespec ts; /* no entropy yet: the nonce only avoids look-alikes */
            clock_gettime(CLOCK_REALTIME, &ts);
            nonce = (unsigned long long)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^ (unsigned long long)ts.tv_sec;
        }
        char buf[32];
        snprintf(buf, sizeof(buf), "bdslice%016llx", nonce);
        return std::string(buf);
    }();
    return prefix;
}

/* The base64 alphabets (standard and URL-safe) and padding. */
static bool
bd_json_slice_byte(unsigned char c)
{
    static const struct table_t {
        bool ok[256];
        table_t() : ok()
        {
            for (int c = 'A'; c <= 'Z'; c++) {
                ok[c] = ok[c + 'a' - 'A'] = true;
            }
            for (int c = '0'; c <= '9'; c++) {
                ok[c] = true;
            }
            for (unsigned char c : {'+', '/', '=', '-', '_'}) {
                ok[c] = true;
            }
        }
    } table;
    return table.ok[c];
}

/* The end of the run of base64 letters from <p>: sixteen bytes at a time (GCC's
 * vector extensions, so SSE2 or NEON without intrinsics), then byte by byte. A 1 MiB
 * image is a single such run; byte by byte it was most of the cut's time. */
typedef unsigned char bd_json_v16_t __attribute__((vector_size(16)));
typedef uint64_t bd_json_v2_t __attribute__((vector_size(16)));

static const char *
bd_json_slice_run_end(const char *p, const char *end)
{
    while (end - p >= 16) {
        bd_json_v16_t c;
        memcpy(&c, p, sizeof(c));
        bd_json_v16_t ok = (bd_json_v16_t)((bd_json_v16_t)(c - 'A') < 26) |
                           (bd_json_v16_t)((bd_json_v16_t)(c - 'a') < 26) |
                           (bd_json_v16_t)((bd_json_v16_t)(c - '0') < 10) |
                           (bd_json_v16_t)(c == '+') | (bd_json_v16_t)(c == '/') |
                           (bd_json_v16_t)(c == '=') | (bd_json_v16_t)(c == '-') |
                           (bd_json_v16_t)(c == '_');
        bd_json_v2_t all = (bd_json_v2_t)ok;
        if ((all[0] & all[1]) != ~(uint64_t)0) {
            break;
        }
        p += 16;
    }
    while (p < end && bd_json_slice_byte((unsigned char)*p)) {
        p++;
    }
    return p;
}

/* Whether the string opening at <quote> is the value of a member named by one of
 * <names> (quoted: "\"data\""): the name, blanks, ':', blanks before it. */
static bool
bd_json_slice_member(const char *json, const char *quote, const char *const *names)
{
    const char *p = quote;
    while (p > json && (p[-1] == ' ' || p[-1] == '\t' || p[-1] == '\n' || p[-1] == '\r')) {
        p--;
    }
    if (p == json || p[-1] != ':') {
        return false;
    }
    p--;
    while (p > json && (p[-1] == ' ' || p[-1] == '\t' || p[-1] == '\n' || p[-1] == '\r')) {
        p--;
    }
    size_t before = (size_t)(p - json);
    for (; *names != nullptr; names++) {
        size_t n = strlen(*names);
        if (before >= n && memcmp(p - n, *names, n) == 0) {
            return true;
        }
    }
    return false;
}

static const char *const bd_json_slice_media_names[] = {"\"data\"", "\"bytes\"", nullptr};
static const char *const bd_json_slice_url_names[] = {"\"url\"", "\"image_url\"",
                                                      "\"file_data\"", nullptr};

/* A media type and its parameters are short; a longer head is not cut. */
static const size_t BD_JSON_SLICE_URL_HEAD_MAX = 256;

/* Where the base64 of a data URL starts, in the string whose first byte is <s>: just
 * past its first comma, when the string starts "data:" and the head ends ";base64".
 * Null otherwise, and when the head holds an escape or a quote: jansson would read
 * such a head differently from these bytes (an escaped comma, say), and the
 * converter splits the URL as jansson reads it. */
static const char *
bd_json_slice_data_url_run(const char *s, const char *end)
{
    if (end - s < 5 || memcmp(s, "data:", 5) != 0) {
        return nullptr;
    }
    const char *limit = end - s > (ptrdiff_t)BD_JSON_SLICE_URL_HEAD_MAX ? s + BD_JSON_SLICE_URL_HEAD_MAX
                                                                         : end;
    for (const char *p = s + 5; p < limit; p++) {
        if (*p == '"' || *p == '\\') {
            return nullptr;
        }
        if (*p == ',') {
            return p - s >= 5 + 7 && memcmp(p - 7, ";base64", 7) == 0 ? p + 1 : nullptr;
        }
    }
    return nullptr;
}

/* Appends to <out> the text from <copied> to <run>, then the token of the next cut,
 * which stands for <run> up to <run_end>. */
static void
bd_json_slice_take(size_t len, const char *copied, const char *run, const char *run_end,
                   bd_json_slices_t *out)
{
    if (out->text.empty()) {
        out->text.reserve(len / 8 + 256);
    }
    out->text.append(copied, (size_t)(run - copied));
    char index[12];
    snprintf(index, sizeof(index), "%08zx", out->cut.size());
    out->text.append(bd_json_slice_prefix()).append(index, 8);
    out->cut.push_back({run, (size_t)(run_end - run)});
}

size_t
bd_json_slices_cut(const char *json, size_t len, unsigned kinds, bd_json_slices_t *out)
{
    out->text.clear();
    out->cut.clear();
    const char *end = json + len;
    const char *copied = json; /* text before this is in out->text */
    const char *p = json;
    while (p < end) {
        const char *q = (const char *)memchr(p, '"', (size_t)(end - p));
        if (q == nullptr) {
            break;
        }
        const char *s = q + 1; /* the string's first byte */
        const char *run = nullptr; /* where the base64 starts, if the string may be media */
        const char *const *names = nullptr;
        if ((kinds & BD_JSON_SLICE_DATA_URL) != 0) {
            run = bd_json_slice_data_url_run(s, end);
            names = bd_json_slice_url_names;
        }
        if (run == nullptr) {
            run = s;
            names = (kinds & BD_JSON_SLICE_MEDIA) != 0 ? bd_json_slice_media_names : nullptr;
        }
        const char *e = bd_json_slice_run_end(run, end);
        if (names != nullptr && e < end && *e == '"' && (size_t)(e - run) >= BD_JSON_SLICE_MIN &&
            bd_json_slice_member(json, q, names)) {
            bd_json_slice_take(len, copied, run, e, out);
            copied = e;
            p = e + 1;
            continue;
        }
        /* an ordinary string: to its closing quote, over escapes (never past the end) */
        while (e < end && *e != '"') {
            e += *e == '\\' && end - e > 1 ? 2 : 1;
        }
        if (e == end) {
            break;
        }
        p = e + 1;
    }
    if (out->cut.empty()) {
        return 0;
    }
    out->text.append(copied, (size_t)(end - copied));
    return out->cut.size();
}

/* The index named by the token at <at> of <text>, or -1 when that is no token of <s>. */
static long
bd_json_slice_index(const bd_json_slices_t *s, const char *text, size_t len, size_t at)
{
    if (at + BD_SLICE_TOKEN > len) {
        return -1;
    }
    size_t index = 0;
    for (size_t i = at + BD_SLICE_PREFIX; i < at + BD_SLICE_TOKEN; i++) {
        char c = text[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0) {
            return -1;
        }
        index = index * 16 + (size_t)d;
    }
    return index < s->cut.size() ? (long)index : -1;
}

void
bd_json_slices_pieces(const bd_json_slices_t *s, const char *text, size_t len,
                      std::vector<struct iovec> *out)
{
    out->clear();
    size_t from = 0;
    if (s != nullptr && !s->cut.empty()) {
        const std::string &prefix = bd_json_slice_prefix();
        std::string_view view(text, len);
        for (size_t at = view.find(prefix); at != std::string_view::npos; at = view.find(prefix, at + 1)) {
            long index = bd_json_slice_index(s, text, len, at);
            if (index < 0) {
                continue;
            }
            const bd_json_slice_t &c = s->cut[(size_t)index];
            out->push_back({const_cast<char *>(text + from), at - from});
            out->push_back({const_cast<char *>(c.at), c.len});
            from = at + BD_SLICE_TOKEN;
        }
    }
    out->push_back({const_cast<char *>(text + from), len - from});
}

void
bd_json_slices_paste(const bd_json_slices_t *s, std::string *text)
{
    if (s == nullptr || s->cut.empty() || text->find(bd_json_slice_prefix()) == std::string::npos) {
        return;
    }
    std::vector<struct iovec> pieces;
    bd_json_slices_pieces(s, text->data(), text->size(), &pieces);
    size_t total = 0;
    for (const struct iovec &v : pieces) {
        total += v.iov_len;
    }
    std::string out;
    out.reserve(total);
    for (const struct iovec &v : pieces) {
        out.append((const char *)v.iov_base, v.iov_len);
    }
    text->swap(out);
}
