/*
 * bd_api.h: what a client API is. An API (Anthropic Messages, OpenAI, the Bedrock
 * Runtime front door) is one bd_api_t: the routes it serves under its prefixes, how
 * its errors look, how a request names its model, and, for a model call, how its
 * request becomes the neutral request the Bedrock side takes and how Bedrock's answer,
 * stream events and failures are rendered back. The api module (bd_api_module.cc)
 * registers every API's routes, runs the MODEL phase and the model's admission for
 * them, and relays model calls to Bedrock (bd_api_relay.cc); an API names nothing of
 * the others. The list of APIs is modules/bd_modules.cc.
 */
#ifndef BD_API_H
#define BD_API_H

#include <jansson.h>
#include <stdint.h>

#include <string>
#include <vector>

#include "core/bd_json_slices.h"
#include "core/bd_published.h"
#include "core/bd_request.h"
#include "modules/bedrock/bd_bedrock.h"
#include "modules/convert/bd_convert.h"

struct bd_api_call_t;

/* A model call's part that is the API's: the shared driver (bd_api_relay.cc) converts,
 * fetches URL sources, calls Bedrock and relays; these say what the bytes are. Every
 * op runs on the request's worker. */
struct bd_api_call_ops_t {
    /* Makes the API's state for <c> (in the request's arena) into c->state. */
    void (*init)(bd_api_call_t *c);
    /* Converts r->json for c->model into c->creq and chooses c->op: 0, or -1 with <err>
     * (a client mistake, answered in the API's shape). */
    int (*convert)(bd_api_call_t *c, bd_convert_error_t *err);
    /* Readies the stream converters once c->creq is known (before the call starts). */
    void (*start)(bd_api_call_t *c);
    /* Appends the API's keep-alive for a silent stream. */
    void (*ping)(std::string *out);
    /* Renders the exception frame <name> (<payload> null when not JSON). */
    void (*exception)(bd_api_call_t *c, const char *name, json_t *payload, std::string *out);
    /* Renders the stream event <type> with the payload text <payload, len>: 0, or -1
     * with <err> for one it cannot use. An API reads the text as it needs it (a tree:
     * bd_api_event_tree; a scan). */
    int (*event)(bd_api_call_t *c, const char *type, const char *payload, size_t len,
                 std::string *out, bd_convert_error_t *err);
    /* The stream's closing bytes after Bedrock finished it (0), or -1 when it ended
     * early (the closing bytes then say so). */
    int (*end)(bd_api_call_t *c, std::string *out);
    /* The error event of a stream that failed with <err>; <framed>: the failure came
     * as an exception frame, which exception() rendered already. */
    void (*stream_error)(bd_api_call_t *c, bool framed, const bd_convert_error_t *err,
                         std::string *out);
    /* The usage counted by the stream converters so far. */
    const bd_convert_usage_t *(*stream_usage)(bd_api_call_t *c);
    /* Bedrock's whole answer <body> as the API's JSON text in <out> with <usage>: 0,
     * or -1 with <err>. Each API reads the body its own way (a tree, or a scan). */
    int (*answer)(bd_api_call_t *c, const std::string &body, std::string *out,
                  bd_convert_usage_t *usage, bd_convert_error_t *err);
    /* A failed call as the API's error (status, type, message). */
    void (*failure)(const bd_bedrock_result_t *res, bd_convert_error_t *err);
    /* The SSE ping interval in <snap> (0: never). */
    int64_t (*ping_interval)(const bd_snapshot_t *snap);
};

/* One route of an API, served under each of its prefixes. */
struct bd_api_route_t {
    const char *path;  /* after the prefix: "/messages"; null ends the table */
    bool prefix;       /* serves path + one more segment or more ("/models/" + id) */
    unsigned methods;  /* BD_METHOD_* */
    bool model;        /* the request names a model (in its body, or its path) */
    /* The content handler; null for a model call, which the shared driver runs
     * with <call>. */
    bd_phase_handler_pt handler;
    const bd_api_call_ops_t *call;
    /* On a path another API serves too: whether this API claims the request (by its
     * client's headers). Null: it takes what the others do not claim. */
    bool (*claims)(bd_request_t *r);
    /* Its answers may be kept by the response cache (modules/cache). */
    bool cacheable;
    /* Which large base64 strings of its body bypass jansson (BD_JSON_SLICE_*, in
     * core/bd_json_slices; 0: none): its converter copies such strings whole into the
     * Bedrock body (or it sends the client's text as it is), and whatever it repeats
     * to the client or keeps past the request has the slices pasted back (the
     * Responses API's echo and store). */
    unsigned slices;
};

