/*
 * bd_http_head.cc: the strict request-head checker (RFC 9112 sections 3, 5 and 6,
 * with nginx's choices where the RFC leaves one: a repeated Content-Length is an
 * error even when both values agree, and Transfer-Encoding must be "chunked").
 */
#include "core/bd_http_head.h"

#include <string.h>
#include <strings.h>

size_t
bd_http_head_end(const char *p, size_t n, size_t from)
{
    size_t line = 0;
    if (from > 0) {
        const void *lf = memrchr(p, '\n', from);
        line = lf ? (size_t)((const char *)lf - p) + 1 : 0;
    }
    for (size_t i = from; i < n; i++) {
        if (p[i] != '\n') {
            continue;
        }
        if (i == line || (i == line + 1 && p[line] == '\r')) {
            return i + 1;
        }
        line = i + 1;
    }
    return 0;
}

/* tchar of RFC 9110 5.6.2. */
static bool
bd_http_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
        return true;
    }
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

/* field-vchar / SP / HTAB: no control character but HTAB, no DEL. */
static bool
bd_http_value_char(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static bool
bd_http_request_line(const char *p, size_t n, bd_http_head_t *h)
{
    size_t i = 0;
    while (i < n && bd_http_tchar((unsigned char)p[i])) {
        i++;
    }
    if (i == 0 || i >= n || p[i] != ' ') {
        return false;
    }
    h->method.assign(p, i);
    size_t t = ++i;
    while (i < n && (unsigned char)p[i] > 0x20 && (unsigned char)p[i] < 0x7f) {
        i++;
    }
    if (i == t || i >= n || p[i] != ' ') {
        return false;
    }
    h->target.assign(p + t, i - t);
    i++;
    if (n - i != 8 || memcmp(p + i, "HTTP/1.", 7) != 0 || p[i + 7] < '0' || p[i + 7] > '9') {
        return false;
    }
    h->minor = p[i + 7] - '0';
    return true;
}

static bool
bd_http_digits(const char *v, size_t n, uint64_t *out)
{
    if (n == 0 || n > 18) {
        return false;
    }
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9') {
            return false;
        }
        x = x * 10 + (uint64_t)(v[i] - '0');
    }
    *out = x;
    return true;
}

/* One field line (without its CRLF): name, colon, value; framing headers noted. */
static const char *
bd_http_field(const char *p, size_t n, bd_http_head_t *h, int *te_count)
{
    if (p[0] == ' ' || p[0] == '\t') {
        return "a header line starts with white space (obsolete line folding)";
    }
    size_t i = 0;
    while (i < n && bd_http_tchar((unsigned char)p[i])) {
        i++;
    }
    if (i < n && (p[i] == ' ' || p[i] == '\t')) {
        return "white space between a header name and its colon";
    }
    if (i == 0 || i >= n || p[i] != ':') {
        return "a header line without a valid name and colon";
    }
    size_t name_len = i++;
    for (size_t k = i; k < n; k++) {
        if (!bd_http_value_char((unsigned char)p[k])) {
            return "a control character in a header value";
        }
    }
    while (i < n && (p[i] == ' ' || p[i] == '\t')) {
        i++;
    }
    size_t end = n;
    while (end > i && (p[end - 1] == ' ' || p[end - 1] == '\t')) {
        end--;
    }
    const char *v = p + i;
    size_t vlen = end - i;
    if (name_len == 14 && strncasecmp(p, "Content-Length", 14) == 0) {
        if (h->has_length) {
            return "more than one Content-Length";
        }
        if (!bd_http_digits(v, vlen, &h->content_length)) {
            return "an invalid Content-Length";
        }
        h->has_length = true;
    } else if (name_len == 17 && strncasecmp(p, "Transfer-Encoding", 17) == 0) {
        if (++*te_count > 1 || vlen != 7 || strncasecmp(v, "chunked", 7) != 0) {
            return "a Transfer-Encoding other than \"chunked\"";
        }
        h->chunked = true;
    }
    return nullptr;
}

bool
bd_http_head_check(const char *p, size_t n, bd_http_head_t *h)
{
    *h = bd_http_head_t();
    /* Every line break is CRLF; a CR is nowhere else. */
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r')) {
            h->error = "a line break without CR";
            return false;
        }
        if (p[i] == '\r' && (i + 1 >= n || p[i + 1] != '\n')) {
            h->error = "a CR that does not end a line";
            return false;
        }
    }
    if (n < 4 || memcmp(p + n - 4, "\r\n\r\n", 4) != 0) {
        h->error = "an incomplete request head";
        return false;
    }
    const char *eol = (const char *)memmem(p, n, "\r\n", 2);
    if (!bd_http_request_line(p, (size_t)(eol - p), h)) {
        h->error = "a malformed request line";
        return false;
    }
    int te_count = 0;
    const char *line = eol + 2;
    const char *end = p + n - 2; /* the empty line */
    while (line < end) {
        eol = (const char *)memmem(line, (size_t)(end - line) + 2, "\r\n", 2);
        const char *err = bd_http_field(line, (size_t)(eol - line), h, &te_count);
        if (err != nullptr) {
            h->error = err;
            return false;
        }
        line = eol + 2;
    }
    if (h->chunked && (h->has_length || h->minor == 0)) {
        h->error = h->has_length ? "both Content-Length and Transfer-Encoding"
                                 : "Transfer-Encoding in an HTTP/1.0 request";
        return false;
    }
    return true;
}

std::string
bd_http_head_target(const char *p, size_t n)
{
    const char *lf = (const char *)memchr(p, '\n', n);
    if (lf == nullptr) {
        return "";
    }
    const char *sp = (const char *)memchr(p, ' ', (size_t)(lf - p));
    if (sp == nullptr) {
        return "";
    }
    sp++;
    const char *stop = sp;
    while (stop < lf && *stop != ' ' && *stop != '\r') {
        stop++;
    }
    return std::string(sp, (size_t)(stop - sp));
}
