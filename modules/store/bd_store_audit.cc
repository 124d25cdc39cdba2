/*
 * bd_store_audit.cc: the admin API's audit trail in the store: one row per
 * admin action, appended, never changed but for the flag that says the fleet's
 * DynamoDB audit table has it. Runs on the thread that owns the
 * connection (the admin thread, bedrockctl).
 */
#include <sqlite3.h>

#include "modules/store/bd_store.h"

static int
bd_store_audit_fail(sqlite3 *db, sqlite3_stmt *st, std::string *err)
{
    *err = sqlite3_errmsg(db);
    sqlite3_finalize(st);
    return -1;
}

int
bd_store_audit_insert(sqlite3 *db, bd_audit_row_t *row, std::string *err)
{
    static const char sql[] =
        "INSERT INTO audit (time_ms, token_id, action, target, before, after, request_id, client,"
        " status, fleet_pending) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
    sqlite3_stmt *st = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) {
        return bd_store_audit_fail(db, st, err);
    }
    sqlite3_bind_int64(st, 1, row->time_ms);
    const std::string *texts[] = {&row->token_id, &row->action,     &row->target, &row->before,
                                  &row->after,    &row->request_id, &row->client};
    for (int i = 0; i < 7; i++) {
        sqlite3_bind_text(st, i + 2, texts[i]->c_str(), -1, SQLITE_TRANSIENT);
    }
    sqlite3_bind_int(st, 9, row->status);
    sqlite3_bind_int(st, 10, row->fleet_pending ? 1 : 0);
    if (sqlite3_step(st) != SQLITE_DONE) {
        return bd_store_audit_fail(db, st, err);
    }
    sqlite3_finalize(st);
    row->id = sqlite3_last_insert_rowid(db);
    return 0;
}

#define BD_AUDIT_COLUMNS                                                                          \
    "id, time_ms, token_id, action, target, before, after, request_id, client, status,"           \
    " fleet_pending"

/* Steps <st> (selecting BD_AUDIT_COLUMNS) into <out> and finalizes it. */
static int
bd_store_audit_rows(sqlite3 *db, sqlite3_stmt *st, std::vector<bd_audit_row_t> *out,
                    std::string *err)
{
    out->clear();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        bd_audit_row_t r;
        r.id = sqlite3_column_int64(st, 0);
        r.time_ms = sqlite3_column_int64(st, 1);
        std::string *texts[] = {&r.token_id, &r.action,     &r.target, &r.before,
                                &r.after,    &r.request_id, &r.client};
        for (int i = 0; i < 7; i++) {
            *texts[i] = (const char *)sqlite3_column_text(st, i + 2);
        }
        r.status = sqlite3_column_int(st, 9);
        r.fleet_pending = sqlite3_column_int(st, 10) != 0;
        out->push_back(r);
    }
    if (rc != SQLITE_DONE) {
        return bd_store_audit_fail(db, st, err);
    }
    sqlite3_finalize(st);
    return 0;
}

int
bd_store_audit_list(sqlite3 *db, int64_t since_ms, int64_t until_ms, int64_t limit,
                    std::vector<bd_audit_row_t> *out, std::string *err)
{
    static const char sql[] = "SELECT * FROM (SELECT " BD_AUDIT_COLUMNS
                              " FROM audit WHERE time_ms >= ?1 AND time_ms < ?2 ORDER BY id DESC"
                              " LIMIT ?3) ORDER BY id";
    sqlite3_stmt *st = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) {
        return bd_store_audit_fail(db, st, err);
    }
    sqlite3_bind_int64(st, 1, since_ms);
    sqlite3_bind_int64(st, 2, until_ms);
    sqlite3_bind_int64(st, 3, limit);
    return bd_store_audit_rows(db, st, out, err);
}

int
bd_store_audit_pending(sqlite3 *db, int64_t limit, std::vector<bd_audit_row_t> *out,
                       std::string *err)
{
    static const char sql[] =
        "SELECT " BD_AUDIT_COLUMNS " FROM audit WHERE fleet_pending = 1 ORDER BY id LIMIT ?1";
    sqlite3_stmt *st = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) {
        return bd_store_audit_fail(db, st, err);
    }
    sqlite3_bind_int64(st, 1, limit);
    return bd_store_audit_rows(db, st, out, err);
}

int
bd_store_audit_pushed(sqlite3 *db, int64_t id, std::string *err)
{
    static const char sql[] = "UPDATE audit SET fleet_pending = 0 WHERE id = ?1";
    sqlite3_stmt *st = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) {
        return bd_store_audit_fail(db, st, err);
    }
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) != SQLITE_DONE) {
        return bd_store_audit_fail(db, st, err);
    }
    sqlite3_finalize(st);
    return 0;
}
