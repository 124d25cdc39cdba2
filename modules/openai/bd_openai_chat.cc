/*
 * bd_openai_chat.cc: POST <prefix>/chat/completions, the OpenAI API's model call. The
 * shared driver (modules/api/bd_api_relay) runs it; this file says what the bytes are:
 * the client's request converted for Converse or ConverseStream whatever route the model
 * map gives the model (the invoke route speaks Anthropic's body), and the answer rendered
 * as a chat.completion or a chunk stream. A failure after the stream started is an
 * {"error":...} chunk, never a quiet finish. Worker thread.
 */
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "core/bd_worker.h"
#include "modules/anthropic/bd_anthropic_int.h"
#include "modules/openai/bd_openai_int.h"

/* One chat's converter state; in the request's arena. */
struct bd_openai_chat_t {
    bd_convert_openai_chat_t chat;
    bd_convert_openai_stream_t sse;
    int64_t created;
    char id[48];
};

static bd_openai_chat_t *
bd_openai_state(bd_api_call_t *c)
{
    return (bd_openai_chat_t *)c->state;
}

static void
bd_openai_chat_init(bd_api_call_t *c)
{
    bd_openai_chat_t *s = bd_request_arena_new<bd_openai_chat_t>(c->r);
    s->created = (int64_t)time(nullptr);
    char rid[40];
    bd_worker_request_id(c->r->w, rid, sizeof(rid));
    snprintf(s->id, sizeof(s->id), "chatcmpl-%s", rid + 4); /* past "req_" */
    c->state = s;
}

static int
bd_openai_chat_convert(bd_api_call_t *c, bd_convert_error_t *err)
{
    bd_openai_chat_t *s = bd_openai_state(c);
    int64_t def = bd_openai_conf(c->r->snap)->default_max_tokens;
    int rc = bd_convert_openai_to_converse(c->r->json, c->model, def, &c->creq, &s->chat, err);
    c->op = c->creq.stream ? BD_OP_CONVERSE_STREAM : BD_OP_CONVERSE;
    return rc;
}

static void
bd_openai_chat_start(bd_api_call_t *c)
{
    bd_openai_chat_t *s = bd_openai_state(c);
    bd_convert_openai_stream_init(&s->sse, s->id, s->created, c->r->model.c_str(),
                                  s->chat.include_usage);
}

/* OpenAI's clients skip SSE comments: pings are `: ping` lines. */
static void
bd_openai_chat_ping(std::string *out)
{
    bd_convert_openai_sse_ping(out);
}

static void
bd_openai_chat_exception(bd_api_call_t *c, const char *name, json_t *payload, std::string *out)
{
    bd_convert_error_t err;
    bd_convert_openai_stream_exception(&bd_openai_state(c)->sse, name, payload, out, &err);
}

/* An event that cannot be converted ends the chunks with an error chunk, never a quiet
 * gap. */
static int
bd_openai_chat_event(bd_api_call_t *c, const char *type, const char *payload, size_t len,
                     std::string *out, bd_convert_error_t *err)
{
    bd_openai_chat_t *s = bd_openai_state(c);
    json_t *tree = bd_api_event_tree(payload, len, err);
    if (tree == nullptr) {
        return -1;
    }
    int rc = bd_convert_openai_stream_feed(&s->sse, type, tree, out, err);
    json_decref(tree);
    if (rc == 0) {
        return 0;
    }
    if (!s->sse.failed) {
        bd_convert_openai_sse_error(&s->sse, "server_error", err->message.c_str(), out);
        c->r->error_type = "bad_stream";
    }
    return -1;
}

static int
bd_openai_chat_end(bd_api_call_t *c, std::string *out)
{
    return bd_convert_openai_stream_end(&bd_openai_state(c)->sse, out);
}

static void
bd_openai_chat_stream_error(bd_api_call_t *c, bool, const bd_convert_error_t *err,
                            std::string *out)
{
    bd_openai_chat_t *s = bd_openai_state(c);
    if (!s->sse.failed) { /* exception frames were rendered already */
        bd_convert_openai_sse_error(&s->sse, err->type, err->message.c_str(), out);
    }
}

static const bd_convert_usage_t *
bd_openai_chat_stream_usage(bd_api_call_t *c)
{
    return &bd_openai_state(c)->sse.usage;
}

static int
bd_openai_chat_answer(bd_api_call_t *c, const std::string &body, std::string *out,
                      bd_convert_usage_t *usage, bd_convert_error_t *err)
{
    bd_openai_chat_t *s = bd_openai_state(c);
    json_t *resp = bd_api_answer_tree(body, err);
    json_t *chat = resp ? bd_convert_converse_to_openai(resp, s->id, s->created,
                                                        c->r->model.c_str(), usage, err)
                        : nullptr;
    json_decref(resp);
    return bd_api_answer_text(chat, out);
}

static int64_t
bd_openai_chat_ping_interval(const bd_snapshot_t *snap)
{
    return bd_anthropic_conf(snap)->ping_interval_ms; /* sse_ping_interval */
}

const bd_api_call_ops_t bd_openai_chat_call = {
    bd_openai_chat_init,         bd_openai_chat_convert,      bd_openai_chat_start,
    bd_openai_chat_ping,         bd_openai_chat_exception,    bd_openai_chat_event,
    bd_openai_chat_end,          bd_openai_chat_stream_error, bd_openai_chat_stream_usage,
    bd_openai_chat_answer,       bd_openai_upstream_error,    bd_openai_chat_ping_interval,
};
