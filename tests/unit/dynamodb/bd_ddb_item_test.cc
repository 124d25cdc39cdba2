/*
 * bd_ddb_item_test.cc: key and model items round trip; malformed items are
 * refused with the field named; the usage item's key holds the request id and
 * task; days are UTC.
 */
#include <gtest/gtest.h>

#include "modules/dynamodb/bd_ddb_item.h"
#include "modules/dynamodb/bd_ddb_usage.h"

static bd_key_t
SampleKey()
{
    bd_key_t k{};
    k.id = "key_abcdefghijklmnop";
    bd_key_hash("sk-bd-secret", 12, &k.hash);
    k.prefix = "sk-bd-secr";
    k.name = "team a";
    k.owner = "alice";
    k.active = true;
    k.created_ms = 1700000000000;
    k.expires_ms = 0;
    k.rpm = 60;
    k.tpm = 1000;
    k.concurrency = 3;
    k.models = {"claude-*", "gpt-x"};
    k.metadata = "{\"team\":\"a\"}";
    return k;
}

TEST(DdbItem, KeyRoundTripHoldsNoSecret)
{
    bd_key_t k = SampleKey(), back{};
    json_t *item = bd_ddb_key_item(&k, 5, 7);
    char *text = json_dumps(item, JSON_COMPACT);
    EXPECT_EQ(std::string(text).find("sk-bd-secret"), std::string::npos);
    free(text);
    std::string why;
    ASSERT_EQ(bd_ddb_key_from_item(item, &back, &why), 0) << why;
    EXPECT_EQ(back.id, k.id);
    EXPECT_EQ(back.hash, k.hash);
    EXPECT_EQ(back.name, k.name);
    EXPECT_EQ(back.owner, k.owner);
    EXPECT_EQ(back.rpm, 60);
    EXPECT_EQ(back.tpm, 1000);
    EXPECT_EQ(back.concurrency, 3);
    EXPECT_EQ(back.models, k.models);
    EXPECT_EQ(back.metadata, k.metadata);
    int64_t v = 0;
    EXPECT_EQ(bd_ddb_get_n(item, "version", &v), 1);
    EXPECT_EQ(v, 7);
    json_decref(item);
}

TEST(DdbItem, MalformedKeysNameTheField)
{
    struct {
        const char *json;
        const char *field;
    } cases[] = {
        {"{\"key_hash\":{\"S\":\"00\"}}", "key_id"},
        {"{\"key_id\":{\"S\":\"k\"}}", "key_hash"},
        {"{\"key_id\":{\"S\":\"k\"},\"key_hash\":{\"S\":\"zz\"}}", "key_hash"},
        {"{\"key_id\":{\"N\":\"1\"},\"key_hash\":{\"S\":\"00\"}}", "key_id"},
    };
    for (const auto &c : cases) {
        json_t *item = json_loads(c.json, 0, nullptr);
        bd_key_t k{};
        std::string why;
        EXPECT_EQ(bd_ddb_key_from_item(item, &k, &why), -1) << c.json;
        EXPECT_NE(why.find(c.field), std::string::npos) << why;
        json_decref(item);
    }
    bd_key_t k = SampleKey(), back{};
    json_t *item = bd_ddb_key_item(&k, 1, 1);
    json_object_set_new(item, "rpm", json_pack("{s:s}", "S", "sixty"));
    std::string why;
    EXPECT_EQ(bd_ddb_key_from_item(item, &back, &why), -1);
    EXPECT_NE(why.find("rpm"), std::string::npos);
    json_object_set_new(item, "rpm", json_pack("{s:s}", "N", "-5"));
    EXPECT_EQ(bd_ddb_key_from_item(item, &back, &why), -1);
    json_object_set_new(item, "rpm", bd_ddb_n(5));
    json_object_set_new(item, "active", bd_ddb_s("yes"));
    EXPECT_EQ(bd_ddb_key_from_item(item, &back, &why), -1);
    EXPECT_NE(why.find("active"), std::string::npos);
    json_decref(item);
}

TEST(DdbItem, ModelRoundTripAndRoutes)
{
    bd_store_model_t m{"fast", "us.anthropic.claude-haiku", "invoke", 42}, back;
    json_t *item = bd_ddb_model_item(&m);
    std::string why;
    ASSERT_EQ(bd_ddb_model_from_item(item, &back, &why), 0) << why;
    EXPECT_EQ(back.name, "fast");
    EXPECT_EQ(back.bedrock_id, m.bedrock_id);
    EXPECT_EQ(back.route, "invoke");
    json_object_set_new(item, "route", bd_ddb_s("teleport"));
    EXPECT_EQ(bd_ddb_model_from_item(item, &back, &why), -1);
    EXPECT_NE(why.find("route"), std::string::npos);
    json_decref(item);
}

/* The usage item as the push writes it (text), parsed back; it must be valid JSON. */
static json_t *
UsageItem(const bd_ddb_usage_row_t *row, const std::string &task, int64_t ttl_ms)
{
    std::string text;
    bd_ddb_usage_item_append(&text, row, task, ttl_ms);
    json_error_t e;
    json_t *item = json_loads(text.c_str(), 0, &e);
    EXPECT_NE(item, nullptr) << e.text << ": " << text;
    return item;
}

