/*
 * bd_ddb_tables.cc: table definitions, CreateTable + wait + UpdateTimeToLive, and
 * the DescribeTable check made at start.
 */
#include "modules/dynamodb/bd_ddb_tables.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

std::vector<bd_ddb_table_def_t>
bd_ddb_table_defs(const bd_ddb_conf_t *c)
{
    return {
        {"api_keys", c->api_keys_table, "key_id", nullptr, nullptr},
        {"usage", c->usage_table, "pk", "sk", "expires_at"},
        {"cache", c->cache_table, "cache_key", nullptr, "expires_at"},
        {"model_map", c->model_map_table, "model", nullptr, nullptr},
        {"limits", c->limits_table, "pk", nullptr, "expires_at"},
        {"audit", c->audit_table, "pk", "sk", nullptr},
    };
}

static json_t *
bd_ddb_create_body(const bd_ddb_table_def_t *t)
{
    json_t *attrs = json_array(), *keys = json_array();
    json_array_append_new(attrs, json_pack("{s:s,s:s}", "AttributeName", t->hash, "AttributeType", "S"));
    json_array_append_new(keys, json_pack("{s:s,s:s}", "AttributeName", t->hash, "KeyType", "HASH"));
    if (t->range != nullptr) {
        json_array_append_new(attrs,
                              json_pack("{s:s,s:s}", "AttributeName", t->range, "AttributeType", "S"));
        json_array_append_new(keys, json_pack("{s:s,s:s}", "AttributeName", t->range, "KeyType", "RANGE"));
    }
    return json_pack("{s:s,s:o,s:o,s:s}", "TableName", t->name.c_str(), "AttributeDefinitions", attrs,
                     "KeySchema", keys, "BillingMode", "PAY_PER_REQUEST");
}

/* Polls DescribeTable until ACTIVE (about a minute at most). */
static int
bd_ddb_wait_active(bd_ddb_client_t *client, const std::string &name, std::string *err)
{
    for (int i = 0; i < 120; i++) {
        bd_ddb_op_t op;
        bd_ddb_call(client, "DescribeTable", json_pack("{s:s}", "TableName", name.c_str()), &op);
        if (op.status == BD_DDB_OK) {
            const char *st = json_string_value(
                json_object_get(json_object_get(op.reply, "Table"), "TableStatus"));
            if (st != nullptr && strcmp(st, "ACTIVE") == 0) {
                return 0;
            }
        } else if (op.error != "ResourceNotFoundException") {
            *err = name + ": " + bd_ddb_describe(&op);
            return -1;
        }
        usleep(500000);
    }
    *err = name + ": not ACTIVE after a minute";
    return -1;
}

/* TTL on <t> unless it is on already. Endpoints without TTL support (local
 * emulators) get a note, not a failure. */
static int
bd_ddb_enable_ttl(bd_ddb_client_t *client, const bd_ddb_table_def_t *t,
                  std::vector<std::string> *out, std::string *err)
{
    bd_ddb_op_t d;
    bd_ddb_call(client, "DescribeTimeToLive", json_pack("{s:s}", "TableName", t->name.c_str()), &d);
    if (d.status == BD_DDB_OK) {
        json_t *desc = json_object_get(d.reply, "TimeToLiveDescription");
        const char *st = json_string_value(json_object_get(desc, "TimeToLiveStatus"));
        const char *attr = json_string_value(json_object_get(desc, "AttributeName"));
        if (st != nullptr && (strcmp(st, "ENABLED") == 0 || strcmp(st, "ENABLING") == 0) &&
            attr != nullptr && strcmp(attr, t->ttl) == 0) {
            out->push_back(t->name + ": TTL on \"" + t->ttl + "\" already");
            return 0;
        }
    }
    bd_ddb_op_t u;
    bd_ddb_call(client, "UpdateTimeToLive",
                json_pack("{s:s,s:{s:b,s:s}}", "TableName", t->name.c_str(),
                          "TimeToLiveSpecification", "Enabled", 1, "AttributeName", t->ttl),
                &u);
    if (u.status == BD_DDB_OK) {
        out->push_back(t->name + ": TTL on \"" + t->ttl + "\"");
        return 0;
    }
    if (u.error == "UnknownOperationException") {
        out->push_back(t->name + ": this endpoint does not support TTL; items with \"" + t->ttl +
                       "\" will not expire here");
        return 0;
    }
    *err = t->name + ": UpdateTimeToLive: " + bd_ddb_describe(&u);
    return -1;
}

