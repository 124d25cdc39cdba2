/*
 * bd_models.h: the model map. Conf `model` blocks name the models clients may ask
 * for (with aliases) and carry per-model data; `model_route` patterns choose the
 * Bedrock route for ids without an explicit one. Resolution is read-only over the
 * snapshot and safe on any worker thread.
 */
#ifndef BD_MODELS_H
#define BD_MODELS_H

#include <stdint.h>

#include <string>
#include <unordered_map>
#include <vector>

#include "core/bd_module.h"
#include "core/bd_published.h"
#include "core/bd_snapshot.h"
#include "modules/convert/bd_convert.h"

/* The error classes that move a request on to a `fallback` target (its on= list).
 * Client errors never do. */
enum bd_models_failover_on_e {
    BD_FAILOVER_ON_THROTTLE = 1u << 0,  /* ThrottlingException, ServiceQuotaExceededException */
    BD_FAILOVER_ON_5XX = 1u << 1,       /* InternalServer, ServiceUnavailable, any other 5xx,
                                           a refused or lost connection */
    BD_FAILOVER_ON_TIMEOUT = 1u << 2,   /* ModelTimeoutException, a transport timeout */
    BD_FAILOVER_ON_NOT_READY = 1u << 3, /* ModelNotReadyException */
    BD_FAILOVER_ON_ALL = 0xfu,
};

/* One `fallback TARGET [key=value ...];` of a model block. The bedrock module resolves
 * the endpoint and keeps the chain (modules/bedrock/bd_bedrock_failover.h). */
struct bd_model_fallback_t {
    std::string target;     /* as written: a Bedrock id, profile or ARN, or a model name */
    std::string bedrock_id; /* after init: the id sent (the named model's id, or target) */
    std::string region;     /* "" = the bedrock block's region */
    std::string endpoint;   /* "" = the region's endpoint (the bedrock block's without region=) */
    std::string name;       /* label in headers, usage and metrics; "" = REGION/ID */
    int64_t weight;         /* 0: the next step of the chain; N > 0: shares the step of the
                               target before it, in proportion N */
    unsigned on;            /* bd_models_failover_on_e bits */
    int line;
};

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
    std::vector<bd_model_fallback_t> fallbacks; /* the chain after the model's own id */
    int64_t weight = 1;               /* the own id's share of the first step */
    std::string service_tier;         /* Bedrock serviceTier asked for; "" = none */
    bool service_tier_strict = false; /* never retried at the default tier */
    std::vector<std::string> beta_drops; /* `beta_drop`: family betas this model refuses */
};

/* The index in bd_models_entries() of the conf entry named (or aliased) <name>, or -1.
 * Passthrough ids and additions have none. Any worker thread. */
int bd_models_entry_index(const bd_snapshot_t *snap, const char *name);

/* Fallback and service-tier directives (bd_models_fallback.cc), for the model block's
 * table: <conf> + d->offset is the block's bd_model_entry_t. */
const char *bd_models_set_fallback(bd_conf_ctx_t *cf, const bd_conf_node_t *node,
                                   const bd_directive_t *d, void *conf);
const char *bd_models_set_service_tier(bd_conf_ctx_t *cf, const bd_conf_node_t *node,
                                       const bd_directive_t *d, void *conf);

/* Resolves the fallbacks of <e> once every block is read: a target naming another
 * entry (<find> by name or alias) takes its id. Returns null, or a message in <err>. */
const char *bd_models_fallback_resolve(bd_model_entry_t *e,
                                       const bd_model_entry_t *(*find)(const void *, const
                                                                       std::string &),
                                       const void *data, std::string *err);

/* Fills <out> for the client model name <name>: a conf entry (by name or alias), or,
 * when <name> looks like a Bedrock id (provider.model..., a us./eu./apac./global.
 * profile, or an ARN) and passthrough is on, a default entry for it; else, with
 * passthrough on, the model source's id for <name> (bd_models_publish_catalog), treated
 * like a passthrough id. The response's
 * model stays <name>. Returns 0, or -1 when the model is unknown. Any worker thread. */
int bd_models_resolve(const bd_snapshot_t *snap, const char *name, bd_convert_model_t *out);

/* --- the merged model table (bd_models_table.cc) ---
 *
 * Every name a client may ask for, resolved once (bd_models_resolve) into an
 * immutable entry and published to the workers; rebuilt when the snapshot, the
 * additions or the model source change. */

/* Resolves <name> for a request on <snap>: a pointer into the published table,
 * whose reference the caller then holds in *<held> (release it with
 * bd_published_release when the request ends), or, for a name the table does not
 * hold (a passthrough id) or while <snap> is being replaced, <scratch> filled by
 * bd_models_resolve. Null when the model is unknown. No lock; any worker thread. */
