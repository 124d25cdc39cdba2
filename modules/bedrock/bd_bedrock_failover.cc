/*
 * bd_bedrock_failover.cc: failover chains (built at conf load) and the walk of one call
 * along its chain (worker thread). See bd_bedrock_failover.h.
 */
#include "modules/bedrock/bd_bedrock_failover.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <map>

#include <event2/http.h>
#include <jansson.h>

#include "core/bd_http.h"
#include "core/bd_log.h"
#include "modules/auth/bd_auth.h"
#include "modules/bedrock/bd_bedrock_conf.h"
#include "modules/models/bd_models.h"

/* --- conf load --- */

static std::string
bd_failover_key(const bd_failover_target_t &t)
{
    return t.endpoint.url + "|" + t.endpoint.region + "|" + t.model_id;
}

/* Labels name one target each across the whole conf: they are metrics label values. */
static const char *
bd_failover_attach_circuits(bd_failover_chain_t *chain,
                            std::map<std::string, std::string> *labels, const std::string &model,
                            std::string *msg)
{
    for (bd_failover_target_t &t : chain->targets) {
        std::string key = bd_failover_key(t);
        auto it = labels->emplace(t.label, key).first;
        if (it->second != key) {
            *msg = "model \"" + model + "\": two different failover targets are both named \"" +
                   t.label + "\"; give one a name=";
            return msg->c_str();
        }
        t.circuit = bd_circuit_get(key, t.label);
    }
    return nullptr;
}

static const char *
bd_failover_chain_build(const bd_model_entry_t &e, const bd_bedrock_conf_t *conf,
                        bd_failover_chain_t *chain, std::string *msg)
{
    bd_failover_target_t own;
    own.model_id = e.data.bedrock_id;
    own.endpoint = conf->runtime;
    own.label = conf->runtime.region + "/" + own.model_id;
    own.step = 0;
    own.weight = e.weight;
    own.on = BD_FAILOVER_ON_ALL;
    own.circuit = nullptr;
    chain->targets.push_back(own);
    chain->service_tier = e.service_tier;
    chain->tier_strict = e.service_tier_strict;

    for (const bd_model_fallback_t &f : e.fallbacks) {
        bd_failover_target_t t;
        t.model_id = f.bedrock_id;
        t.endpoint = conf->runtime;
        if (!f.region.empty() || !f.endpoint.empty()) {
            char err[256];
            std::string region = f.region.empty() ? conf->region : f.region;
            if (bd_aws_endpoint_resolve("bedrock-runtime", region.c_str(), f.endpoint.c_str(),
                                        nullptr, &t.endpoint, err, sizeof(err)) != 0) {
                *msg = "model \"" + e.name + "\": fallback \"" + f.target + "\": " + err;
                return msg->c_str();
            }
        }
        t.label = f.name.empty() ? t.endpoint.region + "/" + t.model_id : f.name;
        const bd_failover_target_t &prev = chain->targets.back();
        t.step = f.weight > 0 ? prev.step : prev.step + 1;
        t.weight = f.weight > 0 ? f.weight : 1;
        t.on = f.on;
        t.circuit = nullptr;
        chain->targets.push_back(t);
    }
    return nullptr;
}

const char *
bd_failover_build(bd_snapshot_t *snap, bd_bedrock_conf_t *conf)
{
    static thread_local std::string msg;
    bd_failover_conf_t *fc = new bd_failover_conf_t();
    fc->any = false;
    conf->failover = fc;
    std::map<std::string, std::string> labels;
    for (const bd_model_entry_t &e : bd_models_entries(snap)) {
        fc->by_entry.emplace_back(nullptr);
        if (e.fallbacks.empty() && e.service_tier.empty()) {
            continue;
        }
        bd_failover_chain_t *chain = new bd_failover_chain_t();
        fc->by_entry.back().reset(chain);
        if (bd_failover_chain_build(e, conf, chain, &msg) != nullptr ||
            (chain->targets.size() > 1 &&
             bd_failover_attach_circuits(chain, &labels, e.name, &msg) != nullptr)) {
            return msg.c_str();
        }
        fc->any = true;
    }
    return nullptr;
}

