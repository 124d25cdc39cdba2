/*
 * bd_published_test.cc: an object published is what readers acquire; the one it
 * replaced lives until its last reader releases it, then is freed exactly once;
 * under reader threads racing a writer, no reader ever sees a freed or half-built
 * object and every object is freed by the end (also run under ThreadSanitizer).
 */
#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <vector>

#include "core/bd_published.h"

static std::atomic<int> freed{0};

enum { LIVE = 0x600d, DEAD = 0xdead };

struct table_t {
    bd_published_obj_t pub;
    int version;
    int magic;
    std::vector<int> rows; /* every row equals version */
};

static void
table_destroy(bd_published_obj_t *obj)
{
    table_t *t = (table_t *)obj;
    t->magic = DEAD;
    freed.fetch_add(1);
    delete t;
}

static table_t *
table_new(int version)
{
    table_t *t = new table_t();
    bd_published_obj_init(&t->pub, table_destroy);
    t->version = version;
    t->magic = LIVE;
    t->rows.assign(16, version);
    return t;
}

TEST(Published, EmptyUntilPublished)
{
    bd_published_t slot;
    bd_published_init(&slot);
    EXPECT_EQ(bd_published_acquire(&slot), nullptr);
    EXPECT_EQ(bd_published_generation(&slot), 0u);
}

TEST(Published, OldObjectLivesUntilItsLastReader)
{
    freed = 0;
    bd_published_t slot;
    bd_published_init(&slot);
    bd_published_publish(&slot, &table_new(1)->pub);
    table_t *held = (table_t *)bd_published_acquire(&slot);
    ASSERT_NE(held, nullptr);
    EXPECT_EQ(held->version, 1);

    bd_published_publish(&slot, &table_new(2)->pub);
    EXPECT_EQ(bd_published_generation(&slot), 2u);
    EXPECT_EQ(freed.load(), 0); /* the reader still holds version 1 */
    EXPECT_EQ(held->magic, LIVE);
    table_t *now = (table_t *)bd_published_acquire(&slot);
    EXPECT_EQ(now->version, 2);

    bd_published_release(&held->pub);
    EXPECT_EQ(freed.load(), 1);
    bd_published_release(&now->pub);
    EXPECT_EQ(freed.load(), 1); /* the slot holds version 2 */
    bd_published_clear(&slot);
    EXPECT_EQ(freed.load(), 2);
    EXPECT_EQ(bd_published_acquire(&slot), nullptr);
}

TEST(Published, HoldCountsAnotherReference)
{
    freed = 0;
    bd_published_t slot;
    bd_published_init(&slot);
    bd_published_publish(&slot, &table_new(7)->pub);
    bd_published_obj_t *a = bd_published_acquire(&slot);
    bd_published_hold(a);
    bd_published_clear(&slot);
    bd_published_release(a);
    EXPECT_EQ(freed.load(), 0);
    bd_published_release(a);
    EXPECT_EQ(freed.load(), 1);
    bd_published_release(nullptr); /* allowed */
}

struct Race {
    bd_published_t *slot;
    std::atomic<bool> *stop;
    std::atomic<int> *reading; /* readers that have read once */
    long reads;
    long bad;
    int last_seen;
};

static void *
reader(void *arg)
{
    Race *r = (Race *)arg;
    while (!r->stop->load()) {
        table_t *t = (table_t *)bd_published_acquire(r->slot);
        if (t == nullptr) {
            continue;
        }
        bool ok = t->magic == LIVE && t->version >= r->last_seen;
        for (int v : t->rows) {
            ok = ok && v == t->version;
        }
        r->bad += ok ? 0 : 1;
        r->last_seen = t->version; /* one writer: versions never go back */
        if (r->reads++ == 0) {
            r->reading->fetch_add(1);
        }
        bd_published_release(&t->pub);
    }
    return nullptr;
}

TEST(Published, ReadersRacingAWriterSeeWholeObjectsAndAllAreFreed)
{
    freed = 0;
    static bd_published_t slot; /* static: zero-initialised, as modules use it */
    std::atomic<bool> stop{false};
    enum { READERS = 6, VERSIONS = 3000 };
    std::atomic<int> reading{0};
    std::vector<Race> races(READERS, Race{&slot, &stop, &reading, 0, 0, 0});
    std::vector<pthread_t> th(READERS);
    bd_published_publish(&slot, &table_new(0)->pub);
    for (int i = 0; i < READERS; i++) {
        ASSERT_EQ(pthread_create(&th[i], nullptr, reader, &races[i]), 0);
    }
    /* the writer starts once every reader reads: a loaded machine may start threads
     * late, and a race no reader joined proves nothing */
    while (reading.load() < READERS) {
        sched_yield();
    }
    for (int v = 1; v <= VERSIONS; v++) {
        bd_published_publish(&slot, &table_new(v)->pub);
    }
    stop = true;
    long reads = 0;
    for (int i = 0; i < READERS; i++) {
        pthread_join(th[i], nullptr);
        EXPECT_EQ(races[i].bad, 0);
        reads += races[i].reads;
    }
    EXPECT_GT(reads, 0);
    EXPECT_EQ(freed.load(), VERSIONS); /* all but the current one */
    bd_published_clear(&slot);
    EXPECT_EQ(freed.load(), VERSIONS + 1);
}
