/*
 * bd_anthropic_module.cc: the module's directives and routes, and the request
 * plumbing its handlers share (body parsing and model resolution, answered in the
 * Anthropic error shape; the mechanism is modules/models/bd_models_request).
 *
 *   anthropic_prefix /v1;          # where the Anthropic API is served
 *   sse_ping_interval 10s;         # ping on a silent stream (0 = never)
 */
#include "modules/anthropic/bd_anthropic_int.h"

#include <string.h>

#include "core/bd_http.h"
#include "core/bd_json.h"
#include "modules/models/bd_models_request.h"

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

/* {"type":"error","error":{"type","message"},"request_id"}: the Anthropic API's errors. */
static void
bd_anthropic_render_error(std::string *out, int, const char *type, const char *message,
                          const char *request_id)
{
    if (strcmp(type, BD_HTTP_QUOTA_ERROR) == 0) {
        type = "rate_limit_error"; /* Anthropic has no quota type: a 429 of its own kind */
    }
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

static const char *
bd_anthropic_postconfig(bd_snapshot_t *snap, void *conf)
{
    const bd_anthropic_conf_t *c = (const bd_anthropic_conf_t *)conf;
    const struct {
        const char *path;
        bool prefix;
        unsigned methods;
        bd_phase_handler_pt handler;
    } routes[] = {
        {"/messages", false, BD_METHOD_POST, bd_anthropic_messages},
        {"/messages/count_tokens", false, BD_METHOD_POST, bd_anthropic_count_tokens},
        {"/models", false, BD_METHOD_GET | BD_METHOD_HEAD, bd_anthropic_models_list},
        {"/models/", true, BD_METHOD_GET | BD_METHOD_HEAD, bd_anthropic_models_get},
    };
    /* The gateway speaks Anthropic's errors wherever no other API claims the path. */
    bd_snapshot_add_error_format(snap, "", bd_anthropic_render_error);
    bd_snapshot_add_error_format(snap, c->prefix + "/", bd_anthropic_render_error);
    for (const auto &rt : routes) {
        bd_route_t route = {c->prefix + rt.path, rt.prefix, rt.methods, BD_API_ANTHROPIC, false,
                            &bd_anthropic_module, rt.handler, nullptr};
        const char *rv = bd_snapshot_add_route(snap, route);
        if (rv != nullptr) {
            return rv;
        }
    }
    return nullptr;
}

json_t *
bd_anthropic_parse_body(bd_request_t *r)
{
    std::string msg;
    json_t *req = bd_models_request_body(r, "request body", &msg);
    if (req == nullptr) {
        bd_http_send_error(r, 400, "invalid_request_error", msg.c_str());
    }
    return req;
}

int
bd_anthropic_resolve_model(bd_request_t *r, json_t *req, bd_convert_model_t *out)
{
    json_t *model = json_object_get(req, "model");
    if (model == nullptr) {
        bd_http_send_error(r, 400, "invalid_request_error", "model: Field required");
        return BD_DONE;
    }
    const char *name = json_string_value(model);
    if (name == nullptr || name[0] == '\0') {
        bd_http_send_error(r, 400, "invalid_request_error",
                           "model: Input should be a valid string");
        return BD_DONE;
    }
    /* The output the client allows counts against its tokens per minute. */
    int64_t output_max = json_integer_value(json_object_get(req, "max_tokens"));
    int rc = bd_models_request_admit(r, name, output_max, out);
    if (rc == BD_DECLINED) {
        std::string msg = std::string("model: ") + name;
        bd_http_send_error(r, 404, "not_found_error", msg.c_str());
        return BD_DONE;
    }
    return rc;
}

bd_module_t bd_anthropic_module = {
    .name = "anthropic",
    .index = 0,
    .directives = bd_anthropic_directives,
    .create_conf = bd_anthropic_create_conf,
    .init_conf = bd_anthropic_init_conf,
    .postconfig = bd_anthropic_postconfig,
    .destroy_conf = bd_anthropic_destroy_conf,
    .init_process = nullptr,
    .exit_process = nullptr,
    .init_worker = nullptr,
    .exit_worker = nullptr,
    .access = nullptr,
    .log = nullptr,
    .ready = nullptr,
};
