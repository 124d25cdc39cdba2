/*
 * bd_ctl_key.cc: `bedrockctl key ...`: create, list, show, update, revoke and
 * rotate API keys. A secret is printed once, at create and rotate, and never
 * stored: the row keeps its SHA-256 and display prefix.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "modules/store/bd_store.h"
#include "modules/store/ctl/bd_ctl.h"
#include "modules/store/ctl/bd_keyops.h"

static const char *const bd_ctl_key_flags[] = {
    "--name", "--owner", "--rpm", "--tpm", "--concurrency", "--models", "--expires",
    "--metadata", "--active", "--format", "--budget-tokens", "--budget-usd", nullptr,
};

/* The editable options of <o> as key fields ("--budget-tokens" is budget_tokens). */
static bd_keyops_fields_t
bd_ctl_key_fields(const bd_ctl_opts_t *o)
{
    bd_keyops_fields_t fields;
    for (const auto &f : o->flags) {
        if (f.first != "--format") {
            std::string name = f.first.substr(2);
            for (char &ch : name) {
                ch = ch == '-' ? '_' : ch;
            }
            fields.emplace_back(name, f.second);
        }
    }
    return fields;
}

/* Prints what went wrong with <res> and returns the exit code. */
static int
bd_ctl_key_failed(int rc, const bd_keyops_result_t *res)
{
    if (rc == BD_KEYOPS_BAD) {
        std::string flag = "--" + res->field;
        for (char &ch : flag) {
            ch = ch == '_' ? '-' : ch;
        }
        return bd_ctl_fail(BD_CTL_USAGE, "%s %s", flag.c_str(), res->err.c_str());
    }
    return bd_ctl_fail(BD_CTL_FAILED, "%s", res->err.c_str());
}

static json_t *
bd_ctl_key_json(const bd_key_t *k)
{
    return bd_keyops_json(k, bd_keyops_now_ms());
}

static const char *
bd_ctl_key_status(const bd_key_t *k)
{
    return bd_keyops_status(k, bd_keyops_now_ms());
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
    bd_keyops_result_t res;
    int rc = bd_keyops_create(db, bd_ctl_key_fields(o), bd_keyops_now_ms(), &res);
    if (rc != BD_KEYOPS_OK) {
        return bd_ctl_key_failed(rc, &res);
    }
    bd_ctl_key_print_secret(&res.after, res.secret, format);
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
    if (verb == "show") {
        bd_key_t k{};
        std::string err;
        int found = bd_ctl_key_get(db, o->positional[1], &k, &err);
        if (found <= 0) {
            return found < 0 ? bd_ctl_fail(BD_CTL_FAILED, "%s", err.c_str())
                             : bd_ctl_fail(BD_CTL_FAILED, "no key \"%s\"", o->positional[1].c_str());
        }
        bd_ctl_json_print(bd_ctl_key_json(&k));
        return BD_CTL_OK;
    }
    bd_keyops_result_t res;
    int rc = bd_keyops_change(db, verb, o->positional[1], bd_ctl_key_fields(o), &res);
    if (rc != BD_KEYOPS_OK) {
        return bd_ctl_key_failed(rc, &res);
    }
    if (verb == "rotate") {
        bd_ctl_key_print_secret(&res.after, res.secret, format);
    } else {
        printf("%s %s\n", res.after.id.c_str(), verb == "revoke" ? "revoked" : "updated");
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
