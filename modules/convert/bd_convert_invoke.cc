/*
 * bd_convert_invoke.cc: the InvokeModel route (Anthropic-native body both ways), URL
 * source filling, and count_tokens for both routes. Pure, any thread. The native body is
 * the client's own, minus what Bedrock does not take, so features Converse cannot
 * express (citations, cache ttl, betas) keep full fidelity.
 */
#include <string.h>

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

/* Lists the url sources of the native body (messages and tool results). */
static void
bd_cv_invoke_urls(bd_convert_request_t *out, json_t *body)
{
    size_t i, j, k;
    json_t *msg, *b, *e;

    json_array_foreach(json_object_get(body, "messages"), i, msg) {
        json_array_foreach(json_object_get(msg, "content"), j, b) {
            bd_cv_invoke_url(out, b);
            json_array_foreach(json_object_get(b, "content"), k, e) {
                bd_cv_invoke_url(out, e);
            }
        }
    }
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

    (void)err;
    json_object_foreach(req, key, v) {
        bool drop = false;
        for (const char *d : dropped) {
            drop = drop || strcmp(key, d) == 0;
        }
        if (!drop) {
            json_object_set_new(body, key, json_deep_copy(v));
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

json_t *
bd_convert_invoke_to_anthropic(json_t *resp, const char *client_model, bd_convert_usage_t *usage,
                               bd_convert_error_t *err)
{
    if (!json_is_object(resp) || !json_is_array(json_object_get(resp, "content"))) {
        bd_cv_upstream(err, "InvokeModel answer is not a message");
        return nullptr;
    }
    json_t *r = json_deep_copy(resp);
    bd_cv_set_str(r, "model", client_model);
    if (usage) {
        json_t *u = json_object_get(resp, "usage");
        *usage = bd_convert_usage_t();
        bd_cv_int(u, "input_tokens", &usage->input_tokens);
        bd_cv_int(u, "output_tokens", &usage->output_tokens);
        bd_cv_int(u, "cache_read_input_tokens", &usage->cache_read_tokens);
        bd_cv_int(u, "cache_creation_input_tokens", &usage->cache_write_tokens);
        json_t *cc = json_object_get(u, "cache_creation");
        if (bd_cv_int(cc, "ephemeral_5m_input_tokens", &usage->cache_write_5m_tokens) != 0) {
            usage->cache_write_5m_tokens = usage->cache_write_tokens;
        }
        bd_cv_int(cc, "ephemeral_1h_input_tokens", &usage->cache_write_1h_tokens);
    }
    return r;
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
