/*
 * bd_err.cc: the names of error types, refusal reasons and cache verdicts.
 */
#include "core/bd_err.h"

#include <string.h>

static const char *const bd_err_names[BD_ERR_COUNT] = {
    "invalid_request_error", "authentication_error", "permission_error", "not_found_error",
    "model_not_found",       "request_too_large",    "rate_limit_error", "insufficient_quota",
    "timeout_error",         "overloaded_error",     "api_error",
};

const char *
bd_err_name(int e)
{
    return e >= 0 && e < BD_ERR_COUNT ? bd_err_names[e] : "api_error";
}

bd_err_e
bd_err_of_status(int status)
{
    switch (status) {
    case 400:
    case 405:
    case 411:
    case 413:
    case 415:
    case 431:
        return BD_ERR_INVALID_REQUEST;
    case 401:
        return BD_ERR_AUTHENTICATION;
    case 403:
        return BD_ERR_PERMISSION;
    case 404:
        return BD_ERR_NOT_FOUND;
    case 408:
    case 504:
        return BD_ERR_TIMEOUT;
    case 429:
        return BD_ERR_RATE_LIMIT;
    case 503:
    case 529:
        return BD_ERR_OVERLOADED;
    default:
        return BD_ERR_API;
    }
}

bd_err_e
bd_err_parse(const char *name)
{
    for (int i = 0; i < BD_ERR_COUNT; i++) {
        if (strcmp(name, bd_err_names[i]) == 0) {
            return (bd_err_e)i;
        }
    }
    return BD_ERR_API; /* "server_error" and anything unknown */
}

static const char *const bd_reject_names[BD_REJECT_COUNT] = {
    "",           "missing_key",        "invalid_key", "model_not_allowed", "rpm",
    "tpm",        "concurrency",        "global_rpm",  "global_tpm",        "global_concurrency",
    "budget",     "connections",        "connections_per_address", "body_too_large",
    "malformed",  "body_memory",        "shutdown",
};

const char *
bd_reject_name(int reason)
{
    return reason > 0 && reason < BD_REJECT_COUNT ? bd_reject_names[reason] : "";
}

const char *
bd_cache_result_name(int result)
{
    switch (result) {
    case BD_CACHE_HIT:
        return "hit";
    case BD_CACHE_MISS:
        return "miss";
    case BD_CACHE_BYPASS:
        return "bypass";
    default:
        return "";
    }
}
