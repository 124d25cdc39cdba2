/*
 * bd_bedrock_call.cc: one call to Bedrock for one request, on the request's
 * worker: sign, send, decode, retry. State lives in bd_bedrock_call_t; the one
 * place that moves it on is bd_bedrock_on_done. A call is retried only while
 * nothing of it reached the handler (so never after the client saw a byte).
 */
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>

#include "core/aws/bd_sigv4.h"
#include "core/bd_log.h"
#include "core/bd_process.h"
#include "core/bd_worker.h"
#include "modules/bedrock/bd_bedrock_conf.h"
#include "modules/bedrock/bd_bedrock_failover.h"
#include "modules/bedrock/bd_bedrock_redact.h"

static const size_t BD_BEDROCK_MAX_BODY = 64u * 1024 * 1024;
static const long BD_BEDROCK_STREAM_RECV_BUFFER = 1024; /* curl's smallest */

struct bd_bedrock_call_t {
    bd_request_t *r;
    bd_bedrock_worker_t *bw;
    const bd_bedrock_conf_t *conf; /* borrowed from the request's snapshot */
    int op;
    std::string model_id;
    std::string body; /* the request body, handed to curl without a copy */
    const bd_json_slices_t *slices; /* what the body's tokens stand for; may be null */
    bd_bedrock_handlers_t h;
    void *data;

    bd_curl_xfer_t *xfer;
    struct event *retry_ev;
    int attempt;
    int64_t started_us;
    bool canceled;
    bool done;

    long status;
    std::string response; /* non-stream answers and error bodies */
    std::string error_header;
    bd_es_decoder_t decoder;
    bool streaming;  /* a 2xx event stream is being decoded */
    bool delivered;  /* a frame reached the handler: no more retries */
    bool pause_wanted;
    bool stream_failed;
    bool bad_event; /* the handler could not use an event: the stream cannot go on */
    std::string stream_error_name, stream_error_message;
    bd_bedrock_result_t deferred; /* a failure found before any transfer started */
    bd_failover_walk_t walk;      /* the target and tier of the attempt (failover chain) */
};

static const char *
bd_bedrock_op_path(int op)
{
    switch (op) {
    case BD_OP_CONVERSE:
        return "converse";
    case BD_OP_CONVERSE_STREAM:
        return "converse-stream";
    case BD_OP_INVOKE:
        return "invoke";
    case BD_OP_INVOKE_STREAM:
        return "invoke-with-response-stream";
    default:
        return "count-tokens";
    }
}

/* The AWS operation name, for metrics labels. */
static const char *
bd_bedrock_op_name(int op)
{
    switch (op) {
    case BD_OP_CONVERSE:
        return "Converse";
    case BD_OP_CONVERSE_STREAM:
        return "ConverseStream";
    case BD_OP_INVOKE:
        return "InvokeModel";
    case BD_OP_INVOKE_STREAM:
        return "InvokeModelWithResponseStream";
    default:
        return "CountTokens";
    }
}

static bool
bd_bedrock_op_streams(int op)
{
    return op == BD_OP_CONVERSE_STREAM || op == BD_OP_INVOKE_STREAM;
}

void *
bd_bedrock_data(const bd_bedrock_call_t *c)
{
    return c->data;
}

bd_request_t *
bd_bedrock_request(const bd_bedrock_call_t *c)
{
    return c->r;
}

/* "ValidationException:http://internal..." or "ns#Name" -> "Name". */
static std::string
bd_bedrock_sanitize_error(const char *s, size_t len)
{
    std::string name(s, len);
    size_t cut = name.find_first_of(",:");
    if (cut != std::string::npos) {
        name.resize(cut);
    }
    size_t hash = name.rfind('#');
    if (hash != std::string::npos) {
        name.erase(0, hash + 1);
    }
    return name;
}

