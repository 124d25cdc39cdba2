/*
 * bd_json_scan_test.cc: bd_json_scan accepts exactly the texts jansson accepts
 * (hand-picked cases, then thousands of byte mutations of real answers, where the
 * only allowed difference is jansson's range for integers), and a member walk gives
 * each key and value span of an object as written.
 */
#include "core/bd_json_scan.h"

#include <gtest/gtest.h>
#include <jansson.h>
#include <string.h>

#include <string>
#include <vector>

#include "tests/unit/json/bd_json_mutate.h"

static bool
bd_scan_accepts(const std::string &text)
{
    const char *end = text.data() + text.size();
    const char *p = bd_json_scan_value(text.data(), end);
    while (p != nullptr && p < end && strchr(" \t\r\n", *p) != nullptr) {
        p++;
    }
    return p == end;
}

/* Whether jansson accepts <text>; <why> its reason when it does not. */
static bool
bd_jansson_accepts(const std::string &text, std::string *why)
{
    json_error_t err;
    json_t *j = json_loadb(text.data(), text.size(), JSON_DECODE_ANY, &err);
    json_decref(j);
    *why = j ? "" : err.text;
    return j != nullptr;
}

/* The difference allowed: integers past 64 bits are JSON, not jansson values. */
static bool
bd_jansson_value_limit(const std::string &why)
{
    return why.find("too big") != std::string::npos || why.find("overflow") != std::string::npos;
}

TEST(JsonScanTest, AgreesWithJanssonOnHandPickedTexts)
{
    const char *const valid[] = {
        "{}", "[]", "0", "-0", "1.5e10", "-12.25E-3", "\"\"", "true", "false", "null",
        " { \"a\" : [ 1 , 2 , { } , [ ] ] , \"b\" : \"x\\n\\\"y\\u00e9\" } ",
        "{\"k\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}", "[[[[[[]]]]]]", "[\"\\/\\b\\f\\r\\t\"]",
        "\"\\ud83d\\ude00\"", "\"\\u0001\\uFFFF\"",
    };
    const char *const invalid[] = {
        "",          "{",         "}",         "{\"a\"}",     "{\"a\":}",   "{\"a\":1,}",
        "[1,]",      "[1 2]",     "01",        "1.",          "1e",         "-",
        "+1",        ".5",        "tru",       "nul",         "\"abc",      "\"\\x\"",
        "\"\\u12\"", "{1:2}",     "{\"a\" 1}", "[}",          "{]",         "\"\x01\"",
        "\"\xff\"",  "\"\xc3\"",  "\"\xed\xa0\x80\"", "\"\xc0\xaf\"", "[1]]", "{\"a\":1}}",
        "\"\\u0000\"", "\"\\ud83d\"", "\"\\ude00\"", "\"\\ud83d\\u0041\"", "{\"\\u0000\":1}",
    };
    std::string why;
    for (const char *t : valid) {
        EXPECT_TRUE(bd_scan_accepts(t)) << t;
        EXPECT_TRUE(bd_json_valid(t, strlen(t))) << t;
        EXPECT_TRUE(bd_jansson_accepts(t, &why)) << t << ": " << why;
    }
    for (const char *t : invalid) {
        EXPECT_FALSE(bd_scan_accepts(t)) << t;
        EXPECT_FALSE(bd_json_valid(t, strlen(t))) << t;
        EXPECT_FALSE(bd_jansson_accepts(t, &why)) << t;
    }
}

TEST(JsonScanTest, NestingPastTheLimitIsRefused)
{
    std::string ok(BD_JSON_SCAN_DEPTH, '[');
    ok.append(BD_JSON_SCAN_DEPTH, ']');
    EXPECT_TRUE(bd_scan_accepts(ok));
    std::string deep(BD_JSON_SCAN_DEPTH + 1, '[');
    deep.append(BD_JSON_SCAN_DEPTH + 1, ']');
    EXPECT_FALSE(bd_scan_accepts(deep));
}

