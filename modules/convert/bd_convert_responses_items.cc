/*
 * bd_convert_responses_items.cc: Responses input items -> chat messages. Messages keep
 * their role (system and developer are hoisted by the chat adapter); assistant items in a
 * row (reasoning, assistant message, function_call) become one assistant turn with
 * content, tool_calls and the signed thinking blocks a reasoning item carries back in its
 * encrypted_content; function_call_output becomes a tool message. Pure, any thread.
 */
#include <string.h>

#include "modules/convert/bd_convert_int.h"
#include "modules/convert/bd_convert_responses.h"

struct bd_cvr_items_t {
    json_t *messages;
    json_t *assistant; /* the open assistant turn, or null */
    std::string text;  /* its text so far */
    bd_convert_error_t *err;
};

static bool
bd_cvr_is(const char *s, const char *want)
{
    return s != nullptr && strcmp(s, want) == 0;
}

/* Closes the open assistant turn. */
static void
bd_cvr_flush(bd_cvr_items_t *c)
{
    if (c->assistant == nullptr) {
        return;
    }
    bool calls = json_object_get(c->assistant, "tool_calls") != nullptr;
    json_object_set_new(c->assistant, "content",
                        c->text.empty() && calls ? json_null()
                                                 : json_stringn(c->text.data(), c->text.size()));
    json_array_append_new(c->messages, c->assistant);
    c->assistant = nullptr;
    c->text.clear();
}

static json_t *
bd_cvr_assistant(bd_cvr_items_t *c)
{
    if (c->assistant == nullptr) {
        c->assistant = json_pack("{s:s}", "role", "assistant");
    }
    return c->assistant;
}

/* input_image -> an image_url part. */
static int
bd_cvr_image(bd_cvr_items_t *c, json_t *part, const std::string &path, json_t *parts)
{
    const char *url = bd_cv_str(part, "image_url");
    if (url == nullptr) {
        if (bd_cv_str(part, "file_id")) {
            return bd_cv_bad(c->err, bd_cv_path(path, "file_id"),
                             "file ids are not supported (there is no Files API); send "
                             "image_url");
        }
        return bd_cv_bad(c->err, bd_cv_path(path, "image_url"), "Field required");
    }
    json_t *iu = json_pack("{s:s}", "url", url);
    const char *detail = bd_cv_str(part, "detail");
    if (detail) {
        bd_cv_set_str(iu, "detail", detail);
    }
    json_array_append_new(parts, json_pack("{s:s,s:o}", "type", "image_url", "image_url", iu));
    return 0;
}

/* input_file -> a file part (file_data only: there is no Files API). */
static int
bd_cvr_file(bd_cvr_items_t *c, json_t *part, const std::string &path, json_t *parts)
{
    const char *data = bd_cv_str(part, "file_data");
    if (data == nullptr) {
        const char *what = bd_cv_str(part, "file_id") ? "file_id" : "file_url";
        if (bd_cv_str(part, what)) {
            return bd_cv_bad(c->err, bd_cv_path(path, what),
                             "not supported (there is no Files API); send file_data");
        }
        return bd_cv_bad(c->err, bd_cv_path(path, "file_data"), "Field required");
    }
    json_t *f = json_pack("{s:s}", "file_data", data);
    const char *name = bd_cv_str(part, "filename");
    if (name) {
        bd_cv_set_str(f, "filename", name);
    }
    json_array_append_new(parts, json_pack("{s:s,s:o}", "type", "file", "file", f));
    return 0;
}

