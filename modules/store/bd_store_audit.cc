/*
 * bd_store_audit.cc: the admin API's audit trail in the store: one row per
 * admin action, appended, never changed. Runs on the thread that owns the
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
bd_store_audit_insert(sqlite3 *db, const bd_audit_row_t *row, std::string *err)
{
    static const char sql[] =
        "INSERT INTO audit (time_ms, token_id, action, target, before, after, request_id, client,"
        " status) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
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
    if (sqlite3_step(st) != SQLITE_DONE) {
        return bd_store_audit_fail(db, st, err);
    }
    sqlite3_finalize(st);
    return 0;
}

int
bd_store_audit_list(sqlite3 *db, int64_t since_ms, int64_t until_ms, int64_t limit,
                    std::vector<bd_audit_row_t> *out, std::string *err)
{
    static const char sql[] =
        "SELECT * FROM (SELECT id, time_ms, token_id, action, target, before, after, request_id,"
        " client, status FROM audit WHERE time_ms >= ?1 AND time_ms < ?2 ORDER BY id DESC"
        " LIMIT ?3) ORDER BY id";
    sqlite3_stmt *st = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) {
        return bd_store_audit_fail(db, st, err);
    }
    sqlite3_bind_int64(st, 1, since_ms);
    sqlite3_bind_int64(st, 2, until_ms);
    sqlite3_bind_int64(st, 3, limit);
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
        out->push_back(r);
    }
    if (rc != SQLITE_DONE) {
        return bd_store_audit_fail(db, st, err);
    }
    sqlite3_finalize(st);
    return 0;
}
