/*
 * bd_convert_invoke.cc: the InvokeModel route (Anthropic-native body both ways), URL
 * source filling, and count_tokens for both routes. Pure, any thread. The native body is
 * the client's own, minus what Bedrock does not take, so features Converse cannot
 * express (citations, cache ttl, betas) keep full fidelity.
 */
#include <string.h>

#include "core/bd_json.h"
#include "core/bd_json_scan.h"
#include "modules/convert/bd_convert_int.h"

static bool
bd_cv_is(const char *s, const char *v)
{
    return s && strcmp(s, v) == 0;
}

static void
bd_cv_invoke_url(bd_convert_request_t *out, json_t *block)
{
    json_t *src = json_object_get(block, "source");
    const char *t = bd_cv_str(block, "type");

    if ((bd_cv_is(t, "image") || bd_cv_is(t, "document")) &&
        bd_cv_is(bd_cv_str(src, "type"), "url")) {
        bd_convert_url_source_t u;
        u.url = bd_cv_str(src, "url");
        u.kind = BD_CONVERT_URL_ANTHROPIC_SOURCE;
        u.target = src;
        out->url_sources.push_back(u);
    }
}

/* Lists the url sources of the native body (messages and tool results); with a null
 * <out>, only counts them. */
static size_t
bd_cv_invoke_urls(bd_convert_request_t *out, json_t *body)
{
    bd_convert_request_t count;
    bd_convert_request_t *o = out ? out : &count;
    size_t i, j, k;
    json_t *msg, *b, *e;

    json_array_foreach(json_object_get(body, "messages"), i, msg) {
        json_array_foreach(json_object_get(msg, "content"), j, b) {
            bd_cv_invoke_url(o, b);
            json_array_foreach(json_object_get(b, "content"), k, e) {
                bd_cv_invoke_url(o, e);
            }
        }
    }
    return o->url_sources.size();
}

int
bd_cv_invoke_build(json_t *req, const bd_convert_model_t *m, const char *beta_header,
                   bool count_only, bd_convert_request_t *out, bd_convert_error_t *err)
{
    static const char *const dropped[] = {
        "model", "stream", "metadata", "service_tier", "anthropic_version", "anthropic_beta"};
    json_t *body = json_pack("{s:s}", "anthropic_version", "bedrock-2023-05-31");
    const char *key;
    json_t *v;
    /* The body shares the client's values (nothing here edits them), unless a url
     * source is to be filled in place: then it gets copies of its own. */
    bool copy = bd_cv_invoke_urls(nullptr, req) > 0;

    (void)err;
    json_object_foreach(req, key, v) {
        bool drop = false;
        for (const char *d : dropped) {
            drop = drop || strcmp(key, d) == 0;
        }
        if (!drop) {
            json_object_set_new(body, key, copy ? json_deep_copy(v) : json_incref(v));
        }
    }
    out->max_tokens = bd_cv_max_tokens(req, m);
    if (out->max_tokens == 0 && count_only) {
        out->max_tokens = 1; /* the native body requires it; counting ignores it */
    }
    bd_cv_set_int(body, "max_tokens", out->max_tokens);
    json_t *betas = bd_cv_betas(beta_header, m, &out->dropped_betas);
    if (json_array_size(betas) > 0) {
        json_object_set_new(body, "anthropic_beta", betas);
    } else {
        json_decref(betas);
    }
    out->body = body;
    out->stream = json_is_true(json_object_get(req, "stream"));
    const char *uid = bd_cv_str(json_object_get(req, "metadata"), "user_id");
    out->user_id = uid ? uid : "";
    bd_cv_invoke_urls(out, body);
    return 0;
}

int
bd_convert_anthropic_to_invoke(json_t *req, const bd_convert_model_t *m, const char *beta_header,
                               bd_convert_request_t *out, bd_convert_error_t *err)
{
    *out = bd_convert_request_t();
    if (bd_cv_validate(req, m, beta_header, true, err) != 0) {
        return -1;
    }
    json_t *work = bd_cv_fates(req, m, beta_header, true, err);
    if (!work) {
        return -1;
    }
    int rc = bd_cv_invoke_build(work, m, beta_header, false, out, err);
    json_decref(work);
    return rc;
}

static const char *
bd_cv_doc_format(const char *media_type)
{
    static const char *const map[][2] = {
        {"application/pdf", "pdf"}, {"text/plain", "txt"},   {"text/html", "html"},
        {"text/csv", "csv"},        {"text/markdown", "md"},
    };

    for (const auto &e : map) {
        if (strcmp(media_type, e[0]) == 0) {
            return e[1];
        }
    }
    return nullptr;
}

int
bd_convert_url_source_fill(const bd_convert_url_source_t *u, const char *media_type,
                           const char *data_b64, bd_convert_error_t *err)
{
    bool image = strncmp(media_type, "image/", 6) == 0 &&
                 (bd_cv_is(media_type + 6, "jpeg") || bd_cv_is(media_type + 6, "png") ||
                  bd_cv_is(media_type + 6, "gif") || bd_cv_is(media_type + 6, "webp"));
    const char *doc = bd_cv_doc_format(media_type);
    bool ok = u->kind == BD_CONVERT_URL_CONVERSE_IMAGE      ? image
              : u->kind == BD_CONVERT_URL_CONVERSE_DOCUMENT ? doc != nullptr
                                                            : image || bd_cv_is(doc, "pdf");
    if (!ok) {
        return bd_cv_bad(err, "",
                         "the content at " + u->url + " has media type '" + media_type +
                             "', which is not supported here");
    }
    if (u->kind == BD_CONVERT_URL_ANTHROPIC_SOURCE) {
        json_object_clear(u->target);
        bd_cv_set_str(u->target, "type", "base64");
        bd_cv_set_str(u->target, "media_type", media_type);
        bd_cv_set_str(u->target, "data", data_b64);
        return 0;
    }
    bd_cv_set_str(u->target, "format", image ? media_type + 6 : doc);
    json_object_set_new(u->target, "source", json_pack("{s:s}", "bytes", data_b64));
    return 0;
}