TEST(JsonScanTest, AgreesWithJanssonOnMutatedAnswers)
{
    const std::string seeds[] = {
        "{\"id\":\"msg_01\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude\","
        "\"content\":[{\"type\":\"text\",\"text\":\"Hi \\u00e9 \\\"there\\\"\"},{\"type\":"
        "\"tool_use\",\"id\":\"t1\",\"name\":\"f\",\"input\":{\"a\":[1,-2.5e3,true,null]}}],"
        "\"stop_reason\":\"end_turn\",\"stop_sequence\":null,\"usage\":{\"input_tokens\":12,"
        "\"output_tokens\":3}}",
        "{\"output\":{\"message\":{\"role\":\"assistant\",\"content\":[{\"text\":\"ok\"}]}},"
        "\"stopReason\":\"end_turn\",\"usage\":{\"inputTokens\":1,\"outputTokens\":2}}",
    };
    uint32_t rng = 12345;
    int compared = 0;
    for (const std::string &seed : seeds) {
        for (int i = 0; i < 4000; i++) {
            std::string t = bd_json_mutate(seed, &rng);
            std::string why;
            bool jansson = bd_jansson_accepts(t, &why);
            if (!jansson && bd_jansson_value_limit(why)) {
                continue;
            }
            ASSERT_EQ(jansson, bd_scan_accepts(t)) << t << " (jansson: " << why << ")";
            compared++;
        }
    }
    EXPECT_GT(compared, 7000);
}

TEST(JsonScanTest, MembersGiveKeysAndValuesAsWritten)
{
    const std::string t = " {\"model\" : \"m\\\"x\", \"n\":-42,\"o\":{\"a\":[1]},\"e\\u0041\":true} ";
    bd_json_members_t it;
    bd_json_member_t m;
    std::vector<std::string> keys, values;
    std::string kinds;
    bd_json_members_init(&it, t.data(), t.size());
    while (bd_json_members_next(&it, &m)) {
        keys.emplace_back(m.key.p, m.key.n);
        values.emplace_back(m.value.p, m.value.n);
        kinds.push_back(m.kind);
        if (keys.size() == 1) {
            EXPECT_TRUE(bd_json_key_is(&m, "model"));
            EXPECT_FALSE(bd_json_key_is(&m, "mode"));
        }
        if (keys.size() == 2) {
            int64_t v = 0;
            EXPECT_EQ(0, bd_json_member_int(&m, &v));
            EXPECT_EQ(-42, v);
        }
    }
    EXPECT_TRUE(it.ok);
    EXPECT_EQ((std::vector<std::string>{"model", "n", "o", "e\\u0041"}), keys);
    EXPECT_EQ((std::vector<std::string>{"\"m\\\"x\"", "-42", "{\"a\":[1]}", "true"}), values);
    EXPECT_EQ("\"0{t", kinds);
}

TEST(JsonScanTest, MalformedObjectsEndTheWalkNotOk)
{
    const char *const bad[] = {"[1]", "{\"a\":1", "{\"a\":1,}", "{\"a\":1} x", "{\"a\":01}", ""};
    for (const char *t : bad) {
        bd_json_members_t it;
        bd_json_member_t m;
        bd_json_members_init(&it, t, strlen(t));
        while (bd_json_members_next(&it, &m)) {
        }
        EXPECT_FALSE(it.ok) << t;
    }
    bd_json_members_t it;
    bd_json_member_t m;
    bd_json_members_init(&it, "{ }", 3);
    EXPECT_FALSE(bd_json_members_next(&it, &m));
    EXPECT_TRUE(it.ok);
}

TEST(JsonScanTest, IntegersOnlyInRange)
{
    const char *const ok[][2] = {
        {"{\"v\":0}", "0"},
        {"{\"v\":9223372036854775807}", "9223372036854775807"},
        {"{\"v\":-9223372036854775808}", "-9223372036854775808"},
    };
    for (const auto &c : ok) {
        bd_json_members_t it;
        bd_json_member_t m;
        int64_t v = 1;
        bd_json_members_init(&it, c[0], strlen(c[0]));
        ASSERT_TRUE(bd_json_members_next(&it, &m));
        ASSERT_EQ(0, bd_json_member_int(&m, &v)) << c[0];
        EXPECT_EQ(std::to_string(v), c[1]);
    }
    const char *const no[] = {"{\"v\":9223372036854775808}", "{\"v\":1.0}", "{\"v\":1e3}",
                              "{\"v\":\"1\"}", "{\"v\":null}"};
    for (const char *t : no) {
        bd_json_members_t it;
        bd_json_member_t m;
        int64_t v;
        bd_json_members_init(&it, t, strlen(t));
        ASSERT_TRUE(bd_json_members_next(&it, &m));
        EXPECT_EQ(-1, bd_json_member_int(&m, &v)) << t;
    }
}
