/*
 * bd_ddb_usage.h: pushing one outbox round to the usage table: one item per
 * request (BatchWriteItem, UnprocessedItems resent with backoff), then the per-key
 * and per-model daily aggregates (UpdateItem ADD). Both are safe to repeat: a
 * request item's key is its request id plus this task's id and row id, so a
 * repeat overwrites it with the same content; an aggregate update carries the
 * round's sequence and is applied only if this task's last applied sequence on
 * that item is lower. Sync thread (and the unit tests).
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

/* <ms> as strftime's <format> in UTC. */
std::string bd_ddb_utc(int64_t ms, const char *format);

/* "YYYY-MM-DD" (UTC) of <ms>. */
std::string bd_ddb_day(int64_t ms);

/* "YYYY-MM" (UTC) of <ms>. */
std::string bd_ddb_month(int64_t ms);

/* Pushes <r>. Returns 0 when every item and aggregate is in DynamoDB, or -1 with
 * <err> (the round stays recorded and is pushed again later). */
int bd_ddb_push_round(bd_ddb_client_t *client, const bd_ddb_conf_t *conf,
                      const std::string &task_id, const bd_ddb_round_t *r,
                      bd_ddb_push_stats_t *stats, std::string *err);

#endif
