/*
 * bd_bedrock_circuit.cc: the breaker's state machine on atomics, and the registry that
 * owns every circuit for the life of the process (see bd_bedrock_circuit.h).
 */
#include "modules/bedrock/bd_bedrock_circuit.h"

#include <map>
#include <memory>
#include <mutex>

/* The one owner of the circuits: appended at conf load, read by /metrics and /ready. */
static std::mutex bd_circuit_lock;
static std::map<std::string, std::unique_ptr<bd_circuit_t>> bd_circuit_registry;

/* opened_us of a circuit that no cool-down holds (never opened, opened by retry-after
 * alone, or a probe given back). */
static const int64_t BD_CIRCUIT_NO_COOLDOWN = INT64_MIN;

bd_circuit_t *
bd_circuit_get(const std::string &key, const std::string &label)
{
    std::lock_guard<std::mutex> guard(bd_circuit_lock);
    std::unique_ptr<bd_circuit_t> &slot = bd_circuit_registry[key + "\n" + label];
    if (!slot) {
        slot.reset(new bd_circuit_t());
        slot->label = label;
        slot->state.store(BD_CIRCUIT_CLOSED);
        slot->failures.store(0);
        slot->opened_us.store(BD_CIRCUIT_NO_COOLDOWN);
        slot->hold_until_us.store(0);
        slot->cooldown_us.store(0);
        slot->opened.store(0);
        slot->calls.store(0);
        slot->failed.store(0);
        slot->skipped.store(0);
    }
    return slot.get();
}

/* When an open circuit may be probed. */
static int64_t
bd_circuit_reopens_at(const bd_circuit_t *c, int64_t cooldown_us)
{
    int64_t opened = c->opened_us.load(std::memory_order_acquire);
    int64_t hold = c->hold_until_us.load(std::memory_order_acquire);
    int64_t at = opened != BD_CIRCUIT_NO_COOLDOWN ? opened + cooldown_us : INT64_MIN;
    return hold > at ? hold : at;
}

bool
bd_circuit_available(const bd_circuit_t *c, int64_t now_us, int64_t cooldown_us)
{
    int s = c->state.load(std::memory_order_acquire);
    return s == BD_CIRCUIT_CLOSED ||
           (s == BD_CIRCUIT_OPEN && now_us >= bd_circuit_reopens_at(c, cooldown_us));
}

int
bd_circuit_admit(bd_circuit_t *c, int64_t now_us, int64_t cooldown_us)
{
    int s = c->state.load(std::memory_order_acquire);
    if (s == BD_CIRCUIT_CLOSED) {
        c->calls.fetch_add(1, std::memory_order_relaxed);
        return BD_CIRCUIT_GO;
    }
    if (s == BD_CIRCUIT_HALF_OPEN || now_us < bd_circuit_reopens_at(c, cooldown_us)) {
        return BD_CIRCUIT_SKIP;
    }
    /* The cool-down is over: exactly one request wins the probe. */
    if (!c->state.compare_exchange_strong(s, BD_CIRCUIT_HALF_OPEN, std::memory_order_acq_rel)) {
        return s == BD_CIRCUIT_CLOSED ? bd_circuit_admit(c, now_us, cooldown_us) : BD_CIRCUIT_SKIP;
    }
    c->calls.fetch_add(1, std::memory_order_relaxed);
    return BD_CIRCUIT_PROBE;
}

void
bd_circuit_success(bd_circuit_t *c, bool)
{
    c->failures.store(0, std::memory_order_relaxed);
    c->state.store(BD_CIRCUIT_CLOSED, std::memory_order_release);
}

/* hold_until = max(hold_until, until). */
static void
bd_circuit_hold(bd_circuit_t *c, int64_t until)
{
    int64_t cur = c->hold_until_us.load(std::memory_order_acquire);
    while (cur < until &&
           !c->hold_until_us.compare_exchange_weak(cur, until, std::memory_order_acq_rel)) {
    }
}

void
bd_circuit_failure(bd_circuit_t *c, bool probe, int64_t now_us, int threshold,
                   int64_t cooldown_us, int64_t retry_after_us)
{
    c->failed.fetch_add(1, std::memory_order_relaxed);
    c->cooldown_us.store(cooldown_us, std::memory_order_relaxed);
    int n = c->failures.fetch_add(1, std::memory_order_acq_rel) + 1;
    bool open = probe || (threshold > 0 && n >= threshold);
    if (!open && retry_after_us <= 0) {
        return;
    }
    if (retry_after_us > 0) {
        bd_circuit_hold(c, now_us + retry_after_us);
    }
    int prev = c->state.load(std::memory_order_acquire);
    if (open && (probe || prev != BD_CIRCUIT_OPEN)) {
        /* a failed probe starts a fresh cool-down, not the remainder of an old one */
        c->opened_us.store(now_us, std::memory_order_release);
    } else if (prev == BD_CIRCUIT_CLOSED) {
        c->opened_us.store(BD_CIRCUIT_NO_COOLDOWN, std::memory_order_release); /* retry-after */
    }
    if (c->state.exchange(BD_CIRCUIT_OPEN, std::memory_order_acq_rel) != BD_CIRCUIT_OPEN) {
        c->opened.fetch_add(1, std::memory_order_relaxed);
    }
}

void
bd_circuit_release(bd_circuit_t *c, int64_t)
{
    int s = BD_CIRCUIT_HALF_OPEN;
    c->opened_us.store(BD_CIRCUIT_NO_COOLDOWN, std::memory_order_release); /* next one probes */
    c->hold_until_us.store(0, std::memory_order_release);
    c->state.compare_exchange_strong(s, BD_CIRCUIT_OPEN, std::memory_order_acq_rel);
}

void
bd_circuit_skipped(bd_circuit_t *c)
{
    c->skipped.fetch_add(1, std::memory_order_relaxed);
}

void
bd_circuit_info(const bd_circuit_t *c, int64_t now_us, bd_circuit_info_t *i)
{
    i->label = c->label;
    i->state = c->state.load();
    i->failures = c->failures.load();
    int64_t until = bd_circuit_reopens_at(c, c->cooldown_us.load());
    i->open_ms = i->state == BD_CIRCUIT_OPEN && until > now_us ? (until - now_us + 999) / 1000 : 0;
    i->opened = c->opened.load();
    i->calls = c->calls.load();
    i->failed = c->failed.load();
    i->skipped = c->skipped.load();
}

const char *
bd_circuit_state_name(int state)
{
    switch (state) {
    case BD_CIRCUIT_OPEN:
        return "open";
    case BD_CIRCUIT_HALF_OPEN:
        return "half_open";
    default:
        return "closed";
    }
}
