/*
 * bd_store_module.h: the store as the daemon runs it. One store thread owns the
 * writing SQLite connection: reactors hand it usage records through a queue and
 * read keys (bd_keys.h) and model map additions (bd_models_publish_additions) from
 * immutable tables it publishes whenever the file changes (bedrockctl's commits, seen
 * via PRAGMA data_version): the store depends on the model map, never the other way
 * round.
 *
 *   store /var/lib/bedrockd/bedrockd.db;   # or `store off;`
 *   store_flush_interval 5ms;              # how long a usage record may wait for a batch
 */
#ifndef BD_STORE_MODULE_H
#define BD_STORE_MODULE_H

#include <stdint.h>

#include <atomic>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/bd_module.h"
#include "modules/store/bd_store.h"

struct bd_process_t;
struct bd_snapshot_t;

struct bd_store_t; /* the running store (bd_store_thread.cc) */

/* The store path of <snap>'s configuration, "" for `store off` (after init_conf). */
const std::string &bd_store_conf_path(const bd_snapshot_t *snap);

/* The process's store, or null when the store is off. Any thread. */
bd_store_t *bd_store_get(bd_process_t *p);

/* The path of the running store file, or null when the store is off. Main thread. */
const char *bd_store_path(bd_process_t *p);

/* Makes the store thread look for other connections' commits now and publish
 * what changed before it returns (the DynamoDB sync's first pull at start). Not for
 * reactors: it waits for the store thread. */
void bd_store_refresh(bd_store_t *s);

/* Queues <rec> (moved from) for the store thread. Never blocks on the disk: it
 * takes the queue mutex for an append. Returns 0, or -1 when the queue is full
 * (the record is dropped and counted). Any thread. */
int bd_store_usage_post(bd_store_t *s, bd_usage_record_t *rec);

/* A piece of work for the store thread, run with its connection. */
typedef void (*bd_store_job_pt)(struct sqlite3 *db, void *arg);

/* Queues <fn>(db, <arg>) for the store thread, which runs jobs in the order they were
 * queued, before the usage records that wait with them, and all of them before it stops.
 * A job that answers a worker posts its answer itself. Never blocks on the disk: it takes
 * the queue mutex for an append. Returns 0, or -1 when the queue is full (nothing runs).
 * Any thread. */
int bd_store_job_post(bd_store_t *s, bd_store_job_pt fn, void *arg);

extern bd_module_t bd_store_module;

#endif
