/*
 * bd_metrics_store.cc: the per-worker slots: the family table, the label-tuple
 * hash map, counting and histogram observation, and the scraper's copy.
 * A slot has one writer (its worker). Series are never freed or moved before the
 * slot is destroyed, their labels never change once published, and the writer
 * publishes a new series under the slot's lock; so a reader that copied the
 * series list under that lock may read the series afterwards without it.
 */
#include "modules/metrics/bd_metrics.h"

#include <string.h>

#include "core/bd_core.h"

/* Latencies of LLM calls run from milliseconds to minutes. */
static const int64_t bd_metrics_duration_bounds_us[] = {
    5000,    10000,   25000,    50000,    100000,    250000,    500000,    1000000,
    2500000, 5000000, 10000000, 30000000, 60000000, 120000000, 300000000,
};

static const int64_t bd_metrics_ttft_bounds_us[] = {
    50000,   100000,  250000,  500000,  750000,   1000000,
    1500000, 2000000, 3000000, 5000000, 10000000, 30000000,
};

#define BD_METRICS_NBOUNDS(a) ((int)(sizeof(a) / sizeof((a)[0])))

static_assert(BD_METRICS_NBOUNDS(bd_metrics_duration_bounds_us) <= BD_METRICS_MAX_BUCKETS,
              "too many buckets");

const bd_metrics_family_t bd_metrics_families[BD_MF_COUNT] = {
    {"bedrockd_requests_total", "Requests answered, by route, HTTP status and Bedrock model.",
     BD_METRICS_COUNTER, 3, {"route", "status", "model"}, nullptr, 0},
    {"bedrockd_request_duration_seconds",
     "Time from the request's arrival to its last byte (whole stream for streams).",
     BD_METRICS_HISTOGRAM, 1, {"route"}, bd_metrics_duration_bounds_us,
     BD_METRICS_NBOUNDS(bd_metrics_duration_bounds_us)},
    {"bedrockd_time_to_first_token_seconds",
     "Streams: time from the request's arrival to its first event sent to the client.",
     BD_METRICS_HISTOGRAM, 1, {"model"}, bd_metrics_ttft_bounds_us,
     BD_METRICS_NBOUNDS(bd_metrics_ttft_bounds_us)},
    {"bedrockd_upstream_duration_seconds",
     "Time of a Bedrock call, retries included, by operation.", BD_METRICS_HISTOGRAM, 1,
     {"operation"}, bd_metrics_duration_bounds_us,
     BD_METRICS_NBOUNDS(bd_metrics_duration_bounds_us)},
    {"bedrockd_tokens_total", "Tokens reported by Bedrock, by model and type.",
     BD_METRICS_COUNTER, 2, {"model", "type"}, nullptr, 0},
    {"bedrockd_ratelimit_rejections_total", "Requests refused by the gateway's rate limits.",
     BD_METRICS_COUNTER, 1, {"limit"}, nullptr, 0},
    {"bedrockd_auth_failures_total", "Requests refused by authentication or authorization.",
     BD_METRICS_COUNTER, 1, {"reason"}, nullptr, 0},
    {"bedrockd_upstream_errors_total",
     "Bedrock calls that failed after their last attempt, by exception name.",
     BD_METRICS_COUNTER, 1, {"type"}, nullptr, 0},
    {"bedrockd_upstream_retries_total", "Bedrock attempts that were retries of a failed one.",
     BD_METRICS_COUNTER, 0, {}, nullptr, 0},
    {"bedrockd_metrics_series_overflow_total",
     "Label tuples counted in an _overflow series because a worker reached its series cap.",
     BD_METRICS_COUNTER, 0, {}, nullptr, 0},
    {"bedrockd_betas_dropped_total",
     "anthropic-beta values of clients that the model does not accept on Bedrock (not sent).",
     BD_METRICS_COUNTER, 1, {"model"}, nullptr, 0},
    {"bedrockd_response_cache_total",
     "Cacheable requests by what the response cache did: hit, miss, bypass.", BD_METRICS_COUNTER,
     1, {"result"}, nullptr, 0},
    {"bedrockd_key_requests_total", "Requests of authenticated API keys, by key id and HTTP status.",
     BD_METRICS_COUNTER, 2, {"key", "status"}, nullptr, 0},
    {"bedrockd_key_tokens_total", "Tokens reported by Bedrock, by API key id and type.",
     BD_METRICS_COUNTER, 2, {"key", "type"}, nullptr, 0},
};

