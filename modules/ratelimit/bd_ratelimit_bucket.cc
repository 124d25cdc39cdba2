/*
 * bd_ratelimit_bucket.cc: token bucket arithmetic in integer micro-tokens. A
 * bucket of capacity C gains elapsed_us * C / 60 micro-tokens, which is C tokens
 * per 60 s. Amounts and overdrafts are clamped so that every product stays well
 * inside int64. Pure; the caller holds the lock.
 */
#include "modules/ratelimit/bd_ratelimit_bucket.h"

/* Beyond this much idle time a bucket is full whatever its level: it bounds the
 * product elapsed * capacity below 2^63. */
static const int64_t BD_RATELIMIT_MAX_ELAPSED_US = 1000000000LL;

/* The deepest overdraft a bucket keeps (micro-tokens). */
static const int64_t BD_RATELIMIT_MIN_LEVEL = -10000000000000000LL;

static int64_t
bd_ratelimit_clamp_amount(int64_t amount)
{
    if (amount > BD_RATELIMIT_MAX_CAPACITY) {
        return BD_RATELIMIT_MAX_CAPACITY;
    }
    return amount < -BD_RATELIMIT_MAX_CAPACITY ? -BD_RATELIMIT_MAX_CAPACITY : amount;
}

static int64_t
bd_ratelimit_ceil_div(int64_t a, int64_t b)
{
    return a <= 0 ? 0 : (a + b - 1) / b;
}

void
bd_ratelimit_bucket_refill(bd_ratelimit_bucket_t *b, int64_t capacity, int64_t now_us)
{
    int64_t full = capacity * BD_RATELIMIT_UNIT;
    if (!b->started) {
        b->started = true;
        b->level = full;
        b->updated_us = now_us;
        return;
    }
    int64_t elapsed = now_us - b->updated_us;
    if (elapsed > 0) {
        if (elapsed >= BD_RATELIMIT_MAX_ELAPSED_US) {
            b->level = full;
        } else {
            b->level += elapsed * capacity / 60;
        }
        b->updated_us = now_us;
    }
    if (b->level > full) {
        b->level = full;
    }
}

int
bd_ratelimit_bucket_take(bd_ratelimit_bucket_t *b, int64_t capacity, int64_t amount,
                         int64_t now_us, int64_t *wait_us)
{
    bd_ratelimit_bucket_refill(b, capacity, now_us);
    amount = bd_ratelimit_clamp_amount(amount < 0 ? 0 : amount);
    int64_t need = (amount < capacity ? amount : capacity) * BD_RATELIMIT_UNIT;
    if (b->level >= need) {
        b->level -= amount * BD_RATELIMIT_UNIT;
        if (b->level < BD_RATELIMIT_MIN_LEVEL) {
            b->level = BD_RATELIMIT_MIN_LEVEL;
        }
        *wait_us = 0;
        return 0;
    }
    /* capacity/60 micro-tokens per microsecond: the deficit takes deficit*60/capacity. */
    *wait_us = bd_ratelimit_ceil_div((need - b->level) * 60, capacity);
    return -1;
}

void
bd_ratelimit_bucket_give(bd_ratelimit_bucket_t *b, int64_t capacity, int64_t amount,
                         int64_t now_us)
{
    bd_ratelimit_bucket_refill(b, capacity, now_us);
    b->level += bd_ratelimit_clamp_amount(amount) * BD_RATELIMIT_UNIT;
    if (b->level > capacity * BD_RATELIMIT_UNIT) {
        b->level = capacity * BD_RATELIMIT_UNIT;
    }
    if (b->level < BD_RATELIMIT_MIN_LEVEL) {
        b->level = BD_RATELIMIT_MIN_LEVEL;
    }
}

int64_t
bd_ratelimit_bucket_remaining(bd_ratelimit_bucket_t *b, int64_t capacity, int64_t now_us)
{
    bd_ratelimit_bucket_refill(b, capacity, now_us);
    return b->level <= 0 ? 0 : b->level / BD_RATELIMIT_UNIT;
}

int64_t
bd_ratelimit_bucket_full_in_us(bd_ratelimit_bucket_t *b, int64_t capacity, int64_t now_us)
{
    bd_ratelimit_bucket_refill(b, capacity, now_us);
    return bd_ratelimit_ceil_div((capacity * BD_RATELIMIT_UNIT - b->level) * 60, capacity);
}
