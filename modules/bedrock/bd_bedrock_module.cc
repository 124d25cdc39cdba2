/*
 * bd_bedrock_module.cc: the `bedrock { }` directives, endpoint and region
 * resolution at load (main thread), the credential provider (process), and the
 * per-worker curl client.
 *
 *   bedrock {
 *       region us-east-1;                 # else AWS_REGION, AWS_DEFAULT_REGION, profile
 *       endpoint http://127.0.0.1:4000;   # else AWS_ENDPOINT_URL_BEDROCK_RUNTIME, ...
 *       control_endpoint URL;             # bedrock control plane (model listings)
 *       credentials auto;                 # env | profile | web_identity | container |
 *                                         # imds | static | bearer
 *       profile NAME;  access_key_id K;  secret_access_key S;  session_token T;
 *       bearer_token T;                   # Bedrock API key
 *       ca_file PATH;                     # CA bundle for upstream TLS
 *       connect_timeout 5s;  first_byte_timeout 60s;  stream_idle_timeout 120s;
 *       request_timeout 10m;  read_timeout 5m;  retries 2;  retry_budget 20s;  retry_base 200ms;
 *       max_connections 256;              # cached upstream connections per worker
 *       http2 on;                         # HTTP/2 where TLS offers it (ALPN), else 1.1
 *       catalog on;  catalog_refresh 10m; # ListFoundationModels/ListInferenceProfiles
 *       circuit_failures 5;  circuit_cooldown 30s;  # failover targets (bd_bedrock_failover.cc)
 *   }
 */
#include "modules/bedrock/bd_bedrock_conf.h"
#include "modules/bedrock/bd_bedrock_failover.h"

#include <string.h>

#include "core/bd_json.h"
#include "core/bd_log.h"
#include "core/bd_process.h"
#include "core/bd_worker.h"
#include "modules/bedrock/bd_bedrock_relay.h"

static const char *bd_bedrock_block(bd_conf_ctx_t *cf, const bd_conf_node_t *node,
                                    const bd_directive_t *d, void *conf);

static const bd_conf_enum_t bd_bedrock_credential_sources[] = {
    {"auto", BD_CREDENTIALS_AUTO},
    {"env", BD_CREDENTIALS_ENV},
    {"profile", BD_CREDENTIALS_PROFILE},
    {"web_identity", BD_CREDENTIALS_WEB_IDENTITY},
    {"container", BD_CREDENTIALS_CONTAINER},
    {"imds", BD_CREDENTIALS_IMDS},
    {"static", BD_CREDENTIALS_STATIC},
    {"bearer", BD_CREDENTIALS_BEARER},
    {nullptr, 0},
};
static const bd_conf_bounds_t bd_bedrock_retry_bounds = {0, 10};
static const bd_conf_bounds_t bd_bedrock_conn_bounds = {1, 100000};
static const bd_conf_bounds_t bd_bedrock_circuit_bounds = {0, 1000};

#define BD_BR_OFF(field) offsetof(bd_bedrock_conf_t, field)

