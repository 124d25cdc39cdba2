/*
 * bd_ctl_key.cc: `bedrockctl key ...`: create, list, show, update, revoke and
 * rotate API keys. A secret is printed once, at create and rotate, and never
 * stored: the row keeps its SHA-256 and display prefix.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include "modules/store/bd_store.h"
#include "modules/store/ctl/bd_ctl.h"

static const char *const bd_ctl_key_flags[] = {
    "--name", "--owner", "--rpm", "--tpm", "--concurrency", "--models", "--expires",
    "--metadata", "--active", "--format", "--budget-tokens", "--budget-usd", nullptr,
};

static int64_t
bd_ctl_now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, nullptr);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static int
bd_ctl_key_limit(const bd_ctl_opts_t *o, const char *name, int64_t *field)
{
    const std::string *v = bd_ctl_opt(o, name);
    if (v == nullptr) {
        return BD_CTL_OK;
    }
    int64_t n = bd_ctl_parse_count(*v);
    if (n < 0 || n > 1000000000) {
        return bd_ctl_fail(BD_CTL_USAGE, "%s wants a number from 0 (no limit) to 1000000000",
                           name);
    }
    *field = n;
    return BD_CTL_OK;
}

/* "12.50" (dollars, up to 6 decimals) as micro-dollars; -1 when malformed. */
static int64_t
bd_ctl_parse_usd(const std::string &v)
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

static int
bd_ctl_key_budgets(const bd_ctl_opts_t *o, bd_key_t *k)
{
    const std::string *v;
    if ((v = bd_ctl_opt(o, "--budget-tokens")) != nullptr) {
        int64_t n = bd_ctl_parse_count(*v);
        if (n < 0 || n > 1000000000000000LL) {
            return bd_ctl_fail(BD_CTL_USAGE, "--budget-tokens wants a number of tokens per month "
                                             "(0: no budget)");
        }
        k->budget_tokens = n;
    }
    if ((v = bd_ctl_opt(o, "--budget-usd")) != nullptr) {
        int64_t n = bd_ctl_parse_usd(*v);
        if (n < 0) {
            return bd_ctl_fail(BD_CTL_USAGE, "--budget-usd wants dollars per month, e.g. 25 or "
                                             "12.50 (0: no budget)");
        }
        k->budget_usd_micros = n;
    }
    return BD_CTL_OK;
}

/* Applies the editable options of <o> to <k>. */
static int
bd_ctl_key_apply(const bd_ctl_opts_t *o, bd_key_t *k)
{
    const std::string *v;
    if ((v = bd_ctl_opt(o, "--name")) != nullptr) {
        k->name = *v;
    }
    if ((v = bd_ctl_opt(o, "--owner")) != nullptr) {
        k->owner = *v;
    }
    if (bd_ctl_key_limit(o, "--rpm", &k->rpm) != BD_CTL_OK ||
        bd_ctl_key_limit(o, "--tpm", &k->tpm) != BD_CTL_OK ||
        bd_ctl_key_limit(o, "--concurrency", &k->concurrency) != BD_CTL_OK ||
        bd_ctl_key_budgets(o, k) != BD_CTL_OK) {
        return BD_CTL_USAGE;
    }
    if ((v = bd_ctl_opt(o, "--models")) != nullptr) {
        k->models = bd_key_models_split(*v);
    }
    if ((v = bd_ctl_opt(o, "--expires")) != nullptr) {
        k->expires_ms = *v == "never" ? 0 : bd_ctl_parse_date(*v);
        if (k->expires_ms < 0) {
            return bd_ctl_fail(BD_CTL_USAGE, "--expires wants YYYY-MM-DD[THH:MM[:SS]Z] or never");
        }
    }
    if ((v = bd_ctl_opt(o, "--metadata")) != nullptr) {
        json_t *j = json_loads(v->c_str(), 0, nullptr);
        bool ok = json_is_object(j);
        json_decref(j);
        if (!ok) {
            return bd_ctl_fail(BD_CTL_USAGE, "--metadata wants a JSON object");
        }
        k->metadata = *v;
    }
    if ((v = bd_ctl_opt(o, "--active")) != nullptr) {
        if (*v != "on" && *v != "off") {
            return bd_ctl_fail(BD_CTL_USAGE, "--active wants on or off");
        }
        k->active = *v == "on";
    }
    return BD_CTL_OK;
}

