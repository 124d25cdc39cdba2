/*
 * bd_cache_module.h: the response cache (opt-in). Identical deterministic requests of
 * one scope (a key, or a scope the operator shares) are answered from a bounded
 * in-memory LRU per process, without a Bedrock call: the JSON body, or the SSE bytes
 * of a stream that completed. ACCESS looks up and answers hits; LOG keeps what a miss
 * produced. Directives response_cache_*; key attributes response_cache and
 * response_cache_scope (the key's metadata). Worker threads.
 */
#ifndef BD_CACHE_MODULE_H
#define BD_CACHE_MODULE_H

#include "core/bd_module.h"

/* The response header that tells the client what the cache did. */
#define BD_CACHE_HEADER "x-bedrockd-cache"

extern bd_module_t bd_cache_module;

#endif
