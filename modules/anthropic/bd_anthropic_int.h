/*
 * bd_anthropic_int.h: what the Anthropic module's files share.
 */
#ifndef BD_ANTHROPIC_INT_H
#define BD_ANTHROPIC_INT_H

#include <jansson.h>
#include <stdint.h>

#include "core/bd_request.h"
#include "modules/anthropic/bd_anthropic_module.h"
#include "modules/api/bd_api.h"
#include "modules/convert/bd_convert.h"

struct bd_anthropic_conf_t {
    int64_t ping_interval_ms; /* SSE ping while Bedrock is silent */
    std::string prefix;       /* path prefix, default "/v1" */
};

bd_anthropic_conf_t *bd_anthropic_conf(const bd_snapshot_t *snap);

/* POST /v1/messages: the model call's part (bd_anthropic_messages.cc). */
extern const bd_api_call_ops_t bd_anthropic_messages_call;

/* The content handlers. */
int bd_anthropic_count_tokens(bd_request_t *r);
int bd_anthropic_models_list(bd_request_t *r);
int bd_anthropic_models_get(bd_request_t *r);

#endif
