/*
 * bd_convert_bedrock.h: the Bedrock side shared by every client adapter: walking a
 * Converse response and ConverseStream events into neutral structs, stop reason and
 * usage mapping, and Bedrock exception -> client error mapping. Pure functions, any
 * thread. Walked structs borrow strings from the JSON they came from.
 */
#ifndef BD_CONVERT_BEDROCK_H
#define BD_CONVERT_BEDROCK_H

#include <jansson.h>
#include <stdint.h>
#include <string>
#include <vector>

/* A failure in the client's terms. */
struct bd_convert_error_t {
    int status;       /* HTTP status for the client */
    const char *type; /* Anthropic error type (static string) */
    std::string message;
};

/* Token counts in Bedrock's terms: input excludes cache reads and writes. */
struct bd_convert_usage_t {
    int64_t input_tokens;
    int64_t output_tokens;
    int64_t cache_read_tokens;
    int64_t cache_write_tokens;
    int64_t cache_write_5m_tokens; /* from cacheDetails; all writes when absent */
    int64_t cache_write_1h_tokens;
};

/* Reads a Bedrock TokenUsage object. Returns 0, or -1 (usage untouched) when <u> is
 * not an object with integer inputTokens and outputTokens. */
int bd_convert_bedrock_usage_parse(json_t *u, bd_convert_usage_t *usage);

enum bd_bedrock_stop_e {
    BD_STOP_END_TURN = 0,
    BD_STOP_TOOL_USE,
    BD_STOP_MAX_TOKENS,
    BD_STOP_STOP_SEQUENCE,
    BD_STOP_GUARDRAIL_INTERVENED,
    BD_STOP_CONTENT_FILTERED,
    BD_STOP_CONTEXT_WINDOW_EXCEEDED,
    BD_STOP_MALFORMED_MODEL_OUTPUT,
    BD_STOP_MALFORMED_TOOL_USE,
    BD_STOP_UNKNOWN, /* an enum value this build does not know: treated as end_turn */
};

/* Bedrock stopReason string (null allowed) -> enum. */
int bd_convert_bedrock_stop_parse(const char *stop_reason);

/* Enum -> Anthropic stop_reason / OpenAI finish_reason (static strings). */
const char *bd_convert_stop_anthropic(int stop);
const char *bd_convert_stop_openai(int stop);

enum bd_bedrock_block_kind_e {
    BD_BLOCK_TEXT = 0,
    BD_BLOCK_REASONING, /* text + signature */
    BD_BLOCK_REDACTED,  /* data: redactedContent as the base64 string received */
    BD_BLOCK_TOOL_USE,  /* id, name, input */
    BD_BLOCK_CITATIONS, /* text (concatenated), citations (borrowed array) */
    BD_BLOCK_OTHER,     /* a member this build does not know: skipped by adapters */
};

/* One output block; every pointer borrows from the response JSON. */
struct bd_bedrock_block_t {
    int kind;              /* bd_bedrock_block_kind_e */
    std::string text;      /* TEXT, REASONING, CITATIONS */
    const char *signature; /* REASONING; null when absent */
    const char *data;      /* REDACTED */
    const char *id;        /* TOOL_USE */
    const char *name;      /* TOOL_USE */
    json_t *input;         /* TOOL_USE: the input JSON value */
    json_t *citations;     /* CITATIONS: Bedrock citations array */
};

/* A walked Converse response. */
struct bd_bedrock_response_t {
    std::vector<bd_bedrock_block_t> blocks;
    int stop;                  /* bd_bedrock_stop_e */
    const char *stop_sequence; /* additionalModelResponseFields.stop_sequence, or null */
    bd_convert_usage_t usage;
};

/* One content block <c> of a Converse message (borrowing from <c>); kind
 * BD_BLOCK_OTHER for what this build does not know. */
void bd_convert_converse_block(json_t *c, bd_bedrock_block_t *b);

