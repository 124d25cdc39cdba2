/*
 * bd_openai_models.cc: GET <prefix>/models and <prefix>/models/{id} in OpenAI's list
 * shape, from the same model map the Anthropic API lists. The SDK's page reads only
 * "data" and does not paginate. Worker thread.
 */
#include <string.h>
#include <time.h>

#include <jansson.h>

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
bd_openai_model_object(const bd_model_entry_t &e, const std::string &id)
{
    return json_pack("{s:s,s:s,s:I,s:s}", "id", id.c_str(), "object", "model", "created",
                     (json_int_t)bd_openai_created(e.created_at), "owned_by", "bedrock");
}

int
bd_openai_models_list(bd_request_t *r)
{
    json_t *data = json_array();
    for (const bd_model_entry_t &e : bd_models_entries(r->snap)) {
        if (e.listed) {
            json_array_append_new(data, bd_openai_model_object(e, e.name));
        }
    }
    bd_openai_send_json(r, json_pack("{s:s,s:o}", "object", "list", "data", data));
    return BD_DONE;
}

int
bd_openai_models_get(bd_request_t *r)
{
    /* the route is "<prefix>/models/", a prefix route: the id is what follows */
    std::string id = r->path.substr(r->route->path.size());
    for (const bd_model_entry_t &e : bd_models_entries(r->snap)) {
        bool match = e.name == id;
        for (const std::string &a : e.aliases) {
            match = match || a == id;
        }
        if (match) {
            bd_openai_send_json(r, bd_openai_model_object(e, id));
            return BD_DONE;
        }
    }
    std::string msg = "The model `" + id + "` does not exist or you do not have access to it.";
    r->error_type = "not_found_error";
    bd_openai_send_error(r, 404, "invalid_request_error", "model_not_found", msg.c_str());
    return BD_DONE;
}
