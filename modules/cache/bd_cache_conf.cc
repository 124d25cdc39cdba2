/*
 * bd_cache_conf.cc: the response_cache_* directives, their defaults, and the key
 * attributes read from a key's metadata.
 *
 *   response_cache_models claude-* gpt-4o;  # models whose requests are cached (none)
 *   response_cache_size 64m;                 # the per-process LRU's bound
 *   response_cache_max_entry 1m;             # larger answers are not kept
 *   response_cache_ttl 1h;                   # how long an answer stays
 *   response_cache_scope key;                # key (each key its own) | shared
 *   response_cache_dynamodb on;              # also the DynamoDB cache table (with a dynamodb block)
 *   response_cache_lookup_timeout 100ms;     # a table lookup slower than this is a miss
 */
#include "modules/cache/bd_cache_conf.h"

#include <jansson.h>
#include <stddef.h>
#include <string.h>

static const bd_conf_enum_t bd_cache_scopes[] = {
    {"key", BD_CACHE_SCOPE_KEY},
    {"shared", BD_CACHE_SCOPE_SHARED},
    {nullptr, 0},
};

const bd_directive_t bd_cache_directives[] = {
    {"response_cache_models", "main", BD_ARGS_1_OR_MORE | BD_ARGS_MULTI, bd_conf_set_str_list,
     offsetof(bd_cache_conf_t, models), nullptr},
    {"response_cache_size", "main", BD_ARGS_1, bd_conf_set_size, offsetof(bd_cache_conf_t, size),
     nullptr},
    {"response_cache_max_entry", "main", BD_ARGS_1, bd_conf_set_size,
     offsetof(bd_cache_conf_t, max_entry), nullptr},
    {"response_cache_ttl", "main", BD_ARGS_1, bd_conf_set_duration,
     offsetof(bd_cache_conf_t, ttl_ms), nullptr},
    {"response_cache_scope", "main", BD_ARGS_1, bd_conf_set_enum, offsetof(bd_cache_conf_t, scope),
     bd_cache_scopes},
    {"response_cache_dynamodb", "main", BD_ARGS_1, bd_conf_set_flag,
     offsetof(bd_cache_conf_t, dynamodb), nullptr},
    {"response_cache_lookup_timeout", "main", BD_ARGS_1, bd_conf_set_duration,
     offsetof(bd_cache_conf_t, lookup_timeout_ms), nullptr},
    {nullptr, nullptr, 0, nullptr, 0, nullptr},
};

#define BD_CACHE_UNSET_SIZE ((uint64_t)-1)

void *
bd_cache_create_conf(void)
{
    bd_cache_conf_t *c = new bd_cache_conf_t();
    c->size = BD_CACHE_UNSET_SIZE;
    c->max_entry = BD_CACHE_UNSET_SIZE;
    c->ttl_ms = -1;
    c->scope = -1;
    c->dynamodb = true;
    c->lookup_timeout_ms = -1;
    return c;
}

const char *
bd_cache_init_conf(struct bd_snapshot_t *, void *conf)
{
    bd_cache_conf_t *c = (bd_cache_conf_t *)conf;
    if (c->size == BD_CACHE_UNSET_SIZE) {
        c->size = 64u << 20;
    }
    if (c->max_entry == BD_CACHE_UNSET_SIZE) {
        c->max_entry = 1u << 20;
    }
    if (c->ttl_ms < 0) {
        c->ttl_ms = 3600 * 1000;
    }
    if (c->scope < 0) {
        c->scope = BD_CACHE_SCOPE_KEY;
    }
    if (c->lookup_timeout_ms < 0) {
        c->lookup_timeout_ms = 100;
    }
    if (c->ttl_ms == 0) {
        return "\"response_cache_ttl\" must be more than 0";
    }
    if (c->max_entry > c->size) {
        return "\"response_cache_max_entry\" must not exceed \"response_cache_size\"";
    }
    return nullptr;
}

void
bd_cache_destroy_conf(void *conf)
{
    delete (bd_cache_conf_t *)conf;
}

void
bd_cache_key_attributes(const std::string &metadata, int *on, std::string *scope)
{
    *on = -1;
    scope->clear();
    /* Most keys say nothing about the cache: skip the parse for them. */
    if (metadata.find("response_cache") == std::string::npos) {
        return;
    }
    json_t *m = json_loadb(metadata.data(), metadata.size(), 0, nullptr);
    if (!json_is_object(m)) {
        json_decref(m);
        return;
    }
    const json_t *v = json_object_get(m, "response_cache");
    if (json_is_boolean(v)) {
        *on = json_is_true(v) ? 1 : 0;
    }
    const json_t *s = json_object_get(m, "response_cache_scope");
    if (json_is_string(s) && json_string_length(s) > 0) {
        scope->assign(json_string_value(s), json_string_length(s));
    }
    json_decref(m);
}