/* The token counts of the "usage" object <u> of an Anthropic message. */
static void
bd_cv_invoke_usage(const bd_json_member_t *u, bd_convert_usage_t *usage)
{
    bd_json_members_t it, cit;
    bd_json_member_t m, cm;
    bool five = false;

    *usage = bd_convert_usage_t();
    bd_json_members_init(&it, u->value.p, u->value.n);
    while (bd_json_members_next(&it, &m)) {
        if (bd_json_key_is(&m, "input_tokens")) {
            bd_json_member_int(&m, &usage->input_tokens);
        } else if (bd_json_key_is(&m, "output_tokens")) {
            bd_json_member_int(&m, &usage->output_tokens);
        } else if (bd_json_key_is(&m, "cache_read_input_tokens")) {
            bd_json_member_int(&m, &usage->cache_read_tokens);
        } else if (bd_json_key_is(&m, "cache_creation_input_tokens")) {
            bd_json_member_int(&m, &usage->cache_write_tokens);
        } else if (bd_json_key_is(&m, "cache_creation") && m.kind == '{') {
            bd_json_members_init(&cit, m.value.p, m.value.n);
            while (bd_json_members_next(&cit, &cm)) {
                if (bd_json_key_is(&cm, "ephemeral_5m_input_tokens")) {
                    five = bd_json_member_int(&cm, &usage->cache_write_5m_tokens) == 0;
                } else if (bd_json_key_is(&cm, "ephemeral_1h_input_tokens")) {
                    bd_json_member_int(&cm, &usage->cache_write_1h_tokens);
                }
            }
        }
    }
    if (!five) {
        usage->cache_write_5m_tokens = usage->cache_write_tokens;
    }
}

int
bd_convert_invoke_answer(const char *body, size_t len, const char *client_model,
                         std::string *out, bd_convert_usage_t *usage, bd_convert_error_t *err)
{
    bd_json_members_t it;
    bd_json_member_t m;
    bd_json_span_t model = {nullptr, 0};
    bool content = false;

    if (usage) {
        *usage = bd_convert_usage_t();
    }
    bd_json_members_init(&it, body, len);
    while (bd_json_members_next(&it, &m)) {
        if (bd_json_key_is(&m, "content")) {
            content = m.kind == '[';
        } else if (bd_json_key_is(&m, "model")) {
            model = m.value;
        } else if (bd_json_key_is(&m, "usage") && m.kind == '{' && usage) {
            bd_cv_invoke_usage(&m, usage);
        }
    }
    if (!it.ok || !content) {
        bd_cv_upstream(err, "InvokeModel answer is not a message");
        return -1;
    }
    if (out == nullptr) {
        return 0;
    }
    /* The client sees the model it named; the rest is Bedrock's bytes. */
    out->clear();
    out->reserve(len + strlen(client_model) + 16);
    if (model.p != nullptr) {
        out->append(body, (size_t)(model.p - body));
        bd_json_append_string(out, client_model, strlen(client_model));
        out->append(model.p + model.n, (size_t)(body + len - (model.p + model.n)));
        return 0;
    }
    const char *open = (const char *)memchr(body, '{', len);
    out->append(body, (size_t)(open + 1 - body));
    out->append("\"model\":");
    bd_json_append_string(out, client_model, strlen(client_model));
    const char *rest = open + 1;
    while (*rest == ' ' || *rest == '\t' || *rest == '\n' || *rest == '\r') {
        rest++;
    }
    if (*rest != '}') {
        out->push_back(',');
    }
    out->append(rest, (size_t)(body + len - rest));
    return 0;
}

json_t *
bd_convert_count_tokens_request(json_t *req, const bd_convert_model_t *m, const char *beta_header,
                                bd_convert_error_t *err)
{
    bd_convert_request_t out = bd_convert_request_t();

    if (bd_cv_validate(req, m, beta_header, false, err) != 0) {
        return nullptr;
    }
    json_t *work = bd_cv_fates(req, m, beta_header, m->route == BD_ROUTE_INVOKE, err);
    if (!work) {
        return nullptr;
    }
    json_t *r;
    if (m->route == BD_ROUTE_INVOKE) {
        std::string js, b64;
        bd_cv_invoke_build(work, m, beta_header, true, &out, err);
        bd_convert_json_dump(out.body, &js);
        bd_cv_base64_encode((const unsigned char *)js.data(), js.size(), &b64);
        r = json_pack("{s:{s:{s:s}}}", "input", "invokeModel", "body", b64.c_str());
    } else {
        bd_cv_converse_build(work, m, beta_header, true, &out, err);
        r = json_pack("{s:{s:O}}", "input", "converse", out.body);
    }
    bd_convert_request_free(&out);
    json_decref(work);
    return r;
}

json_t *
bd_convert_count_tokens_response(json_t *resp, bd_convert_error_t *err)
{
    int64_t n;

    if (bd_cv_int(resp, "inputTokens", &n) != 0) {
        bd_cv_upstream(err, "CountTokens answer without inputTokens");
        return nullptr;
    }
    return json_pack("{s:I}", "input_tokens", (json_int_t)n);
}
