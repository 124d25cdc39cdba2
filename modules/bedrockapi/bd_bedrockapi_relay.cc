/*
 * bd_bedrockapi_relay.cc: the front door's Bedrock call. A JSON answer goes back as it
 * came; an event stream goes back frame by frame, each re-encoded from its own headers
 * and payload (so exception frames too), with back-pressure from the client socket to
 * the transfer. Usage comes from what Bedrock reports (Converse usage, the native
 * body's usage, stream metadata, CountTokens inputTokens) and goes to the usage record.
 * Worker thread.
 */
#include <jansson.h>

#include "core/aws/bd_eventstream.h"
#include "core/bd_http.h"
#include "core/bd_log.h"
#include "modules/bedrock/bd_bedrock_relay.h"
#include "modules/bedrockapi/bd_bedrockapi_int.h"

/* Bedrock's status for an exception name (the error table of the Runtime API). */
static int
bd_bedrockapi_status(const std::string &name)
{
    static const struct {
        const char *name;
        int status;
    } table[] = {
        {"ValidationException", 400},       {"AccessDeniedException", 403},
        {"ResourceNotFoundException", 404}, {"ModelTimeoutException", 408},
        {"ThrottlingException", 429},       {"ModelNotReadyException", 429},
        {"ModelErrorException", 424},       {"ServiceQuotaExceededException", 400},
        {"ServiceUnavailableException", 503},
    };
    for (const auto &e : table) {
        if (name == e.name) {
            return e.status;
        }
    }
    return 500;
}

/* The usage of a JSON answer, by operation. */
static void
bd_bedrockapi_json_usage(bd_bedrockapi_ctx_t *ctx, const std::string &body)
{
    bd_convert_usage_t usage = bd_convert_usage_t();
    bd_convert_error_t err;
    if (ctx->op == BD_OP_INVOKE) {
        bd_convert_invoke_answer(body.data(), body.size(), "", nullptr, &usage, &err);
    } else if (ctx->op == BD_OP_CONVERSE) {
        bd_convert_converse_answer(body.data(), body.size(), "", "", nullptr, &usage, &err);
    } else {
        json_t *resp = json_loadb(body.data(), body.size(), 0, nullptr);
        usage.input_tokens = json_integer_value(json_object_get(resp, "inputTokens"));
        json_decref(resp);
    }
    bd_bedrock_relay_take_usage(ctx->r, &usage);
}

static void
bd_bedrockapi_take_stream_usage(bd_bedrockapi_ctx_t *ctx)
{
    bd_bedrock_relay_take_usage(ctx->r, ctx->op == BD_OP_INVOKE_STREAM ? &ctx->invoke.usage
                                                                       : &ctx->converse.usage);
}

static int
bd_bedrockapi_on_event(bd_bedrock_call_t *c, const bd_es_message_t *m)
{
    bd_bedrockapi_ctx_t *ctx = (bd_bedrockapi_ctx_t *)bd_bedrock_data(c);
    bd_request_t *r = ctx->r;
    if (!ctx->started) {
        ctx->started = true;
        bd_http_stream_start(r, 200, "application/vnd.amazon.eventstream");
    }
    std::string frame;
    bd_es_encode(m->headers, m->payload, m->payload_len, &frame);
    const std::string *etype = bd_es_message_header(m, ":event-type");
    const std::string *xtype = bd_es_message_header(m, ":exception-type");
    if (xtype != nullptr) {
        r->error_type = *xtype;
    } else if (etype != nullptr) {
        std::string discard; /* the converters count the usage; their SSE is not needed */
        bd_convert_error_t err;
        const char *payload = (const char *)m->payload;
        if (ctx->op == BD_OP_INVOKE_STREAM) {
            bd_convert_invoke_stream_feed(&ctx->invoke, etype->c_str(), payload, m->payload_len,
                                          &discard, &err);
        } else {
            json_t *tree = json_loadb(payload, m->payload_len, 0, nullptr);
            if (tree != nullptr) {
                bd_convert_stream_feed(&ctx->converse, etype->c_str(), tree, &discard, &err);
            }
            json_decref(tree);
        }
    }
    size_t queued = bd_http_stream_write(r, frame.data(), frame.size());
    return queued > r->out_high_water ? 1 : 0;
}

