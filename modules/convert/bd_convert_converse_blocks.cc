/*
 * bd_convert_converse_blocks.cc: Anthropic messages and content blocks -> Converse
 * messages, applying the structural rules Bedrock enforces (no blank text, no empty
 * turns, alternating roles starting with user, toolResult first, toolUse last).
 * Input is validated first (bd_cv_validate), so shapes are trusted here. Pure, any thread.
 */
#include <ctype.h>
#include <string.h>

#include "modules/convert/bd_convert_int.h"

/* {"<key>": v}, taking v: what every message and text block is made of. json_pack
 * parsed its format string again for each, about 1,500 instructions a call. */
static json_t *
bd_cv_member(const char *key, json_t *v)
{
    json_t *o = json_object();
    json_object_set_new_nocheck(o, key, v);
    return o;
}

static bool
bd_cv_blank(const char *s)
{
    while (s && *s) {
        if (!isspace((unsigned char)*s)) {
            return false;
        }
        s++;
    }
    return true;
}

void
bd_cv_cache_point(json_t *list, json_t *block)
{
    json_t *cc = json_object_get(block, "cache_control");

    if (!json_is_object(cc) || json_array_size(list) == 0) {
        return;
    }
    json_t *last = json_array_get(list, json_array_size(list) - 1);
    if (json_object_get(last, "cachePoint")) {
        return;
    }
    json_t *cp = json_object();
    bd_cv_set_str(cp, "type", "default");
    if (bd_cv_str(cc, "ttl")) {
        bd_cv_set_str(cp, "ttl", bd_cv_str(cc, "ttl"));
    }
    json_array_append_new(list, json_pack("{s:o}", "cachePoint", cp));
}

static void
bd_cv_url_source(bd_cv_cctx_t *c, json_t *target, int kind, json_t *src)
{
    bd_convert_url_source_t u;

    u.url = bd_cv_str(src, "url");
    u.kind = kind;
    u.target = target;
    c->out->url_sources.push_back(u);
}

static json_t *
bd_cv_image(bd_cv_cctx_t *c, json_t *b)
{
    json_t *src = json_object_get(b, "source");
    json_t *img = json_object();

    if (strcmp(bd_cv_str(src, "type"), "url") == 0) {
        bd_cv_url_source(c, img, BD_CONVERT_URL_CONVERSE_IMAGE, src);
    } else {
        /* "image/png" -> "png"; the base64 text goes through unchanged */
        bd_cv_set_str(img, "format", bd_cv_str(src, "media_type") + 6);
        json_object_set_new(img, "source", json_pack("{s:s}", "bytes", bd_cv_str(src, "data")));
    }
    return json_pack("{s:o}", "image", img);
}

static json_t *
bd_cv_doc_source(json_t *src, const char **format)
{
    const char *t = bd_cv_str(src, "type");

    if (strcmp(t, "base64") == 0) {
        *format = "pdf";
        return json_pack("{s:s}", "bytes", bd_cv_str(src, "data"));
    }
    if (strcmp(t, "text") == 0) {
        std::string b64;
        const char *d = bd_cv_str(src, "data");
        *format = "txt";
        bd_cv_base64_encode((const unsigned char *)d, strlen(d), &b64);
        return json_pack("{s:s%}", "bytes", b64.data(), b64.size());
    }
    json_t *content = json_object_get(src, "content");
    json_t *list = json_array();
    if (json_is_string(content)) {
        json_array_append_new(list, json_pack("{s:O}", "text", content));
    }
    size_t i;
    json_t *e;
    json_array_foreach(content, i, e) {
        json_array_append_new(list, json_pack("{s:O}", "text", json_object_get(e, "text")));
    }
    *format = nullptr;
    return json_pack("{s:o}", "content", list);
}