static const bd_directive_t bd_bedrock_directives[] = {
    {"bedrock", "main", BD_ARGS_0 | BD_ARGS_BLOCK, bd_bedrock_block, 0, nullptr},
    {"region", "bedrock", BD_ARGS_1, bd_conf_set_str, BD_BR_OFF(region), nullptr},
    {"endpoint", "bedrock", BD_ARGS_1, bd_conf_set_str, BD_BR_OFF(endpoint), nullptr},
    {"control_endpoint", "bedrock", BD_ARGS_1 | BD_ARGS_RESTART, bd_conf_set_str, BD_BR_OFF(control_endpoint),
     nullptr},
    {"credentials", "bedrock", BD_ARGS_1 | BD_ARGS_RESTART, bd_conf_set_enum, BD_BR_OFF(credentials),
     bd_bedrock_credential_sources},
    {"profile", "bedrock", BD_ARGS_1 | BD_ARGS_RESTART, bd_conf_set_str, BD_BR_OFF(profile), nullptr},
    {"access_key_id", "bedrock", BD_ARGS_1 | BD_ARGS_RESTART, bd_conf_set_str, BD_BR_OFF(access_key_id), nullptr},
    {"secret_access_key", "bedrock", BD_ARGS_1 | BD_ARGS_RESTART, bd_conf_set_secret, BD_BR_OFF(secret_access_key),
     nullptr},
    {"session_token", "bedrock", BD_ARGS_1 | BD_ARGS_RESTART, bd_conf_set_secret, BD_BR_OFF(session_token), nullptr},
    {"bearer_token", "bedrock", BD_ARGS_1 | BD_ARGS_RESTART, bd_conf_set_secret, BD_BR_OFF(bearer_token), nullptr},
    {"ca_file", "bedrock", BD_ARGS_1 | BD_ARGS_RESTART, bd_conf_set_str, BD_BR_OFF(ca_file), nullptr},
    {"connect_timeout", "bedrock", BD_ARGS_1, bd_conf_set_duration, BD_BR_OFF(connect_timeout_ms),
     nullptr},
    {"first_byte_timeout", "bedrock", BD_ARGS_1, bd_conf_set_duration,
     BD_BR_OFF(first_byte_timeout_ms), nullptr},
    {"stream_idle_timeout", "bedrock", BD_ARGS_1, bd_conf_set_duration,
     BD_BR_OFF(stream_idle_timeout_ms), nullptr},
    {"request_timeout", "bedrock", BD_ARGS_1, bd_conf_set_duration, BD_BR_OFF(request_timeout_ms),
     nullptr},
    {"read_timeout", "bedrock", BD_ARGS_1, bd_conf_set_duration, BD_BR_OFF(read_timeout_ms),
     nullptr},
    {"retries", "bedrock", BD_ARGS_1, bd_conf_set_int, BD_BR_OFF(retries), &bd_bedrock_retry_bounds},
    {"retry_budget", "bedrock", BD_ARGS_1, bd_conf_set_duration, BD_BR_OFF(retry_budget_ms),
     nullptr},
    {"retry_base", "bedrock", BD_ARGS_1, bd_conf_set_duration, BD_BR_OFF(retry_base_ms), nullptr},
    {"max_connections", "bedrock", BD_ARGS_1, bd_conf_set_int, BD_BR_OFF(max_connections),
     &bd_bedrock_conn_bounds},
    {"http2", "bedrock", BD_ARGS_1, bd_conf_set_flag, BD_BR_OFF(http2), nullptr},
    {"catalog", "bedrock", BD_ARGS_1 | BD_ARGS_RESTART, bd_conf_set_flag, BD_BR_OFF(catalog), nullptr},
    {"catalog_refresh", "bedrock", BD_ARGS_1 | BD_ARGS_RESTART, bd_conf_set_duration,
     BD_BR_OFF(catalog_refresh_ms), nullptr},
    {"circuit_failures", "bedrock", BD_ARGS_1, bd_conf_set_int, BD_BR_OFF(circuit_failures),
     &bd_bedrock_circuit_bounds},
    {"circuit_cooldown", "bedrock", BD_ARGS_1, bd_conf_set_duration,
     BD_BR_OFF(circuit_cooldown_ms), nullptr},
    {nullptr, nullptr, 0, nullptr, 0, nullptr},
};

static const char *
bd_bedrock_block(bd_conf_ctx_t *cf, const bd_conf_node_t *node, const bd_directive_t *,
                 void *conf)
{
    bd_bedrock_conf_t *c = (bd_bedrock_conf_t *)conf;
    c->seen = true;
    bd_conf_target_t target = {bd_bedrock_directives, conf};
    if (bd_conf_apply(cf, node->children, "bedrock", &target, 1) != 0) {
        return BD_CONF_ERROR;
    }
    return nullptr;
}

