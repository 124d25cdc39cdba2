/*
 * bd_openai_int.h: what the OpenAI module's files share. Worker thread, except the
 * conf, which is built on the main thread and read-only afterwards.
 */
#ifndef BD_OPENAI_INT_H
#define BD_OPENAI_INT_H

#include <jansson.h>
#include <stdint.h>

#include <string>
#include <utility>
#include <vector>

#include "core/bd_request.h"
#include "modules/api/bd_api.h"
#include "modules/bedrock/bd_bedrock.h"
#include "modules/convert/bd_convert_openai.h"
#include "modules/openai/bd_openai_module.h"

struct bd_openai_conf_t {
    std::vector<std::string> prefixes; /* "/v1" ...; "" serves the bare paths */
    int64_t default_max_tokens;        /* when the client sets no max tokens */
};

bd_openai_conf_t *bd_openai_conf(const bd_snapshot_t *snap);

/* The OpenAI error envelope (bd_api_t.render_error) and the MODEL phase's failures in it
 * (bd_api_t.fail), shared with the Responses API on the same prefixes. */
void bd_openai_render_error(std::string *out, int status, int err, const char *message,
                            const char *request_id);
void bd_openai_fail(bd_request_t *r, int kind, int status, const std::string &name,
                    const char *msg);

/* Maps a failed Bedrock call result's name and message to an OpenAI error. */
void bd_openai_upstream_error(const bd_bedrock_result_t *res, bd_convert_error_t *err);

/* POST <prefix>/chat/completions: the model call's part (bd_openai_chat.cc). */
extern const bd_api_call_ops_t bd_openai_chat_call;

/* The content handlers. */
int bd_openai_embeddings(bd_request_t *r);
int bd_openai_models_list(bd_request_t *r);
int bd_openai_models_get(bd_request_t *r);

#endif
