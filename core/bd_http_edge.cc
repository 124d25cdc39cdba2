/*
 * bd_http_edge.cc: the edge of each client connection (see bd_http_edge.h).
 *
 * How it sits beside evhttp (libevent 2.1, which has no hook for a server request's
 * head): the worker creates every connection's bufferevent itself (evhttp's bevcb),
 * so an evbuffer callback on its input copies the raw bytes of each request head as
 * they arrive, before evhttp parses them. The head callback evhttp offers for
 * requests it makes is set on the server's requests too, by interposing on
 * evhttp_request_new (as bd_http.cc does on evhttp_send_error): it runs when the
 * head is parsed and before the body is read. There the raw copy is checked
 * (bd_http_head.h) and the hooks are asked; a refused request has its framing
 * headers removed, so evhttp reads no body and hands it over at once, and gets
 * "Connection: close", so nothing after it is ever parsed. The connection's input
 * is bounded by a read watermark raised only for a body that was admitted.
 * evhttp_connection_free is interposed too, to free the edge of a connection.
 */
#include "core/bd_http_edge.h"

#include <dlfcn.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <unordered_map>
#include <unordered_set>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/http_struct.h>
#include <event2/listener.h>

#include "core/bd_core_module.h"
#include "core/bd_http_body.h"
#include "core/bd_http_head.h"
#include "core/bd_log.h"
#include "core/bd_malloc.h"
#include "core/bd_worker.h"

/* Bytes of a refused request's body the connection may hold before it stops
 * reading, beyond the head limit. */
static const size_t BD_EDGE_SLACK = 16 * 1024;
/* How often a body's arrival rate is checked (at most; client_body_timeout when
 * shorter). */
static const int64_t BD_EDGE_RATE_WINDOW_MS = 5000;
/* Accepting resumes this long after running out of descriptors. */
static const int64_t BD_EDGE_ACCEPT_PAUSE_MS = 250;
/* At most one log line about failing accepts per this interval. */
static const int64_t BD_EDGE_ACCEPT_LOG_MS = 10000;
/* A refused connection is closed the way nginx's lingering close does: after the
 * answer, the write side is shut and what the client still sends is read and dropped
 * for a while, so that closing with unread bytes (a TCP reset) does not destroy the
 * answer before the client reads it. */
static const int64_t BD_EDGE_LINGER_MS = 2000;      /* in all */
static const int64_t BD_EDGE_LINGER_IDLE_MS = 1000; /* without a byte */
static const size_t BD_EDGE_LINGER_MAX = 128;       /* lingering sockets per worker */
/* A body with at least this much still to come after its head is read by
 * bd_http_body (one buffer, one read per wake-up) instead of evhttp's 4 KiB reads. */
static const size_t BD_EDGE_DIRECT_BODY_MIN = 16 * 1024;
/* Freed body memory that makes the allocator give pages back. */
static const uint64_t BD_EDGE_TRIM_BYTES = 1024 * 1024;

enum bd_edge_timer_e { BD_EDGE_IDLE = 0, BD_EDGE_HEAD, BD_EDGE_BODY };

struct bd_edge_worker_t;

struct bd_edge_conn_t {
    bd_edge_worker_t *ew;
    struct bufferevent *bev;
    std::string head;   /* raw bytes of the head being read */
    size_t head_len;    /* its length once complete; 0 before */
    bool copying;       /* incoming bytes belong to a head */
    bool overflow;      /* the head passed the limit: evhttp answers it */
    bool busy;          /* a request is being read or answered */
    bool reading;       /* counted in the worker's reading: a request begun, not handed over */
    bool begun_leaving; /* that request began after the drain decided to exit */
    bool over_cap;      /* accepted beyond worker_connections */
    bool counted_addr;
    bool tls;
    std::string addr;

    bool saw_head; /* the head callback ran for the current request */
    bool linger;   /* refused: close with a lingering read */
    bool refused;
    bd_http_refusal_t refusal;
    uint64_t reserved; /* body memory held for the current request */

    struct event *read_timer; /* head deadline or body rate */
    int timer_mode;           /* bd_edge_timer_e */
    uint64_t body_window;     /* body bytes since the last rate check */
    bd_http_body_read_t *body_read; /* the body being read straight, if it is */

    struct event *send_timer;
    int64_t send_progress_us; /* when the output last moved */
};

