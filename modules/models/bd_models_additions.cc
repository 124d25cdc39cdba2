/*
 * bd_models_additions.cc: the model map additions kept outside the conf (the store's
 * models table): the provider slot, lookups through it, and the entries they add to
 * GET /v1/models. The slot is written on the main thread while no worker runs and only
 * read afterwards, so workers read it without a lock; the provider guards its own data.
 */
#include "modules/models/bd_models.h"

#include <time.h>

#include <unordered_set>

static const bd_models_additions_t *bd_models_additions;

void
bd_models_set_additions(const bd_models_additions_t *a)
{
    bd_models_additions = a;
}

int
bd_models_addition_find(const char *name, bd_models_addition_t *out)
{
    const bd_models_additions_t *a = bd_models_additions;
    if (a == nullptr || a->find == nullptr) {
        return -1;
    }
    return a->find(a->data, name, out);
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
    const bd_models_additions_t *a = bd_models_additions;
    if (a == nullptr || a->list == nullptr) {
        return;
    }
    std::vector<bd_models_addition_t> rows;
    a->list(a->data, &rows);
    if (rows.empty()) {
        return;
    }
    std::unordered_set<std::string> conf_names;
    for (const bd_model_entry_t &e : bd_models_entries(snap)) {
        conf_names.insert(e.name);
        conf_names.insert(e.aliases.begin(), e.aliases.end());
    }
    for (const bd_models_addition_t &r : rows) {
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
}
