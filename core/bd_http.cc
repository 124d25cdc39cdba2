/*
 * bd_http.cc: the glue between evhttp and bd_request_t, and the only file that
 * touches evhttp_request. Worker thread only. It also replaces libevent's HTML
 * error page (evhttp_send_error, which evhttp calls itself for malformed or
 * oversized requests) with a JSON error in the format of the path's API.
 */
#include "core/bd_http.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/http_struct.h>
#include <event2/keyvalq_struct.h>
#include <openssl/ssl.h>

#include "core/bd_core_module.h"
#include "core/bd_http_edge.h"
#include "core/bd_json.h"
#include "core/bd_log.h"
#include "core/bd_realip.h"
#include "core/bd_worker.h"

/* The worker running on this thread; set once when the thread starts. It lets
 * evhttp_send_error, which libevent calls without our context, find the limits. */
static thread_local bd_worker_t *bd_http_worker;
/* Set while evhttp runs bd_http_on_request: evhttp's read path is on the stack. */
static thread_local bool bd_http_in_handler;

static const size_t BD_HTTP_HIGH_WATER = 256 * 1024;

static const char *
bd_http_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 413:
        return "Payload Too Large";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 529:
        return "Overloaded";
    default:
        return status < 400 ? "OK" : "Error";
    }
}

/* The error body for <path> (or <render> when the request knows its format): the
 * format a module registered, else a neutral {"error":{"type","message"}}. */
static void
bd_http_error_body(std::string *out, bd_error_render_pt render, int status, int err,
                   const char *message, const char *request_id)
{
    if (render != nullptr) {
        render(out, status, err, message, request_id);
        return;
    }
    const char *type = bd_err_name(err);
    out->append("{\"error\":{\"type\":");
    bd_json_append_string(out, type, strlen(type));
    out->append(",\"message\":");
    bd_json_append_string(out, message, strlen(message));
    out->append("}}");
}

/* libevent reports headers over client_max_header_size as a bad request; they are
 * told apart by the bytes it counted (which include a line it dropped for being too
 * long) or by the bytes parsed plus those still unread passing the limit. */
static bool
bd_http_headers_overflowed(struct evhttp_request *req)
{
    if (req->headers_size > bd_core_conf(bd_http_worker->snap)->client_max_header_size) {
        return true;
    }
    size_t bytes = 0;
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    for (struct evkeyval *kv = in->tqh_first; kv != nullptr; kv = kv->next.tqe_next) {
        bytes += strlen(kv->key) + strlen(kv->value) + 4;
    }
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    if (evcon != nullptr) {
        bytes += evbuffer_get_length(bufferevent_get_input(evhttp_connection_get_bufferevent(evcon)));
    }
    return bytes >= bd_core_conf(bd_http_worker->snap)->client_max_header_size;
}

/* The Allow header for <path>: the methods of its route. */
static const char *
bd_http_allow(const bd_route_t *route)
{
    if (route != nullptr && (route->methods & BD_METHOD_DELETE)) {
        return "GET, HEAD, DELETE";
    }
    return (route != nullptr && (route->methods & BD_METHOD_POST)) ? "POST" : "GET, HEAD";
}

/* libevent calls this for requests it rejects itself (unparsable, headers or body
 * over the limits, methods it does not know); defining it here interposes on the
 * library's HTML page so that clients get JSON in the format of the path they
 * asked for (evhttp has dropped the target by now; the edge kept the head). */
