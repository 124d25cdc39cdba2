/*
 * bd_emu_http.cc: the request router of bedrock-emulator. Every request gets an
 * x-amzn-RequestId, passes the credential check, and is routed by method and wire path to
 * the runtime operations (/model/{modelId}/...) or the control plane listings. Runs on the
 * loop thread that accepted the request; a request's reply is sent now or by its sender.
 * It sees requests as exchanges (bd_emu_xchg.cc), so HTTP/1.1 and HTTP/2 route alike.
 */
#include "tests/emulator/bd_emu.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

enum bd_emu_op_e {
    BD_EMU_OP_CONVERSE = 0,
    BD_EMU_OP_CONVERSE_STREAM,
    BD_EMU_OP_INVOKE,
    BD_EMU_OP_INVOKE_STREAM,
    BD_EMU_OP_COUNT_TOKENS,
};

static const struct {
    const char *segment;
    int op;
} bd_emu_ops[] = {
    {"converse", BD_EMU_OP_CONVERSE},
    {"converse-stream", BD_EMU_OP_CONVERSE_STREAM},
    {"invoke", BD_EMU_OP_INVOKE},
    {"invoke-with-response-stream", BD_EMU_OP_INVOKE_STREAM},
    {"count-tokens", BD_EMU_OP_COUNT_TOKENS},
};

/* One runtime request on its way through. */
struct bd_emu_call_t {
    bd_emu_loop_t *lp;
    bd_emu_xchg_t *x;
    std::string model_id; /* decoded */
    int op;
    json_t *body; /* owned */
    uint64_t seed;
};

void
bd_emu_add_request_id(bd_emu_xchg_t *x)
{
    bd_emu_loop_t *lp = x->lp;
    uint64_t n = ++lp->next_request;
    uint64_t v = lp->nonce ^ ((uint64_t)lp->id << 40);
    char id[48];
    snprintf(id, sizeof(id), "%08x-%04x-4%03x-8%03x-%012llx", (unsigned)(v >> 32),
             (unsigned)(v >> 16) & 0xffff, (unsigned)(v >> 4) & 0xfff, (unsigned)lp->id & 0xfff,
             (unsigned long long)(n & 0xffffffffffffULL));
    bd_emu_header_add(x, "x-amzn-RequestId", id);
}

void
bd_emu_send_error(bd_emu_xchg_t *x, int status, const char *type, const char *message,
                  json_t *extra)
{
    /* Errors of the AWS front end carry the coral service namespace, model errors Bedrock's. */
    bool front = strstr(type, "Signature") != nullptr || strstr(type, "Token") != nullptr ||
                 strstr(type, "UnrecognizedClient") != nullptr;
    std::string error_type = std::string(type) + ":http://internal.amazon.com/coral/" +
                             (front ? "com.amazon.coral.service/" : "com.amazon.bedrock/");
    bd_emu_header_add(x, "Content-Type", "application/json");
    bd_emu_header_add(x, "x-amzn-ErrorType", error_type.c_str());
    json_t *body = json_pack("{s:s}", "message", message);
    if (extra != nullptr) {
        json_object_update(body, extra);
    }
    char *dump = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    x->ops->reply(x, status, dump, strlen(dump));
    free(dump);
}

void
bd_emu_send_json(bd_emu_xchg_t *x, json_t *body)
{
    char *dump = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    bd_emu_header_add(x, "Content-Type", "application/json");
    x->ops->reply(x, 200, dump, strlen(dump));
    free(dump);
}

static void
bd_emu_send_validation(bd_emu_xchg_t *x, const std::string &message)
{
    bd_emu_send_error(x, 400, "ValidationException", message.c_str(), nullptr);
}

/* The scenario of a request: the x-emulator-scenario header, else the marker; count=N
 * turns it into plain echo once N requests with the same key have used it. */
static void
bd_emu_pick_scenario(bd_emu_xchg_t *x, const std::string &marker,
                     const std::string &model_id, bd_emu_scenario_t *sc)
{
    const char *header = bd_emu_header(x, "x-emulator-scenario");
    std::string spec = header != nullptr ? header : marker;
    bd_emu_control_override(model_id, &spec); /* the region's state wins */
    bd_emu_scenario_parse(spec, sc);
    long count = bd_emu_scenario_long(sc, "count", -1);
    if (count < 0) {
        return;
    }
    const char *key = bd_emu_header(x, "x-emulator-key");
    std::string k = key != nullptr ? std::string("key:") + key + "\n" + sc->name : "spec:" + spec;
    if (!bd_emu_count_take(k, count)) {
        sc->name = "echo";
        sc->params.clear();
    }
}

