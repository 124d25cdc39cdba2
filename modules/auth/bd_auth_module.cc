/*
 * bd_auth_module.cc: the auth module. Its conf holds the master key's SHA-256
 * (never compared as text, so the comparison is constant-time whatever the
 * lengths); its ACCESS handler looks keys up in the published key table (bd_keys.h),
 * holding a reference to that table until the request is finalized.
 * Conf on the main thread; the handlers on worker threads.
 */
#include "modules/auth/bd_auth.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "core/bd_http.h"
#include "core/bd_http_edge.h"
#include "core/bd_log.h"
#include "core/bd_worker.h"
#include "modules/store/bd_keys.h"
#include "modules/store/bd_store_check.h"
#include "modules/store/bd_store_module.h"

struct bd_auth_conf_t {
    bool on;
    std::string master_key;      /* `master_key`: the value (cleared after hashing) */
    std::string master_key_env;  /* `master_key_env`: a variable name */
    std::string master_key_file; /* `master_key_file`: a path */
    std::string master_hash;     /* SHA-256 of the master key; empty when none */
    std::string error;           /* init_conf's message */
};

/* Per request: the key table reference and the key found in it. */
struct bd_auth_ctx_t {
    bd_keys_t *table;
    const bd_key_t *key;
};

static const bd_directive_t bd_auth_directives[] = {
    {"auth", "main", BD_ARGS_1, bd_conf_set_flag, offsetof(bd_auth_conf_t, on), nullptr},
    {"master_key", "main", BD_ARGS_1, bd_conf_set_secret, offsetof(bd_auth_conf_t, master_key),
     nullptr},
    {"master_key_env", "main", BD_ARGS_1, bd_conf_set_str,
     offsetof(bd_auth_conf_t, master_key_env), nullptr},
    {"master_key_file", "main", BD_ARGS_1, bd_conf_set_str,
     offsetof(bd_auth_conf_t, master_key_file), nullptr},
    {nullptr, nullptr, 0, nullptr, 0, nullptr},
};

static void *
bd_auth_create_conf(void)
{
    bd_auth_conf_t *c = new bd_auth_conf_t();
    c->on = true;
    return c;
}

static void
bd_auth_destroy_conf(void *conf)
{
    delete (bd_auth_conf_t *)conf;
}

static void
bd_auth_trim(std::string *s)
{
    size_t b = 0;
    while (b < s->size() && strchr(" \t\r\n", (*s)[b]) != nullptr) {
        b++;
    }
    size_t e = s->size();
    while (e > b && strchr(" \t\r\n", (*s)[e - 1]) != nullptr) {
        e--;
    }
    *s = s->substr(b, e - b);
}

/* Reads the master key file (a secret: its errors never show content). */
static const char *
bd_auth_read_file(const std::string &path, std::string *out, std::string *errbuf)
{
    FILE *f = fopen(path.c_str(), "re");
    if (f == nullptr) {
        *errbuf = "\"master_key_file\": open() \"" + path + "\" failed (" + strerror(errno) + ")";
        return errbuf->c_str();
    }
    char buf[4096];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    out->assign(buf, n);
    OPENSSL_cleanse(buf, sizeof(buf));
    bd_auth_trim(out);
    return nullptr;
}

/* Finds the master key from whichever source is set (at most one). */
static const char *
bd_auth_master_key(bd_auth_conf_t *c, std::string *key, std::string *errbuf)
{
    int sources = !c->master_key.empty() + !c->master_key_env.empty() +
                  !c->master_key_file.empty();
    if (sources > 1) {
        return "only one of \"master_key\", \"master_key_env\" and \"master_key_file\" may be set";
    }
    if (!c->master_key_env.empty()) {
        const char *v = getenv(c->master_key_env.c_str());
        if (v == nullptr || v[0] == '\0') {
            *errbuf = "\"master_key_env\": the variable " + c->master_key_env + " is not set";
            return errbuf->c_str();
        }
        key->assign(v);
        bd_auth_trim(key);
        return nullptr;
    }
    if (!c->master_key_file.empty()) {
        return bd_auth_read_file(c->master_key_file, key, errbuf);
    }
    key->swap(c->master_key);
    return nullptr;
}

