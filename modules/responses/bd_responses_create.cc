/*
 * bd_responses_create.cc: POST <prefix>/responses. With previous_response_id, the stored
 * conversation is read first (a store job; the request waits). The body becomes a chat
 * body (modules/convert, Responses adapter), then a Converse body (the OpenAI adapter),
 * and the call goes through the bedrock relay like a chat completion; the answer is a
 * response object or the Responses event stream. A stored response (store: true, the
 * default) is written by the store thread after the answer is complete. Worker thread.
 */
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "core/bd_http.h"
#include "core/bd_log.h"
#include "core/bd_worker.h"
#include "modules/anthropic/bd_anthropic_int.h"
#include "modules/bedrock/bd_bedrock_relay.h"
#include "modules/convert/bd_convert_responses.h"
#include "modules/fetch/bd_fetch.h"
#include "modules/openai/bd_openai_int.h"
#include "modules/responses/bd_responses_int.h"

struct bd_responses_ctx_t {
    bd_request_t *r;
    json_t *req; /* the client's body, until converted */
    bd_convert_responses_req_t rreq;
    bd_convert_model_t model;
    bd_convert_request_t creq;
    bd_convert_openai_chat_t chat;
    bd_convert_responses_meta_t meta;
    bd_convert_responses_stream_t sse;
};

static void
bd_responses_ctx_free(void *data)
{
    bd_responses_ctx_t *ctx = (bd_responses_ctx_t *)data;
    json_decref(ctx->req);
    bd_convert_responses_req_free(&ctx->rreq);
    bd_convert_request_free(&ctx->creq);
    bd_convert_responses_stream_free(&ctx->sse);
    delete ctx;
}

static void
bd_responses_fail(bd_request_t *r, const bd_convert_error_t *err)
{
    bd_responses_send_error(r, err->status, err->type, nullptr, err->message.c_str());
}

/* A complete answer is kept when the client asked (the default). */
static void
bd_responses_keep(bd_responses_ctx_t *ctx, json_t *response)
{
    if (ctx->rreq.store && response != nullptr) {
        bd_responses_store_put(ctx->r, response, ctx->rreq.input);
    }
}

/* --- relay ops --- */

static void
bd_responses_on_exception(void *data, const char *name, json_t *payload, std::string *out)
{
    bd_responses_ctx_t *ctx = (bd_responses_ctx_t *)data;
    bd_convert_responses_stream_exception(&ctx->sse, name, payload, out, nullptr);
}

static int
bd_responses_on_event(void *data, const char *type, json_t *payload, std::string *out,
                      bd_convert_error_t *err)
{
    bd_responses_ctx_t *ctx = (bd_responses_ctx_t *)data;
    if (bd_convert_responses_stream_feed(&ctx->sse, type, payload, out, err) == 0) {
        return 0;
    }
    if (!ctx->sse.failed) {
        bd_convert_responses_stream_error(&ctx->sse, "server_error", err->message.c_str(), out);
        ctx->r->error_type = "bad_stream";
    }
    return -1;
}

static void
bd_responses_on_abort(void *data)
{
    bd_responses_ctx_t *ctx = (bd_responses_ctx_t *)data;
    bd_bedrock_relay_take_usage(ctx->r, &ctx->sse.usage);
}

static void
bd_responses_upstream(bd_responses_ctx_t *ctx, const bd_bedrock_result_t *res,
                      bd_convert_error_t *err)
{
    bd_openai_upstream_error(res, err);
    ctx->r->error_type = res->error_name.empty() ? "upstream_error" : res->error_name;
}

