/*
 * bd_convert.h: pure conversion between the Anthropic Messages API and Bedrock
 * (Converse, ConverseStream, InvokeModel, CountTokens). JSON in (jansson), JSON or
 * bytes out; no sockets, no globals. Every function is reentrant and may be called
 * from any thread; a stream state machine belongs to the one request that owns it.
 * The Bedrock-facing pieces (response walking, stop reasons, usage, exceptions) live
 * in bd_convert_bedrock.h so that other client adapters reuse them.
 */
#ifndef BD_CONVERT_H
#define BD_CONVERT_H

#include <jansson.h>
#include <stdint.h>
#include <string>
#include <utility>
#include <vector>

#include "modules/convert/bd_convert_bedrock.h"

enum bd_route_e {
    BD_ROUTE_CONVERSE = 0, /* Converse / ConverseStream */
    BD_ROUTE_INVOKE = 1,   /* InvokeModel with the Anthropic-native body */
};

/* Per-model data from the conf (the model map), read-only during conversion. */
struct bd_convert_model_t {
    std::string client_name; /* echoed as "model" in responses */
    std::string bedrock_id;  /* model id, inference profile or ARN (the caller builds the URL) */
    bd_route_e route;
    int64_t max_output_tokens;        /* max_tokens is capped to this; 0 = no cap */
    bool temperature_top_p_exclusive; /* the model rejects both: top_p is dropped */
    bool supports_thinking;
    std::vector<std::string> allowed_betas; /* anthropic-beta values forwarded as they are */
    std::vector<std::pair<std::string, std::string>> renamed_betas; /* client -> Bedrock name */
    bool allow_url_sources; /* else url image/document sources are a 400 */
};

/* Kinds of URL sources the caller must fetch before sending (see url_sources). */
enum bd_convert_url_kind_e {
    BD_CONVERT_URL_CONVERSE_IMAGE = 0,    /* target is a Converse {"image":{...}} member */
    BD_CONVERT_URL_CONVERSE_DOCUMENT = 1, /* target is a Converse {"document":{...}} member */
    BD_CONVERT_URL_ANTHROPIC_SOURCE = 2,  /* target is an Anthropic "source" object (invoke) */
};

struct bd_convert_url_source_t {
    std::string url;
    int kind;       /* bd_convert_url_kind_e */
    json_t *target; /* borrowed: points into bd_convert_request_t.body */
};

/* A converted request. Release with bd_convert_request_free(). */
struct bd_convert_request_t {
    json_t *body;        /* owned: the Bedrock body (Converse JSON or native Anthropic JSON) */
    bool stream;         /* the client asked for "stream": true */
    std::string user_id; /* metadata.user_id, never sent upstream; for usage records */
    int64_t max_tokens;  /* after the per-model cap */
    /* URL sources left to fetch (only when the model allows them). The body is not
     * sendable until each has been filled with bd_convert_url_source_fill(). */
    std::vector<bd_convert_url_source_t> url_sources;
    /* anthropic-beta values of the client that the model does not accept: not sent */
    std::vector<std::string> dropped_betas;
};

/* Validates an Anthropic /v1/messages body <req> and builds the Converse request
 * for model <m>. <beta_header> is the raw anthropic-beta header value, or null.
 * On success returns 0 and fills <out> (the caller frees it); on a client mistake
 * returns -1 with <err> = 400 invalid_request_error and an Anthropic-style message.
 * <req> is not modified. */
int bd_convert_anthropic_to_converse(json_t *req, const bd_convert_model_t *m,
                                     const char *beta_header, bd_convert_request_t *out,
                                     bd_convert_error_t *err);

/* Same validation, then the InvokeModel native body: a copy of <req> without model
 * and stream, with anthropic_version "bedrock-2023-05-31", anthropic_beta from the
 * header per model data, max_tokens capped, metadata removed. */