static void *
bd_bedrock_create_conf(void)
{
    bd_bedrock_conf_t *c = new bd_bedrock_conf_t();
    c->credentials = BD_CREDENTIALS_AUTO;
    c->connect_timeout_ms = -1;
    c->first_byte_timeout_ms = -1;
    c->stream_idle_timeout_ms = -1;
    c->request_timeout_ms = -1;
    c->read_timeout_ms = -1;
    c->retries = -1;
    c->retry_budget_ms = -1;
    c->retry_base_ms = -1;
    c->max_connections = -1;
    c->http2 = true;
    c->catalog = true;
    c->catalog_refresh_ms = -1;
    c->circuit_failures = -1;
    c->circuit_cooldown_ms = -1;
    c->failover = nullptr;
    c->seen = false;
    return c;
}

static void
bd_bedrock_destroy_conf(void *conf)
{
    bd_failover_conf_free(((bd_bedrock_conf_t *)conf)->failover);
    delete (bd_bedrock_conf_t *)conf;
}

static const char *
bd_bedrock_init_conf(bd_snapshot_t *, void *conf)
{
    static thread_local std::string msg;
    bd_bedrock_conf_t *c = (bd_bedrock_conf_t *)conf;
#define BD_DEFAULT(field, value)                                                                   \
    if (c->field < 0) {                                                                            \
        c->field = (value);                                                                        \
    }
    BD_DEFAULT(connect_timeout_ms, 5000);
    BD_DEFAULT(first_byte_timeout_ms, 60000);
    BD_DEFAULT(stream_idle_timeout_ms, 120000);
    BD_DEFAULT(request_timeout_ms, 600000);
    BD_DEFAULT(read_timeout_ms, 300000);
    BD_DEFAULT(retries, 2);
    BD_DEFAULT(retry_budget_ms, 20000);
    BD_DEFAULT(retry_base_ms, 200);
    BD_DEFAULT(max_connections, 256);
    BD_DEFAULT(catalog_refresh_ms, 600000);
    BD_DEFAULT(circuit_failures, 5);
    BD_DEFAULT(circuit_cooldown_ms, 30000);
#undef BD_DEFAULT
    if (c->catalog_refresh_ms < 1000) {
        return "\"catalog_refresh\" must be at least 1s";
    }
    if (c->credentials == BD_CREDENTIALS_STATIC &&
        (c->access_key_id.empty() || c->secret_access_key.empty())) {
        return "\"credentials static\" needs \"access_key_id\" and \"secret_access_key\"";
    }

    std::string region = bd_aws_region_resolve(c->region.c_str(), c->profile.c_str(), nullptr);
    if (region.empty()) {
        /* Without a region there is no default endpoint; an explicit endpoint
         * still needs a signing region, and us-east-1 is what the SDKs assume. */
        region = "us-east-1";
        if (c->endpoint.empty()) {
            bd_log_error(BD_LOG_WARN, nullptr,
                         "no AWS region configured (bedrock region, AWS_REGION); using us-east-1");
        }
    }
    c->region = region;
    char err[256];
    if (bd_aws_endpoint_resolve("bedrock-runtime", region.c_str(), c->endpoint.c_str(), nullptr,
                                &c->runtime, err, sizeof(err)) != 0 ||
        bd_aws_endpoint_resolve("bedrock", region.c_str(), c->control_endpoint.c_str(), nullptr,
                                &c->control, err, sizeof(err)) != 0) {
        msg = std::string("bedrock endpoint: ") + err;
        return msg.c_str();
    }
    return nullptr;
}

/* The model map is final once every init_conf ran: build its failover chains. */
static const char *
bd_bedrock_postconfig(bd_snapshot_t *snap, void *conf)
{
    return bd_failover_build(snap, (bd_bedrock_conf_t *)conf);
}

bd_bedrock_conf_t *
bd_bedrock_conf(const bd_snapshot_t *snap)
{
    return (bd_bedrock_conf_t *)bd_snapshot_conf(snap, &bd_bedrock_module);
}

const char *
bd_bedrock_conf_region(const bd_snapshot_t *snap)
{
    return bd_bedrock_conf(snap)->region.c_str();
}

