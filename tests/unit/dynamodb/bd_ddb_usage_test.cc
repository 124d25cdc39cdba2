/*
 * bd_ddb_usage_test.cc: a push round against a DynamoDB that hands items back.
 * dynalite never answers BatchWriteItem with UnprocessedItems (real DynamoDB does
 * when a partition is throttled), so a small HTTP responder on loopback plays that
 * part: it hands back the first item of the first call to arrive, and the round
 * must send that item again, alone, and count every row once. The same round's
 * aggregate updates are read back too: sums by key, model and month, across a
 * change of day, for rows of several keys and models interleaved.
 */
#include "modules/dynamodb/bd_ddb_usage.h"
#include "modules/dynamodb/bd_ddb_budget.h"
#include "tests/unit/dynamodb/bd_ddb_responder.h"

#include <stdlib.h>
#include <string.h>

#include <gtest/gtest.h>

#include <map>
#include <vector>

TEST(DdbUsagePush, HandedBackItemsAreSentAgainAndAggregatesAddUp)
{
    setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", 1);
    Responder ddb;
    std::string err;
    bd_credentials_provider_t *creds = bd_ddb_credentials_create("us-east-1", 3000, &err);
    ASSERT_NE(creds, nullptr) << err;
    bd_ddb_client_options_t o;
    std::string url = "http://127.0.0.1:" + std::to_string(ddb.port());
    char buf[256];
    ASSERT_EQ(bd_aws_endpoint_parse_url(url.c_str(), &o.endpoint, buf, sizeof(buf)), 0) << buf;
    o.endpoint.region = "us-east-1";
    o.creds = creds;
    bd_ddb_client_t *client = bd_ddb_client_create(&o, &err);
    ASSERT_NE(client, nullptr) << err;

    bd_ddb_conf_t conf;
    conf.usage_table = "usage";
    conf.usage_push_concurrency = 3;
    conf.usage_item_ttl_ms = 0;
    bd_ddb_price_t price;
    price.model = "m-a";
    price.input = 2; /* USD per million tokens: 2 micro-USD a token */
    price.output = price.cache_read = price.cache_write = 0;
    conf.prices.push_back(price);
    bd_ddb_round_t r;
    r.seq = 1;
    const int64_t dec31 = 1735689599000LL; /* 2024-12-31 23:59:59 UTC */
    for (int i = 0; i < 60; i++) { /* three BatchWriteItem calls: 25, 25 and 10 rows */
        bd_ddb_usage_row_t row{}; /* every field zero, then the ones that matter */
        row.id = i + 1;
        row.rec.request_id = "req-" + std::to_string(i);
        /* the rows of three keys and two models interleave; the last 12 are of the
         * next day, and month */
        row.rec.time_ms = i < 48 ? dec31 : dec31 + 2000;
        row.rec.key_id = "key_" + std::to_string(i % 3);
        row.rec.model = i % 2 ? "m-a" : "m-b";
        row.rec.status = i % 10 == 0 ? 500 : 200;
        row.rec.input_tokens = 10;
        r.rows.push_back(row);
    }
    r.lo = 0;
    r.hi = 60;
    bd_ddb_push_stats_t st = {};
    ASSERT_EQ(bd_ddb_push_items(client, &conf, "task1", &r, &st, &err), 0) << err;
    ASSERT_EQ(bd_ddb_push_aggregates(client, &conf, "task1", &r, &st, &err), 0) << err;
    EXPECT_EQ(st.items, 60u);
    EXPECT_EQ(st.unprocessed, 1u);

    /* every row reached the responder once, and the item handed back a second
     * time, alone, in a call of its own */
    std::string again = ddb.handed_back();
    ASSERT_EQ(again.compare(0, 8, "req#req-"), 0) << again;
    std::vector<Call> calls = ddb.calls();
    std::vector<std::string> batches;
    std::map<std::string, std::string> sums; /* "pk sk" -> "requests errors input cost" */
    for (const Call &c : calls) {
        if (c.target == "BatchWriteItem") {
            batches.push_back(c.body);
        } else if (c.target == "UpdateItem") {
            json_error_t e;
            json_t *j = json_loads(c.body.c_str(), 0, &e);
            ASSERT_NE(j, nullptr) << c.body;
            std::string item, n;
            json_t *key = json_object_get(j, "Key");
            item = std::string(json_string_value(json_object_get(json_object_get(key, "pk"), "S"))) +
                   " " + json_string_value(json_object_get(json_object_get(key, "sk"), "S"));
            json_t *v = json_object_get(j, "ExpressionAttributeValues");
            for (const char *name : {":r", ":e", ":i", ":c"}) {
                n += std::string(n.empty() ? "" : " ") +
                     json_string_value(json_object_get(json_object_get(v, name), "N"));
            }
            sums[item] = n;
            json_decref(j);
        }
    }
    /* each key has 16 rows on Dec 31 and 4 on Jan 1; the errors are rows 0, 10,
     * ..., 50; m-a (the odd rows) costs 20 micro-USD a row, m-b has no price */
    std::map<std::string, std::string> want = {
        {"agg#key#key_0 2024-12-31", "16 2 160 160"},
        {"agg#key#key_0 2025-01-01", "4 0 40 40"},
        {"agg#key#key_1 2024-12-31", "16 2 160 160"},
        {"agg#key#key_1 2025-01-01", "4 0 40 40"},
        {"agg#key#key_2 2024-12-31", "16 1 160 160"},
        {"agg#key#key_2 2025-01-01", "4 1 40 40"},
        {"agg#keymonth#key_0 2024-12", "16 2 160 160"},
        {"agg#keymonth#key_0 2025-01", "4 0 40 40"},
        {"agg#keymonth#key_1 2024-12", "16 2 160 160"},
        {"agg#keymonth#key_1 2025-01", "4 0 40 40"},
        {"agg#keymonth#key_2 2024-12", "16 1 160 160"},
        {"agg#keymonth#key_2 2025-01", "4 1 40 40"},
        {"agg#model#m-a 2024-12-31", "24 0 240 480"},
        {"agg#model#m-a 2025-01-01", "6 0 60 120"},
        {"agg#model#m-b 2024-12-31", "24 5 240 0"},
        {"agg#model#m-b 2025-01-01", "6 1 60 0"},
    };
    EXPECT_EQ(sums, want);
    ASSERT_EQ(batches.size(), 4u);
    for (int i = 0; i < 60; i++) {
        std::string pk = "\"req#req-" + std::to_string(i) + "\"";
        int seen = 0;
        for (const std::string &b : batches) {
            for (size_t at = b.find(pk); at != std::string::npos; at = b.find(pk, at + 1)) {
                seen++;
            }
        }
        EXPECT_EQ(seen, pk == "\"" + again + "\"" ? 2 : 1) << pk;
    }
    EXPECT_NE(batches[3].find("\"" + again + "\""), std::string::npos);
    EXPECT_EQ(batches[3].find("\"PutRequest\""), batches[3].rfind("\"PutRequest\"")); /* alone */
    bd_ddb_client_destroy(client);
    bd_credentials_destroy(creds);
}
