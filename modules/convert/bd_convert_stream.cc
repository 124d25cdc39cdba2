/*
 * bd_convert_stream.cc: ConverseStream events -> Anthropic SSE, one event at a time.
 * Owned by one request (its worker thread). Invariants: message_start comes first;
 * every block gets a content_block_start (synthesized for text and reasoning, which
 * Bedrock never starts), indexes are dense and blocks do not overlap; message_delta is
 * held until both messageStop and the usage in metadata have arrived.
 */
#include <stdio.h>
#include <string.h>

#include "core/bd_json_scan.h"
#include "modules/convert/bd_convert_int.h"

/* Appends an SSE event and releases <data>. */
static void
bd_cv_emit(std::string *out, const char *name, json_t *data)
{
    bd_convert_sse_event(out, name, data);
    json_decref(data);
}

void
bd_convert_stream_init(bd_convert_stream_t *s, const char *msg_id, const char *client_model,
                       int64_t input_estimate)
{
    *s = bd_convert_stream_t();
    s->msg_id = msg_id;
    s->client_model = client_model;
    s->input_estimate = input_estimate;
}

static void
bd_cv_stream_start(bd_convert_stream_t *s, std::string *out)
{
    if (s->started) {
        return;
    }
    s->started = true;
    json_t *msg =
        json_pack("{s:s,s:s,s:s,s:s,s:[],s:n,s:n,s:{s:I,s:I}}", "id", s->msg_id.c_str(), "type",
                  "message", "role", "assistant", "model", s->client_model.c_str(), "content",
                  "stop_reason", "stop_sequence", "usage", "input_tokens",
                  (json_int_t)s->input_estimate, "output_tokens", (json_int_t)0);
    bd_cv_emit(out, "message_start",
               json_pack("{s:s,s:o}", "type", "message_start", "message", msg));
}

static bd_convert_stream_block_t *
bd_cv_stream_find(bd_convert_stream_t *s, int64_t bedrock_index)
{
    for (bd_convert_stream_block_t &b : s->blocks) {
        if (b.bedrock_index == bedrock_index) {
            return &b;
        }
    }
    return nullptr;
}

static void
bd_cv_stream_close(bd_convert_stream_block_t *b, std::string *out)
{
    if (!b->open) {
        return;
    }
    b->open = false;
    bd_cv_emit(out, "content_block_stop",
               json_pack("{s:s,s:i}", "type", "content_block_stop", "index", b->index));
}

static void
bd_cv_stream_close_all(bd_convert_stream_t *s, std::string *out)
{
    for (bd_convert_stream_block_t &b : s->blocks) {
        bd_cv_stream_close(&b, out);
    }
}

/* Opens a block; Anthropic blocks do not interleave, so any open one is closed first.
 * <cb> (the content_block) is stolen. */
static bd_convert_stream_block_t *
bd_cv_stream_open(bd_convert_stream_t *s, int64_t bedrock_index, int kind, json_t *cb,
                  std::string *out)
{
    bd_cv_stream_close_all(s, out);
    bd_convert_stream_block_t b = {bedrock_index, s->next_index++, kind, true};
    s->blocks.push_back(b);
    bd_cv_emit(out, "content_block_start",
               json_pack("{s:s,s:i,s:o}", "type", "content_block_start", "index", b.index,
                         "content_block", cb));
    return &s->blocks.back();
}

static void
bd_cv_stream_delta(bd_convert_stream_block_t *b, json_t *delta, std::string *out)
{
    bd_cv_emit(out, "content_block_delta",
               json_pack("{s:s,s:i,s:o}", "type", "content_block_delta", "index", b->index, "delta",
                         delta));
}

