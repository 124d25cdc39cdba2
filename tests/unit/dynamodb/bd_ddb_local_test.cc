/*
 * bd_ddb_local_test.cc: the sync's SQL on a real store file: a round is recorded
 * before it is returned and comes back unchanged until it is marked done (what a
 * crash during a push relies on) and read without holding the write lock; new rows
 * wait for the next round; the aggregates run rounds of their own over the same
 * rows, and take over a round in progress on a store from before they did;
 * pruning waits for both and keeps the newest row so ids are never reused; mirrors add, change and remove only the
 * rows that came from DynamoDB and commit only when something changed.
 */
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "modules/dynamodb/bd_ddb_local.h"

class DdbLocal : public ::testing::Test {
  protected:
    void SetUp() override
    {
        char tmpl[] = "/tmp/bd-ddb-test-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        std::string err;
        db_ = bd_store_open((dir_ + "/s.db").c_str(), 1000, &err);
        ASSERT_NE(db_, nullptr) << err;
    }
    void TearDown() override
    {
        bd_store_close(db_);
        std::string cmd = "rm -rf '" + dir_ + "'";
        ASSERT_EQ(system(cmd.c_str()), 0);
    }
    void AddUsage(int n, int64_t time_ms)
    {
        std::vector<bd_usage_record_t> recs((size_t)n);
        for (int i = 0; i < n; i++) {
            recs[(size_t)i].time_ms = time_ms;
            recs[(size_t)i].request_id = "req_" + std::to_string(next_++);
            recs[(size_t)i].status = 200;
            recs[(size_t)i].input_tokens = 1;
            recs[(size_t)i].output_tokens = 2;
            recs[(size_t)i].cache_read_tokens = recs[(size_t)i].cache_write_tokens = 0;
            recs[(size_t)i].latency_ms = 1;
            recs[(size_t)i].ttft_ms = -1;
            recs[(size_t)i].streamed = recs[(size_t)i].client_gone = false;
        }
        std::string err;
        ASSERT_EQ(bd_store_usage_insert(db_, recs.data(), recs.size(), &err), 0) << err;
    }
    std::string dir_;
    sqlite3 *db_ = nullptr;
    int next_ = 0;
};

TEST_F(DdbLocal, RoundsRepeatUntilDone)
{
    std::string err;
    bd_ddb_round_t r;
    EXPECT_EQ(bd_ddb_local_round(db_, &bd_ddb_items_outbox, 10, &r, &err), 0);
    AddUsage(25, 1000);
    ASSERT_EQ(bd_ddb_local_round(db_, &bd_ddb_items_outbox, 10, &r, &err), 1) << err;
    EXPECT_EQ(r.rows.size(), 10u);
    EXPECT_EQ(r.seq, 1);
    /* not marked done (a failed push, or a crash): the same round again */
    bd_ddb_round_t again;
    AddUsage(5, 1000);
    ASSERT_EQ(bd_ddb_local_round(db_, &bd_ddb_items_outbox, 10, &again, &err), 1);
    EXPECT_EQ(again.seq, r.seq);
    EXPECT_EQ(again.lo, r.lo);
    EXPECT_EQ(again.hi, r.hi);
    ASSERT_EQ(again.rows.size(), r.rows.size());
    EXPECT_EQ(again.rows.front().rec.request_id, r.rows.front().rec.request_id);
    ASSERT_EQ(bd_ddb_local_round_done(db_, &bd_ddb_items_outbox, &r, &err), 0);
    EXPECT_EQ(bd_ddb_local_backlog(db_, &bd_ddb_items_outbox), 20);
    int64_t total = 10;
    int64_t seq = r.seq;
    while (bd_ddb_local_round(db_, &bd_ddb_items_outbox, 10, &r, &err) == 1) {
        EXPECT_EQ(r.seq, ++seq);
        total += (int64_t)r.rows.size();
        ASSERT_EQ(bd_ddb_local_round_done(db_, &bd_ddb_items_outbox, &r, &err), 0);
    }
    EXPECT_EQ(total, 30);
    EXPECT_EQ(bd_ddb_local_backlog(db_, &bd_ddb_items_outbox), 0);
}