extern "C" void
evhttp_send_error(struct evhttp_request *req, int error, const char *reason)
{
    int status = error;
    if (status == 400 && bd_http_worker != nullptr && bd_http_headers_overflowed(req)) {
        status = 431;
    } else if (status == 413 && bd_http_worker != nullptr) {
        /* libevent reports oversized headers and bodies alike; a request whose
         * headers announce a body over the limit is 413, anything else 431. */
        struct evkeyvalq *in = evhttp_request_get_input_headers(req);
        const char *cl = evhttp_find_header(in, "Content-Length");
        const char *te = evhttp_find_header(in, "Transfer-Encoding");
        const bd_core_conf_t *ccf = bd_core_conf(bd_http_worker->snap);
        bool body_over = (cl != nullptr && strtoull(cl, nullptr, 10) > ccf->client_max_body_size) ||
                         (te != nullptr && strcasecmp(te, "chunked") == 0);
        status = body_over ? 413 : 431;
    }
    std::string target = req->uri ? req->uri : bd_http_edge_target(req);
    std::string path = target.substr(0, target.find('?'));
    const bd_snapshot_t *snap = bd_http_worker ? bd_http_worker->snap : nullptr;
    const bd_route_t *route = nullptr;
    if (snap != nullptr && !path.empty()) {
        bool method_ok = false;
        route = bd_snapshot_find_route(snap, path.c_str(), BD_METHOD_GET, &method_ok);
    }
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    if (status == 501) {
        status = 405; /* a method evhttp does not know: no route serves it */
        evhttp_add_header(out, "Allow", bd_http_allow(route));
    }
    const char *message = status == 413   ? "request body is too large"
                          : status == 431 ? "request header fields are too large"
                          : status == 405 ? "Method Not Allowed"
                                          : "malformed HTTP request";
    char id[80] = "";
    if (bd_http_worker != nullptr) {
        bd_worker_request_id(bd_http_worker, id, sizeof(id));
    }
    std::string body;
    bd_error_render_pt render = snap ? bd_snapshot_error_format(snap, path.c_str()) : nullptr;
    bd_http_error_body(&body, render, status, bd_err_of_status(status), message, id);
    if (id[0] != '\0') {
        evhttp_add_header(out, "request-id", id);
    }
    evhttp_add_header(out, "Content-Type", "application/json");
    evhttp_add_header(out, "Connection", "close");
    if (req->major != 1 || req->minor > 1) {
        /* the request line did not parse: answer in the version we speak */
        req->major = 1;
        req->minor = 1;
    }
    struct evbuffer *buf = evbuffer_new();
    if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
        char len[24];
        snprintf(len, sizeof(len), "%zu", body.size());
        evhttp_add_header(out, "Content-Length", len);
    } else {
        evbuffer_add(buf, body.data(), body.size());
    }
    bd_log_error(BD_LOG_INFO, id, "rejected a request: %d %s", status, message);
    (void)reason;
    evhttp_send_reply(req, status, bd_http_reason(status), buf);
    evbuffer_free(buf);
}

/* Stops watching the client socket and detaches from the connection; after this,
 * evhttp owns the fate of the connection again. */
static void
bd_http_detach(bd_request_t *r)
{
    if (r->close_ev != nullptr) {
        event_free(r->close_ev);
        r->close_ev = nullptr;
    }
    if (r->req != nullptr) {
        struct evhttp_connection *evcon = evhttp_request_get_connection(r->req);
        if (evcon != nullptr) {
            evhttp_connection_set_closecb(evcon, nullptr, nullptr);
        }
    }
}

static void
bd_http_client_gone(bd_request_t *r)
{
    r->client_gone = true;
    if (r->status == 0 || r->state != BD_REQ_STREAMING) {
        r->status = 499; /* as nginx logs a request the client closed */
    }
    if (r->on_abort != nullptr) {
        bd_request_abort_pt abort = r->on_abort;
        r->on_abort = nullptr;
        abort(r);
    }
    bd_request_finalize(r);
}

/* evhttp is freeing the connection (write error, timeout) while we hold a request. */
static void
bd_http_on_conn_close(struct evhttp_connection *evcon, void *arg) noexcept
{
    bd_request_t *r = (bd_request_t *)arg;
    (void)evcon;
    if (r->close_ev != nullptr) {
        event_free(r->close_ev);
        r->close_ev = nullptr;
    }
    /* On EOF and timeouts libevent unlinks an unfinished request from the
     * connection before freeing it, leaving the request to us. */
    if (r->req != nullptr && evhttp_request_get_connection(r->req) == nullptr) {
        evhttp_request_free(r->req);
    }
    r->req = nullptr;
    bd_http_client_gone(r);
}

/* The client closed its socket while we were working (EV_CLOSED, epoll RDHUP). */
static void
bd_http_on_client_close(evutil_socket_t fd, short what, void *arg) noexcept
{
    bd_request_t *r = (bd_request_t *)arg;
    (void)fd;
    (void)what;
    struct evhttp_connection *evcon = evhttp_request_get_connection(r->req);
    bd_http_detach(r);
    r->req = nullptr;
    /* Freeing the connection frees the request still queued on it. */
    if (evcon != nullptr) {
        evhttp_connection_free(evcon);
    }
    bd_http_client_gone(r);
}

void
bd_http_header_out(bd_request_t *r, const char *name, const char *value)
{
    if (r->req != nullptr) {
        evhttp_add_header(evhttp_request_get_output_headers(r->req), name, value);
    }
}

