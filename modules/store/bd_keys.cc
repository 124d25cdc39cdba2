/*
 * bd_keys.cc: the published key table. One process-wide publication point: the
 * process runs at most one store.
 */
#include "modules/store/bd_keys.h"

static bd_published_t bd_keys_slot;

static void
bd_keys_destroy(bd_published_obj_t *obj)
{
    delete (bd_keys_t *)obj;
}

bd_keys_t *
bd_keys_new(std::vector<bd_key_t> *keys, uint64_t generation)
{
    bd_keys_t *t = new bd_keys_t();
    bd_published_obj_init(&t->pub, bd_keys_destroy);
    t->generation = generation;
    for (bd_key_t &k : *keys) {
        if (k.hash.size() == BD_KEY_HASH_LEN) {
            std::string h = k.hash;
            t->by_hash.emplace(std::move(h), std::move(k));
        }
    }
    return t;
}

void
bd_keys_publish(bd_keys_t *t)
{
    bd_published_publish(&bd_keys_slot, t != nullptr ? &t->pub : nullptr);
}

bd_keys_t *
bd_keys_acquire(void)
{
    return (bd_keys_t *)bd_published_acquire(&bd_keys_slot);
}

void
bd_keys_release(bd_keys_t *t)
{
    bd_published_release(t != nullptr ? &t->pub : nullptr);
}

const bd_key_t *
bd_keys_find(const bd_keys_t *t, const std::string &hash)
{
    if (t == nullptr) {
        return nullptr;
    }
    auto it = t->by_hash.find(hash);
    return it == t->by_hash.end() ? nullptr : &it->second;
}

const bd_key_t *
bd_keys_lookup(const std::string &hash, bd_keys_t **table)
{
    bd_keys_t *t = bd_keys_acquire();
    const bd_key_t *k = bd_keys_find(t, hash);
    if (k == nullptr) {
        bd_keys_release(t);
        t = nullptr;
    }
    *table = t;
    return k;
}
