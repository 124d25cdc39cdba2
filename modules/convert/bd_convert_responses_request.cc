/*
 * bd_convert_responses_request.cc: a /v1/responses body -> the /chat/completions body the
 * OpenAI adapter takes: instructions as the system message, input items as messages
 * (bd_convert_responses_items.cc), function tools and tool_choice, reasoning.effort as
 * reasoning_effort, max_output_tokens, text.format as response_format. Hosted tools Bedrock
 * cannot run (web search, file search, code interpreter ...) are left out and named in
 * out->dropped. Pure, any thread.
 */
#include <string.h>

#include "modules/convert/bd_convert_int.h"
#include "modules/convert/bd_convert_responses.h"

void
bd_convert_responses_req_free(bd_convert_responses_req_t *r)
{
    json_decref(r->chat);
    json_decref(r->input);
    json_decref(r->echo);
    *r = bd_convert_responses_req_t();
}

/* Member <key> unless absent or JSON null. */
static json_t *
bd_cvr_get(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_null(v) ? nullptr : v;
}

static bool
bd_cvr_is(const char *s, const char *want)
{
    return s != nullptr && strcmp(s, want) == 0;
}

/* A function tool -> the chat tool; a hosted one is named in <dropped>. */
static int
bd_cvr_tool(json_t *t, const std::string &path, json_t *tools, json_t *echo_tools,
            std::vector<std::string> *dropped, bd_convert_error_t *err)
{
    if (!json_is_object(t)) {
        return bd_cv_bad(err, path, "must be an object");
    }
    const char *type = bd_cv_str(t, "type");
    if (type == nullptr) {
        return bd_cv_bad(err, bd_cv_path(path, "type"), "Field required");
    }
    if (!bd_cvr_is(type, "function")) {
        dropped->push_back(type);
        return 0;
    }
    const char *name = bd_cv_str(t, "name");
    if (name == nullptr || name[0] == '\0') {
        return bd_cv_bad(err, bd_cv_path(path, "name"), "Field required");
    }
    json_t *fn = json_pack("{s:s}", "name", name);
    const char *desc = bd_cv_str(t, "description");
    if (desc) {
        bd_cv_set_str(fn, "description", desc);
    }
    json_t *params = bd_cvr_get(t, "parameters");
    if (params && !json_is_object(params)) {
        json_decref(fn);
        return bd_cv_bad(err, bd_cv_path(path, "parameters"), "must be a JSON schema object");
    }
    json_object_set_new(fn, "parameters",
                        params ? json_incref(params)
                               : json_pack("{s:s,s:{}}", "type", "object", "properties"));
    json_array_append_new(tools, json_pack("{s:s,s:o}", "type", "function", "function", fn));
    json_array_append(echo_tools, t);
    return 0;
}

/* tool_choice: "auto" | "none" | "required" | {"type":"function","name"}. */
static int
bd_cvr_tool_choice(json_t *req, json_t *chat, const std::vector<std::string> &dropped,
                   bd_convert_error_t *err)
{
    json_t *tc = bd_cvr_get(req, "tool_choice");
    if (tc == nullptr) {
        return 0;
    }
    if (json_is_string(tc)) {
        const char *s = json_string_value(tc);
        if (!bd_cvr_is(s, "auto") && !bd_cvr_is(s, "none") && !bd_cvr_is(s, "required")) {
            return bd_cv_bad(err, "tool_choice", "must be \"auto\", \"none\", \"required\" or a "
                                                 "function choice");
        }
        json_object_set(chat, "tool_choice", tc);
        return 0;
    }
    const char *type = bd_cv_str(tc, "type");
    if (!json_is_object(tc) || type == nullptr) {
        return bd_cv_bad(err, "tool_choice", "must be a string or an object with a type");
    }
    if (bd_cvr_is(type, "function")) {
        const char *name = bd_cv_str(tc, "name");
        if (name == nullptr) {
            return bd_cv_bad(err, "tool_choice.name", "Field required");
        }
        json_object_set_new(chat, "tool_choice",
                            json_pack("{s:s,s:{s:s}}", "type", "function", "function", "name",
                                      name));
        return 0;
    }
    for (const std::string &d : dropped) {
        if (d == type) {
            return bd_cv_bad(err, "tool_choice",
                             std::string("the hosted tool \"") + type +
                                 "\" is not available on Bedrock");
        }
    }
    return bd_cv_bad(err, "tool_choice.type", std::string("\"") + type + "\" is not supported");
}

