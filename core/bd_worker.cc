/*
 * bd_worker.cc: the worker thread: its event loop, its mailbox (an eventfd the
 * other threads write to after queueing a message under a mutex), snapshot
 * adoption and listener reconciliation, and drain.
 */
#include "core/bd_worker.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/http.h>

#include "core/bd_core_module.h"
#include "core/bd_http.h"
#include "core/bd_http_edge.h"
#include "core/bd_log.h"
#include "core/bd_thread.h"

static void
bd_worker_close_listener(bd_worker_t *w, bd_worker_listener_t *l)
{
    if (l->bound != nullptr) {
        evhttp_del_accept_socket(l->ssl ? w->https : w->http, l->bound);
        l->bound = nullptr;
    } else if (l->fd >= 0) {
        close(l->fd);
    }
    l->fd = -1;
}

/* Makes the worker's listeners the <wanted> set: unchanged keys keep their socket
 * (and the connections queued on it), new ones are bound, missing ones closed. */
static void
bd_worker_reconcile(bd_worker_t *w, std::vector<bd_worker_listener_t> &wanted)
{
    std::vector<bd_worker_listener_t> next;
    for (bd_worker_listener_t &have : w->listeners) {
        bool keep = false;
        for (bd_worker_listener_t &want : wanted) {
            if (want.key == have.key && want.fd < 0) {
                keep = true;
                break;
            }
        }
        if (keep) {
            next.push_back(have);
        } else {
            bd_worker_close_listener(w, &have);
        }
    }
    for (bd_worker_listener_t &want : wanted) {
        if (want.fd < 0) {
            continue;
        }
        want.bound = evhttp_accept_socket_with_handle(want.ssl ? w->https : w->http, want.fd);
        if (want.bound == nullptr) {
            bd_log_error(BD_LOG_ERR, nullptr, "worker %d: cannot listen on %s", w->id,
                         want.key.c_str());
            close(want.fd);
            continue;
        }
        bd_http_edge_watch_listener(w, want.bound);
        next.push_back(want);
    }
    w->listeners.swap(next);
}

static void
bd_worker_adopt(bd_worker_t *w, bd_msg_t *msg)
{
    bd_snapshot_t *old = w->snap;
    w->snap = msg->snap;
    bd_http_apply_limits(w->http, w->snap);
    bd_http_apply_limits(w->https, w->snap);
    if (!w->draining) {
        bd_worker_reconcile(w, msg->listeners);
    }
    for (int i = 0; old != nullptr && bd_modules[i] != nullptr; i++) {
        if (bd_modules[i]->adopt_worker != nullptr) {
            bd_modules[i]->adopt_worker(w, old);
        }
    }
    if (old != nullptr) {
        bd_snapshot_unref(old);
    }
}

static void
bd_worker_drain(bd_worker_t *w)
{
    w->draining = true;
    for (bd_worker_listener_t &l : w->listeners) {
        bd_worker_close_listener(w, &l);
    }
    w->listeners.clear();
    w->listeners_closed.store(true, std::memory_order_release);
}

void
bd_worker_on_stop(bd_worker_t *w, bd_worker_stop_pt fn, void *arg)
{
    w->stop_hooks.push_back({fn, arg});
}

static void
bd_worker_on_stop_flush(evutil_socket_t, short, void *arg) noexcept
{
    bd_worker_t *w = (bd_worker_t *)arg;
    if (w->flushing.load(std::memory_order_relaxed) == 0 || bd_now_us() >= w->stop_deadline_us) {
        event_base_loopbreak(w->base);
    }
}

/* STOP: the stop hooks end what is in flight, then the loop runs until their last
 * bytes are written (at most a second) and breaks. */
static void
bd_worker_stop(bd_worker_t *w)
{
    if (w->stop_ev != nullptr) {
        return;
    }
    for (const bd_worker_stop_hook_t &h : w->stop_hooks) {
        h.fn(w, h.arg);
    }
    w->stop_deadline_us = bd_now_us() + 1000000;
    w->stop_ev = event_new(w->base, -1, EV_PERSIST, bd_worker_on_stop_flush, w);
    struct timeval tv = {0, 10 * 1000};
    event_add(w->stop_ev, &tv);
    bd_worker_on_stop_flush(-1, 0, w);
}

static void
bd_worker_on_mailbox(evutil_socket_t fd, short what, void *arg) noexcept
{
    bd_worker_t *w = (bd_worker_t *)arg;
    (void)what;
    uint64_t n;
    while (read(fd, &n, sizeof(n)) < 0 && errno == EINTR) {
    }
    std::vector<bd_msg_t> msgs;
    pthread_mutex_lock(&w->mailbox_lock);
    msgs.swap(w->mailbox);
    pthread_mutex_unlock(&w->mailbox_lock);

    for (bd_msg_t &msg : msgs) {
        switch (msg.type) {
        case BD_MSG_ADOPT:
            bd_worker_adopt(w, &msg);
            break;
        case BD_MSG_DRAIN:
            bd_worker_drain(w);
            break;
        case BD_MSG_STOP:
            bd_worker_stop(w);
            break;
        case BD_MSG_CALL:
            msg.fn(w, msg.arg);
            break;
        }
    }
}

