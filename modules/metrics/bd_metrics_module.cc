/*
 * bd_metrics_module.cc: the metrics module: its directives, GET /metrics (for
 * the addresses metrics_allow names; everyone else gets the 404 of a path that
 * does not exist), and the LOG handler that counts every finished request in
 * the worker's slot. Slots are made by each worker at start and freed by the
 * main thread after every worker has joined, so a scrape never sees one vanish.
 * Workers themselves go away earlier (one is freed while another may still be
 * scraping at stop): each leaves the live list under the lock before it ends,
 * and a scrape reads the workers' counters under that lock.
 *
 *   metrics on;                       # serve GET /metrics
 *   metrics_allow 127.0.0.1/8 ::1;    # who may scrape (ranges, or `all`)
 *   metrics_listen 0.0.0.0:9100;      # a listener of its own (bd_metrics_listen.cc)
 */
#include "modules/metrics/bd_metrics_int.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "core/bd_http.h"
#include "core/bd_log.h"
#include "core/bd_process.h"
#include "core/bd_worker.h"

static const char *
bd_metrics_set_allow(bd_conf_ctx_t *cf, const bd_conf_node_t *node, const bd_directive_t *d,
                     void *conf)
{
    bd_metrics_conf_t *c = (bd_metrics_conf_t *)conf;
    (void)d;
    for (size_t i = 1; i < node->args.size(); i++) {
        const std::string &arg = node->args[i];
        bd_cidr_t range;
        if (arg == "all") {
            bd_cidr_parse("0.0.0.0/0", &range);
            c->allow.push_back(range);
            bd_cidr_parse("::/0", &range);
        } else if (bd_cidr_parse(arg.c_str(), &range) != 0) {
            cf->errbuf = "invalid address range \"" + arg + "\" in \"metrics_allow\" directive";
            return cf->errbuf.c_str();
        }
        c->allow.push_back(range);
    }
    c->allow_set = true;
    return nullptr;
}

static const bd_directive_t bd_metrics_directives[] = {
    {"metrics", "main", BD_ARGS_1, bd_conf_set_flag, offsetof(bd_metrics_conf_t, enabled),
     nullptr},
    {"metrics_allow", "main", BD_ARGS_1_OR_MORE | BD_ARGS_MULTI, bd_metrics_set_allow, 0, nullptr},
    {"metrics_listen", "main", BD_ARGS_1 | BD_ARGS_RESTART, bd_metrics_set_listen, 0, nullptr},
    {nullptr, nullptr, 0, nullptr, 0, nullptr},
};

static void *
bd_metrics_create_conf(void)
{
    bd_metrics_conf_t *c = new bd_metrics_conf_t();
    c->enabled = true;
    c->allow_set = false;
    c->listen.addr_len = 0;
    return c;
}

static void
bd_metrics_destroy_conf(void *conf)
{
    delete (bd_metrics_conf_t *)conf;
}

static const char *
bd_metrics_init_conf(bd_snapshot_t *, void *conf)
{
    bd_metrics_conf_t *c = (bd_metrics_conf_t *)conf;
    if (!c->allow_set) {
        bd_cidr_t range;
        bd_cidr_parse("127.0.0.0/8", &range);
        c->allow.push_back(range);
        bd_cidr_parse("::1", &range);
        c->allow.push_back(range);
    }
    return nullptr;
}

static bd_metrics_process_t *
bd_metrics_process(bd_process_t *p)
{
    return (bd_metrics_process_t *)p->module_ctx[bd_metrics_module.index];
}

int
bd_metrics_read(bd_process_t *p, bd_metrics_merged_t *merged, bd_metrics_live_t *live)
{
    bd_metrics_process_t *mp = bd_metrics_process(p);
    if (mp == nullptr) {
        return -1;
    }
    *live = {0, 0, 0, 0, 0};
    pthread_mutex_lock(&mp->lock);
    std::vector<bd_metrics_slot_t *> slots = mp->slots;
    for (bd_worker_t *w : mp->workers) {
        live->reading += w->reading.load(std::memory_order_relaxed);
        live->active += w->active.load(std::memory_order_relaxed);
        live->flushing += w->flushing.load(std::memory_order_relaxed);
        live->streams += w->streams.load(std::memory_order_relaxed);
    }
    live->workers = (int64_t)mp->workers.size();
    pthread_mutex_unlock(&mp->lock);
    bd_metrics_collect(slots.data(), slots.size(), merged);
    return 0;
}

int
bd_metrics_scrape(bd_process_t *p, const bd_snapshot_t *snap, std::string *out)
{
    bd_metrics_live_t live;
    bd_metrics_merged_t merged;
    if (bd_metrics_read(p, &merged, &live) != 0) {
        return -1;
    }
    out->reserve(16384);
    bd_metrics_render(&merged, out);
    bd_metrics_render_gauges(p, snap, &live, bd_metrics_process(p)->start_ms, out);
    return 0;
}

