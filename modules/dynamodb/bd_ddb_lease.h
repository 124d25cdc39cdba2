/*
 * bd_ddb_lease.h: fleet-wide requests and tokens per minute, the local side. A
 * key's allowance for one UTC minute is a counter item in the limits table; each
 * task leases slices of it (conditional ADD: the counter never passes the limit)
 * on the sync thread, and its workers admit from what the task holds without
 * waiting. Until its first slice of a minute lands a task may admit one slice on
 * credit, which the sync thread then adds to the counter unconditionally (debt).
 * Hence per key and UTC minute, fleet-wide:
 *
 *     admitted <= limit + tasks * slice      (slice = lease_percent of the limit)
 *
 * (tokens: plus, per task, the excess of one request over its estimate). While
 * DynamoDB is unreachable the workers fall back to a per-task share (limit /
 * expected_tasks) in the local buckets. The table is sharded; a worker locks one
 * shard for the arithmetic of one entry. Workers and the sync thread.
 */
#ifndef BD_DDB_LEASE_H
#define BD_DDB_LEASE_H

#include <stdint.h>

#include <string>
#include <vector>

enum bd_ddb_lease_kind_e {
    BD_DDB_LEASE_RPM = 0,
    BD_DDB_LEASE_TPM,
};

struct bd_ddb_leases_t;

/* <percent> of a limit is one slice (at least 1); <expected_tasks> divides a limit
 * into the per-task share. */
bd_ddb_leases_t *bd_ddb_leases_create(int64_t percent, int64_t expected_tasks);
void bd_ddb_leases_destroy(bd_ddb_leases_t *l);

/* The UTC minute of <wall_ms>. */
int64_t bd_ddb_lease_window(int64_t wall_ms);

/* One slice of <limit>. */
int64_t bd_ddb_lease_slice(const bd_ddb_leases_t *l, int64_t limit);

/* Worker side. */

/* Whether the fleet counters are out of reach (the workers use per-task shares). */
bool bd_ddb_leases_degraded(const bd_ddb_leases_t *l);

/* A task's share of <limit>: ceil(limit / expected_tasks); 0 stays 0. */
int64_t bd_ddb_leases_share(const bd_ddb_leases_t *l, int64_t limit);

/* Takes <amount> of <key>'s <kind> allowance for the minute of <wall_ms>. Tokens may
 * overdraw the last bit of what the task holds; requests may not. Returns 0, or -1
 * with *<wait_ms> until the next minute. */
int bd_ddb_leases_take(bd_ddb_leases_t *l, const std::string &key, int kind, int64_t limit,
                       int64_t amount, int64_t wall_ms, int64_t *wait_ms);

/* Gives back <amount> (negative takes more) taken in the minute of <taken_ms>; a
 * minute that has passed is left alone. */
void bd_ddb_leases_give(bd_ddb_leases_t *l, const std::string &key, int kind, int64_t amount,
                        int64_t taken_ms);

/* Sync side. */

/* What one entry needs from its counter: <debt> (used beyond what the counter
 * knows, added unconditionally) and <want> (a new slice, added only while the
 * counter stays within the limit). */
struct bd_ddb_lease_need_t {
    std::string key;
    int kind;
    int64_t window;
    int64_t limit;
    int64_t debt;
    int64_t want;
};

/* The entries of the current minute that run low or owe, as of <wall_ms>. */
void bd_ddb_leases_needs(bd_ddb_leases_t *l, int64_t wall_ms, std::vector<bd_ddb_lease_need_t> *out);

/* The counter took <n>'s debt and, when <granted>, its want; when not granted, the
 * minute's allowance is spent for this task (no more slices until the next one). */
void bd_ddb_leases_settle(bd_ddb_leases_t *l, const bd_ddb_lease_need_t *n, bool granted);

void bd_ddb_leases_set_degraded(bd_ddb_leases_t *l, bool degraded);

/* Counters for /metrics. */
struct bd_ddb_lease_stats_t {
    uint64_t granted;  /* slices leased */
    uint64_t spent;    /* slices refused: the minute's allowance is gone */
    uint64_t refused;  /* requests refused because the task held no allowance */
};
void bd_ddb_leases_stats(const bd_ddb_leases_t *l, bd_ddb_lease_stats_t *out);

#endif