struct bd_edge_worker_t {
    bd_worker_t *w;
    struct evhttp *http, *https;
    struct bufferevent *(*ssl_bev)(struct event_base *, bd_worker_t *);
    std::unordered_map<struct bufferevent *, bd_edge_conn_t *> conns;
    std::unordered_map<std::string, int64_t> per_addr;
    uint64_t body_reserved; /* bytes reserved for admitted bodies */
    uint64_t freed_since_trim;
    struct event *trim_ev;
    struct event *accept_ev; /* resumes paused listeners */
    int64_t accept_log_next_ms;
    uint64_t accept_failures; /* since the last log line */
    std::unordered_set<struct bd_edge_linger_t *> lingering; /* lingering closes */
};

/* One connection in a lingering close. evhttp asked to free it; the free (which
 * closes the socket) waits until the lingering read ends. */
struct bd_edge_linger_t {
    bd_edge_worker_t *ew;
    struct evhttp_connection *evcon;
    struct event *ev;
    int64_t deadline_us;
};

/* This thread's edge; set by bd_http_edge_setup. */
static thread_local bd_edge_worker_t *bd_edge_self;

#define BD_EDGE_MAX_HOOKS 8
static bd_http_head_access_pt bd_edge_hooks[BD_EDGE_MAX_HOOKS];
static int bd_edge_nhooks;

void
bd_http_add_head_access(bd_http_head_access_pt fn)
{
    BD_ASSERT(bd_edge_nhooks < BD_EDGE_MAX_HOOKS);
    bd_edge_hooks[bd_edge_nhooks++] = fn;
}

const char *
bd_http_head_header(const bd_http_head_view_t *v, const char *name)
{
    return evhttp_find_header(evhttp_request_get_input_headers(v->req), name);
}

static const bd_core_conf_t *
bd_edge_conf(bd_edge_worker_t *ew)
{
    return bd_core_conf(ew->w->snap);
}

static bd_edge_conn_t *
bd_edge_find_bev(struct bufferevent *bev)
{
    if (bd_edge_self == nullptr || bev == nullptr) {
        return nullptr;
    }
    auto it = bd_edge_self->conns.find(bev);
    return it == bd_edge_self->conns.end() ? nullptr : it->second;
}

static bd_edge_conn_t *
bd_edge_find(struct evhttp_request *req)
{
    struct evhttp_connection *evcon = req ? evhttp_request_get_connection(req) : nullptr;
    return evcon ? bd_edge_find_bev(evhttp_connection_get_bufferevent(evcon)) : nullptr;
}

static size_t
bd_edge_head_limit(bd_edge_worker_t *ew)
{
    return bd_edge_conf(ew)->client_max_header_size + BD_EDGE_SLACK;
}

static void
bd_edge_set_read_limit(bd_edge_conn_t *c, size_t bytes)
{
    bufferevent_setwatermark(c->bev, EV_READ, 0, bytes);
}

static void
bd_edge_arm(bd_edge_conn_t *c, int mode, int64_t ms)
{
    c->timer_mode = mode;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    evtimer_add(c->read_timer, &tv);
}

static void
bd_edge_disarm(bd_edge_conn_t *c)
{
    c->timer_mode = BD_EDGE_IDLE;
    evtimer_del(c->read_timer);
}

/* Closes the connection under evhttp (whatever it is doing). */
static void
bd_edge_close(bd_edge_conn_t *c)
{
    bufferevent_data_cb rcb, wcb;
    bufferevent_event_cb ecb;
    void *arg = nullptr;
    bufferevent_getcb(c->bev, &rcb, &wcb, &ecb, &arg);
    if (arg != nullptr) {
        evhttp_connection_free((struct evhttp_connection *)arg);
    }
}

/* A request begun on <c> keeps a drain waiting until it is handed over (or the
 * connection closes): the client sent it before the listeners closed. */
static void
bd_edge_set_reading(bd_edge_conn_t *c, bool on)
{
    if (c->reading == on) {
        return;
    }
    c->reading = on;
    bd_worker_t *w = c->ew->w;
    if (!on) {
        w->reading.fetch_sub(1, std::memory_order_release);
        return;
    }
    /* raised, then w->leaving read: the handshake with the drain (bd_worker_t) */
    w->reading.fetch_add(1, std::memory_order_seq_cst);
    c->begun_leaving = w->leaving.load(std::memory_order_seq_cst);
}