/* Fills the error name and message of an AWS error answer (rest-json rules). */
static void
bd_bedrock_parse_error(bd_bedrock_call_t *c, bd_bedrock_result_t *res)
{
    json_t *j = json_loadb(c->response.data(), c->response.size(), 0, nullptr);
    const char *name = nullptr;
    if (!c->error_header.empty()) {
        res->error_name = bd_bedrock_sanitize_error(c->error_header.data(), c->error_header.size());
    } else if (j != nullptr && ((name = json_string_value(json_object_get(j, "code"))) != nullptr ||
                                (name = json_string_value(json_object_get(j, "__type"))) != nullptr)) {
        res->error_name = bd_bedrock_sanitize_error(name, strlen(name));
    }
    const char *msg = nullptr;
    if (j != nullptr) {
        msg = json_string_value(json_object_get(j, "message"));
        if (msg == nullptr) {
            msg = json_string_value(json_object_get(j, "Message"));
        }
    }
    res->message = msg ? msg : (c->response.size() < 512 ? c->response : "upstream error");
    if (res->error_name.empty()) {
        res->error_name = c->status >= 500 ? "InternalServerException" : "ValidationException";
    }
    json_decref(j);
}

static bool
bd_bedrock_retryable(const bd_bedrock_result_t *res)
{
    if (res->kind == BD_BEDROCK_TRANSPORT) {
        return !res->timeout; /* connect failures; a timed-out model call is not repeated */
    }
    if (res->kind != BD_BEDROCK_AWS_ERROR) {
        return false;
    }
    const std::string &n = res->error_name;
    return n == "ThrottlingException" || n == "ModelNotReadyException" ||
           n == "ServiceUnavailableException" || n == "InternalServerException" ||
           (res->http_status >= 500 && res->http_status != 501);
}

static void bd_bedrock_attempt(bd_bedrock_call_t *c);
static void bd_bedrock_complete(bd_bedrock_call_t *c, bd_bedrock_result_t *res);

static void
bd_bedrock_on_retry_timer(evutil_socket_t, short, void *arg) noexcept
{
    bd_bedrock_call_t *c = (bd_bedrock_call_t *)arg;
    if (c->deferred.kind != BD_BEDROCK_OK) {
        bd_bedrock_complete(c, &c->deferred);
        return;
    }
    bd_bedrock_attempt(c);
}

/* Reports a failure from the event loop rather than from inside bd_bedrock_call,
 * so that a caller never sees its request finalized before the call returns. */
static void
bd_bedrock_fail_later(bd_bedrock_call_t *c, int kind, const char *name, const std::string &msg)
{
    c->deferred.kind = kind;
    c->deferred.http_status = 0;
    c->deferred.body = nullptr;
    c->deferred.timeout = false;
    c->deferred.error_name = name;
    c->deferred.message = msg;
    if (c->retry_ev == nullptr) {
        c->retry_ev = evtimer_new(c->r->w->base, bd_bedrock_on_retry_timer, c);
    }
    struct timeval tv = {0, 0};
    evtimer_add(c->retry_ev, &tv);
}

/* Full jitter: a random delay in [0, base * 2^attempt), as the AWS SDKs back off. */
static bool
bd_bedrock_schedule_retry(bd_bedrock_call_t *c)
{
    int64_t elapsed_ms = (bd_now_us() - c->started_us) / 1000;
    if (c->attempt > c->conf->retries || elapsed_ms >= c->conf->retry_budget_ms) {
        return false;
    }
    int64_t cap = c->conf->retry_base_ms << (c->attempt > 10 ? 10 : c->attempt - 1);
    c->bw->rng = c->bw->rng * 6364136223846793005ull + 1442695040888963407ull;
    int64_t delay = cap > 0 ? (int64_t)((c->bw->rng >> 33) % (uint64_t)cap) : 0;
    if (elapsed_ms + delay >= c->conf->retry_budget_ms) {
        return false;
    }
    if (c->retry_ev == nullptr) {
        c->retry_ev = evtimer_new(c->r->w->base, bd_bedrock_on_retry_timer, c);
    }
    struct timeval tv = {(time_t)(delay / 1000), (suseconds_t)(delay % 1000) * 1000};
    evtimer_add(c->retry_ev, &tv);
    return true;
}

