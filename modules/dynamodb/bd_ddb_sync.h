/*
 * bd_ddb_sync.h: the sync thread. It owns a DynamoDB client and its own
 * connection to the store file; it pulls the keys and model map into the store
 * when their version markers move (and every full_sync_interval), pushes the usage
 * outbox every usage_push_interval, adds it to the aggregates every
 * usage_aggregate_interval, prunes rows done in both after usage_retention, and
 * at stop pushes what is left within final_push_timeout. Workers never see it:
 * what it pulls reaches them through the store's published tables.
 */
#ifndef BD_DDB_SYNC_H
#define BD_DDB_SYNC_H

#include <stdint.h>

#include <string>

#include "core/aws/bd_credentials.h"
#include "modules/dynamodb/bd_ddb_conf.h"
#include "modules/dynamodb/bd_ddb_conc.h"
#include "modules/dynamodb/bd_ddb_lease.h"

struct bd_ddb_sync_t;

/* Checks the tables, makes the first pull (so that a new task starts with the
 * fleet's keys) and starts the thread. <conf> is copied; <creds> is borrowed and
 * must outlive the sync. Returns the sync, or null with <err> when a table is
 * wrong or forbidden. DynamoDB being unreachable is not an error: the thread keeps
 * trying and says so. Main thread. */
bd_ddb_sync_t *bd_ddb_sync_start(const bd_ddb_conf_t *conf, const char *store_path,
                                 bd_credentials_provider_t *creds, std::string *err);

/* Pushes what is left (bounded by final_push_timeout), stops the thread and frees
 * <s>. Main thread, after the store has written every queued record. */
void bd_ddb_sync_stop(bd_ddb_sync_t *s);

/* A copy of the sync's state, for /ready and /metrics. Any thread. */
struct bd_ddb_sync_info_t {
    bool reachable;          /* the last call to DynamoDB got an answer */
    std::string last_error;  /* of the last failure, "" while healthy */
    int64_t backlog;         /* usage rows not pushed yet (as of the last round) */
    int64_t aggregate_backlog; /* usage rows not in the aggregates yet (likewise) */
    uint64_t items_pushed;   /* request items written */
    uint64_t push_failures;  /* rounds that failed and wait for the next try */
    uint64_t pulls;          /* table reads that changed the store */
    uint64_t skipped_items;  /* malformed items seen in table reads */
    int64_t last_push_ms;    /* wall clock of the last successful round; 0 = none */
    int64_t last_pull_ms;    /* wall clock of the last successful marker check */
};
void bd_ddb_sync_info(bd_ddb_sync_t *s, bd_ddb_sync_info_t *out);

/* The lease table the sync fills and the workers admit from. Any thread. */
bd_ddb_leases_t *bd_ddb_sync_leases(bd_ddb_sync_t *s);
bd_ddb_conc_t *bd_ddb_sync_conc(bd_ddb_sync_t *s);

#endif