static void
bd_emu_send_plan_error(bd_emu_call_t *c, const bd_emu_reply_t *r)
{
    json_t *extra = nullptr;
    if (r->error->status == 424) {
        extra = json_pack("{s:i, s:s}", "originalStatusCode", 500, "resourceName",
                          c->model_id.c_str());
    }
    if (r->retry_after_s > 0) {
        char v[24];
        snprintf(v, sizeof(v), "%ld", r->retry_after_s);
        bd_emu_header_add(c->x, "Retry-After", v);
    }
    bd_emu_send_error(c->x, r->error->status, r->error->type, r->error_message.c_str(), extra);
    json_decref(extra);
}

/* A non-streaming call whose scenario disrupts a stream: an error, a cut body, or a body
 * that is not JSON. */
static void
bd_emu_disrupt_plain(bd_emu_call_t *c, const bd_emu_reply_t *r, json_t *answer)
{
    if (r->disrupt == BD_EMU_DISRUPT_EXCEPTION) {
        json_decref(answer);
        const bd_emu_error_t *e = bd_emu_error_by_type(r->exception_type.c_str());
        if (e == nullptr) {
            e = bd_emu_error_find("model_error");
        }
        bd_emu_reply_t er = *r;
        er.error = e;
        er.error_message = e->message;
        bd_emu_send_plan_error(c, &er);
        return;
    }
    bd_emu_stream_t *s = new bd_emu_stream_t();
    char *dump = json_dumps(answer, JSON_COMPACT);
    json_decref(answer);
    s->out.assign(dump, strlen(dump) / 2);
    free(dump);
    /* corrupt: a complete 200 whose body is not JSON; cut: half a body, then the close */
    s->cut = r->disrupt != BD_EMU_DISRUPT_CORRUPT;
    s->steps.push_back(bd_emu_step_t{(uint32_t)s->out.size(), (uint32_t)r->ttft_ms});
    bd_emu_stream_send(c->x, s, "application/json");
}

static void
bd_emu_add_invoke_headers(bd_emu_xchg_t *x, const bd_emu_reply_t *r)
{
    char v[32];
    snprintf(v, sizeof(v), "%ld", r->input_tokens);
    bd_emu_header_add(x, "X-Amzn-Bedrock-Input-Token-Count", v);
    snprintf(v, sizeof(v), "%ld", r->output_tokens);
    bd_emu_header_add(x, "X-Amzn-Bedrock-Output-Token-Count", v);
    snprintf(v, sizeof(v), "%ld", r->latency_ms);
    bd_emu_header_add(x, "X-Amzn-Bedrock-Invocation-Latency", v);
    if (r->cache_read_tokens > 0 || r->cache_write_tokens > 0) {
        snprintf(v, sizeof(v), "%ld", r->cache_read_tokens);
        bd_emu_header_add(x, "X-Amzn-Bedrock-Cache-Read-Input-Token-Count", v);
        snprintf(v, sizeof(v), "%ld", r->cache_write_tokens);
        bd_emu_header_add(x, "X-Amzn-Bedrock-Cache-Write-Input-Token-Count", v);
    }
}

static void
bd_emu_answer(bd_emu_call_t *c, const bd_emu_input_t *in, const bd_emu_reply_t *r)
{
    std::string msg_id = "msg_bdrk_01" + bd_emu_id_chars(c->seed ^ 0x5bd1e995ULL, 24);
    const char *stream_type = "application/vnd.amazon.eventstream";
    long delay = r->ttft_ms + (r->piece_delay_ms > 0 ? r->latency_ms - r->ttft_ms : 0);
    bd_emu_stream_t *s;
    switch (c->op) {
    case BD_EMU_OP_CONVERSE_STREAM:
        s = new bd_emu_stream_t();
        s->bytewise = r->bytewise;
        bd_emu_converse_stream(r, in, s);
        bd_emu_stream_send(c->x, s, stream_type);
        return;
    case BD_EMU_OP_INVOKE_STREAM:
        bd_emu_header_add(c->x, "X-Amzn-Bedrock-Content-Type", "application/json");
        s = new bd_emu_stream_t();
        s->bytewise = r->bytewise;
        bd_emu_anthropic_stream(r, c->model_id.c_str(), msg_id, s);
        bd_emu_stream_send(c->x, s, stream_type);
        return;
    case BD_EMU_OP_INVOKE: {
        json_t *answer = bd_emu_anthropic_json(r, c->model_id.c_str(), msg_id);
        if (r->disrupt != BD_EMU_DISRUPT_NONE) {
            bd_emu_disrupt_plain(c, r, answer);
            return;
        }
        bd_emu_add_invoke_headers(c->x, r);
        bd_emu_send_json_later(c->x, answer, delay);
        return;
    }
    default: {
        json_t *answer = bd_emu_converse_json(r, in);
        if (r->disrupt != BD_EMU_DISRUPT_NONE) {
            bd_emu_disrupt_plain(c, r, answer);
            return;
        }
        bd_emu_send_json_later(c->x, answer, delay);
        return;
    }
    }
}

