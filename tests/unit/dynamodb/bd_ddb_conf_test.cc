/*
 * bd_ddb_conf_test.cc: the dynamodb block as bedrockctl reads it: defaults, the
 * prefix and per-table names, `enabled off`, the bedrock region as the fallback,
 * the endpoint, and refused table names.
 */
#include <gtest/gtest.h>

#include "modules/dynamodb/bd_ddb_budget.h"
#include "modules/dynamodb/bd_ddb_conf.h"
#include "modules/dynamodb/bd_ddb_usage.h"

static int
Load(const char *text, bd_ddb_conf_t *c, std::string *err)
{
    bd_conf_ctx_t cf;
    cf.getenv = nullptr;
    cf.user = nullptr;
    cf.node = nullptr;
    std::vector<bd_conf_node_t> nodes;
    if (bd_conf_parse_string(&cf, text, "t.conf", "/tmp", &nodes) != 0) {
        *err = cf.error;
        return -1;
    }
    return bd_ddb_conf_from_nodes(nodes, c, err);
}

TEST(DdbConf, AbsentBlockIsOff)
{
    bd_ddb_conf_t c;
    std::string err;
    ASSERT_EQ(Load("store /tmp/x.db;\n", &c, &err), 0) << err;
    EXPECT_FALSE(c.seen);
    EXPECT_FALSE(bd_ddb_conf_on(&c));
}

TEST(DdbConf, DefaultsAndPrefix)
{
    bd_ddb_conf_t c;
    std::string err;
    ASSERT_EQ(Load("bedrock { region eu-west-1; }\n"
                   "dynamodb { table_prefix gw-; usage_table my-usage; }\n",
                   &c, &err),
              0)
        << err;
    EXPECT_TRUE(bd_ddb_conf_on(&c));
    EXPECT_EQ(c.api_keys_table, "gw-api-keys");
    EXPECT_EQ(c.usage_table, "my-usage");
    EXPECT_EQ(c.cache_table, "gw-cache");
    EXPECT_EQ(c.model_map_table, "gw-model-mapping");
    EXPECT_EQ(c.limits_table, "gw-limits");
    EXPECT_EQ(c.sync_interval_ms, 2000);
    EXPECT_EQ(c.usage_push_interval_ms, 1000);
    EXPECT_EQ(c.usage_aggregate_interval_ms, 10000);
    EXPECT_EQ(c.region, "eu-west-1");
    EXPECT_EQ(c.resolved.signing_name, "dynamodb");
    EXPECT_EQ(c.resolved.region, "eu-west-1");
}

TEST(DdbConf, EndpointAndOwnRegion)
{
    bd_ddb_conf_t c;
    std::string err;
    ASSERT_EQ(Load("dynamodb { region us-west-2; endpoint http://127.0.0.1:4567; "
                   "sync_interval 500ms; }\n",
                   &c, &err),
              0)
        << err;
    EXPECT_EQ(c.resolved.url, "http://127.0.0.1:4567");
    EXPECT_EQ(c.resolved.host, "127.0.0.1:4567");
    EXPECT_EQ(c.resolved.region, "us-west-2");
    EXPECT_EQ(c.api_keys_table, "bedrockd-api-keys");
    EXPECT_EQ(c.sync_interval_ms, 500);
}

TEST(DdbConf, EnabledOff)
{
    bd_ddb_conf_t c;
    std::string err;
    ASSERT_EQ(Load("dynamodb { enabled off; }\n", &c, &err), 0) << err;
    EXPECT_TRUE(c.seen);
    EXPECT_FALSE(bd_ddb_conf_on(&c));
}

TEST(DdbConf, BadValuesRefused)
{
    bd_ddb_conf_t a, b, d, e;
    std::string err;
    EXPECT_EQ(Load("dynamodb { api_keys_table \"bad name\"; }\n", &a, &err), -1);
    EXPECT_NE(err.find("not a valid DynamoDB table name"), std::string::npos) << err;
    EXPECT_EQ(Load("dynamodb { enabled maybe; }\n", &b, &err), -1);
    EXPECT_EQ(Load("dynamodb { sync_interval 10ms; }\n", &d, &err), -1);
    EXPECT_EQ(Load("dynamodb { usage_aggregate_interval 1ms; }\n", &e, &err), -1);
    EXPECT_NE(err.find("usage_aggregate_interval"), std::string::npos) << err;
}

/* Budgets: the price arithmetic (client name first, then Bedrock id; no price
 * costs nothing), the month of a time, and model_price's checks. */
TEST(DdbBudget, CostAtTheConfPrices)
{
    bd_ddb_conf_t c;
    std::string err;
    ASSERT_EQ(Load("dynamodb { endpoint http://127.0.0.1:1; model_price fast 1 5 0.1 1.25;\n"
                   " model_price us.anthropic.x-v1:0 3 15 0.3 3.75; }\n",
                   &c, &err),
              0)
        << err;
    /* 1000 in, 200 out, 5000 cache read, 100 cache write at (1, 5, 0.1, 1.25) $/M */
    EXPECT_EQ(bd_ddb_cost_micros(&c, "fast", "", 1000, 200, 5000, 100), 1000 + 1000 + 500 + 125);
    EXPECT_EQ(bd_ddb_cost_micros(&c, "other", "us.anthropic.x-v1:0", 1000, 0, 0, 0), 3000);
    EXPECT_EQ(bd_ddb_cost_micros(&c, "fast", "us.anthropic.x-v1:0", 1000, 0, 0, 0), 1000);
    EXPECT_EQ(bd_ddb_cost_micros(&c, "unpriced", "nope", 1000, 1000, 0, 0), 0);
    EXPECT_EQ(bd_ddb_month(1733270400000LL), "2024-12"); /* 2024-12-04 */
}

TEST(DdbUsage, DaysAndMonthsFollowTheRowsAcrossMidnight)
{
    /* formatted once per day: a row of the next day (or an earlier one) is not
     * given the day before's text */
    const int64_t dec31 = 1735603200000LL; /* 2024-12-31 00:00 UTC */
    EXPECT_EQ(bd_ddb_day(dec31 + 1), "2024-12-31");
    EXPECT_EQ(bd_ddb_day(dec31 + 86399999), "2024-12-31");
    EXPECT_EQ(bd_ddb_day(dec31 + 86400000), "2025-01-01");
    EXPECT_EQ(bd_ddb_month(dec31 + 86399999), "2024-12");
    EXPECT_EQ(bd_ddb_month(dec31 + 86400000), "2025-01");
    EXPECT_EQ(bd_ddb_day(dec31 - 1), "2024-12-30");
    EXPECT_EQ(bd_ddb_month(dec31), "2024-12");
}

TEST(DdbBudget, BadPricesAreRefused)
{
    bd_ddb_conf_t c;
    std::string err;
    EXPECT_NE(Load("dynamodb { model_price fast 1 5 0.1; }\n", &c, &err), 0);
    bd_ddb_conf_t d;
    EXPECT_NE(Load("dynamodb { model_price fast 1 -5 0.1 1; }\n", &d, &err), 0);
    EXPECT_NE(err.find("USD per million tokens"), std::string::npos) << err;
}