/* Starts the head deadline: client_header_timeout from the head's first byte. */
static void
bd_edge_head_started(bd_edge_conn_t *c)
{
    if (!c->busy && c->timer_mode == BD_EDGE_IDLE) {
        bd_edge_set_reading(c, true);
        bd_edge_arm(c, BD_EDGE_HEAD, bd_edge_conf(c->ew)->client_header_timeout_ms);
    }
}

/* Takes <n> new bytes at <p> into the head copy; finds where the head ends. */
static void
bd_edge_copy(bd_edge_conn_t *c, const char *p, size_t n)
{
    size_t from = c->head.size();
    if (from == 0 && n > 0) {
        bd_edge_head_started(c);
    }
    size_t limit = bd_edge_head_limit(c->ew);
    if (from + n > limit) {
        n = limit - from;
        c->overflow = true;
    }
    c->head.append(p, n);
    size_t end = bd_http_head_end(c->head.data(), c->head.size(), from);
    if (end > 0) {
        c->head.resize(end);
        c->head_len = end;
        c->copying = false;
    } else if (c->overflow) {
        c->copying = false;
    }
}

/* Input callback: bytes arrived from the client (before evhttp looks at them). */
static void
bd_edge_on_input(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg) noexcept
{
    bd_edge_conn_t *c = (bd_edge_conn_t *)arg;
    if (info->n_added == 0) {
        return;
    }
    if (c->timer_mode == BD_EDGE_BODY) {
        c->body_window += info->n_added;
    }
    if (!c->copying) {
        return;
    }
    size_t len = evbuffer_get_length(buf);
    size_t take = info->n_added < len ? info->n_added : len;
    struct evbuffer_ptr pos;
    if (evbuffer_ptr_set(buf, &pos, len - take, EVBUFFER_PTR_SET) != 0) {
        return;
    }
    char chunk[4096];
    while (take > 0 && c->copying) {
        size_t n = take < sizeof(chunk) ? take : sizeof(chunk);
        ev_ssize_t got = evbuffer_copyout_from(buf, &pos, chunk, n);
        if (got <= 0) {
            return;
        }
        evbuffer_ptr_set(buf, &pos, (size_t)got, EVBUFFER_PTR_ADD);
        bd_edge_copy(c, chunk, (size_t)got);
        take -= (size_t)got;
    }
}

/* Restarts the head copy from what is already buffered (pipelined requests). */
static void
bd_edge_resync(bd_edge_conn_t *c)
{
    c->head.clear();
    c->head_len = 0;
    c->overflow = false;
    c->copying = true;
    struct evbuffer *in = bufferevent_get_input(c->bev);
    size_t len = evbuffer_get_length(in);
    if (len == 0) {
        return;
    }
    size_t limit = bd_edge_head_limit(c->ew);
    std::string bytes(len < limit ? len : limit, '\0');
    evbuffer_copyout(in, &bytes[0], bytes.size());
    bd_edge_copy(c, bytes.data(), bytes.size());
}

/* Output callback: the client took bytes (or more were queued for it). */
static void
bd_edge_on_output(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg) noexcept
{
    bd_edge_conn_t *c = (bd_edge_conn_t *)arg;
    if (info->n_deleted > 0 || info->orig_size == 0) {
        c->send_progress_us = bd_now_us();
    }
    if (evbuffer_get_length(buf) > 0 && !evtimer_pending(c->send_timer, nullptr)) {
        int64_t ms = bd_edge_conf(c->ew)->send_timeout_ms;
        struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
        evtimer_add(c->send_timer, &tv);
    }
}

/* send_timeout: a response that made no progress for that long is cut. */
static void
bd_edge_on_send_timer(evutil_socket_t, short, void *arg) noexcept
{
    bd_edge_conn_t *c = (bd_edge_conn_t *)arg;
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
        return;
    }
    int64_t limit_us = bd_edge_conf(c->ew)->send_timeout_ms * 1000;
    int64_t idle_us = bd_now_us() - c->send_progress_us;
    if (idle_us >= limit_us) {
        bd_log_error(BD_LOG_INFO, nullptr,
                     "client %s read nothing for send_timeout: connection closed",
                     c->addr.empty() ? "?" : c->addr.c_str());
        bd_edge_close(c);
        return;
    }
    int64_t left_us = limit_us - idle_us;
    struct timeval tv = {(time_t)(left_us / 1000000), (suseconds_t)(left_us % 1000000)};
    evtimer_add(c->send_timer, &tv);
}