/* A new secret for <k>: its hash and prefix go into <k>, the text to <secret>. */
static int
bd_ctl_key_new_secret(bd_key_t *k, std::string *secret)
{
    if (bd_key_generate_secret(secret) != 0) {
        return bd_ctl_fail(BD_CTL_FAILED, "the random generator failed");
    }
    bd_key_hash(secret->data(), secret->size(), &k->hash);
    k->prefix = secret->substr(0, BD_KEY_DISPLAY_LEN);
    return BD_CTL_OK;
}

static const char *
bd_ctl_key_status(const bd_key_t *k)
{
    if (!k->active) {
        return "revoked";
    }
    return bd_key_usable(k, bd_ctl_now_ms()) ? "active" : "expired";
}

static json_t *
bd_ctl_key_json(const bd_key_t *k)
{
    json_t *models = json_array();
    for (const std::string &m : k->models) {
        json_array_append_new(models, json_string(m.c_str()));
    }
    json_t *meta = json_loads(k->metadata.c_str(), 0, nullptr);
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:I, s:I, s:I, s:o, s:o}", "id",
                     k->id.c_str(), "prefix", k->prefix.c_str(), "name", k->name.c_str(), "owner",
                     k->owner.c_str(), "status", bd_ctl_key_status(k), "created",
                     bd_ctl_format_date(k->created_ms).c_str(), "expires",
                     k->expires_ms ? json_string(bd_ctl_format_date(k->expires_ms).c_str())
                                   : json_null(),
                     "rpm", (json_int_t)k->rpm, "tpm", (json_int_t)k->tpm, "concurrency",
                     (json_int_t)k->concurrency, "models", models, "metadata",
                     meta ? meta : json_object());
    json_object_set_new(j, "budget_tokens", json_integer((json_int_t)k->budget_tokens));
    json_object_set_new(j, "budget_usd", json_real((double)k->budget_usd_micros / 1e6));
    return j;
}

static void
bd_ctl_json_print(json_t *j)
{
    char *text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    puts(text);
    free(text);
    json_decref(j);
}

/* Prints a new secret (create, rotate): the only time it is ever shown. */
static void
bd_ctl_key_print_secret(const bd_key_t *k, const std::string &secret, int format)
{
    if (format == BD_CTL_JSON) {
        json_t *j = bd_ctl_key_json(k);
        json_object_set_new(j, "secret", json_string(secret.c_str()));
        bd_ctl_json_print(j);
        return;
    }
    printf("id      %s\nname    %s\nsecret  %s\n", k->id.c_str(), k->name.c_str(), secret.c_str());
    fprintf(stderr, "bedrockctl: the secret is shown once; store it now\n");
}

static std::vector<std::string>
bd_ctl_key_row(const bd_key_t *k)
{
    auto limit = [](int64_t n) { return n ? std::to_string(n) : std::string("-"); };
    std::string models = bd_key_models_join(k->models);
    return {k->id,
            k->prefix + "...",
            k->name,
            k->owner.empty() ? "-" : k->owner,
            bd_ctl_key_status(k),
            limit(k->rpm),
            limit(k->tpm),
            limit(k->concurrency),
            models.empty() ? "*" : models,
            k->expires_ms ? bd_ctl_format_date(k->expires_ms) : "never"};
}

static int
bd_ctl_key_create(const bd_ctl_backend_t *db, const bd_ctl_opts_t *o, int format)
{
    if (bd_ctl_opt(o, "--name") == nullptr || bd_ctl_opt(o, "--name")->empty()) {
        return bd_ctl_fail(BD_CTL_USAGE, "key create needs --name NAME");
    }
    bd_key_t k{};
    k.active = true;
    k.created_ms = bd_ctl_now_ms();
    k.metadata = "{}";
    int rc = bd_ctl_key_apply(o, &k);
    if (rc != BD_CTL_OK) {
        return rc;
    }
    std::string secret, err;
    if (bd_key_generate_id(&k.id) != 0 || bd_ctl_key_new_secret(&k, &secret) != BD_CTL_OK) {
        return BD_CTL_FAILED;
    }
    if (bd_ctl_key_insert(db, &k, &err) != 0) {
        return bd_ctl_fail(BD_CTL_FAILED, "%s", err.c_str());
    }
    bd_ctl_key_print_secret(&k, secret, format);
    return BD_CTL_OK;
}

