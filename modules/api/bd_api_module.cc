/*
 * bd_api_module.cc: the client APIs' common part. At postconfig it registers every
 * API's routes under the API's prefixes (a path two APIs serve is one route whose
 * requests go to the API that claims them) and their error formats. For each request
 * of those routes it runs:
 *
 *   MODEL   the API that serves it; the body parsed once (r->json) and who it is for
 *           (r->user_id); the model it names resolved once through the model map. A
 *           failure is kept, so that the key is still checked first.
 *   ACCESS  after the key, its limits and the response cache: the MODEL failure, or
 *           the model's admission (the key's model patterns, its tokens per minute).
 *   CONTENT the route's handler, or for a model call the shared driver (bd_api_relay).
 *
 * Conf on the main thread; the phases on workers.
 */
#include "modules/api/bd_api.h"

#include <string.h>

#include <memory>

#include "core/bd_http.h"
#include "core/bd_json.h"
#include "core/bd_json_tree.h"
#include "core/bd_log.h"
#include "modules/auth/bd_auth.h"
#include "modules/models/bd_models.h"
#include "modules/ratelimit/bd_ratelimit.h"

/* The APIs that serve one path, in the order of bd_apis[]. */
struct bd_api_slot_t {
    std::vector<std::pair<const bd_api_t *, const bd_api_route_t *>> apis;
};

struct bd_api_conf_t {
    std::vector<std::unique_ptr<bd_api_slot_t>> slots; /* route data; stable addresses */
};

static void *
bd_api_create_conf(void)
{
    return new bd_api_conf_t();
}

static void
bd_api_destroy_conf(void *conf)
{
    delete (bd_api_conf_t *)conf;
}

bd_api_req_t *
bd_api_req(const bd_request_t *r)
{
    return (bd_api_req_t *)r->ctx[bd_api_module.index];
}

/* The part of an API route's path whose errors are the API's: its first segment
 * ("/chat/" of "/chat/completions", "/embeddings"). */
static std::string
bd_api_error_prefix(const std::string &prefix, const char *path)
{
    const char *slash = strchr(path + 1, '/');
    return prefix + (slash != nullptr ? std::string(path, (size_t)(slash - path) + 1) : path);
}

static const char *
bd_api_add_route(bd_snapshot_t *snap, bd_api_conf_t *c, const bd_api_t *api,
                 const bd_api_route_t *rt, const std::string &path)
{
    for (bd_route_t &old : snap->routes) {
        if (old.path != path || old.prefix != rt->prefix) {
            continue;
        }
        if (old.module != &bd_api_module) {
            return "an API path is already served by another module";
        }
        bd_api_slot_t *slot = (bd_api_slot_t *)old.data;
        for (const auto &a : slot->apis) {
            if (a.first == api) {
                return "an API serves the same path twice (its prefixes overlap)";
            }
        }
        slot->apis.emplace_back(api, rt);
        old.methods |= rt->methods;
        return nullptr;
    }
    c->slots.emplace_back(new bd_api_slot_t());
    bd_api_slot_t *slot = c->slots.back().get();
    slot->apis.emplace_back(api, rt);
    bd_route_t route = {path, rt->prefix, rt->methods, api, false, &bd_api_module,
                        nullptr, slot, api->id_header};
    route.handler = [](bd_request_t *r) -> int {
        bd_api_req_t *q = bd_api_req(r);
        return q->route->handler != nullptr ? q->route->handler(r) : bd_api_call_run(r);
    };
    return bd_snapshot_add_route(snap, route);
}