static int
bd_metrics_on_scrape(bd_request_t *r)
{
    const bd_metrics_conf_t *c =
        (const bd_metrics_conf_t *)bd_snapshot_conf(r->snap, &bd_metrics_module);
    std::string out;
    if (!bd_cidr_match(c->allow, r->client_addr.c_str()) ||
        bd_metrics_scrape(r->w->process, r->snap, &out) != 0) {
        bd_http_send_error(r, 404, BD_ERR_NOT_FOUND, "Not Found");
        return BD_DONE;
    }
    bd_http_send(r, 200, "text/plain; version=0.0.4; charset=utf-8", out.data(), out.size());
    return BD_DONE;
}

static const char *
bd_metrics_postconfig(bd_snapshot_t *snap, void *conf)
{
    const bd_metrics_conf_t *c = (const bd_metrics_conf_t *)conf;
    if (!c->enabled || bd_metrics_listen_owns_metrics(c)) {
        return nullptr; /* no route: /metrics is a 404 like any unknown path */
    }
    bd_route_t route = {"/metrics", false, BD_METHOD_GET | BD_METHOD_HEAD, nullptr, true,
                        &bd_metrics_module, bd_metrics_on_scrape, nullptr};
    return bd_snapshot_add_route(snap, route);
}

static int
bd_metrics_init_process(bd_process_t *p)
{
    bd_metrics_process_t *mp = new bd_metrics_process_t();
    pthread_mutex_init(&mp->lock, nullptr);
    mp->start_ms = bd_wall_ms();
    p->module_ctx[bd_metrics_module.index] = mp;
    const bd_metrics_conf_t *c =
        (const bd_metrics_conf_t *)bd_snapshot_conf(p->snap, &bd_metrics_module);
    return bd_metrics_listen_open(mp, c) == 0 ? BD_OK : BD_ERROR;
}

static void
bd_metrics_exit_process(bd_process_t *p)
{
    bd_metrics_process_t *mp = bd_metrics_process(p);
    if (mp == nullptr) {
        return;
    }
    bd_metrics_listen_close(mp);
    for (bd_metrics_slot_t *s : mp->slots) {
        bd_metrics_slot_destroy(s);
    }
    pthread_mutex_destroy(&mp->lock);
    delete mp;
    p->module_ctx[bd_metrics_module.index] = nullptr;
}

static int
bd_metrics_init_worker(bd_worker_t *w)
{
    bd_metrics_process_t *mp = bd_metrics_process(w->process);
    bd_metrics_slot_t *s = bd_metrics_slot_create(BD_METRICS_MAX_SERIES);
    pthread_mutex_lock(&mp->lock);
    mp->slots.push_back(s);
    mp->workers.push_back(w);
    pthread_mutex_unlock(&mp->lock);
    w->module_ctx[bd_metrics_module.index] = s;
    if (bd_metrics_listen_worker(mp, w) != 0) {
        bd_log_error(BD_LOG_EMERG, nullptr, "worker %d: cannot accept on metrics_listen", w->id);
        return BD_ERROR;
    }
    return BD_OK;
}

/* The slot stays (its counts are the process's); the worker leaves the list. */
static void
bd_metrics_exit_worker(bd_worker_t *w)
{
    bd_metrics_process_t *mp = bd_metrics_process(w->process);
    bd_metrics_listen_worker_exit(mp, w);
    pthread_mutex_lock(&mp->lock);
    for (size_t i = 0; i < mp->workers.size(); i++) {
        if (mp->workers[i] == w) {
            mp->workers.erase(mp->workers.begin() + (long)i);
            break;
        }
    }
    pthread_mutex_unlock(&mp->lock);
}

static bd_metrics_label_t
bd_metrics_label(const std::string &s)
{
    return {s.data(), s.size()};
}

static bd_metrics_label_t
bd_metrics_label(const char *s)
{
    return {s, strlen(s)};
}

/* Only names the model map resolved become label values: a client cannot grow
 * the series with made-up model names. No model named: an empty value. */
static bd_metrics_label_t
bd_metrics_model_label(const bd_request_t *r)
{
    if (!r->model_resolved.empty()) {
        return bd_metrics_label(r->model_resolved);
    }
    return bd_metrics_label(r->model.empty() ? "" : "unknown");
}

/* <family> {<first>, type} for each kind of token <r> used. */
static void
bd_metrics_count_tokens(bd_metrics_slot_t *s, int family, const bd_request_t *r,
                        bd_metrics_label_t first)
{
    const struct {
        const char *type;
        int64_t n;
    } tokens[] = {
        {"input", r->input_tokens},
        {"output", r->output_tokens},
        {"cache_read", r->cache_read_tokens},
        {"cache_write", r->cache_write_tokens},
    };
    for (const auto &t : tokens) {
        if (t.n > 0) {
            bd_metrics_label_t labels[2] = {first, bd_metrics_label(t.type)};
            bd_metrics_count(s, family, labels, (uint64_t)t.n);
        }
    }
}

