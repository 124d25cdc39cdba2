/*
 * bd_admin_live.cc: what is happening now: the totals the status page shows,
 * read from the metrics module's counters (the ones /metrics renders, never a
 * second set), the sampler that keeps the last hour of them, live state (open
 * streams, each key's requests in flight and what its limits have left), and
 * the reload trigger.
 *
 *   GET /v1/stats    GET /v1/live    POST /v1/reload
 */
#include "modules/admin/bd_admin_int.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/http.h>

#include "core/bd_core.h"
#include "modules/metrics/bd_metrics.h"
#include "modules/ratelimit/bd_ratelimit.h"
#include "modules/store/bd_keys.h"
#include "modules/store/bd_store_module.h"

static uint64_t
bd_admin_cell(const bd_metrics_sample_t &s)
{
    return s.cells.empty() ? 0 : s.cells[0];
}

static bool
bd_admin_is_error(const std::string &status)
{
    return atoi(status.c_str()) >= 400;
}

/* Adds a token count of <type> to the row's input (2) or output (3) column. */
static void
bd_admin_add_tokens(std::vector<uint64_t> *row, const std::string &type, uint64_t n)
{
    row->resize(4);
    if (type == "input") {
        (*row)[2] += n;
    } else if (type == "output") {
        (*row)[3] += n;
    }
}

/* The upper bound (s) of the bucket holding quantile <q> of <buckets>; the
 * highest bound for what lies beyond it. */
static double
bd_admin_quantile(const std::vector<uint64_t> &buckets, const bd_metrics_family_t *f, double q)
{
    uint64_t total = 0, seen = 0;
    for (int i = 0; i <= f->nbounds; i++) {
        total += buckets[i];
    }
    if (total == 0) {
        return 0;
    }
    for (int i = 0; i <= f->nbounds; i++) {
        seen += buckets[i];
        if ((double)seen >= q * (double)total) {
            return (double)f->bounds_us[i < f->nbounds ? i : f->nbounds - 1] / 1e6;
        }
    }
    return (double)f->bounds_us[f->nbounds - 1] / 1e6;
}

int
bd_admin_totals(bd_process_t *p, bd_admin_totals_t *t)
{
    bd_metrics_merged_t merged;
    bd_metrics_live_t live;
    *t = bd_admin_totals_t();
    if (bd_metrics_read(p, &merged, &live) != 0) {
        return -1;
    }
    t->active = live.active;
    t->streams = live.streams;
    const bd_metrics_family_t *dur = &bd_metrics_families[BD_MF_REQUEST_DURATION];
    std::vector<uint64_t> buckets((size_t)dur->nbounds + 1, 0);
    for (const auto &it : merged) {
        const bd_metrics_sample_t &s = it.second;
        uint64_t n = bd_admin_cell(s);
        if (s.family == BD_MF_REQUESTS) {
            bool err = bd_admin_is_error(s.labels[1]);
            t->requests += n;
            t->errors += err ? n : 0;
            std::vector<uint64_t> &row = t->by_model[s.labels[2]];
            row.resize(4);
            row[0] += n;
            row[1] += err ? n : 0;
        } else if (s.family == BD_MF_TOKENS) {
            t->tokens += n;
            bd_admin_add_tokens(&t->by_model[s.labels[0]], s.labels[1], n);
        } else if (s.family == BD_MF_KEY_REQUESTS) {
            std::vector<uint64_t> &row = t->by_key[s.labels[0]];
            row.resize(4);
            row[0] += n;
            row[1] += bd_admin_is_error(s.labels[1]) ? n : 0;
        } else if (s.family == BD_MF_KEY_TOKENS) {
            bd_admin_add_tokens(&t->by_key[s.labels[0]], s.labels[1], n);
        } else if (s.family == BD_MF_REQUEST_DURATION) {
            for (int i = 0; i <= dur->nbounds && i < (int)s.cells.size(); i++) {
                buckets[(size_t)i] += s.cells[(size_t)i];
            }
        }
    }
    t->p50_s = bd_admin_quantile(buckets, dur, 0.5);
    t->p90_s = bd_admin_quantile(buckets, dur, 0.9);
    t->p99_s = bd_admin_quantile(buckets, dur, 0.99);
    return 0;
}

void
bd_admin_sample(bd_admin_t *a)
{
    bd_admin_totals_t t;
    if (bd_admin_totals(a->p, &t) != 0) {
        return;
    }
    if (a->ring.size() >= BD_ADMIN_SAMPLES) {
        a->ring.erase(a->ring.begin());
    }
    a->ring.push_back({bd_wall_ms(), t.requests, t.errors, t.tokens, t.streams});
}

std::map<std::string, std::string>
bd_admin_key_names(bd_process_t *)
{
    std::map<std::string, std::string> names;
    bd_keys_t *kt = bd_keys_acquire();
    if (kt != nullptr) {
        for (const auto &it : kt->by_hash) {
            names[it.second.id] = it.second.name;
        }
    }
    bd_keys_release(kt);
    return names;
}

