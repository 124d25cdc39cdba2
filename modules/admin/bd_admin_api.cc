/*
 * bd_admin_api.cc: the admin API beside the keys: usage summaries (JSON or
 * CSV), the model map and its additions, and budgets; the same backend and the
 * same semantics as `bedrockctl usage` and `bedrockctl model`.
 *
 *   GET /v1/usage?by=key|model|day&from=DATE&to=DATE[&format=csv]  (/v1/usage.csv)
 *   GET /v1/models      PUT /v1/models/NAME {"bedrock_id","route"}   DELETE /v1/models/NAME
 *   GET /v1/budgets
 */
#include "modules/admin/bd_admin_int.h"

#include <string.h>

#include <event2/http.h>

#include "modules/models/bd_models.h"
#include "modules/store/bd_store.h"
#include "modules/store/bd_store_module.h"
#include "modules/store/ctl/bd_keyops.h"

static bool
bd_admin_is_read(const bd_admin_req_t *ar)
{
    return ar->method == EVHTTP_REQ_GET || ar->method == EVHTTP_REQ_HEAD;
}

/* A CSV field, quoted when it needs to be (RFC 4180). */
static void
bd_admin_csv_field(std::string *out, const std::string &s)
{
    if (s.find_first_of(",\"\r\n") == std::string::npos) {
        out->append(s);
        return;
    }
    out->push_back('"');
    for (char ch : s) {
        if (ch == '"') {
            out->push_back('"');
        }
        out->push_back(ch);
    }
    out->push_back('"');
}

void
bd_admin_usage(bd_admin_req_t *ar)
{
    if (!bd_admin_is_read(ar)) {
        bd_admin_error(ar, 405, nullptr, "%s takes GET", ar->path.c_str());
        return;
    }
    std::string by = ar->query.count("by") ? ar->query["by"] : "key";
    int by_code = by == "key" ? BD_USAGE_BY_KEY : by == "model" ? BD_USAGE_BY_MODEL
                                              : by == "day"     ? BD_USAGE_BY_DAY
                                                                : -1;
    if (by_code < 0) {
        bd_admin_error(ar, 400, "by", "by wants key, model or day");
        return;
    }
    std::string format = ar->path == "/v1/usage.csv" ? "csv"
                         : ar->query.count("format") ? ar->query["format"]
                                                     : "json";
    if (format != "json" && format != "csv") {
        bd_admin_error(ar, 400, "format", "format wants json or csv");
        return;
    }
    int64_t from, to;
    if (bd_admin_query_date(ar, "from", 0, &from) != 0 ||
        bd_admin_query_date(ar, "to", INT64_MAX, &to) != 0) {
        return;
    }
    if (from > to) {
        bd_admin_error(ar, 400, "from", "from is after to");
        return;
    }
    if (bd_admin_store(ar) != 0) {
        return;
    }
    std::vector<bd_usage_row_t> rows;
    std::string err;
    if (bd_ctl_usage_report(&ar->backend, by_code, from, to, &rows, &err) != 0) {
        bd_admin_error(ar, 500, nullptr, "%s", err.c_str());
        return;
    }
    if (format == "csv") {
        std::string out = by + ",requests,errors,input_tokens,output_tokens,cache_read_tokens,"
                               "cache_write_tokens\r\n";
        for (const bd_usage_row_t &r : rows) {
            bd_admin_csv_field(&out, r.group);
            for (int64_t n : {r.requests, r.errors, r.input_tokens, r.output_tokens,
                              r.cache_read_tokens, r.cache_write_tokens}) {
                out.append(",").append(std::to_string((long long)n));
            }
            out.append("\r\n");
        }
        bd_admin_reply_text(ar, 200, "text/csv; charset=utf-8", out);
        return;
    }
    json_t *arr = json_array();
    for (const bd_usage_row_t &r : rows) {
        json_array_append_new(
            arr, json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I}", by.c_str(), r.group.c_str(),
                           "requests", (json_int_t)r.requests, "errors", (json_int_t)r.errors,
                           "input_tokens", (json_int_t)r.input_tokens, "output_tokens",
                           (json_int_t)r.output_tokens, "cache_read_tokens",
                           (json_int_t)r.cache_read_tokens, "cache_write_tokens",
                           (json_int_t)r.cache_write_tokens));
    }
    json_t *body = json_pack("{s:s, s:o, s:o, s:o}", "by", by.c_str(), "from",
                             from ? json_string(bd_ctl_format_date(from).c_str()) : json_null(),
                             "to",
                             to != INT64_MAX ? json_string(bd_ctl_format_date(to).c_str())
                                             : json_null(),
                             "rows", arr);
    bd_admin_reply_json(ar, 200, body);
}

