/*
 * bd_openai_module.h: the OpenAI-compatible API: POST <prefix>/chat/completions (JSON and
 * SSE) through Converse / ConverseStream for any model, POST <prefix>/embeddings through
 * InvokeModel, GET <prefix>/models and <prefix>/models/{id} from the model map.
 */
#ifndef BD_OPENAI_MODULE_H
#define BD_OPENAI_MODULE_H

#include "core/bd_module.h"

struct bd_api_t;

extern bd_module_t bd_openai_module;
extern const bd_api_t bd_openai_api;

#endif
