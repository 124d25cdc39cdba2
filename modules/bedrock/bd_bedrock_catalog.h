/*
 * bd_bedrock_catalog.h: the Bedrock catalog: what ListFoundationModels and
 * ListInferenceProfiles say, fetched by a thread of its own (blocking libcurl, never
 * on a worker) at start and every catalog_refresh, and published as an immutable,
 * refcounted snapshot. Workers read it for GET /v1/models and to resolve the client
 * names derived from Bedrock ids (claude-sonnet-4-5-20250929 for
 * us.anthropic.claude-sonnet-4-5-20250929-v1:0). A snapshot never changes once
 * published (core/bd_published.h): readers take it with no lock.
 */
#ifndef BD_BEDROCK_CATALOG_H
#define BD_BEDROCK_CATALOG_H

#include <stddef.h>
#include <stdint.h>

#include <atomic>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/aws/bd_aws_endpoint.h"
#include "core/aws/bd_credentials.h"
#include "modules/models/bd_models.h"

/* One ListFoundationModels summary. Enums are kept as the open strings AWS sends. */
struct bd_bedrock_fm_t {
    std::string id;       /* modelId */
    std::string arn;
    std::string name;     /* modelName, "" when absent */
    std::string provider; /* providerName */
    std::string status;   /* modelLifecycle.status; "ACTIVE" when absent */
    std::vector<std::string> input_modalities;
    std::vector<std::string> output_modalities;
    std::vector<std::string> inference_types; /* ON_DEMAND, INFERENCE_PROFILE, PROVISIONED */
    bool streaming;                           /* responseStreamingSupported */
};

/* One ListInferenceProfiles summary. */
struct bd_bedrock_profile_t {
    std::string id;   /* inferenceProfileId: "us.anthropic.claude-..." or an application id */
    std::string arn;
    std::string name;
    std::string status; /* ACTIVE */
    std::string type;   /* SYSTEM_DEFINED, APPLICATION */
    std::vector<std::string> models; /* foundation model ids it routes to, without repeats */
};

/* The catalog is the models module's source: bd_bedrock_catalog_index builds the
 * inherited listings and names (derived name -> Bedrock id to call). */
struct bd_bedrock_catalog_t : bd_models_catalog_t {
    std::vector<bd_bedrock_fm_t> models;
    std::vector<bd_bedrock_profile_t> profiles;
    int64_t fetched_ms; /* wall clock of the fetch */
};

/* --- snapshots (pure; any thread) --- */

/* A new empty catalog with one reference. */
bd_bedrock_catalog_t *bd_bedrock_catalog_new(void);

/* The client name for a Claude model or profile id: the geography prefix, the
 * provider and the version suffix go ("us.anthropic.claude-sonnet-4-5-20250929-v1:0"
 * -> "claude-sonnet-4-5-20250929", "anthropic.claude-v2:1" -> "claude-v2:1");
 * "" for any other id. */
std::string bd_bedrock_catalog_client_name(const std::string &bedrock_id);

/* The system-profile prefixes to prefer for <region>, best first, "global" last
 * ("us-east-1" -> us, global; "ap-northeast-1" -> jp, apac, global). */
std::vector<std::string> bd_bedrock_catalog_geos(const char *region);

/* Parses a ListFoundationModels answer into <cat>->models (replacing them). Returns 0,
 * or -1 with <err>. */
int bd_bedrock_catalog_parse_models(const char *body, size_t len, bd_bedrock_catalog_t *cat,
                                    std::string *err);

/* Parses one ListInferenceProfiles page and appends its profiles to <cat>->profiles;
 * <next_token> gets the page's nextToken, "" on the last page. Returns 0, or -1. */
int bd_bedrock_catalog_parse_profiles(const char *body, size_t len, bd_bedrock_catalog_t *cat,
                                      std::string *next_token, std::string *err);

/* Builds <cat>->listings and <cat>->names from its models and profiles. Listed are
 * ACTIVE models with TEXT output (and EMBEDDING models, marked as such) that can be
 * called: on demand under their own id, else through a system profile of <region>'s
 * geography (then global, then any). Claude models are listed under their derived
 * name, newest first; the others under the id to call, by id. */
void bd_bedrock_catalog_index(bd_bedrock_catalog_t *cat, const char *region);

/* Drops one reference; the last one frees <cat>. Any thread; null is fine. */
void bd_bedrock_catalog_release(bd_bedrock_catalog_t *cat);

/* --- the fetcher (bd_bedrock_catalog_fetch.cc) --- */

struct bd_bedrock_catalog_options_t {
    bd_aws_endpoint_t control;       /* the control plane */
    std::string region;              /* the gateway's region, for profile geography */
    std::string ca_file;             /* "" = the system store */
    bd_credentials_provider_t *creds; /* borrowed; must outlive the fetcher */
    int64_t refresh_ms;              /* between successful fetches */
    int64_t retry_min_ms;            /* first retry after a failure, doubling */
    int64_t retry_max_ms;            /* backoff cap (at most refresh_ms) */
    int64_t connect_timeout_ms;
    int64_t request_timeout_ms;      /* per HTTP request */
};

struct bd_bedrock_catalog_fetcher_t;

/* Copies <opts> and starts the fetch thread, which fetches at once and publishes each
 * good catalog as the models module's source (bd_models_publish_catalog). Main
 * thread; one fetcher per process. */
bd_bedrock_catalog_fetcher_t *bd_bedrock_catalog_start(const bd_bedrock_catalog_options_t *opts);

/* Stops the thread (aborting a transfer in progress), removes the models module's
 * source and frees the fetcher; catalogs already acquired stay valid until released. Main thread, after workers joined. */
void bd_bedrock_catalog_stop(bd_bedrock_catalog_fetcher_t *f);

/* The last good catalog with one reference for the caller, or null before the first
 * success. No lock; any thread. */
bd_bedrock_catalog_t *bd_bedrock_catalog_acquire(bd_bedrock_catalog_fetcher_t *f);

#endif
