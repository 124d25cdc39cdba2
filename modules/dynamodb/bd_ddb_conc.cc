/*
 * bd_ddb_conc.cc: the concurrency table: per key what this task runs, what the
 * key's item holds for it, when its expiry was last written. Sharded by key, one
 * mutex per shard held for one entry's arithmetic (or, on the sync thread, one
 * shard's scan). An entry idle for a TTL gives its slots back and is dropped.
 */
#include "modules/dynamodb/bd_ddb_conc.h"

#include <pthread.h>

#include <atomic>
#include <functional>
#include <unordered_map>

enum { BD_DDB_CONC_SHARDS = 16 };

/* After the counter refused growth, ask again no sooner than this. */
static const int64_t BD_DDB_CONC_RETRY_MS = 1000;

struct bd_ddb_conc_entry_t {
    int64_t limit = 0;
    int64_t in_flight = 0;
    int64_t held = 0;       /* what the item holds for this task */
    int64_t written_ms = 0; /* when the task's expiry was last written (0: not yet) */
    int64_t used_ms = 0;    /* the last take */
    int64_t full_until_ms = 0;
    bool unknown = false; /* a conditional update failed: read the item */
};

struct alignas(64) bd_ddb_conc_shard_t {
    pthread_mutex_t lock;
    std::unordered_map<std::string, bd_ddb_conc_entry_t> entries;
};

struct bd_ddb_conc_t {
    int64_t percent;
    int64_t ttl_ms;
    std::atomic<uint64_t> reclaimed{0}, refused{0};
    bd_ddb_conc_shard_t shards[BD_DDB_CONC_SHARDS];
};

bd_ddb_conc_t *
bd_ddb_conc_create(int64_t percent, int64_t ttl_ms)
{
    bd_ddb_conc_t *c = new bd_ddb_conc_t();
    c->percent = percent;
    c->ttl_ms = ttl_ms;
    for (bd_ddb_conc_shard_t &s : c->shards) {
        pthread_mutex_init(&s.lock, nullptr);
    }
    return c;
}

void
bd_ddb_conc_destroy(bd_ddb_conc_t *c)
{
    for (bd_ddb_conc_shard_t &s : c->shards) {
        pthread_mutex_destroy(&s.lock);
    }
    delete c;
}

int64_t
bd_ddb_conc_slice(const bd_ddb_conc_t *c, int64_t limit)
{
    int64_t s = limit * c->percent / 100;
    return s < 1 ? 1 : s;
}

static bd_ddb_conc_shard_t *
bd_ddb_conc_lock(bd_ddb_conc_t *c, const std::string &key)
{
    bd_ddb_conc_shard_t *s = &c->shards[std::hash<std::string>()(key) % BD_DDB_CONC_SHARDS];
    pthread_mutex_lock(&s->lock);
    return s;
}

bool
bd_ddb_conc_take(bd_ddb_conc_t *c, const std::string &key, int64_t limit, int64_t now_ms)
{
    bd_ddb_conc_shard_t *s = bd_ddb_conc_lock(c, key);
    bd_ddb_conc_entry_t &e = s->entries[key];
    e.limit = limit;
    /* Before its first slots land the task holds one slice on credit. */
    int64_t slice = bd_ddb_conc_slice(c, limit);
    bool ok = (e.held > slice ? e.held : slice) - e.in_flight >= 1;
    if (ok) {
        e.in_flight++;
        e.used_ms = now_ms;
    }
    pthread_mutex_unlock(&s->lock);
    if (!ok) {
        c->refused.fetch_add(1, std::memory_order_relaxed);
    }
    return ok;
}

void
bd_ddb_conc_give(bd_ddb_conc_t *c, const std::string &key)
{
    bd_ddb_conc_shard_t *s = bd_ddb_conc_lock(c, key);
    auto it = s->entries.find(key);
    if (it != s->entries.end() && it->second.in_flight > 0) {
        it->second.in_flight--;
    }
    pthread_mutex_unlock(&s->lock);
}

