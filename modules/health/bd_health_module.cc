/*
 * bd_health_module.cc: liveness and readiness endpoints. Worker threads.
 */
#include "modules/health/bd_health_module.h"

#include <stdio.h>
#include <string.h>

#include "core/bd_http.h"
#include "core/bd_json.h"
#include "core/bd_process.h"
#include "core/bd_worker.h"

static int
bd_health_on_health(bd_request_t *r)
{
    static const char body[] = "{\"status\":\"ok\"}";
    bd_http_send(r, 200, "application/json", body, sizeof(body) - 1);
    return BD_DONE;
}

static int
bd_health_on_ready(bd_request_t *r)
{
    char reason[256];
    int ready = bd_process_ready(r->w->process, reason, sizeof(reason));
    std::string body = ready ? "{\"status\":\"ready\"" : "{\"status\":\"not_ready\"";
    body.append(",\"reason\":");
    bd_json_append_string(&body, reason, strlen(reason));
    for (int i = 0; bd_modules[i] != nullptr; i++) {
        if (bd_modules[i]->ready_json != nullptr) {
            bd_modules[i]->ready_json(r->w->process, r->snap, &body);
        }
    }
    body.append("}");
    bd_http_send(r, ready ? 200 : 503, "application/json", body.data(), body.size());
    return BD_DONE;
}

static const char *
bd_health_postconfig(bd_snapshot_t *snap, void *)
{
    bd_route_t health = {"/health", false, BD_METHOD_GET | BD_METHOD_HEAD, nullptr, true,
                         &bd_health_module, bd_health_on_health, nullptr};
    bd_route_t ready = {"/ready", false, BD_METHOD_GET | BD_METHOD_HEAD, nullptr, true,
                        &bd_health_module, bd_health_on_ready, nullptr};
    const char *rv = bd_snapshot_add_route(snap, health);
    return rv ? rv : bd_snapshot_add_route(snap, ready);
}

bd_module_t bd_health_module = {
    .name = "health",
    .index = 0,
    .directives = nullptr,
    .create_conf = nullptr,
    .init_conf = nullptr,
    .postconfig = bd_health_postconfig,
    .destroy_conf = nullptr,
    .init_process = nullptr,
    .exit_process = nullptr,
    .init_worker = nullptr,
    .exit_worker = nullptr,
    .access = nullptr,
    .log = nullptr,
    .ready = nullptr,
};
