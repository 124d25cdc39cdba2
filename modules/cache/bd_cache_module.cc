/*
 * bd_cache_module.cc: the response cache on the request path. ACCESS (after auth and
 * the rate limits) decides whether the request is cacheable (its model or its key has
 * the cache on, and it is deterministic: temperature 0 or `x-bedrockd-cache: on`),
 * answers a hit from the process's LRU, and otherwise asks the core to capture the
 * response; LOG keeps a complete answer. Worker threads; the LRU is the one shared
 * structure (bd_cache_lru.h).
 */
#include "modules/cache/bd_cache_module.h"

#include <fnmatch.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>
#include <jansson.h>

#include "core/bd_http.h"
#include "core/bd_log.h"
#include "core/bd_process.h"
#include "core/bd_request.h"
#include "core/bd_worker.h"
#include "modules/auth/bd_auth.h"
#include "modules/cache/bd_cache_canon.h"
#include "modules/cache/bd_cache_conf.h"
#include "modules/cache/bd_cache_ddb.h"
#include "modules/cache/bd_cache_lru.h"
#include "modules/dynamodb/bd_ddb_conf.h"
#include "modules/api/bd_api.h"
#include "modules/dynamodb/bd_ddb_module.h"

/* The process's cache: the LRU, and the cache table's thread (null without DynamoDB). */
struct bd_cache_process_t {
    bd_cache_lru_t lru;
    bd_cache_ddb_t *ddb;
};

/* A lookup in the cache table while its request waits (suspended in ACCESS). Freed by
 * the answer, which always comes; the request lets go of it (r = null) when it stops
 * waiting: on the timer, or when it is finalized. Worker thread. */
struct bd_cache_lookup_t {
    bd_request_t *r;
    struct event *timer;
    std::string model;
};

/* Per cacheable request. */
struct bd_cache_ctx_t {
    std::string key;
    bd_request_capture_t capture;
    bd_cache_lookup_t *lookup; /* while waiting for the table */
};

static bd_cache_process_t *
bd_cache_process(const bd_request_t *r)
{
    return (bd_cache_process_t *)r->w->process->module_ctx[bd_cache_module.index];
}

static bd_cache_lru_t *
bd_cache_lru(const bd_request_t *r)
{
    bd_cache_process_t *cp = bd_cache_process(r);
    return cp != nullptr ? &cp->lru : nullptr;
}

static const bd_cache_conf_t *
bd_cache_conf(const bd_request_t *r)
{
    return (const bd_cache_conf_t *)bd_snapshot_conf(r->snap, &bd_cache_module);
}

/* Model calls whose API route is cacheable (Anthropic messages, OpenAI chat). */
static bool
bd_cache_route_cacheable(const bd_request_t *r)
{
    const bd_api_req_t *q = bd_api_req(r);
    return q != nullptr && q->route->cacheable && r->method == BD_METHOD_POST;
}

static bool
bd_cache_model_listed(const bd_cache_conf_t *c, const char *model)
{
    for (const std::string &pattern : c->models) {
        if (fnmatch(pattern.c_str(), model, 0) == 0) {
            return true;
        }
    }
    return false;
}

/* The scope a request's answers are shared in: its key's alone unless the key names a
 * scope or the operator shares one for every key. */
static std::string
bd_cache_scope(const bd_request_t *r, const bd_cache_conf_t *c, const std::string &key_scope)
{
    if (!key_scope.empty()) {
        return "scope:" + key_scope;
    }
    if (c->scope == BD_CACHE_SCOPE_SHARED) {
        return "shared";
    }
    return "key:" + r->key_id;
}

static void
bd_cache_ctx_free(void *data)
{
    bd_cache_ctx_t *ctx = (bd_cache_ctx_t *)data;
    if (ctx->lookup != nullptr) {
        ctx->lookup->r = nullptr; /* the answer frees it */
    }
    delete ctx;
}

/* A hit: the answer as the first client got it, with zero Bedrock tokens. */
static int
bd_cache_reply(bd_request_t *r, const bd_cache_entry_t *e)
{
    r->cache_result = BD_CACHE_HIT;
    r->model_resolved = e->model_resolved;
    bd_http_header_out(r, BD_CACHE_HEADER, "hit");
    if (!e->stream) {
        bd_http_send(r, 200, "application/json", e->bytes.data(), e->bytes.size());
        return BD_DONE;
    }
    bd_http_stream_start(r, 200, "text/event-stream; charset=utf-8");
    bd_http_stream_write(r, e->bytes.data(), e->bytes.size());
    bd_http_stream_end(r);
    return BD_DONE;
}

