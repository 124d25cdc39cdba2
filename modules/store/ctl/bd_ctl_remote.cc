/*
 * bd_ctl_remote.cc: bedrockctl's commands on the admin API; see bd_ctl_remote.h.
 * One blocking libcurl request per call; the API's JSON is turned back into
 * the records the commands print, so the output is the same as on the file.
 */
#include "modules/store/ctl/bd_ctl_remote.h"

#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>

static size_t
bd_ctl_remote_write(char *data, size_t size, size_t n, void *arg)
{
    ((std::string *)arg)->append(data, size * n);
    return size * n;
}

/* <method> <path> with <body> (null: none). Returns the HTTP status and the
 * parsed JSON in <out> (new reference, may be null), or -1 with <err>. */
static int
bd_ctl_remote_call(bd_ctl_remote_t *r, const char *method, const std::string &path, json_t *body,
                   json_t **out, std::string *err)
{
    *out = nullptr;
    CURL *c = curl_easy_init();
    if (c == nullptr) {
        *err = "cannot start an HTTP client";
        return -1;
    }
    std::string url = r->url + path, reply, auth = "Authorization: Bearer " + r->token;
    char *text = body ? json_dumps(body, JSON_COMPACT) : nullptr;
    struct curl_slist *h = curl_slist_append(nullptr, auth.c_str());
    h = curl_slist_append(h, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    std::string m = method;
    if (m != "GET" && m != "DELETE") { /* revoke and rotate send an empty body */
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, text ? text : "");
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, bd_ctl_remote_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &reply);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 60000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    free(text);
    json_decref(body);
    if (rc != CURLE_OK) {
        *err = "admin API " + r->url + ": " + curl_easy_strerror(rc);
        return -1;
    }
    *out = json_loadb(reply.data(), reply.size(), 0, nullptr);
    if (status >= 400) {
        const char *msg = json_string_value(json_object_get(json_object_get(*out, "error"),
                                                            "message"));
        *err = msg ? msg : "admin API answered " + std::to_string(status);
    }
    return (int)status;
}

static std::string
bd_ctl_remote_str(const json_t *j, const char *name)
{
    const char *s = json_string_value(json_object_get(j, name));
    return s ? s : "";
}

static int64_t
bd_ctl_remote_int(const json_t *j, const char *name)
{
    return (int64_t)json_integer_value(json_object_get(j, name));
}

static int64_t
bd_ctl_remote_date(const json_t *j, const char *name)
{
    std::string s = bd_ctl_remote_str(j, name);
    return s.empty() ? 0 : bd_ctl_parse_date(s);
}

/* A key as the API shows it, back into the record (no hash: never sent). */
static void
bd_ctl_remote_key(const json_t *j, bd_key_t *k)
{
    *k = bd_key_t{};
    k->id = bd_ctl_remote_str(j, "id");
    k->prefix = bd_ctl_remote_str(j, "prefix");
    k->name = bd_ctl_remote_str(j, "name");
    k->owner = bd_ctl_remote_str(j, "owner");
    k->active = bd_ctl_remote_str(j, "status") != "revoked";
    k->created_ms = bd_ctl_remote_date(j, "created");
    k->expires_ms = bd_ctl_remote_date(j, "expires");
    k->rpm = bd_ctl_remote_int(j, "rpm");
    k->tpm = bd_ctl_remote_int(j, "tpm");
    k->concurrency = bd_ctl_remote_int(j, "concurrency");
    k->budget_tokens = bd_ctl_remote_int(j, "budget_tokens");
    k->budget_usd_micros = (int64_t)llround(json_number_value(json_object_get(j, "budget_usd")) * 1e6);
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(j, "models"), i, m) {
        k->models.push_back(json_string_value(m) ? json_string_value(m) : "");
    }
    char *meta = json_dumps(json_object_get(j, "metadata"), JSON_COMPACT | JSON_PRESERVE_ORDER);
    k->metadata = meta ? meta : "{}";
    free(meta);
}

/* GET <path> and calls <fn> on each element of its array <member>: 0, or -1
 * with <err> set. */
