/*
 * bd_convert_validate.cc: checks an Anthropic Messages body before anything goes
 * upstream, answering with Anthropic-style "path: problem" messages. Both routes
 * (Converse and InvokeModel) and count_tokens share it, so a request that passes here
 * is structurally sound for the converters. Pure, any thread.
 */
#include <string.h>

#include "modules/convert/bd_convert_int.h"

struct bd_cv_vctx_t {
    const bd_convert_model_t *m;
    bd_convert_error_t *err;
    int cache_controls;
};

static const char *const bd_cv_block_tags =
    "'text', 'image', 'document', 'search_result', 'tool_use', 'tool_result', 'thinking', "
    "'redacted_thinking'";

static bool
bd_cv_is(const char *s, const char *v)
{
    return s && strcmp(s, v) == 0;
}

static int
bd_cv_need_str(bd_cv_vctx_t *v, json_t *o, const char *key, const std::string &path)
{
    json_t *j = json_object_get(o, key);

    if (!j) {
        return bd_cv_bad(v->err, bd_cv_path(path, key), "Field required");
    }
    if (!json_is_string(j)) {
        return bd_cv_bad(v->err, bd_cv_path(path, key), "Input should be a valid string");
    }
    return 0;
}

static int
bd_cv_cache_control(bd_cv_vctx_t *v, json_t *o, const std::string &path)
{
    json_t *cc = json_object_get(o, "cache_control");

    if (!cc || json_is_null(cc)) {
        return 0;
    }
    std::string p = bd_cv_path(path, "cache_control");
    if (!json_is_object(cc) || !bd_cv_is(bd_cv_str(cc, "type"), "ephemeral")) {
        return bd_cv_bad(v->err, bd_cv_path(p, "type"), "Input should be 'ephemeral'");
    }
    json_t *ttl = json_object_get(cc, "ttl");
    if (ttl && !bd_cv_is(json_string_value(ttl), "5m") && !bd_cv_is(json_string_value(ttl), "1h")) {
        return bd_cv_bad(v->err, bd_cv_path(p, "ttl"), "Input should be '5m' or '1h'");
    }
    v->cache_controls++;
    return 0;
}

/* url and file sources, shared by images and documents. Returns 1 when <t> was none of
 * them, 0 when it was and is acceptable, -1 on error. */
static int
bd_cv_remote_source(bd_cv_vctx_t *v, json_t *src, const char *t, const std::string &p,
                    const char *what)
{
    if (bd_cv_is(t, "url")) {
        if (bd_cv_need_str(v, src, "url", p) != 0) {
            return -1;
        }
        if (!v->m->allow_url_sources) {
            return bd_cv_bad(v->err, p,
                             std::string("URL sources are not supported for this ") +
                                 "model; send the " + what + " as base64");
        }
        return 0;
    }
    if (bd_cv_is(t, "file")) {
        return bd_cv_bad(v->err, p,
                         "file sources are not supported: this gateway has no Files "
                         "API; send the content as base64");
    }
    return 1;
}

static int
bd_cv_image(bd_cv_vctx_t *v, json_t *b, const std::string &path)
{
    std::string p = bd_cv_path(path, "source");
    json_t *src = json_object_get(b, "source");

    if (!json_is_object(src)) {
        return bd_cv_bad(v->err, p, src ? "Input should be a valid dictionary" : "Field required");
    }
    const char *t = bd_cv_str(src, "type");
    int rc = bd_cv_remote_source(v, src, t, p, "image");
    if (rc <= 0) {
        return rc;
    }
    if (!bd_cv_is(t, "base64")) {
        return bd_cv_bad(v->err, bd_cv_path(p, "type"),
                         "Input should be 'base64', 'url' or 'file'");
    }
    const char *mt = bd_cv_str(src, "media_type");
    if (!bd_cv_is(mt, "image/jpeg") && !bd_cv_is(mt, "image/png") && !bd_cv_is(mt, "image/gif") &&
        !bd_cv_is(mt, "image/webp")) {
        return bd_cv_bad(v->err, bd_cv_path(p, "media_type"),
                         "Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'");
    }
    if (bd_cv_need_str(v, src, "data", p) != 0) {
        return -1;
    }
    if (*bd_cv_str(src, "data") == '\0') {
        return bd_cv_bad(v->err, bd_cv_path(p, "data"), "image data must not be empty");
    }
    return 0;
}

