/*
 * bd_ddb_usage.cc: request items in BatchWriteItem calls of 25, several at once;
 * what comes back as UnprocessedItems goes out again after a growing, jittered
 * pause; then one conditional UpdateItem per (key, day) and (model, day).
 */
#include "modules/dynamodb/bd_ddb_usage.h"

#include <time.h>
#include <unistd.h>

#include <charconv>
#include <map>
#include <vector>

#include "core/bd_json.h"
#include "modules/dynamodb/bd_ddb_budget.h"
#include "modules/dynamodb/bd_ddb_item.h"

static const size_t BD_DDB_BATCH = 25;
static const int BD_DDB_UNPROCESSED_WAVES = 12;

std::string
bd_ddb_utc(int64_t ms, const char *format)
{
    time_t sec = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    char buf[32];
    strftime(buf, sizeof(buf), format, &tm);
    return buf;
}

std::string
bd_ddb_day(int64_t ms)
{
    /* Rows of a round are mostly of one day: format each day once. */
    static thread_local int64_t last = -1;
    static thread_local std::string text;
    int64_t day = ms >= 0 ? ms / 86400000 : -1;
    if (day < 0 || day != last) {
        text = bd_ddb_utc(ms, "%Y-%m-%d");
        last = day;
    }
    return text;
}

/* The usage item is written as text, not as a jansson tree: at thousands of rows
 * a second the tree's allocations and its dump were most of the push's cost. */

/* ,"<name>":{"S":<v>} ; empty strings carry nothing (and older emulators refuse them). */
static void
bd_ddb_text_s(std::string *out, const char *name, const std::string &v)
{
    if (v.empty()) {
        return;
    }
    out->append(",\"").append(name).append("\":{\"S\":");
    bd_json_append_string(out, v);
    out->push_back('}');
}

/* ,"<name>":{"N":"<v>"} */
static void
bd_ddb_text_n(std::string *out, const char *name, int64_t v)
{
    char buf[24];
    char *end = std::to_chars(buf, buf + sizeof(buf), v).ptr;
    out->append(",\"").append(name).append("\":{\"N\":\"").append(buf, (size_t)(end - buf));
    out->append("\"}");
}

/* ,"<name>":{"BOOL":<v>} */
static void
bd_ddb_text_bool(std::string *out, const char *name, bool v)
{
    out->append(",\"").append(name).append("\":{\"BOOL\":").append(v ? "true}" : "false}");
}

void
bd_ddb_usage_item_append(std::string *out, const bd_ddb_usage_row_t *row,
                         const std::string &task_id, int64_t ttl_ms)
{
    const bd_usage_record_t &u = row->rec;
    out->append("{\"pk\":{\"S\":");
    bd_json_append_string(out, "req#" + u.request_id);
    out->push_back('}');
    bd_ddb_text_s(out, "sk", task_id + "#" + std::to_string(row->id));
    bd_ddb_text_s(out, "request_id", u.request_id);
    bd_ddb_text_s(out, "task", task_id);
    bd_ddb_text_n(out, "time_ms", u.time_ms);
    bd_ddb_text_s(out, "day", bd_ddb_day(u.time_ms));
    bd_ddb_text_s(out, "key_id", u.key_id);
    bd_ddb_text_s(out, "model", u.model);
    bd_ddb_text_s(out, "model_resolved", u.model_resolved);
    bd_ddb_text_s(out, "api", u.api);
    bd_ddb_text_s(out, "route", u.route);
    bd_ddb_text_n(out, "status", u.status);
    bd_ddb_text_n(out, "input_tokens", u.input_tokens);
    bd_ddb_text_n(out, "output_tokens", u.output_tokens);
    bd_ddb_text_n(out, "cache_read_tokens", u.cache_read_tokens);
    bd_ddb_text_n(out, "cache_write_tokens", u.cache_write_tokens);
    bd_ddb_text_n(out, "latency_ms", u.latency_ms);
    bd_ddb_text_n(out, "ttft_ms", u.ttft_ms);
    bd_ddb_text_bool(out, "streamed", u.streamed);
    bd_ddb_text_bool(out, "client_gone", u.client_gone);
    bd_ddb_text_s(out, "user_id", u.user_id);
    bd_ddb_text_s(out, "session_id", u.session_id);
    bd_ddb_text_bool(out, "cached", u.cached);
    if (ttl_ms > 0) {
        bd_ddb_text_n(out, "expires_at", (u.time_ms + ttl_ms) / 1000);
    }
    out->push_back('}');
}