/* CountTokens: {"input":{"converse":{...}}} or {"input":{"invokeModel":{"body":"<b64>"}}}. */
static void
bd_emu_count_tokens(bd_emu_call_t *c, bd_emu_input_t *in)
{
    json_t *input = json_object_get(c->body, "input");
    json_t *converse = json_object_get(input, "converse");
    const char *b64 = json_string_value(json_object_get(json_object_get(input, "invokeModel"),
                                                        "body"));
    std::string err;
    int rc = -1;
    if (converse != nullptr) {
        rc = bd_emu_input_converse(converse, in, &err);
    } else if (b64 != nullptr) {
        size_t n = strlen(b64);
        std::string raw(3 * (n / 4) + 3, '\0');
        int len = EVP_DecodeBlock((unsigned char *)&raw[0], (const unsigned char *)b64, (int)n);
        size_t pad = n >= 2 ? (b64[n - 1] == '=') + (b64[n - 2] == '=') : 0;
        json_t *native = len >= 0 ? json_loadb(raw.data(), len - pad, 0, nullptr) : nullptr;
        rc = native != nullptr ? bd_emu_input_anthropic(native, in, &err) : -1;
        if (native == nullptr) {
            err = "The provided request body is not valid base64-encoded JSON.";
        }
        json_decref(native);
    } else {
        err = "Malformed input request: exactly one of input.converse or input.invokeModel "
              "must be set.";
    }
    if (rc != 0) {
        bd_emu_send_validation(c->x, err);
        return;
    }
    bd_emu_scenario_t sc;
    bd_emu_pick_scenario(c->x, in->marker, c->model_id, &sc);
    const bd_emu_error_t *e = bd_emu_error_find(sc.name.c_str());
    if (e != nullptr) {
        const char *msg = bd_emu_scenario_get(&sc, "message");
        bd_emu_send_error(c->x, e->status, e->type, msg ? msg : e->message, nullptr);
        return;
    }
    bd_emu_send_json(c->x, json_pack("{s:I}", "inputTokens", (json_int_t)in->input_tokens));
}

static void
bd_emu_runtime(bd_emu_call_t *c)
{
    bd_emu_input_t in;
    in.seed = c->seed;
    if (c->op == BD_EMU_OP_COUNT_TOKENS) {
        bd_emu_count_tokens(c, &in);
        return;
    }
    std::string err;
    if (c->op == BD_EMU_OP_INVOKE) {
        json_t *embed = bd_emu_embed_json(c->model_id.c_str(), c->body, &err);
        if (embed != nullptr) {
            bd_emu_send_json(c->x, embed);
            return;
        }
        if (!err.empty()) {
            bd_emu_send_validation(c->x, err);
            return;
        }
    }
    int rc = c->op == BD_EMU_OP_CONVERSE || c->op == BD_EMU_OP_CONVERSE_STREAM
                 ? bd_emu_input_converse(c->body, &in, &err)
                 : bd_emu_input_anthropic(c->body, &in, &err);
    if (rc != 0) {
        bd_emu_send_validation(c->x, err);
        return;
    }
    in.seed = c->seed;
    /* the service tier asked for: Converse's serviceTier, InvokeModel's header */
    const char *tier = json_string_value(json_object_get(json_object_get(c->body, "serviceTier"),
                                                         "type"));
    if (tier == nullptr) {
        tier = bd_emu_header(c->x, "X-Amzn-Bedrock-Service-Tier");
    }
    bd_emu_control_count(tier);
    bd_emu_scenario_t sc;
    bd_emu_pick_scenario(c->x, in.marker, c->model_id, &sc);
    if (sc.name == "tier_unsupported") {
        if (tier != nullptr && strcmp(tier, "default") != 0) {
            bd_emu_send_validation(c->x, "The provided service tier is not supported for "
                                           "this model in this Region.");
            return;
        }
        sc.name = "echo";
        sc.params.clear();
    }
    bd_emu_reply_t r;
    bd_emu_plan(c->lp->opts, &sc, &in, &r);
    r.retry_after_s = bd_emu_scenario_long(&sc, "retry_after", 0);
    if (r.error != nullptr) {
        bd_emu_send_plan_error(c, &r);
        return;
    }
    bd_emu_answer(c, &in, &r);
}

