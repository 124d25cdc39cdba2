/*
 * bd_curl.cc: one worker's libcurl multi handle on its event_base, the free list of easy
 * handles and the life of a transfer (start, headers, data, pause, timeouts, done, cancel).
 * Thread: the worker that created the bd_curl_t, only.
 * Invariant: curl is never re-entered from one of its own callbacks: adds and removes that a
 * caller asks for while curl is on the stack (c->depth > 0) wait on c->deferred until the
 * outermost curl call returns, and resumes always run from the kick event.
 */
#include "core/bd_curl.h"

#include "core/aws/bd_aws_endpoint.h"

#include <curl/curl.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/bd_core.h"

/* A node of an intrusive circular list; a node linked to itself is in no list. */
typedef struct bd_curl_link_s {
    struct bd_curl_link_s *prev;
    struct bd_curl_link_s *next;
    void *owner; /* the struct that embeds the node */
} bd_curl_link_t;

typedef enum {
    BD_CURL_XFER_IDLE = 0, /* on the free list */
    BD_CURL_XFER_QUEUED,   /* started while curl was on the stack; on c->deferred */
    BD_CURL_XFER_RUNNING,  /* in the multi handle */
    BD_CURL_XFER_CANCELED, /* canceled while curl was on the stack; on c->deferred */
    BD_CURL_XFER_DONE,     /* on_done is running */
} bd_curl_xfer_state_e;

/* One response header: offsets into hbuf, which holds "name\0value\0" pairs. */
typedef struct {
    uint32_t name;
    uint32_t value;
    uint32_t value_len;
} bd_curl_hdr_t;

struct bd_curl_xfer_s {
    bd_curl_t *c;
    CURL *easy;         /* owned; kept across reuse */
    CURLU *url;         /* owned: url_text parsed, handed to curl with the text */
    std::string url_text;
    struct event timer; /* first-byte timer, then idle timer */
    bd_curl_xfer_state_e state;
    bd_curl_link_t active; /* in c->active from start until detached */
    bd_curl_link_t resume; /* in c->resumes while a resume waits for the kick */
    bd_curl_xfer_t *next;  /* c->free_xfers or c->deferred */
    bd_curl_handlers_t h;
    void *data;               /* the caller's, borrowed */
    struct curl_slist *slist; /* owned request headers */
    long connect_timeout_ms;
    long first_byte_timeout_ms;
    long idle_timeout_ms;
    long total_timeout_ms;
    bool (*allow_peer)(void *data, const char *ip);
    int64_t last_data_ms; /* monotonic; the idle timer measures from here */
    bool attached;        /* curl_multi_add_handle done, remove not yet */
    bool connected;       /* curl had a connection (CURLOPT_PREREQFUNCTION ran) */
    bool headers_done;    /* on_headers was called */
    bool paused;          /* the receive side is paused for the caller */
    bool aborted;         /* the caller returned BD_CURL_ABORT */
    bool h2;              /* asked for HTTP/2 over TLS */
    bool h2_counted;      /* counted in c->h2_in_flight (from attach to detach) */
    std::string hbuf;
    std::vector<bd_curl_hdr_t> hdrs;
    std::vector<struct iovec> body_iov; /* a body sent in pieces, and where curl is in it */
    size_t body_at_piece;
    size_t body_at_byte;
    char errbuf[CURL_ERROR_SIZE];
};

/* The state of one socket curl asked us to watch; attached with curl_multi_assign.
 * A connection's socket (opened by bd_curl_on_open_socket) lives until curl closes it
 * (bd_curl_on_close_socket): while the connection is idle in curl's cache it stays
 * "parked" with its read event still added, so a keep-alive connection costs no epoll
 * change per transfer, as an nginx upstream keeps its event. Any other socket (the
 * resolver's) is freed at CURL_POLL_REMOVE, since curl closes it without telling. */
typedef struct {
    bd_curl_t *c;
    int what;    /* the CURL_POLL_* curl asked for last; CURL_POLL_REMOVE: parked */
    short armed; /* the EV_READ|EV_WRITE the event is added with; 0: not added */
    bool owned;  /* opened by bd_curl_on_open_socket; in c->by_fd until closed */
    struct event ev;
    bd_curl_link_t link; /* in c->socks */
} bd_curl_sock_t;

struct bd_curl_s {
    struct event_base *base; /* borrowed */
    CURLM *multi;
    struct event timer; /* curl's single timeout */
    struct event kick;  /* activated to run queued resumes from the loop */
    bd_curl_link_t active;
    bd_curl_link_t resumes;
    bd_curl_link_t socks;
    std::vector<bd_curl_sock_t *> by_fd; /* the owned sockets, by descriptor */
    bd_curl_xfer_t *free_xfers;
    size_t nfree;
    bd_curl_xfer_t *deferred; /* FIFO of QUEUED and CANCELED transfers */
    bd_curl_xfer_t *deferred_tail;
    int depth; /* curl calls on the stack */
    bool running_deferred;
    size_t max_idle_handles;
    std::string ca_file;
    std::string line; /* scratch for "Name: value" */
    bd_curl_stats_t stats;
    uint64_t h2_in_flight; /* attached transfers that asked for HTTP/2 */
    long h2_cap;           /* CURLMOPT_MAX_HOST_CONNECTIONS now set; 0 = none */
    bool h2_refused;       /* a server answered HTTP/1.1 to one: no cap any more */
    bool h2_requeue;       /* the kick restarts the transfers the cap held back */
    bool h2_recap;         /* the kick sets the cap (asked for while curl was on the stack) */
    bool multiplex;        /* CURLPIPE_MULTIPLEX set: an HTTP/2 transfer has come */
    bool env_proxy;        /* the environment names a proxy for libcurl to read */
    long max_host_connections; /* the caller's limit (bd_curl_options_t) */
};

static void bd_curl_on_socket(evutil_socket_t fd, short events, void *arg) noexcept;
static void bd_curl_run_deferred(bd_curl_t *c);

static void
bd_curl_link_init(bd_curl_link_t *l, void *owner)
{
    l->prev = l;
    l->next = l;
    l->owner = owner;
}

static bool
bd_curl_link_empty(const bd_curl_link_t *head)
{
    return head->next == head;
}

static void
bd_curl_link_append(bd_curl_link_t *head, bd_curl_link_t *l)
{
    l->prev = head->prev;
    l->next = head;
    head->prev->next = l;
    head->prev = l;
}

static void
bd_curl_link_remove(bd_curl_link_t *l)
{
    l->prev->next = l->next;
    l->next->prev = l->prev;
    l->prev = l;
    l->next = l;
}

