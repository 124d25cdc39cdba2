/*
 * bd_bedrock_health.cc: the refusal streak behind readiness (see the header).
 */
#include "modules/bedrock/bd_bedrock_health.h"

#include <stdio.h>

/* What Bedrock answers when it does not accept the caller: unknown or revoked key,
 * wrong secret, expired session, no right to invoke. */
static const char *const bd_bedrock_auth_errors[] = {
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "ExpiredTokenException",
    "AccessDeniedException",
    "IncompleteSignatureException",
    "MissingAuthenticationTokenException",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    nullptr,
};

void
bd_bedrock_health_init(bd_bedrock_health_t *h)
{
    h->auth_failures.store(0);
    h->last_error.store(0);
}

static int
bd_bedrock_health_auth_index(const std::string &name)
{
    for (int i = 0; bd_bedrock_auth_errors[i] != nullptr; i++) {
        if (name == bd_bedrock_auth_errors[i]) {
            return i;
        }
    }
    return -1;
}

bool
bd_bedrock_health_is_auth_error(const std::string &error_name)
{
    return bd_bedrock_health_auth_index(error_name) >= 0;
}

void
bd_bedrock_health_record(bd_bedrock_health_t *h, const bd_bedrock_result_t *res)
{
    int k = res->kind;
    if (k == BD_BEDROCK_TRANSPORT || k == BD_BEDROCK_NO_CREDENTIALS ||
        k == BD_BEDROCK_BAD_STREAM) {
        return;
    }
    int i = k == BD_BEDROCK_AWS_ERROR ? bd_bedrock_health_auth_index(res->error_name) : -1;
    if (i >= 0) {
        h->last_error.store(i, std::memory_order_relaxed);
        h->auth_failures.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    if (h->auth_failures.load(std::memory_order_relaxed) != 0) {
        h->auth_failures.store(0, std::memory_order_relaxed);
    }
}

int
bd_bedrock_health_ready(const bd_bedrock_health_t *h, char *reason, size_t len)
{
    int n = h->auth_failures.load(std::memory_order_relaxed);
    if (n < BD_BEDROCK_AUTH_FAILURES_UNREADY) {
        return 1;
    }
    int i = h->last_error.load(std::memory_order_relaxed);
    snprintf(reason, len,
             "Bedrock refuses the gateway's AWS credentials (%s on the last %d calls, none "
             "accepted since)",
             bd_bedrock_auth_errors[i], n);
    return 0;
}
