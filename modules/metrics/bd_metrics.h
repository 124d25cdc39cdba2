/*
 * bd_metrics.h: Prometheus metrics. Each worker owns one slot: a small hash map
 * from (family, label values) to a series of counters, written only by that
 * worker with relaxed atomics. A scrape, on whichever worker serves GET /metrics,
 * copies every slot under the slot's mutex, sums them and renders the text
 * exposition format. The owner takes its mutex only to add a series it has never
 * seen, so the hot path (an existing series) takes no lock at all.
 */
#ifndef BD_METRICS_H
#define BD_METRICS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <atomic>
#include <map>
#include <string>
#include <vector>

#include "core/bd_cidr.h"
#include "core/bd_module.h"

extern bd_module_t bd_metrics_module;

/* The families kept in slots; the module renders gauges (in flight, process,
 * credentials, build) itself at scrape time. */
enum bd_metrics_family_e {
    BD_MF_REQUESTS = 0,          /* counter {route,status,model} */
    BD_MF_REQUEST_DURATION,      /* histogram {route} */
    BD_MF_TTFT,                  /* histogram {model} */
    BD_MF_UPSTREAM_DURATION,     /* histogram {operation} */
    BD_MF_TOKENS,                /* counter {model,type} */
    BD_MF_RATELIMIT_REJECTIONS,  /* counter {limit} */
    BD_MF_AUTH_FAILURES,         /* counter {reason} */
    BD_MF_UPSTREAM_ERRORS,       /* counter {type} */
    BD_MF_UPSTREAM_RETRIES,      /* counter */
    BD_MF_SERIES_OVERFLOW,       /* counter: label tuples folded into "_overflow" */
    BD_MF_BETAS_DROPPED,         /* counter {model} */
    BD_MF_CACHE,                 /* counter {result}: response cache hit, miss, bypass */
    BD_MF_KEY_REQUESTS,          /* counter {key,status}: requests of an authenticated key */
    BD_MF_KEY_TOKENS,            /* counter {key,type} */
    BD_MF_COUNT,
};

enum bd_metrics_type_e {
    BD_METRICS_COUNTER = 0,
    BD_METRICS_GAUGE,
    BD_METRICS_HISTOGRAM,
};

#define BD_METRICS_MAX_LABELS 3
#define BD_METRICS_MAX_BUCKETS 16

/* Distinct label tuples one worker keeps; beyond it, new tuples count in the
 * family's "_overflow" series (which is always allowed). */
#define BD_METRICS_MAX_SERIES 10000

/* The label value that stands for every tuple past the cap. */
#define BD_METRICS_OVERFLOW "_overflow"

struct bd_metrics_family_t {
    const char *name; /* counters end in _total; histograms get _bucket/_sum/_count */
    const char *help;
    int type;         /* bd_metrics_type_e */
    int nlabels;
    const char *labels[BD_METRICS_MAX_LABELS];
    const int64_t *bounds_us; /* histograms: bucket upper bounds in us, ascending */
    int nbounds;
};

/* Indexed by bd_metrics_family_e. */
extern const bd_metrics_family_t bd_metrics_families[BD_MF_COUNT];

/* A label value handed to the slot without a copy (copied only into a new series). */
struct bd_metrics_label_t {
    const char *data;
    size_t len;
};

/* One label tuple's cells. Counters have one cell; a histogram with n bounds has
 * n + 1 bucket cells (the last for values above every bound, not cumulative)
 * and then the sum in us. Cells are written by the owning worker only. */
struct bd_metrics_series_t {
    int family;
    uint64_t hash;
    std::string labels[BD_METRICS_MAX_LABELS]; /* immutable once published */
    int ncells;
    std::atomic<uint64_t> *cells; /* owned */
};

/* One worker's metrics. Cache-line aligned so that workers' hot fields never
 * share a line. */