static int64_t
bd_curl_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
bd_curl_arm(struct event *ev, int64_t ms)
{
    struct timeval tv;

    tv.tv_sec = (time_t)(ms / 1000);
    tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
    evtimer_add(ev, &tv);
}

/* Every curl call that can run callbacks is bracketed, so callers' requests made inside
 * those callbacks can tell that they must wait. */
static void
bd_curl_enter(bd_curl_t *c)
{
    c->depth++;
}

static void
bd_curl_leave(bd_curl_t *c)
{
    if (--c->depth == 0 && c->deferred != NULL) {
        bd_curl_run_deferred(c);
    }
}

/* ---- the multi handle on the event loop ---- */

static bd_curl_sock_t *
bd_curl_sock_new(bd_curl_t *c, bool owned)
{
    bd_curl_sock_t *s = (bd_curl_sock_t *)calloc(1, sizeof(*s));
    if (s == NULL) {
        BD_FATAL("out of memory for a curl socket");
    }
    s->c = c;
    s->what = CURL_POLL_REMOVE;
    s->owned = owned;
    bd_curl_link_init(&s->link, s);
    bd_curl_link_append(&c->socks, &s->link);
    return s;
}

static void
bd_curl_sock_free(bd_curl_sock_t *s)
{
    if (s->armed != 0) {
        event_del(&s->ev);
    }
    bd_curl_link_remove(&s->link);
    free(s);
}

/* Gives the socket's one event the flags <armed> (0: none); nothing when it has them. */
static void
bd_curl_sock_arm(bd_curl_sock_t *s, curl_socket_t fd, short armed)
{
    if (s->armed == armed) {
        return;
    }
    if (s->armed != 0) {
        event_del(&s->ev);
    }
    s->armed = armed;
    if (armed != 0) {
        /* Re-arm the one event of this socket rather than creating a new one: the probe
         * in DESIGN.md "Performance notes" measured the difference. */
        event_assign(&s->ev, s->c->base, fd, (short)(armed | EV_PERSIST), bd_curl_on_socket, s);
        event_add(&s->ev, NULL);
    }
}

static bd_curl_sock_t *
bd_curl_owned_sock(const bd_curl_t *c, curl_socket_t fd)
{
    return fd >= 0 && (size_t)fd < c->by_fd.size() ? c->by_fd[(size_t)fd] : NULL;
}

/* CURLMOPT_SOCKETFUNCTION: curl says which events <fd> needs; only arms events. */
static int
bd_curl_on_socket_change(CURL *, curl_socket_t fd, int what, void *userp, void *socketp) noexcept
{
    bd_curl_t *c = (bd_curl_t *)userp;
    bd_curl_sock_t *s = (bd_curl_sock_t *)socketp;

    if (s == NULL) {
        if (what == CURL_POLL_REMOVE) {
            return 0;
        }
        /* a new socket, or a parked connection's taken again from curl's cache */
        s = bd_curl_owned_sock(c, fd);
        if (s == NULL) {
            s = bd_curl_sock_new(c, false);
        }
        curl_multi_assign(c->multi, fd, s);
    }
    if (what == CURL_POLL_REMOVE) {
        if (!s->owned) {
            bd_curl_sock_free(s);
            return 0;
        }
        /* Parked. Reading stays armed, at no cost when it was: it tells of a close. */
        s->what = CURL_POLL_REMOVE;
        if (s->armed & EV_WRITE) {
            bd_curl_sock_arm(s, fd, EV_READ);
        }
        return 0;
    }
    s->what = what;
    bd_curl_sock_arm(s, fd,
                     (short)(((what & CURL_POLL_IN) ? EV_READ : 0) |
                             ((what & CURL_POLL_OUT) ? EV_WRITE : 0)));
    return 0;
}

/* CURLOPT_OPENSOCKETFUNCTION: a connection's socket, known by its descriptor from now
 * until bd_curl_on_close_socket. */
static curl_socket_t
bd_curl_on_open_socket(void *clientp, curlsocktype, struct curl_sockaddr *a) noexcept
{
    bd_curl_t *c = (bd_curl_t *)clientp;
    curl_socket_t fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);

    if (fd < 0) {
        return CURL_SOCKET_BAD;
    }
    if ((size_t)fd >= c->by_fd.size()) {
        c->by_fd.resize(std::max((size_t)fd + 1, c->by_fd.size() * 2), NULL);
    }
    if (c->by_fd[(size_t)fd] != NULL) {
        /* closed without bd_curl_on_close_socket, which curl does not do: its event goes */
        bd_curl_sock_free(c->by_fd[(size_t)fd]);
    }
    c->by_fd[(size_t)fd] = bd_curl_sock_new(c, true);
    return fd;
}

/* CURLOPT_CLOSESOCKETFUNCTION: the event goes before the descriptor, whose number the
 * next socket may take. */
static int
bd_curl_on_close_socket(void *clientp, curl_socket_t fd) noexcept
{
    bd_curl_t *c = (bd_curl_t *)clientp;
    bd_curl_sock_t *s = bd_curl_owned_sock(c, fd);

    if (s != NULL) {
        bd_curl_sock_free(s);
        c->by_fd[(size_t)fd] = NULL;
    }
    return close(fd);
}

/* CURLMOPT_TIMERFUNCTION: never calls curl back directly; 0 runs it from the loop. */
static int
bd_curl_on_timer_change(CURLM *, long timeout_ms, void *userp) noexcept
{
    bd_curl_t *c = (bd_curl_t *)userp;

    evtimer_del(&c->timer);
    if (timeout_ms == 0) {
        event_active(&c->timer, EV_TIMEOUT, 0);
    } else if (timeout_ms > 0) {
        bd_curl_arm(&c->timer, timeout_ms);
    }
    return 0;
}

static const char *
bd_curl_result_message(bd_curl_xfer_t *x, bd_curl_result_e code, CURLcode rc)
{
    switch (code) {
    case BD_CURL_OK:
        return "";
    case BD_CURL_TIMEOUT_FIRST_BYTE:
        snprintf(x->errbuf, sizeof(x->errbuf), "no response headers within %ld ms",
                 x->first_byte_timeout_ms);
        return x->errbuf;
    case BD_CURL_TIMEOUT_IDLE:
        snprintf(x->errbuf, sizeof(x->errbuf), "no response bytes for %ld ms", x->idle_timeout_ms);
        return x->errbuf;
    case BD_CURL_CANCELED:
        return "aborted by the caller";
    default:
        return x->errbuf[0] != '\0' ? x->errbuf : curl_easy_strerror(rc);
    }
}