bd_bedrock_process_t *
bd_bedrock_process(bd_process_t *p)
{
    return (bd_bedrock_process_t *)p->module_ctx[bd_bedrock_module.index];
}

bd_bedrock_worker_t *
bd_bedrock_worker(bd_worker_t *w)
{
    return (bd_bedrock_worker_t *)w->module_ctx[bd_bedrock_module.index];
}

/* The catalog thread, with the settings of the first configuration. */
static bd_bedrock_catalog_fetcher_t *
bd_bedrock_catalog_begin(const bd_bedrock_conf_t *c, bd_credentials_provider_t *creds)
{
    bd_bedrock_catalog_options_t o;
    o.control = c->control;
    o.region = c->region;
    o.ca_file = c->ca_file;
    o.creds = creds;
    o.refresh_ms = c->catalog_refresh_ms;
    o.retry_min_ms = 1000;
    o.retry_max_ms = 300000;
    o.connect_timeout_ms = c->connect_timeout_ms;
    o.request_timeout_ms = 60000;
    return bd_bedrock_catalog_start(&o);
}

static int
bd_bedrock_init_process(bd_process_t *p)
{
    const bd_bedrock_conf_t *c = bd_bedrock_conf(p->snap);
    bd_credentials_options_t opts;
    memset((void *)&opts, 0, sizeof(opts));
    opts.source = c->credentials;
    opts.profile = c->profile.empty() ? nullptr : c->profile.c_str();
    opts.access_key_id = c->access_key_id.c_str();
    opts.secret_access_key = c->secret_access_key.c_str();
    opts.session_token = c->session_token.empty() ? nullptr : c->session_token.c_str();
    opts.bearer_token = c->bearer_token.empty() ? nullptr : c->bearer_token.c_str();
    opts.region = c->region.c_str();
    char err[256];
    bd_bedrock_process_t *bp = new bd_bedrock_process_t();
    bd_bedrock_health_init(&bp->health);
    bp->creds = bd_credentials_create(&opts, err, sizeof(err));
    if (bp->creds == nullptr) {
        bd_log_error(BD_LOG_EMERG, nullptr, "AWS credentials: %s", err);
        delete bp;
        return BD_ERROR;
    }
    /* Give the first resolution a moment so that a ready process starts ready;
     * a slow or absent source is not fatal: /ready reports it. */
    bd_credentials_wait(bp->creds, 0, 3000);
    char reason[256];
    int ok = bd_credentials_status(bp->creds, reason, sizeof(reason));
    bd_log_error(ok ? BD_LOG_NOTICE : BD_LOG_WARN, nullptr, "AWS credentials: %s; endpoint %s",
                 reason, c->runtime.url.c_str());
    bp->catalog = c->catalog ? bd_bedrock_catalog_begin(c, bp->creds) : nullptr;
    p->module_ctx[bd_bedrock_module.index] = bp;
    return BD_OK;
}

static void
bd_bedrock_exit_process(bd_process_t *p)
{
    bd_bedrock_process_t *bp = bd_bedrock_process(p);
    if (bp != nullptr) {
        if (bp->catalog != nullptr) {
            bd_bedrock_catalog_stop(bp->catalog);
        }
        bd_credentials_destroy(bp->creds);
        delete bp;
        p->module_ctx[bd_bedrock_module.index] = nullptr;
    }
}

static int
bd_bedrock_init_worker(bd_worker_t *w)
{
    const bd_bedrock_conf_t *c = bd_bedrock_conf(w->snap);
    bd_curl_options_t opts;
    memset(&opts, 0, sizeof(opts));
    opts.max_connections = (long)c->max_connections;
    opts.ca_file = c->ca_file.empty() ? nullptr : c->ca_file.c_str();
    bd_bedrock_worker_t *bw = new bd_bedrock_worker_t();
    bw->curl = bd_curl_create(w->base, &opts);
    bw->rng = (uint64_t)bd_now_us() * 0x9e3779b97f4a7c15ull + (uint64_t)w->id;
    bw->relays = nullptr;
    if (bw->curl == nullptr) {
        delete bw;
        return BD_ERROR;
    }
    w->module_ctx[bd_bedrock_module.index] = bw;
    bd_worker_on_stop(w, bd_bedrock_relay_cut_all, bw);
    return BD_OK;
}

