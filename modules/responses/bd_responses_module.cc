/*
 * bd_responses_module.cc: the module's directive and routes. The Responses API is served
 * on every openai_prefix, so its errors take the OpenAI envelope the OpenAI module
 * registers for those prefixes. Conf on the main thread, handlers on workers.
 *
 *   responses_retention 30d;   # how long a stored response is kept (GET, previous_response_id)
 */
#include "modules/responses/bd_responses_int.h"

#include <string.h>

#include "core/bd_http.h"
#include "core/bd_worker.h"
#include "modules/convert/bd_convert_openai.h"
#include "modules/openai/bd_openai_int.h"

static const bd_directive_t bd_responses_directives[] = {
    {"responses_retention", "main", BD_ARGS_1, bd_conf_set_duration,
     offsetof(bd_responses_conf_t, retention_ms), nullptr},
    {nullptr, nullptr, 0, nullptr, 0, nullptr},
};

static void *
bd_responses_create_conf(void)
{
    bd_responses_conf_t *c = new bd_responses_conf_t();
    c->retention_ms = -1;
    return c;
}

static void
bd_responses_destroy_conf(void *conf)
{
    delete (bd_responses_conf_t *)conf;
}

static const char *
bd_responses_init_conf(bd_snapshot_t *, void *conf)
{
    bd_responses_conf_t *c = (bd_responses_conf_t *)conf;
    if (c->retention_ms < 0) {
        c->retention_ms = 30LL * 24 * 3600 * 1000;
    }
    if (c->retention_ms == 0) {
        return "\"responses_retention\" must be more than 0";
    }
    return nullptr;
}

const bd_responses_conf_t *
bd_responses_conf(const bd_request_t *r)
{
    return (const bd_responses_conf_t *)bd_snapshot_conf(r->snap, &bd_responses_module);
}

/* The OpenAI module's prefixes (its conf is initialised before any postconfig runs). */
static const char *
bd_responses_postconfig(bd_snapshot_t *snap, void *)
{
    for (const std::string &p : bd_openai_conf(snap)->prefixes) {
        /* errors the core answers (keys, limits, bodies) in OpenAI's envelope too, when
         * the prefix is shared with the Anthropic API */
        bd_snapshot_add_error_format(snap, p + "/responses", bd_openai_render_error);
        bd_route_t create = {p + "/responses",  false, BD_METHOD_POST, BD_API_OPENAI, false,
                             &bd_responses_module, bd_responses_create, nullptr};
        bd_route_t by_id = {p + "/responses/",
                            true,
                            BD_METHOD_GET | BD_METHOD_HEAD | BD_METHOD_DELETE,
                            BD_API_OPENAI,
                            false,
                            &bd_responses_module,
                            bd_responses_by_id,
                            nullptr};
        if (bd_snapshot_add_route(snap, create) != nullptr ||
            bd_snapshot_add_route(snap, by_id) != nullptr) {
            return "an \"openai_prefix\" path for the Responses API is already served by "
                   "another module";
        }
    }
    return nullptr;
}

void
bd_responses_send_error(bd_request_t *r, int status, const char *type, const char *code,
                        const char *message)
{
    bd_openai_send_error(r, status, type, code, message);
}

static int
bd_responses_init_worker(bd_worker_t *w)
{
    bd_responses_store_worker_add(w);
    return 0;
}

static void
bd_responses_exit_worker(bd_worker_t *w)
{
    bd_responses_store_worker_remove(w);
}

bd_module_t bd_responses_module = {
    .name = "responses",
    .index = 0,
    .directives = bd_responses_directives,
    .create_conf = bd_responses_create_conf,
    .init_conf = bd_responses_init_conf,
    .postconfig = bd_responses_postconfig,
    .destroy_conf = bd_responses_destroy_conf,
    .init_process = nullptr,
    .exit_process = nullptr,
    .init_worker = bd_responses_init_worker,
    .exit_worker = bd_responses_exit_worker,
    .access = nullptr,
    .log = nullptr,
    .ready = nullptr,
};
