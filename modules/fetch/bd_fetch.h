/*
 * bd_fetch.h: the gateway's fetch of URL image and document sources (a model with
 * `url_sources on;`): every URL of a converted request is downloaded at once on the
 * worker's own curl client, bounded in size and time, refused when the peer is a private
 * or local address, and written back into the Bedrock body as base64. Worker thread only;
 * the reactor never blocks (curl resolves names on its own threads).
 */
#ifndef BD_FETCH_H
#define BD_FETCH_H

#include <stddef.h>

#include <string>

#include "core/bd_module.h"
#include "core/bd_request.h"
#include "modules/convert/bd_convert.h"

/* Most URL sources one request may carry (Anthropic's own limit on images). */
#define BD_FETCH_MAX_SOURCES 100

/* Called once when every source of a batch is filled (<err> null) or on the first failure
 * (<err> a 400 invalid_request_error saying which URL and why). It may answer and finalize
 * the request. Worker thread, from the event loop. */
typedef void (*bd_fetch_done_pt)(void *data, const bd_convert_error_t *err);

/* Fetches every entry of <creq>->url_sources for <r> concurrently and fills each with
 * bd_convert_url_source_fill(). <creq> is borrowed and must live until <done> runs or
 * <r> is finalized. Returns 0 when the fetches started: <done>(<data>, ...) follows,
 * never before this returns, unless <r> is finalized first (the fetches are then
 * canceled without a callback). Returns -1 with a 400 in <err> when a source cannot be
 * fetched at all (not http or https, too many sources); nothing is left running. */
int bd_fetch_url_sources(bd_request_t *r, bd_convert_request_t *creq, bd_fetch_done_pt done,
                         void *data, bd_convert_error_t *err);

/* --- pure helpers, any thread (bd_fetch_util.cc) --- */

/* Whether the numeric address <ip> (IPv4 or IPv6 text) is public: false for loopback,
 * private, link-local, unique-local, CGNAT, multicast, reserved and unspecified ranges
 * (IPv4-mapped and NAT64 IPv6 forms are judged by their IPv4 address), and for text
 * that is not an address. */
bool bd_fetch_ip_is_public(const char *ip);

/* Whether <url> starts with http:// or https:// (case-insensitive). */
bool bd_fetch_scheme_ok(const char *url);

/* The media type of a fetched body: the Content-Type value <content_type> (may be null)
 * without parameters, lower-cased, image/jpg read as image/jpeg; when it is absent or
 * application/octet-stream, what the first bytes of <body> say (png, jpeg, gif, webp,
 * pdf). Empty when nothing is known. */
std::string bd_fetch_media_type(const char *content_type, const char *body, size_t len);

/* Standard base64 of <len> bytes at <p>, replacing <out>. */
void bd_fetch_base64(const char *p, size_t len, std::string *out);

extern bd_module_t bd_fetch_module;

#endif
