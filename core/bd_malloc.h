/*
 * bd_malloc.h: the allocator bedrockd runs on, and how it gives freed memory back.
 *
 * bedrockd is linked with mimalloc ahead of libc, so mimalloc serves every
 * allocation of the process, libevent's, libcurl's, jansson's and OpenSSL's
 * included: a small request makes about 225 allocations, and glibc's malloc and
 * free (with its fastbin consolidation on every request of 1 KB or more) were 13%
 * of its instructions. Builds with sanitizers, or configured with -DBD_MALLOC=system,
 * run on glibc's malloc; these functions then apply glibc's settings instead.
 */
#ifndef BD_MALLOC_H
#define BD_MALLOC_H

/* "mimalloc 2.0.9" or "glibc malloc": for `bedrockd -v` and bedrockd_build_info. */
const char *bd_malloc_name(void);

/* Process start (main thread, before any thread): allocator settings that give
 * large request bodies back to the system when they are freed. */
void bd_malloc_init_process(void);

/* Gives the calling thread's free memory back to the system (after large bodies
 * were freed: the edge calls it on a worker, at most once a second). */
void bd_malloc_release(void);

#endif /* BD_MALLOC_H */
