/*
 * bd_ddb_sync.cc: the sync thread's loop. Five timers (leases, marker check, usage
 * push, usage aggregates, prune); each pass does what is due and sleeps on a
 * condition variable until the next one or a stop. The state others read
 * (reachable, counters, last error) is copied under info_lock; nothing else is
 * shared.
 */
#include "modules/dynamodb/bd_ddb_sync.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

#include <atomic>

#include <sqlite3.h>

#include "core/bd_cond.h"
#include "core/bd_core.h"
#include "core/bd_log.h"
#include "core/bd_thread.h"
#include "modules/dynamodb/bd_ddb_budget.h"
#include "modules/dynamodb/bd_ddb_client.h"
#include "modules/dynamodb/bd_ddb_limits.h"
#include "modules/dynamodb/bd_ddb_local.h"
#include "modules/dynamodb/bd_ddb_pull.h"
#include "modules/dynamodb/bd_ddb_tables.h"
#include "modules/dynamodb/bd_ddb_usage.h"

static const int64_t BD_DDB_PRUNE_MS = 60000;

struct bd_ddb_sync_t {
    bd_ddb_conf_t conf;
    bd_ddb_client_t *client;
    sqlite3 *db;
    std::string task_id;
    pthread_t thread;

    pthread_mutex_t lock; /* guards stop, finished and info */
    pthread_cond_t cond;
    bool stop;
    bool finished;
    std::atomic<bool> abort; /* the final push ran out of time */
    bd_ddb_sync_info_t info;
    bd_ddb_leases_t *leases; /* shared with the workers; its own locks */
    bd_ddb_conc_t *conc;     /* likewise */

    /* the thread's own */
    int64_t keys_version, models_version;
    int64_t next_full_us;
    /* the rounds of both outboxes, one at a time: the rows' buffers are reused (an
     * aggregates round fills only the fields it adds up; those it leaves are never
     * read by it, and an items round fills them all) */
    bd_ddb_round_t round;
};

static void
bd_ddb_note(bd_ddb_sync_t *s, bool ok, const std::string &err)
{
    pthread_mutex_lock(&s->lock);
    bool was = s->info.reachable;
    s->info.reachable = ok;
    std::string last = s->info.last_error;
    s->info.last_error = ok ? "" : err;
    pthread_mutex_unlock(&s->lock);
    bd_ddb_leases_set_degraded(s->leases, !ok);
    if (was && !ok) {
        bd_log_error(BD_LOG_ERR, nullptr,
                     "dynamodb: unreachable (%s); keys and model map stay as last synced, usage "
                     "waits in the local outbox, rate limits fall back to a per-task share "
                     "(1/%lld of each)",
                     err.c_str(), (long long)s->conf.expected_tasks);
    } else if (!was && ok) {
        bd_log_error(BD_LOG_NOTICE, nullptr,
                     "dynamodb: reachable again; rate limits are fleet-wide again");
    } else if (!ok && err != last) {
        bd_log_error(BD_LOG_WARN, nullptr, "dynamodb: %s", err.c_str());
    }
}

/* Reads one table into the store when its marker moved or <full> is set. */
static int
bd_ddb_pull_table(bd_ddb_sync_t *s, bool keys, bool full, std::string *err)
{
    const std::string &table = keys ? s->conf.api_keys_table : s->conf.model_map_table;
    int64_t *seen = keys ? &s->keys_version : &s->models_version;
    int64_t version = 0;
    if (bd_ddb_marker_get(s->client, table, keys ? "key_id" : "model", &version, err) != 0) {
        return -1;
    }
    if (!full && version == *seen && version >= 0) {
        return 0;
    }
    std::vector<std::string> skipped;
    int changed;
    if (keys) {
        std::vector<bd_key_t> rows;
        if (bd_ddb_pull_keys(s->client, &s->conf, &rows, &skipped, err) != 0) {
            return -1;
        }
        changed = bd_ddb_local_mirror_keys(s->db, rows, err);
    } else {
        std::vector<bd_store_model_t> rows;
        if (bd_ddb_pull_models(s->client, &s->conf, &rows, &skipped, err) != 0) {
            return -1;
        }
        changed = bd_ddb_local_mirror_models(s->db, rows, err);
    }
    for (const std::string &line : skipped) {
        bd_log_error(BD_LOG_WARN, nullptr, "dynamodb: %s", line.c_str());
    }
    if (changed < 0) {
        bd_log_error(BD_LOG_ERR, nullptr, "dynamodb: writing %s into the store failed: %s",
                     table.c_str(), err->c_str());
        return 0; /* the store's trouble, not DynamoDB's: try again at the next full sync */
    }
    *seen = version;
    pthread_mutex_lock(&s->lock);
    s->info.skipped_items += skipped.size();
    s->info.pulls += changed > 0 ? 1 : 0;
    pthread_mutex_unlock(&s->lock);
    if (changed > 0) {
        bd_log_error(BD_LOG_INFO, nullptr, "dynamodb: %d %s changed (version %lld)", changed,
                     keys ? "keys" : "model map entries", (long long)version);
    }
    return 0;
}