void
bd_failover_circuits(const bd_snapshot_t *snap, std::vector<bd_circuit_info_t> *out)
{
    const bd_failover_conf_t *fc = bd_bedrock_conf(snap)->failover;
    if (fc == nullptr) {
        return;
    }
    int64_t now = bd_now_us();
    std::vector<const bd_circuit_t *> seen;
    for (const auto &chain : fc->by_entry) {
        for (const bd_failover_target_t &t : chain ? chain->targets
                                                   : std::vector<bd_failover_target_t>()) {
            bool dup = false;
            for (const bd_circuit_t *c : seen) {
                dup = dup || c == t.circuit;
            }
            if (t.circuit == nullptr || dup) {
                continue;
            }
            seen.push_back(t.circuit);
            out->emplace_back();
            bd_circuit_info(t.circuit, now, &out->back());
        }
    }
}

void
bd_failover_conf_free(bd_failover_conf_t *fc)
{
    delete fc;
}

/* --- selection --- */

unsigned
bd_failover_class(const bd_bedrock_result_t *res)
{
    switch (res->kind) {
    case BD_BEDROCK_TRANSPORT:
        return res->timeout ? BD_FAILOVER_ON_TIMEOUT : BD_FAILOVER_ON_5XX;
    case BD_BEDROCK_BAD_STREAM:
        return BD_FAILOVER_ON_5XX;
    case BD_BEDROCK_AWS_ERROR:
    case BD_BEDROCK_STREAM_ERROR:
        break;
    default:
        return 0;
    }
    const std::string &n = res->error_name;
    if (strcasecmp(n.c_str(), "ModelNotReadyException") == 0) {
        return BD_FAILOVER_ON_NOT_READY;
    }
    if (strcasecmp(n.c_str(), "ThrottlingException") == 0 ||
        strcasecmp(n.c_str(), "ServiceQuotaExceededException") == 0 || res->http_status == 429) {
        return BD_FAILOVER_ON_THROTTLE;
    }
    if (strcasecmp(n.c_str(), "ModelTimeoutException") == 0 || res->http_status == 408) {
        return BD_FAILOVER_ON_TIMEOUT;
    }
    if (strcasecmp(n.c_str(), "InternalServerException") == 0 ||
        strcasecmp(n.c_str(), "ServiceUnavailableException") == 0 || res->http_status >= 500) {
        return BD_FAILOVER_ON_5XX;
    }
    return 0;
}

static int
bd_failover_random(uint64_t *rng, int64_t total)
{
    *rng = *rng * 6364136223846793005ull + 1442695040888963407ull;
    return (int)((*rng >> 33) % (uint64_t)total);
}

static bool
bd_failover_eligible(const bd_failover_chain_t *chain, int k, uint32_t tried, unsigned cls)
{
    return (tried & (1u << k)) == 0 && (cls == 0 || (chain->targets[k].on & cls) != 0);
}

static bool
bd_failover_open(const bd_failover_target_t &t, int64_t now_us, int64_t cooldown_us)
{
    return t.circuit != nullptr && !bd_circuit_available(t.circuit, now_us, cooldown_us);
}

/* A weighted choice among the eligible targets of [first, end) whose circuit lets a
 * request through; -1 when there is none. */
static int
bd_failover_pick_step(const bd_failover_chain_t *chain, int first, int end, uint32_t *tried,
                      unsigned cls, int64_t now_us, int64_t cooldown_us, uint64_t *rng,
                      bool *probe)
{
    for (;;) {
        int64_t total = 0;
        for (int k = first; k < end; k++) {
            if (bd_failover_eligible(chain, k, *tried, cls) &&
                !bd_failover_open(chain->targets[k], now_us, cooldown_us)) {
                total += chain->targets[k].weight;
            }
        }
        if (total == 0) {
            return -1;
        }
        int64_t x = bd_failover_random(rng, total);
        int k = first;
        for (;; k++) {
            if (bd_failover_eligible(chain, k, *tried, cls) &&
                !bd_failover_open(chain->targets[k], now_us, cooldown_us)) {
                if (x < chain->targets[k].weight) {
                    break;
                }
                x -= chain->targets[k].weight;
            }
        }
        *tried |= 1u << k;
        bd_circuit_t *c = chain->targets[k].circuit;
        int a = c != nullptr ? bd_circuit_admit(c, now_us, cooldown_us) : BD_CIRCUIT_GO;
        if (a != BD_CIRCUIT_SKIP) {
            *probe = a == BD_CIRCUIT_PROBE;
            return k;
        }
        bd_circuit_skipped(c); /* another request took the probe meanwhile */
    }
}