static std::string
bd_ddb_dump(json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT);
    std::string s = text ? text : "{}";
    free(text);
    json_decref(j);
    return s;
}

/* Runs <target> with each of <bodies>, <concurrency> at a time, handing every
 * finished op to <judge>, which returns 0 to go on or -1 to stop. */
template <typename F>
static int
bd_ddb_run_chunks(bd_ddb_client_t *client, const char *target, const std::vector<std::string> &bodies,
                  size_t concurrency, F judge)
{
    for (size_t off = 0; off < bodies.size(); off += concurrency) {
        size_t n = bodies.size() - off < concurrency ? bodies.size() - off : concurrency;
        std::vector<bd_ddb_op_t> ops(n);
        for (size_t i = 0; i < n; i++) {
            ops[i].target = target;
            ops[i].body = bodies[off + i];
        }
        bd_ddb_run(client, ops.data(), n);
        for (size_t i = 0; i < n; i++) {
            if (judge(&ops[i]) != 0) {
                return -1;
            }
        }
    }
    return 0;
}

/* One wave of BatchWriteItem calls; leftovers go into <again>. */
static int
bd_ddb_write_wave(bd_ddb_client_t *client, const std::vector<std::string> &bodies,
                  size_t concurrency, const std::string &table, std::vector<std::string> *again,
                  bd_ddb_push_stats_t *stats, std::string *err)
{
    return bd_ddb_run_chunks(client, "BatchWriteItem", bodies, concurrency, [&](bd_ddb_op_t *op) {
        if (op->status != BD_DDB_OK) {
            *err = "BatchWriteItem: " + bd_ddb_describe(op);
            return -1;
        }
        json_t *left = json_object_get(json_object_get(op->reply, "UnprocessedItems"), table.c_str());
        size_t nleft = json_array_size(left);
        if (nleft > 0) {
            stats->unprocessed += nleft;
            again->push_back(bd_ddb_dump(json_pack("{s:{s:O}}", "RequestItems", table.c_str(), left)));
        }
        return 0;
    });
}

static int
bd_ddb_push_items(bd_ddb_client_t *client, const bd_ddb_conf_t *conf, const std::string &task_id,
                  const bd_ddb_round_t *r, bd_ddb_push_stats_t *stats, std::string *err)
{
    const std::string &table = conf->usage_table;
    std::vector<std::string> bodies;
    for (size_t off = 0; off < r->rows.size(); off += BD_DDB_BATCH) {
        std::string body = "{\"RequestItems\":{";
        bd_json_append_string(&body, table);
        body.append(":[");
        for (size_t i = off; i < r->rows.size() && i < off + BD_DDB_BATCH; i++) {
            body.append(i > off ? ",{\"PutRequest\":{\"Item\":" : "{\"PutRequest\":{\"Item\":");
            bd_ddb_usage_item_append(&body, &r->rows[i], task_id, conf->usage_item_ttl_ms);
            body.append("}}");
        }
        body.append("]}}");
        bodies.push_back(std::move(body));
    }
    size_t concurrency = (size_t)conf->usage_push_concurrency;
    for (int wave = 0; !bodies.empty(); wave++) {
        if (wave >= BD_DDB_UNPROCESSED_WAVES) {
            *err = "DynamoDB kept handing back unprocessed items";
            return -1;
        }
        if (wave > 0) {
            /* full jitter on 50 ms doubling, capped at 2 s */
            int64_t cap = 50LL << (wave < 6 ? wave : 6);
            cap = cap > 2000 ? 2000 : cap;
            usleep((useconds_t)((rand() % (cap + 1)) * 1000));
        }
        std::vector<std::string> again;
        if (bd_ddb_write_wave(client, bodies, concurrency, table, &again, stats, err) != 0) {
            return -1;
        }
        bodies.swap(again);
    }
    stats->items += r->rows.size();
    return 0;
}

struct bd_ddb_agg_t {
    int64_t requests = 0, errors = 0, input = 0, output = 0, cache_read = 0, cache_write = 0;
    int64_t cost = 0; /* micro-USD at the conf's model_price */
};