/* Tracks a finished response until its last byte is written, so that a drain
 * does not stop the worker under a response still in the socket buffer. */
struct bd_http_flush_t {
    bd_worker_t *w;
};

static void
bd_http_on_flushed(struct evhttp_request *req, void *arg) noexcept
{
    bd_http_flush_t *f = (bd_http_flush_t *)arg;
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    if (evcon != nullptr) {
        evhttp_connection_set_closecb(evcon, nullptr, nullptr);
    }
    bd_http_edge_response_done(req);
    f->w->flushing.fetch_sub(1, std::memory_order_release);
    delete f;
}

static void
bd_http_on_flush_abort(struct evhttp_connection *evcon, void *arg) noexcept
{
    bd_http_flush_t *f = (bd_http_flush_t *)arg;
    (void)evcon;
    f->w->flushing.fetch_sub(1, std::memory_order_relaxed);
    delete f;
}

static void
bd_http_track_flush(bd_request_t *r)
{
    bd_http_flush_t *f = new bd_http_flush_t{r->w};
    r->w->flushing.fetch_add(1, std::memory_order_relaxed);
    evhttp_request_set_on_complete_cb(r->req, bd_http_on_flushed, f);
    evhttp_connection_set_closecb(evhttp_request_get_connection(r->req), bd_http_on_flush_abort, f);
}

/* The Date header's value, formatted once a second per thread, as nginx caches its
 * time strings: evhttp would otherwise format it (gmtime, snprintf) for every
 * response. Fixed English names, as HTTP wants, whatever the locale. */
static const char *
bd_http_date(void)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    static thread_local time_t formatted = -1;
    static thread_local char value[32];
    time_t now = time(nullptr);
    if (now != formatted) {
        struct tm tm;
        gmtime_r(&now, &tm);
        snprintf(value, sizeof(value), "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday],
                 tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                 tm.tm_sec);
        formatted = now;
    }
    return value;
}

static void
bd_http_common_headers(bd_request_t *r)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(r->req);
    evhttp_add_header(out, "request-id", r->id);
    if (r->id_header != nullptr) {
        evhttp_add_header(out, r->id_header, r->id); /* where the API's SDKs look */
    }
    if (r->w->draining) {
        evhttp_add_header(out, "Connection", "close");
    }
    evhttp_add_header(out, "Date", bd_http_date());
}

/* The plain-socket bufferevent of <req>'s connection, when a response to it may be
 * written at once (bd_http_send_now); else null. Not from inside bd_http_on_request,
 * where evhttp's read path is still on the stack, nor with output already queued. */
static struct bufferevent *
bd_http_plain_bev(struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : nullptr;
    if (bd_http_in_handler || bev == nullptr || bufferevent_getfd(bev) < 0 ||
        bufferevent_openssl_get_ssl(bev) != nullptr ||
        evbuffer_get_length(bufferevent_get_output(bev)) != 0) {
        return nullptr;
    }
    return bev;
}

/* Writes the response evhttp has just queued on <bev> to the socket at once: through
 * evhttp it would wait for the next EPOLLOUT, a wake-up and two epoll changes per
 * request. When the socket took it all, evhttp's write callback runs now and
 * finishes the request (the connection then reads the next one, or closes); else
 * the bufferevent writes the rest as usual. <bev> may be freed on return. */
static void
bd_http_send_now(struct bufferevent *bev)
{
    struct evbuffer *out = bufferevent_get_output(bev);
    if (evbuffer_write(out, bufferevent_getfd(bev)) > 0 && evbuffer_get_length(out) == 0) {
        bufferevent_trigger(bev, EV_WRITE, 0);
    }
}

void
bd_http_send(bd_request_t *r, int status, const char *content_type, const char *body, size_t len)
{
    BD_ASSERT(r->state == BD_REQ_RUNNING);
    r->status = status;
    r->state = BD_REQ_DONE;
    bd_request_capture(r, body, len);
    struct bufferevent *bev = nullptr;
    if (r->req != nullptr) {
        bd_http_detach(r);
        bd_http_common_headers(r);
        if (content_type != nullptr) {
            evhttp_add_header(evhttp_request_get_output_headers(r->req), "Content-Type",
                              content_type);
        }
        struct evbuffer *buf = evbuffer_new();
        if (r->method == BD_METHOD_HEAD) {
            /* the length a GET would have, and no body (RFC 9110 9.3.2) */
            char clen[24];
            snprintf(clen, sizeof(clen), "%zu", len);
            evhttp_add_header(evhttp_request_get_output_headers(r->req), "Content-Length", clen);
        } else {
            evbuffer_add(buf, body, len);
            r->bytes_sent = len;
        }
        bd_http_track_flush(r);
        struct evhttp_request *req = r->req;
        r->req = nullptr;
        bev = bd_http_plain_bev(req);
        evhttp_send_reply(req, status, bd_http_reason(status), buf);
        evbuffer_free(buf);
    }
    /* Counted and logged before the client can read the answer: a client that has
     * it and asks /metrics or its usage (another worker may answer) sees it. */
    bd_request_finalize(r);
    if (bev != nullptr) {
        bd_http_send_now(bev);
    }
}