static json_t *
bd_cv_document(bd_cv_cctx_t *c, json_t *b)
{
    json_t *src = json_object_get(b, "source");
    json_t *doc = json_object();
    const char *format = nullptr;

    if (strcmp(bd_cv_str(src, "type"), "url") == 0) {
        bd_cv_url_source(c, doc, BD_CONVERT_URL_CONVERSE_DOCUMENT, src);
    } else {
        json_t *s = bd_cv_doc_source(src, &format);
        if (format) {
            bd_cv_set_str(doc, "format", format);
        }
        json_object_set_new(doc, "source", s);
    }
    bd_cv_set_str(doc, "name", bd_cv_doc_name(&c->doc_names, bd_cv_str(b, "title"), nullptr).c_str());
    if (bd_cv_str(b, "context") && *bd_cv_str(b, "context")) {
        bd_cv_set_str(doc, "context", bd_cv_str(b, "context"));
    }
    json_t *cit = json_object_get(json_object_get(b, "citations"), "enabled");
    if (json_is_true(cit)) {
        json_object_set_new(doc, "citations", json_pack("{s:b}", "enabled", 1));
    }
    return json_pack("{s:o}", "document", doc);
}

static json_t *
bd_cv_search_result(json_t *b)
{
    json_t *list = json_array();
    size_t i;
    json_t *e;

    json_array_foreach(json_object_get(b, "content"), i, e) {
        json_array_append_new(list, json_pack("{s:O}", "text", json_object_get(e, "text")));
    }
    return json_pack("{s:{s:s,s:s,s:o}}", "searchResult", "source", bd_cv_str(b, "source"), "title",
                     bd_cv_str(b, "title"), "content", list);
}

static json_t *bd_cv_block(bd_cv_cctx_t *c, json_t *b);

static json_t *
bd_cv_tool_result(bd_cv_cctx_t *c, json_t *b)
{
    json_t *content = json_object_get(b, "content");
    json_t *list = json_array();

    if (json_is_string(content) && !bd_cv_blank(json_string_value(content))) {
        json_array_append_new(list, json_pack("{s:O}", "text", content));
    }
    size_t i;
    json_t *e;
    json_array_foreach(content, i, e) {
        json_t *conv = bd_cv_block(c, e);
        if (conv) {
            json_array_append_new(list, conv);
        }
    }
    if (json_array_size(list) == 0) {
        /* Bedrock rejects both an empty list and blank text */
        json_array_append_new(list, json_pack("{s:s}", "text", BD_CV_PLACEHOLDER));
    }
    json_t *tr = json_pack("{s:s,s:o}", "toolUseId", bd_cv_str(b, "tool_use_id"), "content", list);
    if (json_is_true(json_object_get(b, "is_error"))) {
        bd_cv_set_str(tr, "status", "error");
    }
    c->has_tool_blocks = true;
    return json_pack("{s:o}", "toolResult", tr);
}

static json_t *
bd_cv_tool_use(bd_cv_cctx_t *c, json_t *b)
{
    const char *name = bd_cv_str(b, "name");
    bool known = false;

    for (const std::string &n : c->tool_names) {
        known = known || n == name;
    }
    if (!known) {
        c->tool_names.push_back(name);
    }
    c->has_tool_blocks = true;
    return json_pack("{s:{s:s,s:s,s:O}}", "toolUse", "toolUseId", bd_cv_str(b, "id"), "name", name,
                     "input", json_object_get(b, "input"));
}

/* One content block -> one Converse block, or null when it is dropped (blank text). */
static json_t *
bd_cv_block(bd_cv_cctx_t *c, json_t *b)
{
    const char *t = bd_cv_str(b, "type");

    if (strcmp(t, "text") == 0) {
        json_t *text = json_object_get(b, "text");
        const char *s = json_string_value(text);
        return s == nullptr || bd_cv_blank(s) ? nullptr : bd_cv_member("text", json_incref(text));
    }
    if (strcmp(t, "image") == 0) {
        return bd_cv_image(c, b);
    }
    if (strcmp(t, "document") == 0) {
        return bd_cv_document(c, b);
    }
    if (strcmp(t, "search_result") == 0) {
        return bd_cv_search_result(b);
    }
    if (strcmp(t, "tool_use") == 0) {
        return bd_cv_tool_use(c, b);
    }
    if (strcmp(t, "tool_result") == 0) {
        return bd_cv_tool_result(c, b);
    }
    if (strcmp(t, "thinking") == 0) {
        return json_pack("{s:{s:{s:s,s:s}}}", "reasoningContent", "reasoningText", "text",
                         bd_cv_str(b, "thinking"), "signature", bd_cv_str(b, "signature"));
    }
    /* redacted_thinking: Bedrock's blob is a base64 string, as Anthropic's data is */
    return json_pack("{s:{s:s}}", "reasoningContent", "redactedContent", bd_cv_str(b, "data"));
}

