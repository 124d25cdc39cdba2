/*
 * bd_cache_ddb.cc: the cache table's thread. Jobs queue under one mutex; the thread
 * takes up to a batch at a time and runs them concurrently on its DynamoDB client
 * (GetItem, PutItem), then posts each lookup's answer to its worker. Bounded queue:
 * past it, lookups answer "miss" at once and stores are dropped.
 */
#include "modules/cache/bd_cache_ddb.h"

#include <pthread.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>
#include <vector>

#include "core/bd_log.h"
#include "core/bd_thread.h"
#include "core/bd_worker.h"
#include "modules/cache/bd_cache_item.h"
#include "modules/dynamodb/bd_ddb_client.h"
#include "modules/dynamodb/bd_ddb_conf.h"
#include "modules/dynamodb/bd_ddb_item.h"

enum { BD_CACHE_DDB_QUEUE_MAX = 4096, BD_CACHE_DDB_BATCH = 32 };

struct bd_cache_ddb_job_t {
    bool get;
    std::string key;
    bd_cache_entry_ref entry; /* put */
    bd_worker_t *w;           /* get */
    bd_cache_ddb_found_pt found;
    void *data;
};

struct bd_cache_ddb_t {
    bd_credentials_provider_t *creds;
    bd_ddb_client_t *client;
    std::string table;
    pthread_t thread;
    std::mutex mu;
    std::condition_variable cv;
    std::deque<bd_cache_ddb_job_t> jobs;
    std::set<bd_worker_t *> workers; /* running workers: answers go only to them */
    bool stopping;
    std::atomic<bool> abort;
};

/* What travels back to the worker. */
struct bd_cache_ddb_answer_t {
    bd_cache_ddb_found_pt found;
    void *data;
    bd_cache_entry_ref entry;
};

static void
bd_cache_ddb_on_answer(bd_worker_t *w, void *arg)
{
    bd_cache_ddb_answer_t *a = (bd_cache_ddb_answer_t *)arg;
    a->found(w, a->data, a->entry);
    delete a;
}

/* Posts the answer under the mutex, so that a worker that left (exit_worker) is never
 * written to. */
static void
bd_cache_ddb_answer(bd_cache_ddb_t *d, const bd_cache_ddb_job_t &job, bd_cache_entry_ref e)
{
    std::lock_guard<std::mutex> lock(d->mu);
    if (d->workers.count(job.w) == 0) {
        return;
    }
    bd_msg_t msg;
    msg.type = BD_MSG_CALL;
    msg.snap = nullptr;
    msg.fn = bd_cache_ddb_on_answer;
    msg.arg = new bd_cache_ddb_answer_t{job.found, job.data, std::move(e)};
    bd_worker_post(job.w, &msg);
}

/* The request body of <job>'s operation, or "" when there is nothing to send. */
static std::string
bd_cache_ddb_body(const bd_cache_ddb_t *d, const bd_cache_ddb_job_t &job)
{
    json_t *body;
    if (job.get) {
        body = json_pack("{s:s%, s:{s:{s:s%}}, s:b}", "TableName", d->table.data(),
                         d->table.size(), "Key", "cache_key", "S", job.key.data(), job.key.size(),
                         "ConsistentRead", 0);
    } else {
        json_t *item = bd_cache_item_make(job.key, job.entry.get());
        if (item == nullptr) {
            return "";
        }
        body = json_pack("{s:s%, s:o}", "TableName", d->table.data(), d->table.size(), "Item",
                         item);
    }
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    std::string out(text != nullptr ? text : "");
    free(text);
    return out;
}

static void
bd_cache_ddb_run_batch(bd_cache_ddb_t *d, std::vector<bd_cache_ddb_job_t> *batch)
{
    size_t n = batch->size();
    std::unique_ptr<bd_ddb_op_t[]> ops(new bd_ddb_op_t[n]);
    for (size_t i = 0; i < n; i++) {
        ops[i].target = (*batch)[i].get ? "GetItem" : "PutItem";
        ops[i].body = bd_cache_ddb_body(d, (*batch)[i]);
    }
    bd_ddb_run(d->client, ops.get(), n);
    int64_t now = bd_ddb_now_ms();
    for (size_t i = 0; i < n; i++) {
        const bd_cache_ddb_job_t &job = (*batch)[i];
        if (ops[i].status != BD_DDB_OK && !ops[i].body.empty()) {
            bd_log_error(BD_LOG_WARN, nullptr, "response cache: DynamoDB %s on %s: %s",
                         ops[i].target.c_str(), d->table.c_str(),
                         bd_ddb_describe(&ops[i]).c_str());
        }
        if (!job.get) {
            continue;
        }
        bd_cache_entry_ref e;
        if (ops[i].status == BD_DDB_OK) {
            e = bd_cache_item_parse(json_object_get(ops[i].reply, "Item"), now);
        }
        bd_cache_ddb_answer(d, job, std::move(e));
    }
}

