/*
 * bd_ratelimit_table.cc: the sharded rate-limit table. A shard is a mutex and a
 * hash map from key id to entry; entries are created on first use and kept (one
 * per key ever seen, a few dozen bytes). The lock is held for the arithmetic of
 * one entry only. Any thread.
 */
#include "modules/ratelimit/bd_ratelimit_table.h"

#include <pthread.h>

#include <functional>
#include <unordered_map>

#include "modules/ratelimit/bd_ratelimit_bucket.h"

enum { BD_RATELIMIT_SHARDS = 64 };

struct bd_ratelimit_entry_t {
    bd_ratelimit_bucket_t requests;
    bd_ratelimit_bucket_t tokens;
    int64_t in_flight;
};

struct alignas(64) bd_ratelimit_shard_t {
    pthread_mutex_t lock; /* guards entries and every entry in it */
    std::unordered_map<std::string, bd_ratelimit_entry_t> entries;
};

struct bd_ratelimit_table_t {
    bd_ratelimit_shard_t shards[BD_RATELIMIT_SHARDS];
};

bd_ratelimit_table_t *
bd_ratelimit_table_create(void)
{
    bd_ratelimit_table_t *t = new bd_ratelimit_table_t();
    for (bd_ratelimit_shard_t &s : t->shards) {
        pthread_mutex_init(&s.lock, nullptr);
    }
    return t;
}

void
bd_ratelimit_table_destroy(bd_ratelimit_table_t *t)
{
    for (bd_ratelimit_shard_t &s : t->shards) {
        pthread_mutex_destroy(&s.lock);
    }
    delete t;
}

/* Locks the shard of <key> and returns its entry (created empty). */
static bd_ratelimit_entry_t *
bd_ratelimit_lock(bd_ratelimit_table_t *t, const std::string &key, bd_ratelimit_shard_t **shard)
{
    bd_ratelimit_shard_t *s = &t->shards[std::hash<std::string>()(key) % BD_RATELIMIT_SHARDS];
    pthread_mutex_lock(&s->lock);
    *shard = s;
    auto it = s->entries.find(key);
    if (it == s->entries.end()) {
        bd_ratelimit_entry_t fresh{};
        it = s->entries.emplace(key, fresh).first;
    }
    return &it->second;
}

/* Fills the remaining/reset fields of <st> from <e> (lock held). */
static void
bd_ratelimit_fill(bd_ratelimit_entry_t *e, const bd_ratelimit_limits_t *lim, int64_t now_us,
                  bd_ratelimit_state_t *st)
{
    if (lim->rpm > 0) {
        st->requests_remaining = bd_ratelimit_bucket_remaining(&e->requests, lim->rpm, now_us);
        st->requests_full_in_us = bd_ratelimit_bucket_full_in_us(&e->requests, lim->rpm, now_us);
    }
    if (lim->tpm > 0) {
        st->tokens_remaining = bd_ratelimit_bucket_remaining(&e->tokens, lim->tpm, now_us);
        st->tokens_full_in_us = bd_ratelimit_bucket_full_in_us(&e->tokens, lim->tpm, now_us);
    }
}

void
bd_ratelimit_table_admit(bd_ratelimit_table_t *t, const std::string &key,
                         const bd_ratelimit_limits_t *lim, int64_t now_us, bd_ratelimit_state_t *st)
{
    *st = bd_ratelimit_state_t{};
    bd_ratelimit_shard_t *s;
    bd_ratelimit_entry_t *e = bd_ratelimit_lock(t, key, &s);
    if (lim->concurrency > 0 && e->in_flight >= lim->concurrency) {
        st->verdict = BD_RATELIMIT_CONCURRENCY;
        st->wait_us = 1000000;
    } else if (lim->rpm > 0 &&
               bd_ratelimit_bucket_take(&e->requests, lim->rpm, 1, now_us, &st->wait_us) != 0) {
        st->verdict = BD_RATELIMIT_REQUESTS;
    } else if (lim->concurrency > 0) {
        e->in_flight++;
    }
    bd_ratelimit_fill(e, lim, now_us, st);
    pthread_mutex_unlock(&s->lock);
}

void
bd_ratelimit_table_peek(bd_ratelimit_table_t *t, const std::string &key,
                        const bd_ratelimit_limits_t *lim, int64_t now_us, bd_ratelimit_state_t *st,
                        int64_t *in_flight)
{
    *st = bd_ratelimit_state_t{};
    bd_ratelimit_shard_t *s;
    bd_ratelimit_entry_t *e = bd_ratelimit_lock(t, key, &s);
    bd_ratelimit_fill(e, lim, now_us, st);
    *in_flight = e->in_flight;
    pthread_mutex_unlock(&s->lock);
}

void
bd_ratelimit_table_unadmit(bd_ratelimit_table_t *t, const std::string &key,
                           const bd_ratelimit_limits_t *lim, int64_t now_us)
{
    bd_ratelimit_shard_t *s;
    bd_ratelimit_entry_t *e = bd_ratelimit_lock(t, key, &s);
    if (lim->rpm > 0) {
        bd_ratelimit_bucket_give(&e->requests, lim->rpm, 1, now_us);
    }
    if (lim->concurrency > 0 && e->in_flight > 0) {
        e->in_flight--;
    }
    pthread_mutex_unlock(&s->lock);
}

void
bd_ratelimit_table_take_tokens(bd_ratelimit_table_t *t, const std::string &key,
                               const bd_ratelimit_limits_t *lim, int64_t amount, int64_t now_us,
                               bd_ratelimit_state_t *st)
{
    *st = bd_ratelimit_state_t{};
    bd_ratelimit_shard_t *s;
    bd_ratelimit_entry_t *e = bd_ratelimit_lock(t, key, &s);
    if (bd_ratelimit_bucket_take(&e->tokens, lim->tpm, amount, now_us, &st->wait_us) != 0) {
        st->verdict = BD_RATELIMIT_TOKENS;
    }
    bd_ratelimit_fill(e, lim, now_us, st);
    pthread_mutex_unlock(&s->lock);
}

void
bd_ratelimit_table_settle(bd_ratelimit_table_t *t, const std::string &key,
                          const bd_ratelimit_limits_t *lim, int64_t charged, int64_t used,
                          bool release_slot, int64_t now_us)
{
    bd_ratelimit_shard_t *s;
    bd_ratelimit_entry_t *e = bd_ratelimit_lock(t, key, &s);
    if (lim->tpm > 0 && charged != used) {
        bd_ratelimit_bucket_give(&e->tokens, lim->tpm, charged - used, now_us);
    }
    if (release_slot && e->in_flight > 0) {
        e->in_flight--;
    }
    pthread_mutex_unlock(&s->lock);
}
