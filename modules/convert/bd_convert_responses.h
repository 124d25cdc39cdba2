/*
 * bd_convert_responses.h: the OpenAI Responses API over the Chat Completions adapter
 * (bd_convert_openai.h). A /v1/responses body becomes the chat body that adapter already
 * takes (instructions, input items, tools, reasoning, text.format); its chat.completion
 * becomes a response object, and ConverseStream events become the Responses SSE events
 * (response.created ... response.completed). Pure: JSON in, JSON or bytes out; any thread;
 * a stream state machine belongs to the one request that owns it.
 */
#ifndef BD_CONVERT_RESPONSES_H
#define BD_CONVERT_RESPONSES_H

#include <jansson.h>
#include <stdint.h>

#include <string>
#include <vector>

#include "modules/convert/bd_convert.h"

/* A converted /v1/responses request. Release with bd_convert_responses_req_free(). */
struct bd_convert_responses_req_t {
    json_t *chat;   /* owned: the /chat/completions body for bd_convert_openai_to_converse */
    json_t *input;  /* owned: the conversation's input items (the previous response's input
                       and output first), kept with a stored response */
    json_t *echo;   /* owned: the request parameters a response object repeats */
    bool stream;
    bool store;                       /* "store", default true */
    std::vector<std::string> dropped; /* hosted tool types Bedrock cannot run (not sent) */
};

void bd_convert_responses_req_free(bd_convert_responses_req_t *r);

/* Validates a /v1/responses body <req> and builds the chat body. <previous> is the input
 * items of the conversation before this request (a stored response's input followed by
 * its output), or null. Returns 0, or -1 with a 400 invalid_request_error in <err>.
 * <req> and <previous> are not modified. */
int bd_convert_responses_request(json_t *req, json_t *previous, bd_convert_responses_req_t *out,
                                 bd_convert_error_t *err);

/* Responses input items -> chat messages, appended to <messages>: assistant items in a
 * row (reasoning, message, function_call) make one assistant turn. Returns 0, or -1 with
 * a 400. <path> names the array in messages ("input"). */
int bd_convert_responses_items(json_t *items, const char *path, json_t *messages,
                               bd_convert_error_t *err);

/* The identity of one response. */
struct bd_convert_responses_meta_t {
    std::string id;        /* "resp_..." */
    int64_t created_at;    /* Unix seconds */
    std::string model;     /* as the client named it */
    json_t *echo;          /* borrowed: bd_convert_responses_req_t.echo */
};

/* The usage object: input_tokens counts cache reads and writes (as OpenAI's does),
 * input_tokens_details.cached_tokens the reads; Bedrock does not split reasoning from
 * output, so output_tokens_details.reasoning_tokens is an estimate from the reasoning
 * text (UTF-8 bytes / 4, at most output_tokens). */
json_t *bd_convert_responses_usage(const bd_convert_usage_t *u, size_t reasoning_bytes);

/* A response object with <status> ("completed", "incomplete", "in_progress", "failed"),
 * <output> (taken over; null: []), <usage> (taken over; null: JSON null), <incomplete>
 * (taken over; null: JSON null) and <error> (taken over; null: JSON null). */
json_t *bd_convert_responses_object(const bd_convert_responses_meta_t *m, const char *status,
                                    json_t *output, json_t *usage, json_t *incomplete,
                                    json_t *error);

/* chat.completion <completion> (from bd_convert_converse_to_openai) -> response object.
 * <usage> is the call's usage. Returns a new reference, or null with a 502. */
json_t *bd_convert_responses_from_chat(json_t *completion, const bd_convert_responses_meta_t *m,
                                       const bd_convert_usage_t *usage, bd_convert_error_t *err);

/* --- streaming (ConverseStream -> Responses SSE events) --- */

/* One output item being streamed. */
struct bd_convert_responses_item_t {
    int64_t bedrock_index; /* contentBlockIndex */
    int kind;              /* bd_bedrock_block_kind_e: TEXT, REASONING or TOOL_USE */
    std::string id;        /* msg_... / rs_... / fc_... */
    std::string call_id;   /* TOOL_USE */
    std::string name;      /* TOOL_USE */
    std::string text;      /* text, reasoning text or arguments so far */
    std::string signature; /* REASONING */
    std::string redacted;  /* REASONING: redacted data */
    bool part;             /* REASONING: the summary part was announced */
    bool open;
};

/* Per-request state machine. Initialise with bd_convert_responses_stream_init(). Fields
 * after "public" are read by the caller. */
struct bd_convert_responses_stream_t {
    const bd_convert_responses_meta_t *meta; /* borrowed, outlives the stream */
    int64_t seq;                             /* sequence_number of the next event */
    std::vector<bd_convert_responses_item_t> items;
    int stop;       /* bd_bedrock_stop_e, once have_stop */
    bool have_stop; /* messageStop seen */
    bool have_usage;
    bool started;   /* response.created went out */
    /* public */
    bd_convert_usage_t usage;
    json_t *response; /* owned: the final response object once finished, else null */
    bool finished;    /* response.completed / response.incomplete emitted */
    bool failed;      /* an error event emitted */
};

void bd_convert_responses_stream_init(bd_convert_responses_stream_t *s,
                                      const bd_convert_responses_meta_t *m);
void bd_convert_responses_stream_free(bd_convert_responses_stream_t *s);

/* Appends response.created and response.in_progress (once). */
void bd_convert_responses_stream_start(bd_convert_responses_stream_t *s, std::string *out);

/* Feeds one ConverseStream event and appends the SSE events it causes. Returns 0, or -1
 * with a 502 <err> when the event is malformed. Events after the end are ignored. */
int bd_convert_responses_stream_feed(bd_convert_responses_stream_t *s, const char *event_type,
                                     json_t *payload, std::string *out, bd_convert_error_t *err);

/* The upstream body ended: completes a stream that saw messageStop, or appends an error
 * for a truncated one. Returns 0 when complete, -1 when an error was emitted. */
int bd_convert_responses_stream_end(bd_convert_responses_stream_t *s, std::string *out);

/* Appends an "error" event and "response.failed" (OpenAI error <type>), marks <s> failed. */
void bd_convert_responses_stream_error(bd_convert_responses_stream_t *s, const char *type,
                                       const char *message, std::string *out);

/* An exception frame: the error events, with the mapped error in <err> when not null. */
void bd_convert_responses_stream_exception(bd_convert_responses_stream_t *s,
                                           const char *exception_type, json_t *payload,
                                           std::string *out, bd_convert_error_t *err);

#endif
