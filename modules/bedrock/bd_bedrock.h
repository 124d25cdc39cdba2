/*
 * bd_bedrock.h: calls to AWS Bedrock from a request on a worker thread: the URL
 * and SigV4 (or bearer) signing, the transfer on the worker's curl multi handle,
 * bounded retries with jittered backoff while nothing reached the client, and the
 * event-stream decoding of streaming answers. A call belongs to one request.
 */
#ifndef BD_BEDROCK_H
#define BD_BEDROCK_H

#include <stdint.h>

#include <string>

#include "core/aws/bd_eventstream.h"
#include "core/bd_json_slices.h"
#include "core/bd_module.h"
#include "core/bd_request.h"

enum bd_bedrock_op_e {
    BD_OP_CONVERSE = 0,
    BD_OP_CONVERSE_STREAM,
    BD_OP_INVOKE,
    BD_OP_INVOKE_STREAM,
    BD_OP_COUNT_TOKENS,
};

enum bd_bedrock_result_kind_e {
    BD_BEDROCK_OK = 0,         /* 2xx; non-stream: <body> holds the answer */
    BD_BEDROCK_AWS_ERROR,      /* AWS answered an error: <http_status>, <error_name>, <message> */
    BD_BEDROCK_STREAM_ERROR,   /* an exception or error frame mid-stream (already seen by on_event) */
    BD_BEDROCK_TRANSPORT,      /* connect failure or a timeout: <message> */
    BD_BEDROCK_BAD_STREAM,     /* corrupt or truncated event stream: <message> */
    BD_BEDROCK_NO_CREDENTIALS, /* no usable AWS credentials: <message> says why */
};

struct bd_bedrock_result_t {
    int kind;                /* bd_bedrock_result_kind_e */
    long http_status;        /* 0 without a response */
    std::string error_name;  /* e.g. "ThrottlingException", sanitized */
    std::string message;     /* AWS's wording where there is one */
    const std::string *body; /* the response body (non-stream), valid during the callback */
    int attempts;
    bool timeout;            /* a transport timeout */
};

struct bd_bedrock_call_t;

struct bd_bedrock_handlers_t {
    /* Stream operations, 2xx: every decoded frame, events and exceptions alike.
     * Return 0 to go on, 1 to pause the transfer until bd_bedrock_resume, -1 for
     * an event that cannot be used (its payload is not JSON): the call ends as
     * BD_BEDROCK_BAD_STREAM. */
    int (*on_event)(bd_bedrock_call_t *c, const bd_es_message_t *m);
    /* Exactly once per call, unless the call was canceled. The call is freed
     * when the request is finalized, not here. */
    void (*on_complete)(bd_bedrock_call_t *c, const bd_bedrock_result_t *res);
};

/* Starts <op> on <model_id> with <body> (taken over by the call), for <r>. When
 * <slices> (null or borrowed for the request's life) stands in <body>, each token is
 * sent as the bytes it stands for, read from the client's body as curl sends them,
 * and the body is never joined. The call registers a cleanup on <r> and cancels
 * itself if the client goes away. Returns the call; its result arrives through <h>.
 * Worker thread. */
bd_bedrock_call_t *bd_bedrock_call(bd_request_t *r, int op, const std::string &model_id,
                                   std::string *body, const bd_json_slices_t *slices,
                                   const bd_bedrock_handlers_t *h, void *data);

/* Stops the call now; no callback afterwards. Worker thread. */
void bd_bedrock_cancel(bd_bedrock_call_t *c);

/* Resumes a call paused by on_event returning 1. Worker thread. */
void bd_bedrock_resume(bd_bedrock_call_t *c);

void *bd_bedrock_data(const bd_bedrock_call_t *c);
bd_request_t *bd_bedrock_request(const bd_bedrock_call_t *c);

/* Whether credentials are usable now, for readiness (any thread). */
int bd_bedrock_ready(bd_process_t *p, char *reason, size_t len);

struct bd_credentials_provider_t;

/* The process's AWS credential provider, for metrics; null before init_process.
 * Any thread while workers run (it lives until exit_process). */
bd_credentials_provider_t *bd_bedrock_credentials(bd_process_t *p);

/* The `region` written in the bedrock block of <snap> ("" when none). */
const char *bd_bedrock_conf_region(const bd_snapshot_t *snap);

extern bd_module_t bd_bedrock_module;

#endif