void
bd_http_send_error(bd_request_t *r, int status, int err, const char *message)
{
    std::string body;
    bd_http_error_body(&body, r->render_error, status, err, message, r->id);
    if (r->error_type.empty()) {
        r->error_type = bd_err_name(err);
    }
    bd_http_send(r, status, "application/json", body.data(), body.size());
}

/* The connection's output buffer is empty again: let a paused producer go on. */
static void
bd_http_on_written(struct evhttp_connection *evcon, void *arg) noexcept
{
    bd_request_t *r = (bd_request_t *)arg;
    (void)evcon;
    if (r->on_drain != nullptr) {
        r->on_drain(r);
    }
}

void
bd_http_stream_start(bd_request_t *r, int status, const char *content_type)
{
    BD_ASSERT(r->state == BD_REQ_RUNNING);
    r->status = status;
    r->state = BD_REQ_STREAMING;
    r->streamed = true;
    r->w->streams.fetch_add(1, std::memory_order_relaxed);
    if (r->req == nullptr) {
        return;
    }
    bd_http_common_headers(r);
    struct evkeyvalq *out = evhttp_request_get_output_headers(r->req);
    evhttp_add_header(out, "Content-Type", content_type);
    evhttp_add_header(out, "Cache-Control", "no-cache");
    evhttp_send_reply_start(r->req, status, bd_http_reason(status));
}

/* A stream's chunk written to the socket at once when nothing is queued before it:
 * through evhttp it would wait for the next EPOLLOUT, which costs a wake-up and two
 * epoll_ctl calls per streamed event. Plain-socket chunked replies only (TLS goes
 * through its bufferevent); the framing is evhttp's own ("<hex>\r\n" data "\r\n"),
 * and bytes the socket did not take are queued behind on the same bufferevent, whose
 * drain still calls bd_http_on_written (set by the first chunk, which always goes
 * through evhttp). False: nothing was written, the caller goes through evhttp. */
static bool
bd_http_write_chunk_now(bd_request_t *r, struct bufferevent *bev, const char *data, size_t len)
{
    struct evbuffer *queued = bufferevent_get_output(bev);
    evutil_socket_t fd = bufferevent_getfd(bev);
    if (!r->drain_cb_set || !r->req->chunked || fd < 0 || evbuffer_get_length(queued) != 0 ||
        bufferevent_openssl_get_ssl(bev) != nullptr) {
        return false;
    }
    char head[24];
    int hn = snprintf(head, sizeof(head), "%zx\r\n", len);
    struct iovec iov[3] = {{head, (size_t)hn}, {(void *)data, len}, {(void *)"\r\n", 2}};
    size_t total = (size_t)hn + len + 2;
    ssize_t n = writev(fd, iov, 3);
    if (n <= 0) {
        return false; /* EAGAIN, or an error the bufferevent will meet and report */
    }
    if ((size_t)n == total) {
        return true;
    }
    /* The rest of this frame, behind which evhttp queues the next ones. */
    std::string rest;
    rest.reserve(total - (size_t)n);
    for (const struct iovec &v : iov) {
        size_t skip = (size_t)n < v.iov_len ? (size_t)n : v.iov_len;
        rest.append((const char *)v.iov_base + skip, v.iov_len - skip);
        n -= (ssize_t)skip;
    }
    bufferevent_write(bev, rest.data(), rest.size());
    return true;
}

