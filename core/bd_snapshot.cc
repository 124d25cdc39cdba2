/*
 * bd_snapshot.cc: building, sharing and destroying configuration snapshots.
 * Built on the main thread; read-only afterwards; the last reference, dropped on
 * any thread, destroys it.
 */
#include "core/bd_snapshot.h"

#include <stdio.h>
#include <string.h>

#include <openssl/sha.h>

static std::atomic<unsigned long> bd_snapshot_generation{0};

static void
bd_snapshot_destroy(bd_snapshot_t *snap)
{
    for (int i = 0; bd_modules[i] != nullptr; i++) {
        bd_module_t *m = bd_modules[i];
        if (snap->conf[i] != nullptr && m->destroy_conf != nullptr) {
            m->destroy_conf(snap->conf[i]);
        }
    }
    delete snap;
}

static int
bd_snapshot_apply(bd_snapshot_t *snap, bd_conf_ctx_t *cf)
{
    std::vector<bd_conf_target_t> targets;
    for (int i = 0; bd_modules[i] != nullptr; i++) {
        bd_module_t *m = bd_modules[i];
        if (m->create_conf != nullptr) {
            snap->conf[i] = m->create_conf();
        }
        if (m->directives != nullptr) {
            targets.push_back({m->directives, snap->conf[i]});
        }
    }
    return bd_conf_apply(cf, snap->tree, "main", targets.data(), targets.size());
}

/* Runs init_conf then postconfig of every module; errors name the file only,
 * since they concern the configuration as a whole. */
static int
bd_snapshot_init(bd_snapshot_t *snap, std::string *err)
{
    for (int i = 0; bd_modules[i] != nullptr; i++) {
        bd_module_t *m = bd_modules[i];
        const char *msg = m->init_conf ? m->init_conf(snap, snap->conf[i]) : nullptr;
        if (msg != nullptr) {
            *err = snap->conf_path + ": " + msg;
            return -1;
        }
    }
    for (int i = 0; bd_modules[i] != nullptr; i++) {
        bd_module_t *m = bd_modules[i];
        const char *msg = m->postconfig ? m->postconfig(snap, snap->conf[i]) : nullptr;
        if (msg != nullptr) {
            *err = snap->conf_path + ": " + msg;
            return -1;
        }
    }
    return 0;
}

bd_snapshot_t *
bd_snapshot_load(const char *path, bd_conf_getenv_pt getenv, std::string *err)
{
    bd_snapshot_t *snap = new bd_snapshot_t();
    snap->refs.store(1);
    snap->generation = ++bd_snapshot_generation;
    snap->conf_path = path;
    memset(snap->conf, 0, sizeof(snap->conf));

    bd_conf_ctx_t cf;
    cf.getenv = getenv;
    cf.user = snap;
    cf.node = nullptr;
    if (bd_conf_parse_file(&cf, path, &snap->tree) != 0 || bd_snapshot_apply(snap, &cf) != 0) {
        *err = cf.error;
        bd_snapshot_destroy(snap);
        return nullptr;
    }
    if (bd_snapshot_init(snap, err) != 0) {
        bd_snapshot_destroy(snap);
        return nullptr;
    }
    return snap;
}

void
bd_snapshot_ref(bd_snapshot_t *snap)
{
    snap->refs.fetch_add(1, std::memory_order_relaxed);
}

void
bd_snapshot_unref(bd_snapshot_t *snap)
{
    if (snap->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        bd_snapshot_destroy(snap);
    }
}

const char *
bd_snapshot_add_route(bd_snapshot_t *snap, const bd_route_t &route)
{
    for (const bd_route_t &r : snap->routes) {
        if (r.path == route.path && r.prefix == route.prefix) {
            return "a path is served by two modules";
        }
    }
    snap->routes.push_back(route);
    return nullptr;
}

const bd_route_t *
bd_snapshot_find_route(const bd_snapshot_t *snap, const char *path, unsigned method,
                       bool *method_ok)
{
    const bd_route_t *best = nullptr;
    size_t plen = strlen(path);
    for (const bd_route_t &r : snap->routes) {
        if (!r.prefix) {
            if (r.path.size() == plen && memcmp(r.path.data(), path, plen) == 0) {
                best = &r;
                break;
            }
            continue;
        }
        /* A prefix route needs at least one more byte: "/a/b/" serves "/a/b/x",
         * not "/a/b/". */
        if (plen > r.path.size() && memcmp(r.path.data(), path, r.path.size()) == 0 &&
            (best == nullptr || r.path.size() > best->path.size())) {
            best = &r;
        }
    }
    *method_ok = best != nullptr && (best->methods & method) != 0;
    return best;
}

void
bd_snapshot_add_error_format(bd_snapshot_t *snap, const std::string &prefix,
                             bd_error_render_pt render)
{
    for (const bd_error_format_t &f : snap->error_formats) {
        if (f.prefix == prefix) {
            return;
        }
    }
    snap->error_formats.push_back({prefix, render});
}

bd_error_render_pt
bd_snapshot_error_format(const bd_snapshot_t *snap, const char *path)
{
    const bd_error_format_t *best = nullptr;
    for (const bd_error_format_t &f : snap->error_formats) {
        if (strncmp(path, f.prefix.c_str(), f.prefix.size()) == 0 &&
            (best == nullptr || f.prefix.size() > best->prefix.size())) {
            best = &f;
        }
    }
    return best ? best->render : nullptr;
}

/* Whether <name> is a secret directive of some module. */
static bool
bd_snapshot_is_secret(const std::string &name)
{
    for (int i = 0; bd_modules[i] != nullptr; i++) {
        const bd_directive_t *d = bd_modules[i]->directives;
        for (; d != nullptr && d->name != nullptr; d++) {
            if (d->set == bd_conf_set_secret && name == d->name) {
                return true;
            }
        }
    }
    return false;
}

static void
bd_snapshot_redact(std::vector<bd_conf_node_t> *nodes)
{
    for (bd_conf_node_t &n : *nodes) {
        if (!n.args.empty() && bd_snapshot_is_secret(n.args[0])) {
            for (size_t i = 1; i < n.args.size(); i++) {
                unsigned char md[SHA256_DIGEST_LENGTH];
                SHA256((const unsigned char *)n.args[i].data(), n.args[i].size(), md);
                char fp[64];
                snprintf(fp, sizeof(fp), "<redacted sha256:%02x%02x%02x%02x>", md[0], md[1], md[2],
                         md[3]);
                n.args[i] = fp;
            }
        }
        bd_snapshot_redact(&n.children);
    }
}

void
bd_snapshot_print(const bd_snapshot_t *snap, std::string *out)
{
    std::vector<bd_conf_node_t> tree = snap->tree;
    bd_snapshot_redact(&tree);
    bd_conf_print(tree, out);
}
