/*
 * bd_anthropic_messages.cc: POST /v1/messages. Validates and converts the client's
 * request (modules/convert), calls Bedrock (modules/bedrock), and turns the answer
 * into an Anthropic message or an SSE stream (the stream's mechanism, pings and
 * back-pressure are modules/bedrock/bd_bedrock_relay; this file renders). URL image and
 * document sources (models with url_sources on) are fetched first (modules/fetch).
 * Worker thread.
 */
#include <string.h>

#include <jansson.h>

#include "core/bd_http.h"
#include "core/bd_log.h"
#include "core/bd_worker.h"
#include "modules/anthropic/bd_anthropic_int.h"
#include "modules/bedrock/bd_bedrock_relay.h"
#include "modules/fetch/bd_fetch.h"
#include "modules/models/bd_models.h"
#include "modules/models/bd_models_request.h"

struct bd_anthropic_ctx_t {
    bd_request_t *r;
    bd_convert_model_t model;
    bd_convert_request_t creq;
    bool stream;
    bd_convert_stream_t sse;
    bd_convert_invoke_stream_t isse;
    char msg_id[40];
};

static void
bd_anthropic_ctx_free(void *data)
{
    bd_anthropic_ctx_t *ctx = (bd_anthropic_ctx_t *)data;
    bd_convert_request_free(&ctx->creq);
    delete ctx;
}

static void
bd_anthropic_on_exception(void *data, const char *name, json_t *payload, std::string *out)
{
    bd_anthropic_ctx_t *ctx = (bd_anthropic_ctx_t *)data;
    bd_convert_error_t err;
    if (ctx->model.route == BD_ROUTE_INVOKE) {
        bd_convert_invoke_stream_exception(&ctx->isse, name, payload, out, &err);
    } else {
        bd_convert_stream_exception(&ctx->sse, name, payload, out, &err);
    }
}

static int
bd_anthropic_on_stream_event(void *data, const char *type, json_t *payload, std::string *out,
                             bd_convert_error_t *err)
{
    bd_anthropic_ctx_t *ctx = (bd_anthropic_ctx_t *)data;
    if (ctx->model.route == BD_ROUTE_INVOKE) {
        return bd_convert_invoke_stream_feed(&ctx->isse, type, payload, out, err);
    }
    return bd_convert_stream_feed(&ctx->sse, type, payload, out, err);
}

/* Maps a failed call to the client's error, and names the failure for logs and metrics. */
static void
bd_anthropic_failure(bd_anthropic_ctx_t *ctx, const bd_bedrock_result_t *res,
                     bd_convert_error_t *err)
{
    if (res->kind == BD_BEDROCK_NO_CREDENTIALS) {
        err->status = 503;
        err->type = "api_error";
        err->message = res->message;
    } else {
        bd_convert_bedrock_exception(res->error_name.c_str(), res->message.c_str(), err);
    }
    ctx->r->error_type = res->error_name;
}

/* The stream is over: an error event after a failure, the closing events otherwise. */
/* What a stream consumed so far, for the usage record, however it ends. */
static void
bd_anthropic_take_stream_usage(bd_anthropic_ctx_t *ctx)
{
    bd_bedrock_relay_take_usage(ctx->r, ctx->model.route == BD_ROUTE_INVOKE ? &ctx->isse.usage
                                                                          : &ctx->sse.usage);
}

/* The client went away mid-stream: the usage record still counts what was consumed. */
static void
bd_anthropic_on_abort(void *data)
{
    bd_anthropic_take_stream_usage((bd_anthropic_ctx_t *)data);
}

static void
bd_anthropic_on_stream_end(void *data, const bd_bedrock_result_t *res, std::string *out)
{
    bd_anthropic_ctx_t *ctx = (bd_anthropic_ctx_t *)data;
    if (res->kind != BD_BEDROCK_OK) {
        bd_convert_error_t err;
        bd_anthropic_take_stream_usage(ctx);
        bd_anthropic_failure(ctx, res, &err);
        if (res->kind != BD_BEDROCK_STREAM_ERROR) { /* exception frames were rendered already */
            bd_convert_sse_error(out, err.type, err.message.c_str());
        }
        return;
    }
    if (ctx->model.route == BD_ROUTE_INVOKE) {
        bd_bedrock_relay_take_usage(ctx->r, &ctx->isse.usage);
        if (!ctx->isse.finished && !ctx->isse.failed) {
            bd_convert_sse_error(out, "api_error", "the model stream ended early");
        }
    } else {
        bd_convert_stream_end(&ctx->sse, out);
        bd_bedrock_relay_take_usage(ctx->r, &ctx->sse.usage);
    }
}

static void
bd_anthropic_finish_json(bd_anthropic_ctx_t *ctx, const std::string &body)
{
    bd_request_t *r = ctx->r;
    bd_convert_error_t err;
    bd_convert_usage_t usage;
    memset(&usage, 0, sizeof(usage));
    json_t *resp = json_loadb(body.data(), body.size(), 0, nullptr);
    json_t *msg = nullptr;
    if (resp != nullptr) {
        msg = ctx->model.route == BD_ROUTE_INVOKE
                  ? bd_convert_invoke_to_anthropic(resp, ctx->model.client_name.c_str(), &usage,
                                                   &err)
                  : bd_convert_converse_to_anthropic(resp, ctx->msg_id,
                                                     ctx->model.client_name.c_str(), &usage, &err);
    }
    json_decref(resp);
    if (msg == nullptr) {
        bd_log_error(BD_LOG_ERR, r->id, "cannot read the Bedrock answer: %s",
                     resp ? err.message.c_str() : "not JSON");
        bd_http_send_error(r, 502, "api_error", "the upstream answer could not be read");
        return;
    }
    bd_bedrock_relay_take_usage(r, &usage);
    std::string out;
    bd_convert_json_dump(msg, &out);
    json_decref(msg);
    bd_http_send(r, 200, "application/json", out.data(), out.size());
}