static const char *
bd_api_postconfig(bd_snapshot_t *snap, void *conf)
{
    bd_api_conf_t *c = (bd_api_conf_t *)conf;
    for (int i = 0; bd_apis[i] != nullptr; i++) {
        const bd_api_t *api = bd_apis[i];
        std::vector<std::string> prefixes;
        api->prefixes(snap, &prefixes);
        if (api->default_errors) {
            bd_snapshot_add_error_format(snap, "", api->render_error);
        }
        for (const std::string &p : prefixes) {
            for (const bd_api_route_t *rt = api->routes; rt->path != nullptr; rt++) {
                bd_snapshot_add_error_format(snap, bd_api_error_prefix(p, rt->path),
                                             api->render_error);
                const char *rv = bd_api_add_route(snap, c, api, rt, p + rt->path);
                if (rv != nullptr) {
                    return rv;
                }
            }
            if (api->prefix_errors) {
                /* a prefix of its own (another API's, registered first, stays) */
                bd_snapshot_add_error_format(snap, p + "/", api->render_error);
            }
        }
    }
    return nullptr;
}

/* The tree of a client's text: read through the scan (bd_json_tree), else by jansson,
 * whose verdict and error message the client then gets. */
static json_t *
bd_api_load(const char *p, size_t n, json_error_t *jerr)
{
    json_t *j = bd_json_tree_load(p, n);
    return j != nullptr ? j : json_loadb(p, n, 0, jerr);
}

/* Parses the body into r->json: 0, or 400 with <msg>. */
static int
bd_api_parse_body(bd_request_t *r, bd_api_req_t *q, std::string *msg)
{
    const bd_api_t *api = q->api;
    json_error_t jerr;
    json_t *body;
    if (q->route->slices != 0 &&
        bd_json_slices_cut(r->body, r->body_len, q->route->slices, &q->slices) > 0) {
        body = bd_api_load(q->slices.text.data(), q->slices.text.size(), &jerr);
        if (body == nullptr) {
            /* the error's position is the client's text's, not the cut copy's */
            body = json_loadb(r->body, r->body_len, 0, &jerr);
        }
    } else {
        body = bd_api_load(r->body, r->body_len, &jerr);
    }
    if (body == nullptr) {
        *msg = r->body_len == 0 ? std::string(api->body_name) + " is empty"
                                : std::string(api->body_name) + " is not valid JSON: " +
                                      jerr.text + " at position " + std::to_string(jerr.position);
        return 400;
    }
    if (!json_is_object(body)) {
        json_decref(body);
        *msg = std::string(api->body_name) + " must be a JSON object";
        return 400;
    }
    r->json = body;
    bd_api_user_id(body, &r->user_id);
    return 0;
}

/* The API that serves <r>: the first that claims it, else the first that claims
 * whatever is left. */
static void
bd_api_choose(bd_request_t *r, const bd_api_slot_t *slot, bd_api_req_t *q)
{
    const std::pair<const bd_api_t *, const bd_api_route_t *> *pick = nullptr;
    for (const auto &a : slot->apis) {
        if (!(a.second->methods & r->method)) {
            continue;
        }
        if (a.second->claims != nullptr && a.second->claims(r)) {
            pick = &a;
            break;
        }
        if (a.second->claims == nullptr && pick == nullptr) {
            pick = &a;
        }
    }
    if (pick == nullptr) {
        pick = &slot->apis[0];
    }
    q->api = pick->first;
    q->route = pick->second;
}

/* MODEL: what the request is, judged in ACCESS. */
static int
bd_api_model(bd_request_t *r)
{
    if (r->route->module != &bd_api_module) {
        return BD_DECLINED;
    }
    bd_api_req_t *q = bd_request_arena_new<bd_api_req_t>(r);
    r->ctx[bd_api_module.index] = q;
    bd_api_choose(r, (const bd_api_slot_t *)r->route->data, q);
    r->api = q->api;
    r->render_error = q->api->render_error;
    r->id_header = q->api->id_header;

    std::string body_msg;
    int body_status = r->method == BD_METHOD_POST ? bd_api_parse_body(r, q, &body_msg) : 0;
    if (q->route->model) {
        int status = 0;
        std::string msg;
        if (q->api->model(r, &q->ask, &status, &msg) != 0) {
            if (body_status == 0 || q->api->model_in_path) {
                q->fail_status = status;
                q->fail_kind = BD_API_FAIL_MODEL;
                q->fail_msg.swap(msg);
                return BD_OK;
            }
        } else if (body_status == 0) {
            q->model = bd_models_lookup(r->snap, q->ask.name.c_str(), &q->model_table,
                                        &q->resolved);
            if (q->model == nullptr) {
                q->fail_status = 404;
                q->fail_kind = BD_API_FAIL_UNKNOWN_MODEL;
                return BD_OK;
            }
        }
    }
    if (body_status != 0) {
        q->fail_status = body_status;
        q->fail_kind = BD_API_FAIL_BODY;
        q->fail_msg.swap(body_msg);
    }
    return BD_OK;
}

