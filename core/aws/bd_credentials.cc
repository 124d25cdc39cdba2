/*
 * bd_credentials.cc: the credential provider: its refresh thread (the only thread that
 * fetches), the published immutable set, and status for /ready and metrics.
 * The set is published (core/bd_published.h): _acquire takes no lock. p->lock guards
 * the schedule and counters, and is never held during a fetch. Sets are freed by
 * their last release.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "core/aws/bd_credentials_int.h"
#include "core/bd_core.h"
#include "core/bd_thread.h"

static const int64_t BD_CREDENTIALS_NEVER = INT64_MAX;
static const int64_t BD_CREDENTIALS_MIN_DELAY_MS = 100;
static const int64_t BD_CREDENTIALS_MAX_SLEEP_MS = 60000; /* notice wall-clock jumps */

struct bd_credentials_provider_t {
    bd_credentials_options_t opts; /* strings point into the copies below */
    std::string profile, access_key_id, secret_access_key, session_token, bearer_token;
    std::string region, sts_endpoint;

    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wakeup;   /* refresh thread waits here (monotonic clock) */
    pthread_cond_t finished; /* bd_credentials_wait waits here (monotonic clock) */
    std::atomic<bool> stop;

    bd_published_t current; /* the set; empty when none yet; replaced under lock */

    /* Guarded by lock. */
    bool force;
    int64_t next_refresh_ms;
    int64_t last_success_ms;
    uint64_t attempts;
    uint64_t failures;
    int consecutive_failures;
    std::string last_error;
};

