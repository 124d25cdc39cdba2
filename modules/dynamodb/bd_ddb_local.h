/*
 * bd_ddb_local.h: the sync's side of the SQLite store, on the sync thread's own
 * connection: mirroring the keys and model map read from DynamoDB into the store
 * (the store thread then publishes them to the workers, as after a bedrockctl
 * edit), and the usage outboxes: rounds of rows to push, recorded before the push
 * so that a crash repeats exactly the same round.
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

/* The usage table is two outboxes: the request items, pushed every
 * usage_push_interval, and the aggregates, added every usage_aggregate_interval.
 * Each has its own mark (rows up to it are done) and its own recorded round.
 * Aggregates run on a slower clock because they cost one UpdateItem per key,
 * model and period in a round, whatever the round's size: with many keys and
 * one-second rounds they were most of the push's calls. */
struct bd_ddb_outbox_t {
    const char *upto;          /* sync_state: rows up to this id are done */
    const char *lo, *hi, *seq; /* sync_state: the round in progress */
    bool sums_only; /* its rounds' rows carry only the time, the key, the model(s),
                     * the status and the token counts: what an aggregate adds up */
};
extern const bd_ddb_outbox_t bd_ddb_items_outbox;      /* pushed_upto, round_* */
extern const bd_ddb_outbox_t bd_ddb_aggregates_outbox; /* agg_upto, agg_* */

/* Starts the aggregates' outbox on a store the items' outbox alone has used
 * (a store from before the split): rows up to pushed_upto were aggregated with
 * their items, and a round in progress is taken over with its sequence, so that
 * the aggregates it applied before a crash are not applied twice. Does nothing
 * once the aggregates' mark exists. Returns 0 or -1 with <err>. */
int bd_ddb_local_outbox_init(sqlite3 *db, std::string *err);

/* The round of <box> to push: the one recorded and not finished (after a crash or
 * a failed push), else a new one of at most <max_rows> rows after <box>'s mark,
 * recorded before it is returned. Returns 1 with a round, 0 when nothing waits,
 * -1 on error. */
int bd_ddb_local_round(sqlite3 *db, const bd_ddb_outbox_t *box, int64_t max_rows,
                       bd_ddb_round_t *out, std::string *err);

/* Marks <r> done in <box> (rows up to r->hi). Returns 0 or -1. */
int bd_ddb_local_round_done(sqlite3 *db, const bd_ddb_outbox_t *box, const bd_ddb_round_t *r,
                            std::string *err);

/* Rows not done in <box> yet. */
int64_t bd_ddb_local_backlog(sqlite3 *db, const bd_ddb_outbox_t *box);

/* Deletes rows done in both outboxes and older than <before_ms>, always keeping
 * the newest row so that row ids are never reused. Returns the number deleted,
 * or -1. */
int64_t bd_ddb_local_prune(sqlite3 *db, int64_t before_ms, std::string *err);

#endif