static json_t *
bd_admin_model_json(const bd_store_model_t &m)
{
    return json_pack("{s:s, s:s, s:s, s:s}", "name", m.name.c_str(), "bedrock_id",
                     m.bedrock_id.c_str(), "route", m.route.empty() ? "default" : m.route.c_str(),
                     "updated", bd_ctl_format_date(m.updated_ms).c_str());
}

static void
bd_admin_models_list(bd_admin_req_t *ar)
{
    json_t *conf = json_array();
    for (const bd_model_entry_t &e : bd_models_entries(ar->snap)) {
        json_t *aliases = json_array();
        for (const std::string &a : e.aliases) {
            json_array_append_new(aliases, json_string(a.c_str()));
        }
        json_array_append_new(conf, json_pack("{s:s, s:s, s:o}", "name", e.name.c_str(),
                                              "bedrock_id", e.data.bedrock_id.c_str(), "aliases",
                                              aliases));
    }
    std::vector<bd_store_model_t> models;
    std::string err;
    if (bd_ctl_models_load(&ar->backend, &models, &err) != 0) {
        json_decref(conf);
        bd_admin_error(ar, 500, nullptr, "%s", err.c_str());
        return;
    }
    json_t *additions = json_array();
    for (const bd_store_model_t &m : models) {
        json_array_append_new(additions, bd_admin_model_json(m));
    }
    bd_admin_reply_json(ar, 200, json_pack("{s:o, s:o}", "conf", conf, "additions", additions));
}

/* The addition <name> as it is now ("" when none), for the audit. */
static std::string
bd_admin_model_before(bd_admin_req_t *ar, const std::string &name)
{
    std::vector<bd_store_model_t> models;
    std::string err;
    if (bd_ctl_models_load(&ar->backend, &models, &err) != 0) {
        return "";
    }
    for (const bd_store_model_t &m : models) {
        if (m.name == name) {
            json_t *j = bd_admin_model_json(m);
            char *text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
            std::string s = text ? text : "";
            free(text);
            json_decref(j);
            return s;
        }
    }
    return "";
}

static void
bd_admin_model_set(bd_admin_req_t *ar, const std::string &name)
{
    static const char *const fields[] = {"bedrock_id", "route", nullptr};
    json_t *body = bd_admin_body(ar, fields);
    if (body == nullptr) {
        return;
    }
    json_t *id = json_object_get(body, "bedrock_id");
    json_t *route = json_object_get(body, "route");
    const char *r = route ? json_string_value(route) : "";
    if (!json_is_string(id) || json_string_length(id) == 0 || json_string_length(id) > 2048) {
        bd_admin_error(ar, 400, "bedrock_id", "bedrock_id wants a model id, inference profile or "
                                              "ARN (a non-empty string)");
    } else if (r == nullptr || (*r != '\0' && strcmp(r, "converse") != 0 &&
                                strcmp(r, "invoke") != 0 && strcmp(r, "default") != 0)) {
        bd_admin_error(ar, 400, "route", "route wants converse, invoke or default");
    } else {
        bd_store_model_t m{name, json_string_value(id), strcmp(r, "default") == 0 ? "" : r,
                           bd_keyops_now_ms()};
        std::string before = bd_admin_model_before(ar, name), err;
        if (bd_ctl_model_set(&ar->backend, &m, &err) != 0) {
            bd_admin_error(ar, 500, nullptr, "%s", err.c_str());
        } else {
            bd_store_t *s = bd_store_get(ar->a->p);
            if (s != nullptr) {
                bd_store_refresh(s);
            }
            json_t *j = bd_admin_model_json(m);
            char *text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
            bd_admin_audit(ar, "model.set", name, before, text ? text : "", 200);
            free(text);
            bd_admin_reply_json(ar, 200, j);
        }
    }
    json_decref(body);
}