/* One content part of a user, system or developer message (or a tool output). */
static int
bd_cvr_part(bd_cvr_items_t *c, json_t *part, const std::string &path, json_t *parts)
{
    const char *type = bd_cv_str(part, "type");
    if (!json_is_object(part) || type == nullptr) {
        return bd_cv_bad(c->err, bd_cv_path(path, "type"), "Field required");
    }
    if (bd_cvr_is(type, "input_text") || bd_cvr_is(type, "output_text")) {
        const char *text = bd_cv_str(part, "text");
        if (text == nullptr) {
            return bd_cv_bad(c->err, bd_cv_path(path, "text"), "Field required");
        }
        json_array_append_new(parts, json_pack("{s:s,s:s}", "type", "text", "text", text));
        return 0;
    }
    if (bd_cvr_is(type, "input_image")) {
        return bd_cvr_image(c, part, path, parts);
    }
    if (bd_cvr_is(type, "input_file")) {
        return bd_cvr_file(c, part, path, parts);
    }
    return bd_cv_bad(c->err, bd_cv_path(path, "type"),
                     std::string("\"") + type +
                         "\" is not supported (input_text, input_image, input_file)");
}

/* A string, or an array of parts converted to chat parts; new reference or null. */
static json_t *
bd_cvr_content(bd_cvr_items_t *c, json_t *content, const std::string &path)
{
    if (json_is_string(content)) {
        return json_incref(content);
    }
    if (!json_is_array(content)) {
        bd_cv_bad(c->err, path, "must be a string or an array of content parts");
        return nullptr;
    }
    json_t *parts = json_array();
    size_t i;
    json_t *p;
    json_array_foreach(content, i, p) {
        if (bd_cvr_part(c, p, bd_cv_path(path, i), parts) != 0) {
            json_decref(parts);
            return nullptr;
        }
    }
    return parts;
}

/* An assistant message's text (output_text and refusal parts) joins the open turn. */
static int
bd_cvr_assistant_message(bd_cvr_items_t *c, json_t *content, const std::string &path)
{
    bd_cvr_assistant(c);
    if (json_is_string(content)) {
        c->text += json_string_value(content);
        return 0;
    }
    if (!json_is_array(content)) {
        return bd_cv_bad(c->err, path, "must be a string or an array of content parts");
    }
    size_t i;
    json_t *p;
    json_array_foreach(content, i, p) {
        const char *type = bd_cv_str(p, "type");
        const char *text = bd_cv_str(p, bd_cvr_is(type, "refusal") ? "refusal" : "text");
        if (text == nullptr) {
            return bd_cv_bad(c->err, bd_cv_path(bd_cv_path(path, i), "text"), "Field required");
        }
        c->text += text;
    }
    return 0;
}

static int
bd_cvr_message(bd_cvr_items_t *c, json_t *item, const std::string &path)
{
    const char *role = bd_cv_str(item, "role");
    json_t *content = json_object_get(item, "content");
    if (content == nullptr) {
        return bd_cv_bad(c->err, bd_cv_path(path, "content"), "Field required");
    }
    if (bd_cvr_is(role, "assistant")) {
        return bd_cvr_assistant_message(c, content, bd_cv_path(path, "content"));
    }
    if (!bd_cvr_is(role, "user") && !bd_cvr_is(role, "system") && !bd_cvr_is(role, "developer")) {
        return bd_cv_bad(c->err, bd_cv_path(path, "role"),
                         "must be \"user\", \"assistant\", \"system\" or \"developer\"");
    }
    json_t *chat_content = bd_cvr_content(c, content, bd_cv_path(path, "content"));
    if (chat_content == nullptr) {
        return -1;
    }
    bd_cvr_flush(c);
    json_array_append_new(c->messages,
                          json_pack("{s:s,s:o}", "role", role, "content", chat_content));
    return 0;
}

static int
bd_cvr_function_call(bd_cvr_items_t *c, json_t *item, const std::string &path)
{
    const char *call_id = bd_cv_str(item, "call_id");
    const char *name = bd_cv_str(item, "name");
    const char *args = bd_cv_str(item, "arguments");
    const char *missing = !call_id ? "call_id" : !name ? "name" : !args ? "arguments" : nullptr;
    if (missing) {
        return bd_cv_bad(c->err, bd_cv_path(path, missing), "Field required");
    }
    json_t *a = bd_cvr_assistant(c);
    json_t *calls = json_object_get(a, "tool_calls");
    if (calls == nullptr) {
        calls = json_array();
        json_object_set_new(a, "tool_calls", calls);
    }
    json_array_append_new(calls, json_pack("{s:s,s:s,s:{s:s,s:s}}", "id", call_id, "type",
                                           "function", "function", "name", name, "arguments",
                                           args));
    return 0;
}

