/*
 * bd_ddb_local.h: the sync's side of the SQLite store, on the sync thread's own
 * connection: mirroring the keys and model map read from DynamoDB into the store
 * (the store thread then publishes them to the workers, as after a bedrockctl
 * edit), and the usage outbox: rounds of rows to push, recorded before the push so
 * that a crash repeats exactly the same round.
 */
#ifndef BD_DDB_LOCAL_H
#define BD_DDB_LOCAL_H

#include <stdint.h>

#include <string>
#include <vector>

#include "modules/store/bd_store.h"

struct sqlite3;

/* The source mark of rows pulled from DynamoDB. */
#define BD_DDB_SOURCE "dynamodb"

/* Makes the store's rows with source "dynamodb" equal <keys>: inserts, replaces
 * changed ones, deletes the ones gone. One transaction, committed only when
 * something changed. Returns the number of rows changed, or -1 with <err>. */
int bd_ddb_local_mirror_keys(sqlite3 *db, const std::vector<bd_key_t> &keys, std::string *err);

/* The same for model map additions. */
int bd_ddb_local_mirror_models(sqlite3 *db, const std::vector<bd_store_model_t> &models,
                               std::string *err);

/* An integer in sync_state, or <dflt> when absent; and setting one. */
int64_t bd_ddb_local_state(sqlite3 *db, const char *name, int64_t dflt);
int bd_ddb_local_set_state(sqlite3 *db, const char *name, int64_t value, std::string *err);

/* This store's task id (made once, random, kept in sync_state): part of every
 * usage item key and of the aggregate sequence attribute. 16 hex digits. */
std::string bd_ddb_local_task_id(sqlite3 *db, std::string *err);

/* One usage row with its local id. */
struct bd_ddb_usage_row_t {
    int64_t id;
    bd_usage_record_t rec;
};

/* A round of the outbox: rows (lo, hi] with sequence <seq>. */
struct bd_ddb_round_t {
    int64_t seq;
    int64_t lo, hi;
    std::vector<bd_ddb_usage_row_t> rows;
};

/* The round to push: the one recorded and not finished (after a crash or a failed
 * push), else a new one of at most <max_rows> rows after the last pushed, recorded
 * before it is returned. Returns 1 with a round, 0 when nothing waits, -1 on error. */
int bd_ddb_local_round(sqlite3 *db, int64_t max_rows, bd_ddb_round_t *out, std::string *err);

/* Marks <r> pushed (rows up to r->hi). Returns 0 or -1. */
int bd_ddb_local_round_done(sqlite3 *db, const bd_ddb_round_t *r, std::string *err);

/* Rows not pushed yet. */
int64_t bd_ddb_local_backlog(sqlite3 *db);

/* Deletes pushed rows older than <before_ms>, always keeping the newest row so
 * that row ids are never reused. Returns the number deleted, or -1. */
int64_t bd_ddb_local_prune(sqlite3 *db, int64_t before_ms, std::string *err);

#endif
