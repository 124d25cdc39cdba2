/*
 * bd_anthropic_module.cc: the module's directives, and the API (modules/api): its
 * routes, its errors, and where its requests name their model.
 *
 *   anthropic_prefix /v1;          # where the Anthropic API is served
 *   sse_ping_interval 10s;         # ping on a silent stream (0 = never)
 */
#include "modules/anthropic/bd_anthropic_int.h"

#include <string.h>

#include "core/bd_http.h"
#include "core/bd_json.h"

static const bd_directive_t bd_anthropic_directives[] = {
    {"anthropic_prefix", "main", BD_ARGS_1, bd_conf_set_str, offsetof(bd_anthropic_conf_t, prefix),
     nullptr},
    {"sse_ping_interval", "main", BD_ARGS_1, bd_conf_set_duration,
     offsetof(bd_anthropic_conf_t, ping_interval_ms), nullptr},
    {nullptr, nullptr, 0, nullptr, 0, nullptr},
};

static void *
bd_anthropic_create_conf(void)
{
    bd_anthropic_conf_t *c = new bd_anthropic_conf_t();
    c->ping_interval_ms = -1;
    return c;
}

static void
bd_anthropic_destroy_conf(void *conf)
{
    delete (bd_anthropic_conf_t *)conf;
}

static const char *
bd_anthropic_init_conf(bd_snapshot_t *, void *conf)
{
    bd_anthropic_conf_t *c = (bd_anthropic_conf_t *)conf;
    if (c->ping_interval_ms < 0) {
        c->ping_interval_ms = 10000;
    }
    if (c->prefix.empty()) {
        c->prefix = "/v1";
    }
    while (c->prefix.size() > 1 && c->prefix.back() == '/') {
        c->prefix.pop_back();
    }
    if (c->prefix[0] != '/') {
        return "\"anthropic_prefix\" must start with \"/\"";
    }
    return nullptr;
}

bd_anthropic_conf_t *
bd_anthropic_conf(const bd_snapshot_t *snap)
{
    return (bd_anthropic_conf_t *)bd_snapshot_conf(snap, &bd_anthropic_module);
}

/* The Anthropic API's name for an error type. */
static const char *
bd_anthropic_error_type(int err)
{
    switch (err) {
    case BD_ERR_QUOTA:
        return "rate_limit_error"; /* Anthropic has no quota type: a 429 of its own kind */
    case BD_ERR_MODEL_NOT_FOUND:
        return "not_found_error";
    default:
        return bd_err_name(err);
    }
}

/* {"type":"error","error":{"type","message"},"request_id"}: the Anthropic API's errors. */
static void
bd_anthropic_render_error(std::string *out, int, int err, const char *message,
                          const char *request_id)
{
    const char *type = bd_anthropic_error_type(err);
    out->append("{\"type\":\"error\",\"error\":{\"type\":");
    bd_json_append_string(out, type, strlen(type));
    out->append(",\"message\":");
    bd_json_append_string(out, message, strlen(message));
    out->append("}");
    if (request_id != nullptr && request_id[0] != '\0') {
        out->append(",\"request_id\":");
        bd_json_append_string(out, request_id, strlen(request_id));
    }
    out->append("}");
}

static void
bd_anthropic_prefixes(const bd_snapshot_t *snap, std::vector<std::string> *out)
{
    out->push_back(bd_anthropic_conf(snap)->prefix);
}

/* body.model, and the output the client allows (it counts against tokens per minute). */
static int
bd_anthropic_model(bd_request_t *r, bd_api_model_ask_t *ask, int *status, std::string *msg)
{
    json_t *model = json_object_get(r->json, "model");
    const char *name = json_string_value(model);
    *status = 400;
    if (model == nullptr) {
        *msg = "model: Field required";
        return -1;
    }
    if (name == nullptr || name[0] == '\0') {
        *msg = "model: Input should be a valid string";
        return -1;
    }
    ask->name = name;
    ask->output_max = json_integer_value(json_object_get(r->json, "max_tokens"));
    return 0;
}

static void
bd_anthropic_fail(bd_request_t *r, int kind, int status, const std::string &name, const char *msg)
{
    if (kind == BD_API_FAIL_UNKNOWN_MODEL) {
        bd_http_send_error(r, 404, BD_ERR_NOT_FOUND, ("model: " + name).c_str());
        return;
    }
    bd_http_send_error(r, status, bd_err_of_status(status), msg);
}

static const bd_api_route_t bd_anthropic_routes[] = {
    {"/messages", false, BD_METHOD_POST, true, nullptr, &bd_anthropic_messages_call, nullptr,
     true, BD_JSON_SLICE_MEDIA},
    {"/messages/count_tokens", false, BD_METHOD_POST, true, bd_anthropic_count_tokens, nullptr,
     nullptr},
    {"/models", false, BD_METHOD_GET | BD_METHOD_HEAD, false, bd_anthropic_models_list, nullptr,
     nullptr},
    {"/models/", true, BD_METHOD_GET | BD_METHOD_HEAD, false, bd_anthropic_models_get, nullptr,
     nullptr},
    {nullptr, false, 0, false, nullptr, nullptr, nullptr},
};

/* The gateway speaks Anthropic's errors wherever no other API claims the path. */
const bd_api_t bd_anthropic_api = {
    "anthropic",       bd_anthropic_routes, bd_anthropic_prefixes, bd_anthropic_render_error,
    true,              nullptr,             "request body",        false,
    bd_anthropic_model, bd_anthropic_fail,  true,
};

bd_module_t bd_anthropic_module = {
    .name = "anthropic",
    .index = 0,
    .directives = bd_anthropic_directives,
    .create_conf = bd_anthropic_create_conf,
    .init_conf = bd_anthropic_init_conf,
    .postconfig = nullptr,
    .destroy_conf = bd_anthropic_destroy_conf,
    .init_process = nullptr,
    .exit_process = nullptr,
    .init_worker = nullptr,
    .exit_worker = nullptr,
    .access = nullptr,
    .log = nullptr,
    .ready = nullptr,
};
