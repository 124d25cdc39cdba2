/*
 * bd_ddb_pull.cc: markers, scans and the decoding of whole tables.
 */
#include "modules/dynamodb/bd_ddb_pull.h"

#include "modules/dynamodb/bd_ddb_item.h"

int
bd_ddb_marker_get(bd_ddb_client_t *client, const std::string &table, const char *key_attr,
                  int64_t *version, std::string *err)
{
    bd_ddb_op_t op;
    json_t *body = json_pack("{s:s, s:{s:o}, s:b}", "TableName", table.c_str(), "Key", key_attr,
                             bd_ddb_s(BD_DDB_VERSION_ID), "ConsistentRead", 1);
    if (bd_ddb_call(client, "GetItem", body, &op) != BD_DDB_OK) {
        *err = table + ": GetItem: " + bd_ddb_describe(&op);
        return -1;
    }
    *version = 0;
    json_t *item = json_object_get(op.reply, "Item");
    if (item != nullptr && bd_ddb_get_n(item, "version", version) < 0) {
        *version = -1; /* a damaged marker: full reads until it is fixed */
    }
    return 0;
}

int
bd_ddb_marker_bump(bd_ddb_client_t *client, const std::string &table, const char *key_attr,
                   std::string *err)
{
    bd_ddb_op_t op;
    json_t *body = json_pack("{s:s, s:{s:o}, s:s, s:{s:o}}", "TableName", table.c_str(), "Key",
                             key_attr, bd_ddb_s(BD_DDB_VERSION_ID), "UpdateExpression",
                             "ADD version :one", "ExpressionAttributeValues", ":one", bd_ddb_n(1));
    if (bd_ddb_call(client, "UpdateItem", body, &op) != BD_DDB_OK) {
        *err = table + ": UpdateItem (version marker): " + bd_ddb_describe(&op);
        return -1;
    }
    return 0;
}

int
bd_ddb_scan(bd_ddb_client_t *client, const std::string &table, const json_t *filter,
            const std::function<void(const json_t *)> &fn, std::string *err)
{
    json_t *start = nullptr;
    for (;;) {
        json_t *body = json_pack("{s:s, s:b}", "TableName", table.c_str(), "ConsistentRead", 1);
        if (filter != nullptr) {
            json_object_update(body, (json_t *)filter);
        }
        if (start != nullptr) {
            json_object_set_new(body, "ExclusiveStartKey", start);
            start = nullptr;
        }
        bd_ddb_op_t op;
        if (bd_ddb_call(client, "Scan", body, &op) != BD_DDB_OK) {
            *err = table + ": Scan: " + bd_ddb_describe(&op);
            return -1;
        }
        size_t i;
        const json_t *item;
        json_array_foreach(json_object_get(op.reply, "Items"), i, item) {
            fn(item);
        }
        json_t *last = json_object_get(op.reply, "LastEvaluatedKey");
        if (last == nullptr || json_object_size(last) == 0) {
            return 0;
        }
        start = json_incref(last);
    }
}

int
bd_ddb_pull_keys(bd_ddb_client_t *client, const bd_ddb_conf_t *conf, std::vector<bd_key_t> *out,
                 std::vector<std::string> *skipped, std::string *err)
{
    const std::string &table = conf->api_keys_table;
    out->clear();
    return bd_ddb_scan(client, table, nullptr, [&](const json_t *item) {
        std::string id = bd_ddb_item_name(item, "key_id"), why;
        if (id == BD_DDB_VERSION_ID) {
            return;
        }
        bd_key_t k{};
        if (bd_ddb_key_from_item(item, &k, &why) != 0) {
            skipped->push_back("api_keys table \"" + table + "\": item key_id=\"" + id +
                               "\" skipped: " + why);
            return;
        }
        out->push_back(std::move(k));
    }, err);
}

int
bd_ddb_pull_models(bd_ddb_client_t *client, const bd_ddb_conf_t *conf,
                   std::vector<bd_store_model_t> *out, std::vector<std::string> *skipped,
                   std::string *err)
{
    const std::string &table = conf->model_map_table;
    out->clear();
    return bd_ddb_scan(client, table, nullptr, [&](const json_t *item) {
        std::string name = bd_ddb_item_name(item, "model"), why;
        if (name == BD_DDB_VERSION_ID) {
            return;
        }
        bd_store_model_t m;
        if (bd_ddb_model_from_item(item, &m, &why) != 0) {
            skipped->push_back("model_map table \"" + table + "\": item model=\"" + name +
                               "\" skipped: " + why);
            return;
        }
        out->push_back(std::move(m));
    }, err);
}
