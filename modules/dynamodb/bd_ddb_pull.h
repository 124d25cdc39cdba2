/*
 * bd_ddb_pull.h: reading the keys and model map tables, and their version markers.
 * A table is read whole (Scan, consistent, every page) only when its marker moved
 * or the full-sync period passed; an item that does not decode is skipped with a
 * line naming the table and its key. Blocking: sync thread or bedrockctl.
 */
#ifndef BD_DDB_PULL_H
#define BD_DDB_PULL_H

#include <stdint.h>

#include <functional>
#include <string>
#include <vector>

#include "modules/dynamodb/bd_ddb_client.h"
#include "modules/dynamodb/bd_ddb_conf.h"
#include "modules/store/bd_key.h"
#include "modules/store/bd_store.h"

/* The marker's version in <table> whose partition key is <key_attr> (0 when the
 * marker does not exist). Returns 0, or -1 with <err>. */
int bd_ddb_marker_get(bd_ddb_client_t *client, const std::string &table, const char *key_attr,
                      int64_t *version, std::string *err);

/* Adds one to the marker (creating it). Returns 0, or -1 with <err>. */
int bd_ddb_marker_bump(bd_ddb_client_t *client, const std::string &table, const char *key_attr,
                       std::string *err);

/* Every item of <table> (consistent reads, all pages), handed to <fn>. <filter>
 * (may be null) adds FilterExpression and its names and values to each page's
 * request. Returns 0, or -1 with <err>. */
int bd_ddb_scan(bd_ddb_client_t *client, const std::string &table, const json_t *filter,
                const std::function<void(const json_t *)> &fn, std::string *err);

/* The keys table, decoded; <skipped> gets one line per malformed item. */
int bd_ddb_pull_keys(bd_ddb_client_t *client, const bd_ddb_conf_t *conf, std::vector<bd_key_t> *out,
                     std::vector<std::string> *skipped, std::string *err);

/* The model map table, decoded; <skipped> as above. */
int bd_ddb_pull_models(bd_ddb_client_t *client, const bd_ddb_conf_t *conf,
                       std::vector<bd_store_model_t> *out, std::vector<std::string> *skipped,
                       std::string *err);

#endif