static bd_curl_result_e
bd_curl_result_of(const bd_curl_xfer_t *x, CURLcode rc)
{
    if (x->aborted) {
        return BD_CURL_CANCELED;
    }
    switch (rc) {
    case CURLE_OK:
        return BD_CURL_OK;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
        return BD_CURL_CONNECT_FAILED;
    case CURLE_OPERATION_TIMEDOUT:
        /* curl reports both of its timeouts with one code; which one ran out follows from
         * whether a connection was ever handed to the transfer. */
        if (!x->connected
            && (x->total_timeout_ms == 0
                || (x->connect_timeout_ms > 0 && x->connect_timeout_ms <= x->total_timeout_ms))) {
            return BD_CURL_TIMEOUT_CONNECT;
        }
        return BD_CURL_TIMEOUT_TOTAL;
    default:
        return BD_CURL_ERROR;
    }
}

/*
 * The HTTP/2 connection cap. curl opens a new connection for a transfer whenever the
 * open ones are full or still connecting, so a burst of calls beyond one connection's
 * streams (100) would open a connection per call. While HTTP/2 calls are in flight, the
 * connections per host are capped at what they need (100 streams each) plus one, plus
 * one for each other call in flight (HTTP/1.1 needs a connection per call, and the cap
 * is per host for every host), never above the caller's own limit. Without HTTP/2
 * calls, and for good once a server answers HTTP/1.1 to one, the caller's limit is back.
 */
static void
bd_curl_h2_cap(bd_curl_t *c)
{
    if (c->depth > 0) {
        /* curl refuses curl_multi_setopt() from its own callbacks: the kick does it */
        c->h2_recap = true;
        event_active(&c->kick, EV_TIMEOUT, 0);
        return;
    }
    c->h2_recap = false;
    long cap = c->max_host_connections; /* 0 = none */
    if (c->h2_in_flight > 0 && !c->h2_refused) {
        uint64_t others = c->stats.in_flight - c->h2_in_flight;
        long need = (long)((c->h2_in_flight + 99) / 100 + 1 + others);
        if (cap == 0 || need < cap) {
            cap = need;
        }
    }
    if (cap == c->h2_cap) {
        return;
    }
    c->h2_cap = cap;
    curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, cap);
}

/* Takes <x> out of the multi handle and the active list, and counts its connection. */
static void
bd_curl_detach(bd_curl_xfer_t *x)
{
    bd_curl_t *c = x->c;
    long connects = 0;

    if (x->attached) {
        curl_easy_getinfo(x->easy, CURLINFO_NUM_CONNECTS, &connects);
        c->stats.connections_created += (uint64_t)connects;
        if (connects == 0 && x->connected) {
            c->stats.connections_reused++;
        }
        if (x->h2 && x->state == BD_CURL_XFER_CANCELED) {
            /* curl queues the RST_STREAM of a canceled HTTP/2 stream and sends it only
             * when the connection is next used, so Bedrock would go on with the call;
             * a connection no other stream uses is closed instead, which ends it now */
            curl_easy_setopt(x->easy, CURLOPT_FORBID_REUSE, 1L);
        }
        bd_curl_enter(c);
        curl_multi_remove_handle(c->multi, x->easy);
        bd_curl_leave(c);
        x->attached = false;
    }
    bd_curl_link_remove(&x->active);
    bd_curl_link_remove(&x->resume);
    evtimer_del(&x->timer);
    c->stats.in_flight--;
    if (x->h2_counted) {
        x->h2_counted = false;
        c->h2_in_flight--;
    }
    bd_curl_h2_cap(c);
}

static void
bd_curl_xfer_free(bd_curl_xfer_t *x)
{
    curl_easy_cleanup(x->easy);
    curl_url_cleanup(x->url);
    delete x;
}

/* Back to the free list, or freed when the list is full. */
static void
bd_curl_recycle(bd_curl_xfer_t *x)
{
    bd_curl_t *c = x->c;

    curl_slist_free_all(x->slist);
    x->slist = NULL;
    x->state = BD_CURL_XFER_IDLE;
    x->data = NULL;
    if (c->nfree >= c->max_idle_handles) {
        bd_curl_xfer_free(x);
        return;
    }
    /* The reset drops every option but keeps the handle's allocations; the connections
     * themselves live in the multi handle's cache. */
    curl_easy_reset(x->easy);
    x->hbuf.clear();
    x->hdrs.clear();
    x->next = c->free_xfers;
    c->free_xfers = x;
    c->nfree++;
}

/* Ends a running transfer: detaches it, reports <code> (or curl's <rc>) and recycles it. */
static void
bd_curl_finish(bd_curl_xfer_t *x, CURLcode rc, bd_curl_result_e code)
{
    bd_curl_result_t res;

    if (code == BD_CURL_OK) {
        code = bd_curl_result_of(x, rc);
    }
    res.code = code;
    res.http_status = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &res.http_status);
    res.curl_code = (int)rc;
    res.message = bd_curl_result_message(x, code, rc);
    bd_curl_detach(x);
    x->state = BD_CURL_XFER_DONE;
    x->c->stats.completed++;
    x->h.on_done(x, &res);
    bd_curl_recycle(x);
}

/* Reports every finished transfer; runs only with no curl call on the stack. */
static void
bd_curl_drain(bd_curl_t *c)
{
    CURLMsg *msg;
    int left;

    while ((msg = curl_multi_info_read(c->multi, &left)) != NULL) {
        char *priv = NULL;
        bd_curl_xfer_t *x;

        if (msg->msg != CURLMSG_DONE) {
            continue;
        }
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
        x = (bd_curl_xfer_t *)priv;
        if (x != NULL && x->state == BD_CURL_XFER_RUNNING) {
            bd_curl_finish(x, msg->data.result, BD_CURL_OK);
        }
    }
}

static void
bd_curl_action(bd_curl_t *c, curl_socket_t fd, int mask)
{
    int running = 0;

    bd_curl_enter(c);
    curl_multi_socket_action(c->multi, fd, mask, &running);
    bd_curl_leave(c);
    bd_curl_drain(c);
}

/* Event on a socket curl watches. <arg> is the bd_curl_sock_t, which curl may free during
 * the action, so it is read first. */
