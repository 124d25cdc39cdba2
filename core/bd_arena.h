/*
 * bd_arena.h: a request's arena. Short-lived allocations (per-request contexts, their
 * strings, the cleanup list) are carved from blocks that are freed all at once when
 * the request is finalized: no free per object. Blocks come from a cache of the
 * thread's (the worker's), so a request in the steady state calls no allocator for
 * them at all. One thread at a time (the request's worker).
 */
#ifndef BD_ARENA_H
#define BD_ARENA_H

#include <stddef.h>

#include <new>

struct bd_arena_block_t;

struct bd_arena_t {
    char *pos, *end;          /* the free part of the current block */
    bd_arena_block_t *blocks; /* newest first */
};

/* An empty arena (it takes no block until the first allocation). */
void bd_arena_init(bd_arena_t *a);

/* Gives every block back (to the thread's cache); the arena is empty again. Objects
 * built in it are not destroyed. */
void bd_arena_reset(bd_arena_t *a);

/* <size> bytes aligned for any object; never null (allocation failure aborts, like new). */
void *bd_arena_alloc(bd_arena_t *a, size_t size);

/* A NUL-terminated copy of <len> bytes of <s>. */
char *bd_arena_strndup(bd_arena_t *a, const char *s, size_t len);

/* How many blocks <a> holds now. */
size_t bd_arena_block_count(const bd_arena_t *a);

/* Builds a T in the arena (value-initialized). Its destructor is not run: types with
 * one register it (see bd_request_arena_new in bd_request.h). */
template <typename T>
static inline T *
bd_arena_new(bd_arena_t *a)
{
    return new (bd_arena_alloc(a, sizeof(T))) T();
}

#endif