/* Nothing was sent yet: the message, or the failure as the client's error. */
static void
bd_anthropic_on_answer(void *data, const bd_bedrock_result_t *res)
{
    bd_anthropic_ctx_t *ctx = (bd_anthropic_ctx_t *)data;
    bd_request_t *r = ctx->r;
    if (res->kind == BD_BEDROCK_OK) {
        if (ctx->stream) {
            bd_http_send_error(r, 502, "api_error", "Bedrock sent an empty stream");
        } else {
            bd_anthropic_finish_json(ctx, *res->body);
        }
        return;
    }
    bd_convert_error_t err;
    bd_anthropic_failure(ctx, res, &err);
    /* Bedrock sends no retry-after; the SDKs wait for one on throttles and overloads. */
    if (err.status == 429 || err.status == 503 || err.status == 529) {
        bd_http_header_out(r, "retry-after", "1");
    }
    bd_http_send_error(r, err.status, err.type, err.message.c_str());
}

/* Anthropic's clients see `event: ping`. */
static const bd_bedrock_relay_ops_t bd_anthropic_relay_ops = {
    bd_convert_sse_ping,
    bd_anthropic_on_exception,
    bd_anthropic_on_stream_event,
    bd_anthropic_on_stream_end,
    bd_anthropic_on_answer,
    bd_anthropic_on_abort,
};

static int
bd_anthropic_convert(bd_anthropic_ctx_t *ctx, json_t *req)
{
    bd_request_t *r = ctx->r;
    const char *beta = bd_request_header(r, "anthropic-beta");
    bd_convert_error_t err;
    int rc = ctx->model.route == BD_ROUTE_INVOKE
                 ? bd_convert_anthropic_to_invoke(req, &ctx->model, beta, &ctx->creq, &err)
                 : bd_convert_anthropic_to_converse(req, &ctx->model, beta, &ctx->creq, &err);
    if (rc != 0) {
        bd_http_send_error(r, err.status, err.type, err.message.c_str());
        return BD_DONE;
    }
    bd_models_request_dropped_betas(r, ctx->creq.dropped_betas);
    return BD_OK;
}

/* The body is complete: call Bedrock. */
static void
bd_anthropic_send(bd_anthropic_ctx_t *ctx)
{
    bd_request_t *r = ctx->r;
    ctx->stream = ctx->creq.stream;
    bd_worker_request_id(r->w, ctx->msg_id, sizeof(ctx->msg_id));
    memcpy(ctx->msg_id, "msg_", 4);
    bd_convert_stream_init(&ctx->sse, ctx->msg_id, ctx->model.client_name.c_str(), 0);
    bd_convert_invoke_stream_init(&ctx->isse, ctx->model.client_name.c_str());

    std::string body;
    bd_convert_json_dump(ctx->creq.body, &body);
    bool invoke = ctx->model.route == BD_ROUTE_INVOKE;
    int op = ctx->stream ? (invoke ? BD_OP_INVOKE_STREAM : BD_OP_CONVERSE_STREAM)
                         : (invoke ? BD_OP_INVOKE : BD_OP_CONVERSE);
    bd_bedrock_relay_start(r, op, ctx->model.bedrock_id, &body,
                           bd_anthropic_conf(r->snap)->ping_interval_ms, &bd_anthropic_relay_ops,
                           ctx);
}

/* Every URL source was fetched (or one failed). */
static void
bd_anthropic_on_fetched(void *data, const bd_convert_error_t *err)
{
    bd_anthropic_ctx_t *ctx = (bd_anthropic_ctx_t *)data;
    if (err != nullptr) {
        bd_http_send_error(ctx->r, err->status, err->type, err->message.c_str());
        return;
    }
    bd_anthropic_send(ctx);
}

int
bd_anthropic_messages(bd_request_t *r)
{
    json_t *req = bd_anthropic_parse_body(r);
    if (req == nullptr) {
        return BD_DONE;
    }
    bd_anthropic_ctx_t *ctx = new bd_anthropic_ctx_t();
    ctx->r = r;
    ctx->creq.body = nullptr;
    r->ctx[bd_anthropic_module.index] = ctx;
    bd_request_add_cleanup(r, bd_anthropic_ctx_free, ctx);

    if (bd_anthropic_resolve_model(r, req, &ctx->model) != BD_OK ||
        bd_anthropic_convert(ctx, req) != BD_OK) {
        json_decref(req);
        return BD_DONE;
    }
    json_decref(req);
    if (!ctx->creq.url_sources.empty()) {
        bd_convert_error_t err;
        if (bd_fetch_url_sources(r, &ctx->creq, bd_anthropic_on_fetched, ctx, &err) != 0) {
            bd_http_send_error(r, err.status, err.type, err.message.c_str());
            return BD_DONE;
        }
        return BD_AGAIN;
    }
    bd_anthropic_send(ctx);
    return BD_AGAIN;
}