size_t
bd_http_stream_write(bd_request_t *r, const char *data, size_t len)
{
    if (r->req == nullptr || len == 0) {
        return 0;
    }
    bd_request_capture(r, data, len);
    r->bytes_sent += len;
    if (r->first_byte_us == 0) {
        r->first_byte_us = bd_now_us();
    }
    struct evhttp_connection *evcon = evhttp_request_get_connection(r->req);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : nullptr;
    if (bev != nullptr && bd_http_write_chunk_now(r, bev, data, len)) {
        return evbuffer_get_length(bufferevent_get_output(bev));
    }
    struct evbuffer *buf = evbuffer_new();
    evbuffer_add(buf, data, len);
    evhttp_send_reply_chunk_with_cb(r->req, buf, bd_http_on_written, r);
    evbuffer_free(buf);
    r->drain_cb_set = true;
    return bev ? evbuffer_get_length(bufferevent_get_output(bev)) : 0;
}

void
bd_http_stream_end(bd_request_t *r)
{
    BD_ASSERT(r->state == BD_REQ_STREAMING);
    r->state = BD_REQ_DONE;
    if (r->req != nullptr) {
        bd_http_detach(r);
        bd_http_track_flush(r);
        evhttp_send_reply_end(r->req);
        r->req = nullptr;
    }
    bd_request_finalize(r);
}

std::string
bd_http_query_arg(bd_request_t *r, const char *name)
{
    std::string value;
    const char *uri = r->req ? evhttp_request_get_uri(r->req) : nullptr;
    const char *q = uri ? strchr(uri, '?') : nullptr;
    size_t n = strlen(name);
    while (q != nullptr) {
        q++;
        if (strncmp(q, name, n) == 0 && q[n] == '=') {
            const char *v = q + n + 1;
            const char *end = strchr(v, '&');
            value.assign(v, end ? (size_t)(end - v) : strlen(v));
            break;
        }
        q = strchr(q, '&');
    }
    return value;
}

static unsigned
bd_http_method(enum evhttp_cmd_type cmd)
{
    switch (cmd) {
    case EVHTTP_REQ_GET:
        return BD_METHOD_GET;
    case EVHTTP_REQ_POST:
        return BD_METHOD_POST;
    case EVHTTP_REQ_HEAD:
        return BD_METHOD_HEAD;
    case EVHTTP_REQ_DELETE:
        return BD_METHOD_DELETE;
    default:
        return 0;
    }
}

/* An id from the client is kept when it is short and printable. */
static bool
bd_http_id_acceptable(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n >= 80) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (id[i] <= 0x20 || id[i] >= 0x7f || id[i] == '"' || id[i] == '\\') {
            return false;
        }
    }
    return true;
}

/* Connection-level settings once a request arrived: the idle time before the next
 * request is keepalive_timeout, a stalled write gives up after send_timeout. */
static void
bd_http_watch_connection(bd_request_t *r, const bd_core_conf_t *ccf)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(r->req);
    struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
    struct timeval rtv = {(time_t)(ccf->keepalive_timeout_ms / 1000),
                          (suseconds_t)(ccf->keepalive_timeout_ms % 1000) * 1000};
    struct timeval wtv = {(time_t)(ccf->send_timeout_ms / 1000),
                          (suseconds_t)(ccf->send_timeout_ms % 1000) * 1000};
    bufferevent_set_timeouts(bev, &rtv, &wtv);

    char *addr = nullptr;
    ev_uint16_t port = 0;
    evhttp_connection_get_peer(evcon, &addr, &port);
    if (addr != nullptr) {
        r->client_addr = bd_realip_client(ccf->trusted_proxies, addr,
                                          evhttp_request_get_input_headers(r->req));
    }
    evhttp_connection_set_closecb(evcon, bd_http_on_conn_close, r);
    evutil_socket_t fd = bufferevent_getfd(bev);
    if (fd >= 0) {
        r->close_ev = event_new(r->w->base, fd, EV_CLOSED, bd_http_on_client_close, r);
        event_add(r->close_ev, nullptr);
    }
}

static bd_request_t *
bd_http_request_create(bd_worker_t *w, struct evhttp_request *req)
{
    bd_request_t *r = new bd_request_t();
    bd_arena_init(&r->arena);
    r->w = w;
    r->req = req;
    r->snap = w->snap;
    bd_snapshot_ref(r->snap);
    r->start_us = bd_now_us();
    r->out_high_water = BD_HTTP_HIGH_WATER;
    memset(r->ctx, 0, sizeof(r->ctx));
    w->active.fetch_add(1, std::memory_order_relaxed);

    const char *xid = evhttp_find_header(evhttp_request_get_input_headers(req), "x-request-id");
    if (xid != nullptr && bd_http_id_acceptable(xid)) {
        snprintf(r->id, sizeof(r->id), "%s", xid);
    } else {
        bd_worker_request_id(w, r->id, sizeof(r->id));
    }
    r->method = bd_http_method(evhttp_request_get_command(req));
    const char *uri = evhttp_request_get_uri(req);
    const char *q = strchr(uri, '?');
    r->path.assign(uri, q ? (size_t)(q - uri) : strlen(uri));

    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    r->body_len = evbuffer_get_length(in);
    r->body = r->body_len ? (const char *)evbuffer_pullup(in, -1) : "";
    return r;
}

