/*
 * bd_http_edge.h: what a connection may do before a request reaches a handler.
 * evhttp reads a whole request (body included) before it calls back; the edge
 * watches each connection's bytes and decides on the request head, before the body
 * is read: a head that RFC 9112 would not accept, a request over the connection
 * caps, one without a valid key (through the head access hooks) or one whose body
 * would pass the worker's memory budget is refused with its body unread and the
 * connection closed. It also keeps the deadlines evhttp does not: a head must be
 * complete within client_header_timeout of its first byte, a body must arrive at
 * client_body_min_rate, and a client that stops reading a response is cut after
 * send_timeout. Worker thread only, except where a function says otherwise.
 */
#ifndef BD_HTTP_EDGE_H
#define BD_HTTP_EDGE_H

#include <stddef.h>
#include <stdint.h>

#include <string>

#include "core/bd_err.h"
#include "core/bd_snapshot.h"

struct evhttp;
struct evhttp_request;
struct evhttp_bound_socket;
struct bufferevent;
struct event_base;

/* A request head as the head access hooks see it. */
struct bd_http_head_view_t {
    bd_worker_t *w;
    const bd_snapshot_t *snap;
    const bd_route_t *route;
    struct evhttp_request *req; /* core only */
};

/* Reads a header of the head (case-insensitive); null when absent. */
const char *bd_http_head_header(const bd_http_head_view_t *v, const char *name);

/* Why a request is refused before its body is read. */
struct bd_http_refusal_t {
    int status;
    int err;             /* the error type (bd_err_e) */
    const char *message; /* for the client; a string that outlives the request */
    int reason;          /* why, for metrics (bd_reject_e, r->reject_reason) */
};

/* A head access hook: returns false with <out> filled to refuse. Called for every
 * request head on a route that is not public, before its body is read. */
typedef bool (*bd_http_head_access_pt)(const bd_http_head_view_t *v, bd_http_refusal_t *out);

/* Adds a head access hook (main thread, from a module's init_process). */
void bd_http_add_head_access(bd_http_head_access_pt fn);

/* Worker start: the edge state of this worker; <http>/<https> are its evhttp
 * objects (TLS connections get their bufferevent from <ssl_bev>, which may return
 * null). */
void bd_http_edge_setup(bd_worker_t *w, struct evhttp *http, struct evhttp *https,
                        struct bufferevent *(*ssl_bev)(struct event_base *, bd_worker_t *));

/* Worker end, after its evhttp objects are freed. */
void bd_http_edge_teardown(bd_worker_t *w);

/* Watches a listener bound by the worker: running out of descriptors pauses it. */
void bd_http_edge_watch_listener(bd_worker_t *w, struct evhttp_bound_socket *bound);

/* The edge's decision about the request evhttp just completed, taken once by the
 * request callback: true with <out> filled when the request must be refused (its
 * body was not read; the response must close the connection). Also hands the
 * request's reserved body memory to <*reserved> (to give back with
 * bd_http_edge_release when the request ends). */
bool bd_http_edge_take_verdict(struct evhttp_request *req, bd_http_refusal_t *out,
                               uint64_t *reserved);

/* Gives back body memory reserved for a request (worker thread). */
void bd_http_edge_release(bd_worker_t *w, uint64_t reserved);

/* The response to the connection's current request is out: the next head's
 * deadline may start. */
void bd_http_edge_response_done(struct evhttp_request *req);

/* The request target of the head being read on <req>'s connection (for requests
 * evhttp rejects itself, whose target it has discarded); empty when unknown. */
std::string bd_http_edge_target(struct evhttp_request *req);

#endif
