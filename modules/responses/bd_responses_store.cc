/*
 * bd_responses_store.cc: stored responses in the store's SQLite file. Every read and
 * write is a job on the store thread (modules/store), so a worker never waits on the
 * disk and a read sees every write queued before it. A lookup's answer travels back to
 * the asking worker as a message; a request that ended meanwhile is told by its cleanup,
 * and a worker that left gets nothing. Expired rows are deleted by the writes, at most
 * once a minute.
 */
#include "modules/responses/bd_responses_int.h"

#include <pthread.h>
#include <sys/time.h>

#include <set>

#include <sqlite3.h>

#include "core/bd_log.h"
#include "core/bd_worker.h"
#include "modules/store/bd_store_module.h"

enum { BD_RESP_PUT, BD_RESP_GET, BD_RESP_DELETE };

static const int64_t BD_RESP_PURGE_EVERY_MS = 60000;

struct bd_responses_wait_t;

struct bd_responses_job_t {
    int op;
    std::string id, key_id;
    std::string response, input; /* PUT: what to write; GET: what was read */
    int64_t now_ms, expires_ms;
    int found;
    /* the answer (GET, DELETE) */
    bd_worker_t *w;
    bd_request_t *r; /* null once the request ended */
    bd_responses_wait_t *wait;
    bd_responses_found_pt found_fn;
};

/* The request's side of a lookup: its cleanup tells the job the request is gone. */
struct bd_responses_wait_t {
    bd_responses_job_t *job;
};

static pthread_mutex_t bd_responses_workers_lock = PTHREAD_MUTEX_INITIALIZER;
static std::set<bd_worker_t *> bd_responses_workers;

void
bd_responses_store_worker_add(bd_worker_t *w)
{
    pthread_mutex_lock(&bd_responses_workers_lock);
    bd_responses_workers.insert(w);
    pthread_mutex_unlock(&bd_responses_workers_lock);
}

void
bd_responses_store_worker_remove(bd_worker_t *w)
{
    pthread_mutex_lock(&bd_responses_workers_lock);
    bd_responses_workers.erase(w);
    pthread_mutex_unlock(&bd_responses_workers_lock);
}

static int64_t
bd_responses_now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, nullptr);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* --- on the store thread --- */

static int
bd_responses_db_exec(sqlite3 *db, const char *sql, bd_responses_job_t *j, bool read)
{
    sqlite3_stmt *st = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) {
        return -1;
    }
    int n = 1;
    sqlite3_bind_text(st, n++, j->id.data(), (int)j->id.size(), SQLITE_STATIC);
    sqlite3_bind_text(st, n++, j->key_id.data(), (int)j->key_id.size(), SQLITE_STATIC);
    if (j->op == BD_RESP_PUT) {
        sqlite3_bind_int64(st, n++, j->now_ms);
        sqlite3_bind_int64(st, n++, j->expires_ms);
        sqlite3_bind_text(st, n++, j->response.data(), (int)j->response.size(), SQLITE_STATIC);
        sqlite3_bind_text(st, n++, j->input.data(), (int)j->input.size(), SQLITE_STATIC);
    } else {
        sqlite3_bind_int64(st, n++, j->now_ms);
    }
    int rc = sqlite3_step(st);
    int found = 0;
    if (read && rc == SQLITE_ROW) {
        j->response.assign((const char *)sqlite3_column_text(st, 0),
                           (size_t)sqlite3_column_bytes(st, 0));
        j->input.assign((const char *)sqlite3_column_text(st, 1),
                        (size_t)sqlite3_column_bytes(st, 1));
        found = 1;
    } else if (!read && rc == SQLITE_DONE) {
        found = sqlite3_changes(db) > 0 ? 1 : 0;
    } else if (rc != SQLITE_DONE) {
        found = -1;
    }
    sqlite3_finalize(st);
    return found;
}

static void
bd_responses_purge(sqlite3 *db, int64_t now_ms)
{
    static int64_t last_ms; /* the store thread's alone */
    if (now_ms - last_ms < BD_RESP_PURGE_EVERY_MS) {
        return;
    }
    last_ms = now_ms;
    sqlite3_stmt *st = nullptr;
    if (sqlite3_prepare_v2(db, "DELETE FROM responses WHERE expires_ms <= ?", -1, &st,
                           nullptr) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, now_ms);
        sqlite3_step(st);
    }
    sqlite3_finalize(st);
}

static void bd_responses_on_answer(bd_worker_t *w, void *arg);

