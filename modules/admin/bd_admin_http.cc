/*
 * bd_admin_http.cc: the admin thread's requests: the token check (Bearer, or
 * Basic with the token as the password so that a browser can open the status
 * page), the read-only rule, dispatch to the handlers, and the JSON replies and
 * errors they share. Every API error is {"error":{"type","message","field"}},
 * 4xx naming what was wrong.
 */
#include "modules/admin/bd_admin_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "core/bd_log.h"
#include "modules/dynamodb/bd_ddb_module.h"
#include "modules/dynamodb/ctl/bd_ctl_ddb.h"
#include "modules/store/bd_store.h"

static const char *
bd_admin_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 503: return "Service Unavailable";
    default: return status >= 500 ? "Internal Server Error" : "Error";
    }
}

void
bd_admin_reply_text(bd_admin_req_t *ar, int status, const char *type, const std::string &body)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(ar->req);
    evhttp_add_header(h, "X-Request-Id", ar->request_id.c_str());
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(h, "Referrer-Policy", "no-referrer");
    if (status == 401) {
        evhttp_add_header(h, "WWW-Authenticate", "Basic realm=\"bedrockd admin\", charset=\"UTF-8\"");
    }
    bd_side_listen_reply(ar->req, status, bd_admin_reason(status), type, body);
}

void
bd_admin_reply_json(bd_admin_req_t *ar, int status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(body);
    bd_admin_reply_text(ar, status, "application/json", text ? text : "{}");
    free(text);
}

static const char *
bd_admin_error_type(int status)
{
    switch (status) {
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 405: return "method_not_allowed";
    case 409: return "conflict_error";
    default: return status >= 500 ? "api_error" : "invalid_request_error";
    }
}

void
bd_admin_error(bd_admin_req_t *ar, int status, const char *field, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_t *err = json_pack("{s:s, s:s}", "type", bd_admin_error_type(status), "message", msg);
    if (field != nullptr) {
        json_object_set_new(err, "field", json_string(field));
    }
    bd_admin_reply_json(ar, status, json_pack("{s:o, s:s}", "error", err, "request_id",
                                              ar->request_id.c_str()));
}

json_t *
bd_admin_body(bd_admin_req_t *ar, const char *const *allowed)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(ar->req);
    size_t len = evbuffer_get_length(in);
    std::string text(len, '\0');
    evbuffer_copyout(in, &text[0], len);
    json_error_t jerr;
    json_t *body = json_loadb(text.data(), text.size(), JSON_REJECT_DUPLICATES, &jerr);
    if (body == nullptr) {
        bd_admin_error(ar, 400, nullptr, "the body is not valid JSON: %s (at character %d)",
                       jerr.text, jerr.position);
        return nullptr;
    }
    if (!json_is_object(body)) {
        json_decref(body);
        bd_admin_error(ar, 400, nullptr, "the body must be a JSON object");
        return nullptr;
    }
    const char *name;
    json_t *v;
    json_object_foreach(body, name, v) {
        bool known = false;
        for (const char *const *a = allowed; *a != nullptr; a++) {
            known = known || strcmp(*a, name) == 0;
        }
        if (!known) {
            std::string field = name;
            json_decref(body);
            bd_admin_error(ar, 400, field.c_str(), "unknown field \"%s\"", field.c_str());
            return nullptr;
        }
    }
    return body;
}

int
bd_admin_store(bd_admin_req_t *ar)
{
    bd_admin_t *a = ar->a;
    std::string err;
    if (a->db == nullptr && !a->db_path.empty()) {
        a->db = bd_store_open(a->db_path.c_str(), 5000, &err);
        if (a->db == nullptr) {
            bd_log_error(BD_LOG_ERR, ar->request_id.c_str(), "admin: store \"%s\": %s",
                         a->db_path.c_str(), err.c_str());
        }
    }
    const bd_ddb_conf_t *dc = (const bd_ddb_conf_t *)bd_snapshot_conf(ar->snap, &bd_dynamodb_module);
    if (a->ddb == nullptr && bd_ddb_conf_on(dc)) {
        a->ddb = bd_ctl_ddb_open(dc, &err);
        if (a->ddb == nullptr) {
            bd_log_error(BD_LOG_ERR, ar->request_id.c_str(), "admin: %s", err.c_str());
            bd_admin_error(ar, 503, nullptr, "the fleet's DynamoDB tables cannot be reached");
            return -1;
        }
    }
    if (a->db == nullptr && a->ddb == nullptr) {
        bd_admin_error(ar, 503, nullptr, "no store: the daemon runs with \"store off\"");
        return -1;
    }
    ar->backend.db = a->db;
    ar->backend.ddb = bd_ddb_conf_on(dc) ? a->ddb : nullptr;
    return 0;
}

/* "adm_" + 24 base62 characters. */
static std::string
bd_admin_request_id(void)
{
    static const char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    unsigned char raw[24];
    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        memset(raw, 0, sizeof(raw));
    }
    std::string id = "adm_";
    for (unsigned char b : raw) {
        id.push_back(alphabet[b % 62]);
    }
    return id;
}