/* What the store thread does while the sync reads a round's rows. */
struct DdbLocalWriter {
    sqlite3 *db;
    int tries, written;
};

static int
bd_ddb_local_test_write(void *arg)
{
    DdbLocalWriter *w = (DdbLocalWriter *)arg;
    bd_usage_record_t rec;
    rec.time_ms = 2000;
    rec.request_id = "req_during_" + std::to_string(w->tries++);
    rec.status = 200;
    std::string err;
    if (bd_store_usage_insert(w->db, &rec, 1, &err) == 0) {
        w->written++;
    }
    return 0;
}

TEST_F(DdbLocal, TheStoreWritesWhileARoundsRowsAreRead)
{
    AddUsage(3000, 1000);
    std::string err;
    DdbLocalWriter w = {bd_store_open((dir_ + "/s.db").c_str(), 0, &err), 0, 0};
    ASSERT_NE(w.db, nullptr) << err;
    /* every few thousand VM steps of the sync's statements, the store writes a row
     * (no busy wait): refused while the sync holds the write lock */
    sqlite3_progress_handler(db_, 2000, bd_ddb_local_test_write, &w);
    bd_ddb_round_t r;
    ASSERT_EQ(bd_ddb_local_round(db_, &bd_ddb_items_outbox, 5000, &r, &err), 1) << err;
    sqlite3_progress_handler(db_, 0, nullptr, nullptr);
    bd_store_close(w.db);
    EXPECT_EQ(r.rows.size(), 3000u) << "rows written during the read belong to the next round";
    EXPECT_GT(w.tries, 10);
    EXPECT_GT(w.written, w.tries / 2) << "the round's rows were read under the write lock";
    ASSERT_EQ(bd_ddb_local_round_done(db_, &bd_ddb_items_outbox, &r, &err), 0);
    EXPECT_EQ(bd_ddb_local_backlog(db_, &bd_ddb_items_outbox), w.written);
}

/* Both outboxes' rounds of everything waiting, done. */
static void
DoneInBoth(sqlite3 *db, bd_ddb_round_t *r)
{
    std::string err;
    for (const bd_ddb_outbox_t *box : {&bd_ddb_items_outbox, &bd_ddb_aggregates_outbox}) {
        while (bd_ddb_local_round(db, box, 100, r, &err) == 1) {
            ASSERT_EQ(bd_ddb_local_round_done(db, box, r, &err), 0) << err;
        }
    }
}

TEST_F(DdbLocal, PruneKeepsNewestAndUnpushed)
{
    std::string err;
    ASSERT_EQ(bd_ddb_local_outbox_init(db_, &err), 0) << err;
    AddUsage(5, 1000);
    bd_ddb_round_t r;
    DoneInBoth(db_, &r);
    AddUsage(3, 1000); /* not pushed */
    EXPECT_EQ(bd_ddb_local_prune(db_, 2000, &err), 5);
    EXPECT_EQ(bd_ddb_local_backlog(db_, &bd_ddb_items_outbox), 3);
    /* items pushed but not aggregated: the rows stay for the aggregates */
    ASSERT_EQ(bd_ddb_local_round(db_, &bd_ddb_items_outbox, 100, &r, &err), 1);
    ASSERT_EQ(bd_ddb_local_round_done(db_, &bd_ddb_items_outbox, &r, &err), 0);
    EXPECT_EQ(bd_ddb_local_prune(db_, 2000, &err), 0);
    EXPECT_EQ(bd_ddb_local_backlog(db_, &bd_ddb_aggregates_outbox), 3);
    /* aggregated too: pruned, but the newest row stays, so the next id goes on */
    DoneInBoth(db_, &r);
    EXPECT_EQ(bd_ddb_local_prune(db_, 2000, &err), 2);
    int64_t last = r.hi;
    AddUsage(1, 1000);
    ASSERT_EQ(bd_ddb_local_round(db_, &bd_ddb_items_outbox, 100, &r, &err), 1);
    ASSERT_EQ(r.rows.size(), 1u);
    EXPECT_GT(r.rows[0].id, last);
}

