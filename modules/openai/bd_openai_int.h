/*
 * bd_openai_int.h: what the OpenAI module's files share: its conf and the request
 * plumbing (errors in OpenAI's envelope, body parsing, model resolution). Worker thread,
 * except the conf, which is built on the main thread and read-only afterwards.
 */
#ifndef BD_OPENAI_INT_H
#define BD_OPENAI_INT_H

#include <jansson.h>
#include <stdint.h>

#include <string>
#include <utility>
#include <vector>

#include "core/bd_request.h"
#include "modules/bedrock/bd_bedrock.h"
#include "modules/convert/bd_convert_openai.h"
#include "modules/openai/bd_openai_module.h"

struct bd_openai_conf_t {
    std::vector<std::string> prefixes; /* "/v1" ...; "" serves the bare paths */
    int64_t default_max_tokens;        /* when the client sets no max tokens */
    /* Routes another module already served (GET /v1/models when openai_prefix and
     * anthropic_prefix are the same): path -> that module's handler, which answers
     * requests that do not look like they come from an OpenAI client. */
    std::vector<std::pair<std::string, bd_phase_handler_pt>> shared;
};

bd_openai_conf_t *bd_openai_conf(const bd_snapshot_t *snap);

/* Sends {"error":{"message","type","param","code"}} with <status> and finalizes; sets
 * r->error_type to <type> unless already set. <code> may be null. Adds retry-after on
 * 429 and 503. */
void bd_openai_send_error(bd_request_t *r, int status, const char *type, const char *code,
                          const char *message);

/* Sends <j> (taken over) as a 200 JSON answer and finalizes. */
void bd_openai_send_json(bd_request_t *r, json_t *j);

/* The error format of the OpenAI paths (bd_error_render_pt): core error types in
 * OpenAI's envelope. */
void bd_openai_render_error(std::string *out, int status, const char *type,
                            const char *message, const char *request_id);

/* Parses the body as a JSON object, or answers 400 and returns null. */
json_t *bd_openai_parse_body(bd_request_t *r);

/* Resolves body.model through the model map into <out> and records it on <r>, checks the
 * key may use it and charges its token estimate (<chat>: with the output it may produce),
 * or answers 400/403/404/429 and returns BD_DONE. */
int bd_openai_resolve_model(bd_request_t *r, json_t *req, bd_convert_model_t *out, bool chat);

/* Maps a failed Bedrock call result's name and message to an OpenAI error. */
void bd_openai_upstream_error(const bd_bedrock_result_t *res, bd_convert_error_t *err);

/* The content handlers. */
int bd_openai_chat(bd_request_t *r);
int bd_openai_embeddings(bd_request_t *r);
int bd_openai_models_list(bd_request_t *r);
int bd_openai_models_get(bd_request_t *r);

#endif