/* POST /model/{modelId}/{operation}: the id is everything between "/model/" and the last
 * '/', percent-decoded (clients encode ':' and '/' inside it). */
static void
bd_emu_route_model(bd_emu_xchg_t *x, const std::string &path)
{
    bd_emu_loop_t *lp = x->lp;
    size_t slash = path.rfind('/');
    std::string segment = path.substr(slash + 1);
    int op = -1;
    for (const auto &o : bd_emu_ops) {
        if (segment == o.segment) {
            op = o.op;
        }
    }
    if (op < 0 || slash <= 7 || x->method != "POST") {
        bd_emu_send_error(x, 404, "UnknownOperationException", "Unknown operation", nullptr);
        return;
    }
    bd_emu_call_t c;
    c.lp = lp;
    c.x = x;
    c.op = op;
    c.model_id = bd_emu_pct_decode(path.data() + 7, slash - 7);
    c.seed = lp->nonce ^ ((uint64_t)lp->id << 48) ^ lp->next_request;
    c.body = json_loadb(x->body.data(), x->body.size(), 0, nullptr);
    if (!json_is_object(c.body)) {
        json_decref(c.body);
        bd_emu_send_validation(x, "Malformed input request, please reformat your input and "
                                    "try again.");
        return;
    }
    bd_emu_record(lp->opts, segment.c_str(), c.model_id.c_str(), c.body);
    bd_emu_runtime(&c);
    json_decref(c.body);
}

/* The control plane; errors named by the x-emulator-scenario header apply here too. */
static void
bd_emu_route_control(bd_emu_xchg_t *x, const std::string &path, const char *query)
{
    bd_emu_loop_t *lp = x->lp;
    bd_emu_scenario_t sc;
    bd_emu_pick_scenario(x, "", "", &sc);
    const bd_emu_error_t *e = bd_emu_error_find(sc.name.c_str());
    if (e != nullptr) {
        const char *msg = bd_emu_scenario_get(&sc, "message");
        bd_emu_send_error(x, e->status, e->type, msg ? msg : e->message, nullptr);
        return;
    }
    bool get = x->method == "GET";
    if (get && path == "/foundation-models") {
        bd_emu_models_list(lp, x, query);
    } else if (get && path.compare(0, 19, "/foundation-models/") == 0) {
        bd_emu_models_get(lp, x, bd_emu_pct_decode(path.data() + 19, path.size() - 19).c_str());
    } else if (get && path == "/inference-profiles") {
        bd_emu_profiles_list(lp, x, query);
    } else if (get && path.compare(0, 20, "/inference-profiles/") == 0) {
        bd_emu_profiles_get(lp, x,
                            bd_emu_pct_decode(path.data() + 20, path.size() - 20).c_str());
    } else {
        bd_emu_send_error(x, 404, "UnknownOperationException", "Unknown operation", nullptr);
    }
}

void
bd_emu_route(bd_emu_xchg_t *x)
{
    bd_emu_add_request_id(x);
    const char *raw_uri = x->uri.c_str();
    const char *q = strchr(raw_uri, '?');
    std::string path(raw_uri, q ? (size_t)(q - raw_uri) : strlen(raw_uri));
    if (bd_emu_control_route(x, path)) {
        return;
    }
    if (bd_emu_auth_check(x->lp->opts, x) != 0) {
        return;
    }
    if (path.compare(0, 7, "/model/") == 0) {
        bd_emu_route_model(x, path);
        return;
    }
    bd_emu_route_control(x, path, q ? q + 1 : "");
}
