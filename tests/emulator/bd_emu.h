/*
 * bd_emu.h: bedrock-emulator, a stand-in for AWS Bedrock used by the tests, demos and
 * benchmarks. It speaks the real wire formats (rest-json, event-stream, SigV4) and
 * replies with scripted behaviour chosen per request (see bd_emu_scenario.cc).
 * Each listener thread owns one event loop and everything hanging off it; the only
 * state shared between threads is the read-only options and the locked count table.
 */
#ifndef BD_EMU_H
#define BD_EMU_H

#include <stddef.h>
#include <stdint.h>
#include <string>
#include <utility>
#include <vector>

#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>

struct evconnlistener;

/* Command-line options; filled once by main, read-only afterwards (any thread). */
struct bd_emu_options_t {
    std::string listen_host;  /* "127.0.0.1" */
    int listen_port;          /* 0 = ephemeral */
    bool h2;                  /* --h2: a second port speaking HTTP/2 over TLS */
    int h2_port;              /* its port; 0 = ephemeral */
    struct ssl_ctx_st *tls;   /* its certificate (--tls-cert, --tls-key); null without */
    int threads;              /* event loops sharing the port through SO_REUSEPORT */
    std::string access_key;
    std::string secret_key;
    std::string bearer_token; /* empty: bearer auth refused */
    std::string region;
    bool verify;              /* false with --no-verify */
    long ttft_ms;             /* default delay before the first output */
    double tokens_per_sec;    /* 0 = unlimited */
    long output_tokens;       /* 0 = the echo's own length */
    int record_fd;            /* --record FILE, opened O_APPEND; -1 without */
};

/* One loop: its base and HTTP servers. Owned by its thread. */
struct bd_emu_loop_t {
    const bd_emu_options_t *opts;
    struct event_base *base;
    struct evhttp *http;
    struct evconnlistener *h2; /* null without --h2 */
    uint64_t next_request; /* feeds request ids */
    uint64_t nonce;        /* random per process; makes ids differ between runs */
    uint32_t id;
};

/* A parsed scenario: "NAME key=value ...". Values are percent-decoded. */
struct bd_emu_param_t {
    std::string name;
    std::string value;
};

struct bd_emu_scenario_t {
    std::string name; /* "echo" when the request names none */
    std::vector<bd_emu_param_t> params;
};

/* A modelled AWS error: status, x-amzn-ErrorType name and a default message. */
struct bd_emu_error_t {
    const char *scenario; /* scenario name that triggers it, or null */
    int status;
    const char *type;
    const char *message;
};

/* What the request asked for, in a form shared by Converse and the Anthropic body.
 * Pointers borrow from the request's JSON document. */
struct bd_emu_tool_t {
    std::string name;
    json_t *schema; /* borrowed; may be null */
};

struct bd_emu_input_t {
    std::string user_text; /* the last user turn's text, marker removed */
    std::string marker;    /* the marker's body ("NAME k=v"), empty when none */
    std::vector<bd_emu_tool_t> tools;
    std::vector<std::string> stop_sequences;
    long max_tokens;       /* 0 = not given */
    long input_tokens;     /* bd_emu_count_tokens rule */
    bool want_stop_sequence; /* additionalModelResponseFieldPaths has "/stop_sequence" */
    uint64_t seed;         /* per request; makes tool ids and signatures */
};

enum bd_emu_block_kind_e {
    BD_EMU_BLOCK_TEXT = 0,
    BD_EMU_BLOCK_REASONING,
    BD_EMU_BLOCK_REDACTED,
    BD_EMU_BLOCK_TOOL,
};

/* One output block. <text> holds the text, the reasoning text, the redacted data
 * (base64) or the tool input JSON; <cuts> are the end offsets of its streamed pieces. */
struct bd_emu_block_t {
    int kind;
    std::string text;
    std::vector<uint32_t> cuts;
    std::string signature; /* reasoning only */
    std::string tool_id;   /* Converse spelling (tooluse_...) */
    std::string tool_name;
};

enum bd_emu_disrupt_e {
    BD_EMU_DISRUPT_NONE = 0,
    BD_EMU_DISRUPT_EXCEPTION, /* an exception frame after <disrupt_after> pieces */
    BD_EMU_DISRUPT_CUT,       /* the connection closes after <disrupt_after> pieces */
    BD_EMU_DISRUPT_CORRUPT,   /* a broken frame after <disrupt_after> pieces, then the rest */
};

