/*
 * bd_usage_module.cc: usage records. ACCESS notes who the request is for (the user
 * id the MODEL phase took from the body, the session id from a header) while the
 * headers are still there; LOG, which runs for every request including client aborts, builds
 * the record from the request's final counts and queues it to the store thread.
 * Worker threads; nothing here touches the disk.
 */
#include "modules/usage/bd_usage_module.h"

#include <string.h>

#include "core/bd_process.h"
#include "core/bd_request.h"
#include "core/bd_worker.h"
#include "modules/api/bd_api.h"
#include "modules/store/bd_store_module.h"

struct bd_usage_conf_t {
    bool on;
};

/* Per request, only when there is something to remember. */
struct bd_usage_ctx_t {
    std::string session_id;
};

static const bd_directive_t bd_usage_directives[] = {
    {"usage", "main", BD_ARGS_1, bd_conf_set_flag, offsetof(bd_usage_conf_t, on), nullptr},
    {nullptr, nullptr, 0, nullptr, 0, nullptr},
};

static void *
bd_usage_create_conf(void)
{
    return new bd_usage_conf_t{true};
}

static void
bd_usage_destroy_conf(void *conf)
{
    delete (bd_usage_conf_t *)conf;
}

static bool
bd_usage_enabled(const bd_request_t *r)
{
    const bd_usage_conf_t *c = (const bd_usage_conf_t *)bd_snapshot_conf(r->snap, &bd_usage_module);
    return c->on && bd_store_get(r->w->process) != nullptr;
}

static int
bd_usage_access(bd_request_t *r)
{
    if (!bd_usage_enabled(r)) {
        return BD_DECLINED;
    }
    const char *session = bd_request_header(r, "x-claude-code-session-id");
    if (session == nullptr) {
        session = bd_request_header(r, "x-session-id");
    }
    if (session == nullptr) {
        return BD_DECLINED;
    }
    bd_usage_ctx_t *ctx = bd_request_arena_new<bd_usage_ctx_t>(r);
    ctx->session_id.assign(session, strnlen(session, BD_API_USER_MAX));
    r->ctx[bd_usage_module.index] = ctx;
    return BD_DECLINED;
}

static void
bd_usage_fill(const bd_request_t *r, bd_usage_record_t *u)
{
    u->time_ms = bd_wall_ms();
    u->request_id = r->id;
    u->key_id = r->key_id;
    u->model = r->model;
    u->model_resolved = r->model_resolved;
    u->served_by = r->upstream_target;
    u->api = r->api != nullptr ? r->api->name : "";
    u->route = r->path;
    u->status = r->status;
    u->input_tokens = r->input_tokens;
    u->output_tokens = r->output_tokens;
    u->cache_read_tokens = r->cache_read_tokens;
    u->cache_write_tokens = r->cache_write_tokens;
    u->latency_ms = (r->end_us - r->start_us) / 1000;
    u->ttft_ms = r->first_byte_us != 0 ? (r->first_byte_us - r->start_us) / 1000 : -1;
    u->streamed = r->streamed;
    u->client_gone = r->client_gone;
    u->cached = r->cache_result == BD_CACHE_HIT;
    u->user_id = r->user_id;
    const bd_usage_ctx_t *ctx = (const bd_usage_ctx_t *)r->ctx[bd_usage_module.index];
    if (ctx != nullptr) {
        u->session_id = ctx->session_id;
    }
}

static int
bd_usage_log(bd_request_t *r)
{
    /* Public routes (health) and refused credentials are not usage. */
    if (r->route == nullptr || r->route->is_public || r->status == 401 || !bd_usage_enabled(r)) {
        return BD_OK;
    }
    bd_usage_record_t u;
    bd_usage_fill(r, &u);
    bd_store_usage_post(bd_store_get(r->w->process), &u);
    return BD_OK;
}

bd_module_t bd_usage_module = {
    .name = "usage",
    .index = 0,
    .directives = bd_usage_directives,
    .create_conf = bd_usage_create_conf,
    .init_conf = nullptr,
    .postconfig = nullptr,
    .destroy_conf = bd_usage_destroy_conf,
    .init_process = nullptr,
    .exit_process = nullptr,
    .init_worker = nullptr,
    .exit_worker = nullptr,
    .access = bd_usage_access,
    .log = bd_usage_log,
    .ready = nullptr,
};
