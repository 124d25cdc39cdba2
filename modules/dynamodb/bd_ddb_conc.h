/*
 * bd_ddb_conc.h: fleet-wide concurrency, the local side. A key's concurrent
 * requests are counted fleet-wide in one item of the limits table (pk
 * "<key id>#conc"): `total` is the sum of the slots the tasks hold, and each task
 * has its own count and expiry (attributes t_<task> and x_<task>). The sync
 * thread keeps what this task holds at its requests in flight plus one slice,
 * growing only while `total` stays within the limit (conditional update), and
 * refreshes the expiry every third of limits_concurrency_ttl; a task that
 * stopped refreshing (dead, or cut off from DynamoDB) has its slots reclaimed
 * by the others once its expiry passed. Workers admit from what the task holds
 * without waiting; until the first slots land a task may run one slice on
 * credit, added to `total` unconditionally afterwards. Hence, fleet-wide:
 *
 *     in flight <= concurrency + tasks * slice   (slice = lease_percent of it, >= 1)
 *
 * Sharded like the lease table. Workers and the sync thread.
 */
#ifndef BD_DDB_CONC_H
#define BD_DDB_CONC_H

#include <stdint.h>

#include <string>
#include <vector>

struct bd_ddb_conc_t;

/* <percent> of a limit is one slice (at least 1); slots expire <ttl_ms> after
 * their last refresh. */
bd_ddb_conc_t *bd_ddb_conc_create(int64_t percent, int64_t ttl_ms);
void bd_ddb_conc_destroy(bd_ddb_conc_t *c);

int64_t bd_ddb_conc_slice(const bd_ddb_conc_t *c, int64_t limit);

/* Worker side: takes a slot of <key> (limit <limit>) at <now_ms>; false when the
 * task holds none free. Every true is matched by one give. */
bool bd_ddb_conc_take(bd_ddb_conc_t *c, const std::string &key, int64_t limit, int64_t now_ms);
void bd_ddb_conc_give(bd_ddb_conc_t *c, const std::string &key);

/* Sync side. One change of this task's count in a key's item: from <held> (what
 * the item holds for the task) to <target>. <debt> of the growth is already in
 * flight and is added whatever `total` is; the rest only while it stays within
 * <limit>. <read>: the item's state is unknown (a conditional update failed):
 * read it before writing. */
struct bd_ddb_conc_need_t {
    std::string key;
    int64_t limit;
    int64_t held;
    int64_t target;
    int64_t debt;
    bool read;
};

/* The entries that must change or be refreshed at <now_ms>; <release> asks for
 * every count to drop to what is in flight (the task is stopping). */
void bd_ddb_conc_needs(bd_ddb_conc_t *c, int64_t now_ms, bool release,
                       std::vector<bd_ddb_conc_need_t> *out);

enum bd_ddb_conc_outcome_e {
    BD_DDB_CONC_WRITTEN = 0, /* the item holds <target> for the task */
    BD_DDB_CONC_FULL,        /* growth refused: `total` is at the limit (item holds <held>) */
    BD_DDB_CONC_READ,        /* read back: the item holds <held> for the task */
};

/* What the item said for <n> at <now_ms>: with WRITTEN the count is <n>->target,
 * otherwise <held>. */
void bd_ddb_conc_settle(bd_ddb_conc_t *c, const bd_ddb_conc_need_t *n, int outcome, int64_t held,
                        int64_t now_ms);

/* Marks <key>'s item as unknown (read it next round). */
void bd_ddb_conc_unknown(bd_ddb_conc_t *c, const std::string &key);

void bd_ddb_conc_reclaimed(bd_ddb_conc_t *c, int64_t slots);

/* Counters for /metrics. */
struct bd_ddb_conc_stats_t {
    int64_t held;       /* slots this task holds in the fleet counters now */
    uint64_t reclaimed; /* slots of expired tasks this task took back */
    uint64_t refused;   /* requests refused: no free slot held */
};
void bd_ddb_conc_stats(bd_ddb_conc_t *c, bd_ddb_conc_stats_t *out);

#endif
