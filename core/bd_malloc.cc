/*
 * bd_malloc.cc: see bd_malloc.h. BD_WITH_MIMALLOC is set by the build when
 * bedrockd links mimalloc (CMakeLists.txt, BD_MALLOC).
 */
#include "core/bd_malloc.h"

#include <malloc.h>
#include <stdio.h>

#ifdef BD_WITH_MIMALLOC
#include <mimalloc.h>
#endif

const char *
bd_malloc_name(void)
{
#ifdef BD_WITH_MIMALLOC
    static char name[32];
    if (name[0] == '\0') {
        int v = mi_version(); /* the library loaded, not the header built against */
        snprintf(name, sizeof(name), "mimalloc %d.%d.%d", v / 100, v / 10 % 10, v % 10);
    }
    return name;
#else
    return "glibc malloc";
#endif
}

void
bd_malloc_init_process(void)
{
    (void)bd_malloc_name(); /* formatted before threads can ask for it */
#ifndef BD_WITH_MIMALLOC
    /* A fixed threshold (instead of glibc's sliding one, which climbs to 32 MiB
     * after the first large free) keeps large bodies in mmap'd memory that goes
     * back to the system when freed. mimalloc returns freed pages by itself. */
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
#endif
}

void
bd_malloc_release(void)
{
#ifdef BD_WITH_MIMALLOC
    mi_collect(true);
#else
    malloc_trim(0);
#endif
}
