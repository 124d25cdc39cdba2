/*
 * bd_models_table.cc: the merged model table: every name a client may ask for
 * (conf names and aliases, the store's additions, the conf's Bedrock ids and the
 * model source's names when passthrough is on), each resolved once into an
 * immutable entry, published to the workers (core/bd_published.h). A request
 * resolves its model to a pointer into the table and holds the table until it
 * ends: no lock, no copy. What the table cannot hold (a passthrough id nobody
 * configured) is resolved into the request's own entry.
 *
 * The table follows three inputs, each with its own writer: the snapshot (the
 * workers adopt it at start and on reload), the additions (the store thread)
 * and the model source (the catalog's fetch thread). Whichever changes rebuilds
 * the table under a builder lock, never taken on the request path. Each entry is
 * what bd_models_resolve answers for its name, so the table and the slow path
 * agree by construction.
 */
#include <pthread.h>

#include <string_view>
#include <unordered_map>

#include "core/bd_worker.h"
#include "modules/models/bd_models.h"

struct bd_models_table_t {
    bd_published_obj_t pub;
    bd_snapshot_t *snap; /* referenced: the conf the entries were resolved in */
    std::vector<bd_convert_model_t> entries;                 /* never resized once built */
    std::unordered_map<std::string_view, size_t> by_name;    /* entries[i].client_name */
};

static bd_published_t bd_models_table_slot;

/* Builders only: the snapshot the newest table follows (referenced); null before
 * the first worker and after the process ended (a rebuild is then a no-op). */
static pthread_mutex_t bd_models_table_lock = PTHREAD_MUTEX_INITIALIZER;
static bd_snapshot_t *bd_models_table_snap;

static void
bd_models_table_destroy(bd_published_obj_t *obj)
{
    bd_models_table_t *t = (bd_models_table_t *)obj;
    bd_snapshot_unref(t->snap);
    delete t;
}

/* Builds and publishes the table of <snap>. Under the builder lock. */
static void
bd_models_table_build(bd_snapshot_t *snap)
{
    std::vector<std::string> names;
    for (const bd_model_entry_t &e : bd_models_entries(snap)) {
        names.push_back(e.name);
        names.insert(names.end(), e.aliases.begin(), e.aliases.end());
    }
    bd_models_addition_names(&names);
    if (bd_models_passthrough(snap)) {
        for (const bd_model_entry_t &e : bd_models_entries(snap)) {
            names.push_back(e.data.bedrock_id);
        }
        bd_models_source_names(&names);
    }

    bd_models_table_t *t = new bd_models_table_t();
    bd_published_obj_init(&t->pub, bd_models_table_destroy);
    bd_snapshot_ref(snap);
    t->snap = snap;
    std::unordered_map<std::string_view, bool> seen;
    t->entries.reserve(names.size());
    for (const std::string &n : names) {
        if (seen.emplace(n, true).second) {
            bd_convert_model_t m;
            if (bd_models_resolve(snap, n.c_str(), &m) == 0) {
                t->entries.push_back(std::move(m));
            }
        }
    }
    t->by_name.reserve(t->entries.size());
    for (size_t i = 0; i < t->entries.size(); i++) {
        t->by_name.emplace(t->entries[i].client_name, i);
    }
    bd_published_publish(&bd_models_table_slot, &t->pub);
}

void
bd_models_table_follow(bd_snapshot_t *snap)
{
    pthread_mutex_lock(&bd_models_table_lock);
    if (bd_models_table_snap == nullptr || snap->generation > bd_models_table_snap->generation) {
        bd_snapshot_ref(snap);
        if (bd_models_table_snap != nullptr) {
            bd_snapshot_unref(bd_models_table_snap);
        }
        bd_models_table_snap = snap;
        bd_models_table_build(snap);
    }
    pthread_mutex_unlock(&bd_models_table_lock);
}

void
bd_models_table_refresh(void)
{
    pthread_mutex_lock(&bd_models_table_lock);
    if (bd_models_table_snap != nullptr) {
        bd_models_table_build(bd_models_table_snap);
    }
    pthread_mutex_unlock(&bd_models_table_lock);
}

void
bd_models_table_close(void)
{
    pthread_mutex_lock(&bd_models_table_lock);
    if (bd_models_table_snap != nullptr) {
        bd_snapshot_unref(bd_models_table_snap);
    }
    bd_models_table_snap = nullptr;
    bd_published_clear(&bd_models_table_slot);
    pthread_mutex_unlock(&bd_models_table_lock);
}

const bd_convert_model_t *
bd_models_lookup(const bd_snapshot_t *snap, const char *name, bd_published_obj_t **held,
                 bd_convert_model_t *scratch)
{
    auto *t = (bd_models_table_t *)bd_published_acquire(&bd_models_table_slot);
    if (t != nullptr && t->snap == snap) {
        auto it = t->by_name.find(std::string_view(name));
        if (it != t->by_name.end()) {
            *held = &t->pub;
            return &t->entries[it->second];
        }
    }
    bd_published_release(t != nullptr ? &t->pub : nullptr);
    return bd_models_resolve(snap, name, scratch) == 0 ? scratch : nullptr;
}
