/*
 * bd_admin_keys.cc: /v1/keys: create, list, show, update, revoke and rotate,
 * the operations bedrockctl runs (bd_keyops), on the same backend. A body is
 * checked whole before anything is written; a secret is in the answer of
 * create and rotate only, never in the audit or the log. A change is published
 * to the workers before the answer (the store thread re-reads the file), so a
 * revoked key is refused from the moment the revoke is answered.
 *
 *   GET  /v1/keys                 POST /v1/keys {"name":...}
 *   GET  /v1/keys/ID              PATCH /v1/keys/ID {...}
 *   POST /v1/keys/ID/revoke       POST /v1/keys/ID/rotate
 */
#include "modules/admin/bd_admin_int.h"

#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "modules/store/bd_store_module.h"
#include "modules/store/ctl/bd_keyops.h"

static const char *const bd_admin_key_fields[] = {
    "name", "owner", "rpm", "tpm", "concurrency", "models", "expires", "metadata", "active",
    "budget_tokens", "budget_usd", nullptr,
};

static std::string
bd_admin_dump(json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    std::string s = text ? text : "";
    free(text);
    json_decref(j);
    return s;
}

/* One JSON member as a keyops field text: null, or what type it wants. */
static const char *
bd_admin_key_field(const char *name, json_t *v, std::string *out)
{
    std::string n = name;
    if (n == "name" || n == "owner") {
        if (!json_is_string(v)) {
            return "wants a string";
        }
        *out = json_string_value(v);
    } else if (n == "rpm" || n == "tpm" || n == "concurrency" || n == "budget_tokens") {
        if (!json_is_integer(v)) {
            return "wants an integer";
        }
        *out = std::to_string((long long)json_integer_value(v));
    } else if (n == "budget_usd") {
        if (json_is_integer(v)) {
            *out = std::to_string((long long)json_integer_value(v));
        } else if (json_is_real(v) && json_real_value(v) >= 0 && json_real_value(v) < 1e12) {
            char buf[64];
            snprintf(buf, sizeof(buf), "%.6f", json_real_value(v));
            *out = buf;
        } else if (json_is_string(v)) {
            *out = json_string_value(v);
        } else {
            return "wants dollars per month as a number, e.g. 12.5";
        }
    } else if (n == "models") {
        if (!json_is_array(v)) {
            return "wants an array of model name patterns";
        }
        size_t i;
        json_t *m;
        out->clear();
        json_array_foreach(v, i, m) {
            const char *s = json_string_value(m);
            if (s == nullptr || *s == '\0' || strchr(s, ',') != nullptr) {
                return "wants an array of non-empty patterns without commas";
            }
            out->append(i ? "," : "").append(s);
        }
    } else if (n == "expires") {
        if (!json_is_null(v) && !json_is_string(v)) {
            return "wants a date (YYYY-MM-DD[THH:MM[:SS]Z]) or null";
        }
        *out = json_is_null(v) ? "never" : json_string_value(v);
    } else if (n == "metadata") {
        if (!json_is_object(v)) {
            return "wants a JSON object";
        }
        char *text = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
        *out = text ? text : "{}";
        free(text);
    } else if (n == "active") {
        if (!json_is_boolean(v)) {
            return "wants true or false";
        }
        *out = json_is_true(v) ? "on" : "off";
    }
    return nullptr;
}

/* The body's fields: 0, or -1 with a 400 answered. */
static int
bd_admin_key_fields_of(bd_admin_req_t *ar, json_t *body, bd_keyops_fields_t *fields)
{
    const char *name;
    json_t *v;
    json_object_foreach(body, name, v) {
        std::string text;
        const char *why = bd_admin_key_field(name, v, &text);
        if (why != nullptr) {
            bd_admin_error(ar, 400, name, "%s %s", name, why);
            return -1;
        }
        fields->emplace_back(name, text);
    }
    return 0;
}

/* Publishes the change to the workers before the answer. */
static void
bd_admin_key_publish(bd_admin_req_t *ar)
{
    bd_store_t *s = bd_store_get(ar->a->p);
    if (s != nullptr) {
        bd_store_refresh(s);
    }
}

static void
bd_admin_key_failed(bd_admin_req_t *ar, int rc, const std::string &id,
                    const bd_keyops_result_t *res)
{
    if (rc == BD_KEYOPS_BAD) {
        bd_admin_error(ar, 400, res->field.c_str(), "%s %s", res->field.c_str(), res->err.c_str());
    } else if (rc == BD_KEYOPS_NOT_FOUND) {
        bd_admin_error(ar, 404, "id", "no key with id \"%s\"", id.c_str());
    } else {
        bd_admin_error(ar, 500, nullptr, "%s", res->err.c_str());
    }
}