TEST_F(DdbLocal, AggregatesRunTheirOwnRoundsOverTheSameRows)
{
    std::string err;
    ASSERT_EQ(bd_ddb_local_outbox_init(db_, &err), 0) << err;
    AddUsage(25, 1000);
    bd_ddb_round_t r;
    int items_rounds = 0;
    while (bd_ddb_local_round(db_, &bd_ddb_items_outbox, 10, &r, &err) == 1) {
        items_rounds++;
        ASSERT_EQ(bd_ddb_local_round_done(db_, &bd_ddb_items_outbox, &r, &err), 0);
    }
    EXPECT_EQ(items_rounds, 3);
    EXPECT_EQ(bd_ddb_local_backlog(db_, &bd_ddb_items_outbox), 0);
    EXPECT_EQ(bd_ddb_local_backlog(db_, &bd_ddb_aggregates_outbox), 25);
    /* one aggregates round of them all, with a sequence of its own, whose rows
     * carry what an aggregate adds up and nothing else */
    bd_ddb_round_t sums;
    ASSERT_EQ(bd_ddb_local_round(db_, &bd_ddb_aggregates_outbox, 100, &sums, &err), 1) << err;
    EXPECT_EQ(sums.rows.size(), 25u);
    EXPECT_EQ(sums.seq, 1);
    EXPECT_EQ(sums.rows[3].rec.time_ms, 1000);
    EXPECT_EQ(sums.rows[3].rec.status, 200);
    EXPECT_EQ(sums.rows[3].rec.input_tokens, 1);
    EXPECT_EQ(sums.rows[3].rec.output_tokens, 2);
    EXPECT_EQ(sums.rows[3].rec.request_id, "");
    EXPECT_EQ(sums.rows[3].rec.latency_ms, 0);
    /* not marked done: the same round again, whatever the items do meanwhile */
    AddUsage(5, 1000);
    ASSERT_EQ(bd_ddb_local_round(db_, &bd_ddb_items_outbox, 10, &r, &err), 1);
    ASSERT_EQ(bd_ddb_local_round_done(db_, &bd_ddb_items_outbox, &r, &err), 0);
    ASSERT_EQ(bd_ddb_local_round(db_, &bd_ddb_aggregates_outbox, 100, &r, &err), 1);
    EXPECT_EQ(r.rows.size(), 25u);
    EXPECT_EQ(r.seq, 1);
    ASSERT_EQ(bd_ddb_local_round_done(db_, &bd_ddb_aggregates_outbox, &r, &err), 0);
    ASSERT_EQ(bd_ddb_local_round(db_, &bd_ddb_aggregates_outbox, 100, &r, &err), 1);
    EXPECT_EQ(r.rows.size(), 5u);
    EXPECT_EQ(r.seq, 2);
}

