/*
 * bd_api_user.cc: who a request is for, from its parsed body. Pure; any thread.
 */
#include <string.h>

#include "modules/api/bd_api.h"

void
bd_api_user_id(const json_t *body, std::string *user)
{
    const char *u =
        json_string_value(json_object_get(json_object_get(body, "metadata"), "user_id"));
    if (u == nullptr) {
        u = json_string_value(json_object_get(body, "user"));
    }
    user->assign(u != nullptr ? u : "", u != nullptr ? strnlen(u, BD_API_USER_MAX) : 0);
}
