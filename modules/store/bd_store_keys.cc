/*
 * bd_store_keys.cc: the keys table. Rows hold the hex SHA-256 of a secret, never
 * the secret. Runs on the thread that owns the connection.
 */
#include <sqlite3.h>

#include "modules/store/bd_store.h"

static const char bd_store_key_columns[] =
    "id, hash, prefix, name, owner, active, created_ms, expires_ms, rpm, tpm, concurrency, "
    "models, metadata, budget_tokens, budget_usd_micros, spent_tokens, spent_usd_micros";

static std::string
bd_store_text(sqlite3_stmt *st, int col)
{
    const unsigned char *s = sqlite3_column_text(st, col);
    return s ? std::string((const char *)s, (size_t)sqlite3_column_bytes(st, col)) : std::string();
}

static void
bd_store_key_from_row(sqlite3_stmt *st, bd_key_t *k)
{
    k->id = bd_store_text(st, 0);
    if (bd_key_unhex(bd_store_text(st, 1), &k->hash) != 0) {
        k->hash.clear(); /* a damaged row matches no secret */
    }
    k->prefix = bd_store_text(st, 2);
    k->name = bd_store_text(st, 3);
    k->owner = bd_store_text(st, 4);
    k->active = sqlite3_column_int(st, 5) != 0;
    k->created_ms = sqlite3_column_int64(st, 6);
    k->expires_ms = sqlite3_column_int64(st, 7);
    k->rpm = sqlite3_column_int64(st, 8);
    k->tpm = sqlite3_column_int64(st, 9);
    k->concurrency = sqlite3_column_int64(st, 10);
    k->models = bd_key_models_split(bd_store_text(st, 11));
    k->metadata = bd_store_text(st, 12);
    k->budget_tokens = sqlite3_column_int64(st, 13);
    k->budget_usd_micros = sqlite3_column_int64(st, 14);
    k->spent_tokens = sqlite3_column_int64(st, 15);
    k->spent_usd_micros = sqlite3_column_int64(st, 16);
}

static int
bd_store_fail(sqlite3 *db, sqlite3_stmt *st, std::string *err)
{
    *err = sqlite3_errmsg(db);
    sqlite3_finalize(st);
    return -1;
}

int
bd_store_keys_load(sqlite3 *db, std::vector<bd_key_t> *out, std::string *err)
{
    std::string sql = std::string("SELECT ") + bd_store_key_columns +
                      " FROM keys ORDER BY created_ms, id";
    sqlite3_stmt *st = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
        return bd_store_fail(db, st, err);
    }
    out->clear();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        out->emplace_back();
        bd_store_key_from_row(st, &out->back());
    }
    if (rc != SQLITE_DONE) {
        return bd_store_fail(db, st, err);
    }
    sqlite3_finalize(st);
    return 0;
}

int
bd_store_key_get(sqlite3 *db, const std::string &id, bd_key_t *out, std::string *err)
{
    std::string sql = std::string("SELECT ") + bd_store_key_columns + " FROM keys WHERE id = ?1";
    sqlite3_stmt *st = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
        return bd_store_fail(db, st, err);
    }
    sqlite3_bind_text(st, 1, id.c_str(), -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        bd_store_key_from_row(st, out);
        sqlite3_finalize(st);
        return 1;
    }
    if (rc != SQLITE_DONE) {
        return bd_store_fail(db, st, err);
    }
    sqlite3_finalize(st);
    return 0;
}

/* Binds the mutable fields as ?2..?12 (hash, prefix, name, owner, active,
 * expires, rpm, tpm, concurrency, models, metadata) and ?14..?15 (budgets). */
static void
bd_store_key_bind(sqlite3_stmt *st, const bd_key_t *k)
{
    sqlite3_bind_text(st, 2, bd_key_hex(k->hash).c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, k->prefix.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, k->name.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, k->owner.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 6, k->active ? 1 : 0);
    sqlite3_bind_int64(st, 7, k->expires_ms);
    sqlite3_bind_int64(st, 8, k->rpm);
    sqlite3_bind_int64(st, 9, k->tpm);
    sqlite3_bind_int64(st, 10, k->concurrency);
    sqlite3_bind_text(st, 11, bd_key_models_join(k->models).c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 12, k->metadata.empty() ? "{}" : k->metadata.c_str(), -1,
                      SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 14, k->budget_tokens);
    sqlite3_bind_int64(st, 15, k->budget_usd_micros);
}

int
bd_store_key_insert(sqlite3 *db, const bd_key_t *key, std::string *err)
{
    static const char sql[] =
        "INSERT INTO keys (id, hash, prefix, name, owner, active, expires_ms, rpm, tpm, "
        "concurrency, models, metadata, created_ms, budget_tokens, budget_usd_micros) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)";
    sqlite3_stmt *st = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) {
        return bd_store_fail(db, st, err);
    }
    sqlite3_bind_text(st, 1, key->id.c_str(), -1, SQLITE_TRANSIENT);
    bd_store_key_bind(st, key);
    sqlite3_bind_int64(st, 13, key->created_ms);
    if (sqlite3_step(st) != SQLITE_DONE) {
        return bd_store_fail(db, st, err);
    }
    sqlite3_finalize(st);
    return 0;
}

int
bd_store_key_update(sqlite3 *db, const bd_key_t *key, std::string *err)
{
    static const char sql[] =
        "UPDATE keys SET hash = ?2, prefix = ?3, name = ?4, owner = ?5, active = ?6, "
        "expires_ms = ?7, rpm = ?8, tpm = ?9, concurrency = ?10, models = ?11, metadata = ?12, "
        "budget_tokens = ?14, budget_usd_micros = ?15 WHERE id = ?1";
    sqlite3_stmt *st = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) {
        return bd_store_fail(db, st, err);
    }
    sqlite3_bind_text(st, 1, key->id.c_str(), -1, SQLITE_TRANSIENT);
    bd_store_key_bind(st, key);
    if (sqlite3_step(st) != SQLITE_DONE) {
        return bd_store_fail(db, st, err);
    }
    sqlite3_finalize(st);
    return sqlite3_changes(db) > 0 ? 1 : 0;
}