/* ACCESS, after the key, its limits and the cache: the MODEL phase's failure, or the
 * model's admission for the key. */
static int
bd_api_access(bd_request_t *r)
{
    bd_api_req_t *q = bd_api_req(r);
    if (q == nullptr) {
        return BD_DECLINED;
    }
    if (q->fail_status != 0) {
        if (q->fail_kind == BD_API_FAIL_UNKNOWN_MODEL) {
            r->model = q->ask.name;
        }
        q->api->fail(r, q->fail_kind, q->fail_status, q->ask.name, q->fail_msg.c_str());
        return BD_DONE;
    }
    if (!q->route->model) {
        return BD_DECLINED;
    }
    r->model = q->ask.name;
    r->model_resolved = q->model->bedrock_id;
    /* The key's model patterns first: a model the key may not use costs no tokens. The
     * input is estimated at four body bytes a token. */
    if (bd_auth_check_model(r, q->ask.name.c_str()) != BD_OK ||
        bd_ratelimit_admit_tokens(r, (int64_t)(r->body_len / 4) + q->ask.output_max) != BD_OK) {
        return BD_DONE;
    }
    return BD_OK;
}

/* Upstream JSON <text> as a tree, or null with a 502 <err> saying <what>. */
static json_t *
bd_api_upstream_tree(const char *text, size_t len, const char *what, bd_convert_error_t *err)
{
    json_t *j = json_loadb(text, len, 0, nullptr);
    if (j == nullptr) {
        err->status = 502;
        err->type = "api_error";
        err->message = what;
    }
    return j;
}

json_t *
bd_api_event_tree(const char *payload, size_t len, bd_convert_error_t *err)
{
    return bd_api_upstream_tree(payload, len, "the payload is not JSON", err);
}

json_t *
bd_api_answer_tree(const std::string &body, bd_convert_error_t *err)
{
    return bd_api_upstream_tree(body.data(), body.size(), "not JSON", err);
}

int
bd_api_answer_text(json_t *j, std::string *out)
{
    if (j == nullptr) {
        return -1;
    }
    bd_convert_json_dump(j, out);
    json_decref(j);
    return 0;
}

void
bd_api_send_json(bd_request_t *r, json_t *j)
{
    std::string body;
    bd_convert_json_dump(j, &body);
    json_decref(j);
    bd_http_send(r, 200, "application/json", body.data(), body.size());
}

void
bd_api_send_error(bd_request_t *r, const bd_convert_error_t *err)
{
    if (err->status == 429 || err->status == 503 || err->status == 529) {
        bd_http_header_out(r, "retry-after", "1");
    }
    bd_http_send_error(r, err->status, bd_err_parse(err->type), err->message.c_str());
}

bd_module_t bd_api_module = {
    .name = "api",
    .index = 0,
    .directives = nullptr,
    .create_conf = bd_api_create_conf,
    .init_conf = nullptr,
    .postconfig = bd_api_postconfig,
    .destroy_conf = bd_api_destroy_conf,
    .init_process = nullptr,
    .exit_process = nullptr,
    .init_worker = nullptr,
    .exit_worker = nullptr,
    .access = bd_api_access,
    .log = nullptr,
    .ready = nullptr,
    .ready_json = nullptr,
    .metrics = nullptr,
    .model = bd_api_model,
};
