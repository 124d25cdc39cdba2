/*
 * bd_ddb_item.cc: AttributeValue helpers and the codecs of key and model items.
 */
#include "modules/dynamodb/bd_ddb_item.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/time.h>

int64_t
bd_ddb_now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, nullptr);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

json_t *
bd_ddb_s(const std::string &s)
{
    return json_pack("{s:s%}", "S", s.data(), s.size());
}

json_t *
bd_ddb_n(int64_t n)
{
    return json_pack("{s:s}", "N", std::to_string(n).c_str());
}

json_t *
bd_ddb_bool(bool b)
{
    return json_pack("{s:b}", "BOOL", b);
}

int
bd_ddb_get_s(const json_t *item, const char *name, std::string *out)
{
    const json_t *av = json_object_get(item, name);
    if (av == nullptr) {
        return 0;
    }
    const json_t *s = json_object_get(av, "S");
    if (!json_is_string(s)) {
        return -1;
    }
    out->assign(json_string_value(s), json_string_length(s));
    return 1;
}

int
bd_ddb_get_n(const json_t *item, const char *name, int64_t *out)
{
    const json_t *av = json_object_get(item, name);
    if (av == nullptr) {
        return 0;
    }
    const char *s = json_string_value(json_object_get(av, "N"));
    if (s == nullptr || *s == '\0') {
        return -1;
    }
    char *end = nullptr;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0') {
        return -1;
    }
    *out = (int64_t)v;
    return 1;
}

int
bd_ddb_get_bool(const json_t *item, const char *name, bool *out)
{
    const json_t *av = json_object_get(item, name);
    if (av == nullptr) {
        return 0;
    }
    const json_t *b = json_object_get(av, "BOOL");
    if (!json_is_boolean(b)) {
        return -1;
    }
    *out = json_is_true(b);
    return 1;
}

std::string
bd_ddb_item_name(const json_t *item, const char *attr)
{
    std::string v;
    return bd_ddb_get_s(item, attr, &v) == 1 ? v : std::string("?");
}

json_t *
bd_ddb_key_item(const bd_key_t *k, int64_t updated_ms, int64_t version)
{
    json_t *models = json_array();
    for (const std::string &m : k->models) {
        json_array_append_new(models, bd_ddb_s(m));
    }
    json_t *item = json_object();
    json_object_set_new(item, "key_id", bd_ddb_s(k->id));
    json_object_set_new(item, "key_hash", bd_ddb_s(bd_key_hex(k->hash)));
    json_object_set_new(item, "prefix", bd_ddb_s(k->prefix));
    json_object_set_new(item, "name", bd_ddb_s(k->name));
    json_object_set_new(item, "owner", bd_ddb_s(k->owner));
    json_object_set_new(item, "active", bd_ddb_bool(k->active));
    json_object_set_new(item, "created_ms", bd_ddb_n(k->created_ms));
    json_object_set_new(item, "expires_ms", bd_ddb_n(k->expires_ms));
    json_object_set_new(item, "rpm", bd_ddb_n(k->rpm));
    json_object_set_new(item, "tpm", bd_ddb_n(k->tpm));
    json_object_set_new(item, "concurrency", bd_ddb_n(k->concurrency));
    json_object_set_new(item, "budget_tokens", bd_ddb_n(k->budget_tokens));
    json_object_set_new(item, "budget_usd_micros", bd_ddb_n(k->budget_usd_micros));
    json_object_set_new(item, "models", json_pack("{s:o}", "L", models));
    json_object_set_new(item, "metadata", bd_ddb_s(k->metadata.empty() ? "{}" : k->metadata));
    json_object_set_new(item, "updated_ms", bd_ddb_n(updated_ms));
    json_object_set_new(item, "version", bd_ddb_n(version));
    return item;
}

/* A required string field; -1 with <why> when absent or mistyped. */
static int
bd_ddb_need_s(const json_t *item, const char *name, std::string *out, std::string *why)
{
    if (bd_ddb_get_s(item, name, out) != 1) {
        *why = std::string("\"") + name + "\" is missing or not a string";
        return -1;
    }
    return 0;
}

/* An optional number field (default 0, never negative). */
static int
bd_ddb_opt_n(const json_t *item, const char *name, int64_t *out, std::string *why)
{
    *out = 0;
    if (bd_ddb_get_n(item, name, out) < 0 || *out < 0) {
        *why = std::string("\"") + name + "\" is not a non-negative integer";
        return -1;
    }
    return 0;
}

