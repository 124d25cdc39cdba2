/*
 * bd_convert_responses_stream.cc: ConverseStream events -> Responses SSE events, one
 * event at a time. Each Bedrock content block is one output item, announced by
 * response.output_item.added on its first event and closed by its .done events when the
 * block stops (or at messageStop): text as a message with one output_text part, reasoning
 * with one summary part, a tool use as a function_call. Every event carries a
 * sequence_number from 0; the answer ends with response.completed (or
 * response.incomplete), a failure with "error" and response.failed, never quietly.
 * Pure, any thread; the state belongs to one request.
 */
#include <string.h>

#include "modules/convert/bd_convert_int.h"
#include "modules/convert/bd_convert_responses.h"

typedef bd_convert_responses_stream_t bd_cvr_stream_t;
typedef bd_convert_responses_item_t bd_cvr_item_t;

void
bd_convert_responses_stream_init(bd_cvr_stream_t *s, const bd_convert_responses_meta_t *m)
{
    *s = bd_cvr_stream_t();
    s->meta = m;
}

void
bd_convert_responses_stream_free(bd_cvr_stream_t *s)
{
    json_decref(s->response);
    s->response = nullptr;
}

/* Appends "event: <type>" and its data (<ev>, taken over) with the next sequence number. */
static void
bd_cvr_emit(bd_cvr_stream_t *s, const char *type, json_t *ev, std::string *out)
{
    /* type first, as OpenAI writes it */
    json_t *o = json_pack("{s:s,s:I}", "type", type, "sequence_number", (json_int_t)s->seq++);
    json_object_update(o, ev);
    json_decref(ev);
    std::string js;
    bd_convert_json_dump(o, &js);
    json_decref(o);
    out->append("event: ").append(type).append("\ndata: ").append(js).append("\n\n");
}

/* The signed thinking blocks of a reasoning item, as the chat adapter takes them back. */
static json_t *
bd_cvr_thinking_blocks(const bd_cvr_item_t *it)
{
    if (!it->redacted.empty()) {
        return json_pack("[{s:s,s:s}]", "type", "redacted_thinking", "data", it->redacted.c_str());
    }
    if (it->signature.empty()) {
        return nullptr;
    }
    return json_pack("[{s:s,s:s%,s:s}]", "type", "thinking", "thinking", it->text.data(),
                     it->text.size(), "signature", it->signature.c_str());
}

static json_t *
bd_cvr_text_part(const bd_cvr_item_t *it)
{
    return json_pack("{s:s,s:s%,s:[],s:[]}", "type", "output_text", "text", it->text.data(),
                     it->text.size(), "annotations", "logprobs");
}

/* The item as output_item.added (<done> false) or output_item.done shows it. */
static json_t *
bd_cvr_item_json(const bd_cvr_item_t *it, bool done)
{
    const char *status = done ? "completed" : "in_progress";
    if (it->kind == BD_BLOCK_TOOL_USE) {
        return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s%}", "id", it->id.c_str(), "type",
                         "function_call", "status", status, "call_id", it->call_id.c_str(),
                         "name", it->name.c_str(), "arguments", it->text.data(),
                         done ? it->text.size() : 0);
    }
    if (it->kind == BD_BLOCK_REASONING) {
        json_t *summary = json_array();
        if (done && !it->text.empty()) {
            json_array_append_new(summary, json_pack("{s:s,s:s%}", "type", "summary_text", "text",
                                                     it->text.data(), it->text.size()));
        }
        json_t *item = json_pack("{s:s,s:s,s:o}", "id", it->id.c_str(), "type", "reasoning",
                                 "summary", summary);
        json_t *blocks = done ? bd_cvr_thinking_blocks(it) : nullptr;
        if (blocks) {
            std::string js, b64;
            bd_convert_json_dump(blocks, &js);
            json_decref(blocks);
            bd_cv_base64_encode((const unsigned char *)js.data(), js.size(), &b64);
            bd_cv_set_str(item, "encrypted_content", b64.c_str());
        }
        return item;
    }
    json_t *content = json_array();
    if (done) {
        json_array_append_new(content, bd_cvr_text_part(it));
    }
    return json_pack("{s:s,s:s,s:s,s:s,s:o}", "id", it->id.c_str(), "type", "message", "status",
                     status, "role", "assistant", "content", content);
}

