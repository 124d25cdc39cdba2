/*
 * bd_convert_openai_stream.cc: ConverseStream events -> chat.completion.chunk SSE, one
 * event at a time. Invariants the SDK's accumulator relies on: choice index always 0,
 * delta.role in the first chunk, tool_calls[].index a dense counter from 0 per call (never
 * Bedrock's contentBlockIndex), a finish_reason chunk, the usage chunk only when asked for,
 * then data: [DONE]; a failure is an {"error":...} chunk and never a quiet finish.
 * Pure, any thread; the state belongs to one request.
 */
#include <string.h>

#include "modules/convert/bd_convert_openai_int.h"

void
bd_convert_openai_stream_init(bd_convert_openai_stream_t *s, const char *id, int64_t created,
                              const char *client_model, bool include_usage)
{
    *s = bd_convert_openai_stream_t();
    s->id = id;
    s->created = created;
    s->client_model = client_model;
    s->include_usage = include_usage;
}

static void
bd_cvo_data(std::string *out, json_t *j)
{
    std::string js;
    bd_convert_json_dump(j, &js);
    json_decref(j);
    out->append("data: ").append(js).append("\n\n");
}

/* A chunk with one choice carrying <delta> (taken over) and <finish> (null: none). */
static void
bd_cvo_chunk(bd_convert_openai_stream_t *s, json_t *delta, const char *finish, std::string *out)
{
    json_t *choice = json_pack("{s:i,s:o,s:n}", "index", 0, "delta", delta, "logprobs");
    json_object_set_new(choice, "finish_reason", finish ? json_string(finish) : json_null());
    json_t *c = json_pack("{s:s,s:s,s:I,s:s,s:n,s:[o]}", "id", s->id.c_str(), "object",
                          "chat.completion.chunk", "created", (json_int_t)s->created, "model",
                          s->client_model.c_str(), "system_fingerprint", "choices", choice);
    if (s->include_usage) {
        json_object_set_new(c, "usage", json_null());
    }
    bd_cvo_data(out, c);
}

static void
bd_cvo_role(bd_convert_openai_stream_t *s, std::string *out)
{
    if (!s->role_sent) {
        s->role_sent = true;
        bd_cvo_chunk(s, json_pack("{s:s,s:s}", "role", "assistant", "content", ""), nullptr, out);
    }
}

static void
bd_cvo_finish(bd_convert_openai_stream_t *s, std::string *out)
{
    if (s->include_usage) {
        json_t *c = json_pack("{s:s,s:s,s:I,s:s,s:n,s:[],s:o}", "id", s->id.c_str(), "object",
                              "chat.completion.chunk", "created", (json_int_t)s->created,
                              "model", s->client_model.c_str(), "system_fingerprint", "choices",
                              "usage", bd_convert_openai_usage(&s->usage));
        bd_cvo_data(out, c);
    }
    out->append("data: [DONE]\n\n");
    s->finished = true;
}

static const bd_convert_openai_tool_t *
bd_cvo_find_tool(const bd_convert_openai_stream_t *s, int64_t bedrock_index)
{
    for (const bd_convert_openai_tool_t &t : s->tools) {
        if (t.bedrock_index == bedrock_index) {
            return &t;
        }
    }
    return nullptr;
}

static void
bd_cvo_tool_start(bd_convert_openai_stream_t *s, const bd_bedrock_event_t *ev, std::string *out)
{
    if (ev->start_kind != BD_BLOCK_TOOL_USE || bd_cvo_find_tool(s, ev->index)) {
        return;
    }
    bd_convert_openai_tool_t t = {ev->index, s->next_tool++};
    s->tools.push_back(t);
    json_t *call = json_pack("{s:i,s:s,s:s,s:{s:s,s:s}}", "index", t.index, "id", ev->id, "type",
                             "function", "function", "name", ev->name, "arguments", "");
    bd_cvo_chunk(s, json_pack("{s:[o]}", "tool_calls", call), nullptr, out);
}