static void
bd_admin_key_list(bd_admin_req_t *ar)
{
    std::vector<bd_key_t> keys;
    std::string err;
    if (bd_ctl_keys_load(&ar->backend, &keys, &err) != 0) {
        bd_admin_error(ar, 500, nullptr, "%s", err.c_str());
        return;
    }
    int64_t now = bd_keyops_now_ms();
    json_t *arr = json_array();
    for (const bd_key_t &k : keys) {
        json_array_append_new(arr, bd_keyops_json(&k, now));
    }
    bd_admin_reply_json(ar, 200, json_pack("{s:o}", "keys", arr));
}

static void
bd_admin_key_show(bd_admin_req_t *ar, const std::string &id)
{
    bd_key_t k{};
    std::string err;
    int found = bd_ctl_key_get(&ar->backend, id, &k, &err);
    if (found < 0) {
        bd_admin_error(ar, 500, nullptr, "%s", err.c_str());
    } else if (found == 0) {
        bd_admin_error(ar, 404, "id", "no key with id \"%s\"", id.c_str());
    } else {
        bd_admin_reply_json(ar, 200, bd_keyops_json(&k, bd_keyops_now_ms()));
    }
}

/* POST /v1/keys, PATCH /v1/keys/ID, POST /v1/keys/ID/revoke|rotate. */
static void
bd_admin_key_write(bd_admin_req_t *ar, const std::string &verb, const std::string &id)
{
    static const char *const none[] = {nullptr};
    json_t *body = nullptr;
    bd_keyops_fields_t fields;
    bool has_body = evbuffer_get_length(evhttp_request_get_input_buffer(ar->req)) > 0;
    if (verb == "create" || verb == "update" || has_body) {
        body = bd_admin_body(ar, verb == "create" || verb == "update" ? bd_admin_key_fields : none);
        if (body == nullptr || bd_admin_key_fields_of(ar, body, &fields) != 0) {
            json_decref(body);
            return;
        }
        json_decref(body);
    }
    bd_keyops_result_t res;
    int64_t now = bd_keyops_now_ms();
    int rc = verb == "create" ? bd_keyops_create(&ar->backend, fields, now, &res)
                              : bd_keyops_change(&ar->backend, verb, id, fields, &res);
    std::string action = "key." + verb;
    if (rc != BD_KEYOPS_OK) {
        bd_admin_key_failed(ar, rc, id, &res);
        bd_admin_audit(ar, action.c_str(), verb == "create" ? "" : id, "", "",
                       rc == BD_KEYOPS_BAD ? 400 : rc == BD_KEYOPS_NOT_FOUND ? 404 : 500);
        return;
    }
    bd_admin_key_publish(ar);
    int status = verb == "create" ? 201 : 200;
    bd_admin_audit(ar, action.c_str(), res.after.id,
                   verb == "create" ? "" : bd_admin_dump(bd_keyops_json(&res.before, now)),
                   bd_admin_dump(bd_keyops_json(&res.after, now)), status);
    json_t *out = bd_keyops_json(&res.after, now);
    if (!res.secret.empty()) {
        json_object_set_new(out, "secret", json_string(res.secret.c_str()));
    }
    bd_admin_reply_json(ar, status, out);
}

void
bd_admin_keys(bd_admin_req_t *ar, const std::string &rest)
{
    if (bd_admin_store(ar) != 0) {
        return;
    }
    if (rest.empty() || rest == "/") {
        if (ar->method == EVHTTP_REQ_GET || ar->method == EVHTTP_REQ_HEAD) {
            bd_admin_key_list(ar);
        } else if (ar->method == EVHTTP_REQ_POST) {
            bd_admin_key_write(ar, "create", "");
        } else {
            bd_admin_error(ar, 405, nullptr, "/v1/keys takes GET or POST");
        }
        return;
    }
    std::string id = rest.substr(1), verb;
    size_t slash = id.find('/');
    if (slash != std::string::npos) {
        verb = id.substr(slash + 1);
        id.resize(slash);
    }
    if (verb.empty() && (ar->method == EVHTTP_REQ_GET || ar->method == EVHTTP_REQ_HEAD)) {
        bd_admin_key_show(ar, id);
    } else if (verb.empty() && ar->method == EVHTTP_REQ_PATCH) {
        bd_admin_key_write(ar, "update", id);
    } else if ((verb == "revoke" || verb == "rotate") && ar->method == EVHTTP_REQ_POST) {
        bd_admin_key_write(ar, verb, id);
    } else if (verb.empty() || verb == "revoke" || verb == "rotate") {
        bd_admin_error(ar, 405, nullptr, "%s takes %s", ar->path.c_str(),
                       verb.empty() ? "GET or PATCH" : "POST");
    } else {
        bd_admin_error(ar, 404, nullptr, "no such path \"%s\"", ar->path.c_str());
    }
}