static int
bd_cvr_tools(json_t *req, json_t *chat, json_t *echo, std::vector<std::string> *dropped,
             bd_convert_error_t *err)
{
    json_t *tools = bd_cvr_get(req, "tools");
    json_t *echo_tools = json_array();
    json_object_set_new(echo, "tools", echo_tools);
    if (tools == nullptr) {
        return bd_cvr_tool_choice(req, chat, *dropped, err);
    }
    if (!json_is_array(tools)) {
        return bd_cv_bad(err, "tools", "must be an array");
    }
    json_t *out = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(tools, i, t) {
        if (bd_cvr_tool(t, bd_cv_path("tools", i), out, echo_tools, dropped, err) != 0) {
            json_decref(out);
            return -1;
        }
    }
    if (json_array_size(out) > 0) {
        json_object_set_new(chat, "tools", out);
    } else {
        json_decref(out);
    }
    json_t *ptc = bd_cvr_get(req, "parallel_tool_calls");
    if (ptc && !json_is_boolean(ptc)) {
        return bd_cv_bad(err, "parallel_tool_calls", "must be a boolean");
    }
    if (bd_cvr_tool_choice(req, chat, *dropped, err) != 0) {
        return -1;
    }
    /* a choice without any tool left to choose from means nothing to Bedrock */
    if (json_object_get(chat, "tools") == nullptr) {
        json_object_del(chat, "tool_choice");
    }
    return 0;
}

/* reasoning.effort -> reasoning_effort. */
static int
bd_cvr_reasoning(json_t *req, json_t *chat, json_t *echo, bd_convert_error_t *err)
{
    json_t *r = bd_cvr_get(req, "reasoning");
    if (r == nullptr) {
        json_object_set_new(echo, "reasoning", json_pack("{s:n,s:n}", "effort", "summary"));
        return 0;
    }
    if (!json_is_object(r)) {
        return bd_cv_bad(err, "reasoning", "must be an object");
    }
    json_t *effort = bd_cvr_get(r, "effort");
    if (effort) {
        static const char *const known[] = {"none", "minimal", "low", "medium", "high", "xhigh"};
        bool ok = false;
        for (const char *k : known) {
            ok = ok || bd_cvr_is(json_string_value(effort), k);
        }
        if (!ok) {
            return bd_cv_bad(err, "reasoning.effort",
                             "must be one of none, minimal, low, medium, high or xhigh");
        }
        json_object_set(chat, "reasoning_effort", effort);
    }
    json_t *summary = bd_cvr_get(r, "summary");
    json_object_set_new(echo, "reasoning",
                        json_pack("{s:O?,s:O?}", "effort", effort, "summary", summary));
    return 0;
}

/* text.format -> response_format: Converse's structured output takes the JSON schema;
 * a model without it answers Bedrock's ValidationException, passed on as a 400. */