static int
bd_cv_content_source(bd_cv_vctx_t *v, json_t *src, const std::string &p)
{
    json_t *c = json_object_get(src, "content");
    std::string cp = bd_cv_path(p, "content");

    if (json_is_string(c)) {
        return 0;
    }
    if (!json_is_array(c)) {
        return bd_cv_bad(v->err, cp,
                         c ? "Input should be a valid string or list" : "Field required");
    }
    size_t i;
    json_t *e;
    json_array_foreach(c, i, e) {
        if (!bd_cv_is(bd_cv_str(e, "type"), "text")) {
            return bd_cv_bad(v->err, bd_cv_path(cp, i),
                             "only text blocks are supported inside a content document source");
        }
        if (bd_cv_need_str(v, e, "text", bd_cv_path(cp, i)) != 0) {
            return -1;
        }
    }
    return 0;
}

static int
bd_cv_document(bd_cv_vctx_t *v, json_t *b, const std::string &path)
{
    std::string p = bd_cv_path(path, "source");
    json_t *src = json_object_get(b, "source");

    if (!json_is_object(src)) {
        return bd_cv_bad(v->err, p, src ? "Input should be a valid dictionary" : "Field required");
    }
    const char *t = bd_cv_str(src, "type");
    int rc = bd_cv_remote_source(v, src, t, p, "document");
    if (rc <= 0) {
        return rc;
    }
    json_t *title = json_object_get(b, "title");
    if (title && !json_is_null(title) && !json_is_string(title)) {
        return bd_cv_bad(v->err, bd_cv_path(path, "title"), "Input should be a valid string");
    }
    if (bd_cv_is(t, "content")) {
        return bd_cv_content_source(v, src, p);
    }
    const char *mt = bd_cv_str(src, "media_type");
    if (bd_cv_is(t, "base64") && !bd_cv_is(mt, "application/pdf")) {
        return bd_cv_bad(v->err, bd_cv_path(p, "media_type"), "Input should be 'application/pdf'");
    }
    if (bd_cv_is(t, "text") && !bd_cv_is(mt, "text/plain")) {
        return bd_cv_bad(v->err, bd_cv_path(p, "media_type"), "Input should be 'text/plain'");
    }
    if (!bd_cv_is(t, "base64") && !bd_cv_is(t, "text")) {
        return bd_cv_bad(v->err, bd_cv_path(p, "type"),
                         "Input should be 'base64', 'text', 'content', 'url' or 'file'");
    }
    return bd_cv_need_str(v, src, "data", p);
}

static int
bd_cv_search_result(bd_cv_vctx_t *v, json_t *b, const std::string &path)
{
    if (bd_cv_need_str(v, b, "source", path) != 0 || bd_cv_need_str(v, b, "title", path) != 0) {
        return -1;
    }
    std::string cp = bd_cv_path(path, "content");
    json_t *c = json_object_get(b, "content");
    if (!json_is_array(c)) {
        return bd_cv_bad(v->err, cp, c ? "Input should be a valid list" : "Field required");
    }
    size_t i;
    json_t *e;
    json_array_foreach(c, i, e) {
        if (!bd_cv_is(bd_cv_str(e, "type"), "text")) {
            return bd_cv_bad(v->err, bd_cv_path(bd_cv_path(cp, i), "type"),
                             "Input should be 'text'");
        }
        if (bd_cv_need_str(v, e, "text", bd_cv_path(cp, i)) != 0) {
            return -1;
        }
    }
    return 0;
}

static int bd_cv_block(bd_cv_vctx_t *v, json_t *b, const std::string &path, const char *role,
                       bool nested);

static int
bd_cv_tool_result(bd_cv_vctx_t *v, json_t *b, const std::string &path)
{
    if (bd_cv_need_str(v, b, "tool_use_id", path) != 0) {
        return -1;
    }
    json_t *ie = json_object_get(b, "is_error");
    if (ie && !json_is_boolean(ie) && !json_is_null(ie)) {
        return bd_cv_bad(v->err, bd_cv_path(path, "is_error"), "Input should be a valid boolean");
    }
    json_t *c = json_object_get(b, "content");
    std::string cp = bd_cv_path(path, "content");
    if (!c || json_is_null(c) || json_is_string(c)) {
        return 0;
    }
    if (!json_is_array(c)) {
        return bd_cv_bad(v->err, cp, "Input should be a valid string or a list of content blocks");
    }
    size_t i;
    json_t *e;
    json_array_foreach(c, i, e) {
        if (bd_cv_block(v, e, bd_cv_path(cp, i), "user", true) != 0) {
            return -1;
        }
    }
    return 0;
}

