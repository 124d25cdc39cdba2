/*
 * bd_usage_module.h: the usage module: one usage record per request on an API
 * route, built in the LOG phase and queued to the store thread.
 *
 *   usage on;     # off: nothing is recorded
 */
#ifndef BD_USAGE_MODULE_H
#define BD_USAGE_MODULE_H

#include "core/bd_module.h"

extern bd_module_t bd_usage_module;

#endif