/* Gives back the body memory the request held. */
static void
bd_http_release_body(void *data)
{
    bd_request_t *r = (bd_request_t *)data;
    bd_http_edge_release(r->w, r->body_reserved);
    r->body_reserved = 0;
}

void
bd_http_drop_body(bd_request_t *r)
{
    if (r->req != nullptr) {
        struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
        evbuffer_drain(in, evbuffer_get_length(in));
    }
    r->body = "";
    bd_http_release_body(r);
}

static void
bd_http_handle(struct evhttp_request *req, bd_worker_t *w)
{
    bd_http_refusal_t refusal;
    uint64_t reserved = 0;
    /* created first: the request counts as active before its connection stops
     * counting as reading (bd_worker_t) */
    bd_request_t *r = bd_http_request_create(w, req);
    bool refused = bd_http_edge_take_verdict(req, &refusal, &reserved);
    r->body_reserved = reserved;
    if (reserved > 0) {
        bd_request_add_cleanup(r, bd_http_release_body, r);
    }
    const bd_core_conf_t *ccf = bd_core_conf(r->snap);
    bd_http_watch_connection(r, ccf);

    bool method_ok = false;
    r->route = bd_snapshot_find_route(r->snap, r->path.c_str(), r->method, &method_ok);
    r->api = r->route ? r->route->api : nullptr;
    r->id_header = r->route ? r->route->id_header : nullptr;
    r->render_error = bd_snapshot_error_format(r->snap, r->path.c_str());
    if (refused) {
        /* refused on its head: its body was never read; the connection closes */
        r->reject_reason = refusal.reason;
        bd_http_header_out(r, "Connection", "close");
        bd_http_send_error(r, refusal.status, refusal.err, refusal.message);
        return;
    }
    if (r->route == nullptr) {
        bd_http_send_error(r, 404, BD_ERR_NOT_FOUND, "Not Found");
        return;
    }
    if (!method_ok) {
        bd_http_header_out(r, "Allow", bd_http_allow(r->route));
        bd_http_send_error(r, 405, BD_ERR_INVALID_REQUEST, "Method Not Allowed");
        return;
    }
    if (w->active.load(std::memory_order_relaxed) > ccf->worker_connections) {
        bd_http_send_error(r, 503, BD_ERR_OVERLOADED, "too many requests in progress");
        return;
    }
    bd_request_run(r);
}

static void
bd_http_on_request(struct evhttp_request *req, void *arg) noexcept
{
    bd_http_in_handler = true;
    bd_http_handle(req, (bd_worker_t *)arg);
    bd_http_in_handler = false;
}

static struct bufferevent *
bd_http_on_tls_connection(struct event_base *base, bd_worker_t *w)
{
    SSL_CTX *ctx = bd_core_conf(w->snap)->ssl_ctx;
    SSL *ssl = ctx ? SSL_new(ctx) : nullptr;
    if (ssl == nullptr) {
        return nullptr; /* evhttp falls back to a plain bufferevent; TLS clients fail */
    }
    return bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                          BEV_OPT_CLOSE_ON_FREE);
}

void
bd_http_setup(bd_worker_t *w, struct evhttp *http, struct evhttp *https)
{
    bd_http_worker = w;
    struct evhttp *both[] = {http, https};
    for (struct evhttp *h : both) {
        evhttp_set_gencb(h, bd_http_on_request, w);
        evhttp_set_allowed_methods(h, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                          EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                          EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
    }
    bd_http_edge_setup(w, http, https, bd_http_on_tls_connection);
}

void
bd_http_apply_limits(struct evhttp *http, const bd_snapshot_t *snap)
{
    const bd_core_conf_t *ccf = bd_core_conf(snap);
    evhttp_set_max_body_size(http, (ev_ssize_t)ccf->client_max_body_size);
    evhttp_set_max_headers_size(http, (ev_ssize_t)ccf->client_max_header_size);
    int64_t ms = bd_core_read_timeout_ms(ccf);
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    evhttp_set_timeout_tv(http, &tv);
}
