/*
 * bd_ddb_usage.cc: request items in BatchWriteItem calls of 25, several at once;
 * what comes back as UnprocessedItems goes out again after a growing, jittered
 * pause; and, for an aggregates round, one conditional UpdateItem per (key, day),
 * (model, day) and (key, month).
 */
#include "modules/dynamodb/bd_ddb_usage.h"

#include <time.h>
#include <unistd.h>

#include <map>
#include <unordered_map>
#include <vector>

#include "core/bd_json.h"
#include "modules/dynamodb/bd_ddb_budget.h"
#include "modules/dynamodb/bd_ddb_item.h"
#include "modules/dynamodb/bd_ddb_text.h"

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

/* The day (or month) of <ms> as <format>, formatted again only when the day
 * changes: a round's rows are mostly of one day. <cache> is the caller's own. */
struct bd_ddb_utc_cache_t {
    int64_t day = -1;
    std::string text;
};

static const std::string &
bd_ddb_utc_by_day(bd_ddb_utc_cache_t *cache, int64_t ms, const char *format)
{
    int64_t day = ms >= 0 ? ms / 86400000 : -1;
    if (day < 0 || day != cache->day) {
        cache->text = bd_ddb_utc(ms, format);
        cache->day = day;
    }
    return cache->text;
}

/* The day of <ms>, from this thread's cache: a round's rows are mostly of one day. */
static const std::string &
bd_ddb_day_cached(int64_t ms)
{
    static thread_local bd_ddb_utc_cache_t cache;
    return bd_ddb_utc_by_day(&cache, ms, "%Y-%m-%d");
}

std::string
bd_ddb_day(int64_t ms)
{
    return bd_ddb_day_cached(ms);
}

std::string
bd_ddb_month(int64_t ms)
{
    static thread_local bd_ddb_utc_cache_t cache;
    return bd_ddb_utc_by_day(&cache, ms, "%Y-%m");
}

/* The usage item is written as text, not as a jansson tree, and through a cursor
 * (bd_ddb_text.h), not with string appends: at thousands of rows a second, the
 * tree and then the appends were most of the push's own cost per row. */

/* <lit> is ,"<name>":{"S":"  ; empty strings carry nothing (and older emulators refuse them). */
#define bd_ddb_item_s(t, lit, v)                                                                 \
    do {                                                                                         \
        if (!(v).empty()) {                                                                      \
            bd_ddb_text_lit((t), lit);                                                           \
            bd_ddb_text_escaped((t), (v).data(), (v).size());                                    \
            bd_ddb_text_lit((t), "\"}");                                                         \
        }                                                                                        \
    } while (0)

/* <lit> is ,"<name>":{"N":"  */
#define bd_ddb_item_n(t, lit, v)                                                                 \
    do {                                                                                         \
        bd_ddb_text_lit((t), lit);                                                               \
        bd_ddb_text_int((t), (v));                                                               \
        bd_ddb_text_lit((t), "\"}");                                                             \
    } while (0)

/* <lit> is ,"<name>":{"BOOL":  */
#define bd_ddb_item_bool(t, lit, v)                                                              \
    do {                                                                                         \
        bd_ddb_text_lit((t), lit);                                                               \
        if (v) {                                                                                 \
            bd_ddb_text_lit((t), "true}");                                                       \
        } else {                                                                                 \
            bd_ddb_text_lit((t), "false}");                                                      \
        }                                                                                        \
    } while (0)