static int64_t
bd_edge_rate_window(const bd_core_conf_t *ccf)
{
    return ccf->client_body_timeout_ms < BD_EDGE_RATE_WINDOW_MS ? ccf->client_body_timeout_ms
                                                                : BD_EDGE_RATE_WINDOW_MS;
}

/* The head deadline passed, or a body is arriving too slowly. */
static void
bd_edge_on_read_timer(evutil_socket_t, short, void *arg) noexcept
{
    bd_edge_conn_t *c = (bd_edge_conn_t *)arg;
    const bd_core_conf_t *ccf = bd_edge_conf(c->ew);
    if (c->timer_mode == BD_EDGE_BODY) {
        int64_t window = bd_edge_rate_window(ccf);
        uint64_t need = (uint64_t)ccf->client_body_min_rate * (uint64_t)window / 1000;
        if (c->body_window >= need) {
            c->body_window = 0;
            bd_edge_arm(c, BD_EDGE_BODY, window);
            return;
        }
        bd_log_error(BD_LOG_INFO, nullptr,
                     "client %s sent its body slower than client_body_min_rate: "
                     "connection closed", c->addr.empty() ? "?" : c->addr.c_str());
    } else if (c->timer_mode == BD_EDGE_HEAD) {
        bd_log_error(BD_LOG_INFO, nullptr,
                     "client %s did not complete a request head within client_header_timeout:"
                     " connection closed", c->addr.empty() ? "?" : c->addr.c_str());
    } else {
        return;
    }
    c->timer_mode = BD_EDGE_IDLE;
    bd_edge_close(c);
}

static struct bufferevent *
bd_edge_new_connection(struct event_base *base, void *arg) noexcept
{
    bd_edge_worker_t *ew = bd_edge_self;
    bool tls = arg == (void *)ew->https;
    struct bufferevent *bev = tls ? ew->ssl_bev(base, ew->w) : bufferevent_socket_new(base, -1, 0);
    if (bev == nullptr) {
        return nullptr;
    }
    bd_edge_conn_t *c = new bd_edge_conn_t();
    c->ew = ew;
    c->bev = bev;
    c->copying = true;
    c->tls = tls;
    c->read_timer = evtimer_new(base, bd_edge_on_read_timer, c);
    c->send_timer = evtimer_new(base, bd_edge_on_send_timer, c);
    c->over_cap = (int64_t)ew->conns.size() >= bd_edge_conf(ew)->worker_connections;
    ew->conns[bev] = c;
    evbuffer_add_cb(bufferevent_get_input(bev), bd_edge_on_input, c);
    evbuffer_add_cb(bufferevent_get_output(bev), bd_edge_on_output, c);
    bd_edge_set_read_limit(c, bd_edge_head_limit(ew));
    return bev;
}

static void
bd_edge_release_conn(bd_edge_conn_t *c)
{
    bd_edge_worker_t *ew = c->ew;
    bd_http_body_read_free(c->body_read);
    bd_edge_set_reading(c, false);
    bd_http_edge_release(ew->w, c->reserved);
    c->reserved = 0;
    if (c->counted_addr) {
        auto it = ew->per_addr.find(c->addr);
        if (it != ew->per_addr.end() && --it->second <= 0) {
            ew->per_addr.erase(it);
        }
    }
    event_free(c->read_timer);
    event_free(c->send_timer);
    ew->conns.erase(c->bev);
    delete c;
}

/* The real libevent functions behind the interposed ones (any thread). */
typedef void (*bd_evcon_free_pt)(struct evhttp_connection *);
typedef struct evhttp_request *(*bd_req_new_pt)(void (*)(struct evhttp_request *, void *), void *);
static std::atomic<bd_evcon_free_pt> bd_edge_real_free_a;
static std::atomic<bd_req_new_pt> bd_edge_real_new_a;

static void
bd_edge_real_free(struct evhttp_connection *evcon)
{
    bd_evcon_free_pt real = bd_edge_real_free_a.load(std::memory_order_acquire);
    if (real == nullptr) {
        real = (bd_evcon_free_pt)dlsym(RTLD_NEXT, "evhttp_connection_free");
        BD_ASSERT(real != nullptr);
        bd_edge_real_free_a.store(real, std::memory_order_release);
    }
    real(evcon);
}

/* Ends a lingering close; with <free_conn>, frees the connection (closing its socket),
 * else the caller is about to. */
