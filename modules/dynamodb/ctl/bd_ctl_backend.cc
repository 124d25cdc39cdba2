/*
 * bd_ctl_backend.cc: bedrockctl's keys, models and usage on the store file or on
 * the fleet's DynamoDB tables. DynamoDB writes are conditional (a new key never
 * replaces one; an update applies only to the version it read) and each change
 * bumps the table's version marker, which tells every task to read it again.
 */
#include <string.h>

#include <algorithm>
#include <map>

#include "modules/dynamodb/bd_ddb_item.h"
#include "modules/dynamodb/bd_ddb_pull.h"
#include "modules/dynamodb/bd_ddb_usage.h"
#include "modules/dynamodb/ctl/bd_ctl_ddb.h"
#include "modules/store/ctl/bd_ctl_remote.h"

bd_ctl_ddb_t *
bd_ctl_ddb_open(const bd_ddb_conf_t *conf, std::string *err)
{
    bd_ctl_ddb_t *d = new bd_ctl_ddb_t();
    d->conf = *conf;
    d->client = nullptr;
    d->creds = bd_ddb_credentials_create(conf->region.c_str(), 5000, err);
    if (d->creds != nullptr) {
        bd_ddb_client_options_t o;
        o.endpoint = conf->resolved;
        o.creds = d->creds;
        o.connect_timeout_ms = conf->connect_timeout_ms;
        o.request_timeout_ms = conf->request_timeout_ms;
        d->client = bd_ddb_client_create(&o, err);
    }
    if (d->client == nullptr) {
        *err = "dynamodb: " + *err;
        bd_ctl_ddb_close(d);
        return nullptr;
    }
    return d;
}

void
bd_ctl_ddb_close(bd_ctl_ddb_t *d)
{
    if (d != nullptr) {
        bd_ddb_client_destroy(d->client);
        if (d->creds != nullptr) {
            bd_credentials_destroy(d->creds);
        }
        delete d;
    }
}

static int
bd_ctl_ddb_fail(const bd_ddb_op_t *op, const char *what, std::string *err)
{
    *err = std::string(what) + ": " + bd_ddb_describe(op);
    return -1;
}

int
bd_ctl_keys_load(const bd_ctl_backend_t *b, std::vector<bd_key_t> *out, std::string *err)
{
    if (b->remote != nullptr) {
        return bd_ctl_remote_keys_load(b->remote, out, err);
    }
    if (b->ddb == nullptr) {
        return bd_store_keys_load(b->db, out, err);
    }
    std::vector<std::string> skipped;
    if (bd_ddb_pull_keys(b->ddb->client, &b->ddb->conf, out, &skipped, err) != 0) {
        return -1;
    }
    for (const std::string &s : skipped) {
        bd_ctl_fail(0, "%s", s.c_str());
    }
    return 0;
}

/* The item of key <id> with its version. Returns 1, 0 (absent) or -1. */
static int
bd_ctl_ddb_key_read(bd_ctl_ddb_t *d, const std::string &id, bd_key_t *out, int64_t *version,
                    std::string *err)
{
    bd_ddb_op_t op;
    json_t *body = json_pack("{s:s, s:{s:o}, s:b}", "TableName", d->conf.api_keys_table.c_str(),
                             "Key", "key_id", bd_ddb_s(id), "ConsistentRead", 1);
    if (bd_ddb_call(d->client, "GetItem", body, &op) != BD_DDB_OK) {
        return bd_ctl_ddb_fail(&op, "GetItem", err);
    }
    json_t *item = json_object_get(op.reply, "Item");
    if (item == nullptr || id == BD_DDB_VERSION_ID) {
        return 0;
    }
    std::string why;
    if (bd_ddb_key_from_item(item, out, &why) != 0) {
        *err = "key " + id + " in " + d->conf.api_keys_table + " is malformed: " + why;
        return -1;
    }
    *version = 0;
    bd_ddb_get_n(item, "version", version);
    return 1;
}