static void
bd_curl_on_socket(evutil_socket_t fd, short events, void *arg) noexcept
{
    bd_curl_sock_t *s = (bd_curl_sock_t *)arg;
    int mask = 0;

    if (s->what == CURL_POLL_REMOVE) {
        /* A parked connection is readable: the upstream closed it, or sent what curl's
         * check finds when it takes the connection next. Watched again from then on. */
        bd_curl_sock_arm(s, fd, 0);
        s->c->stats.idle_woken++;
        return;
    }

    mask |= (events & EV_READ) ? CURL_CSELECT_IN : 0;
    mask |= (events & EV_WRITE) ? CURL_CSELECT_OUT : 0;
    bd_curl_action(s->c, fd, mask);
}

/* curl's timeout expired, or curl asked to run now. <arg> is the bd_curl_t. */
static void
bd_curl_on_timeout(evutil_socket_t, short, void *arg) noexcept
{
    bd_curl_t *c = (bd_curl_t *)arg;

    bd_curl_action(c, CURL_SOCKET_TIMEOUT, 0);
}

/* ---- per-transfer timers ---- */

/* First-byte timer before the headers, idle timer after them. The idle timer is lazy: data
 * only moves last_data_ms, and an early expiry re-arms for the rest, so a busy stream costs
 * no timer operation per write. <arg> is the bd_curl_xfer_t. */
static void
bd_curl_on_xfer_timer(evutil_socket_t, short, void *arg) noexcept
{
    bd_curl_xfer_t *x = (bd_curl_xfer_t *)arg;
    int64_t left;

    if (x->state != BD_CURL_XFER_RUNNING) {
        return;
    }
    if (!x->headers_done) {
        bd_curl_finish(x, CURLE_OK, BD_CURL_TIMEOUT_FIRST_BYTE);
        return;
    }
    left = x->last_data_ms + x->idle_timeout_ms - bd_curl_now_ms();
    if (left > 0) {
        bd_curl_arm(&x->timer, left);
        return;
    }
    bd_curl_finish(x, CURLE_OK, BD_CURL_TIMEOUT_IDLE);
}

static void
bd_curl_idle_start(bd_curl_xfer_t *x)
{
    x->last_data_ms = bd_curl_now_ms();
    evtimer_del(&x->timer);
    if (x->idle_timeout_ms > 0 && !x->paused) {
        bd_curl_arm(&x->timer, x->idle_timeout_ms);
    }
}

/* ---- curl's per-transfer callbacks ---- */

static void
bd_curl_headers_add(bd_curl_xfer_t *x, const char *p, size_t len)
{
    const char *colon = (const char *)memchr(p, ':', len);
    size_t name_len, vlen;
    const char *v;
    bd_curl_hdr_t hdr;

    if (colon == NULL) {
        return;
    }
    name_len = (size_t)(colon - p);
    while (name_len > 0 && (p[name_len - 1] == ' ' || p[name_len - 1] == '\t')) {
        name_len--;
    }
    v = colon + 1;
    vlen = len - (size_t)(v - p);
    while (vlen > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        vlen--;
    }
    hdr.name = (uint32_t)x->hbuf.size();
    x->hbuf.append(p, name_len);
    x->hbuf.push_back('\0');
    hdr.value = (uint32_t)x->hbuf.size();
    hdr.value_len = (uint32_t)vlen;
    x->hbuf.append(v, vlen);
    x->hbuf.push_back('\0');
    x->hdrs.push_back(hdr);
}

/* An obsolete folded line continues the last header, whose value ends hbuf. */
static void
bd_curl_headers_fold(bd_curl_xfer_t *x, const char *p, size_t len)
{
    if (x->hdrs.empty()) {
        return;
    }
    while (len > 0 && (*p == ' ' || *p == '\t')) {
        p++;
        len--;
    }
    x->hbuf.back() = ' ';
    x->hbuf.append(p, len);
    x->hbuf.push_back('\0');
    x->hdrs.back().value_len += (uint32_t)(len + 1);
}

bool
bd_curl_xfer_body_sent(bd_curl_xfer_t *x)
{
    curl_off_t sent = -1;
    curl_off_t size = -1;
    curl_easy_getinfo(x->easy, CURLINFO_SIZE_UPLOAD_T, &sent);
    curl_easy_getinfo(x->easy, CURLINFO_CONTENT_LENGTH_UPLOAD_T, &size);
    return size < 0 || sent == size; /* no body, or all of it */
}

/*
 * curl sends a body through the handle's upload buffer (64 KB, kept until the handle is
 * freed) over HTTP/2 always, and over HTTP/1.1 when it is larger than 64 KB or given in
 * pieces. Once the whole body is out, setting the size again frees that buffer (curl
 * allocates a new one if the handle uploads again): pages a long stream would otherwise
 * hold.
 */
static void
bd_curl_drop_upload_buffer(bd_curl_xfer_t *x)
{
    curl_off_t size = -1;
    curl_easy_getinfo(x->easy, CURLINFO_CONTENT_LENGTH_UPLOAD_T, &size);
    if (size > 0 && bd_curl_xfer_body_sent(x)) {
        curl_easy_setopt(x->easy, CURLOPT_UPLOAD_BUFFERSIZE, 65536L);
    }
}

/* The blank line after a header block. Returns false to make curl stop the transfer. */
static bool
bd_curl_headers_end(bd_curl_xfer_t *x)
{
    long status = 0;
    int rc = BD_CURL_CONTINUE;

    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 100 && status < 200) {
        return true; /* an interim response: the real headers follow */
    }
    x->headers_done = true;
    bd_curl_idle_start(x);
    if (x->h2) {
        long version = 0;
        curl_easy_getinfo(x->easy, CURLINFO_HTTP_VERSION, &version);
        if (version != CURL_HTTP_VERSION_2_0 && !x->c->h2_refused) {
            x->c->h2_refused = true;
            x->c->h2_requeue = true;
            bd_curl_h2_cap(x->c); /* in a curl callback: deferred to the kick */
        }
    }
    bd_curl_drop_upload_buffer(x);
    if (x->h.on_headers != NULL) {
        rc = x->h.on_headers(x, status, x);
    }
    if (x->state != BD_CURL_XFER_RUNNING) {
        return false; /* canceled inside the callback */
    }
    if (rc == BD_CURL_ABORT) {
        x->aborted = true;
        return false;
    }
    if (rc == BD_CURL_PAUSE) {
        bd_curl_xfer_pause(x);
    }
    return true;
}