static void
bd_edge_linger_end(bd_edge_linger_t *l, bool free_conn)
{
    struct evhttp_connection *evcon = l->evcon;
    event_free(l->ev);
    l->ew->lingering.erase(l);
    delete l;
    if (free_conn) {
        bd_edge_real_free(evcon);
    }
}

static void
bd_edge_on_linger(evutil_socket_t fd, short what, void *arg) noexcept
{
    bd_edge_linger_t *l = (bd_edge_linger_t *)arg;
    if (what & EV_READ) {
        char sink[16384];
        ssize_t n;
        while ((n = read(fd, sink, sizeof(sink))) > 0) {
        }
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            bd_edge_linger_end(l, true); /* the client closed too */
            return;
        }
    }
    int64_t left_ms = (l->deadline_us - bd_now_us()) / 1000;
    if ((what & EV_TIMEOUT) || left_ms <= 0) {
        bd_edge_linger_end(l, true);
        return;
    }
    int64_t ms = left_ms < BD_EDGE_LINGER_IDLE_MS ? left_ms : BD_EDGE_LINGER_IDLE_MS;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    event_add(l->ev, &tv);
}

/* Keeps the connection of <c> (and its socket) past evhttp's free, to drain it. The
 * socket is never duplicated: the worker's event base applies its epoll changes in
 * a batch before each wait (EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST), and a duplicate
 * would keep the closed descriptor's registration alive in epoll. True: the free
 * is deferred to bd_edge_linger_end. */
static bool
bd_edge_linger_start(bd_edge_conn_t *c, struct evhttp_connection *evcon)
{
    bd_edge_worker_t *ew = c->ew;
    int fd = bufferevent_getfd(c->bev);
    if (fd < 0 || ew->lingering.size() >= BD_EDGE_LINGER_MAX ||
        evbuffer_get_length(bufferevent_get_output(c->bev)) > 0) {
        return false; /* an answer still unsent would be lost anyway */
    }
    /* evhttp is done with the connection: it must not read another request from it */
    bufferevent_disable(c->bev, EV_READ | EV_WRITE);
    bufferevent_setcb(c->bev, nullptr, nullptr, nullptr, nullptr);
    evbuffer_remove_cb(bufferevent_get_input(c->bev), bd_edge_on_input, c); /* c goes now */
    evbuffer_remove_cb(bufferevent_get_output(c->bev), bd_edge_on_output, c);
    shutdown(fd, SHUT_WR);
    bd_edge_linger_t *l = new bd_edge_linger_t{ew, evcon, nullptr,
                                               bd_now_us() + BD_EDGE_LINGER_MS * 1000};
    l->ev = event_new(ew->w->base, fd, EV_READ, bd_edge_on_linger, l);
    ew->lingering.insert(l);
    struct timeval tv = {(time_t)(BD_EDGE_LINGER_IDLE_MS / 1000),
                         (suseconds_t)(BD_EDGE_LINGER_IDLE_MS % 1000) * 1000};
    event_add(l->ev, &tv);
    return true;
}

/* The lingering close of <evcon> on this thread, if any. */
static bd_edge_linger_t *
bd_edge_find_linger(struct evhttp_connection *evcon)
{
    if (bd_edge_self == nullptr) {
        return nullptr;
    }
    for (bd_edge_linger_t *l : bd_edge_self->lingering) {
        if (l->evcon == evcon) {
            return l;
        }
    }
    return nullptr;
}

extern "C" void
evhttp_connection_free(struct evhttp_connection *evcon)
{
    bd_edge_conn_t *c = bd_edge_find_bev(evhttp_connection_get_bufferevent(evcon));
    if (c != nullptr) {
        bool deferred = c->linger && bd_edge_linger_start(c, evcon);
        bd_edge_release_conn(c);
        if (deferred) {
            return;
        }
    } else if (bd_edge_linger_t *l = bd_edge_find_linger(evcon)) {
        bd_edge_linger_end(l, false); /* evhttp_free frees its connections */
    }
    bd_edge_real_free(evcon);
}

static int bd_edge_on_head(struct evhttp_request *req, void *arg) noexcept;

extern "C" struct evhttp_request *
evhttp_request_new(void (*cb)(struct evhttp_request *, void *), void *arg)
{
    bd_req_new_pt real = bd_edge_real_new_a.load(std::memory_order_acquire);
    if (real == nullptr) {
        real = (bd_req_new_pt)dlsym(RTLD_NEXT, "evhttp_request_new");
        BD_ASSERT(real != nullptr);
        bd_edge_real_new_a.store(real, std::memory_order_release);
    }
    struct evhttp_request *req = real(cb, arg);
    bd_edge_worker_t *ew = bd_edge_self;
    if (req != nullptr && ew != nullptr && (arg == (void *)ew->http || arg == (void *)ew->https)) {
        evhttp_request_set_header_cb(req, bd_edge_on_head);
    }
    return req;
}

