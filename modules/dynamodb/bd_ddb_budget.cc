/*
 * bd_ddb_budget.cc: reading the month's spend of the keys with a budget: the
 * local part first (rows not in the aggregates yet), then the aggregates, so that
 * an aggregation in between counts twice for a moment rather than not at all.
 */
#include "modules/dynamodb/bd_ddb_budget.h"

#include <math.h>
#include <time.h>

#include <map>
#include <vector>

#include "modules/dynamodb/bd_ddb_item.h"
#include "modules/dynamodb/bd_ddb_local.h"
#include "modules/dynamodb/bd_ddb_usage.h"

const bd_ddb_price_t *
bd_ddb_price_find(const bd_ddb_conf_t *conf, const std::string &model, const std::string &resolved)
{
    const bd_ddb_price_t *found = nullptr;
    for (const bd_ddb_price_t &p : conf->prices) {
        if (p.model == model) {
            return &p;
        }
        found = found == nullptr && p.model == resolved ? &p : found;
    }
    return found;
}

int64_t
bd_ddb_price_cost(const bd_ddb_price_t *p, int64_t input, int64_t output, int64_t cache_read,
                  int64_t cache_write)
{
    if (p == nullptr) {
        return 0;
    }
    /* USD per 1e6 tokens = micro-USD per token */
    return llround((double)input * p->input + (double)output * p->output +
                   (double)cache_read * p->cache_read + (double)cache_write * p->cache_write);
}

int64_t
bd_ddb_cost_micros(const bd_ddb_conf_t *conf, const std::string &model, const std::string &resolved,
                   int64_t input, int64_t output, int64_t cache_read, int64_t cache_write)
{
    return bd_ddb_price_cost(bd_ddb_price_find(conf, model, resolved), input, output, cache_read,
                             cache_write);
}

struct bd_ddb_spent_t {
    int64_t tokens = 0, usd_micros = 0;
};