static int
bd_cvr_text(json_t *req, json_t *chat, json_t *echo, bd_convert_error_t *err)
{
    json_t *text = bd_cvr_get(req, "text");
    if (text == nullptr) {
        json_object_set_new(echo, "text", json_pack("{s:{s:s}}", "format", "type", "text"));
        return 0;
    }
    if (!json_is_object(text)) {
        return bd_cv_bad(err, "text", "must be an object");
    }
    json_object_set(echo, "text", text);
    json_t *f = bd_cvr_get(text, "format");
    if (f == nullptr) {
        return 0;
    }
    const char *type = bd_cv_str(f, "type");
    if (!json_is_object(f) || type == nullptr) {
        return bd_cv_bad(err, "text.format.type", "Field required");
    }
    if (bd_cvr_is(type, "text")) {
        return 0;
    }
    if (bd_cvr_is(type, "json_object")) {
        json_object_set_new(chat, "response_format", json_pack("{s:s}", "type", "json_object"));
        return 0;
    }
    if (!bd_cvr_is(type, "json_schema")) {
        return bd_cv_bad(err, "text.format.type",
                         "must be \"text\", \"json_object\" or \"json_schema\"");
    }
    json_t *schema = json_object_get(f, "schema");
    if (!json_is_object(schema)) {
        return bd_cv_bad(err, "text.format.schema", "must be a JSON schema object");
    }
    const char *name = bd_cv_str(f, "name");
    if (name == nullptr || name[0] == '\0') {
        return bd_cv_bad(err, "text.format.name", "Field required");
    }
    json_t *js = json_pack("{s:s,s:O}", "name", name, "schema", schema);
    const char *desc = bd_cv_str(f, "description");
    if (desc) {
        bd_cv_set_str(js, "description", desc);
    }
    json_object_set_new(chat, "response_format",
                        json_pack("{s:s,s:o}", "type", "json_schema", "json_schema", js));
    return 0;
}

/* Parameters this gateway cannot honour: a clear 400 rather than a silent difference. */
static int
bd_cvr_unsupported(json_t *req, bd_convert_error_t *err)
{
    if (json_is_true(json_object_get(req, "background"))) {
        return bd_cv_bad(err, "background", "background responses are not supported");
    }
    if (bd_cvr_get(req, "conversation")) {
        return bd_cv_bad(err, "conversation",
                         "the Conversations API is not supported; use previous_response_id");
    }
    if (bd_cvr_get(req, "prompt")) {
        return bd_cv_bad(err, "prompt", "prompt templates are not supported");
    }
    return 0;
}

/* Numbers and flags copied as they are (the chat adapter checks their ranges). */
static int
bd_cvr_scalars(json_t *req, json_t *chat, json_t *echo, bd_convert_error_t *err)
{
    json_t *mot = bd_cvr_get(req, "max_output_tokens");
    if (mot && (!json_is_integer(mot) || json_integer_value(mot) < 1)) {
        return bd_cv_bad(err, "max_output_tokens", "must be an integer of at least 1");
    }
    if (mot) {
        json_object_set(chat, "max_completion_tokens", mot);
    }
    json_object_set_new(echo, "max_output_tokens", mot ? json_incref(mot) : json_null());
    const char *copied[] = {"temperature", "top_p", "parallel_tool_calls"};
    for (const char *k : copied) {
        json_t *v = bd_cvr_get(req, k);
        if (v) {
            json_object_set(chat, k, v);
        }
    }
    const char *sampling[] = {"temperature", "top_p"};
    for (const char *k : sampling) {
        json_t *v = bd_cvr_get(req, k);
        json_object_set_new(echo, k, v ? json_incref(v) : json_real(1.0));
    }
    json_t *ptc = bd_cvr_get(req, "parallel_tool_calls");
    json_object_set_new(echo, "parallel_tool_calls", ptc ? json_incref(ptc) : json_true());
    json_t *meta = bd_cvr_get(req, "metadata");
    if (meta && !json_is_object(meta)) {
        return bd_cv_bad(err, "metadata", "must be an object");
    }
    json_object_set_new(echo, "metadata", meta ? json_incref(meta) : json_object());
    const char *user = bd_cv_str(req, "user");
    if (!user) {
        user = bd_cv_str(req, "safety_identifier");
    }
    if (user) {
        bd_cv_set_str(chat, "user", user);
    }
    json_object_set_new(echo, "user", user ? json_string(user) : json_null());
    json_t *trunc = bd_cvr_get(req, "truncation");
    json_object_set_new(echo, "truncation", trunc ? json_incref(trunc) : json_string("disabled"));
    json_t *prev = bd_cvr_get(req, "previous_response_id");
    if (prev && !json_is_string(prev)) {
        return bd_cv_bad(err, "previous_response_id", "must be a string");
    }
    json_object_set_new(echo, "previous_response_id", prev ? json_incref(prev) : json_null());
    return 0;
}