const bd_convert_model_t *bd_models_lookup(const bd_snapshot_t *snap, const char *name,
                                           bd_published_obj_t **held,
                                           bd_convert_model_t *scratch);

/* The table follows <snap> when it is newer than the one it follows (a worker
 * adopted it). Any thread. */
void bd_models_table_follow(bd_snapshot_t *snap);

/* Rebuilds the table from its snapshot and the current additions and model
 * source (their writers call this after publishing). Any thread. */
void bd_models_table_refresh(void);

/* Drops the table (the process ends); later refreshes do nothing. */
void bd_models_table_close(void);

/* Appends the names of the published additions / the model source's names. */
void bd_models_addition_names(std::vector<std::string> *out);
void bd_models_source_names(std::vector<std::string> *out);

/* The conf entries in conf order (for /v1/models). */
const std::vector<bd_model_entry_t> &bd_models_entries(const bd_snapshot_t *snap);

/* Whether model_passthrough is on. Any thread. */
bool bd_models_passthrough(const bd_snapshot_t *snap);

/* One model as GET /v1/models shows it, in either API's shape. */
struct bd_models_listing_t {
    std::string id;           /* the client-facing name */
    std::string display_name;
    std::string created_at;   /* RFC 3339 */
    std::string owned_by;     /* "bedrock" for conf entries, else the provider */
    std::string bedrock_id;   /* what <id> resolves to */
    bool embedding;           /* an embedding model: OpenAI listing only */
};

/* Models beyond the conf map (the Bedrock catalog) at one moment, published by their
 * fetcher (core/bd_published.h) and never changed afterwards: workers read them with
 * no lock. The fetcher's own catalog extends this (bd_bedrock_catalog_t). */
struct bd_models_catalog_t {
    bd_published_obj_t pub; /* first: the publication header */
    std::vector<bd_models_listing_t> listings;          /* what /v1/models adds, stable order */
    std::unordered_map<std::string, std::string> names; /* client name -> Bedrock id to call */
};

/* Publishes <c> as the model source, taking over one reference of the caller's; null
 * removes the source. Any thread (the catalog's fetch thread). */
void bd_models_publish_catalog(bd_models_catalog_t *c);

/* The published source's Bedrock id for <name>; -1 without a source or without that
 * name. No lock; any thread. */
int bd_models_source_resolve(const char *name, std::string *bedrock_id);

#define BD_MODELS_LIST_EMBEDDINGS 0x1 /* include the source's embedding models */

/* The models GET /v1/models lists, in order: the listed conf entries in conf order,
 * then the additions (bd_models_addition_entries), then the source's models that no
 * conf entry or addition covers (by name or alias, or by the same Bedrock model,
 * geography prefix aside). Source models are offered only when model_passthrough is
 * on. Any worker thread. */
void bd_models_list(const bd_snapshot_t *snap, int flags, std::vector<bd_models_listing_t> *out);

/* GET /v1/models/{id}: a conf entry by name or alias (listed or not; <out>->id is the
 * entry's name), else a model of bd_models_list(). Returns 0, or -1 when unknown.
 * Any worker thread. */
int bd_models_find(const bd_snapshot_t *snap, int flags, const std::string &id,
                   bd_models_listing_t *out);

/* --- model map additions (kept outside the conf) ---
 *
 * The store's `models` table (bedrockctl model set|unset, and what the DynamoDB sync
 * pulls into it) adds names to the model map while bedrockd runs. The store thread
 * publishes the rows here (core/bd_published.h) whenever they change: the dependency
 * points from the store to the model map, which knows nothing of SQLite, and workers
 * read the rows with no lock. Resolution order: conf entries (names and aliases)
 * first, then additions, then passthrough ids. */

/* One addition: `model NAME { id BEDROCK_ID; [route ROUTE;] }`. */
struct bd_models_addition_t {
    std::string name;
    std::string bedrock_id;
    std::string route;  /* "converse", "invoke", or "" (model_route, else the default) */
    int64_t updated_ms; /* when it was last set, epoch ms */
};

/* Publishes <rows> (moved from; ordered by name) as the additions, replacing the
 * previous ones; null removes them all. Any thread (the store thread). */
void bd_models_publish_additions(std::vector<bd_models_addition_t> *rows);

/* The published addition named <name>: 0 with <out> filled, or -1 (none). No lock;
 * any thread. */
int bd_models_addition_find(const char *name, bd_models_addition_t *out);

/* The additions GET /v1/models lists after the conf entries: those whose name no conf
 * entry uses (as name or alias), as entries (listed, display_name = name, created_at =
 * the time they were set), appended to <out> in name order. Any worker thread. */
void bd_models_addition_entries(const bd_snapshot_t *snap, std::vector<bd_model_entry_t> *out);

extern bd_module_t bd_models_module;

#endif