static size_t
bd_cvr_index_of(const bd_cvr_stream_t *s, const bd_cvr_item_t *it)
{
    return (size_t)(it - s->items.data());
}

/* An event about item <it> with its item_id and output_index. */
static json_t *
bd_cvr_item_event(const bd_cvr_stream_t *s, const bd_cvr_item_t *it)
{
    return json_pack("{s:s,s:I}", "item_id", it->id.c_str(), "output_index",
                     (json_int_t)bd_cvr_index_of(s, it));
}

static bd_cvr_item_t *
bd_cvr_find(bd_cvr_stream_t *s, int64_t bedrock_index)
{
    for (bd_cvr_item_t &it : s->items) {
        if (it.bedrock_index == bedrock_index) {
            return &it;
        }
    }
    return nullptr;
}

/* Announces a new item for block <bedrock_index>; <call_id> and <name> for a tool use. */
static bd_cvr_item_t *
bd_cvr_open(bd_cvr_stream_t *s, int64_t bedrock_index, int kind, const char *call_id,
            const char *name, std::string *out)
{
    const char *base = strchr(s->meta->id.c_str(), '_');
    bd_cvr_item_t it;
    it.bedrock_index = bedrock_index;
    it.kind = kind;
    if (kind == BD_BLOCK_TOOL_USE) {
        it.id = std::string("fc_") + call_id;
        it.call_id = call_id;
        it.name = name;
    } else {
        it.id = std::string(kind == BD_BLOCK_TEXT ? "msg_" : "rs_") +
                (base ? base + 1 : s->meta->id.c_str()) + "_" + std::to_string(s->items.size());
    }
    it.part = false;
    it.open = true;
    s->items.push_back(it);
    bd_cvr_item_t *p = &s->items.back();
    json_t *ev = json_pack("{s:I,s:o}", "output_index", (json_int_t)(s->items.size() - 1), "item",
                           bd_cvr_item_json(p, false));
    bd_cvr_emit(s, "response.output_item.added", ev, out);
    if (kind == BD_BLOCK_TEXT) {
        ev = bd_cvr_item_event(s, p);
        json_object_set_new(ev, "content_index", json_integer(0));
        json_object_set_new(ev, "part", bd_cvr_text_part(p));
        bd_cvr_emit(s, "response.content_part.added", ev, out);
    }
    return p;
}

static void
bd_cvr_close_text(bd_cvr_stream_t *s, bd_cvr_item_t *it, std::string *out)
{
    json_t *ev = bd_cvr_item_event(s, it);
    json_object_set_new(ev, "content_index", json_integer(0));
    json_object_set_new(ev, "text", json_stringn(it->text.data(), it->text.size()));
    json_object_set_new(ev, "logprobs", json_array());
    bd_cvr_emit(s, "response.output_text.done", ev, out);
    ev = bd_cvr_item_event(s, it);
    json_object_set_new(ev, "content_index", json_integer(0));
    json_object_set_new(ev, "part", bd_cvr_text_part(it));
    bd_cvr_emit(s, "response.content_part.done", ev, out);
}

static void
bd_cvr_close_reasoning(bd_cvr_stream_t *s, bd_cvr_item_t *it, std::string *out)
{
    if (!it->part) {
        return;
    }
    json_t *ev = bd_cvr_item_event(s, it);
    json_object_set_new(ev, "summary_index", json_integer(0));
    json_object_set_new(ev, "text", json_stringn(it->text.data(), it->text.size()));
    bd_cvr_emit(s, "response.reasoning_summary_text.done", ev, out);
    ev = bd_cvr_item_event(s, it);
    json_object_set_new(ev, "summary_index", json_integer(0));
    json_object_set_new(ev, "part", json_pack("{s:s,s:s%}", "type", "summary_text", "text",
                                              it->text.data(), it->text.size()));
    bd_cvr_emit(s, "response.reasoning_summary_part.done", ev, out);
}

static void
bd_cvr_close(bd_cvr_stream_t *s, bd_cvr_item_t *it, std::string *out)
{
    if (!it->open) {
        return;
    }
    it->open = false;
    if (it->kind == BD_BLOCK_TEXT) {
        bd_cvr_close_text(s, it, out);
    } else if (it->kind == BD_BLOCK_REASONING) {
        bd_cvr_close_reasoning(s, it, out);
    } else {
        json_t *ev = bd_cvr_item_event(s, it);
        json_object_set_new(ev, "name", json_string(it->name.c_str()));
        json_object_set_new(ev, "arguments", json_stringn(it->text.data(), it->text.size()));
        bd_cvr_emit(s, "response.function_call_arguments.done", ev, out);
    }
    json_t *ev = json_pack("{s:I,s:o}", "output_index", (json_int_t)bd_cvr_index_of(s, it),
                           "item", bd_cvr_item_json(it, true));
    bd_cvr_emit(s, "response.output_item.done", ev, out);
}

