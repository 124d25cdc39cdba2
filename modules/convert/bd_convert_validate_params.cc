/*
 * bd_convert_validate_params.cc: checks the non-message members of an Anthropic
 * Messages body: sampling, stop sequences, metadata, tools, tool_choice, thinking and
 * the members Bedrock cannot serve. Pure, any thread.
 */
#include <string.h>

#include "modules/convert/bd_convert_int.h"

static bool
bd_cv_is(const char *s, const char *v)
{
    return s && strcmp(s, v) == 0;
}

static int
bd_cv_number(json_t *req, const char *key, double lo, double hi, bd_convert_error_t *err)
{
    json_t *j = json_object_get(req, key);

    if (!j || json_is_null(j)) {
        return 0;
    }
    if (!json_is_number(j)) {
        return bd_cv_bad(err, key, "Input should be a valid number");
    }
    double d = json_number_value(j);
    if (d < lo) {
        return bd_cv_bad(err, key,
                         "Input should be greater than or equal to " + std::to_string((int)lo));
    }
    if (d > hi) {
        return bd_cv_bad(err, key,
                         "Input should be less than or equal to " + std::to_string((int)hi));
    }
    return 0;
}

int
bd_cv_validate_params(json_t *req, bd_convert_error_t *err)
{
    static const char *const unsupported[] = {"container", "mcp_servers"};

    for (const char *k : unsupported) {
        json_t *j = json_object_get(req, k);
        if (j && !json_is_null(j)) {
            return bd_cv_bad(err, k, "not supported on Bedrock");
        }
    }
    if (bd_cv_number(req, "temperature", 0, 1, err) != 0 ||
        bd_cv_number(req, "top_p", 0, 1, err) != 0) {
        return -1;
    }
    json_t *k = json_object_get(req, "top_k");
    if (k && !json_is_null(k) && (!json_is_integer(k) || json_integer_value(k) < 0)) {
        return bd_cv_bad(err, "top_k", "Input should be a non-negative integer");
    }
    json_t *s = json_object_get(req, "stream");
    if (s && !json_is_boolean(s) && !json_is_null(s)) {
        return bd_cv_bad(err, "stream", "Input should be a valid boolean");
    }
    json_t *ss = json_object_get(req, "stop_sequences");
    if (ss && !json_is_null(ss)) {
        size_t i;
        json_t *e;
        if (!json_is_array(ss)) {
            return bd_cv_bad(err, "stop_sequences", "Input should be a valid list");
        }
        json_array_foreach(ss, i, e) {
            if (!json_is_string(e)) {
                return bd_cv_bad(err, bd_cv_path("stop_sequences", i),
                                 "Input should be a valid string");
            }
        }
    }
    json_t *md = json_object_get(req, "metadata");
    if (md && !json_is_null(md)) {
        json_t *u = json_object_get(md, "user_id");
        if (!json_is_object(md)) {
            return bd_cv_bad(err, "metadata", "Input should be a valid dictionary");
        }
        if (u && !json_is_null(u) && !json_is_string(u)) {
            return bd_cv_bad(err, "metadata.user_id", "Input should be a valid string");
        }
    }
    return 0;
}

static int
bd_cv_tool(json_t *t, size_t i, bd_convert_error_t *err, int *cache_controls)
{
    std::string p = bd_cv_path("tools", i);

    if (!json_is_object(t)) {
        return bd_cv_bad(err, p, "Input should be a valid dictionary");
    }
    const char *type = bd_cv_str(t, "type");
    if (type && strcmp(type, "custom") != 0) {
        return bd_cv_bad(err, p,
                         std::string("tool type '") + type + "' is not supported on " +
                             "Bedrock; only custom tools (with input_schema) are");
    }
    if (!bd_cv_str(t, "name")) {
        return bd_cv_bad(err, bd_cv_path(p, "name"),
                         json_object_get(t, "name") ? "Input should be a valid string"
                                                    : "Field required");
    }
    json_t *schema = json_object_get(t, "input_schema");
    if (!json_is_object(schema)) {
        return bd_cv_bad(err, bd_cv_path(p, "input_schema"),
                         schema ? "Input should be a valid dictionary" : "Field required");
    }
    json_t *d = json_object_get(t, "description");
    if (d && !json_is_null(d) && !json_is_string(d)) {
        return bd_cv_bad(err, bd_cv_path(p, "description"), "Input should be a valid string");
    }
    json_t *cc = json_object_get(t, "cache_control");
    if (cc && !json_is_null(cc)) {
        if (!bd_cv_is(bd_cv_str(cc, "type"), "ephemeral")) {
            return bd_cv_bad(err, bd_cv_path(p, "cache_control.type"),
                             "Input should be 'ephemeral'");
        }
        (*cache_controls)++;
    }
    return 0;
}

