/*
 * bd_convert_fates.cc: what becomes of the Messages API members that exist only under
 * an anthropic-beta (the ones Claude Code sends), per route. A member is passed through
 * when the model accepts the beta that gates it (the Bedrock name, after beta_rename);
 * otherwise it is translated where Bedrock has an equivalent, left out where that gives
 * the same outcome, or refused with a 400 that names it. Never silently different.
 * README "Messages API fields on Bedrock" is the table of these fates. Pure, any thread.
 */
#include <string.h>

#include "modules/convert/bd_convert_int.h"

#define BD_CV_BETA_CONTEXT_MANAGEMENT "context-management-2025-06-27"
#define BD_CV_BETA_TOOL_SEARCH "tool-search-tool-2025-10-19"
#define BD_CV_BETA_EFFORT "effort-2025-11-24"

static bool
bd_cv_has(json_t *betas, const char *beta)
{
    size_t i;
    json_t *b;
    json_array_foreach(betas, i, b) {
        if (strcmp(json_string_value(b), beta) == 0) {
            return true;
        }
    }
    return false;
}

static int
bd_cv_needs_beta(bd_convert_error_t *err, const bd_convert_model_t *m, const char *field,
                 const char *beta)
{
    return bd_cv_bad(err, field,
                     std::string("not supported for model '") + m->client_name +
                         "' on Bedrock: it needs the beta " + beta +
                         ", which this model does not accept here");
}

/* Edits that change nothing: clearing thinking while keeping all of it. */
static bool
bd_cv_context_noop(json_t *cm)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(cm, "edits"), i, e) {
        const char *t = bd_cv_str(e, "type");
        const char *keep = bd_cv_str(e, "keep");
        if (!t || strncmp(t, "clear_thinking_", 15) != 0 || !keep || strcmp(keep, "all") != 0) {
            return false;
        }
    }
    return true;
}

static int
bd_cv_fate_context(json_t *work, const bd_convert_model_t *m, json_t *betas,
                   bd_convert_error_t *err)
{
    json_t *cm = json_object_get(work, "context_management");
    if (!cm || json_is_null(cm)) {
        json_object_del(work, "context_management");
        return 0;
    }
    if (!json_is_object(cm)) {
        return bd_cv_bad(err, "context_management", "Input should be a valid dictionary");
    }
    if (bd_cv_has(betas, BD_CV_BETA_CONTEXT_MANAGEMENT)) {
        return 0;
    }
    if (bd_cv_context_noop(cm)) {
        json_object_del(work, "context_management"); /* keep-all edits change nothing */
        return 0;
    }
    return bd_cv_needs_beta(err, m, "context_management", BD_CV_BETA_CONTEXT_MANAGEMENT);
}

/* Deferred tools: the model does not see them until a tool search discovers them.
 * Without tool search on Bedrock (or on Converse, which has no such member) they are
 * left out, which is what the model would see. */
static int
bd_cv_fate_tools(json_t *work, const bd_convert_model_t *m, json_t *betas, bool invoke,
                 bd_convert_error_t *err)
{
    json_t *tools = json_object_get(work, "tools");
    if (!json_is_array(tools)) {
        return 0;
    }
    bool keep_deferred = invoke && bd_cv_has(betas, BD_CV_BETA_TOOL_SEARCH);
    json_t *kept = json_array();
    std::vector<std::string> left_out;
    size_t i;
    json_t *t;
    json_array_foreach(tools, i, t) {
        json_t *dl = json_object_get(t, "defer_loading");
        if (!dl || keep_deferred) {
            json_array_append(kept, t);
            continue;
        }
        if (json_is_true(dl)) {
            const char *name = bd_cv_str(t, "name");
            left_out.emplace_back(name ? name : "");
            continue;
        }
        json_t *copy = json_copy(t); /* defer_loading false is the default */
        json_object_del(copy, "defer_loading");
        json_array_append_new(kept, copy);
    }
    const char *forced = bd_cv_str(json_object_get(work, "tool_choice"), "name");
    for (const std::string &n : left_out) {
        if (forced && n == forced) {
            json_decref(kept);
            return bd_cv_bad(err, "tool_choice.name",
                             "tool '" + n + "' is deferred (defer_loading) and model '" +
                                 m->client_name + "' has no tool search on Bedrock");
        }
    }
    if (json_array_size(kept) == 0) {
        json_decref(kept);
        json_object_del(work, "tools");
        const char *choice = bd_cv_str(json_object_get(work, "tool_choice"), "type");
        if (choice && (strcmp(choice, "auto") == 0 || strcmp(choice, "none") == 0)) {
            json_object_del(work, "tool_choice");
        }
        return 0;
    }
    json_object_set_new(work, "tools", kept);
    return 0;
}

