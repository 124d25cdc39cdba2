/*
 * bd_openai_chat.cc: POST <prefix>/chat/completions. Converts the client's request
 * (modules/convert, OpenAI adapter), calls Converse or ConverseStream whatever route the
 * model map gives the model, and answers with a chat.completion or a chunk stream (SSE
 * comment pings and back-pressure through modules/bedrock/bd_bedrock_relay; this file
 * renders). A failure after the stream started is an {"error":...} chunk, never a quiet
 * finish. Image URLs (models with url_sources on) are fetched first (modules/fetch).
 * Worker thread.
 */
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "core/bd_http.h"
#include "core/bd_log.h"
#include "core/bd_worker.h"
#include "modules/anthropic/bd_anthropic_int.h"
#include "modules/bedrock/bd_bedrock_relay.h"
#include "modules/fetch/bd_fetch.h"
#include "modules/openai/bd_openai_int.h"

struct bd_openai_chat_ctx_t {
    bd_request_t *r;
    bd_convert_model_t model;
    bd_convert_request_t creq;
    bd_convert_openai_chat_t chat;
    bd_convert_openai_stream_t sse;
    int64_t created;
    char id[48];
};

static void
bd_openai_chat_free(void *data)
{
    bd_openai_chat_ctx_t *ctx = (bd_openai_chat_ctx_t *)data;
    bd_convert_request_free(&ctx->creq);
    delete ctx;
}

static void
bd_openai_on_exception(void *data, const char *name, json_t *payload, std::string *out)
{
    bd_openai_chat_ctx_t *ctx = (bd_openai_chat_ctx_t *)data;
    bd_convert_error_t err;
    bd_convert_openai_stream_exception(&ctx->sse, name, payload, out, &err);
}

/* An event that cannot be converted ends the chunks with an error chunk, never a quiet
 * gap. */
static int
bd_openai_on_stream_event(void *data, const char *type, json_t *payload, std::string *out,
                          bd_convert_error_t *err)
{
    bd_openai_chat_ctx_t *ctx = (bd_openai_chat_ctx_t *)data;
    if (bd_convert_openai_stream_feed(&ctx->sse, type, payload, out, err) == 0) {
        return 0;
    }
    if (!ctx->sse.failed) {
        bd_convert_openai_sse_error(&ctx->sse, "server_error", err->message.c_str(), out);
        ctx->r->error_type = "bad_stream";
    }
    return -1;
}

/* The client went away: keep what was consumed for the usage record. */
static void
bd_openai_on_abort(void *data)
{
    bd_openai_chat_ctx_t *ctx = (bd_openai_chat_ctx_t *)data;
    bd_bedrock_relay_take_usage(ctx->r, &ctx->sse.usage);
}

/* Maps a failed call to the client's error, and names the failure for logs and metrics. */
static void
bd_openai_chat_failure(bd_openai_chat_ctx_t *ctx, const bd_bedrock_result_t *res,
                       bd_convert_error_t *err)
{
    bd_openai_upstream_error(res, err);
    ctx->r->error_type = res->error_name.empty() ? "upstream_error" : res->error_name;
}

/* The stream is over: an error chunk after a failure, the closing chunks otherwise. */
static void
bd_openai_on_stream_end(void *data, const bd_bedrock_result_t *res, std::string *out)
{
    bd_openai_chat_ctx_t *ctx = (bd_openai_chat_ctx_t *)data;
    bd_request_t *r = ctx->r;
    if (res->kind != BD_BEDROCK_OK) {
        bd_convert_error_t err;
        bd_openai_chat_failure(ctx, res, &err);
        if (!ctx->sse.failed) { /* exception frames were rendered already */
            bd_convert_openai_sse_error(&ctx->sse, err.type, err.message.c_str(), out);
        }
    } else if (bd_convert_openai_stream_end(&ctx->sse, out) != 0 && r->error_type.empty()) {
        r->error_type = "stream_truncated";
    }
    bd_bedrock_relay_take_usage(r, &ctx->sse.usage);
}

static void
bd_openai_finish_json(bd_openai_chat_ctx_t *ctx, const std::string &body)
{
    bd_request_t *r = ctx->r;
    bd_convert_error_t err;
    bd_convert_usage_t usage = {};
    json_t *resp = json_loadb(body.data(), body.size(), 0, nullptr);
    json_t *out = resp ? bd_convert_converse_to_openai(resp, ctx->id, ctx->created,
                                                       ctx->model.client_name.c_str(), &usage,
                                                       &err)
                       : nullptr;
    json_decref(resp);
    if (out == nullptr) {
        bd_log_error(BD_LOG_ERR, r->id, "cannot read the Bedrock answer: %s",
                     resp ? err.message.c_str() : "not JSON");
        bd_openai_send_error(r, 502, "server_error", nullptr,
                             "the upstream answer could not be read");
        return;
    }
    bd_bedrock_relay_take_usage(r, &usage);
    bd_openai_send_json(r, out);
}

