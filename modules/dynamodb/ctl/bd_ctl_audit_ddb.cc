/*
 * bd_ctl_audit_ddb.cc: the admin API's audit trail on the store file, the
 * fleet's DynamoDB audit table or (bedrockctl --url) a daemon's admin API.
 *
 * In DynamoDB every row is one item of the partition "audit", sorted by
 * "<time ms, 13 digits>#<request id>#<action>", so a time range is one Query
 * read newest first and cut at the limit. A fleet's tasks write the same
 * partition: an operator's trail is a handful of writes a minute, far below a
 * partition's 1,000 writes a second.
 */
#include <stdio.h>

#include <algorithm>

#include "modules/dynamodb/bd_ddb_item.h"
#include "modules/dynamodb/ctl/bd_ctl_ddb.h"
#include "modules/store/ctl/bd_ctl_remote.h"

#define BD_AUDIT_PK "audit"

static std::string
bd_audit_sk_time(int64_t ms)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%013lld", (long long)ms);
    return buf;
}

/* A row's number in DynamoDB: its time in ms and three digits of its request
 * id (FNV-1a), so ids are time-ordered and two rows of the same millisecond
 * differ all but always; the request id is the row's identity. */
static int64_t
bd_audit_ddb_id(const bd_audit_row_t *row)
{
    uint32_t h = 2166136261u;
    for (unsigned char ch : row->request_id) {
        h = (h ^ ch) * 16777619u;
    }
    return row->time_ms * 1000 + (int64_t)(h % 1000);
}

/* Text attributes are set only when non-empty: DynamoDB refuses empty key
 * values and older implementations refuse any empty string. */
static void
bd_audit_set_s(json_t *item, const char *name, const std::string &v)
{
    if (!v.empty()) {
        json_object_set_new(item, name, bd_ddb_s(v));
    }
}

static json_t *
bd_audit_item(const bd_audit_row_t *row)
{
    std::string sk = bd_audit_sk_time(row->time_ms) + "#" + row->request_id + "#" + row->action;
    json_t *item = json_pack("{s:o, s:o, s:o, s:o, s:o}", "pk", bd_ddb_s(BD_AUDIT_PK), "sk",
                             bd_ddb_s(sk), "id", bd_ddb_n(bd_audit_ddb_id(row)), "time_ms",
                             bd_ddb_n(row->time_ms), "status", bd_ddb_n(row->status));
    bd_audit_set_s(item, "token_id", row->token_id);
    bd_audit_set_s(item, "action", row->action);
    bd_audit_set_s(item, "target", row->target);
    bd_audit_set_s(item, "before", row->before);
    bd_audit_set_s(item, "after", row->after);
    bd_audit_set_s(item, "request_id", row->request_id);
    bd_audit_set_s(item, "client", row->client);
    return item;
}

static void
bd_audit_from_item(const json_t *item, bd_audit_row_t *r)
{
    int64_t status = 0;
    r->id = 0;
    r->time_ms = 0;
    bd_ddb_get_n(item, "id", &r->id);
    bd_ddb_get_n(item, "time_ms", &r->time_ms);
    bd_ddb_get_n(item, "status", &status);
    r->status = (int)status;
    bd_ddb_get_s(item, "token_id", &r->token_id);
    bd_ddb_get_s(item, "action", &r->action);
    bd_ddb_get_s(item, "target", &r->target);
    bd_ddb_get_s(item, "before", &r->before);
    bd_ddb_get_s(item, "after", &r->after);
    bd_ddb_get_s(item, "request_id", &r->request_id);
    bd_ddb_get_s(item, "client", &r->client);
}

int
bd_ctl_audit_insert(const bd_ctl_backend_t *b, bd_audit_row_t *row, std::string *err)
{
    if (b->ddb == nullptr) {
        if (b->db == nullptr) {
            *err = "no store to append the audit row to";
            return -1;
        }
        return bd_store_audit_insert(b->db, row, err);
    }
    bd_ddb_op_t op;
    json_t *body = json_pack("{s:s, s:o}", "TableName", b->ddb->conf.audit_table.c_str(), "Item",
                             bd_audit_item(row));
    if (bd_ddb_call(b->ddb->client, "PutItem", body, &op) != BD_DDB_OK) {
        *err = b->ddb->conf.audit_table + ": PutItem: " + bd_ddb_describe(&op);
        return -1;
    }
    return 0;
}

/* Newest first, pages of at most <limit> until <limit> rows or the range ends. */
static int
bd_audit_ddb_list(bd_ctl_ddb_t *d, int64_t since_ms, int64_t until_ms, int64_t limit,
                  std::vector<bd_audit_row_t> *out, std::string *err)
{
    std::string lo = bd_audit_sk_time(since_ms);
    /* '~' sorts after every character of a request id and '#' */
    std::string hi = until_ms >= 10000000000000LL ? std::string("9999999999999~")
                                                  : bd_audit_sk_time(until_ms - 1) + "~";
    json_t *start = nullptr;
    out->clear();
    while ((int64_t)out->size() < limit) {
        int64_t page = std::min<int64_t>(limit - (int64_t)out->size(), 1000);
        json_t *body = json_pack(
            "{s:s, s:s, s:{s:o, s:o, s:o}, s:b, s:b, s:I}", "TableName",
            d->conf.audit_table.c_str(), "KeyConditionExpression",
            "pk = :p AND sk BETWEEN :lo AND :hi", "ExpressionAttributeValues", ":p",
            bd_ddb_s(BD_AUDIT_PK), ":lo", bd_ddb_s(lo), ":hi", bd_ddb_s(hi), "ScanIndexForward", 0,
            "ConsistentRead", 1, "Limit", (json_int_t)page);
        if (start != nullptr) {
            json_object_set_new(body, "ExclusiveStartKey", start);
            start = nullptr;
        }
        bd_ddb_op_t op;
        if (bd_ddb_call(d->client, "Query", body, &op) != BD_DDB_OK) {
            *err = d->conf.audit_table + ": Query: " + bd_ddb_describe(&op);
            return -1;
        }
        size_t i;
        const json_t *item;
        json_array_foreach(json_object_get(op.reply, "Items"), i, item) {
            bd_audit_row_t r;
            bd_audit_from_item(item, &r);
            if (r.time_ms >= since_ms && r.time_ms < until_ms) {
                out->push_back(std::move(r));
            }
        }
        json_t *last = json_object_get(op.reply, "LastEvaluatedKey");
        if (last == nullptr || json_object_size(last) == 0) {
            break;
        }
        start = json_incref(last);
    }
    json_decref(start); /* the limit was reached with more pages left */
    if ((int64_t)out->size() > limit) {
        out->resize(limit);
    }
    std::reverse(out->begin(), out->end()); /* oldest first, as the store answers */
    return 0;
}

int
bd_ctl_audit_list(const bd_ctl_backend_t *b, int64_t since_ms, int64_t until_ms, int64_t limit,
                  std::vector<bd_audit_row_t> *out, std::string *err)
{
    if (b->remote != nullptr) {
        return bd_ctl_remote_audit(b->remote, since_ms, until_ms, limit, out, err);
    }
    if (b->ddb != nullptr) {
        return bd_audit_ddb_list(b->ddb, since_ms, until_ms, limit, out, err);
    }
    if (b->db == nullptr) {
        *err = "no store holds an audit trail";
        return -1;
    }
    return bd_store_audit_list(b->db, since_ms, until_ms, limit, out, err);
}
