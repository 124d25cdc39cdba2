/*
 * bd_published.cc: publication with hazard slots. A reader announces the pointer
 * it read in a free slot, checks that it is still current, counts a reference and
 * leaves the slot; the writer swaps the pointer, then waits until no slot announces
 * the old one before dropping the slot's reference. The announcement, the check and
 * the swap are seq_cst, so either the writer sees the announcement or the reader sees
 * the new pointer (and retries).
 */
#include "core/bd_published.h"

#include <sched.h>

void
bd_published_obj_init(bd_published_obj_t *obj, void (*destroy)(bd_published_obj_t *))
{
    obj->refs.store(1, std::memory_order_relaxed);
    obj->destroy = destroy;
}

void
bd_published_init(bd_published_t *slot)
{
    slot->current.store(nullptr);
    slot->generation.store(0);
    for (auto &h : slot->hazard) {
        h.store(nullptr);
    }
}

void
bd_published_hold(bd_published_obj_t *obj)
{
    obj->refs.fetch_add(1, std::memory_order_relaxed);
}

void
bd_published_release(bd_published_obj_t *obj)
{
    if (obj != nullptr && obj->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        obj->destroy(obj);
    }
}

/* Where this thread starts looking for a free hazard slot: spread over threads so
 * that workers rarely meet. */
static unsigned
bd_published_first_slot(void)
{
    static std::atomic<unsigned> next{0};
    static thread_local unsigned mine = next.fetch_add(1, std::memory_order_relaxed);
    return mine;
}

bd_published_obj_t *
bd_published_acquire(bd_published_t *slot)
{
    unsigned i = bd_published_first_slot() % BD_PUBLISHED_HAZARDS;
    for (;;) {
        bd_published_obj_t *p = slot->current.load();
        if (p == nullptr) {
            return nullptr;
        }
        bd_published_obj_t *expect = nullptr;
        if (!slot->hazard[i].compare_exchange_strong(expect, p)) {
            i = (i + 1) % BD_PUBLISHED_HAZARDS; /* taken by another reader */
            continue;
        }
        bool still = slot->current.load() == p;
        if (still) {
            p->refs.fetch_add(1, std::memory_order_relaxed);
        }
        /* Release: a writer that sees the slot empty sees the count too. */
        slot->hazard[i].store(nullptr, std::memory_order_release);
        if (still) {
            return p;
        }
    }
}

void
bd_published_publish(bd_published_t *slot, bd_published_obj_t *obj)
{
    bd_published_obj_t *old = slot->current.exchange(obj);
    slot->generation.fetch_add(1);
    if (old == nullptr) {
        return;
    }
    for (auto &h : slot->hazard) {
        while (h.load() == old) {
            sched_yield(); /* a reader is counting its reference */
        }
    }
    bd_published_release(old);
}
