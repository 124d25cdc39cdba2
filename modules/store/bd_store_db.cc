/*
 * bd_store_db.cc: opening the store file and its schema migrations. Each version
 * is one script applied in order inside an immediate transaction that re-reads
 * PRAGMA user_version, so two processes opening a fresh file at once migrate it
 * once. Runs on whatever thread owns the connection (store thread, bedrockctl).
 */
#include "modules/store/bd_store.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

/* The response cache: which usage rows were answers from it (zero Bedrock tokens). */
static const char bd_store_migrate_usage_cached[] =
    "ALTER TABLE usage ADD COLUMN cached INTEGER NOT NULL DEFAULT 0;";

/* Triggers that count every insert, update and delete of a table in `changes`. */
#define BD_STORE_COUNT_WRITE(table, what)                                               \
    "CREATE TRIGGER " table "_" what "_counted AFTER " what " ON " table                \
    " BEGIN UPDATE changes SET n = n + 1 WHERE name = '" table "'; END;"
#define BD_STORE_COUNT_WRITES(table)                                                    \
    BD_STORE_COUNT_WRITE(table, "INSERT")                                               \
    BD_STORE_COUNT_WRITE(table, "UPDATE") BD_STORE_COUNT_WRITE(table, "DELETE")

/* Scripts by version: bd_store_migrations[v - 1] takes a file from v - 1 to v. */
static const char *const bd_store_migrations[] = {
    /* 1: keys and usage */
    "CREATE TABLE keys ("
    " id TEXT PRIMARY KEY,"
    " hash TEXT NOT NULL UNIQUE,"
    " prefix TEXT NOT NULL,"
    " name TEXT NOT NULL,"
    " owner TEXT NOT NULL DEFAULT '',"
    " active INTEGER NOT NULL DEFAULT 1,"
    " created_ms INTEGER NOT NULL,"
    " expires_ms INTEGER NOT NULL DEFAULT 0,"
    " rpm INTEGER NOT NULL DEFAULT 0,"
    " tpm INTEGER NOT NULL DEFAULT 0,"
    " concurrency INTEGER NOT NULL DEFAULT 0,"
    " models TEXT NOT NULL DEFAULT '',"
    " metadata TEXT NOT NULL DEFAULT '{}');"
    "CREATE TABLE usage ("
    " id INTEGER PRIMARY KEY,"
    " time_ms INTEGER NOT NULL,"
    " request_id TEXT NOT NULL,"
    " key_id TEXT NOT NULL DEFAULT '',"
    " model TEXT NOT NULL DEFAULT '',"
    " model_resolved TEXT NOT NULL DEFAULT '',"
    " api TEXT NOT NULL DEFAULT '',"
    " route TEXT NOT NULL DEFAULT '',"
    " status INTEGER NOT NULL,"
    " input_tokens INTEGER NOT NULL DEFAULT 0,"
    " output_tokens INTEGER NOT NULL DEFAULT 0,"
    " cache_read_tokens INTEGER NOT NULL DEFAULT 0,"
    " cache_write_tokens INTEGER NOT NULL DEFAULT 0,"
    " latency_ms INTEGER NOT NULL DEFAULT 0,"
    " ttft_ms INTEGER NOT NULL DEFAULT -1,"
    " streamed INTEGER NOT NULL DEFAULT 0,"
    " client_gone INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX usage_time ON usage(time_ms);"
    "CREATE INDEX usage_key_time ON usage(key_id, time_ms);",

    /* 2: who asked (user and session), and model map additions */
    "ALTER TABLE usage ADD COLUMN user_id TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE usage ADD COLUMN session_id TEXT NOT NULL DEFAULT '';"
    "CREATE TABLE models ("
    " name TEXT PRIMARY KEY,"
    " bedrock_id TEXT NOT NULL,"
    " route TEXT NOT NULL DEFAULT '',"
    " updated_ms INTEGER NOT NULL);",

    /* 3: the failover target that served a request (its label; '' without a chain) */
    "ALTER TABLE usage ADD COLUMN served_by TEXT NOT NULL DEFAULT '';",

    /* 4: DynamoDB sync: where a key or model came from (rows pulled from DynamoDB
     * are "dynamodb" and follow the table), and the sync's own state (task id,
     * usage outbox position) */
    "ALTER TABLE keys ADD COLUMN source TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE models ADD COLUMN source TEXT NOT NULL DEFAULT '';"
    "CREATE TABLE sync_state (name TEXT PRIMARY KEY, value INTEGER NOT NULL);",

    /* 5: answers from the response cache */
    bd_store_migrate_usage_cached,

    /* 6: monthly budgets, and what the DynamoDB sync last saw spent of them */
    "ALTER TABLE keys ADD COLUMN budget_tokens INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE keys ADD COLUMN budget_usd_micros INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE keys ADD COLUMN spent_tokens INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE keys ADD COLUMN spent_usd_micros INTEGER NOT NULL DEFAULT 0;",

    /* 7: the admin API's audit trail (append only; never a secret) */
    "CREATE TABLE audit ("
    " id INTEGER PRIMARY KEY,"
    " time_ms INTEGER NOT NULL,"
    " token_id TEXT NOT NULL,"
    " action TEXT NOT NULL,"
    " target TEXT NOT NULL DEFAULT '',"
    " before TEXT NOT NULL DEFAULT '',"
    " after TEXT NOT NULL DEFAULT '',"
    " request_id TEXT NOT NULL DEFAULT '',"
    " client TEXT NOT NULL DEFAULT '',"
    " status INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX audit_time ON audit(time_ms);",

    /* 8: stored Responses API responses (modules/responses): the response object and the
     * conversation's input items, for GET and previous_response_id, by the key that made
     * them, until expires_ms */
    "CREATE TABLE responses ("
    " id TEXT PRIMARY KEY,"
    " key_id TEXT NOT NULL DEFAULT '',"
    " created_ms INTEGER NOT NULL,"
    " expires_ms INTEGER NOT NULL,"
    " response TEXT NOT NULL,"
    " input TEXT NOT NULL);"
    "CREATE INDEX responses_expires ON responses(expires_ms);",

    /* 9: audit rows the fleet's DynamoDB audit table has not taken yet (it was away) */
    "ALTER TABLE audit ADD COLUMN fleet_pending INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX audit_fleet_pending ON audit(fleet_pending) WHERE fleet_pending = 1;",

    /* 10: writes to keys and models counted, so that the store thread reloads them
     * when they moved, not whenever another connection commits (the DynamoDB sync
     * records every usage push round) */
    "CREATE TABLE changes (name TEXT PRIMARY KEY, n INTEGER NOT NULL);"
    "INSERT INTO changes VALUES ('keys', 0), ('models', 0);"
    BD_STORE_COUNT_WRITES("keys") BD_STORE_COUNT_WRITES("models"),
};