static void
bd_ddb_agg_add(bd_ddb_agg_t *a, const bd_usage_record_t &u, int64_t cost)
{
    a->cost += cost;
    a->requests++;
    a->errors += u.status >= 400 ? 1 : 0;
    a->input += u.input_tokens;
    a->output += u.output_tokens;
    a->cache_read += u.cache_read_tokens;
    a->cache_write += u.cache_write_tokens;
}

static std::string
bd_ddb_agg_body(const bd_ddb_conf_t *conf, const std::string &pk, const std::string &day,
                const bd_ddb_agg_t &a, const std::string &task_id, int64_t seq)
{
    json_t *body = json_pack(
        "{s:s, s:{s:o, s:o}, s:s, s:s, s:{s:s}, s:{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}}",
        "TableName",
        conf->usage_table.c_str(), "Key", "pk", bd_ddb_s(pk), "sk", bd_ddb_s(day),
        "UpdateExpression",
        "ADD requests :r, errors :e, input_tokens :i, output_tokens :o, cache_read_tokens :cr, "
        "cache_write_tokens :cw, cost_micro_usd :c SET #seq = :seq",
        "ConditionExpression", "attribute_not_exists(#seq) OR #seq < :seq",
        "ExpressionAttributeNames", "#seq", ("seq_" + task_id).c_str(),
        "ExpressionAttributeValues", ":r", bd_ddb_n(a.requests), ":e", bd_ddb_n(a.errors), ":i",
        bd_ddb_n(a.input), ":o", bd_ddb_n(a.output), ":cr", bd_ddb_n(a.cache_read), ":cw",
        bd_ddb_n(a.cache_write), ":c", bd_ddb_n(a.cost), ":seq", bd_ddb_n(seq));
    return bd_ddb_dump(body);
}

static int
bd_ddb_push_aggregates(bd_ddb_client_t *client, const bd_ddb_conf_t *conf,
                       const std::string &task_id, const bd_ddb_round_t *r,
                       bd_ddb_push_stats_t *stats, std::string *err)
{
    std::map<std::pair<std::string, std::string>, bd_ddb_agg_t> groups;
    for (const bd_ddb_usage_row_t &row : r->rows) {
        std::string day = bd_ddb_day(row.rec.time_ms);
        const std::string &key = row.rec.key_id.empty() ? std::string("-") : row.rec.key_id;
        const std::string &model = row.rec.model.empty() ? std::string("-") : row.rec.model;
        const bd_usage_record_t &u = row.rec;
        int64_t cost = bd_ddb_cost_micros(conf, u.model, u.model_resolved, u.input_tokens,
                                          u.output_tokens, u.cache_read_tokens, u.cache_write_tokens);
        bd_ddb_agg_add(&groups[{"agg#key#" + key, day}], u, cost);
        bd_ddb_agg_add(&groups[{"agg#model#" + model, day}], u, cost);
        bd_ddb_agg_add(&groups[{"agg#keymonth#" + key, bd_ddb_month(u.time_ms)}], u, cost);
    }
    std::vector<std::string> bodies;
    for (const auto &g : groups) {
        bodies.push_back(bd_ddb_agg_body(conf, g.first.first, g.first.second, g.second, task_id, r->seq));
    }
    return bd_ddb_run_chunks(client, "UpdateItem", bodies, (size_t)conf->usage_push_concurrency,
                             [&](bd_ddb_op_t *op) {
                                 if (op->status == BD_DDB_OK) {
                                     stats->aggregates++;
                                 } else if (op->error == "ConditionalCheckFailedException") {
                                     stats->repeats++; /* this round reached the item before */
                                 } else {
                                     *err = "UpdateItem (aggregate): " + bd_ddb_describe(op);
                                     return -1;
                                 }
                                 return 0;
                             });
}

int
bd_ddb_push_round(bd_ddb_client_t *client, const bd_ddb_conf_t *conf, const std::string &task_id,
                  const bd_ddb_round_t *r, bd_ddb_push_stats_t *stats, std::string *err)
{
    if (bd_ddb_push_items(client, conf, task_id, r, stats, err) != 0) {
        return -1;
    }
    return bd_ddb_push_aggregates(client, conf, task_id, r, stats, err);
}
