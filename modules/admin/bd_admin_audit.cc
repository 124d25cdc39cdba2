/*
 * bd_admin_audit.cc: the audit trail: every admin action that reached a
 * handler (and every write a read-only token tried) becomes one row of the
 * store's audit table, one item of the fleet's DynamoDB audit table (when the
 * dynamodb block is on) and one log line: who (the token's name), what, on
 * which target, the object before and after (as the API shows it: no secret,
 * no hash), when, the request id and the client's address.
 *
 * A row DynamoDB did not take stays pending in the store and is sent again
 * every sampler period, so an outage loses no row.
 *
 *   GET /v1/audit?from=DATE&to=DATE&limit=N   (the fleet's trail when on)
 */
#include "modules/admin/bd_admin_int.h"

#include <event2/http.h>

#include "core/bd_core.h"
#include "core/bd_log.h"
#include "modules/dynamodb/bd_ddb_module.h"
#include "modules/dynamodb/ctl/bd_ctl_ddb.h"
#include "modules/store/bd_store.h"

/* The fleet's audit table when the dynamodb block is on, opened at the first
 * need; null otherwise or when it cannot be opened (logged). */
static bd_ctl_ddb_t *
bd_admin_audit_fleet(bd_admin_req_t *ar)
{
    const bd_ddb_conf_t *dc = (const bd_ddb_conf_t *)bd_snapshot_conf(ar->snap, &bd_dynamodb_module);
    if (!bd_ddb_conf_on(dc)) {
        return nullptr;
    }
    if (ar->a->ddb == nullptr) {
        std::string err;
        ar->a->ddb = bd_ctl_ddb_open(dc, &err);
        if (ar->a->ddb == nullptr) {
            bd_log_error(BD_LOG_ERR, ar->request_id.c_str(), "admin audit: %s", err.c_str());
        }
    }
    return ar->a->ddb;
}

/* Puts <row> into the fleet's table; on success clears its pending flag in the
 * store. 0 or -1 (logged). */
static int
bd_admin_audit_push(bd_admin_t *a, bd_audit_row_t *row, const char *request_id)
{
    bd_ctl_backend_t fleet = {nullptr, a->ddb};
    std::string err;
    if (bd_ctl_audit_insert(&fleet, row, &err) != 0) {
        bd_log_error(BD_LOG_ERR, request_id, "admin audit: %s%s", err.c_str(),
                     row->id > 0 ? " (kept in the store; sent again later)" : "");
        return -1;
    }
    if (row->id > 0 && a->db != nullptr && bd_store_audit_pushed(a->db, row->id, &err) != 0) {
        bd_log_error(BD_LOG_ERR, request_id, "admin audit: %s", err.c_str());
    }
    return 0;
}

void
bd_admin_audit(bd_admin_req_t *ar, const char *action, const std::string &target,
               const std::string &before, const std::string &after, int status)
{
    bd_audit_row_t row;
    row.id = 0;
    row.time_ms = bd_wall_ms();
    row.token_id = ar->token ? ar->token->id : "";
    row.action = action;
    row.target = target;
    row.before = before;
    row.after = after;
    row.request_id = ar->request_id;
    row.client = ar->client;
    row.status = status;
    bd_log_error(BD_LOG_NOTICE, ar->request_id.c_str(),
                 "admin audit: token=%s action=%s target=%s status=%d client=%s",
                 row.token_id.c_str(), action, target.empty() ? "-" : target.c_str(), status,
                 ar->client.c_str());
    bd_ctl_ddb_t *fleet = bd_admin_audit_fleet(ar);
    row.fleet_pending = fleet != nullptr;
    std::string err;
    if (ar->a->db == nullptr && !ar->a->db_path.empty()) {
        ar->a->db = bd_store_open(ar->a->db_path.c_str(), 5000, &err);
    }
    if (ar->a->db != nullptr && bd_store_audit_insert(ar->a->db, &row, &err) != 0) {
        bd_log_error(BD_LOG_ERR, ar->request_id.c_str(), "admin audit: cannot append: %s",
                     err.c_str());
        row.id = 0;
    }
    if (fleet != nullptr) {
        bd_admin_audit_push(ar->a, &row, ar->request_id.c_str());
    }
}

void
bd_admin_audit_retry(bd_admin_t *a)
{
    if (a->db == nullptr || a->ddb == nullptr) {
        return;
    }
    std::vector<bd_audit_row_t> rows;
    std::string err;
    if (bd_store_audit_pending(a->db, 100, &rows, &err) != 0) {
        bd_log_error(BD_LOG_ERR, nullptr, "admin audit: %s", err.c_str());
        return;
    }
    for (bd_audit_row_t &r : rows) {
        if (bd_admin_audit_push(a, &r, r.request_id.c_str()) != 0) {
            return; /* still away: the next period tries again */
        }
    }
}

static json_t *
bd_admin_audit_json(const bd_audit_row_t *r)
{
    json_t *before = r->before.empty() ? json_null() : json_loads(r->before.c_str(), 0, nullptr);
    json_t *after = r->after.empty() ? json_null() : json_loads(r->after.c_str(), 0, nullptr);
    return json_pack("{s:I, s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:s, s:i}", "id", (json_int_t)r->id,
                     "time", bd_ctl_format_date(r->time_ms).c_str(), "token", r->token_id.c_str(),
                     "action", r->action.c_str(), "target", r->target.c_str(), "before",
                     before ? before : json_null(), "after", after ? after : json_null(),
                     "request_id", r->request_id.c_str(), "client", r->client.c_str(), "status",
                     r->status);
}

/* <name> of the query as a date (ms), or <dflt>: 0, or -1 with a 400 answered. */
int
bd_admin_query_date(bd_admin_req_t *ar, const char *name, int64_t dflt, int64_t *out)
{
    auto it = ar->query.find(name);
    if (it == ar->query.end()) {
        *out = dflt;
        return 0;
    }
    *out = bd_ctl_parse_date(it->second);
    if (*out < 0) {
        bd_admin_error(ar, 400, name, "%s wants YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS]Z (UTC)", name);
        return -1;
    }
    return 0;
}

void
bd_admin_audit_list(bd_admin_req_t *ar)
{
    if (ar->method != EVHTTP_REQ_GET && ar->method != EVHTTP_REQ_HEAD) {
        bd_admin_error(ar, 405, nullptr, "/v1/audit takes GET");
        return;
    }
    int64_t from, to, limit = 1000;
    if (bd_admin_query_date(ar, "from", 0, &from) != 0 ||
        bd_admin_query_date(ar, "to", INT64_MAX, &to) != 0) {
        return;
    }
    auto it = ar->query.find("limit");
    if (it != ar->query.end()) {
        limit = bd_ctl_parse_count(it->second);
        if (limit < 1 || limit > 100000) {
            bd_admin_error(ar, 400, "limit", "limit wants a number from 1 to 100000");
            return;
        }
    }
    if (bd_admin_store(ar) != 0) {
        return;
    }
    std::vector<bd_audit_row_t> rows;
    std::string err;
    if (bd_ctl_audit_list(&ar->backend, from, to, limit, &rows, &err) != 0) {
        bd_admin_error(ar, 500, nullptr, "%s", err.c_str());
        return;
    }
    json_t *arr = json_array();
    for (const bd_audit_row_t &r : rows) {
        json_array_append_new(arr, bd_admin_audit_json(&r));
    }
    bd_admin_reply_json(ar, 200, json_pack("{s:o}", "audit", arr));
}