/* Makes evhttp hand the request over without reading a body, and close after it. */
static void
bd_edge_refuse(bd_edge_conn_t *c, struct evhttp_request *req, const bd_http_refusal_t &why)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    while (evhttp_remove_header(in, "Content-Length") == 0) {
    }
    while (evhttp_remove_header(in, "Transfer-Encoding") == 0) {
    }
    while (evhttp_remove_header(in, "Connection") == 0) {
    }
    while (evhttp_remove_header(in, "Expect") == 0) {
    }
    evhttp_add_header(in, "Connection", "close");
    c->refused = true;
    c->refusal = why;
}

static bool
bd_edge_check_caps(bd_edge_conn_t *c, struct evhttp_request *req, bd_http_refusal_t *why)
{
    const bd_core_conf_t *ccf = bd_edge_conf(c->ew);
    if (c->over_cap) {
        *why = {503, BD_ERR_OVERLOADED, "too many connections", BD_REJECT_CONNECTIONS};
        return false;
    }
    if (!c->counted_addr) {
        char *host = nullptr;
        ev_uint16_t port = 0;
        evhttp_connection_get_peer(evhttp_request_get_connection(req), &host, &port);
        c->addr = host ? host : "";
        c->counted_addr = true;
        int64_t n = ++c->ew->per_addr[c->addr];
        if (ccf->client_connections_per_address > 0 && n > ccf->client_connections_per_address) {
            c->over_cap = true;
            *why = {503, BD_ERR_OVERLOADED, "too many connections from this address",
                    BD_REJECT_CONNECTIONS_PER_ADDRESS};
            return false;
        }
    }
    return true;
}

static void
bd_edge_on_body_read(void *arg) noexcept
{
    ((bd_edge_conn_t *)arg)->body_read = nullptr;
}

static void
bd_edge_on_body_fail(void *arg, int why) noexcept
{
    bd_edge_conn_t *c = (bd_edge_conn_t *)arg;
    if (why == BD_HTTP_BODY_IDLE) {
        bd_log_error(BD_LOG_INFO, nullptr,
                     "client %s sent no body bytes for client_body_timeout: connection closed",
                     c->addr.empty() ? "?" : c->addr.c_str());
    } else if (why == BD_HTTP_BODY_NOMEM) {
        bd_log_error(BD_LOG_ERR, nullptr, "no memory for the body of a request from %s: "
                     "connection closed", c->addr.empty() ? "?" : c->addr.c_str());
    }
    bd_edge_close(c);
}

/* An admitted body of <length> bytes with much of it still to come is read by
 * bd_http_body instead of evhttp (plain connections only). */
static void
bd_edge_read_body_straight(bd_edge_conn_t *c, struct evhttp_request *req, size_t length)
{
    size_t have = evbuffer_get_length(bufferevent_get_input(c->bev));
    if (c->tls || have >= length || length - have < BD_EDGE_DIRECT_BODY_MIN) {
        return;
    }
    /* evhttp answers "Expect: 100-continue" only while nothing of the body has come;
     * taking the bytes that came would make it answer late */
    if (have > 0 && evhttp_find_header(evhttp_request_get_input_headers(req), "Expect") != nullptr) {
        return;
    }
    bd_http_body_hooks_t hooks = {bd_edge_on_body_read, bd_edge_on_body_fail, c, &c->body_window};
    c->body_read = bd_http_body_read_start(c->bev, length,
                                           bd_core_read_timeout_ms(bd_edge_conf(c->ew)), &hooks);
}

