/*
 * bd_ddb_lease_test.cc: the lease table's arithmetic: one slice on credit before
 * the first lease, the debt it leaves, top-ups at half a slice, a refused slice
 * ending the minute's leasing, a new minute starting afresh, token overdraft and
 * refunds, the per-task share.
 */
#include <gtest/gtest.h>

#include "modules/dynamodb/bd_ddb_lease.h"

static const int64_t T0 = 1000LL * 60000; /* the start of minute 1000 */

static std::vector<bd_ddb_lease_need_t>
Needs(bd_ddb_leases_t *l, int64_t now)
{
    std::vector<bd_ddb_lease_need_t> v;
    bd_ddb_leases_needs(l, now, &v);
    return v;
}

TEST(DdbLease, CreditThenLeaseWithinTheBound)
{
    bd_ddb_leases_t *l = bd_ddb_leases_create(5, 3);
    int64_t wait = 0;
    /* 60 rpm: a slice is 3; three requests pass on credit, the fourth waits */
    for (int i = 0; i < 3; i++) {
        EXPECT_EQ(bd_ddb_leases_take(l, "k", BD_DDB_LEASE_RPM, 60, 1, T0 + i, &wait), 0);
    }
    EXPECT_EQ(bd_ddb_leases_take(l, "k", BD_DDB_LEASE_RPM, 60, 1, T0 + 10, &wait), -1);
    EXPECT_EQ(wait, 60000 - 10);
    std::vector<bd_ddb_lease_need_t> n = Needs(l, T0 + 20);
    ASSERT_EQ(n.size(), 1u);
    EXPECT_EQ(n[0].key, "k");
    EXPECT_EQ(n[0].window, 1000);
    EXPECT_EQ(n[0].debt, 3);
    EXPECT_EQ(n[0].want, 3);
    bd_ddb_leases_settle(l, &n[0], true); /* the counter now holds 6 for this task */
    for (int i = 0; i < 3; i++) {
        EXPECT_EQ(bd_ddb_leases_take(l, "k", BD_DDB_LEASE_RPM, 60, 1, T0 + 30, &wait), 0);
    }
    EXPECT_EQ(bd_ddb_leases_take(l, "k", BD_DDB_LEASE_RPM, 60, 1, T0 + 30, &wait), -1);
    /* refused slice: nothing more this minute, no debt */
    n = Needs(l, T0 + 40);
    ASSERT_EQ(n.size(), 1u);
    EXPECT_EQ(n[0].debt, 0);
    bd_ddb_leases_settle(l, &n[0], false);
    EXPECT_TRUE(Needs(l, T0 + 50).empty());
    EXPECT_EQ(bd_ddb_leases_take(l, "k", BD_DDB_LEASE_RPM, 60, 1, T0 + 50, &wait), -1);
    /* the next minute starts with a fresh credit; the old entry is dropped */
    EXPECT_EQ(bd_ddb_leases_take(l, "k", BD_DDB_LEASE_RPM, 60, 1, T0 + 60000, &wait), 0);
    bd_ddb_lease_stats_t st;
    bd_ddb_leases_stats(l, &st);
    EXPECT_EQ(st.granted, 1u);
    EXPECT_EQ(st.spent, 1u);
    EXPECT_EQ(st.refused, 3u);
    bd_ddb_leases_destroy(l);
}

TEST(DdbLease, TopUpAtHalfASliceWithoutDebt)
{
    bd_ddb_leases_t *l = bd_ddb_leases_create(10, 2);
    int64_t wait = 0;
    EXPECT_EQ(bd_ddb_leases_take(l, "k", BD_DDB_LEASE_RPM, 100, 1, T0, &wait), 0);
    std::vector<bd_ddb_lease_need_t> n = Needs(l, T0); /* 9 of 10 left: nothing yet */
    ASSERT_EQ(n.size(), 1u);                            /* but the credit used is owed */
    EXPECT_EQ(n[0].debt, 1);
    EXPECT_EQ(n[0].want, 0);
    bd_ddb_leases_settle(l, &n[0], true);
    for (int i = 0; i < 4; i++) {
        bd_ddb_leases_take(l, "k", BD_DDB_LEASE_RPM, 100, 1, T0, &wait);
    }
    n = Needs(l, T0); /* 5 used of 10: top up */
    ASSERT_EQ(n.size(), 1u);
    EXPECT_EQ(n[0].debt, 4);
    EXPECT_EQ(n[0].want, 10);
    bd_ddb_leases_destroy(l);
}

TEST(DdbLease, TokensOverdrawAndRefund)
{
    bd_ddb_leases_t *l = bd_ddb_leases_create(5, 2);
    int64_t wait = 0;
    /* 10000 tpm: slice 500; a 2000-token estimate overdraws the credit */
    EXPECT_EQ(bd_ddb_leases_take(l, "k", BD_DDB_LEASE_TPM, 10000, 2000, T0, &wait), 0);
    EXPECT_EQ(bd_ddb_leases_take(l, "k", BD_DDB_LEASE_TPM, 10000, 1, T0, &wait), -1);
    bd_ddb_leases_give(l, "k", BD_DDB_LEASE_TPM, 1800, T0); /* used 200 */
    EXPECT_EQ(bd_ddb_leases_take(l, "k", BD_DDB_LEASE_TPM, 10000, 100, T0, &wait), 0);
    bd_ddb_leases_give(l, "k", BD_DDB_LEASE_TPM, 50, T0 - 60000); /* a past minute: ignored */
    std::vector<bd_ddb_lease_need_t> n = Needs(l, T0);
    ASSERT_EQ(n.size(), 1u);
    EXPECT_EQ(n[0].debt, 300);
    EXPECT_EQ(n[0].want, 500);
    bd_ddb_leases_destroy(l);
}

TEST(DdbLease, SliceNeverAsksPastTheLimit)
{
    bd_ddb_leases_t *l = bd_ddb_leases_create(100, 2);
    int64_t wait = 0;
    EXPECT_EQ(bd_ddb_leases_take(l, "k", BD_DDB_LEASE_RPM, 2, 1, T0, &wait), 0);
    EXPECT_EQ(bd_ddb_leases_take(l, "k", BD_DDB_LEASE_RPM, 2, 1, T0, &wait), 0);
    std::vector<bd_ddb_lease_need_t> n = Needs(l, T0);
    ASSERT_EQ(n.size(), 1u);
    EXPECT_EQ(n[0].debt, 2);
    EXPECT_EQ(n[0].want, 0); /* debt alone fills the limit */
    EXPECT_EQ(bd_ddb_leases_share(l, 5), 3);
    EXPECT_EQ(bd_ddb_leases_share(l, 0), 0);
    bd_ddb_leases_destroy(l);
}
