/*
 * bd_keys_test.cc: the published key table: a lookup finds a key by the hash of its
 * secret and holds its table; a republished table (a key revoked, one added) is what
 * the next lookup sees while a held record stays valid; damaged hashes match
 * nothing; lookups racing republications on other threads see whole tables.
 */
#include <gtest/gtest.h>
#include <pthread.h>

#include <atomic>
#include <vector>

#include "modules/store/bd_keys.h"

static bd_key_t
key_of(const char *id, const char *secret, bool active)
{
    bd_key_t k{};
    k.id = id;
    bd_key_hash(secret, strlen(secret), &k.hash);
    k.active = active;
    return k;
}

static std::string
hash_of(const char *secret)
{
    std::string h;
    bd_key_hash(secret, strlen(secret), &h);
    return h;
}

static void
publish(std::vector<bd_key_t> keys, uint64_t gen)
{
    bd_keys_publish(bd_keys_new(&keys, gen));
}

TEST(Keys, EmptyWithoutAStore)
{
    bd_keys_publish(nullptr);
    bd_keys_t *t = reinterpret_cast<bd_keys_t *>(1);
    EXPECT_EQ(bd_keys_lookup(hash_of("sk-bd-a"), &t), nullptr);
    EXPECT_EQ(t, nullptr);
    EXPECT_EQ(bd_keys_acquire(), nullptr);
}

TEST(Keys, LookupFindsByHashAndHoldsTheTable)
{
    publish({key_of("key_a", "sk-bd-a", true), key_of("key_b", "sk-bd-b", true)}, 1);
    bd_keys_t *t = nullptr;
    const bd_key_t *a = bd_keys_lookup(hash_of("sk-bd-a"), &t);
    ASSERT_NE(a, nullptr);
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(a->id, "key_a");
    EXPECT_EQ(t->generation, 1u);

    /* key_a revoked, key_c added: the held record is the old one, intact. */
    publish({key_of("key_a", "sk-bd-a", false), key_of("key_c", "sk-bd-c", true)}, 2);
    EXPECT_TRUE(a->active);
    EXPECT_EQ(a->id, "key_a");
    bd_keys_release(t);

    bd_keys_t *t2 = nullptr;
    const bd_key_t *a2 = bd_keys_lookup(hash_of("sk-bd-a"), &t2);
    ASSERT_NE(a2, nullptr);
    EXPECT_FALSE(a2->active);
    EXPECT_EQ(t2->generation, 2u);
    bd_keys_release(t2);
    EXPECT_EQ(bd_keys_lookup(hash_of("sk-bd-b"), &t2), nullptr);
    EXPECT_EQ(t2, nullptr);
    bd_keys_publish(nullptr);
}

TEST(Keys, DamagedHashMatchesNothing)
{
    bd_key_t bad = key_of("key_bad", "sk-bd-x", true);
    bad.hash.clear(); /* as bd_store_keys_load leaves an unreadable row */
    publish({bad}, 1);
    bd_keys_t *t = bd_keys_acquire();
    ASSERT_NE(t, nullptr);
    EXPECT_TRUE(t->by_hash.empty());
    EXPECT_EQ(bd_keys_find(t, ""), nullptr);
    bd_keys_release(t);
    bd_keys_publish(nullptr);
}

struct Looker {
    std::atomic<bool> *stop;
    long found, bad;
};

static void *
looker(void *arg)
{
    Looker *l = (Looker *)arg;
    std::string h = hash_of("sk-bd-a");
    while (!l->stop->load()) {
        bd_keys_t *t = nullptr;
        const bd_key_t *k = bd_keys_lookup(h, &t);
        if (k != nullptr) {
            /* Every table holds key_a with rpm equal to its generation. */
            l->bad += k->id == "key_a" && k->rpm == (int64_t)t->generation ? 0 : 1;
            l->found++;
        }
        bd_keys_release(t);
    }
    return nullptr;
}

TEST(Keys, LookupsRacingRepublicationsSeeWholeTables)
{
    std::atomic<bool> stop{false};
    enum { THREADS = 4, TABLES = 500 };
    std::vector<Looker> ls(THREADS, Looker{&stop, 0, 0});
    std::vector<pthread_t> th(THREADS);
    for (int i = 0; i < THREADS; i++) {
        ASSERT_EQ(pthread_create(&th[i], nullptr, looker, &ls[i]), 0);
    }
    for (int g = 1; g <= TABLES; g++) {
        bd_key_t a = key_of("key_a", "sk-bd-a", true);
        a.rpm = g;
        publish({a, key_of("key_b", "sk-bd-b", true)}, (uint64_t)g);
    }
    stop = true;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], nullptr);
        EXPECT_EQ(ls[i].bad, 0);
    }
    bd_keys_publish(nullptr);
}
