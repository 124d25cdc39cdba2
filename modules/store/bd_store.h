/*
 * bd_store.h: the SQLite store as a set of operations on one connection: open
 * (WAL, busy timeout, migrations), keys, usage records, and the model map. The
 * daemon's store thread and bedrockctl both use it, each on its own connection;
 * a connection is used by one thread at a time. Reactors never call any of it.
 */
#ifndef BD_STORE_H
#define BD_STORE_H

#include <stdint.h>

#include <string>
#include <vector>

#include "modules/store/bd_key.h"

struct sqlite3;

#define BD_STORE_DEFAULT_PATH "/var/lib/bedrockd/bedrockd.db"

/* The schema version the code writes (PRAGMA user_version). */
enum { BD_STORE_SCHEMA_VERSION = 10 };

/* Opens (creating the file, never its directory) <path>, sets WAL and a busy
 * timeout of <busy_ms>, and migrates the schema to the latest version. Returns the
 * connection, or null with <err> set. The caller closes it with bd_store_close. */
sqlite3 *bd_store_open(const char *path, int busy_ms, std::string *err);
void bd_store_close(sqlite3 *db);

/* Runs the migrations from the file's version up to <target> in one immediate
 * transaction. Returns 0, or -1 with <err> (a file newer than the code is refused). */
int bd_store_migrate(sqlite3 *db, int target, std::string *err);

/* The file's PRAGMA user_version, or -1. */
int bd_store_schema_version(sqlite3 *db);

/* PRAGMA data_version: changes when another connection commits. -1 on error. */
int64_t bd_store_data_version(sqlite3 *db);

/* How many rows of keys and models were ever inserted, updated or deleted (counted
 * by triggers). -1 on error. */
int64_t bd_store_keys_models_writes(sqlite3 *db);

/* --- keys --- */

/* Every key (revoked ones too), ordered by creation. Returns 0 or -1 with <err>. */
int bd_store_keys_load(sqlite3 *db, std::vector<bd_key_t> *out, std::string *err);

/* Finds one key by id. Returns 1 found, 0 not found, -1 error. */
int bd_store_key_get(sqlite3 *db, const std::string &id, bd_key_t *out, std::string *err);

/* Inserts <key> (all fields set by the caller). Returns 0 or -1. */
int bd_store_key_insert(sqlite3 *db, const bd_key_t *key, std::string *err);

/* Writes every field of <key> except id and created_ms. Returns 1 updated,
 * 0 no such key, -1 error. */
int bd_store_key_update(sqlite3 *db, const bd_key_t *key, std::string *err);

/* --- usage --- */

/* One request's usage, as the usage module builds it. */
struct bd_usage_record_t {
    int64_t time_ms = 0; /* epoch ms at the end of the request */
    std::string request_id;
    std::string key_id;
    std::string model;          /* as the client named it */
    std::string model_resolved; /* the Bedrock id */
    std::string api;            /* "anthropic" or "openai" */
    std::string route;          /* the request path */
    int status = 0;
    int64_t input_tokens = 0, output_tokens = 0, cache_read_tokens = 0, cache_write_tokens = 0;
    int64_t latency_ms = 0;
    int64_t ttft_ms = -1; /* -1 when nothing was sent */
    bool streamed = false;
    bool client_gone = false;
    std::string user_id;    /* metadata.user_id / user, if the request carried one */
    std::string session_id; /* x-session-id or x-claude-code-session-id */
    std::string served_by;  /* the failover target that answered; "" without a chain */
    bool cached = false;    /* answered from the response cache (no Bedrock call) */
};

/* Inserts <n> records in one transaction. Returns 0, or -1 (nothing written). */
int bd_store_usage_insert(sqlite3 *db, const bd_usage_record_t *recs, size_t n, std::string *err);

/* One row of a usage report. */
struct bd_usage_row_t {
    std::string group; /* the key id, model or day */
    int64_t requests;
    int64_t errors; /* status >= 400 */
    int64_t input_tokens, output_tokens, cache_read_tokens, cache_write_tokens;
};

enum bd_usage_by_e { BD_USAGE_BY_KEY, BD_USAGE_BY_MODEL, BD_USAGE_BY_DAY };

/* Sums usage in [since_ms, until_ms) grouped by <by>. Returns 0 or -1. */
int bd_store_usage_report(sqlite3 *db, int by, int64_t since_ms, int64_t until_ms,
                          std::vector<bd_usage_row_t> *out, std::string *err);

/* --- model map additions --- */

struct bd_store_model_t {
    std::string name;       /* the client model name */
    std::string bedrock_id; /* model id, inference profile or ARN */
    std::string route;      /* "converse", "invoke" or "" (the default for the id) */
    int64_t updated_ms;
};

int bd_store_models_load(sqlite3 *db, std::vector<bd_store_model_t> *out, std::string *err);
/* Inserts or replaces <m>. Returns 0 or -1. */
int bd_store_model_set(sqlite3 *db, const bd_store_model_t *m, std::string *err);
/* Returns 1 removed, 0 no such name, -1 error. */
int bd_store_model_unset(sqlite3 *db, const std::string &name, std::string *err);

/* --- audit trail of the admin API --- */

struct bd_audit_row_t {
    int64_t id; /* set by the store */
    int64_t time_ms;
    std::string token_id; /* the admin token's name */
    std::string action;   /* "key.create", "key.revoke", "model.set", "reload", ... */
    std::string target;   /* the key id or model name; "" when none */
    std::string before;   /* JSON of the object before, without secrets; "" = none */
    std::string after;    /* JSON after; "" = none */
    std::string request_id;
    std::string client; /* the peer address */
    int status;         /* the HTTP status answered */
    bool fleet_pending = false; /* not yet in the fleet's DynamoDB audit table */
};

/* Appends <row> and sets row->id. Returns 0 or -1. */
int bd_store_audit_insert(sqlite3 *db, bd_audit_row_t *row, std::string *err);

/* The oldest <limit> rows still pending for the fleet's table. Returns 0 or -1. */
int bd_store_audit_pending(sqlite3 *db, int64_t limit, std::vector<bd_audit_row_t> *out,
                           std::string *err);

/* Row <id> is in the fleet's table now. Returns 0 or -1. */
int bd_store_audit_pushed(sqlite3 *db, int64_t id, std::string *err);

/* Rows with time in [since_ms, until_ms), oldest first, at most <limit> (the
 * newest ones). Returns 0 or -1. */
int bd_store_audit_list(sqlite3 *db, int64_t since_ms, int64_t until_ms, int64_t limit,
                        std::vector<bd_audit_row_t> *out, std::string *err);

#endif
