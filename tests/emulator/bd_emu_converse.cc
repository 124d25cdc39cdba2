/*
 * bd_emu_converse.cc: renders a planned reply as a Converse response (JSON) or as a
 * ConverseStream event stream, in the order the real service uses: text and reasoning
 * blocks open with their first delta (no contentBlockStart), tool blocks with a
 * contentBlockStart; messageStop comes before the metadata event that carries usage.
 * Pure; any thread.
 */
#include "tests/emulator/bd_emu.h"

#include <stdio.h>

static json_t *
bd_emu_converse_usage(const bd_emu_reply_t *r)
{
    long total = r->input_tokens + r->output_tokens + r->cache_read_tokens +
                 r->cache_write_tokens;
    json_t *u = json_pack("{s:I, s:I, s:I}", "inputTokens", (json_int_t)r->input_tokens,
                          "outputTokens", (json_int_t)r->output_tokens, "totalTokens",
                          (json_int_t)total);
    if (r->cache_read_tokens > 0 || r->cache_write_tokens > 0) {
        json_object_set_new(u, "cacheReadInputTokens", json_integer(r->cache_read_tokens));
        json_object_set_new(u, "cacheWriteInputTokens", json_integer(r->cache_write_tokens));
    }
    return u;
}

static json_t *
bd_emu_converse_block_json(const bd_emu_block_t *b)
{
    switch (b->kind) {
    case BD_EMU_BLOCK_REASONING:
        return json_pack("{s:{s:{s:s%, s:s%}}}", "reasoningContent", "reasoningText", "text",
                         b->text.data(), b->text.size(), "signature", b->signature.data(),
                         b->signature.size());
    case BD_EMU_BLOCK_REDACTED:
        return json_pack("{s:{s:s%}}", "reasoningContent", "redactedContent", b->text.data(),
                         b->text.size());
    case BD_EMU_BLOCK_TOOL: {
        json_t *input = json_loadb(b->text.data(), b->text.size(), 0, nullptr);
        return json_pack("{s:{s:s, s:s%, s:o}}", "toolUse", "toolUseId",
                         ("tooluse_" + b->tool_id).c_str(), "name", b->tool_name.data(),
                         b->tool_name.size(), "input", input ? input : json_object());
    }
    default:
        return json_pack("{s:s%}", "text", b->text.data(), b->text.size());
    }
}

json_t *
bd_emu_converse_json(const bd_emu_reply_t *r, const bd_emu_input_t *in)
{
    json_t *content = json_array();
    for (const bd_emu_block_t &b : r->blocks) {
        json_array_append_new(content, bd_emu_converse_block_json(&b));
    }
    json_t *out = json_pack("{s:{s:{s:s, s:o}}, s:s, s:o, s:{s:I}}", "output", "message",
                            "role", "assistant", "content", content, "stopReason",
                            r->stop_reason, "usage", bd_emu_converse_usage(r), "metrics",
                            "latencyMs", (json_int_t)r->latency_ms);
    if (in->want_stop_sequence) {
        json_object_set_new(out, "additionalModelResponseFields",
                            json_pack("{s:o}", "stop_sequence",
                                      r->stop_sequence.empty()
                                          ? json_null()
                                          : json_string(r->stop_sequence.c_str())));
    }
    return out;
}

/* Starts a contentBlockDelta payload up to the delta's inner key. */
static void
bd_emu_delta_open(bd_emu_stream_t *s, size_t index, const char *prefix)
{
    char head[64];
    snprintf(head, sizeof(head), "{\"contentBlockIndex\":%zu,\"delta\":", index);
    s->scratch = head;
    s->scratch += prefix;
}

/* One delta per piece of <b>; <prefix> and <suffix> wrap the quoted piece. Returns true
 * when a disruption ended the stream. */
static bool
bd_emu_converse_pieces(bd_emu_stream_t *s, const bd_emu_reply_t *r, const bd_emu_block_t *b,
                       size_t index, const char *prefix, const char *suffix, bool *first)
{
    uint32_t from = 0;
    for (uint32_t to : b->cuts) {
        bd_emu_delta_open(s, index, prefix);
        bd_emu_json_quote(&s->scratch, b->text.data() + from, to - from);
        s->scratch += suffix;
        bd_emu_stream_event(s, "contentBlockDelta", *first ? 0 : (uint32_t)r->piece_delay_ms);
        *first = false;
        from = to;
        if (bd_emu_stream_piece(s, r)) {
            return true;
        }
    }
    return false;
}

