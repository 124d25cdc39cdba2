/*
 * bd_bedrock_relay.cc: the mechanism that carries a Bedrock call to the client, shared by
 * the Anthropic and OpenAI handlers: SSE headers on the first frame, a ping timer re-armed
 * by every write, pause on the client's high-water mark and resume on drain, cancel on
 * abort. Worker thread. Invariant: after on_complete or an abort, the call is null and the
 * relay touches neither the call nor the client again.
 *
 * Usage cannot be dodged by leaving: Bedrock reports a stream's tokens at its end (the
 * Converse metadata event, InvokeModel's message_delta), so a client that goes away just
 * before it would leave no count. The call is canceled at once (Bedrock stops generating,
 * and billing), and the usage record gets an estimate where Bedrock's counts are missing
 * or partial: at least one output token per event received (each carries one or more),
 * and one input token per four bytes of the request body when no input count arrived.
 */
#include "modules/bedrock/bd_bedrock_relay.h"

#include <event2/event.h>

#include "core/bd_http.h"
#include "core/bd_log.h"
#include "core/bd_worker.h"
#include "modules/bedrock/bd_bedrock_conf.h"

struct bd_bedrock_relay_t {
    bd_request_t *r;
    const bd_bedrock_relay_ops_t *ops; /* static, the API's */
    void *data;                        /* the API's request context, borrowed */
    bd_bedrock_call_t *call;           /* null once complete or canceled */
    bool started;                      /* SSE headers sent */
    struct event *ping_ev;             /* owned; null until the stream starts */
    int64_t ping_interval_ms;          /* 0 = no pings */
    bd_bedrock_worker_t *bw;           /* whose list holds it; null once unlinked */
    bd_bedrock_relay_t *prev, *next;
    int64_t events;                    /* event frames received */
};

static void
bd_bedrock_relay_unlink(bd_bedrock_relay_t *relay)
{
    if (relay->bw == nullptr) {
        return;
    }
    if (relay->prev != nullptr) {
        relay->prev->next = relay->next;
    } else {
        relay->bw->relays = relay->next;
    }
    if (relay->next != nullptr) {
        relay->next->prev = relay->prev;
    }
    relay->bw = nullptr;
    relay->prev = relay->next = nullptr;
}

static void
bd_bedrock_relay_free(void *data)
{
    bd_bedrock_relay_t *relay = (bd_bedrock_relay_t *)data;
    bd_bedrock_relay_unlink(relay);
    if (relay->ping_ev != nullptr) {
        event_free(relay->ping_ev);
    }
    delete relay;
}

static void
bd_bedrock_relay_arm_ping(bd_bedrock_relay_t *relay)
{
    if (relay->ping_ev == nullptr || relay->ping_interval_ms <= 0) {
        return;
    }
    struct timeval tv = {(time_t)(relay->ping_interval_ms / 1000),
                         (suseconds_t)(relay->ping_interval_ms % 1000) * 1000};
    evtimer_add(relay->ping_ev, &tv);
}

/* Bedrock has been silent for a ping interval: keep idle timers of proxies between us
 * and the client from cutting the stream. */
static void
bd_bedrock_relay_on_ping(evutil_socket_t, short, void *arg) noexcept
{
    bd_bedrock_relay_t *relay = (bd_bedrock_relay_t *)arg;
    std::string out;
    relay->ops->ping(relay->data, &out);
    bd_http_stream_write(relay->r, out.data(), out.size());
    bd_bedrock_relay_arm_ping(relay);
}

/* The client went away: stop Bedrock now; the API keeps what was consumed for the usage
 * record, completed by the estimate where Bedrock's counts did not arrive. */
static void
bd_bedrock_relay_on_abort(bd_request_t *r)
{
    bd_bedrock_relay_t *relay = (bd_bedrock_relay_t *)r->ctx[bd_bedrock_module.index];
    if (relay->call != nullptr) {
        bd_bedrock_cancel(relay->call);
        relay->call = nullptr;
    }
    if (relay->started && relay->ops->abort != nullptr) {
        relay->ops->abort(relay->data);
        if (r->output_tokens < relay->events) {
            r->output_tokens = relay->events;
        }
        if (r->input_tokens == 0) {
            r->input_tokens = (int64_t)(r->body_len / 4);
        }
    }
}

static void
bd_bedrock_relay_on_drain(bd_request_t *r)
{
    bd_bedrock_relay_t *relay = (bd_bedrock_relay_t *)r->ctx[bd_bedrock_module.index];
    if (relay->call != nullptr) {
        bd_bedrock_resume(relay->call);
    }
}

static void
bd_bedrock_relay_start_stream(bd_bedrock_relay_t *relay)
{
    relay->started = true;
    bd_http_stream_start(relay->r, 200, "text/event-stream; charset=utf-8");
    relay->ping_ev = evtimer_new(relay->r->w->base, bd_bedrock_relay_on_ping, relay);
    bd_bedrock_relay_arm_ping(relay);
}

/* One decoded frame: the API renders it; a write past the high-water mark pauses the
 * transfer until the client drains. */
