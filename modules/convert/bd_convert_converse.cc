/*
 * bd_convert_converse.cc: the top level of Anthropic -> Converse: system, inference
 * config, tools and tool_choice, thinking and other additionalModelRequestFields,
 * output config. Messages are in converse_blocks.cc. Pure, any thread; the request is
 * validated first, so shapes are trusted here.
 */
#include <string.h>

#include "modules/convert/bd_convert_int.h"

static bool
bd_cv_is(const char *s, const char *v)
{
    return s && strcmp(s, v) == 0;
}

static bool
bd_cv_thinking_on(json_t *req)
{
    const char *t = bd_cv_str(json_object_get(req, "thinking"), "type");

    return bd_cv_is(t, "enabled") || bd_cv_is(t, "adaptive");
}

static void
bd_cv_system(json_t *req, json_t *system)
{
    json_t *sys = json_object_get(req, "system");
    size_t i;
    json_t *b;

    if (json_is_string(sys)) {
        const char *s = json_string_value(sys);
        if (strspn(s, " \t\r\n") != strlen(s)) {
            json_array_append_new(system, json_pack("{s:s}", "text", s));
        }
        return;
    }
    json_array_foreach(sys, i, b) {
        const char *s = bd_cv_str(b, "text");
        if (strspn(s, " \t\r\n") != strlen(s)) {
            json_array_append_new(system, json_pack("{s:s}", "text", s));
        }
        bd_cv_cache_point(system, b);
    }
}

static json_t *
bd_cv_inference(json_t *req, const bd_convert_model_t *m, json_t *body)
{
    json_t *ic = json_object();
    json_t *t = json_object_get(req, "temperature");
    json_t *p = json_object_get(req, "top_p");

    bd_cv_set_int(ic, "maxTokens", bd_cv_max_tokens(req, m));
    if (bd_cv_thinking_on(req)) {
        t = p = nullptr; /* Claude rejects changed sampling with thinking on */
    }
    if (json_is_number(t)) {
        json_object_set(ic, "temperature", t);
    }
    if (json_is_number(p) && !(json_is_number(t) && m->temperature_top_p_exclusive)) {
        json_object_set(ic, "topP", p);
    }
    json_t *stops = json_array();
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(req, "stop_sequences"), i, s) {
        if (json_string_length(s) > 0) {
            json_array_append(stops, s);
        }
    }
    if (json_array_size(stops) > 0) {
        json_object_set_new(ic, "stopSequences", stops);
        /* so that the matched sequence can be returned as stop_sequence */
        json_object_set_new(body, "additionalModelResponseFieldPaths",
                            json_pack("[s]", "/stop_sequence"));
    } else {
        json_decref(stops);
    }
    return ic;
}

static json_t *
bd_cv_tool_spec(json_t *t)
{
    json_t *spec = json_pack("{s:s}", "name", bd_cv_str(t, "name"));
    const char *d = bd_cv_str(t, "description");

    if (d && *d) {
        bd_cv_set_str(spec, "description", d);
    }
    json_object_set_new(spec, "inputSchema",
                        json_pack("{s:O}", "json", json_object_get(t, "input_schema")));
    if (json_is_boolean(json_object_get(t, "strict"))) {
        json_object_set(spec, "strict", json_object_get(t, "strict"));
    }
    return json_pack("{s:o}", "toolSpec", spec);
}

/* Tools the history names, with a permissive schema: Bedrock needs a toolConfig whenever
 * the history holds tool blocks, even when the client sent no tools. */
static void
bd_cv_synth_tools(bd_cv_cctx_t *c, json_t *tools)
{
    for (const std::string &n : c->tool_names) {
        json_array_append_new(tools, json_pack("{s:{s:s,s:{s:{s:s}}}}", "toolSpec", "name",
                                               n.c_str(), "inputSchema", "json", "type", "object"));
    }
    if (json_array_size(tools) == 0) {
        /* only tool results, their tool_use ids unknown: any tool will do */
        json_array_append_new(tools, json_pack("{s:{s:s,s:{s:{s:s}}}}", "toolSpec", "name", "tool",
                                               "inputSchema", "json", "type", "object"));
    }
}

static json_t *
bd_cv_tool_config(bd_cv_cctx_t *c, json_t *req)
{
    json_t *tc = json_object_get(req, "tool_choice");
    const char *choice = bd_cv_str(tc, "type");
    json_t *tools = json_array();
    size_t i;
    json_t *t;

    json_array_foreach(json_object_get(req, "tools"), i, t) {
        json_array_append_new(tools, bd_cv_tool_spec(t));
        bd_cv_cache_point(tools, t);
    }
    if (bd_cv_is(choice, "none") || json_array_size(tools) == 0) {
        /* Converse has no "none": no tools at all unless the history forces a toolConfig */
        json_array_clear(tools);
        if (!c->has_tool_blocks) {
            json_decref(tools);
            return nullptr;
        }
        json_array_foreach(json_object_get(req, "tools"), i, t) {
            json_array_append_new(tools, bd_cv_tool_spec(t));
        }
        if (json_array_size(tools) == 0) {
            bd_cv_synth_tools(c, tools);
        }
        return json_pack("{s:o}", "tools", tools);
    }
    json_t *cfg = json_pack("{s:o}", "tools", tools);
    /* disable_parallel_tool_use has no Converse field: it is dropped */
    if (bd_cv_is(choice, "auto") || bd_cv_is(choice, "any")) {
        json_object_set_new(cfg, "toolChoice", json_pack("{s:{}}", choice));
    } else if (bd_cv_is(choice, "tool")) {
        json_object_set_new(cfg, "toolChoice",
                            json_pack("{s:{s:s}}", "tool", "name", bd_cv_str(tc, "name")));
    }
    return cfg;
}

