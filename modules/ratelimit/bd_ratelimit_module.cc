/*
 * bd_ratelimit_module.cc: the ratelimit module: directives, the ACCESS and LOG
 * handlers, token admission, and the anthropic-ratelimit-* response headers.
 * The table lives in the process (created before the workers start, freed after
 * they join), so counters survive reloads. Handlers on worker threads.
 */
#include "modules/ratelimit/bd_ratelimit.h"

#include <stdio.h>
#include <time.h>

#include "core/bd_http.h"
#include "core/bd_process.h"
#include "core/bd_worker.h"
#include "modules/auth/bd_auth.h"
#include "modules/dynamodb/bd_ddb_module.h"
#include "modules/ratelimit/bd_ratelimit_bucket.h"
#include "modules/ratelimit/bd_ratelimit_table.h"

/* The table entry of the gateway-wide limits (key ids never look like this). */
#define BD_RATELIMIT_GLOBAL "*global*"

struct bd_ratelimit_conf_t {
    int64_t global_rpm;         /* 0 = none */
    int64_t global_concurrency; /* 0 = none */
};

/* Per request: what was taken, so that LOG gives back exactly that. */
struct bd_ratelimit_ctx_t {
    std::string key;             /* the key id */
    bd_ratelimit_limits_t limits; /* the key's limits at admission */
    bd_ratelimit_limits_t global;
    bool key_slot;    /* a key concurrency slot is held */
    bool global_slot; /* a global concurrency slot is held */
    int64_t tokens_charged;
    /* Fleet-wide (DynamoDB on and reachable at admission): the key's own limits,
     * admitted from this task's leases on top of the local buckets. */
    bd_ddb_leases_t *fleet;
    bd_ratelimit_limits_t fleet_limits;
    int64_t fleet_tokens_ms; /* when the token estimate was taken from the lease */
    bd_ddb_conc_t *fleet_conc; /* a fleet concurrency slot is held (given back in LOG) */
};

static const bd_conf_bounds_t bd_ratelimit_bounds = {0, BD_RATELIMIT_MAX_CAPACITY};

static const bd_directive_t bd_ratelimit_directives[] = {
    {"ratelimit_global_rpm", "main", BD_ARGS_1, bd_conf_set_int,
     offsetof(bd_ratelimit_conf_t, global_rpm), &bd_ratelimit_bounds},
    {"ratelimit_global_concurrency", "main", BD_ARGS_1, bd_conf_set_int,
     offsetof(bd_ratelimit_conf_t, global_concurrency), &bd_ratelimit_bounds},
    {nullptr, nullptr, 0, nullptr, 0, nullptr},
};

static void *
bd_ratelimit_create_conf(void)
{
    return new bd_ratelimit_conf_t{0, 0};
}

static void
bd_ratelimit_destroy_conf(void *conf)
{
    delete (bd_ratelimit_conf_t *)conf;
}

static int
bd_ratelimit_init_process(bd_process_t *p)
{
    p->module_ctx[bd_ratelimit_module.index] = bd_ratelimit_table_create();
    return BD_OK;
}

static void
bd_ratelimit_exit_process(bd_process_t *p)
{
    bd_ratelimit_table_t *t = (bd_ratelimit_table_t *)p->module_ctx[bd_ratelimit_module.index];
    if (t != nullptr) {
        bd_ratelimit_table_destroy(t);
        p->module_ctx[bd_ratelimit_module.index] = nullptr;
    }
}

void
bd_ratelimit_view(bd_process_t *p, const std::string &key_id, int64_t rpm, int64_t tpm,
                  int64_t concurrency, bd_ratelimit_view_t *out)
{
    bd_ratelimit_table_t *t = (bd_ratelimit_table_t *)p->module_ctx[bd_ratelimit_module.index];
    *out = {-1, -1, -1};
    if (t == nullptr) {
        return;
    }
    bd_ratelimit_limits_t lim = {rpm, tpm, concurrency};
    bd_ratelimit_state_t st;
    int64_t in_flight = 0;
    bd_ratelimit_table_peek(t, key_id, &lim, bd_now_us(), &st, &in_flight);
    out->requests_remaining = rpm > 0 ? st.requests_remaining : -1;
    out->tokens_remaining = tpm > 0 ? st.tokens_remaining : -1;
    out->in_flight = concurrency > 0 ? in_flight : -1;
}

static bd_ratelimit_table_t *
bd_ratelimit_table(const bd_request_t *r)
{
    return (bd_ratelimit_table_t *)r->w->process->module_ctx[bd_ratelimit_module.index];
}

