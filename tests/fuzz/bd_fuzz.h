/*
 * bd_fuzz.h: the entry point every fuzz target defines, in libFuzzer's form, so the same
 * target file links either with libFuzzer or with bd_fuzz_driver.cc. A target is called
 * from one thread; it returns 0 and reports a broken invariant with abort().
 */
#ifndef BD_FUZZ_H
#define BD_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Runs one input. <data> is borrowed for the call only. */
extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Prints "FILE:LINE: invariant violated: WHAT" and aborts; the driver and libFuzzer then
 * save the input that did it. */
[[noreturn]] static inline void
bd_fuzz_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "%s:%d: invariant violated: %s\n", file, line, what);
    abort();
}

/* A target's invariant check; unlike assert() it stays in release builds. */
#define BD_FUZZ_CHECK(cond, what)                                                            \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            bd_fuzz_fail(__FILE__, __LINE__, what);                                           \
        }                                                                                     \
    } while (0)

#endif
