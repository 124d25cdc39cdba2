/*
 * bd_ddb_lease.cc: the lease table: per key and kind the minute it is for, what the
 * task has used of it and what the counter item holds for the task. Sharded by
 * key, one mutex per shard held for one entry's arithmetic (or, on the sync
 * thread, one shard's scan). Entries of past minutes are dropped by the scan.
 */
#include "modules/dynamodb/bd_ddb_lease.h"

#include <pthread.h>

#include <atomic>
#include <functional>
#include <unordered_map>

enum { BD_DDB_LEASE_SHARDS = 16 };

struct bd_ddb_lease_entry_t {
    int64_t window = -1;
    int64_t limit = 0;
    int64_t used = 0;   /* taken by this task in the window */
    int64_t leased = 0; /* held for this task by the counter item */
    bool spent = false; /* the counter refused a slice: no more this window */
};

struct alignas(64) bd_ddb_lease_shard_t {
    pthread_mutex_t lock;
    std::unordered_map<std::string, bd_ddb_lease_entry_t> entries; /* "<kind><key>" */
};

struct bd_ddb_leases_t {
    int64_t percent;
    int64_t expected_tasks;
    std::atomic<bool> degraded{false};
    std::atomic<uint64_t> granted{0}, spent{0}, refused{0};
    bd_ddb_lease_shard_t shards[BD_DDB_LEASE_SHARDS];
};

bd_ddb_leases_t *
bd_ddb_leases_create(int64_t percent, int64_t expected_tasks)
{
    bd_ddb_leases_t *l = new bd_ddb_leases_t();
    l->percent = percent;
    l->expected_tasks = expected_tasks < 1 ? 1 : expected_tasks;
    for (bd_ddb_lease_shard_t &s : l->shards) {
        pthread_mutex_init(&s.lock, nullptr);
    }
    return l;
}

void
bd_ddb_leases_destroy(bd_ddb_leases_t *l)
{
    for (bd_ddb_lease_shard_t &s : l->shards) {
        pthread_mutex_destroy(&s.lock);
    }
    delete l;
}

int64_t
bd_ddb_lease_window(int64_t wall_ms)
{
    return wall_ms / 60000;
}

int64_t
bd_ddb_lease_slice(const bd_ddb_leases_t *l, int64_t limit)
{
    int64_t s = limit * l->percent / 100;
    return s < 1 ? 1 : s;
}

bool
bd_ddb_leases_degraded(const bd_ddb_leases_t *l)
{
    return l->degraded.load(std::memory_order_relaxed);
}

void
bd_ddb_leases_set_degraded(bd_ddb_leases_t *l, bool degraded)
{
    l->degraded.store(degraded, std::memory_order_relaxed);
}

int64_t
bd_ddb_leases_share(const bd_ddb_leases_t *l, int64_t limit)
{
    return limit <= 0 ? limit : (limit + l->expected_tasks - 1) / l->expected_tasks;
}

static std::string
bd_ddb_lease_id(const std::string &key, int kind)
{
    std::string id(1, (char)('0' + kind));
    return id + key;
}

/* Locks the shard of <id> and returns it. */
static bd_ddb_lease_shard_t *
bd_ddb_lease_lock(bd_ddb_leases_t *l, const std::string &id)
{
    bd_ddb_lease_shard_t *s = &l->shards[std::hash<std::string>()(id) % BD_DDB_LEASE_SHARDS];
    pthread_mutex_lock(&s->lock);
    return s;
}

