/*
 * bd_ddb_module.cc: the dynamodb module: conf resolution at load, and the credential
 * provider and sync thread of the process. Changes to the block take effect at the
 * next restart, like the store's. Main thread.
 */
#include "modules/dynamodb/bd_ddb_module.h"

#include "core/bd_log.h"
#include "core/bd_process.h"
#include "modules/bedrock/bd_bedrock.h"
#include "modules/dynamodb/bd_ddb_client.h"
#include "modules/dynamodb/bd_ddb_conf.h"
#include "modules/store/bd_store_module.h"

struct bd_ddb_process_t {
    bd_credentials_provider_t *creds;
    bd_ddb_sync_t *sync;
};

static void *
bd_ddb_create_conf(void)
{
    return new bd_ddb_conf_t();
}

static void
bd_ddb_destroy_conf(void *conf)
{
    delete (bd_ddb_conf_t *)conf;
}

static const char *
bd_ddb_init_conf(bd_snapshot_t *snap, void *conf)
{
    static thread_local std::string msg;
    return bd_ddb_conf_resolve((bd_ddb_conf_t *)conf, bd_bedrock_conf_region(snap), &msg);
}

static bd_ddb_process_t *
bd_ddb_process(bd_process_t *p)
{
    return (bd_ddb_process_t *)p->module_ctx[bd_dynamodb_module.index];
}

bd_ddb_sync_t *
bd_ddb_get(bd_process_t *p)
{
    bd_ddb_process_t *dp = bd_ddb_process(p);
    return dp != nullptr ? dp->sync : nullptr;
}

bd_ddb_leases_t *
bd_ddb_leases(bd_process_t *p)
{
    bd_ddb_sync_t *s = bd_ddb_get(p);
    return s != nullptr ? bd_ddb_sync_leases(s) : nullptr;
}

bd_ddb_conc_t *
bd_ddb_conc(bd_process_t *p)
{
    bd_ddb_sync_t *s = bd_ddb_get(p);
    return s != nullptr ? bd_ddb_sync_conc(s) : nullptr;
}

static int
bd_ddb_init_process(bd_process_t *p)
{
    const bd_ddb_conf_t *c = (const bd_ddb_conf_t *)bd_snapshot_conf(p->snap, &bd_dynamodb_module);
    p->module_ctx[bd_dynamodb_module.index] = nullptr;
    if (!bd_ddb_conf_on(c)) {
        return BD_OK;
    }
    const char *store = bd_store_path(p);
    if (store == nullptr) {
        bd_log_error(BD_LOG_EMERG, nullptr,
                     "dynamodb needs the store: it is the outbox of usage and the local copy of "
                     "keys and models (set `store FILE;`)");
        return BD_ERROR;
    }
    std::string err;
    bd_ddb_process_t *dp = new bd_ddb_process_t();
    dp->creds = bd_ddb_credentials_create(c->region.c_str(), 3000, &err);
    if (dp->creds == nullptr) {
        bd_log_error(BD_LOG_EMERG, nullptr, "dynamodb credentials: %s", err.c_str());
        delete dp;
        return BD_ERROR;
    }
    dp->sync = bd_ddb_sync_start(c, store, dp->creds, &err);
    if (dp->sync == nullptr) {
        bd_log_error(BD_LOG_EMERG, nullptr, "dynamodb: %s", err.c_str());
        bd_credentials_destroy(dp->creds);
        delete dp;
        return BD_ERROR;
    }
    /* the first pull is in the store: publish it before the workers start */
    bd_store_refresh(bd_store_get(p));
    p->module_ctx[bd_dynamodb_module.index] = dp;
    return BD_OK;
}

static void
bd_ddb_exit_process(bd_process_t *p)
{
    bd_ddb_process_t *dp = bd_ddb_process(p);
    if (dp != nullptr) {
        bd_ddb_sync_stop(dp->sync);
        bd_credentials_destroy(dp->creds);
        delete dp;
        p->module_ctx[bd_dynamodb_module.index] = nullptr;
    }
}

bd_module_t bd_dynamodb_module = {
    .name = "dynamodb",
    .index = 0,
    .directives = bd_ddb_directives,
    .create_conf = bd_ddb_create_conf,
    .init_conf = bd_ddb_init_conf,
    .postconfig = nullptr,
    .destroy_conf = bd_ddb_destroy_conf,
    .init_process = bd_ddb_init_process,
    .exit_process = bd_ddb_exit_process,
    .init_worker = nullptr,
    .exit_worker = nullptr,
    .access = nullptr,
    .log = nullptr,
    .ready = nullptr,
    .ready_json = bd_ddb_ready_json,
    .metrics = bd_ddb_metrics,
};
