/*
 * bd_models_list.cc: what GET /v1/models shows, for both client APIs: the conf map
 * merged with the store's additions (bd_models_additions.cc) and an optional model
 * source (the Bedrock catalog). The source pointer is set on the main thread while no
 * worker runs and only read afterwards, so workers read it without a lock; the source
 * guards its own data.
 */
#include "modules/models/bd_models.h"

#include <string.h>

#include <unordered_set>

static const bd_models_source_t *bd_models_source;

void
bd_models_set_source(const bd_models_source_t *src)
{
    bd_models_source = src;
}

int
bd_models_source_resolve(const char *name, std::string *bedrock_id)
{
    const bd_models_source_t *src = bd_models_source;
    if (src == nullptr || src->resolve == nullptr) {
        return -1;
    }
    return src->resolve(src->data, name, bedrock_id);
}

/* The model behind an id, for "is it covered": a system inference profile
 * ("us.anthropic.claude-...") serves the same model as the bare id. */
static std::string
bd_models_base_id(const std::string &id)
{
    static const char *const geos[] = {"us.", "us-gov.", "eu.", "apac.", "global.",
                                       "jp.", "au.",     "ca.", nullptr};
    for (int i = 0; geos[i] != nullptr; i++) {
        size_t n = strlen(geos[i]);
        if (id.compare(0, n, geos[i]) == 0) {
            return id.substr(n);
        }
    }
    return id;
}

static void
bd_models_conf_listing(const bd_model_entry_t &e, bd_models_listing_t *out)
{
    out->id = e.name;
    out->display_name = e.display_name.empty() ? e.name : e.display_name;
    out->created_at = e.created_at;
    out->owned_by = "bedrock";
    out->bedrock_id = e.data.bedrock_id;
    out->embedding = false;
}

/* Appends the source's models that the conf map does not already offer. */
static void
bd_models_add_source(const bd_snapshot_t *snap, int flags, std::vector<bd_models_listing_t> *out)
{
    const bd_models_source_t *src = bd_models_source;
    if (src == nullptr || src->list == nullptr || !bd_models_passthrough(snap)) {
        return;
    }
    std::unordered_set<std::string> names, models;
    for (const bd_model_entry_t &e : bd_models_entries(snap)) {
        names.insert(e.name);
        names.insert(e.aliases.begin(), e.aliases.end());
        models.insert(bd_models_base_id(e.data.bedrock_id));
    }
    std::vector<bd_model_entry_t> added;
    bd_models_addition_entries(snap, &added);
    for (const bd_model_entry_t &e : added) {
        names.insert(e.name);
    }
    std::vector<bd_models_listing_t> extra;
    src->list(src->data, &extra);
    for (bd_models_listing_t &l : extra) {
        if ((l.embedding && !(flags & BD_MODELS_LIST_EMBEDDINGS)) || names.count(l.id) != 0 ||
            models.count(bd_models_base_id(l.bedrock_id)) != 0) {
            continue;
        }
        names.insert(l.id); /* a source listing the same name twice shows it once */
        out->push_back(std::move(l));
    }
}

void
bd_models_list(const bd_snapshot_t *snap, int flags, std::vector<bd_models_listing_t> *out)
{
    out->clear();
    for (const bd_model_entry_t &e : bd_models_entries(snap)) {
        if (e.listed) {
            out->emplace_back();
            bd_models_conf_listing(e, &out->back());
        }
    }
    std::vector<bd_model_entry_t> added; /* the store's additions come after the conf's */
    bd_models_addition_entries(snap, &added);
    for (const bd_model_entry_t &e : added) {
        out->emplace_back();
        bd_models_conf_listing(e, &out->back());
    }
    bd_models_add_source(snap, flags, out);
}

int
bd_models_find(const bd_snapshot_t *snap, int flags, const std::string &id,
               bd_models_listing_t *out)
{
    for (const bd_model_entry_t &e : bd_models_entries(snap)) {
        bool match = e.name == id;
        for (const std::string &a : e.aliases) {
            match = match || a == id;
        }
        if (match) {
            bd_models_conf_listing(e, out);
            return 0;
        }
    }
    std::vector<bd_model_entry_t> added;
    bd_models_addition_entries(snap, &added);
    for (const bd_model_entry_t &e : added) {
        if (e.name == id) {
            bd_models_conf_listing(e, out);
            return 0;
        }
    }
    std::vector<bd_models_listing_t> all;
    bd_models_add_source(snap, flags, &all);
    for (bd_models_listing_t &l : all) {
        if (l.id == id) {
            *out = std::move(l);
            return 0;
        }
    }
    return -1;
}
