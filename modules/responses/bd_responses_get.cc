/*
 * bd_responses_get.cc: GET and DELETE <prefix>/responses/{id}, and GET
 * <prefix>/responses/{id}/input_items: a stored response of the request's key (a store
 * job; the request waits). Another key's response, an expired one and an unknown id are
 * the same 404. Worker thread.
 */
#include <stdlib.h>
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

static const char BD_RESP_ITEMS[] = "/input_items";

/* The id after "<prefix>/responses/", and whether the input items are asked for. */
static std::string
bd_responses_path_id(const bd_request_t *r, bool *items)
{
    std::string id = r->path.substr(r->route->path.size());
    size_t n = sizeof(BD_RESP_ITEMS) - 1;
    *items = id.size() > n && id.compare(id.size() - n, n, BD_RESP_ITEMS) == 0;
    if (*items) {
        id.resize(id.size() - n);
    }
    return id;
}

/* The list of the conversation's input items, as the SDK pages it: order (desc by
 * default), limit (1 to 100, 20 by default), after (an item id). An item sent without an
 * id is named by its place in the conversation. */
static json_t *
bd_responses_items_page(bd_request_t *r, const std::string &id, json_t *input)
{
    bool asc = bd_http_query_arg(r, "order") == "asc";
    std::string lim = bd_http_query_arg(r, "limit");
    long limit = lim.empty() ? 20 : strtol(lim.c_str(), nullptr, 10);
    limit = limit < 1 ? 1 : limit > 100 ? 100 : limit;
    std::string after = bd_http_query_arg(r, "after");
    size_t n = json_array_size(input);
    json_t *data = json_array();
    bool skipping = !after.empty(), more = false;
    for (size_t k = 0; k < n; k++) {
        size_t i = asc ? k : n - 1 - k;
        json_t *item = json_deep_copy(json_array_get(input, i));
        if (!json_is_string(json_object_get(item, "id"))) {
            std::string made = "item_" + id.substr(id.find('_') + 1) + "_" + std::to_string(i);
            json_object_set_new(item, "id", json_string(made.c_str()));
        }
        const char *item_id = json_string_value(json_object_get(item, "id"));
        if (skipping) {
            skipping = after != item_id;
            json_decref(item);
            continue;
        }
        if ((long)json_array_size(data) == limit) {
            more = true;
            json_decref(item);
            break;
        }
        json_array_append_new(data, item);
    }
    json_t *first = json_object_get(json_array_get(data, 0), "id");
    json_t *last = json_object_get(json_array_get(data, json_array_size(data) - 1), "id");
    return json_pack("{s:s,s:o,s:O?,s:O?,s:b}", "object", "list", "data", data, "first_id", first,
                     "last_id", last, "has_more", more);
}

static void
bd_responses_on_found(bd_request_t *r, int found, bd_responses_row_t *row)
{
    bool items;
    std::string id = bd_responses_path_id(r, &items);
    if (found < 0) {
        bd_responses_send_error(r, 500, "server_error", nullptr,
                                "the stored response could not be read");
    } else if (found == 0) {
        bd_responses_not_found(r, id);
    } else if (items) {
        bd_api_send_json(r, bd_responses_items_page(r, id, row->input));
    } else if (r->method == BD_METHOD_DELETE) {
        bd_api_send_json(r, json_pack("{s:s,s:s,s:b}", "id", id.c_str(), "object", "response",
                                         "deleted", 1));
    } else {
        bd_api_send_json(r, json_incref(row->response));
    }
}

int
bd_responses_by_id(bd_request_t *r)
{
    bool items;
    std::string id = bd_responses_path_id(r, &items);
    if (id.empty() || id.find('/') != std::string::npos || (items && r->method == BD_METHOD_DELETE)) {
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
