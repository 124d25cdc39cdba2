/*
 * bd_models_additions.cc: the model map additions kept outside the conf (the store's
 * models table): their published table, lookups in it, and the entries they add to
 * GET /v1/models. The store thread publishes; workers read with no lock.
 */
#include "modules/models/bd_models.h"

#include <time.h>

#include <unordered_map>
#include <unordered_set>

#include "core/bd_published.h"

/* The additions at one moment, never changed once published. */
struct bd_models_additions_t {
    bd_published_obj_t pub;
    std::vector<bd_models_addition_t> rows;          /* by name */
    std::unordered_map<std::string, size_t> by_name; /* index into rows */
};

static bd_published_t bd_models_additions;

static void
bd_models_additions_destroy(bd_published_obj_t *obj)
{
    delete (bd_models_additions_t *)obj;
}

void
bd_models_publish_additions(std::vector<bd_models_addition_t> *rows)
{
    if (rows == nullptr) {
        bd_published_clear(&bd_models_additions);
        bd_models_table_refresh();
        return;
    }
    bd_models_additions_t *t = new bd_models_additions_t();
    bd_published_obj_init(&t->pub, bd_models_additions_destroy);
    t->rows = std::move(*rows);
    for (size_t i = 0; i < t->rows.size(); i++) {
        t->by_name.emplace(t->rows[i].name, i);
    }
    bd_published_publish(&bd_models_additions, &t->pub);
    bd_models_table_refresh();
}

void
bd_models_addition_names(std::vector<std::string> *out)
{
    auto *t = (bd_models_additions_t *)bd_published_acquire(&bd_models_additions);
    if (t != nullptr) {
        for (const bd_models_addition_t &a : t->rows) {
            out->push_back(a.name);
        }
        bd_published_release(&t->pub);
    }
}

int
bd_models_addition_find(const char *name, bd_models_addition_t *out)
{
    auto *t = (bd_models_additions_t *)bd_published_acquire(&bd_models_additions);
    int rc = -1;
    if (t != nullptr) {
        auto it = t->by_name.find(name);
        if (it != t->by_name.end()) {
            *out = t->rows[it->second];
            rc = 0;
        }
        bd_published_release(&t->pub);
    }
    return rc;
}

/* Epoch ms -> RFC 3339 in UTC, seconds precision. */
static std::string
bd_models_rfc3339(int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char buf[32];
    if (ms <= 0 || gmtime_r(&t, &tm) == nullptr ||
        strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        return "1970-01-01T00:00:00Z";
    }
    return buf;
}

void
bd_models_addition_entries(const bd_snapshot_t *snap, std::vector<bd_model_entry_t> *out)
{
    auto *t = (bd_models_additions_t *)bd_published_acquire(&bd_models_additions);
    if (t == nullptr || t->rows.empty()) {
        bd_published_release(t != nullptr ? &t->pub : nullptr);
        return;
    }
    std::unordered_set<std::string> conf_names;
    for (const bd_model_entry_t &e : bd_models_entries(snap)) {
        conf_names.insert(e.name);
        conf_names.insert(e.aliases.begin(), e.aliases.end());
    }
    for (const bd_models_addition_t &r : t->rows) {
        bd_convert_model_t m;
        if (conf_names.count(r.name) != 0 || bd_models_resolve(snap, r.name.c_str(), &m) != 0) {
            continue; /* the conf's entry of that name wins */
        }
        bd_model_entry_t e;
        e.name = r.name;
        e.file = "store";
        e.line = 0;
        e.data = m;
        e.route_set = !r.route.empty();
        e.listed = true;
        e.display_name = r.name;
        e.created_at = bd_models_rfc3339(r.updated_ms);
        out->push_back(std::move(e));
    }
    bd_published_release(&t->pub);
}