/* The planned answer to one request. */
struct bd_emu_reply_t {
    const bd_emu_error_t *error; /* an HTTP error instead of an answer; null when none */
    std::string error_message;
    std::vector<bd_emu_block_t> blocks;
    const char *stop_reason;     /* end_turn, tool_use, max_tokens, stop_sequence */
    std::string stop_sequence;
    long input_tokens;
    long output_tokens;
    long cache_read_tokens;
    long cache_write_tokens;
    int disrupt;
    long disrupt_after;
    std::string exception_type;  /* event-stream :exception-type for DISRUPT_EXCEPTION */
    std::string corrupt_kind;    /* DISRUPT_CORRUPT: json, crc or header_len */
    bool bytewise;               /* streams: every byte on its own, 1 ms apart */
    long ttft_ms;
    long piece_delay_ms;         /* between streamed pieces */
    long latency_ms;             /* the planned total, reported in metrics */
    long retry_after_s;          /* errors: a Retry-After header when > 0 */
};

/* A paced event-stream body: <out> holds every byte; steps say when to send what. */
struct bd_emu_step_t {
    uint32_t end;      /* send <out> up to this offset */
    uint32_t delay_ms; /* wait this long first */
};

struct bd_emu_stream_t {
    std::string out;
    std::vector<bd_emu_step_t> steps;
    bool cut;           /* close the connection after the last step */
    bool whole;         /* one plain (not chunked) body, sent after the only step */
    bool bytewise;      /* every byte its own step, 1 ms apart (frames split everywhere) */
    long pieces;        /* pieces written so far (for disruption) */
    std::string scratch; /* reused JSON payload buffer */
};

/* ---- bd_emu_xchg.cc: one request and its answer, on HTTP/1.1 or HTTP/2 (loop thread) ---- */

struct bd_emu_xchg_t;

/* What a transport does with an answer. reply, end and cut finish the exchange: the
 * handler forgets <x> then, and its gone callback is not called any more. */
struct bd_emu_xchg_ops_t {
    /* the whole answer at once */
    void (*reply)(bd_emu_xchg_t *x, int status, const char *body, size_t len);
    /* the status and headers; the body follows in pieces */
    void (*start)(bd_emu_xchg_t *x, int status);
    void (*write)(bd_emu_xchg_t *x, const char *p, size_t len);
    void (*end)(bd_emu_xchg_t *x);
    /* writes <p>, then breaks the answer off once it is sent: HTTP/1.1 closes the
     * connection, HTTP/2 resets the stream */
    void (*cut)(bd_emu_xchg_t *x, const char *p, size_t len);
    /* calls <x->gone> if the client goes away before the answer is finished */
    void (*watch)(bd_emu_xchg_t *x);
};

/* One request as the handlers see it, whatever carried it. Created and freed by its
 * transport (bd_emu_xchg.cc for HTTP/1.1, bd_emu_h2.cc for HTTP/2). */
struct bd_emu_xchg_t {
    bd_emu_loop_t *lp;
    const bd_emu_xchg_ops_t *ops;
    std::string method; /* "GET", "POST"... */
    std::string uri;    /* the request target as sent, query included */
    std::vector<std::pair<std::string, std::string>> in_headers; /* as sent; HTTP/2's
                                                                 * :authority also as
                                                                 * "host" (SigV4) */
    std::string body;
    std::vector<std::pair<std::string, std::string>> out_headers;
    void (*gone)(void *arg); /* set with bd_emu_xchg_watch */
    void *gone_arg;
};

/* The first request header <name> (case-insensitive), or null. */
const char *bd_emu_header(const bd_emu_xchg_t *x, const char *name);

/* Adds a response header. */
void bd_emu_header_add(bd_emu_xchg_t *x, const char *name, const char *value);

/* Asks for <gone>(<arg>) if the client leaves before the answer is finished; <x> is
 * freed right after that call. */
void bd_emu_xchg_watch(bd_emu_xchg_t *x, void (*gone)(void *), void *arg);

/* The evhttp generic callback: wraps one HTTP/1.1 request and routes it. <arg> is the
 * bd_emu_loop_t. */
void bd_emu_h1_on_request(struct evhttp_request *req, void *arg) noexcept;