static void
bd_cvr_reasoning_delta(bd_cvr_stream_t *s, bd_cvr_item_t *it, const bd_bedrock_event_t *ev,
                       std::string *out)
{
    if (ev->delta == BD_DELTA_SIGNATURE) {
        it->signature += ev->text;
        return;
    }
    if (ev->delta == BD_DELTA_REDACTED) {
        it->redacted += ev->text;
        return;
    }
    if (!it->part) {
        it->part = true;
        json_t *e = bd_cvr_item_event(s, it);
        json_object_set_new(e, "summary_index", json_integer(0));
        json_object_set_new(e, "part", json_pack("{s:s,s:s}", "type", "summary_text", "text", ""));
        bd_cvr_emit(s, "response.reasoning_summary_part.added", e, out);
    }
    it->text += ev->text;
    json_t *e = bd_cvr_item_event(s, it);
    json_object_set_new(e, "summary_index", json_integer(0));
    json_object_set_new(e, "delta", json_string(ev->text));
    bd_cvr_emit(s, "response.reasoning_summary_text.delta", e, out);
}

static void
bd_cvr_delta(bd_cvr_stream_t *s, const bd_bedrock_event_t *ev, std::string *out)
{
    if (ev->text == nullptr || ev->text[0] == '\0') {
        return;
    }
    bd_cvr_item_t *it = bd_cvr_find(s, ev->index);
    if (it == nullptr) {
        if (ev->delta == BD_DELTA_TEXT) {
            it = bd_cvr_open(s, ev->index, BD_BLOCK_TEXT, nullptr, nullptr, out);
        } else if (ev->delta == BD_DELTA_REASONING_TEXT || ev->delta == BD_DELTA_SIGNATURE ||
                   ev->delta == BD_DELTA_REDACTED) {
            it = bd_cvr_open(s, ev->index, BD_BLOCK_REASONING, nullptr, nullptr, out);
        } else {
            return; /* citations; tool input without its start */
        }
    }
    if (!it->open) {
        return;
    }
    if (it->kind == BD_BLOCK_REASONING) {
        bd_cvr_reasoning_delta(s, it, ev, out);
        return;
    }
    bool text = it->kind == BD_BLOCK_TEXT && ev->delta == BD_DELTA_TEXT;
    bool args = it->kind == BD_BLOCK_TOOL_USE && ev->delta == BD_DELTA_TOOL_INPUT;
    if (!text && !args) {
        return;
    }
    it->text += ev->text;
    json_t *e = bd_cvr_item_event(s, it);
    if (text) {
        json_object_set_new(e, "content_index", json_integer(0));
    }
    json_object_set_new(e, "delta", json_string(ev->text));
    if (text) {
        json_object_set_new(e, "logprobs", json_array());
    }
    bd_cvr_emit(s, text ? "response.output_text.delta" : "response.function_call_arguments.delta",
                e, out);
}

static json_t *
bd_cvr_in_progress(const bd_cvr_stream_t *s)
{
    return bd_convert_responses_object(s->meta, "in_progress", nullptr, nullptr, nullptr,
                                       nullptr);
}

void
bd_convert_responses_stream_start(bd_cvr_stream_t *s, std::string *out)
{
    if (s->started) {
        return;
    }
    s->started = true;
    bd_cvr_emit(s, "response.created", json_pack("{s:o}", "response", bd_cvr_in_progress(s)),
                out);
    bd_cvr_emit(s, "response.in_progress", json_pack("{s:o}", "response", bd_cvr_in_progress(s)),
                out);
}

