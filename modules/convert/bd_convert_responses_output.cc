/*
 * bd_convert_responses_output.cc: response objects. A chat.completion becomes output
 * items in the order a model produced them: reasoning (its signed thinking blocks in
 * encrypted_content, so that a stateless client can send them back), the message with
 * one output_text part, then one function_call per tool call. A finish by length or
 * content filter is status "incomplete". Pure, any thread.
 */
#include <string.h>

#include "modules/convert/bd_convert_int.h"
#include "modules/convert/bd_convert_responses.h"

json_t *
bd_convert_responses_usage(const bd_convert_usage_t *u, size_t reasoning_bytes)
{
    int64_t input = u->input_tokens + u->cache_read_tokens + u->cache_write_tokens;
    int64_t reasoning = (int64_t)((reasoning_bytes + 3) / 4);
    if (reasoning > u->output_tokens) {
        reasoning = u->output_tokens;
    }
    return json_pack("{s:I,s:{s:I},s:I,s:{s:I},s:I}", "input_tokens", (json_int_t)input,
                     "input_tokens_details", "cached_tokens", (json_int_t)u->cache_read_tokens,
                     "output_tokens", (json_int_t)u->output_tokens, "output_tokens_details",
                     "reasoning_tokens", (json_int_t)reasoning, "total_tokens",
                     (json_int_t)(input + u->output_tokens));
}

json_t *
bd_convert_responses_object(const bd_convert_responses_meta_t *m, const char *status,
                            json_t *output, json_t *usage, json_t *incomplete, json_t *error)
{
    json_t *o = json_pack("{s:s,s:s,s:I,s:s,s:s,s:o,s:b,s:s}", "id", m->id.c_str(), "object",
                          "response", "created_at", (json_int_t)m->created_at, "status", status,
                          "model", m->model.c_str(), "output", output ? output : json_array(),
                          "background", 0, "service_tier", "default");
    json_object_set_new(o, "error", error ? error : json_null());
    json_object_set_new(o, "incomplete_details", incomplete ? incomplete : json_null());
    json_object_set_new(o, "usage", usage ? usage : json_null());
    json_object_update_missing(o, m->echo);
    return o;
}

/* "rs_" / "msg_" / "fc_" + the response id's own part. */
static std::string
bd_cvr_item_id(const bd_convert_responses_meta_t *m, const char *prefix, size_t n)
{
    const char *base = m->id.c_str();
    const char *us = strchr(base, '_');
    return std::string(prefix) + (us ? us + 1 : base) + "_" + std::to_string(n);
}

static json_t *
bd_cvr_reasoning_item(const std::string &id, json_t *msg)
{
    const char *text = bd_cv_str(msg, "reasoning_content");
    json_t *summary = json_array();
    if (text && *text) {
        json_array_append_new(summary, json_pack("{s:s,s:s}", "type", "summary_text", "text",
                                                 text));
    }
    json_t *item = json_pack("{s:s,s:s,s:o}", "id", id.c_str(), "type", "reasoning", "summary",
                             summary);
    json_t *blocks = json_object_get(msg, "thinking_blocks");
    if (json_array_size(blocks) > 0) {
        std::string js, b64;
        bd_convert_json_dump(blocks, &js);
        bd_cv_base64_encode((const unsigned char *)js.data(), js.size(), &b64);
        bd_cv_set_str(item, "encrypted_content", b64.c_str());
    }
    return item;
}

static json_t *
bd_cvr_message_item(const std::string &id, const char *text)
{
    json_t *part = json_pack("{s:s,s:s,s:[],s:[]}", "type", "output_text", "text", text,
                             "annotations", "logprobs");
    return json_pack("{s:s,s:s,s:s,s:s,s:[o]}", "id", id.c_str(), "type", "message", "status",
                     "completed", "role", "assistant", "content", part);
}

static json_t *
bd_cvr_call_item(json_t *call)
{
    json_t *fn = json_object_get(call, "function");
    const char *call_id = bd_cv_str(call, "id");
    const char *name = bd_cv_str(fn, "name");
    const char *args = bd_cv_str(fn, "arguments");
    if (!call_id || !name || !args) {
        return nullptr;
    }
    std::string id = std::string("fc_") + call_id;
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "id", id.c_str(), "type", "function_call",
                     "status", "completed", "call_id", call_id, "name", name, "arguments", args);
}

json_t *
bd_convert_responses_from_chat(json_t *completion, const bd_convert_responses_meta_t *m,
                               const bd_convert_usage_t *usage, bd_convert_error_t *err)
{
    json_t *choice = json_array_get(json_object_get(completion, "choices"), 0);
    json_t *msg = json_object_get(choice, "message");
    if (!json_is_object(msg)) {
        bd_cv_upstream(err, "the answer has no message");
        return nullptr;
    }
    json_t *output = json_array();
    const char *reasoning = bd_cv_str(msg, "reasoning_content");
    if ((reasoning && *reasoning) || json_array_size(json_object_get(msg, "thinking_blocks"))) {
        json_array_append_new(output, bd_cvr_reasoning_item(bd_cvr_item_id(m, "rs_", 0), msg));
    }
    const char *text = bd_cv_str(msg, "content");
    if (text && *text) {
        json_array_append_new(output, bd_cvr_message_item(bd_cvr_item_id(m, "msg_", 0), text));
    }
    size_t i;
    json_t *call;
    json_array_foreach(json_object_get(msg, "tool_calls"), i, call) {
        json_t *item = bd_cvr_call_item(call);
        if (item == nullptr) {
            json_decref(output);
            bd_cv_upstream(err, "a tool call of the answer is malformed");
            return nullptr;
        }
        json_array_append_new(output, item);
    }
    const char *finish = bd_cv_str(choice, "finish_reason");
    json_t *incomplete = nullptr;
    if (finish && strcmp(finish, "length") == 0) {
        incomplete = json_pack("{s:s}", "reason", "max_output_tokens");
    } else if (finish && strcmp(finish, "content_filter") == 0) {
        incomplete = json_pack("{s:s}", "reason", "content_filter");
    }
    return bd_convert_responses_object(m, incomplete ? "incomplete" : "completed", output,
                                       bd_convert_responses_usage(usage, reasoning ? strlen(reasoning)
                                                                                   : 0),
                                       incomplete, nullptr);
}