static const size_t BD_METRICS_INITIAL_INDEX = 64;

bd_metrics_slot_t *
bd_metrics_slot_create(size_t max_series)
{
    bd_metrics_slot_t *s = new bd_metrics_slot_t();
    pthread_mutex_init(&s->lock, nullptr);
    s->index.assign(BD_METRICS_INITIAL_INDEX, -1);
    s->max_series = max_series;
    s->limited = 0;
    return s;
}

void
bd_metrics_slot_destroy(bd_metrics_slot_t *s)
{
    if (s == nullptr) {
        return;
    }
    for (bd_metrics_series_t *series : s->series) {
        delete[] series->cells;
        delete series;
    }
    pthread_mutex_destroy(&s->lock);
    delete s;
}

/* FNV-1a over the family and the length-prefixed values. */
static uint64_t
bd_metrics_hash(int family, const bd_metrics_label_t *labels, int n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    h = (h ^ (uint64_t)family) * 0x100000001b3ull;
    for (int i = 0; i < n; i++) {
        h = (h ^ (uint64_t)labels[i].len) * 0x100000001b3ull;
        for (size_t j = 0; j < labels[i].len; j++) {
            h = (h ^ (uint8_t)labels[i].data[j]) * 0x100000001b3ull;
        }
    }
    return h;
}

static bool
bd_metrics_same(const bd_metrics_series_t *series, int family, const bd_metrics_label_t *labels,
                int n)
{
    if (series->family != family) {
        return false;
    }
    for (int i = 0; i < n; i++) {
        const std::string &v = series->labels[i];
        if (v.size() != labels[i].len || memcmp(v.data(), labels[i].data, v.size()) != 0) {
            return false;
        }
    }
    return true;
}

/* Doubles the index (owner only; the scraper never reads it). */
static void
bd_metrics_grow(bd_metrics_slot_t *s)
{
    std::vector<int32_t> next(s->index.size() * 2, -1);
    size_t mask = next.size() - 1;
    for (size_t at = 0; at < s->series.size(); at++) {
        size_t i = s->series[at]->hash & mask;
        while (next[i] >= 0) {
            i = (i + 1) & mask;
        }
        next[i] = (int32_t)at;
    }
    s->index.swap(next);
}

static bd_metrics_series_t *
bd_metrics_insert(bd_metrics_slot_t *s, int family, const bd_metrics_label_t *labels, uint64_t h)
{
    const bd_metrics_family_t *f = &bd_metrics_families[family];
    bd_metrics_series_t *series = new bd_metrics_series_t();
    series->family = family;
    series->hash = h;
    for (int i = 0; i < f->nlabels; i++) {
        series->labels[i].assign(labels[i].data, labels[i].len);
    }
    series->ncells = f->type == BD_METRICS_HISTOGRAM ? f->nbounds + 2 : 1;
    series->cells = new std::atomic<uint64_t>[(size_t)series->ncells];
    for (int i = 0; i < series->ncells; i++) {
        series->cells[i].store(0, std::memory_order_relaxed);
    }
    if ((s->series.size() + 1) * 2 > s->index.size()) {
        bd_metrics_grow(s);
    }
    pthread_mutex_lock(&s->lock);
    s->series.push_back(series);
    pthread_mutex_unlock(&s->lock);
    size_t mask = s->index.size() - 1;
    size_t i = h & mask;
    while (s->index[i] >= 0) {
        i = (i + 1) & mask;
    }
    s->index[i] = (int32_t)(s->series.size() - 1);
    return series;
}

static bool
bd_metrics_is_overflow(const bd_metrics_label_t *labels, int n)
{
    static const size_t len = sizeof(BD_METRICS_OVERFLOW) - 1;
    for (int i = 0; i < n; i++) {
        if (labels[i].len != len || memcmp(labels[i].data, BD_METRICS_OVERFLOW, len) != 0) {
            return false;
        }
    }
    return true;
}

