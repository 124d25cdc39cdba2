/*
 * bd_bedrockapi_module.cc: the Bedrock Runtime API served by bedrockd itself, so that
 * AWS SDKs (AWS_ENDPOINT_URL_BEDROCK_RUNTIME, a bedrockd key as AWS_BEARER_TOKEN_BEDROCK),
 * @anthropic-ai/bedrock-sdk and Claude Code in Bedrock mode get keys, limits and usage
 * with no code change:
 *
 *   POST /model/{modelId}/converse | converse-stream | invoke |
 *        invoke-with-response-stream | count-tokens
 *
 * The key comes as `Authorization: Bearer` or `x-api-key` (the auth module); {modelId}
 * goes through the model map (a configured name, an alias or a Bedrock id) and must be
 * allowed for the key (the MODEL phase and admission, modules/api); the body is sent as
 * it is, signed with bedrockd's credentials.
 * Errors have Bedrock's shape (x-amzn-ErrorType, {"message"}). Worker thread.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/bd_http.h"
#include "core/bd_json.h"
#include "core/bd_snapshot.h"
#include "modules/bedrockapi/bd_bedrockapi_int.h"

static const struct {
    const char *segment;
    int op;
} bd_bedrockapi_ops[] = {
    {"converse", BD_OP_CONVERSE},
    {"converse-stream", BD_OP_CONVERSE_STREAM},
    {"invoke", BD_OP_INVOKE},
    {"invoke-with-response-stream", BD_OP_INVOKE_STREAM},
    {"count-tokens", BD_OP_COUNT_TOKENS},
};

void
bd_bedrockapi_error(bd_request_t *r, int status, const char *name, const char *message)
{
    json_t *body = json_pack("{s:s}", "message", message);
    std::string out;
    bd_convert_json_dump(body, &out);
    json_decref(body);
    bd_http_header_out(r, "x-amzn-ErrorType", name);
    r->error_type = name;
    bd_http_send(r, status, "application/json", out.data(), out.size());
}

/* The Bedrock exception name for a status bedrockd answers with itself (auth, limits,
 * the HTTP edge), as the AWS SDKs expect to read it. */
static const char *
bd_bedrockapi_exception_name(int status)
{
    switch (status) {
    case 401:
        return "UnrecognizedClientException";
    case 403:
        return "AccessDeniedException";
    case 404:
        return "ResourceNotFoundException";
    case 429:
        return "ThrottlingException";
    case 503:
    case 529:
        return "ServiceUnavailableException";
    default:
        return status >= 500 ? "InternalServerException" : "ValidationException";
    }
}

/* Errors that other modules or the core render for /model/ paths (a missing key, a
 * limit, a body over the limit): Bedrock's shape, with the name in `__type`, which
 * the AWS SDKs read when the x-amzn-ErrorType header is absent. */
static void
bd_bedrockapi_render_error(std::string *out, int status, int, const char *message, const char *)
{
    const char *name = bd_bedrockapi_exception_name(status);
    out->append("{\"__type\":");
    bd_json_append_string(out, name, strlen(name));
    out->append(",\"message\":");
    bd_json_append_string(out, message, strlen(message));
    out->append("}");
}

/* Percent-decodes <s> (clients encode ':' and '/' of ids and ARNs); false when malformed. */
static bool
bd_bedrockapi_decode(const std::string &s, std::string *out)
{
    out->clear();
    for (size_t i = 0; i < s.size(); i++) {
        if (s[i] != '%') {
            out->push_back(s[i]);
            continue;
        }
        if (i + 2 >= s.size() || !isxdigit((unsigned char)s[i + 1]) ||
            !isxdigit((unsigned char)s[i + 2])) {
            return false;
        }
        out->push_back((char)strtol(s.substr(i + 1, 2).c_str(), nullptr, 16));
        i += 2;
    }
    return !out->empty();
}

