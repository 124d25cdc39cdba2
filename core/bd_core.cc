/*
 * bd_core.cc: clocks and allocation helpers shared by every thread.
 */
#include "core/bd_core.h"

#include <string.h>
#include <time.h>

int64_t
bd_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
bd_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void *
bd_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p == nullptr) {
        BD_FATAL("out of memory (%zu x %zu bytes)", n, size);
    }
    return p;
}

char *
bd_strdup(const char *s)
{
    size_t len = strlen(s);
    char *p = (char *)bd_calloc(1, len + 1);
    memcpy(p, s, len);
    return p;
}
