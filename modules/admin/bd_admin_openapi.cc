/*
 * bd_admin_openapi.cc: GET /openapi.json, the API's description as kept in
 * modules/admin/openapi.json (compiled in at build time).
 */
#include "modules/admin/bd_admin_int.h"

extern const char bd_admin_openapi_text[];

void
bd_admin_openapi(bd_admin_req_t *ar)
{
    bd_admin_reply_text(ar, 200, "application/json", bd_admin_openapi_text);
}
