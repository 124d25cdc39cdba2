/*
 * bd_bedrock_conf.h: the `bedrock { ... }` block and the module's process and
 * worker state. Shared by the module's files only.
 */
#ifndef BD_BEDROCK_CONF_H
#define BD_BEDROCK_CONF_H

#include <stdint.h>

#include <string>

#include "core/aws/bd_aws_endpoint.h"
#include "core/aws/bd_credentials.h"
#include "core/bd_curl.h"
#include "modules/bedrock/bd_bedrock.h"
#include "modules/bedrock/bd_bedrock_catalog.h"
#include "modules/bedrock/bd_bedrock_health.h"

struct bd_bedrock_conf_t {
    std::string region;
    std::string endpoint;         /* runtime endpoint override, "" = resolved */
    std::string control_endpoint; /* control-plane override */
    int credentials;              /* bd_credentials_source_e */
    std::string profile;
    std::string access_key_id;
    std::string secret_access_key;
    std::string session_token;
    std::string bearer_token;
    std::string ca_file;
    int64_t connect_timeout_ms;
    int64_t first_byte_timeout_ms; /* streams: until the response headers */
    int64_t stream_idle_timeout_ms;
    int64_t request_timeout_ms;    /* the whole call; non-stream answers can take minutes */
    int64_t read_timeout_ms;       /* non-stream: longest silence, the wait for headers included */
    int64_t retries;               /* extra attempts after the first */
    int64_t retry_budget_ms;       /* no new attempt starts after this much time */
    int64_t retry_base_ms;         /* first backoff before jitter */
    int64_t max_connections;       /* per worker */
    bool http2;                    /* HTTP/2 where TLS offers it (ALPN) */
    bool catalog;                  /* fetch the model catalog from the control plane */
    int64_t circuit_failures;      /* consecutive failures that open a target's circuit */
    int64_t circuit_cooldown_ms;   /* how long an open circuit skips its target */
    struct bd_failover_conf_t *failover; /* the model map's chains (bd_bedrock_failover.h) */
    int64_t catalog_refresh_ms;
    bool seen;                     /* a bedrock block was given */

    bd_aws_endpoint_t runtime; /* resolved at init */
    bd_aws_endpoint_t control;
};

/* Process-wide: the credential provider and the catalog fetcher (both created from
 * the first configuration; the fetcher publishes the models module's source). */
struct bd_bedrock_process_t {
    bd_credentials_provider_t *creds;
    bd_bedrock_catalog_fetcher_t *catalog; /* null with `catalog off` */
    bd_bedrock_health_t health; /* whether Bedrock accepts our identity */
};

struct bd_bedrock_relay_t;

/* Per worker: the curl multi handle (the keep-alive pool to Bedrock), and the relays
 * in flight (so that a stop can end them). */
struct bd_bedrock_worker_t {
    bd_curl_t *curl;
    uint64_t rng;
    bd_bedrock_relay_t *relays; /* intrusive list, bd_bedrock_relay.cc */
};

bd_bedrock_conf_t *bd_bedrock_conf(const bd_snapshot_t *snap);
bd_bedrock_process_t *bd_bedrock_process(bd_process_t *p);
bd_bedrock_worker_t *bd_bedrock_worker(bd_worker_t *w);

#endif
