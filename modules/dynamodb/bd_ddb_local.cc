/*
 * bd_ddb_local.cc: SQL of the sync on the store file: key and model mirrors, the
 * sync_state values and the usage outbox rounds. The outboxes are the usage table
 * itself: rows up to sync_state "pushed_upto" have their items pushed, rows up to
 * "agg_upto" are in the aggregates; a round in progress is (round_lo, round_hi]
 * with sequence round_seq, or (agg_lo, agg_hi] with agg_seq.
 */
#include "modules/dynamodb/bd_ddb_local.h"

#include <string.h>

#include <openssl/rand.h>
#include <sqlite3.h>

#include <algorithm>
#include <set>
#include <unordered_map>

static int
bd_ddb_sql(sqlite3 *db, const char *sql, std::string *err)
{
    char *msg = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
        *err = msg ? msg : sqlite3_errmsg(db);
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static int
bd_ddb_rollback(sqlite3 *db, std::string *err, const std::string &why)
{
    *err = why;
    std::string ignored;
    bd_ddb_sql(db, "ROLLBACK", &ignored);
    return -1;
}

/* Runs a one-parameter text statement (DELETE/UPDATE ... WHERE x = ?1). */
static int
bd_ddb_exec_text(sqlite3 *db, const char *sql, const std::string &arg, std::string *err)
{
    sqlite3_stmt *st = nullptr;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, nullptr);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, arg.c_str(), -1, SQLITE_TRANSIENT);
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
    }
    if (rc != SQLITE_OK) {
        *err = sqlite3_errmsg(db);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_OK ? 0 : -1;
}

/* The ids (or names) of rows of <table> with source "dynamodb". */
static int
bd_ddb_source_ids(sqlite3 *db, const char *sql, std::set<std::string> *out, std::string *err)
{
    sqlite3_stmt *st = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) {
        *err = sqlite3_errmsg(db);
        return -1;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        out->insert((const char *)sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        *err = sqlite3_errmsg(db);
        return -1;
    }
    return 0;
}

static bool
bd_ddb_key_same(const bd_key_t &a, const bd_key_t &b)
{
    return a.id == b.id && a.hash == b.hash && a.prefix == b.prefix && a.name == b.name &&
           a.owner == b.owner && a.active == b.active && a.created_ms == b.created_ms &&
           a.expires_ms == b.expires_ms && a.rpm == b.rpm && a.tpm == b.tpm &&
           a.concurrency == b.concurrency && a.models == b.models && a.metadata == b.metadata &&
           a.budget_tokens == b.budget_tokens && a.budget_usd_micros == b.budget_usd_micros;
}

int
bd_ddb_local_mirror_keys(sqlite3 *db, const std::vector<bd_key_t> &keys, std::string *err)
{
    if (bd_ddb_sql(db, "BEGIN IMMEDIATE", err) != 0) {
        return -1;
    }
    std::vector<bd_key_t> local;
    std::set<std::string> mirrored;
    if (bd_store_keys_load(db, &local, err) != 0 ||
        bd_ddb_source_ids(db, "SELECT id FROM keys WHERE source = 'dynamodb'", &mirrored, err) != 0) {
        return bd_ddb_rollback(db, err, *err);
    }
    std::unordered_map<std::string, const bd_key_t *> by_id;
    for (const bd_key_t &k : local) {
        by_id[k.id] = &k;
    }
    int changes = 0;
    std::set<std::string> seen;
    for (const bd_key_t &k : keys) {
        seen.insert(k.id);
        auto it = by_id.find(k.id);
        if (it != by_id.end() && mirrored.count(k.id) && bd_ddb_key_same(*it->second, k)) {
            continue;
        }
        /* DynamoDB wins over a local row with the same id or secret. */
        std::string hex = bd_key_hex(k.hash);
        if (bd_ddb_exec_text(db, "DELETE FROM keys WHERE id = ?1", k.id, err) != 0 ||
            bd_ddb_exec_text(db, "DELETE FROM keys WHERE hash = ?1", hex, err) != 0 ||
            bd_store_key_insert(db, &k, err) != 0 ||
            bd_ddb_exec_text(db, "UPDATE keys SET source = 'dynamodb' WHERE id = ?1", k.id, err) != 0) {
            return bd_ddb_rollback(db, err, "key " + k.id + ": " + *err);
        }
        changes++;
    }
    for (const std::string &id : mirrored) {
        if (!seen.count(id)) {
            if (bd_ddb_exec_text(db, "DELETE FROM keys WHERE id = ?1", id, err) != 0) {
                return bd_ddb_rollback(db, err, *err);
            }
            changes++;
        }
    }
    if (bd_ddb_sql(db, changes ? "COMMIT" : "ROLLBACK", err) != 0) {
        return bd_ddb_rollback(db, err, *err);
    }
    return changes;
}

