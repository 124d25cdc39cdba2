/*
 * bd_openai_models.cc: GET <prefix>/models and <prefix>/models/{id} in OpenAI's list
 * shape, from the same merged list (model map and Bedrock catalog) the Anthropic API
 * lists, embedding models included. The SDK's page reads only
 * "data" and does not paginate. Worker thread.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/http.h>
#include <jansson.h>

#include "core/bd_http.h"
#include "modules/models/bd_models.h"
#include "modules/openai/bd_openai_int.h"

/* created_at (RFC 3339, UTC) -> Unix seconds; 0 when absent or unreadable. */
static int64_t
bd_openai_created(const std::string &rfc3339)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (rfc3339.empty() || strptime(rfc3339.c_str(), "%Y-%m-%dT%H:%M:%S", &tm) == nullptr) {
        return 0;
    }
    return (int64_t)timegm(&tm);
}

static json_t *
bd_openai_model_object(const bd_models_listing_t &m, const std::string &id)
{
    return json_pack("{s:s,s:s,s:I,s:s}", "id", id.c_str(), "object", "model", "created",
                     (json_int_t)bd_openai_created(m.created_at), "owned_by", m.owned_by.c_str());
}

int
bd_openai_models_list(bd_request_t *r)
{
    std::vector<bd_models_listing_t> listed;
    bd_models_list(r->snap, BD_MODELS_LIST_EMBEDDINGS, &listed);
    json_t *data = json_array();
    for (const bd_models_listing_t &m : listed) {
        json_array_append_new(data, bd_openai_model_object(m, m.id));
    }
    bd_api_send_json(r, json_pack("{s:s,s:o}", "object", "list", "data", data));
    return BD_DONE;
}

int
bd_openai_models_get(bd_request_t *r)
{
    /* the route is "<prefix>/models/", a prefix route: the id is what follows */
    /* ids hold ':' (amazon.nova-pro-v1:0), which clients percent-encode; the core
     * hands the path over raw */
    size_t n = 0;
    char *decoded = evhttp_uridecode(r->path.c_str() + r->route->path.size(), 0, &n);
    std::string id = decoded != nullptr ? std::string(decoded, n) : "";
    free(decoded);
    bd_models_listing_t m;
    if (bd_models_find(r->snap, BD_MODELS_LIST_EMBEDDINGS, id, &m) == 0) {
        bd_api_send_json(r, bd_openai_model_object(m, id));
        return BD_DONE;
    }
    std::string msg = "The model `" + id + "` does not exist or you do not have access to it.";
    r->error_type = "not_found_error";
    bd_http_send_error(r, 404, BD_ERR_MODEL_NOT_FOUND, msg.c_str());
    return BD_DONE;
}
