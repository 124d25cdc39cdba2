/*
 * bd_ddb_usage.h: pushing outbox rounds to the usage table: one item per
 * request (BatchWriteItem, UnprocessedItems resent with backoff), and, in rounds
 * of their own, the per-key and per-model aggregates (UpdateItem ADD). Both are
 * safe to repeat: a request item's key is its request id plus this task's id and
 * row id, so a repeat overwrites it with the same content; an aggregate update
 * carries its round's sequence and is applied only if this task's last applied
 * sequence on that item is lower. Sync thread (and the unit tests).
 */
#ifndef BD_DDB_USAGE_H
#define BD_DDB_USAGE_H

#include <stdint.h>

#include <string>

#include <jansson.h>

#include "modules/dynamodb/bd_ddb_client.h"
#include "modules/dynamodb/bd_ddb_conf.h"
#include "modules/dynamodb/bd_ddb_local.h"

struct bd_ddb_push_stats_t {
    uint64_t items;      /* request items written */
    uint64_t unprocessed; /* items DynamoDB handed back and that were resent */
    uint64_t aggregates; /* aggregate updates applied */
    uint64_t repeats;    /* aggregate updates found already applied */
};

/* Appends the request item of <row> (pk "req#<request id>", sk "<task>#<row id>")
 * to <out> as DynamoDB JSON. With <ttl_ms> > 0 it expires that long after the
 * request. */
void bd_ddb_usage_item_append(std::string *out, const bd_ddb_usage_row_t *row,
                              const std::string &task_id, int64_t ttl_ms);

/* One aggregate's sums over a round: requests, errors (status >= 400), tokens,
 * and cost in micro-USD at the conf's model_price. */
struct bd_ddb_agg_t {
    int64_t requests = 0, errors = 0, input = 0, output = 0, cache_read = 0, cache_write = 0;
    int64_t cost = 0;
};

/* Appends to <out> the UpdateItem body that adds <a> to the item (<pk>, <sk>) of
 * <table>, applied only if this task's last round there is lower than <seq>. */
void bd_ddb_usage_aggregate_append(std::string *out, const std::string &table,
                                   const std::string &pk, const std::string &sk,
                                   const bd_ddb_agg_t &a, const std::string &task_id,
                                   int64_t seq);

/* <ms> as strftime's <format> in UTC. */
std::string bd_ddb_utc(int64_t ms, const char *format);

/* "YYYY-MM-DD" (UTC) of <ms>. */
std::string bd_ddb_day(int64_t ms);

/* "YYYY-MM" (UTC) of <ms>. */
std::string bd_ddb_month(int64_t ms);

/* Writes the request items of <r>. Returns 0 when every one is in DynamoDB, or -1
 * with <err> (the round stays recorded and is pushed again later). */
int bd_ddb_push_items(bd_ddb_client_t *client, const bd_ddb_conf_t *conf,
                      const std::string &task_id, const bd_ddb_round_t *r,
                      bd_ddb_push_stats_t *stats, std::string *err);

/* Adds <r> to its aggregates (one conditional UpdateItem per key, model and
 * period). Returns 0 when each is applied or found applied before, or -1 with
 * <err> (the round stays recorded and is added again later). */
int bd_ddb_push_aggregates(bd_ddb_client_t *client, const bd_ddb_conf_t *conf,
                           const std::string &task_id, const bd_ddb_round_t *r,
                           bd_ddb_push_stats_t *stats, std::string *err);

#endif
