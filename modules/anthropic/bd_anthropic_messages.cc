/*
 * bd_anthropic_messages.cc: POST /v1/messages. Validates and converts the client's
 * request (modules/convert), calls Bedrock (modules/bedrock), and turns the answer
 * into an Anthropic message or an SSE stream, with pings while Bedrock is silent
 * and back-pressure from the client socket to the upstream transfer. URL image and
 * document sources (models with url_sources on) are fetched first (modules/fetch).
 * Worker thread.
 */
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "core/bd_http.h"
#include "core/bd_log.h"
#include "core/bd_worker.h"
#include "modules/anthropic/bd_anthropic_int.h"
#include "modules/bedrock/bd_bedrock.h"
#include "modules/fetch/bd_fetch.h"
#include "modules/models/bd_models.h"

struct bd_anthropic_ctx_t {
    bd_request_t *r;
    bd_convert_model_t model;
    bd_convert_request_t creq;
    bool stream;
    bool started; /* SSE headers sent */
    bd_convert_stream_t sse;
    bd_convert_invoke_stream_t isse;
    bd_bedrock_call_t *call;
    struct event *ping_ev;
    int64_t ping_interval_ms;
    char msg_id[40];
};

static void
bd_anthropic_ctx_free(void *data)
{
    bd_anthropic_ctx_t *ctx = (bd_anthropic_ctx_t *)data;
    if (ctx->ping_ev != nullptr) {
        event_free(ctx->ping_ev);
    }
    bd_convert_request_free(&ctx->creq);
    delete ctx;
}

static void
bd_anthropic_arm_ping(bd_anthropic_ctx_t *ctx)
{
    if (ctx->ping_ev == nullptr || ctx->ping_interval_ms <= 0) {
        return;
    }
    struct timeval tv = {(time_t)(ctx->ping_interval_ms / 1000),
                         (suseconds_t)(ctx->ping_interval_ms % 1000) * 1000};
    evtimer_add(ctx->ping_ev, &tv);
}

/* Bedrock has been silent for a ping interval: keep proxies' idle timers happy. */
static void
bd_anthropic_on_ping(evutil_socket_t, short, void *arg) noexcept
{
    bd_anthropic_ctx_t *ctx = (bd_anthropic_ctx_t *)arg;
    std::string out;
    bd_convert_sse_ping(&out);
    bd_http_stream_write(ctx->r, out.data(), out.size());
    bd_anthropic_arm_ping(ctx);
}

static void
bd_anthropic_on_abort(bd_request_t *r)
{
    bd_anthropic_ctx_t *ctx = (bd_anthropic_ctx_t *)r->ctx[bd_anthropic_module.index];
    if (ctx->call != nullptr) {
        bd_bedrock_cancel(ctx->call);
    }
}

static void
bd_anthropic_on_drain(bd_request_t *r)
{
    bd_anthropic_ctx_t *ctx = (bd_anthropic_ctx_t *)r->ctx[bd_anthropic_module.index];
    if (ctx->call != nullptr) {
        bd_bedrock_resume(ctx->call);
    }
}

static void
bd_anthropic_take_usage(bd_request_t *r, const bd_convert_usage_t *u)
{
    r->input_tokens = u->input_tokens;
    r->output_tokens = u->output_tokens;
    r->cache_read_tokens = u->cache_read_tokens;
    r->cache_write_tokens = u->cache_write_tokens;
}

static void
bd_anthropic_start_stream(bd_anthropic_ctx_t *ctx)
{
    ctx->started = true;
    bd_http_stream_start(ctx->r, 200, "text/event-stream; charset=utf-8");
    ctx->ping_ev = evtimer_new(ctx->r->w->base, bd_anthropic_on_ping, ctx);
    bd_anthropic_arm_ping(ctx);
}

