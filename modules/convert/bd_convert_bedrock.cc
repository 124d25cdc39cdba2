/*
 * bd_convert_bedrock.cc: the Bedrock side every client adapter shares: TokenUsage,
 * stopReason, Converse response walking and ConverseStream event parsing into the
 * neutral structs of bd_convert_bedrock.h. Pure, any thread; unknown union members and
 * enum values are tolerated, as Bedrock adds new ones without notice.
 */
#include <string.h>

#include "modules/convert/bd_convert_int.h"

int
bd_convert_bedrock_usage_parse(json_t *u, bd_convert_usage_t *usage)
{
    bd_convert_usage_t r = {};

    if (!json_is_object(u) || bd_cv_int(u, "inputTokens", &r.input_tokens) != 0 ||
        bd_cv_int(u, "outputTokens", &r.output_tokens) != 0) {
        return -1;
    }
    bd_cv_int(u, "cacheReadInputTokens", &r.cache_read_tokens);
    bd_cv_int(u, "cacheWriteInputTokens", &r.cache_write_tokens);

    json_t *details = json_object_get(u, "cacheDetails");
    size_t i;
    json_t *d;
    bool seen = false;
    json_array_foreach(details, i, d) {
        const char *ttl = bd_cv_str(d, "ttl");
        int64_t n = 0;
        if (!ttl || bd_cv_int(d, "inputTokens", &n) != 0) {
            continue;
        }
        seen = true;
        if (strcmp(ttl, "1h") == 0) {
            r.cache_write_1h_tokens += n;
        } else {
            r.cache_write_5m_tokens += n;
        }
    }
    if (!seen) {
        r.cache_write_5m_tokens = r.cache_write_tokens;
    }
    *usage = r;
    return 0;
}

static const char *const bd_stop_names[] = {
    "end_turn",
    "tool_use",
    "max_tokens",
    "stop_sequence",
    "guardrail_intervened",
    "content_filtered",
    "model_context_window_exceeded",
    "malformed_model_output",
    "malformed_tool_use",
};

int
bd_convert_bedrock_stop_parse(const char *stop_reason)
{
    for (int i = 0; stop_reason && i < BD_STOP_UNKNOWN; i++) {
        if (strcmp(stop_reason, bd_stop_names[i]) == 0) {
            return i;
        }
    }
    return BD_STOP_UNKNOWN;
}

const char *
bd_convert_stop_anthropic(int stop)
{
    switch (stop) {
    case BD_STOP_TOOL_USE:
        return "tool_use";
    case BD_STOP_MAX_TOKENS:
        return "max_tokens";
    case BD_STOP_STOP_SEQUENCE:
        return "stop_sequence";
    case BD_STOP_GUARDRAIL_INTERVENED:
    case BD_STOP_CONTENT_FILTERED:
        return "refusal";
    case BD_STOP_CONTEXT_WINDOW_EXCEEDED:
        return "model_context_window_exceeded";
    default:
        /* malformed output and unknown values: the turn is over, say so plainly */
        return "end_turn";
    }
}

const char *
bd_convert_stop_openai(int stop)
{
    switch (stop) {
    case BD_STOP_TOOL_USE:
        return "tool_calls";
    case BD_STOP_MAX_TOKENS:
    case BD_STOP_CONTEXT_WINDOW_EXCEEDED:
        return "length";
    case BD_STOP_GUARDRAIL_INTERVENED:
    case BD_STOP_CONTENT_FILTERED:
        return "content_filter";
    default:
        return "stop";
    }
}

void
bd_convert_converse_block(json_t *c, bd_bedrock_block_t *b)
{
    json_t *v;

    *b = bd_bedrock_block_t();
    b->kind = BD_BLOCK_OTHER;
    if ((v = json_object_get(c, "text")) && json_is_string(v)) {
        b->kind = BD_BLOCK_TEXT;
        b->text = json_string_value(v);
    } else if ((v = json_object_get(c, "reasoningContent"))) {
        json_t *rt = json_object_get(v, "reasoningText");
        if (json_is_object(rt)) {
            b->kind = BD_BLOCK_REASONING;
            b->text = bd_cv_str(rt, "text") ? bd_cv_str(rt, "text") : "";
            b->signature = bd_cv_str(rt, "signature");
        } else if (bd_cv_str(v, "redactedContent")) {
            b->kind = BD_BLOCK_REDACTED;
            b->data = bd_cv_str(v, "redactedContent");
        }
    } else if ((v = json_object_get(c, "toolUse"))) {
        b->id = bd_cv_str(v, "toolUseId");
        b->name = bd_cv_str(v, "name");
        b->input = json_object_get(v, "input");
        if (b->id && b->name) {
            b->kind = BD_BLOCK_TOOL_USE;
        }
    } else if ((v = json_object_get(c, "citationsContent"))) {
        size_t i;
        json_t *t;
        b->kind = BD_BLOCK_CITATIONS;
        json_array_foreach(json_object_get(v, "content"), i, t) {
            const char *s = bd_cv_str(t, "text");
            b->text += s ? s : "";
        }
        b->citations = json_object_get(v, "citations");
    }
}

