/*
 * bd_published.h: read-mostly data published to every thread, the way the conf
 * snapshot is. A writer (the store thread, the catalog fetcher, the credentials
 * refresher, the main thread) builds a new immutable object and publishes it;
 * readers on the request path take it with no lock: a hazard slot covers the few
 * instructions between reading the pointer and counting the reference, so the
 * writer knows when nobody can still be about to count one on the old object.
 * The old object is freed by its last reference, on whichever thread drops it.
 *
 *   struct my_table_t { bd_published_obj_t pub; ... };   // pub first
 *   bd_published_publish(&slot, &t->pub);                 // writer
 *   my_table_t *t = (my_table_t *)bd_published_acquire(&slot);   // reader
 *   ... bd_published_release(&t->pub);
 */
#ifndef BD_PUBLISHED_H
#define BD_PUBLISHED_H

#include <stdint.h>

#include <atomic>

enum { BD_PUBLISHED_HAZARDS = 64 }; /* readers inside acquire at one instant */

/* The header every published object starts with. */
struct bd_published_obj_t {
    std::atomic<long> refs;
    void (*destroy)(bd_published_obj_t *obj); /* frees the whole object */
};

/* One publication point. Zero-initialised (static, or bd_published_init) it is
 * empty: acquire returns null until the first publish. */
struct bd_published_t {
    std::atomic<bd_published_obj_t *> current;
    std::atomic<uint64_t> generation; /* publications so far */
    std::atomic<bd_published_obj_t *> hazard[BD_PUBLISHED_HAZARDS];
};

/* Sets <obj>'s header: one reference (the creator's), freed by <destroy>. */
void bd_published_obj_init(bd_published_obj_t *obj, void (*destroy)(bd_published_obj_t *));

/* Empties <slot> (for a slot that is not static). */
void bd_published_init(bd_published_t *slot);

/* Publishes <obj> (null empties the slot), taking over the caller's reference, and
 * drops the slot's reference on the previous object once no reader is between
 * reading it and counting it (a few instructions: the writer may spin that long).
 * Any thread; writers may race, each drops the object it replaced. */
void bd_published_publish(bd_published_t *slot, bd_published_obj_t *obj);

/* The current object with one reference for the caller, or null. Never blocks and
 * takes no lock. Any thread. */
bd_published_obj_t *bd_published_acquire(bd_published_t *slot);

/* One more reference on <obj> (the caller holds one). */
void bd_published_hold(bd_published_obj_t *obj);

/* Drops a reference; the last one destroys <obj>. Null is fine. Any thread. */
void bd_published_release(bd_published_obj_t *obj);

/* Empties <slot>, dropping its reference (the object lives on in its readers). */
static inline void
bd_published_clear(bd_published_t *slot)
{
    bd_published_publish(slot, nullptr);
}

/* The number of publications so far: a reader compares it with the one it saw to
 * learn, without acquiring, that the object changed. */
static inline uint64_t
bd_published_generation(const bd_published_t *slot)
{
    return slot->generation.load(std::memory_order_acquire);
}

#endif
