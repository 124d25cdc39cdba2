/*
 * bd_anthropic_models.cc: POST /v1/messages/count_tokens through Bedrock
 * CountTokens (the body and model come from the MODEL phase, modules/api), and GET /v1/models[/{id}] in Anthropic's list format from the
 * model map and the Bedrock catalog (bd_models_list). Worker thread.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <jansson.h>

#include "core/bd_http.h"
#include "modules/anthropic/bd_anthropic_int.h"
#include "modules/bedrock/bd_bedrock.h"
#include "modules/models/bd_models.h"
#include "modules/models/bd_models_known.h"

/* CountTokens takes a foundation model id: a cross-region profile id
 * ("us.anthropic.claude-...") counts as its model; an ARN cannot be counted. */
static bool
bd_anthropic_count_model_id(const std::string &id, std::string *out)
{
    if (id.compare(0, 4, "arn:") == 0) {
        return false;
    }
    *out = id.substr(bd_models_region_prefix(id.c_str()));
    return true;
}

static void
bd_anthropic_count_on_complete(bd_bedrock_call_t *c, const bd_bedrock_result_t *res)
{
    bd_request_t *r = bd_bedrock_request(c);
    bd_convert_error_t err;
    if (res->kind != BD_BEDROCK_OK) {
        if (res->kind == BD_BEDROCK_NO_CREDENTIALS) {
            bd_http_send_error(r, 503, BD_ERR_API, res->message.c_str());
            return;
        }
        bd_convert_bedrock_exception(res->error_name.c_str(), res->message.c_str(), &err);
        r->error_type = res->error_name;
        bd_api_send_error(r, &err);
        return;
    }
    json_t *resp = json_loadb(res->body->data(), res->body->size(), 0, nullptr);
    json_t *out = resp ? bd_convert_count_tokens_response(resp, &err) : nullptr;
    json_decref(resp);
    if (out == nullptr) {
        bd_http_send_error(r, 502, BD_ERR_API, "the upstream token count could not be read");
        return;
    }
    std::string body;
    bd_convert_json_dump(out, &body);
    json_decref(out);
    bd_http_send(r, 200, "application/json", body.data(), body.size());
}

static const bd_bedrock_handlers_t bd_anthropic_count_handlers = {
    nullptr,
    bd_anthropic_count_on_complete,
};

int
bd_anthropic_count_tokens(bd_request_t *r)
{
    const bd_convert_model_t *model = bd_api_req(r)->model;
    std::string model_id;
    if (!bd_anthropic_count_model_id(model->bedrock_id, &model_id)) {
        bd_http_send_error(r, 400, BD_ERR_INVALID_REQUEST,
                           "count_tokens is not supported for application inference profiles; "
                           "configure the model with a foundation model or cross-region id");
        return BD_DONE;
    }
    bd_convert_error_t err;
    json_t *body = bd_convert_count_tokens_request(r->json, model,
                                                   bd_request_header(r, "anthropic-beta"), &err);
    if (body == nullptr) {
        bd_http_send_error(r, err.status, bd_err_parse(err.type), err.message.c_str());
        return BD_DONE;
    }
    std::string text;
    bd_convert_json_dump(body, &text);
    json_decref(body);
    bd_bedrock_call(r, BD_OP_COUNT_TOKENS, model_id, &text, nullptr, &bd_anthropic_count_handlers,
                    nullptr);
    return BD_AGAIN;
}

/* Model ids hold ':' (amazon.nova-pro-v1:0), which clients percent-encode in the
 * path and in after_id/before_id; the core hands both over raw. */
static std::string
bd_anthropic_uridecode(const std::string &s, int plus)
{
    size_t n = 0;
    char *d = evhttp_uridecode(s.c_str(), plus, &n);
    std::string out = d != nullptr ? std::string(d, n) : s;
    free(d);
    return out;
}

static json_t *
bd_anthropic_model_object(const bd_models_listing_t &m)
{
    return json_pack("{s:s, s:s, s:s, s:s}", "type", "model", "id", m.id.c_str(), "display_name",
                     m.display_name.c_str(), "created_at",
                     m.created_at.empty() ? "1970-01-01T00:00:00Z" : m.created_at.c_str());
}

int
bd_anthropic_models_list(bd_request_t *r)
{
    std::vector<bd_models_listing_t> listed;
    bd_models_list(r->snap, 0, &listed);
    std::string limit_s = bd_http_query_arg(r, "limit");
    long limit = limit_s.empty() ? 20 : strtol(limit_s.c_str(), nullptr, 10);
    if (limit < 1 || limit > 1000) {
        bd_http_send_error(r, 400, BD_ERR_INVALID_REQUEST, "limit: must be between 1 and 1000");
        return BD_DONE;
    }
    std::string after = bd_anthropic_uridecode(bd_http_query_arg(r, "after_id"), 1);
    std::string before = bd_anthropic_uridecode(bd_http_query_arg(r, "before_id"), 1);
    size_t begin = 0, end = listed.size();
    bool after_seen = after.empty(), before_seen = before.empty();
    for (size_t i = 0; i < listed.size(); i++) {
        if (!after.empty() && listed[i].id == after) {
            begin = i + 1;
            after_seen = true;
        }
        if (!before.empty() && listed[i].id == before) {
            end = i;
            before_seen = true;
        }
    }
    if (!after_seen || !before_seen) {
        /* The cursor left the list (a catalog refresh dropped it): an empty last page,
         * so that a client paging through never starts over. */
        begin = end = 0;
    }
    bool has_more = false;
    if (!before.empty() && after.empty()) {
        /* before_id pages backwards: the last <limit> items before it. */
        if (end > begin + (size_t)limit) {
            begin = end - (size_t)limit;
            has_more = true;
        }
    } else if (end > begin + (size_t)limit) {
        end = begin + (size_t)limit;
        has_more = true;
    }
    json_t *data = json_array();
    for (size_t i = begin; i < end; i++) {
        json_array_append_new(data, bd_anthropic_model_object(listed[i]));
    }
    json_t *out = json_pack("{s:o, s:b}", "data", data, "has_more", has_more);
    json_object_set_new(out, "first_id",
                        begin < end ? json_string(listed[begin].id.c_str()) : json_null());
    json_object_set_new(out, "last_id",
                        begin < end ? json_string(listed[end - 1].id.c_str()) : json_null());
    bd_api_send_json(r, out);
    return BD_DONE;
}

int
bd_anthropic_models_get(bd_request_t *r)
{
    const std::string &prefix = bd_anthropic_conf(r->snap)->prefix;
    std::string id = bd_anthropic_uridecode(r->path.substr(prefix.size() + strlen("/models/")), 0);
    bd_models_listing_t m;
    if (bd_models_find(r->snap, 0, id, &m) == 0) {
        bd_api_send_json(r, bd_anthropic_model_object(m));
        return BD_DONE;
    }
    std::string msg = "model: " + id;
    bd_http_send_error(r, 404, BD_ERR_NOT_FOUND, msg.c_str());
    return BD_DONE;
}
