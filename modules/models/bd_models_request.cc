/*
 * bd_models_request.cc: a client request's body and model, up to admission. It lives with
 * the model map because resolving the model the body names is the model map's job; auth
 * and the rate limit are asked once the model is known, so this file builds as its own
 * library (bd_models_request): the model map itself stays below the store, which depends
 * on it. Worker thread; reads the request's snapshot only.
 */
#include "modules/models/bd_models_request.h"

#include "core/bd_log.h"
#include "modules/auth/bd_auth.h"
#include "modules/models/bd_models.h"
#include "modules/ratelimit/bd_ratelimit.h"

json_t *
bd_models_request_body(const bd_request_t *r, const char *what, std::string *msg)
{
    json_error_t jerr;
    json_t *req = json_loadb(r->body, r->body_len, 0, &jerr);
    if (req == nullptr) {
        *msg = r->body_len == 0 ? std::string(what) + " is empty"
                                : std::string(what) + " is not valid JSON: " + jerr.text +
                                      " at position " + std::to_string(jerr.position);
        return nullptr;
    }
    if (!json_is_object(req)) {
        json_decref(req);
        *msg = std::string(what) + " must be a JSON object";
        return nullptr;
    }
    return req;
}

int
bd_models_request_admit(bd_request_t *r, const char *name, int64_t output_max,
                        bd_convert_model_t *out)
{
    r->model = name;
    if (bd_models_resolve(r->snap, name, out) != 0) {
        return BD_DECLINED;
    }
    r->model_resolved = out->bedrock_id;
    /* The key's model patterns first: a model the key may not use costs no tokens. */
    if (bd_auth_check_model(r, name) != BD_OK ||
        bd_ratelimit_admit_tokens(r, (int64_t)(r->body_len / 4) + output_max) != BD_OK) {
        return BD_DONE;
    }
    return BD_OK;
}

void
bd_models_request_dropped_betas(bd_request_t *r, const std::vector<std::string> &dropped)
{
    std::string names;
    for (const std::string &b : dropped) {
        names += names.empty() ? "" : ",";
        names += b;
    }
    r->betas_dropped += (int)dropped.size();
    if (!dropped.empty()) {
        bd_log_error(BD_LOG_DEBUG, r->id, "anthropic-beta not accepted by %s, not sent: %s",
                     r->model_resolved.c_str(), names.c_str());
    }
}
