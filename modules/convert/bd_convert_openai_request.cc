/*
 * bd_convert_openai_request.cc: the top level of Chat Completions -> Converse: parameter
 * validation, inference config, tools and tool_choice, reasoning_effort as Claude's
 * extended thinking, response_format. Messages are in bd_convert_openai_messages.cc.
 * Pure, any thread; every client mistake is a 400 naming the parameter.
 */
#include <string.h>

#include "modules/convert/bd_convert_openai_int.h"

/* Thinking budgets per reasoning_effort; Claude needs at least 1024. */
static const struct {
    const char *effort;
    int64_t budget; /* 0: no thinking */
} bd_cvo_efforts[] = {
    {"none", 0},     {"minimal", 0},   {"low", 1024},  {"medium", 4096},
    {"high", 16384}, {"xhigh", 32000}, {"max", 32000},
};

#define BD_CVO_MIN_BUDGET 1024

static bool
bd_cvo_is(const char *s, const char *v)
{
    return s && strcmp(s, v) == 0;
}

/* Member <key> when present and not null. */
static json_t *
bd_cvo_get(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_null(v) ? nullptr : v;
}

static int
bd_cvo_check_number(json_t *req, const char *key, double lo, double hi, bd_convert_error_t *err)
{
    json_t *v = bd_cvo_get(req, key);
    if (v && (!json_is_number(v) || json_number_value(v) < lo || json_number_value(v) > hi)) {
        char msg[80];
        snprintf(msg, sizeof(msg), "must be a number between %g and %g", lo, hi);
        return bd_cv_bad(err, key, msg);
    }
    return 0;
}

static int
bd_cvo_check_unsupported(json_t *req, bd_convert_error_t *err)
{
    json_t *n = bd_cvo_get(req, "n");
    if (n && (!json_is_integer(n) || json_integer_value(n) != 1)) {
        return bd_cv_bad(err, "n", "only n=1 is supported: Bedrock returns one choice per request");
    }
    if (json_is_true(json_object_get(req, "logprobs"))) {
        return bd_cv_bad(err, "logprobs", "log probabilities are not available on Bedrock");
    }
    if (bd_cvo_get(req, "audio")) {
        return bd_cv_bad(err, "audio", "audio output is not supported");
    }
    size_t i;
    json_t *mod;
    json_array_foreach(json_object_get(req, "modalities"), i, mod) {
        if (bd_cvo_is(json_string_value(mod), "audio")) {
            return bd_cv_bad(err, "modalities", "audio output is not supported");
        }
    }
    if (bd_cvo_get(req, "functions") || bd_cvo_get(req, "function_call")) {
        return bd_cv_bad(err, bd_cvo_get(req, "functions") ? "functions" : "function_call",
                         "the deprecated functions API is not supported; use tools");
    }
    return 0;
}

static int
bd_cvo_check_params(json_t *req, bd_convert_error_t *err)
{
    json_t *msgs = json_object_get(req, "messages");
    if (!msgs) {
        return bd_cv_bad(err, "messages", "Field required");
    }
    if (!json_is_array(msgs) || json_array_size(msgs) == 0) {
        return bd_cv_bad(err, "messages", "must be a non-empty array");
    }
    json_t *stream = bd_cvo_get(req, "stream");
    if (stream && !json_is_boolean(stream)) {
        return bd_cv_bad(err, "stream", "must be a boolean");
    }
    const char *mt[] = {"max_completion_tokens", "max_tokens"};
    for (const char *k : mt) {
        json_t *v = bd_cvo_get(req, k);
        if (v && (!json_is_integer(v) || json_integer_value(v) < 1)) {
            return bd_cv_bad(err, k, "must be an integer of at least 1");
        }
    }
    if (bd_cvo_check_number(req, "temperature", 0, 2, err) != 0 ||
        bd_cvo_check_number(req, "top_p", 0, 1, err) != 0) {
        return -1;
    }
    json_t *stop = bd_cvo_get(req, "stop");
    size_t i;
    json_t *s;
    json_array_foreach(stop, i, s) {
        if (!json_is_string(s)) {
            return bd_cv_bad(err, "stop", "must be a string or an array of strings");
        }
    }
    if (stop && !json_is_string(stop) && !json_is_array(stop)) {
        return bd_cv_bad(err, "stop", "must be a string or an array of strings");
    }
    return bd_cvo_check_unsupported(req, err);
}