static int
bd_ctl_key_list(const bd_ctl_backend_t *db, int format)
{
    std::vector<bd_key_t> keys;
    std::string err;
    if (bd_ctl_keys_load(db, &keys, &err) != 0) {
        return bd_ctl_fail(BD_CTL_FAILED, "%s", err.c_str());
    }
    if (format == BD_CTL_JSON) {
        json_t *arr = json_array();
        for (const bd_key_t &k : keys) {
            json_array_append_new(arr, bd_ctl_key_json(&k));
        }
        bd_ctl_json_print(arr);
        return BD_CTL_OK;
    }
    std::vector<std::vector<std::string>> rows;
    for (const bd_key_t &k : keys) {
        rows.push_back(bd_ctl_key_row(&k));
    }
    bd_ctl_print_rows({"ID", "PREFIX", "NAME", "OWNER", "STATUS", "RPM", "TPM", "CONCURRENCY",
                       "MODELS", "EXPIRES"},
                      rows, format);
    return BD_CTL_OK;
}

/* show, update, revoke, rotate: the commands on one existing key. */
static int
bd_ctl_key_one(const bd_ctl_backend_t *db, const std::string &verb, const bd_ctl_opts_t *o, int format)
{
    if (o->positional.size() != 2) {
        return bd_ctl_fail(BD_CTL_USAGE, "key %s needs one key id", verb.c_str());
    }
    bd_key_t k{};
    std::string err, secret;
    int found = bd_ctl_key_get(db, o->positional[1], &k, &err);
    if (found <= 0) {
        return found < 0 ? bd_ctl_fail(BD_CTL_FAILED, "%s", err.c_str())
                         : bd_ctl_fail(BD_CTL_FAILED, "no key \"%s\"", o->positional[1].c_str());
    }
    if (verb == "show") {
        bd_ctl_json_print(bd_ctl_key_json(&k));
        return BD_CTL_OK;
    }
    int rc = BD_CTL_OK;
    if (verb == "update") {
        rc = bd_ctl_key_apply(o, &k);
    } else if (verb == "revoke") {
        k.active = false;
    } else {
        rc = bd_ctl_key_new_secret(&k, &secret);
    }
    if (rc != BD_CTL_OK) {
        return rc;
    }
    if (bd_ctl_key_update(db, &k, &err) != 1) {
        return bd_ctl_fail(BD_CTL_FAILED, "updating %s failed: %s", k.id.c_str(), err.c_str());
    }
    if (verb == "rotate") {
        bd_ctl_key_print_secret(&k, secret, format);
    } else {
        printf("%s %s\n", k.id.c_str(), verb == "revoke" ? "revoked" : "updated");
    }
    return BD_CTL_OK;
}

int
bd_ctl_key(const bd_ctl_backend_t *db, const std::vector<std::string> &args)
{
    bd_ctl_opts_t o;
    int rc = bd_ctl_parse_opts(args, bd_ctl_key_flags, &o);
    if (rc != BD_CTL_OK) {
        return rc;
    }
    int format = bd_ctl_parse_format(bd_ctl_opt(&o, "--format"), true);
    if (format < 0) {
        return bd_ctl_fail(BD_CTL_USAGE, "--format wants table, json or csv");
    }
    const std::string verb = o.positional.empty() ? "" : o.positional[0];
    if (verb == "create" && o.positional.size() == 1) {
        return bd_ctl_key_create(db, &o, format);
    }
    if (verb == "list" && o.positional.size() == 1) {
        return bd_ctl_key_list(db, format);
    }
    if (verb == "show" || verb == "update" || verb == "revoke" || verb == "rotate") {
        return bd_ctl_key_one(db, verb, &o, format);
    }
    return bd_ctl_fail(BD_CTL_USAGE, "key wants create, list, show, update, revoke or rotate");
}
