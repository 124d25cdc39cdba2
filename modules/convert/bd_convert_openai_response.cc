/*
 * bd_convert_openai_response.cc: a walked Converse response -> OpenAI chat.completion,
 * the OpenAI usage object and error envelope. Text blocks are concatenated, tool uses
 * become tool_calls, reasoning goes to message.reasoning_content (never inline tags).
 * Pure, any thread.
 */
#include <string.h>

#include "modules/convert/bd_convert_openai_int.h"

json_t *
bd_convert_openai_usage(const bd_convert_usage_t *u)
{
    /* OpenAI's prompt_tokens is the whole input, cached included; the total is computed
     * here rather than trusted from Bedrock */
    int64_t prompt = u->input_tokens + u->cache_read_tokens + u->cache_write_tokens;
    return json_pack("{s:I,s:I,s:I,s:{s:I,s:I}}", "prompt_tokens", (json_int_t)prompt,
                     "completion_tokens", (json_int_t)u->output_tokens, "total_tokens",
                     (json_int_t)(prompt + u->output_tokens), "prompt_tokens_details",
                     "cached_tokens", (json_int_t)u->cache_read_tokens, "cache_write_tokens",
                     (json_int_t)u->cache_write_tokens);
}

void
bd_convert_openai_error_body(const char *type, const char *message, const char *code,
                             const char *param, std::string *out)
{
    json_t *e = json_pack("{s:s,s:s}", "message", message ? message : "", "type", type);
    json_object_set_new(e, "param", param ? json_string(param) : json_null());
    json_object_set_new(e, "code", code ? json_string(code) : json_null());
    json_t *body = json_pack("{s:o}", "error", e);
    bd_convert_json_dump(body, out);
    json_decref(body);
}

static json_t *
bd_cvo_tool_call_json(const bd_bedrock_block_t &b)
{
    std::string args;
    if (b.input == nullptr || bd_convert_json_dump(b.input, &args) != 0) {
        args = "{}";
    }
    return json_pack("{s:s,s:s,s:{s:s,s:s%}}", "id", b.id, "type", "function", "function", "name",
                     b.name, "arguments", args.data(), args.size());
}

/* LiteLLM-style signed thinking blocks, so that a client can send them back. */
static json_t *
bd_cvo_thinking_block(const bd_bedrock_block_t &b)
{
    if (b.kind == BD_BLOCK_REDACTED) {
        return json_pack("{s:s,s:s}", "type", "redacted_thinking", "data", b.data);
    }
    return json_pack("{s:s,s:s%,s:s}", "type", "thinking", "thinking", b.text.data(),
                     b.text.size(), "signature", b.signature);
}

static json_t *
bd_cvo_message(const bd_bedrock_response_t *w)
{
    std::string text, reasoning;
    json_t *calls = json_array();
    json_t *thinking = json_array();
    for (const bd_bedrock_block_t &b : w->blocks) {
        if (b.kind == BD_BLOCK_TEXT || b.kind == BD_BLOCK_CITATIONS) {
            text += b.text;
        } else if (b.kind == BD_BLOCK_REASONING) {
            reasoning += b.text;
            if (b.signature) {
                json_array_append_new(thinking, bd_cvo_thinking_block(b));
            }
        } else if (b.kind == BD_BLOCK_REDACTED && b.data) {
            json_array_append_new(thinking, bd_cvo_thinking_block(b));
        } else if (b.kind == BD_BLOCK_TOOL_USE) {
            json_array_append_new(calls, bd_cvo_tool_call_json(b));
        }
    }
    json_t *msg = json_pack("{s:s}", "role", "assistant");
    /* OpenAI's convention: null content when the answer is only tool calls */
    bool null_content = text.empty() && json_array_size(calls) > 0;
    json_object_set_new(msg, "content",
                        null_content ? json_null() : json_stringn(text.data(), text.size()));
    json_object_set_new(msg, "refusal", json_null());
    if (json_array_size(calls) > 0) {
        json_object_set_new(msg, "tool_calls", calls);
    } else {
        json_decref(calls);
    }
    if (!reasoning.empty()) {
        json_object_set_new(msg, "reasoning_content",
                            json_stringn(reasoning.data(), reasoning.size()));
    }
    if (json_array_size(thinking) > 0) {
        json_object_set_new(msg, "thinking_blocks", thinking);
    } else {
        json_decref(thinking);
    }
    return msg;
}

json_t *
bd_convert_converse_to_openai(json_t *resp, const char *id, int64_t created,
                              const char *client_model, bd_convert_usage_t *usage,
                              bd_convert_error_t *err)
{
    bd_bedrock_response_t w;
    if (bd_convert_converse_walk(resp, &w, err) != 0) {
        return nullptr;
    }
    json_t *choice = json_pack("{s:i,s:o,s:n,s:s}", "index", 0, "message", bd_cvo_message(&w),
                               "logprobs", "finish_reason", bd_convert_stop_openai(w.stop));
    json_t *out = json_pack("{s:s,s:s,s:I,s:s,s:[o],s:o,s:n}", "id", id, "object",
                            "chat.completion", "created", (json_int_t)created, "model",
                            client_model, "choices", choice, "usage",
                            bd_convert_openai_usage(&w.usage), "system_fingerprint");
    if (usage) {
        *usage = w.usage;
    }
    return out;
}
