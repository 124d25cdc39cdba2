/*
 * bd_request.cc: running a request through its phases, and finalizing it: the
 * LOG phase, the access log line, cleanups, and the release of the snapshot.
 * Worker thread only.
 */
#include "core/bd_request.h"

#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "core/bd_http.h"
#include "core/bd_json.h"
#include "core/bd_log.h"
#include "core/bd_worker.h"

static int
bd_request_module_count(void)
{
    int n = 0;
    while (bd_modules[n] != nullptr) {
        n++;
    }
    return n;
}

/* A handler returned something other than "go on" or "suspended". */
static void
bd_request_conclude(bd_request_t *r, int rc)
{
    if (rc == BD_DONE || rc == BD_AGAIN) {
        return;
    }
    if (rc >= 400 && rc <= 599) {
        bd_http_send_error(r, rc, bd_err_of_status(rc), "request failed");
        return;
    }
    bd_log_error(BD_LOG_ERR, r->id, "handler returned %d without a response", rc);
    bd_http_send_error(r, 500, BD_ERR_API, "internal error");
}

/* The MODEL phase: every module's model handler, in module order, once. Returns
 * BD_OK, or what ended the request. */
static int
bd_request_model(bd_request_t *r)
{
    r->modeled = true;
    for (int i = 0; bd_modules[i] != nullptr; i++) {
        if (bd_modules[i]->model == nullptr) {
            continue;
        }
        int rc = bd_modules[i]->model(r);
        if (rc != BD_OK && rc != BD_DECLINED) {
            return rc == BD_AGAIN ? BD_ERROR : rc; /* it may not suspend */
        }
    }
    return BD_OK;
}

void
bd_request_run(bd_request_t *r)
{
    int nmodules = bd_request_module_count();
    if (!r->route->is_public && !r->modeled) {
        int rc = bd_request_model(r);
        if (rc != BD_OK) {
            bd_request_conclude(r, rc);
            return;
        }
    }
    if (!r->route->is_public) {
        for (; r->phase < nmodules; r->phase++) {
            bd_module_t *m = bd_modules[r->phase];
            if (m->access == nullptr) {
                continue;
            }
            int rc = m->access(r);
            if (rc == BD_OK || rc == BD_DECLINED) {
                continue;
            }
            if (rc == BD_AGAIN) {
                r->phase++; /* resume at the next handler */
            }
            bd_request_conclude(r, rc);
            return;
        }
    }
    r->phase = nmodules;
    int rc = r->route->handler(r);
    if (rc == BD_OK) {
        rc = BD_ERROR; /* a content handler must answer or suspend */
    }
    bd_request_conclude(r, rc);
}

void
bd_request_resume(bd_request_t *r, int rc)
{
    if (rc == BD_OK || rc == BD_DECLINED) {
        if (r->phase >= bd_request_module_count()) {
            bd_request_conclude(r, BD_ERROR);
            return;
        }
        bd_request_run(r);
        return;
    }
    bd_request_conclude(r, rc);
}

void
bd_request_add_cleanup(bd_request_t *r, bd_request_cleanup_pt fn, void *data)
{
    bd_request_cleanup_t *c = (bd_request_cleanup_t *)bd_arena_alloc(&r->arena, sizeof(*c));
    *c = {fn, data, r->cleanups};
    r->cleanups = c;
}

void
bd_request_capture(bd_request_t *r, const char *data, size_t len)
{
    bd_request_capture_t *c = r->capture;
    if (c == nullptr || c->overflow) {
        return;
    }
    if (c->bytes.size() + len > c->max) {
        c->overflow = true;
        std::string().swap(c->bytes);
        return;
    }
    c->bytes.append(data, len);
}

const char *
bd_request_header(const bd_request_t *r, const char *name)
{
    if (r->req == nullptr) {
        return nullptr;
    }
    return evhttp_find_header(evhttp_request_get_input_headers(r->req), name);
}

