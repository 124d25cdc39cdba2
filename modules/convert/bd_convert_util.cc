/*
 * bd_convert_util.cc: small shared pieces of the convert module: JSON getters, error
 * setters, base64, SSE framing, error bodies, anthropic-beta filtering. Pure, any thread.
 */
#include <ctype.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "core/bd_json.h"
#include "modules/convert/bd_convert_int.h"

const char *
bd_cv_str(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    return json_is_string(v) ? json_string_value(v) : nullptr;
}

int
bd_cv_int(json_t *o, const char *key, int64_t *v)
{
    json_t *j = json_object_get(o, key);

    if (!json_is_integer(j)) {
        return -1;
    }
    *v = json_integer_value(j);
    return 0;
}

int
bd_cv_fail(bd_convert_error_t *err, int status, const char *type, const std::string &path,
           const std::string &what)
{
    err->status = status;
    err->type = type;
    err->message = path.empty() ? what : path + ": " + what;
    return -1;
}

int
bd_cv_bad(bd_convert_error_t *err, const std::string &path, const std::string &what)
{
    return bd_cv_fail(err, 400, "invalid_request_error", path, what);
}

int
bd_cv_upstream(bd_convert_error_t *err, const std::string &what)
{
    return bd_cv_fail(err, 502, "api_error", "", "unexpected answer from Bedrock: " + what);
}

void
bd_cv_base64_encode(const unsigned char *p, size_t n, std::string *out)
{
    out->resize(4 * ((n + 2) / 3) + 1);
    int len = EVP_EncodeBlock((unsigned char *)&(*out)[0], p, (int)n);
    out->resize((size_t)len);
}

int
bd_cv_base64_decode(const char *s, size_t n, std::string *out)
{
    /* EVP_DecodeBlock ignores padding in its length, so count it back out. */
    if (n % 4 != 0) {
        return -1;
    }
    out->resize(3 * (n / 4) + 1);
    int len = EVP_DecodeBlock((unsigned char *)&(*out)[0], (const unsigned char *)s, (int)n);
    if (len < 0) {
        return -1;
    }
    if (n >= 1 && s[n - 1] == '=') {
        len--;
    }
    if (n >= 2 && s[n - 2] == '=') {
        len--;
    }
    out->resize((size_t)len);
    return 0;
}

std::string
bd_cv_path(const std::string &base, const char *key)
{
    return base.empty() ? std::string(key) : base + "." + key;
}

std::string
bd_cv_path(const std::string &base, size_t index)
{
    return base + "." + std::to_string(index);
}

void
bd_cv_set_str(json_t *o, const char *key, const char *s)
{
    json_object_set_new(o, key, json_string(s));
}

void
bd_cv_set_int(json_t *o, const char *key, int64_t v)
{
    json_object_set_new(o, key, json_integer((json_int_t)v));
}

json_t *
bd_cv_usage_delta(const bd_convert_usage_t *u)
{
    json_t *o = json_object();

    /* message_delta order, as Anthropic sends it */
    bd_cv_set_int(o, "input_tokens", u->input_tokens);
    bd_cv_set_int(o, "output_tokens", u->output_tokens);
    bd_cv_set_int(o, "cache_creation_input_tokens", u->cache_write_tokens);
    bd_cv_set_int(o, "cache_read_input_tokens", u->cache_read_tokens);
    return o;
}

void
bd_cv_usage_write(const bd_convert_usage_t *u, std::string *out)
{
    /* Each key with the text before it; the last two sit in "cache_creation". */
    const struct {
        const char *before;
        int64_t value;
    } fields[] = {
        {"{\"input_tokens\":", u->input_tokens},
        {",\"output_tokens\":", u->output_tokens},
        {",\"cache_creation_input_tokens\":", u->cache_write_tokens},
        {",\"cache_read_input_tokens\":", u->cache_read_tokens},
        {",\"cache_creation\":{\"ephemeral_5m_input_tokens\":", u->cache_write_5m_tokens},
        {",\"ephemeral_1h_input_tokens\":", u->cache_write_1h_tokens},
    };
    for (const auto &f : fields) {
        out->append(f.before);
        bd_json_append_int(out, f.value);
    }
    out->append("},\"server_tool_use\":null,\"service_tier\":\"standard\"}");
}