static int64_t
bd_cvo_max_tokens(json_t *req, const bd_convert_model_t *m, int64_t def, bool *explicit_max)
{
    json_t *v = bd_cvo_get(req, "max_completion_tokens");
    if (!v) {
        v = bd_cvo_get(req, "max_tokens");
    }
    *explicit_max = v != nullptr;
    int64_t n = v ? json_integer_value(v) : def;
    if (m->max_output_tokens > 0 && n > m->max_output_tokens) {
        n = m->max_output_tokens;
    }
    return n;
}

static json_t *
bd_cvo_inference(json_t *req, const bd_convert_model_t *m, int64_t max_tokens, bool thinking)
{
    json_t *ic = json_object();
    json_t *t = bd_cvo_get(req, "temperature");
    json_t *p = bd_cvo_get(req, "top_p");

    bd_cv_set_int(ic, "maxTokens", max_tokens);
    if (thinking) {
        t = p = nullptr; /* Claude rejects changed sampling with thinking on */
    }
    if (t) {
        /* OpenAI allows up to 2; Bedrock models take 0..1 */
        double v = json_number_value(t);
        json_object_set_new(ic, "temperature", json_real(v > 1.0 ? 1.0 : v));
    }
    if (p && !(t && m->temperature_top_p_exclusive)) {
        json_object_set_new(ic, "topP", json_real(json_number_value(p)));
    }
    json_t *stop = bd_cvo_get(req, "stop");
    json_t *stops = json_array();
    if (json_is_string(stop) && json_string_length(stop) > 0) {
        json_array_append(stops, stop);
    }
    size_t i;
    json_t *s;
    json_array_foreach(stop, i, s) {
        if (json_string_length(s) > 0) { /* Bedrock rejects empty sequences */
            json_array_append(stops, s);
        }
    }
    if (json_array_size(stops) > 0) {
        json_object_set_new(ic, "stopSequences", stops);
    } else {
        json_decref(stops);
    }
    return ic;
}

/* tools[] -> Converse tool specs; a missing parameters schema becomes an empty object
 * schema, which Bedrock requires. OpenAI's "strict" is not forwarded: its schema rules
 * are OpenAI's own. */
static int
bd_cvo_tools(json_t *req, json_t *specs, bd_convert_error_t *err)
{
    json_t *tools = bd_cvo_get(req, "tools");
    if (tools && !json_is_array(tools)) {
        return bd_cv_bad(err, "tools", "must be an array");
    }
    size_t i;
    json_t *t;
    json_array_foreach(tools, i, t) {
        std::string path = bd_cvo_index("tools", i);
        json_t *fn = json_object_get(t, "function");
        const char *name = bd_cv_str(fn, "name");
        if (!bd_cvo_is(bd_cv_str(t, "type"), "function")) {
            return bd_cv_bad(err, bd_cvo_path(path, "type"), "only function tools are supported");
        }
        if (!name || !*name) {
            return bd_cv_bad(err, bd_cvo_path(path, "function.name"), "Field required");
        }
        json_t *params = bd_cvo_get(fn, "parameters");
        if (params && !json_is_object(params)) {
            return bd_cv_bad(err, bd_cvo_path(path, "function.parameters"), "must be an object");
        }
        json_t *spec = json_pack("{s:s}", "name", name);
        const char *d = bd_cv_str(fn, "description");
        if (d && *d) {
            bd_cv_set_str(spec, "description", d);
        }
        json_t *schema = params ? json_deep_copy(params)
                                : json_pack("{s:s,s:{}}", "type", "object", "properties");
        json_object_set_new(spec, "inputSchema", json_pack("{s:o}", "json", schema));
        json_array_append_new(specs, json_pack("{s:o}", "toolSpec", spec));
    }
    return 0;
}

static bool
bd_cvo_has_tool(json_t *specs, const char *name)
{
    size_t i;
    json_t *t;
    json_array_foreach(specs, i, t) {
        if (bd_cvo_is(bd_cv_str(json_object_get(t, "toolSpec"), "name"), name)) {
            return true;
        }
    }
    return false;
}

