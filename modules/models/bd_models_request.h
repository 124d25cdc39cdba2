/*
 * bd_models_request.h: the front of a client's model request, shared by the Anthropic and
 * OpenAI handlers: the JSON body, the model it names resolved through the model map, and
 * that model admitted for the request's key (model patterns, tokens per minute). Errors
 * keep each API's own wording and shape: these functions say what failed, the caller
 * answers. Worker thread.
 */
#ifndef BD_MODELS_REQUEST_H
#define BD_MODELS_REQUEST_H

#include <jansson.h>
#include <stdint.h>

#include <string>
#include <vector>

#include "core/bd_request.h"
#include "modules/convert/bd_convert.h"

/* Parses <r>'s body as a JSON object and returns it (the caller owns the reference), or
 * returns null with <msg> saying why, calling the body <what> ("request body"); nothing
 * is sent: the caller answers 400 in its API's shape. Worker thread. */
json_t *bd_models_request_body(const bd_request_t *r, const char *what, std::string *msg);

/* Resolves the client model name <name> through the model map into <out> and records it
 * on <r> (r->model, r->model_resolved), then checks that <r>'s key may use it and charges
 * the key's tokens per minute with the input estimate (four body bytes a token) plus
 * <output_max>. Returns BD_OK; BD_DECLINED when the model is unknown (only r->model is
 * set, nothing sent: the caller answers 404 in its API's shape); or BD_DONE when auth or
 * the rate limit answered 403/429 (<r> is finalized: the caller must not touch it).
 * Worker thread. */
int bd_models_request_admit(bd_request_t *r, const char *name, int64_t output_max,
                            bd_convert_model_t *out);

/* Records the client's anthropic-beta values the model does not accept (<dropped>, not
 * sent to Bedrock): counted on <r> for /metrics, named in the debug log. Worker thread. */
void bd_models_request_dropped_betas(bd_request_t *r, const std::vector<std::string> &dropped);

#endif