static void
bd_ddb_usage_item_write(bd_ddb_text_t *t, const bd_ddb_usage_row_t *row,
                        const std::string &task_id, int64_t ttl_ms)
{
    const bd_usage_record_t &u = row->rec;
    /* pk "req#<request id>", sk "<task>#<row id>" */
    bd_ddb_text_lit(t, "{\"pk\":{\"S\":\"req#");
    bd_ddb_text_escaped(t, u.request_id.data(), u.request_id.size());
    bd_ddb_text_lit(t, "\"},\"sk\":{\"S\":\"");
    bd_ddb_text_escaped(t, task_id.data(), task_id.size());
    bd_ddb_text_lit(t, "#");
    bd_ddb_text_int(t, row->id);
    bd_ddb_text_lit(t, "\"}");
    bd_ddb_item_s(t, ",\"request_id\":{\"S\":\"", u.request_id);
    bd_ddb_item_s(t, ",\"task\":{\"S\":\"", task_id);
    bd_ddb_item_n(t, ",\"time_ms\":{\"N\":\"", u.time_ms);
    bd_ddb_item_s(t, ",\"day\":{\"S\":\"", bd_ddb_day_cached(u.time_ms));
    bd_ddb_item_s(t, ",\"key_id\":{\"S\":\"", u.key_id);
    bd_ddb_item_s(t, ",\"model\":{\"S\":\"", u.model);
    bd_ddb_item_s(t, ",\"model_resolved\":{\"S\":\"", u.model_resolved);
    bd_ddb_item_s(t, ",\"api\":{\"S\":\"", u.api);
    bd_ddb_item_s(t, ",\"route\":{\"S\":\"", u.route);
    bd_ddb_item_n(t, ",\"status\":{\"N\":\"", u.status);
    bd_ddb_item_n(t, ",\"input_tokens\":{\"N\":\"", u.input_tokens);
    bd_ddb_item_n(t, ",\"output_tokens\":{\"N\":\"", u.output_tokens);
    bd_ddb_item_n(t, ",\"cache_read_tokens\":{\"N\":\"", u.cache_read_tokens);
    bd_ddb_item_n(t, ",\"cache_write_tokens\":{\"N\":\"", u.cache_write_tokens);
    bd_ddb_item_n(t, ",\"latency_ms\":{\"N\":\"", u.latency_ms);
    bd_ddb_item_n(t, ",\"ttft_ms\":{\"N\":\"", u.ttft_ms);
    bd_ddb_item_bool(t, ",\"streamed\":{\"BOOL\":", u.streamed);
    bd_ddb_item_bool(t, ",\"client_gone\":{\"BOOL\":", u.client_gone);
    bd_ddb_item_s(t, ",\"user_id\":{\"S\":\"", u.user_id);
    bd_ddb_item_s(t, ",\"session_id\":{\"S\":\"", u.session_id);
    bd_ddb_item_bool(t, ",\"cached\":{\"BOOL\":", u.cached);
    if (ttl_ms > 0) {
        bd_ddb_item_n(t, ",\"expires_at\":{\"N\":\"", (u.time_ms + ttl_ms) / 1000);
    }
    bd_ddb_text_lit(t, "}");
}

