/*
 * bd_emu_input.cc: reads a Converse request or an Anthropic-native InvokeModel body into
 * the shape the planner works on, and applies the token-count rule:
 *   each text string counts ceil(UTF-8 bytes / 4); each JSON value (tool input, tool
 *   result json, tool schema) counts ceil(compact JSON bytes / 4); each image, document,
 *   video or audio block counts 100; a request counts at least 1.
 * Pure functions over jansson documents; any thread.
 */
#include "tests/emulator/bd_emu.h"

#include <string.h>

#define BD_EMU_MEDIA_TOKENS 100

/* The string value of <v>, or "" when it is not a string. */
static const char *
bd_emu_str(json_t *v)
{
    const char *s = json_string_value(v);
    return s != nullptr ? s : "";
}

static long
bd_emu_json_tokens(json_t *v)
{
    if (v == nullptr) {
        return 0;
    }
    size_t n = json_dumpb(v, nullptr, 0, JSON_COMPACT);
    return bd_emu_tokens_of(n);
}

static long
bd_emu_str_tokens(json_t *v)
{
    return json_is_string(v) ? bd_emu_tokens_of(json_string_length(v)) : 0;
}

static void
bd_emu_append_text(std::string *out, const char *text, size_t len)
{
    if (!out->empty()) {
        out->push_back('\n');
    }
    out->append(text, len);
}

/* Text of a tool result, used as the echo when a user turn holds only tool results. */
static void
bd_emu_tool_result_text(json_t *content, std::string *out)
{
    if (json_is_string(content)) {
        bd_emu_append_text(out, json_string_value(content), json_string_length(content));
        return;
    }
    size_t i;
    json_t *item;
    json_array_foreach(content, i, item) {
        json_t *text = json_object_get(item, "text");
        json_t *js = json_object_get(item, "json");
        if (json_is_string(text)) {
            bd_emu_append_text(out, json_string_value(text), json_string_length(text));
        } else if (js != nullptr) {
            char *d = json_dumps(js, JSON_COMPACT);
            if (d != nullptr) {
                bd_emu_append_text(out, d, strlen(d));
                free(d);
            }
        }
    }
}

/* Takes the marker out of the last user text, and falls back to the tool results. */
static void
bd_emu_finish_user_text(bd_emu_input_t *in, const std::string &tool_text)
{
    if (!bd_emu_marker_extract(&in->user_text, &in->marker)) {
        in->marker.clear();
    }
    if (in->user_text.empty() && in->marker.empty()) {
        in->user_text = tool_text;
    }
    if (in->input_tokens < 1) {
        in->input_tokens = 1;
    }
}

static void
bd_emu_input_reset(bd_emu_input_t *in)
{
    in->user_text.clear();
    in->marker.clear();
    in->tools.clear();
    in->stop_sequences.clear();
    in->max_tokens = 0;
    in->input_tokens = 0;
    in->want_stop_sequence = false;
}

/* One Converse content block: its tokens, and its text when <text> is non-null. */
static long
bd_emu_converse_block(json_t *block, std::string *text, std::string *tool_text)
{
    json_t *v;
    if ((v = json_object_get(block, "text")) != nullptr) {
        if (text != nullptr && json_is_string(v)) {
            bd_emu_append_text(text, json_string_value(v), json_string_length(v));
        }
        return bd_emu_str_tokens(v);
    }
    if ((v = json_object_get(block, "toolResult")) != nullptr) {
        json_t *content = json_object_get(v, "content");
        if (tool_text != nullptr) {
            bd_emu_tool_result_text(content, tool_text);
        }
        return bd_emu_json_tokens(content);
    }
    if ((v = json_object_get(block, "toolUse")) != nullptr) {
        return bd_emu_json_tokens(json_object_get(v, "input"));
    }
    if ((v = json_object_get(block, "reasoningContent")) != nullptr) {
        return bd_emu_str_tokens(json_object_get(json_object_get(v, "reasoningText"), "text"));
    }
    if (json_object_get(block, "image") || json_object_get(block, "document") ||
        json_object_get(block, "video") || json_object_get(block, "audio")) {
        return BD_EMU_MEDIA_TOKENS;
    }
    return 0;
}

