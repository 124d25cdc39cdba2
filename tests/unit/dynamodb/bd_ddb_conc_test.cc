/*
 * bd_ddb_conc_test.cc: the concurrency table's arithmetic: one slice on credit
 * before the first slots land, the debt it leaves, holding what runs plus a
 * slice, a full counter stopping growth (but not the debt) for a while, a failed
 * update read back, refreshes, and an idle key giving everything back.
 */
#include <gtest/gtest.h>

#include "modules/dynamodb/bd_ddb_conc.h"

static const int64_t TTL = 30000;
static const int64_t T0 = 1700000000000; /* a wall clock in ms */

static std::vector<bd_ddb_conc_need_t>
Needs(bd_ddb_conc_t *c, int64_t now, bool release = false)
{
    std::vector<bd_ddb_conc_need_t> v;
    bd_ddb_conc_needs(c, now, release, &v);
    return v;
}

TEST(DdbConc, CreditThenSlotsThenFull)
{
    bd_ddb_conc_t *c = bd_ddb_conc_create(5, TTL); /* 40 concurrent: a slice is 2 */
    EXPECT_TRUE(bd_ddb_conc_take(c, "k", 40, T0 + 1000));
    EXPECT_TRUE(bd_ddb_conc_take(c, "k", 40, T0 + 1000));
    EXPECT_FALSE(bd_ddb_conc_take(c, "k", 40, T0 + 1000)); /* the credit is one slice */
    std::vector<bd_ddb_conc_need_t> n = Needs(c, T0 + 1010);
    ASSERT_EQ(n.size(), 1u);
    EXPECT_EQ(n[0].key, "k");
    EXPECT_FALSE(n[0].read);
    EXPECT_EQ(n[0].held, 0);
    EXPECT_EQ(n[0].debt, 2);
    EXPECT_EQ(n[0].target, 4); /* what runs plus a slice */
    bd_ddb_conc_settle(c, &n[0], BD_DDB_CONC_WRITTEN, 0, T0 + 1020);
    EXPECT_TRUE(bd_ddb_conc_take(c, "k", 40, T0 + 1030));
    EXPECT_TRUE(bd_ddb_conc_take(c, "k", 40, T0 + 1030));
    EXPECT_FALSE(bd_ddb_conc_take(c, "k", 40, T0 + 1030));
    bd_ddb_conc_stats_t st;
    bd_ddb_conc_stats(c, &st);
    EXPECT_EQ(st.held, 4);
    EXPECT_EQ(st.refused, 2u);

    /* the counter is full: the update failed, the item is read back */
    n = Needs(c, T0 + 1040);
    ASSERT_EQ(n.size(), 1u);
    EXPECT_EQ(n[0].target, 6);
    bd_ddb_conc_settle(c, &n[0], BD_DDB_CONC_FULL, 4, T0 + 1050);
    bd_ddb_conc_unknown(c, "k");
    n = Needs(c, T0 + 1060);
    ASSERT_EQ(n.size(), 1u);
    EXPECT_TRUE(n[0].read);
    bd_ddb_conc_settle(c, &n[0], BD_DDB_CONC_READ, 4, T0 + 1070);
    /* no growth for a while, only the refresh of what is held */
    n = Needs(c, T0 + 1080);
    ASSERT_EQ(n.size(), 1u);
    EXPECT_EQ(n[0].target, 4);
    EXPECT_EQ(n[0].debt, 0);
    bd_ddb_conc_settle(c, &n[0], BD_DDB_CONC_WRITTEN, 0, T0 + 1090);
    EXPECT_TRUE(Needs(c, T0 + 1100).empty());
    n = Needs(c, T0 + 1090 + 1000 + TTL / 3);
    ASSERT_EQ(n.size(), 1u);
    EXPECT_EQ(n[0].target, 6); /* growth asked again, with the refresh */
    bd_ddb_conc_destroy(c);
}

TEST(DdbConc, ReclaimedSlotsAreReadBack)
{
    bd_ddb_conc_t *c = bd_ddb_conc_create(50, TTL); /* 4 concurrent: a slice is 2 */
    EXPECT_TRUE(bd_ddb_conc_take(c, "k", 4, 0));
    std::vector<bd_ddb_conc_need_t> n = Needs(c, 10);
    ASSERT_EQ(n.size(), 1u);
    bd_ddb_conc_settle(c, &n[0], BD_DDB_CONC_WRITTEN, 0, 10); /* holds 3 */
    /* cut off, the others took the slots back: the write fails, the read says 0 */
    n = Needs(c, 10 + TTL);
    ASSERT_EQ(n.size(), 1u);
    EXPECT_EQ(n[0].held, 3);
    bd_ddb_conc_settle(c, &n[0], BD_DDB_CONC_FULL, 3, 20 + TTL);
    bd_ddb_conc_unknown(c, "k");
    n = Needs(c, 30 + TTL);
    ASSERT_TRUE(n.size() == 1 && n[0].read);
    bd_ddb_conc_settle(c, &n[0], BD_DDB_CONC_READ, 0, 30 + TTL);
    n = Needs(c, 40 + TTL);
    ASSERT_EQ(n.size(), 1u);
    EXPECT_EQ(n[0].held, 0);
    EXPECT_EQ(n[0].debt, 1); /* the request still running */
    EXPECT_EQ(n[0].target, 1);
    bd_ddb_conc_destroy(c);
}

TEST(DdbConc, IdleKeysGiveEverythingBack)
{
    bd_ddb_conc_t *c = bd_ddb_conc_create(5, TTL);
    EXPECT_TRUE(bd_ddb_conc_take(c, "k", 10, 0));
    std::vector<bd_ddb_conc_need_t> n = Needs(c, 10);
    bd_ddb_conc_settle(c, &n[0], BD_DDB_CONC_WRITTEN, 0, 10); /* holds 2 */
    bd_ddb_conc_give(c, "k");
    n = Needs(c, 20);
    ASSERT_EQ(n.size(), 1u);
    EXPECT_EQ(n[0].target, 1); /* a slice kept while the key is in use */
    bd_ddb_conc_settle(c, &n[0], BD_DDB_CONC_WRITTEN, 0, 20);
    n = Needs(c, TTL + 10);
    ASSERT_EQ(n.size(), 1u);
    EXPECT_EQ(n[0].target, 0); /* idle for a TTL */
    bd_ddb_conc_settle(c, &n[0], BD_DDB_CONC_WRITTEN, 0, TTL + 10);
    EXPECT_TRUE(Needs(c, TTL + 20).empty());
    bd_ddb_conc_stats_t st;
    bd_ddb_conc_stats(c, &st);
    EXPECT_EQ(st.held, 0);

    /* a stopping task gives back all but what runs */
    EXPECT_TRUE(bd_ddb_conc_take(c, "j", 10, TTL + 30));
    n = Needs(c, TTL + 40);
    bd_ddb_conc_settle(c, &n[0], BD_DDB_CONC_WRITTEN, 0, TTL + 40);
    bd_ddb_conc_give(c, "j");
    n = Needs(c, TTL + 50, true);
    ASSERT_EQ(n.size(), 1u);
    EXPECT_EQ(n[0].target, 0);
    bd_ddb_conc_destroy(c);
}