int
bd_failover_pick(const bd_failover_chain_t *chain, uint32_t *tried, unsigned cls,
                 int64_t now_us, int64_t cooldown_us, uint64_t *rng, bool *probe)
{
    *probe = false;
    int n = (int)chain->targets.size();
    int fallback = -1; /* the first eligible target, for when every circuit is open */
    for (int first = 0; first < n;) {
        int end = first;
        while (end < n && chain->targets[end].step == chain->targets[first].step) {
            end++;
        }
        for (int k = first; k < end && fallback < 0; k++) {
            if (bd_failover_eligible(chain, k, *tried, cls)) {
                fallback = k;
            }
        }
        int k = bd_failover_pick_step(chain, first, end, tried, cls, now_us, cooldown_us, rng,
                                      probe);
        if (k >= 0) {
            return k;
        }
        for (k = first; k < end; k++) {
            if (bd_failover_eligible(chain, k, *tried, cls)) {
                *tried |= 1u << k;
                bd_circuit_skipped(chain->targets[k].circuit);
            }
        }
        first = end;
    }
    if (fallback >= 0) {
        *tried |= 1u << fallback;
        if (chain->targets[fallback].circuit != nullptr) {
            chain->targets[fallback].circuit->calls.fetch_add(1, std::memory_order_relaxed);
        }
    }
    return fallback;
}

/* --- one call --- */

/* The key's metadata may ask for a tier: {"service_tier": "priority"}. */
static bool
bd_failover_key_tier(const bd_request_t *r, std::string *tier)
{
    const bd_key_t *key = bd_auth_key(r);
    if (key == nullptr || key->metadata.find("service_tier") == std::string::npos) {
        return false;
    }
    json_t *j = json_loads(key->metadata.c_str(), 0, nullptr);
    const char *v = json_string_value(json_object_get(j, "service_tier"));
    bool ok = v != nullptr && (strcmp(v, "priority") == 0 || strcmp(v, "flex") == 0 ||
                               strcmp(v, "reserved") == 0 || strcmp(v, "default") == 0);
    if (ok) {
        *tier = strcmp(v, "default") == 0 ? "" : v;
    }
    json_decref(j);
    return ok;
}

static void
bd_failover_set_target(bd_failover_walk_t *w, bd_request_t *r, int k)
{
    w->target = &w->chain->targets[k];
    w->tier = w->tier_asked;
    w->retry_after_us = 0;
    r->model_resolved = w->target->model_id;
}

void
bd_failover_begin(bd_failover_walk_t *w, bd_request_t *r, const bd_bedrock_conf_t *conf,
                  uint64_t *rng)
{
    w->chain = nullptr;
    w->target = nullptr;
    w->tried = 0;
    w->probe = false;
    w->tier_strict = false;
    w->retry_after_us = 0;
    w->cooldown_us = conf->circuit_cooldown_ms * 1000;
    if (conf->failover != nullptr && conf->failover->any) {
        int i = bd_models_entry_index(r->snap, r->model.c_str());
        if (i >= 0 && (size_t)i < conf->failover->by_entry.size()) {
            w->chain = conf->failover->by_entry[i].get();
        }
    }
    if (w->chain != nullptr) {
        w->tier_asked = w->chain->service_tier;
        w->tier_strict = w->chain->tier_strict;
    }
    if (bd_failover_key_tier(r, &w->tier_asked)) {
        w->tier_strict = false;
    }
    w->tier = w->tier_asked;
    if (w->chain != nullptr) {
        int k = bd_failover_pick(w->chain, &w->tried, 0, bd_now_us(), w->cooldown_us, rng,
                                 &w->probe);
        bd_failover_set_target(w, r, k);
    }
}

const std::string &
bd_failover_model_id(const bd_failover_walk_t *w, const std::string &own)
{
    return w->target != nullptr ? w->target->model_id : own;
}

const bd_aws_endpoint_t *
bd_failover_endpoint(const bd_failover_walk_t *w, const bd_bedrock_conf_t *conf)
{
    return w->target != nullptr ? &w->target->endpoint : &conf->runtime;
}

const std::string &
bd_failover_body(bd_failover_walk_t *w, int op, const std::string &base)
{
    if (w->tier.empty() || (op != BD_OP_CONVERSE && op != BD_OP_CONVERSE_STREAM) ||
        base.size() < 2 || base.back() != '}') {
        return base;
    }
    w->tier_body.assign(base, 0, base.size() - 1);
    w->tier_body.append(base.size() > 2 ? ",\"serviceTier\":{\"type\":\"" : "\"serviceTier\":{\"type\":\"");
    w->tier_body.append(w->tier);
    w->tier_body.append("\"}}");
    return w->tier_body;
}