int
bd_emu_input_converse(json_t *body, bd_emu_input_t *in, std::string *err)
{
    bd_emu_input_reset(in);
    if (bd_emu_validate_converse(body, err) != 0) {
        return -1;
    }
    json_t *messages = json_object_get(body, "messages");
    const char *first_role = bd_emu_str(json_object_get(json_array_get(messages, 0), "role"));
    if (!json_is_array(messages) || strcmp(first_role, "user") != 0) {
        *err = "A conversation must start with a user message. Try again with a conversation "
               "that starts with a user message.";
        return -1;
    }
    size_t last_user = 0;
    size_t i;
    json_t *m;
    json_array_foreach(messages, i, m) {
        if (strcmp(bd_emu_str(json_object_get(m, "role")), "user") == 0) {
            last_user = i;
        }
    }
    std::string tool_text;
    json_array_foreach(messages, i, m) {
        size_t j;
        json_t *block;
        json_array_foreach(json_object_get(m, "content"), j, block) {
            bool last = i == last_user;
            in->input_tokens += bd_emu_converse_block(block, last ? &in->user_text : nullptr,
                                                      last ? &tool_text : nullptr);
        }
    }
    json_t *sys;
    json_array_foreach(json_object_get(body, "system"), i, sys) {
        in->input_tokens += bd_emu_str_tokens(json_object_get(sys, "text"));
    }
    json_t *tool;
    json_array_foreach(json_object_get(json_object_get(body, "toolConfig"), "tools"), i, tool) {
        json_t *spec = json_object_get(tool, "toolSpec");
        if (spec == nullptr) {
            continue;
        }
        bd_emu_tool_t t;
        t.name = bd_emu_str(json_object_get(spec, "name"));
        t.schema = json_object_get(json_object_get(spec, "inputSchema"), "json");
        in->input_tokens += bd_emu_str_tokens(json_object_get(spec, "name")) +
                            bd_emu_str_tokens(json_object_get(spec, "description")) +
                            bd_emu_json_tokens(t.schema);
        in->tools.push_back(t);
    }
    json_t *ic = json_object_get(body, "inferenceConfig");
    in->max_tokens = (long)json_integer_value(json_object_get(ic, "maxTokens"));
    json_t *seq;
    json_array_foreach(json_object_get(ic, "stopSequences"), i, seq) {
        if (json_is_string(seq)) {
            in->stop_sequences.push_back(json_string_value(seq));
        }
    }
    json_t *path;
    json_array_foreach(json_object_get(body, "additionalModelResponseFieldPaths"), i, path) {
        if (strcmp(bd_emu_str(path), "/stop_sequence") == 0) {
            in->want_stop_sequence = true;
        }
    }
    bd_emu_finish_user_text(in, tool_text);
    return 0;
}

/* Anthropic content: a string or an array of typed blocks. */
static long
bd_emu_anthropic_content(json_t *content, std::string *text, std::string *tool_text)
{
    if (json_is_string(content)) {
        if (text != nullptr) {
            bd_emu_append_text(text, json_string_value(content), json_string_length(content));
        }
        return bd_emu_str_tokens(content);
    }
    long tokens = 0;
    size_t i;
    json_t *b;
    json_array_foreach(content, i, b) {
        const char *type = bd_emu_str(json_object_get(b, "type"));
        if (strcmp(type, "text") == 0) {
            json_t *t = json_object_get(b, "text");
            tokens += bd_emu_str_tokens(t);
            if (text != nullptr && json_is_string(t)) {
                bd_emu_append_text(text, json_string_value(t), json_string_length(t));
            }
        } else if (strcmp(type, "tool_result") == 0) {
            json_t *c = json_object_get(b, "content");
            tokens += bd_emu_json_tokens(c);
            if (tool_text != nullptr) {
                bd_emu_tool_result_text(c, tool_text);
            }
        } else if (strcmp(type, "tool_use") == 0) {
            tokens += bd_emu_json_tokens(json_object_get(b, "input"));
        } else if (strcmp(type, "thinking") == 0) {
            tokens += bd_emu_str_tokens(json_object_get(b, "thinking"));
        } else if (strcmp(type, "image") == 0 || strcmp(type, "document") == 0) {
            tokens += BD_EMU_MEDIA_TOKENS;
        }
    }
    return tokens;
}

static const char *
bd_emu_anthropic_missing(json_t *body)
{
    if (!json_is_string(json_object_get(body, "anthropic_version"))) {
        return "anthropic_version";
    }
    if (!json_is_integer(json_object_get(body, "max_tokens"))) {
        return "max_tokens";
    }
    if (!json_is_array(json_object_get(body, "messages"))) {
        return "messages";
    }
    return nullptr;
}

int
bd_emu_input_anthropic(json_t *body, bd_emu_input_t *in, std::string *err)
{
    bd_emu_input_reset(in);
    if (bd_emu_validate_native(body, err) != 0) {
        return -1;
    }
    const char *missing = bd_emu_anthropic_missing(body);
    if (missing != nullptr) {
        *err = std::string("Malformed input request: #: required key [") + missing +
               "] not found, please reformat your input and try again.";
        return -1;
    }
    json_t *messages = json_object_get(body, "messages");
    size_t last_user = 0;
    size_t i;
    json_t *m;
    json_array_foreach(messages, i, m) {
        if (strcmp(bd_emu_str(json_object_get(m, "role")), "user") == 0) {
            last_user = i;
        }
    }
    std::string tool_text;
    json_array_foreach(messages, i, m) {
        bool last = i == last_user;
        in->input_tokens += bd_emu_anthropic_content(json_object_get(m, "content"),
                                                     last ? &in->user_text : nullptr,
                                                     last ? &tool_text : nullptr);
    }
    in->input_tokens += bd_emu_anthropic_content(json_object_get(body, "system"), nullptr,
                                                 nullptr);
    json_t *tool;
    json_array_foreach(json_object_get(body, "tools"), i, tool) {
        bd_emu_tool_t t;
        t.name = bd_emu_str(json_object_get(tool, "name"));
        t.schema = json_object_get(tool, "input_schema");
        in->input_tokens += bd_emu_str_tokens(json_object_get(tool, "name")) +
                            bd_emu_str_tokens(json_object_get(tool, "description")) +
                            bd_emu_json_tokens(t.schema);
        in->tools.push_back(t);
    }
    in->max_tokens = (long)json_integer_value(json_object_get(body, "max_tokens"));
    json_t *seq;
    json_array_foreach(json_object_get(body, "stop_sequences"), i, seq) {
        if (json_is_string(seq)) {
            in->stop_sequences.push_back(json_string_value(seq));
        }
    }
    bd_emu_finish_user_text(in, tool_text);
    return 0;
}
