/*
 * bd_models_fallback.cc: the failover directives of a model block, as written. The
 * model map only records them; the bedrock module resolves endpoints and walks the chain
 * (modules/bedrock/bd_bedrock_failover.cc). Main thread, conf load only.
 *
 *   fallback TARGET [region=R] [endpoint=URL] [weight=N] [on=CLASS,...] [name=LABEL];
 *   weight N;                         the model's own id's share of the first step
 *   service_tier priority|default|flex|reserved [strict];
 */
#include <stdlib.h>
#include <string.h>

#include "modules/models/bd_models.h"
#include "modules/models/bd_models_known.h"

static const struct {
    const char *name;
    unsigned bit;
} bd_models_failover_classes[] = {
    {"throttle", BD_FAILOVER_ON_THROTTLE},
    {"5xx", BD_FAILOVER_ON_5XX},
    {"timeout", BD_FAILOVER_ON_TIMEOUT},
    {"not_ready", BD_FAILOVER_ON_NOT_READY},
    {"all", BD_FAILOVER_ON_ALL},
};

static bd_model_entry_t *
bd_models_block_entry(void *conf, const bd_directive_t *d)
{
    return (bd_model_entry_t *)((char *)conf + d->offset);
}

/* "throttle,5xx" -> bits; 0 for an unknown or empty class. */
static unsigned
bd_models_parse_classes(const std::string &list)
{
    unsigned bits = 0;
    size_t start = 0;
    while (start <= list.size()) {
        size_t end = list.find(',', start);
        if (end == std::string::npos) {
            end = list.size();
        }
        std::string item = list.substr(start, end - start);
        unsigned bit = 0;
        for (const auto &c : bd_models_failover_classes) {
            if (item == c.name) {
                bit = c.bit;
            }
        }
        if (bit == 0) {
            return 0;
        }
        bits |= bit;
        start = end + 1;
    }
    return bits;
}

static const char *
bd_models_fallback_param(bd_conf_ctx_t *cf, bd_model_fallback_t *f, const std::string &arg)
{
    size_t eq = arg.find('=');
    std::string key = eq == std::string::npos ? arg : arg.substr(0, eq);
    std::string value = eq == std::string::npos ? "" : arg.substr(eq + 1);
    if (eq == std::string::npos || value.empty()) {
        cf->errbuf = "invalid parameter \"" + arg + "\" in \"fallback\" directive, it must be "
                     "region=, endpoint=, weight=, on= or name= with a value";
        return cf->errbuf.c_str();
    }
    if (key == "region") {
        f->region = value;
    } else if (key == "endpoint") {
        f->endpoint = value;
    } else if (key == "name") {
        f->name = value;
    } else if (key == "weight") {
        char *end = nullptr;
        long long w = strtoll(value.c_str(), &end, 10);
        if (*end != '\0' || w < 1 || w > 1000000) {
            cf->errbuf = "invalid weight \"" + value + "\" in \"fallback\" directive, it must "
                         "be an integer from 1 to 1000000";
            return cf->errbuf.c_str();
        }
        f->weight = w;
    } else if (key == "on") {
        f->on = bd_models_parse_classes(value);
        if (f->on == 0) {
            cf->errbuf = "invalid value \"" + value + "\" of \"on\" in \"fallback\" directive, "
                         "it must list throttle, 5xx, timeout, not_ready or all";
            return cf->errbuf.c_str();
        }
    } else {
        cf->errbuf = "unknown parameter \"" + key + "\" in \"fallback\" directive";
        return cf->errbuf.c_str();
    }
    return nullptr;
}

const char *
bd_models_set_fallback(bd_conf_ctx_t *cf, const bd_conf_node_t *node, const bd_directive_t *d,
                       void *conf)
{
    bd_model_entry_t *e = bd_models_block_entry(conf, d);
    bd_model_fallback_t f;
    f.target = node->args[1];
    f.weight = 0;
    f.on = BD_FAILOVER_ON_ALL;
    f.line = node->line;
    if (f.target.empty()) {
        return "empty target in \"fallback\" directive";
    }
    for (size_t i = 2; i < node->args.size(); i++) {
        const char *msg = bd_models_fallback_param(cf, &f, node->args[i]);
        if (msg != nullptr) {
            return msg;
        }
    }
    if (e->fallbacks.size() >= 31) { /* the walk keeps the targets tried in 32 bits */
        return "too many \"fallback\" targets in one model (at most 31)";
    }
    e->fallbacks.push_back(std::move(f));
    return nullptr;
}

const char *
bd_models_set_service_tier(bd_conf_ctx_t *cf, const bd_conf_node_t *node, const bd_directive_t *d,
                           void *conf)
{
    bd_model_entry_t *e = bd_models_block_entry(conf, d);
    const std::string &tier = node->args[1];
    if (tier != "priority" && tier != "default" && tier != "flex" && tier != "reserved") {
        cf->errbuf = "invalid value \"" + tier + "\" in \"service_tier\" directive, it must be "
                     "one of: priority, default, flex, reserved";
        return cf->errbuf.c_str();
    }
    if (node->args.size() > 2 && node->args[2] != "strict") {
        cf->errbuf = "invalid value \"" + node->args[2] + "\" in \"service_tier\" directive, "
                     "the second argument can only be \"strict\"";
        return cf->errbuf.c_str();
    }
    e->service_tier = tier == "default" ? "" : tier;
    e->service_tier_strict = node->args.size() > 2;
    return nullptr;
}

const char *
bd_models_fallback_resolve(bd_model_entry_t *e,
                           const bd_model_entry_t *(*find)(const void *, const std::string &),
                           const void *data, std::string *err)
{
    for (bd_model_fallback_t &f : e->fallbacks) {
        const bd_model_entry_t *named = find(data, f.target);
        if (named == e) {
            *err = "model \"" + e->name + "\" names itself in \"fallback\" at line " +
                   std::to_string(f.line);
            return err->c_str();
        }
        f.bedrock_id = named != nullptr ? named->data.bedrock_id : f.target;
        if (named == nullptr && strchr(f.target.c_str(), '.') == nullptr &&
            f.target.compare(0, 4, "arn:") != 0) {
            *err = "\"fallback " + f.target + "\" in model \"" + e->name +
                   "\" is neither a model name nor a Bedrock model id";
            return err->c_str();
        }
        /* The InvokeModel body is Anthropic's: only Claude (or an ARN, which may be one)
         * can take it. Converse bodies go to any model. */
        if (e->data.route == BD_ROUTE_INVOKE &&
            !(bd_models_known(f.bedrock_id.c_str())->flags & BD_KNOWN_CLAUDE) &&
            f.bedrock_id.compare(0, 4, "arn:") != 0) {
            *err = "\"fallback " + f.target + "\" in model \"" + e->name +
                   "\" cannot take the InvokeModel body of a model with route invoke (use route "
                   "converse, or a Claude fallback)";
            return err->c_str();
        }
    }
    return nullptr;
}