/* A reload: the worker's client takes the new connection cache size. */
static void
bd_bedrock_adopt_worker(bd_worker_t *w, const bd_snapshot_t *old)
{
    bd_bedrock_worker_t *bw = bd_bedrock_worker(w);
    const bd_bedrock_conf_t *c = bd_bedrock_conf(w->snap);
    if (bw == nullptr || c->max_connections == bd_bedrock_conf(old)->max_connections) {
        return;
    }
    bd_curl_options_t opts;
    memset(&opts, 0, sizeof(opts));
    opts.max_connections = (long)c->max_connections;
    if (bd_curl_set_limits(bw->curl, &opts) != 0) {
        bd_log_error(BD_LOG_ERR, nullptr, "worker %d: bedrock max_connections %lld not applied",
                     w->id, (long long)c->max_connections);
        return;
    }
    bd_log_error(BD_LOG_INFO, nullptr, "worker %d: bedrock max_connections %lld", w->id,
                 (long long)c->max_connections);
}

static void
bd_bedrock_exit_worker(bd_worker_t *w)
{
    bd_bedrock_worker_t *bw = bd_bedrock_worker(w);
    if (bw != nullptr) {
        bd_curl_destroy(bw->curl);
        delete bw;
        w->module_ctx[bd_bedrock_module.index] = nullptr;
    }
}

int
bd_bedrock_ready(bd_process_t *p, char *reason, size_t len)
{
    bd_bedrock_process_t *bp = bd_bedrock_process(p);
    if (bp == nullptr) {
        snprintf(reason, len, "starting");
        return 0;
    }
    if (bd_credentials_status(bp->creds, reason, len) == 0) {
        return 0;
    }
    return bd_bedrock_health_ready(&bp->health, reason, len);
}

/* /ready: the circuit of every failover target, {"upstreams":{"LABEL":{...}}}. */
static void
bd_bedrock_ready_json(bd_process_t *, const bd_snapshot_t *snap, std::string *out)
{
    std::vector<bd_circuit_info_t> list;
    bd_failover_circuits(snap, &list);
    if (list.empty()) {
        return;
    }
    out->append(",\"upstreams\":{");
    for (size_t i = 0; i < list.size(); i++) {
        char buf[160];
        if (i > 0) {
            out->push_back(',');
        }
        bd_json_append_string(out, list[i].label);
        snprintf(buf, sizeof(buf), ":{\"state\":\"%s\",\"failures\":%d,\"open_ms\":%lld}",
                 bd_circuit_state_name(list[i].state), list[i].failures,
                 (long long)list[i].open_ms);
        out->append(buf);
    }
    out->push_back('}');
}

bd_credentials_provider_t *
bd_bedrock_credentials(bd_process_t *p)
{
    bd_bedrock_process_t *bp = bd_bedrock_process(p);
    return bp != nullptr ? bp->creds : nullptr;
}

bd_module_t bd_bedrock_module = {
    .name = "bedrock",
    .index = 0,
    .directives = bd_bedrock_directives,
    .create_conf = bd_bedrock_create_conf,
    .init_conf = bd_bedrock_init_conf,
    .postconfig = bd_bedrock_postconfig,
    .destroy_conf = bd_bedrock_destroy_conf,
    .init_process = bd_bedrock_init_process,
    .exit_process = bd_bedrock_exit_process,
    .init_worker = bd_bedrock_init_worker,
    .exit_worker = bd_bedrock_exit_worker,
    .access = nullptr,
    .log = nullptr,
    .ready = bd_bedrock_ready,
    .ready_json = bd_bedrock_ready_json,
    .metrics = nullptr,
    .adopt_worker = bd_bedrock_adopt_worker,
};
