/*
 * bd_ddb_limits.cc: a lease round: one UpdateItem per need, several at once. A
 * slice is asked with "ADD used :n" under "used <= limit - n", so the counter never
 * grants past the limit; a debt alone is added unconditionally (it was admitted).
 * A concurrency round likewise moves this task's count in each key's "#conc"
 * item, and takes back the slots of tasks whose expiry passed.
 */
#include "modules/dynamodb/bd_ddb_limits.h"

#include <string.h>

#include <vector>

#include "modules/dynamodb/bd_ddb_item.h"

std::string
bd_ddb_lease_pk(const bd_ddb_lease_need_t *n)
{
    return n->key + (n->kind == BD_DDB_LEASE_RPM ? "#rpm#" : "#tpm#") + std::to_string(n->window);
}

static std::string
bd_ddb_lease_body(const bd_ddb_conf_t *conf, const bd_ddb_lease_need_t *n)
{
    int64_t add = n->debt + n->want;
    json_t *values = json_pack("{s:o,s:o}", ":n", bd_ddb_n(add), ":exp",
                               bd_ddb_n((n->window + 3) * 60)); /* two minutes after its end */
    json_t *body = json_pack("{s:s,s:{s:o},s:s,s:o}", "TableName", conf->limits_table.c_str(), "Key",
                             "pk", bd_ddb_s(bd_ddb_lease_pk(n)), "UpdateExpression",
                             "ADD used :n SET expires_at = :exp", "ExpressionAttributeValues",
                             values);
    if (n->want > 0) {
        json_object_set_new(values, ":max", bd_ddb_n(n->limit - add));
        json_object_set_new(body, "ConditionExpression",
                            json_string("attribute_not_exists(used) OR used <= :max"));
    }
    char *text = json_dumps(body, JSON_COMPACT);
    std::string s = text != nullptr ? text : "{}";
    free(text);
    json_decref(body);
    return s;
}

int
bd_ddb_lease_round(bd_ddb_client_t *client, const bd_ddb_conf_t *conf, bd_ddb_leases_t *l,
                   int64_t wall_ms, std::string *err)
{
    std::vector<bd_ddb_lease_need_t> needs;
    bd_ddb_leases_needs(l, wall_ms, &needs);
    size_t step = (size_t)conf->usage_push_concurrency;
    int rc = 0;
    for (size_t off = 0; off < needs.size(); off += step) {
        size_t n = needs.size() - off < step ? needs.size() - off : step;
        std::vector<bd_ddb_op_t> ops(n);
        for (size_t i = 0; i < n; i++) {
            ops[i].target = "UpdateItem";
            ops[i].body = bd_ddb_lease_body(conf, &needs[off + i]);
        }
        bd_ddb_run(client, ops.data(), n);
        for (size_t i = 0; i < n; i++) {
            if (ops[i].status == BD_DDB_OK) {
                bd_ddb_leases_settle(l, &needs[off + i], true);
            } else if (ops[i].error == "ConditionalCheckFailedException") {
                bd_ddb_leases_settle(l, &needs[off + i], false);
            } else if (rc == 0) {
                *err = "lease (UpdateItem " + conf->limits_table + "): " + bd_ddb_describe(&ops[i]);
                rc = -1;
            }
        }
        if (rc != 0) {
            break;
        }
    }
    return rc;
}

/* --- concurrency: the "<key>#conc" items --- */

static std::string
bd_ddb_conc_pk(const std::string &key)
{
    return key + "#conc";
}

static std::string
bd_ddb_conc_dump(json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);
    std::string s = text != nullptr ? text : "{}";
    free(text);
    json_decref(body);
    return s;
}

/* Moves this task's count from n->held to n->target: SET (or REMOVE, at zero) its
 * count and expiry and ADD the difference to `total`, provided the item still
 * holds n->held for the task and, for growth beyond the debt, `total` stays
 * within the limit. Returns the whole item. */
static std::string
bd_ddb_conc_update_body(const bd_ddb_conf_t *conf, const std::string &task,
                        const bd_ddb_conc_need_t *n, int64_t now_ms)
{
    int64_t delta = n->target - n->held;
    int64_t exp = (now_ms + conf->limits_concurrency_ttl_ms + 999) / 1000;
    json_t *values = json_pack("{s:o,s:o,s:o}", ":d", bd_ddb_n(delta), ":h", bd_ddb_n(n->held),
                               ":x", bd_ddb_n(exp));
    std::string update = "SET expires_at = :x";
    if (n->target > 0) {
        update += ", #t = :t, #x = :x";
        json_object_set_new(values, ":t", bd_ddb_n(n->target));
    }
    update += n->target > 0 ? " ADD #tot :d" : " REMOVE #t, #x ADD #tot :d";
    std::string cond = n->held == 0 ? "(attribute_not_exists(#t) OR #t = :h)" : "#t = :h";
    if (delta > n->debt) {
        cond += " AND (attribute_not_exists(#tot) OR #tot <= :max)";
        json_object_set_new(values, ":max", bd_ddb_n(n->limit - delta));
    }
    json_t *body = json_pack("{s:s,s:{s:o},s:s,s:s,s:{s:s,s:s,s:s},s:o,s:s}", "TableName",
                             conf->limits_table.c_str(), "Key", "pk", bd_ddb_s(bd_ddb_conc_pk(n->key)),
                             "UpdateExpression", update.c_str(), "ConditionExpression", cond.c_str(),
                             "ExpressionAttributeNames", "#t", ("t_" + task).c_str(), "#x",
                             ("x_" + task).c_str(), "#tot", "total", "ExpressionAttributeValues",
                             values, "ReturnValues", "ALL_NEW");
    return bd_ddb_conc_dump(body);
}