static json_t *
bd_cv_additional(json_t *req, const bd_convert_model_t *m, const char *beta_header,
                 std::vector<std::string> *dropped)
{
    json_t *add = json_object();
    json_t *k = json_object_get(req, "top_k");
    json_t *th = json_object_get(req, "thinking");

    if (json_is_integer(k) && !bd_cv_thinking_on(req)) {
        json_object_set(add, "top_k", k);
    }
    if (json_is_object(th) && m->supports_thinking) {
        json_object_set_new(add, "thinking", json_deep_copy(th));
    }
    json_t *cm = json_object_get(req, "context_management"); /* kept by the fates: gated */
    if (json_is_object(cm)) {
        json_object_set(add, "context_management", cm);
    }
    json_t *betas = bd_cv_betas(beta_header, m, dropped);
    if (json_array_size(betas) > 0) {
        json_object_set_new(add, "anthropic_beta", betas);
    } else {
        json_decref(betas);
    }
    if (json_object_size(add) == 0) {
        json_decref(add);
        return nullptr;
    }
    return add;
}

static json_t *
bd_cv_output_config(json_t *req)
{
    json_t *oc = json_object_get(req, "output_config");
    json_t *out = json_object();
    const char *effort = bd_cv_str(oc, "effort");
    json_t *format = json_object_get(oc, "format");

    if (effort) {
        bd_cv_set_str(out, "effort", effort);
    }
    if (bd_cv_is(bd_cv_str(format, "type"), "json_schema")) {
        /* Bedrock takes the schema as a JSON string */
        std::string schema;
        bd_convert_json_dump(json_object_get(format, "schema"), &schema);
        json_object_set_new(out, "textFormat",
                            json_pack("{s:s,s:{s:{s:s,s:s}}}", "type", "json_schema", "structure",
                                      "jsonSchema", "schema", schema.c_str(), "name", "output"));
    }
    if (json_object_size(out) == 0) {
        json_decref(out);
        return nullptr;
    }
    return out;
}

int
bd_cv_converse_build(json_t *req, const bd_convert_model_t *m, const char *beta_header,
                     bool count_only, bd_convert_request_t *out, bd_convert_error_t *err)
{
    bd_cv_cctx_t c = {m, out, err, {}, {}, false};
    json_t *body = json_object();
    json_t *messages = json_array();
    json_t *system = json_array();

    bd_cv_system(req, system);
    bd_cv_converse_messages(&c, req, messages, system);
    json_object_set_new(body, "messages", messages);
    if (json_array_size(system) > 0) {
        json_object_set_new(body, "system", system);
    } else {
        json_decref(system);
    }
    if (!count_only) {
        json_object_set_new(body, "inferenceConfig", bd_cv_inference(req, m, body));
    }
    json_t *tc = bd_cv_tool_config(&c, req);
    if (tc) {
        json_object_set_new(body, "toolConfig", tc);
    }
    json_t *add = bd_cv_additional(req, m, beta_header, &out->dropped_betas);
    if (add) {
        json_object_set_new(body, "additionalModelRequestFields", add);
    }
    json_t *oc = count_only ? nullptr : bd_cv_output_config(req);
    if (oc) {
        json_object_set_new(body, "outputConfig", oc);
    }
    out->body = body;
    out->max_tokens = bd_cv_max_tokens(req, m);
    out->stream = json_is_true(json_object_get(req, "stream"));
    const char *uid = bd_cv_str(json_object_get(req, "metadata"), "user_id");
    out->user_id = uid ? uid : "";
    return 0;
}

int
bd_convert_anthropic_to_converse(json_t *req, const bd_convert_model_t *m, const char *beta_header,
                                 bd_convert_request_t *out, bd_convert_error_t *err)
{
    *out = bd_convert_request_t();
    if (bd_cv_validate(req, m, beta_header, true, err) != 0) {
        return -1;
    }
    json_t *work = bd_cv_fates(req, m, beta_header, false, err);
    if (!work) {
        return -1;
    }
    int rc = bd_cv_converse_build(work, m, beta_header, false, out, err);
    json_decref(work);
    return rc;
}

void
bd_convert_request_free(bd_convert_request_t *r)
{
    json_decref(r->body);
    *r = bd_convert_request_t();
}
