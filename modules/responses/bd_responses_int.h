/*
 * bd_responses_int.h: what the Responses module's files share: its conf, the stored
 * responses (read and written by jobs on the store thread, answered back on the worker
 * that asked), and the handlers. Worker thread unless said otherwise.
 */
#ifndef BD_RESPONSES_INT_H
#define BD_RESPONSES_INT_H

#include <jansson.h>
#include <stdint.h>

#include <string>

#include "core/bd_request.h"
#include "modules/api/bd_api.h"
#include "modules/responses/bd_responses_module.h"

struct bd_responses_conf_t {
    int64_t retention_ms; /* how long a stored response is kept */
};

const bd_responses_conf_t *bd_responses_conf(const bd_request_t *r);

/* --- stored responses (bd_responses_store.cc) --- */

/* A stored response as read back. */
struct bd_responses_row_t {
    json_t *response; /* owned: the response object */
    json_t *input;    /* owned: the conversation's input items */
};

/* Called on the asking worker with the row (found: 1; 0 not found or not the key's; -1
 * the store failed). <r> is null when the request ended meanwhile: the callee frees
 * nothing but <row>'s references, which it owns in every case. */
typedef void (*bd_responses_found_pt)(bd_request_t *r, int found, bd_responses_row_t *row);

/* Queues a write of <response> and <input> (both borrowed; serialised here) under
 * r->key_id, kept for the retention. Returns 0, or -1 when there is no store or its
 * queue is full (logged). */
int bd_responses_store_put(bd_request_t *r, json_t *response, json_t *input);

/* Looks up <id> for r->key_id on the store thread and calls <found> on this worker;
 * with <remove>, deletes it (found: 1 when a row was deleted). Returns 0 (the answer will
 * come, <r> waits: BD_AGAIN), or -1 when there is no store or its queue is full. */
int bd_responses_store_get(bd_request_t *r, const std::string &id, bool remove,
                           bd_responses_found_pt found);

/* Worker registry for answers (init_worker / exit_worker of the module). */
void bd_responses_store_worker_add(struct bd_worker_t *w);
void bd_responses_store_worker_remove(struct bd_worker_t *w);

/* --- the OpenAI shape --- */

/* {"error":{...}} with <status>; <type> an OpenAI type; <code> may be null. */
void bd_responses_send_error(bd_request_t *r, int status, const char *type, const char *code,
                             const char *message);

/* POST <prefix>/responses: the model call's part (bd_responses_create.cc), and its
 * handler, which reads the stored conversation a previous_response_id names before the
 * shared driver runs the call. */
extern const bd_api_call_ops_t bd_responses_call;
int bd_responses_create(bd_request_t *r);
int bd_responses_by_id(bd_request_t *r); /* GET and DELETE <prefix>/responses/{id} */

#endif
