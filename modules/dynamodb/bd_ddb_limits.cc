/*
 * bd_ddb_limits.cc: a lease round: one UpdateItem per need, several at once. A
 * slice is asked with "ADD used :n" under "used <= limit - n", so the counter never
 * grants past the limit; a debt alone is added unconditionally (it was admitted).
 */
#include "modules/dynamodb/bd_ddb_limits.h"

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
