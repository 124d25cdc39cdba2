/*
 * bd_store_thread.cc: the store thread, the only writer of the SQLite file in the
 * daemon. Reactors append usage records to a queue under a mutex; the thread
 * writes them in batches (by count, or once the oldest has waited the flush
 * interval), polls PRAGMA data_version to see other connections' commits, and when
 * one wrote keys or models (a count kept by triggers says so) rebuilds and publishes
 * the key table (bd_keys.h) and the model map additions. Other
 * modules' jobs (stored responses) run on the same connection, in order. Stopping writes
 * everything queued first.
 */
#include "modules/store/bd_store_thread.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

#include <utility>

#include <sqlite3.h>

#include "core/bd_cond.h"
#include "core/bd_core.h"
#include "core/bd_log.h"
#include "core/bd_thread.h"
#include "modules/models/bd_models.h"
#include "modules/store/bd_keys.h"

static const size_t BD_STORE_BATCH = 512;        /* records per transaction */
static const size_t BD_STORE_QUEUE_MAX = 262144; /* beyond: records are dropped */
static const int64_t BD_STORE_POLL_MS = 200;     /* data_version polling period */
static const int BD_STORE_BUSY_MS = 5000;
static const int BD_STORE_WRITE_TRIES = 3;

struct bd_store_t {
    sqlite3 *db; /* the store thread's, after start */
    pthread_t thread;
    int64_t flush_interval_ms;

    pthread_mutex_t lock; /* guards queue, queue_since_us, stop, dropped */
    pthread_cond_t cond;
    std::vector<bd_usage_record_t> queue;
    int64_t queue_since_us; /* when the oldest queued record arrived */
    std::vector<std::pair<bd_store_job_pt, void *>> jobs;
    bool stop;
    uint64_t dropped;

    bool refresh;           /* bd_store_refresh asks for a poll now */
    uint64_t refreshes;     /* polls done on request */
    pthread_cond_t refreshed;

    uint64_t keys_generation; /* store thread only */
    int64_t data_version;     /* store thread only */
    int64_t keys_models_writes; /* as counted when keys and models were last loaded */
};

/* Reads the model map additions and publishes them to the model map. Store thread
 * (or main, at start). */
static int
bd_store_publish_models(bd_store_t *s, std::string *err)
{
    std::vector<bd_store_model_t> rows;
    if (bd_store_models_load(s->db, &rows, err) != 0) {
        return -1;
    }
    std::vector<bd_models_addition_t> adds;
    adds.reserve(rows.size());
    for (bd_store_model_t &m : rows) {
        adds.push_back({std::move(m.name), std::move(m.bedrock_id), std::move(m.route),
                        m.updated_ms});
    }
    bd_models_publish_additions(&adds);
    return 0;
}

/* Reads every key and publishes a new table. Store thread (or main, at start). */
static int
bd_store_publish_keys(bd_store_t *s, std::string *err)
{
    std::vector<bd_key_t> keys;
    if (bd_store_keys_load(s->db, &keys, err) != 0) {
        return -1;
    }
    bd_keys_publish(bd_keys_new(&keys, ++s->keys_generation));
    return 0;
}

