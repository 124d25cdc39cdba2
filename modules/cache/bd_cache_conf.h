/*
 * bd_cache_conf.h: the response cache's directives and what a key's metadata says.
 */
#ifndef BD_CACHE_CONF_H
#define BD_CACHE_CONF_H

#include <stdint.h>

#include <string>
#include <vector>

#include "core/bd_conf.h"

enum bd_cache_scope_e { BD_CACHE_SCOPE_KEY = 0, BD_CACHE_SCOPE_SHARED };

struct bd_cache_conf_t {
    std::vector<std::string> models; /* response_cache_models: fnmatch on the client name */
    uint64_t size;                   /* response_cache_size: the LRU's bound in bytes */
    uint64_t max_entry;              /* response_cache_max_entry: the largest answer kept */
    int64_t ttl_ms;                  /* response_cache_ttl */
    int scope;                       /* response_cache_scope: bd_cache_scope_e */
    bool dynamodb;                   /* response_cache_dynamodb: the cache table too */
    int64_t lookup_timeout_ms;       /* response_cache_lookup_timeout: the wait for the table */
};

extern const bd_directive_t bd_cache_directives[];

void *bd_cache_create_conf(void);
const char *bd_cache_init_conf(struct bd_snapshot_t *snap, void *conf);
void bd_cache_destroy_conf(void *conf);

/* What a key's metadata (a JSON object, as text) says about the cache: <on> is 1 for
 * "response_cache": true, 0 for false, -1 when it says nothing; <scope> is
 * "response_cache_scope" ("" when absent). */
void bd_cache_key_attributes(const std::string &metadata, int *on, std::string *scope);

#endif
