/*
 * bd_cache_ddb.h: the response cache's second level, the DynamoDB cache table, on a
 * thread of its own with its own DynamoDB client (short timeouts, one attempt): a
 * worker hands it a lookup or a store and never waits for it; a lookup's answer comes
 * back on the worker's mailbox (a hit or a miss), and the worker bounds the wait
 * with its own timer.
 */
#ifndef BD_CACHE_DDB_H
#define BD_CACHE_DDB_H

#include <stdint.h>

#include <memory>
#include <string>

#include "modules/cache/bd_cache_lru.h"

struct bd_worker_t;
struct bd_ddb_conf_t;
struct bd_cache_ddb_t;

/* A lookup's answer for worker <w>: <data> as given, the entry or null. Runs on <w>. */
typedef void (*bd_cache_ddb_found_pt)(bd_worker_t *w, void *data, bd_cache_entry_ref e);

/* Starts the thread for the cache table of <conf> (the dynamodb block, resolved).
 * Returns null with <err>. Main thread. */
bd_cache_ddb_t *bd_cache_ddb_start(const bd_ddb_conf_t *conf, std::string *err);

/* Stops the thread (pending stores are dropped: the cache is a cache) and frees it. */
void bd_cache_ddb_stop(bd_cache_ddb_t *d);

/* Queues a GetItem of <key>; <found>(<w>, <data>, entry) runs on <w> once DynamoDB
 * answered or failed. <data> must stay valid until then. Any worker. */
void bd_cache_ddb_lookup(bd_cache_ddb_t *d, const std::string &key, bd_worker_t *w,
                         bd_cache_ddb_found_pt found, void *data);

/* Worker <w> starts (<running>) or leaves: answers go to running workers only. Called
 * on <w>'s thread from init_worker and exit_worker. */
void bd_cache_ddb_worker(bd_cache_ddb_t *d, bd_worker_t *w, bool running);

/* Queues a PutItem of <e> under <key> (skipped when too large). Any worker. */
void bd_cache_ddb_store(bd_cache_ddb_t *d, const std::string &key, bd_cache_entry_ref e);

#endif
