/*
 * bd_metrics_int.h: the metrics module's conf and process state, shared by its
 * files only (the module, and the listener of its own in bd_metrics_listen.cc).
 */
#ifndef BD_METRICS_INT_H
#define BD_METRICS_INT_H

#include <pthread.h>
#include <sys/socket.h>

#include <string>
#include <utility>
#include <vector>

#include "core/bd_conf.h"
#include "core/bd_json.h"
#include "core/bd_side_listen.h"
#include "modules/metrics/bd_metrics.h"

struct evhttp;

struct bd_metrics_conf_t {
    bool enabled;
    bool allow_set; /* a metrics_allow was given */
    std::vector<bd_cidr_t> allow;
    bd_side_listen_t listen; /* metrics_listen; text "" = the main listeners */
};

/* Process-wide: every worker's slot, and the workers still running. */
struct bd_metrics_process_t {
    pthread_mutex_t lock;                   /* guards <slots>, <workers>, <listen_https> */
    std::vector<bd_metrics_slot_t *> slots; /* one per worker; freed at exit_process */
    std::vector<bd_worker_t *> workers;     /* added at init_worker, removed at exit_worker */
    int64_t start_ms;                       /* wall clock */
    int listen_fd;                          /* metrics_listen socket, -1 without */
    std::vector<std::pair<bd_worker_t *, struct evhttp *>> listen_https; /* per worker */
};

/* The whole exposition text into <out>; -1 before the module started. Any worker. */
int bd_metrics_scrape(bd_process_t *p, const bd_snapshot_t *snap, std::string *out);

/* The `metrics_listen ADDR:PORT;` setter. */
const char *bd_metrics_set_listen(bd_conf_ctx_t *cf, const bd_conf_node_t *node,
                                  const bd_directive_t *d, void *conf);

/* Binds the metrics_listen socket of <c> (none without the directive): 0, or -1
 * logged (main thread, at start). */
int bd_metrics_listen_open(bd_metrics_process_t *mp, const bd_metrics_conf_t *c);

/* Starts accepting scrapes on worker <w> (its thread); 0 or -1. */
int bd_metrics_listen_worker(bd_metrics_process_t *mp, bd_worker_t *w);

/* Stops <w>'s scrape listener and its connections (its thread). */
void bd_metrics_listen_worker_exit(bd_metrics_process_t *mp, bd_worker_t *w);

/* Closes the socket (main thread, after the workers joined). */
void bd_metrics_listen_close(bd_metrics_process_t *mp);

/* Whether /metrics is served by a listener of its own under <c>: as <c> says before
 * the start, as the running process does after it (a reload does not move it; a
 * change is logged). Main thread. */
bool bd_metrics_listen_owns_metrics(const bd_metrics_conf_t *c);

#endif