int
bd_ctl_key_get(const bd_ctl_backend_t *b, const std::string &id, bd_key_t *out, std::string *err)
{
    if (b->remote != nullptr) {
        return bd_ctl_remote_key_get(b->remote, id, out, err);
    }
    if (b->ddb == nullptr) {
        return bd_store_key_get(b->db, id, out, err);
    }
    int64_t version = 0;
    return bd_ctl_ddb_key_read(b->ddb, id, out, &version, err);
}

/* PutItem of <k> under <condition> (with :v when <expected> >= 0), then the marker. */
static int
bd_ctl_ddb_key_put(bd_ctl_ddb_t *d, const bd_key_t *k, int64_t version, const char *condition,
                   int64_t expected, std::string *err)
{
    json_t *body = json_pack("{s:s, s:o, s:s}", "TableName", d->conf.api_keys_table.c_str(), "Item",
                             bd_ddb_key_item(k, bd_ddb_now_ms(), version), "ConditionExpression",
                             condition);
    if (expected >= 0) {
        json_object_set_new(body, "ExpressionAttributeValues",
                            json_pack("{s:o}", ":v", bd_ddb_n(expected)));
    }
    bd_ddb_op_t op;
    if (bd_ddb_call(d->client, "PutItem", body, &op) != BD_DDB_OK) {
        if (op.error == "ConditionalCheckFailedException") {
            *err = expected >= 0 ? "key " + k->id + " changed meanwhile; try again"
                                 : "key " + k->id + " exists";
            return -1;
        }
        return bd_ctl_ddb_fail(&op, "PutItem", err);
    }
    return bd_ddb_marker_bump(d->client, d->conf.api_keys_table, "key_id", err);
}

int
bd_ctl_key_insert(const bd_ctl_backend_t *b, const bd_key_t *key, std::string *err)
{
    if (b->ddb == nullptr) {
        return bd_store_key_insert(b->db, key, err);
    }
    return bd_ctl_ddb_key_put(b->ddb, key, 1, "attribute_not_exists(key_id)", -1, err);
}

int
bd_ctl_key_update(const bd_ctl_backend_t *b, const bd_key_t *key, std::string *err)
{
    if (b->ddb == nullptr) {
        return bd_store_key_update(b->db, key, err);
    }
    bd_key_t old{};
    int64_t version = 0;
    int found = bd_ctl_ddb_key_read(b->ddb, key->id, &old, &version, err);
    if (found <= 0) {
        return found;
    }
    const char *cond = version > 0 ? "version = :v" : "attribute_not_exists(version)";
    return bd_ctl_ddb_key_put(b->ddb, key, version + 1, cond, version > 0 ? version : -1, err) == 0
               ? 1
               : -1;
}

int
bd_ctl_models_load(const bd_ctl_backend_t *b, std::vector<bd_store_model_t> *out, std::string *err)
{
    if (b->remote != nullptr) {
        return bd_ctl_remote_models_load(b->remote, out, err);
    }
    if (b->ddb == nullptr) {
        return bd_store_models_load(b->db, out, err);
    }
    std::vector<std::string> skipped;
    if (bd_ddb_pull_models(b->ddb->client, &b->ddb->conf, out, &skipped, err) != 0) {
        return -1;
    }
    for (const std::string &s : skipped) {
        bd_ctl_fail(0, "%s", s.c_str());
    }
    std::sort(out->begin(), out->end(),
              [](const bd_store_model_t &a, const bd_store_model_t &z) { return a.name < z.name; });
    return 0;
}

int
bd_ctl_model_set(const bd_ctl_backend_t *b, const bd_store_model_t *m, std::string *err)
{
    if (b->remote != nullptr) {
        return bd_ctl_remote_model_set(b->remote, m, err);
    }
    if (b->ddb == nullptr) {
        return bd_store_model_set(b->db, m, err);
    }
    bd_ctl_ddb_t *d = b->ddb;
    if (m->name == BD_DDB_VERSION_ID) {
        *err = "that name is reserved";
        return -1;
    }
    bd_ddb_op_t op;
    json_t *body = json_pack("{s:s, s:o}", "TableName", d->conf.model_map_table.c_str(), "Item",
                             bd_ddb_model_item(m));
    if (bd_ddb_call(d->client, "PutItem", body, &op) != BD_DDB_OK) {
        return bd_ctl_ddb_fail(&op, "PutItem", err);
    }
    return bd_ddb_marker_bump(d->client, d->conf.model_map_table, "model", err);
}