const char *
bd_failover_tier_header(const bd_failover_walk_t *w, int op)
{
    return !w->tier.empty() && (op == BD_OP_INVOKE || op == BD_OP_INVOKE_STREAM) ? w->tier.c_str()
                                                                                : nullptr;
}

static void
bd_failover_header(bd_request_t *r, const char *name, const char *value)
{
    if (r->req != nullptr) {
        evhttp_remove_header(evhttp_request_get_output_headers(r->req), name);
    }
    bd_http_header_out(r, name, value);
}

void
bd_failover_on_attempt(bd_failover_walk_t *w, bd_request_t *r)
{
    if (w->target != nullptr) {
        r->upstream_target = w->target->label;
        bd_failover_header(r, "x-bedrockd-served-by", w->target->label.c_str());
    }
    if (!w->tier_asked.empty()) {
        bd_failover_header(r, "x-bedrockd-service-tier",
                           w->tier.empty() ? "default" : w->tier.c_str());
    }
}

void
bd_failover_on_headers(bd_failover_walk_t *w, const char *retry_after)
{
    w->retry_after_us = 0;
    if (retry_after != nullptr) {
        char *end = nullptr;
        long s = strtol(retry_after, &end, 10);
        if (end != retry_after && *end == '\0' && s > 0 && s <= 3600) {
            w->retry_after_us = (int64_t)s * 1000000;
        }
    }
}

/* Bedrock refuses a tier the model or region does not offer with a ValidationException
 * that names it, and a tier without capacity with ServiceUnavailableException. */
static bool
bd_failover_tier_unavailable(const bd_bedrock_result_t *res)
{
    if (res->kind != BD_BEDROCK_AWS_ERROR) {
        return false;
    }
    if (res->error_name == "ServiceUnavailableException") {
        return true;
    }
    return res->error_name == "ValidationException" &&
           (strcasestr(res->message.c_str(), "tier") != nullptr);
}

bool
bd_failover_next(bd_failover_walk_t *w, bd_request_t *r, const bd_bedrock_conf_t *conf,
                 const bd_bedrock_result_t *res, bool delivered, uint64_t *rng)
{
    int64_t now = bd_now_us();
    bd_circuit_t *circuit = w->target != nullptr ? w->target->circuit : nullptr;
    if (res->kind == BD_BEDROCK_OK) {
        if (circuit != nullptr) {
            bd_circuit_success(circuit, w->probe);
        }
        w->probe = false;
        return false;
    }
    if (!delivered && !w->tier.empty() && !w->tier_strict && bd_failover_tier_unavailable(res)) {
        bd_log_error(BD_LOG_INFO, r->id, "service tier %s unavailable (%s), asking for the default",
                     w->tier.c_str(), res->error_name.c_str());
        w->tier.clear();
        return true;
    }
    unsigned cls = bd_failover_class(res);
    if (circuit != nullptr) {
        if (cls != 0) {
            bd_circuit_failure(circuit, w->probe, now, (int)conf->circuit_failures,
                               conf->circuit_cooldown_ms * 1000, w->retry_after_us);
        } else if (res->kind == BD_BEDROCK_NO_CREDENTIALS) {
            if (w->probe) {
                bd_circuit_release(circuit, now);
            }
        } else {
            bd_circuit_success(circuit, w->probe); /* a client error: the target answers */
        }
        w->probe = false;
    }
    if (delivered || cls == 0 || w->chain == nullptr) {
        return false;
    }
    std::string from = w->target->label;
    int k = bd_failover_pick(w->chain, &w->tried, cls, now, w->cooldown_us, rng, &w->probe);
    if (k < 0) {
        return false;
    }
    bd_failover_set_target(w, r, k);
    bd_log_error(BD_LOG_INFO, r->id, "bedrock %s on %s, failing over to %s",
                 res->error_name.c_str(), from.c_str(), w->target->label.c_str());
    return true;
}

void
bd_failover_end(bd_failover_walk_t *w)
{
    if (w->probe && w->target != nullptr && w->target->circuit != nullptr) {
        bd_circuit_release(w->target->circuit, bd_now_us());
    }
    w->probe = false;
}