/* Start of the UTC month of <wall_ms>, in ms. */
static int64_t
bd_ddb_month_start(int64_t wall_ms)
{
    time_t sec = (time_t)(wall_ms / 1000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    tm.tm_mday = 1;
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    return (int64_t)timegm(&tm) * 1000;
}

static int
bd_ddb_budget_keys(sqlite3 *db, std::map<std::string, bd_ddb_spent_t> *out, std::string *err)
{
    sqlite3_stmt *st = nullptr;
    if (sqlite3_prepare_v2(db,
                           "SELECT id FROM keys WHERE budget_tokens > 0 OR budget_usd_micros > 0",
                           -1, &st, nullptr) != SQLITE_OK) {
        *err = sqlite3_errmsg(db);
        return -1;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        (*out)[(const char *)sqlite3_column_text(st, 0)] = bd_ddb_spent_t();
    }
    sqlite3_finalize(st);
    return 0;
}

/* Adds this month's rows not pushed yet. */
static int
bd_ddb_budget_local(const bd_ddb_conf_t *conf, sqlite3 *db, int64_t since_ms,
                    std::map<std::string, bd_ddb_spent_t> *spent, std::string *err)
{
    sqlite3_stmt *st = nullptr;
    if (sqlite3_prepare_v2(db,
                           "SELECT key_id, model, model_resolved, sum(input_tokens), "
                           "sum(output_tokens), sum(cache_read_tokens), sum(cache_write_tokens) "
                           "FROM usage WHERE id > ?1 AND time_ms >= ?2 "
                           "GROUP BY key_id, model, model_resolved",
                           -1, &st, nullptr) != SQLITE_OK) {
        *err = sqlite3_errmsg(db);
        return -1;
    }
    sqlite3_bind_int64(st, 1, bd_ddb_local_state(db, bd_ddb_aggregates_outbox.upto, 0));
    sqlite3_bind_int64(st, 2, since_ms);
    while (sqlite3_step(st) == SQLITE_ROW) {
        auto it = spent->find((const char *)sqlite3_column_text(st, 0));
        if (it == spent->end()) {
            continue;
        }
        int64_t t[4];
        for (int i = 0; i < 4; i++) {
            t[i] = sqlite3_column_int64(st, 3 + i);
        }
        it->second.tokens += t[0] + t[1] + t[2] + t[3];
        it->second.usd_micros +=
            bd_ddb_cost_micros(conf, (const char *)sqlite3_column_text(st, 1),
                               (const char *)sqlite3_column_text(st, 2), t[0], t[1], t[2], t[3]);
    }
    sqlite3_finalize(st);
    return 0;
}

/* Adds the fleet's monthly aggregates. */
static int
bd_ddb_budget_remote(bd_ddb_client_t *client, const bd_ddb_conf_t *conf, const std::string &month,
                     std::map<std::string, bd_ddb_spent_t> *spent, std::string *err)
{
    std::vector<std::map<std::string, bd_ddb_spent_t>::iterator> keys;
    for (auto it = spent->begin(); it != spent->end(); ++it) {
        keys.push_back(it);
    }
    size_t step = (size_t)conf->usage_push_concurrency;
    for (size_t off = 0; off < keys.size(); off += step) {
        size_t n = keys.size() - off < step ? keys.size() - off : step;
        std::vector<bd_ddb_op_t> ops(n);
        for (size_t i = 0; i < n; i++) {
            json_t *body = json_pack("{s:s,s:{s:o,s:o},s:b}", "TableName", conf->usage_table.c_str(),
                                     "Key", "pk", bd_ddb_s("agg#keymonth#" + keys[off + i]->first),
                                     "sk", bd_ddb_s(month), "ConsistentRead", 1);
            char *text = json_dumps(body, JSON_COMPACT);
            ops[i].target = "GetItem";
            ops[i].body = text != nullptr ? text : "{}";
            free(text);
            json_decref(body);
        }
        bd_ddb_run(client, ops.data(), n);
        for (size_t i = 0; i < n; i++) {
            if (ops[i].status != BD_DDB_OK) {
                *err = "budget (GetItem " + conf->usage_table + "): " + bd_ddb_describe(&ops[i]);
                return -1;
            }
            const json_t *item = json_object_get(ops[i].reply, "Item");
            int64_t v = 0;
            bd_ddb_spent_t &s = keys[off + i]->second;
            for (const char *f : {"input_tokens", "output_tokens", "cache_read_tokens",
                                  "cache_write_tokens"}) {
                s.tokens += bd_ddb_get_n(item, f, &v) == 1 ? v : 0;
            }
            s.usd_micros += bd_ddb_get_n(item, "cost_micro_usd", &v) == 1 ? v : 0;
        }
    }
    return 0;
}

int
bd_ddb_budget_round(bd_ddb_client_t *client, const bd_ddb_conf_t *conf, sqlite3 *db,
                    int64_t wall_ms, std::string *err)
{
    std::map<std::string, bd_ddb_spent_t> spent;
    if (bd_ddb_budget_keys(db, &spent, err) != 0) {
        return -1;
    }
    if (spent.empty()) {
        return 0;
    }
    if (bd_ddb_budget_local(conf, db, bd_ddb_month_start(wall_ms), &spent, err) != 0 ||
        bd_ddb_budget_remote(client, conf, bd_ddb_month(wall_ms), &spent, err) != 0) {
        return -1;
    }
    sqlite3_stmt *st = nullptr;
    if (sqlite3_prepare_v2(db,
                           "UPDATE keys SET spent_tokens = ?2, spent_usd_micros = ?3 WHERE id = ?1 "
                           "AND (spent_tokens != ?2 OR spent_usd_micros != ?3)",
                           -1, &st, nullptr) != SQLITE_OK) {
        *err = sqlite3_errmsg(db);
        return -1;
    }
    int changed = 0;
    sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    for (const auto &s : spent) {
        sqlite3_bind_text(st, 1, s.first.c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 2, s.second.tokens);
        sqlite3_bind_int64(st, 3, s.second.usd_micros);
        if (sqlite3_step(st) == SQLITE_DONE) {
            changed += sqlite3_changes(db);
        }
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    if (sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
        *err = sqlite3_errmsg(db);
        sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
        return -1;
    }
    return changed;
}
