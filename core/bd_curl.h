/*
 * bd_curl.h: the upstream HTTP client of one worker: a libcurl multi handle driven by the
 * worker's libevent event_base, a free list of easy handles, and streaming transfers with
 * back-pressure and per-phase timeouts.
 * Thread: everything here belongs to the worker thread that created the bd_curl_t; nothing
 * may be called from another thread. The caller runs curl_global_init() once in main, before
 * any thread starts, and curl_global_cleanup() after every bd_curl_t is destroyed.
 */
#ifndef BD_CURL_H
#define BD_CURL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct event_base;

typedef struct bd_curl_s bd_curl_t;
typedef struct bd_curl_xfer_s bd_curl_xfer_t;
typedef struct bd_curl_xfer_s bd_curl_headers_t; /* the response headers of a transfer */

/* Settings of one client; 0 or NULL means the default written next to each field. */
typedef struct {
    long max_connections;       /* connection cache size (CURLMOPT_MAXCONNECTS); 0 = curl's */
    long max_host_connections;  /* per host (CURLMOPT_MAX_HOST_CONNECTIONS); 0 = unlimited */
    long max_total_connections; /* CURLMOPT_MAX_TOTAL_CONNECTIONS; 0 = unlimited */
    size_t max_idle_handles;    /* easy handles kept on the free list; 0 = 64 */
    const char *ca_file;        /* PEM bundle that verifies upstream TLS; NULL = system; copied */
} bd_curl_options_t;

/* One request header; both strings are copied when the transfer starts. */
typedef struct {
    const char *name;
    const char *value;
} bd_curl_header_t;

/* The HTTP version of a request. HTTP/2 requests to one host share connections, each
 * carrying many at once (curl waits for a connection being opened to say whether it
 * multiplexes rather than opening another). Plain-HTTP URLs always get HTTP/1.1: the
 * libcurl of Debian 12 cannot reuse an h2c prior-knowledge connection. */
typedef enum {
    BD_CURL_HTTP_1_1 = 0, /* HTTP/1.1 only: one request at a time per connection */
    BD_CURL_HTTP_2_TLS,   /* HTTP/2 where TLS negotiates it (ALPN), else HTTP/1.1 */
} bd_curl_http_e;

/* What to send. Strings and the header array are copied by bd_curl_xfer_start(); the body is
 * NOT: it is handed to curl as is and must stay valid and unchanged until on_done returns,
 * the transfer is canceled, or bd_curl_xfer_body_sent() says it is all out. Timeouts are in
 * ms, 0 = none. */
typedef struct {
    const char *method;              /* NULL = "POST" when body is set, else "GET" */
    const char *url;                 /* http:// or https:// */
    const bd_curl_header_t *headers; /* borrowed for the call */
    size_t nheaders;
    int http_version;           /* bd_curl_http_e; 0 = HTTP/1.1 */
    const char *content_type;   /* NULL = no Content-Type header at all */
    const void *body;           /* borrowed until the transfer ends; NULL = no body */
    size_t body_len;            /* bytes */
    /* Instead of <body>: the body as pieces sent in order (the list is copied, the bytes
     * borrowed as <body>'s are), read by curl as it sends instead of joined first. */
    const struct iovec *body_iov;
    size_t body_iovcnt;
    long connect_timeout_ms;    /* until the TCP (and TLS) connection is up */
    long first_byte_timeout_ms; /* from start until the response headers are complete */
    long idle_timeout_ms;       /* longest silence between body bytes after the headers */
    long total_timeout_ms;      /* the whole transfer, time spent paused included */
    /* curl's receive buffer in bytes (CURLOPT_BUFFERSIZE, 1024 at least) over HTTP/1.1;
     * 0 = curl's 16 KB, which HTTP/2 always uses. curl allocates it for each transfer,
     * so a held stream keeps one. */
    long recv_buffer;
    /* Asked once the connection that will carry the request is chosen (new or reused), with
     * the peer's numeric address and the transfer's <data>; false ends the transfer with
     * BD_CURL_ERROR before a request byte is sent. Runs inside curl: it may not call any
     * bd_curl function. NULL = any peer. */
    bool (*allow_peer)(void *data, const char *ip);
} bd_curl_request_t;