int
bd_ctl_model_unset(const bd_ctl_backend_t *b, const std::string &name, std::string *err)
{
    if (b->remote != nullptr) {
        return bd_ctl_remote_model_unset(b->remote, name, err);
    }
    if (b->ddb == nullptr) {
        return bd_store_model_unset(b->db, name, err);
    }
    bd_ctl_ddb_t *d = b->ddb;
    if (name == BD_DDB_VERSION_ID) {
        return 0;
    }
    bd_ddb_op_t op;
    json_t *body = json_pack("{s:s, s:{s:o}, s:s}", "TableName", d->conf.model_map_table.c_str(),
                             "Key", "model", bd_ddb_s(name), "ReturnValues", "ALL_OLD");
    if (bd_ddb_call(d->client, "DeleteItem", body, &op) != BD_DDB_OK) {
        return bd_ctl_ddb_fail(&op, "DeleteItem", err);
    }
    if (json_object_get(op.reply, "Attributes") == nullptr) {
        return 0;
    }
    return bd_ddb_marker_bump(d->client, d->conf.model_map_table, "model", err) == 0 ? 1 : -1;
}

/* Sums the daily aggregates whose partition starts with <prefix> over [since, until). */
int
bd_ctl_usage_report(const bd_ctl_backend_t *b, int by, int64_t since_ms, int64_t until_ms,
                    std::vector<bd_usage_row_t> *out, std::string *err)
{
    if (b->remote != nullptr) {
        return bd_ctl_remote_usage_report(b->remote, by, since_ms, until_ms, out, err);
    }
    if (b->ddb == nullptr) {
        return bd_store_usage_report(b->db, by, since_ms, until_ms, out, err);
    }
    bd_ctl_ddb_t *d = b->ddb;
    const char *prefix = by == BD_USAGE_BY_MODEL ? "agg#model#" : "agg#key#";
    std::string first = bd_ddb_day(since_ms);
    std::string last = until_ms == INT64_MAX ? "9999-12-31" : bd_ddb_day(until_ms - 1);
    json_t *filter = json_pack("{s:s, s:{s:o, s:o, s:o}}", "FilterExpression",
                               "begins_with(pk, :p) AND sk BETWEEN :a AND :z",
                               "ExpressionAttributeValues", ":p", bd_ddb_s(prefix), ":a",
                               bd_ddb_s(first), ":z", bd_ddb_s(last));
    std::map<std::string, bd_usage_row_t> groups;
    int rc = bd_ddb_scan(d->client, d->conf.usage_table, filter, [&](const json_t *item) {
        std::string pk, day;
        bd_ddb_get_s(item, "pk", &pk);
        bd_ddb_get_s(item, "sk", &day);
        std::string group = by == BD_USAGE_BY_DAY ? day : pk.substr(strlen(prefix));
        bd_usage_row_t &r = groups[group];
        r.group = group == "-" ? "" : group;
        int64_t v = 0;
        r.requests += bd_ddb_get_n(item, "requests", &v) == 1 ? v : 0;
        v = 0;
        r.errors += bd_ddb_get_n(item, "errors", &v) == 1 ? v : 0;
        v = 0;
        r.input_tokens += bd_ddb_get_n(item, "input_tokens", &v) == 1 ? v : 0;
        v = 0;
        r.output_tokens += bd_ddb_get_n(item, "output_tokens", &v) == 1 ? v : 0;
        v = 0;
        r.cache_read_tokens += bd_ddb_get_n(item, "cache_read_tokens", &v) == 1 ? v : 0;
        v = 0;
        r.cache_write_tokens += bd_ddb_get_n(item, "cache_write_tokens", &v) == 1 ? v : 0;
    }, err);
    json_decref(filter);
    if (rc != 0) {
        return -1;
    }
    out->clear();
    for (auto &g : groups) {
        out->push_back(g.second);
    }
    return 0;
}
