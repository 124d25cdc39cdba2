/*
 * bd_anthropic_module.h: the Anthropic Messages API: POST /v1/messages (JSON and
 * SSE), POST /v1/messages/count_tokens, GET /v1/models and /v1/models/{id}, over
 * Bedrock's Converse or InvokeModel route as the model map says.
 */
#ifndef BD_ANTHROPIC_MODULE_H
#define BD_ANTHROPIC_MODULE_H

#include "core/bd_module.h"

struct bd_api_t;

extern bd_module_t bd_anthropic_module;
extern const bd_api_t bd_anthropic_api;

#endif
