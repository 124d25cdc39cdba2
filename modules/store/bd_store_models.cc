/*
 * bd_store_models.cc: the model map additions kept in the store (bedrockctl
 * model set/unset). The conf's model blocks stay the defaults; these rows add to
 * them. Runs on the thread that owns the connection.
 */
#include <sqlite3.h>

#include "modules/store/bd_store.h"

static int
bd_store_models_fail(sqlite3 *db, sqlite3_stmt *st, std::string *err)
{
    *err = sqlite3_errmsg(db);
    sqlite3_finalize(st);
    return -1;
}

int
bd_store_models_load(sqlite3 *db, std::vector<bd_store_model_t> *out, std::string *err)
{
    static const char sql[] = "SELECT name, bedrock_id, route, updated_ms FROM models ORDER BY name";
    sqlite3_stmt *st = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) {
        return bd_store_models_fail(db, st, err);
    }
    out->clear();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        bd_store_model_t m;
        m.name = (const char *)sqlite3_column_text(st, 0);
        m.bedrock_id = (const char *)sqlite3_column_text(st, 1);
        m.route = (const char *)sqlite3_column_text(st, 2);
        m.updated_ms = sqlite3_column_int64(st, 3);
        out->push_back(m);
    }
    if (rc != SQLITE_DONE) {
        return bd_store_models_fail(db, st, err);
    }
    sqlite3_finalize(st);
    return 0;
}

int
bd_store_model_set(sqlite3 *db, const bd_store_model_t *m, std::string *err)
{
    static const char sql[] =
        "INSERT OR REPLACE INTO models (name, bedrock_id, route, updated_ms) VALUES (?1, ?2, ?3, ?4)";
    sqlite3_stmt *st = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) {
        return bd_store_models_fail(db, st, err);
    }
    sqlite3_bind_text(st, 1, m->name.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, m->bedrock_id.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, m->route.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, m->updated_ms);
    if (sqlite3_step(st) != SQLITE_DONE) {
        return bd_store_models_fail(db, st, err);
    }
    sqlite3_finalize(st);
    return 0;
}

int
bd_store_model_unset(sqlite3 *db, const std::string &name, std::string *err)
{
    sqlite3_stmt *st = nullptr;
    if (sqlite3_prepare_v2(db, "DELETE FROM models WHERE name = ?1", -1, &st, nullptr) != SQLITE_OK) {
        return bd_store_models_fail(db, st, err);
    }
    sqlite3_bind_text(st, 1, name.c_str(), -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE) {
        return bd_store_models_fail(db, st, err);
    }
    sqlite3_finalize(st);
    return sqlite3_changes(db) > 0 ? 1 : 0;
}
