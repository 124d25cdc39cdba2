/*
 * bd_ddb_budget.h: monthly budgets, fleet-wide. The usage push adds every request
 * to its key's monthly aggregate (pk "agg#keymonth#<key id>", sk "YYYY-MM", the
 * four token counts and cost_micro_usd at the conf's model_price); each sync
 * round reads the aggregates of the keys that have a budget, adds what this task
 * has not pushed yet, and writes the sums into the store's keys rows
 * (spent_tokens, spent_usd_micros), which reach the workers with the key table.
 * Sync thread (and the usage push).
 */
#ifndef BD_DDB_BUDGET_H
#define BD_DDB_BUDGET_H

#include <stdint.h>

#include <string>

#include <sqlite3.h>

#include "modules/dynamodb/bd_ddb_client.h"
#include "modules/dynamodb/bd_ddb_conf.h"
#include "modules/store/bd_store.h"

/* <model>'s price in the conf (then <resolved>'s), or null when it has neither. */
const bd_ddb_price_t *bd_ddb_price_find(const bd_ddb_conf_t *conf, const std::string &model,
                                       const std::string &resolved);

/* The cost of tokens at <p>, in micro-USD; 0 when <p> is null. */
int64_t bd_ddb_price_cost(const bd_ddb_price_t *p, int64_t input, int64_t output,
                          int64_t cache_read, int64_t cache_write);

/* The cost of tokens at <model>'s price (then <resolved>'s), in micro-USD; 0 when
 * the conf has no price for either. */
int64_t bd_ddb_cost_micros(const bd_ddb_conf_t *conf, const std::string &model,
                           const std::string &resolved, int64_t input, int64_t output,
                           int64_t cache_read, int64_t cache_write);

/* Refreshes the spent amounts of every key with a budget. Returns the number of
 * keys rows changed, or -1 with <err> (DynamoDB or the store). */
int bd_ddb_budget_round(bd_ddb_client_t *client, const bd_ddb_conf_t *conf, sqlite3 *db,
                        int64_t wall_ms, std::string *err);

#endif