template <typename F>
static int
bd_ctl_remote_each(bd_ctl_remote_t *r, const std::string &path, const char *member,
                   std::string *err, F fn)
{
    json_t *doc;
    if (bd_ctl_remote_call(r, "GET", path, nullptr, &doc, err) != 200) {
        json_decref(doc);
        return -1;
    }
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(doc, member), i, row) {
        fn(row);
    }
    json_decref(doc);
    return 0;
}

int
bd_ctl_remote_keys_load(bd_ctl_remote_t *r, std::vector<bd_key_t> *out, std::string *err)
{
    out->clear();
    return bd_ctl_remote_each(r, "/v1/keys", "keys", err, [&](const json_t *k) {
        out->emplace_back();
        bd_ctl_remote_key(k, &out->back());
    });
}

static std::string
bd_ctl_remote_escape(const std::string &s)
{
    char *e = curl_easy_escape(nullptr, s.c_str(), (int)s.size());
    std::string out = e ? e : "";
    curl_free(e);
    return out;
}

int
bd_ctl_remote_key_get(bd_ctl_remote_t *r, const std::string &id, bd_key_t *out, std::string *err)
{
    json_t *j;
    int status = bd_ctl_remote_call(r, "GET", "/v1/keys/" + bd_ctl_remote_escape(id), nullptr, &j, err);
    if (status == 200) {
        bd_ctl_remote_key(j, out);
    }
    json_decref(j);
    return status == 200 ? 1 : status == 404 ? 0 : -1;
}

/* A field's text as the JSON the API takes (a wrong text stays a string: the
 * API then names the field). */
static json_t *
bd_ctl_remote_field(const std::string &name, const std::string &v)
{
    if (name == "rpm" || name == "tpm" || name == "concurrency" || name == "budget_tokens") {
        int64_t n = bd_ctl_parse_count(v);
        return n >= 0 ? json_integer((json_int_t)n) : json_string(v.c_str());
    }
    if (name == "models") {
        json_t *arr = json_array();
        for (const std::string &m : bd_key_models_split(v)) {
            json_array_append_new(arr, json_string(m.c_str()));
        }
        return arr;
    }
    if (name == "expires" && v == "never") {
        return json_null();
    }
    if (name == "metadata") {
        json_t *j = json_loads(v.c_str(), 0, nullptr);
        return j ? j : json_string(v.c_str());
    }
    if (name == "active" && (v == "on" || v == "off")) {
        return json_boolean(v == "on");
    }
    return json_string(v.c_str());
}

int
bd_ctl_remote_key_op(bd_ctl_remote_t *r, const std::string &verb, const std::string &id,
                     const bd_keyops_fields_t &fields, bd_keyops_result_t *res)
{
    json_t *body = json_object();
    for (const auto &f : fields) {
        json_object_set_new(body, f.first.c_str(), bd_ctl_remote_field(f.first, f.second));
    }
    std::string path = "/v1/keys";
    const char *method = "POST";
    if (verb == "update") {
        path += "/" + bd_ctl_remote_escape(id);
        method = "PATCH";
    } else if (verb != "create") {
        path += "/" + bd_ctl_remote_escape(id) + "/" + verb;
    }
    json_t *j;
    int status = bd_ctl_remote_call(r, method, path, body, &j, &res->err);
    if (status == 200 || status == 201) {
        bd_ctl_remote_key(j, &res->after);
        res->secret = bd_ctl_remote_str(j, "secret");
        json_decref(j);
        return BD_KEYOPS_OK;
    }
    const char *field = json_string_value(json_object_get(json_object_get(j, "error"), "field"));
    std::string named = field ? field : "";
    json_decref(j);
    if (status == 400 && !named.empty()) {
        res->field = named;
        if (res->err.compare(0, res->field.size() + 1, res->field + " ") == 0) {
            res->err = res->err.substr(res->field.size() + 1); /* "rpm wants ..." */
        }
        return BD_KEYOPS_BAD;
    }
    return status == 404 ? BD_KEYOPS_NOT_FOUND : BD_KEYOPS_FAILED;
}