/* The head is parsed and the body not read yet: decide. */
static int
bd_edge_on_head(struct evhttp_request *req, void *arg) noexcept
{
    (void)arg;
    bd_edge_conn_t *c = bd_edge_find(req);
    if (c == nullptr) {
        return 0;
    }
    if (c->timer_mode == BD_EDGE_HEAD) {
        bd_edge_disarm(c);
    }
    c->busy = true;
    c->saw_head = true;
    c->refused = false;
    bd_edge_set_reading(c, true);
    bd_edge_worker_t *ew = c->ew;
    const bd_core_conf_t *ccf = bd_edge_conf(ew);
    bd_http_refusal_t why = {};
    if (c->begun_leaving) {
        /* the process exits once nothing is in flight: refused now, or cut later */
        why = {503, BD_ERR_OVERLOADED, "the gateway is shutting down", BD_REJECT_SHUTDOWN};
        bd_edge_refuse(c, req, why);
        return 0;
    }
    bd_http_head_t head;
    if (c->head_len == 0 || !bd_http_head_check(c->head.data(), c->head_len, &head)) {
        why = {400, BD_ERR_INVALID_REQUEST, head.error ? head.error : "a malformed request head",
               BD_REJECT_MALFORMED};
        bd_edge_refuse(c, req, why);
        return 0;
    }
    if (!bd_edge_check_caps(c, req, &why)) {
        bd_edge_refuse(c, req, why);
        return 0;
    }
    if (head.has_length && head.content_length > ccf->client_max_body_size) {
        why = {413, BD_ERR_INVALID_REQUEST, "request body is too large", BD_REJECT_BODY_TOO_LARGE};
        bd_edge_refuse(c, req, why);
        return 0;
    }
    std::string path = head.target.substr(0, head.target.find('?'));
    bool method_ok = false;
    bd_http_head_view_t view = {ew->w, ew->w->snap, nullptr, req};
    view.route = bd_snapshot_find_route(ew->w->snap, path.c_str(), BD_METHOD_POST, &method_ok);
    if (view.route != nullptr && !view.route->is_public) {
        for (int i = 0; i < bd_edge_nhooks; i++) {
            if (!bd_edge_hooks[i](&view, &why)) {
                bd_edge_refuse(c, req, why);
                return 0;
            }
        }
    }
    uint64_t body = head.chunked ? ccf->client_max_body_size
                                 : (head.has_length ? head.content_length : 0);
    if (body == 0) {
        return 0;
    }
    if (ew->body_reserved + body > ccf->worker_body_memory) {
        why = {503, BD_ERR_OVERLOADED, "the server is short of memory for request bodies",
               BD_REJECT_BODY_MEMORY};
        bd_edge_refuse(c, req, why);
        return 0;
    }
    ew->body_reserved += body;
    c->reserved = body;
    /* evhttp waits for a whole body (or chunk) in the input before it moves it. */
    bd_edge_set_read_limit(c, (size_t)body + bd_edge_head_limit(ew));
    c->body_window = 0;
    bd_edge_arm(c, BD_EDGE_BODY, bd_edge_rate_window(ccf));
    if (!head.chunked) {
        bd_edge_read_body_straight(c, req, (size_t)body);
    }
    return 0;
}

bool
bd_http_edge_take_verdict(struct evhttp_request *req, bd_http_refusal_t *out, uint64_t *reserved)
{
    *reserved = 0;
    bd_edge_conn_t *c = bd_edge_find(req);
    if (c == nullptr) {
        return false;
    }
    if (c->timer_mode == BD_EDGE_BODY) {
        bd_edge_disarm(c);
    }
    bd_edge_set_read_limit(c, bd_edge_head_limit(c->ew));
    bd_edge_set_reading(c, false); /* handed over: the request is active now */
    *reserved = c->reserved;
    c->reserved = 0;
    static std::atomic<bool> bd_edge_warned;
    if (!c->saw_head && !bd_edge_warned.exchange(true)) {
        /* evhttp_request_new was not interposed (a libevent that binds it internally):
         * nothing is checked before bodies are read */
        bd_log_error(BD_LOG_ALERT, nullptr,
                     "request heads are not checked before their bodies are read: this "
                     "libevent does not let bedrockd hook evhttp_request_new");
    }
    c->saw_head = false;
    bool refused = c->refused;
    if (refused) {
        *out = c->refusal;
        c->refused = false;
        c->copying = false; /* the connection closes after this answer */
        c->linger = true;
    } else {
        bd_edge_resync(c);
    }
    return refused;
}

static void
bd_edge_on_trim(evutil_socket_t, short, void *arg) noexcept
{
    bd_edge_worker_t *ew = (bd_edge_worker_t *)arg;
    ew->freed_since_trim = 0;
    bd_malloc_release();
}