static void
bd_bedrock_complete(bd_bedrock_call_t *c, bd_bedrock_result_t *res)
{
    c->done = true;
    bd_failover_end(&c->walk);
    res->attempts = c->attempt;
    c->r->upstream_end_us = bd_now_us();
    if (res->kind != BD_BEDROCK_OK) {
        c->r->upstream_error = res->error_name;
    }
    bd_bedrock_health_record(&bd_bedrock_process(c->r->w->process)->health, res);
    if (res->kind != BD_BEDROCK_OK && res->kind != BD_BEDROCK_NO_CREDENTIALS) {
        bd_log_error(BD_LOG_WARN, c->r->id,
                     "bedrock %s %s failed after %d attempt(s): %s %s (status %ld, aws request "
                     "%s)",
                     bd_bedrock_op_path(c->op),
                     bd_failover_model_id(&c->walk, c->model_id).c_str(), c->attempt,
                     res->error_name.c_str(), res->message.c_str(), res->http_status,
                     c->r->upstream_request_id.c_str());
    }
    if (res->kind != BD_BEDROCK_OK) {
        bd_bedrock_client_message(res->kind, res->error_name, &res->message);
    }
    c->h.on_complete(c, res);
}

/* A stream has begun and its request is out: the body (a Claude Code turn can be
 * megabytes) is not needed for the minutes the stream may last. */
static void
bd_bedrock_drop_body(bd_bedrock_call_t *c)
{
    if (c->xfer != nullptr && bd_curl_xfer_body_sent(c->xfer)) {
        std::string().swap(c->body);
        std::string().swap(c->walk.tier_body);
        c->slices = nullptr;
    }
}

static int
bd_bedrock_on_frame(void *arg, const bd_es_message_t *m)
{
    bd_bedrock_call_t *c = (bd_bedrock_call_t *)arg;
    const std::string *type = bd_es_message_header(m, ":message-type");
    if (type != nullptr && *type != "event") {
        /* exception or error frame: the stream ends with it */
        const std::string *name = bd_es_message_header(m, ":exception-type");
        if (name == nullptr) {
            name = bd_es_message_header(m, ":error-code");
        }
        c->stream_failed = true;
        c->stream_error_name = name ? *name : "InternalServerException";
        json_t *j = json_loadb((const char *)m->payload, m->payload_len, 0, nullptr);
        const char *msg = j ? json_string_value(json_object_get(j, "message")) : nullptr;
        const std::string *emsg = bd_es_message_header(m, ":error-message");
        c->stream_error_message = msg ? msg : (emsg ? *emsg : "stream error");
        json_decref(j);
    }
    if (!c->delivered) {
        c->delivered = true; /* no retry or failover from here on */
        bd_bedrock_drop_body(c);
    }
    int rc = c->h.on_event(c, m);
    if (rc < 0) {
        c->bad_event = true;
    } else if (rc == 1) {
        c->pause_wanted = true;
    }
    return c->stream_failed || c->bad_event ? 1 : 0;
}

static int
bd_bedrock_on_headers(bd_curl_xfer_t *x, long status, const bd_curl_headers_t *h) noexcept
{
    bd_bedrock_call_t *c = (bd_bedrock_call_t *)bd_curl_xfer_data(x);
    c->status = status;
    const char *rid = bd_curl_headers_get(h, "x-amzn-RequestId", nullptr);
    if (rid != nullptr) {
        c->r->upstream_request_id = rid;
    }
    const char *et = bd_curl_headers_get(h, "x-amzn-ErrorType", nullptr);
    c->error_header = et ? et : "";
    bd_failover_on_headers(&c->walk, bd_curl_headers_get(h, "retry-after", nullptr));
    c->streaming = status >= 200 && status < 300 && bd_bedrock_op_streams(c->op);
    if (c->streaming) {
        bd_es_decoder_init(&c->decoder, bd_bedrock_on_frame, c);
    }
    return BD_CURL_CONTINUE;
}

