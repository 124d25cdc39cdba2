/*
 * bd_core.h: the few definitions every part of bedrockd shares: return codes,
 * fatal-error and assertion macros, and a monotonic clock.
 * Safe on any thread.
 */
#ifndef BD_CORE_H
#define BD_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Return codes of functions that can fail or suspend. HTTP statuses (>= 400) may
 * also be returned by phase handlers; they never collide with these. */
enum {
    BD_OK = 0,
    BD_ERROR = -1,
    BD_AGAIN = -2,    /* suspended; an async completion resumes the request */
    BD_DECLINED = -3, /* not mine; the next handler decides */
    BD_DONE = -4,     /* the response is complete; skip the rest of the phase */
};

#define BD_VERSION "0.1.0"

/* Impossible failures (allocation, thread creation) abort with a message. */
#define BD_FATAL(...)                                                                              \
    do {                                                                                           \
        fprintf(stderr, "bedrockd: fatal: " __VA_ARGS__);                                          \
        fputc('\n', stderr);                                                                       \
        abort();                                                                                   \
    } while (0)

#ifdef NDEBUG
#define BD_ASSERT(x) ((void)0)
#else
#define BD_ASSERT(x)                                                                               \
    do {                                                                                           \
        if (!(x)) {                                                                                \
            BD_FATAL("assertion failed: %s (%s:%d)", #x, __FILE__, __LINE__);                      \
        }                                                                                          \
    } while (0)
#endif

/* Monotonic time in microseconds; for durations, never for wall-clock output. */
int64_t bd_now_us(void);

/* Wall-clock time in milliseconds since the epoch. */
int64_t bd_wall_ms(void);

/* calloc that aborts on failure: allocation failure is not a recoverable error here. */
void *bd_calloc(size_t n, size_t size);
char *bd_strdup(const char *s);

#endif