/* What on_headers and on_data return. */
typedef enum {
    BD_CURL_CONTINUE = 0, /* keep going; on_data: every byte given was consumed */
    BD_CURL_PAUSE,        /* on_data only: nothing was consumed, see bd_curl_handlers_t */
    BD_CURL_ABORT,        /* stop the transfer; on_done follows with BD_CURL_CANCELED */
} bd_curl_action_e;

/* How a transfer ended. */
typedef enum {
    BD_CURL_OK = 0,             /* a complete HTTP response arrived (any status) */
    BD_CURL_CONNECT_FAILED,     /* name resolution or TCP connect failed */
    BD_CURL_TIMEOUT_CONNECT,    /* connect_timeout_ms passed before the connection was up */
    BD_CURL_TIMEOUT_FIRST_BYTE, /* first_byte_timeout_ms passed before the headers ended */
    BD_CURL_TIMEOUT_IDLE,       /* idle_timeout_ms passed without a body byte */
    BD_CURL_TIMEOUT_TOTAL,      /* total_timeout_ms passed */
    BD_CURL_CANCELED,           /* on_headers or on_data returned BD_CURL_ABORT */
    BD_CURL_ERROR,              /* anything else; message says what */
} bd_curl_result_e;

typedef struct {
    bd_curl_result_e code;
    long http_status;    /* 0 when no response line arrived */
    int curl_code;       /* the CURLcode, CURLE_OK (0) for our own timeouts */
    const char *message; /* "" when code is BD_CURL_OK; valid until on_done returns */
} bd_curl_result_t;

/*
 * The callbacks of one transfer; all run on the worker thread, from the event loop.
 *
 * on_headers(<x>, <http_status>, <h>): once, when the final (non-1xx) response headers are
 *   complete; returns BD_CURL_CONTINUE, BD_CURL_ABORT, or BD_CURL_PAUSE which acts as
 *   bd_curl_xfer_pause(). <h> stays readable until on_done returns. May be NULL.
 * on_data(<x>, <p>, <len>): body bytes, in order. Returning BD_CURL_PAUSE consumes none of
 *   the <len> bytes and pauses the transfer: after bd_curl_xfer_resume(), delivery starts
 *   again at the first of those same bytes (the next call may carry more or fewer bytes than
 *   the paused one), so every body byte is consumed exactly once, by a call that returned
 *   BD_CURL_CONTINUE. While paused the idle timer is stopped; the total timer is not.
 * on_done(<x>, <res>): exactly once per started transfer unless it was canceled. When it
 *   returns, <x> goes back to the free list: the caller must forget <x> and may not use <res>,
 *   the headers or bd_curl_xfer_*() on <x> afterwards. Required.
 *
 * Inside on_headers and on_data the caller may start, pause, resume or cancel transfers
 * (this one included); starts and cancels issued there take effect once curl returns to the
 * event loop, but a canceled transfer gets no callback after bd_curl_xfer_cancel() returns.
 * bd_curl_destroy() must not be called from any callback.
 */
typedef struct {
    int (*on_headers)(bd_curl_xfer_t *x, long http_status, const bd_curl_headers_t *h);
    int (*on_data)(bd_curl_xfer_t *x, const char *p, size_t len);
    void (*on_done)(bd_curl_xfer_t *x, const bd_curl_result_t *res);
} bd_curl_handlers_t;

/* Counters of one client, written on its worker thread; copy them from there. */
typedef struct {
    uint64_t started;             /* bd_curl_xfer_start() successes */
    uint64_t completed;           /* on_done calls */
    uint64_t canceled;            /* bd_curl_xfer_cancel() calls, destroy included */
    uint64_t connections_created; /* new upstream connections (CURLINFO_NUM_CONNECTS) */
    uint64_t connections_reused;  /* transfers that ran on an already open connection */
    uint64_t in_flight;           /* started and neither completed nor canceled */
    uint64_t idle_woken;          /* idle cached connections found readable (closed) */
} bd_curl_stats_t;

