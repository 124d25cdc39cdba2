/*
 * bd_modules.cc: the one ordered list of modules, and the list of client APIs. The
 * module order is the order of the MODEL, ACCESS and LOG handlers: authentication
 * before rate limiting, the model's admission after both, usage before metrics. Built
 * into the bedrockd executable (it names every module); the core names none.
 */
#include "core/bd_core_module.h"
#include "modules/admin/bd_admin.h"
#include "modules/anthropic/bd_anthropic_module.h"
#include "modules/api/bd_api.h"
#include "modules/auth/bd_auth.h"
#include "modules/bedrock/bd_bedrock.h"
#include "modules/bedrockapi/bd_bedrockapi_int.h"
#include "modules/cache/bd_cache_module.h"
#include "modules/dynamodb/bd_ddb_module.h"
#include "modules/fetch/bd_fetch.h"
#include "modules/health/bd_health_module.h"
#include "modules/metrics/bd_metrics.h"
#include "modules/models/bd_models.h"
#include "modules/openai/bd_openai_module.h"
#include "modules/ratelimit/bd_ratelimit.h"
#include "modules/responses/bd_responses_module.h"
#include "modules/store/bd_store_module.h"
#include "modules/usage/bd_usage_module.h"

bd_module_t *const bd_modules[] = {
    &bd_core_module,
    &bd_health_module,
    &bd_admin_module, /* before the store: its thread stops before the store's */
    &bd_store_module,
    &bd_dynamodb_module, /* after the store: it starts after it and stops after its flush */
    &bd_auth_module,
    &bd_ratelimit_module,
    &bd_cache_module, /* ACCESS: after the key and its limits; a hit skips the rest */
    &bd_bedrock_module,
    &bd_models_module,
    &bd_fetch_module,
    &bd_anthropic_module,
    &bd_openai_module,
    &bd_responses_module, /* after openai: it serves on the openai prefixes */
    &bd_bedrockapi_module,
    &bd_usage_module,
    &bd_api_module,     /* ACCESS: the model's admission, after the key, its limits, the
                           cache and the usage module's notes */
    &bd_metrics_module, /* LOG: after every module that sets what it counts */
    nullptr,
};

/* The client APIs (modules/api). The first to serve a path keeps it for clients that
 * no other API's claims() picks out. */
const bd_api_t *const bd_apis[] = {
    &bd_anthropic_api,
    &bd_openai_api,
    &bd_responses_api,
    &bd_bedrockapi_api,
    nullptr,
};

void
bd_modules_init(void)
{
    for (int i = 0; bd_modules[i] != nullptr; i++) {
        if (i >= BD_MAX_MODULES) {
            BD_FATAL("too many modules (BD_MAX_MODULES is %d)", BD_MAX_MODULES);
        }
        bd_modules[i]->index = i;
    }
}