/* The token presented: "Bearer TOKEN", or Basic with the token as password. */
static std::string
bd_admin_presented(struct evhttp_request *req)
{
    const char *auth = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    if (auth == nullptr) {
        return "";
    }
    if (strncasecmp(auth, "Bearer ", 7) == 0) {
        return auth + 7;
    }
    if (strncasecmp(auth, "Basic ", 6) != 0 || strlen(auth + 6) > 8192) {
        return "";
    }
    const char *b64 = auth + 6;
    size_t n = strlen(b64);
    std::string out(n, '\0');
    int len = EVP_DecodeBlock((unsigned char *)&out[0], (const unsigned char *)b64, (int)n);
    if (len < 0) {
        return "";
    }
    while (n > 0 && b64[n - 1] == '=') { /* EVP_DecodeBlock counts the padding */
        n--;
        len--;
    }
    out.resize((size_t)len);
    size_t colon = out.find(':');
    return colon == std::string::npos ? "" : out.substr(colon + 1);
}

static void
bd_admin_parse_query(bd_admin_req_t *ar, const char *uri)
{
    struct evkeyvalq q;
    const char *qs = strchr(uri, '?');
    if (qs == nullptr || evhttp_parse_query_str(qs + 1, &q) != 0) {
        return;
    }
    for (struct evkeyval *kv = q.tqh_first; kv != nullptr; kv = kv->next.tqe_next) {
        ar->query[kv->key] = kv->value;
    }
    evhttp_clear_headers(&q);
}

static bool
bd_admin_is_write(int method)
{
    return method != EVHTTP_REQ_GET && method != EVHTTP_REQ_HEAD;
}

static void
bd_admin_dispatch(bd_admin_req_t *ar)
{
    const std::string &path = ar->path;
    if (path == "/v1/keys" || path.compare(0, 9, "/v1/keys/") == 0) {
        bd_admin_keys(ar, path.substr(8));
    } else if (path == "/v1/models" || path.compare(0, 11, "/v1/models/") == 0) {
        bd_admin_models(ar, path.substr(10));
    } else if (path == "/v1/usage" || path == "/v1/usage.csv") {
        bd_admin_usage(ar);
    } else if (path == "/v1/budgets") {
        bd_admin_budgets(ar);
    } else if (path == "/v1/live") {
        bd_admin_live(ar);
    } else if (path == "/v1/reload") {
        bd_admin_reload(ar);
    } else if (path == "/v1/audit") {
        bd_admin_audit_list(ar);
    } else if (path == "/v1/stats") {
        bd_admin_stats(ar);
    } else if (path == "/" || path == "/index.html") {
        bd_admin_page(ar);
    } else {
        bd_admin_error(ar, 404, nullptr, "no such path \"%s\"", path.c_str());
    }
}

void bd_admin_on_request(struct evhttp_request *req, void *arg) noexcept;

void
bd_admin_on_request(struct evhttp_request *req, void *arg) noexcept
{
    bd_admin_req_t ar;
    ar.a = (bd_admin_t *)arg;
    ar.req = req;
    ar.method = evhttp_request_get_command(req);
    const char *uri = evhttp_request_get_uri(req);
    ar.path.assign(uri, strcspn(uri, "?"));
    ar.request_id = bd_admin_request_id();
    ar.client = bd_side_listen_peer(req);
    ar.token = nullptr;
    ar.backend = {nullptr, nullptr};
    bd_admin_parse_query(&ar, uri);
    if (ar.path == "/health") {
        bd_admin_reply_text(&ar, 200, "application/json", "{\"status\":\"ok\"}");
        return;
    }
    if (ar.path == "/openapi.json") { /* the API's shape is no secret */
        bd_admin_openapi(&ar);
        return;
    }
    ar.snap = bd_process_snapshot(ar.a->p);
    const bd_admin_conf_t *c = (const bd_admin_conf_t *)bd_snapshot_conf(ar.snap, &bd_admin_module);
    std::string presented = bd_admin_presented(req);
    ar.token = bd_admin_token_find(c, presented);
    if (!presented.empty()) {
        memset(&presented[0], 0, presented.size());
    }
    if (ar.token == nullptr) {
        bd_log_error(BD_LOG_WARN, ar.request_id.c_str(), "admin: %s %s from %s: no valid token",
                     bd_admin_is_write(ar.method) ? "write" : "read", ar.path.c_str(),
                     ar.client.c_str());
        bd_admin_error(&ar, 401, nullptr, "a valid admin token is required "
                                          "(Authorization: Bearer TOKEN)");
    } else if (bd_admin_is_write(ar.method) && !ar.token->write) {
        bd_admin_audit(&ar, "denied", ar.path, "", "", 403);
        bd_admin_error(&ar, 403, nullptr, "admin token \"%s\" is read-only",
                       ar.token->id.c_str());
    } else {
        bd_admin_dispatch(&ar);
    }
    bd_snapshot_unref(ar.snap);
}