static int
bd_cv_role_only(bd_cv_vctx_t *v, const std::string &path, const char *type, const char *role,
                const char *want)
{
    if (strcmp(role, want) == 0) {
        return 0;
    }
    return bd_cv_bad(v->err, path,
                     std::string(type) + " blocks are only allowed in " + want + " messages");
}

/* Server-tool blocks: Bedrock cannot run server tools. */
static bool
bd_cv_server_block(const char *t)
{
    return strcmp(t, "server_tool_use") == 0 || strstr(t, "_tool_result") != nullptr ||
           strcmp(t, "container_upload") == 0 || strcmp(t, "mcp_tool_use") == 0;
}

static int
bd_cv_block_body(bd_cv_vctx_t *v, json_t *b, const std::string &path, const char *t,
                 const char *role)
{
    if (strcmp(t, "text") == 0) {
        return bd_cv_need_str(v, b, "text", path);
    }
    if (strcmp(t, "image") == 0) {
        return bd_cv_image(v, b, path);
    }
    if (strcmp(t, "document") == 0) {
        return bd_cv_document(v, b, path);
    }
    if (strcmp(t, "search_result") == 0) {
        return bd_cv_search_result(v, b, path);
    }
    if (strcmp(t, "tool_use") == 0) {
        if (bd_cv_role_only(v, path, t, role, "assistant") != 0 ||
            bd_cv_need_str(v, b, "id", path) != 0 || bd_cv_need_str(v, b, "name", path) != 0) {
            return -1;
        }
        json_t *in = json_object_get(b, "input");
        if (!json_is_object(in)) {
            return bd_cv_bad(v->err, bd_cv_path(path, "input"),
                             in ? "Input should be a valid dictionary" : "Field required");
        }
        return 0;
    }
    if (strcmp(t, "tool_result") == 0) {
        if (bd_cv_role_only(v, path, t, role, "user") != 0) {
            return -1;
        }
        return bd_cv_tool_result(v, b, path);
    }
    if (strcmp(t, "thinking") == 0) {
        if (bd_cv_role_only(v, path, t, role, "assistant") != 0 ||
            bd_cv_need_str(v, b, "thinking", path) != 0) {
            return -1;
        }
        return bd_cv_need_str(v, b, "signature", path);
    }
    if (bd_cv_role_only(v, path, t, role, "assistant") != 0) {
        return -1;
    }
    return bd_cv_need_str(v, b, "data", path); /* redacted_thinking */
}

static int
bd_cv_block(bd_cv_vctx_t *v, json_t *b, const std::string &path, const char *role, bool nested)
{
    static const char *const kinds[] = {"text",     "image",       "document", "search_result",
                                        "tool_use", "tool_result", "thinking", "redacted_thinking"};

    if (!json_is_object(b)) {
        return bd_cv_bad(v->err, path, "Input should be a valid dictionary");
    }
    const char *t = bd_cv_str(b, "type");
    if (!t) {
        return bd_cv_bad(v->err, bd_cv_path(path, "type"), "Field required");
    }
    if (bd_cv_server_block(t)) {
        return bd_cv_bad(v->err, path,
                         std::string("'") + t +
                             "' blocks are not supported: " + "server tools cannot run on Bedrock");
    }
    size_t n = nested ? 4 : sizeof(kinds) / sizeof(kinds[0]);
    size_t i = 0;
    while (i < n && strcmp(kinds[i], t) != 0) {
        i++;
    }
    if (i == n) {
        return bd_cv_bad(
            v->err, bd_cv_path(path, "type"),
            std::string("Input tag '") + t +
                "' found using 'type' does not match any of the expected tags: " +
                (nested ? "'text', 'image', 'document', 'search_result'" : bd_cv_block_tags));
    }
    if (strcmp(role, "system") == 0 && strcmp(t, "text") != 0) {
        return bd_cv_bad(v->err, path, "system messages may only contain text blocks");
    }
    if (bd_cv_block_body(v, b, path, t, role) != 0) {
        return -1;
    }
    return bd_cv_cache_control(v, b, path);
}

