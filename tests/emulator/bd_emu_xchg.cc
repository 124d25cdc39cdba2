/*
 * bd_emu_xchg.cc: exchanges, the one view of a request the handlers have, and their
 * HTTP/1.1 transport on evhttp. An HTTP/1.1 exchange wraps one evhttp request; it is
 * freed when its answer is handed to evhttp whole or ended, or when its connection
 * closes first. Loop thread.
 */
#include "tests/emulator/bd_emu.h"

#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

/* An HTTP/1.1 exchange: the request evhttp parsed, and its connection. */
struct bd_emu_h1_t : bd_emu_xchg_t {
    struct evhttp_request *req;
    struct evhttp_connection *evcon;
    struct event *cut_timer; /* a cut: closes the connection once the last bytes left */
    bool watching;           /* the connection's close callback is ours */
};

const char *
bd_emu_header(const bd_emu_xchg_t *x, const char *name)
{
    for (const auto &kv : x->in_headers) {
        if (strcasecmp(kv.first.c_str(), name) == 0) {
            return kv.second.c_str();
        }
    }
    return nullptr;
}

void
bd_emu_header_add(bd_emu_xchg_t *x, const char *name, const char *value)
{
    x->out_headers.emplace_back(name, value);
}

void
bd_emu_xchg_watch(bd_emu_xchg_t *x, void (*gone)(void *), void *arg)
{
    x->gone = gone;
    x->gone_arg = arg;
    x->ops->watch(x);
}

static const char *
bd_emu_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 424: return "Failed Dependency";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Error";
    }
}

static void
bd_emu_h1_headers(bd_emu_h1_t *h)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(h->req);
    for (const auto &kv : h->out_headers) {
        evhttp_add_header(out, kv.first.c_str(), kv.second.c_str());
    }
}

static void
bd_emu_h1_unwatch(bd_emu_h1_t *h)
{
    if (h->watching) {
        evhttp_connection_set_closecb(h->evcon, nullptr, nullptr);
        h->watching = false;
    }
}

/* The connection closed (the client left, or a cut). Loop thread. */
static void
bd_emu_h1_on_close(struct evhttp_connection *evcon, void *arg) noexcept
{
    bd_emu_h1_t *h = (bd_emu_h1_t *)arg;
    (void)evcon;
    /* A failed connection detaches an unfinished request; it is ours to free then. */
    if (evhttp_request_get_connection(h->req) == nullptr) {
        evhttp_send_reply_end(h->req);
    }
    if (h->cut_timer == nullptr && h->gone != nullptr) {
        h->gone(h->gone_arg);
    }
    if (h->cut_timer != nullptr) {
        event_free(h->cut_timer);
    }
    delete h;
}

static void
bd_emu_h1_reply(bd_emu_xchg_t *x, int status, const char *body, size_t len)
{
    bd_emu_h1_t *h = static_cast<bd_emu_h1_t *>(x);
    bd_emu_h1_unwatch(h);
    bd_emu_h1_headers(h);
    struct evbuffer *buf = evbuffer_new();
    evbuffer_add(buf, body, len);
    evhttp_send_reply(h->req, status, bd_emu_reason(status), buf);
    evbuffer_free(buf);
    delete h;
}

static void
bd_emu_h1_start(bd_emu_xchg_t *x, int status)
{
    bd_emu_h1_t *h = static_cast<bd_emu_h1_t *>(x);
    bd_emu_h1_headers(h);
    evhttp_send_reply_start(h->req, status, bd_emu_reason(status));
}

static void
bd_emu_h1_write(bd_emu_xchg_t *x, const char *p, size_t len)
{
    bd_emu_h1_t *h = static_cast<bd_emu_h1_t *>(x);
    struct evbuffer *buf = evbuffer_new();
    evbuffer_add(buf, p, len);
    evhttp_send_reply_chunk(h->req, buf);
    evbuffer_free(buf);
}

static void
bd_emu_h1_end(bd_emu_xchg_t *x)
{
    bd_emu_h1_t *h = static_cast<bd_emu_h1_t *>(x);
    bd_emu_h1_unwatch(h);
    evhttp_send_reply_end(h->req);
    delete h;
}

/* The cut's timer: frees the connection, which runs bd_emu_h1_on_close. */
static void
bd_emu_h1_on_cut(evutil_socket_t fd, short events, void *arg) noexcept
{
    bd_emu_h1_t *h = (bd_emu_h1_t *)arg;
    (void)fd;
    (void)events;
    evhttp_connection_free(h->evcon);
}

/* Close from a fresh callback: freeing a connection inside its own write callback
 * would pull the bufferevent out from under libevent. */
static void
bd_emu_h1_on_flushed(struct evhttp_connection *evcon, void *arg) noexcept
{
    bd_emu_h1_t *h = (bd_emu_h1_t *)arg;
    (void)evcon;
    struct timeval tv = {0, 0};
    evtimer_add(h->cut_timer, &tv);
}

static void
bd_emu_h1_cut(bd_emu_xchg_t *x, const char *p, size_t len)
{
    bd_emu_h1_t *h = static_cast<bd_emu_h1_t *>(x);
    h->cut_timer = evtimer_new(h->lp->base, bd_emu_h1_on_cut, h);
    h->watching = true;
    evhttp_connection_set_closecb(h->evcon, bd_emu_h1_on_close, h);
    if (len == 0) {
        bd_emu_h1_on_flushed(h->evcon, h);
        return;
    }
    struct evbuffer *buf = evbuffer_new();
    evbuffer_add(buf, p, len);
    evhttp_send_reply_chunk_with_cb(h->req, buf, bd_emu_h1_on_flushed, h);
    evbuffer_free(buf);
}

static void
bd_emu_h1_watch(bd_emu_xchg_t *x)
{
    bd_emu_h1_t *h = static_cast<bd_emu_h1_t *>(x);
    h->watching = true;
    evhttp_connection_set_closecb(h->evcon, bd_emu_h1_on_close, h);
}

static const bd_emu_xchg_ops_t bd_emu_h1_ops = {
    bd_emu_h1_reply, bd_emu_h1_start, bd_emu_h1_write,
    bd_emu_h1_end,   bd_emu_h1_cut,   bd_emu_h1_watch,
};

static const char *
bd_emu_h1_method(struct evhttp_request *req)
{
    switch (evhttp_request_get_command(req)) {
    case EVHTTP_REQ_GET: return "GET";
    case EVHTTP_REQ_POST: return "POST";
    case EVHTTP_REQ_PUT: return "PUT";
    case EVHTTP_REQ_DELETE: return "DELETE";
    default: return "HEAD";
    }
}

void
bd_emu_h1_on_request(struct evhttp_request *req, void *arg) noexcept
{
    bd_emu_h1_t *h = new bd_emu_h1_t();
    h->lp = (bd_emu_loop_t *)arg;
    h->ops = &bd_emu_h1_ops;
    h->gone = nullptr;
    h->gone_arg = nullptr;
    h->req = req;
    h->evcon = evhttp_request_get_connection(req);
    h->cut_timer = nullptr;
    h->watching = false;
    h->method = bd_emu_h1_method(req);
    h->uri = evhttp_request_get_uri(req);
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    for (struct evkeyval *kv = in->tqh_first; kv != nullptr; kv = kv->next.tqe_next) {
        h->in_headers.emplace_back(kv->key, kv->value);
    }
    struct evbuffer *body = evhttp_request_get_input_buffer(req);
    h->body.resize(evbuffer_get_length(body));
    if (!h->body.empty()) {
        evbuffer_copyout(body, &h->body[0], h->body.size());
    }
    bd_emu_route(h);
}
