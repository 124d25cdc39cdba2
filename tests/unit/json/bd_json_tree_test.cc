/*
 * bd_json_tree_test.cc: bd_json_tree_load gives the tree json_loadb gives (the same
 * values and key order, compared by dump) for every text jansson reads as an object or
 * array, and null for every text it refuses: hand-picked cases, then thousands of
 * byte mutations of request bodies. The one allowed difference is jansson's leniency
 * for a raw NUL byte between tokens, which the scan refuses (the caller then asks
 * jansson, so the result is the same).
 */
#include "core/bd_json_tree.h"

#include <gtest/gtest.h>
#include <jansson.h>
#include <string.h>

#include <string>

#include "core/bd_json_scan.h"
#include "tests/unit/json/bd_json_mutate.h"

static std::string
bd_tree_dump(json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
    std::string out = s ? s : "";
    free(s);
    return out;
}

/* Checks <text> both ways; returns whether jansson read it. */
static bool
bd_tree_agrees(const std::string &text)
{
    json_error_t err;
    json_t *want = json_loadb(text.data(), text.size(), 0, &err);
    json_t *got = bd_json_tree_load(text.data(), text.size());
    if (want == nullptr) {
        EXPECT_EQ(got, nullptr) << text << " (jansson: " << err.text << ")";
    } else if (got == nullptr) {
        /* only where the scan refuses what jansson reads (a raw NUL between tokens) */
        EXPECT_FALSE(bd_json_valid(text.data(), text.size())) << text;
    } else {
        EXPECT_TRUE(json_equal(want, got)) << text;
        EXPECT_EQ(bd_tree_dump(want), bd_tree_dump(got)) << text;
    }
    json_decref(want);
    json_decref(got);
    return want != nullptr;
}

TEST(JsonTreeTest, AgreesWithJanssonOnHandPickedTexts)
{
    const char *const texts[] = {
        "{}", "[]", " { } ", "[0,-0,1.5e10,-12.25E-3,1E2,0.1,-0.0,123456789012345678]",
        "{\"a\":[1,2,{},[]],\"b\":\"x\\n\\\"y\\u00e9\"}",
        "{\"k\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\",\"e\":\"\"}",
        "[\"\\/\\b\\f\\r\\t\\\\\",\"\\ud83d\\ude00\",\"\\u0001\\uFFFF\\u07ff\\u0800\"]",
        "{\"a\":1,\"b\":2,\"a\":3}", "{\"dup\":{\"x\":1},\"dup\":[true,false,null]}",
        "{\"model\":\"nova-pro\",\"max_tokens\":256,\"messages\":[{\"role\":\"user\","
        "\"content\":\"Summarise in one sentence.\"}],\"temperature\":0.7,\"stream\":false}",
        "{\"\\u00e9t\\u00e9\":\"s\\u00e9\",\"esc\\\"key\":1}", "[[[[[[]]]]]]",
        "{\"big\":9223372036854775807,\"small\":-9223372036854775808}",
        /* refused by both, or by jansson alone */
        "", "0", "\"s\"", "true", "null", "{", "[1,]", "{\"a\":1,}", "01", "{\"a\"}",
        "{\"big\":9223372036854775808}", "[-9223372036854775809]", "[1e400]", "[-1e400]",
        "[1e-400]", "{\"a\":1}}", "{\"a\":1} x", "[\"\\u0000\"]", "[\"\\ud83d\"]",
        "{\"\\u0000\":1}", "[\"\xff\"]",
    };
    for (const char *t : texts) {
        bd_tree_agrees(t);
    }
}

TEST(JsonTreeTest, DeepNestingIsBuiltWithoutRecursion)
{
    std::string ok(BD_JSON_SCAN_DEPTH, '[');
    ok.append(BD_JSON_SCAN_DEPTH, ']');
    EXPECT_TRUE(bd_tree_agrees(ok));
    std::string deep(BD_JSON_SCAN_DEPTH + 1, '[');
    deep.append(BD_JSON_SCAN_DEPTH + 1, ']');
    EXPECT_EQ(bd_json_tree_load(deep.data(), deep.size()), nullptr);
}

/* The text need not be terminated: a body taken from a buffer is read to its length. */
TEST(JsonTreeTest, ReadsOnlyItsLength)
{
    const char text[] = "{\"a\":[1,\"b\"]}{\"ignored\":true}";
    json_t *j = bd_json_tree_load(text, 13);
    ASSERT_NE(j, nullptr);
    EXPECT_EQ(bd_tree_dump(j), "{\"a\":[1,\"b\"]}");
    json_decref(j);
    EXPECT_EQ(bd_json_tree_load(text, 12), nullptr);
}

TEST(JsonTreeTest, AgreesWithJanssonOnMutatedBodies)
{
    const std::string seeds[] = {
        "{\"model\":\"claude\",\"max_tokens\":1024,\"system\":[{\"type\":\"text\",\"text\":"
        "\"Be brief \\u00e9\",\"cache_control\":{\"type\":\"ephemeral\"}}],\"messages\":[{"
        "\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Hi \\\"there\\\"\\n\"}]},"
        "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":"
        "\"f\",\"input\":{\"a\":[1,-2.5e3,true,null,0.125]}}]}],\"temperature\":0,"
        "\"stream\":true}",
        "{\"model\":\"gpt\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"n\":1,"
        "\"stop\":[\"\\n\\n\",\"END\"],\"top_p\":1.0e-1}",
    };
    uint32_t rng = 4242;
    int read = 0;
    for (const std::string &seed : seeds) {
        for (int i = 0; i < 4000; i++) {
            std::string t = bd_json_mutate(seed, &rng);
            read += bd_tree_agrees(t) ? 1 : 0;
        }
    }
    EXPECT_GT(read, 1000); /* enough mutations stay readable to compare trees */
}