int
bd_ddb_local_mirror_models(sqlite3 *db, const std::vector<bd_store_model_t> &models,
                           std::string *err)
{
    if (bd_ddb_sql(db, "BEGIN IMMEDIATE", err) != 0) {
        return -1;
    }
    std::vector<bd_store_model_t> local;
    std::set<std::string> mirrored;
    if (bd_store_models_load(db, &local, err) != 0 ||
        bd_ddb_source_ids(db, "SELECT name FROM models WHERE source = 'dynamodb'", &mirrored, err) !=
            0) {
        return bd_ddb_rollback(db, err, *err);
    }
    std::unordered_map<std::string, const bd_store_model_t *> by_name;
    for (const bd_store_model_t &m : local) {
        by_name[m.name] = &m;
    }
    int changes = 0;
    std::set<std::string> seen;
    for (const bd_store_model_t &m : models) {
        seen.insert(m.name);
        auto it = by_name.find(m.name);
        if (it != by_name.end() && mirrored.count(m.name) && it->second->bedrock_id == m.bedrock_id &&
            it->second->route == m.route && it->second->updated_ms == m.updated_ms) {
            continue;
        }
        if (bd_store_model_set(db, &m, err) != 0 ||
            bd_ddb_exec_text(db, "UPDATE models SET source = 'dynamodb' WHERE name = ?1", m.name,
                             err) != 0) {
            return bd_ddb_rollback(db, err, "model " + m.name + ": " + *err);
        }
        changes++;
    }
    for (const std::string &name : mirrored) {
        if (!seen.count(name)) {
            if (bd_ddb_exec_text(db, "DELETE FROM models WHERE name = ?1", name, err) != 0) {
                return bd_ddb_rollback(db, err, *err);
            }
            changes++;
        }
    }
    if (bd_ddb_sql(db, changes ? "COMMIT" : "ROLLBACK", err) != 0) {
        return bd_ddb_rollback(db, err, *err);
    }
    return changes;
}

int64_t
bd_ddb_local_state(sqlite3 *db, const char *name, int64_t dflt)
{
    sqlite3_stmt *st = nullptr;
    int64_t v = dflt;
    if (sqlite3_prepare_v2(db, "SELECT value FROM sync_state WHERE name = ?1", -1, &st, nullptr) ==
        SQLITE_OK) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            v = sqlite3_column_int64(st, 0);
        }
    }
    sqlite3_finalize(st);
    return v;
}

int
bd_ddb_local_set_state(sqlite3 *db, const char *name, int64_t value, std::string *err)
{
    sqlite3_stmt *st = nullptr;
    int rc = sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO sync_state (name, value) VALUES (?1, ?2)",
                                -1, &st, nullptr);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, value);
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
    }
    if (rc != SQLITE_OK) {
        *err = sqlite3_errmsg(db);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_OK ? 0 : -1;
}

std::string
bd_ddb_local_task_id(sqlite3 *db, std::string *err)
{
    int64_t id = bd_ddb_local_state(db, "task_id", 0);
    if (id == 0) {
        unsigned char raw[8];
        if (RAND_bytes(raw, sizeof(raw)) != 1) {
            *err = "the random generator failed";
            return "";
        }
        uint64_t v = 0;
        memcpy(&v, raw, sizeof(v));
        id = (int64_t)(v >> 1) | 1;
        if (bd_ddb_local_set_state(db, "task_id", id, err) != 0) {
            return "";
        }
    }
    char buf[17];
    snprintf(buf, sizeof(buf), "%016llx", (unsigned long long)id);
    return buf;
}

/* Column <i> as text into <out>, reusing its buffer. */
static void
bd_ddb_col(sqlite3_stmt *st, int i, std::string *out)
{
    const unsigned char *s = sqlite3_column_text(st, i);
    if (s == nullptr) {
        out->clear();
        return;
    }
    out->assign((const char *)s, (size_t)sqlite3_column_bytes(st, i));
}

/* The columns of a request item, and the few an aggregate adds up: an aggregates
 * round reads the rows a second time, so it reads only what it needs. */
static const char bd_ddb_round_sql_full[] =
    "SELECT id, time_ms, key_id, model, model_resolved, status, input_tokens, output_tokens, "
    "cache_read_tokens, cache_write_tokens, request_id, api, route, latency_ms, ttft_ms, "
    "streamed, client_gone, user_id, session_id, cached FROM usage WHERE id > ?1 AND id <= ?2 "
    "ORDER BY id";
