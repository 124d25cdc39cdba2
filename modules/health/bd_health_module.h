/*
 * bd_health_module.h: GET /health (liveness: the process serves) and GET /ready
 * (readiness: not draining, and every module that has an opinion is ready), both
 * public so that load balancers can probe without a key.
 */
#ifndef BD_HEALTH_MODULE_H
#define BD_HEALTH_MODULE_H

#include "core/bd_module.h"

extern bd_module_t bd_health_module;

#endif
