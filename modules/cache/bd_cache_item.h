/*
 * bd_cache_item.h: a cached answer as an item of the DynamoDB cache table:
 * cache_key (S, the partition key), expires_at (N, epoch seconds, the table's TTL
 * attribute), stream (BOOL), model_resolved (S), body (B: the bytes, zlib-compressed).
 * Pure functions, any thread.
 */
#ifndef BD_CACHE_ITEM_H
#define BD_CACHE_ITEM_H

#include <jansson.h>
#include <stdint.h>

#include <string>

#include "modules/cache/bd_cache_lru.h"

/* DynamoDB's item size limit is 400 KB: a compressed answer above this is not stored
 * (room left for the other attributes and the base64 the protocol carries). */
#define BD_CACHE_ITEM_MAX_BODY (300 * 1024)

/* The item for <e> under <key>, or null when the compressed body is too large. */
json_t *bd_cache_item_make(const std::string &key, const bd_cache_entry_t *e);

/* The entry an item holds, or null (malformed, or expired at <now_ms>: the table's
 * TTL deletes late). */
bd_cache_entry_ref bd_cache_item_parse(const json_t *item, int64_t now_ms);

/* zlib, for the body; exposed for the unit tests. Return 0 or -1. */
int bd_cache_deflate(const std::string &in, std::string *out);
int bd_cache_inflate(const std::string &in, size_t max, std::string *out);

#endif