static bd_metrics_series_t *
bd_metrics_lookup(bd_metrics_slot_t *s, int family, const bd_metrics_label_t *labels)
{
    BD_ASSERT(family >= 0 && family < BD_MF_COUNT);
    int n = bd_metrics_families[family].nlabels;
    uint64_t h = bd_metrics_hash(family, labels, n);
    size_t mask = s->index.size() - 1;
    for (size_t i = h & mask; s->index[i] >= 0; i = (i + 1) & mask) {
        bd_metrics_series_t *series = s->series[(size_t)s->index[i]];
        if (series->hash == h && bd_metrics_same(series, family, labels, n)) {
            return series;
        }
    }
    /* Label-less families and the overflow tuples are few and fixed: never capped. */
    if (n == 0 || bd_metrics_is_overflow(labels, n)) {
        return bd_metrics_insert(s, family, labels, h);
    }
    if (s->limited >= s->max_series) {
        bd_metrics_count(s, BD_MF_SERIES_OVERFLOW, nullptr, 1);
        bd_metrics_label_t over[BD_METRICS_MAX_LABELS];
        for (int i = 0; i < n; i++) {
            over[i] = {BD_METRICS_OVERFLOW, sizeof(BD_METRICS_OVERFLOW) - 1};
        }
        return bd_metrics_lookup(s, family, over);
    }
    s->limited++;
    return bd_metrics_insert(s, family, labels, h);
}

/* One writer per cell: a plain load and store is enough, and cheaper than an
 * atomic read-modify-write. */
static inline void
bd_metrics_add(std::atomic<uint64_t> *cell, uint64_t n)
{
    cell->store(cell->load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

void
bd_metrics_count(bd_metrics_slot_t *s, int family, const bd_metrics_label_t *labels, uint64_t n)
{
    BD_ASSERT(bd_metrics_families[family].type == BD_METRICS_COUNTER);
    bd_metrics_add(&bd_metrics_lookup(s, family, labels)->cells[0], n);
}

void
bd_metrics_observe(bd_metrics_slot_t *s, int family, const bd_metrics_label_t *labels, int64_t us)
{
    const bd_metrics_family_t *f = &bd_metrics_families[family];
    BD_ASSERT(f->type == BD_METRICS_HISTOGRAM);
    bd_metrics_series_t *series = bd_metrics_lookup(s, family, labels);
    if (us < 0) {
        us = 0;
    }
    int b = 0;
    while (b < f->nbounds && us > f->bounds_us[b]) {
        b++;
    }
    bd_metrics_add(&series->cells[b], 1);
    bd_metrics_add(&series->cells[f->nbounds + 1], (uint64_t)us);
}

/* Map keys sort by family, then by label values. */
static std::string
bd_metrics_key(const bd_metrics_series_t *series)
{
    std::string key(1, (char)('A' + series->family));
    for (int i = 0; i < bd_metrics_families[series->family].nlabels; i++) {
        key.append(series->labels[i]);
        key.push_back('\0');
    }
    return key;
}

void
bd_metrics_collect(bd_metrics_slot_t *const *slots, size_t n, bd_metrics_merged_t *out)
{
    std::vector<bd_metrics_series_t *> list;
    for (size_t k = 0; k < n; k++) {
        /* Only the list is copied under the lock; see the comment at the top. */
        pthread_mutex_lock(&slots[k]->lock);
        list = slots[k]->series;
        pthread_mutex_unlock(&slots[k]->lock);
        for (const bd_metrics_series_t *series : list) {
            bd_metrics_sample_t &sample = (*out)[bd_metrics_key(series)];
            if (sample.cells.empty()) {
                sample.family = series->family;
                for (int i = 0; i < BD_METRICS_MAX_LABELS; i++) {
                    sample.labels[i] = series->labels[i];
                }
                sample.cells.assign((size_t)series->ncells, 0);
            }
            for (int i = 0; i < series->ncells; i++) {
                sample.cells[(size_t)i] += series->cells[i].load(std::memory_order_relaxed);
            }
        }
    }
}