/* CURLOPT_HEADERFUNCTION: one header line per call. <arg> is the bd_curl_xfer_t. */
static size_t
bd_curl_on_header(char *p, size_t size, size_t n, void *arg) noexcept
{
    bd_curl_xfer_t *x = (bd_curl_xfer_t *)arg;
    size_t len = size * n;
    size_t l = len;

    if (x->state != BD_CURL_XFER_RUNNING) {
        return 0;
    }
    if (x->headers_done) {
        return len; /* trailers are not exposed */
    }
    while (l > 0 && (p[l - 1] == '\r' || p[l - 1] == '\n')) {
        l--;
    }
    if (l == 0) {
        return bd_curl_headers_end(x) ? len : 0;
    }
    if (l >= 5 && memcmp(p, "HTTP/", 5) == 0) {
        x->hbuf.clear(); /* a new response block starts */
        x->hdrs.clear();
    } else if (p[0] == ' ' || p[0] == '\t') {
        bd_curl_headers_fold(x, p, l);
    } else {
        bd_curl_headers_add(x, p, l);
    }
    return len;
}

/* CURLOPT_WRITEFUNCTION: body bytes. Anything but <len> or CURL_WRITEFUNC_PAUSE makes curl
 * end the transfer with CURLE_WRITE_ERROR. <arg> is the bd_curl_xfer_t. */
static size_t
bd_curl_on_write(char *p, size_t size, size_t n, void *arg) noexcept
{
    bd_curl_xfer_t *x = (bd_curl_xfer_t *)arg;
    size_t len = size * n;
    int rc = BD_CURL_CONTINUE;

    if (x->state != BD_CURL_XFER_RUNNING) {
        return 0;
    }
    if (x->paused) {
        return CURL_WRITEFUNC_PAUSE; /* paused before curl could stop reading */
    }
    x->last_data_ms = bd_curl_now_ms();
    if (x->h.on_data != NULL) {
        rc = x->h.on_data(x, p, len);
    }
    if (x->state != BD_CURL_XFER_RUNNING) {
        return 0;
    }
    if (rc == BD_CURL_ABORT) {
        x->aborted = true;
        return 0;
    }
    if (rc == BD_CURL_PAUSE) {
        /* curl keeps these bytes and hands them over again after the resume */
        x->paused = true;
        evtimer_del(&x->timer);
        return CURL_WRITEFUNC_PAUSE;
    }
    /* Consumed, even if on_data paused through bd_curl_xfer_pause(): the next call is the
     * one that returns CURL_WRITEFUNC_PAUSE, above. */
    return len;
}

/* CURLOPT_PREREQFUNCTION: a connection, new or reused, now carries the request. */
static int
bd_curl_on_prereq(void *arg, char *ip, char *, int, int) noexcept
{
    bd_curl_xfer_t *x = (bd_curl_xfer_t *)arg;

    x->connected = true;
    if (x->allow_peer != NULL && !x->allow_peer(x->data, ip)) {
        return CURL_PREREQFUNC_ABORT;
    }
    return CURL_PREREQFUNC_OK;
}

/* ---- starting, pausing and stopping transfers ---- */

static bool
bd_curl_has_crlf(const char *s)
{
    return strpbrk(s, "\r\n") != NULL;
}

/* Adds "<name>: <value>" to the transfer's header list; an empty value removes curl's own
 * header of that name, as curl's list syntax says. */
static bool
bd_curl_header_append(bd_curl_xfer_t *x, const char *name, const char *value)
{
    std::string &line = x->c->line;
    struct curl_slist *l;

    if (bd_curl_has_crlf(name) || bd_curl_has_crlf(value)) {
        return false;
    }
    line.assign(name);
    line.append(":");
    if (value[0] != '\0') {
        line.append(" ");
        line.append(value);
    }
    l = curl_slist_append(x->slist, line.c_str());
    if (l == NULL) {
        return false;
    }
    x->slist = l;
    return true;
}

static bool
bd_curl_setup_headers(bd_curl_xfer_t *x, const bd_curl_request_t *req)
{
    for (size_t i = 0; i < req->nheaders; i++) {
        const bd_curl_header_t *hd = &req->headers[i];

        if (hd->name == NULL || hd->name[0] == '\0' || hd->value == NULL
            || !bd_curl_header_append(x, hd->name, hd->value)) {
            return false;
        }
    }
    /* No "Expect: 100-continue" round trip before large bodies, and no form-encoded
     * Content-Type that curl would otherwise invent for a body. */
    return bd_curl_header_append(x, "Expect", "")
           && bd_curl_header_append(x, "Content-Type",
                                    req->content_type != NULL ? req->content_type : "");
}

/* CURLOPT_READFUNCTION: the next bytes of a body sent in pieces. */
static size_t
bd_curl_on_read_body(char *buf, size_t size, size_t n, void *arg) noexcept
{
    bd_curl_xfer_t *x = (bd_curl_xfer_t *)arg;
    size_t room = size * n, out = 0;
    while (room > 0 && x->body_at_piece < x->body_iov.size()) {
        const struct iovec &v = x->body_iov[x->body_at_piece];
        size_t take = v.iov_len - x->body_at_byte < room ? v.iov_len - x->body_at_byte : room;
        memcpy(buf + out, (const char *)v.iov_base + x->body_at_byte, take);
        out += take;
        room -= take;
        x->body_at_byte += take;
        if (x->body_at_byte == v.iov_len) {
            x->body_at_piece++;
            x->body_at_byte = 0;
        }
    }
    return out;
}

/* CURLOPT_SEEKFUNCTION: curl rewinds a body to send it again (a reused connection
 * that died before the answer). */
static int
bd_curl_on_seek_body(void *arg, curl_off_t offset, int origin) noexcept
{
    bd_curl_xfer_t *x = (bd_curl_xfer_t *)arg;
    if (origin != SEEK_SET || offset < 0) {
        return CURL_SEEKFUNC_CANTSEEK;
    }
    size_t left = (size_t)offset;
    x->body_at_piece = 0;
    while (x->body_at_piece < x->body_iov.size() && left >= x->body_iov[x->body_at_piece].iov_len) {
        left -= x->body_iov[x->body_at_piece].iov_len;
        x->body_at_piece++;
    }
    x->body_at_byte = left;
    return x->body_at_piece < x->body_iov.size() || left == 0 ? CURL_SEEKFUNC_OK
                                                              : CURL_SEEKFUNC_FAIL;
}