/* Rows of the per-model or per-key table; <names> adds each key's name. */
static json_t *
bd_admin_rows_json(const std::map<std::string, std::vector<uint64_t>> &rows, const char *kind,
                   const std::map<std::string, std::string> *names)
{
    json_t *arr = json_array();
    for (const auto &r : rows) {
        std::vector<uint64_t> v = r.second;
        v.resize(4);
        json_t *row = json_pack("{s:s, s:I, s:I, s:I, s:I}", kind, r.first.c_str(), "requests",
                                (json_int_t)v[0], "errors", (json_int_t)v[1], "input_tokens",
                                (json_int_t)v[2], "output_tokens", (json_int_t)v[3]);
        if (names != nullptr) {
            auto it = names->find(r.first);
            json_object_set_new(row, "name", json_string(it != names->end() ? it->second.c_str() : ""));
        }
        json_array_append_new(arr, row);
    }
    return arr;
}

void
bd_admin_stats(bd_admin_req_t *ar)
{
    bd_admin_totals_t t;
    if (bd_admin_totals(ar->a->p, &t) != 0) {
        bd_admin_error(ar, 503, nullptr, "the metrics module has not started");
        return;
    }
    std::map<std::string, std::string> names = bd_admin_key_names(ar->a->p);
    json_t *history = json_array();
    for (const bd_admin_sample_t &s : ar->a->ring) {
        json_array_append_new(history, json_pack("[I, I, I, I, I]", (json_int_t)s.time_ms,
                                                 (json_int_t)s.requests, (json_int_t)s.errors,
                                                 (json_int_t)s.tokens, (json_int_t)s.streams));
    }
    json_t *body = json_pack(
        "{s:I, s:{s:I, s:I, s:I, s:I, s:I}, s:{s:f, s:f, s:f}, s:o, s:o, s:i, s:o}", "time",
        (json_int_t)bd_wall_ms(), "totals", "requests", (json_int_t)t.requests, "errors",
        (json_int_t)t.errors, "tokens", (json_int_t)t.tokens, "active", (json_int_t)t.active,
        "streams", (json_int_t)t.streams, "latency_seconds", "p50", t.p50_s, "p90", t.p90_s,
        "p99", t.p99_s, "models", bd_admin_rows_json(t.by_model, "model", nullptr), "keys",
        bd_admin_rows_json(t.by_key, "key", &names), "sample_seconds", BD_ADMIN_SAMPLE_MS / 1000,
        "history", history);
    bd_admin_reply_json(ar, 200, body);
}

void
bd_admin_live(bd_admin_req_t *ar)
{
    bd_metrics_merged_t merged;
    bd_metrics_live_t live = {0, 0, 0, 0, 0};
    bd_metrics_read(ar->a->p, &merged, &live);
    json_t *keys = json_array();
    bd_keys_t *kt = bd_keys_acquire();
    if (kt != nullptr) {
        std::map<std::string, const bd_key_t *> by_id;
        for (const auto &it : kt->by_hash) {
            by_id[it.second.id] = &it.second;
        }
        for (const auto &it : by_id) {
            const bd_key_t *k = it.second;
            bd_ratelimit_view_t v;
            bd_ratelimit_view(ar->a->p, k->id, k->rpm, k->tpm, k->concurrency, &v);
            auto num = [](int64_t n) { return n < 0 ? json_null() : json_integer((json_int_t)n); };
            json_array_append_new(
                keys, json_pack("{s:s, s:s, s:b, s:o, s:o, s:o}", "id", k->id.c_str(), "name",
                                k->name.c_str(), "usable", bd_key_usable(k, bd_wall_ms()),
                                "in_flight", num(v.in_flight), "requests_remaining",
                                num(v.requests_remaining), "tokens_remaining",
                                num(v.tokens_remaining)));
        }
    }
    bd_keys_release(kt);
    bd_admin_reply_json(ar, 200,
                        json_pack("{s:I, s:I, s:I, s:I, s:I, s:o}", "reading",
                                  (json_int_t)live.reading, "active", (json_int_t)live.active,
                                  "flushing", (json_int_t)live.flushing, "streams",
                                  (json_int_t)live.streams, "workers", (json_int_t)live.workers,
                                  "keys", keys));
}

void
bd_admin_reload(bd_admin_req_t *ar)
{
    if (ar->method != EVHTTP_REQ_POST) {
        bd_admin_error(ar, 405, nullptr, "/v1/reload takes POST");
        return;
    }
    /* the main thread reloads on SIGHUP, as for `systemctl reload` */
    unsigned long generation = ar->snap->generation;
    if (kill(getpid(), SIGHUP) != 0) {
        bd_admin_error(ar, 500, nullptr, "cannot signal the process");
        return;
    }
    bd_admin_audit(ar, "reload", "", "", "", 202);
    bd_admin_reply_json(ar, 202, json_pack("{s:s, s:I}", "reload", "requested",
                                           "running_generation", (json_int_t)generation));
}
