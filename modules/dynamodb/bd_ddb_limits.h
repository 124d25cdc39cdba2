/*
 * bd_ddb_limits.h: one lease round on the sync thread: what the lease table needs
 * goes to the limits table as UpdateItems on the counter items (pk
 * "<key id>#rpm#<minute>" or "#tpm#", attribute `used`, TTL `expires_at` two
 * minutes after the minute ends), a slice only while `used` stays within the limit.
 * And a concurrency round on the "<key id>#conc" items (bd_ddb_conc.h).
 */
#ifndef BD_DDB_LIMITS_H
#define BD_DDB_LIMITS_H

#include <string>
#include <vector>

#include "modules/dynamodb/bd_ddb_client.h"
#include "modules/dynamodb/bd_ddb_conc.h"
#include "modules/dynamodb/bd_ddb_conf.h"
#include "modules/dynamodb/bd_ddb_lease.h"

/* The counter item's partition key for <n>. */
std::string bd_ddb_lease_pk(const bd_ddb_lease_need_t *n);

/* Leases what <l> needs as of <wall_ms>. Returns 0 when DynamoDB answered every
 * update (granted or refused), -1 with <err> when it could not be reached or
 * refused for another reason (the needs stay and are asked again next round). */
int bd_ddb_lease_round(bd_ddb_client_t *client, const bd_ddb_conf_t *conf, bd_ddb_leases_t *l,
                       int64_t wall_ms, std::string *err);

/* Moves this task's (<task>) counts in the "<key id>#conc" items to what <c>
 * needs at <now_ms> (with <release>: to what is in flight, the task stops) and
 * takes back the slots of tasks whose expiry passed (a line each in <notes>).
 * Returns 0, or -1 with <err> when DynamoDB could not be reached. */
int bd_ddb_conc_round(bd_ddb_client_t *client, const bd_ddb_conf_t *conf, const std::string &task,
                      bd_ddb_conc_t *c, int64_t now_ms, bool release, std::string *err,
                      std::vector<std::string> *notes);

#endif