int bd_convert_anthropic_to_invoke(json_t *req, const bd_convert_model_t *m,
                                   const char *beta_header, bd_convert_request_t *out,
                                   bd_convert_error_t *err);

/* Fills one fetched URL source in place: <media_type> (e.g. "image/png",
 * "application/pdf") and <data_b64> (standard base64 of the fetched bytes).
 * Returns 0, or -1 with a 400 when the media type does not fit the block. */
int bd_convert_url_source_fill(const bd_convert_url_source_t *u, const char *media_type,
                               const char *data_b64, bd_convert_error_t *err);

/* Releases out->body and resets <r>. Safe on a zeroed or already freed request. */
void bd_convert_request_free(bd_convert_request_t *r);

/* Anthropic count_tokens body -> Bedrock CountTokens body: {"input":{"converse":{...}}}
 * for the Converse route, {"input":{"invokeModel":{"body":"<base64>"}}} for the invoke
 * route. max_tokens is not required. Returns a new reference, or null with a 400. */
json_t *bd_convert_count_tokens_request(json_t *req, const bd_convert_model_t *m,
                                        const char *beta_header, bd_convert_error_t *err);

/* Bedrock {"inputTokens":N} -> {"input_tokens":N}. Null with a 502 api_error when
 * the answer is malformed. */
json_t *bd_convert_count_tokens_response(json_t *resp, bd_convert_error_t *err);

/* Converse response <body> -> Anthropic Message with id <msg_id> and model
 * <client_model>, as JSON text in <out> (from a scan, not a tree: see
 * core/bd_json_scan). Fills <usage> when not null; with <out> null only the usage
 * is read. 0, or -1 with a 502 api_error when the response is malformed. */
int bd_convert_converse_answer(const char *body, size_t len, const char *msg_id,
                               const char *client_model, std::string *out,
                               bd_convert_usage_t *usage, bd_convert_error_t *err);

/* InvokeModel response <body> (already Anthropic JSON) -> the client's answer in
 * <out>: the same bytes with "model" naming <client_model> (no tree is built: see
 * core/bd_json_scan). Fills <usage> when not null; with <out> null only the usage
 * is read. 0, or -1 with a 502 api_error when it is not a well-formed message. */
int bd_convert_invoke_answer(const char *body, size_t len, const char *client_model,
                             std::string *out, bd_convert_usage_t *usage,
                             bd_convert_error_t *err);

/* --- streaming (ConverseStream -> Anthropic SSE) --- */

/* One Bedrock content block as seen by the stream. */
struct bd_convert_stream_block_t {
    int64_t bedrock_index;
    int index; /* dense Anthropic index */
    int kind;  /* bd_bedrock_block_kind_e */
    bool open;
};

/* Per-request state machine. Initialise with bd_convert_stream_init(); plain data,
 * no resources to free. Fields after "public" are read by the caller. */
struct bd_convert_stream_t {
    std::string msg_id;
    std::string client_model;
    int64_t input_estimate; /* sent in message_start.usage.input_tokens */
    bool started;           /* message_start sent */
    bool have_stop;         /* messageStop seen */
    bool have_usage;        /* metadata with usage seen */
    int next_index;
    std::vector<bd_convert_stream_block_t> blocks;
    std::string stop_reason;   /* Anthropic value */
    std::string stop_sequence; /* empty = null */
    /* public */
    bd_convert_usage_t usage; /* token counts seen so far */
    bool finished;            /* message_stop emitted: the response is complete */
    bool failed;              /* an error event was emitted */
};

/* Resets <s> for a new response with id <msg_id> (e.g. "msg_bdrk_...") answering as
 * <client_model>; <input_estimate> goes into message_start (0 when unknown). */
void bd_convert_stream_init(bd_convert_stream_t *s, const char *msg_id, const char *client_model,
                            int64_t input_estimate);

