/*
 * bd_ddb_item.h: DynamoDB AttributeValues and the items bedrockd keeps: API keys
 * (hashes only) and model map entries. Reading an item checks every field's type
 * and says what is wrong, so a malformed item is skipped with a reason instead of
 * half-loaded. Pure functions over jansson values; any thread.
 */
#ifndef BD_DDB_ITEM_H
#define BD_DDB_ITEM_H

#include <stdint.h>

#include <string>

#include <jansson.h>

#include "modules/store/bd_key.h"
#include "modules/store/bd_store.h"

/* The marker item of the keys and model map tables: its `version` grows by one on
 * every change made through bedrockctl, so tasks re-read a table only when it moved. */
#define BD_DDB_VERSION_ID "#version"

/* Wall clock, ms since the epoch. */
int64_t bd_ddb_now_ms(void);

/* New AttributeValues. */
json_t *bd_ddb_s(const std::string &s);
json_t *bd_ddb_n(int64_t n);
json_t *bd_ddb_bool(bool b);

/* Field readers: 1 found and well-typed, 0 absent, -1 present with another type
 * (or, for numbers, not an integer). */
int bd_ddb_get_s(const json_t *item, const char *name, std::string *out);
int bd_ddb_get_n(const json_t *item, const char *name, int64_t *out);
int bd_ddb_get_bool(const json_t *item, const char *name, bool *out);

/* The api-keys item of <k>, with <updated_ms> and <version>. */
json_t *bd_ddb_key_item(const bd_key_t *k, int64_t updated_ms, int64_t version);

/* Reads an api-keys item into <k>. Returns 0, or -1 with <why> naming the field. */
int bd_ddb_key_from_item(const json_t *item, bd_key_t *k, std::string *why);

/* The model-mapping item of <m>. */
json_t *bd_ddb_model_item(const bd_store_model_t *m);

/* Reads a model-mapping item. Returns 0, or -1 with <why>. */
int bd_ddb_model_from_item(const json_t *item, bd_store_model_t *m, std::string *why);

/* The value of a key attribute for a log line: the string, or "?" when it is not one. */
std::string bd_ddb_item_name(const json_t *item, const char *attr);

#endif
