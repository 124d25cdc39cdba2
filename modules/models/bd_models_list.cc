/*
 * bd_models_list.cc: what GET /v1/models shows, for both client APIs: the conf map
 * merged with the store's additions (bd_models_additions.cc) and an optional model
 * source (the Bedrock catalog), published by its fetch thread and read with no lock.
 */
#include "modules/models/bd_models.h"

#include <string.h>

#include <unordered_set>

#include "modules/models/bd_models_known.h"

static bd_published_t bd_models_catalog;

void
bd_models_publish_catalog(bd_models_catalog_t *c)
{
    bd_published_publish(&bd_models_catalog, c != nullptr ? &c->pub : nullptr);
    bd_models_table_refresh();
}

void
bd_models_source_names(std::vector<std::string> *out)
{
    auto *c = (bd_models_catalog_t *)bd_published_acquire(&bd_models_catalog);
    if (c != nullptr) {
        for (const auto &n : c->names) {
            out->push_back(n.first);
        }
        bd_published_release(&c->pub);
    }
}

int
bd_models_source_resolve(const char *name, std::string *bedrock_id)
{
    auto *c = (bd_models_catalog_t *)bd_published_acquire(&bd_models_catalog);
    if (c == nullptr) {
        return -1;
    }
    auto it = c->names.find(name);
    int rc = -1;
    if (it != c->names.end()) {
        *bedrock_id = it->second;
        rc = 0;
    }
    bd_published_release(&c->pub);
    return rc;
}

/* The model behind an id, for "is it covered": a system inference profile
 * ("us.anthropic.claude-...") serves the same model as the bare id. */
static std::string
bd_models_base_id(const std::string &id)
{
    return id.substr(bd_models_region_prefix(id.c_str()));
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
    if (!bd_models_passthrough(snap)) {
        return;
    }
    auto *src = (bd_models_catalog_t *)bd_published_acquire(&bd_models_catalog);
    if (src == nullptr) {
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
    for (const bd_models_listing_t &l : src->listings) {
        if ((l.embedding && !(flags & BD_MODELS_LIST_EMBEDDINGS)) || names.count(l.id) != 0 ||
            models.count(bd_models_base_id(l.bedrock_id)) != 0) {
            continue;
        }
        names.insert(l.id); /* a source listing the same name twice shows it once */
        out->push_back(l);
    }
    bd_published_release(&src->pub);
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
