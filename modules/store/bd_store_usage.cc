/*
 * bd_store_usage.cc: usage rows: batched inserts (the store thread) and the sums
 * bedrockctl reports. One transaction per batch keeps the daemon's writes cheap:
 * a commit costs a WAL append, not a sync per request.
 */
#include <sqlite3.h>

#include "modules/store/bd_store.h"

static int
bd_store_usage_fail(sqlite3 *db, sqlite3_stmt *st, std::string *err)
{
    *err = sqlite3_errmsg(db);
    sqlite3_finalize(st);
    return -1;
}

static void
bd_store_usage_bind(sqlite3_stmt *st, const bd_usage_record_t *u)
{
    sqlite3_bind_int64(st, 1, u->time_ms);
    sqlite3_bind_text(st, 2, u->request_id.c_str(), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, u->key_id.c_str(), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, u->model.c_str(), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, u->model_resolved.c_str(), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, u->api.c_str(), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, u->route.c_str(), -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 8, u->status);
    sqlite3_bind_int64(st, 9, u->input_tokens);
    sqlite3_bind_int64(st, 10, u->output_tokens);
    sqlite3_bind_int64(st, 11, u->cache_read_tokens);
    sqlite3_bind_int64(st, 12, u->cache_write_tokens);
    sqlite3_bind_int64(st, 13, u->latency_ms);
    sqlite3_bind_int64(st, 14, u->ttft_ms);
    sqlite3_bind_int(st, 15, u->streamed ? 1 : 0);
    sqlite3_bind_int(st, 16, u->client_gone ? 1 : 0);
    sqlite3_bind_text(st, 17, u->user_id.c_str(), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 18, u->session_id.c_str(), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 19, u->served_by.c_str(), -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 20, u->cached ? 1 : 0);
}

int
bd_store_usage_insert(sqlite3 *db, const bd_usage_record_t *recs, size_t n, std::string *err)
{
    static const char sql[] =
        "INSERT INTO usage (time_ms, request_id, key_id, model, model_resolved, api, route, "
        "status, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, latency_ms, "
        "ttft_ms, streamed, client_gone, user_id, session_id, served_by, cached) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, "
        "?19, ?20)";
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
        *err = sqlite3_errmsg(db);
        return -1;
    }
    sqlite3_stmt *st = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) {
        bd_store_usage_fail(db, st, err);
        sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        bd_store_usage_bind(st, &recs[i]);
        if (sqlite3_step(st) != SQLITE_DONE) {
            bd_store_usage_fail(db, st, err);
            sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
            return -1;
        }
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    if (sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
        *err = sqlite3_errmsg(db);
        sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
        return -1;
    }
    return 0;
}

int
bd_store_usage_report(sqlite3 *db, int by, int64_t since_ms, int64_t until_ms,
                      std::vector<bd_usage_row_t> *out, std::string *err)
{
    const char *group = by == BD_USAGE_BY_MODEL ? "model"
                        : by == BD_USAGE_BY_DAY ? "strftime('%Y-%m-%d', time_ms / 1000, 'unixepoch')"
                                                : "key_id";
    std::string sql = std::string("SELECT ") + group +
                      " AS g, count(*), sum(status >= 400), sum(input_tokens), sum(output_tokens), "
                      "sum(cache_read_tokens), sum(cache_write_tokens) FROM usage "
                      "WHERE time_ms >= ?1 AND time_ms < ?2 GROUP BY g ORDER BY g";
    sqlite3_stmt *st = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
        return bd_store_usage_fail(db, st, err);
    }
    sqlite3_bind_int64(st, 1, since_ms);
    sqlite3_bind_int64(st, 2, until_ms);
    out->clear();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        bd_usage_row_t row;
        const unsigned char *g = sqlite3_column_text(st, 0);
        row.group = g ? (const char *)g : "";
        row.requests = sqlite3_column_int64(st, 1);
        row.errors = sqlite3_column_int64(st, 2);
        row.input_tokens = sqlite3_column_int64(st, 3);
        row.output_tokens = sqlite3_column_int64(st, 4);
        row.cache_read_tokens = sqlite3_column_int64(st, 5);
        row.cache_write_tokens = sqlite3_column_int64(st, 6);
        out->push_back(row);
    }
    if (rc != SQLITE_DONE) {
        return bd_store_usage_fail(db, st, err);
    }
    sqlite3_finalize(st);
    return 0;
}