static void
bd_responses_on_stream_end(void *data, const bd_bedrock_result_t *res, std::string *out)
{
    bd_responses_ctx_t *ctx = (bd_responses_ctx_t *)data;
    bd_request_t *r = ctx->r;
    if (res->kind != BD_BEDROCK_OK) {
        bd_convert_error_t err;
        bd_responses_upstream(ctx, res, &err);
        if (!ctx->sse.failed) {
            bd_convert_responses_stream_error(&ctx->sse, err.type, err.message.c_str(), out);
        }
    } else if (bd_convert_responses_stream_end(&ctx->sse, out) != 0) {
        if (r->error_type.empty()) {
            r->error_type = "stream_truncated";
        }
    } else {
        bd_responses_keep(ctx, ctx->sse.response);
    }
    bd_bedrock_relay_take_usage(r, &ctx->sse.usage);
}

static void
bd_responses_finish_json(bd_responses_ctx_t *ctx, const std::string &body)
{
    bd_request_t *r = ctx->r;
    bd_convert_error_t err;
    bd_convert_usage_t usage = {};
    json_t *resp = json_loadb(body.data(), body.size(), 0, nullptr);
    json_t *chat = resp ? bd_convert_converse_to_openai(resp, ctx->meta.id.c_str(),
                                                        ctx->meta.created_at,
                                                        ctx->meta.model.c_str(), &usage, &err)
                        : nullptr;
    json_decref(resp);
    json_t *out = chat ? bd_convert_responses_from_chat(chat, &ctx->meta, &usage, &err) : nullptr;
    json_decref(chat);
    if (out == nullptr) {
        bd_log_error(BD_LOG_ERR, r->id, "cannot read the Bedrock answer: %s",
                     resp ? err.message.c_str() : "not JSON");
        bd_responses_send_error(r, 502, "server_error", nullptr,
                                "the upstream answer could not be read");
        return;
    }
    bd_bedrock_relay_take_usage(r, &usage);
    bd_responses_keep(ctx, out);
    bd_openai_send_json(r, out);
}

static void
bd_responses_on_answer(void *data, const bd_bedrock_result_t *res)
{
    bd_responses_ctx_t *ctx = (bd_responses_ctx_t *)data;
    if (res->kind == BD_BEDROCK_OK) {
        if (ctx->creq.stream) {
            bd_responses_send_error(ctx->r, 502, "server_error", nullptr,
                                    "Bedrock sent an empty stream");
        } else {
            bd_responses_finish_json(ctx, *res->body);
        }
        return;
    }
    bd_convert_error_t err;
    bd_responses_upstream(ctx, res, &err);
    bd_responses_send_error(ctx->r, err.status, err.type, nullptr, err.message.c_str());
}

/* OpenAI's clients skip SSE comments: pings are `: ping` lines. */
static const bd_bedrock_relay_ops_t bd_responses_relay_ops = {
    bd_convert_openai_sse_ping, bd_responses_on_exception,   bd_responses_on_event,
    bd_responses_on_stream_end, bd_responses_on_answer,      bd_responses_on_abort,
};

/* --- the request --- */

static void
bd_responses_send(bd_responses_ctx_t *ctx)
{
    bd_request_t *r = ctx->r;
    bd_convert_responses_stream_init(&ctx->sse, &ctx->meta);
    std::string body;
    bd_convert_json_dump(ctx->creq.body, &body);
    bd_bedrock_relay_start(r, ctx->creq.stream ? BD_OP_CONVERSE_STREAM : BD_OP_CONVERSE,
                           ctx->model.bedrock_id, &body,
                           bd_anthropic_conf(r->snap)->ping_interval_ms, &bd_responses_relay_ops,
                           ctx);
}

static void
bd_responses_on_fetched(void *data, const bd_convert_error_t *err)
{
    bd_responses_ctx_t *ctx = (bd_responses_ctx_t *)data;
    if (err != nullptr) {
        bd_responses_fail(ctx->r, err);
        return;
    }
    bd_responses_send(ctx);
}

/* Converts with the conversation so far (<previous>, null for a new one) and calls
 * Bedrock, or answers the client's mistake. */