void
bd_ddb_usage_item_append(std::string *out, const bd_ddb_usage_row_t *row,
                         const std::string &task_id, int64_t ttl_ms)
{
    bd_ddb_text_t t;
    bd_ddb_text_begin(&t, out);
    bd_ddb_usage_item_write(&t, row, task_id, ttl_ms);
    bd_ddb_text_end(&t);
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

/* Ops of <target>, one per body (the bodies are moved into them). */
static std::vector<bd_ddb_op_t>
bd_ddb_ops(const char *target, std::vector<std::string> *bodies)
{
    std::vector<bd_ddb_op_t> ops(bodies->size());
    for (size_t i = 0; i < ops.size(); i++) {
        ops[i].target = target;
        ops[i].body = std::move((*bodies)[i]);
    }
    bodies->clear();
    return ops;
}

/* The round's BatchWriteItem bodies, written as their calls start. */
struct bd_ddb_batches_t {
    const bd_ddb_round_t *r;
    const bd_ddb_conf_t *conf;
    const std::string *task_id;
};

static void
bd_ddb_batch_fill(void *arg, size_t batch, std::string *body)
{
    const bd_ddb_batches_t *b = (const bd_ddb_batches_t *)arg;
    const std::vector<bd_ddb_usage_row_t> &rows = b->r->rows;
    size_t off = batch * BD_DDB_BATCH;
    body->append("{\"RequestItems\":{");
    bd_json_append_string(body, b->conf->usage_table);
    body->append(":[");
    bd_ddb_text_t t;
    bd_ddb_text_begin(&t, body);
    for (size_t i = off; i < rows.size() && i < off + BD_DDB_BATCH; i++) {
        if (i > off) {
            bd_ddb_text_lit(&t, ",");
        }
        bd_ddb_text_lit(&t, "{\"PutRequest\":{\"Item\":");
        bd_ddb_usage_item_write(&t, &rows[i], *b->task_id, b->conf->usage_item_ttl_ms);
        bd_ddb_text_lit(&t, "}}");
    }
    bd_ddb_text_lit(&t, "]}}");
    bd_ddb_text_end(&t);
}

/* One wave of BatchWriteItem calls, <concurrency> in flight: <ops> with their
 * bodies, or written by <filler>. Unprocessed items go into <left_bodies> as the bodies
 * of the next wave. */
static int
bd_ddb_write_wave(bd_ddb_client_t *client, std::vector<bd_ddb_op_t> *ops,
                  const bd_ddb_filler_t *filler, size_t concurrency, const std::string &table,
                  std::vector<std::string> *left_bodies, bd_ddb_push_stats_t *stats,
                  std::string *err)
{
    bd_ddb_run_window(client, ops->data(), ops->size(), concurrency, true, filler);
    for (bd_ddb_op_t &op : *ops) {
        if (op.status != BD_DDB_OK) {
            /* the first failure in order is a real one: those after it were not sent */
            *err = "BatchWriteItem: " + bd_ddb_describe(&op);
            return -1;
        }
        json_t *left = json_object_get(json_object_get(op.reply, "UnprocessedItems"), table.c_str());
        size_t nleft = json_array_size(left);
        if (nleft > 0) {
            stats->unprocessed += nleft;
            left_bodies->push_back(bd_ddb_dump(json_pack("{s:{s:O}}", "RequestItems", table.c_str(), left)));
        }
    }
    return 0;
}

int
bd_ddb_push_items(bd_ddb_client_t *client, const bd_ddb_conf_t *conf, const std::string &task_id,
                  const bd_ddb_round_t *r, bd_ddb_push_stats_t *stats, std::string *err)
{
    const std::string &table = conf->usage_table;
    size_t concurrency = (size_t)conf->usage_push_concurrency;
    /* The first wave's bodies are written as their calls start, into the room of
     * bodies already sent: a round of 10,000 rows built up front was 8 MB of fresh
     * memory, touched page by page, every round. */
    bd_ddb_batches_t batches = {r, conf, &task_id};
    bd_ddb_filler_t filler = {bd_ddb_batch_fill, &batches};
    std::vector<bd_ddb_op_t> ops((r->rows.size() + BD_DDB_BATCH - 1) / BD_DDB_BATCH);
    for (bd_ddb_op_t &op : ops) {
        op.target = "BatchWriteItem";
    }
    std::vector<std::string> bodies;
    if (bd_ddb_write_wave(client, &ops, &filler, concurrency, table, &bodies, stats, err) != 0) {
        return -1;
    }
    for (int wave = 1; !bodies.empty(); wave++) {
        if (wave >= BD_DDB_UNPROCESSED_WAVES) {
            *err = "DynamoDB kept handing back unprocessed items";
            return -1;
        }
        /* full jitter on 50 ms doubling, capped at 2 s */
        int64_t cap = 50LL << (wave < 6 ? wave : 6);
        cap = cap > 2000 ? 2000 : cap;
        usleep((useconds_t)((rand() % (cap + 1)) * 1000));
        ops = bd_ddb_ops("BatchWriteItem", &bodies);
        if (bd_ddb_write_wave(client, &ops, nullptr, concurrency, table, &bodies, stats, err) != 0) {
            return -1;
        }
    }
    stats->items += r->rows.size();
    return 0;
}

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

void
bd_ddb_usage_aggregate_append(std::string *out, const std::string &table, const std::string &pk,
                              const std::string &sk, const bd_ddb_agg_t &a,
                              const std::string &task_id, int64_t seq)
{
    bd_ddb_text_t t;
    bd_ddb_text_begin(&t, out);
    bd_ddb_text_lit(&t, "{\"TableName\":\"");
    bd_ddb_text_escaped(&t, table.data(), table.size());
    bd_ddb_text_lit(&t, "\",\"Key\":{\"pk\":{\"S\":\"");
    bd_ddb_text_escaped(&t, pk.data(), pk.size());
    bd_ddb_text_lit(&t, "\"},\"sk\":{\"S\":\"");
    bd_ddb_text_escaped(&t, sk.data(), sk.size());
    bd_ddb_text_lit(&t, "\"}},\"UpdateExpression\":\"ADD requests :r, errors :e, input_tokens :i, "
                        "output_tokens :o, cache_read_tokens :cr, cache_write_tokens :cw, "
                        "cost_micro_usd :c SET #seq = :seq\","
                        "\"ConditionExpression\":\"attribute_not_exists(#seq) OR #seq < :seq\","
                        "\"ExpressionAttributeNames\":{\"#seq\":\"seq_");
    bd_ddb_text_escaped(&t, task_id.data(), task_id.size());
    bd_ddb_text_lit(&t, "\"},\"ExpressionAttributeValues\":{");
    bd_ddb_item_n(&t, "\":r\":{\"N\":\"", a.requests);
    bd_ddb_item_n(&t, ",\":e\":{\"N\":\"", a.errors);
    bd_ddb_item_n(&t, ",\":i\":{\"N\":\"", a.input);
    bd_ddb_item_n(&t, ",\":o\":{\"N\":\"", a.output);
    bd_ddb_item_n(&t, ",\":cr\":{\"N\":\"", a.cache_read);
    bd_ddb_item_n(&t, ",\":cw\":{\"N\":\"", a.cache_write);
    bd_ddb_item_n(&t, ",\":c\":{\"N\":\"", a.cost);
    bd_ddb_item_n(&t, ",\":seq\":{\"N\":\"", seq);
    bd_ddb_text_lit(&t, "}}");
    bd_ddb_text_end(&t);
}

/* The groups a row adds to, and its price: found once per key, model (and what
 * it resolved to) and day of a round, since the rows of many keys interleave. */
struct bd_ddb_row_groups_t {
    int64_t day_no = -1;
    bd_ddb_agg_t *by_key = nullptr, *by_model = nullptr, *by_month = nullptr;
    const bd_ddb_price_t *price = nullptr;
};

int
bd_ddb_push_aggregates(bd_ddb_client_t *client, const bd_ddb_conf_t *conf,
                       const std::string &task_id, const bd_ddb_round_t *r,
                       bd_ddb_push_stats_t *stats, std::string *err)
{
    std::map<std::pair<std::string, std::string>, bd_ddb_agg_t> groups; /* entries do not move */
    std::unordered_map<std::string, bd_ddb_row_groups_t> found;
    std::string id;
    for (const bd_ddb_usage_row_t &row : r->rows) {
        const bd_usage_record_t &u = row.rec;
        int64_t day_no = u.time_ms >= 0 ? u.time_ms / 86400000 : -1;
        id.assign(u.key_id);
        id.push_back('\0');
        id.append(u.model);
        id.push_back('\0');
        id.append(u.model_resolved);
        bd_ddb_row_groups_t &g = found[id];
        if (g.by_key == nullptr || day_no < 0 || day_no != g.day_no) {
            std::string day = bd_ddb_day(u.time_ms);
            const std::string &key = u.key_id.empty() ? std::string("-") : u.key_id;
            const std::string &model = u.model.empty() ? std::string("-") : u.model;
            g.by_key = &groups[{"agg#key#" + key, day}];
            g.by_model = &groups[{"agg#model#" + model, day}];
            g.by_month = &groups[{"agg#keymonth#" + key, bd_ddb_month(u.time_ms)}];
            g.price = bd_ddb_price_find(conf, u.model, u.model_resolved);
            g.day_no = day_no;
        }
        int64_t cost = bd_ddb_price_cost(g.price, u.input_tokens, u.output_tokens,
                                         u.cache_read_tokens, u.cache_write_tokens);
        bd_ddb_agg_add(g.by_key, u, cost);
        bd_ddb_agg_add(g.by_model, u, cost);
        bd_ddb_agg_add(g.by_month, u, cost);
    }
    std::vector<std::string> bodies(groups.size());
    size_t i = 0;
    for (const auto &g : groups) {
        bd_ddb_usage_aggregate_append(&bodies[i++], conf->usage_table, g.first.first, g.first.second,
                                      g.second, task_id, r->seq);
    }
    std::vector<bd_ddb_op_t> ops = bd_ddb_ops("UpdateItem", &bodies);
    /* every group is sent: a condition failing on one is a repeat, not a failure */
    bd_ddb_run_window(client, ops.data(), ops.size(), (size_t)conf->usage_push_concurrency, false);
    for (const bd_ddb_op_t &op : ops) {
        if (op.status == BD_DDB_OK) {
            stats->aggregates++;
        } else if (op.error == "ConditionalCheckFailedException") {
            stats->repeats++; /* this round reached the item before */
        } else {
            *err = "UpdateItem (aggregate): " + bd_ddb_describe(&op);
            return -1;
        }
    }
    return 0;
}