int
bd_ddb_leases_take(bd_ddb_leases_t *l, const std::string &key, int kind, int64_t limit,
                   int64_t amount, int64_t wall_ms, int64_t *wait_ms)
{
    int64_t w = bd_ddb_lease_window(wall_ms);
    std::string id = bd_ddb_lease_id(key, kind);
    bd_ddb_lease_shard_t *s = bd_ddb_lease_lock(l, id);
    bd_ddb_lease_entry_t &e = s->entries[id];
    if (e.window != w) {
        e = bd_ddb_lease_entry_t();
        e.window = w;
    }
    e.limit = limit;
    /* Before its first slice lands the task holds one slice on credit. */
    int64_t slice = bd_ddb_lease_slice(l, limit);
    int64_t room = (e.leased > slice ? e.leased : slice) - e.used;
    bool ok = kind == BD_DDB_LEASE_RPM ? room >= amount : room > 0;
    if (ok) {
        e.used += amount;
    }
    pthread_mutex_unlock(&s->lock);
    if (!ok) {
        l->refused.fetch_add(1, std::memory_order_relaxed);
        *wait_ms = (w + 1) * 60000 - wall_ms;
        return -1;
    }
    *wait_ms = 0;
    return 0;
}

void
bd_ddb_leases_give(bd_ddb_leases_t *l, const std::string &key, int kind, int64_t amount,
                   int64_t taken_ms)
{
    std::string id = bd_ddb_lease_id(key, kind);
    bd_ddb_lease_shard_t *s = bd_ddb_lease_lock(l, id);
    auto it = s->entries.find(id);
    if (it != s->entries.end() && it->second.window == bd_ddb_lease_window(taken_ms)) {
        it->second.used -= amount;
        if (it->second.used < 0) {
            it->second.used = 0;
        }
    }
    pthread_mutex_unlock(&s->lock);
}

void
bd_ddb_leases_needs(bd_ddb_leases_t *l, int64_t wall_ms, std::vector<bd_ddb_lease_need_t> *out)
{
    int64_t w = bd_ddb_lease_window(wall_ms);
    for (bd_ddb_lease_shard_t &s : l->shards) {
        pthread_mutex_lock(&s.lock);
        for (auto it = s.entries.begin(); it != s.entries.end();) {
            bd_ddb_lease_entry_t &e = it->second;
            if (e.window < w) {
                it = s.entries.erase(it); /* a past minute: its counter is done with */
                continue;
            }
            int64_t slice = bd_ddb_lease_slice(l, e.limit);
            int64_t room = (e.leased > slice ? e.leased : slice) - e.used;
            bd_ddb_lease_need_t n;
            n.debt = e.used > e.leased ? e.used - e.leased : 0;
            n.want = !e.spent && room * 2 <= slice ? slice : 0;
            if (n.want > 0 && n.debt + n.want > e.limit) {
                n.want = e.limit > n.debt ? e.limit - n.debt : 0;
                e.spent = n.want == 0;
            }
            if (n.debt > 0 || n.want > 0) {
                n.key = it->first.substr(1);
                n.kind = it->first[0] - '0';
                n.window = e.window;
                n.limit = e.limit;
                out->push_back(n);
            }
            ++it;
        }
        pthread_mutex_unlock(&s.lock);
    }
}

void
bd_ddb_leases_settle(bd_ddb_leases_t *l, const bd_ddb_lease_need_t *n, bool granted)
{
    std::string id = bd_ddb_lease_id(n->key, n->kind);
    bd_ddb_lease_shard_t *s = bd_ddb_lease_lock(l, id);
    auto it = s->entries.find(id);
    if (it != s->entries.end() && it->second.window == n->window) {
        if (granted) {
            it->second.leased += n->debt + n->want;
        } else {
            it->second.spent = true; /* the conditional update (debt included) did not apply */
        }
    }
    pthread_mutex_unlock(&s->lock);
    if (n->want > 0) {
        (granted ? l->granted : l->spent).fetch_add(1, std::memory_order_relaxed);
    }
}

void
bd_ddb_leases_stats(const bd_ddb_leases_t *l, bd_ddb_lease_stats_t *out)
{
    out->granted = l->granted.load(std::memory_order_relaxed);
    out->spent = l->spent.load(std::memory_order_relaxed);
    out->refused = l->refused.load(std::memory_order_relaxed);
}