/* The converted content of one message (string or blocks), cachePoints included. */
static json_t *
bd_cv_content(bd_cv_cctx_t *c, json_t *content)
{
    json_t *list = json_array();

    if (json_is_string(content)) {
        if (!bd_cv_blank(json_string_value(content))) {
            json_array_append_new(list, bd_cv_member("text", json_incref(content)));
        }
        return list;
    }
    size_t i;
    json_t *b;
    json_array_foreach(content, i, b) {
        json_t *conv = bd_cv_block(c, b);
        if (conv) {
            json_array_append_new(list, conv);
        }
        bd_cv_cache_point(list, b);
    }
    return list;
}

/* Stable partition of <content>: blocks with member <key> first (<first>) or last,
 * each block keeping the cachePoints that follow it. */
static void
bd_cv_partition(json_t *content, const char *key, bool first)
{
    json_t *front = json_array();
    json_t *back = json_array();
    json_t *dst = front;
    size_t i;
    json_t *b;

    json_array_foreach(content, i, b) {
        if (!json_object_get(b, "cachePoint")) {
            dst = (json_object_get(b, key) != nullptr) == first ? front : back;
        }
        json_array_append(dst, b);
    }
    json_array_extend(front, back);
    json_array_clear(content);
    json_array_extend(content, front);
    json_decref(front);
    json_decref(back);
}

/* Anthropic rejects a final assistant text ending in whitespace; trim it. */
static void
bd_cv_trim_prefill(json_t *messages)
{
    json_t *last = json_array_get(messages, json_array_size(messages) - 1);

    if (!bd_cv_str(last, "role") || strcmp(bd_cv_str(last, "role"), "assistant") != 0) {
        return;
    }
    json_t *content = json_object_get(last, "content");
    json_t *b = json_array_get(content, json_array_size(content) - 1);
    const char *text = bd_cv_str(b, "text");
    if (text) {
        size_t n = strlen(text);
        while (n > 0 && isspace((unsigned char)text[n - 1])) {
            n--;
        }
        json_object_set_new(b, "text", json_stringn(text, n));
    }
}

static void
bd_cv_append_message(json_t *messages, const char *role, json_t *content)
{
    json_t *last = json_array_get(messages, json_array_size(messages) - 1);

    if (last && strcmp(bd_cv_str(last, "role"), role) == 0) {
        json_array_extend(json_object_get(last, "content"), content);
        json_decref(content);
        return;
    }
    json_t *m = bd_cv_member("role", json_string(role));
    json_object_set_new_nocheck(m, "content", content);
    json_array_append_new(messages, m);
}

int
bd_cv_converse_messages(bd_cv_cctx_t *c, json_t *req, json_t *messages, json_t *system)
{
    size_t i;
    json_t *msg;

    json_array_foreach(json_object_get(req, "messages"), i, msg) {
        const char *role = bd_cv_str(msg, "role");
        json_t *content = bd_cv_content(c, json_object_get(msg, "content"));
        if (strcmp(role, "system") == 0) {
            json_array_extend(system, content); /* hoisted; its position is lost */
            json_decref(content);
        } else if (json_array_size(content) == 0 ||
                   (json_array_size(content) == 1 &&
                    json_object_get(json_array_get(content, 0), "cachePoint"))) {
            json_decref(content); /* blank turn: dropping it lets its neighbours merge */
        } else {
            bd_cv_append_message(messages, role, content);
        }
    }
    json_array_foreach(messages, i, msg) {
        bool user = strcmp(bd_cv_str(msg, "role"), "user") == 0;
        bd_cv_partition(json_object_get(msg, "content"), user ? "toolResult" : "toolUse", user);
    }
    json_t *first = json_array_get(messages, 0);
    if (!first || strcmp(bd_cv_str(first, "role"), "user") != 0) {
        json_array_insert_new(
            messages, 0,
            json_pack("{s:s,s:[{s:s}]}", "role", "user", "content", "text", BD_CV_PLACEHOLDER));
    }
    bd_cv_trim_prefill(messages);
    return 0;
}