static std::string
bd_ddb_conc_read_body(const bd_ddb_conf_t *conf, const std::string &key)
{
    return bd_ddb_conc_dump(json_pack("{s:s,s:{s:o},s:b}", "TableName", conf->limits_table.c_str(),
                                      "Key", "pk", bd_ddb_s(bd_ddb_conc_pk(key)), "ConsistentRead",
                                      1));
}

/* A dead task's slots in a key's item, to take back. */
struct bd_ddb_conc_reclaim_t {
    std::string key, task;
    int64_t slots, exp;
};

/* The tasks of <item> other than <task> whose expiry has passed at <now_ms>. */
static void
bd_ddb_conc_expired(const json_t *item, const std::string &key, const std::string &task,
                    int64_t now_ms, std::vector<bd_ddb_conc_reclaim_t> *out)
{
    const char *name;
    const json_t *v;
    json_object_foreach((json_t *)item, name, v) {
        bd_ddb_conc_reclaim_t r;
        if (strncmp(name, "x_", 2) != 0 || (r.task = name + 2) == task ||
            bd_ddb_get_n(item, name, &r.exp) != 1 || r.exp * 1000 >= now_ms ||
            bd_ddb_get_n(item, ("t_" + r.task).c_str(), &r.slots) != 1) {
            continue;
        }
        r.key = key;
        out->push_back(r);
    }
}

static std::string
bd_ddb_conc_reclaim_body(const bd_ddb_conf_t *conf, const bd_ddb_conc_reclaim_t *r)
{
    return bd_ddb_conc_dump(json_pack(
        "{s:s,s:{s:o},s:s,s:s,s:{s:s,s:s,s:s},s:{s:o,s:o,s:o}}", "TableName",
        conf->limits_table.c_str(), "Key", "pk", bd_ddb_s(bd_ddb_conc_pk(r->key)),
        "UpdateExpression", "REMOVE #t, #x ADD #tot :d", "ConditionExpression",
        "#x = :x AND #t = :n", "ExpressionAttributeNames", "#t", ("t_" + r->task).c_str(), "#x",
        ("x_" + r->task).c_str(), "#tot", "total", "ExpressionAttributeValues", ":d",
        bd_ddb_n(-r->slots), ":x", bd_ddb_n(r->exp), ":n", bd_ddb_n(r->slots)));
}

/* Runs <ops> in steps of the push concurrency. */
static void
bd_ddb_run_steps(bd_ddb_client_t *client, const bd_ddb_conf_t *conf, std::vector<bd_ddb_op_t> *ops)
{
    size_t step = (size_t)conf->usage_push_concurrency;
    for (size_t off = 0; off < ops->size(); off += step) {
        bd_ddb_run(client, ops->data() + off, ops->size() - off < step ? ops->size() - off : step);
    }
}

int
bd_ddb_conc_round(bd_ddb_client_t *client, const bd_ddb_conf_t *conf, const std::string &task,
                  bd_ddb_conc_t *c, int64_t now_ms, bool release, std::string *err,
                  std::vector<std::string> *notes)
{
    std::vector<bd_ddb_conc_need_t> needs;
    bd_ddb_conc_needs(c, now_ms, release, &needs);
    if (needs.empty()) {
        return 0;
    }
    std::vector<bd_ddb_op_t> ops(needs.size());
    for (size_t i = 0; i < needs.size(); i++) {
        ops[i].target = needs[i].read ? "GetItem" : "UpdateItem";
        ops[i].body = needs[i].read ? bd_ddb_conc_read_body(conf, needs[i].key)
                                    : bd_ddb_conc_update_body(conf, task, &needs[i], now_ms);
    }
    bd_ddb_run_steps(client, conf, &ops);

    int rc = 0;
    std::vector<bd_ddb_conc_reclaim_t> expired;
    for (size_t i = 0; i < needs.size(); i++) {
        const bd_ddb_conc_need_t *n = &needs[i];
        if (ops[i].status == BD_DDB_OK) {
            const json_t *item = json_object_get(ops[i].reply, n->read ? "Item" : "Attributes");
            int64_t held = 0;
            if (n->read) {
                bd_ddb_get_n(item, ("t_" + task).c_str(), &held);
            }
            bd_ddb_conc_settle(c, n, n->read ? BD_DDB_CONC_READ : BD_DDB_CONC_WRITTEN, held, now_ms);
            bd_ddb_conc_expired(item, n->key, task, now_ms, &expired);
        } else if (ops[i].error == "ConditionalCheckFailedException") {
            /* full, or the item no longer holds what this task thought: read it */
            bd_ddb_conc_settle(c, n, BD_DDB_CONC_FULL, n->held, now_ms);
            bd_ddb_conc_unknown(c, n->key);
        } else if (rc == 0) {
            *err = "concurrency (" + ops[i].target + " " + conf->limits_table +
                   "): " + bd_ddb_describe(&ops[i]);
            rc = -1;
        }
    }
    if (expired.empty()) {
        return rc;
    }
    std::vector<bd_ddb_op_t> taken(expired.size());
    for (size_t i = 0; i < expired.size(); i++) {
        taken[i].target = "UpdateItem";
        taken[i].body = bd_ddb_conc_reclaim_body(conf, &expired[i]);
    }
    bd_ddb_run_steps(client, conf, &taken);
    for (size_t i = 0; i < expired.size(); i++) {
        if (taken[i].status == BD_DDB_OK) {
            bd_ddb_conc_reclaimed(c, expired[i].slots);
            notes->push_back("took back " + std::to_string(expired[i].slots) +
                             " concurrency slots of key " + expired[i].key + " from task " +
                             expired[i].task + " (its expiry passed)");
        }
    }
    return rc;
}