static void
bd_metrics_count_upstream(bd_metrics_slot_t *s, const bd_request_t *r)
{
    if (r->upstream_operation.empty()) {
        return;
    }
    int64_t end = r->upstream_end_us != 0 ? r->upstream_end_us : r->end_us;
    bd_metrics_label_t op = bd_metrics_label(r->upstream_operation);
    bd_metrics_observe(s, BD_MF_UPSTREAM_DURATION, &op, end - r->upstream_us);
    if (r->upstream_attempts > 1) {
        bd_metrics_count(s, BD_MF_UPSTREAM_RETRIES, nullptr, (uint64_t)(r->upstream_attempts - 1));
    }
    if (!r->upstream_error.empty()) {
        bd_metrics_label_t type = bd_metrics_label(r->upstream_error);
        bd_metrics_count(s, BD_MF_UPSTREAM_ERRORS, &type, 1);
    }
}

/* Refusals of the ACCESS phase, told apart from upstream errors of the same
 * status: those carry the exception name in r->error_type, the gateway's own
 * refusals the Anthropic error type (or "rate_limited", as the ratelimit
 * module writes it). r->reject_reason names the limit or the auth failure. */
static void
bd_metrics_count_refusals(bd_metrics_slot_t *s, const bd_request_t *r)
{
    const char *why = bd_reject_name(r->reject_reason);
    const std::string &type = r->error_type;
    if (r->status == 429 && (type == "rate_limited" || type == "rate_limit_error")) {
        bd_metrics_label_t limit = bd_metrics_label(why[0] == '\0' ? "unknown" : why);
        bd_metrics_count(s, BD_MF_RATELIMIT_REJECTIONS, &limit, 1);
    } else if ((r->status == 401 && type == "authentication_error") ||
               (r->status == 403 && type == "permission_error")) {
        const char *fallback = r->status == 401 ? "unauthenticated" : "forbidden";
        bd_metrics_label_t reason = bd_metrics_label(why[0] == '\0' ? fallback : why);
        bd_metrics_count(s, BD_MF_AUTH_FAILURES, &reason, 1);
    }
}

static int
bd_metrics_log(bd_request_t *r)
{
    bd_metrics_slot_t *s = (bd_metrics_slot_t *)r->w->module_ctx[bd_metrics_module.index];
    if (s == nullptr) {
        return BD_OK;
    }
    char status[16];
    snprintf(status, sizeof(status), "%d", r->status);
    bd_metrics_label_t route = bd_metrics_label(r->route ? r->route->path.c_str() : "none");
    bd_metrics_label_t model = bd_metrics_model_label(r);
    bd_metrics_label_t labels[3] = {route, bd_metrics_label(status), model};
    bd_metrics_count(s, BD_MF_REQUESTS, labels, 1);
    bd_metrics_observe(s, BD_MF_REQUEST_DURATION, &route, r->end_us - r->start_us);
    if (r->streamed && r->first_byte_us != 0) {
        bd_metrics_observe(s, BD_MF_TTFT, &model, r->first_byte_us - r->start_us);
    }
    bd_metrics_count_tokens(s, BD_MF_TOKENS, r, model);
    if (!r->key_id.empty()) {
        bd_metrics_label_t key[2] = {bd_metrics_label(r->key_id), bd_metrics_label(status)};
        bd_metrics_count(s, BD_MF_KEY_REQUESTS, key, 1);
        bd_metrics_count_tokens(s, BD_MF_KEY_TOKENS, r, key[0]);
    }
    if (r->betas_dropped > 0) {
        bd_metrics_count(s, BD_MF_BETAS_DROPPED, &model, (uint64_t)r->betas_dropped);
    }
    bd_metrics_count_upstream(s, r);
    bd_metrics_count_refusals(s, r);
    if (r->cache_result != BD_CACHE_NONE) {
        bd_metrics_label_t result = bd_metrics_label(bd_cache_result_name(r->cache_result));
        bd_metrics_count(s, BD_MF_CACHE, &result, 1);
    }
    return BD_OK;
}

bd_module_t bd_metrics_module = {
    .name = "metrics",
    .index = 0,
    .directives = bd_metrics_directives,
    .create_conf = bd_metrics_create_conf,
    .init_conf = bd_metrics_init_conf,
    .postconfig = bd_metrics_postconfig,
    .destroy_conf = bd_metrics_destroy_conf,
    .init_process = bd_metrics_init_process,
    .exit_process = bd_metrics_exit_process,
    .init_worker = bd_metrics_init_worker,
    .exit_worker = bd_metrics_exit_worker,
    .access = nullptr,
    .log = bd_metrics_log,
    .ready = nullptr,
};
