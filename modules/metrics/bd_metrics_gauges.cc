/*
 * bd_metrics_gauges.cc: values read when a scrape happens rather than counted:
 * the workers' in-flight counters, the credential provider's state, library
 * versions, and the process's memory and descriptors from /proc (no disk I/O).
 * Runs on the scraping worker.
 */
#include <dirent.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <openssl/crypto.h>

#include "core/aws/bd_credentials.h"
#include "core/bd_core.h"
#include "core/bd_malloc.h"
#include "modules/bedrock/bd_bedrock.h"
#include "modules/bedrock/bd_bedrock_failover.h"
#include "modules/metrics/bd_metrics.h"

void
bd_metrics_render_value(std::string *out, const char *name, const char *help, int type, double v)
{
    bd_metrics_render_header(out, name, help, type);
    std::string value = bd_metrics_format_number(v);
    bd_metrics_render_sample(out, name, nullptr, nullptr, 0, value.c_str());
}

static void
bd_metrics_workers(const bd_metrics_live_t *live, std::string *out)
{
    bd_metrics_render_value(out, "bedrockd_requests_in_flight",
                     "Requests received and not yet finished (this scrape included).",
                     BD_METRICS_GAUGE, (double)live->active);
    bd_metrics_render_value(out, "bedrockd_streams_open", "Streaming responses in progress.",
                     BD_METRICS_GAUGE, (double)live->streams);
    bd_metrics_render_value(out, "bedrockd_connections",
                     "Client connections reading a request, busy with one or still writing "
                     "out its response; idle keep-alive connections are not counted.",
                     BD_METRICS_GAUGE, (double)(live->reading + live->active + live->flushing));
    bd_metrics_render_value(out, "bedrockd_workers", "Worker threads running.", BD_METRICS_GAUGE,
                     (double)live->workers);
}

static void
bd_metrics_credentials(bd_process_t *p, std::string *out)
{
    bd_credentials_provider_t *creds = bd_bedrock_credentials(p);
    if (creds == nullptr) {
        return;
    }
    bd_credentials_info_t info;
    bd_credentials_info(creds, &info);
    bd_metrics_render_value(out, "bedrockd_credentials_ready",
                     "1 when usable AWS credentials are present, else 0.", BD_METRICS_GAUGE,
                     info.ready ? 1 : 0);
    /* Credentials that never expire (static keys, API keys) have no sample, so
     * that an alert on "expires within N minutes" cannot fire on them. */
    if (info.expiration_ms != 0) {
        bd_metrics_render_value(out, "bedrockd_credentials_expiry_timestamp_seconds",
                         "When the current AWS credentials expire, in seconds since the epoch.",
                         BD_METRICS_GAUGE, (double)info.expiration_ms / 1000.0);
    }
    bd_metrics_render_value(out, "bedrockd_credentials_refresh_failures_total",
                     "AWS credential resolutions that failed.", BD_METRICS_COUNTER,
                     (double)info.failures);
}

static void
bd_metrics_build_info(std::string *out)
{
    static const char name[] = "bedrockd_build_info";
    static const char *const labels[] = {"version", "libevent", "curl", "openssl", "malloc"};
    bd_metrics_render_header(out, name,
                             "Versions of bedrockd, its libraries and its allocator; always 1.",
                             BD_METRICS_GAUGE);
    std::string values[5];
    values[0] = BD_VERSION;
    values[1] = event_get_version();
    values[2] = curl_version_info(CURLVERSION_NOW)->version;
    values[3] = OpenSSL_version(OPENSSL_VERSION_STRING);
    values[4] = bd_malloc_name();
    bd_metrics_render_sample(out, name, labels, values, 5, "1");
}

/* Resident and virtual size from /proc/self/statm (in pages). */
static int
bd_metrics_statm(double *rss_bytes, double *vsize_bytes)
{
    FILE *f = fopen("/proc/self/statm", "re");
    if (f == nullptr) {
        return -1;
    }
    unsigned long long size = 0, resident = 0;
    int n = fscanf(f, "%llu %llu", &size, &resident);
    fclose(f);
    if (n != 2) {
        return -1;
    }
    double page = (double)sysconf(_SC_PAGESIZE);
    *rss_bytes = (double)resident * page;
    *vsize_bytes = (double)size * page;
    return 0;
}