/* A body in pieces: curl reads it as it sends, its length known up front. */
static bool
bd_curl_setup_body_pieces(bd_curl_xfer_t *x, const bd_curl_request_t *req)
{
    CURL *e = x->easy;
    curl_off_t total = 0;
    x->body_iov.assign(req->body_iov, req->body_iov + req->body_iovcnt);
    x->body_at_piece = x->body_at_byte = 0;
    for (const struct iovec &v : x->body_iov) {
        total += (curl_off_t)v.iov_len;
    }
    bool bad = curl_easy_setopt(e, CURLOPT_POST, 1L) != 0;
    bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, total) != 0;
    bad |= curl_easy_setopt(e, CURLOPT_READFUNCTION, bd_curl_on_read_body) != 0;
    bad |= curl_easy_setopt(e, CURLOPT_READDATA, (void *)x) != 0;
    bad |= curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, bd_curl_on_seek_body) != 0;
    bad |= curl_easy_setopt(e, CURLOPT_SEEKDATA, (void *)x) != 0;
    return !bad;
}

static bool
bd_curl_setup_method(bd_curl_xfer_t *x, const bd_curl_request_t *req)
{
    CURL *e = x->easy;
    const char *m = req->method;
    bool bad = false;

    if (req->body_iov != NULL || req->body != NULL) {
        if (req->body_iov != NULL) {
            bad |= !bd_curl_setup_body_pieces(x, req);
        } else {
            bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len) != 0;
            bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body) != 0;
        }
        if (m != NULL && strcmp(m, "POST") != 0) {
            bad |= curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m) != 0;
        }
    } else if (m != NULL && strcmp(m, "HEAD") == 0) {
        bad |= curl_easy_setopt(e, CURLOPT_NOBODY, 1L) != 0;
    } else if (m != NULL && strcmp(m, "GET") != 0) {
        bad |= curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m) != 0;
    }
    return !bad;
}

/* The URL parsed once for the requests that follow on this handle, most of them to the
 * same model. Given with the same URL as text, it spares libcurl a parse and a
 * reassembly of the URL per transfer (about 15,000 instructions: with the text alone
 * libcurl 7.88 parses it, prints it back, then reads its parts). NULL when libcurl
 * cannot parse it: the text alone then gets libcurl's own error. */
static CURLU *
bd_curl_parsed_url(bd_curl_xfer_t *x, const char *url)
{
    if (x->url != NULL && x->url_text == url) {
        return x->url;
    }
    x->url_text.clear();
    if (x->url == NULL && (x->url = curl_url()) == NULL) {
        return NULL;
    }
    if (curl_url_set(x->url, CURLUPART_URL, url, 0) != CURLUE_OK) {
        return NULL;
    }
    x->url_text = url;
    return x->url;
}

/* Sets every option of a freshly reset easy handle. */
static bool
bd_curl_setup(bd_curl_xfer_t *x, const bd_curl_request_t *req)
{
    CURL *e = x->easy;
    bool bad = false;

    x->body_iov.clear();
    if (!bd_curl_setup_headers(x, req) || !bd_curl_setup_method(x, req)) {
        return false;
    }
    bad |= curl_easy_setopt(e, CURLOPT_URL, req->url) != 0;
    bad |= curl_easy_setopt(e, CURLOPT_CURLU, bd_curl_parsed_url(x, req->url)) != 0;
    bad |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->slist) != 0;
    bad |= curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)x) != 0;
    bad |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf) != 0;
    bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, bd_curl_on_write) != 0;
    bad |= curl_easy_setopt(e, CURLOPT_WRITEDATA, (void *)x) != 0;
    bad |= curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, bd_curl_on_header) != 0;
    bad |= curl_easy_setopt(e, CURLOPT_HEADERDATA, (void *)x) != 0;
    bad |= curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, bd_curl_on_prereq) != 0;
    bad |= curl_easy_setopt(e, CURLOPT_PREREQDATA, (void *)x) != 0;
    bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != 0;
    bad |= curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, bd_curl_on_open_socket) != 0;
    bad |= curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, (void *)x->c) != 0;
    bad |= curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, bd_curl_on_close_socket) != 0;
    bad |= curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, (void *)x->c) != 0;
    /* PIPEWAIT only where HTTP/2 can happen: on a plain-HTTP URL curl would wait for a
     * busy HTTP/1.1 connection instead of opening another */
    x->h2 = req->http_version == BD_CURL_HTTP_2_TLS && strncmp(req->url, "https://", 8) == 0;
    if (x->h2) {
        bad |= curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS) != 0;
        bad |= curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L) != 0;
    } else {
        bad |= curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1) != 0;
    }
    bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != 0;
    bad |= curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L) != 0;
    bad |= curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L) != 0;
    bad |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L) != 0;
    bad |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L) != 0;
    if (!x->c->ca_file.empty()) {
        bad |= curl_easy_setopt(e, CURLOPT_CAINFO, x->c->ca_file.c_str()) != 0;
    }
    bad |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, req->connect_timeout_ms) != 0;
    bad |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, req->total_timeout_ms) != 0;
    /* Over HTTP/1.1 only: libcurl 7.88 stalls HTTP/2 streams read through a small
     * buffer, and loses bytes of a paused one (the http2 suite shows both). */
    if (req->recv_buffer > 0 && !x->h2) {
        bad |= curl_easy_setopt(e, CURLOPT_BUFFERSIZE, req->recv_buffer) != 0;
    }
    if (!x->c->env_proxy) {
        /* no proxy, said here: libcurl would read five variables for every request */
        bad |= curl_easy_setopt(e, CURLOPT_PROXY, "") != 0;
        bad |= curl_easy_setopt(e, CURLOPT_NOPROXY, "") != 0;
    }
    return !bad;
}

static bd_curl_xfer_t *
bd_curl_xfer_get(bd_curl_t *c)
{
    bd_curl_xfer_t *x = c->free_xfers;

    if (x != NULL) {
        c->free_xfers = x->next;
        c->nfree--;
        x->next = NULL;
        return x;
    }
    x = new bd_curl_xfer_t();
    x->c = c;
    x->easy = curl_easy_init();
    if (x->easy == NULL) {
        BD_FATAL("curl_easy_init failed");
    }
    evtimer_assign(&x->timer, c->base, bd_curl_on_xfer_timer, x);
    bd_curl_link_init(&x->active, x);
    bd_curl_link_init(&x->resume, x);
    return x;
}