/* What <e> needs at <now_ms>; false when nothing. */
static bool
bd_ddb_conc_need(const bd_ddb_conc_t *c, const bd_ddb_conc_entry_t &e, int64_t now_ms,
                 bool release, bd_ddb_conc_need_t *n)
{
    n->limit = e.limit;
    n->held = e.held;
    n->read = e.unknown;
    if (e.unknown) {
        n->target = e.held;
        n->debt = 0;
        return true;
    }
    bool idle = e.in_flight == 0 && now_ms - e.used_ms >= c->ttl_ms;
    int64_t floor = e.held > e.in_flight ? e.held : e.in_flight;
    n->target = release || idle ? e.in_flight : e.in_flight + bd_ddb_conc_slice(c, e.limit);
    if (n->target > floor && now_ms < e.full_until_ms) {
        n->target = floor; /* the counter is full: only what already runs */
    }
    n->debt = e.in_flight > e.held ? e.in_flight - e.held : 0;
    bool refresh = e.held > 0 && now_ms - e.written_ms >= c->ttl_ms / 3;
    return n->target != e.held || refresh;
}

void
bd_ddb_conc_needs(bd_ddb_conc_t *c, int64_t now_ms, bool release,
                  std::vector<bd_ddb_conc_need_t> *out)
{
    for (bd_ddb_conc_shard_t &s : c->shards) {
        pthread_mutex_lock(&s.lock);
        for (auto it = s.entries.begin(); it != s.entries.end();) {
            bd_ddb_conc_need_t n;
            if (bd_ddb_conc_need(c, it->second, now_ms, release, &n)) {
                n.key = it->first;
                out->push_back(n);
            } else if (it->second.held == 0 && it->second.in_flight == 0 &&
                       now_ms - it->second.used_ms >= c->ttl_ms) {
                it = s.entries.erase(it); /* idle, nothing held */
                continue;
            }
            ++it;
        }
        pthread_mutex_unlock(&s.lock);
    }
}

void
bd_ddb_conc_settle(bd_ddb_conc_t *c, const bd_ddb_conc_need_t *n, int outcome, int64_t held,
                   int64_t now_ms)
{
    bd_ddb_conc_shard_t *s = bd_ddb_conc_lock(c, n->key);
    bd_ddb_conc_entry_t &e = s->entries[n->key];
    if (outcome == BD_DDB_CONC_WRITTEN) {
        e.held = n->target;
        e.written_ms = now_ms;
    } else {
        e.held = held;
        e.unknown = false;
        if (outcome == BD_DDB_CONC_FULL) {
            e.full_until_ms = now_ms + BD_DDB_CONC_RETRY_MS;
        } else {
            e.written_ms = 0; /* the expiry read is not ours to trust: write it */
        }
    }
    pthread_mutex_unlock(&s->lock);
}

void
bd_ddb_conc_unknown(bd_ddb_conc_t *c, const std::string &key)
{
    bd_ddb_conc_shard_t *s = bd_ddb_conc_lock(c, key);
    s->entries[key].unknown = true;
    pthread_mutex_unlock(&s->lock);
}

void
bd_ddb_conc_reclaimed(bd_ddb_conc_t *c, int64_t slots)
{
    c->reclaimed.fetch_add((uint64_t)slots, std::memory_order_relaxed);
}

void
bd_ddb_conc_stats(bd_ddb_conc_t *c, bd_ddb_conc_stats_t *out)
{
    out->held = 0;
    for (bd_ddb_conc_shard_t &s : c->shards) {
        pthread_mutex_lock(&s.lock);
        for (const auto &kv : s.entries) {
            out->held += kv.second.held;
        }
        pthread_mutex_unlock(&s.lock);
    }
    out->reclaimed = c->reclaimed.load(std::memory_order_relaxed);
    out->refused = c->refused.load(std::memory_order_relaxed);
}
