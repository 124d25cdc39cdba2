/*
 * bd_keys.h: the key table as the request path reads it: every key at one moment,
 * indexed by the raw SHA-256 of its secret, published (core/bd_published.h) by the
 * store thread whenever the file changes and read by workers with no lock. A table
 * never changes once published; a request holds a reference for as long as it uses
 * a key record. Empty (every lookup misses) while the store is off.
 */
#ifndef BD_KEYS_H
#define BD_KEYS_H

#include <stdint.h>

#include <string>
#include <unordered_map>
#include <vector>

#include "core/bd_published.h"
#include "modules/store/bd_key.h"

struct bd_keys_t {
    bd_published_obj_t pub; /* first: the publication header */
    uint64_t generation;    /* the store's count of tables built */
    std::unordered_map<std::string, bd_key_t> by_hash;
};

/* A new table (one reference) of <keys> (moved from); keys whose hash is damaged are
 * left out. Any thread. */
bd_keys_t *bd_keys_new(std::vector<bd_key_t> *keys, uint64_t generation);

/* Publishes <t> (null empties the table), taking the caller's reference. The
 * store thread (the main thread at store start and stop). */
void bd_keys_publish(bd_keys_t *t);

/* The current table with one reference, or null when none is published. No lock;
 * any thread. */
bd_keys_t *bd_keys_acquire(void);

/* Drops a reference (null is fine). Any thread. */
void bd_keys_release(bd_keys_t *t);

/* The key whose secret hashes to <hash> (BD_KEY_HASH_LEN raw bytes) in <t>, or null. */
const bd_key_t *bd_keys_find(const bd_keys_t *t, const std::string &hash);

/* The current table's key for <hash>: the record, with a reference on its table in
 * <*table> for the caller to release; or null (no key, no table, <*table> null). No
 * lock; any thread. */
const bd_key_t *bd_keys_lookup(const std::string &hash, bd_keys_t **table);

#endif