static const char bd_ddb_round_sql_sums[] =
    "SELECT id, time_ms, key_id, model, model_resolved, status, input_tokens, output_tokens, "
    "cache_read_tokens, cache_write_tokens FROM usage WHERE id > ?1 AND id <= ?2 ORDER BY id";

static int
bd_ddb_round_rows(sqlite3 *db, bool sums_only, bd_ddb_round_t *r, std::string *err)
{
    sqlite3_stmt *st = nullptr;
    const char *sql = sums_only ? bd_ddb_round_sql_sums : bd_ddb_round_sql_full;
    if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) {
        *err = sqlite3_errmsg(db);
        return -1;
    }
    sqlite3_bind_int64(st, 1, r->lo);
    sqlite3_bind_int64(st, 2, r->hi);
    /* Rows of the round before are overwritten in place: their strings keep their
     * buffers, so a round of thousands of rows allocates next to nothing. */
    size_t n = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == r->rows.size()) {
            r->rows.emplace_back();
        }
        bd_ddb_usage_row_t &row = r->rows[n++];
        bd_usage_record_t &u = row.rec;
        row.id = sqlite3_column_int64(st, 0);
        u.time_ms = sqlite3_column_int64(st, 1);
        bd_ddb_col(st, 2, &u.key_id);
        bd_ddb_col(st, 3, &u.model);
        bd_ddb_col(st, 4, &u.model_resolved);
        u.status = sqlite3_column_int(st, 5);
        u.input_tokens = sqlite3_column_int64(st, 6);
        u.output_tokens = sqlite3_column_int64(st, 7);
        u.cache_read_tokens = sqlite3_column_int64(st, 8);
        u.cache_write_tokens = sqlite3_column_int64(st, 9);
        if (sums_only) {
            continue;
        }
        bd_ddb_col(st, 10, &u.request_id);
        bd_ddb_col(st, 11, &u.api);
        bd_ddb_col(st, 12, &u.route);
        u.latency_ms = sqlite3_column_int64(st, 13);
        u.ttft_ms = sqlite3_column_int64(st, 14);
        u.streamed = sqlite3_column_int(st, 15) != 0;
        u.client_gone = sqlite3_column_int(st, 16) != 0;
        bd_ddb_col(st, 17, &u.user_id);
        bd_ddb_col(st, 18, &u.session_id);
        u.cached = sqlite3_column_int(st, 19) != 0;
    }
    r->rows.resize(n);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        *err = sqlite3_errmsg(db);
        return -1;
    }
    return 0;
}

/* The id of the <n>th row after <after>, or of the last one when there are fewer;
 * <after> when there is none. */
static int64_t
bd_ddb_round_end(sqlite3 *db, int64_t after, int64_t n)
{
    sqlite3_stmt *st = nullptr;
    int64_t hi = after;
    if (sqlite3_prepare_v2(db,
                           "SELECT max(id) FROM (SELECT id FROM usage WHERE id > ?1 ORDER BY id "
                           "LIMIT ?2)",
                           -1, &st, nullptr) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, after);
        sqlite3_bind_int64(st, 2, n);
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
            hi = sqlite3_column_int64(st, 0);
        }
    }
    sqlite3_finalize(st);
    return hi;
}

const bd_ddb_outbox_t bd_ddb_items_outbox = {"pushed_upto", "round_lo", "round_hi", "round_seq",
                                             false};
const bd_ddb_outbox_t bd_ddb_aggregates_outbox = {"agg_upto", "agg_lo", "agg_hi", "agg_seq", true};

int
bd_ddb_local_outbox_init(sqlite3 *db, std::string *err)
{
    const bd_ddb_outbox_t *items = &bd_ddb_items_outbox, *aggs = &bd_ddb_aggregates_outbox;
    if (bd_ddb_sql(db, "BEGIN IMMEDIATE", err) != 0) {
        return -1;
    }
    if (bd_ddb_local_state(db, aggs->upto, -1) >= 0) {
        bd_ddb_sql(db, "ROLLBACK", err);
        return 0;
    }
    int64_t upto = bd_ddb_local_state(db, items->upto, 0);
    int64_t lo = bd_ddb_local_state(db, items->lo, 0);
    int64_t hi = bd_ddb_local_state(db, items->hi, 0);
    int64_t seq = bd_ddb_local_state(db, items->seq, 0);
    if (hi <= lo) {
        lo = hi = upto; /* no round in progress: the next one takes a new sequence */
    }
    if (bd_ddb_local_set_state(db, aggs->upto, upto, err) != 0 ||
        bd_ddb_local_set_state(db, aggs->lo, lo, err) != 0 ||
        bd_ddb_local_set_state(db, aggs->hi, hi, err) != 0 ||
        bd_ddb_local_set_state(db, aggs->seq, seq, err) != 0 ||
        bd_ddb_sql(db, "COMMIT", err) != 0) {
        return bd_ddb_rollback(db, err, *err);
    }
    return 0;
}