static int
bd_metrics_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (d == nullptr) {
        return -1;
    }
    int n = 0;
    for (struct dirent *e = readdir(d); e != nullptr; e = readdir(d)) {
        if (e->d_name[0] != '.') {
            n++;
        }
    }
    closedir(d);
    return n - 1; /* the directory's own descriptor */
}

static void
bd_metrics_process(int64_t start_ms, std::string *out)
{
    bd_metrics_render_value(out, "process_start_time_seconds",
                     "Start time of the process since the epoch, in seconds.", BD_METRICS_GAUGE,
                     (double)start_ms / 1000.0);
    double rss = 0, vsize = 0;
    if (bd_metrics_statm(&rss, &vsize) == 0) {
        bd_metrics_render_value(out, "process_resident_memory_bytes", "Resident memory size in bytes.",
                         BD_METRICS_GAUGE, rss);
        bd_metrics_render_value(out, "process_virtual_memory_bytes", "Virtual memory size in bytes.",
                         BD_METRICS_GAUGE, vsize);
    }
    int fds = bd_metrics_open_fds();
    if (fds >= 0) {
        bd_metrics_render_value(out, "process_open_fds", "Number of open file descriptors.",
                         BD_METRICS_GAUGE, fds);
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        bd_metrics_render_value(out, "process_max_fds", "Maximum number of open file descriptors.",
                         BD_METRICS_GAUGE, (double)rl.rlim_cur);
    }
}

/* One labelled sample per failover target and field. */
static void
bd_metrics_circuit_family(std::string *out, const std::vector<bd_circuit_info_t> &list,
                          const char *name, const char *help, int type,
                          double (*value)(const bd_circuit_info_t &))
{
    static const char *const names[] = {"target"};
    bd_metrics_render_header(out, name, help, type);
    for (const bd_circuit_info_t &i : list) {
        std::string v = bd_metrics_format_number(value(i));
        bd_metrics_render_sample(out, name, names, &i.label, 1, v.c_str());
    }
}

/* The circuit breakers of the failover targets (process-wide, shared by workers). */
static void
bd_metrics_circuits(const bd_snapshot_t *snap, std::string *out)
{
    std::vector<bd_circuit_info_t> list;
    bd_failover_circuits(snap, &list);
    if (list.empty()) {
        return;
    }
    bd_metrics_circuit_family(out, list, "bedrockd_upstream_circuit_state",
                              "Circuit of a failover target: 0 closed, 1 open, 2 half-open "
                              "(a probe is in flight).",
                              BD_METRICS_GAUGE, [](const bd_circuit_info_t &i) {
                                  return (double)i.state;
                              });
    bd_metrics_circuit_family(out, list, "bedrockd_upstream_circuit_failures",
                              "Consecutive failures of a failover target.", BD_METRICS_GAUGE,
                              [](const bd_circuit_info_t &i) { return (double)i.failures; });
    bd_metrics_circuit_family(out, list, "bedrockd_upstream_circuit_opened_total",
                              "Times a failover target's circuit opened.", BD_METRICS_COUNTER,
                              [](const bd_circuit_info_t &i) { return (double)i.opened; });
    bd_metrics_circuit_family(out, list, "bedrockd_upstream_target_calls_total",
                              "Attempts sent to a failover target.", BD_METRICS_COUNTER,
                              [](const bd_circuit_info_t &i) { return (double)i.calls; });
    bd_metrics_circuit_family(out, list, "bedrockd_upstream_target_failures_total",
                              "Attempts on a failover target that failed with a failover "
                              "class (throttle, 5xx, timeout, not ready).",
                              BD_METRICS_COUNTER,
                              [](const bd_circuit_info_t &i) { return (double)i.failed; });
    bd_metrics_circuit_family(out, list, "bedrockd_upstream_target_skipped_total",
                              "Requests that passed a failover target over because its "
                              "circuit was open.",
                              BD_METRICS_COUNTER,
                              [](const bd_circuit_info_t &i) { return (double)i.skipped; });
}

void
bd_metrics_render_gauges(bd_process_t *p, const bd_snapshot_t *snap,
                         const bd_metrics_live_t *live, int64_t start_ms, std::string *out)
{
    bd_metrics_workers(live, out);
    bd_metrics_credentials(p, out);
    bd_metrics_circuits(snap, out);
    bd_metrics_build_info(out);
    bd_metrics_process(start_ms, out);
    for (int i = 0; bd_modules[i] != nullptr; i++) {
        if (bd_modules[i]->metrics != nullptr) {
            bd_modules[i]->metrics(p, out);
        }
    }
}