int
bd_ddb_key_from_item(const json_t *item, bd_key_t *k, std::string *why)
{
    std::string hash_hex;
    if (bd_ddb_need_s(item, "key_id", &k->id, why) != 0 ||
        bd_ddb_need_s(item, "key_hash", &hash_hex, why) != 0) {
        return -1;
    }
    if (bd_key_unhex(hash_hex, &k->hash) != 0 || k->hash.size() != BD_KEY_HASH_LEN) {
        *why = "\"key_hash\" is not 64 hex digits";
        return -1;
    }
    if (bd_ddb_get_s(item, "prefix", &k->prefix) < 0 || bd_ddb_get_s(item, "name", &k->name) < 0 ||
        bd_ddb_get_s(item, "owner", &k->owner) < 0) {
        *why = "\"prefix\", \"name\" or \"owner\" is not a string";
        return -1;
    }
    k->active = true;
    if (bd_ddb_get_bool(item, "active", &k->active) < 0) {
        *why = "\"active\" is not a boolean";
        return -1;
    }
    if (bd_ddb_opt_n(item, "created_ms", &k->created_ms, why) != 0 ||
        bd_ddb_opt_n(item, "expires_ms", &k->expires_ms, why) != 0 ||
        bd_ddb_opt_n(item, "rpm", &k->rpm, why) != 0 || bd_ddb_opt_n(item, "tpm", &k->tpm, why) != 0 ||
        bd_ddb_opt_n(item, "concurrency", &k->concurrency, why) != 0 ||
        bd_ddb_opt_n(item, "budget_tokens", &k->budget_tokens, why) != 0 ||
        bd_ddb_opt_n(item, "budget_usd_micros", &k->budget_usd_micros, why) != 0) {
        return -1;
    }
    k->models.clear();
    const json_t *models = json_object_get(item, "models");
    if (models != nullptr) {
        const json_t *list = json_object_get(models, "L");
        if (!json_is_array(list)) {
            *why = "\"models\" is not a list";
            return -1;
        }
        size_t i;
        const json_t *v;
        json_array_foreach(list, i, v) {
            const char *s = json_string_value(json_object_get(v, "S"));
            if (s == nullptr) {
                *why = "\"models\" holds a value that is not a string";
                return -1;
            }
            k->models.push_back(s);
        }
    }
    k->metadata = "{}";
    if (bd_ddb_get_s(item, "metadata", &k->metadata) < 0) {
        *why = "\"metadata\" is not a string";
        return -1;
    }
    json_t *meta = json_loads(k->metadata.c_str(), 0, nullptr);
    bool obj = json_is_object(meta);
    json_decref(meta);
    if (!obj) {
        *why = "\"metadata\" is not a JSON object";
        return -1;
    }
    if (k->prefix.empty()) {
        k->prefix = BD_KEY_SECRET_PREFIX;
    }
    return 0;
}

json_t *
bd_ddb_model_item(const bd_store_model_t *m)
{
    json_t *item = json_object();
    json_object_set_new(item, "model", bd_ddb_s(m->name));
    json_object_set_new(item, "bedrock_id", bd_ddb_s(m->bedrock_id));
    json_object_set_new(item, "route", bd_ddb_s(m->route));
    json_object_set_new(item, "updated_ms", bd_ddb_n(m->updated_ms));
    return item;
}

int
bd_ddb_model_from_item(const json_t *item, bd_store_model_t *m, std::string *why)
{
    if (bd_ddb_need_s(item, "model", &m->name, why) != 0 ||
        bd_ddb_need_s(item, "bedrock_id", &m->bedrock_id, why) != 0) {
        return -1;
    }
    if (m->name.empty() || m->bedrock_id.empty()) {
        *why = "\"model\" or \"bedrock_id\" is empty";
        return -1;
    }
    m->route.clear();
    if (bd_ddb_get_s(item, "route", &m->route) < 0 ||
        (!m->route.empty() && m->route != "converse" && m->route != "invoke")) {
        *why = "\"route\" is not \"converse\", \"invoke\" or empty";
        return -1;
    }
    return bd_ddb_opt_n(item, "updated_ms", &m->updated_ms, why);
}