static const char *
bd_request_method_name(unsigned method)
{
    switch (method) {
    case BD_METHOD_GET:
        return "GET";
    case BD_METHOD_POST:
        return "POST";
    case BD_METHOD_HEAD:
        return "HEAD";
    case BD_METHOD_DELETE:
        return "DELETE";
    default:
        return "OTHER";
    }
}

static void
bd_request_append_field(std::string *line, const char *name, const std::string &value)
{
    if (value.empty()) {
        return;
    }
    line->append(",\"");
    line->append(name);
    line->append("\":");
    bd_json_append_string(line, value);
}

static void
bd_request_access_log(bd_request_t *r)
{
    char buf[256];
    int64_t ms = bd_wall_ms();
    time_t sec = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    std::string line;
    line.reserve(512);
    snprintf(buf, sizeof(buf), "{\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\",\"request_id\":",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)(ms % 1000));
    line.append(buf);
    bd_json_append_string(&line, r->id, strlen(r->id));
    line.append(",\"client\":");
    bd_json_append_string(&line, r->client_addr);
    snprintf(buf, sizeof(buf), ",\"method\":\"%s\",\"path\":", bd_request_method_name(r->method));
    line.append(buf);
    bd_json_append_string(&line, r->path);
    snprintf(buf, sizeof(buf), ",\"status\":%d,\"bytes\":%llu,\"duration_ms\":%.3f", r->status,
             (unsigned long long)r->bytes_sent, (double)(r->end_us - r->start_us) / 1000.0);
    line.append(buf);
    bd_request_append_field(&line, "key_id", r->key_id);
    bd_request_append_field(&line, "model", r->model);
    bd_request_append_field(&line, "model_resolved", r->model_resolved);
    bd_request_append_field(&line, "served_by", r->upstream_target);
    bd_request_append_field(&line, "upstream_request_id", r->upstream_request_id);
    bd_request_append_field(&line, "error", r->error_type);
    if (r->input_tokens || r->output_tokens) {
        snprintf(buf, sizeof(buf),
                 ",\"input_tokens\":%lld,\"output_tokens\":%lld,\"cache_read_tokens\":%lld,"
                 "\"cache_write_tokens\":%lld",
                 (long long)r->input_tokens, (long long)r->output_tokens,
                 (long long)r->cache_read_tokens, (long long)r->cache_write_tokens);
        line.append(buf);
    }
    if (r->streamed) {
        snprintf(buf, sizeof(buf), ",\"stream\":true,\"ttft_ms\":%.3f",
                 r->first_byte_us ? (double)(r->first_byte_us - r->start_us) / 1000.0 : 0.0);
        line.append(buf);
    }
    if (r->client_gone) {
        line.append(",\"client_gone\":true");
    }
    line.append("}");
    bd_log_access(line.data(), line.size());
}

void
bd_request_finalize(bd_request_t *r)
{
    r->end_us = bd_now_us();
    if (r->close_ev != nullptr) {
        event_free(r->close_ev);
        r->close_ev = nullptr;
    }
    for (int i = 0; bd_modules[i] != nullptr; i++) {
        if (bd_modules[i]->log != nullptr) {
            bd_modules[i]->log(r);
        }
    }
    if (bd_log_access_enabled()) {
        bd_request_access_log(r);
    }
    for (bd_request_cleanup_t *c = r->cleanups; c != nullptr; c = c->next) {
        c->fn(c->data);
    }
    json_decref(r->json);
    bd_arena_reset(&r->arena);
    bd_worker_t *w = r->w;
    bool streamed = r->streamed;
    bd_snapshot_unref(r->snap);
    delete r;
    w->active.fetch_sub(1, std::memory_order_release);
    if (streamed) {
        w->streams.fetch_sub(1, std::memory_order_relaxed);
    }
    w->served.fetch_add(1, std::memory_order_relaxed);
}
