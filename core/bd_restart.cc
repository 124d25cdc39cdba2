/*
 * bd_restart.cc: restart-only directives. Values are compared as written (the
 * effective configuration, args joined), keyed by the enclosing block and the name,
 * so that a change of `bedrock { max_connections }` is told apart from another
 * block's directive of the same name. Secret values and blocks are logged by name
 * only.
 */
#include "core/bd_restart.h"

#include <string.h>

#include <map>

#include "core/bd_log.h"
#include "core/bd_snapshot.h"

struct bd_restart_value_t {
    std::string text;
    bool quiet; /* a secret, or a block: not logged */
};

typedef std::map<std::string, bd_restart_value_t> bd_restart_values_t;

static bd_restart_values_t bd_restart_started;

/* Whether <contexts> (space-separated) holds <ctx>. */
static bool
bd_restart_in_context(const char *contexts, const std::string &ctx)
{
    size_t n = ctx.size();
    for (const char *p = contexts; (p = strstr(p, ctx.c_str())) != nullptr; p += n) {
        bool start = p == contexts || p[-1] == ' ';
        if (start && (p[n] == '\0' || p[n] == ' ')) {
            return true;
        }
    }
    return false;
}

/* The directive <name> of context <ctx> in any module's table, or null. */
static const bd_directive_t *
bd_restart_directive(const std::string &name, const std::string &ctx)
{
    for (int i = 0; bd_modules[i] != nullptr; i++) {
        for (const bd_directive_t *d = bd_modules[i]->directives; d != nullptr && d->name != nullptr;
             d++) {
            if (name == d->name && bd_restart_in_context(d->contexts, ctx)) {
                return d;
            }
        }
    }
    return nullptr;
}

static void
bd_restart_collect(const std::vector<bd_conf_node_t> &nodes, const std::string &ctx,
                   bd_restart_values_t *out)
{
    for (const bd_conf_node_t &n : nodes) {
        if (n.args.empty()) {
            continue;
        }
        const bd_directive_t *d = bd_restart_directive(n.args[0], ctx);
        if (d == nullptr) {
            continue;
        }
        if (d->args & BD_ARGS_RESTART) {
            std::string key = ctx == "main" ? n.args[0] : ctx + " " + n.args[0];
            bd_restart_value_t &v = (*out)[key];
            std::string text;
            for (size_t i = 1; i < n.args.size(); i++) {
                text += (i > 1 ? " " : "") + n.args[i];
            }
            if (n.block) {
                std::string body;
                bd_conf_print(n.children, &body);
                text += "{" + body + "}";
            }
            v.text += (v.text.empty() ? "" : "; ") + text;
            v.quiet = d->set == bd_conf_set_secret || n.block;
            continue;
        }
        if (n.block) {
            bd_restart_collect(n.children, n.args[0], out);
        }
    }
}

void
bd_restart_remember(const bd_snapshot_t *snap)
{
    bd_restart_started.clear();
    bd_restart_collect(snap->tree, "main", &bd_restart_started);
}

std::vector<std::string>
bd_restart_check(const bd_snapshot_t *snap)
{
    bd_restart_values_t now;
    bd_restart_collect(snap->tree, "main", &now);
    std::vector<std::string> changed;
    auto report = [&](const std::string &key, const bd_restart_value_t *was) {
        changed.push_back(key);
        if (was == nullptr || was->quiet) {
            bd_log_error(BD_LOG_WARN, nullptr, "%s changes take effect at the next restart",
                         key.c_str());
        } else {
            bd_log_error(BD_LOG_WARN, nullptr,
                         "%s changes take effect at the next restart (running \"%s\")",
                         key.c_str(), was->text.c_str());
        }
    };
    for (const auto &s : bd_restart_started) {
        auto it = now.find(s.first);
        if (it == now.end() || it->second.text != s.second.text) {
            report(s.first, &s.second);
        }
    }
    for (const auto &n : now) {
        if (bd_restart_started.count(n.first) == 0) {
            report(n.first, nullptr);
        }
    }
    return changed;
}