/* Feeds one ConverseStream event (<event_type> = the :event-type header, <payload> its
 * JSON) and appends the SSE bytes it causes to <out>. Unknown event types are skipped.
 * Returns 0, or -1 with <err> (502 api_error) when the event is malformed; the caller
 * then sends bd_convert_sse_error() and closes. Events after the end are ignored. */
int bd_convert_stream_feed(bd_convert_stream_t *s, const char *event_type, json_t *payload,
                           std::string *out, bd_convert_error_t *err);

/* The same from the payload's text: a text delta of an open block (most of a stream)
 * is written from a scan (core/bd_json_scan), its text copied as Bedrock wrote it;
 * every other event goes through a tree and bd_convert_stream_feed. A payload that is
 * not JSON is an error. */
int bd_convert_stream_feed_text(bd_convert_stream_t *s, const char *event_type,
                                const char *payload, size_t len, std::string *out,
                                bd_convert_error_t *err);

/* Maps an exception frame (<exception_type> e.g. "throttlingException", <payload> its
 * JSON or null) to an Anthropic error, appends the SSE error event, marks the stream
 * failed and fills <err> when not null. */
void bd_convert_stream_exception(bd_convert_stream_t *s, const char *exception_type,
                                 json_t *payload, std::string *out, bd_convert_error_t *err);

/* The upstream body ended. Completes a stream that saw messageStop but no usage (with
 * the counts known so far), or emits an api_error event for a truncated stream.
 * Returns 0 when the response is complete, -1 when an error event was emitted. */
int bd_convert_stream_end(bd_convert_stream_t *s, std::string *out);

/* --- streaming (InvokeModelWithResponseStream -> Anthropic SSE) --- */

struct bd_convert_invoke_stream_t {
    std::string client_model;
    bd_convert_usage_t usage; /* public: counts seen so far */
    bool started;             /* message_start seen */
    bool finished;            /* message_stop seen */
    bool failed;              /* an error event was passed on or emitted */
};

void bd_convert_invoke_stream_init(bd_convert_invoke_stream_t *s, const char *client_model);

/* Feeds one event: "chunk" with the payload text <payload, len> {"bytes":"<base64
 * Anthropic event>"}; other types are skipped. Appends the SSE event (name = the
 * event's type) to <out>, with message.model set in message_start and
 * amazon-bedrock-invocationMetrics stripped from message_stop; the other events go
 * out as received, found by a scan (core/bd_json_scan) without a tree. Returns 0, or
 * -1 with a 502 api_error when the chunk cannot be decoded. */
int bd_convert_invoke_stream_feed(bd_convert_invoke_stream_t *s, const char *event_type,
                                  const char *payload, size_t len, std::string *out,
                                  bd_convert_error_t *err);

/* Same as bd_convert_stream_exception() for the invoke stream. */
void bd_convert_invoke_stream_exception(bd_convert_invoke_stream_t *s, const char *exception_type,
                                        json_t *payload, std::string *out, bd_convert_error_t *err);

/* --- SSE and error bodies --- */

/* Appends "event: ping\ndata: {"type":"ping"}\n\n". */
void bd_convert_sse_ping(std::string *out);

/* Appends an SSE error event {"type":"error","error":{"type":<type>,"message":<message>}}. */
void bd_convert_sse_error(std::string *out, const char *type, const char *message);

/* Appends one SSE event "event: <name>\ndata: <compact JSON of data>\n\n". */
void bd_convert_sse_event(std::string *out, const char *name, json_t *data);

/* Renders the Anthropic error body {"type":"error","error":{"type","message"}} with
 * "request_id" when <request_id> is not null. */
void bd_convert_error_body(const char *type, const char *message, const char *request_id,
                           std::string *out);

/* Serialises <j> compactly (no spaces, insertion order) into
 * <out>, replacing its contents; reals keep 15 significant digits, so 0.7 stays 0.7.
 * Returns 0 or -1 (not serialisable). */
int bd_convert_json_dump(json_t *j, std::string *out);

#endif