static int64_t
bd_credentials_now(const bd_credentials_provider_t *p)
{
    if (p->opts.clock != nullptr) {
        return p->opts.clock(p->opts.clock_data);
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
bd_deadline(struct timespec *ts, int64_t ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000;
    if (ts->tv_nsec >= 1000000000) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000;
    }
}

static bool
bd_usable(const bd_credentials_provider_t *p, const bd_credentials_t *c, int64_t now)
{
    return c->expiration_ms == 0 || now + p->opts.expiry_margin_ms < c->expiration_ms;
}

/* When to refresh a set that expires at <exp>: refresh_before_ms ahead of expiry, or at
 * 75% of the lifetime when that is short, so short-lived sets still get a margin. */
static int64_t
bd_credentials_schedule(const bd_credentials_provider_t *p, int64_t now, int64_t exp)
{
    if (exp == 0) {
        return BD_CREDENTIALS_NEVER;
    }
    int64_t life = exp - now;
    int64_t at = life > 4 * p->opts.refresh_before_ms ? exp - p->opts.refresh_before_ms
                                                      : now + life * 3 / 4;
    return at > now + BD_CREDENTIALS_MIN_DELAY_MS ? at : now + BD_CREDENTIALS_MIN_DELAY_MS;
}

static int64_t
bd_credentials_backoff(const bd_credentials_provider_t *p, int failures)
{
    int64_t d = p->opts.retry_min_ms;
    for (int i = 1; i < failures && d < p->opts.retry_max_ms; i++) {
        d *= 2;
    }
    return d < p->opts.retry_max_ms ? d : p->opts.retry_max_ms;
}

static void
bd_credentials_destroy_set(bd_published_obj_t *obj)
{
    delete (bd_credentials_t *)obj;
}

static bd_credentials_t *
bd_credentials_make(bd_credentials_result_t *res)
{
    bd_credentials_t *c = new bd_credentials_t();
    c->sigv4.access_key_id = std::move(res->access_key_id);
    c->sigv4.secret_access_key = std::move(res->secret_access_key);
    c->sigv4.session_token = std::move(res->session_token);
    c->bearer_token = std::move(res->bearer_token);
    c->expiration_ms = res->expiration_ms;
    c->source = std::move(res->source);
    bd_published_obj_init(&c->pub, bd_credentials_destroy_set);
    return c;
}

/* One resolution: fetch without the lock, then publish or record the failure. */
static void
bd_credentials_run(bd_credentials_provider_t *p)
{
    bd_credentials_ctx_t ctx = {
        .env = &p->opts.env,
        .stop = &p->stop,
        .now_ms = bd_credentials_now(p),
        .http_timeout_ms = p->opts.http_timeout_ms,
        .sts_timeout_ms = p->opts.sts_timeout_ms,
        .profile = p->opts.profile,
        .region = p->opts.region,
        .sts_endpoint = p->opts.sts_endpoint,
    };
    bd_credentials_result_t res;
    int rc = bd_credentials_resolve(&ctx, p->opts.source, &p->opts, &res);
    int64_t now = bd_credentials_now(p);
    if (rc == BD_CREDENTIALS_FOUND && res.expiration_ms != 0
        && now + p->opts.expiry_margin_ms >= res.expiration_ms) {
        char when[32];
        bd_credentials_format_time(res.expiration_ms, when, sizeof(when));
        res.error = "credentials from " + res.source + " arrived already expiring (at "
                    + when + ")";
        rc = BD_CREDENTIALS_FAILED;
    }
    bd_credentials_t *fresh = rc == BD_CREDENTIALS_FOUND ? bd_credentials_make(&res) : nullptr;

    pthread_mutex_lock(&p->lock);
    if (fresh != nullptr) {
        int64_t expiration_ms = fresh->expiration_ms;
        bd_published_publish(&p->current, &fresh->pub);
        p->last_success_ms = now;
        p->consecutive_failures = 0;
        p->last_error.clear();
        p->next_refresh_ms = bd_credentials_schedule(p, now, expiration_ms);
    } else {
        /* Keep the old set: it serves until its own expiry while we retry. */
        p->failures++;
        p->consecutive_failures++;
        p->last_error = res.error;
        p->next_refresh_ms = now + bd_credentials_backoff(p, p->consecutive_failures);
    }
    p->attempts++;
    pthread_cond_broadcast(&p->finished);
    pthread_mutex_unlock(&p->lock);
}

static void *
bd_credentials_on_thread(void *arg) noexcept
{
    bd_credentials_provider_t *p = (bd_credentials_provider_t *)arg;
    pthread_mutex_lock(&p->lock);
    while (!p->stop.load()) {
        int64_t now = bd_credentials_now(p);
        if (p->force || now >= p->next_refresh_ms) {
            p->force = false;
            pthread_mutex_unlock(&p->lock);
            bd_credentials_run(p);
            pthread_mutex_lock(&p->lock);
            continue;
        }
        /* The schedule is in (possibly injected) wall-clock time; sleep on the
         * monotonic clock and re-check, so a clock change is noticed within a minute
         * or at once after bd_credentials_wake. */
        int64_t wait_ms = p->next_refresh_ms - now;
        struct timespec ts;
        bd_deadline(&ts, wait_ms < BD_CREDENTIALS_MAX_SLEEP_MS ? wait_ms
                                                               : BD_CREDENTIALS_MAX_SLEEP_MS);
        pthread_cond_timedwait(&p->wakeup, &p->lock, &ts);
    }
    pthread_mutex_unlock(&p->lock);
    return nullptr;
}

static const char *
bd_copy_opt(const char *src, std::string *dst)
{
    if (src == nullptr) {
        return nullptr;
    }
    *dst = src;
    return dst->c_str();
}

static int
bd_credentials_copy_options(bd_credentials_provider_t *p, const bd_credentials_options_t *o,
                            char *err, size_t err_len)
{
    if (o->source < BD_CREDENTIALS_AUTO || o->source > BD_CREDENTIALS_BEARER) {
        snprintf(err, err_len, "unknown credentials source %d", o->source);
        return -1;
    }
    if (o->source == BD_CREDENTIALS_STATIC
        && (o->access_key_id == nullptr || o->access_key_id[0] == '\0'
            || o->secret_access_key == nullptr || o->secret_access_key[0] == '\0')) {
        snprintf(err, err_len, "static credentials need an access key id and a secret key");
        return -1;
    }
    p->opts = *o;
    p->opts.profile = bd_copy_opt(o->profile, &p->profile);
    p->opts.access_key_id = bd_copy_opt(o->access_key_id, &p->access_key_id);
    p->opts.secret_access_key = bd_copy_opt(o->secret_access_key, &p->secret_access_key);
    p->opts.session_token = bd_copy_opt(o->session_token, &p->session_token);
    p->opts.bearer_token = bd_copy_opt(o->bearer_token, &p->bearer_token);
    p->opts.region = bd_copy_opt(o->region, &p->region);
    p->opts.sts_endpoint = bd_copy_opt(o->sts_endpoint, &p->sts_endpoint);
    bd_credentials_options_t *d = &p->opts;
    d->http_timeout_ms = d->http_timeout_ms > 0 ? d->http_timeout_ms : 2000;
    d->sts_timeout_ms = d->sts_timeout_ms > 0 ? d->sts_timeout_ms : 10000;
    d->retry_min_ms = d->retry_min_ms > 0 ? d->retry_min_ms : 1000;
    d->retry_max_ms = d->retry_max_ms > 0 ? d->retry_max_ms : 30000;
    d->refresh_before_ms = d->refresh_before_ms > 0 ? d->refresh_before_ms : 300000;
    d->expiry_margin_ms = d->expiry_margin_ms > 0 ? d->expiry_margin_ms : 10000;
    return 0;
}

bd_credentials_provider_t *
bd_credentials_create(const bd_credentials_options_t *opts, char *err, size_t err_len)
{
    bd_credentials_provider_t *p = new bd_credentials_provider_t();
    if (bd_credentials_copy_options(p, opts, err, err_len) != 0) {
        delete p;
        return nullptr;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&p->lock, nullptr);
    pthread_cond_init(&p->wakeup, &ca);
    pthread_cond_init(&p->finished, &ca);
    pthread_condattr_destroy(&ca);
    p->stop.store(false);
    bd_published_init(&p->current);
    p->next_refresh_ms = 0; /* resolve at once */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = bd_thread_create(&p->thread, bd_credentials_on_thread, p);
    if (rc != 0) {
        BD_FATAL("pthread_create (credentials refresh): %s", strerror(rc));
    }
    return p;
}

void
bd_credentials_destroy(bd_credentials_provider_t *p)
{
    if (p == nullptr) {
        return;
    }
    pthread_mutex_lock(&p->lock);
    p->stop.store(true); /* also aborts a transfer in progress via its progress callback */
    pthread_cond_signal(&p->wakeup);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, nullptr);
    bd_published_clear(&p->current);
    pthread_cond_destroy(&p->wakeup);
    pthread_cond_destroy(&p->finished);
    pthread_mutex_destroy(&p->lock);
    curl_global_cleanup();
    delete p;
}

