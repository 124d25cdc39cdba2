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

extern bd_module_t bd_dynamodb_module;

#endif