static void
bd_ddb_pull(bd_ddb_sync_t *s)
{
    bool full = bd_now_us() >= s->next_full_us;
    std::string err;
    if (bd_ddb_pull_table(s, true, full, &err) != 0 || bd_ddb_pull_table(s, false, full, &err) != 0) {
        bd_ddb_note(s, false, err);
        return;
    }
    if (full) {
        s->next_full_us = bd_now_us() + s->conf.full_sync_interval_ms * 1000;
    }
    if (bd_ddb_budget_round(s->client, &s->conf, s->db, bd_wall_ms(), &err) < 0) {
        bd_ddb_note(s, false, err);
        return;
    }
    pthread_mutex_lock(&s->lock);
    s->info.last_pull_ms = bd_wall_ms();
    pthread_mutex_unlock(&s->lock);
    bd_ddb_note(s, true, "");
}

/* One of the two outboxes and what pushing a round of it means. */
struct bd_ddb_outbox_push_t {
    const bd_ddb_outbox_t *box;
    int (*push)(bd_ddb_client_t *client, const bd_ddb_conf_t *conf, const std::string &task_id,
                const bd_ddb_round_t *r, bd_ddb_push_stats_t *stats, std::string *err);
    int64_t bd_ddb_sync_info_t::*backlog; /* where /ready and /metrics read its backlog */
    const char *what;                     /* for the log */
};

static const bd_ddb_outbox_push_t bd_ddb_items_push = {
    &bd_ddb_items_outbox, bd_ddb_push_items, &bd_ddb_sync_info_t::backlog, "usage push"};
static const bd_ddb_outbox_push_t bd_ddb_aggregates_push = {
    &bd_ddb_aggregates_outbox, bd_ddb_push_aggregates, &bd_ddb_sync_info_t::aggregate_backlog,
    "usage aggregates"};

/* Pushes rounds of <o> until its outbox is empty, a round fails or <until_us>
 * passes. Returns 0 when the outbox was emptied, 1 when time ran out with rows
 * waiting, -1 on failure. */
static int
bd_ddb_push(bd_ddb_sync_t *s, const bd_ddb_outbox_push_t *o, int64_t until_us)
{
    bd_ddb_round_t &r = s->round;
    for (;;) {
        std::string err;
        int got = bd_ddb_local_round(s->db, o->box, s->conf.usage_push_batch, &r, &err);
        if (got <= 0) {
            if (got < 0) {
                bd_log_error(BD_LOG_ERR, nullptr, "dynamodb: reading the usage outbox failed: %s",
                             err.c_str());
            }
            pthread_mutex_lock(&s->lock);
            s->info.*o->backlog = got == 0 ? 0 : s->info.*o->backlog;
            pthread_mutex_unlock(&s->lock);
            return got;
        }
        bd_ddb_push_stats_t st;
        memset(&st, 0, sizeof(st));
        if (o->push(s->client, &s->conf, s->task_id, &r, &st, &err) != 0) {
            int64_t backlog = bd_ddb_local_backlog(s->db, o->box); /* not under the lock /ready takes */
            pthread_mutex_lock(&s->lock);
            s->info.push_failures++;
            s->info.*o->backlog = backlog;
            pthread_mutex_unlock(&s->lock);
            bd_ddb_note(s, false, std::string(o->what) + ": " + err);
            return -1;
        }
        if (bd_ddb_local_round_done(s->db, o->box, &r, &err) != 0) {
            /* pushed but not marked: the next round repeats it, harmlessly */
            bd_log_error(BD_LOG_ERR, nullptr, "dynamodb: marking usage rows done (%s) failed: %s",
                         o->what, err.c_str());
            return -1;
        }
        int64_t backlog = bd_ddb_local_backlog(s->db, o->box);
        pthread_mutex_lock(&s->lock);
        s->info.items_pushed += st.items;
        if (o == &bd_ddb_items_push) {
            s->info.last_push_ms = bd_wall_ms();
        }
        s->info.*o->backlog = backlog;
        pthread_mutex_unlock(&s->lock);
        bd_ddb_note(s, true, "");
        if (bd_now_us() >= until_us) {
            return 1;
        }
    }
}

