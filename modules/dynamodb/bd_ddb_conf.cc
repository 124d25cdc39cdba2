/*
 * bd_ddb_conf.cc: the `dynamodb { }` directives, their defaults and the endpoint
 * and table-name resolution. Used by the module at load and by bedrockctl.
 */
#include "modules/dynamodb/bd_ddb_conf.h"

#include <stddef.h>
#include <stdlib.h>

static const char *bd_ddb_block(bd_conf_ctx_t *cf, const bd_conf_node_t *node,
                                const bd_directive_t *d, void *conf);

static const char *
bd_ddb_set_prefix(bd_conf_ctx_t *, const bd_conf_node_t *node, const bd_directive_t *, void *conf)
{
    bd_ddb_conf_t *c = (bd_ddb_conf_t *)conf;
    c->table_prefix = node->args[1];
    c->prefix_set = true;
    return nullptr;
}

static const char *
bd_ddb_set_price(bd_conf_ctx_t *, const bd_conf_node_t *node, const bd_directive_t *, void *conf)
{
    if (node->args.size() != 6) {
        return "wants a model and four prices: input, output, cache read, cache write "
               "(USD per million tokens)";
    }
    double v[4];
    for (int i = 0; i < 4; i++) {
        const char *s = node->args[i + 2].c_str();
        char *end = nullptr;
        v[i] = strtod(s, &end);
        if (end == s || *end != '\0' || !(v[i] >= 0) || v[i] > 1e6) {
            return "wants prices as non-negative numbers of USD per million tokens";
        }
    }
    ((bd_ddb_conf_t *)conf)->prices.push_back({node->args[1], v[0], v[1], v[2], v[3]});
    return nullptr;
}

static const char *
bd_ddb_set_enabled(bd_conf_ctx_t *cf, const bd_conf_node_t *node, const bd_directive_t *d,
                   void *conf)
{
    bool on = false;
    if (bd_conf_parse_flag(node->args[1].c_str(), &on) != 0) {
        (void)cf;
        (void)d;
        return "wants on or off";
    }
    ((bd_ddb_conf_t *)conf)->enabled = on ? 1 : 0;
    return nullptr;
}

static const bd_conf_bounds_t bd_ddb_batch_bounds = {25, 100000};
static const bd_conf_bounds_t bd_ddb_concurrency_bounds = {1, 64};
static const bd_conf_bounds_t bd_ddb_tasks_bounds = {1, 10000};
static const bd_conf_bounds_t bd_ddb_percent_bounds = {1, 100};

#define BD_DDB_OFF(field) offsetof(bd_ddb_conf_t, field)