static int
bd_bedrock_on_data(bd_curl_xfer_t *x, const char *p, size_t len) noexcept
{
    bd_bedrock_call_t *c = (bd_bedrock_call_t *)bd_curl_xfer_data(x);
    if (!c->streaming) {
        if (c->response.size() + len > BD_BEDROCK_MAX_BODY) {
            return BD_CURL_ABORT;
        }
        c->response.append(p, len);
        return BD_CURL_CONTINUE;
    }
    int rc = bd_es_decoder_feed(&c->decoder, p, len);
    if (c->stream_failed || c->bad_event || rc < 0) {
        return BD_CURL_ABORT; /* the outcome is known; on_done reports it */
    }
    if (c->pause_wanted) {
        c->pause_wanted = false;
        bd_curl_xfer_pause(x);
    }
    return BD_CURL_CONTINUE;
}

static void
bd_bedrock_on_done(bd_curl_xfer_t *x, const bd_curl_result_t *cres) noexcept
{
    bd_bedrock_call_t *c = (bd_bedrock_call_t *)bd_curl_xfer_data(x);
    c->xfer = nullptr;
    bd_bedrock_result_t res;
    res.kind = BD_BEDROCK_OK;
    res.http_status = cres->http_status;
    res.body = &c->response;
    res.timeout = false;
    res.attempts = c->attempt;

    if (c->streaming && c->stream_failed) {
        res.kind = BD_BEDROCK_STREAM_ERROR;
        res.error_name = bd_bedrock_sanitize_error(c->stream_error_name.data(),
                                                   c->stream_error_name.size());
        res.message = c->stream_error_message;
    } else if (c->streaming && c->bad_event) {
        res.kind = BD_BEDROCK_BAD_STREAM;
        res.message = "Bedrock sent an event the gateway cannot decode";
    } else if (c->streaming && c->decoder.failed != 0) {
        res.kind = BD_BEDROCK_BAD_STREAM;
        res.message = std::string("bad event stream from Bedrock: ") +
                      bd_es_strerror(c->decoder.failed);
    } else if (cres->code != BD_CURL_OK) {
        res.kind = BD_BEDROCK_TRANSPORT;
        res.timeout = cres->code >= BD_CURL_TIMEOUT_CONNECT && cres->code <= BD_CURL_TIMEOUT_TOTAL;
        /* A lost or refused connection is a gateway-side failure (api_error), not
         * Bedrock saying it is overloaded. */
        res.error_name = res.timeout ? "ModelTimeoutException" : "InternalServerException";
        res.message = std::string("Bedrock ") + bd_curl_result_name(cres->code) +
                      (cres->message && cres->message[0] ? std::string(": ") + cres->message : "");
    } else if (c->status < 200 || c->status >= 300) {
        res.kind = BD_BEDROCK_AWS_ERROR;
        bd_bedrock_parse_error(c, &res);
    } else if (c->streaming && bd_es_decoder_finish(&c->decoder) != BD_ES_OK) {
        res.kind = BD_BEDROCK_BAD_STREAM;
        res.message = "Bedrock closed the event stream in the middle of a message";
    }

    bd_bedrock_redact(&res.message); /* logged from here on */
    /* failover: the default tier, or the next target of the model's chain, at once */
    if (bd_failover_next(&c->walk, c->r, c->conf, &res, c->delivered, &c->bw->rng)) {
        if (c->retry_ev == nullptr) {
            c->retry_ev = evtimer_new(c->r->w->base, bd_bedrock_on_retry_timer, c);
        }
        struct timeval now = {0, 0};
        evtimer_add(c->retry_ev, &now);
        return;
    }
    if (res.kind != BD_BEDROCK_OK && !c->delivered && bd_bedrock_retryable(&res) &&
        bd_bedrock_schedule_retry(c)) {
        bd_log_error(BD_LOG_INFO, c->r->id, "bedrock attempt %d failed (%s %s), retrying",
                     c->attempt, res.error_name.c_str(), res.message.c_str());
        return;
    }
    bd_bedrock_complete(c, &res);
}

