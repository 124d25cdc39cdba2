/*
 * bd_bedrock_relay.h: relays one Bedrock call to the client of its request: the SSE
 * start on the first frame, pings while Bedrock is silent, back-pressure from the client
 * socket to the transfer, cancel on abort, usage capture and the end of the stream. What
 * the bytes say (which converter, which error shape, which ping) stays with the API
 * module, through bd_bedrock_relay_ops_t. Worker thread; a relay dies with its request.
 */
#ifndef BD_BEDROCK_RELAY_H
#define BD_BEDROCK_RELAY_H

#include <jansson.h>
#include <stdint.h>

#include <string>

#include "core/bd_request.h"
#include "modules/bedrock/bd_bedrock.h"
#include "modules/convert/bd_convert.h"

/* The API's part of a relay. Every op gets the <data> given to bd_bedrock_relay_start
 * and runs on the request's worker. */
struct bd_bedrock_relay_ops_t {
    /* Appends the API's keep-alive for a silent stream to <out>. */
    void (*ping)(void *data, std::string *out);
    /* Renders the exception frame <name> (<payload> null when not JSON) into <out>. The
     * relay then sets r->error_type to <name>. */
    void (*exception)(void *data, const char *name, json_t *payload, std::string *out);
    /* Renders the event <type> with the payload text <payload, len> (JSON, read as the
     * API needs it) into <out>. Returns 0, or -1 with <err> set for an event it cannot
     * use; the relay logs it and the call ends as a bad stream (stream_end then renders
     * the error event). */
    int (*event)(void *data, const char *type, const char *payload, size_t len,
                 std::string *out, bd_convert_error_t *err);
    /* The call completed after the stream started: <res> is BD_BEDROCK_OK or the
     * failure. Renders the stream's last bytes into <out> and takes the usage; the relay
     * writes them and ends the stream. */
    void (*stream_end)(void *data, const bd_bedrock_result_t *res, std::string *out);
    /* The call completed before anything was sent: answers the client (a failure, the
     * non-stream answer in <res>->body, or an empty stream) and finalizes the request. */
    void (*answer)(void *data, const bd_bedrock_result_t *res);
    /* The client went away after the stream started; the call is canceled already.
     * Null when there is nothing to keep. */
    void (*abort)(void *data);
};

/* Starts <op> on <model_id> with <body> (taken over; <slices> as bd_bedrock_call
 * says) for <r> and relays it through
 * <ops> (static, outlives the request) with <data> (the API's request context, which
 * must live until <r> is finalized). Pings every <ping_interval_ms> of silence once the
 * stream started (0: never). Takes r->on_abort and r->on_drain, and the bedrock module's
 * slot of r->ctx. The result arrives through <ops>, never before this returns. Worker
 * thread. */
void bd_bedrock_relay_start(bd_request_t *r, int op, const std::string &model_id,
                            std::string *body, const bd_json_slices_t *slices,
                            int64_t ping_interval_ms,
                            const bd_bedrock_relay_ops_t *ops, void *data);

/* A stop hook (bd_worker_on_stop) with the worker's bd_bedrock_worker_t: every relay
 * still running ends now, a started stream with the API's error event (its usage
 * record says 503), a call not yet answered with the API's 503. */
void bd_bedrock_relay_cut_all(bd_worker_t *w, void *bw);

/* Records the token counts of <u> on <r> for the usage record and metrics. Any thread
 * that owns <r>. */
void bd_bedrock_relay_take_usage(bd_request_t *r, const bd_convert_usage_t *u);

#endif
