/*
 * bd_anthropic_messages.cc: POST /v1/messages, the Anthropic API's model call. The
 * shared driver (modules/api/bd_api_relay) runs it; this file says what the bytes are:
 * the client's request converted for Bedrock's Converse or InvokeModel route as the
 * model map says (modules/convert), and Bedrock's answer rendered as an Anthropic
 * message or SSE stream. Worker thread.
 */
#include <string.h>

#include <jansson.h>

#include "core/bd_worker.h"
#include "modules/anthropic/bd_anthropic_int.h"

/* The stream converters of one call; in the request's arena. */
struct bd_anthropic_call_t {
    bd_convert_stream_t sse;
    bd_convert_invoke_stream_t isse;
    char msg_id[40];
};

static bd_anthropic_call_t *
bd_anthropic_state(bd_api_call_t *c)
{
    return (bd_anthropic_call_t *)c->state;
}

static bool
bd_anthropic_invoke(const bd_api_call_t *c)
{
    return c->model->route == BD_ROUTE_INVOKE;
}

static void
bd_anthropic_init(bd_api_call_t *c)
{
    c->state = bd_request_arena_new<bd_anthropic_call_t>(c->r);
}

static int
bd_anthropic_convert(bd_api_call_t *c, bd_convert_error_t *err)
{
    const char *beta = bd_request_header(c->r, "anthropic-beta");
    bool invoke = bd_anthropic_invoke(c);
    int rc = invoke ? bd_convert_anthropic_to_invoke(c->r->json, c->model, beta, &c->creq, err)
                    : bd_convert_anthropic_to_converse(c->r->json, c->model, beta, &c->creq, err);
    c->op = c->creq.stream ? (invoke ? BD_OP_INVOKE_STREAM : BD_OP_CONVERSE_STREAM)
                           : (invoke ? BD_OP_INVOKE : BD_OP_CONVERSE);
    return rc;
}

static void
bd_anthropic_start(bd_api_call_t *c)
{
    bd_anthropic_call_t *s = bd_anthropic_state(c);
    const char *model = c->r->model.c_str(); /* echoed as the client named it */
    bd_worker_request_id(c->r->w, s->msg_id, sizeof(s->msg_id));
    memcpy(s->msg_id, "msg_", 4);
    bd_convert_stream_init(&s->sse, s->msg_id, model, 0);
    bd_convert_invoke_stream_init(&s->isse, model);
}

/* Anthropic's clients see `event: ping`. */
static void
bd_anthropic_ping(std::string *out)
{
    bd_convert_sse_ping(out);
}

static void
bd_anthropic_exception(bd_api_call_t *c, const char *name, json_t *payload, std::string *out)
{
    bd_anthropic_call_t *s = bd_anthropic_state(c);
    bd_convert_error_t err;
    if (bd_anthropic_invoke(c)) {
        bd_convert_invoke_stream_exception(&s->isse, name, payload, out, &err);
    } else {
        bd_convert_stream_exception(&s->sse, name, payload, out, &err);
    }
}

/* InvokeModel's events are Anthropic's already: scanned, most passed on as they are;
 * Converse's text deltas are written from a scan, the rest from a tree. */
static int
bd_anthropic_event(bd_api_call_t *c, const char *type, const char *payload, size_t len,
                   std::string *out, bd_convert_error_t *err)
{
    bd_anthropic_call_t *s = bd_anthropic_state(c);
    if (bd_anthropic_invoke(c)) {
        return bd_convert_invoke_stream_feed(&s->isse, type, payload, len, out, err);
    }
    return bd_convert_stream_feed_text(&s->sse, type, payload, len, out, err);
}

static int
bd_anthropic_end(bd_api_call_t *c, std::string *out)
{
    bd_anthropic_call_t *s = bd_anthropic_state(c);
    if (!bd_anthropic_invoke(c)) {
        bd_convert_stream_end(&s->sse, out);
        return 0;
    }
    if (!s->isse.finished && !s->isse.failed) {
        bd_convert_sse_error(out, "api_error", "the model stream ended early");
        return -1;
    }
    return 0;
}

static void
bd_anthropic_stream_error(bd_api_call_t *, bool framed, const bd_convert_error_t *err,
                          std::string *out)
{
    if (!framed) {
        bd_convert_sse_error(out, err->type, err->message.c_str());
    }
}

static const bd_convert_usage_t *
bd_anthropic_stream_usage(bd_api_call_t *c)
{
    bd_anthropic_call_t *s = bd_anthropic_state(c);
    return bd_anthropic_invoke(c) ? &s->isse.usage : &s->sse.usage;
}

/* Both answers are scanned, not parsed: InvokeModel's is already a message (renamed
 * and passed on), Converse's is written as one. */
static int
bd_anthropic_answer(bd_api_call_t *c, const std::string &body, std::string *out,
                    bd_convert_usage_t *usage, bd_convert_error_t *err)
{
    const char *model = c->r->model.c_str();
    if (bd_anthropic_invoke(c)) {
        return bd_convert_invoke_answer(body.data(), body.size(), model, out, usage, err);
    }
    return bd_convert_converse_answer(body.data(), body.size(), bd_anthropic_state(c)->msg_id,
                                      model, out, usage, err);
}

static void
bd_anthropic_failure(const bd_bedrock_result_t *res, bd_convert_error_t *err)
{
    if (res->kind == BD_BEDROCK_NO_CREDENTIALS) {
        err->status = 503;
        err->type = "api_error";
        err->message = res->message;
        return;
    }
    bd_convert_bedrock_exception(res->error_name.c_str(), res->message.c_str(), err);
}

static int64_t
bd_anthropic_ping_interval(const bd_snapshot_t *snap)
{
    return bd_anthropic_conf(snap)->ping_interval_ms;
}

const bd_api_call_ops_t bd_anthropic_messages_call = {
    bd_anthropic_init,         bd_anthropic_convert,      bd_anthropic_start,
    bd_anthropic_ping,         bd_anthropic_exception,    bd_anthropic_event,
    bd_anthropic_end,          bd_anthropic_stream_error, bd_anthropic_stream_usage,
    bd_anthropic_answer,       bd_anthropic_failure,      bd_anthropic_ping_interval,
};