/* The block a delta belongs to, opened from the delta's kind when Bedrock sent no start. */
static bd_convert_stream_block_t *
bd_cv_stream_block_for(bd_convert_stream_t *s, const bd_bedrock_event_t *ev, std::string *out)
{
    bd_convert_stream_block_t *b = bd_cv_stream_find(s, ev->index);

    if (b) {
        return b->open ? b : nullptr;
    }
    switch (ev->delta) {
    case BD_DELTA_TEXT:
    case BD_DELTA_CITATION:
        return bd_cv_stream_open(s, ev->index, BD_BLOCK_TEXT,
                                 json_pack("{s:s,s:s}", "type", "text", "text", ""), out);
    case BD_DELTA_REASONING_TEXT:
    case BD_DELTA_SIGNATURE:
        return bd_cv_stream_open(
            s, ev->index, BD_BLOCK_REASONING,
            json_pack("{s:s,s:s,s:s}", "type", "thinking", "thinking", "", "signature", ""), out);
    case BD_DELTA_REDACTED:
        /* redacted thinking has no deltas: all of it is in the start */
        return bd_cv_stream_open(
            s, ev->index, BD_BLOCK_REDACTED,
            json_pack("{s:s,s:s}", "type", "redacted_thinking", "data", ev->text), out);
    default:
        return nullptr;
    }
}

static int
bd_cv_stream_on_delta(bd_convert_stream_t *s, const bd_bedrock_event_t *ev, std::string *out,
                      bd_convert_error_t *err)
{
    if (ev->delta == BD_DELTA_TOOL_INPUT && !bd_cv_stream_find(s, ev->index)) {
        return bd_cv_upstream(err, "tool input for a block that was never started");
    }
    bd_convert_stream_block_t *b = bd_cv_stream_block_for(s, ev, out);
    if (!b) {
        return 0;
    }
    switch (ev->delta) {
    case BD_DELTA_TEXT:
        if (*ev->text) {
            bd_cv_stream_delta(b, json_pack("{s:s,s:s}", "type", "text_delta", "text", ev->text),
                               out);
        }
        break;
    case BD_DELTA_TOOL_INPUT:
        bd_cv_stream_delta(
            b, json_pack("{s:s,s:s}", "type", "input_json_delta", "partial_json", ev->text), out);
        break;
    case BD_DELTA_REASONING_TEXT:
        bd_cv_stream_delta(
            b, json_pack("{s:s,s:s}", "type", "thinking_delta", "thinking", ev->text), out);
        break;
    case BD_DELTA_SIGNATURE:
        bd_cv_stream_delta(
            b, json_pack("{s:s,s:s}", "type", "signature_delta", "signature", ev->text), out);
        break;
    case BD_DELTA_CITATION:
        bd_cv_stream_delta(b,
                           json_pack("{s:s,s:o}", "type", "citations_delta", "citation",
                                     bd_cv_citation(ev->citation)),
                           out);
        break;
    default:
        break;
    }
    return 0;
}

/* message_delta and message_stop, once both the stop reason and the usage are known. */
static void
bd_cv_stream_finish(bd_convert_stream_t *s, std::string *out)
{
    if (s->finished || !s->have_stop || !s->have_usage) {
        return;
    }
    json_t *delta = json_pack("{s:s}", "stop_reason", s->stop_reason.c_str());
    json_object_set_new(delta, "stop_sequence",
                        s->stop_sequence.empty() ? json_null()
                                                 : json_string(s->stop_sequence.c_str()));
    bd_cv_emit(out, "message_delta",
               json_pack("{s:s,s:o,s:o}", "type", "message_delta", "delta", delta, "usage",
                         bd_cv_usage_delta(&s->usage)));
    bd_cv_emit(out, "message_stop", json_pack("{s:s}", "type", "message_stop"));
    s->finished = true;
}

int
bd_convert_stream_feed(bd_convert_stream_t *s, const char *event_type, json_t *payload,
                       std::string *out, bd_convert_error_t *err)
{
    bd_bedrock_event_t ev;

    if (s->finished || s->failed) {
        return 0;
    }
    if (bd_convert_stream_event_parse(event_type, payload, &ev, err) != 0) {
        return -1;
    }
    if (ev.type == BD_EV_UNKNOWN) {
        return 0;
    }
    bd_cv_stream_start(s, out);
    switch (ev.type) {
    case BD_EV_BLOCK_START:
        if (ev.start_kind == BD_BLOCK_TOOL_USE && !bd_cv_stream_find(s, ev.index)) {
            bd_cv_stream_open(s, ev.index, BD_BLOCK_TOOL_USE,
                              json_pack("{s:s,s:s,s:s,s:{}}", "type", "tool_use", "id", ev.id,
                                        "name", ev.name, "input"),
                              out);
        }
        break;
    case BD_EV_BLOCK_DELTA:
        return bd_cv_stream_on_delta(s, &ev, out, err);
    case BD_EV_BLOCK_STOP: {
        bd_convert_stream_block_t *b = bd_cv_stream_find(s, ev.index);
        if (b) {
            bd_cv_stream_close(b, out);
        }
        break;
    }
    case BD_EV_MESSAGE_STOP:
        bd_cv_stream_close_all(s, out);
        s->have_stop = true;
        s->stop_reason = bd_convert_stop_anthropic(ev.stop);
        s->stop_sequence =
            ev.stop == BD_STOP_STOP_SEQUENCE && ev.stop_sequence ? ev.stop_sequence : "";
        bd_cv_stream_finish(s, out);
        break;
    case BD_EV_METADATA:
        if (ev.has_usage) {
            s->usage = ev.usage;
            s->have_usage = true;
        }
        bd_cv_stream_finish(s, out);
        break;
    default:
        break;
    }
    return 0;
}