static bool
bd_curl_attach(bd_curl_xfer_t *x)
{
    bd_curl_t *c = x->c;
    CURLMcode mc;

    if (x->h2) {
        x->h2_counted = true;
        c->h2_in_flight++;
        if (!c->multiplex) {
            c->multiplex = true; /* HTTP/2 transfers share connections from now on */
            curl_multi_setopt(c->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
        }
    }
    bd_curl_h2_cap(c);
    bd_curl_enter(c);
    mc = curl_multi_add_handle(c->multi, x->easy);
    bd_curl_leave(c);
    if (mc != CURLM_OK) {
        return false;
    }
    x->attached = true;
    x->state = BD_CURL_XFER_RUNNING;
    if (x->first_byte_timeout_ms > 0) {
        bd_curl_arm(&x->timer, x->first_byte_timeout_ms);
    }
    return true;
}

static void
bd_curl_defer(bd_curl_xfer_t *x)
{
    bd_curl_t *c = x->c;

    x->next = NULL;
    if (c->deferred == NULL) {
        c->deferred = x;
    } else {
        c->deferred_tail->next = x;
    }
    c->deferred_tail = x;
}

/* Carries out the adds and removes asked for while curl was on the stack. Calls no caller
 * callback, so it may run at the end of any bd_curl function. */
static void
bd_curl_run_deferred(bd_curl_t *c)
{
    if (c->running_deferred) {
        return;
    }
    c->running_deferred = true;
    while (c->deferred != NULL) {
        bd_curl_xfer_t *x = c->deferred;

        c->deferred = x->next;
        x->next = NULL;
        if (x->state == BD_CURL_XFER_QUEUED) {
            if (!bd_curl_attach(x)) {
                BD_FATAL("curl_multi_add_handle failed");
            }
        } else if (x->state == BD_CURL_XFER_CANCELED) {
            bd_curl_detach(x);
            bd_curl_recycle(x);
        }
    }
    c->running_deferred = false;
}

bd_curl_xfer_t *
bd_curl_xfer_start(bd_curl_t *c, const bd_curl_request_t *req, const bd_curl_handlers_t *h,
                   void *data)
{
    bd_curl_xfer_t *x;

    if (req == NULL || req->url == NULL || h == NULL || h->on_done == NULL) {
        return NULL;
    }
    x = bd_curl_xfer_get(c);
    x->h = *h;
    x->data = data;
    x->connect_timeout_ms = req->connect_timeout_ms;
    x->first_byte_timeout_ms = req->first_byte_timeout_ms;
    x->idle_timeout_ms = req->idle_timeout_ms;
    x->total_timeout_ms = req->total_timeout_ms;
    x->allow_peer = req->allow_peer;
    x->attached = x->connected = x->headers_done = x->paused = x->aborted = false;
    x->h2_counted = false;
    x->errbuf[0] = '\0';
    if (!bd_curl_setup(x, req)) {
        bd_curl_recycle(x);
        return NULL;
    }
    bd_curl_link_append(&c->active, &x->active);
    c->stats.started++;
    c->stats.in_flight++;
    if (c->depth > 0) {
        /* inside a curl callback, where curl refuses new handles */
        x->state = BD_CURL_XFER_QUEUED;
        bd_curl_defer(x);
        return x;
    }
    if (!bd_curl_attach(x)) {
        c->stats.started--;
        bd_curl_detach(x);
        bd_curl_recycle(x);
        return NULL;
    }
    return x;
}

void
bd_curl_xfer_cancel(bd_curl_xfer_t *x)
{
    bd_curl_t *c = x->c;

    if (x->state != BD_CURL_XFER_RUNNING && x->state != BD_CURL_XFER_QUEUED) {
        return; /* already canceled; anything else is a caller bug */
    }
    c->stats.canceled++;
    evtimer_del(&x->timer);
    bd_curl_link_remove(&x->resume);
    if (c->depth > 0) {
        /* curl is on the stack: the callbacks see the state and stop the transfer, the
         * removal waits until curl returns */
        if (x->state == BD_CURL_XFER_RUNNING) {
            bd_curl_defer(x);
        }
        x->state = BD_CURL_XFER_CANCELED;
        return;
    }
    BD_ASSERT(x->state == BD_CURL_XFER_RUNNING);
    x->state = BD_CURL_XFER_CANCELED;
    bd_curl_detach(x);
    bd_curl_recycle(x);
}

void
bd_curl_xfer_pause(bd_curl_xfer_t *x)
{
    if (x->state != BD_CURL_XFER_RUNNING && x->state != BD_CURL_XFER_QUEUED) {
        return;
    }
    bd_curl_link_remove(&x->resume);
    if (x->paused) {
        return;
    }
    x->paused = true;
    if (x->headers_done) {
        evtimer_del(&x->timer); /* waiting on our caller is not upstream idleness */
    }
    /* Stops reading at once when curl has a connection; otherwise, or if curl forgets it,
     * the write callback refuses the first bytes and curl pauses then. */
    if (x->state == BD_CURL_XFER_RUNNING) {
        curl_easy_pause(x->easy, CURLPAUSE_RECV);
    }
}

void
bd_curl_xfer_resume(bd_curl_xfer_t *x)
{
    bd_curl_t *c = x->c;

    if (x->state != BD_CURL_XFER_RUNNING && x->state != BD_CURL_XFER_QUEUED) {
        return;
    }
    if (!x->paused || x->resume.next != &x->resume) { /* not paused, or already queued */
        return;
    }
    /* curl_easy_pause(CONT) delivers the held bytes before it returns; doing it from the
     * kick event keeps on_data out of our caller's stack. */
    bd_curl_link_append(&c->resumes, &x->resume);
    event_active(&c->kick, EV_TIMEOUT, 0);
}

/* The cap is gone (a server answered HTTP/1.1): curl wakes a transfer it held for a
 * connection only when another ends, so the ones without a connection yet are added
 * again, and find one now. Nothing of theirs has been sent. From the loop. */
static void
bd_curl_h2_requeue(bd_curl_t *c)
{
    c->h2_requeue = false;
    for (bd_curl_link_t *l = c->active.next; l != &c->active; l = l->next) {
        bd_curl_xfer_t *x = (bd_curl_xfer_t *)l->owner;
        if (x->attached && !x->connected && x->state == BD_CURL_XFER_RUNNING) {
            bd_curl_enter(c);
            curl_multi_remove_handle(c->multi, x->easy);
            curl_multi_add_handle(c->multi, x->easy);
            bd_curl_leave(c);
        }
    }
}

/* Runs the queued resumes, and the cap changes asked for inside curl. <arg> is the
 * bd_curl_t. */
static void
bd_curl_on_kick(evutil_socket_t, short, void *arg) noexcept
{
    bd_curl_t *c = (bd_curl_t *)arg;

    if (c->h2_recap) {
        bd_curl_h2_cap(c);
    }
    if (c->h2_requeue) {
        bd_curl_h2_requeue(c);
    }
    while (!bd_curl_link_empty(&c->resumes)) {
        bd_curl_xfer_t *x = (bd_curl_xfer_t *)c->resumes.next->owner;

        bd_curl_link_remove(&x->resume);
        if (x->state != BD_CURL_XFER_RUNNING || !x->paused) {
            continue;
        }
        x->paused = false;
        if (x->headers_done) {
            bd_curl_idle_start(x);
        }
        bd_curl_enter(c);
        curl_easy_pause(x->easy, CURLPAUSE_CONT);
        bd_curl_leave(c);
    }
    /* curl_easy_pause(CONT) set the resumed handles to run at once; make sure the timer runs
     * them even where curl did not ask: their bytes may already sit in the kernel, where no
     * new readiness event would announce them. */
    event_active(&c->timer, EV_TIMEOUT, 0);
    bd_curl_drain(c);
}

/* ---- the client ---- */

/* The connection limits of <o> on <m>; unset (0) ones are left as they are. */
static bool
bd_curl_multi_limits(CURLM *m, const bd_curl_options_t *o)
{
    bool bad = false;
    if (o->max_connections > 0) {
        bad |= curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, o->max_connections) != 0;
    }
    if (o->max_host_connections > 0) {
        bad |= curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, o->max_host_connections) != 0;
    }
    if (o->max_total_connections > 0) {
        bad |= curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, o->max_total_connections) != 0;
    }
    return !bad;
}

