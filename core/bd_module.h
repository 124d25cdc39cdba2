/*
 * bd_module.h: what a module is. A module owns its directives (a table), its conf
 * structs (created per snapshot), its per-process and per-worker state, and the
 * phase handlers it contributes. The order of modules is the one list in
 * modules/bd_modules.cc; the core knows no module's directives.
 */
#ifndef BD_MODULE_H
#define BD_MODULE_H

#include <stddef.h>

#include <string>

#include "core/bd_conf.h"
#include "core/bd_core.h"

#define BD_MAX_MODULES 32

struct bd_snapshot_t;
struct bd_worker_t;
struct bd_request_t;
struct bd_process_t;

/* A phase handler returns BD_OK / BD_DECLINED (go on), BD_AGAIN (suspended until
 * bd_request_resume), BD_DONE (a response was sent), or an HTTP status >= 400
 * (the core answers with an error in the client's API format). */
typedef int (*bd_phase_handler_pt)(bd_request_t *r);

struct bd_module_t {
    const char *name;
    int index; /* position in bd_modules[]; set by bd_modules_init */

    const bd_directive_t *directives; /* null-terminated, or null */

    /* Snapshot build, main thread. create_conf returns the module's main conf
     * (fields unset); init_conf fills defaults and validates (a message, or null);
     * postconfig wires what needs other modules (routes, lookups); destroy_conf
     * frees what create_conf made, on the thread that drops the last reference. */
    void *(*create_conf)(void);
    const char *(*init_conf)(bd_snapshot_t *snap, void *conf);
    const char *(*postconfig)(bd_snapshot_t *snap, void *conf);
    void (*destroy_conf)(void *conf);

    /* Process lifetime, main thread: after the first snapshot, before workers
     * start; after workers have joined. */
    int (*init_process)(bd_process_t *p);
    void (*exit_process)(bd_process_t *p);

    /* Worker lifetime, on the worker's thread. */
    int (*init_worker)(bd_worker_t *w);
    void (*exit_worker)(bd_worker_t *w);

    /* ACCESS phase (routes that are not public) and LOG phase (every request). */
    bd_phase_handler_pt access;
    bd_phase_handler_pt log;

    /* Readiness, any thread: 1 ready, 0 not (with a reason). Null: no opinion. */
    int (*ready)(bd_process_t *p, char *reason, size_t len);

    /* State for operators, any thread: members appended to /ready's JSON object
     * (`,"name":value`) for the snapshot <snap> the request runs on, and families
     * appended to /metrics. Null: nothing to add. */
    void (*ready_json)(bd_process_t *p, const bd_snapshot_t *snap, std::string *out);
    void (*metrics)(bd_process_t *p, std::string *out);

    /* Reload, on the worker's thread: the worker adopted a new snapshot (w->snap;
     * <old> is still held). Per-worker state built from the conf (clients, pools)
     * follows it here; what cannot is a BD_ARGS_RESTART directive. Null: nothing. */
    void (*adopt_worker)(bd_worker_t *w, const bd_snapshot_t *old);

    /* MODEL phase (routes that are not public), before ACCESS: what the request is
     * (its body parsed, the model it names resolved), for admission to judge. It
     * must not suspend; a status >= 400 or BD_DONE ends the request. */
    bd_phase_handler_pt model;
};

/* The ordered module list, null-terminated (modules/bd_modules.cc). */
extern bd_module_t *const bd_modules[];

/* Numbers the modules; call once in main before anything else. */
void bd_modules_init(void);

#endif
