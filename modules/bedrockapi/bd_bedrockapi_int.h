/*
 * bd_bedrockapi_int.h: what the Bedrock Runtime front door's files share.
 */
#ifndef BD_BEDROCKAPI_INT_H
#define BD_BEDROCKAPI_INT_H

#include <string>

#include "core/bd_request.h"
#include "modules/api/bd_api.h"
#include "modules/bedrock/bd_bedrock.h"
#include "modules/convert/bd_convert.h"

extern bd_module_t bd_bedrockapi_module;
extern const bd_api_t bd_bedrockapi_api;

/* One front-door request: the operation, the model it resolved to, the stream's usage. */
struct bd_bedrockapi_ctx_t {
    bd_request_t *r;
    int op; /* bd_bedrock_op_e */
    const bd_convert_model_t *model; /* the MODEL phase's */
    bd_bedrock_call_t *call;
    bool started;                   /* the event stream's headers went out */
    bd_convert_stream_t converse;   /* usage of a ConverseStream (its SSE is discarded) */
    bd_convert_invoke_stream_t invoke; /* usage of an InvokeModelWithResponseStream */
};

/* Answers an error in Bedrock's own shape: x-amzn-ErrorType <name>, {"message": ...}. */
void bd_bedrockapi_error(bd_request_t *r, int status, const char *name, const char *message);

/* Calls Bedrock for <ctx> with <body> (taken over; <slices> as bd_bedrock_call says)
 * and relays the answer: JSON as it came, event-stream frames re-encoded with their
 * own headers and payload. */
void bd_bedrockapi_relay(bd_bedrockapi_ctx_t *ctx, std::string *body, const bd_json_slices_t *slices);

#endif