/* allowed_tools: keep only the listed tools; returns "auto" or "required". */
static const char *
bd_cvo_allowed_tools(json_t *tc, json_t *specs, bd_convert_error_t *err)
{
    json_t *at = json_object_get(tc, "allowed_tools");
    const char *mode = bd_cv_str(at, "mode");
    if (!bd_cvo_is(mode, "auto") && !bd_cvo_is(mode, "required")) {
        bd_cv_bad(err, "tool_choice.allowed_tools.mode", "must be \"auto\" or \"required\"");
        return nullptr;
    }
    json_t *keep = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(at, "tools"), i, t) {
        const char *name = bd_cv_str(json_object_get(t, "function"), "name");
        json_t *spec;
        size_t j;
        json_array_foreach(specs, j, spec) {
            if (bd_cvo_is(bd_cv_str(json_object_get(spec, "toolSpec"), "name"), name)) {
                json_array_append(keep, spec);
            }
        }
    }
    json_array_clear(specs);
    json_array_extend(specs, keep);
    json_decref(keep);
    return mode;
}

/* Reads tool_choice into <choice> ("none", "auto", "required", "tool") and <name>. */
static int
bd_cvo_tool_choice(json_t *req, json_t *specs, const char **choice, const char **name,
                   bd_convert_error_t *err)
{
    json_t *tc = bd_cvo_get(req, "tool_choice");
    *choice = "auto";
    *name = nullptr;
    if (!tc) {
        return 0;
    }
    if (json_is_string(tc)) {
        *choice = json_string_value(tc);
        if (bd_cvo_is(*choice, "none") || bd_cvo_is(*choice, "auto") ||
            bd_cvo_is(*choice, "required")) {
            return 0;
        }
        return bd_cv_bad(err, "tool_choice",
                         "must be \"none\", \"auto\", \"required\" or an object");
    }
    const char *type = bd_cv_str(tc, "type");
    if (bd_cvo_is(type, "function")) {
        *name = bd_cv_str(json_object_get(tc, "function"), "name");
        if (!*name || !bd_cvo_has_tool(specs, *name)) {
            return bd_cv_bad(err, "tool_choice.function.name", "must name one of the tools");
        }
        *choice = "tool";
        return 0;
    }
    if (bd_cvo_is(type, "allowed_tools")) {
        *choice = bd_cvo_allowed_tools(tc, specs, err);
        return *choice ? 0 : -1;
    }
    return bd_cv_bad(err, "tool_choice.type", "must be \"function\" or \"allowed_tools\"");
}

/* Tools the history names, with a permissive schema: Bedrock needs a toolConfig whenever
 * the history holds tool blocks, even when the request offers no tools. */
static void
bd_cvo_synth_tools(bd_cvo_ctx_t *c, json_t *specs)
{
    for (const std::string &n : c->tool_names) {
        if (!bd_cvo_has_tool(specs, n.c_str())) {
            json_array_append_new(specs, json_pack("{s:{s:s,s:{s:{s:s}}}}", "toolSpec", "name",
                                                   n.c_str(), "inputSchema", "json", "type",
                                                   "object"));
        }
    }
    if (json_array_size(specs) == 0) {
        json_array_append_new(specs, json_pack("{s:{s:s,s:{s:{s:s}}}}", "toolSpec", "name", "tool",
                                               "inputSchema", "json", "type", "object"));
    }
}

/* Builds toolConfig into <body>. "auto" is Converse's default and is left out, so that
 * models without toolChoice support still take tools; "none" offers no tools unless the
 * history forces a toolConfig. */