TEST(DdbItem, UsageItemKeyAndTtl)
{
    bd_ddb_usage_row_t row;
    row.id = 17;
    row.rec.time_ms = 86400000LL * 3 + 5; /* 1970-01-04 */
    row.rec.request_id = "req_1";
    row.rec.key_id = "key_x";
    row.rec.model = "m";
    row.rec.status = 200;
    row.rec.input_tokens = 10;
    row.rec.output_tokens = 20;
    row.rec.cache_read_tokens = row.rec.cache_write_tokens = 0;
    row.rec.latency_ms = 5;
    row.rec.ttft_ms = -1;
    row.rec.streamed = false;
    row.rec.client_gone = false;
    json_t *item = UsageItem(&row, "00000000000000ab", 0);
    std::string pk, sk, day;
    EXPECT_EQ(bd_ddb_get_s(item, "pk", &pk), 1);
    EXPECT_EQ(bd_ddb_get_s(item, "sk", &sk), 1);
    EXPECT_EQ(bd_ddb_get_s(item, "day", &day), 1);
    EXPECT_EQ(pk, "req#req_1");
    EXPECT_EQ(sk, "00000000000000ab#17");
    EXPECT_EQ(day, "1970-01-04");
    EXPECT_EQ(json_object_get(item, "expires_at"), nullptr);
    EXPECT_EQ(json_object_get(item, "user_id"), nullptr); /* empty strings are left out */
    int64_t n = 0;
    EXPECT_EQ(bd_ddb_get_n(item, "ttft_ms", &n), 1);
    EXPECT_EQ(n, -1);
    EXPECT_EQ(bd_ddb_get_n(item, "output_tokens", &n), 1);
    EXPECT_EQ(n, 20);
    bool b = true;
    EXPECT_EQ(bd_ddb_get_bool(item, "streamed", &b), 1);
    EXPECT_FALSE(b);
    json_decref(item);
    /* strings are escaped: quotes, control characters, bytes that are not UTF-8 */
    row.rec.user_id = "a\"b\\c\n\x01\xff";
    item = UsageItem(&row, "t", 0);
    std::string user;
    EXPECT_EQ(bd_ddb_get_s(item, "user_id", &user), 1);
    EXPECT_EQ(user, "a\"b\\c\n\x01\xef\xbf\xbd");
    json_decref(item);
    row.rec.user_id.clear();
    item = UsageItem(&row, "t", 1000000);
    int64_t exp = 0;
    EXPECT_EQ(bd_ddb_get_n(item, "expires_at", &exp), 1);
    EXPECT_EQ(exp, (row.rec.time_ms + 1000000) / 1000);
    json_decref(item);
}

/* The aggregate UpdateItem body, written as text, against the same body built as a
 * jansson tree (how it was written before); names that need escaping included. */
TEST(DdbItem, UsageAggregateBodyIsTheUpdateItemRequest)
{
    bd_ddb_agg_t a;
    a.requests = 3;
    a.errors = 1;
    a.input = 1200;
    a.output = 345;
    a.cache_read = 0;
    a.cache_write = 9007199254740993LL; /* past a double's exact integers */
    a.cost = -7;
    const std::string table = "usage \"t\"\\", pk = "agg#key#k\xc3\xa9\n", sk = "2026-12-07";
    const std::string task = "00000000000000ab";
    std::string text;
    bd_ddb_usage_aggregate_append(&text, table, pk, sk, a, task, 42);
    json_error_t e;
    json_t *got = json_loads(text.c_str(), 0, &e);
    ASSERT_NE(got, nullptr) << e.text << ": " << text;
    json_t *want = json_pack(
        "{s:s, s:{s:o, s:o}, s:s, s:s, s:{s:s}, s:{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}}",
        "TableName", table.c_str(), "Key", "pk", bd_ddb_s(pk), "sk", bd_ddb_s(sk),
        "UpdateExpression",
        "ADD requests :r, errors :e, input_tokens :i, output_tokens :o, cache_read_tokens :cr, "
        "cache_write_tokens :cw, cost_micro_usd :c SET #seq = :seq",
        "ConditionExpression", "attribute_not_exists(#seq) OR #seq < :seq",
        "ExpressionAttributeNames", "#seq", ("seq_" + task).c_str(), "ExpressionAttributeValues",
        ":r", bd_ddb_n(3), ":e", bd_ddb_n(1), ":i", bd_ddb_n(1200), ":o", bd_ddb_n(345), ":cr",
        bd_ddb_n(0), ":cw", bd_ddb_n(9007199254740993LL), ":c", bd_ddb_n(-7), ":seq", bd_ddb_n(42));
    ASSERT_NE(want, nullptr);
    char *g = json_dumps(got, JSON_SORT_KEYS), *w = json_dumps(want, JSON_SORT_KEYS);
    EXPECT_STREQ(g, w);
    free(g);
    free(w);
    json_decref(got);
    json_decref(want);
}