/* The rate-limit leases, then the concurrency slots (all given back with <release>). */
static void
bd_ddb_lease(bd_ddb_sync_t *s, bool release)
{
    std::string err;
    std::vector<std::string> notes;
    if (bd_ddb_lease_round(s->client, &s->conf, s->leases, bd_wall_ms(), &err) != 0 ||
        bd_ddb_conc_round(s->client, &s->conf, s->task_id, s->conc, bd_wall_ms(), release, &err,
                          &notes) != 0) {
        bd_ddb_note(s, false, err); /* the pull notices when it is back */
    }
    for (const std::string &line : notes) {
        bd_log_error(BD_LOG_NOTICE, nullptr, "dynamodb: %s", line.c_str());
    }
}

static void
bd_ddb_prune(bd_ddb_sync_t *s)
{
    std::string err;
    int64_t n = bd_ddb_local_prune(s->db, bd_wall_ms() - s->conf.usage_retention_ms, &err);
    if (n < 0) {
        bd_log_error(BD_LOG_WARN, nullptr, "dynamodb: pruning pushed usage rows failed: %s",
                     err.c_str());
    } else if (n > 0) {
        bd_log_error(BD_LOG_INFO, nullptr, "dynamodb: pruned %lld pushed usage rows",
                     (long long)n);
    }
}

static void *
bd_ddb_main(void *arg) noexcept
{
    bd_ddb_sync_t *s = (bd_ddb_sync_t *)arg;
    bd_log_set_thread_name("dynamodb");
    int64_t now = bd_now_us();
    int64_t next_pull = now + s->conf.sync_interval_ms * 1000;
    int64_t next_push = now;
    int64_t next_aggregate = now + s->conf.usage_aggregate_interval_ms * 1000;
    int64_t next_prune = now + BD_DDB_PRUNE_MS * 1000;
    int64_t next_lease = now;
    pthread_mutex_lock(&s->lock);
    while (!s->stop) {
        now = bd_now_us();
        int64_t wake = next_pull < next_push ? next_pull : next_push;
        wake = next_aggregate < wake ? next_aggregate : wake;
        wake = next_prune < wake ? next_prune : wake;
        wake = next_lease < wake ? next_lease : wake;
        if (now < wake) {
            bd_cond_wait_until(&s->cond, &s->lock, wake);
            continue;
        }
        pthread_mutex_unlock(&s->lock);
        if (now >= next_lease) {
            bd_ddb_lease(s, false);
            next_lease = bd_now_us() + s->conf.limits_lease_interval_ms * 1000;
        }
        if (now >= next_pull) {
            bd_ddb_pull(s);
            next_pull = bd_now_us() + s->conf.sync_interval_ms * 1000;
        }
        /* a backlog is worked off in one go, but pulls and leases keep their pace,
         * and goes on right after the leases and pulls that were due */
        int64_t until = next_pull < next_lease ? next_pull : next_lease;
        if (now >= next_push) {
            int more = bd_ddb_push(s, &bd_ddb_items_push, until);
            next_push = more == 1 ? bd_now_us() : bd_now_us() + s->conf.usage_push_interval_ms * 1000;
        }
        if (now >= next_aggregate) {
            int more = bd_ddb_push(s, &bd_ddb_aggregates_push, until);
            next_aggregate = more == 1 ? bd_now_us()
                                       : bd_now_us() + s->conf.usage_aggregate_interval_ms * 1000;
        }
        if (now >= next_prune) {
            bd_ddb_prune(s);
            next_prune = bd_now_us() + BD_DDB_PRUNE_MS * 1000;
        }
        pthread_mutex_lock(&s->lock);
    }
    pthread_mutex_unlock(&s->lock);

    /* Stopping: the workers are done; the fleet gets this task's slots back now
     * rather than when they expire. */
    if (!bd_ddb_leases_degraded(s->leases)) {
        bd_ddb_lease(s, true);
    }
    /* The store has written every record; push them all if we can. */
    int64_t started = bd_now_us();
    int rc = bd_ddb_push(s, &bd_ddb_items_push, INT64_MAX);
    if (rc == 0) {
        rc = bd_ddb_push(s, &bd_ddb_aggregates_push, INT64_MAX);
    }
    int64_t left = bd_ddb_local_backlog(s->db, &bd_ddb_items_outbox);
    int64_t left_agg = bd_ddb_local_backlog(s->db, &bd_ddb_aggregates_outbox);
    bd_log_error(rc == 0 ? BD_LOG_NOTICE : BD_LOG_ERR, nullptr,
                 "dynamodb: final usage push %s in %lld ms; %lld rows wait in the outbox, "
                 "%lld for the aggregates",
                 rc == 0 ? "done" : "incomplete", (long long)((bd_now_us() - started) / 1000),
                 (long long)left, (long long)left_agg);
    pthread_mutex_lock(&s->lock);
    s->finished = true;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    return nullptr;
}