/* The conversation's items: the previous ones, then this request's input. */
static int
bd_cvr_input(json_t *req, json_t *previous, bd_convert_responses_req_t *out,
             bd_convert_error_t *err)
{
    json_t *input = json_object_get(req, "input");
    if (input == nullptr) {
        return bd_cv_bad(err, "input", "Field required");
    }
    out->input = previous ? json_deep_copy(previous) : json_array();
    if (json_is_string(input)) {
        json_array_append_new(out->input, json_pack("{s:s,s:s,s:O}", "type", "message", "role",
                                                    "user", "content", input));
        return 0;
    }
    if (!json_is_array(input)) {
        return bd_cv_bad(err, "input", "must be a string or an array of input items");
    }
    size_t i;
    json_t *item;
    json_array_foreach(input, i, item) {
        /* a message sent without its type is kept with it, as OpenAI lists it */
        if (json_is_object(item) && !json_object_get(item, "type") && bd_cv_str(item, "role")) {
            json_t *typed = json_pack("{s:s}", "type", "message");
            json_object_update(typed, item);
            json_array_append_new(out->input, typed);
        } else {
            json_array_append(out->input, item);
        }
    }
    return 0;
}

static int
bd_cvr_build(json_t *req, json_t *previous, bd_convert_responses_req_t *out,
             bd_convert_error_t *err)
{
    json_t *chat = out->chat;
    json_t *echo = out->echo;
    if (bd_cvr_unsupported(req, err) != 0 || bd_cvr_input(req, previous, out, err) != 0) {
        return -1;
    }
    json_t *messages = json_array();
    json_object_set_new(chat, "messages", messages);
    json_t *instr = bd_cvr_get(req, "instructions");
    if (instr && !json_is_string(instr)) {
        return bd_cv_bad(err, "instructions", "must be a string");
    }
    if (instr && json_string_length(instr) > 0) {
        json_array_append_new(messages, json_pack("{s:s,s:O}", "role", "system", "content",
                                                  instr));
    }
    json_object_set_new(echo, "instructions", instr ? json_incref(instr) : json_null());
    if (bd_convert_responses_items(out->input, "input", messages, err) != 0) {
        return -1;
    }
    size_t first = instr && json_string_length(instr) > 0 ? 1 : 0;
    if (json_array_size(messages) == first) {
        return bd_cv_bad(err, "input", "must hold at least one message");
    }
    json_t *stream = bd_cvr_get(req, "stream");
    json_t *store = bd_cvr_get(req, "store");
    if ((stream && !json_is_boolean(stream)) || (store && !json_is_boolean(store))) {
        return bd_cv_bad(err, stream && !json_is_boolean(stream) ? "stream" : "store",
                         "must be a boolean");
    }
    out->stream = json_is_true(stream);
    out->store = store == nullptr || json_is_true(store);
    json_object_set_new(echo, "store", json_boolean(out->store));
    if (out->stream) {
        /* the usage goes into response.completed */
        json_object_set_new(chat, "stream", json_true());
        json_object_set_new(chat, "stream_options", json_pack("{s:b}", "include_usage", 1));
    }
    json_t *model = json_object_get(req, "model");
    if (model) {
        json_object_set(chat, "model", model);
    }
    return bd_cvr_tools(req, chat, echo, &out->dropped, err) != 0 ||
                   bd_cvr_reasoning(req, chat, echo, err) != 0 ||
                   bd_cvr_text(req, chat, echo, err) != 0 || bd_cvr_scalars(req, chat, echo, err)
               ? -1
               : 0;
}

int
bd_convert_responses_request(json_t *req, json_t *previous, bd_convert_responses_req_t *out,
                             bd_convert_error_t *err)
{
    *out = bd_convert_responses_req_t();
    if (!json_is_object(req)) {
        return bd_cv_bad(err, "", "the request body must be a JSON object");
    }
    out->chat = json_object();
    out->echo = json_object();
    if (bd_cvr_build(req, previous, out, err) != 0) {
        bd_convert_responses_req_free(out);
        return -1;
    }
    return 0;
}