static bd_cache_ctx_t *
bd_cache_ctx(bd_request_t *r, std::string *key)
{
    bd_cache_ctx_t *ctx = new bd_cache_ctx_t();
    ctx->key.swap(*key);
    ctx->capture.max = 0;
    ctx->capture.overflow = false;
    ctx->lookup = nullptr;
    r->ctx[bd_cache_module.index] = ctx;
    bd_request_add_cleanup(r, bd_cache_ctx_free, ctx);
    return ctx;
}

/* A miss or a bypass: the content handler runs; the core keeps the response's bytes. */
static int
bd_cache_capture(bd_request_t *r, int result)
{
    bd_cache_ctx_t *ctx = (bd_cache_ctx_t *)r->ctx[bd_cache_module.index];
    ctx->capture.max = bd_cache_conf(r)->max_entry;
    r->capture = &ctx->capture;
    r->cache_result = result;
    bd_http_header_out(r, BD_CACHE_HEADER, bd_cache_result_name(result));
    return BD_DECLINED;
}

/* A hit: the key may still be refused the model (a shared scope). */
static int
bd_cache_hit(bd_request_t *r, const std::string &model, const bd_cache_entry_t *e)
{
    r->model = model;
    if (bd_auth_check_model(r, model.c_str()) != BD_OK) {
        return BD_DONE;
    }
    return bd_cache_reply(r, e);
}

/* The request stops waiting for the table: the answer <e> (null: a miss or too late). */
static void
bd_cache_lookup_end(bd_cache_lookup_t *lk, bd_cache_entry_ref e)
{
    bd_request_t *r = lk->r;
    if (r == nullptr) {
        return;
    }
    lk->r = nullptr;
    bd_cache_ctx_t *ctx = (bd_cache_ctx_t *)r->ctx[bd_cache_module.index];
    ctx->lookup = nullptr;
    if (e == nullptr) {
        bd_request_resume(r, bd_cache_capture(r, BD_CACHE_MISS));
        return;
    }
    /* The next identical request on this task stays local. */
    bd_cache_lru(r)->put(ctx->key, e, bd_cache_conf(r)->size);
    bd_cache_hit(r, lk->model, e.get());
}

static void
bd_cache_lookup_found(bd_worker_t *, void *data, bd_cache_entry_ref e)
{
    bd_cache_lookup_t *lk = (bd_cache_lookup_t *)data;
    event_free(lk->timer);
    bd_cache_lookup_end(lk, std::move(e));
    delete lk;
}

static void
bd_cache_lookup_timeout(evutil_socket_t, short, void *arg) noexcept
{
    bd_cache_lookup_end((bd_cache_lookup_t *)arg, nullptr);
}

/* Not in this process: ask the cache table, and wait for it at most the lookup
 * timeout. */
static int
bd_cache_lookup(bd_request_t *r, bd_cache_ddb_t *ddb, const std::string &model)
{
    bd_cache_ctx_t *ctx = (bd_cache_ctx_t *)r->ctx[bd_cache_module.index];
    bd_cache_lookup_t *lk = new bd_cache_lookup_t();
    lk->r = r;
    lk->model = model;
    lk->timer = evtimer_new(r->w->base, bd_cache_lookup_timeout, lk);
    int64_t ms = bd_cache_conf(r)->lookup_timeout_ms;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    evtimer_add(lk->timer, &tv);
    ctx->lookup = lk;
    bd_cache_ddb_lookup(ddb, ctx->key, r->w, bd_cache_lookup_found, lk);
    return BD_AGAIN;
}

static int
bd_cache_access(bd_request_t *r)
{
    const bd_cache_conf_t *c = bd_cache_conf(r);
    if (bd_cache_lru(r) == nullptr || !bd_cache_route_cacheable(r)) {
        return BD_DECLINED;
    }
    const bd_key_t *k = bd_auth_key(r);
    int key_on = -1;
    std::string key_scope;
    if (k != nullptr) {
        bd_cache_key_attributes(k->metadata, &key_on, &key_scope);
    }
    if (key_on == 0 || (key_on < 0 && c->models.empty())) {
        return BD_DECLINED; /* off for this key, or on for no model: no parse */
    }
    const json_t *body = r->json; /* the MODEL phase's parse */
    const char *model = json_string_value(json_object_get(body, "model"));
    const char *opt_in = bd_request_header(r, BD_CACHE_HEADER);
    bool on = model != nullptr && (key_on == 1 || bd_cache_model_listed(c, model));
    bool deterministic = body != nullptr && (bd_cache_deterministic(body) ||
                                             (opt_in != nullptr && strcasecmp(opt_in, "on") == 0));
    if (!on || !deterministic) {
        return BD_DECLINED;
    }
    std::string canonical = bd_cache_canonical(body);
    const bd_api_req_t *q = bd_api_req(r);
    bd_json_slices_paste(q != nullptr ? &q->slices : nullptr, &canonical); /* the images count */
    std::string key = bd_cache_key(bd_cache_scope(r, c, key_scope), r->route->path, canonical);
    std::string model_name(model);

    if (bd_cache_control_bypass(bd_request_header(r, "cache-control"))) {
        bd_cache_ctx(r, &key);
        return bd_cache_capture(r, BD_CACHE_BYPASS);
    }
    bd_cache_entry_ref e = bd_cache_lru(r)->get(key, bd_wall_ms());
    if (e != nullptr) {
        return bd_cache_hit(r, model_name, e.get());
    }
    bd_cache_ctx(r, &key);
    bd_cache_ddb_t *ddb = bd_cache_process(r)->ddb;
    if (ddb != nullptr && c->dynamodb) {
        return bd_cache_lookup(r, ddb, model_name);
    }
    return bd_cache_capture(r, BD_CACHE_MISS);
}