static int
bd_cvo_tool_config(bd_cvo_ctx_t *c, json_t *req, json_t *body, const char **choice)
{
    json_t *specs = json_array();
    const char *name = nullptr;
    if (bd_cvo_tools(req, specs, c->err) != 0 ||
        bd_cvo_tool_choice(req, specs, choice, &name, c->err) != 0) {
        json_decref(specs);
        return -1;
    }
    if (bd_cvo_is(*choice, "none") || json_array_size(specs) == 0) {
        if (!c->has_tool_blocks) {
            json_decref(specs);
            return 0;
        }
        bd_cvo_synth_tools(c, specs);
        json_object_set_new(body, "toolConfig", json_pack("{s:o}", "tools", specs));
        return 0;
    }
    if (c->has_tool_blocks) {
        bd_cvo_synth_tools(c, specs);
    }
    json_t *cfg = json_pack("{s:o}", "tools", specs);
    if (bd_cvo_is(*choice, "required")) {
        json_object_set_new(cfg, "toolChoice", json_pack("{s:{}}", "any"));
    } else if (bd_cvo_is(*choice, "tool")) {
        json_object_set_new(cfg, "toolChoice", json_pack("{s:{s:s}}", "tool", "name", name));
    }
    json_object_set_new(body, "toolConfig", cfg);
    return 0;
}

/* Claude requires the assistant turn before a tool result to start with its signed
 * thinking when thinking is on; OpenAI clients drop it, so thinking is left off then. */
static bool
bd_cvo_history_blocks_thinking(json_t *messages)
{
    for (size_t i = json_array_size(messages); i-- > 0;) {
        json_t *msg = json_array_get(messages, i);
        if (!bd_cvo_is(bd_cv_str(msg, "role"), "assistant")) {
            continue;
        }
        json_t *content = json_object_get(msg, "content");
        bool tool = false;
        size_t j;
        json_t *b;
        json_array_foreach(content, j, b) {
            tool = tool || json_object_get(b, "toolUse") != nullptr;
        }
        return tool && !json_object_get(json_array_get(content, 0), "reasoningContent");
    }
    return false;
}

/* reasoning_effort -> a thinking budget (0: none). */
static int
bd_cvo_effort(json_t *req, int64_t *budget, bd_convert_error_t *err)
{
    json_t *v = bd_cvo_get(req, "reasoning_effort");
    *budget = 0;
    if (!v) {
        return 0;
    }
    for (const auto &e : bd_cvo_efforts) {
        if (bd_cvo_is(json_string_value(v), e.effort)) {
            *budget = e.budget;
            return 0;
        }
    }
    return bd_cv_bad(err, "reasoning_effort",
                     "must be one of none, minimal, low, medium, high, xhigh or max");
}

/* Decides the thinking budget and the final max_tokens. Thinking needs a model that has
 * it, no forced tool, and a history it can continue; budget < max_tokens. */
static int
bd_cvo_thinking(json_t *req, const bd_convert_model_t *m, json_t *messages, const char *choice,
                bool explicit_max, int64_t *max_tokens, int64_t *budget, bd_convert_error_t *err)
{
    if (bd_cvo_effort(req, budget, err) != 0) {
        return -1;
    }
    if (*budget == 0 || !m->supports_thinking || bd_cvo_is(choice, "required") ||
        bd_cvo_is(choice, "tool") || bd_cvo_history_blocks_thinking(messages)) {
        *budget = 0;
        return 0;
    }
    if (!explicit_max) {
        /* the default leaves room for the answer after the thinking */
        *max_tokens += *budget;
        if (m->max_output_tokens > 0 && *max_tokens > m->max_output_tokens) {
            *max_tokens = m->max_output_tokens;
        }
    }
    if (*budget >= *max_tokens) {
        /* a client's own limit: half of it for thinking, half for the answer */
        *budget = *max_tokens / 2 > BD_CVO_MIN_BUDGET ? *max_tokens / 2 : BD_CVO_MIN_BUDGET;
    }
    if (*budget >= *max_tokens) {
        return bd_cv_bad(err, "max_completion_tokens",
                         "must be more than 1024 when reasoning_effort is set");
    }
    return 0;
}