static void
bd_cvo_delta(bd_convert_openai_stream_t *s, const bd_bedrock_event_t *ev, std::string *out)
{
    if (ev->text == nullptr || ev->text[0] == '\0') {
        return;
    }
    switch (ev->delta) {
    case BD_DELTA_TEXT:
        bd_cvo_chunk(s, json_pack("{s:s}", "content", ev->text), nullptr, out);
        break;
    case BD_DELTA_REASONING_TEXT:
        /* the de-facto field (DeepSeek, LiteLLM); SDKs copy unknown delta keys */
        bd_cvo_chunk(s, json_pack("{s:s}", "reasoning_content", ev->text), nullptr, out);
        break;
    case BD_DELTA_TOOL_INPUT: {
        const bd_convert_openai_tool_t *t = bd_cvo_find_tool(s, ev->index);
        if (t) {
            json_t *call = json_pack("{s:i,s:{s:s}}", "index", t->index, "function", "arguments",
                                     ev->text);
            bd_cvo_chunk(s, json_pack("{s:[o]}", "tool_calls", call), nullptr, out);
        }
        break;
    }
    default:
        /* signatures, redacted reasoning and citations have no place in a chunk */
        break;
    }
}

int
bd_convert_openai_stream_feed(bd_convert_openai_stream_t *s, const char *event_type,
                              json_t *payload, std::string *out, bd_convert_error_t *err)
{
    if (s->finished || s->failed) {
        return 0;
    }
    bd_bedrock_event_t ev;
    if (bd_convert_stream_event_parse(event_type, payload, &ev, err) != 0) {
        return -1;
    }
    if (ev.type == BD_EV_UNKNOWN || ev.type == BD_EV_BLOCK_STOP) {
        return 0;
    }
    if (ev.type == BD_EV_METADATA) {
        if (ev.has_usage) {
            s->usage = ev.usage;
            s->have_usage = true;
        }
        if (s->have_stop && s->have_usage) {
            bd_cvo_finish(s, out);
        }
        return 0;
    }
    if (s->have_stop) {
        return 0; /* content after messageStop: the answer is already closed */
    }
    bd_cvo_role(s, out);
    if (ev.type == BD_EV_BLOCK_START) {
        bd_cvo_tool_start(s, &ev, out);
    } else if (ev.type == BD_EV_BLOCK_DELTA) {
        bd_cvo_delta(s, &ev, out);
    } else if (ev.type == BD_EV_MESSAGE_STOP) {
        s->have_stop = true;
        bd_cvo_chunk(s, json_object(), bd_convert_stop_openai(ev.stop), out);
        if (s->have_usage) {
            bd_cvo_finish(s, out);
        }
    }
    return 0;
}

void
bd_convert_openai_sse_error(bd_convert_openai_stream_t *s, const char *type, const char *message,
                            std::string *out)
{
    std::string body;
    bd_convert_openai_error_body(type, message, nullptr, nullptr, &body);
    out->append("data: ").append(body).append("\n\n");
    if (s) {
        s->failed = true;
    }
}

void
bd_convert_openai_sse_ping(std::string *out)
{
    out->append(": ping\n\n");
}

void
bd_convert_openai_stream_exception(bd_convert_openai_stream_t *s, const char *exception_type,
                                   json_t *payload, std::string *out, bd_convert_error_t *err)
{
    bd_convert_error_t e;
    bd_convert_bedrock_exception_openai(exception_type, bd_convert_bedrock_error_message(payload),
                                        &e);
    if (!s->finished && !s->failed) {
        bd_convert_openai_sse_error(s, e.type, e.message.c_str(), out);
    }
    s->failed = true;
    if (err) {
        *err = e;
    }
}

int
bd_convert_openai_stream_end(bd_convert_openai_stream_t *s, std::string *out)
{
    if (s->finished) {
        return 0;
    }
    if (s->failed) {
        return -1;
    }
    if (s->have_stop) {
        /* no metadata: close with the counts known so far */
        bd_cvo_finish(s, out);
        return 0;
    }
    bd_convert_openai_sse_error(s, "server_error", "the model stream ended early", out);
    return -1;
}
