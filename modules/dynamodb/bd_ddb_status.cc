/*
 * bd_ddb_status.cc: the sync's state for operators: the "dynamodb" member of
 * /ready's JSON (readiness itself does not depend on it: a task without DynamoDB
 * keeps serving) and the bedrockd_dynamodb_* families of /metrics. Any thread.
 */
#include "modules/dynamodb/bd_ddb_module.h"

#include "core/bd_json.h"
#include "modules/metrics/bd_metrics.h"

void
bd_ddb_ready_json(bd_process_t *p, const bd_snapshot_t *, std::string *json)
{
    bd_ddb_sync_t *s = bd_ddb_get(p);
    if (s == nullptr) {
        return;
    }
    bd_ddb_sync_info_t i;
    bd_ddb_sync_info(s, &i);
    bool degraded = bd_ddb_leases_degraded(bd_ddb_sync_leases(s));
    json->append(",\"dynamodb\":{\"reachable\":");
    json->append(i.reachable ? "true" : "false");
    json->append(",\"limits\":");
    json->append(degraded ? "\"per_task_share\"" : "\"fleet\"");
    json->append(",\"usage_backlog\":" + std::to_string(i.backlog));
    json->append(",\"aggregate_backlog\":" + std::to_string(i.aggregate_backlog));
    json->append(",\"last_push_ms\":" + std::to_string(i.last_push_ms));
    json->append(",\"last_pull_ms\":" + std::to_string(i.last_pull_ms));
    json->append(",\"last_error\":");
    bd_json_append_string(json, i.last_error.data(), i.last_error.size());
    json->append("}");
}

void
bd_ddb_metrics(bd_process_t *p, std::string *out)
{
    bd_ddb_sync_t *s = bd_ddb_get(p);
    if (s == nullptr) {
        return;
    }
    bd_ddb_sync_info_t i;
    bd_ddb_sync_info(s, &i);
    bd_ddb_leases_t *l = bd_ddb_sync_leases(s);
    bd_ddb_lease_stats_t ls;
    bd_ddb_leases_stats(l, &ls);
    bd_ddb_conc_stats_t cs;
    bd_ddb_conc_stats(bd_ddb_sync_conc(s), &cs);
    struct {
        const char *name, *help;
        int type;
        double v;
    } rows[] = {
        {"bedrockd_dynamodb_reachable", "1 when the last call to DynamoDB got an answer, else 0.",
         BD_METRICS_GAUGE, i.reachable ? 1.0 : 0.0},
        {"bedrockd_dynamodb_limits_degraded",
         "1 while rate limits fall back to a per-task share because DynamoDB is unreachable.",
         BD_METRICS_GAUGE, bd_ddb_leases_degraded(l) ? 1.0 : 0.0},
        {"bedrockd_dynamodb_usage_backlog", "Usage rows in the local outbox not pushed yet.",
         BD_METRICS_GAUGE, (double)i.backlog},
        {"bedrockd_dynamodb_usage_aggregate_backlog",
         "Usage rows in the local outbox not added to the aggregates yet.", BD_METRICS_GAUGE,
         (double)i.aggregate_backlog},
        {"bedrockd_dynamodb_usage_items_pushed_total", "Usage request items written to DynamoDB.",
         BD_METRICS_COUNTER, (double)i.items_pushed},
        {"bedrockd_dynamodb_push_failures_total", "Usage push rounds that failed and wait.",
         BD_METRICS_COUNTER, (double)i.push_failures},
        {"bedrockd_dynamodb_pulls_total", "Table reads that changed the local keys or model map.",
         BD_METRICS_COUNTER, (double)i.pulls},
        {"bedrockd_dynamodb_skipped_items_total", "Malformed table items skipped.",
         BD_METRICS_COUNTER, (double)i.skipped_items},
        {"bedrockd_dynamodb_last_push_timestamp_seconds",
         "When a usage push round last succeeded (0: never).", BD_METRICS_GAUGE,
         (double)i.last_push_ms / 1000.0},
        {"bedrockd_dynamodb_lease_slices_total", "Rate-limit slices leased from the fleet counters.",
         BD_METRICS_COUNTER, (double)ls.granted},
        {"bedrockd_dynamodb_lease_spent_total",
         "Slices the fleet counters refused: the key's minute was used up.", BD_METRICS_COUNTER,
         (double)ls.spent},
        {"bedrockd_dynamodb_concurrency_slots_held",
         "Concurrency slots of keys this task holds in the fleet counters.", BD_METRICS_GAUGE,
         (double)cs.held},
        {"bedrockd_dynamodb_concurrency_slots_reclaimed_total",
         "Concurrency slots of expired tasks this task took back.", BD_METRICS_COUNTER,
         (double)cs.reclaimed},
        {"bedrockd_dynamodb_concurrency_refused_total",
         "Requests refused because this task held no free concurrency slot of their key.",
         BD_METRICS_COUNTER, (double)cs.refused},
    };
    for (const auto &r : rows) {
        bd_metrics_render_value(out, r.name, r.help, r.type, r.v);
    }
}
