/*
 * bd_snapshot.h: one loaded configuration, immutable once built. The main thread
 * builds it (parse, apply directives, init, postconfig) and publishes it to the
 * workers; every request holds a reference until it is finalized, so in-flight
 * requests finish on the snapshot they started with. Refcounted across threads.
 */
#ifndef BD_SNAPSHOT_H
#define BD_SNAPSHOT_H

#include <atomic>
#include <string>
#include <vector>

#include "core/bd_conf.h"
#include "core/bd_module.h"

/* A client API (modules/api): opaque to the core, which carries it from the route to
 * the request and names no API. */
struct bd_api_t;

enum {
    BD_METHOD_GET = 1u << 0,
    BD_METHOD_POST = 1u << 1,
    BD_METHOD_HEAD = 1u << 2,
    BD_METHOD_DELETE = 1u << 3,
};

/* Renders an error body of type <err> (bd_err_e) in one client API's format;
 * registered for the paths the API serves, so the core names no client API. */
typedef void (*bd_error_render_pt)(std::string *out, int status, int err, const char *message,
                                   const char *request_id);

struct bd_error_format_t {
    std::string prefix; /* paths starting with it; "" = any path */
    bd_error_render_pt render;
};

/* One route: a path (exact, or a prefix ending in '/') served by one content
 * handler. Public routes skip the ACCESS phase (health, readiness, metrics). */
struct bd_route_t {
    std::string path;
    bool prefix;
    unsigned methods; /* BD_METHOD_* */
    const bd_api_t *api; /* the client API that serves it; null for the gateway's own */
    bool is_public;
    const bd_module_t *module;
    bd_phase_handler_pt handler;
    void *data; /* handler's data, owned by the module's conf */
    /* A second response header naming the request id, besides request-id (the one
     * an API's SDKs read); null when none. */
    const char *id_header;
};

struct bd_snapshot_t {
    std::atomic<int> refs;
    unsigned long generation;
    std::string conf_path;
    std::vector<bd_conf_node_t> tree; /* the effective configuration, for -T */
    void *conf[BD_MAX_MODULES];       /* each module's main conf (owned) */
    std::vector<bd_route_t> routes;
    std::vector<bd_error_format_t> error_formats;
};

/* Loads <path> into a new snapshot with one reference. Returns null with <err> set
 * to "FILE:LINE: message" (or a message without a place for whole-file errors).
 * <getenv> may be null (the process environment). Main thread. */
bd_snapshot_t *bd_snapshot_load(const char *path, bd_conf_getenv_pt getenv, std::string *err);

void bd_snapshot_ref(bd_snapshot_t *snap);
/* Drops a reference; the last one destroys the snapshot (any thread). */
void bd_snapshot_unref(bd_snapshot_t *snap);

/* The module's main conf in <snap>. */
static inline void *
bd_snapshot_conf(const bd_snapshot_t *snap, const bd_module_t *m)
{
    return snap->conf[m->index];
}

/* Adds a route (postconfig only). A path served twice is an error message. */
const char *bd_snapshot_add_route(bd_snapshot_t *snap, const bd_route_t &route);

/* Prints the effective configuration (bedrockd -T) with the values of secret
 * directives (bd_conf_set_secret) replaced by "<redacted sha256:XXXXXXXX>", the
 * first hex digits of their SHA-256, so that two files can be compared. */
void bd_snapshot_print(const bd_snapshot_t *snap, std::string *out);

/* Registers the error format of paths starting with <prefix> (postconfig). The
 * longest registered prefix of a path decides; a prefix registered twice keeps
 * its first format. */
void bd_snapshot_add_error_format(bd_snapshot_t *snap, const std::string &prefix,
                                  bd_error_render_pt render);

/* The error format for <path>; null when no module registered one. */
bd_error_render_pt bd_snapshot_error_format(const bd_snapshot_t *snap, const char *path);

/* Finds the route for <path>; sets *<method_ok> false when the path exists but not
 * for <method>. Null when no route matches. */
const bd_route_t *bd_snapshot_find_route(const bd_snapshot_t *snap, const char *path,
                                         unsigned method, bool *method_ok);

#endif
