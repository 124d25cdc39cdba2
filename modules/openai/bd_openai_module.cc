/*
 * bd_openai_module.cc: the module's directives, and the API (modules/api): its routes,
 * its error envelope, and where its requests name their model. Conf on the main thread,
 * the rest on workers.
 *
 *   openai_prefix /v1 /api/v1;     # where the OpenAI API is served ("/" = bare paths)
 *   openai_default_max_tokens 4096; # max tokens when the client sets none
 *
 * A prefix shared with anthropic_prefix shares GET PREFIX/models[/{id}]: requests that
 * look like an OpenAI client's (Authorization: Bearer, no x-api-key, no
 * anthropic-version) are the OpenAI API's, the others the Anthropic API's.
 */
#include "modules/openai/bd_openai_int.h"

#include <string.h>

#include "core/bd_http.h"

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

/* OpenAI's envelope uses its own type names (the SDKs pick error classes by status)
 * and codes for the types that have one. */
static const char *
bd_openai_error_type(int err)
{
    switch (err) {
    case BD_ERR_API:
    case BD_ERR_OVERLOADED:
    case BD_ERR_TIMEOUT:
        return "server_error";
    case BD_ERR_NOT_FOUND:
    case BD_ERR_MODEL_NOT_FOUND:
    case BD_ERR_TOO_LARGE:
        return "invalid_request_error";
    default:
        return bd_err_name(err);
    }
}

static const char *
bd_openai_error_code(int err)
{
    switch (err) {
    case BD_ERR_AUTHENTICATION:
        return "invalid_api_key";
    case BD_ERR_RATE_LIMIT:
        return "rate_limit_exceeded";
    case BD_ERR_QUOTA:
        return "insufficient_quota";
    case BD_ERR_NOT_FOUND:
        return "not_found";
    case BD_ERR_MODEL_NOT_FOUND:
        return "model_not_found";
    default:
        return nullptr;
    }
}

void
bd_openai_render_error(std::string *out, int, int err, const char *message, const char *)
{
    bd_convert_openai_error_body(bd_openai_error_type(err), message, bd_openai_error_code(err),
                                 nullptr, out);
}

static void
bd_openai_prefixes(const bd_snapshot_t *snap, std::vector<std::string> *out)
{
    *out = bd_openai_conf(snap)->prefixes;
}

/* body.model, and the output a chat may produce (it counts against the key's tokens
 * per minute; embeddings have none). */
static int
bd_openai_model(bd_request_t *r, bd_api_model_ask_t *ask, int *status, std::string *msg)
{
    const char *name = json_string_value(json_object_get(r->json, "model"));
    if (name == nullptr || name[0] == '\0') {
        *status = 400;
        *msg = "model: a model name is required";
        return -1;
    }
    ask->name = name;
    ask->output_max = 0;
    if (bd_api_req(r)->route->call != nullptr) {
        json_t *mt = json_object_get(r->json, "max_completion_tokens");
        if (!json_is_integer(mt)) {
            mt = json_object_get(r->json, "max_tokens");
        }
        ask->output_max = json_is_integer(mt) ? json_integer_value(mt)
                                              : bd_openai_conf(r->snap)->default_max_tokens;
    }
    return 0;
}

void
bd_openai_fail(bd_request_t *r, int kind, int status, const std::string &name, const char *msg)
{
    if (kind == BD_API_FAIL_UNKNOWN_MODEL) {
        std::string m =
            "The model `" + name + "` does not exist or you do not have access to it.";
        r->error_type = "not_found_error";
        bd_http_send_error(r, 404, BD_ERR_MODEL_NOT_FOUND, m.c_str());
        return;
    }
    bd_http_send_error(r, status, bd_err_of_status(status), msg);
}

static const bd_api_route_t bd_openai_routes[] = {
    {"/chat/completions", false, BD_METHOD_POST, true, nullptr, &bd_openai_chat_call, nullptr,
     true, BD_JSON_SLICE_DATA_URL},
    {"/embeddings", false, BD_METHOD_POST, true, bd_openai_embeddings, nullptr, nullptr},
    {"/models", false, BD_METHOD_GET | BD_METHOD_HEAD, false, bd_openai_models_list, nullptr,
     bd_openai_client_looks_openai},
    {"/models/", true, BD_METHOD_GET | BD_METHOD_HEAD, false, bd_openai_models_get, nullptr,
     bd_openai_client_looks_openai},
    {nullptr, false, 0, false, nullptr, nullptr, nullptr},
};

const bd_api_t bd_openai_api = {
    "openai",           bd_openai_routes, bd_openai_prefixes, bd_openai_render_error,
    false,              "x-request-id", /* where the OpenAI SDKs look */
    "the request body", false,            bd_openai_model,    bd_openai_fail,
    true,
};

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
    .postconfig = nullptr,
    .destroy_conf = bd_openai_destroy_conf,
    .init_process = nullptr,
    .exit_process = nullptr,
    .init_worker = nullptr,
    .exit_worker = nullptr,
    .access = nullptr,
    .log = nullptr,
    .ready = nullptr,
};