static const char *
bd_auth_init_conf(bd_snapshot_t *snap, void *conf)
{
    bd_auth_conf_t *c = (bd_auth_conf_t *)conf;
    std::string key;
    const char *rv = bd_auth_master_key(c, &key, &c->error);
    if (rv != nullptr) {
        return rv;
    }
    if (!key.empty()) {
        if (key.size() < 16) {
            return "the master key must be at least 16 characters long";
        }
        bd_key_hash(key.data(), key.size(), &c->master_hash);
        OPENSSL_cleanse(&key[0], key.size());
    }
    c->master_key.clear();
    if (!c->on) {
        bd_log_error(BD_LOG_WARN, nullptr,
                     "auth is off in %s: every client is admitted without a key",
                     snap->conf_path.c_str());
    }
    return nullptr;
}

/* After every module's init_conf (the store's path is known): a gateway that
 * would answer every request with 401 says so at load and in `-t`. */
static const char *
bd_auth_postconfig(bd_snapshot_t *snap, void *conf)
{
    const bd_auth_conf_t *c = (const bd_auth_conf_t *)conf;
    if (!c->on || !c->master_hash.empty()) {
        return nullptr;
    }
    const std::string &store = bd_store_conf_path(snap);
    int keys = store.empty() ? 0 : bd_store_count_usable_keys(store);
    if (store.empty()) {
        bd_log_error(BD_LOG_WARN, nullptr,
                     "no client can authenticate: auth is on, the store is off and no master "
                     "key is set (set master_key_env or master_key_file)");
    } else if (keys == 0) {
        bd_log_error(BD_LOG_WARN, nullptr,
                     "no client can authenticate: auth is on, no master key is set and the "
                     "store \"%s\" has no usable key (create one with `bedrockctl -c %s key "
                     "create --name NAME`, or set master_key_env or master_key_file)",
                     store.c_str(), snap->conf_path.c_str());
    }
    return nullptr;
}

static bd_auth_conf_t *
bd_auth_conf(const bd_request_t *r)
{
    return (bd_auth_conf_t *)bd_snapshot_conf(r->snap, &bd_auth_module);
}

/* Imported keys are at least this long (bedrockctl dynamodb import-keys). */
static const size_t BD_AUTH_MIN_KEY_LEN = 8;

/* The credential the client sent, or null: x-api-key, else a Bearer token. */
static const char *
bd_auth_credential_of(const char *api_key, const char *authorization)
{
    if (api_key != nullptr && api_key[0] != '\0') {
        return api_key;
    }
    const char *v = authorization;
    if (v != nullptr && strncasecmp(v, "Bearer ", 7) == 0) {
        v += 7;
        while (*v == ' ') {
            v++;
        }
        return v[0] != '\0' ? v : nullptr;
    }
    return nullptr;
}

static const char *
bd_auth_credential(const bd_request_t *r)
{
    return bd_auth_credential_of(bd_request_header(r, "x-api-key"),
                                 bd_request_header(r, "authorization"));
}

static void
bd_auth_ctx_free(void *data)
{
    bd_auth_ctx_t *ctx = (bd_auth_ctx_t *)data;
    bd_keys_release(ctx->table);
    delete ctx;
}

enum bd_auth_verdict_e { BD_AUTH_MISSING, BD_AUTH_INVALID, BD_AUTH_MASTER, BD_AUTH_KEY };

/* Checks the credential <cred>: the master key (compared as hashes), else a usable
 * key of the store's current table, returned in <*key> with the table in <*table>
 * (one reference, for the caller to release). */
static int
bd_auth_verify(const bd_auth_conf_t *c, const char *cred, bd_keys_t **table,
               const bd_key_t **key)
{
    if (cred == nullptr) {
        return BD_AUTH_MISSING;
    }
    size_t len = strlen(cred);
    std::string hash;
    bd_key_hash(cred, len, &hash);
    if (!c->master_hash.empty() &&
        CRYPTO_memcmp(hash.data(), c->master_hash.data(), BD_KEY_HASH_LEN) == 0) {
        return BD_AUTH_MASTER;
    }
    /* Any shape may be a key: keys imported from another gateway keep theirs. */
    if (len < BD_AUTH_MIN_KEY_LEN) {
        return BD_AUTH_INVALID;
    }
    bd_keys_t *t = nullptr;
    const bd_key_t *k = bd_keys_lookup(hash, &t);
    if (k == nullptr || !bd_key_usable(k, bd_wall_ms())) {
        bd_keys_release(t);
        return BD_AUTH_INVALID;
    }
    *table = t;
    *key = k;
    return BD_AUTH_KEY;
}

