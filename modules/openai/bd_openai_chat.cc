/*
 * bd_openai_chat.cc: POST <prefix>/chat/completions. Converts the client's request
 * (modules/convert, OpenAI adapter), calls Converse or ConverseStream whatever route the
 * model map gives the model, and answers with a chat.completion or a chunk stream, with
 * SSE comment pings while Bedrock is silent and back-pressure from the client socket to
 * the upstream transfer. A failure after the stream started is an {"error":...} chunk,
 * never a quiet finish. Image URLs (models with url_sources on) are fetched first
 * (modules/fetch). Worker thread.
 */
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>

#include "core/bd_http.h"
#include "core/bd_log.h"
#include "core/bd_worker.h"
#include "modules/anthropic/bd_anthropic_int.h"
#include "modules/fetch/bd_fetch.h"
#include "modules/openai/bd_openai_int.h"

struct bd_openai_chat_ctx_t {
    bd_request_t *r;
    bd_convert_model_t model;
    bd_convert_request_t creq;
    bd_convert_openai_chat_t chat;
    bool started; /* SSE headers sent */
    bd_convert_openai_stream_t sse;
    bd_bedrock_call_t *call;
    struct event *ping_ev;
    int64_t ping_interval_ms;
    int64_t created;
    char id[48];
};

static void
bd_openai_chat_free(void *data)
{
    bd_openai_chat_ctx_t *ctx = (bd_openai_chat_ctx_t *)data;
    if (ctx->ping_ev != nullptr) {
        event_free(ctx->ping_ev);
    }
    bd_convert_request_free(&ctx->creq);
    delete ctx;
}

static bd_openai_chat_ctx_t *
bd_openai_chat_ctx(bd_request_t *r)
{
    return (bd_openai_chat_ctx_t *)r->ctx[bd_openai_module.index];
}

static void
bd_openai_arm_ping(bd_openai_chat_ctx_t *ctx)
{
    if (ctx->ping_ev == nullptr || ctx->ping_interval_ms <= 0) {
        return;
    }
    struct timeval tv = {(time_t)(ctx->ping_interval_ms / 1000),
                         (suseconds_t)(ctx->ping_interval_ms % 1000) * 1000};
    evtimer_add(ctx->ping_ev, &tv);
}

/* Bedrock has been silent for a ping interval: an SSE comment keeps idle proxies from
 * cutting the stream; clients skip comments. */
static void
bd_openai_on_ping(evutil_socket_t, short, void *arg) noexcept
{
    bd_openai_chat_ctx_t *ctx = (bd_openai_chat_ctx_t *)arg;
    std::string out;
    bd_convert_openai_sse_ping(&out);
    bd_http_stream_write(ctx->r, out.data(), out.size());
    bd_openai_arm_ping(ctx);
}

static void bd_openai_take_usage(bd_request_t *r, const bd_convert_usage_t *u);

/* The client went away: stop Bedrock now, and keep what was consumed for the usage
 * record. */
static void
bd_openai_on_abort(bd_request_t *r)
{
    bd_openai_chat_ctx_t *ctx = bd_openai_chat_ctx(r);
    if (ctx->call != nullptr) {
        bd_bedrock_cancel(ctx->call);
        ctx->call = nullptr;
    }
    if (ctx->started) {
        bd_openai_take_usage(r, &ctx->sse.usage);
    }
}

static void
bd_openai_on_drain(bd_request_t *r)
{
    bd_openai_chat_ctx_t *ctx = bd_openai_chat_ctx(r);
    if (ctx->call != nullptr) {
        bd_bedrock_resume(ctx->call);
    }
}

static void
bd_openai_take_usage(bd_request_t *r, const bd_convert_usage_t *u)
{
    r->input_tokens = u->input_tokens;
    r->output_tokens = u->output_tokens;
    r->cache_read_tokens = u->cache_read_tokens;
    r->cache_write_tokens = u->cache_write_tokens;
}

static void
bd_openai_start_stream(bd_openai_chat_ctx_t *ctx)
{
    ctx->started = true;
    bd_http_stream_start(ctx->r, 200, "text/event-stream; charset=utf-8");
    ctx->ping_ev = evtimer_new(ctx->r->w->base, bd_openai_on_ping, ctx);
    bd_openai_arm_ping(ctx);
}

