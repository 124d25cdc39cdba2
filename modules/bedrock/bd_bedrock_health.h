/*
 * bd_bedrock_health.h: whether Bedrock accepts the gateway's AWS identity, as the
 * calls find it. Credentials that resolve can still be refused (a wrong secret, a
 * revoked key, an expired session, a role without bedrock:InvokeModel); then every
 * call fails and readiness must say so, so that a load balancer stops sending
 * traffic to a task that cannot serve. Process-wide, lock-free: workers record
 * outcomes, any thread reads.
 */
#ifndef BD_BEDROCK_HEALTH_H
#define BD_BEDROCK_HEALTH_H

#include <stddef.h>

#include <atomic>
#include <string>

#include "modules/bedrock/bd_bedrock.h"

/* Calls refused for the caller's identity, in a row with no accepted call between,
 * before readiness turns off. One refusal may be one model's access; three in a row
 * with nothing accepted is the identity. */
#define BD_BEDROCK_AUTH_FAILURES_UNREADY 3

struct bd_bedrock_health_t {
    std::atomic<int> auth_failures; /* refused calls in a row */
    std::atomic<int> last_error;    /* index into the refusal names */
};

void bd_bedrock_health_init(bd_bedrock_health_t *h);

/* Whether <error_name> says Bedrock refused the caller's identity or its rights. */
bool bd_bedrock_health_is_auth_error(const std::string &error_name);

/* Records how one call ended. Any AWS answer other than a refusal proves the
 * identity (throttling included); transport failures prove nothing. */
void bd_bedrock_health_record(bd_bedrock_health_t *h, const bd_bedrock_result_t *res);

/* 1 when no refusal streak stands, else 0 with <reason>. Any thread. */
int bd_bedrock_health_ready(const bd_bedrock_health_t *h, char *reason, size_t len);

#endif
