/*
 * bd_api_relay.cc: the shared driver of a model call, whatever the API. The request was
 * admitted with its model resolved (bd_api_module.cc); here the API's converter turns
 * r->json into the Bedrock request, URL sources are fetched (modules/fetch), and the
 * call is relayed (modules/bedrock/bd_bedrock_relay: the stream's mechanism, pings,
 * back-pressure). What the bytes say, the API says through its bd_api_call_ops_t.
 * Worker thread.
 */
#include <string.h>

#include "core/bd_http.h"
#include "core/bd_log.h"
#include "modules/api/bd_api.h"
#include "modules/bedrock/bd_bedrock_relay.h"
#include "modules/fetch/bd_fetch.h"

static void
bd_api_call_free(void *data)
{
    bd_convert_request_free(&((bd_api_call_t *)data)->creq);
}

/* Names a failed call for logs and metrics, and maps it to the API's error. */
static void
bd_api_call_failure(bd_api_call_t *c, const bd_bedrock_result_t *res, bd_convert_error_t *err)
{
    c->ops->failure(res, err);
    c->r->error_type = res->error_name.empty() ? "upstream_error" : res->error_name;
}

static void
bd_api_relay_ping(void *data, std::string *out)
{
    ((bd_api_call_t *)data)->ops->ping(out);
}

static void
bd_api_relay_exception(void *data, const char *name, json_t *payload, std::string *out)
{
    bd_api_call_t *c = (bd_api_call_t *)data;
    c->ops->exception(c, name, payload, out);
}

static int
bd_api_relay_event(void *data, const char *type, const char *payload, size_t len,
                   std::string *out, bd_convert_error_t *err)
{
    bd_api_call_t *c = (bd_api_call_t *)data;
    return c->ops->event(c, type, payload, len, out, err);
}

static void
bd_api_relay_take_stream_usage(bd_api_call_t *c)
{
    bd_bedrock_relay_take_usage(c->r, c->ops->stream_usage(c));
}

/* The stream is over: the error event after a failure, the closing events otherwise. */
static void
bd_api_relay_stream_end(void *data, const bd_bedrock_result_t *res, std::string *out)
{
    bd_api_call_t *c = (bd_api_call_t *)data;
    if (res->kind != BD_BEDROCK_OK) {
        bd_convert_error_t err;
        bd_api_relay_take_stream_usage(c);
        bd_api_call_failure(c, res, &err);
        c->ops->stream_error(c, res->kind == BD_BEDROCK_STREAM_ERROR, &err, out);
        return;
    }
    if (c->ops->end(c, out) != 0 && c->r->error_type.empty()) {
        c->r->error_type = "stream_truncated";
    }
    bd_api_relay_take_stream_usage(c);
}

/* Bedrock's whole answer as the API's. */
static void
bd_api_relay_finish_json(bd_api_call_t *c, const std::string &body)
{
    bd_request_t *r = c->r;
    bd_convert_error_t err;
    bd_convert_usage_t usage = {};
    std::string out;
    if (c->ops->answer(c, body, &out, &usage, &err) != 0) {
        bd_log_error(BD_LOG_ERR, r->id, "cannot read the Bedrock answer: %s",
                     err.message.c_str());
        bd_http_send_error(r, 502, BD_ERR_API, "the upstream answer could not be read");
        return;
    }
    bd_bedrock_relay_take_usage(r, &usage);
    bd_http_send(r, 200, "application/json", out.data(), out.size());
}

/* Nothing was sent yet: the answer, or the failure as the client's error. */
static void
bd_api_relay_answer(void *data, const bd_bedrock_result_t *res)
{
    bd_api_call_t *c = (bd_api_call_t *)data;
    if (res->kind == BD_BEDROCK_OK) {
        if (c->creq.stream) {
            bd_http_send_error(c->r, 502, BD_ERR_API, "Bedrock sent an empty stream");
        } else {
            bd_api_relay_finish_json(c, *res->body);
        }
        return;
    }
    bd_convert_error_t err;
    bd_api_call_failure(c, res, &err);
    bd_api_send_error(c->r, &err);
}

/* The client went away: the usage record still counts what was consumed. */
static void
bd_api_relay_abort(void *data)
{
    bd_api_relay_take_stream_usage((bd_api_call_t *)data);
}

static const bd_bedrock_relay_ops_t bd_api_relay_ops = {
    bd_api_relay_ping,       bd_api_relay_exception, bd_api_relay_event,
    bd_api_relay_stream_end, bd_api_relay_answer,    bd_api_relay_abort,
};

/* The request is converted and complete: call Bedrock. */
static void
bd_api_call_send(bd_api_call_t *c)
{
    c->ops->start(c);
    std::string body;
    bd_convert_json_dump(c->creq.body, &body);
    /* the text is what goes: the tree, and the client's values it shares, go now, not
     * when a long stream ends (the URL sources pointed into it) */
    json_decref(c->creq.body);
    c->creq.body = nullptr;
    c->creq.url_sources.clear();
    if (c->q->slices.cut.empty()) {
        bd_http_drop_body(c->r); /* else its media are sent from it */
    }
    bd_bedrock_relay_start(c->r, c->op, c->model->bedrock_id, &body, &c->q->slices,
                           c->ops->ping_interval(c->r->snap), &bd_api_relay_ops, c);
}

/* Every URL source was fetched (or one failed). */
static void
bd_api_call_on_fetched(void *data, const bd_convert_error_t *err)
{
    bd_api_call_t *c = (bd_api_call_t *)data;
    if (err != nullptr) {
        bd_api_send_error(c->r, err);
        return;
    }
    bd_api_call_send(c);
}

/* The client's anthropic-beta values the model does not accept (not sent): counted for
 * /metrics, named in the debug log. */
static void
bd_api_call_dropped_betas(bd_request_t *r, const std::vector<std::string> &dropped)
{
    if (dropped.empty()) {
        return;
    }
    std::string names;
    for (const std::string &b : dropped) {
        names += names.empty() ? "" : ",";
        names += b;
    }
    r->betas_dropped += (int)dropped.size();
    bd_log_error(BD_LOG_DEBUG, r->id, "anthropic-beta not accepted by %s, not sent: %s",
                 r->model_resolved.c_str(), names.c_str());
}

int
bd_api_call_run(bd_request_t *r)
{
    const bd_api_req_t *q = bd_api_req(r);
    bd_api_call_t *c = bd_request_arena_new<bd_api_call_t>(r);
    c->r = r;
    c->q = q;
    c->model = q->model;
    c->ops = q->route->call;
    c->creq.body = nullptr;
    bd_request_add_cleanup(r, bd_api_call_free, c);
    c->ops->init(c);

    bd_convert_error_t err;
    int rc = c->ops->convert(c, &err);
    /* the Bedrock request holds what it needs: the client's body goes now, not when a
     * long stream ends */
    json_decref(r->json);
    r->json = nullptr;
    if (rc != 0) {
        bd_http_send_error(r, err.status, bd_err_parse(err.type), err.message.c_str());
        return BD_DONE;
    }
    bd_api_call_dropped_betas(r, c->creq.dropped_betas);
    if (!c->creq.url_sources.empty()) {
        if (bd_fetch_url_sources(r, &c->creq, bd_api_call_on_fetched, c, &err) != 0) {
            bd_api_send_error(r, &err);
            return BD_DONE;
        }
        return BD_AGAIN;
    }
    bd_api_call_send(c);
    return BD_AGAIN;
}
