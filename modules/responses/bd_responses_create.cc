/*
 * bd_responses_create.cc: POST <prefix>/responses, the Responses API's model call. With
 * previous_response_id, the stored conversation is read first (a store job; the request
 * waits); then the shared driver (modules/api/bd_api_relay) runs the call and this file
 * says what the bytes are: the body becomes a chat body (modules/convert, Responses
 * adapter), then a Converse body (the OpenAI converter); the answer is a response object
 * or the Responses event stream. A stored response (store: true, the default) is written
 * by the store thread once the answer is complete. Worker thread.
 */
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "core/bd_log.h"
#include "core/bd_worker.h"
#include "modules/anthropic/bd_anthropic_int.h"
#include "modules/convert/bd_convert_responses.h"
#include "modules/openai/bd_openai_int.h"
#include "modules/responses/bd_responses_int.h"

/* One call's converter state; in the request's arena. */
struct bd_responses_state_t {
    bd_convert_responses_req_t rreq = {};
    bd_convert_openai_chat_t chat;
    bd_convert_responses_meta_t meta;
    bd_convert_responses_stream_t sse;
    bool sse_ready = false;

    ~bd_responses_state_t()
    {
        bd_convert_responses_req_free(&rreq);
        if (sse_ready) {
            bd_convert_responses_stream_free(&sse);
        }
    }
};

static bd_responses_state_t *
bd_responses_state(bd_api_call_t *c)
{
    return (bd_responses_state_t *)c->state;
}

/* A response object repeats request parameters (tools, text, metadata, instructions)
 * as the client sent them, and a data URL among them may have been set aside before
 * the parse (the route's BD_JSON_SLICE_DATA_URL): what goes out carries the client's
 * bytes, never a token. */
static void
bd_responses_paste(bd_api_call_t *c, std::string *out)
{
    bd_json_slices_paste(&bd_api_req(c->r)->slices, out);
}

/* The stored conversation's items (previous_response_id), held by the request until the
 * call is converted; null for a new conversation. */
static json_t *
bd_responses_previous(bd_request_t *r)
{
    return (json_t *)r->ctx[bd_responses_module.index];
}

/* A complete answer is kept when the client asked (the default). */
static void
bd_responses_keep(bd_api_call_t *c, json_t *response)
{
    bd_responses_state_t *s = bd_responses_state(c);
    if (s->rreq.store && response != nullptr) {
        bd_responses_store_put(c->r, response, s->rreq.input);
    }
}

static void
bd_responses_call_init(bd_api_call_t *c)
{
    bd_responses_state_t *s = bd_request_arena_new<bd_responses_state_t>(c->r);
    char rid[40];
    bd_worker_request_id(c->r->w, rid, sizeof(rid));
    s->meta.id = std::string("resp_") + (rid + 4); /* past "req_" */
    s->meta.created_at = (int64_t)time(nullptr);
    s->meta.echo = nullptr;
    c->state = s;
}

static int
bd_responses_call_convert(bd_api_call_t *c, bd_convert_error_t *err)
{
    bd_responses_state_t *s = bd_responses_state(c);
    bd_request_t *r = c->r;
    if (bd_convert_responses_request(r->json, bd_responses_previous(r), &s->rreq, err) != 0) {
        return -1;
    }
    for (const std::string &t : s->rreq.dropped) {
        bd_log_error(BD_LOG_DEBUG, r->id,
                     "responses: hosted tool \"%s\" dropped (Bedrock cannot run it)", t.c_str());
    }
    int64_t def = bd_openai_conf(r->snap)->default_max_tokens;
    if (bd_convert_openai_to_converse(s->rreq.chat, c->model, def, &c->creq, &s->chat, err) !=
        0) {
        return -1;
    }
    c->op = c->creq.stream ? BD_OP_CONVERSE_STREAM : BD_OP_CONVERSE;
    s->meta.model = r->model;
    s->meta.echo = s->rreq.echo;
    return 0;
}

static void
bd_responses_call_start(bd_api_call_t *c)
{
    bd_responses_state_t *s = bd_responses_state(c);
    bd_convert_responses_stream_init(&s->sse, &s->meta);
    s->sse_ready = true;
}

/* OpenAI's clients skip SSE comments: pings are `: ping` lines. */
static void
bd_responses_call_ping(std::string *out)
{
    bd_convert_openai_sse_ping(out);
}

static void
bd_responses_call_exception(bd_api_call_t *c, const char *name, json_t *payload,
                            std::string *out)
{
    bd_convert_responses_stream_exception(&bd_responses_state(c)->sse, name, payload, out,
                                          nullptr);
    bd_responses_paste(c, out);
}

/* An event that cannot be converted ends the stream with an error event, never a quiet
 * gap. */
