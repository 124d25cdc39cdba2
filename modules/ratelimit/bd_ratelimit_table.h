/*
 * bd_ratelimit_table.h: the process-wide rate-limit state, exact across worker
 * threads: per principal a requests bucket, a tokens bucket and a count of
 * requests in flight. Sharded by key id, one mutex per shard; every operation
 * locks one shard, does arithmetic, unlocks (nothing else runs under a lock).
 * Owned by the process (ratelimit module's module_ctx), so it survives reloads.
 */
#ifndef BD_RATELIMIT_TABLE_H
#define BD_RATELIMIT_TABLE_H

#include <stdint.h>

#include <string>

/* The limits of one principal; 0 = none. They come with each call, so a key
 * whose limits change applies the new ones at its next request. */
struct bd_ratelimit_limits_t {
    int64_t rpm;
    int64_t tpm;
    int64_t concurrency;
};

enum bd_ratelimit_verdict_e {
    BD_RATELIMIT_ADMITTED = 0,
    BD_RATELIMIT_REQUESTS,    /* requests per minute exhausted */
    BD_RATELIMIT_TOKENS,      /* tokens per minute exhausted */
    BD_RATELIMIT_CONCURRENCY, /* too many requests in flight */
};

/* What the buckets say after an operation, for the response headers. Fields of
 * a dimension without a limit are 0. */
struct bd_ratelimit_state_t {
    int verdict;                /* bd_ratelimit_verdict_e */
    int64_t wait_us;            /* refused: time until it could pass */
    int64_t requests_remaining; /* whole requests */
    int64_t requests_full_in_us;
    int64_t tokens_remaining;
    int64_t tokens_full_in_us;
};

struct bd_ratelimit_table_t;

bd_ratelimit_table_t *bd_ratelimit_table_create(void);
void bd_ratelimit_table_destroy(bd_ratelimit_table_t *t);

/* Admits one request for <key>: a concurrency slot (when limited) and a request
 * token (when limited), both or neither. Fills <st> either way. Any thread. */
void bd_ratelimit_table_admit(bd_ratelimit_table_t *t, const std::string &key,
                              const bd_ratelimit_limits_t *lim, int64_t now_us,
                              bd_ratelimit_state_t *st);

/* Takes back what an admit took (another principal refused the request). */
void bd_ratelimit_table_unadmit(bd_ratelimit_table_t *t, const std::string &key,
                                const bd_ratelimit_limits_t *lim, int64_t now_us);

/* Takes <amount> tokens from <key>'s tokens bucket (lim->tpm must be set). */
void bd_ratelimit_table_take_tokens(bd_ratelimit_table_t *t, const std::string &key,
                                    const bd_ratelimit_limits_t *lim, int64_t amount,
                                    int64_t now_us, bd_ratelimit_state_t *st);

/* The end of a request: gives back <charged> - <used> tokens (negative takes
 * more) and releases the concurrency slot when <release_slot>. */
void bd_ratelimit_table_settle(bd_ratelimit_table_t *t, const std::string &key,
                               const bd_ratelimit_limits_t *lim, int64_t charged, int64_t used,
                               bool release_slot, int64_t now_us);

/* What <key>'s buckets hold now, without taking anything: the remaining fields
 * of <st>, and the requests in flight (counted for keys with a concurrency
 * limit only). Any thread. */
void bd_ratelimit_table_peek(bd_ratelimit_table_t *t, const std::string &key,
                             const bd_ratelimit_limits_t *lim, int64_t now_us,
                             bd_ratelimit_state_t *st, int64_t *in_flight);

#endif