int
bd_store_usage_post(bd_store_t *s, bd_usage_record_t *rec)
{
    int rc = 0;
    pthread_mutex_lock(&s->lock);
    if (s->queue.size() >= BD_STORE_QUEUE_MAX) {
        s->dropped++;
        rc = -1;
    } else {
        s->queue.push_back(std::move(*rec));
        size_t n = s->queue.size();
        if (n == 1) {
            s->queue_since_us = bd_now_us();
        }
        /* The thread sleeps until the poll tick; wake it to start the flush
         * timer, and again when a batch is full. */
        if (n == 1 || n == BD_STORE_BATCH) {
            pthread_cond_signal(&s->cond);
        }
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int
bd_store_job_post(bd_store_t *s, bd_store_job_pt fn, void *arg)
{
    int rc = 0;
    pthread_mutex_lock(&s->lock);
    if (s->jobs.size() >= BD_STORE_QUEUE_MAX) {
        rc = -1;
    } else {
        s->jobs.emplace_back(fn, arg);
        if (s->jobs.size() == 1) {
            pthread_cond_signal(&s->cond);
        }
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* Runs the queued jobs (lock held on entry and on return). */
static void
bd_store_run_jobs(bd_store_t *s)
{
    std::vector<std::pair<bd_store_job_pt, void *>> jobs;
    jobs.swap(s->jobs);
    pthread_mutex_unlock(&s->lock);
    for (auto &j : jobs) {
        j.first(s->db, j.second);
    }
    pthread_mutex_lock(&s->lock);
}

static void
bd_store_write(bd_store_t *s, std::vector<bd_usage_record_t> *batch)
{
    std::string err;
    for (size_t off = 0; off < batch->size(); off += BD_STORE_BATCH) {
        size_t n = batch->size() - off < BD_STORE_BATCH ? batch->size() - off : BD_STORE_BATCH;
        int tries = 0;
        while (bd_store_usage_insert(s->db, batch->data() + off, n, &err) != 0) {
            if (++tries >= BD_STORE_WRITE_TRIES) {
                bd_log_error(BD_LOG_ERR, nullptr, "store: %zu usage records lost: %s", n,
                             err.c_str());
                break;
            }
            bd_log_error(BD_LOG_WARN, nullptr, "store: writing usage failed, retrying: %s",
                         err.c_str());
        }
    }
    batch->clear();
}

/* Another connection committed (bedrockctl): the keys or models may have changed. */
static void
bd_store_poll(bd_store_t *s)
{
    int64_t v = bd_store_data_version(s->db);
    if (v < 0 || v == s->data_version) {
        return;
    }
    s->data_version = v;
    /* Counted before the load: a write landing meanwhile is loaded again next time.
     * A commit that left keys and models alone (the DynamoDB sync's bookkeeping of
     * its push rounds) reloads nothing. */
    int64_t writes = bd_store_keys_models_writes(s->db);
    if (writes >= 0 && writes == s->keys_models_writes) {
        return;
    }
    std::string err;
    if (bd_store_publish_keys(s, &err) != 0 || bd_store_publish_models(s, &err) != 0) {
        bd_log_error(BD_LOG_ERR, nullptr, "store: reloading keys and models failed: %s",
                     err.c_str());
        s->data_version = -1; /* try again at the next tick */
        return;
    }
    s->keys_models_writes = writes;
    bd_log_error(BD_LOG_INFO, nullptr, "store: keys reloaded (generation %llu)",
                 (unsigned long long)s->keys_generation);
}

/* Whether the queue should be written now (lock held). */
static bool
bd_store_due(bd_store_t *s, int64_t now_us)
{
    return !s->queue.empty() &&
           (s->stop || s->queue.size() >= BD_STORE_BATCH ||
            now_us - s->queue_since_us >= s->flush_interval_ms * 1000);
}

static void *
bd_store_main(void *arg) noexcept
{
    bd_store_t *s = (bd_store_t *)arg;
    bd_log_set_thread_name("store");
    std::vector<bd_usage_record_t> batch;
    int64_t next_poll_us = bd_now_us() + BD_STORE_POLL_MS * 1000;
    uint64_t dropped_seen = 0;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        int64_t now = bd_now_us();
        if (!s->jobs.empty()) {
            bd_store_run_jobs(s);
            continue;
        }
        if (bd_store_due(s, now)) {
            batch.swap(s->queue);
            pthread_mutex_unlock(&s->lock);
            bd_store_write(s, &batch);
            pthread_mutex_lock(&s->lock);
            continue;
        }
        if (s->stop) {
            break;
        }
        if (now >= next_poll_us || s->refresh) {
            bool asked = s->refresh;
            s->refresh = false;
            uint64_t dropped = s->dropped;
            pthread_mutex_unlock(&s->lock);
            if (dropped != dropped_seen) {
                bd_log_error(BD_LOG_ERR, nullptr, "store: queue full, %llu usage records dropped",
                             (unsigned long long)(dropped - dropped_seen));
                dropped_seen = dropped;
            }
            bd_store_poll(s);
            next_poll_us = bd_now_us() + BD_STORE_POLL_MS * 1000;
            pthread_mutex_lock(&s->lock);
            if (asked) {
                s->refreshes++;
                pthread_cond_broadcast(&s->refreshed);
            }
            continue;
        }
        int64_t wake = next_poll_us;
        if (!s->queue.empty() && s->queue_since_us + s->flush_interval_ms * 1000 < wake) {
            wake = s->queue_since_us + s->flush_interval_ms * 1000;
        }
        bd_cond_wait_until(&s->cond, &s->lock, wake);
    }
    pthread_mutex_unlock(&s->lock);
    return nullptr;
}

bd_store_t *
bd_store_start(const char *path, int64_t flush_interval_ms, std::string *err)
{
    sqlite3 *db = bd_store_open(path, BD_STORE_BUSY_MS, err);
    if (db == nullptr) {
        return nullptr;
    }
    bd_store_t *s = new bd_store_t();
    s->db = db;
    s->flush_interval_ms = flush_interval_ms;
    s->queue_since_us = 0;
    s->stop = false;
    s->dropped = 0;
    s->refresh = false;
    s->refreshes = 0;
    pthread_cond_init(&s->refreshed, nullptr);
    s->keys_generation = 0;
    s->data_version = bd_store_data_version(db);
    s->keys_models_writes = bd_store_keys_models_writes(db);
    pthread_mutex_init(&s->lock, nullptr);
    bd_cond_init_monotonic(&s->cond);
    if (bd_store_publish_keys(s, err) != 0 || bd_store_publish_models(s, err) != 0) {
        bd_keys_publish(nullptr);
        bd_models_publish_additions(nullptr);
        bd_store_close(db);
        delete s;
        return nullptr;
    }
    if (bd_thread_create(&s->thread, bd_store_main, s) != 0) {
        BD_FATAL("pthread_create() for the store thread failed");
    }
    return s;
}

void
bd_store_stop(bd_store_t *s)
{
    pthread_mutex_lock(&s->lock);
    s->stop = true;
    size_t pending = s->queue.size();
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, nullptr);
    bd_log_error(BD_LOG_NOTICE, nullptr, "store: flushed %zu usage records at stop", pending);
    bd_store_close(s->db);
    bd_keys_publish(nullptr);
    bd_models_publish_additions(nullptr);
    pthread_cond_destroy(&s->cond);
    pthread_cond_destroy(&s->refreshed);
    pthread_mutex_destroy(&s->lock);
    delete s;
}

void
bd_store_refresh(bd_store_t *s)
{
    pthread_mutex_lock(&s->lock);
    uint64_t target = s->refreshes + 1;
    s->refresh = true;
    pthread_cond_signal(&s->cond);
    while (s->refreshes < target && !s->stop) {
        pthread_cond_wait(&s->refreshed, &s->lock);
    }
    pthread_mutex_unlock(&s->lock);
}