/* Splits <header> into its trimmed, non-empty comma-separated items. */
static void
bd_cv_beta_items(const char *header, std::vector<std::string> *items)
{
    const char *p = header;

    while (p && *p) {
        const char *e = strchr(p, ',');
        const char *end = e ? e : p + strlen(p);
        const char *b = p;
        while (b < end && (*b == ' ' || *b == '\t')) {
            b++;
        }
        const char *t = end;
        while (t > b && (t[-1] == ' ' || t[-1] == '\t')) {
            t--;
        }
        if (t > b) {
            items->emplace_back(b, (size_t)(t - b));
        }
        p = e ? e + 1 : nullptr;
    }
}

json_t *
bd_cv_betas(const char *header, const bd_convert_model_t *m, std::vector<std::string> *dropped)
{
    std::vector<std::string> items;
    json_t *a = json_array();

    bd_cv_beta_items(header, &items);
    for (const std::string &b : items) {
        const std::string *name = nullptr;
        for (const auto &r : m->renamed_betas) {
            if (r.first == b) {
                name = &r.second;
            }
        }
        for (const std::string &ok : m->allowed_betas) {
            if (!name && ok == b) {
                name = &ok;
            }
        }
        if (!name) {
            if (dropped) {
                dropped->push_back(b); /* unknown betas make Bedrock fail the whole request */
            }
            continue;
        }
        bool dup = false;
        for (size_t i = 0; i < json_array_size(a); i++) {
            dup = dup || *name == json_string_value(json_array_get(a, i));
        }
        if (!dup) {
            json_array_append_new(a, json_string(name->c_str()));
        }
    }
    return a;
}

bool
bd_cv_beta_forwarded(const char *header, const bd_convert_model_t *m, const char *beta)
{
    std::vector<std::string> one;
    std::vector<std::string> dropped;

    bd_cv_beta_items(header, &one);
    for (const std::string &b : one) {
        if (b == beta) {
            json_t *a = bd_cv_betas(beta, m, &dropped);
            bool sent = json_array_size(a) > 0;
            json_decref(a);
            return sent;
        }
    }
    return false;
}

void
bd_cv_scan_string(const bd_json_span_t *lit, std::string *out)
{
    if (memchr(lit->p, '\\', lit->n) == nullptr) {
        out->assign(lit->p + 1, lit->n - 2);
        return;
    }
    json_t *j = json_loadb(lit->p, lit->n, JSON_DECODE_ANY, nullptr);
    out->assign(json_is_string(j) ? json_string_value(j) : "", json_string_length(j));
    json_decref(j);
}

void
bd_convert_sse_event(std::string *out, const char *name, json_t *data)
{
    std::string js;

    bd_convert_json_dump(data, &js);
    out->append("event: ").append(name).append("\ndata: ").append(js).append("\n\n");
}

void
bd_convert_sse_ping(std::string *out)
{
    out->append("event: ping\ndata: {\"type\":\"ping\"}\n\n");
}

static json_t *
bd_cv_error_json(const char *type, const char *message)
{
    json_t *o = json_object();
    json_t *e = json_object();

    bd_cv_set_str(o, "type", "error");
    bd_cv_set_str(e, "type", type);
    bd_cv_set_str(e, "message", message ? message : "");
    json_object_set_new(o, "error", e);
    return o;
}

void
bd_convert_sse_error(std::string *out, const char *type, const char *message)
{
    json_t *o = bd_cv_error_json(type, message);

    bd_convert_sse_event(out, "error", o);
    json_decref(o);
}

void
bd_convert_error_body(const char *type, const char *message, const char *request_id,
                      std::string *out)
{
    json_t *o = bd_cv_error_json(type, message);

    if (request_id) {
        bd_cv_set_str(o, "request_id", request_id);
    }
    bd_convert_json_dump(o, out);
    json_decref(o);
}

std::string
bd_cv_doc_name(std::vector<std::string> *used, const char *text, const char *end)
{
    std::string name;
    for (const char *p = text ? text : ""; *p && p != end && name.size() < 180; p++) {
        unsigned char ch = (unsigned char)*p;
        if (isalnum(ch) || strchr("-()[]", ch)) {
            name += (char)ch;
        } else if (!name.empty() && name.back() != ' ') {
            name += ' ';
        }
    }
    while (!name.empty() && name.back() == ' ') {
        name.pop_back();
    }
    if (name.empty()) {
        name = "document-" + std::to_string(used->size() + 1);
    }
    std::string base = name;
    for (int n = 2;; n++) {
        bool taken = false;
        for (const std::string &d : *used) {
            taken = taken || d == name;
        }
        if (!taken) {
            break;
        }
        name = base + "-" + std::to_string(n);
    }
    used->push_back(name);
    return name;
}