int
bd_ddb_tables_create(bd_ddb_client_t *client, const bd_ddb_conf_t *c,
                     std::vector<std::string> *out, std::string *err)
{
    for (const bd_ddb_table_def_t &t : bd_ddb_table_defs(c)) {
        bd_ddb_op_t op;
        bd_ddb_call(client, "CreateTable", bd_ddb_create_body(&t), &op);
        if (op.status == BD_DDB_OK) {
            out->push_back(t.name + ": created");
        } else if (op.error == "ResourceInUseException") {
            out->push_back(t.name + ": exists");
        } else {
            *err = t.name + ": CreateTable: " + bd_ddb_describe(&op);
            return -1;
        }
        if (bd_ddb_wait_active(client, t.name, err) != 0) {
            return -1;
        }
        if (t.ttl != nullptr && bd_ddb_enable_ttl(client, &t, out, err) != 0) {
            return -1;
        }
    }
    return 0;
}

/* Whether the table's KeySchema is <t>'s. */
static bool
bd_ddb_schema_matches(const json_t *table, const bd_ddb_table_def_t *t, std::string *found)
{
    const char *hash = nullptr, *range = nullptr;
    size_t i;
    const json_t *k;
    json_array_foreach(json_object_get(table, "KeySchema"), i, k) {
        const char *name = json_string_value(json_object_get(k, "AttributeName"));
        const char *type = json_string_value(json_object_get(k, "KeyType"));
        if (name != nullptr && type != nullptr) {
            (strcmp(type, "HASH") == 0 ? hash : range) = name;
        }
    }
    *found = std::string(hash ? hash : "?") + (range ? std::string(", ") + range : "");
    return hash != nullptr && strcmp(hash, t->hash) == 0 &&
           ((range == nullptr && t->range == nullptr) ||
            (range != nullptr && t->range != nullptr && strcmp(range, t->range) == 0));
}

int
bd_ddb_tables_check(bd_ddb_client_t *client, const bd_ddb_conf_t *c, std::string *err)
{
    std::vector<bd_ddb_table_def_t> defs;
    for (const bd_ddb_table_def_t &t : bd_ddb_table_defs(c)) {
        /* the tables the daemon uses today */
        if (strcmp(t.role, "api_keys") == 0 || strcmp(t.role, "usage") == 0 ||
            strcmp(t.role, "model_map") == 0) {
            defs.push_back(t);
        }
    }
    std::vector<bd_ddb_op_t> ops(defs.size());
    for (size_t i = 0; i < defs.size(); i++) {
        ops[i].target = "DescribeTable";
        ops[i].body = "{\"TableName\":\"" + defs[i].name + "\"}";
    }
    bd_ddb_run(client, ops.data(), ops.size());
    for (size_t i = 0; i < defs.size(); i++) {
        const bd_ddb_op_t &op = ops[i];
        const bd_ddb_table_def_t &t = defs[i];
        std::string where = std::string(t.role) + " table \"" + t.name + "\": ";
        if (op.status == BD_DDB_OK) {
            std::string found;
            if (!bd_ddb_schema_matches(json_object_get(op.reply, "Table"), &t, &found)) {
                *err = where + "its key is (" + found + "), bedrockd needs (" + t.hash +
                       (t.range ? std::string(", ") + t.range : "") + ")";
                return BD_DDB_CHECK_WRONG;
            }
            continue;
        }
        if (op.status == BD_DDB_AWS_ERROR && !bd_ddb_retryable(op.http_status, op.error)) {
            *err = where + (op.error == "ResourceNotFoundException"
                                ? std::string("does not exist (check the table names and region)")
                                : bd_ddb_describe(&op));
            return BD_DDB_CHECK_WRONG;
        }
        *err = where + bd_ddb_describe(&op);
        return BD_DDB_CHECK_UNREACHABLE;
    }
    return BD_DDB_CHECK_OK;
}
