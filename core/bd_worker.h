/*
 * bd_worker.h: a worker is one reactor thread: its own event_base, its own evhttp
 * objects on SO_REUSEPORT listening sockets, its current snapshot, and the state
 * modules keep per worker. Only its thread touches it, except bd_worker_post and
 * the atomic counters.
 */
#ifndef BD_WORKER_H
#define BD_WORKER_H

#include <pthread.h>

#include <atomic>
#include <string>
#include <vector>

#include "core/bd_module.h"
#include "core/bd_snapshot.h"

struct event_base;
struct event;
struct evhttp;
struct evhttp_bound_socket;

struct bd_worker_listener_t {
    std::string key; /* bd_listen_t.text */
    int fd;
    bool ssl;
    struct evhttp_bound_socket *bound; /* owns fd once bound */
};

enum bd_msg_type_e {
    BD_MSG_ADOPT = 1, /* switch to <snap>, reconcile listeners */
    BD_MSG_DRAIN,     /* close listeners, answer with Connection: close */
    BD_MSG_STOP,      /* leave the event loop */
    BD_MSG_CALL,      /* run fn(w, arg) on the worker */
};

struct bd_msg_t {
    int type;
    bd_snapshot_t *snap;                         /* ADOPT: one reference, handed over */
    std::vector<bd_worker_listener_t> listeners; /* ADOPT: the complete wanted set; fd -1 = keep */
    void (*fn)(bd_worker_t *w, void *arg);       /* CALL */
    void *arg;
};

/* Runs when the worker is told to stop, before its connections close (see
 * bd_worker_on_stop). */
typedef void (*bd_worker_stop_pt)(bd_worker_t *w, void *arg);

struct bd_worker_stop_hook_t {
    bd_worker_stop_pt fn;
    void *arg;
};

struct bd_worker_t {
    int id;
    pthread_t thread;
    bool started; /* its thread runs: a failed start joins none */
    bd_process_t *process;
    struct event_base *base;
    struct evhttp *http;  /* plain listeners */
    struct evhttp *https; /* TLS listeners */
    bd_snapshot_t *snap;  /* current; requests take their own reference */
    std::vector<bd_worker_listener_t> listeners;

    int mailbox_fd; /* eventfd */
    struct event *mailbox_ev;
    pthread_mutex_t mailbox_lock; /* guards mailbox */
    std::vector<bd_msg_t> mailbox;

    bool draining;
    std::atomic<bool> listeners_closed; /* DRAIN handled: no new connection can arrive */
    /* A request moves from reading to active to flushing; each count is raised
     * before the one before it is lowered, so a drain that reads them in that order
     * never sees a request in none of them. */
    std::atomic<int> reading;      /* connections part-way through a request's head or body */
    std::atomic<int> active;       /* requests in flight */
    std::atomic<int> flushing;     /* finished responses still being written out */
    /* Set by the drain once it found nothing in flight, just before it exits. A request
     * whose head begins after it would be cut by the exit: the edge refuses it instead,
     * before anything starts (bd_http_edge.cc). The drain sets it, then counts again;
     * the edge raises reading, then reads it; all four sequentially consistent, so
     * one of the two always sees the other. */
    std::atomic<bool> leaving;
    std::atomic<int> streams;      /* responses streaming (started, not finalized) */
    std::atomic<uint64_t> served;  /* requests finalized */
    uint64_t rng[2];               /* request ids; this thread only */

    std::vector<bd_worker_stop_hook_t> stop_hooks; /* this thread only */
    struct event *stop_ev;                         /* the bounded flush after STOP */
    int64_t stop_deadline_us;

    void *module_ctx[BD_MAX_MODULES];
};

/* Creates worker <id> on the main thread with its own event_base; the worker takes
 * <snap> (one reference). */
bd_worker_t *bd_worker_create(bd_process_t *p, int id, bd_snapshot_t *snap);

/* Starts the thread; listeners arrive by an ADOPT message. */
void bd_worker_start(bd_worker_t *w);

/* Queues <msg> for the worker and wakes it (any thread). */
void bd_worker_post(bd_worker_t *w, bd_msg_t *msg);

/* Waits for the thread to end and frees the worker (main thread, after STOP). */
void bd_worker_join_destroy(bd_worker_t *w);

/* Registers <fn>(w, <arg>) to run when the worker is told to stop, while its event
 * loop still runs: requests still in flight then (a stop past shutdown_timeout) end
 * there in their own words rather than with a cut connection. The worker then gives
 * what they wrote up to a second to reach the clients. Worker thread (init_worker). */
void bd_worker_on_stop(bd_worker_t *w, bd_worker_stop_pt fn, void *arg);

/* A fresh request id "req_" + 24 base62 characters (worker thread). */
void bd_worker_request_id(bd_worker_t *w, char *out, size_t len);

#endif