TEST_F(DdbLocal, AStoreFromBeforeTheSplitHandsItsRoundToTheAggregates)
{
    std::string err;
    AddUsage(30, 1000);
    /* the state the single outbox left: rows up to 10 pushed and aggregated, and
     * the round (10, 20] with sequence 7 in progress when the task stopped */
    ASSERT_EQ(bd_ddb_local_set_state(db_, "pushed_upto", 10, &err), 0);
    ASSERT_EQ(bd_ddb_local_set_state(db_, "round_lo", 10, &err), 0);
    ASSERT_EQ(bd_ddb_local_set_state(db_, "round_hi", 20, &err), 0);
    ASSERT_EQ(bd_ddb_local_set_state(db_, "round_seq", 7, &err), 0);
    ASSERT_EQ(bd_ddb_local_outbox_init(db_, &err), 0) << err;
    bd_ddb_round_t r;
    /* its aggregates may have been applied in part: the same rows, the same sequence */
    ASSERT_EQ(bd_ddb_local_round(db_, &bd_ddb_aggregates_outbox, 100, &r, &err), 1) << err;
    EXPECT_EQ(r.lo, 10);
    EXPECT_EQ(r.hi, 20);
    EXPECT_EQ(r.seq, 7);
    ASSERT_EQ(bd_ddb_local_round_done(db_, &bd_ddb_aggregates_outbox, &r, &err), 0);
    /* a second start changes nothing */
    ASSERT_EQ(bd_ddb_local_outbox_init(db_, &err), 0) << err;
    ASSERT_EQ(bd_ddb_local_round(db_, &bd_ddb_aggregates_outbox, 100, &r, &err), 1);
    EXPECT_EQ(r.lo, 20);
    EXPECT_EQ(r.hi, 30);
    EXPECT_EQ(r.seq, 8);
    /* the items' round is still its own */
    ASSERT_EQ(bd_ddb_local_round(db_, &bd_ddb_items_outbox, 100, &r, &err), 1);
    EXPECT_EQ(r.lo, 10);
    EXPECT_EQ(r.hi, 20);
    EXPECT_EQ(r.seq, 7);
}

TEST_F(DdbLocal, TaskIdIsStable)
{
    std::string err;
    std::string a = bd_ddb_local_task_id(db_, &err), b = bd_ddb_local_task_id(db_, &err);
    EXPECT_EQ(a.size(), 16u);
    EXPECT_EQ(a, b);
}

static bd_key_t
Key(const char *id, const char *secret, int64_t rpm)
{
    bd_key_t k{};
    k.id = id;
    bd_key_hash(secret, strlen(secret), &k.hash);
    k.prefix = "sk-bd-";
    k.name = id;
    k.active = true;
    k.created_ms = 1;
    k.rpm = rpm;
    k.metadata = "{}";
    return k;
}

TEST_F(DdbLocal, MirrorKeysTouchesOnlyItsRows)
{
    std::string err;
    bd_key_t local = Key("key_local", "local-secret", 0);
    ASSERT_EQ(bd_store_key_insert(db_, &local, &err), 0);
    std::vector<bd_key_t> remote = {Key("key_a", "a-secret", 5), Key("key_b", "b-secret", 6)};
    EXPECT_EQ(bd_ddb_local_mirror_keys(db_, remote, &err), 2) << err;
    int64_t v = bd_store_data_version(db_);
    EXPECT_EQ(bd_ddb_local_mirror_keys(db_, remote, &err), 0); /* nothing changed */
    remote[1].rpm = 60;
    remote.erase(remote.begin());
    EXPECT_EQ(bd_ddb_local_mirror_keys(db_, remote, &err), 2); /* b changed, a gone */
    std::vector<bd_key_t> all;
    ASSERT_EQ(bd_store_keys_load(db_, &all, &err), 0);
    ASSERT_EQ(all.size(), 2u);
    bd_key_t b{};
    ASSERT_EQ(bd_store_key_get(db_, "key_b", &b, &err), 1);
    EXPECT_EQ(b.rpm, 60);
    ASSERT_EQ(bd_store_key_get(db_, "key_local", &b, &err), 1);
    (void)v;
}

TEST_F(DdbLocal, MirrorModels)
{
    std::string err;
    bd_store_model_t mine{"local-name", "x", "", 1};
    ASSERT_EQ(bd_store_model_set(db_, &mine, &err), 0);
    std::vector<bd_store_model_t> remote = {{"fast", "a.b", "converse", 2}};
    EXPECT_EQ(bd_ddb_local_mirror_models(db_, remote, &err), 1);
    EXPECT_EQ(bd_ddb_local_mirror_models(db_, remote, &err), 0);
    EXPECT_EQ(bd_ddb_local_mirror_models(db_, {}, &err), 1);
    std::vector<bd_store_model_t> all;
    ASSERT_EQ(bd_store_models_load(db_, &all, &err), 0);
    ASSERT_EQ(all.size(), 1u);
    EXPECT_EQ(all[0].name, "local-name");
}