static int
bd_anthropic_on_event(bd_bedrock_call_t *c, const bd_es_message_t *m)
{
    bd_anthropic_ctx_t *ctx = (bd_anthropic_ctx_t *)bd_bedrock_data(c);
    if (!ctx->started) {
        bd_anthropic_start_stream(ctx);
    }
    const std::string *mtype = bd_es_message_header(m, ":message-type");
    const std::string *etype = bd_es_message_header(m, ":event-type");
    const std::string *xtype = bd_es_message_header(m, ":exception-type");
    json_t *payload = json_loadb((const char *)m->payload, m->payload_len, 0, nullptr);
    std::string out;
    bd_convert_error_t err;
    bool invoke = ctx->model.route == BD_ROUTE_INVOKE;
    if (mtype != nullptr && *mtype != "event") {
        const char *name = xtype ? xtype->c_str() : "InternalServerException";
        if (invoke) {
            bd_convert_invoke_stream_exception(&ctx->isse, name, payload, &out, &err);
        } else {
            bd_convert_stream_exception(&ctx->sse, name, payload, &out, &err);
        }
        ctx->r->error_type = name;
    } else if (etype != nullptr && payload != nullptr) {
        int rc = invoke ? bd_convert_invoke_stream_feed(&ctx->isse, etype->c_str(), payload, &out,
                                                        &err)
                        : bd_convert_stream_feed(&ctx->sse, etype->c_str(), payload, &out, &err);
        if (rc != 0) {
            bd_log_error(BD_LOG_WARN, ctx->r->id, "bedrock stream event %s: %s", etype->c_str(),
                         err.message.c_str());
        }
    }
    json_decref(payload);
    if (ctx->r->first_byte_us == 0 && !out.empty()) {
        ctx->r->first_byte_us = bd_now_us();
    }
    size_t queued = bd_http_stream_write(ctx->r, out.data(), out.size());
    bd_anthropic_arm_ping(ctx);
    return queued > ctx->r->out_high_water ? 1 : 0;
}

/* An upstream failure, as the client's error (before any byte) or an SSE error event. */
static void
bd_anthropic_fail(bd_anthropic_ctx_t *ctx, const bd_bedrock_result_t *res)
{
    bd_request_t *r = ctx->r;
    bd_convert_error_t err;
    if (res->kind == BD_BEDROCK_NO_CREDENTIALS) {
        err.status = 503;
        err.type = "api_error";
        err.message = res->message;
    } else {
        bd_convert_bedrock_exception(res->error_name.c_str(), res->message.c_str(), &err);
    }
    r->error_type = res->error_name;
    if (ctx->started) {
        std::string out;
        if (res->kind != BD_BEDROCK_STREAM_ERROR) { /* exception frames were rendered already */
            bd_convert_sse_error(&out, err.type, err.message.c_str());
        }
        bd_http_stream_write(r, out.data(), out.size());
        bd_http_stream_end(r);
        return;
    }
    /* Bedrock sends no retry-after; the SDKs wait for one on throttles and overloads. */
    if (err.status == 429 || err.status == 503 || err.status == 529) {
        bd_http_header_out(r, "retry-after", "1");
    }
    bd_http_send_error(r, err.status, err.type, err.message.c_str());
}

static void
bd_anthropic_finish_stream(bd_anthropic_ctx_t *ctx)
{
    std::string out;
    if (ctx->model.route == BD_ROUTE_INVOKE) {
        bd_anthropic_take_usage(ctx->r, &ctx->isse.usage);
        if (!ctx->isse.finished && !ctx->isse.failed) {
            bd_convert_sse_error(&out, "api_error", "the model stream ended early");
        }
    } else {
        bd_convert_stream_end(&ctx->sse, &out);
        bd_anthropic_take_usage(ctx->r, &ctx->sse.usage);
    }
    bd_http_stream_write(ctx->r, out.data(), out.size());
    bd_http_stream_end(ctx->r);
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
    bd_anthropic_take_usage(r, &usage);
    std::string out;
    bd_convert_json_dump(msg, &out);
    json_decref(msg);
    bd_http_send(r, 200, "application/json", out.data(), out.size());
}

static void
bd_anthropic_on_complete(bd_bedrock_call_t *c, const bd_bedrock_result_t *res)
{
    bd_anthropic_ctx_t *ctx = (bd_anthropic_ctx_t *)bd_bedrock_data(c);
    ctx->call = nullptr;
    if (res->kind != BD_BEDROCK_OK) {
        bd_anthropic_fail(ctx, res);
    } else if (ctx->stream) {
        if (!ctx->started) {
            bd_http_send_error(ctx->r, 502, "api_error", "Bedrock sent an empty stream");
            return;
        }
        bd_anthropic_finish_stream(ctx);
    } else {
        bd_anthropic_finish_json(ctx, *res->body);
    }
}

static const bd_bedrock_handlers_t bd_anthropic_bedrock_handlers = {
    bd_anthropic_on_event,
    bd_anthropic_on_complete,
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
    r->on_abort = bd_anthropic_on_abort;
    r->on_drain = bd_anthropic_on_drain;
    ctx->call = bd_bedrock_call(r, op, ctx->model.bedrock_id, &body,
                                &bd_anthropic_bedrock_handlers, ctx);
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
    ctx->started = false;
    ctx->call = nullptr;
    ctx->ping_ev = nullptr;
    ctx->creq.body = nullptr;
    ctx->ping_interval_ms = bd_anthropic_conf(r->snap)->ping_interval_ms;
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