static int
bd_cvo_response_format(json_t *req, json_t *body, json_t *system, bd_convert_error_t *err)
{
    json_t *rf = bd_cvo_get(req, "response_format");
    const char *type = bd_cv_str(rf, "type");
    if (!rf || bd_cvo_is(type, "text")) {
        return 0;
    }
    if (bd_cvo_is(type, "json_object")) {
        /* no native equivalent: say it to the model */
        json_array_append_new(system, json_pack("{s:s}", "text",
                                                "Respond with one valid JSON object and nothing "
                                                "else."));
        return 0;
    }
    if (!bd_cvo_is(type, "json_schema")) {
        return bd_cv_bad(err, "response_format.type",
                         "must be \"text\", \"json_object\" or \"json_schema\"");
    }
    json_t *js = json_object_get(rf, "json_schema");
    json_t *schema = json_object_get(js, "schema");
    if (!json_is_object(schema)) {
        return bd_cv_bad(err, "response_format.json_schema.schema", "must be a JSON schema object");
    }
    std::string text;
    bd_convert_json_dump(schema, &text);
    json_t *jschema = json_pack("{s:s,s:s}", "schema", text.c_str(), "name",
                                bd_cv_str(js, "name") ? bd_cv_str(js, "name") : "output");
    const char *desc = bd_cv_str(js, "description");
    if (desc && *desc) {
        bd_cv_set_str(jschema, "description", desc);
    }
    /* Bedrock takes the schema as a JSON string; models without structured output
     * answer with a ValidationException, passed on as a 400 */
    json_object_set_new(body, "outputConfig",
                        json_pack("{s:{s:s,s:{s:o}}}", "textFormat", "type", "json_schema",
                                  "structure", "jsonSchema", jschema));
    return 0;
}

static int
bd_cvo_build(bd_cvo_ctx_t *c, json_t *req, int64_t default_max_tokens, json_t *body,
             bd_convert_openai_chat_t *chat)
{
    json_t *messages = json_array();
    json_t *system = json_array();
    json_object_set_new(body, "messages", messages);
    if (bd_cvo_messages(c, json_object_get(req, "messages"), messages, system) != 0 ||
        bd_cvo_response_format(req, body, system, c->err) != 0) {
        json_decref(system);
        return -1;
    }
    if (json_array_size(system) > 0) {
        json_object_set_new(body, "system", system);
    } else {
        json_decref(system);
    }
    const char *choice = "auto";
    if (bd_cvo_tool_config(c, req, body, &choice) != 0) {
        return -1;
    }
    bool explicit_max = false;
    int64_t max_tokens = bd_cvo_max_tokens(req, c->m, default_max_tokens, &explicit_max);
    int64_t budget = 0;
    if (bd_cvo_thinking(req, c->m, messages, choice, explicit_max, &max_tokens, &budget,
                        c->err) != 0) {
        return -1;
    }
    json_object_set_new(body, "inferenceConfig",
                        bd_cvo_inference(req, c->m, max_tokens, budget > 0));
    if (budget > 0) {
        json_object_set_new(body, "additionalModelRequestFields",
                            json_pack("{s:{s:s,s:I}}", "thinking", "type", "enabled",
                                      "budget_tokens", (json_int_t)budget));
    }
    chat->thinking = budget > 0;
    c->out->max_tokens = max_tokens;
    return 0;
}

int
bd_convert_openai_to_converse(json_t *req, const bd_convert_model_t *m, int64_t default_max_tokens,
                              bd_convert_request_t *out, bd_convert_openai_chat_t *chat,
                              bd_convert_error_t *err)
{
    *out = bd_convert_request_t();
    *chat = bd_convert_openai_chat_t();
    if (!json_is_object(req)) {
        return bd_cv_bad(err, "", "the request body must be a JSON object");
    }
    if (bd_cvo_check_params(req, err) != 0) {
        return -1;
    }
    bd_cvo_ctx_t c = {m, out, err, {}, {}, false};
    json_t *body = json_object();
    if (bd_cvo_build(&c, req, default_max_tokens, body, chat) != 0) {
        json_decref(body);
        *out = bd_convert_request_t();
        return -1;
    }
    out->body = body;
    out->stream = json_is_true(json_object_get(req, "stream"));
    chat->include_usage =
        out->stream && json_is_true(json_object_get(json_object_get(req, "stream_options"),
                                                    "include_usage"));
    const char *user = bd_cv_str(req, "user");
    if (!user) {
        user = bd_cv_str(req, "safety_identifier");
    }
    out->user_id = user ? user : "";
    return 0;
}
