/*
 * bd_admin_module.cc: the admin module: its directives, and the admin thread's
 * life. The main thread binds admin_listen at start (like metrics_listen, it
 * takes effect at the next restart) and starts one thread with an event base
 * of its own that serves the console (bd_admin_http.cc) until the process
 * stops. It is listed before the store so that it stops before the store does:
 * an API call may wait for the store thread.
 */
#include "modules/admin/bd_admin_int.h"

#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/http.h>

#include "core/bd_core_module.h"
#include "core/bd_log.h"
#include "core/bd_thread.h"
#include "modules/dynamodb/ctl/bd_ctl_ddb.h"
#include "modules/store/bd_store_module.h"

/* `admin_listen ADDR:PORT;`, or a port alone for the loopback address. */
static const char *
bd_admin_set_listen(bd_conf_ctx_t *cf, const bd_conf_node_t *node, const bd_directive_t *,
                    void *conf)
{
    std::string text = node->args[1];
    if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos) {
        text = "127.0.0.1:" + text;
    }
    return bd_side_listen_parse(cf, "admin_listen", text, &((bd_admin_conf_t *)conf)->listen);
}

static const bd_directive_t bd_admin_directives[] = {
    {"admin_listen", "main", BD_ARGS_1 | BD_ARGS_RESTART, bd_admin_set_listen, 0, nullptr},
    {"admin_token", "main", BD_ARGS_3 | BD_ARGS_MULTI, bd_admin_set_token, 0, nullptr},
    {nullptr, nullptr, 0, nullptr, 0, nullptr},
};

static void *
bd_admin_create_conf(void)
{
    bd_admin_conf_t *c = new bd_admin_conf_t();
    c->listen.addr_len = 0;
    return c;
}

static void
bd_admin_destroy_conf(void *conf)
{
    delete (bd_admin_conf_t *)conf;
}

static int
bd_admin_port(const struct sockaddr_storage *a)
{
    return a->ss_family == AF_INET6 ? ntohs(((const struct sockaddr_in6 *)a)->sin6_port)
                                    : ntohs(((const struct sockaddr_in *)a)->sin_port);
}

/* The admin API never shares a port with the client listeners: a load balancer's
 * target group then cannot reach it by a listener's address. */
static const char *
bd_admin_postconfig(bd_snapshot_t *snap, void *conf)
{
    bd_admin_conf_t *c = (bd_admin_conf_t *)conf;
    static std::string msg;
    /* A changed admin_listen (BD_ARGS_RESTART) is logged by the reload. */
    if (c->listen.text.empty()) {
        return nullptr;
    }
    if (c->tokens.empty()) {
        return "\"admin_listen\" needs at least one \"admin_token\"";
    }
    int port = bd_admin_port(&c->listen.addr);
    for (const bd_listen_t &ls : bd_core_conf(snap)->listens) {
        if (port != 0 && bd_admin_port(&ls.addr) == port) {
            msg = "\"admin_listen " + c->listen.text + "\" uses the port of \"listen " + ls.text +
                  "\": the admin API needs a listener of its own";
            return msg.c_str();
        }
    }
    return nullptr;
}

static bd_admin_t *
bd_admin_get(bd_process_t *p)
{
    return (bd_admin_t *)p->module_ctx[bd_admin_module.index];
}

static void
bd_admin_on_stop(evutil_socket_t fd, short, void *arg)
{
    uint64_t n;
    if (read(fd, &n, sizeof(n)) < 0) {
        /* nothing to do: the loop ends either way */
    }
    event_base_loopbreak(((bd_admin_t *)arg)->base);
}

static void
bd_admin_on_sample(evutil_socket_t, short, void *arg)
{
    bd_admin_sample((bd_admin_t *)arg);
    bd_admin_audit_retry((bd_admin_t *)arg);
}

static void *
bd_admin_main(void *arg)
{
    bd_admin_t *a = (bd_admin_t *)arg;
    event_base_dispatch(a->base);
    return nullptr;
}

void bd_admin_on_request(struct evhttp_request *req, void *arg) noexcept;