static const bd_curl_handlers_t bd_bedrock_curl_handlers = {
    bd_bedrock_on_headers,
    bd_bedrock_on_data,
    bd_bedrock_on_done,
};

/* Signs and starts one attempt. Credentials are taken per attempt, so a refresh
 * between attempts is picked up. */
static void
bd_bedrock_attempt(bd_bedrock_call_t *c)
{
    c->attempt++;
    c->r->upstream_attempts = c->attempt;
    c->status = 0;
    c->response.clear();
    c->error_header.clear();
    c->streaming = false;
    c->stream_failed = false;
    c->bad_event = false;

    bd_bedrock_process_t *bp = bd_bedrock_process(c->r->w->process);
    bd_credentials_t *creds = bd_credentials_acquire(bp->creds);
    if (creds == nullptr) {
        char reason[256];
        bd_credentials_status(bp->creds, reason, sizeof(reason));
        bd_bedrock_fail_later(c, BD_BEDROCK_NO_CREDENTIALS, "NoCredentials",
                              std::string("the gateway has no usable AWS credentials: ") + reason);
        return;
    }

    /* the failover walk picks the target, endpoint, body and tier of this attempt */
    const bd_aws_endpoint_t *ep = bd_failover_endpoint(&c->walk, c->conf);
    const std::string &model_id = bd_failover_model_id(&c->walk, c->model_id);
    const std::string &body = bd_failover_body(&c->walk, c->op, c->body);
    const char *tier = bd_failover_tier_header(&c->walk, c->op);
    bd_failover_on_attempt(&c->walk, c->r);
    std::string enc = bd_sigv4_uri_encode(model_id.data(), model_id.size(), false);
    std::string path = ep->base_path + "/model/" + enc + "/" + bd_bedrock_op_path(c->op);
    std::string url = ep->scheme + "://" + ep->host + path;
    const char *accept =
        bd_bedrock_op_streams(c->op) ? "application/vnd.amazon.eventstream" : "application/json";

    /* a body with large client strings set aside goes as pieces, never joined */
    std::vector<struct iovec> pieces;
    if (c->slices != nullptr) {
        bd_json_slices_pieces(c->slices, body.data(), body.size(), &pieces);
    }

    std::vector<bd_curl_header_t> headers;
    headers.push_back({"Accept", accept});
    if (tier != nullptr) {
        headers.push_back({"X-Amzn-Bedrock-Service-Tier", tier});
    }
    bd_sigv4_result_t sig;
    std::string bearer;
    if (!creds->bearer_token.empty()) {
        bearer = "Bearer " + creds->bearer_token;
        headers.push_back({"Authorization", bearer.c_str()});
    } else {
        bd_sigv4_request_t sreq;
        sreq.method = "POST";
        sreq.host = ep->host.c_str();
        sreq.path = path.c_str();
        sreq.headers.push_back({"content-type", "application/json"});
        sreq.headers.push_back({"accept", accept});
        if (tier != nullptr) {
            sreq.headers.push_back({"x-amzn-bedrock-service-tier", tier});
        }
        sreq.body = body.data();
        sreq.body_len = body.size();
        if (!pieces.empty()) {
            sreq.body_iov = pieces.data();
            sreq.body_iovcnt = pieces.size();
        }
        sreq.region = ep->region.c_str();
        sreq.service = ep->signing_name.c_str();
        sreq.time_s = (int64_t)time(nullptr);
        sreq.add_content_sha256 = false;
        bd_sigv4_sign(&sreq, &creds->sigv4, &sig);
        for (const bd_sigv4_header_t &hd : sig.add_headers) {
            headers.push_back({hd.name.c_str(), hd.value.c_str()});
        }
    }

    bool streams = bd_bedrock_op_streams(c->op);
    bd_curl_request_t req;
    memset(&req, 0, sizeof(req));
    req.method = "POST";
    req.url = url.c_str();
    req.headers = headers.data();
    req.nheaders = headers.size();
    req.content_type = "application/json";
    req.http_version = c->conf->http2 ? BD_CURL_HTTP_2_TLS : BD_CURL_HTTP_1_1;
    req.body = body.data();
    req.body_len = body.size();
    if (!pieces.empty()) {
        req.body_iov = pieces.data();
        req.body_iovcnt = pieces.size();
    }
    req.connect_timeout_ms = (long)c->conf->connect_timeout_ms;
    req.first_byte_timeout_ms =
        (long)(streams ? c->conf->first_byte_timeout_ms : c->conf->read_timeout_ms);
    req.idle_timeout_ms =
        (long)(streams ? c->conf->stream_idle_timeout_ms : c->conf->read_timeout_ms);
    req.total_timeout_ms = (long)c->conf->request_timeout_ms;
    /* A stream's frames come a few hundred bytes at a time and it may be held for
     * minutes: curl's 16 KB buffer cost each held stream a page of RSS, this one a
     * quarter of that (a burst of frames takes more reads). HTTP/1.1 only. */
    req.recv_buffer = streams ? BD_BEDROCK_STREAM_RECV_BUFFER : 0;
    c->xfer = bd_curl_xfer_start(c->bw->curl, &req, &bd_bedrock_curl_handlers, c);
    bd_credentials_release(creds);
    if (c->xfer == nullptr) {
        bd_bedrock_fail_later(c, BD_BEDROCK_TRANSPORT, "InternalServerException",
                              "cannot start the upstream transfer");
    }
}

