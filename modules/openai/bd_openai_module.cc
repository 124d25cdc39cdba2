/*
 * bd_openai_module.cc: the module's directives and routes, and the request plumbing its
 * handlers share (OpenAI error envelope; body parsing and model resolution in OpenAI's
 * wording, over modules/models/bd_models_request). Conf on the main thread, handlers on
 * workers.
 *
 *   openai_prefix /v1 /api/v1;     # where the OpenAI API is served ("/" = bare paths)
 *   openai_default_max_tokens 4096; # max tokens when the client sets none
 *
 * A prefix shared with anthropic_prefix shares GET PREFIX/models[/{id}]: the Anthropic
 * module keeps the route, and requests that look like an OpenAI client's (Authorization:
 * Bearer, no x-api-key, no anthropic-version) get the OpenAI list shape instead.
 */
#include "modules/openai/bd_openai_int.h"

#include <string.h>

#include "core/bd_http.h"
#include "modules/models/bd_models_request.h"

static const bd_conf_bounds_t bd_openai_max_tokens_bounds = {1, 1000000};

static const bd_directive_t bd_openai_directives[] = {
    {"openai_prefix", "main", BD_ARGS_1_OR_MORE, bd_conf_set_str_list,
     offsetof(bd_openai_conf_t, prefixes), nullptr},
    {"openai_default_max_tokens", "main", BD_ARGS_1, bd_conf_set_int,
     offsetof(bd_openai_conf_t, default_max_tokens), &bd_openai_max_tokens_bounds},
    {nullptr, nullptr, 0, nullptr, 0, nullptr},
};

static void *
bd_openai_create_conf(void)
{
    bd_openai_conf_t *c = new bd_openai_conf_t();
    c->default_max_tokens = -1;
    return c;
}

static void
bd_openai_destroy_conf(void *conf)
{
    delete (bd_openai_conf_t *)conf;
}

static const char *
bd_openai_init_conf(bd_snapshot_t *, void *conf)
{
    bd_openai_conf_t *c = (bd_openai_conf_t *)conf;
    if (c->default_max_tokens < 0) {
        c->default_max_tokens = 4096;
    }
    if (c->prefixes.empty()) {
        c->prefixes.push_back("/v1");
    }
    for (std::string &p : c->prefixes) {
        if (p.empty() || p[0] != '/') {
            return "\"openai_prefix\" values must start with \"/\"";
        }
        while (!p.empty() && p.back() == '/') {
            p.pop_back(); /* "/" serves the bare paths: "/chat/completions" */
        }
    }
    for (size_t i = 0; i < c->prefixes.size(); i++) {
        for (size_t j = i + 1; j < c->prefixes.size(); j++) {
            if (c->prefixes[i] == c->prefixes[j]) {
                return "\"openai_prefix\" lists the same prefix twice";
            }
        }
    }
    return nullptr;
}

bd_openai_conf_t *
bd_openai_conf(const bd_snapshot_t *snap)
{
    return (bd_openai_conf_t *)bd_snapshot_conf(snap, &bd_openai_module);
}

/* An OpenAI SDK sends its key as a bearer token and no Anthropic headers; the Anthropic
 * SDKs always send anthropic-version. */
static bool
bd_openai_client_looks_openai(bd_request_t *r)
{
    const char *auth = bd_request_header(r, "authorization");
    return auth != nullptr && strncasecmp(auth, "Bearer ", 7) == 0 &&
           bd_request_header(r, "anthropic-version") == nullptr &&
           bd_request_header(r, "x-api-key") == nullptr;
}

/* GET PREFIX/models[/{id}] on a prefix the Anthropic API shares. */
static int
bd_openai_models_shared(bd_request_t *r)
{
    const bd_openai_conf_t *c = bd_openai_conf(r->snap);
    for (const auto &s : c->shared) {
        if (s.first != r->route->path) {
            continue;
        }
        if (!bd_openai_client_looks_openai(r)) {
            return s.second(r);
        }
        r->api = BD_API_OPENAI;
        r->render_error = bd_openai_render_error;
        return r->route->prefix ? bd_openai_models_get(r) : bd_openai_models_list(r);
    }
    return 404; /* not reached: every shared route is listed */
}

/* OpenAI's envelope uses its own type names (the SDKs pick error classes by status)
 * and codes for the types that have one. */
static const char *
bd_openai_error_type(const char *type)
{
    if (strcmp(type, "api_error") == 0 || strcmp(type, "overloaded_error") == 0 ||
        strcmp(type, "timeout_error") == 0) {
        return "server_error";
    }
    if (strcmp(type, "not_found_error") == 0 || strcmp(type, "request_too_large") == 0) {
        return "invalid_request_error";
    }
    return type;
}

static const char *
bd_openai_error_code(const char *type)
{
    if (strcmp(type, "authentication_error") == 0) {
        return "invalid_api_key";
    }
    if (strcmp(type, "rate_limit_error") == 0) {
        return "rate_limit_exceeded";
    }
    if (strcmp(type, BD_HTTP_QUOTA_ERROR) == 0) {
        return BD_HTTP_QUOTA_ERROR;
    }
    if (strcmp(type, "not_found_error") == 0) {
        return "not_found";
    }
    return nullptr;
}

void
bd_openai_render_error(std::string *out, int, const char *type, const char *message,
                       const char *)
{
    bd_convert_openai_error_body(bd_openai_error_type(type), message, bd_openai_error_code(type),
                                 nullptr, out);
}

