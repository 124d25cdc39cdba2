/*
 * bd_fuzz_head.cc: fuzz target for the request-head checker (core/bd_http_head.h). The end
 * of a head is found the same way whether the bytes come at once or in two pieces; a head
 * the checker accepts is one evhttp can only read one way: every line ends in CRLF, no
 * line is folded, no CR, LF or control character (but HTAB) is anywhere else, every
 * header line has a token name right before its colon, at most one Content-Length made
 * of digits (and then no Transfer-Encoding), and the framing it reports is the one the
 * bytes say.
 */
#include <string.h>
#include <strings.h>

#include <string>

#include "core/bd_http_head.h"
#include "tests/fuzz/bd_fuzz.h"

static bool
bd_fuzz_head_token(char c)
{
    return c > 0x20 && c < 0x7f && strchr("\"(),/:;<=>?@[\\]{}", c) == nullptr;
}

/* Re-reads an accepted head line by line and checks what the checker promised. */
static void
bd_fuzz_head_accepted(const char *p, size_t n, const bd_http_head_t &h)
{
    BD_FUZZ_CHECK(n >= 4 && memcmp(p + n - 4, "\r\n\r\n", 4) == 0, "ends with an empty line");
    BD_FUZZ_CHECK(!h.method.empty() && !h.target.empty(), "method and target");
    BD_FUZZ_CHECK(h.minor >= 0 && h.minor <= 9, "HTTP/1.x");
    int lengths = 0, encodings = 0;
    size_t at = (size_t)((const char *)memmem(p, n, "\r\n", 2) - p) + 2;
    while (at < n - 2) {
        const char *eol = (const char *)memmem(p + at, n - at, "\r\n", 2);
        BD_FUZZ_CHECK(eol != nullptr, "a line without CRLF");
        std::string line(p + at, (size_t)(eol - (p + at)));
        BD_FUZZ_CHECK(!line.empty() && line[0] != ' ' && line[0] != '\t', "a folded line");
        size_t colon = line.find(':');
        BD_FUZZ_CHECK(colon != std::string::npos && colon > 0, "a line without a name");
        for (size_t i = 0; i < colon; i++) {
            BD_FUZZ_CHECK(bd_fuzz_head_token(line[i]), "a name that is not a token");
        }
        for (size_t i = colon + 1; i < line.size(); i++) {
            unsigned char c = (unsigned char)line[i];
            BD_FUZZ_CHECK(c == '\t' || (c >= 0x20 && c != 0x7f), "a control character");
        }
        std::string name = line.substr(0, colon);
        if (strcasecmp(name.c_str(), "Content-Length") == 0) {
            lengths++;
        } else if (strcasecmp(name.c_str(), "Transfer-Encoding") == 0) {
            encodings++;
        }
        at = (size_t)(eol - p) + 2;
    }
    BD_FUZZ_CHECK(lengths <= 1 && encodings <= 1 && !(lengths && encodings), "framing");
    BD_FUZZ_CHECK(h.has_length == (lengths == 1) && h.chunked == (encodings == 1), "reported");
    BD_FUZZ_CHECK(bd_http_head_target(p, n) == h.target, "the target read early");
}

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    size_t end = bd_http_head_end(p, size, 0);
    BD_FUZZ_CHECK(end <= size, "end within the input");
    if (end > 0) {
        BD_FUZZ_CHECK(p[end - 1] == '\n', "ends at a line feed");
    }
    /* In two pieces: the first piece says "incomplete" unless the end is in it. */
    size_t split = size > 0 ? (size_t)data[0] % (size + 1) : 0;
    size_t first = bd_http_head_end(p, split, 0);
    size_t whole = first > 0 ? first : bd_http_head_end(p, size, split);
    BD_FUZZ_CHECK(whole == end, "the end found in pieces");

    bd_http_head_t h;
    bool ok = bd_http_head_check(p, end > 0 ? end : size, &h);
    BD_FUZZ_CHECK(ok == (h.error == nullptr), "an error exactly when refused");
    if (ok) {
        bd_fuzz_head_accepted(p, end > 0 ? end : size, h);
    }
    return 0;
}
