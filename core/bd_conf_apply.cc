/*
 * bd_conf_apply.cc: the directive dispatcher. Looks each parsed node up in the
 * modules' directive tables for one context, checks the context, the block, the
 * argument count and duplicates, then calls the directive's setter. Main thread
 * only. Invariant: after a failure cf->error is "FILE:LINE: message" for the node
 * that failed, and no later node has been applied.
 */

#include "core/bd_conf.h"

#include <string.h>

static int
bd_conf_apply_fail(bd_conf_ctx_t *cf, const bd_conf_node_t &node, const std::string &msg)
{
    cf->error = node.file + ":" + std::to_string(node.line) + ": " + msg;
    return -1;
}

/* Whether the space-separated list <contexts> names <context>. */
static bool
bd_conf_in_context(const char *contexts, const char *context)
{
    size_t len = strlen(context);
    const char *p = contexts;

    while (*p != '\0') {
        while (*p == ' ') {
            p++;
        }
        const char *word = p;
        while (*p != '\0' && *p != ' ') {
            p++;
        }
        if ((size_t) (p - word) == len && len > 0 && strncmp(word, context, len) == 0) {
            return true;
        }
    }
    return false;
}

/* Finds <name> among the targets' tables in <context> (any context when null).
 * The first module in target order wins. */
static const bd_directive_t *
bd_conf_find(const bd_conf_target_t *targets, size_t ntargets, const char *name,
             const char *context, void **conf)
{
    for (size_t i = 0; i < ntargets; i++) {
        const bd_directive_t *d = targets[i].directives;
        for (; d != NULL && d->name != NULL; d++) {
            if (strcmp(d->name, name) != 0) {
                continue;
            }
            if (context == NULL || bd_conf_in_context(d->contexts, context)) {
                *conf = targets[i].conf;
                return d;
            }
        }
    }
    return NULL;
}

/* Whether <n> arguments (the name excluded) satisfy the BD_ARGS_* bits <spec>. A
 * spec with no count bits (a bare BD_ARGS_BLOCK) means no arguments. */
static bool
bd_conf_args_ok(unsigned spec, size_t n)
{
    unsigned counts = spec & ~(unsigned) (BD_ARGS_BLOCK | BD_ARGS_MULTI);

    if (counts == 0) {
        return n == 0;
    }
    if (n <= 4 && (counts & (1u << n))) {
        return true;
    }
    if ((counts & BD_ARGS_1_OR_MORE) && n >= 1) {
        return true;
    }
    return (counts & BD_ARGS_2_OR_MORE) && n >= 2;
}

/* Everything about <node> that can be judged from the table alone. */
static int
bd_conf_check(bd_conf_ctx_t *cf, const bd_conf_node_t &node, const bd_directive_t *d,
              std::vector<const bd_directive_t *> *seen)
{
    const char *name = d->name;

    if ((d->args & BD_ARGS_BLOCK) && !node.block) {
        return bd_conf_apply_fail(cf, node, std::string("\"") + name
                                                + "\" directive has no opening \"{\"");
    }
    if (!(d->args & BD_ARGS_BLOCK) && node.block) {
        return bd_conf_apply_fail(cf, node, std::string("\"") + name
                                                + "\" directive is not terminated by \";\"");
    }
    if (!bd_conf_args_ok(d->args, node.args.size() - 1)) {
        return bd_conf_apply_fail(cf, node, std::string("invalid number of arguments in \"")
                                                + name + "\" directive");
    }
    if (!(d->args & BD_ARGS_MULTI)) {
        for (const bd_directive_t *s : *seen) {
            if (s == d) {
                return bd_conf_apply_fail(cf, node, std::string("\"") + name
                                                        + "\" directive is duplicate");
            }
        }
        seen->push_back(d);
    }
    return 0;
}

static int
bd_conf_apply_node(bd_conf_ctx_t *cf, const bd_conf_node_t &node, const char *context,
                   const bd_conf_target_t *targets, size_t ntargets,
                   std::vector<const bd_directive_t *> *seen)
{
    void *conf = NULL;

    if (node.args.empty()) {
        return bd_conf_apply_fail(cf, node, "empty directive");
    }
    const char *name = node.args[0].c_str();
    const bd_directive_t *d = bd_conf_find(targets, ntargets, name, context, &conf);
    if (d == NULL) {
        if (bd_conf_find(targets, ntargets, name, NULL, &conf) != NULL) {
            return bd_conf_apply_fail(cf, node, std::string("\"") + name
                                                    + "\" directive is not allowed here");
        }
        return bd_conf_apply_fail(cf, node, std::string("unknown directive \"") + name + "\"");
    }
    if (bd_conf_check(cf, node, d, seen) != 0) {
        return -1;
    }

    cf->node = &node;
    const char *msg = d->set(cf, &node, d, conf);
    if (msg == NULL) {
        return 0;
    }
    /* A nested apply (a block setter) has already written a complete message. */
    if (msg == BD_CONF_ERROR || msg == cf->error.c_str()) {
        return -1;
    }
    std::string copy(msg); /* msg may point into cf->errbuf or cf->error */
    return bd_conf_apply_fail(cf, node, copy);
}

int
bd_conf_apply(bd_conf_ctx_t *cf, const std::vector<bd_conf_node_t> &nodes, const char *context,
              const bd_conf_target_t *targets, size_t ntargets)
{
    const bd_conf_node_t *saved = cf->node;
    std::vector<const bd_directive_t *> seen;
    int rc = 0;

    for (const bd_conf_node_t &node : nodes) {
        rc = bd_conf_apply_node(cf, node, context, targets, ntargets, &seen);
        if (rc != 0) {
            break;
        }
    }
    /* A block setter applies its children through here; its own node comes back. */
    cf->node = saved;
    return rc;
}