/* Takes over an existing route of another module for PREFIX/models[/]; null when there
 * is none. */
static bd_route_t *
bd_openai_existing_route(bd_snapshot_t *snap, const std::string &path, bool prefix)
{
    for (bd_route_t &rt : snap->routes) {
        if (rt.path == path && rt.prefix == prefix) {
            return &rt;
        }
    }
    return nullptr;
}

static const char *
bd_openai_postconfig(bd_snapshot_t *snap, void *conf)
{
    bd_openai_conf_t *c = (bd_openai_conf_t *)conf;
    const struct {
        const char *path;
        bool prefix;
        unsigned methods;
        bd_phase_handler_pt handler;
    } routes[] = {
        {"/chat/completions", false, BD_METHOD_POST, bd_openai_chat},
        {"/embeddings", false, BD_METHOD_POST, bd_openai_embeddings},
        {"/models", false, BD_METHOD_GET | BD_METHOD_HEAD, bd_openai_models_list},
        {"/models/", true, BD_METHOD_GET | BD_METHOD_HEAD, bd_openai_models_get},
    };
    for (const std::string &p : c->prefixes) {
        bd_snapshot_add_error_format(snap, p + "/chat/", bd_openai_render_error);
        bd_snapshot_add_error_format(snap, p + "/embeddings", bd_openai_render_error);
        /* a prefix of its own (another API's was registered first, and stays) */
        bd_snapshot_add_error_format(snap, p + "/", bd_openai_render_error);
        for (const auto &rt : routes) {
            std::string path = p + rt.path;
            bd_route_t *old = bd_openai_existing_route(snap, path, rt.prefix);
            if (old != nullptr && strncmp(rt.path, "/models", 7) == 0 &&
                old->module != &bd_openai_module) {
                c->shared.emplace_back(path, old->handler);
                old->handler = bd_openai_models_shared;
                continue;
            }
            bd_route_t route = {path,  rt.prefix, rt.methods, BD_API_OPENAI, false,
                                &bd_openai_module, rt.handler, nullptr};
            const char *rv = bd_snapshot_add_route(snap, route);
            if (rv != nullptr) {
                return "an \"openai_prefix\" path is already served by another module";
            }
        }
    }
    return nullptr;
}

void
bd_openai_send_error(bd_request_t *r, int status, const char *type, const char *code,
                     const char *message)
{
    std::string body;
    bd_convert_openai_error_body(type, message, code, nullptr, &body);
    if (r->error_type.empty()) {
        r->error_type = type;
    }
    if (status == 429 || status == 503) {
        /* Bedrock's throttling carries no hint; the SDKs back off on this one */
        bd_http_header_out(r, "retry-after", "1");
    }
    bd_http_send(r, status, "application/json", body.data(), body.size());
}

void
bd_openai_send_json(bd_request_t *r, json_t *j)
{
    std::string body;
    bd_convert_json_dump(j, &body);
    json_decref(j);
    bd_http_send(r, 200, "application/json", body.data(), body.size());
}

json_t *
bd_openai_parse_body(bd_request_t *r)
{
    std::string msg;
    json_t *req = bd_models_request_body(r, "the request body", &msg);
    if (req == nullptr) {
        bd_openai_send_error(r, 400, "invalid_request_error", nullptr, msg.c_str());
    }
    return req;
}

int
bd_openai_resolve_model(bd_request_t *r, json_t *req, bd_convert_model_t *out, bool chat)
{
    const char *name = json_string_value(json_object_get(req, "model"));
    if (name == nullptr || name[0] == '\0') {
        bd_openai_send_error(r, 400, "invalid_request_error", nullptr,
                             "model: a model name is required");
        return BD_DONE;
    }
    /* The output a chat may produce counts against the key's tokens per minute
     * (embeddings have none). */
    json_t *mt = json_object_get(req, "max_completion_tokens");
    if (!json_is_integer(mt)) {
        mt = json_object_get(req, "max_tokens");
    }
    int64_t out_max = !chat                  ? 0
                      : json_is_integer(mt) ? json_integer_value(mt)
                                            : bd_openai_conf(r->snap)->default_max_tokens;
    int rc = bd_models_request_admit(r, name, out_max, out);
    if (rc == BD_DECLINED) {
        std::string msg = std::string("The model `") + name +
                          "` does not exist or you do not have access to it.";
        r->error_type = "not_found_error";
        bd_openai_send_error(r, 404, "invalid_request_error", "model_not_found", msg.c_str());
        return BD_DONE;
    }
    return rc;
}

void
bd_openai_upstream_error(const bd_bedrock_result_t *res, bd_convert_error_t *err)
{
    if (res->kind == BD_BEDROCK_NO_CREDENTIALS) {
        err->status = 503;
        err->type = "server_error";
        err->message = res->message;
        return;
    }
    /* transport failures carry a Bedrock-like name from the bedrock module */
    bd_convert_bedrock_exception_openai(res->error_name.c_str(), res->message.c_str(), err);
}

bd_module_t bd_openai_module = {
    .name = "openai",
    .index = 0,
    .directives = bd_openai_directives,
    .create_conf = bd_openai_create_conf,
    .init_conf = bd_openai_init_conf,
    .postconfig = bd_openai_postconfig,
    .destroy_conf = bd_openai_destroy_conf,
    .init_process = nullptr,
    .exit_process = nullptr,
    .init_worker = nullptr,
    .exit_worker = nullptr,
    .access = nullptr,
    .log = nullptr,
    .ready = nullptr,
};