static void
bd_bedrock_cleanup(void *data)
{
    bd_bedrock_call_t *c = (bd_bedrock_call_t *)data;
    bd_bedrock_cancel(c);
    if (c->retry_ev != nullptr) {
        event_free(c->retry_ev);
    }
    delete c;
}

bd_bedrock_call_t *
bd_bedrock_call(bd_request_t *r, int op, const std::string &model_id, std::string *body,
                const bd_json_slices_t *slices, const bd_bedrock_handlers_t *h, void *data)
{
    bd_bedrock_call_t *c = new bd_bedrock_call_t();
    c->r = r;
    c->bw = bd_bedrock_worker(r->w);
    c->conf = bd_bedrock_conf(r->snap);
    c->op = op;
    c->model_id = model_id;
    c->body.swap(*body);
    c->slices = slices != nullptr && !slices->cut.empty() ? slices : nullptr;
    c->h = *h;
    c->data = data;
    c->xfer = nullptr;
    c->retry_ev = nullptr;
    c->attempt = 0;
    c->started_us = bd_now_us();
    c->canceled = c->done = false;
    c->streaming = c->delivered = c->pause_wanted = c->stream_failed = c->bad_event = false;
    c->status = 0;
    c->deferred.kind = BD_BEDROCK_OK;
    bd_request_add_cleanup(r, bd_bedrock_cleanup, c);
    bd_failover_begin(&c->walk, r, c->conf, &c->bw->rng);
    r->upstream_us = bd_now_us();
    r->upstream_operation = bd_bedrock_op_name(op);
    bd_bedrock_attempt(c);
    return c;
}

void
bd_bedrock_cancel(bd_bedrock_call_t *c)
{
    c->canceled = true;
    bd_failover_end(&c->walk);
    if (c->xfer != nullptr) {
        bd_curl_xfer_cancel(c->xfer);
        c->xfer = nullptr;
    }
    if (c->retry_ev != nullptr) {
        evtimer_del(c->retry_ev);
    }
}

void
bd_bedrock_resume(bd_bedrock_call_t *c)
{
    if (c->xfer != nullptr) {
        bd_curl_xfer_resume(c->xfer);
    }
}
