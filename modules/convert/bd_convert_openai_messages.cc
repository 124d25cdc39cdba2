/*
 * bd_convert_openai_messages.cc: OpenAI chat messages and content parts -> Converse
 * messages and system blocks, validating as it goes and applying the structural rules
 * Bedrock enforces (no blank text, no empty turns, alternating roles starting with
 * user, toolResults first, toolUse last). Pure, any thread.
 */
#include <ctype.h>
#include <string.h>

#include "modules/convert/bd_convert_openai_int.h"

bool
bd_cvo_blank(const char *s)
{
    while (s && *s) {
        if (!isspace((unsigned char)*s)) {
            return false;
        }
        s++;
    }
    return true;
}

std::string
bd_cvo_path(const std::string &base, const char *key)
{
    return base.empty() ? std::string(key) : base + "." + key;
}

std::string
bd_cvo_index(const std::string &base, size_t i)
{
    return base + "[" + std::to_string(i) + "]";
}

/* A data URL "data:<mime>[;...];base64,<data>" split into its media type and data. */
static bool
bd_cvo_data_url(const char *url, std::string *mime, const char **data)
{
    if (strncmp(url, "data:", 5) != 0) {
        return false;
    }
    const char *comma = strchr(url, ',');
    if (!comma) {
        return false;
    }
    std::string head(url + 5, (size_t)(comma - url - 5));
    size_t semi = head.find(';');
    if (head.find(";base64") == std::string::npos) {
        return false;
    }
    *mime = head.substr(0, semi);
    for (char &ch : *mime) {
        ch = (char)tolower((unsigned char)ch);
    }
    *data = comma + 1;
    return true;
}

static const char *
bd_cvo_image_format(const std::string &mime)
{
    static const char *const map[][2] = {
        {"image/png", "png"},   {"image/jpeg", "jpeg"}, {"image/jpg", "jpeg"},
        {"image/gif", "gif"},   {"image/webp", "webp"},
    };
    for (const auto &e : map) {
        if (mime == e[0]) {
            return e[1];
        }
    }
    return nullptr;
}

