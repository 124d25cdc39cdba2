/*
 * bd_http.h: responses. The only interface modules use to answer a client; the
 * only file that touches evhttp_request is bd_http.cc. Worker thread only.
 * Every function here that completes a response finalizes the request: the
 * caller must not touch <r> afterwards.
 */
#ifndef BD_HTTP_H
#define BD_HTTP_H

#include <stddef.h>

#include <string>

#include "core/bd_request.h"

struct evhttp;
struct evhttp_request;
struct bufferevent;
struct event_base;

/* Adds a response header (before the response starts). */
void bd_http_header_out(bd_request_t *r, const char *name, const char *value);

/* The raw value of the query argument <name> (not percent-decoded); empty when absent. */
std::string bd_http_query_arg(bd_request_t *r, const char *name);

/* The request's body will not be read again (what it said is in the upstream request
 * now): its bytes and its share of worker_body_memory are given back at once, not when
 * a long answer ends. r->body becomes empty; r->body_len stays (estimates use it). */
void bd_http_drop_body(bd_request_t *r);

/* Sends a complete response and finalizes. */
void bd_http_send(bd_request_t *r, int status, const char *content_type, const char *body,
                  size_t len);

/* Sends an error of type <err> (bd_err_e) in the format registered for the request's
 * path (see bd_snapshot_add_error_format) and finalizes; r->error_type is set to the
 * type's name unless already set. */
void bd_http_send_error(bd_request_t *r, int status, int err, const char *message);

/* Streaming: start (headers go out, chunked), write pieces, end (finalizes).
 * bd_http_stream_write returns the bytes now queued for the client; above
 * r->out_high_water producers should pause until r->on_drain is called. */
void bd_http_stream_start(bd_request_t *r, int status, const char *content_type);
size_t bd_http_stream_write(bd_request_t *r, const char *data, size_t len);
void bd_http_stream_end(bd_request_t *r);

/* Wires the worker's evhttp objects (plain and TLS) to the request path (worker
 * thread, once). */
void bd_http_setup(bd_worker_t *w, struct evhttp *http, struct evhttp *https);

/* Applies the size limits and timeouts of <snap> to <http> (worker thread, on adopt). */
void bd_http_apply_limits(struct evhttp *http, const bd_snapshot_t *snap);

#endif
