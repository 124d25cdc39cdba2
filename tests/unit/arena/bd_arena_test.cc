/*
 * bd_arena_test.cc: the request arena hands out aligned, distinct memory, takes
 * objects larger than a block, keeps strings, and is empty again after a reset; the
 * error types and labels have the names logs and metrics carry.
 */
#include <gtest/gtest.h>
#include <stdint.h>
#include <string.h>

#include <string>

#include "core/bd_arena.h"
#include "core/bd_err.h"

TEST(Arena, AlignedAndDistinct)
{
    bd_arena_t a;
    bd_arena_init(&a);
    char *prev = nullptr;
    for (int i = 1; i < 200; i++) {
        char *p = (char *)bd_arena_alloc(&a, (size_t)i);
        EXPECT_EQ((uintptr_t)p % 16, 0u);
        memset(p, i, (size_t)i);
        if (prev != nullptr) {
            EXPECT_NE(p, prev);
        }
        prev = p;
    }
    bd_arena_reset(&a);
}

TEST(Arena, LargerThanABlock)
{
    bd_arena_t a;
    bd_arena_init(&a);
    char *small = (char *)bd_arena_alloc(&a, 10);
    char *big = (char *)bd_arena_alloc(&a, 100000);
    memset(big, 7, 100000);
    memcpy(small, "123456789", 10);
    EXPECT_STREQ(small, "123456789");
    EXPECT_EQ(big[99999], 7);
    bd_arena_reset(&a);
}

/* The allocations of one Anthropic request, in the order a worker makes them (the API
 * request, the call, the stream state, usage, and the cleanup nodes: 1,120 bytes once
 * aligned) share one block, which a held stream keeps for its whole life. */
TEST(Arena, OneRequestsObjectsShareOneBlock)
{
    bd_arena_t a;
    bd_arena_init(&a);
    for (size_t size : {24, 312, 24, 152, 24, 24, 352, 24, 24, 24, 32, 24}) {
        EXPECT_NE(bd_arena_alloc(&a, size), nullptr);
    }
    EXPECT_EQ(bd_arena_block_count(&a), 1u);
    bd_arena_reset(&a);
}

TEST(Arena, StringsAndObjects)
{
    bd_arena_t a;
    bd_arena_init(&a);
    char *s = bd_arena_strndup(&a, "hello world", 5);
    EXPECT_STREQ(s, "hello");
    std::string *str = bd_arena_new<std::string>(&a);
    EXPECT_TRUE(str->empty());
    str->~basic_string();
    bd_arena_reset(&a);
    EXPECT_EQ(a.blocks, nullptr);
    /* a reset arena serves again, from the thread's cached blocks */
    EXPECT_NE(bd_arena_alloc(&a, 64), nullptr);
    bd_arena_reset(&a);
}

TEST(Err, Names)
{
    EXPECT_STREQ(bd_err_name(BD_ERR_INVALID_REQUEST), "invalid_request_error");
    EXPECT_STREQ(bd_err_name(BD_ERR_QUOTA), "insufficient_quota");
    EXPECT_EQ(bd_err_of_status(401), BD_ERR_AUTHENTICATION);
    EXPECT_EQ(bd_err_of_status(529), BD_ERR_OVERLOADED);
    EXPECT_EQ(bd_err_of_status(500), BD_ERR_API);
    EXPECT_EQ(bd_err_parse("overloaded_error"), BD_ERR_OVERLOADED);
    EXPECT_EQ(bd_err_parse("server_error"), BD_ERR_API);
    EXPECT_STREQ(bd_reject_name(BD_REJECT_GLOBAL_TPM), "global_tpm");
    EXPECT_STREQ(bd_reject_name(BD_REJECT_NONE), "");
    EXPECT_STREQ(bd_reject_name(BD_REJECT_BODY_MEMORY), "body_memory");
    EXPECT_STREQ(bd_cache_result_name(BD_CACHE_BYPASS), "bypass");
}