struct alignas(64) bd_metrics_slot_t {
    pthread_mutex_t lock;                      /* guards <series> against the scraper */
    std::vector<bd_metrics_series_t *> series; /* insertion order; appended under <lock> */
    std::vector<int32_t> index;                /* open addressing into <series>; owner only */
    size_t max_series;
    size_t limited; /* series counted against <max_series>; owner only */
};

/* Creates an empty slot holding at most <max_series> tuples (plus one overflow
 * series per family). Any thread; the slot then belongs to one writer thread. */
bd_metrics_slot_t *bd_metrics_slot_create(size_t max_series);

/* Frees <s> and its series; no reader or writer may use it any more. */
void bd_metrics_slot_destroy(bd_metrics_slot_t *s);

/* Adds <n> to the counter <family>{<labels>} (as many labels as the family has).
 * Owner thread only; takes the slot's lock only when the tuple is new. */
void bd_metrics_count(bd_metrics_slot_t *s, int family, const bd_metrics_label_t *labels,
                      uint64_t n);

/* Records <us> microseconds (negative counts as 0) in the histogram
 * <family>{<labels>}. Owner thread only. */
void bd_metrics_observe(bd_metrics_slot_t *s, int family, const bd_metrics_label_t *labels,
                        int64_t us);

/* The sum of one tuple's cells over every slot. */
struct bd_metrics_sample_t {
    int family;
    std::string labels[BD_METRICS_MAX_LABELS];
    std::vector<uint64_t> cells;
};

/* Samples keyed by family then label values, so that iteration is the output order. */
typedef std::map<std::string, bd_metrics_sample_t> bd_metrics_merged_t;

/* Copies <n> slots into <out>, summing tuples that several workers have. Takes
 * each slot's lock in turn, briefly. Any thread. */
void bd_metrics_collect(bd_metrics_slot_t *const *slots, size_t n, bd_metrics_merged_t *out);

/* Renders every slot family (HELP, TYPE, samples; a label-less counter shows 0
 * before its first increment) in the text exposition format, appending to <out>. */
void bd_metrics_render(const bd_metrics_merged_t *m, std::string *out);

/* Appends "# HELP <name> <help>" and "# TYPE <name> <type>" lines. */
void bd_metrics_render_header(std::string *out, const char *name, const char *help, int type);

/* Appends one sample line "<name>{<label>="<value>",...} <value>"; <names> and
 * <values> have <nlabels> entries. <value> is formatted already. */
void bd_metrics_render_sample(std::string *out, const char *name, const char *const *names,
                              const std::string *values, int nlabels, const char *value);

/* Appends a whole label-less family: header and one sample of <v>. */
void bd_metrics_render_value(std::string *out, const char *name, const char *help, int type,
                             double v);

/* A number as the exposition format writes it: integers without a fraction,
 * others with up to 15 significant digits; +Inf, -Inf, NaN. */
std::string bd_metrics_format_number(double v);

/* Escapes a label value (backslash, double quote, newline). */
void bd_metrics_escape_label(std::string *out, const char *s, size_t len);

/* The workers' own counters, summed at scrape time. */
struct bd_metrics_live_t {
    int64_t reading;  /* connections part-way through a request's head or body */
    int64_t active;   /* requests in flight */
    int64_t flushing; /* finished responses still being written */
    int64_t streams;  /* streaming responses */
    int64_t workers;
};

/* Every slot merged into <merged> and the workers' counters into <live>, as a
 * scrape reads them (the admin status page reads these, not counters of its
 * own). -1 before the module started. Any thread of the process. */
int bd_metrics_read(bd_process_t *p, bd_metrics_merged_t *merged, bd_metrics_live_t *live);

/* Appends the gauges read at scrape time: <live>, the credentials' state and
 * expiry, the circuits of <snap>'s failover targets, build information, and the
 * process's start time, memory and descriptors. <start_ms>: wall clock at process
 * start. A worker of <p>. */
void bd_metrics_render_gauges(bd_process_t *p, const bd_snapshot_t *snap,
                              const bd_metrics_live_t *live, int64_t start_ms,
                              std::string *out);

#endif