static void
bd_responses_job_run(sqlite3 *db, void *arg)
{
    bd_responses_job_t *j = (bd_responses_job_t *)arg;
    if (j->op == BD_RESP_PUT) {
        if (bd_responses_db_exec(db,
                                 "INSERT OR REPLACE INTO responses (id, key_id, created_ms, "
                                 "expires_ms, response, input) VALUES (?, ?, ?, ?, ?, ?)",
                                 j, false) < 0) {
            bd_log_error(BD_LOG_ERR, nullptr, "store: writing response %s failed: %s",
                         j->id.c_str(), sqlite3_errmsg(db));
        }
        bd_responses_purge(db, j->now_ms);
        delete j;
        return;
    }
    j->found = j->op == BD_RESP_GET
                   ? bd_responses_db_exec(db,
                                          "SELECT response, input FROM responses WHERE id = ? "
                                          "AND key_id = ? AND expires_ms > ?",
                                          j, true)
                   : bd_responses_db_exec(db,
                                          "DELETE FROM responses WHERE id = ? AND key_id = ? "
                                          "AND expires_ms > ?",
                                          j, false);
    if (j->found < 0) {
        bd_log_error(BD_LOG_ERR, nullptr, "store: reading response %s failed: %s", j->id.c_str(),
                     sqlite3_errmsg(db));
    }
    pthread_mutex_lock(&bd_responses_workers_lock);
    if (bd_responses_workers.count(j->w) == 0) {
        pthread_mutex_unlock(&bd_responses_workers_lock);
        delete j; /* the worker left: its requests are gone */
        return;
    }
    bd_msg_t msg;
    msg.type = BD_MSG_CALL;
    msg.snap = nullptr;
    msg.fn = bd_responses_on_answer;
    msg.arg = j;
    bd_worker_post(j->w, &msg);
    pthread_mutex_unlock(&bd_responses_workers_lock);
}

/* --- on the worker --- */

static void
bd_responses_wait_end(void *data)
{
    bd_responses_wait_t *wait = (bd_responses_wait_t *)data;
    if (wait->job != nullptr) {
        wait->job->r = nullptr;
        wait->job->wait = nullptr;
    }
    delete wait;
}

static void
bd_responses_on_answer(bd_worker_t *, void *arg)
{
    bd_responses_job_t *j = (bd_responses_job_t *)arg;
    bd_responses_row_t row = {nullptr, nullptr};
    if (j->found == 1 && j->op == BD_RESP_GET) {
        row.response = json_loadb(j->response.data(), j->response.size(), 0, nullptr);
        row.input = json_loadb(j->input.data(), j->input.size(), 0, nullptr);
        if (!json_is_object(row.response) || !json_is_array(row.input)) {
            json_decref(row.response);
            json_decref(row.input);
            row = {nullptr, nullptr};
            j->found = -1;
        }
    }
    if (j->r != nullptr) {
        j->wait->job = nullptr;
        j->found_fn(j->r, j->found, &row);
    }
    json_decref(row.response);
    json_decref(row.input);
    delete j;
}

int
bd_responses_store_put(bd_request_t *r, json_t *response, json_t *input)
{
    bd_store_t *s = bd_store_get(r->w->process);
    if (s == nullptr) {
        return -1;
    }
    bd_responses_job_t *j = new bd_responses_job_t();
    j->op = BD_RESP_PUT;
    j->id = json_string_value(json_object_get(response, "id"));
    j->key_id = r->key_id;
    j->now_ms = bd_responses_now_ms();
    j->expires_ms = j->now_ms + bd_responses_conf(r)->retention_ms;
    char *text = json_dumps(response, JSON_COMPACT);
    j->response = text ? text : "{}";
    free(text);
    text = json_dumps(input, JSON_COMPACT);
    j->input = text ? text : "[]";
    free(text);
    /* the client's media, set aside before the parse, are kept as the client sent them */
    bd_json_slices_paste(&bd_api_req(r)->slices, &j->input);
    bd_json_slices_paste(&bd_api_req(r)->slices, &j->response);
    if (bd_store_job_post(s, bd_responses_job_run, j) != 0) {
        bd_log_error(BD_LOG_ERR, r->id, "store: queue full, response %s not stored",
                     j->id.c_str());
        delete j;
        return -1;
    }
    return 0;
}

int
bd_responses_store_get(bd_request_t *r, const std::string &id, bool remove,
                       bd_responses_found_pt found)
{
    bd_store_t *s = bd_store_get(r->w->process);
    if (s == nullptr) {
        return -1;
    }
    bd_responses_job_t *j = new bd_responses_job_t();
    j->op = remove ? BD_RESP_DELETE : BD_RESP_GET;
    j->id = id;
    j->key_id = r->key_id;
    j->now_ms = bd_responses_now_ms();
    j->found = 0;
    j->w = r->w;
    j->r = r;
    j->found_fn = found;
    bd_responses_wait_t *wait = new bd_responses_wait_t{j};
    j->wait = wait;
    if (bd_store_job_post(s, bd_responses_job_run, j) != 0) {
        delete wait;
        delete j;
        return -1;
    }
    bd_request_add_cleanup(r, bd_responses_wait_end, wait);
    return 0;
}