static bool
bd_curl_multi_setup(bd_curl_t *c, const bd_curl_options_t *o)
{
    CURLM *m = c->multi;
    bool bad = false;

    bad |= curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, bd_curl_on_socket_change) != 0;
    bad |= curl_multi_setopt(m, CURLMOPT_SOCKETDATA, (void *)c) != 0;
    bad |= curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, bd_curl_on_timer_change) != 0;
    bad |= curl_multi_setopt(m, CURLMOPT_TIMERDATA, (void *)c) != 0;
    /* HTTP/1.1 keep-alive only until an HTTP/2 transfer comes (bd_curl_attach):
     * multiplexing costs curl work on every HTTP/1.1 request too */
    bad |= curl_multi_setopt(m, CURLMOPT_PIPELINING, (long)CURLPIPE_NOTHING) != 0;
    return !bad && bd_curl_multi_limits(m, o);
}

int
bd_curl_set_limits(bd_curl_t *c, const bd_curl_options_t *opts)
{
    if (opts->max_host_connections > 0) {
        c->max_host_connections = opts->max_host_connections;
    }
    if (!bd_curl_multi_limits(c->multi, opts)) {
        return -1;
    }
    c->h2_cap = -1; /* the limits just set replaced the cap: set it again */
    bd_curl_h2_cap(c);
    return 0;
}

bd_curl_t *
bd_curl_create(struct event_base *base, const bd_curl_options_t *opts)
{
    bd_curl_options_t defaults = {};
    const bd_curl_options_t *o = opts != NULL ? opts : &defaults;
    bd_curl_t *c = new bd_curl_t();

    c->base = base;
    c->max_idle_handles = o->max_idle_handles > 0 ? o->max_idle_handles : 64;
    c->max_host_connections = o->max_host_connections;
    c->h2_in_flight = 0;
    c->h2_cap = o->max_host_connections; /* what bd_curl_multi_setup sets */
    c->h2_refused = false;
    c->h2_requeue = false;
    c->h2_recap = false;
    c->multiplex = false;
    c->env_proxy = bd_aws_env_names_proxy();
    if (o->ca_file != NULL) {
        c->ca_file = o->ca_file;
    }
    bd_curl_link_init(&c->active, c);
    bd_curl_link_init(&c->resumes, c);
    bd_curl_link_init(&c->socks, c);
    evtimer_assign(&c->timer, base, bd_curl_on_timeout, c);
    event_assign(&c->kick, base, -1, 0, bd_curl_on_kick, c);
    c->multi = curl_multi_init();
    if (c->multi == NULL || !bd_curl_multi_setup(c, o)) {
        if (c->multi != NULL) {
            curl_multi_cleanup(c->multi);
        }
        delete c;
        return NULL;
    }
    return c;
}

void
bd_curl_destroy(bd_curl_t *c)
{
    if (c == NULL) {
        return;
    }
    BD_ASSERT(c->depth == 0);
    while (!bd_curl_link_empty(&c->active)) {
        bd_curl_xfer_cancel((bd_curl_xfer_t *)c->active.next->owner);
    }
    while (c->free_xfers != NULL) {
        bd_curl_xfer_t *x = c->free_xfers;

        c->free_xfers = x->next;
        bd_curl_xfer_free(x);
    }
    curl_multi_cleanup(c->multi);
    /* curl closes its connections above (bd_curl_on_close_socket); free what is left */
    while (!bd_curl_link_empty(&c->socks)) {
        bd_curl_sock_free((bd_curl_sock_t *)c->socks.next->owner);
    }
    event_del(&c->timer);
    event_del(&c->kick);
    delete c;
}

void *
bd_curl_xfer_data(const bd_curl_xfer_t *x)
{
    return x->data;
}

const char *
bd_curl_headers_get(const bd_curl_headers_t *h, const char *name, size_t *len)
{
    size_t name_len = strlen(name);

    for (const bd_curl_hdr_t &hdr : h->hdrs) {
        const char *n = h->hbuf.data() + hdr.name;

        if (hdr.value - hdr.name - 1 == name_len && strncasecmp(n, name, name_len) == 0) {
            if (len != NULL) {
                *len = hdr.value_len;
            }
            return h->hbuf.data() + hdr.value;
        }
    }
    return NULL;
}

size_t
bd_curl_headers_count(const bd_curl_headers_t *h)
{
    return h->hdrs.size();
}

void
bd_curl_headers_at(const bd_curl_headers_t *h, size_t i, const char **name, const char **value)
{
    *name = h->hbuf.data() + h->hdrs[i].name;
    *value = h->hbuf.data() + h->hdrs[i].value;
}

void
bd_curl_stats(const bd_curl_t *c, bd_curl_stats_t *out)
{
    *out = c->stats;
}

const char *
bd_curl_result_name(bd_curl_result_e code)
{
    /* in the order of bd_curl_result_e */
    static const char *const names[] = {
        "ok",           "connect failed", "timeout connect", "timeout first byte",
        "timeout idle", "timeout total",  "canceled",        "error",
    };
    static_assert(sizeof(names) / sizeof(names[0]) == BD_CURL_ERROR + 1, "one name per code");

    return (unsigned)code < sizeof(names) / sizeof(names[0]) ? names[code] : "unknown";
}
