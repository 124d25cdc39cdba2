/*
 * bd_emu_control.cc: the emulator's own control surface, for tests that stand one
 * emulator process for one AWS region. A region "state" is a scenario spec that every
 * model request gets ahead of its own header or marker (a region that throttles, is
 * down, or stalls), set and read over HTTP without credentials:
 *
 *   POST /_emulator/state   body: a scenario spec ("throttle retry_after=2"); empty clears;
 *                           a model=TEXT key limits it to model ids containing TEXT
 *   GET  /_emulator/state   {"scenario":"...","model_requests":N,"service_tiers":{...},
 *                            "h2_streams_open":N}
 *
 * h2_streams_open counts the HTTP/2 streams open now (a stream a client reset is gone);
 * model_requests counts the runtime calls that arrived; service_tiers counts them by the
 * service tier they asked for ("none" when they asked for none). Any loop thread (locked).
 */
#include "tests/emulator/bd_emu.h"

#include <pthread.h>
#include <string.h>

#include <map>

#include <event2/buffer.h>

static pthread_mutex_t bd_emu_control_lock = PTHREAD_MUTEX_INITIALIZER;
static std::string *bd_emu_control_state;                /* guarded; null = none */
static std::map<std::string, long> *bd_emu_control_tiers; /* guarded */
static long bd_emu_control_requests;                      /* guarded */
static long bd_emu_control_h2_open;                       /* guarded */

bool
bd_emu_control_override(const std::string &model_id, std::string *spec)
{
    std::string state;
    pthread_mutex_lock(&bd_emu_control_lock);
    if (bd_emu_control_state != nullptr) {
        state = *bd_emu_control_state;
    }
    pthread_mutex_unlock(&bd_emu_control_lock);
    if (state.empty()) {
        return false;
    }
    bd_emu_scenario_t sc;
    bd_emu_scenario_parse(state, &sc);
    const char *only = bd_emu_scenario_get(&sc, "model");
    if (only != nullptr && model_id.find(only) == std::string::npos) {
        return false;
    }
    *spec = state;
    return true;
}

void
bd_emu_control_count(const char *tier)
{
    pthread_mutex_lock(&bd_emu_control_lock);
    if (bd_emu_control_tiers == nullptr) {
        bd_emu_control_tiers = new std::map<std::string, long>();
    }
    bd_emu_control_requests++;
    (*bd_emu_control_tiers)[tier != nullptr ? tier : "none"]++;
    pthread_mutex_unlock(&bd_emu_control_lock);
}

void
bd_emu_control_h2_streams(long delta)
{
    pthread_mutex_lock(&bd_emu_control_lock);
    bd_emu_control_h2_open += delta;
    pthread_mutex_unlock(&bd_emu_control_lock);
}

static void
bd_emu_control_get(bd_emu_xchg_t *x)
{
    pthread_mutex_lock(&bd_emu_control_lock);
    json_t *tiers = json_object();
    if (bd_emu_control_tiers != nullptr) {
        for (const auto &kv : *bd_emu_control_tiers) {
            json_object_set_new(tiers, kv.first.c_str(), json_integer(kv.second));
        }
    }
    json_t *body = json_pack("{s:s, s:I, s:o, s:I}", "scenario",
                             bd_emu_control_state ? bd_emu_control_state->c_str() : "",
                             "model_requests", (json_int_t)bd_emu_control_requests,
                             "service_tiers", tiers,
                             "h2_streams_open", (json_int_t)bd_emu_control_h2_open);
    pthread_mutex_unlock(&bd_emu_control_lock);
    bd_emu_send_json(x, body);
}

bool
bd_emu_control_route(bd_emu_xchg_t *x, const std::string &path)
{
    if (path != "/_emulator/state") {
        return false;
    }
    if (x->method == "POST") {
        pthread_mutex_lock(&bd_emu_control_lock);
        if (bd_emu_control_state == nullptr) {
            bd_emu_control_state = new std::string();
        }
        bd_emu_control_state->assign(x->body);
        while (!bd_emu_control_state->empty() &&
               strchr(" \r\n\t", bd_emu_control_state->back()) != nullptr) {
            bd_emu_control_state->pop_back();
        }
        pthread_mutex_unlock(&bd_emu_control_lock);
    }
    bd_emu_control_get(x);
    return true;
}