void
bd_http_edge_release(bd_worker_t *w, uint64_t reserved)
{
    bd_edge_worker_t *ew = bd_edge_self;
    if (reserved == 0 || ew == nullptr || ew->w != w) {
        return;
    }
    ew->body_reserved -= reserved < ew->body_reserved ? reserved : ew->body_reserved;
    ew->freed_since_trim += reserved;
    if (ew->freed_since_trim >= BD_EDGE_TRIM_BYTES && !evtimer_pending(ew->trim_ev, nullptr)) {
        struct timeval tv = {1, 0};
        evtimer_add(ew->trim_ev, &tv);
    }
}

void
bd_http_edge_response_done(struct evhttp_request *req)
{
    bd_edge_conn_t *c = bd_edge_find(req);
    if (c == nullptr) {
        return;
    }
    c->busy = false;
    if (!c->head.empty() && c->copying) {
        bd_edge_head_started(c);
    }
}

std::string
bd_http_edge_target(struct evhttp_request *req)
{
    bd_edge_conn_t *c = bd_edge_find(req);
    if (c == nullptr) {
        return "";
    }
    return bd_http_head_target(c->head.data(), c->head.size());
}

/* Resumes listeners paused for want of descriptors. */
static void
bd_edge_on_accept_resume(evutil_socket_t, short, void *arg) noexcept
{
    bd_edge_worker_t *ew = (bd_edge_worker_t *)arg;
    for (bd_worker_listener_t &l : ew->w->listeners) {
        if (l.bound != nullptr) {
            evconnlistener_enable(evhttp_bound_socket_get_listener(l.bound));
        }
    }
}

static void
bd_edge_on_accept_error(struct evconnlistener *lev, void *) noexcept
{
    bd_edge_worker_t *ew = bd_edge_self; /* the argument is evhttp's */
    if (ew == nullptr) {
        return;
    }
    int err = EVUTIL_SOCKET_ERROR();
    /* Out of descriptors or memory: the pending connection stays queued, so the
     * listener would fire again at once; pause it instead of spinning. */
    evconnlistener_disable(lev);
    if (!evtimer_pending(ew->accept_ev, nullptr)) {
        struct timeval tv = {0, (suseconds_t)BD_EDGE_ACCEPT_PAUSE_MS * 1000};
        evtimer_add(ew->accept_ev, &tv);
    }
    ew->accept_failures++;
    int64_t now = bd_wall_ms();
    if (now >= ew->accept_log_next_ms) {
        bd_log_error(BD_LOG_ERR, nullptr,
                     "worker %d: accept() failed (%s), %llu time(s) since the last report; "
                     "accepting pauses %lld ms each time", ew->w->id, strerror(err),
                     (unsigned long long)ew->accept_failures, (long long)BD_EDGE_ACCEPT_PAUSE_MS);
        ew->accept_failures = 0;
        ew->accept_log_next_ms = now + BD_EDGE_ACCEPT_LOG_MS;
    }
}

void
bd_http_edge_watch_listener(bd_worker_t *w, struct evhttp_bound_socket *bound)
{
    bd_edge_worker_t *ew = bd_edge_self;
    if (ew == nullptr || ew->w != w || bound == nullptr) {
        return;
    }
    evconnlistener_set_error_cb(evhttp_bound_socket_get_listener(bound), bd_edge_on_accept_error);
}

void
bd_http_edge_setup(bd_worker_t *w, struct evhttp *http, struct evhttp *https,
                   struct bufferevent *(*ssl_bev)(struct event_base *, bd_worker_t *))
{
    bd_edge_worker_t *ew = new bd_edge_worker_t();
    ew->w = w;
    ew->http = http;
    ew->https = https;
    ew->ssl_bev = ssl_bev;
    ew->trim_ev = evtimer_new(w->base, bd_edge_on_trim, ew);
    ew->accept_ev = evtimer_new(w->base, bd_edge_on_accept_resume, ew);
    bd_edge_self = ew;
    evhttp_set_bevcb(http, bd_edge_new_connection, http);
    evhttp_set_bevcb(https, bd_edge_new_connection, https);
}

void
bd_http_edge_teardown(bd_worker_t *w)
{
    bd_edge_worker_t *ew = bd_edge_self;
    if (ew == nullptr || ew->w != w) {
        return;
    }
    while (!ew->conns.empty()) {
        bd_edge_release_conn(ew->conns.begin()->second); /* evhttp has freed them */
    }
    /* evhttp_free ended every lingering close with its connection */
    BD_ASSERT(ew->lingering.empty());
    event_free(ew->trim_ev);
    event_free(ew->accept_ev);
    delete ew;
    bd_edge_self = nullptr;
}
