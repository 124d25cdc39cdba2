/*
 * bd_convert_openai.h: the OpenAI-compatible client adapter over the one Bedrock side
 * (bd_convert_bedrock.h): Chat Completions -> Converse, Converse -> chat.completion,
 * ConverseStream events -> chat.completion.chunk SSE, and /v1/embeddings <-> InvokeModel
 * bodies of the embedding model families. Pure: JSON in, JSON or bytes out; any thread;
 * a stream state machine belongs to the one request that owns it.
 */
#ifndef BD_CONVERT_OPENAI_H
#define BD_CONVERT_OPENAI_H

#include <jansson.h>
#include <stdint.h>

#include <string>
#include <vector>

#include "modules/convert/bd_convert.h"
#include "modules/models/bd_models_known.h"

/* What the chat adapter learned besides the Bedrock body. */
struct bd_convert_openai_chat_t {
    bool include_usage; /* stream_options.include_usage: send the final usage chunk */
    bool thinking;      /* reasoning_effort turned Claude's extended thinking on */
};

/* Validates an OpenAI /chat/completions body <req> and builds the Converse request for
 * model <m> (always Converse, whatever m->route says). <default_max_tokens> applies when
 * the client gave neither max_completion_tokens nor max_tokens. On success returns 0 and
 * fills <out> (the caller frees it with bd_convert_request_free) and <chat>; on a client
 * mistake returns -1 with <err> = 400 and err->type an OpenAI error type. http(s) image
 * URLs are a 400 unless m->allow_url_sources, in which case they are left in
 * out->url_sources for the caller to fetch. <req> is not modified. */
int bd_convert_openai_to_converse(json_t *req, const bd_convert_model_t *m,
                                  int64_t default_max_tokens, bd_convert_request_t *out,
                                  bd_convert_openai_chat_t *chat, bd_convert_error_t *err);

/* Converse response -> chat.completion with <id> ("chatcmpl-..."), <created> (Unix
 * seconds) and model <client_model>. Fills <usage> when not null. Returns a new
 * reference, or null with a 502 when the response is malformed. */
json_t *bd_convert_converse_to_openai(json_t *resp, const char *id, int64_t created,
                                      const char *client_model, bd_convert_usage_t *usage,
                                      bd_convert_error_t *err);

/* OpenAI usage object: prompt_tokens counts cache reads and writes, as OpenAI's does. */
json_t *bd_convert_openai_usage(const bd_convert_usage_t *u);

/* The OpenAI error envelope {"error":{"message","type","param","code"}}; <code> and
 * <param> may be null. Replaces the contents of <out>. */
void bd_convert_openai_error_body(const char *type, const char *message, const char *code,
                                  const char *param, std::string *out);

/* --- streaming (ConverseStream -> chat.completion.chunk) --- */

struct bd_convert_openai_tool_t {
    int64_t bedrock_index; /* contentBlockIndex of the toolUse block */
    int index;             /* the dense tool_calls[].index, from 0 */
};

/* Per-request state machine. Initialise with bd_convert_openai_stream_init(); plain data.
 * Fields after "public" are read by the caller. */
struct bd_convert_openai_stream_t {
    std::string id;
    std::string client_model;
    int64_t created;
    bool include_usage;
    bool role_sent;   /* the first chunk (delta.role) went out */
    bool have_stop;   /* messageStop seen, finish_reason sent */
    bool have_usage;  /* metadata with usage seen */
    int next_tool;
    std::vector<bd_convert_openai_tool_t> tools;
    /* public */
    bd_convert_usage_t usage; /* token counts seen so far */
    bool finished;            /* data: [DONE] emitted: the response is complete */
    bool failed;              /* an error chunk was emitted */
};

void bd_convert_openai_stream_init(bd_convert_openai_stream_t *s, const char *id,
                                   int64_t created, const char *client_model, bool include_usage);

/* Feeds one ConverseStream event (<event_type> = :event-type, <payload> its JSON) and
 * appends the SSE bytes it causes to <out>. Returns 0, or -1 with a 502 <err> when the
 * event is malformed (the caller then sends bd_convert_openai_sse_error and closes).
 * Events after the end are ignored. */
int bd_convert_openai_stream_feed(bd_convert_openai_stream_t *s, const char *event_type,
                                  json_t *payload, std::string *out, bd_convert_error_t *err);

/* Maps an exception frame to an OpenAI error, appends the error chunk, marks the stream
 * failed and fills <err> when not null. */
void bd_convert_openai_stream_exception(bd_convert_openai_stream_t *s, const char *exception_type,
                                        json_t *payload, std::string *out,
                                        bd_convert_error_t *err);

/* The upstream body ended: completes a stream that saw messageStop (usage chunk when
 * asked for, then [DONE]), or appends an error chunk for a truncated one. Returns 0 when
 * the response is complete, -1 when an error chunk was emitted. */
int bd_convert_openai_stream_end(bd_convert_openai_stream_t *s, std::string *out);

/* Appends "data: {"error":{...}}\n\n" (the SDK raises it as an APIError); marks <s>
 * failed when not null. */
void bd_convert_openai_sse_error(bd_convert_openai_stream_t *s, const char *type,
                                 const char *message, std::string *out);

/* Appends an SSE comment line, which clients ignore, to keep idle proxies quiet. */
void bd_convert_openai_sse_ping(std::string *out);

/* --- embeddings (/v1/embeddings <-> InvokeModel) --- */

/* The embedding family (bd_convert_embed_family_e, modules/models/bd_models_known.h)
 * of Bedrock id <bedrock_id> (profile prefixes and ARNs allowed). */
int bd_convert_embed_family(const char *bedrock_id);

/* A converted embeddings request: the InvokeModel bodies to send, in order. */
struct bd_convert_embed_t {
    int family;                      /* bd_convert_embed_family_e */
    std::vector<std::string> inputs; /* the client's texts, in order */
    std::vector<std::string> bodies; /* InvokeModel bodies */
    std::vector<size_t> first_input; /* per body: the index of its first input */
    int64_t dimensions;              /* 0 = the model's default */
    bool base64;                     /* encoding_format "base64" (float32 little-endian) */
    std::string user_id;             /* "user", never sent upstream */
};

/* Validates an OpenAI /embeddings body for model <m> and builds the bodies. Returns 0, or
 * -1 with a 400 (unknown family, token arrays, empty input, unsupported dimensions). */
int bd_convert_openai_embed_request(json_t *req, const bd_convert_model_t *m,
                                    bd_convert_embed_t *out, bd_convert_error_t *err);

/* Reads the answer to body <call>: stores its vectors at their input positions in
 * <vectors> (sized to inputs.size() by the caller) and adds its token count (the
 * model's, or an estimate of ceil(bytes / 4) per text when it reports none) to <tokens>.
 * Returns 0, or -1 with a 502 when the answer is malformed. */
int bd_convert_openai_embed_parse(const bd_convert_embed_t *e, size_t call, json_t *resp,
                                  std::vector<std::vector<double>> *vectors, int64_t *tokens,
                                  bd_convert_error_t *err);

/* The OpenAI list {"object":"list","data":[{"object":"embedding","index",...}],"model",
 * "usage"}; embeddings as float arrays, or base64 of little-endian float32 when
 * e->base64. Returns a new reference. */
json_t *bd_convert_openai_embed_response(const bd_convert_embed_t *e,
                                         const std::vector<std::vector<double>> &vectors,
                                         const char *client_model, int64_t prompt_tokens);

#endif
