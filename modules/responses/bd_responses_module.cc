/*
 * bd_responses_module.cc: the module's directive, and the API (modules/api): its routes
 * on every openai_prefix, in the OpenAI error envelope, and where its requests name their
 * model. Conf on the main thread, handlers on workers.
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

/* Served on the OpenAI API's prefixes, in its error envelope. */
static void
bd_responses_prefixes(const bd_snapshot_t *snap, std::vector<std::string> *out)
{
    *out = bd_openai_conf(snap)->prefixes;
}

/* body.model, and the output a response may produce (it counts against the key's
 * tokens per minute). */
static int
bd_responses_model(bd_request_t *r, bd_api_model_ask_t *ask, int *status, std::string *msg)
{
    if (bd_api_req(r)->route->call == nullptr) {
        return 0; /* GET and DELETE by id name no model */
    }
    const char *name = json_string_value(json_object_get(r->json, "model"));
    if (name == nullptr || name[0] == '\0') {
        *status = 400;
        *msg = "model: a model name is required";
        return -1;
    }
    ask->name = name;
    json_t *mt = json_object_get(r->json, "max_output_tokens");
    ask->output_max = json_is_integer(mt) ? json_integer_value(mt)
                                          : bd_openai_conf(r->snap)->default_max_tokens;
    return 0;
}

static const bd_api_route_t bd_responses_routes[] = {
    {"/responses", false, BD_METHOD_POST, true, bd_responses_create, &bd_responses_call,
     nullptr, false, BD_JSON_SLICE_DATA_URL},
    {"/responses/", true, BD_METHOD_GET | BD_METHOD_HEAD | BD_METHOD_DELETE, false,
     bd_responses_by_id, nullptr, nullptr, false},
    {nullptr, false, 0, false, nullptr, nullptr, nullptr, false},
};

const bd_api_t bd_responses_api = {
    "openai",           bd_responses_routes, bd_responses_prefixes, bd_openai_render_error,
    false,              "x-request-id",      "the request body",    false,
    bd_responses_model, bd_openai_fail,      false,
};

void
bd_responses_send_error(bd_request_t *r, int status, const char *type, const char *code,
                        const char *message)
{
    std::string body;
    bd_convert_openai_error_body(type, message, code, nullptr, &body);
    if (r->error_type.empty()) {
        r->error_type = type;
    }
    if (status == 429 || status == 503) {
        bd_http_header_out(r, "retry-after", "1"); /* the SDKs back off on this one */
    }
    bd_http_send(r, status, "application/json", body.data(), body.size());
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
    .postconfig = nullptr,
    .destroy_conf = bd_responses_destroy_conf,
    .init_process = nullptr,
    .exit_process = nullptr,
    .init_worker = bd_responses_init_worker,
    .exit_worker = bd_responses_exit_worker,
    .access = nullptr,
    .log = nullptr,
    .ready = nullptr,
};
