/*
 * bd_anthropic_int.h: what the Anthropic module's files share.
 */
#ifndef BD_ANTHROPIC_INT_H
#define BD_ANTHROPIC_INT_H

#include <jansson.h>
#include <stdint.h>

#include "core/bd_request.h"
#include "modules/anthropic/bd_anthropic_module.h"
#include "modules/convert/bd_convert.h"

struct bd_anthropic_conf_t {
    int64_t ping_interval_ms; /* SSE ping while Bedrock is silent */
    std::string prefix;       /* path prefix, default "/v1" */
};

bd_anthropic_conf_t *bd_anthropic_conf(const bd_snapshot_t *snap);

/* Parses the request body as a JSON object, or answers 400 and returns null. */
json_t *bd_anthropic_parse_body(bd_request_t *r);

/* Resolves body.model through the model map into <out> and records it on <r>, or
 * answers 400/404 and returns BD_DONE. */
int bd_anthropic_resolve_model(bd_request_t *r, json_t *req, bd_convert_model_t *out);

/* The content handlers. */
int bd_anthropic_messages(bd_request_t *r);
int bd_anthropic_count_tokens(bd_request_t *r);
int bd_anthropic_models_list(bd_request_t *r);
int bd_anthropic_models_get(bd_request_t *r);

#endif
