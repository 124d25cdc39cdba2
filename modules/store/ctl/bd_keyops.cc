/*
 * bd_keyops.cc: key operations shared by bedrockctl and the admin API; see
 * bd_keyops.h.
 */
#include "modules/store/ctl/bd_keyops.h"
#include "modules/store/ctl/bd_ctl_remote.h"

#include <jansson.h>
#include <sys/time.h>

int64_t
bd_keyops_now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, nullptr);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* "12.50" (dollars, up to 6 decimals) as micro-dollars; -1 when malformed. */
static int64_t
bd_keyops_parse_usd(const std::string &v)
{
    int64_t whole = 0, frac = 0;
    int digits = 0, frac_digits = -1;
    for (char ch : v) {
        if (ch == '.' && frac_digits < 0) {
            frac_digits = 0;
        } else if (ch >= '0' && ch <= '9' && digits < 12 && frac_digits < 6) {
            digits++;
            if (frac_digits < 0) {
                whole = whole * 10 + (ch - '0');
            } else {
                frac = frac * 10 + (ch - '0');
                frac_digits++;
            }
        } else {
            return -1;
        }
    }
    if (digits == 0) {
        return -1;
    }
    for (int i = frac_digits < 0 ? 0 : frac_digits; i < 6; i++) {
        frac *= 10;
    }
    return whole * 1000000 + frac;
}

/* One field into <k>: null, or why the value is wrong. */
static const char *
bd_keyops_apply_one(const std::string &name, const std::string &v, bd_key_t *k)
{
    int64_t n;
    if (name == "name") {
        if (v.empty()) {
            return "wants a non-empty name";
        }
        k->name = v;
    } else if (name == "owner") {
        k->owner = v;
    } else if (name == "rpm" || name == "tpm" || name == "concurrency") {
        n = bd_ctl_parse_count(v);
        if (n < 0 || n > 1000000000) {
            return "wants a number from 0 (no limit) to 1000000000";
        }
        (name == "rpm" ? k->rpm : name == "tpm" ? k->tpm : k->concurrency) = n;
    } else if (name == "budget_tokens") {
        n = bd_ctl_parse_count(v);
        if (n < 0 || n > 1000000000000000LL) {
            return "wants a number of tokens per month (0: no budget)";
        }
        k->budget_tokens = n;
    } else if (name == "budget_usd") {
        if ((n = bd_keyops_parse_usd(v)) < 0) {
            return "wants dollars per month, e.g. 25 or 12.50 (0: no budget)";
        }
        k->budget_usd_micros = n;
    } else if (name == "models") {
        k->models = bd_key_models_split(v);
    } else if (name == "expires") {
        k->expires_ms = v == "never" ? 0 : bd_ctl_parse_date(v);
        if (k->expires_ms < 0) {
            return "wants YYYY-MM-DD[THH:MM[:SS]Z] or never";
        }
    } else if (name == "metadata") {
        json_t *j = json_loads(v.c_str(), 0, nullptr);
        bool ok = json_is_object(j);
        json_decref(j);
        if (!ok) {
            return "wants a JSON object";
        }
        k->metadata = v;
    } else if (name == "active") {
        if (v != "on" && v != "off") {
            return "wants on or off";
        }
        k->active = v == "on";
    } else {
        return "is not a field of a key";
    }
    return nullptr;
}

int
bd_keyops_apply(const bd_keyops_fields_t &fields, bd_key_t *k, std::string *field,
                std::string *err)
{
    for (const auto &f : fields) {
        const char *why = bd_keyops_apply_one(f.first, f.second, k);
        if (why != nullptr) {
            *field = f.first;
            *err = why;
            return BD_KEYOPS_BAD;
        }
    }
    return BD_KEYOPS_OK;
}

const char *
bd_keyops_status(const bd_key_t *k, int64_t now_ms)
{
    if (!k->active) {
        return "revoked";
    }
    return bd_key_usable(k, now_ms) ? "active" : "expired";
}

