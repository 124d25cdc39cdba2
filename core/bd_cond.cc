/*
 * bd_cond.cc: monotonic-clock condition variable waits.
 */
#include "core/bd_cond.h"

#include <time.h>

#include "core/bd_core.h"

void
bd_cond_init_monotonic(pthread_cond_t *c)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(c, &attr);
    pthread_condattr_destroy(&attr);
}

void
bd_cond_wait_until(pthread_cond_t *c, pthread_mutex_t *m, int64_t when_us)
{
    int64_t delta_us = when_us - bd_now_us();
    if (delta_us <= 0) {
        return;
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(delta_us / 1000000);
    ts.tv_nsec += (long)(delta_us % 1000000) * 1000;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(c, m, &ts);
}
