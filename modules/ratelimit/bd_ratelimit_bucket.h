/*
 * bd_ratelimit_bucket.h: the token bucket arithmetic. A bucket holds up to
 * <capacity> tokens and refills continuously at <capacity> per minute (so a limit
 * of N per minute admits a burst of N, then one every 60/N seconds). Levels are
 * integers in micro-tokens, so refills and refunds are exact. Pure functions; the
 * caller serialises access (the ratelimit table's shard lock).
 */
#ifndef BD_RATELIMIT_BUCKET_H
#define BD_RATELIMIT_BUCKET_H

#include <stdint.h>

enum { BD_RATELIMIT_UNIT = 1000000 }; /* micro-tokens per token */

/* Limits above this are refused at conf time; it keeps the arithmetic in int64. */
#define BD_RATELIMIT_MAX_CAPACITY 1000000000LL

struct bd_ratelimit_bucket_t {
    int64_t level;      /* micro-tokens; below zero after an overdraft */
    int64_t updated_us; /* monotonic time of the last refill */
    bool started;       /* false: full at the first use */
};

/* Refills <b> up to <now_us> and clamps it to <capacity> (which may have changed). */
void bd_ratelimit_bucket_refill(bd_ratelimit_bucket_t *b, int64_t capacity, int64_t now_us);

/* Takes <amount> whole tokens when the bucket holds them. An amount larger than
 * the capacity is taken from a full bucket (the level goes below zero), so that
 * it is slow rather than impossible. Returns 0 when taken; -1 when not, with
 * *<wait_us> set to the time until it could be. */
int bd_ratelimit_bucket_take(bd_ratelimit_bucket_t *b, int64_t capacity, int64_t amount,
                             int64_t now_us, int64_t *wait_us);

/* Adds <amount> tokens (a refund; negative takes more, possibly below zero),
 * never above the capacity. */
void bd_ratelimit_bucket_give(bd_ratelimit_bucket_t *b, int64_t capacity, int64_t amount,
                              int64_t now_us);

/* Whole tokens available at <now_us> (never negative). */
int64_t bd_ratelimit_bucket_remaining(bd_ratelimit_bucket_t *b, int64_t capacity, int64_t now_us);

/* Microseconds from <now_us> until the bucket is full again. */
int64_t bd_ratelimit_bucket_full_in_us(bd_ratelimit_bucket_t *b, int64_t capacity, int64_t now_us);

#endif