/* A contentBlockDelta carrying text for the open block it names, written without a
 * tree: true when it was (or when it was empty), false for the tree path. */
static bool
bd_cv_stream_text_delta(bd_convert_stream_t *s, const char *payload, size_t len,
                        std::string *out)
{
    bd_json_members_t it, dit;
    bd_json_member_t m, d;
    bd_json_span_t text = {nullptr, 0};
    int64_t index = -1;
    bool have_index = false;

    bd_json_members_init(&it, payload, len);
    while (bd_json_members_next(&it, &m)) {
        if (bd_json_key_is(&m, "contentBlockIndex")) {
            have_index = bd_json_member_int(&m, &index) == 0;
        } else if (bd_json_key_is(&m, "delta")) {
            text = {nullptr, 0};
            bd_json_members_init(&dit, m.value.p, m.value.n);
            while (bd_json_members_next(&dit, &d)) {
                if (bd_json_key_is(&d, "text")) {
                    text = d.kind == '"' ? d.value : bd_json_span_t{nullptr, 0};
                }
            }
        }
    }
    if (!it.ok || !have_index || index < 0 || text.p == nullptr) {
        return false;
    }
    bd_convert_stream_block_t *b = bd_cv_stream_find(s, index);
    if (b == nullptr) {
        return false; /* the tree path opens it */
    }
    if (b->open && text.n > 2) {
        char head[128];
        int n = snprintf(head, sizeof(head),
                         "event: content_block_delta\ndata: {\"type\":\"content_block_delta\","
                         "\"index\":%d,\"delta\":{\"type\":\"text_delta\",\"text\":",
                         b->index);
        out->append(head, (size_t)n).append(text.p, text.n).append("}}\n\n");
    }
    return true;
}

int
bd_convert_stream_feed_text(bd_convert_stream_t *s, const char *event_type, const char *payload,
                            size_t len, std::string *out, bd_convert_error_t *err)
{
    if (s->started && !s->finished && !s->failed && event_type != nullptr &&
        strcmp(event_type, "contentBlockDelta") == 0 &&
        bd_cv_stream_text_delta(s, payload, len, out)) {
        return 0;
    }
    json_t *tree = json_loadb(payload, len, 0, nullptr);
    if (tree == nullptr) {
        return bd_cv_upstream(err, "the payload is not JSON");
    }
    int rc = bd_convert_stream_feed(s, event_type, tree, out, err);
    json_decref(tree);
    return rc;
}

void
bd_convert_stream_exception(bd_convert_stream_t *s, const char *exception_type, json_t *payload,
                            std::string *out, bd_convert_error_t *err)
{
    bd_convert_error_t e;

    bd_convert_bedrock_exception(exception_type, bd_convert_bedrock_error_message(payload), &e);
    /* After message_stop the client has a complete message: nothing may follow it. */
    if (!s->finished) {
        bd_convert_sse_error(out, e.type, e.message.c_str());
        s->failed = true;
    }
    if (err) {
        *err = e;
    }
}

int
bd_convert_stream_end(bd_convert_stream_t *s, std::string *out)
{
    if (s->finished) {
        return 0;
    }
    if (s->failed) {
        return -1;
    }
    if (s->have_stop) {
        s->have_usage = true; /* no metadata: finish with the counts known so far */
        bd_cv_stream_finish(s, out);
        return 0;
    }
    bd_convert_sse_error(out, "api_error",
                         "the upstream stream ended before the message was "
                         "complete");
    s->failed = true;
    return -1;
}
