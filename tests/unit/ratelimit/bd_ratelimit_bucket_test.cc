/*
 * bd_ratelimit_bucket_test.cc: the token bucket: a full start, exact refill at
 * capacity per minute, waits, refunds and overdrafts, capacity changes, and the
 * clamps that keep the arithmetic inside int64. Time is passed in, never read.
 */
#include <gtest/gtest.h>

#include "modules/ratelimit/bd_ratelimit_bucket.h"

static const int64_t T0 = 1000000000; /* an arbitrary monotonic start, us */
static const int64_t SEC = 1000000;

TEST(Bucket, StartsFullAndAdmitsExactlyTheCapacity)
{
    bd_ratelimit_bucket_t b{};
    int64_t wait = -1;
    for (int i = 0; i < 50; i++) {
        ASSERT_EQ(bd_ratelimit_bucket_take(&b, 50, 1, T0, &wait), 0) << i;
        EXPECT_EQ(wait, 0);
    }
    EXPECT_EQ(bd_ratelimit_bucket_take(&b, 50, 1, T0, &wait), -1);
    /* 50 per minute: one token every 1.2 s. */
    EXPECT_EQ(wait, 1200000);
    EXPECT_EQ(bd_ratelimit_bucket_remaining(&b, 50, T0), 0);
}

TEST(Bucket, RefillsAtCapacityPerMinute)
{
    bd_ratelimit_bucket_t b{};
    int64_t wait;
    for (int i = 0; i < 60; i++) {
        ASSERT_EQ(bd_ratelimit_bucket_take(&b, 60, 1, T0, &wait), 0);
    }
    EXPECT_EQ(bd_ratelimit_bucket_take(&b, 60, 1, T0 + SEC - 1, &wait), -1);
    EXPECT_EQ(wait, 1);
    EXPECT_EQ(bd_ratelimit_bucket_take(&b, 60, 1, T0 + SEC, &wait), 0);
    EXPECT_EQ(bd_ratelimit_bucket_remaining(&b, 60, T0 + 11 * SEC), 10);
    /* Never above the capacity, however long it idles. */
    EXPECT_EQ(bd_ratelimit_bucket_remaining(&b, 60, T0 + 3600 * SEC), 60);
    EXPECT_EQ(bd_ratelimit_bucket_full_in_us(&b, 60, T0 + 3600 * SEC), 0);
}

TEST(Bucket, FullInCountsTheMissingTokens)
{
    bd_ratelimit_bucket_t b{};
    int64_t wait;
    ASSERT_EQ(bd_ratelimit_bucket_take(&b, 6, 3, T0, &wait), 0);
    /* 6 per minute = one per 10 s; 3 missing = 30 s. */
    EXPECT_EQ(bd_ratelimit_bucket_full_in_us(&b, 6, T0), 30 * SEC);
    EXPECT_EQ(bd_ratelimit_bucket_full_in_us(&b, 6, T0 + 10 * SEC), 20 * SEC);
}

TEST(Bucket, WaitForSeveralTokens)
{
    bd_ratelimit_bucket_t b{};
    int64_t wait;
    ASSERT_EQ(bd_ratelimit_bucket_take(&b, 1000, 900, T0, &wait), 0);
    EXPECT_EQ(bd_ratelimit_bucket_take(&b, 1000, 300, T0, &wait), -1);
    /* 200 missing at 1000 per 60 s = 12 s. */
    EXPECT_EQ(wait, 12 * SEC);
    EXPECT_EQ(bd_ratelimit_bucket_take(&b, 1000, 300, T0 + 12 * SEC, &wait), 0);
}

TEST(Bucket, RefundAndOverdraft)
{
    bd_ratelimit_bucket_t b{};
    int64_t wait;
    ASSERT_EQ(bd_ratelimit_bucket_take(&b, 1000, 800, T0, &wait), 0);
    /* The request used 300, not 800: 500 come back. */
    bd_ratelimit_bucket_give(&b, 1000, 800 - 300, T0);
    EXPECT_EQ(bd_ratelimit_bucket_remaining(&b, 1000, T0), 700);
    /* A request that used more than charged overdraws. */
    bd_ratelimit_bucket_give(&b, 1000, -1200, T0);
    EXPECT_EQ(bd_ratelimit_bucket_remaining(&b, 1000, T0), 0);
    EXPECT_EQ(bd_ratelimit_bucket_take(&b, 1000, 1, T0, &wait), -1);
    /* 500 owed + 1 wanted at 1000 per minute = 30.06 s. */
    EXPECT_EQ(wait, 30060000);
    /* A refund never fills past the capacity. */
    bd_ratelimit_bucket_give(&b, 1000, 1000000, T0);
    EXPECT_EQ(bd_ratelimit_bucket_remaining(&b, 1000, T0), 1000);
}

TEST(Bucket, AmountOverCapacityNeedsAFullBucket)
{
    bd_ratelimit_bucket_t b{};
    int64_t wait;
    ASSERT_EQ(bd_ratelimit_bucket_take(&b, 100, 1, T0, &wait), 0);
    EXPECT_EQ(bd_ratelimit_bucket_take(&b, 100, 250, T0, &wait), -1);
    EXPECT_EQ(wait, 600000); /* the one missing token: 0.6 s */
    ASSERT_EQ(bd_ratelimit_bucket_take(&b, 100, 250, T0 + 600000, &wait), 0);
    /* 150 below zero: 250 tokens to full = 150 s. */
    EXPECT_EQ(bd_ratelimit_bucket_full_in_us(&b, 100, T0 + 600000), 150 * SEC);
}

TEST(Bucket, CapacityChangesApplyAtOnce)
{
    bd_ratelimit_bucket_t b{};
    int64_t wait;
    ASSERT_EQ(bd_ratelimit_bucket_take(&b, 100, 10, T0, &wait), 0);
    EXPECT_EQ(bd_ratelimit_bucket_remaining(&b, 100, T0), 90);
    EXPECT_EQ(bd_ratelimit_bucket_remaining(&b, 20, T0), 20); /* lowered: clamped */
    EXPECT_EQ(bd_ratelimit_bucket_remaining(&b, 100, T0), 20); /* raised: refills */
}

TEST(Bucket, HugeAmountsStayFinite)
{
    bd_ratelimit_bucket_t b{};
    int64_t wait;
    ASSERT_EQ(bd_ratelimit_bucket_take(&b, 10, INT64_MAX / 2, T0, &wait), 0);
    for (int i = 0; i < 100; i++) {
        bd_ratelimit_bucket_give(&b, 10, -BD_RATELIMIT_MAX_CAPACITY, T0);
    }
    EXPECT_EQ(bd_ratelimit_bucket_take(&b, 10, 1, T0, &wait), -1);
    EXPECT_GT(wait, 0);
    EXPECT_GT(bd_ratelimit_bucket_full_in_us(&b, 10, T0), 0);
    bd_ratelimit_bucket_t c{};
    EXPECT_EQ(bd_ratelimit_bucket_remaining(&c, BD_RATELIMIT_MAX_CAPACITY, T0),
              BD_RATELIMIT_MAX_CAPACITY);
}