/* The output the request allows, charged against the key's tokens per minute. */
static int64_t
bd_bedrockapi_output_max(int op, json_t *body)
{
    if (op == BD_OP_CONVERSE || op == BD_OP_CONVERSE_STREAM) {
        return json_integer_value(
            json_object_get(json_object_get(body, "inferenceConfig"), "maxTokens"));
    }
    return json_integer_value(json_object_get(body, "max_tokens"));
}

/* The operation and the model id of /model/{modelId}/{operation}: 0, or -1. */
static int
bd_bedrockapi_target(const std::string &path, int *op, std::string *id)
{
    size_t slash = path.rfind('/');
    *op = -1;
    for (const auto &o : bd_bedrockapi_ops) {
        if (path.compare(slash + 1, std::string::npos, o.segment) == 0) {
            *op = o.op;
        }
    }
    if (*op < 0 || slash <= 7 || !bd_bedrockapi_decode(path.substr(7, slash - 7), id)) {
        return -1;
    }
    return 0;
}

/* The model is in the path; the output the body allows. */
static int
bd_bedrockapi_model(bd_request_t *r, bd_api_model_ask_t *ask, int *status, std::string *msg)
{
    int op;
    if (bd_bedrockapi_target(r->path, &op, &ask->name) != 0) {
        *status = 404;
        *msg = "Unknown operation";
        return -1;
    }
    ask->output_max = r->json != nullptr ? bd_bedrockapi_output_max(op, r->json) : 0;
    return 0;
}

static void
bd_bedrockapi_fail(bd_request_t *r, int kind, int status, const std::string &, const char *msg)
{
    if (kind == BD_API_FAIL_UNKNOWN_MODEL) {
        bd_bedrockapi_error(r, 400, "ValidationException",
                            "The provided model identifier is invalid.");
        return;
    }
    bd_bedrockapi_error(r, status,
                        status == 404 ? "UnknownOperationException" : "ValidationException", msg);
}

/* POST /model/{modelId}/{operation}, admitted. */
static int
bd_bedrockapi_handler(bd_request_t *r)
{
    bd_bedrockapi_ctx_t *ctx = bd_request_arena_new<bd_bedrockapi_ctx_t>(r);
    std::string id;
    bd_bedrockapi_target(r->path, &ctx->op, &id);
    ctx->r = r;
    ctx->model = bd_api_req(r)->model;
    ctx->call = nullptr;
    ctx->started = false;
    r->ctx[bd_bedrockapi_module.index] = ctx;
    /* sent as the client wrote it: with its media set aside, as the text around them
     * and the client's own bytes for each, never joined */
    const bd_json_slices_t *slices = &bd_api_req(r)->slices;
    std::string upstream;
    if (slices->cut.empty()) {
        upstream.assign(r->body, r->body_len);
        slices = nullptr;
        bd_http_drop_body(r);
    } else {
        upstream = slices->text;
    }
    bd_bedrockapi_relay(ctx, &upstream, slices);
    return BD_AGAIN;
}

static void
bd_bedrockapi_prefixes(const bd_snapshot_t *, std::vector<std::string> *out)
{
    out->push_back("");
}

static const bd_api_route_t bd_bedrockapi_routes[] = {
    {"/model/", true, BD_METHOD_POST, true, bd_bedrockapi_handler, nullptr, nullptr, false,
     BD_JSON_SLICE_MEDIA},
    {nullptr, false, 0, false, nullptr, nullptr, nullptr},
};

const bd_api_t bd_bedrockapi_api = {
    "bedrock",           bd_bedrockapi_routes, bd_bedrockapi_prefixes, bd_bedrockapi_render_error,
    false,               nullptr,              "The request body",     true,
    bd_bedrockapi_model, bd_bedrockapi_fail,   false,
};

bd_module_t bd_bedrockapi_module = {
    .name = "bedrockapi",
    .index = 0,
    .directives = nullptr,
    .create_conf = nullptr,
    .init_conf = nullptr,
    .postconfig = nullptr,
    .destroy_conf = nullptr,
    .init_process = nullptr,
    .exit_process = nullptr,
    .init_worker = nullptr,
    .exit_worker = nullptr,
    .access = nullptr,
    .log = nullptr,
    .ready = nullptr,
};
