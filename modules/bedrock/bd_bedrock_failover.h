/*
 * bd_bedrock_failover.h: a model's failover chain and one call's walk along it. The chain
 * is built per snapshot from the model map's `fallback` lines: the model's own id first,
 * then each fallback, grouped in steps (a fallback with weight= shares the step of the
 * target before it). A call starts on a target of the first step whose circuit is not
 * open, chosen by weight; a failure whose class the next target accepts moves the call on
 * at once, only while nothing has reached the client. A service tier that Bedrock cannot
 * serve is asked again at the default tier on the same target first.
 *
 * The selection (bd_failover_pick) is pure but for the circuits, for unit tests.
 */
#ifndef BD_BEDROCK_FAILOVER_H
#define BD_BEDROCK_FAILOVER_H

#include <stdint.h>

#include <memory>
#include <string>
#include <vector>

#include "core/aws/bd_aws_endpoint.h"
#include "core/bd_request.h"
#include "modules/bedrock/bd_bedrock.h"
#include "modules/bedrock/bd_bedrock_circuit.h"

struct bd_bedrock_conf_t;

struct bd_failover_target_t {
    std::string model_id;
    std::string label;          /* x-bedrockd-served-by, usage, access log, metrics */
    bd_aws_endpoint_t endpoint; /* with its signing region */
    int step;                   /* 0 for the first step */
    int64_t weight;             /* share within the step, >= 1 */
    unsigned on;                /* failure classes that may move a call to it */
    bd_circuit_t *circuit;      /* null in a chain of one target */
};

struct bd_failover_chain_t {
    std::vector<bd_failover_target_t> targets; /* [0] is the model's own id */
    std::string service_tier;                  /* "" = none */
    bool tier_strict;
};

/* Per snapshot, owned by the bedrock conf. */
struct bd_failover_conf_t {
    std::vector<std::unique_ptr<bd_failover_chain_t>> by_entry; /* model entry index -> chain */
    bool any; /* some model has a chain or a tier: requests look theirs up */
};

/* One call's walk. Plain data; bd_failover_end releases a probe still held. */
struct bd_failover_walk_t {
    int64_t cooldown_us;              /* circuit_cooldown of the call's snapshot */
    const bd_failover_chain_t *chain; /* null: the model's own id, no failover */
    const bd_failover_target_t *target;
    uint32_t tried;       /* bit i: targets[i] was tried or skipped */
    bool probe;           /* the call holds target's circuit probe */
    std::string tier;       /* service tier sent now; "" = none (Bedrock's default) */
    std::string tier_asked; /* what the key or the model asked; each new target starts on it */
    bool tier_strict;
    int64_t retry_after_us; /* retry-after of the attempt's answer, 0 when none */
    std::string tier_body;  /* the Converse body with serviceTier, kept during the transfer */
};

/* Builds the chains of <snap>'s model map into <conf> (postconfig, main thread). Returns
 * null, or a message. */
const char *bd_failover_build(bd_snapshot_t *snap, bd_bedrock_conf_t *conf);

void bd_failover_conf_free(bd_failover_conf_t *fc);

/* Reports of the circuits <snap>'s chains use, each once, in conf order. Any thread
 * that holds <snap>. */
void bd_failover_circuits(const bd_snapshot_t *snap, std::vector<bd_circuit_info_t> *out);

/* The failure class of <res> (bd_models_failover_on_e), 0 for a client error or success. */
unsigned bd_failover_class(const bd_bedrock_result_t *res);

/* Picks the next target of <chain>: untried, accepting <cls> (0: the first pick, any),
 * circuit available, the earliest step, by weight within it (<rng>: a 64-bit LCG state).
 * Targets passed over because their circuit is open are marked in <tried>. When every
 * candidate is open, the first candidate goes anyway (a breaker never turns a degraded
 * upstream into a certain failure). Returns the index, or -1; sets <probe> when the call
 * holds the circuit's probe. */
int bd_failover_pick(const bd_failover_chain_t *chain, uint32_t *tried, unsigned cls,
                     int64_t now_us, int64_t cooldown_us, uint64_t *rng, bool *probe);

/* Starts <w> for <r>'s model: its chain and tier (the key's `service_tier` metadata wins
 * over the model's), and the first target. */
void bd_failover_begin(bd_failover_walk_t *w, bd_request_t *r, const bd_bedrock_conf_t *conf,
                       uint64_t *rng);

/* The model id, endpoint and body of the next attempt (<base> when nothing changes). */
const std::string &bd_failover_model_id(const bd_failover_walk_t *w, const std::string &own);
const bd_aws_endpoint_t *bd_failover_endpoint(const bd_failover_walk_t *w,
                                              const bd_bedrock_conf_t *conf);
const std::string &bd_failover_body(bd_failover_walk_t *w, int op, const std::string &base);

/* An attempt starts: names its target in the response headers and on <r>. */
void bd_failover_on_attempt(bd_failover_walk_t *w, bd_request_t *r);

/* The response headers of an attempt arrived; <retry_after> is their retry-after or null. */
void bd_failover_on_headers(bd_failover_walk_t *w, const char *retry_after);

/* The value of the service-tier request header for <op> (InvokeModel), or null. */
const char *bd_failover_tier_header(const bd_failover_walk_t *w, int op);

/* An attempt ended with <res>: gives the target's circuit its verdict, and decides
 * whether the call goes on (the default tier, or the next target). Returns true when
 * the caller must start another attempt now. <delivered>: something reached the client. */
bool bd_failover_next(bd_failover_walk_t *w, bd_request_t *r, const bd_bedrock_conf_t *conf,
                      const bd_bedrock_result_t *res, bool delivered, uint64_t *rng);

/* The call is over or canceled: a probe without a verdict is given back. */
void bd_failover_end(bd_failover_walk_t *w);

#endif
