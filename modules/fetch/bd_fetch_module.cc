/*
 * bd_fetch_module.cc: the fetch module: the url_fetch_* directives and each worker's
 * curl client for URL sources (created on the worker's thread at its start, destroyed at
 * its end). Which models may use URL sources is the model map's `url_sources`; these
 * directives bound what a fetch may cost.
 *
 * Directives (context, default, meaning):
 *
 *   url_fetch_max_size SIZE;   main  10m   largest body fetched for one URL source
 *   url_fetch_timeout TIME;    main  10s   one URL source: name lookup, connect, redirects,
 *                                          body
 *   url_fetch_private on|off;  main  off   on: hosts on loopback, private and link-local
 *                                          addresses may be fetched
 */
#include "modules/fetch/bd_fetch.h"

#include <stddef.h>
#include <string.h>

#include "modules/fetch/bd_fetch_int.h"

#define BD_FETCH_UNSET_SIZE UINT64_MAX
#define BD_FETCH_OFF(field) offsetof(bd_fetch_conf_t, field)

static const bd_directive_t bd_fetch_directives[] = {
    {"url_fetch_max_size", "main", BD_ARGS_1, bd_conf_set_size, BD_FETCH_OFF(max_size), nullptr},
    {"url_fetch_timeout", "main", BD_ARGS_1, bd_conf_set_duration, BD_FETCH_OFF(timeout_ms),
     nullptr},
    {"url_fetch_private", "main", BD_ARGS_1, bd_conf_set_flag, BD_FETCH_OFF(private_ok), nullptr},
    {nullptr, nullptr, 0, nullptr, 0, nullptr},
};

const bd_fetch_conf_t *
bd_fetch_conf(const bd_snapshot_t *snap)
{
    return (const bd_fetch_conf_t *)bd_snapshot_conf(snap, &bd_fetch_module);
}

bd_fetch_worker_t *
bd_fetch_worker(bd_worker_t *w)
{
    return (bd_fetch_worker_t *)w->module_ctx[bd_fetch_module.index];
}

static void *
bd_fetch_create_conf(void)
{
    bd_fetch_conf_t *c = new bd_fetch_conf_t();
    c->max_size = BD_FETCH_UNSET_SIZE;
    c->timeout_ms = -1;
    c->private_ok = false;
    return c;
}

static void
bd_fetch_destroy_conf(void *conf)
{
    delete (bd_fetch_conf_t *)conf;
}

static const char *
bd_fetch_init_conf(bd_snapshot_t *, void *conf)
{
    bd_fetch_conf_t *c = (bd_fetch_conf_t *)conf;
    if (c->max_size == BD_FETCH_UNSET_SIZE) {
        c->max_size = 10u << 20;
    }
    if (c->timeout_ms < 0) {
        c->timeout_ms = 10000;
    }
    if (c->max_size == 0 || c->max_size > (1ull << 30)) {
        return "\"url_fetch_max_size\" must be between 1 and 1g";
    }
    if (c->timeout_ms == 0) {
        return "\"url_fetch_timeout\" must be more than 0";
    }
    return nullptr;
}

static int
bd_fetch_init_worker(bd_worker_t *w)
{
    bd_curl_options_t opts;
    memset(&opts, 0, sizeof(opts));
    opts.max_connections = 16;
    opts.max_idle_handles = 8;
    bd_fetch_worker_t *fw = new bd_fetch_worker_t();
    fw->curl = bd_curl_create(w->base, &opts);
    if (fw->curl == nullptr) {
        delete fw;
        return BD_ERROR;
    }
    w->module_ctx[bd_fetch_module.index] = fw;
    return BD_OK;
}

static void
bd_fetch_exit_worker(bd_worker_t *w)
{
    bd_fetch_worker_t *fw = bd_fetch_worker(w);
    if (fw != nullptr) {
        bd_curl_destroy(fw->curl);
        delete fw;
        w->module_ctx[bd_fetch_module.index] = nullptr;
    }
}

bd_module_t bd_fetch_module = {
    .name = "fetch",
    .index = 0,
    .directives = bd_fetch_directives,
    .create_conf = bd_fetch_create_conf,
    .init_conf = bd_fetch_init_conf,
    .postconfig = nullptr,
    .destroy_conf = bd_fetch_destroy_conf,
    .init_process = nullptr,
    .exit_process = nullptr,
    .init_worker = bd_fetch_init_worker,
    .exit_worker = bd_fetch_exit_worker,
    .access = nullptr,
    .log = nullptr,
    .ready = nullptr,
};
