/*
 * bd_ratelimit_table_test.cc: the sharded table is exact under threads: many
 * threads admitting at one instant get exactly the limit; concurrency slots are
 * held until settled; unadmit gives back what admit took; keys are independent.
 */
#include <gtest/gtest.h>
#include <pthread.h>

#include <atomic>
#include <vector>

#include "modules/ratelimit/bd_ratelimit_table.h"

static const int64_t T0 = 5000000000LL;

struct Hammer {
    bd_ratelimit_table_t *t;
    bd_ratelimit_limits_t lim;
    int tries;
    std::atomic<int> *admitted;
};

static void *
hammer(void *arg)
{
    Hammer *h = (Hammer *)arg;
    for (int i = 0; i < h->tries; i++) {
        bd_ratelimit_state_t st;
        bd_ratelimit_table_admit(h->t, "key_a", &h->lim, T0, &st);
        if (st.verdict == BD_RATELIMIT_ADMITTED) {
            h->admitted->fetch_add(1);
        }
    }
    return nullptr;
}

TEST(Table, ThreadsGetExactlyTheLimit)
{
    bd_ratelimit_table_t *t = bd_ratelimit_table_create();
    std::atomic<int> admitted{0};
    Hammer h{t, {500, 0, 0}, 400, &admitted};
    std::vector<pthread_t> threads(8);
    for (pthread_t &th : threads) {
        ASSERT_EQ(pthread_create(&th, nullptr, hammer, &h), 0);
    }
    for (pthread_t &th : threads) {
        pthread_join(th, nullptr);
    }
    EXPECT_EQ(admitted.load(), 500);
    bd_ratelimit_table_destroy(t);
}

TEST(Table, ConcurrencySlotsAreHeldUntilSettled)
{
    bd_ratelimit_table_t *t = bd_ratelimit_table_create();
    bd_ratelimit_limits_t lim{0, 0, 2};
    bd_ratelimit_state_t st;
    bd_ratelimit_table_admit(t, "k", &lim, T0, &st);
    EXPECT_EQ(st.verdict, BD_RATELIMIT_ADMITTED);
    bd_ratelimit_table_admit(t, "k", &lim, T0, &st);
    EXPECT_EQ(st.verdict, BD_RATELIMIT_ADMITTED);
    bd_ratelimit_table_admit(t, "k", &lim, T0, &st);
    EXPECT_EQ(st.verdict, BD_RATELIMIT_CONCURRENCY);
    EXPECT_GT(st.wait_us, 0);
    bd_ratelimit_table_admit(t, "other", &lim, T0, &st);
    EXPECT_EQ(st.verdict, BD_RATELIMIT_ADMITTED);
    bd_ratelimit_table_settle(t, "k", &lim, 0, 0, true, T0);
    bd_ratelimit_table_admit(t, "k", &lim, T0, &st);
    EXPECT_EQ(st.verdict, BD_RATELIMIT_ADMITTED);
    bd_ratelimit_table_destroy(t);
}

TEST(Table, RefusedByConcurrencyTakesNoRequestToken)
{
    bd_ratelimit_table_t *t = bd_ratelimit_table_create();
    bd_ratelimit_limits_t lim{10, 0, 1};
    bd_ratelimit_state_t st;
    bd_ratelimit_table_admit(t, "k", &lim, T0, &st);
    EXPECT_EQ(st.requests_remaining, 9);
    bd_ratelimit_table_admit(t, "k", &lim, T0, &st);
    EXPECT_EQ(st.verdict, BD_RATELIMIT_CONCURRENCY);
    EXPECT_EQ(st.requests_remaining, 9);
    bd_ratelimit_table_unadmit(t, "k", &lim, T0);
    bd_ratelimit_table_admit(t, "k", &lim, T0, &st);
    EXPECT_EQ(st.verdict, BD_RATELIMIT_ADMITTED);
    EXPECT_EQ(st.requests_remaining, 9);
    bd_ratelimit_table_destroy(t);
}

TEST(Table, TokensAreChargedThenSettled)
{
    bd_ratelimit_table_t *t = bd_ratelimit_table_create();
    bd_ratelimit_limits_t lim{0, 1000, 0};
    bd_ratelimit_state_t st;
    bd_ratelimit_table_take_tokens(t, "k", &lim, 900, T0, &st);
    EXPECT_EQ(st.verdict, BD_RATELIMIT_ADMITTED);
    EXPECT_EQ(st.tokens_remaining, 100);
    bd_ratelimit_table_take_tokens(t, "k", &lim, 200, T0, &st);
    EXPECT_EQ(st.verdict, BD_RATELIMIT_TOKENS);
    EXPECT_EQ(st.wait_us, 6000000); /* 100 missing at 1000 per minute */
    bd_ratelimit_table_settle(t, "k", &lim, 900, 150, false, T0);
    bd_ratelimit_table_take_tokens(t, "k", &lim, 200, T0, &st);
    EXPECT_EQ(st.verdict, BD_RATELIMIT_ADMITTED);
    EXPECT_EQ(st.tokens_remaining, 650);
    bd_ratelimit_table_destroy(t);
}
