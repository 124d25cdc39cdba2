/*
 * bd_responses_module.h: the OpenAI Responses API on the OpenAI module's prefixes:
 * POST <prefix>/responses (JSON and SSE) through Converse / ConverseStream, and
 * GET / DELETE <prefix>/responses/{id} and GET <prefix>/responses/{id}/input_items for
 * stored responses (kept in the store for responses_retention, visible only to the key
 * that made them).
 */
#ifndef BD_RESPONSES_MODULE_H
#define BD_RESPONSES_MODULE_H

#include "core/bd_module.h"
#include "modules/api/bd_api.h"

extern bd_module_t bd_responses_module;
extern const bd_api_t bd_responses_api;

#endif
