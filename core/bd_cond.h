/*
 * bd_cond.h: condition variables on the monotonic clock, for the background
 * threads that sleep until a deadline or a wake-up (store, sync).
 */
#ifndef BD_COND_H
#define BD_COND_H

#include <pthread.h>
#include <stdint.h>

/* Initialises <c> to time its waits on CLOCK_MONOTONIC. */
void bd_cond_init_monotonic(pthread_cond_t *c);

/* Waits on <c> (with <m> held) until signalled or bd_now_us() reaches <when_us>;
 * returns at once when that time has passed. */
void bd_cond_wait_until(pthread_cond_t *c, pthread_mutex_t *m, int64_t when_us);

#endif
