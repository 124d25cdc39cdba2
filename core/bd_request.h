/*
 * bd_request.h: one client request on its way through the phases
 * (ACCESS -> CONTENT -> LOG). It lives on one worker thread from the moment
 * evhttp hands it over until bd_request_finalize; it holds a reference to the
 * snapshot it started on, so a reload never changes a request in flight.
 */
#ifndef BD_REQUEST_H
#define BD_REQUEST_H

#include <stdint.h>

#include <string>
#include <vector>

#include "core/bd_arena.h"
#include "core/bd_err.h"
#include "core/bd_module.h"
#include "core/bd_snapshot.h"

struct evhttp_request;
typedef struct json_t json_t;
struct event;

typedef void (*bd_request_cleanup_pt)(void *data);
/* Called when the client went away mid-request: cancel upstream work now; the
 * core finalizes the request right after the handler returns. */
typedef void (*bd_request_abort_pt)(bd_request_t *r);
/* Called when the client's output buffer drained below the low-water mark. */
typedef void (*bd_request_drain_pt)(bd_request_t *r);

/* The bytes a response sends, kept for the response cache (modules/cache): the body of
 * a complete answer or every chunk of a stream, up to <max> bytes (past it: <overflow>,
 * and nothing more is kept). */
struct bd_request_capture_t {
    std::string bytes;
    size_t max;
    bool overflow;
};

struct bd_request_cleanup_t {
    bd_request_cleanup_pt fn;
    void *data;
    bd_request_cleanup_t *next; /* the one registered before; in the arena */
};

enum bd_request_state_e {
    BD_REQ_RUNNING = 0,   /* phases running or suspended */
    BD_REQ_STREAMING = 1, /* response headers sent, body being streamed */
    BD_REQ_DONE = 2,      /* response complete, being finalized */
};

struct bd_request_t {
    bd_worker_t *w;
    struct evhttp_request *req; /* null once the connection is gone */
    struct event *close_ev;     /* early-close detection on the client socket (owned) */
    bd_snapshot_t *snap;        /* one reference, dropped at finalize */
    const bd_route_t *route;
    const bd_api_t *api;        /* the client API of the route; null for the gateway's own */
    bd_error_render_pt render_error; /* the error format of the path (null: the core's) */
    const char *id_header;      /* a second request-id header (the API's); null: none */
    uint64_t body_reserved;     /* body memory held for this request (bd_http_edge) */
    int state;                  /* bd_request_state_e */
    int phase;                  /* index into the access handlers, then content */
    bool modeled;               /* the MODEL phase ran */

    char id[80];        /* request id: generated, or the client's x-request-id */
    unsigned method;    /* BD_METHOD_* */
    std::string path;   /* without the query */
    std::string client_addr;

    const char *body;   /* the request body, contiguous; owned by evhttp */
    size_t body_len;

    /* Short-lived allocations that die with the request (core/bd_arena.h). */
    bd_arena_t arena;

    /* Set by the MODEL phase: the body parsed once (a JSON object; owned, released at
     * finalize; null when the route takes none or it did not parse) and who the
     * request is for (metadata.user_id or user; for usage records). */
    json_t *json;
    std::string user_id;

    /* Set by modules along the way, read by LOG handlers. */
    std::string key_id;         /* the principal (never the key itself) */
    std::string model;          /* as the client named it */
    std::string model_resolved; /* the Bedrock id or profile */
    std::string upstream_request_id;
    std::string error_type;     /* short name of the failure, for logs and metrics */
    int64_t input_tokens, output_tokens, cache_read_tokens, cache_write_tokens;

    int64_t start_us, first_byte_us, upstream_us, end_us;

    /* The upstream call, for metrics (set by modules/bedrock). */
    std::string upstream_operation; /* "Converse", "ConverseStream", ...; "" without a call */
    std::string upstream_error;     /* exception name of a call that failed; "" otherwise */
    std::string upstream_target;    /* the failover target that answered (its label); "" for
                                       a model without a chain */
    int upstream_attempts;          /* attempts started; the retries are attempts - 1 */
    int64_t upstream_end_us;        /* when the call completed; 0 when it never did */
    /* Why the ACCESS phase refused the request (bd_reject_e), for metrics labels. */
    int reject_reason;
    int betas_dropped; /* beta values the client asked for that the model does not accept
                          (not sent) */

    /* The response cache's verdict (modules/cache, bd_cache_result_e); and what it
     * keeps of a response it may store. */
    int cache_result;
    bd_request_capture_t *capture; /* owned by the cache module; null when not capturing */

    int status;
    uint64_t bytes_sent;
    bool streamed;
    bool client_gone;
    /* A stream chunk went through evhttp, whose drain callback (on_drain) is then set
     * for the rest of the reply: later chunks may be written directly (bd_http.cc). */
    bool drain_cb_set;

    bd_request_abort_pt on_abort;
    bd_request_drain_pt on_drain;
    size_t out_high_water; /* bytes queued to the client that pause producers */

    bd_request_cleanup_t *cleanups; /* the last registered first: run in reverse */
    void *ctx[BD_MAX_MODULES];                  /* per-module request state */
};

/* Runs the phases from r->phase on: unless the route is public, the MODEL handlers
 * (once) and the ACCESS handlers of every module; then the route's content handler.
 * Worker thread. */
void bd_request_run(bd_request_t *r);

/* Continues a request suspended with BD_AGAIN at the next handler. */
void bd_request_resume(bd_request_t *r, int rc);

/* Registers <fn>(<data>) to run when the request is finalized. */
void bd_request_add_cleanup(bd_request_t *r, bd_request_cleanup_pt fn, void *data);

template <typename T>
static void
bd_request_arena_destroy(void *p)
{
    ((T *)p)->~T();
}

/* Builds a T (value-initialized) in <r>'s arena; its destructor runs at finalize. */
template <typename T>
static inline T *
bd_request_arena_new(bd_request_t *r)
{
    T *p = bd_arena_new<T>(&r->arena);
    bd_request_add_cleanup(r, bd_request_arena_destroy<T>, p);
    return p;
}

/* Runs the LOG phase and the cleanups, writes the access log line, drops the
 * snapshot and frees <r>. Called by the response functions; never twice. */
void bd_request_finalize(bd_request_t *r);

/* Keeps <len> bytes of <r>'s response in r->capture when there is one. */
void bd_request_capture(bd_request_t *r, const char *data, size_t len);

/* Reads a request header (case-insensitive); null when absent. */
const char *bd_request_header(const bd_request_t *r, const char *name);

#endif
