/*
 * bd_http_head.h: the request head as RFC 9112 reads it, checked on the raw bytes
 * before evhttp parses them. evhttp is lenient where leniency lets a request be
 * read two ways (bare LF, folded lines, "Content-Length: +5", two lengths, a space
 * before the colon); a head that fails here is answered 400 and the connection is
 * closed, so that no byte after it can be taken for a request. Pure functions.
 */
#ifndef BD_HTTP_HEAD_H
#define BD_HTTP_HEAD_H

#include <stddef.h>
#include <stdint.h>

#include <string>

/* Where the head ends, by evhttp's own rule (the first empty line, the line break
 * being LF with an optional CR): the length of the head including that line, or 0
 * while it is incomplete. <from> is where a previous call stopped looking. */
size_t bd_http_head_end(const char *p, size_t n, size_t from);

struct bd_http_head_t {
    std::string method;
    std::string target; /* the request target, query included */
    int minor;          /* HTTP/1.<minor> */
    bool has_length;
    uint64_t content_length;
    bool chunked;
    const char *error; /* null when the head is acceptable; else why not (for the 400) */
};

/* Checks the complete head <p>,<n> (as bd_http_head_end delimits it) and fills <h>.
 * Returns true when it is acceptable. */
bool bd_http_head_check(const char *p, size_t n, bd_http_head_t *h);

/* The request target of the first line, when that line is complete (for choosing
 * an error format before the head is whole); empty otherwise. */
std::string bd_http_head_target(const char *p, size_t n);

#endif
