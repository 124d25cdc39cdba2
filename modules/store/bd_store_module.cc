/*
 * bd_store_module.cc: the store module: its directives, and the store's process
 * lifetime (started before the workers, stopped after they joined, so that every
 * usage record a LOG handler queued is written; the store thread publishes the keys
 * and the model map additions while it runs). The store outlives reloads; a changed `store`
 * takes effect at the next restart. Main thread.
 */
#include "modules/store/bd_store_module.h"

#include <string.h>

#include "core/bd_log.h"
#include "core/bd_process.h"
#include "modules/store/bd_store_check.h"
#include "modules/store/bd_store_thread.h"

struct bd_store_conf_t {
    std::string path;          /* empty when off */
    bool path_set;             /* `store` given (else the default path) */
    int64_t flush_interval_ms; /* -1 unset */
};

/* The path the running store was opened with; main thread only. */
static char *bd_store_running_path;

static const char *
bd_store_set_path(bd_conf_ctx_t *, const bd_conf_node_t *node, const bd_directive_t *, void *conf)
{
    bd_store_conf_t *c = (bd_store_conf_t *)conf;
    const std::string &v = node->args[1];
    if (v.empty()) {
        return "needs a file name or \"off\"";
    }
    c->path = v == "off" ? std::string() : v;
    c->path_set = true;
    return nullptr;
}

static const bd_directive_t bd_store_directives[] = {
    {"store", "main", BD_ARGS_1 | BD_ARGS_RESTART, bd_store_set_path, 0, nullptr},
    {"store_flush_interval", "main", BD_ARGS_1 | BD_ARGS_RESTART, bd_conf_set_duration,
     offsetof(bd_store_conf_t, flush_interval_ms), nullptr},
    {nullptr, nullptr, 0, nullptr, 0, nullptr},
};

static void *
bd_store_create_conf(void)
{
    bd_store_conf_t *c = new bd_store_conf_t();
    c->path_set = false;
    c->flush_interval_ms = -1;
    return c;
}

static void
bd_store_destroy_conf(void *conf)
{
    delete (bd_store_conf_t *)conf;
}

static const char *
bd_store_init_conf(bd_snapshot_t *, void *conf)
{
    bd_store_conf_t *c = (bd_store_conf_t *)conf;
    if (!c->path_set) {
        c->path = BD_STORE_DEFAULT_PATH;
    }
    if (c->flush_interval_ms < 0) {
        c->flush_interval_ms = 5;
    }
    if (c->flush_interval_ms > 10000) {
        return "\"store_flush_interval\" must be at most 10s";
    }
    /* An explicit path must work: say so now rather than at start. */
    static thread_local std::string msg;
    if (c->path_set && !c->path.empty() && bd_store_check_path(c->path, &msg) != nullptr) {
        return msg.c_str();
    }
    return nullptr;
}

const std::string &
bd_store_conf_path(const bd_snapshot_t *snap)
{
    return ((const bd_store_conf_t *)bd_snapshot_conf(snap, &bd_store_module))->path;
}

bd_store_t *
bd_store_get(bd_process_t *p)
{
    return (bd_store_t *)p->module_ctx[bd_store_module.index];
}

const char *
bd_store_path(bd_process_t *p)
{
    return bd_store_get(p) != nullptr ? bd_store_running_path : nullptr;
}

static int
bd_store_init_process(bd_process_t *p)
{
    const bd_store_conf_t *c = (const bd_store_conf_t *)bd_snapshot_conf(p->snap, &bd_store_module);
    p->module_ctx[bd_store_module.index] = nullptr;
    bd_store_running_path = bd_strdup(c->path.c_str());
    if (c->path.empty()) {
        bd_log_error(BD_LOG_NOTICE, nullptr, "store off: keys come from master_key only, "
                                             "usage is not recorded");
        return BD_OK;
    }
    std::string err;
    bd_store_t *s = bd_store_start(c->path.c_str(), c->flush_interval_ms, &err);
    if (s == nullptr) {
        /* The default path only matters on installed systems; elsewhere a
         * missing state directory means "no store", said loudly. */
        if (!c->path_set && err.find("does not exist") != std::string::npos) {
            bd_log_error(BD_LOG_WARN, nullptr,
                         "store \"%s\": %s; running without a store (set `store` or "
                         "`store off;` to silence this)",
                         c->path.c_str(), err.c_str());
            return BD_OK;
        }
        bd_log_error(BD_LOG_EMERG, nullptr, "store \"%s\": %s", c->path.c_str(), err.c_str());
        return BD_ERROR;
    }
    bd_log_error(BD_LOG_NOTICE, nullptr, "store \"%s\" open", c->path.c_str());
    p->module_ctx[bd_store_module.index] = s;
    return BD_OK;
}

static void
bd_store_exit_process(bd_process_t *p)
{
    bd_store_t *s = bd_store_get(p);
    if (s != nullptr) {
        bd_store_stop(s);
        p->module_ctx[bd_store_module.index] = nullptr;
    }
    free(bd_store_running_path);
    bd_store_running_path = nullptr;
}

bd_module_t bd_store_module = {
    .name = "store",
    .index = 0,
    .directives = bd_store_directives,
    .create_conf = bd_store_create_conf,
    .init_conf = bd_store_init_conf,
    .postconfig = nullptr,
    .destroy_conf = bd_store_destroy_conf,
    .init_process = bd_store_init_process,
    .exit_process = bd_store_exit_process,
    .init_worker = nullptr,
    .exit_worker = nullptr,
    .access = nullptr,
    .log = nullptr,
    .ready = nullptr,
};