static int
bd_cv_message(bd_cv_vctx_t *v, json_t *msg, size_t index, bool last)
{
    std::string path = bd_cv_path("messages", index);

    if (!json_is_object(msg)) {
        return bd_cv_bad(v->err, path, "Input should be a valid dictionary");
    }
    json_t *rj = json_object_get(msg, "role");
    const char *role = json_string_value(rj);
    if (!rj) {
        return bd_cv_bad(v->err, bd_cv_path(path, "role"), "Field required");
    }
    if (!bd_cv_is(role, "user") && !bd_cv_is(role, "assistant") && !bd_cv_is(role, "system")) {
        return bd_cv_bad(v->err, bd_cv_path(path, "role"),
                         "Input should be 'user', 'assistant' or 'system'");
    }
    json_t *c = json_object_get(msg, "content");
    std::string cp = bd_cv_path(path, "content");
    if (!c) {
        return bd_cv_bad(v->err, cp, "Field required");
    }
    if (!json_is_string(c) && !json_is_array(c)) {
        return bd_cv_bad(v->err, cp, "Input should be a valid string or a list of content blocks");
    }
    bool empty = json_is_string(c) ? json_string_length(c) == 0 : json_array_size(c) == 0;
    if (empty && !(last && bd_cv_is(role, "assistant"))) {
        return bd_cv_bad(v->err, path,
                         "all messages must have non-empty content except for the "
                         "optional final assistant message");
    }
    size_t i;
    json_t *b;
    json_array_foreach(c, i, b) {
        if (bd_cv_block(v, b, bd_cv_path(cp, i), role, false) != 0) {
            return -1;
        }
    }
    return 0;
}

static int
bd_cv_system(bd_cv_vctx_t *v, json_t *sys)
{
    if (!sys || json_is_null(sys) || json_is_string(sys)) {
        return 0;
    }
    if (!json_is_array(sys)) {
        return bd_cv_bad(v->err, "system",
                         "Input should be a valid string or a list of text blocks");
    }
    size_t i;
    json_t *b;
    json_array_foreach(sys, i, b) {
        std::string p = bd_cv_path("system", i);
        if (!bd_cv_is(bd_cv_str(b, "type"), "text")) {
            return bd_cv_bad(v->err, bd_cv_path(p, "type"), "Input should be 'text'");
        }
        if (bd_cv_need_str(v, b, "text", p) != 0 || bd_cv_cache_control(v, b, p) != 0) {
            return -1;
        }
    }
    return 0;
}

int
bd_cv_validate(json_t *req, const bd_convert_model_t *m, const char *beta_header,
               bool need_max_tokens, bd_convert_error_t *err)
{
    bd_cv_vctx_t v = {m, err, 0};

    if (!json_is_object(req)) {
        return bd_cv_bad(err, "", "the request body must be a JSON object");
    }
    json_t *mt = json_object_get(req, "max_tokens");
    if (need_max_tokens && !mt) {
        return bd_cv_bad(err, "max_tokens", "Field required");
    }
    if (mt && !json_is_integer(mt)) {
        return bd_cv_bad(err, "max_tokens", "Input should be a valid integer");
    }
    if (mt && json_integer_value(mt) < 1) {
        return bd_cv_bad(err, "max_tokens", "Input should be greater than or equal to 1");
    }
    json_t *msgs = json_object_get(req, "messages");
    if (!msgs) {
        return bd_cv_bad(err, "messages", "Field required");
    }
    if (!json_is_array(msgs)) {
        return bd_cv_bad(err, "messages", "Input should be a valid list");
    }
    if (json_array_size(msgs) == 0) {
        return bd_cv_bad(err, "messages", "at least one message is required");
    }
    size_t i;
    json_t *msg;
    json_array_foreach(msgs, i, msg) {
        if (bd_cv_message(&v, msg, i, i + 1 == json_array_size(msgs)) != 0) {
            return -1;
        }
    }
    if (bd_cv_system(&v, json_object_get(req, "system")) != 0 ||
        bd_cv_validate_params(req, err) != 0 ||
        bd_cv_validate_tools(req, m, beta_header, need_max_tokens, err, &v.cache_controls) != 0) {
        return -1;
    }
    if (v.cache_controls > 4) {
        return bd_cv_bad(err, "",
                         "A maximum of 4 blocks with cache_control may be provided. "
                         "Found " +
                             std::to_string(v.cache_controls) + ".");
    }
    return 0;
}

int64_t
bd_cv_max_tokens(json_t *req, const bd_convert_model_t *m)
{
    int64_t n = 0;

    bd_cv_int(req, "max_tokens", &n);
    if (m->max_output_tokens > 0 && n > m->max_output_tokens) {
        n = m->max_output_tokens;
    }
    return n;
}