static bool
bd_emu_converse_stream_block(bd_emu_stream_t *s, const bd_emu_reply_t *r,
                             const bd_emu_block_t *b, size_t index, bool *first)
{
    char head[64];
    switch (b->kind) {
    case BD_EMU_BLOCK_REASONING:
        if (bd_emu_converse_pieces(s, r, b, index, "{\"reasoningContent\":{\"text\":", "}}}",
                                   first)) {
            return true;
        }
        bd_emu_delta_open(s, index, "{\"reasoningContent\":{\"signature\":");
        bd_emu_json_quote(&s->scratch, b->signature.data(), b->signature.size());
        s->scratch += "}}}";
        bd_emu_stream_event(s, "contentBlockDelta", 0);
        break;
    case BD_EMU_BLOCK_REDACTED:
        bd_emu_delta_open(s, index, "{\"reasoningContent\":{\"redactedContent\":");
        bd_emu_json_quote(&s->scratch, b->text.data(), b->text.size());
        s->scratch += "}}}";
        bd_emu_stream_event(s, "contentBlockDelta", *first ? 0 : (uint32_t)r->piece_delay_ms);
        *first = false;
        if (bd_emu_stream_piece(s, r)) {
            return true;
        }
        break;
    case BD_EMU_BLOCK_TOOL:
        snprintf(head, sizeof(head), "{\"contentBlockIndex\":%zu,", index);
        s->scratch = head;
        s->scratch += "\"start\":{\"toolUse\":{\"toolUseId\":\"tooluse_" + b->tool_id +
                      "\",\"name\":";
        bd_emu_json_quote(&s->scratch, b->tool_name.data(), b->tool_name.size());
        s->scratch += "}}}";
        bd_emu_stream_event(s, "contentBlockStart", 0);
        if (bd_emu_converse_pieces(s, r, b, index, "{\"toolUse\":{\"input\":", "}}}", first)) {
            return true;
        }
        break;
    default:
        if (bd_emu_converse_pieces(s, r, b, index, "{\"text\":", "}}", first)) {
            return true;
        }
        break;
    }
    snprintf(head, sizeof(head), "{\"contentBlockIndex\":%zu}", index);
    s->scratch = head;
    bd_emu_stream_event(s, "contentBlockStop", 0);
    return false;
}

void
bd_emu_converse_stream(const bd_emu_reply_t *r, const bd_emu_input_t *in, bd_emu_stream_t *s)
{
    s->scratch = "{\"role\":\"assistant\"}";
    bd_emu_stream_event(s, "messageStart", (uint32_t)r->ttft_ms);
    bool first = true;
    for (size_t i = 0; i < r->blocks.size(); i++) {
        if (bd_emu_converse_stream_block(s, r, &r->blocks[i], i, &first)) {
            return;
        }
    }
    s->scratch = "{\"stopReason\":\"";
    s->scratch += r->stop_reason;
    s->scratch += "\"";
    if (in->want_stop_sequence) {
        s->scratch += ",\"additionalModelResponseFields\":{\"stop_sequence\":";
        if (r->stop_sequence.empty()) {
            s->scratch += "null";
        } else {
            bd_emu_json_quote(&s->scratch, r->stop_sequence.data(), r->stop_sequence.size());
        }
        s->scratch += "}";
    }
    s->scratch += "}";
    bd_emu_stream_event(s, "messageStop", 0);

    json_t *meta = json_pack("{s:o, s:{s:I}}", "usage", bd_emu_converse_usage(r), "metrics",
                             "latencyMs", (json_int_t)r->latency_ms);
    char *dump = json_dumps(meta, JSON_COMPACT);
    json_decref(meta);
    s->scratch = dump != nullptr ? dump : "{}";
    free(dump);
    bd_emu_stream_event(s, "metadata", 0);
}