static int
bd_openai_on_event(bd_bedrock_call_t *c, const bd_es_message_t *m)
{
    bd_openai_chat_ctx_t *ctx = (bd_openai_chat_ctx_t *)bd_bedrock_data(c);
    if (!ctx->started) {
        bd_openai_start_stream(ctx);
    }
    const std::string *mtype = bd_es_message_header(m, ":message-type");
    const std::string *etype = bd_es_message_header(m, ":event-type");
    const std::string *xtype = bd_es_message_header(m, ":exception-type");
    json_t *payload = json_loadb((const char *)m->payload, m->payload_len, 0, nullptr);
    std::string out;
    bd_convert_error_t err;
    if (mtype != nullptr && *mtype != "event") {
        const char *name = xtype ? xtype->c_str() : "InternalServerException";
        bd_convert_openai_stream_exception(&ctx->sse, name, payload, &out, &err);
        ctx->r->error_type = name;
    } else if (etype != nullptr && payload != nullptr &&
               bd_convert_openai_stream_feed(&ctx->sse, etype->c_str(), payload, &out, &err) != 0) {
        bd_log_error(BD_LOG_WARN, ctx->r->id, "bedrock stream event %s: %s", etype->c_str(),
                     err.message.c_str());
        if (!ctx->sse.failed) {
            bd_convert_openai_sse_error(&ctx->sse, "server_error", err.message.c_str(), &out);
            ctx->r->error_type = "bad_stream";
        }
    }
    json_decref(payload);
    size_t queued = bd_http_stream_write(ctx->r, out.data(), out.size());
    bd_openai_arm_ping(ctx);
    return queued > ctx->r->out_high_water ? 1 : 0;
}

/* An upstream failure, as the client's error (before any byte) or an error chunk. */
static void
bd_openai_fail(bd_openai_chat_ctx_t *ctx, const bd_bedrock_result_t *res)
{
    bd_request_t *r = ctx->r;
    bd_convert_error_t err;
    bd_openai_upstream_error(res, &err);
    r->error_type = res->error_name.empty() ? "upstream_error" : res->error_name;
    if (ctx->started) {
        std::string out;
        if (!ctx->sse.failed) { /* exception frames were rendered already */
            bd_convert_openai_sse_error(&ctx->sse, err.type, err.message.c_str(), &out);
        }
        bd_openai_take_usage(r, &ctx->sse.usage);
        bd_http_stream_write(r, out.data(), out.size());
        bd_http_stream_end(r);
        return;
    }
    bd_openai_send_error(r, err.status, err.type, nullptr, err.message.c_str());
}

static void
bd_openai_finish_stream(bd_openai_chat_ctx_t *ctx)
{
    std::string out;
    if (bd_convert_openai_stream_end(&ctx->sse, &out) != 0 && ctx->r->error_type.empty()) {
        ctx->r->error_type = "stream_truncated";
    }
    bd_openai_take_usage(ctx->r, &ctx->sse.usage);
    bd_http_stream_write(ctx->r, out.data(), out.size());
    bd_http_stream_end(ctx->r);
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
    bd_openai_take_usage(r, &usage);
    bd_openai_send_json(r, out);
}

static void
bd_openai_on_complete(bd_bedrock_call_t *c, const bd_bedrock_result_t *res)
{
    bd_openai_chat_ctx_t *ctx = (bd_openai_chat_ctx_t *)bd_bedrock_data(c);
    ctx->call = nullptr;
    if (res->kind != BD_BEDROCK_OK) {
        bd_openai_fail(ctx, res);
    } else if (ctx->creq.stream) {
        if (!ctx->started) {
            bd_openai_send_error(ctx->r, 502, "server_error", nullptr,
                                 "Bedrock sent an empty stream");
            return;
        }
        bd_openai_finish_stream(ctx);
    } else {
        bd_openai_finish_json(ctx, *res->body);
    }
}

static const bd_bedrock_handlers_t bd_openai_chat_handlers = {
    bd_openai_on_event,
    bd_openai_on_complete,
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
    r->on_abort = bd_openai_on_abort;
    r->on_drain = bd_openai_on_drain;
    /* OpenAI requests always take Converse: the invoke route speaks Anthropic's body */
    ctx->call = bd_bedrock_call(r, ctx->creq.stream ? BD_OP_CONVERSE_STREAM : BD_OP_CONVERSE,
                                ctx->model.bedrock_id, &body, &bd_openai_chat_handlers, ctx);
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
    ctx->started = false;
    ctx->call = nullptr;
    ctx->ping_ev = nullptr;
    ctx->creq.body = nullptr;
    ctx->ping_interval_ms = bd_anthropic_conf(r->snap)->ping_interval_ms; /* sse_ping_interval */
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