/* Walks a Converse response <resp> into <out> (borrowing from <resp>). Returns 0, or -1
 * with <err> = 502 api_error when required members are missing. */
int bd_convert_converse_walk(json_t *resp, bd_bedrock_response_t *out, bd_convert_error_t *err);

enum bd_bedrock_event_e {
    BD_EV_MESSAGE_START = 0,
    BD_EV_BLOCK_START, /* tool use start: id, name */
    BD_EV_BLOCK_DELTA,
    BD_EV_BLOCK_STOP,
    BD_EV_MESSAGE_STOP, /* stop, stop_sequence */
    BD_EV_METADATA,     /* has_usage, usage */
    BD_EV_UNKNOWN,      /* skip */
};

enum bd_bedrock_delta_e {
    BD_DELTA_TEXT = 0,
    BD_DELTA_TOOL_INPUT,
    BD_DELTA_REASONING_TEXT,
    BD_DELTA_SIGNATURE,
    BD_DELTA_REDACTED,
    BD_DELTA_CITATION,
    BD_DELTA_OTHER, /* a delta this build does not know: skip */
};

/* One ConverseStream event; pointers borrow from the payload. */
struct bd_bedrock_event_t {
    int type;                  /* bd_bedrock_event_e */
    int64_t index;             /* contentBlockIndex for block events */
    int start_kind;            /* BLOCK_START: bd_bedrock_block_kind_e (TOOL_USE or OTHER) */
    int delta;                 /* BLOCK_DELTA: bd_bedrock_delta_e */
    const char *text;          /* delta text / input fragment / signature / redacted data */
    json_t *citation;          /* DELTA_CITATION */
    const char *id;            /* BLOCK_START tool use */
    const char *name;          /* BLOCK_START tool use */
    int stop;                  /* MESSAGE_STOP */
    const char *stop_sequence; /* MESSAGE_STOP, or null */
    bool has_usage;            /* METADATA */
    bd_convert_usage_t usage;  /* METADATA */
};

/* Parses one ConverseStream event. Returns 0, or -1 with a 502 api_error when a known
 * event lacks its required members. Unknown event types give BD_EV_UNKNOWN. */
int bd_convert_stream_event_parse(const char *event_type, json_t *payload, bd_bedrock_event_t *ev,
                                  bd_convert_error_t *err);

enum bd_bedrock_exception_e {
    BD_EXC_VALIDATION = 0,
    BD_EXC_ACCESS_DENIED,
    BD_EXC_RESOURCE_NOT_FOUND,
    BD_EXC_THROTTLING,
    BD_EXC_SERVICE_QUOTA_EXCEEDED,
    BD_EXC_MODEL_NOT_READY,
    BD_EXC_SERVICE_UNAVAILABLE,
    BD_EXC_INTERNAL_SERVER,
    BD_EXC_MODEL_ERROR,
    BD_EXC_MODEL_STREAM_ERROR,
    BD_EXC_MODEL_TIMEOUT,
    BD_EXC_CONFLICT,
    BD_EXC_UNKNOWN,
};

/* Exception name as found in x-amzn-ErrorType, a body's code/__type, or a stream
 * frame's :exception-type ("ThrottlingException:http://...", "ns#Name",
 * "throttlingException") -> enum; case-insensitive. Null -> BD_EXC_UNKNOWN. */
int bd_convert_bedrock_exception_parse(const char *name);

/* Maps exception <name> with Bedrock's <message> (null/empty -> a generic text) to an
 * Anthropic error: status and type per the mapping table, message kept verbatim. */
void bd_convert_bedrock_exception(const char *name, const char *message, bd_convert_error_t *err);

/* Same mapping for OpenAI clients: <err>->type is the OpenAI error type. */
void bd_convert_bedrock_exception_openai(const char *name, const char *message,
                                         bd_convert_error_t *err);

/* Reads the message of a Bedrock error body ({"message"} or {"Message"}); null if none. */
const char *bd_convert_bedrock_error_message(json_t *body);

#endif