/* ---- bd_emu_h2.cc: the HTTP/2 server of --h2 (loop thread) ---- */

/* The TLS context of the HTTP/2 port: <cert> and <key> (PEM files), ALPN "h2" only.
 * Exits with a message when they cannot be loaded. Main thread, before the loops. */
struct ssl_ctx_st *bd_emu_h2_tls(const std::string &cert, const std::string &key);

/* Accepts HTTP/2-over-TLS connections on <fd> in <lp>'s loop. */
void bd_emu_h2_listen(bd_emu_loop_t *lp, int fd);

/* ---- bd_emu_http.cc: routing and replies (loop thread) ---- */

/* Routes one request, whatever its transport. */
void bd_emu_route(bd_emu_xchg_t *x);

/* Sends an AWS-style JSON error: status, x-amzn-ErrorType and {"message": ...}.
 * <extra> (may be null) is merged into the body; it stays owned by the caller. */
void bd_emu_send_error(bd_emu_xchg_t *x, int status, const char *type,
                       const char *message, json_t *extra);

/* Sends <body> (a JSON document) with status 200; takes ownership of <body>. */
void bd_emu_send_json(bd_emu_xchg_t *x, json_t *body);

/* Adds x-amzn-RequestId to the response headers; call once per request. */
void bd_emu_add_request_id(bd_emu_xchg_t *x);

/* ---- bd_emu_control.cc: the region state set by tests (any loop thread) ---- */

/* Serves /_emulator/state; false when <path> is not a control path. */
bool bd_emu_control_route(bd_emu_xchg_t *x, const std::string &path);

/* The state's scenario spec into <spec> for a call on <model_id>; false when none is set
 * or its model= key names a text the id does not contain. */
bool bd_emu_control_override(const std::string &model_id, std::string *spec);

/* Counts one runtime call asking for service tier <tier> (null: none). */
void bd_emu_control_count(const char *tier);
/* An HTTP/2 stream opened (+1) or ended (-1): h2_streams_open in /_emulator/state. */
void bd_emu_control_h2_streams(long delta);

/* ---- bd_emu_auth.cc: SigV4 and bearer verification (loop thread) ---- */

/* Checks the request's Authorization. Returns 0 when accepted; otherwise it has sent
 * the 403 error and returns -1. */
int bd_emu_auth_check(const bd_emu_options_t *opts, bd_emu_xchg_t *x);

/* ---- bd_emu_scenario.cc: markers, token rule, reply planning (loop thread) ---- */

/* Finds "[[emu:...]]" in <text>; fills <marker> with its body and removes it from
 * <text>. Returns true when one was found. */
bool bd_emu_marker_extract(std::string *text, std::string *marker);

/* Parses "NAME key=value ..." into <sc>; an empty string gives "echo". */
void bd_emu_scenario_parse(const std::string &spec, bd_emu_scenario_t *sc);

const char *bd_emu_scenario_get(const bd_emu_scenario_t *sc, const char *key);
long bd_emu_scenario_long(const bd_emu_scenario_t *sc, const char *key, long dflt);

/* The error a scenario name stands for, or null. */
const bd_emu_error_t *bd_emu_error_find(const char *scenario);

/* The error whose type matches <type> case-insensitively ("throttlingException"), or null. */
const bd_emu_error_t *bd_emu_error_by_type(const char *type);

/* Applies count=N: true while fewer than N requests with the same <key> have used
 * the scenario (so it should fire), false afterwards. Any thread (locked). */
bool bd_emu_count_take(const std::string &key, long count);

/* Plans the reply to <in> under <sc>, with the defaults from <opts>. */
void bd_emu_plan(const bd_emu_options_t *opts, const bd_emu_scenario_t *sc,
                 const bd_emu_input_t *in, bd_emu_reply_t *r);

/* <len> characters of [A-Za-z0-9] derived from <seed> (tool ids, message ids). */
std::string bd_emu_id_chars(uint64_t seed, size_t len);

/* The deterministic token estimate used for usage and CountTokens: ceil(bytes / 4)
 * of each string, summed (at least 1 for a non-empty request). */
long bd_emu_tokens_of(size_t bytes);

/* ---- bd_emu_input.cc: request bodies -> bd_emu_input_t (loop thread) ---- */

