/*
 * bd_arena.cc: the request arena's blocks. A request's short-lived objects are few and
 * small; a block fills one 1280-byte allocation, or holds one larger object. A held
 * stream keeps its first block for its whole life, so the block is small: 1 KiB instead
 * of 4 took 1.8 KB off the RSS of each held stream (perf/RESULTS.md). Freed blocks stay
 * in a per-thread cache (up to BD_ARENA_CACHE of them): a worker's requests reuse the
 * same few blocks, and the allocator never sees them.
 */
#include "core/bd_arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/bd_core.h"

struct bd_arena_block_t {
    bd_arena_block_t *next;
    size_t size;
    alignas(16) char data[];
};

static const size_t BD_ARENA_ALIGN = 16;
/* A block with its header is one 1280-byte size class of mimalloc (whose classes go
 * 1024, 1280): a 1 KiB block took a 1280-byte slot anyway, and an Anthropic request's
 * objects (1,056-1,120 bytes) needed two of them. */
static const size_t BD_ARENA_SLOT = 1280;
static const size_t BD_ARENA_BLOCK = BD_ARENA_SLOT - sizeof(bd_arena_block_t);
static const int BD_ARENA_CACHE = 64;

/* Blocks of BD_ARENA_BLOCK bytes given back on this thread. */
struct bd_arena_cache_t {
    bd_arena_block_t *free;
    int n;
    ~bd_arena_cache_t()
    {
        while (free != nullptr) {
            bd_arena_block_t *next = free->next;
            ::free(free);
            free = next;
        }
    }
};

static thread_local bd_arena_cache_t bd_arena_cache;

void
bd_arena_init(bd_arena_t *a)
{
    a->pos = nullptr;
    a->end = nullptr;
    a->blocks = nullptr;
}

void
bd_arena_reset(bd_arena_t *a)
{
    bd_arena_cache_t *c = &bd_arena_cache;
    bd_arena_block_t *b = a->blocks;
    while (b != nullptr) {
        bd_arena_block_t *next = b->next;
        if (b->size == BD_ARENA_BLOCK && c->n < BD_ARENA_CACHE) {
            b->next = c->free;
            c->free = b;
            c->n++;
        } else {
            free(b);
        }
        b = next;
    }
    bd_arena_init(a);
}

static bd_arena_block_t *
bd_arena_block(size_t cap)
{
    bd_arena_cache_t *c = &bd_arena_cache;
    if (cap == BD_ARENA_BLOCK && c->free != nullptr) {
        bd_arena_block_t *b = c->free;
        c->free = b->next;
        c->n--;
        return b;
    }
    bd_arena_block_t *b = (bd_arena_block_t *)malloc(sizeof(bd_arena_block_t) + cap);
    if (b == nullptr) {
        BD_FATAL("out of memory (request arena, %zu bytes)", cap);
    }
    b->size = cap;
    return b;
}

void *
bd_arena_alloc(bd_arena_t *a, size_t size)
{
    size = (size + BD_ARENA_ALIGN - 1) & ~(BD_ARENA_ALIGN - 1);
    if ((size_t)(a->end - a->pos) < size) {
        size_t cap = size > BD_ARENA_BLOCK ? size : BD_ARENA_BLOCK;
        bd_arena_block_t *b = bd_arena_block(cap);
        b->next = a->blocks;
        a->blocks = b;
        a->pos = b->data;
        a->end = b->data + cap;
    }
    void *p = a->pos;
    a->pos += size;
    return p;
}

char *
bd_arena_strndup(bd_arena_t *a, const char *s, size_t len)
{
    char *p = (char *)bd_arena_alloc(a, len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

size_t
bd_arena_block_count(const bd_arena_t *a)
{
    size_t n = 0;
    for (const bd_arena_block_t *b = a->blocks; b != nullptr; b = b->next) {
        n++;
    }
    return n;
}
