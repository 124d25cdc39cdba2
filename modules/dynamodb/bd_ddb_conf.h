/*
 * bd_ddb_conf.h: the `dynamodb { }` block, shared by the daemon's module and
 * bedrockctl (which reads the same conf file with the same directive table), and
 * the table names and endpoint it resolves to. Main thread (conf load) only.
 *
 *   dynamodb {
 *       enabled on;                 # default on when the block is present
 *       region us-east-1;           # default: the bedrock region, AWS_REGION, ...
 *       endpoint URL;               # default: AWS_ENDPOINT_URL_DYNAMODB, else regional
 *       table_prefix bedrockd-;     # <prefix>api-keys, usage, cache, model-mapping, limits, audit
 *       api_keys_table NAME; usage_table NAME; cache_table NAME;
 *       model_map_table NAME; limits_table NAME; audit_table NAME;
 *       sync_interval 2s;  full_sync_interval 5m;
 *       usage_push_interval 1s;  usage_push_batch 10000;  usage_push_concurrency 8;
 *       usage_aggregate_interval 10s;
 *       usage_retention 7d;  usage_item_ttl 0;
 *       connect_timeout 3s;  request_timeout 10s;  final_push_timeout 10s;
 *       expected_tasks 2;  limits_lease_percent 5;  limits_lease_interval 100ms;
 *       limits_concurrency_ttl 30s;
 *       model_price NAME INPUT OUTPUT CACHE_READ CACHE_WRITE;   # USD per million tokens
 *   }
 */
#ifndef BD_DDB_CONF_H
#define BD_DDB_CONF_H

#include <stdint.h>

#include <string>
#include <vector>

#include "core/aws/bd_aws_endpoint.h"
#include "core/bd_conf.h"

/* USD per million tokens of one model, for budgets in USD. */
struct bd_ddb_price_t {
    std::string model; /* a client model name or a Bedrock id */
    double input, output, cache_read, cache_write;
};

struct bd_ddb_conf_t {
    bool seen = false;   /* the block was given */
    int enabled = -1;    /* -1 unset (on when seen) */
    std::string region;
    std::string endpoint;
    std::string table_prefix;
    bool prefix_set = false;
    std::string api_keys_table, usage_table, cache_table, model_map_table, limits_table;
    std::string audit_table; /* the admin API's audit trail */
    int64_t sync_interval_ms = -1;
    int64_t full_sync_interval_ms = -1;
    int64_t usage_push_interval_ms = -1;
    int64_t usage_aggregate_interval_ms = -1;
    int64_t usage_push_batch = -1;
    int64_t usage_push_concurrency = -1;
    int64_t usage_retention_ms = -1;
    int64_t usage_item_ttl_ms = -1; /* 0 = request items never expire */
    int64_t connect_timeout_ms = -1;
    int64_t request_timeout_ms = -1;
    int64_t final_push_timeout_ms = -1;
    int64_t expected_tasks = -1;        /* a limit's per-task share while DynamoDB is away */
    int64_t limits_lease_percent = -1;  /* one lease slice, in percent of a limit */
    int64_t limits_lease_interval_ms = -1;
    int64_t limits_concurrency_ttl_ms = -1; /* a task's concurrency slots outlive it this long */
    std::vector<bd_ddb_price_t> prices; /* model_price, in conf order */

    bd_aws_endpoint_t resolved; /* after bd_ddb_conf_resolve */
};

/* The block directive for a module's main table, and the directives inside it. */
extern const bd_directive_t bd_ddb_directives[];

/* Fills defaults and checks <c>; when enabled, resolves the region (<c>'s, else
 * <fallback_region>, else the environment and profile) and the endpoint. Returns
 * null, or a message. */
const char *bd_ddb_conf_resolve(bd_ddb_conf_t *c, const char *fallback_region, std::string *msg);

/* Whether DynamoDB is on for <c> (the block present and not `enabled off`). */
bool bd_ddb_conf_on(const bd_ddb_conf_t *c);

/* The tables as the role they play, for messages and checks. */
struct bd_ddb_table_ref_t {
    const char *role; /* "api_keys", "usage", ... (the directive without _table) */
    const std::string *name;
};
std::vector<bd_ddb_table_ref_t> bd_ddb_conf_tables(const bd_ddb_conf_t *c);

/* Reads the `dynamodb` block (and the `bedrock` block's region as the fallback) out
 * of parsed conf nodes, for bedrockctl. Returns 0 (with c->seen false when there is
 * no block), or -1 with <err> "FILE:LINE: message". */
int bd_ddb_conf_from_nodes(const std::vector<bd_conf_node_t> &nodes, bd_ddb_conf_t *c,
                           std::string *err);

#endif