/* Keeps a miss's answer when it is whole: a 200 without an error, and for a stream
 * one that ended as the API ends a stream. */
static int
bd_cache_log(bd_request_t *r)
{
    bd_cache_ctx_t *ctx = (bd_cache_ctx_t *)r->ctx[bd_cache_module.index];
    if (ctx == nullptr) {
        return BD_OK;
    }
    r->capture = nullptr;
    const bd_request_capture_t *cap = &ctx->capture;
    if (cap->overflow || cap->bytes.empty() || r->status != 200 || r->client_gone ||
        !r->error_type.empty() || !r->upstream_error.empty()) {
        return BD_OK;
    }
    if (r->streamed && !bd_cache_stream_complete(cap->bytes.data(), cap->bytes.size())) {
        return BD_OK;
    }
    const bd_cache_conf_t *c = bd_cache_conf(r);
    auto e = std::make_shared<bd_cache_entry_t>();
    e->stream = r->streamed;
    e->model_resolved = r->model_resolved;
    e->bytes = cap->bytes;
    e->expires_ms = bd_wall_ms() + c->ttl_ms;
    bd_cache_process_t *cp = bd_cache_process(r);
    if (cp->ddb != nullptr && c->dynamodb) {
        bd_cache_ddb_store(cp->ddb, ctx->key, e);
    }
    cp->lru.put(ctx->key, std::move(e), c->size);
    return BD_OK;
}

/* The LRU always; the cache table's thread when the dynamodb block is on (a change of
 * either takes effect at the next start, like the dynamodb block's). */
static int
bd_cache_init_process(bd_process_t *p)
{
    bd_cache_process_t *cp = new bd_cache_process_t();
    cp->ddb = nullptr;
    const bd_cache_conf_t *c = (const bd_cache_conf_t *)bd_snapshot_conf(p->snap, &bd_cache_module);
    const bd_ddb_conf_t *dc =
        (const bd_ddb_conf_t *)bd_snapshot_conf(p->snap, &bd_dynamodb_module);
    if (c->dynamodb && bd_ddb_conf_on(dc)) {
        std::string err;
        cp->ddb = bd_cache_ddb_start(dc, &err);
        if (cp->ddb == nullptr) {
            bd_log_error(BD_LOG_EMERG, nullptr, "response cache on DynamoDB: %s", err.c_str());
            delete cp;
            return BD_ERROR;
        }
    }
    p->module_ctx[bd_cache_module.index] = cp;
    return BD_OK;
}

static int
bd_cache_init_worker(bd_worker_t *w)
{
    bd_cache_process_t *cp = (bd_cache_process_t *)w->process->module_ctx[bd_cache_module.index];
    if (cp != nullptr && cp->ddb != nullptr) {
        bd_cache_ddb_worker(cp->ddb, w, true);
    }
    return BD_OK;
}

static void
bd_cache_exit_worker(bd_worker_t *w)
{
    bd_cache_process_t *cp = (bd_cache_process_t *)w->process->module_ctx[bd_cache_module.index];
    if (cp != nullptr && cp->ddb != nullptr) {
        bd_cache_ddb_worker(cp->ddb, w, false);
    }
}

static void
bd_cache_exit_process(bd_process_t *p)
{
    bd_cache_process_t *cp = (bd_cache_process_t *)p->module_ctx[bd_cache_module.index];
    if (cp != nullptr) {
        bd_cache_ddb_stop(cp->ddb);
        delete cp;
        p->module_ctx[bd_cache_module.index] = nullptr;
    }
}

bd_module_t bd_cache_module = {
    .name = "cache",
    .index = 0,
    .directives = bd_cache_directives,
    .create_conf = bd_cache_create_conf,
    .init_conf = bd_cache_init_conf,
    .postconfig = nullptr,
    .destroy_conf = bd_cache_destroy_conf,
    .init_process = bd_cache_init_process,
    .exit_process = bd_cache_exit_process,
    .init_worker = bd_cache_init_worker,
    .exit_worker = bd_cache_exit_worker,
    .access = bd_cache_access,
    .log = bd_cache_log,
    .ready = nullptr,
};
