/*
 * bd_responses_get.cc: GET and DELETE <prefix>/responses/{id}: a stored response of the
 * request's key (a store job; the request waits). Another key's response, an expired one
 * and an unknown id are the same 404. Worker thread.
 */
#include <string.h>

#include "core/bd_http.h"
#include "modules/openai/bd_openai_int.h"
#include "modules/responses/bd_responses_int.h"

static void
bd_responses_not_found(bd_request_t *r, const std::string &id)
{
    std::string msg = "Response with id '" + id + "' not found.";
    r->error_type = "not_found_error";
    bd_responses_send_error(r, 404, "invalid_request_error", "not_found", msg.c_str());
}

/* The id after "<prefix>/responses/". */
static std::string
bd_responses_path_id(const bd_request_t *r)
{
    return r->path.substr(r->route->path.size());
}

static void
bd_responses_on_found(bd_request_t *r, int found, bd_responses_row_t *row)
{
    std::string id = bd_responses_path_id(r);
    if (found < 0) {
        bd_responses_send_error(r, 500, "server_error", nullptr,
                                "the stored response could not be read");
    } else if (found == 0) {
        bd_responses_not_found(r, id);
    } else if (r->method == BD_METHOD_DELETE) {
        bd_openai_send_json(r, json_pack("{s:s,s:s,s:b}", "id", id.c_str(), "object", "response",
                                         "deleted", 1));
    } else {
        bd_openai_send_json(r, json_incref(row->response));
    }
}

int
bd_responses_by_id(bd_request_t *r)
{
    std::string id = bd_responses_path_id(r);
    if (id.empty() || id.find('/') != std::string::npos) {
        bd_responses_not_found(r, id);
        return BD_DONE;
    }
    if (bd_responses_store_get(r, id, r->method == BD_METHOD_DELETE, bd_responses_on_found) !=
        0) {
        bd_responses_not_found(r, id); /* the store is off: nothing was kept */
        return BD_DONE;
    }
    return BD_AGAIN;
}
