/*
 * bd_metrics_listen.cc: `metrics_listen ADDR:PORT;`, a listener of its own for
 * GET /metrics (and /health, /ready), so that a load balancer's target port never
 * carries the metrics: with it set, the main listeners answer /metrics with 404.
 * Nothing else is served there. The main thread binds one plain socket at start
 * (an address taken by anyone is an error then); every worker accepts on a
 * duplicate of it with a small evhttp of its own, so a scrape reads the
 * worker's current snapshot (metrics_allow applies, to the peer address: no
 * proxy stands in front of this port). The address takes effect at the next
 * restart; it stays open while draining so the last numbers can be scraped.
 */
#include "modules/metrics/bd_metrics_int.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/util.h>

#include "core/bd_log.h"
#include "core/bd_process.h"
#include "core/bd_side_listen.h"
#include "core/bd_worker.h"

const char *
bd_metrics_set_listen(bd_conf_ctx_t *cf, const bd_conf_node_t *node, const bd_directive_t *,
                      void *conf)
{
    return bd_side_listen_parse(cf, "metrics_listen", node->args[1],
                                &((bd_metrics_conf_t *)conf)->listen);
}

/* The metrics_listen the process started with ("" for none); null before the start.
 * Main thread only. */
static std::string *bd_metrics_running_listen;

bool
bd_metrics_listen_owns_metrics(const bd_metrics_conf_t *c)
{
    if (bd_metrics_running_listen == nullptr) {
        return !c->listen.text.empty();
    }
    /* A changed metrics_listen (BD_ARGS_RESTART) is logged by the reload. */
    return !bd_metrics_running_listen->empty();
}

int
bd_metrics_listen_open(bd_metrics_process_t *mp, const bd_metrics_conf_t *c)
{
    mp->listen_fd = -1;
    delete bd_metrics_running_listen;
    bd_metrics_running_listen = new std::string(c->listen.text);
    if (c->listen.text.empty()) {
        return 0;
    }
    int fd = bd_side_listen_bind("metrics_listen", "/metrics", &c->listen);
    if (fd < 0) {
        return -1;
    }
    mp->listen_fd = fd;
    return 0;
}

static void
bd_metrics_listen_on_request(struct evhttp_request *req, void *arg) noexcept
{
    bd_worker_t *w = (bd_worker_t *)arg;
    const char *uri = evhttp_request_get_uri(req);
    std::string path(uri, strcspn(uri, "?"));
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    static const std::string not_found =
        "{\"type\":\"error\",\"error\":{\"type\":\"not_found_error\",\"message\":\"Not Found\"}}";
    if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
        bd_side_listen_reply(req, 405, "Method Not Allowed", "application/json",
                                "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\","
                                "\"message\":\"Method Not Allowed\"}}");
        return;
    }
    if (path == "/health") {
        bd_side_listen_reply(req, 200, "OK", "application/json", "{\"status\":\"ok\"}");
        return;
    }
    if (path == "/ready") {
        char reason[256];
        int ready = bd_process_ready(w->process, reason, sizeof(reason));
        std::string body = ready ? "{\"status\":\"ready\",\"reason\":"
                                 : "{\"status\":\"not_ready\",\"reason\":";
        bd_json_append_string(&body, reason, strlen(reason));
        body.append("}");
        bd_side_listen_reply(req, ready ? 200 : 503, ready ? "OK" : "Service Unavailable",
                                "application/json", body);
        return;
    }
    char *peer = nullptr;
    ev_uint16_t port = 0;
    evhttp_connection_get_peer(evhttp_request_get_connection(req), &peer, &port);
    const bd_metrics_conf_t *c = (const bd_metrics_conf_t *)bd_snapshot_conf(w->snap,
                                                                             &bd_metrics_module);
    std::string out;
    if (path != "/metrics" || !c->enabled || peer == nullptr ||
        !bd_cidr_match(c->allow, peer) || bd_metrics_scrape(w->process, w->snap, &out) != 0) {
        bd_side_listen_reply(req, 404, "Not Found", "application/json", not_found);
        return;
    }
    bd_side_listen_reply(req, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", out);
}

int
bd_metrics_listen_worker(bd_metrics_process_t *mp, bd_worker_t *w)
{
    if (mp->listen_fd < 0) {
        return 0;
    }
    struct evhttp *http = evhttp_new(w->base);
    /* A duplicate in a worker's base (which batches its epoll changes) is safe only
     * because it is closed after that base's loop has ended: closed while the loop
     * runs, its registration would outlive it in epoll. */
    int fd = dup(mp->listen_fd);
    if (http == nullptr || fd < 0) {
        if (http != nullptr) {
            evhttp_free(http);
        }
        return -1;
    }
    evutil_make_socket_nonblocking(fd);
    evutil_make_socket_closeonexec(fd);
    evhttp_set_gencb(http, bd_metrics_listen_on_request, w);
    evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
                                         EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
    evhttp_set_max_body_size(http, 4096);
    evhttp_set_timeout(http, 30);
    if (evhttp_accept_socket_with_handle(http, fd) == nullptr) {
        close(fd);
        evhttp_free(http);
        return -1;
    }
    pthread_mutex_lock(&mp->lock);
    mp->listen_https.push_back({w, http});
    pthread_mutex_unlock(&mp->lock);
    return 0;
}

void
bd_metrics_listen_worker_exit(bd_metrics_process_t *mp, bd_worker_t *w)
{
    struct evhttp *http = nullptr;
    pthread_mutex_lock(&mp->lock);
    for (size_t i = 0; i < mp->listen_https.size(); i++) {
        if (mp->listen_https[i].first == w) {
            http = mp->listen_https[i].second;
            mp->listen_https.erase(mp->listen_https.begin() + (long)i);
            break;
        }
    }
    pthread_mutex_unlock(&mp->lock);
    if (http != nullptr) {
        evhttp_free(http); /* closes the duplicate and the open scrape connections */
    }
}

void
bd_metrics_listen_close(bd_metrics_process_t *mp)
{
    if (mp->listen_fd >= 0) {
        close(mp->listen_fd);
        mp->listen_fd = -1;
    }
    delete bd_metrics_running_listen;
    bd_metrics_running_listen = nullptr;
}
