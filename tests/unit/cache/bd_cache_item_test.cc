#include <gtest/gtest.h>
#include <jansson.h>
#include <string.h>

#include <string>

#include "modules/cache/bd_cache_item.h"

TEST(CacheItem, RoundTripCompressed)
{
    bd_cache_entry_t e;
    e.stream = true;
    e.model_resolved = "us.anthropic.claude-haiku-4-5";
    for (int i = 0; i < 2000; i++) {
        e.bytes += "event: content_block_delta\ndata: {\"text\":\"word " + std::to_string(i) +
                   "\"}\n\n";
    }
    e.expires_ms = 2000000000000LL;
    json_t *item = bd_cache_item_make("k1", &e);
    ASSERT_NE(item, nullptr);
    const char *b64 = json_string_value(json_object_get(json_object_get(item, "body"), "B"));
    ASSERT_NE(b64, nullptr);
    EXPECT_LT(strlen(b64), e.bytes.size() / 4); /* repetitive SSE compresses well */
    bd_cache_entry_ref back = bd_cache_item_parse(item, 0);
    ASSERT_NE(back, nullptr);
    EXPECT_EQ(back->bytes, e.bytes);
    EXPECT_TRUE(back->stream);
    EXPECT_EQ(back->model_resolved, e.model_resolved);
    EXPECT_EQ(back->expires_ms, 2000000000000LL);
    EXPECT_EQ(bd_cache_item_parse(item, 2000000000000LL), nullptr); /* expired */
    json_decref(item);
}

TEST(CacheItem, TooLargeOrMalformed)
{
    bd_cache_entry_t e;
    e.stream = false;
    e.expires_ms = 1;
    /* Incompressible bytes above the item bound are not stored. */
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 400 * 1024; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        e.bytes.push_back((char)(x & 0xff));
    }
    EXPECT_EQ(bd_cache_item_make("k", &e), nullptr);
    json_t *bad = json_loads("{\"cache_key\":{\"S\":\"k\"},\"expires_at\":{\"N\":\"99999999999\"},"
                             "\"stream\":{\"BOOL\":false},\"model_resolved\":{\"S\":\"m\"},"
                             "\"body\":{\"B\":\"bm90IHpsaWI=\"}}",
                             0, nullptr);
    ASSERT_NE(bad, nullptr);
    EXPECT_EQ(bd_cache_item_parse(bad, 0), nullptr); /* not zlib */
    json_decref(bad);
    EXPECT_EQ(bd_cache_item_parse(nullptr, 0), nullptr);
}