/*
 * Creates the client of one worker on <base>, which it borrows and which must outlive it.
 * <opts> may be NULL (defaults) and is copied. Returns NULL if curl refuses an option.
 * Requires curl_global_init() to have run. Worker thread.
 */
bd_curl_t *bd_curl_create(struct event_base *base, const bd_curl_options_t *opts);

/* Applies the connection limits of <opts> (the fields that are not 0) to <c>, e.g.
 * after a reload; transfers in flight keep going. Returns 0, or -1 when curl refused
 * one. On <c>'s thread. */
int bd_curl_set_limits(bd_curl_t *c, const bd_curl_options_t *opts);

/*
 * Cancels every transfer still running (no callbacks), closes the cached connections and
 * frees <c>. Worker thread, from the event loop but never from a bd_curl callback.
 */
void bd_curl_destroy(bd_curl_t *c);

/*
 * Starts a transfer of <req> with <h> (copied) and the caller's <data> pointer. Returns the
 * transfer, owned by <c> and valid until on_done returns or bd_curl_xfer_cancel(); or NULL
 * when <req> is unusable (no URL, a header with CR or LF, curl refusing an option), in which
 * case no callback runs. Never calls back before returning. Worker thread.
 */
bd_curl_xfer_t *bd_curl_xfer_start(bd_curl_t *c, const bd_curl_request_t *req,
                                   const bd_curl_handlers_t *h, void *data);

/*
 * Stops <x> at once: detaches it from the multi handle (closing its connection if the
 * response was not complete), guarantees no callback for <x> after return and recycles it;
 * <x> must not be used again. Worker thread, any time before on_done starts.
 */
void bd_curl_xfer_cancel(bd_curl_xfer_t *x);

/*
 * Stops the response body of <x> until bd_curl_xfer_resume(): no on_data call until then
 * (curl stops reading; bytes it already holds wait). Idempotent; allowed inside callbacks,
 * on_data included (its current bytes count as consumed when it returns BD_CURL_CONTINUE).
 * A pause before the headers may hold them back too; the first-byte timer keeps running.
 * Worker thread.
 */
void bd_curl_xfer_pause(bd_curl_xfer_t *x);

/*
 * Resumes <x> paused by BD_CURL_PAUSE or bd_curl_xfer_pause(). Never calls back before it
 * returns: delivery restarts from the event loop, on a later callback. Worker thread.
 */
void bd_curl_xfer_resume(bd_curl_xfer_t *x);

/* Whether the whole request body of <x> is out (true without a body): after this, the
 * body's bytes are not read again unless the caller starts another transfer. */
bool bd_curl_xfer_body_sent(bd_curl_xfer_t *x);

/* The <data> pointer given to bd_curl_xfer_start(). */
void *bd_curl_xfer_data(const bd_curl_xfer_t *x);

/*
 * Returns the value of the response header <name> (case-insensitive; the first one if it
 * repeats), NUL-terminated, trimmed, with its length in <*len> when <len> is not NULL; or
 * NULL. Valid until on_done of the transfer returns.
 */
const char *bd_curl_headers_get(const bd_curl_headers_t *h, const char *name, size_t *len);

/* The number of response headers and the <i>th one, in arrival order; for forwarding. */
size_t bd_curl_headers_count(const bd_curl_headers_t *h);
void bd_curl_headers_at(const bd_curl_headers_t *h, size_t i, const char **name,
                        const char **value);

/* Copies the counters of <c> into <out>. Worker thread. */
void bd_curl_stats(const bd_curl_t *c, bd_curl_stats_t *out);

/* A short constant name of <code> for logs: "ok", "timeout idle"... */
const char *bd_curl_result_name(bd_curl_result_e code);

#endif