int
bd_ctl_remote_models_load(bd_ctl_remote_t *r, std::vector<bd_store_model_t> *out,
                          std::string *err)
{
    out->clear();
    return bd_ctl_remote_each(r, "/v1/models", "additions", err, [&](const json_t *m) {
        std::string route = bd_ctl_remote_str(m, "route");
        out->push_back({bd_ctl_remote_str(m, "name"), bd_ctl_remote_str(m, "bedrock_id"),
                        route == "default" ? "" : route, bd_ctl_remote_date(m, "updated")});
    });
}

int
bd_ctl_remote_model_set(bd_ctl_remote_t *r, const bd_store_model_t *m, std::string *err)
{
    json_t *body = json_pack("{s:s, s:s}", "bedrock_id", m->bedrock_id.c_str(), "route",
                             m->route.empty() ? "default" : m->route.c_str());
    json_t *j;
    int status = bd_ctl_remote_call(r, "PUT", "/v1/models/" + bd_ctl_remote_escape(m->name), body,
                                    &j, err);
    json_decref(j);
    return status == 200 ? 0 : -1;
}

int
bd_ctl_remote_model_unset(bd_ctl_remote_t *r, const std::string &name, std::string *err)
{
    json_t *j;
    int status = bd_ctl_remote_call(r, "DELETE", "/v1/models/" + bd_ctl_remote_escape(name),
                                    nullptr, &j, err);
    json_decref(j);
    return status == 200 ? 1 : status == 404 ? 0 : -1;
}

/* "&NAME=DATE" when <ms> bounds the range. */
static std::string
bd_ctl_remote_range(const char *name, int64_t ms, int64_t unbounded)
{
    return ms == unbounded ? "" : std::string("&") + name + "=" + bd_ctl_format_date(ms);
}

int
bd_ctl_remote_usage_report(bd_ctl_remote_t *r, int by, int64_t since_ms, int64_t until_ms,
                           std::vector<bd_usage_row_t> *out, std::string *err)
{
    const char *name = by == BD_USAGE_BY_MODEL ? "model" : by == BD_USAGE_BY_DAY ? "day" : "key";
    std::string path = std::string("/v1/usage?by=") + name +
                       bd_ctl_remote_range("from", since_ms, 0) +
                       bd_ctl_remote_range("to", until_ms, INT64_MAX);
    out->clear();
    return bd_ctl_remote_each(r, path, "rows", err, [&](const json_t *row) {
        out->push_back({bd_ctl_remote_str(row, name), bd_ctl_remote_int(row, "requests"),
                        bd_ctl_remote_int(row, "errors"), bd_ctl_remote_int(row, "input_tokens"),
                        bd_ctl_remote_int(row, "output_tokens"),
                        bd_ctl_remote_int(row, "cache_read_tokens"),
                        bd_ctl_remote_int(row, "cache_write_tokens")});
    });
}

static std::string
bd_ctl_remote_json_text(const json_t *j)
{
    if (j == nullptr || json_is_null(j)) {
        return "";
    }
    char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    std::string out = s ? s : "";
    free(s);
    return out;
}

int
bd_ctl_remote_audit(bd_ctl_remote_t *r, int64_t since_ms, int64_t until_ms, int64_t limit,
                    std::vector<bd_audit_row_t> *out, std::string *err)
{
    std::string path = "/v1/audit?limit=" + std::to_string((long long)limit) +
                       bd_ctl_remote_range("from", since_ms, 0) +
                       bd_ctl_remote_range("to", until_ms, INT64_MAX);
    out->clear();
    return bd_ctl_remote_each(r, path, "audit", err, [&](const json_t *row) {
        bd_audit_row_t a;
        a.id = bd_ctl_remote_int(row, "id");
        a.time_ms = bd_ctl_remote_date(row, "time");
        a.token_id = bd_ctl_remote_str(row, "token");
        a.action = bd_ctl_remote_str(row, "action");
        a.target = bd_ctl_remote_str(row, "target");
        a.before = bd_ctl_remote_json_text(json_object_get(row, "before"));
        a.after = bd_ctl_remote_json_text(json_object_get(row, "after"));
        a.request_id = bd_ctl_remote_str(row, "request_id");
        a.client = bd_ctl_remote_str(row, "client");
        a.status = (int)bd_ctl_remote_int(row, "status");
        out->push_back(a);
    });
}
