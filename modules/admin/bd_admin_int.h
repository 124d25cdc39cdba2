/*
 * bd_admin_int.h: what the admin module's files share: its conf, the admin
 * thread's state, one API request, and the handlers.
 */
#ifndef BD_ADMIN_INT_H
#define BD_ADMIN_INT_H

#include <pthread.h>
#include <stdint.h>

#include <jansson.h>

#include <map>
#include <string>
#include <vector>

#include "core/bd_process.h"
#include "core/bd_side_listen.h"
#include "modules/admin/bd_admin.h"
#include "modules/store/ctl/bd_ctl.h"

struct event_base;
struct event;
struct evhttp;
struct evhttp_request;

/* One admin token: only the SHA-256 of its value is kept. */
struct bd_admin_token_t {
    std::string id;   /* the name operators and the audit know it by */
    std::string hash; /* 32 raw bytes */
    bool write;       /* read-write; otherwise read-only */
};

struct bd_admin_conf_t {
    bd_side_listen_t listen; /* text "" = no admin API */
    std::vector<bd_admin_token_t> tokens;
};

/* The status page's last hour: one sample of the totals every sampler period. */
enum { BD_ADMIN_SAMPLES = 360, BD_ADMIN_SAMPLE_MS = 10000 };

struct bd_admin_sample_t {
    int64_t time_ms;
    uint64_t requests, errors, tokens;
    int64_t streams;
};

/* The process's admin thread. Everything below <lock> is the admin thread's. */
struct bd_admin_t {
    bd_process_t *p;
    int fd;
    pthread_t thread;
    bool started;
    struct event_base *base;
    struct evhttp *http;
    struct event *stop_ev;
    struct event *sample_ev;

    sqlite3 *db;        /* the store file, opened at the first need; null = none */
    bd_ctl_ddb_t *ddb;  /* the fleet's tables when the dynamodb block is on */
    std::string db_path;
    std::vector<bd_admin_sample_t> ring; /* oldest first, at most BD_ADMIN_SAMPLES */
};

/* One admin request, on the admin thread. */
struct bd_admin_req_t {
    bd_admin_t *a;
    struct evhttp_request *req;
    bd_snapshot_t *snap; /* the process's current one, referenced */
    int method;          /* EVHTTP_REQ_* */
    std::string path;
    std::map<std::string, std::string> query;
    const bd_admin_token_t *token;
    std::string request_id;
    std::string client;
    bd_ctl_backend_t backend; /* where keys, models and usage are */
};

/* --- tokens (bd_admin_token.cc) --- */

/* The `admin_token NAME VALUE read-only|read-write;` setter. */
const char *bd_admin_set_token(bd_conf_ctx_t *cf, const bd_conf_node_t *node,
                               const bd_directive_t *d, void *conf);

/* The token whose value <presented> is (every token compared in constant time),
 * or null. */
const bd_admin_token_t *bd_admin_token_find(const bd_admin_conf_t *c, const std::string &presented);

/* --- replies (bd_admin_http.cc) --- */

void bd_admin_reply_json(bd_admin_req_t *ar, int status, json_t *body); /* steals <body> */
void bd_admin_reply_text(bd_admin_req_t *ar, int status, const char *type, const std::string &body);
/* {"error":{"type","message","field"?}}; <field> may be null. */
void bd_admin_error(bd_admin_req_t *ar, int status, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The request body as a JSON object whose members are all in <allowed>
 * (null-terminated); null with a 400 answered otherwise. New reference. */
json_t *bd_admin_body(bd_admin_req_t *ar, const char *const *allowed);

/* Sets ar->backend: the fleet's DynamoDB tables when the dynamodb block is on
 * (as bedrockctl -c does), else the store file; opens what is needed. 0, or -1
 * with 503 answered. */
int bd_admin_store(bd_admin_req_t *ar);

/* Query parameter <name> as a date (epoch ms), or <dflt> when absent: 0, or -1
 * with a 400 answered. */
int bd_admin_query_date(bd_admin_req_t *ar, const char *name, int64_t dflt, int64_t *out);

/* --- audit (bd_admin_audit.cc) --- */

/* Appends one action to the store's audit table (when there is a store), the
 * fleet's (when the dynamodb block is on) and the log. <before> and <after> are
 * JSON texts without secrets ("" = none). */
void bd_admin_audit(bd_admin_req_t *ar, const char *action, const std::string &target,
                    const std::string &before, const std::string &after, int status);

/* Sends the store's rows DynamoDB has not taken yet (the sampler timer). */
void bd_admin_audit_retry(bd_admin_t *a);

/* GET /v1/audit */
void bd_admin_audit_list(bd_admin_req_t *ar);

/* --- handlers --- */

void bd_admin_keys(bd_admin_req_t *ar, const std::string &rest);  /* /v1/keys[/...] */
void bd_admin_usage(bd_admin_req_t *ar);                           /* /v1/usage */
void bd_admin_models(bd_admin_req_t *ar, const std::string &rest); /* /v1/models[/NAME] */
void bd_admin_budgets(bd_admin_req_t *ar);                         /* /v1/budgets */
void bd_admin_live(bd_admin_req_t *ar);                            /* /v1/live */
void bd_admin_reload(bd_admin_req_t *ar);                          /* /v1/reload */
void bd_admin_stats(bd_admin_req_t *ar);                           /* /v1/stats */
void bd_admin_page(bd_admin_req_t *ar);                            /* / */
void bd_admin_openapi(bd_admin_req_t *ar);                         /* /openapi.json */

/* The totals the page and /v1/stats show, read from the metrics module. */
struct bd_admin_totals_t {
    uint64_t requests, errors, tokens;
    int64_t active, streams;
    std::map<std::string, std::vector<uint64_t>> by_model; /* requests, errors, in, out */
    std::map<std::string, std::vector<uint64_t>> by_key;   /* requests, errors, in, out */
    double p50_s, p90_s, p99_s; /* request duration percentiles (bucket bounds) */
};

/* Fills <t>; -1 before the metrics module started. Any time on the admin thread. */
int bd_admin_totals(bd_process_t *p, bd_admin_totals_t *t);

/* Key id -> name of the keys the store published (none without a store). */
std::map<std::string, std::string> bd_admin_key_names(bd_process_t *p);

/* Takes one sample into the ring (the sampler timer). */
void bd_admin_sample(bd_admin_t *a);

#endif