bd_credentials_t *
bd_credentials_acquire(bd_credentials_provider_t *p)
{
    bd_credentials_t *c = (bd_credentials_t *)bd_published_acquire(&p->current);
    if (c != nullptr && !bd_usable(p, c, bd_credentials_now(p))) {
        /* Expired while a refresh is failing: better no request than a rejected one. */
        bd_credentials_release(c);
        return nullptr;
    }
    return c;
}

void
bd_credentials_release(bd_credentials_t *c)
{
    bd_published_release(c != nullptr ? &c->pub : nullptr);
}

void
bd_credentials_info(bd_credentials_provider_t *p, bd_credentials_info_t *out)
{
    int64_t now = bd_credentials_now(p);
    pthread_mutex_lock(&p->lock);
    bd_credentials_t *c = (bd_credentials_t *)bd_published_acquire(&p->current);
    out->ready = c != nullptr && bd_usable(p, c, now);
    out->expiration_ms = c != nullptr ? c->expiration_ms : 0;
    out->source = c != nullptr ? c->source : "";
    out->last_success_ms = p->last_success_ms;
    out->next_refresh_ms = p->next_refresh_ms;
    out->attempts = p->attempts;
    out->failures = p->failures;
    out->last_error = p->last_error;
    pthread_mutex_unlock(&p->lock);
    bd_credentials_release(c);
}

int
bd_credentials_status(bd_credentials_provider_t *p, char *reason, size_t len)
{
    bd_credentials_info_t in;
    bd_credentials_info(p, &in);
    char when[32] = "";
    if (in.expiration_ms != 0) {
        bd_credentials_format_time(in.expiration_ms, when, sizeof(when));
    }
    if (in.ready && in.expiration_ms == 0) {
        snprintf(reason, len, "credentials from %s", in.source.c_str());
    } else if (in.ready) {
        snprintf(reason, len, "credentials from %s, expire at %s", in.source.c_str(), when);
    } else if (!in.source.empty()) {
        snprintf(reason, len, "credentials from %s expired at %s; refresh failing: %s",
                 in.source.c_str(), when,
                 in.last_error.empty() ? "not yet retried" : in.last_error.c_str());
    } else if (in.attempts == 0) {
        snprintf(reason, len, "resolving AWS credentials");
    } else {
        snprintf(reason, len, "%s", in.last_error.c_str());
    }
    return in.ready ? 1 : 0;
}

void
bd_credentials_refresh(bd_credentials_provider_t *p)
{
    pthread_mutex_lock(&p->lock);
    p->force = true;
    pthread_cond_signal(&p->wakeup);
    pthread_mutex_unlock(&p->lock);
}

void
bd_credentials_wake(bd_credentials_provider_t *p)
{
    pthread_mutex_lock(&p->lock);
    pthread_cond_signal(&p->wakeup);
    pthread_mutex_unlock(&p->lock);
}

uint64_t
bd_credentials_wait(bd_credentials_provider_t *p, uint64_t seen, int64_t timeout_ms)
{
    struct timespec ts;
    bd_deadline(&ts, timeout_ms);
    pthread_mutex_lock(&p->lock);
    while (p->attempts <= seen) {
        if (pthread_cond_timedwait(&p->finished, &p->lock, &ts) == ETIMEDOUT) {
            break;
        }
    }
    uint64_t n = p->attempts;
    pthread_mutex_unlock(&p->lock);
    return n;
}