static const char *
bd_auth_refusal(int verdict)
{
    return verdict == BD_AUTH_MISSING ? "x-api-key header is required" : "invalid x-api-key";
}

static int
bd_auth_access(bd_request_t *r)
{
    const bd_auth_conf_t *c = bd_auth_conf(r);
    if (!c->on) {
        return BD_DECLINED;
    }
    bd_keys_t *t = nullptr;
    const bd_key_t *key = nullptr;
    int verdict = bd_auth_verify(c, bd_auth_credential(r), &t, &key);
    if (verdict == BD_AUTH_MASTER) {
        r->key_id = BD_AUTH_MASTER_ID;
        return BD_OK;
    }
    if (verdict == BD_AUTH_KEY) {
        bd_auth_ctx_t *ctx = new bd_auth_ctx_t{t, key}; /* the request keeps the table */
        r->ctx[bd_auth_module.index] = ctx;
        bd_request_add_cleanup(r, bd_auth_ctx_free, ctx);
        r->key_id = key->id;
        return BD_OK;
    }
    r->reject_reason = verdict == BD_AUTH_MISSING ? BD_REJECT_MISSING_KEY : BD_REJECT_INVALID_KEY;
    bd_http_send_error(r, 401, BD_ERR_AUTHENTICATION, bd_auth_refusal(verdict));
    return BD_DONE;
}

/* The key is checked on the head, before evhttp reads a body: a request without a
 * valid key costs the server its head only. The ACCESS phase checks again and
 * keeps the key for the request. */
static bool
bd_auth_head_access(const bd_http_head_view_t *v, bd_http_refusal_t *out)
{
    const bd_auth_conf_t *c = (const bd_auth_conf_t *)bd_snapshot_conf(v->snap, &bd_auth_module);
    if (!c->on) {
        return true;
    }
    bd_keys_t *t = nullptr;
    const bd_key_t *key = nullptr;
    const char *cred = bd_auth_credential_of(bd_http_head_header(v, "x-api-key"),
                                             bd_http_head_header(v, "authorization"));
    int verdict = bd_auth_verify(c, cred, &t, &key);
    if (verdict == BD_AUTH_KEY) {
        bd_keys_release(t);
    }
    if (verdict == BD_AUTH_MASTER || verdict == BD_AUTH_KEY) {
        return true;
    }
    *out = {401, BD_ERR_AUTHENTICATION, bd_auth_refusal(verdict),
            verdict == BD_AUTH_MISSING ? BD_REJECT_MISSING_KEY : BD_REJECT_INVALID_KEY};
    return false;
}

static int
bd_auth_init_process(bd_process_t *)
{
    bd_http_add_head_access(bd_auth_head_access);
    return BD_OK;
}

const bd_key_t *
bd_auth_key(const bd_request_t *r)
{
    const bd_auth_ctx_t *ctx = (const bd_auth_ctx_t *)r->ctx[bd_auth_module.index];
    return ctx ? ctx->key : nullptr;
}

int
bd_auth_check_model(bd_request_t *r, const char *model)
{
    const bd_key_t *key = bd_auth_key(r);
    if (key == nullptr || bd_key_model_allowed(key, model)) {
        return BD_OK;
    }
    std::string msg = std::string("this API key may not use the model \"") + model + "\"";
    r->reject_reason = BD_REJECT_MODEL_NOT_ALLOWED;
    bd_http_send_error(r, 403, BD_ERR_PERMISSION, msg.c_str());
    return BD_DONE;
}

bd_module_t bd_auth_module = {
    .name = "auth",
    .index = 0,
    .directives = bd_auth_directives,
    .create_conf = bd_auth_create_conf,
    .init_conf = bd_auth_init_conf,
    .postconfig = bd_auth_postconfig,
    .destroy_conf = bd_auth_destroy_conf,
    .init_process = bd_auth_init_process,
    .exit_process = nullptr,
    .init_worker = nullptr,
    .exit_worker = nullptr,
    .access = bd_auth_access,
    .log = nullptr,
    .ready = nullptr,
};