static void
bd_admin_model_unset(bd_admin_req_t *ar, const std::string &name)
{
    std::string before = bd_admin_model_before(ar, name), err;
    int found = bd_ctl_model_unset(&ar->backend, name, &err);
    if (found < 0) {
        bd_admin_error(ar, 500, nullptr, "%s", err.c_str());
        return;
    }
    if (found == 0) {
        bd_admin_error(ar, 404, "name", "no model map addition with name \"%s\"", name.c_str());
        return;
    }
    bd_store_t *s = bd_store_get(ar->a->p);
    if (s != nullptr) {
        bd_store_refresh(s);
    }
    bd_admin_audit(ar, "model.unset", name, before, "", 200);
    bd_admin_reply_json(ar, 200, json_pack("{s:s, s:b}", "name", name.c_str(), "removed", 1));
}

void
bd_admin_models(bd_admin_req_t *ar, const std::string &rest)
{
    if (bd_admin_store(ar) != 0) {
        return;
    }
    if (rest.empty() || rest == "/") {
        if (bd_admin_is_read(ar)) {
            bd_admin_models_list(ar);
        } else {
            bd_admin_error(ar, 405, nullptr, "/v1/models takes GET");
        }
        return;
    }
    std::string name = rest.substr(1);
    char *decoded = evhttp_uridecode(name.c_str(), 0, nullptr);
    name = decoded ? decoded : "";
    free(decoded);
    if (name.empty() || name.size() > 256 || name.find('/') != std::string::npos) {
        bd_admin_error(ar, 400, "name", "name wants a model name (1 to 256 characters, no '/')");
    } else if (ar->method == EVHTTP_REQ_PUT) {
        bd_admin_model_set(ar, name);
    } else if (ar->method == EVHTTP_REQ_DELETE) {
        bd_admin_model_unset(ar, name);
    } else {
        bd_admin_error(ar, 405, nullptr, "%s takes PUT or DELETE", ar->path.c_str());
    }
}

void
bd_admin_budgets(bd_admin_req_t *ar)
{
    if (!bd_admin_is_read(ar)) {
        bd_admin_error(ar, 405, nullptr, "/v1/budgets takes GET");
        return;
    }
    if (bd_admin_store(ar) != 0) {
        return;
    }
    std::vector<bd_key_t> keys;
    std::string err;
    if (bd_ctl_keys_load(&ar->backend, &keys, &err) != 0) {
        bd_admin_error(ar, 500, nullptr, "%s", err.c_str());
        return;
    }
    json_t *arr = json_array();
    for (const bd_key_t &k : keys) {
        if (k.budget_tokens == 0 && k.budget_usd_micros == 0) {
            continue;
        }
        json_array_append_new(
            arr, json_pack("{s:s, s:s, s:I, s:f, s:I, s:f}", "id", k.id.c_str(), "name",
                           k.name.c_str(), "budget_tokens", (json_int_t)k.budget_tokens,
                           "budget_usd", (double)k.budget_usd_micros / 1e6, "spent_tokens",
                           (json_int_t)k.spent_tokens, "spent_usd",
                           (double)k.spent_usd_micros / 1e6));
    }
    bd_admin_reply_json(ar, 200, json_pack("{s:o}", "budgets", arr));
}