/* Nothing was sent yet: the chat.completion, or the failure as the client's error. */
static void
bd_openai_on_answer(void *data, const bd_bedrock_result_t *res)
{
    bd_openai_chat_ctx_t *ctx = (bd_openai_chat_ctx_t *)data;
    if (res->kind == BD_BEDROCK_OK) {
        if (ctx->creq.stream) {
            bd_openai_send_error(ctx->r, 502, "server_error", nullptr,
                                 "Bedrock sent an empty stream");
        } else {
            bd_openai_finish_json(ctx, *res->body);
        }
        return;
    }
    bd_convert_error_t err;
    bd_openai_chat_failure(ctx, res, &err);
    bd_openai_send_error(ctx->r, err.status, err.type, nullptr, err.message.c_str());
}

/* OpenAI's clients skip SSE comments: pings are `: ping` lines. */
static const bd_bedrock_relay_ops_t bd_openai_chat_relay_ops = {
    bd_convert_openai_sse_ping,
    bd_openai_on_exception,
    bd_openai_on_stream_event,
    bd_openai_on_stream_end,
    bd_openai_on_answer,
    bd_openai_on_abort,
};

static int
bd_openai_chat_convert(bd_openai_chat_ctx_t *ctx, json_t *req)
{
    bd_request_t *r = ctx->r;
    bd_convert_error_t err;
    int64_t def = bd_openai_conf(r->snap)->default_max_tokens;
    if (bd_convert_openai_to_converse(req, &ctx->model, def, &ctx->creq, &ctx->chat, &err) != 0) {
        bd_openai_send_error(r, err.status, err.type, nullptr, err.message.c_str());
        return BD_DONE;
    }
    return BD_OK;
}

/* The body is complete: call Bedrock. */
static void
bd_openai_chat_send(bd_openai_chat_ctx_t *ctx)
{
    bd_request_t *r = ctx->r;
    bd_convert_openai_stream_init(&ctx->sse, ctx->id, ctx->created, ctx->model.client_name.c_str(),
                                  ctx->chat.include_usage);
    std::string body;
    bd_convert_json_dump(ctx->creq.body, &body);
    /* OpenAI requests always take Converse: the invoke route speaks Anthropic's body */
    bd_bedrock_relay_start(r, ctx->creq.stream ? BD_OP_CONVERSE_STREAM : BD_OP_CONVERSE,
                           ctx->model.bedrock_id, &body,
                           bd_anthropic_conf(r->snap)->ping_interval_ms, /* sse_ping_interval */
                           &bd_openai_chat_relay_ops, ctx);
}

/* Every image URL was fetched (or one failed). */
static void
bd_openai_chat_on_fetched(void *data, const bd_convert_error_t *err)
{
    bd_openai_chat_ctx_t *ctx = (bd_openai_chat_ctx_t *)data;
    if (err != nullptr) {
        bd_openai_send_error(ctx->r, err->status, err->type, nullptr, err->message.c_str());
        return;
    }
    bd_openai_chat_send(ctx);
}

static bd_openai_chat_ctx_t *
bd_openai_chat_ctx_new(bd_request_t *r)
{
    bd_openai_chat_ctx_t *ctx = new bd_openai_chat_ctx_t();
    ctx->r = r;
    ctx->creq.body = nullptr;
    ctx->created = (int64_t)time(nullptr);
    char rid[40];
    bd_worker_request_id(r->w, rid, sizeof(rid));
    snprintf(ctx->id, sizeof(ctx->id), "chatcmpl-%s", rid + 4); /* past "req_" */
    r->ctx[bd_openai_module.index] = ctx;
    bd_request_add_cleanup(r, bd_openai_chat_free, ctx);
    return ctx;
}

int
bd_openai_chat(bd_request_t *r)
{
    json_t *req = bd_openai_parse_body(r);
    if (req == nullptr) {
        return BD_DONE;
    }
    bd_openai_chat_ctx_t *ctx = bd_openai_chat_ctx_new(r);
    if (bd_openai_resolve_model(r, req, &ctx->model, true) != BD_OK ||
        bd_openai_chat_convert(ctx, req) != BD_OK) {
        json_decref(req);
        return BD_DONE;
    }
    json_decref(req);
    if (!ctx->creq.url_sources.empty()) {
        bd_convert_error_t err;
        if (bd_fetch_url_sources(r, &ctx->creq, bd_openai_chat_on_fetched, ctx, &err) != 0) {
            bd_openai_send_error(r, err.status, err.type, nullptr, err.message.c_str());
            return BD_DONE;
        }
        return BD_AGAIN;
    }
    bd_openai_chat_send(ctx);
    return BD_AGAIN;
}