int
bd_convert_converse_walk(json_t *resp, bd_bedrock_response_t *out, bd_convert_error_t *err)
{
    json_t *msg = json_object_get(json_object_get(resp, "output"), "message");
    json_t *content = json_object_get(msg, "content");
    const char *stop = bd_cv_str(resp, "stopReason");

    if (!json_is_array(content)) {
        return bd_cv_upstream(err, "no output.message.content");
    }
    if (!stop) {
        return bd_cv_upstream(err, "no stopReason");
    }
    out->blocks.clear();
    out->stop = bd_convert_bedrock_stop_parse(stop);
    out->stop_sequence =
        bd_cv_str(json_object_get(resp, "additionalModelResponseFields"), "stop_sequence");
    out->usage = bd_convert_usage_t();
    bd_convert_bedrock_usage_parse(json_object_get(resp, "usage"), &out->usage);

    size_t i;
    json_t *c;
    json_array_foreach(content, i, c) {
        bd_bedrock_block_t b;
        bd_convert_converse_block(c, &b);
        out->blocks.push_back(b);
    }
    return 0;
}

static void
bd_cv_event_delta(json_t *d, bd_bedrock_event_t *ev)
{
    json_t *v;

    ev->delta = BD_DELTA_OTHER;
    if ((v = json_object_get(d, "text")) && json_is_string(v)) {
        ev->delta = BD_DELTA_TEXT;
        ev->text = json_string_value(v);
    } else if ((v = json_object_get(d, "toolUse"))) {
        ev->text = bd_cv_str(v, "input");
        ev->delta = ev->text ? BD_DELTA_TOOL_INPUT : BD_DELTA_OTHER;
    } else if ((v = json_object_get(d, "reasoningContent"))) {
        if ((ev->text = bd_cv_str(v, "text"))) {
            ev->delta = BD_DELTA_REASONING_TEXT;
        } else if ((ev->text = bd_cv_str(v, "signature"))) {
            ev->delta = BD_DELTA_SIGNATURE;
        } else if ((ev->text = bd_cv_str(v, "redactedContent"))) {
            ev->delta = BD_DELTA_REDACTED;
        }
    } else if ((v = json_object_get(d, "citation"))) {
        ev->delta = BD_DELTA_CITATION;
        ev->citation = v;
    }
}

static int
bd_cv_event_index(json_t *payload, bd_bedrock_event_t *ev, bd_convert_error_t *err)
{
    if (bd_cv_int(payload, "contentBlockIndex", &ev->index) != 0 || ev->index < 0) {
        return bd_cv_upstream(err, "stream event without contentBlockIndex");
    }
    return 0;
}

int
bd_convert_stream_event_parse(const char *event_type, json_t *payload, bd_bedrock_event_t *ev,
                              bd_convert_error_t *err)
{
    *ev = bd_bedrock_event_t();
    ev->type = BD_EV_UNKNOWN;
    if (!event_type) {
        return 0;
    }
    if (strcmp(event_type, "messageStart") == 0) {
        ev->type = BD_EV_MESSAGE_START;
    } else if (strcmp(event_type, "contentBlockStart") == 0) {
        ev->type = BD_EV_BLOCK_START;
        json_t *tu = json_object_get(json_object_get(payload, "start"), "toolUse");
        ev->id = bd_cv_str(tu, "toolUseId");
        ev->name = bd_cv_str(tu, "name");
        ev->start_kind = (ev->id && ev->name) ? BD_BLOCK_TOOL_USE : BD_BLOCK_OTHER;
        return bd_cv_event_index(payload, ev, err);
    } else if (strcmp(event_type, "contentBlockDelta") == 0) {
        ev->type = BD_EV_BLOCK_DELTA;
        bd_cv_event_delta(json_object_get(payload, "delta"), ev);
        return bd_cv_event_index(payload, ev, err);
    } else if (strcmp(event_type, "contentBlockStop") == 0) {
        ev->type = BD_EV_BLOCK_STOP;
        return bd_cv_event_index(payload, ev, err);
    } else if (strcmp(event_type, "messageStop") == 0) {
        const char *stop = bd_cv_str(payload, "stopReason");
        if (!stop) {
            return bd_cv_upstream(err, "messageStop without stopReason");
        }
        ev->type = BD_EV_MESSAGE_STOP;
        ev->stop = bd_convert_bedrock_stop_parse(stop);
        ev->stop_sequence =
            bd_cv_str(json_object_get(payload, "additionalModelResponseFields"), "stop_sequence");
    } else if (strcmp(event_type, "metadata") == 0) {
        ev->type = BD_EV_METADATA;
        /* a metrics-only metadata event must not erase usage seen earlier */
        ev->has_usage =
            bd_convert_bedrock_usage_parse(json_object_get(payload, "usage"), &ev->usage) == 0;
    }
    return 0;
}