static void
bd_responses_start(bd_responses_ctx_t *ctx, json_t *previous)
{
    bd_request_t *r = ctx->r;
    bd_convert_error_t err;
    if (bd_convert_responses_request(ctx->req, previous, &ctx->rreq, &err) != 0) {
        bd_responses_fail(r, &err);
        return;
    }
    json_decref(ctx->req);
    ctx->req = nullptr;
    for (const std::string &t : ctx->rreq.dropped) {
        bd_log_error(BD_LOG_DEBUG, r->id, "responses: hosted tool \"%s\" dropped (Bedrock cannot "
                                          "run it)",
                     t.c_str());
    }
    if (bd_openai_resolve_model(r, ctx->rreq.chat, &ctx->model, true) != BD_OK) {
        return;
    }
    int64_t def = bd_openai_conf(r->snap)->default_max_tokens;
    if (bd_convert_openai_to_converse(ctx->rreq.chat, &ctx->model, def, &ctx->creq, &ctx->chat,
                                      &err) != 0) {
        bd_responses_fail(r, &err);
        return;
    }
    ctx->meta.model = ctx->model.client_name;
    ctx->meta.echo = ctx->rreq.echo;
    if (!ctx->creq.url_sources.empty()) {
        if (bd_fetch_url_sources(r, &ctx->creq, bd_responses_on_fetched, ctx, &err) != 0) {
            bd_responses_fail(r, &err);
        }
        return;
    }
    bd_responses_send(ctx);
}

/* The stored conversation named by previous_response_id arrived. */
static void
bd_responses_on_previous(bd_request_t *r, int found, bd_responses_row_t *row)
{
    bd_responses_ctx_t *ctx = (bd_responses_ctx_t *)r->ctx[bd_responses_module.index];
    if (found < 0) {
        bd_responses_send_error(r, 500, "server_error", nullptr,
                                "the stored response could not be read");
        return;
    }
    if (found == 0) {
        std::string msg = std::string("Previous response with id '") +
                          json_string_value(json_object_get(ctx->req, "previous_response_id")) +
                          "' not found.";
        bd_responses_send_error(r, 400, "invalid_request_error", "previous_response_not_found",
                                msg.c_str());
        return;
    }
    json_t *items = json_deep_copy(row->input);
    json_array_extend(items, json_object_get(row->response, "output"));
    bd_responses_start(ctx, items);
    json_decref(items);
}

static bd_responses_ctx_t *
bd_responses_ctx_new(bd_request_t *r, json_t *req)
{
    bd_responses_ctx_t *ctx = new bd_responses_ctx_t();
    ctx->r = r;
    ctx->req = req;
    ctx->creq.body = nullptr;
    char rid[40];
    bd_worker_request_id(r->w, rid, sizeof(rid));
    ctx->meta.id = std::string("resp_") + (rid + 4); /* past "req_" */
    ctx->meta.created_at = (int64_t)time(nullptr);
    ctx->meta.echo = nullptr;
    r->ctx[bd_responses_module.index] = ctx;
    bd_request_add_cleanup(r, bd_responses_ctx_free, ctx);
    return ctx;
}

int
bd_responses_create(bd_request_t *r)
{
    json_t *req = bd_openai_parse_body(r);
    if (req == nullptr) {
        return BD_DONE;
    }
    bd_responses_ctx_t *ctx = bd_responses_ctx_new(r, req);
    json_t *prev = json_object_get(req, "previous_response_id");
    if (!json_is_string(prev)) {
        bd_responses_start(ctx, nullptr); /* a non-string one is the converter's 400 */
        return BD_AGAIN;                  /* answered, or the call is under way */
    }
    if (bd_responses_store_get(r, json_string_value(prev), false, bd_responses_on_previous) !=
        0) {
        bd_responses_send_error(r, 400, "invalid_request_error", "previous_response_not_found",
                                "previous_response_id needs the store (the store is off)");
        return BD_DONE;
    }
    return BD_AGAIN;
}