static void
bd_ddb_sync_free(bd_ddb_sync_t *s)
{
    bd_ddb_client_destroy(s->client);
    if (s->db != nullptr) {
        bd_store_close(s->db);
    }
    bd_ddb_leases_destroy(s->leases);
    bd_ddb_conc_destroy(s->conc);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->lock);
    delete s;
}

bd_ddb_sync_t *
bd_ddb_sync_start(const bd_ddb_conf_t *conf, const char *store_path,
                  bd_credentials_provider_t *creds, std::string *err)
{
    bd_ddb_sync_t *s = new bd_ddb_sync_t();
    s->conf = *conf;
    s->client = nullptr;
    s->db = nullptr;
    s->stop = false;
    s->finished = false;
    s->abort.store(false);
    s->info = bd_ddb_sync_info_t();
    s->info.reachable = true;
    s->keys_version = -1;
    s->models_version = -1;
    s->next_full_us = 0;
    s->leases = bd_ddb_leases_create(conf->limits_lease_percent, conf->expected_tasks);
    s->conc = bd_ddb_conc_create(conf->limits_lease_percent, conf->limits_concurrency_ttl_ms);
    pthread_mutex_init(&s->lock, nullptr);
    bd_cond_init_monotonic(&s->cond);

    bd_ddb_client_options_t o;
    o.endpoint = conf->resolved;
    o.creds = creds;
    o.connect_timeout_ms = conf->connect_timeout_ms;
    o.request_timeout_ms = conf->request_timeout_ms;
    o.abort = &s->abort;
    s->client = bd_ddb_client_create(&o, err);
    s->db = s->client ? bd_store_open(store_path, 5000, err) : nullptr;
    if (s->db == nullptr) {
        bd_ddb_sync_free(s);
        return nullptr;
    }
    s->task_id = bd_ddb_local_task_id(s->db, err);
    if (s->task_id.empty()) {
        bd_ddb_sync_free(s);
        return nullptr;
    }
    if (bd_ddb_local_outbox_init(s->db, err) != 0) {
        *err = "the usage outbox: " + *err;
        bd_ddb_sync_free(s);
        return nullptr;
    }
    std::string why;
    int check = bd_ddb_tables_check(s->client, conf, &why);
    if (check == BD_DDB_CHECK_WRONG) {
        *err = why;
        bd_ddb_sync_free(s);
        return nullptr;
    }
    if (check == BD_DDB_CHECK_UNREACHABLE) {
        bd_ddb_note(s, false, why);
    } else {
        bd_ddb_pull(s);
    }
    s->info.backlog = bd_ddb_local_backlog(s->db, &bd_ddb_items_outbox);
    s->info.aggregate_backlog = bd_ddb_local_backlog(s->db, &bd_ddb_aggregates_outbox);
    bd_log_error(BD_LOG_NOTICE, nullptr,
                 "dynamodb: %s via %s (task %s, tables %s*), %lld usage rows to push",
                 s->info.reachable ? "syncing" : "not reachable yet, retrying",
                 conf->resolved.url.c_str(), s->task_id.c_str(), conf->table_prefix.c_str(),
                 (long long)s->info.backlog);
    if (bd_thread_create(&s->thread, bd_ddb_main, s) != 0) {
        BD_FATAL("pthread_create() for the sync thread failed");
    }
    return s;
}

void
bd_ddb_sync_stop(bd_ddb_sync_t *s)
{
    pthread_mutex_lock(&s->lock);
    s->stop = true;
    pthread_cond_broadcast(&s->cond);
    int64_t deadline = bd_now_us() + s->conf.final_push_timeout_ms * 1000;
    while (!s->finished && bd_now_us() < deadline) {
        bd_cond_wait_until(&s->cond, &s->lock, deadline);
    }
    pthread_mutex_unlock(&s->lock);
    s->abort.store(true); /* out of time: what is left stays in the outbox */
    pthread_join(s->thread, nullptr);
    bd_ddb_sync_free(s);
}

bd_ddb_leases_t *
bd_ddb_sync_leases(bd_ddb_sync_t *s)
{
    return s->leases;
}

bd_ddb_conc_t *
bd_ddb_sync_conc(bd_ddb_sync_t *s)
{
    return s->conc;
}

void
bd_ddb_sync_info(bd_ddb_sync_t *s, bd_ddb_sync_info_t *out)
{
    pthread_mutex_lock(&s->lock);
    *out = s->info;
    pthread_mutex_unlock(&s->lock);
}
