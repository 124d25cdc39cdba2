#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "modules/cache/bd_cache_lru.h"

static bd_cache_entry_ref
entry(size_t bytes, int64_t expires_ms = 1000000)
{
    auto e = std::make_shared<bd_cache_entry_t>();
    e->stream = false;
    e->bytes.assign(bytes, 'x');
    e->expires_ms = expires_ms;
    return e;
}

TEST(CacheLru, GetReturnsWhatWasPut)
{
    bd_cache_lru_t lru;
    EXPECT_EQ(lru.get("a", 0), nullptr);
    lru.put("a", entry(10), 1 << 20);
    bd_cache_entry_ref e = lru.get("a", 0);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->bytes.size(), 10u);
    EXPECT_EQ(lru.count(), 1u);
}

TEST(CacheLru, StaysWithinItsBoundDroppingTheLeastRecent)
{
    bd_cache_lru_t lru;
    const size_t bound = 4000;
    lru.put("a", entry(1000), bound);
    lru.put("b", entry(1000), bound);
    lru.put("c", entry(1000), bound);
    ASSERT_NE(lru.get("a", 0), nullptr); /* a is now the most recent; b the least */
    lru.put("d", entry(1000), bound);
    EXPECT_LE(lru.bytes(), bound);
    EXPECT_EQ(lru.get("b", 0), nullptr);
    EXPECT_NE(lru.get("a", 0), nullptr);
    EXPECT_NE(lru.get("c", 0), nullptr);
    EXPECT_NE(lru.get("d", 0), nullptr);
}

TEST(CacheLru, ManyPutsNeverPassTheBound)
{
    bd_cache_lru_t lru;
    for (int i = 0; i < 1000; i++) {
        lru.put("k" + std::to_string(i), entry((size_t)(i % 97) * 10), 10000);
        ASSERT_LE(lru.bytes(), 10000u);
    }
    EXPECT_GT(lru.count(), 0u);
}

TEST(CacheLru, AnEntryLargerThanTheBoundIsNotKept)
{
    bd_cache_lru_t lru;
    lru.put("small", entry(10), 1000);
    lru.put("big", entry(5000), 1000);
    EXPECT_EQ(lru.get("big", 0), nullptr);
    EXPECT_NE(lru.get("small", 0), nullptr);
}

TEST(CacheLru, ReplacingAKeyKeepsOneEntry)
{
    bd_cache_lru_t lru;
    lru.put("a", entry(100), 1 << 20);
    size_t one = lru.bytes();
    lru.put("a", entry(100), 1 << 20);
    EXPECT_EQ(lru.count(), 1u);
    EXPECT_EQ(lru.bytes(), one);
}

TEST(CacheLru, ExpiredEntriesAreMissesAndDropped)
{
    bd_cache_lru_t lru;
    lru.put("a", entry(10, 500), 1 << 20);
    EXPECT_NE(lru.get("a", 499), nullptr);
    EXPECT_EQ(lru.get("a", 500), nullptr);
    EXPECT_EQ(lru.count(), 0u);
    EXPECT_EQ(lru.bytes(), 0u);
}