static const char *
bd_cvo_document_format(const std::string &mime)
{
    static const char *const map[][2] = {
        {"application/pdf", "pdf"},
        {"text/plain", "txt"},
        {"text/csv", "csv"},
        {"text/html", "html"},
        {"text/markdown", "md"},
        {"application/msword", "doc"},
        {"application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"},
        {"application/vnd.ms-excel", "xls"},
        {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"},
    };
    for (const auto &e : map) {
        if (mime == e[0]) {
            return e[1];
        }
    }
    return nullptr;
}

static json_t *
bd_cvo_image_url(bd_cvo_ctx_t *c, json_t *part, const std::string &path)
{
    json_t *iu = json_object_get(part, "image_url");
    const char *url = json_is_string(iu) ? json_string_value(iu) : bd_cv_str(iu, "url");
    std::string p = bd_cvo_path(path, "image_url");
    if (!url) {
        bd_cv_bad(c->err, bd_cvo_path(p, "url"), "Field required");
        return nullptr;
    }
    if (strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0) {
        if (!c->m->allow_url_sources) {
            bd_cv_bad(c->err, p,
                      "image URLs are not supported for this model; send the image inline as a "
                      "data URL (data:image/png;base64,...)");
            return nullptr;
        }
        json_t *img = json_object();
        bd_convert_url_source_t u;
        u.url = url;
        u.kind = BD_CONVERT_URL_CONVERSE_IMAGE;
        u.target = img;
        c->out->url_sources.push_back(u);
        return json_pack("{s:o}", "image", img);
    }
    std::string mime;
    const char *data = nullptr;
    const char *format = nullptr;
    if (!bd_cvo_data_url(url, &mime, &data) || !(format = bd_cvo_image_format(mime)) || !*data) {
        bd_cv_bad(c->err, p,
                  "expected a base64 data URL of a png, jpeg, gif or webp image "
                  "(data:image/png;base64,...)");
        return nullptr;
    }
    return json_pack("{s:{s:s,s:{s:s}}}", "image", "format", format, "source", "bytes", data);
}

/* A document name from a file name, without its extension. */
static std::string
bd_cvo_doc_name(bd_cvo_ctx_t *c, const char *filename)
{
    const char *dot = filename ? strrchr(filename, '.') : nullptr;
    return bd_cv_doc_name(&c->doc_names, filename, dot && dot != filename ? dot : nullptr);
}

static json_t *
bd_cvo_file(bd_cvo_ctx_t *c, json_t *part, const std::string &path)
{
    json_t *f = json_object_get(part, "file");
    std::string p = bd_cvo_path(path, "file");
    const char *fdata = bd_cv_str(f, "file_data");
    if (bd_cv_str(f, "file_id")) {
        bd_cv_bad(c->err, bd_cvo_path(p, "file_id"),
                  "file ids are not supported (there is no Files API); send file_data");
        return nullptr;
    }
    std::string mime;
    const char *data = nullptr;
    if (!fdata || !bd_cvo_data_url(fdata, &mime, &data) || !*data) {
        bd_cv_bad(c->err, bd_cvo_path(p, "file_data"),
                  "expected a base64 data URL (data:application/pdf;base64,...)");
        return nullptr;
    }
    const char *format = bd_cvo_image_format(mime);
    if (format) {
        return json_pack("{s:{s:s,s:{s:s}}}", "image", "format", format, "source", "bytes", data);
    }
    if (!(format = bd_cvo_document_format(mime))) {
        bd_cv_bad(c->err, bd_cvo_path(p, "file_data"),
                  "unsupported media type \"" + mime +
                      "\"; documents may be pdf, txt, csv, html, md, doc, docx, xls or xlsx");
        return nullptr;
    }
    std::string name = bd_cvo_doc_name(c, bd_cv_str(f, "filename"));
    return json_pack("{s:{s:s,s:s,s:{s:s}}}", "document", "format", format, "name", name.c_str(),
                     "source", "bytes", data);
}

/* One content part -> one Converse block; null with *failed set on a client mistake, or
 * null alone when the part is dropped (blank text). <allowed> lists the part types the
 * role may carry. */
static json_t *
bd_cvo_part(bd_cvo_ctx_t *c, json_t *part, const std::string &path, const char *const *allowed,
            bool *failed)
{
    const char *type = bd_cv_str(part, "type");
    bool ok = false;
    for (int i = 0; type && allowed[i]; i++) {
        ok = ok || strcmp(type, allowed[i]) == 0;
    }
    json_t *b = nullptr;
    if (!json_is_object(part) || !type) {
        bd_cv_bad(c->err, path, "a content part must be an object with a \"type\"");
    } else if (!ok) {
        bd_cv_bad(c->err, bd_cvo_path(path, "type"),
                  strcmp(type, "input_audio") == 0
                      ? std::string("audio input is not supported")
                      : "content part type \"" + std::string(type) + "\" is not supported here");
    } else if (strcmp(type, "text") == 0 || strcmp(type, "refusal") == 0) {
        const char *text = bd_cv_str(part, type);
        if (!text) {
            bd_cv_bad(c->err, bd_cvo_path(path, type), "Field required");
        } else if (!bd_cvo_blank(text)) {
            b = json_pack("{s:s}", "text", text);
        } else {
            return nullptr;
        }
    } else if (strcmp(type, "image_url") == 0) {
        b = bd_cvo_image_url(c, part, path);
    } else {
        b = bd_cvo_file(c, part, path);
    }
    *failed = b == nullptr;
    return b;
}

/* The content of one message (string, parts or null) appended to <list>, with
 * cachePoints after parts that carry cache_control (the LiteLLM/Anthropic style). */
static int
bd_cvo_content(bd_cvo_ctx_t *c, json_t *content, const std::string &path,
               const char *const *allowed, json_t *list)
{
    if (json_is_string(content)) {
        if (!bd_cvo_blank(json_string_value(content))) {
            json_array_append_new(list, json_pack("{s:O}", "text", content));
        }
        return 0;
    }
    if (content == nullptr || json_is_null(content)) {
        return 0;
    }
    if (!json_is_array(content)) {
        return bd_cv_bad(c->err, path, "must be a string or an array of content parts");
    }
    size_t i;
    json_t *part;
    json_array_foreach(content, i, part) {
        bool failed = false;
        json_t *b = bd_cvo_part(c, part, bd_cvo_index(path, i), allowed, &failed);
        if (failed) {
            return -1;
        }
        if (b) {
            json_array_append_new(list, b);
        }
        bd_cv_cache_point(list, part);
    }
    return 0;
}

/* Bedrock tool ids are [a-zA-Z0-9_-]{1,64}: ids from other providers are mapped the same
 * way in the assistant's toolUse and the tool's toolResult, so pairs still match. */
static std::string
bd_cvo_tool_id(const char *id)
{
    std::string s;
    for (const char *p = id; *p && s.size() < 64; p++) {
        s += (isalnum((unsigned char)*p) || *p == '_' || *p == '-') ? *p : '_';
    }
    return s;
}

static json_t *
bd_cvo_tool_call(bd_cvo_ctx_t *c, json_t *tc, const std::string &path)
{
    json_t *fn = json_object_get(tc, "function");
    const char *id = bd_cv_str(tc, "id");
    const char *name = bd_cv_str(fn, "name");
    const char *args = bd_cv_str(fn, "arguments");
    if (!id || !*id) {
        bd_cv_bad(c->err, bd_cvo_path(path, "id"), "Field required");
        return nullptr;
    }
    if (!name || !*name) {
        bd_cv_bad(c->err, bd_cvo_path(path, "function.name"), "Field required");
        return nullptr;
    }
    json_t *input = nullptr;
    if (!args || bd_cvo_blank(args)) {
        input = json_object();
    } else {
        input = json_loads(args, JSON_DECODE_ANY, nullptr);
        if (json_is_null(input)) {
            json_decref(input);
            input = json_object();
        }
        if (!json_is_object(input)) {
            json_decref(input);
            bd_cv_bad(c->err, bd_cvo_path(path, "function.arguments"),
                      "must be a JSON object encoded as a string");
            return nullptr;
        }
    }
    bool known = false;
    for (const std::string &n : c->tool_names) {
        known = known || n == name;
    }
    if (!known) {
        c->tool_names.push_back(name);
    }
    c->has_tool_blocks = true;
    return json_pack("{s:{s:s,s:s,s:o}}", "toolUse", "toolUseId", bd_cvo_tool_id(id).c_str(),
                     "name", name, "input", input);
}

/* LiteLLM-style thinking_blocks on an assistant message: signed reasoning, first. */
static void
bd_cvo_thinking_blocks(json_t *msg, json_t *list)
{
    size_t i;
    json_t *tb;
    json_array_foreach(json_object_get(msg, "thinking_blocks"), i, tb) {
        const char *type = bd_cv_str(tb, "type");
        if (type && strcmp(type, "thinking") == 0 && bd_cv_str(tb, "thinking") &&
            bd_cv_str(tb, "signature")) {
            json_array_append_new(list, json_pack("{s:{s:{s:s,s:s}}}", "reasoningContent",
                                                  "reasoningText", "text",
                                                  bd_cv_str(tb, "thinking"), "signature",
                                                  bd_cv_str(tb, "signature")));
        } else if (type && strcmp(type, "redacted_thinking") == 0 && bd_cv_str(tb, "data")) {
            json_array_append_new(list, json_pack("{s:{s:s}}", "reasoningContent",
                                                  "redactedContent", bd_cv_str(tb, "data")));
        }
    }
}

static int
bd_cvo_assistant(bd_cvo_ctx_t *c, json_t *msg, const std::string &path, json_t *list)
{
    static const char *const allowed[] = {"text", "refusal", nullptr};
    bd_cvo_thinking_blocks(msg, list);
    if (bd_cvo_content(c, json_object_get(msg, "content"), bd_cvo_path(path, "content"), allowed,
                       list) != 0) {
        return -1;
    }
    json_t *calls = json_object_get(msg, "tool_calls");
    if (calls && !json_is_array(calls) && !json_is_null(calls)) {
        return bd_cv_bad(c->err, bd_cvo_path(path, "tool_calls"), "must be an array");
    }
    size_t i;
    json_t *tc;
    json_array_foreach(calls, i, tc) {
        json_t *b = bd_cvo_tool_call(c, tc, bd_cvo_index(bd_cvo_path(path, "tool_calls"), i));
        if (!b) {
            return -1;
        }
        json_array_append_new(list, b);
    }
    json_t *fc = json_object_get(msg, "function_call");
    if (fc && !json_is_null(fc)) {
        return bd_cv_bad(c->err, bd_cvo_path(path, "function_call"),
                         "the deprecated functions API is not supported; use tool_calls");
    }
    return 0;
}

static int
bd_cvo_tool(bd_cvo_ctx_t *c, json_t *msg, const std::string &path, json_t *list)
{
    static const char *const allowed[] = {"text", "image_url", nullptr};
    const char *id = bd_cv_str(msg, "tool_call_id");
    if (!id || !*id) {
        return bd_cv_bad(c->err, bd_cvo_path(path, "tool_call_id"), "Field required");
    }
    json_t *content = json_array();
    if (bd_cvo_content(c, json_object_get(msg, "content"), bd_cvo_path(path, "content"), allowed,
                       content) != 0) {
        json_decref(content);
        return -1;
    }
    for (size_t i = json_array_size(content); i-- > 0;) {
        if (json_object_get(json_array_get(content, i), "cachePoint")) {
            json_array_remove(content, i); /* not allowed inside a toolResult */
        }
    }
    if (json_array_size(content) == 0) {
        /* Bedrock rejects both an empty list and blank text */
        json_array_append_new(content, json_pack("{s:s}", "text", BD_CV_PLACEHOLDER));
    }
    c->has_tool_blocks = true;
    json_array_append_new(list, json_pack("{s:{s:s,s:o}}", "toolResult", "toolUseId",
                                          bd_cvo_tool_id(id).c_str(), "content", content));
    return 0;
}

/* One message -> its Converse role and blocks (system text goes to <system>). */
static int
bd_cvo_message(bd_cvo_ctx_t *c, json_t *msg, size_t i, json_t *system, const char **role,
               json_t *list)
{
    static const char *const user_parts[] = {"text", "image_url", "file", nullptr};
    static const char *const system_parts[] = {"text", nullptr};
    std::string path = bd_cvo_index("messages", i);
    const char *r = bd_cv_str(msg, "role");
    if (!json_is_object(msg)) {
        return bd_cv_bad(c->err, path, "must be an object");
    }
    if (!r) {
        return bd_cv_bad(c->err, bd_cvo_path(path, "role"), "Field required");
    }
    std::string cpath = bd_cvo_path(path, "content");
    *role = "user";
    if (strcmp(r, "system") == 0 || strcmp(r, "developer") == 0) {
        *role = nullptr; /* hoisted: Converse has one system list, the position is lost */
        return bd_cvo_content(c, json_object_get(msg, "content"), cpath, system_parts, system);
    }
    if (strcmp(r, "user") == 0) {
        if (!json_object_get(msg, "content")) {
            return bd_cv_bad(c->err, cpath, "Field required");
        }
        return bd_cvo_content(c, json_object_get(msg, "content"), cpath, user_parts, list);
    }
    if (strcmp(r, "assistant") == 0) {
        *role = "assistant";
        return bd_cvo_assistant(c, msg, path, list);
    }
    if (strcmp(r, "tool") == 0) {
        return bd_cvo_tool(c, msg, path, list);
    }
    if (strcmp(r, "function") == 0) {
        return bd_cv_bad(c->err, bd_cvo_path(path, "role"),
                         "the deprecated functions API is not supported; use tools");
    }
    return bd_cv_bad(c->err, bd_cvo_path(path, "role"),
                     "must be one of system, developer, user, assistant or tool");
}

/* Stable partition of <content>: blocks with member <key> first (<first>) or last, each
 * block keeping the cachePoints that follow it. */
static void
bd_cvo_partition(json_t *content, const char *key, bool first)
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

static void
bd_cvo_append(json_t *messages, const char *role, json_t *content)
{
    json_t *last = json_array_get(messages, json_array_size(messages) - 1);

    if (last && strcmp(bd_cv_str(last, "role"), role) == 0) {
        json_array_extend(json_object_get(last, "content"), content);
        json_decref(content);
        return;
    }
    json_array_append_new(messages, json_pack("{s:s,s:o}", "role", role, "content", content));
}

/* A final assistant text (prefill) must not end in whitespace. */
static void
bd_cvo_trim_prefill(json_t *messages)
{
    json_t *last = json_array_get(messages, json_array_size(messages) - 1);
    if (!last || strcmp(bd_cv_str(last, "role"), "assistant") != 0) {
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

static bool
bd_cvo_only_cache_points(json_t *content)
{
    size_t i;
    json_t *b;
    json_array_foreach(content, i, b) {
        if (!json_object_get(b, "cachePoint")) {
            return false;
        }
    }
    return true;
}

int
bd_cvo_messages(bd_cvo_ctx_t *c, json_t *msgs, json_t *messages, json_t *system)
{
    size_t i;
    json_t *msg;

    json_array_foreach(msgs, i, msg) {
        const char *role = nullptr;
        json_t *content = json_array();
        if (bd_cvo_message(c, msg, i, system, &role, content) != 0) {
            json_decref(content);
            return -1;
        }
        if (!role || bd_cvo_only_cache_points(content)) {
            json_decref(content); /* blank turn: dropping it lets its neighbours merge */
        } else {
            bd_cvo_append(messages, role, content);
        }
    }
    json_array_foreach(messages, i, msg) {
        bool user = strcmp(bd_cv_str(msg, "role"), "user") == 0;
        bd_cvo_partition(json_object_get(msg, "content"), user ? "toolResult" : "toolUse", user);
    }
    json_t *first = json_array_get(messages, 0);
    if (!first || strcmp(bd_cv_str(first, "role"), "user") != 0) {
        json_array_insert_new(
            messages, 0,
            json_pack("{s:s,s:[{s:s}]}", "role", "user", "content", "text", BD_CV_PLACEHOLDER));
    }
    bd_cvo_trim_prefill(messages);
    return 0;
}