static int
bd_responses_call_event(bd_api_call_t *c, const char *type, const char *payload, size_t len,
                        std::string *out, bd_convert_error_t *err)
{
    bd_responses_state_t *s = bd_responses_state(c);
    json_t *tree = bd_api_event_tree(payload, len, err);
    if (tree == nullptr) {
        return -1;
    }
    int rc = bd_convert_responses_stream_feed(&s->sse, type, tree, out, err);
    json_decref(tree);
    if (rc != 0 && !s->sse.failed) {
        bd_convert_responses_stream_error(&s->sse, "server_error", err->message.c_str(), out);
        c->r->error_type = "bad_stream";
    }
    bd_responses_paste(c, out);
    return rc == 0 ? 0 : -1;
}

static int
bd_responses_call_end(bd_api_call_t *c, std::string *out)
{
    bd_responses_state_t *s = bd_responses_state(c);
    int rc = bd_convert_responses_stream_end(&s->sse, out);
    bd_responses_paste(c, out);
    if (rc != 0) {
        return -1;
    }
    bd_responses_keep(c, s->sse.response);
    return 0;
}

static void
bd_responses_call_stream_error(bd_api_call_t *c, bool, const bd_convert_error_t *err,
                               std::string *out)
{
    bd_responses_state_t *s = bd_responses_state(c);
    if (!s->sse.failed) { /* exception frames were rendered already */
        bd_convert_responses_stream_error(&s->sse, err->type, err->message.c_str(), out);
        bd_responses_paste(c, out);
    }
}

static const bd_convert_usage_t *
bd_responses_call_stream_usage(bd_api_call_t *c)
{
    return &bd_responses_state(c)->sse.usage;
}

static int
bd_responses_call_answer(bd_api_call_t *c, const std::string &body, std::string *out,
                         bd_convert_usage_t *usage, bd_convert_error_t *err)
{
    bd_responses_state_t *s = bd_responses_state(c);
    json_t *resp = bd_api_answer_tree(body, err);
    json_t *chat = resp ? bd_convert_converse_to_openai(resp, s->meta.id.c_str(),
                                                        s->meta.created_at, s->meta.model.c_str(),
                                                        usage, err)
                        : nullptr;
    json_decref(resp);
    json_t *answer = chat ? bd_convert_responses_from_chat(chat, &s->meta, usage, err) : nullptr;
    json_decref(chat);
    bd_responses_keep(c, answer);
    int rc = bd_api_answer_text(answer, out);
    bd_responses_paste(c, out);
    return rc;
}

static int64_t
bd_responses_call_ping_interval(const bd_snapshot_t *snap)
{
    return bd_anthropic_conf(snap)->ping_interval_ms; /* sse_ping_interval */
}

const bd_api_call_ops_t bd_responses_call = {
    bd_responses_call_init,         bd_responses_call_convert,
    bd_responses_call_start,        bd_responses_call_ping,
    bd_responses_call_exception,    bd_responses_call_event,
    bd_responses_call_end,          bd_responses_call_stream_error,
    bd_responses_call_stream_usage, bd_responses_call_answer,
    bd_openai_upstream_error,       bd_responses_call_ping_interval,
};

/* --- the request --- */

static void
bd_responses_previous_free(void *data)
{
    json_decref((json_t *)data);
}

/* The stored conversation named by previous_response_id arrived: the call runs with it. */
static void
bd_responses_on_previous(bd_request_t *r, int found, bd_responses_row_t *row)
{
    if (found < 0) {
        bd_responses_send_error(r, 500, "server_error", nullptr,
                                "the stored response could not be read");
        return;
    }
    if (found == 0) {
        std::string msg = std::string("Previous response with id '") +
                          json_string_value(json_object_get(r->json, "previous_response_id")) +
                          "' not found.";
        bd_responses_send_error(r, 400, "invalid_request_error", "previous_response_not_found",
                                msg.c_str());
        return;
    }
    json_t *items = json_deep_copy(row->input);
    json_array_extend(items, json_object_get(row->response, "output"));
    r->ctx[bd_responses_module.index] = items;
    bd_request_add_cleanup(r, bd_responses_previous_free, items);
    bd_api_call_run(r); /* answers, or the call is under way */
}

int
bd_responses_create(bd_request_t *r)
{
    json_t *prev = json_object_get(r->json, "previous_response_id");
    if (!json_is_string(prev)) {
        return bd_api_call_run(r); /* a non-string one is the converter's 400 */
    }
    if (bd_responses_store_get(r, json_string_value(prev), false, bd_responses_on_previous) !=
        0) {
        bd_responses_send_error(r, 400, "invalid_request_error", "previous_response_not_found",
                                "previous_response_id needs the store (the store is off)");
        return BD_DONE;
    }
    return BD_AGAIN;
}
