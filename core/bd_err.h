/*
 * bd_err.h: what went wrong with a request, as the gateway names it: the error
 * types every response error carries (each client API renders them in its own
 * shape, modules/api), and the labels metrics count refusals and cache verdicts
 * by. Enums, so that a typo is a compile error and the labels stay a closed set.
 */
#ifndef BD_ERR_H
#define BD_ERR_H

enum bd_err_e {
    BD_ERR_INVALID_REQUEST = 0, /* the client's request is wrong (400, 405, 411, 415) */
    BD_ERR_AUTHENTICATION,      /* no key, or not a valid one (401) */
    BD_ERR_PERMISSION,          /* the key may not do this (403) */
    BD_ERR_NOT_FOUND,           /* no such route or resource (404) */
    BD_ERR_MODEL_NOT_FOUND,     /* the model the request names is unknown */
    BD_ERR_TOO_LARGE,           /* the request is over a size limit (413, 431) */
    BD_ERR_RATE_LIMIT,          /* a rate limit (429) */
    BD_ERR_QUOTA,               /* a key's budget is used up (429) */
    BD_ERR_TIMEOUT,             /* the model or the client took too long (408, 504) */
    BD_ERR_OVERLOADED,          /* the gateway or Bedrock is overloaded (503, 529) */
    BD_ERR_API,                 /* anything else: the gateway's or upstream's fault */
    BD_ERR_COUNT
};

/* The log and metrics name of <e> ("invalid_request_error", ...). */
const char *bd_err_name(int e);

/* The error type of a status the gateway answers with itself. */
bd_err_e bd_err_of_status(int status);

/* The type named <name> (the names of bd_err_name, and the client API names the
 * converters use: "server_error", "request_too_large"); BD_ERR_API when unknown. */
bd_err_e bd_err_parse(const char *name);

/* Why the gateway refused a request before its content handler ran (metrics label
 * of bedrockd_auth_failures_total and bedrockd_ratelimit_rejections_total). */
enum bd_reject_e {
    BD_REJECT_NONE = 0,
    BD_REJECT_MISSING_KEY,
    BD_REJECT_INVALID_KEY,
    BD_REJECT_MODEL_NOT_ALLOWED,
    BD_REJECT_RPM,
    BD_REJECT_TPM,
    BD_REJECT_CONCURRENCY,
    BD_REJECT_GLOBAL_RPM,
    BD_REJECT_GLOBAL_TPM,
    BD_REJECT_GLOBAL_CONCURRENCY,
    BD_REJECT_BUDGET,
    BD_REJECT_CONNECTIONS,   /* the edge: too many connections */
    BD_REJECT_CONNECTIONS_PER_ADDRESS, /* the edge: too many from one address */
    BD_REJECT_BODY_TOO_LARGE, /* the edge: a body announced over the limit */
    BD_REJECT_MALFORMED,      /* the edge: a request head that does not parse */
    BD_REJECT_BODY_MEMORY,    /* the edge: no memory left for request bodies */
    BD_REJECT_SHUTDOWN,       /* the edge: begun after the drain found nothing in flight */
    BD_REJECT_COUNT
};

/* The label of <reason> ("missing_key", ...); "" for BD_REJECT_NONE. */
const char *bd_reject_name(int reason);

/* The response cache's verdict on a request (modules/cache). */
enum bd_cache_result_e {
    BD_CACHE_NONE = 0, /* not cacheable */
    BD_CACHE_HIT,
    BD_CACHE_MISS,
    BD_CACHE_BYPASS,
};

/* The label of <result> ("hit", "miss", "bypass"); "" for BD_CACHE_NONE. */
const char *bd_cache_result_name(int result);

#endif