/* What the MODEL phase asks of an API about a request that names a model. */
struct bd_api_model_ask_t {
    std::string name;   /* the model as the client named it */
    int64_t output_max; /* the output it allows, charged against tokens per minute */
};

/* What the MODEL phase found wrong, for the API to word (bd_api_t.fail). */
enum bd_api_fail_e {
    BD_API_FAIL_BODY = 1,      /* the body is not a JSON object */
    BD_API_FAIL_MODEL,         /* the API's model(): the model is not named right */
    BD_API_FAIL_UNKNOWN_MODEL, /* the model map does not know the model */
};

struct bd_api_t {
    const char *name;              /* in usage records: "anthropic", "openai", "bedrock" */
    const bd_api_route_t *routes;
    /* The prefixes it is served under in <snap> ("" for the bare paths). */
    void (*prefixes)(const bd_snapshot_t *snap, std::vector<std::string> *out);
    bd_error_render_pt render_error;
    bool default_errors;   /* its errors are the gateway's for paths no API claims */
    const char *id_header; /* a second header naming the request id, or null */
    const char *body_name; /* its messages call the body so: "request body" */
    bool model_in_path;    /* the model is named in the path: its mistakes come first */

    /* The model a request names, from r->json (null when the body did not parse) or
     * the path: 0 with <ask>, or -1 with <status> and <msg> (a client mistake). */
    int (*model)(bd_request_t *r, bd_api_model_ask_t *ask, int *status, std::string *msg);
    /* Answers the MODEL phase's failure <kind> (bd_api_fail_e) with <status> and <msg>
     * (<name>: the model named, for an unknown one) and finalizes. */
    void (*fail)(bd_request_t *r, int kind, int status, const std::string &name,
                 const char *msg);
    /* Any path under its prefixes speaks its errors (else only its routes' paths). */
    bool prefix_errors;
};

/* A request of an API route, from the MODEL phase on (r->ctx of the api module). */
struct bd_api_req_t {
    const bd_api_t *api;
    const bd_api_route_t *route;
    const bd_convert_model_t *model; /* resolved: in the published model table (held in
                                        <model_table>), or <resolved>; null when the route
                                        names no model or it is unknown */
    bd_published_obj_t *model_table = nullptr; /* the table <model> points into */
    bd_convert_model_t resolved;     /* a model the table does not hold (a passthrough id) */
    bd_api_model_ask_t ask;
    int fail_status;                 /* 0, or the MODEL phase's failure for admission */
    int fail_kind;                   /* bd_api_fail_e */
    std::string fail_msg;
    bd_json_slices_t slices;         /* the body's large strings (route->slices) */

    ~bd_api_req_t() { bd_published_release(model_table); }
};

/* A model call run by the shared driver (bd_api_relay.cc). */
struct bd_api_call_t {
    bd_request_t *r;
    const bd_api_req_t *q;
    const bd_convert_model_t *model; /* q->model */
    const bd_api_call_ops_t *ops;
    bd_convert_request_t creq;
    int op;      /* bd_bedrock_op_e, set by ops->convert */
    void *state; /* the API's (ops->init), in the request's arena */
};

/* The request's API state; null on routes of no API. */
bd_api_req_t *bd_api_req(const bd_request_t *r);

/* The shared driver: the content handler of every model call route. */
int bd_api_call_run(bd_request_t *r);

/* A stream event's payload text as a tree (new reference), or null with <err>
 * saying it is not JSON. */
json_t *bd_api_event_tree(const char *payload, size_t len, bd_convert_error_t *err);

/* Bedrock's JSON answer <body> as a tree (new reference), or null with a 502 <err>. */
json_t *bd_api_answer_tree(const std::string &body, bd_convert_error_t *err);

/* <j> (taken over) as the answer text <out>: 0, or -1 when <j> is null. */
int bd_api_answer_text(json_t *j, std::string *out);

/* Sends <j> (taken over) as a 200 JSON answer and finalizes. */
void bd_api_send_json(bd_request_t *r, json_t *j);

/* Sends a converter's or upstream error <err> (its type a name bd_err_parse knows)
 * and finalizes; retry-after: 1 on 429, 503 and 529 (Bedrock sends none; the SDKs
 * wait for one). */
void bd_api_send_error(bd_request_t *r, const bd_convert_error_t *err);

/* The user a request body names: metadata.user_id (Anthropic), else user (OpenAI),
 * cut to BD_API_USER_MAX bytes; empty when none. */
enum { BD_API_USER_MAX = 256 };
void bd_api_user_id(const json_t *body, std::string *user);

/* The APIs, null-terminated (modules/bd_modules.cc). */
extern const bd_api_t *const bd_apis[];

extern bd_module_t bd_api_module;

#endif
