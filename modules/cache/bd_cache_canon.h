/*
 * bd_cache_canon.h: what makes two requests "the same" for the response cache, and
 * whether an answer is whole enough to keep. Pure functions, any thread.
 */
#ifndef BD_CACHE_CANON_H
#define BD_CACHE_CANON_H

#include <jansson.h>
#include <stddef.h>

#include <string>

/* The canonical text of <body>: object keys sorted, no whitespace, numbers as jansson
 * prints them; so key order and formatting never change the cache key. */
std::string bd_cache_canonical(const json_t *body);

/* The cache key: lowercase hex SHA-256 over the scope, the route path and the canonical
 * body, each length-prefixed so no two different triples collide by concatenation. */
std::string bd_cache_key(const std::string &scope, const std::string &path,
                         const std::string &canonical);

/* Whether <body> asks for a deterministic answer: "temperature" is the number 0. */
bool bd_cache_deterministic(const json_t *body);

/* Whether a request's cache-control header (<value>, may be null) forbids reading the
 * cache: "no-cache" or "no-store" among its directives. */
bool bd_cache_control_bypass(const char *value);

/* Whether <sse> (<len> bytes) is a complete SSE stream worth replaying: it ends with
 * Anthropic's message_stop event or OpenAI's [DONE], and carries no error event. */
bool bd_cache_stream_complete(const char *sse, size_t len);

#endif
