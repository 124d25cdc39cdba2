/*
 * bd_models.h: the model map. Conf `model` blocks name the models clients may ask
 * for (with aliases) and carry per-model data; `model_route` patterns choose the
 * Bedrock route for ids without an explicit one. Resolution is read-only over the
 * snapshot and safe on any worker thread.
 */
#ifndef BD_MODELS_H
#define BD_MODELS_H

#include <string>
#include <vector>

#include "core/bd_module.h"
#include "core/bd_snapshot.h"
#include "modules/convert/bd_convert.h"

/* One `model NAME { ... }` block, after init. */
struct bd_model_entry_t {
    std::string name;                 /* the client-facing name */
    std::vector<std::string> aliases; /* other client names for the same model */
    std::string file;                 /* where it was defined, for messages */
    int line;
    bd_convert_model_t data;          /* data.client_name = name; data.bedrock_id = id */
    bool route_set;                   /* `route` given in the block */
    bool listed;                      /* shown by GET /v1/models (default on) */
    std::string display_name;         /* for /v1/models; default: name */
    std::string created_at;           /* RFC 3339, for /v1/models; default fixed epoch */
};

/* Fills <out> for the client model name <name>: a conf entry (by name or alias), or,
 * when <name> looks like a Bedrock id (provider.model..., a us./eu./apac./global.
 * profile, or an ARN) and passthrough is on, a default entry for it. The response's
 * model stays <name>. Returns 0, or -1 when the model is unknown. Any worker thread. */
int bd_models_resolve(const bd_snapshot_t *snap, const char *name, bd_convert_model_t *out);

/* The conf entries in conf order (for /v1/models). */
const std::vector<bd_model_entry_t> &bd_models_entries(const bd_snapshot_t *snap);

extern bd_module_t bd_models_module;

#endif