static int
bd_cvr_function_output(bd_cvr_items_t *c, json_t *item, const std::string &path)
{
    const char *call_id = bd_cv_str(item, "call_id");
    json_t *output = json_object_get(item, "output");
    if (call_id == nullptr || output == nullptr) {
        return bd_cv_bad(c->err, bd_cv_path(path, call_id ? "output" : "call_id"),
                         "Field required");
    }
    json_t *content = bd_cvr_content(c, output, bd_cv_path(path, "output"));
    if (content == nullptr) {
        return -1;
    }
    bd_cvr_flush(c);
    json_array_append_new(c->messages, json_pack("{s:s,s:s,s:o}", "role", "tool", "tool_call_id",
                                                 call_id, "content", content));
    return 0;
}

/* A reasoning item this gateway produced carries the turn's signed thinking blocks
 * (base64 of their JSON) in encrypted_content; others have nothing Bedrock can take. */
static int
bd_cvr_reasoning(bd_cvr_items_t *c, json_t *item)
{
    const char *enc = bd_cv_str(item, "encrypted_content");
    std::string raw;
    if (enc == nullptr || bd_cv_base64_decode(enc, strlen(enc), &raw) != 0) {
        return 0;
    }
    json_t *blocks = json_loadb(raw.data(), raw.size(), 0, nullptr);
    if (!json_is_array(blocks)) {
        json_decref(blocks);
        return 0;
    }
    /* reasoning opens a turn: what came before it belongs to an earlier one */
    if (c->assistant && (!c->text.empty() || json_object_get(c->assistant, "tool_calls"))) {
        bd_cvr_flush(c);
    }
    json_t *a = bd_cvr_assistant(c);
    json_t *have = json_object_get(a, "thinking_blocks");
    if (have) {
        json_array_extend(have, blocks);
        json_decref(blocks);
    } else {
        json_object_set_new(a, "thinking_blocks", blocks);
    }
    return 0;
}

static int
bd_cvr_item(bd_cvr_items_t *c, json_t *item, const std::string &path)
{
    if (!json_is_object(item)) {
        return bd_cv_bad(c->err, path, "must be an object");
    }
    const char *type = bd_cv_str(item, "type");
    if (type == nullptr || bd_cvr_is(type, "message")) {
        if (type == nullptr && bd_cv_str(item, "role") == nullptr) {
            return bd_cv_bad(c->err, bd_cv_path(path, "type"), "Field required");
        }
        return bd_cvr_message(c, item, path);
    }
    if (bd_cvr_is(type, "function_call")) {
        return bd_cvr_function_call(c, item, path);
    }
    if (bd_cvr_is(type, "function_call_output")) {
        return bd_cvr_function_output(c, item, path);
    }
    if (bd_cvr_is(type, "reasoning")) {
        return bd_cvr_reasoning(c, item);
    }
    if (bd_cvr_is(type, "item_reference")) {
        return bd_cv_bad(c->err, bd_cv_path(path, "type"),
                         "item references are not supported; use previous_response_id");
    }
    return bd_cv_bad(c->err, bd_cv_path(path, "type"),
                     std::string("\"") + type + "\" items are not supported");
}

int
bd_convert_responses_items(json_t *items, const char *path, json_t *messages,
                           bd_convert_error_t *err)
{
    bd_cvr_items_t c = {messages, nullptr, std::string(), err};
    size_t i;
    json_t *item;
    json_array_foreach(items, i, item) {
        if (bd_cvr_item(&c, item, bd_cv_path(path, i)) != 0) {
            json_decref(c.assistant);
            return -1;
        }
    }
    bd_cvr_flush(&c);
    return 0;
}