static_assert(sizeof(bd_store_migrations) / sizeof(bd_store_migrations[0]) ==
                  BD_STORE_SCHEMA_VERSION,
              "one migration per schema version");

static int
bd_store_exec(sqlite3 *db, const char *sql, std::string *err)
{
    char *msg = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
        *err = msg ? msg : sqlite3_errmsg(db);
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

/* The integer in the first column of <sql>'s first row (a pragma or a query), or -1. */
static int64_t
bd_store_query_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = nullptr;
    int64_t v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
        v = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return v;
}

int
bd_store_schema_version(sqlite3 *db)
{
    return (int)bd_store_query_int(db, "PRAGMA user_version");
}

int64_t
bd_store_data_version(sqlite3 *db)
{
    return bd_store_query_int(db, "PRAGMA data_version");
}

int64_t
bd_store_keys_models_writes(sqlite3 *db)
{
    return bd_store_query_int(db, "SELECT sum(n) FROM changes WHERE name IN ('keys', 'models')");
}

int
bd_store_migrate(sqlite3 *db, int target, std::string *err)
{
    if (bd_store_exec(db, "BEGIN IMMEDIATE", err) != 0) {
        return -1;
    }
    int version = bd_store_schema_version(db);
    if (version < 0 || version > BD_STORE_SCHEMA_VERSION) {
        *err = "schema version " + std::to_string(version) + " is newer than this program's (" +
               std::to_string(BD_STORE_SCHEMA_VERSION) + ")";
        bd_store_exec(db, "ROLLBACK", err);
        return -1;
    }
    for (int v = version + 1; v <= target; v++) {
        if (bd_store_exec(db, bd_store_migrations[v - 1], err) != 0) {
            *err = "migration to version " + std::to_string(v) + " failed: " + *err;
            std::string ignored;
            bd_store_exec(db, "ROLLBACK", &ignored);
            return -1;
        }
    }
    if (target > version) {
        std::string sql = "PRAGMA user_version = " + std::to_string(target);
        if (bd_store_exec(db, sql.c_str(), err) != 0) {
            std::string ignored;
            bd_store_exec(db, "ROLLBACK", &ignored);
            return -1;
        }
    }
    return bd_store_exec(db, "COMMIT", err);
}

/* SQLite says only "unable to open database file" for a missing directory. */
static int
bd_store_check_dir(const char *path, std::string *err)
{
    std::string dir(path);
    size_t slash = dir.rfind('/');
    if (slash == std::string::npos) {
        return 0;
    }
    dir.resize(slash == 0 ? 1 : slash);
    struct stat sb;
    if (stat(dir.c_str(), &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        *err = "directory \"" + dir + "\" does not exist";
        return -1;
    }
    return 0;
}

sqlite3 *
bd_store_open(const char *path, int busy_ms, std::string *err)
{
    if (bd_store_check_dir(path, err) != 0) {
        return nullptr;
    }
    sqlite3 *db = nullptr;
    /* Each connection belongs to one thread (the store's, the sync's, the admin's,
     * bedrockctl), so SQLite's own per-call mutex is pure cost. */
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             nullptr);
    if (rc != SQLITE_OK) {
        *err = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
        sqlite3_close(db);
        return nullptr;
    }
    sqlite3_busy_timeout(db, busy_ms);
    /* WAL lets bedrockctl read and write while the daemon runs; NORMAL syncs at
     * checkpoints, which survives a crash of the process (not of the machine). */
    if (bd_store_exec(db, "PRAGMA journal_mode=WAL", err) != 0 ||
        bd_store_exec(db, "PRAGMA synchronous=NORMAL", err) != 0 ||
        bd_store_migrate(db, BD_STORE_SCHEMA_VERSION, err) != 0) {
        sqlite3_close(db);
        return nullptr;
    }
    return db;
}

void
bd_store_close(sqlite3 *db)
{
    sqlite3_close(db);
}