static void *
bd_cache_ddb_main(void *arg)
{
    bd_cache_ddb_t *d = (bd_cache_ddb_t *)arg;
    bd_log_set_thread_name("cache-dynamodb");
    std::vector<bd_cache_ddb_job_t> batch;
    for (;;) {
        batch.clear();
        {
            std::unique_lock<std::mutex> lock(d->mu);
            d->cv.wait(lock, [d] { return d->stopping || !d->jobs.empty(); });
            if (d->stopping) {
                break;
            }
            while (!d->jobs.empty() && batch.size() < BD_CACHE_DDB_BATCH) {
                batch.push_back(std::move(d->jobs.front()));
                d->jobs.pop_front();
            }
        }
        bd_cache_ddb_run_batch(d, &batch);
    }
    /* The workers are gone: jobs still queued are dropped. */
    d->jobs.clear();
    return nullptr;
}

bd_cache_ddb_t *
bd_cache_ddb_start(const bd_ddb_conf_t *conf, std::string *err)
{
    bd_cache_ddb_t *d = new bd_cache_ddb_t();
    d->stopping = false;
    d->abort = false;
    d->table = conf->cache_table;
    d->creds = bd_ddb_credentials_create(conf->region.c_str(), 3000, err);
    if (d->creds == nullptr) {
        delete d;
        return nullptr;
    }
    bd_ddb_client_options_t o;
    o.endpoint = conf->resolved;
    o.creds = d->creds;
    o.connect_timeout_ms = 1000;
    o.request_timeout_ms = 2000;
    o.max_attempts = 1; /* a cache: a late answer is worth nothing */
    o.abort = &d->abort;
    d->client = bd_ddb_client_create(&o, err);
    if (d->client == nullptr) {
        bd_credentials_destroy(d->creds);
        delete d;
        return nullptr;
    }
    if (bd_thread_create(&d->thread, bd_cache_ddb_main, d) != 0) {
        *err = "cannot start the response cache's DynamoDB thread";
        bd_ddb_client_destroy(d->client);
        bd_credentials_destroy(d->creds);
        delete d;
        return nullptr;
    }
    return d;
}

void
bd_cache_ddb_stop(bd_cache_ddb_t *d)
{
    if (d == nullptr) {
        return;
    }
    {
        std::lock_guard<std::mutex> lock(d->mu);
        d->stopping = true;
    }
    d->abort = true;
    d->cv.notify_one();
    pthread_join(d->thread, nullptr);
    bd_ddb_client_destroy(d->client);
    bd_credentials_destroy(d->creds);
    delete d;
}

/* Queues <job>; false when the queue is full. */
static bool
bd_cache_ddb_queue(bd_cache_ddb_t *d, bd_cache_ddb_job_t job)
{
    {
        std::lock_guard<std::mutex> lock(d->mu);
        if (d->stopping || d->jobs.size() >= BD_CACHE_DDB_QUEUE_MAX) {
            return false;
        }
        d->jobs.push_back(std::move(job));
    }
    d->cv.notify_one();
    return true;
}

void
bd_cache_ddb_lookup(bd_cache_ddb_t *d, const std::string &key, bd_worker_t *w,
                    bd_cache_ddb_found_pt found, void *data)
{
    bd_cache_ddb_job_t job{true, key, nullptr, w, found, data};
    if (!bd_cache_ddb_queue(d, job)) {
        bd_cache_ddb_answer(d, job, nullptr);
    }
}

void
bd_cache_ddb_worker(bd_cache_ddb_t *d, bd_worker_t *w, bool running)
{
    std::lock_guard<std::mutex> lock(d->mu);
    if (running) {
        d->workers.insert(w);
    } else {
        d->workers.erase(w);
    }
}

void
bd_cache_ddb_store(bd_cache_ddb_t *d, const std::string &key, bd_cache_entry_ref e)
{
    bd_cache_ddb_queue(d, bd_cache_ddb_job_t{false, key, std::move(e), nullptr, nullptr, nullptr});
}
