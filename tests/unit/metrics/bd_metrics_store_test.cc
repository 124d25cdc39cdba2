/*
 * bd_metrics_store_test.cc: the per-worker slots: finding and creating label
 * tuples, summing slots at collection, the series cap and its overflow series,
 * histogram bucket placement, and a reader collecting while the owner writes.
 */
#include <pthread.h>
#include <string.h>

#include <atomic>
#include <string>

#include <gtest/gtest.h>

#include "modules/metrics/bd_metrics.h"

namespace {

bd_metrics_label_t
L(const char *s)
{
    return {s, strlen(s)};
}

/* The merged sample of <family>{labels}, or null. */
const bd_metrics_sample_t *
find(const bd_metrics_merged_t &m, int family, const char *a = nullptr, const char *b = nullptr,
     const char *c = nullptr)
{
    const char *want[3] = {a, b, c};
    for (const auto &kv : m) {
        const bd_metrics_sample_t &s = kv.second;
        if (s.family != family) {
            continue;
        }
        bool same = true;
        for (int i = 0; i < bd_metrics_families[family].nlabels; i++) {
            same = same && want[i] != nullptr && s.labels[i] == want[i];
        }
        if (same) {
            return &s;
        }
    }
    return nullptr;
}

TEST(MetricsStore, CountsPerTupleAndSumsSlots)
{
    bd_metrics_slot_t *w0 = bd_metrics_slot_create(100);
    bd_metrics_slot_t *w1 = bd_metrics_slot_create(100);
    bd_metrics_label_t ok[3] = {L("/v1/messages"), L("200"), L("m1")};
    bd_metrics_label_t bad[3] = {L("/v1/messages"), L("429"), L("m1")};
    bd_metrics_count(w0, BD_MF_REQUESTS, ok, 1);
    bd_metrics_count(w0, BD_MF_REQUESTS, ok, 2);
    bd_metrics_count(w0, BD_MF_REQUESTS, bad, 1);
    bd_metrics_count(w1, BD_MF_REQUESTS, ok, 4);
    bd_metrics_count(w1, BD_MF_UPSTREAM_RETRIES, nullptr, 3);

    bd_metrics_slot_t *slots[2] = {w0, w1};
    bd_metrics_merged_t m;
    bd_metrics_collect(slots, 2, &m);
    ASSERT_NE(find(m, BD_MF_REQUESTS, "/v1/messages", "200", "m1"), nullptr);
    EXPECT_EQ(find(m, BD_MF_REQUESTS, "/v1/messages", "200", "m1")->cells[0], 7u);
    EXPECT_EQ(find(m, BD_MF_REQUESTS, "/v1/messages", "429", "m1")->cells[0], 1u);
    EXPECT_EQ(find(m, BD_MF_UPSTREAM_RETRIES)->cells[0], 3u);
    EXPECT_EQ(m.size(), 3u);
    bd_metrics_slot_destroy(w0);
    bd_metrics_slot_destroy(w1);
}

TEST(MetricsStore, LabelBoundariesAreNotAmbiguous)
{
    bd_metrics_slot_t *s = bd_metrics_slot_create(100);
    bd_metrics_label_t a[2] = {L("ab"), L("c")};
    bd_metrics_label_t b[2] = {L("a"), L("bc")};
    bd_metrics_count(s, BD_MF_TOKENS, a, 1);
    bd_metrics_count(s, BD_MF_TOKENS, b, 10);
    bd_metrics_merged_t m;
    bd_metrics_collect(&s, 1, &m);
    EXPECT_EQ(find(m, BD_MF_TOKENS, "ab", "c")->cells[0], 1u);
    EXPECT_EQ(find(m, BD_MF_TOKENS, "a", "bc")->cells[0], 10u);
    bd_metrics_slot_destroy(s);
}

TEST(MetricsStore, ManyTuplesSurviveIndexGrowth)
{
    bd_metrics_slot_t *s = bd_metrics_slot_create(BD_METRICS_MAX_SERIES);
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 3000; i++) {
            std::string v = "type" + std::to_string(i);
            bd_metrics_label_t l = {v.data(), v.size()};
            bd_metrics_count(s, BD_MF_UPSTREAM_ERRORS, &l, (uint64_t)i + 1);
        }
    }
    bd_metrics_merged_t m;
    bd_metrics_collect(&s, 1, &m);
    ASSERT_EQ(m.size(), 3000u);
    for (int i = 0; i < 3000; i += 7) {
        std::string v = "type" + std::to_string(i);
        const bd_metrics_sample_t *x = find(m, BD_MF_UPSTREAM_ERRORS, v.c_str());
        ASSERT_NE(x, nullptr) << v;
        EXPECT_EQ(x->cells[0], 2u * ((uint64_t)i + 1));
    }
    bd_metrics_slot_destroy(s);
}