bd_worker_t *
bd_worker_create(bd_process_t *p, int id, bd_snapshot_t *snap)
{
    bd_worker_t *w = new bd_worker_t();
    w->id = id;
    w->process = p;
    w->snap = snap;
    w->draining = false;
    w->listeners_closed.store(false);
    w->stop_ev = nullptr;
    w->stop_deadline_us = 0;
    w->started = false;
    w->reading.store(0);
    w->active.store(0);
    w->flushing.store(0);
    w->leaving.store(false);
    w->streams.store(0);
    w->served.store(0);
    memset(w->module_ctx, 0, sizeof(w->module_ctx));
    if (getrandom(w->rng, sizeof(w->rng), 0) != sizeof(w->rng)) {
        w->rng[0] = (uint64_t)bd_now_us() ^ ((uint64_t)id << 32);
        w->rng[1] = (uint64_t)getpid() * 0x9e3779b97f4a7c15ull;
    }
    w->rng[0] |= 1;

    struct event_config *cfg = event_config_new();
    event_config_require_features(cfg, EV_FEATURE_EARLY_CLOSE);
    /* epoll changes batched until the next wait: evhttp swaps read, write and close
     * detection on a client socket several times per request, which then costs one
     * epoll_ctl instead of six. The price is libevent's caveat: never register a
     * duplicated descriptor (see bd_edge_linger_start). */
    event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    w->base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    if (w->base == nullptr) {
        w->base = event_base_new(); /* no early close: aborts are seen on the next write */
    }
    if (w->base == nullptr) {
        BD_FATAL("event_base_new() failed");
    }
    w->http = evhttp_new(w->base);
    w->https = evhttp_new(w->base);
    w->mailbox_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->http == nullptr || w->https == nullptr || w->mailbox_fd < 0) {
        BD_FATAL("worker %d: cannot create its event objects", id);
    }
    pthread_mutex_init(&w->mailbox_lock, nullptr);
    w->mailbox_ev = event_new(w->base, w->mailbox_fd, EV_READ | EV_PERSIST, bd_worker_on_mailbox, w);
    event_add(w->mailbox_ev, nullptr);
    return w;
}

static void *
bd_worker_main(void *arg) noexcept
{
    bd_worker_t *w = (bd_worker_t *)arg;
    char name[16];
    snprintf(name, sizeof(name), "worker-%d", w->id);
    bd_log_set_thread_name(name);
    bd_http_setup(w, w->http, w->https);
    bd_http_apply_limits(w->http, w->snap);
    bd_http_apply_limits(w->https, w->snap);
    for (int i = 0; bd_modules[i] != nullptr; i++) {
        if (bd_modules[i]->init_worker != nullptr && bd_modules[i]->init_worker(w) != BD_OK) {
            BD_FATAL("worker %d: module %s failed to start", w->id, bd_modules[i]->name);
        }
    }
    event_base_dispatch(w->base);

    /* Freeing evhttp closes the remaining connections; requests still running
     * (a stop past shutdown_timeout) are aborted and finalized through it. */
    for (bd_worker_listener_t &l : w->listeners) {
        bd_worker_close_listener(w, &l);
    }
    evhttp_free(w->http);
    evhttp_free(w->https);
    w->http = w->https = nullptr;
    if (w->stop_ev != nullptr) {
        event_free(w->stop_ev);
        w->stop_ev = nullptr;
    }
    bd_http_edge_teardown(w);
    for (int i = 0; bd_modules[i] != nullptr; i++) {
        if (bd_modules[i]->exit_worker != nullptr) {
            bd_modules[i]->exit_worker(w);
        }
    }
    return nullptr;
}

void
bd_worker_start(bd_worker_t *w)
{
    if (bd_thread_create(&w->thread, bd_worker_main, w) != 0) {
        BD_FATAL("pthread_create(worker %d) failed", w->id);
    }
    w->started = true;
}

void
bd_worker_post(bd_worker_t *w, bd_msg_t *msg)
{
    pthread_mutex_lock(&w->mailbox_lock);
    w->mailbox.push_back(*msg);
    pthread_mutex_unlock(&w->mailbox_lock);
    uint64_t one = 1;
    while (write(w->mailbox_fd, &one, sizeof(one)) < 0 && errno == EINTR) {
    }
}

void
bd_worker_join_destroy(bd_worker_t *w)
{
    if (w->started) {
        pthread_join(w->thread, nullptr);
    } else { /* the start failed before its thread ran: free what the thread would */
        evhttp_free(w->http);
        evhttp_free(w->https);
    }
    /* Messages that arrived after STOP still hold snapshot references. */
    for (bd_msg_t &msg : w->mailbox) {
        if (msg.type == BD_MSG_ADOPT) {
            bd_snapshot_unref(msg.snap);
            for (bd_worker_listener_t &l : msg.listeners) {
                if (l.fd >= 0) {
                    close(l.fd);
                }
            }
        }
    }
    event_free(w->mailbox_ev);
    close(w->mailbox_fd);
    event_base_free(w->base);
    pthread_mutex_destroy(&w->mailbox_lock);
    if (w->snap != nullptr) {
        bd_snapshot_unref(w->snap);
    }
    delete w;
}

static uint64_t
bd_worker_rand(bd_worker_t *w)
{
    /* xorshift128+: ids must be unique, not secret. */
    uint64_t s1 = w->rng[0];
    const uint64_t s0 = w->rng[1];
    w->rng[0] = s0;
    s1 ^= s1 << 23;
    w->rng[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
    return w->rng[1] + s0;
}

void
bd_worker_request_id(bd_worker_t *w, char *out, size_t len)
{
    static const char alphabet[] =
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    char id[28] = {'r', 'e', 'q', '_'};
    uint64_t a = bd_worker_rand(w), b = bd_worker_rand(w);
    for (int i = 0; i < 24; i++) {
        uint64_t *src = i < 12 ? &a : &b;
        id[4 + i] = alphabet[*src % 62];
        *src /= 62;
    }
    if (len == 0) {
        return;
    }
    size_t n = len - 1 < 28 ? len - 1 : 28; /* truncated like snprintf */
    memcpy(out, id, n);
    out[n] = '\0';
}
