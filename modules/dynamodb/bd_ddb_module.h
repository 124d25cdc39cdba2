/*
 * bd_ddb_module.h: the dynamodb module: the `dynamodb { }` block and the sync
 * thread's process lifetime (started after the store, stopped after the store has
 * written every queued record, so that the final push sees them all).
 */
#ifndef BD_DDB_MODULE_H
#define BD_DDB_MODULE_H

#include "core/bd_module.h"
#include "modules/dynamodb/bd_ddb_sync.h"

struct bd_process_t;

/* The running sync, or null when DynamoDB is off. Any thread while workers run. */
bd_ddb_sync_t *bd_ddb_get(bd_process_t *p);

/* The lease table of fleet-wide limits, or null when DynamoDB is off. Any thread. */
bd_ddb_leases_t *bd_ddb_leases(bd_process_t *p);

/* The fleet-wide concurrency slots, or null when DynamoDB is off. Any thread. */
bd_ddb_conc_t *bd_ddb_conc(bd_process_t *p);

/* The sync's state in /ready's JSON and in /metrics (bd_ddb_status.cc). */
void bd_ddb_ready_json(bd_process_t *p, const bd_snapshot_t *snap, std::string *json);
void bd_ddb_metrics(bd_process_t *p, std::string *out);

extern bd_module_t bd_dynamodb_module;

#endif
