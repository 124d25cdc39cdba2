/*
 * bd_credentials.h: the AWS credential provider: the SDKs' default chain (env,
 * shared files, web identity, container, EC2 IMDSv2) or one chosen source, plus
 * Bedrock API keys (bearer mode). The main thread creates and destroys the provider;
 * every HTTP fetch runs on the provider's own refresh thread; any thread may
 * acquire the current set, which is immutable and published (core/bd_published.h). A set handed out is
 * never expired (acquire returns null instead).
 */
#ifndef BD_CREDENTIALS_H
#define BD_CREDENTIALS_H

#include <stddef.h>
#include <stdint.h>
#include <atomic>
#include <string>

#include "core/aws/bd_aws_endpoint.h"
#include "core/aws/bd_sigv4.h"
#include "core/bd_published.h"

enum bd_credentials_source_e {
    BD_CREDENTIALS_AUTO = 0,     /* bearer env, env keys, profile, web identity, container, imds */
    BD_CREDENTIALS_ENV,          /* AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN */
    BD_CREDENTIALS_PROFILE,      /* shared files, profile <profile> (or AWS_PROFILE / default) */
    BD_CREDENTIALS_WEB_IDENTITY, /* AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN via STS */
    BD_CREDENTIALS_CONTAINER,    /* AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI */
    BD_CREDENTIALS_IMDS,         /* EC2 instance metadata, IMDSv2 */
    BD_CREDENTIALS_STATIC,       /* <access_key_id> / <secret_access_key> from conf */
    BD_CREDENTIALS_BEARER,       /* <bearer_token> from conf, else AWS_BEARER_TOKEN_BEDROCK */
};

/* Wall clock in ms since the epoch; injectable so tests can move time. */
typedef int64_t (*bd_credentials_clock_pt)(void *data);

/* Options for bd_credentials_create. Zero-initialise, then set what you need; strings
 * are copied. Zero durations take the documented defaults. */
struct bd_credentials_options_t {
    int source;                    /* bd_credentials_source_e */
    const char *profile;           /* PROFILE/AUTO: profile name; null = AWS_PROFILE or default */
    const char *access_key_id;     /* STATIC */
    const char *secret_access_key; /* STATIC */
    const char *session_token;     /* STATIC, optional */
    const char *bearer_token;      /* BEARER; null = AWS_BEARER_TOKEN_BEDROCK */
    const char *region;            /* region for STS (web identity); null = env/profile */
    const char *sts_endpoint;      /* STS URL override; null = AWS_ENDPOINT_URL_STS etc. */
    bd_aws_env_t env;              /* environment; {null, null} = getenv(3). Called on the
                                      refresh thread: must be thread-safe and unchanging */
    bd_credentials_clock_pt clock; /* null = CLOCK_REALTIME */
    void *clock_data;
    int64_t http_timeout_ms;       /* per container/IMDS request; default 2000 */
    int64_t sts_timeout_ms;        /* per STS request; default 10000 */
    int64_t retry_min_ms;          /* first retry after a failure; default 1000 */
    int64_t retry_max_ms;          /* backoff cap, also the "nothing found" period; default 30000 */
    int64_t refresh_before_ms;     /* refresh this long before expiry; default 300000 */
    int64_t expiry_margin_ms;      /* acquire refuses a set this close to expiry; default 10000 */
};

/* One immutable set of credentials. Fields never change after publication. */
struct bd_credentials_t {
    bd_published_obj_t pub;       /* first: the publication header (bd_credentials.cc) */
    bd_sigv4_credentials_t sigv4; /* keys to sign with; empty in bearer mode */
    std::string bearer_token;     /* non-empty: send "Authorization: Bearer <token>", no SigV4 */
    int64_t expiration_ms;        /* wall clock ms since the epoch; 0 = does not expire */
    std::string source;           /* "env", "profile x", "web identity", "container", ... */
};

struct bd_credentials_provider_t;

/* Counters and times for metrics and /ready (a copy; read under the provider lock). */
struct bd_credentials_info_t {
    bool ready;               /* a usable set is present now */
    int64_t expiration_ms;    /* of the current set; 0 = none or does not expire */
    int64_t last_success_ms;  /* wall clock of the last successful fetch; 0 = never */
    int64_t next_refresh_ms;  /* when the refresh thread will try next; INT64_MAX = never */
    uint64_t attempts;        /* resolutions finished (success or failure) */
    uint64_t failures;        /* of which failed */
    std::string source;       /* source of the current set, "" when none */
    std::string last_error;   /* of the last failed attempt, "" after a success */
};

/* Validates <opts>, copies them and starts the refresh thread, which resolves at once
 * and then before each expiry. Returns null with <err> only for bad options (e.g.
 * STATIC without keys); finding no credentials is not an error (see _status).
 * Main thread, after any fork. Calls curl_global_init (refcounted). */
bd_credentials_provider_t *bd_credentials_create(const bd_credentials_options_t *opts, char *err,
                                                 size_t err_len);

/* Stops the refresh thread (aborting a fetch in progress) and frees the provider.
 * Sets already acquired stay valid until released. Main thread. */
void bd_credentials_destroy(bd_credentials_provider_t *p);

/* The current set with one reference for the caller, or null when there is none or it
 * is within expiry_margin_ms of expiring. Any thread; takes no lock and never blocks. */
bd_credentials_t *bd_credentials_acquire(bd_credentials_provider_t *p);

/* Drops one reference taken by _acquire; the last one frees the set. Any thread; null ok. */
void bd_credentials_release(bd_credentials_t *c);

/* Returns 1 when a usable set is present, else 0. Writes a one-line reason to <reason>:
 * "credentials from imds, expire at 2024-01-15T13:00:00Z", or "no AWS credentials found
 * (tried env, profile default, web identity, container, imds: ...)", or "credentials
 * expired at ...; refresh failing: ...". Any thread. */
int bd_credentials_status(bd_credentials_provider_t *p, char *reason, size_t len);

/* Fills <out> with counters and times. Any thread. */
void bd_credentials_info(bd_credentials_provider_t *p, bd_credentials_info_t *out);

/* Asks the refresh thread to fetch again now (e.g. after ExpiredTokenException).
 * Returns at once. Any thread. */
void bd_credentials_refresh(bd_credentials_provider_t *p);

/* Wakes the refresh thread to re-check its schedule against the clock (for tests that
 * move an injected clock). Returns at once. Any thread. */
void bd_credentials_wake(bd_credentials_provider_t *p);

/* Blocks until more than <seen> resolutions have finished, or <timeout_ms> passes;
 * returns the count. For startup (wait for the first attempt) and tests. Not for
 * reactor threads. */
uint64_t bd_credentials_wait(bd_credentials_provider_t *p, uint64_t seen, int64_t timeout_ms);

/* "env", "profile", ... for a bd_credentials_source_e; "" when out of range. */
const char *bd_credentials_source_name(int source);

/* Parses an RFC 3339 UTC or offset timestamp ("2024-01-15T13:00:00Z",
 * "2024-01-15T13:00:00.123+02:00") to ms since the epoch. Returns 0, or -1. */
int bd_credentials_parse_time(const char *s, size_t len, int64_t *ms);

/* Formats <ms> as "YYYY-MM-DDTHH:MM:SSZ" into <buf> (at least 21 bytes). */
void bd_credentials_format_time(int64_t ms, char *buf, size_t len);

#endif