TEST(MetricsStore, CapFoldsNewTuplesIntoOverflow)
{
    bd_metrics_slot_t *s = bd_metrics_slot_create(2);
    bd_metrics_label_t a = L("A"), b = L("B"), c = L("C"), d = L("D");
    bd_metrics_count(s, BD_MF_UPSTREAM_ERRORS, &a, 1);
    bd_metrics_count(s, BD_MF_UPSTREAM_ERRORS, &b, 1);
    bd_metrics_count(s, BD_MF_UPSTREAM_ERRORS, &c, 5); /* past the cap */
    bd_metrics_count(s, BD_MF_UPSTREAM_ERRORS, &d, 1);
    bd_metrics_count(s, BD_MF_UPSTREAM_ERRORS, &a, 1); /* known tuples still count */
    bd_metrics_count(s, BD_MF_UPSTREAM_RETRIES, nullptr, 1); /* label-less: never capped */
    bd_metrics_observe(s, BD_MF_REQUEST_DURATION, &c, 1000); /* a histogram folds too */

    bd_metrics_merged_t m;
    bd_metrics_collect(&s, 1, &m);
    EXPECT_EQ(find(m, BD_MF_UPSTREAM_ERRORS, "A")->cells[0], 2u);
    EXPECT_EQ(find(m, BD_MF_UPSTREAM_ERRORS, "B")->cells[0], 1u);
    EXPECT_EQ(find(m, BD_MF_UPSTREAM_ERRORS, "C"), nullptr);
    EXPECT_EQ(find(m, BD_MF_UPSTREAM_ERRORS, BD_METRICS_OVERFLOW)->cells[0], 6u);
    EXPECT_EQ(find(m, BD_MF_UPSTREAM_RETRIES)->cells[0], 1u);
    EXPECT_EQ(find(m, BD_MF_SERIES_OVERFLOW)->cells[0], 3u);
    const bd_metrics_sample_t *h = find(m, BD_MF_REQUEST_DURATION, BD_METRICS_OVERFLOW);
    ASSERT_NE(h, nullptr);
    EXPECT_EQ(h->cells[0], 1u);
    bd_metrics_slot_destroy(s);
}

TEST(MetricsStore, HistogramBucketsAreInclusiveUpperBounds)
{
    const bd_metrics_family_t *f = &bd_metrics_families[BD_MF_REQUEST_DURATION];
    ASSERT_GE(f->nbounds, 3);
    bd_metrics_slot_t *s = bd_metrics_slot_create(10);
    bd_metrics_label_t route = L("/x");
    bd_metrics_observe(s, BD_MF_REQUEST_DURATION, &route, f->bounds_us[0]);     /* on the bound */
    bd_metrics_observe(s, BD_MF_REQUEST_DURATION, &route, f->bounds_us[0] + 1); /* just past */
    bd_metrics_observe(s, BD_MF_REQUEST_DURATION, &route, -5);                  /* clamped to 0 */
    bd_metrics_observe(s, BD_MF_REQUEST_DURATION, &route, f->bounds_us[f->nbounds - 1] + 1);

    bd_metrics_merged_t m;
    bd_metrics_collect(&s, 1, &m);
    const bd_metrics_sample_t *h = find(m, BD_MF_REQUEST_DURATION, "/x");
    ASSERT_NE(h, nullptr);
    ASSERT_EQ(h->cells.size(), (size_t)f->nbounds + 2);
    EXPECT_EQ(h->cells[0], 2u);
    EXPECT_EQ(h->cells[1], 1u);
    EXPECT_EQ(h->cells[(size_t)f->nbounds], 1u); /* above every bound */
    uint64_t sum = (uint64_t)(f->bounds_us[0] * 2 + 1 + f->bounds_us[f->nbounds - 1] + 1);
    EXPECT_EQ(h->cells[(size_t)f->nbounds + 1], sum);
    bd_metrics_slot_destroy(s);
}

struct Writer {
    bd_metrics_slot_t *slot;
    int n;
    std::atomic<bool> done;
};

void *
write_many(void *arg)
{
    Writer *w = (Writer *)arg;
    bd_metrics_label_t fixed = L("fixed");
    for (int i = 0; i < w->n; i++) {
        bd_metrics_count(w->slot, BD_MF_UPSTREAM_ERRORS, &fixed, 1);
        if (i % 50 == 0) { /* new tuples now and then: inserts race with the reader */
            std::string v = "t" + std::to_string(i);
            bd_metrics_label_t l = {v.data(), v.size()};
            bd_metrics_count(w->slot, BD_MF_UPSTREAM_ERRORS, &l, 1);
        }
    }
    w->done.store(true);
    return nullptr;
}

/* The owner inserts and counts while another thread collects: every copy is
 * consistent (counters never go back) and the last one is exact. */
TEST(MetricsStore, ReaderCollectsWhileOwnerWrites)
{
    Writer w;
    w.slot = bd_metrics_slot_create(BD_METRICS_MAX_SERIES);
    w.n = 200000;
    w.done.store(false);
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, nullptr, write_many, &w), 0);
    uint64_t last = 0;
    size_t last_size = 0;
    while (!w.done.load()) {
        bd_metrics_merged_t m;
        bd_metrics_collect(&w.slot, 1, &m);
        const bd_metrics_sample_t *x = find(m, BD_MF_UPSTREAM_ERRORS, "fixed");
        uint64_t v = x ? x->cells[0] : 0;
        ASSERT_GE(v, last);
        ASSERT_GE(m.size(), last_size);
        last = v;
        last_size = m.size();
    }
    pthread_join(t, nullptr);
    bd_metrics_merged_t m;
    bd_metrics_collect(&w.slot, 1, &m);
    EXPECT_EQ(find(m, BD_MF_UPSTREAM_ERRORS, "fixed")->cells[0], (uint64_t)w.n);
    EXPECT_EQ(m.size(), 1u + (size_t)w.n / 50);
    bd_metrics_slot_destroy(w.slot);
}

} // namespace