/* Fills <in> from a Converse request body. Returns 0 or -1 with <err> set. */
int bd_emu_input_converse(json_t *body, bd_emu_input_t *in, std::string *err);

/* Fills <in> from an Anthropic-native InvokeModel body. Returns 0 or -1 with <err>. */
int bd_emu_input_anthropic(json_t *body, bd_emu_input_t *in, std::string *err);

/* ---- bd_emu_validate.cc: Bedrock's checks of Claude requests (loop thread) ---- */

/* The native (InvokeModel) body: top-level keys, anthropic_beta flags, beta-gated members,
 * roles. Returns 0, or -1 with <err> = the ValidationException message. */
int bd_emu_validate_native(json_t *body, std::string *err);

/* Converse's additionalModelRequestFields: anthropic_beta flags, beta-gated members. */
int bd_emu_validate_converse(json_t *body, std::string *err);

/* ---- bd_emu_record.cc: --record, what reached the emulator (any thread) ---- */

/* Appends one JSON line {"operation","model","body"} to the --record file (no-op
 * without one). The line is written with one write(2) on an O_APPEND descriptor. */
void bd_emu_record(const bd_emu_options_t *opts, const char *operation, const char *model_id,
                   json_t *body);

/* ---- bd_emu_converse.cc: Converse renderings ---- */

json_t *bd_emu_converse_json(const bd_emu_reply_t *r, const bd_emu_input_t *in);
void bd_emu_converse_stream(const bd_emu_reply_t *r, const bd_emu_input_t *in,
                            bd_emu_stream_t *s);

/* ---- bd_emu_anthropic.cc: Anthropic-native renderings, embeddings ---- */

json_t *bd_emu_anthropic_json(const bd_emu_reply_t *r, const char *model_id,
                              const std::string &msg_id);
void bd_emu_anthropic_stream(const bd_emu_reply_t *r, const char *model_id,
                             const std::string &msg_id, bd_emu_stream_t *s);

/* Answers InvokeModel for embedding models (Titan v2, Cohere); null when <model_id>
 * is not one, or sets <err> when the body is wrong. */
json_t *bd_emu_embed_json(const char *model_id, json_t *body, std::string *err);

/* ---- bd_emu_stream.cc: frame helpers and the paced sender (loop thread) ---- */

/* Appends one event frame with <s->scratch> as payload, and ends a step. */
void bd_emu_stream_event(bd_emu_stream_t *s, const char *event_type, uint32_t delay_ms);

/* Counts one output piece; returns true when the planned disruption happens now (the
 * exception frame has been appended or the cut marked) so the caller stops. */
bool bd_emu_stream_piece(bd_emu_stream_t *s, const bd_emu_reply_t *r);

/* Appends one broken frame of <kind> (json, crc, header_len) as its own step. */
void bd_emu_stream_corrupt(bd_emu_stream_t *s, const std::string &kind);

/* Appends a JSON string literal (with quotes) for <len> bytes of <p>. */
void bd_emu_json_quote(std::string *out, const char *p, size_t len);

/* Starts sending <s> on <x> (takes ownership of <s>); headers <content_type>. */
void bd_emu_stream_send(bd_emu_xchg_t *x, bd_emu_stream_t *s, const char *content_type);

/* Sends <body> as the 200 answer after <delay_ms> (0: now); takes ownership of <body>. */
void bd_emu_send_json_later(bd_emu_xchg_t *x, json_t *body, long delay_ms);

/* ---- bd_emu_models.cc: the control plane and CountTokens ---- */

void bd_emu_models_list(bd_emu_loop_t *lp, bd_emu_xchg_t *x, const char *query);
void bd_emu_models_get(bd_emu_loop_t *lp, bd_emu_xchg_t *x, const char *id);
void bd_emu_profiles_list(bd_emu_loop_t *lp, bd_emu_xchg_t *x, const char *query);
void bd_emu_profiles_get(bd_emu_loop_t *lp, bd_emu_xchg_t *x, const char *id);

/* The Anthropic model name reported for a Bedrock model id or ARN
 * ("us.anthropic.claude-sonnet-4-5-20250929-v1:0" -> "claude-sonnet-4-5-20250929"). */
std::string bd_emu_model_name(const char *model_id);

/* Percent-decodes <len> bytes of <s>. */
std::string bd_emu_pct_decode(const char *s, size_t len);

#endif