static int
bd_bedrock_relay_on_event(bd_bedrock_call_t *c, const bd_es_message_t *m)
{
    bd_bedrock_relay_t *relay = (bd_bedrock_relay_t *)bd_bedrock_data(c);
    bd_request_t *r = relay->r;
    if (!relay->started) {
        bd_bedrock_relay_start_stream(relay);
    }
    const std::string *mtype = bd_es_message_header(m, ":message-type");
    const std::string *etype = bd_es_message_header(m, ":event-type");
    const std::string *xtype = bd_es_message_header(m, ":exception-type");
    const char *payload = (const char *)m->payload;
    /* The event's SSE text, in a buffer the worker reuses for every event of every
     * stream (nothing here calls back into another relay): no allocation per event,
     * and nothing held per open stream. */
    static thread_local std::string out;
    out.clear();
    bd_convert_error_t err;
    if (mtype != nullptr && *mtype != "event") {
        const char *name = xtype ? xtype->c_str() : "InternalServerException";
        json_t *tree = json_loadb(payload, m->payload_len, 0, nullptr);
        relay->ops->exception(relay->data, name, tree, &out);
        json_decref(tree);
        r->error_type = name;
    } else if (etype != nullptr &&
               relay->ops->event(relay->data, etype->c_str(), payload, m->payload_len, &out,
                                 &err) != 0) {
        /* Skipping it would leave the client a stream that looks whole: the call
         * ends as a bad stream, whose end is an error event. */
        bd_log_error(BD_LOG_ERR, r->id, "bedrock stream event %s: %s", etype->c_str(),
                     err.message.c_str());
        if (!out.empty()) {
            bd_http_stream_write(r, out.data(), out.size());
        }
        return -1;
    }
    relay->events++;
    size_t queued = bd_http_stream_write(r, out.data(), out.size());
    bd_bedrock_relay_arm_ping(relay);
    return queued > r->out_high_water ? 1 : 0;
}

/* Once the stream started, every ending (a failure too) is the API's last bytes on it;
 * before, the API answers as it likes. */
static void
bd_bedrock_relay_on_complete(bd_bedrock_call_t *c, const bd_bedrock_result_t *res)
{
    bd_bedrock_relay_t *relay = (bd_bedrock_relay_t *)bd_bedrock_data(c);
    relay->call = nullptr;
    if (!relay->started) {
        relay->ops->answer(relay->data, res);
        return;
    }
    std::string out;
    relay->ops->stream_end(relay->data, res, &out);
    bd_http_stream_write(relay->r, out.data(), out.size());
    bd_http_stream_end(relay->r);
}

static const bd_bedrock_handlers_t bd_bedrock_relay_handlers = {
    bd_bedrock_relay_on_event,
    bd_bedrock_relay_on_complete,
};

void
bd_bedrock_relay_start(bd_request_t *r, int op, const std::string &model_id,
                       std::string *body, const bd_json_slices_t *slices, int64_t ping_interval_ms,
                       const bd_bedrock_relay_ops_t *ops, void *data)
{
    bd_bedrock_relay_t *relay = new bd_bedrock_relay_t();
    relay->r = r;
    relay->ops = ops;
    relay->data = data;
    relay->call = nullptr;
    relay->started = false;
    relay->ping_ev = nullptr;
    relay->ping_interval_ms = ping_interval_ms;
    relay->bw = bd_bedrock_worker(r->w);
    relay->prev = nullptr;
    relay->next = relay->bw->relays;
    if (relay->next != nullptr) {
        relay->next->prev = relay;
    }
    relay->bw->relays = relay;
    relay->events = 0;
    r->ctx[bd_bedrock_module.index] = relay;
    bd_request_add_cleanup(r, bd_bedrock_relay_free, relay);
    r->on_abort = bd_bedrock_relay_on_abort;
    r->on_drain = bd_bedrock_relay_on_drain;
    relay->call = bd_bedrock_call(r, op, model_id, body, slices, &bd_bedrock_relay_handlers, relay);
}

void
bd_bedrock_relay_cut_all(bd_worker_t *, void *arg)
{
    bd_bedrock_worker_t *bw = (bd_bedrock_worker_t *)arg;
    while (bw->relays != nullptr) {
        bd_bedrock_relay_t *relay = bw->relays;
        bd_bedrock_relay_unlink(relay);
        if (relay->call == nullptr) {
            continue; /* already ending */
        }
        bd_bedrock_cancel(relay->call);
        relay->call = nullptr;
        bd_bedrock_result_t res;
        res.kind = BD_BEDROCK_TRANSPORT;
        res.http_status = 0;
        res.error_name = "ServiceUnavailableException";
        res.message = "the gateway is shutting down: the request was cut at shutdown_timeout";
        res.body = nullptr;
        res.attempts = 0;
        res.timeout = false;
        bd_request_t *r = relay->r;
        if (!relay->started) {
            relay->ops->answer(relay->data, &res);
            continue;
        }
        std::string out;
        relay->ops->stream_end(relay->data, &res, &out);
        bd_http_stream_write(r, out.data(), out.size());
        r->status = 503; /* what the usage record and the access log keep */
        bd_http_stream_end(r);
    }
}

void
bd_bedrock_relay_take_usage(bd_request_t *r, const bd_convert_usage_t *u)
{
    r->input_tokens = u->input_tokens;
    r->output_tokens = u->output_tokens;
    r->cache_read_tokens = u->cache_read_tokens;
    r->cache_write_tokens = u->cache_write_tokens;
}