const bd_directive_t bd_ddb_directives[] = {
    {"dynamodb", "main", BD_ARGS_0 | BD_ARGS_BLOCK | BD_ARGS_RESTART, bd_ddb_block, 0, nullptr},
    {"enabled", "dynamodb", BD_ARGS_1, bd_ddb_set_enabled, 0, nullptr},
    {"region", "dynamodb", BD_ARGS_1, bd_conf_set_str, BD_DDB_OFF(region), nullptr},
    {"endpoint", "dynamodb", BD_ARGS_1, bd_conf_set_str, BD_DDB_OFF(endpoint), nullptr},
    {"table_prefix", "dynamodb", BD_ARGS_1, bd_ddb_set_prefix, 0, nullptr},
    {"api_keys_table", "dynamodb", BD_ARGS_1, bd_conf_set_str, BD_DDB_OFF(api_keys_table), nullptr},
    {"usage_table", "dynamodb", BD_ARGS_1, bd_conf_set_str, BD_DDB_OFF(usage_table), nullptr},
    {"cache_table", "dynamodb", BD_ARGS_1, bd_conf_set_str, BD_DDB_OFF(cache_table), nullptr},
    {"model_map_table", "dynamodb", BD_ARGS_1, bd_conf_set_str, BD_DDB_OFF(model_map_table),
     nullptr},
    {"limits_table", "dynamodb", BD_ARGS_1, bd_conf_set_str, BD_DDB_OFF(limits_table), nullptr},
    {"audit_table", "dynamodb", BD_ARGS_1, bd_conf_set_str, BD_DDB_OFF(audit_table), nullptr},
    {"sync_interval", "dynamodb", BD_ARGS_1, bd_conf_set_duration, BD_DDB_OFF(sync_interval_ms),
     nullptr},
    {"full_sync_interval", "dynamodb", BD_ARGS_1, bd_conf_set_duration,
     BD_DDB_OFF(full_sync_interval_ms), nullptr},
    {"usage_push_interval", "dynamodb", BD_ARGS_1, bd_conf_set_duration,
     BD_DDB_OFF(usage_push_interval_ms), nullptr},
    {"usage_aggregate_interval", "dynamodb", BD_ARGS_1, bd_conf_set_duration,
     BD_DDB_OFF(usage_aggregate_interval_ms), nullptr},
    {"usage_push_batch", "dynamodb", BD_ARGS_1, bd_conf_set_int, BD_DDB_OFF(usage_push_batch),
     &bd_ddb_batch_bounds},
    {"usage_push_concurrency", "dynamodb", BD_ARGS_1, bd_conf_set_int,
     BD_DDB_OFF(usage_push_concurrency), &bd_ddb_concurrency_bounds},
    {"usage_retention", "dynamodb", BD_ARGS_1, bd_conf_set_duration,
     BD_DDB_OFF(usage_retention_ms), nullptr},
    {"usage_item_ttl", "dynamodb", BD_ARGS_1, bd_conf_set_duration, BD_DDB_OFF(usage_item_ttl_ms),
     nullptr},
    {"connect_timeout", "dynamodb", BD_ARGS_1, bd_conf_set_duration,
     BD_DDB_OFF(connect_timeout_ms), nullptr},
    {"request_timeout", "dynamodb", BD_ARGS_1, bd_conf_set_duration,
     BD_DDB_OFF(request_timeout_ms), nullptr},
    {"final_push_timeout", "dynamodb", BD_ARGS_1, bd_conf_set_duration,
     BD_DDB_OFF(final_push_timeout_ms), nullptr},
    {"expected_tasks", "dynamodb", BD_ARGS_1, bd_conf_set_int, BD_DDB_OFF(expected_tasks),
     &bd_ddb_tasks_bounds},
    {"limits_lease_percent", "dynamodb", BD_ARGS_1, bd_conf_set_int,
     BD_DDB_OFF(limits_lease_percent), &bd_ddb_percent_bounds},
    {"limits_lease_interval", "dynamodb", BD_ARGS_1, bd_conf_set_duration,
     BD_DDB_OFF(limits_lease_interval_ms), nullptr},
    {"limits_concurrency_ttl", "dynamodb", BD_ARGS_1, bd_conf_set_duration,
     BD_DDB_OFF(limits_concurrency_ttl_ms), nullptr},
    {"model_price", "dynamodb", BD_ARGS_2_OR_MORE | BD_ARGS_MULTI, bd_ddb_set_price, 0, nullptr},
    {nullptr, nullptr, 0, nullptr, 0, nullptr},
};

static const char *
bd_ddb_block(bd_conf_ctx_t *cf, const bd_conf_node_t *node, const bd_directive_t *, void *conf)
{
    bd_ddb_conf_t *c = (bd_ddb_conf_t *)conf;
    c->seen = true;
    bd_conf_target_t target = {bd_ddb_directives, conf};
    if (bd_conf_apply(cf, node->children, "dynamodb", &target, 1) != 0) {
        return BD_CONF_ERROR;
    }
    return nullptr;
}

bool
bd_ddb_conf_on(const bd_ddb_conf_t *c)
{
    return c->seen && c->enabled != 0;
}

std::vector<bd_ddb_table_ref_t>
bd_ddb_conf_tables(const bd_ddb_conf_t *c)
{
    return {{"api_keys", &c->api_keys_table},
            {"usage", &c->usage_table},
            {"cache", &c->cache_table},
            {"model_map", &c->model_map_table},
            {"limits", &c->limits_table},
            {"audit", &c->audit_table}};
}

/* DynamoDB's rule: 3 to 255 of [a-zA-Z0-9_.-]. */
static bool
bd_ddb_table_name_ok(const std::string &n)
{
    if (n.size() < 3 || n.size() > 255) {
        return false;
    }
    for (char ch : n) {
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                  ch == '_' || ch == '.' || ch == '-';
        if (!ok) {
            return false;
        }
    }
    return true;
}