static void
bd_cvr_finish(bd_cvr_stream_t *s, std::string *out)
{
    json_t *output = json_array();
    size_t reasoning = 0;
    for (const bd_cvr_item_t &it : s->items) {
        json_array_append_new(output, bd_cvr_item_json(&it, true));
        reasoning += it.kind == BD_BLOCK_REASONING ? it.text.size() : 0;
    }
    const char *finish = bd_convert_stop_openai(s->stop);
    json_t *incomplete = nullptr;
    if (strcmp(finish, "length") == 0) {
        incomplete = json_pack("{s:s}", "reason", "max_output_tokens");
    } else if (strcmp(finish, "content_filter") == 0) {
        incomplete = json_pack("{s:s}", "reason", "content_filter");
    }
    s->response = bd_convert_responses_object(s->meta, incomplete ? "incomplete" : "completed",
                                              output,
                                              bd_convert_responses_usage(&s->usage, reasoning),
                                              incomplete, nullptr);
    bd_cvr_emit(s, incomplete ? "response.incomplete" : "response.completed",
                json_pack("{s:O}", "response", s->response), out);
    s->finished = true;
}

int
bd_convert_responses_stream_feed(bd_cvr_stream_t *s, const char *event_type, json_t *payload,
                                 std::string *out, bd_convert_error_t *err)
{
    if (s->finished || s->failed) {
        return 0;
    }
    bd_bedrock_event_t ev;
    if (bd_convert_stream_event_parse(event_type, payload, &ev, err) != 0) {
        return -1;
    }
    bd_convert_responses_stream_start(s, out);
    if (ev.type == BD_EV_METADATA) {
        if (ev.has_usage) {
            s->usage = ev.usage;
            s->have_usage = true;
        }
        if (s->have_stop && s->have_usage) {
            bd_cvr_finish(s, out);
        }
        return 0;
    }
    if (s->have_stop) {
        return 0; /* content after messageStop: the answer is already closed */
    }
    if (ev.type == BD_EV_BLOCK_START && ev.start_kind == BD_BLOCK_TOOL_USE &&
        bd_cvr_find(s, ev.index) == nullptr) {
        bd_cvr_open(s, ev.index, BD_BLOCK_TOOL_USE, ev.id ? ev.id : "", ev.name ? ev.name : "",
                    out);
    }
    if (ev.type == BD_EV_BLOCK_DELTA) {
        bd_cvr_delta(s, &ev, out);
    } else if (ev.type == BD_EV_BLOCK_STOP) {
        bd_cvr_item_t *it = bd_cvr_find(s, ev.index);
        if (it) {
            bd_cvr_close(s, it, out);
        }
    } else if (ev.type == BD_EV_MESSAGE_STOP) {
        for (bd_cvr_item_t &it : s->items) {
            bd_cvr_close(s, &it, out);
        }
        s->have_stop = true;
        s->stop = ev.stop;
        if (s->have_usage) {
            bd_cvr_finish(s, out);
        }
    }
    return 0;
}

void
bd_convert_responses_stream_error(bd_cvr_stream_t *s, const char *type, const char *message,
                                  std::string *out)
{
    bd_convert_responses_stream_start(s, out);
    json_t *ev = json_pack("{s:s,s:s,s:n}", "code", type, "message", message, "param");
    bd_cvr_emit(s, "error", ev, out);
    json_t *output = json_array();
    for (const bd_cvr_item_t &it : s->items) {
        json_array_append_new(output, bd_cvr_item_json(&it, true));
    }
    json_t *resp = bd_convert_responses_object(s->meta, "failed", output, nullptr, nullptr,
                                               json_pack("{s:s,s:s}", "code", type, "message",
                                                         message));
    bd_cvr_emit(s, "response.failed", json_pack("{s:o}", "response", resp), out);
    s->failed = true;
}

void
bd_convert_responses_stream_exception(bd_cvr_stream_t *s, const char *exception_type,
                                      json_t *payload, std::string *out, bd_convert_error_t *err)
{
    bd_convert_error_t e;
    bd_convert_bedrock_exception_openai(exception_type, bd_convert_bedrock_error_message(payload),
                                        &e);
    if (!s->finished && !s->failed) {
        bd_convert_responses_stream_error(s, e.type, e.message.c_str(), out);
    }
    s->failed = true;
    if (err) {
        *err = e;
    }
}

int
bd_convert_responses_stream_end(bd_cvr_stream_t *s, std::string *out)
{
    if (s->finished) {
        return 0;
    }
    if (s->failed) {
        return -1;
    }
    if (s->have_stop) {
        bd_cvr_finish(s, out); /* no metadata: the counts known so far */
        return 0;
    }
    bd_convert_responses_stream_error(s, "server_error", "the model stream ended early", out);
    return -1;
}