/* RFC 3339 (UTC, seconds) of now + <in_us>. */
static void
bd_ratelimit_rfc3339(int64_t in_us, char *out, size_t len)
{
    time_t sec = (time_t)((bd_wall_ms() + (in_us + 999) / 1000 + 999) / 1000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void
bd_ratelimit_header_set(bd_request_t *r, const char *kind, int64_t limit, int64_t remaining,
                        int64_t full_in_us)
{
    char name[64], value[40];
    snprintf(name, sizeof(name), "anthropic-ratelimit-%s-limit", kind);
    snprintf(value, sizeof(value), "%lld", (long long)limit);
    bd_http_header_out(r, name, value);
    snprintf(name, sizeof(name), "anthropic-ratelimit-%s-remaining", kind);
    snprintf(value, sizeof(value), "%lld", (long long)remaining);
    bd_http_header_out(r, name, value);
    snprintf(name, sizeof(name), "anthropic-ratelimit-%s-reset", kind);
    bd_ratelimit_rfc3339(full_in_us, value, sizeof(value));
    bd_http_header_out(r, name, value);
}

/* The key's headers: what its buckets held when the request was admitted. */
static void
bd_ratelimit_headers(bd_request_t *r, const bd_ratelimit_limits_t *lim,
                     const bd_ratelimit_state_t *st)
{
    if (lim->rpm > 0) {
        bd_ratelimit_header_set(r, "requests", lim->rpm, st->requests_remaining,
                                st->requests_full_in_us);
    }
    if (lim->tpm > 0) {
        bd_ratelimit_header_set(r, "tokens", lim->tpm, st->tokens_remaining, st->tokens_full_in_us);
    }
}

/* Answers 429 for <st> and returns BD_DONE. */
static int
bd_ratelimit_refuse(bd_request_t *r, const bd_ratelimit_state_t *st, int64_t limit, bool global)
{
    char value[32], msg[160];
    long long secs = (long long)((st->wait_us + 999999) / 1000000);
    snprintf(value, sizeof(value), "%lld", secs < 1 ? 1 : secs);
    bd_http_header_out(r, "retry-after", value);
    const char *what = st->verdict == BD_RATELIMIT_TOKENS      ? "tokens per minute"
                       : st->verdict == BD_RATELIMIT_REQUESTS  ? "requests per minute"
                                                               : "concurrent requests";
    snprintf(msg, sizeof(msg), "This request would exceed the rate limit of %lld %s %s.",
             (long long)limit, what, global ? "for this gateway" : "for this API key");
    r->error_type = "rate_limited";
    r->reject_reason = st->verdict == BD_RATELIMIT_TOKENS
                           ? (global ? BD_REJECT_GLOBAL_TPM : BD_REJECT_TPM)
                       : st->verdict == BD_RATELIMIT_REQUESTS
                           ? (global ? BD_REJECT_GLOBAL_RPM : BD_REJECT_RPM)
                           : (global ? BD_REJECT_GLOBAL_CONCURRENCY : BD_REJECT_CONCURRENCY);
    bd_http_send_error(r, 429, BD_ERR_RATE_LIMIT, msg);
    return BD_DONE;
}

static int64_t
bd_ratelimit_limit_of(const bd_ratelimit_limits_t *lim, int verdict)
{
    return verdict == BD_RATELIMIT_TOKENS     ? lim->tpm
           : verdict == BD_RATELIMIT_REQUESTS ? lim->rpm
                                              : lim->concurrency;
}

static void
bd_ratelimit_fleet_release(bd_ratelimit_ctx_t *ctx)
{
    if (ctx->fleet_conc != nullptr) {
        bd_ddb_conc_give(ctx->fleet_conc, ctx->key);
        ctx->fleet_conc = nullptr;
    }
}

static void
bd_ratelimit_ctx_free(void *data)
{
    bd_ratelimit_ctx_t *ctx = (bd_ratelimit_ctx_t *)data;
    bd_ratelimit_fleet_release(ctx); /* LOG gave it back already, unless the request never got there */
    delete ctx;
}

static bd_ratelimit_ctx_t *
bd_ratelimit_ctx_create(bd_request_t *r, const bd_key_t *key, const bd_ratelimit_conf_t *c)
{
    bd_ratelimit_ctx_t *ctx = new bd_ratelimit_ctx_t();
    if (key != nullptr) {
        ctx->key = key->id;
        ctx->limits = {key->rpm, key->tpm, key->concurrency};
        bd_ddb_leases_t *fleet = bd_ddb_leases(r->w->process);
        if (fleet != nullptr && bd_ddb_leases_degraded(fleet)) {
            ctx->limits = {bd_ddb_leases_share(fleet, key->rpm), bd_ddb_leases_share(fleet, key->tpm),
                           bd_ddb_leases_share(fleet, key->concurrency)};
        } else if (fleet != nullptr) {
            /* Concurrency is held in the fleet's slots, not the local table. */
            ctx->limits.concurrency = 0;
            ctx->fleet = fleet;
            ctx->fleet_limits = {key->rpm, key->tpm, key->concurrency};
        }
    }
    ctx->global = {c->global_rpm, 0, c->global_concurrency};
    r->ctx[bd_ratelimit_module.index] = ctx;
    bd_request_add_cleanup(r, bd_ratelimit_ctx_free, ctx);
    return ctx;
}

/* 429 when <key> has used its monthly budget, as the DynamoDB sync last counted
 * it across the fleet. Returns BD_DONE then, else BD_OK. */
static int
bd_ratelimit_budget(bd_request_t *r, const bd_key_t *key)
{
    char msg[200];
    if (key->budget_tokens > 0 && key->spent_tokens >= key->budget_tokens) {
        snprintf(msg, sizeof(msg),
                 "This API key has used its monthly budget of %lld tokens (%lld used this month).",
                 (long long)key->budget_tokens, (long long)key->spent_tokens);
    } else if (key->budget_usd_micros > 0 && key->spent_usd_micros >= key->budget_usd_micros) {
        snprintf(msg, sizeof(msg),
                 "This API key has used its monthly budget of $%g ($%g used this month).",
                 (double)key->budget_usd_micros / 1e6, (double)key->spent_usd_micros / 1e6);
    } else {
        return BD_OK;
    }
    r->error_type = "rate_limited";
    r->reject_reason = BD_REJECT_BUDGET;
    bd_http_send_error(r, 429, BD_ERR_QUOTA, msg);
    return BD_DONE;
}

/* The key's fleet-wide concurrency slot and request lease. BD_OK, or BD_DECLINED
 * with <st> saying which refused. */
static int
bd_ratelimit_fleet_admit(bd_request_t *r, bd_ratelimit_ctx_t *ctx, bd_ratelimit_state_t *st)
{
    int64_t wall = bd_wall_ms();
    if (ctx->fleet_limits.concurrency > 0) {
        bd_ddb_conc_t *conc = bd_ddb_conc(r->w->process);
        if (!bd_ddb_conc_take(conc, ctx->key, ctx->fleet_limits.concurrency, wall)) {
            st->verdict = BD_RATELIMIT_CONCURRENCY;
            st->wait_us = 1000000;
            return BD_DECLINED;
        }
        ctx->fleet_conc = conc;
    }
    if (ctx->fleet_limits.rpm > 0 &&
        bd_ddb_leases_take(ctx->fleet, ctx->key, BD_DDB_LEASE_RPM, ctx->fleet_limits.rpm, 1, wall,
                           &st->wait_us) != 0) {
        bd_ratelimit_fleet_release(ctx);
        st->verdict = BD_RATELIMIT_REQUESTS;
        st->wait_us *= 1000;
        return BD_DECLINED;
    }
    return BD_OK;
}

static int
bd_ratelimit_access(bd_request_t *r)
{
    const bd_ratelimit_conf_t *c =
        (const bd_ratelimit_conf_t *)bd_snapshot_conf(r->snap, &bd_ratelimit_module);
    const bd_key_t *key = bd_auth_key(r);
    if (key != nullptr && (key->budget_tokens > 0 || key->budget_usd_micros > 0) &&
        bd_ratelimit_budget(r, key) == BD_DONE) {
        return BD_DONE;
    }
    bool keyed = key != nullptr && (key->rpm > 0 || key->tpm > 0 || key->concurrency > 0);
    if (!keyed && c->global_rpm == 0 && c->global_concurrency == 0) {
        return BD_DECLINED;
    }
    bd_ratelimit_ctx_t *ctx = bd_ratelimit_ctx_create(r, keyed ? key : nullptr, c);
    bd_ratelimit_table_t *t = bd_ratelimit_table(r);
    int64_t now = bd_now_us();
    bd_ratelimit_state_t st{};
    if (keyed) {
        bd_ratelimit_table_admit(t, ctx->key, &ctx->limits, now, &st);
        bd_ratelimit_headers(r, &ctx->limits, &st);
        if (st.verdict != BD_RATELIMIT_ADMITTED) {
            return bd_ratelimit_refuse(r, &st, bd_ratelimit_limit_of(&ctx->limits, st.verdict),
                                       false);
        }
        ctx->key_slot = ctx->limits.concurrency > 0;
        if (ctx->fleet != nullptr && bd_ratelimit_fleet_admit(r, ctx, &st) != BD_OK) {
            bd_ratelimit_table_unadmit(t, ctx->key, &ctx->limits, now);
            ctx->key_slot = false;
            return bd_ratelimit_refuse(r, &st, bd_ratelimit_limit_of(&ctx->fleet_limits, st.verdict),
                                       false);
        }
    }
    if (ctx->global.rpm > 0 || ctx->global.concurrency > 0) {
        bd_ratelimit_state_t gst{};
        bd_ratelimit_table_admit(t, BD_RATELIMIT_GLOBAL, &ctx->global, now, &gst);
        if (gst.verdict != BD_RATELIMIT_ADMITTED) {
            if (keyed) {
                bd_ratelimit_table_unadmit(t, ctx->key, &ctx->limits, now);
                ctx->key_slot = false;
                if (ctx->fleet != nullptr && ctx->fleet_limits.rpm > 0) {
                    bd_ddb_leases_give(ctx->fleet, ctx->key, BD_DDB_LEASE_RPM, 1, bd_wall_ms());
                }
                bd_ratelimit_fleet_release(ctx);
            }
            return bd_ratelimit_refuse(r, &gst, bd_ratelimit_limit_of(&ctx->global, gst.verdict),
                                       true);
        }
        ctx->global_slot = ctx->global.concurrency > 0;
    }
    return BD_OK;
}

int
bd_ratelimit_admit_tokens(bd_request_t *r, int64_t estimate)
{
    bd_ratelimit_ctx_t *ctx = (bd_ratelimit_ctx_t *)r->ctx[bd_ratelimit_module.index];
    if (ctx == nullptr || ctx->limits.tpm <= 0 || ctx->tokens_charged != 0) {
        return BD_OK;
    }
    if (estimate < 1) {
        estimate = 1;
    }
    bd_ratelimit_state_t st;
    bd_ratelimit_table_take_tokens(bd_ratelimit_table(r), ctx->key, &ctx->limits, estimate,
                                   bd_now_us(), &st);
    if (st.verdict != BD_RATELIMIT_ADMITTED) {
        return bd_ratelimit_refuse(r, &st, ctx->limits.tpm, false);
    }
    if (ctx->fleet != nullptr && ctx->fleet_limits.tpm > 0) {
        int64_t wall = bd_wall_ms();
        if (bd_ddb_leases_take(ctx->fleet, ctx->key, BD_DDB_LEASE_TPM, ctx->fleet_limits.tpm,
                               estimate, wall, &st.wait_us) != 0) {
            bd_ratelimit_table_settle(bd_ratelimit_table(r), ctx->key, &ctx->limits, estimate, 0,
                                      false, bd_now_us());
            st.verdict = BD_RATELIMIT_TOKENS;
            st.wait_us *= 1000;
            return bd_ratelimit_refuse(r, &st, ctx->fleet_limits.tpm, false);
        }
        ctx->fleet_tokens_ms = wall;
    }
    ctx->tokens_charged = estimate;
    return BD_OK;
}

/* Tokens that count against tokens per minute: cache reads do not, as on the
 * Anthropic API. */
static int64_t
bd_ratelimit_used_tokens(const bd_request_t *r)
{
    return r->input_tokens + r->cache_write_tokens + r->output_tokens;
}

static int
bd_ratelimit_log(bd_request_t *r)
{
    bd_ratelimit_ctx_t *ctx = (bd_ratelimit_ctx_t *)r->ctx[bd_ratelimit_module.index];
    if (ctx == nullptr) {
        return BD_OK;
    }
    bd_ratelimit_table_t *t = bd_ratelimit_table(r);
    int64_t now = bd_now_us();
    if (!ctx->key.empty() && (ctx->key_slot || ctx->tokens_charged != 0)) {
        bd_ratelimit_table_settle(t, ctx->key, &ctx->limits, ctx->tokens_charged,
                                  ctx->tokens_charged ? bd_ratelimit_used_tokens(r) : 0,
                                  ctx->key_slot, now);
    }
    if (ctx->fleet_tokens_ms != 0 && ctx->tokens_charged != 0) {
        bd_ddb_leases_give(ctx->fleet, ctx->key, BD_DDB_LEASE_TPM,
                           ctx->tokens_charged - bd_ratelimit_used_tokens(r), ctx->fleet_tokens_ms);
        ctx->fleet_tokens_ms = 0;
    }
    bd_ratelimit_fleet_release(ctx);
    if (ctx->global_slot) {
        bd_ratelimit_table_settle(t, BD_RATELIMIT_GLOBAL, &ctx->global, 0, 0, true, now);
    }
    ctx->key_slot = false;
    ctx->global_slot = false;
    return BD_OK;
}

bd_module_t bd_ratelimit_module = {
    .name = "ratelimit",
    .index = 0,
    .directives = bd_ratelimit_directives,
    .create_conf = bd_ratelimit_create_conf,
    .init_conf = nullptr,
    .postconfig = nullptr,
    .destroy_conf = bd_ratelimit_destroy_conf,
    .init_process = bd_ratelimit_init_process,
    .exit_process = bd_ratelimit_exit_process,
    .init_worker = nullptr,
    .exit_worker = nullptr,
    .access = bd_ratelimit_access,
    .log = bd_ratelimit_log,
    .ready = nullptr,
};