static int
bd_cv_tool_choice(json_t *tc, const char **type, bd_convert_error_t *err)
{
    *type = nullptr;
    if (!tc || json_is_null(tc)) {
        return 0;
    }
    *type = bd_cv_str(tc, "type");
    if (!bd_cv_is(*type, "auto") && !bd_cv_is(*type, "any") && !bd_cv_is(*type, "tool") &&
        !bd_cv_is(*type, "none")) {
        return bd_cv_bad(err, "tool_choice.type",
                         "Input should be 'auto', 'any', 'tool' or 'none'");
    }
    if (bd_cv_is(*type, "tool") && !bd_cv_str(tc, "name")) {
        return bd_cv_bad(err, "tool_choice.name", "Field required");
    }
    json_t *dp = json_object_get(tc, "disable_parallel_tool_use");
    if (dp && !json_is_boolean(dp) && !json_is_null(dp)) {
        return bd_cv_bad(err, "tool_choice.disable_parallel_tool_use",
                         "Input should be a valid boolean");
    }
    return 0;
}

static int
bd_cv_thinking(json_t *req, const bd_convert_model_t *m, const char *beta_header,
               bool need_max_tokens, bool *on, bd_convert_error_t *err)
{
    json_t *th = json_object_get(req, "thinking");
    const char *type = bd_cv_str(th, "type");

    *on = false;
    if (!th || json_is_null(th)) {
        return 0;
    }
    if (!bd_cv_is(type, "enabled") && !bd_cv_is(type, "disabled") && !bd_cv_is(type, "adaptive")) {
        return bd_cv_bad(err, "thinking.type",
                         "Input should be 'enabled', 'disabled' or 'adaptive'");
    }
    if (bd_cv_is(type, "disabled")) {
        return 0;
    }
    if (!m->supports_thinking) {
        return bd_cv_bad(err, "thinking",
                         "extended thinking is not supported by model '" + m->client_name + "'");
    }
    *on = true;
    if (bd_cv_is(type, "adaptive")) {
        return 0;
    }
    int64_t budget = 0;
    if (bd_cv_int(th, "budget_tokens", &budget) != 0) {
        return bd_cv_bad(err, "thinking.enabled.budget_tokens", "Field required");
    }
    if (budget < 1024) {
        return bd_cv_bad(err, "thinking.enabled.budget_tokens",
                         "Input should be greater than or equal to 1024");
    }
    /* interleaved thinking (when it reaches Bedrock) makes the budget one for the turn */
    int64_t max = bd_cv_max_tokens(req, m);
    if (need_max_tokens && budget >= max &&
        !bd_cv_beta_forwarded(beta_header, m, "interleaved-thinking-2025-05-14")) {
        std::string why = "max_tokens must be greater than thinking.budget_tokens";
        if (max < json_integer_value(json_object_get(req, "max_tokens"))) {
            why += " (max_tokens is capped at " + std::to_string(max) + " for this model)";
        }
        return bd_cv_bad(err, "", why);
    }
    return 0;
}

int
bd_cv_validate_tools(json_t *req, const bd_convert_model_t *m, const char *beta_header,
                     bool need_max_tokens, bd_convert_error_t *err, int *cache_controls)
{
    json_t *tools = json_object_get(req, "tools");

    if (tools && !json_is_null(tools)) {
        size_t i;
        json_t *t;
        if (!json_is_array(tools)) {
            return bd_cv_bad(err, "tools", "Input should be a valid list");
        }
        json_array_foreach(tools, i, t) {
            if (bd_cv_tool(t, i, err, cache_controls) != 0) {
                return -1;
            }
        }
    }
    const char *choice;
    bool thinking;
    if (bd_cv_tool_choice(json_object_get(req, "tool_choice"), &choice, err) != 0 ||
        bd_cv_thinking(req, m, beta_header, need_max_tokens, &thinking, err) != 0) {
        return -1;
    }
    if (thinking && (bd_cv_is(choice, "any") || bd_cv_is(choice, "tool"))) {
        return bd_cv_bad(err, "", "Thinking may not be enabled when tool_choice forces tool use.");
    }
    return 0;
}