int
bd_ddb_local_round(sqlite3 *db, const bd_ddb_outbox_t *box, int64_t max_rows,
                   bd_ddb_round_t *out, std::string *err)
{
    if (bd_ddb_sql(db, "BEGIN IMMEDIATE", err) != 0) {
        return -1;
    }
    int64_t lo = bd_ddb_local_state(db, box->lo, 0);
    int64_t hi = bd_ddb_local_state(db, box->hi, 0);
    int64_t seq = bd_ddb_local_state(db, box->seq, 0);
    if (hi <= lo) {
        lo = bd_ddb_local_state(db, box->upto, 0);
        hi = bd_ddb_round_end(db, lo, max_rows);
        if (hi == lo) {
            bd_ddb_sql(db, "ROLLBACK", err);
            return 0;
        }
        seq++;
        if (bd_ddb_local_set_state(db, box->seq, seq, err) != 0 ||
            bd_ddb_local_set_state(db, box->lo, lo, err) != 0 ||
            bd_ddb_local_set_state(db, box->hi, hi, err) != 0) {
            return bd_ddb_rollback(db, err, *err);
        }
    }
    out->seq = seq;
    out->lo = lo;
    out->hi = hi;
    if (bd_ddb_sql(db, "COMMIT", err) != 0) {
        return bd_ddb_rollback(db, err, *err);
    }
    /* Read after the commit: the rows of a recorded round never change (the store
     * only appends above them, the prune deletes only below), and reading thousands
     * of them under the write lock held the store thread's writes back. */
    return bd_ddb_round_rows(db, box->sums_only, out, err) == 0 ? 1 : -1;
}

int
bd_ddb_local_round_done(sqlite3 *db, const bd_ddb_outbox_t *box, const bd_ddb_round_t *r,
                        std::string *err)
{
    if (bd_ddb_sql(db, "BEGIN IMMEDIATE", err) != 0) {
        return -1;
    }
    if (bd_ddb_local_set_state(db, box->upto, r->hi, err) != 0 ||
        bd_ddb_local_set_state(db, box->lo, r->hi, err) != 0 ||
        bd_ddb_local_set_state(db, box->hi, r->hi, err) != 0 ||
        bd_ddb_sql(db, "COMMIT", err) != 0) {
        return bd_ddb_rollback(db, err, *err);
    }
    return 0;
}

int64_t
bd_ddb_local_backlog(sqlite3 *db, const bd_ddb_outbox_t *box)
{
    int64_t upto = bd_ddb_local_state(db, box->upto, 0);
    sqlite3_stmt *st = nullptr;
    int64_t n = -1;
    /* The ids above the mark are contiguous (the store only appends; pruning deletes
     * only rows at or below it), so their number is a difference of ids: O(log n),
     * where counting them cost a scan of the whole backlog after every round. */
    if (sqlite3_prepare_v2(db, "SELECT coalesce(max(id), 0) FROM usage", -1, &st, nullptr) ==
        SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) {
            n = std::max<int64_t>(sqlite3_column_int64(st, 0) - upto, 0);
        }
    }
    sqlite3_finalize(st);
    return n;
}

int64_t
bd_ddb_local_prune(sqlite3 *db, int64_t before_ms, std::string *err)
{
    /* A row stays until both its item and its aggregates are in DynamoDB. */
    int64_t upto = std::min(bd_ddb_local_state(db, bd_ddb_items_outbox.upto, 0),
                            bd_ddb_local_state(db, bd_ddb_aggregates_outbox.upto, 0));
    sqlite3_stmt *st = nullptr;
    int rc = sqlite3_prepare_v2(db,
                                "DELETE FROM usage WHERE id <= ?1 AND time_ms < ?2 AND "
                                "id < (SELECT max(id) FROM usage)",
                                -1, &st, nullptr);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, upto);
        sqlite3_bind_int64(st, 2, before_ms);
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_OK) {
        *err = sqlite3_errmsg(db);
        return -1;
    }
    return sqlite3_changes(db);
}