const char *
bd_ddb_conf_resolve(bd_ddb_conf_t *c, const char *fallback_region, std::string *msg)
{
#define BD_DEFAULT(field, value)                                                                   \
    if (c->field < 0) {                                                                            \
        c->field = (value);                                                                        \
    }
    BD_DEFAULT(sync_interval_ms, 2000);
    BD_DEFAULT(full_sync_interval_ms, 300000);
    BD_DEFAULT(usage_push_interval_ms, 1000);
    BD_DEFAULT(usage_aggregate_interval_ms, 10000);
    BD_DEFAULT(usage_push_batch, 10000);
    BD_DEFAULT(usage_push_concurrency, 8);
    BD_DEFAULT(usage_retention_ms, 7LL * 86400 * 1000);
    BD_DEFAULT(usage_item_ttl_ms, 0);
    BD_DEFAULT(connect_timeout_ms, 3000);
    BD_DEFAULT(request_timeout_ms, 10000);
    BD_DEFAULT(final_push_timeout_ms, 10000);
    BD_DEFAULT(expected_tasks, 2);
    BD_DEFAULT(limits_lease_percent, 5);
    BD_DEFAULT(limits_lease_interval_ms, 100);
    BD_DEFAULT(limits_concurrency_ttl_ms, 30000);
#undef BD_DEFAULT
    if (!c->prefix_set) {
        c->table_prefix = "bedrockd-";
    }
    struct {
        std::string *name;
        const char *suffix;
    } tables[] = {{&c->api_keys_table, "api-keys"},
                  {&c->usage_table, "usage"},
                  {&c->cache_table, "cache"},
                  {&c->model_map_table, "model-mapping"},
                  {&c->limits_table, "limits"},
                  {&c->audit_table, "audit"}};
    for (auto &t : tables) {
        if (t.name->empty()) {
            *t.name = c->table_prefix + t.suffix;
        }
    }
    if (c->sync_interval_ms < 100 || c->usage_push_interval_ms < 10) {
        return "\"sync_interval\" must be at least 100ms and \"usage_push_interval\" at least 10ms";
    }
    if (c->usage_aggregate_interval_ms < 10) {
        return "\"usage_aggregate_interval\" must be at least 10ms";
    }
    if (c->limits_lease_interval_ms < 10) {
        return "\"limits_lease_interval\" must be at least 10ms";
    }
    if (c->limits_concurrency_ttl_ms < 1000 ||
        c->limits_concurrency_ttl_ms < 6 * c->limits_lease_interval_ms) {
        return "\"limits_concurrency_ttl\" must be at least 1s and 6 times "
               "\"limits_lease_interval\" (slots are refreshed every third of it)";
    }
    if (c->full_sync_interval_ms < c->sync_interval_ms) {
        return "\"full_sync_interval\" must be at least \"sync_interval\"";
    }
    if (!bd_ddb_conf_on(c)) {
        return nullptr;
    }
    for (const bd_ddb_table_ref_t &t : bd_ddb_conf_tables(c)) {
        if (!bd_ddb_table_name_ok(*t.name)) {
            *msg = std::string("dynamodb ") + t.role + " table \"" + *t.name +
                   "\" is not a valid DynamoDB table name (3-255 of a-z A-Z 0-9 _ . -)";
            return msg->c_str();
        }
    }
    std::string region = c->region;
    if (region.empty() && fallback_region != nullptr) {
        region = fallback_region;
    }
    if (region.empty()) {
        region = bd_aws_region_resolve("", "", nullptr);
    }
    if (region.empty()) {
        region = "us-east-1";
    }
    c->region = region;
    char err[256];
    if (bd_aws_endpoint_resolve("dynamodb", region.c_str(), c->endpoint.c_str(), nullptr,
                                &c->resolved, err, sizeof(err)) != 0) {
        *msg = std::string("dynamodb endpoint: ") + err;
        return msg->c_str();
    }
    return nullptr;
}

int
bd_ddb_conf_from_nodes(const std::vector<bd_conf_node_t> &nodes, bd_ddb_conf_t *c,
                       std::string *err)
{
    bd_conf_ctx_t cf;
    cf.getenv = nullptr;
    cf.user = nullptr;
    cf.node = nullptr;
    std::string bedrock_region;
    for (const bd_conf_node_t &n : nodes) {
        if (n.block && !n.args.empty() && n.args[0] == "dynamodb") {
            const char *m = bd_ddb_block(&cf, &n, &bd_ddb_directives[0], c);
            if (m != nullptr) {
                *err = cf.error;
                return -1;
            }
        }
        if (n.block && !n.args.empty() && n.args[0] == "bedrock") {
            for (const bd_conf_node_t &k : n.children) {
                if (k.args.size() == 2 && k.args[0] == "region") {
                    bedrock_region = k.args[1];
                }
            }
        }
    }
    std::string msg;
    const char *m = bd_ddb_conf_resolve(c, bedrock_region.c_str(), &msg);
    if (m != nullptr) {
        *err = m;
        return -1;
    }
    return 0;
}