/* Everything the thread uses, made before it starts: 0 or -1. */
static int
bd_admin_setup(bd_admin_t *a, int stop_fd)
{
    a->base = event_base_new();
    if (a->base == nullptr || (a->http = evhttp_new(a->base)) == nullptr) {
        return -1;
    }
    evhttp_set_gencb(a->http, bd_admin_on_request, a);
    evhttp_set_allowed_methods(a->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
                                            EVHTTP_REQ_PUT | EVHTTP_REQ_PATCH |
                                            EVHTTP_REQ_DELETE);
    evhttp_set_max_body_size(a->http, 65536);
    evhttp_set_timeout(a->http, 30);
    if (evhttp_accept_socket_with_handle(a->http, a->fd) == nullptr) {
        return -1;
    }
    a->fd = -1; /* the evhttp owns it now */
    a->stop_ev = event_new(a->base, stop_fd, EV_READ | EV_PERSIST, bd_admin_on_stop, a);
    a->sample_ev = event_new(a->base, -1, EV_PERSIST, bd_admin_on_sample, a);
    struct timeval period = {BD_ADMIN_SAMPLE_MS / 1000, 0};
    if (a->stop_ev == nullptr || a->sample_ev == nullptr || event_add(a->stop_ev, nullptr) != 0 ||
        event_add(a->sample_ev, &period) != 0) {
        return -1;
    }
    return 0;
}

static int
bd_admin_init_process(bd_process_t *p)
{
    const bd_admin_conf_t *c = (const bd_admin_conf_t *)bd_snapshot_conf(p->snap, &bd_admin_module);
    if (c->listen.text.empty()) {
        return BD_OK;
    }
    bd_admin_t *a = new bd_admin_t();
    a->p = p;
    a->db = nullptr;
    a->started = false;
    p->module_ctx[bd_admin_module.index] = a;
    a->fd = bd_side_listen_bind("admin_listen", "the admin API and status page", &c->listen);
    int stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (a->fd < 0 || stop_fd < 0 || bd_admin_setup(a, stop_fd) != 0) {
        bd_log_error(BD_LOG_EMERG, nullptr, "admin_listen: cannot serve on %s",
                     c->listen.text.c_str());
        if (stop_fd >= 0) {
            close(stop_fd);
        }
        return BD_ERROR;
    }
    a->db_path = bd_store_conf_path(p->snap);
    if (bd_thread_create(&a->thread, bd_admin_main, a) != 0) {
        return BD_ERROR;
    }
    a->started = true;
    return BD_OK;
}

static void
bd_admin_exit_process(bd_process_t *p)
{
    bd_admin_t *a = bd_admin_get(p);
    if (a == nullptr) {
        return;
    }
    if (a->started) {
        uint64_t one = 1;
        if (write(event_get_fd(a->stop_ev), &one, sizeof(one)) < 0) {
            bd_log_error(BD_LOG_ERR, nullptr, "admin: cannot stop the admin thread");
        }
        pthread_join(a->thread, nullptr);
    }
    if (a->stop_ev != nullptr) {
        close(event_get_fd(a->stop_ev));
        event_free(a->stop_ev);
    }
    if (a->sample_ev != nullptr) {
        event_free(a->sample_ev);
    }
    if (a->http != nullptr) {
        evhttp_free(a->http);
    }
    if (a->fd >= 0) {
        close(a->fd);
    }
    if (a->base != nullptr) {
        event_base_free(a->base);
    }
    bd_store_close(a->db);
    bd_ctl_ddb_close(a->ddb);
    delete a;
    p->module_ctx[bd_admin_module.index] = nullptr;
}

bd_module_t bd_admin_module = {
    .name = "admin",
    .index = 0,
    .directives = bd_admin_directives,
    .create_conf = bd_admin_create_conf,
    .init_conf = nullptr,
    .postconfig = bd_admin_postconfig,
    .destroy_conf = bd_admin_destroy_conf,
    .init_process = bd_admin_init_process,
    .exit_process = bd_admin_exit_process,
    .init_worker = nullptr,
    .exit_worker = nullptr,
    .access = nullptr,
    .log = nullptr,
    .ready = nullptr,
    .ready_json = nullptr,
    .metrics = nullptr,
};
