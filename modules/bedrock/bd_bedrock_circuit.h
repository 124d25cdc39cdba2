/*
 * bd_bedrock_circuit.h: a circuit breaker per failover target, shared by every worker of
 * the process (so that all workers skip a target together). Closed: requests go. After
 * <threshold> consecutive failures: open, skipped for the cool-down. Then half-open: one
 * request (the probe) goes; success closes the circuit, failure opens it again. A
 * throttle that came with retry-after opens it for that long at once. The cool-down is
 * the current conf's, so a reload that changes it applies to circuits already open.
 *
 * The state is a few atomics, so the request path takes no lock. Circuits live in a
 * registry keyed by target (endpoint, signing region, model id, label) that outlives
 * snapshots: a reload keeps the state of targets it keeps. The registry's lock is taken
 * at conf load only; reports read the circuits a snapshot's chains point at.
 */
#ifndef BD_BEDROCK_CIRCUIT_H
#define BD_BEDROCK_CIRCUIT_H

#include <stdint.h>

#include <atomic>
#include <string>
#include <vector>

enum bd_circuit_state_e {
    BD_CIRCUIT_CLOSED = 0,
    BD_CIRCUIT_OPEN = 1,
    BD_CIRCUIT_HALF_OPEN = 2, /* a probe is in flight */
};

struct bd_circuit_t {
    std::string label; /* immutable */
    std::atomic<int> state;
    std::atomic<int> failures;          /* consecutive */
    std::atomic<int64_t> opened_us;     /* bd_now_us() when it opened (see the .cc) */
    std::atomic<int64_t> hold_until_us; /* retry-after: no probe before this */
    std::atomic<int64_t> cooldown_us;   /* the cool-down last applied, for reports */
    std::atomic<uint64_t> opened;       /* times it opened */
    std::atomic<uint64_t> calls, failed, skipped;
};

/* What bd_circuit_admit decided. */
enum bd_circuit_admit_e {
    BD_CIRCUIT_SKIP = 0,
    BD_CIRCUIT_GO = 1,
    BD_CIRCUIT_PROBE = 2, /* go; the caller holds the probe until success, failure or release */
};

/* The registry's circuit for <key> and <label>, created closed when new. Main thread
 * (conf load); the circuit lives until exit. */
bd_circuit_t *bd_circuit_get(const std::string &key, const std::string &label);

/* Whether a request could go now with cool-down <cooldown_us>, without changing anything
 * (for choosing). */
bool bd_circuit_available(const bd_circuit_t *c, int64_t now_us, int64_t cooldown_us);

/* Admits a request at <now_us>: GO when closed; PROBE for the one request let through
 * once the cool-down is over; SKIP otherwise. Any thread. */
int bd_circuit_admit(bd_circuit_t *c, int64_t now_us, int64_t cooldown_us);

/* The call succeeded: the circuit closes and its failure count resets. */
void bd_circuit_success(bd_circuit_t *c, bool probe);

/* The call failed: one more consecutive failure; at <threshold> (0: never) the circuit
 * opens (for <cooldown_us>); a failed probe opens it again at once. <retry_after_us> > 0
 * (a throttle that said how long to wait) holds it open for at least that long. */
void bd_circuit_failure(bd_circuit_t *c, bool probe, int64_t now_us, int threshold,
                        int64_t cooldown_us, int64_t retry_after_us);

/* A probe that ended without a verdict (the client left): the next request probes. */
void bd_circuit_release(bd_circuit_t *c, int64_t now_us);

/* The request skipped this target (it was open), for the counters. */
void bd_circuit_skipped(bd_circuit_t *c);

struct bd_circuit_info_t {
    std::string label;
    int state;
    int failures;
    int64_t open_ms; /* how long it stays open from now; 0 when not open */
    uint64_t opened, calls, failed, skipped;
};

/* A report of <c> at <now_us>. Any thread. */
void bd_circuit_info(const bd_circuit_t *c, int64_t now_us, bd_circuit_info_t *out);

/* "closed", "open", "half_open". */
const char *bd_circuit_state_name(int state);

#endif