static void
bd_bedrockapi_on_complete(bd_bedrock_call_t *c, const bd_bedrock_result_t *res)
{
    bd_bedrockapi_ctx_t *ctx = (bd_bedrockapi_ctx_t *)bd_bedrock_data(c);
    bd_request_t *r = ctx->r;
    ctx->call = nullptr;
    if (ctx->started) {
        bd_bedrockapi_take_stream_usage(ctx);
        if (res->kind != BD_BEDROCK_OK && res->kind != BD_BEDROCK_STREAM_ERROR) {
            /* the stream broke on the way: say so in the stream's own terms */
            json_t *p = json_pack("{s:s}", "message", res->message.c_str());
            std::string payload, frame;
            bd_convert_json_dump(p, &payload);
            json_decref(p);
            bd_es_encode_exception("internalServerException", payload, &frame);
            bd_http_stream_write(r, frame.data(), frame.size());
            r->error_type = "internalServerException";
        }
        bd_http_stream_end(r);
        return;
    }
    switch (res->kind) {
    case BD_BEDROCK_OK:
        if (ctx->op == BD_OP_CONVERSE_STREAM || ctx->op == BD_OP_INVOKE_STREAM) {
            bd_http_stream_start(r, 200, "application/vnd.amazon.eventstream");
            bd_http_stream_end(r);
            return;
        }
        bd_bedrockapi_json_usage(ctx, *res->body);
        bd_http_send(r, 200, "application/json", res->body->data(), res->body->size());
        return;
    case BD_BEDROCK_AWS_ERROR:
        bd_bedrockapi_error(r, res->http_status >= 400 ? (int)res->http_status
                                                       : bd_bedrockapi_status(res->error_name),
                            res->error_name.c_str(), res->message.c_str());
        return;
    case BD_BEDROCK_NO_CREDENTIALS:
        bd_bedrockapi_error(r, 503, "ServiceUnavailableException", res->message.c_str());
        return;
    default:
        bd_log_error(BD_LOG_WARN, r->id, "bedrock call failed: %s", res->message.c_str());
        bd_bedrockapi_error(r, res->timeout ? 408 : 503,
                            res->timeout ? "ModelTimeoutException" : "ServiceUnavailableException",
                            res->message.c_str());
        return;
    }
}

static const bd_bedrock_handlers_t bd_bedrockapi_handlers = {
    bd_bedrockapi_on_event,
    bd_bedrockapi_on_complete,
};

/* The client left: cancel at once; the usage record keeps what was consumed. */
static void
bd_bedrockapi_on_abort(bd_request_t *r)
{
    bd_bedrockapi_ctx_t *ctx = (bd_bedrockapi_ctx_t *)r->ctx[bd_bedrockapi_module.index];
    if (ctx->call != nullptr) {
        bd_bedrock_cancel(ctx->call);
        ctx->call = nullptr;
    }
    bd_bedrockapi_take_stream_usage(ctx);
}

static void
bd_bedrockapi_on_drain(bd_request_t *r)
{
    bd_bedrockapi_ctx_t *ctx = (bd_bedrockapi_ctx_t *)r->ctx[bd_bedrockapi_module.index];
    if (ctx->call != nullptr) {
        bd_bedrock_resume(ctx->call);
    }
}

void
bd_bedrockapi_relay(bd_bedrockapi_ctx_t *ctx, std::string *body, const bd_json_slices_t *slices)
{
    bd_request_t *r = ctx->r;
    bd_convert_stream_init(&ctx->converse, "msg", "", 0);
    bd_convert_invoke_stream_init(&ctx->invoke, "");
    r->on_abort = bd_bedrockapi_on_abort;
    r->on_drain = bd_bedrockapi_on_drain;
    ctx->call = bd_bedrock_call(r, ctx->op, ctx->model->bedrock_id, body, slices, &bd_bedrockapi_handlers,
                                ctx);
}