/* output_config.effort: Converse has outputConfig.effort (the converter maps it); the
 * native body takes it only with the effort beta. */
static int
bd_cv_fate_output_config(json_t *work, const bd_convert_model_t *m, json_t *betas, bool invoke,
                         bd_convert_error_t *err)
{
    json_t *oc = json_object_get(work, "output_config");
    if (!oc || json_is_null(oc)) {
        json_object_del(work, "output_config");
        return 0;
    }
    if (!json_is_object(oc)) {
        return bd_cv_bad(err, "output_config", "Input should be a valid dictionary");
    }
    json_t *effort = json_object_get(oc, "effort");
    if (effort && !json_is_string(effort)) {
        return bd_cv_bad(err, "output_config.effort", "Input should be a valid string");
    }
    if (invoke && effort && !bd_cv_has(betas, BD_CV_BETA_EFFORT)) {
        return bd_cv_needs_beta(err, m, "output_config.effort", BD_CV_BETA_EFFORT);
    }
    return 0;
}

/* The system prompt as a list of text blocks (a string becomes one block). */
static json_t *
bd_cv_system_blocks(json_t *sys)
{
    if (json_is_array(sys)) {
        return json_copy(sys);
    }
    json_t *a = json_array();
    if (json_is_string(sys) && json_string_length(sys) > 0) {
        json_array_append_new(a, json_pack("{s:s,s:O}", "type", "text", "text", sys));
    }
    return a;
}

/* role "system" inside messages: Bedrock's native body has no such turn. Their text
 * joins the system prompt in order (the Converse converter does the same). */
static void
bd_cv_fate_system_turns(json_t *work)
{
    json_t *msgs = json_object_get(work, "messages");
    json_t *kept = json_array();
    json_t *sys = nullptr;
    size_t i;
    json_t *msg;

    json_array_foreach(msgs, i, msg) {
        const char *role = bd_cv_str(msg, "role");
        if (!role || strcmp(role, "system") != 0) {
            json_array_append(kept, msg);
            continue;
        }
        if (!sys) {
            sys = bd_cv_system_blocks(json_object_get(work, "system"));
        }
        json_t *c = json_object_get(msg, "content");
        if (json_is_string(c)) {
            json_array_append_new(sys, json_pack("{s:s,s:O}", "type", "text", "text", c));
        } else {
            json_array_extend(sys, c);
        }
    }
    if (!sys) {
        json_decref(kept);
        return;
    }
    json_object_set_new(work, "messages", kept);
    json_object_set_new(work, "system", sys);
}

json_t *
bd_cv_fates(json_t *req, const bd_convert_model_t *m, const char *beta_header, bool invoke,
            bd_convert_error_t *err)
{
    json_t *work = json_copy(req); /* members replaced, never edited in place */
    json_t *betas = bd_cv_betas(beta_header, m, nullptr);
    int rc = bd_cv_fate_context(work, m, betas, err);

    if (rc == 0) {
        rc = bd_cv_fate_tools(work, m, betas, invoke, err);
    }
    if (rc == 0) {
        rc = bd_cv_fate_output_config(work, m, betas, invoke, err);
    }
    json_decref(betas);
    if (rc != 0) {
        json_decref(work);
        return nullptr;
    }
    if (invoke) {
        bd_cv_fate_system_turns(work);
    }
    return work;
}