json_t *
bd_keyops_json(const bd_key_t *k, int64_t now_ms)
{
    json_t *models = json_array();
    for (const std::string &m : k->models) {
        json_array_append_new(models, json_string(m.c_str()));
    }
    json_t *meta = json_loads(k->metadata.c_str(), 0, nullptr);
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:I, s:I, s:I, s:o, s:o}", "id",
                          k->id.c_str(), "prefix", k->prefix.c_str(), "name", k->name.c_str(),
                          "owner", k->owner.c_str(), "status", bd_keyops_status(k, now_ms),
                          "created", bd_ctl_format_date(k->created_ms).c_str(), "expires",
                          k->expires_ms ? json_string(bd_ctl_format_date(k->expires_ms).c_str())
                                        : json_null(),
                          "rpm", (json_int_t)k->rpm, "tpm", (json_int_t)k->tpm, "concurrency",
                          (json_int_t)k->concurrency, "models", models, "metadata",
                          meta ? meta : json_object());
    json_object_set_new(j, "budget_tokens", json_integer((json_int_t)k->budget_tokens));
    json_object_set_new(j, "budget_usd", json_real((double)k->budget_usd_micros / 1e6));
    return j;
}

/* A new secret for <k>: its hash and prefix go into <k>, the text to <secret>. */
static int
bd_keyops_new_secret(bd_key_t *k, std::string *secret, std::string *err)
{
    if (bd_key_generate_secret(secret) != 0) {
        *err = "the random generator failed";
        return BD_KEYOPS_FAILED;
    }
    bd_key_hash(secret->data(), secret->size(), &k->hash);
    k->prefix = secret->substr(0, BD_KEY_DISPLAY_LEN);
    return BD_KEYOPS_OK;
}

int
bd_keyops_create(const bd_ctl_backend_t *b, const bd_keyops_fields_t &fields, int64_t now_ms,
                 bd_keyops_result_t *res)
{
    if (b->remote != nullptr) { /* the daemon checks, makes the secret and writes */
        return bd_ctl_remote_key_op(b->remote, "create", "", fields, res);
    }
    bd_key_t &k = res->after;
    k = bd_key_t{};
    k.active = true;
    k.created_ms = now_ms;
    k.metadata = "{}";
    int rc = bd_keyops_apply(fields, &k, &res->field, &res->err);
    if (rc != BD_KEYOPS_OK) {
        return rc;
    }
    if (k.name.empty()) {
        res->field = "name";
        res->err = "is required";
        return BD_KEYOPS_BAD;
    }
    if (bd_key_generate_id(&k.id) != 0) {
        res->err = "the random generator failed";
        return BD_KEYOPS_FAILED;
    }
    if ((rc = bd_keyops_new_secret(&k, &res->secret, &res->err)) != BD_KEYOPS_OK) {
        return rc;
    }
    if (bd_ctl_key_insert(b, &k, &res->err) != 0) {
        res->secret.clear();
        return BD_KEYOPS_FAILED;
    }
    return BD_KEYOPS_OK;
}

int
bd_keyops_change(const bd_ctl_backend_t *b, const std::string &verb, const std::string &id,
                 const bd_keyops_fields_t &fields, bd_keyops_result_t *res)
{
    if (b->remote != nullptr) {
        int rc = bd_ctl_remote_key_op(b->remote, verb, id, fields, res);
        if (rc == BD_KEYOPS_NOT_FOUND) {
            res->err = "no key \"" + id + "\"";
        }
        return rc;
    }
    int found = bd_ctl_key_get(b, id, &res->before, &res->err);
    if (found <= 0) {
        if (found == 0) {
            res->err = "no key \"" + id + "\"";
        }
        return found == 0 ? BD_KEYOPS_NOT_FOUND : BD_KEYOPS_FAILED;
    }
    res->after = res->before;
    int rc = BD_KEYOPS_OK;
    if (verb == "update") {
        rc = bd_keyops_apply(fields, &res->after, &res->field, &res->err);
    } else if (verb == "revoke") {
        res->after.active = false;
    } else {
        rc = bd_keyops_new_secret(&res->after, &res->secret, &res->err);
    }
    if (rc != BD_KEYOPS_OK) {
        return rc;
    }
    found = bd_ctl_key_update(b, &res->after, &res->err);
    if (found != 1) {
        res->secret.clear();
        if (found == 0) {
            res->err = "no key \"" + id + "\"";
        }
        return found == 0 ? BD_KEYOPS_NOT_FOUND : BD_KEYOPS_FAILED;
    }
    return BD_KEYOPS_OK;
}
