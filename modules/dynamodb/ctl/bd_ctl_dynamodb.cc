/*
 * bd_ctl_dynamodb.cc: `bedrockctl dynamodb ...`: create-tables (development),
 * check (what bedrockd checks at start), and import-keys (plaintext keys of the
 * seed proxy's table become hashed keys with the same limits).
 */
#include <stdio.h>
#include <string.h>

#include "modules/dynamodb/bd_ddb_item.h"
#include "modules/dynamodb/bd_ddb_pull.h"
#include "modules/dynamodb/bd_ddb_tables.h"
#include "modules/dynamodb/ctl/bd_ctl_ddb.h"

static int
bd_ctl_ddb_create(bd_ctl_ddb_t *d)
{
    std::vector<std::string> lines;
    std::string err;
    int rc = bd_ddb_tables_create(d->client, &d->conf, &lines, &err);
    for (const std::string &l : lines) {
        printf("%s\n", l.c_str());
    }
    return rc == 0 ? BD_CTL_OK : bd_ctl_fail(BD_CTL_FAILED, "%s", err.c_str());
}

static int
bd_ctl_ddb_check(bd_ctl_ddb_t *d)
{
    std::string err;
    if (bd_ddb_tables_check(d->client, &d->conf, &err) != BD_DDB_CHECK_OK) {
        return bd_ctl_fail(BD_CTL_FAILED, "%s", err.c_str());
    }
    printf("tables ok at %s\n", d->conf.resolved.url.c_str());
    return BD_CTL_OK;
}

/* The partition key attribute of <table>. */
static int
bd_ctl_ddb_hash_attr(bd_ctl_ddb_t *d, const std::string &table, std::string *out, std::string *err)
{
    bd_ddb_op_t op;
    if (bd_ddb_call(d->client, "DescribeTable", json_pack("{s:s}", "TableName", table.c_str()), &op) !=
        BD_DDB_OK) {
        *err = table + ": " + bd_ddb_describe(&op);
        return -1;
    }
    size_t i;
    const json_t *k;
    json_array_foreach(json_object_get(json_object_get(op.reply, "Table"), "KeySchema"), i, k) {
        const char *type = json_string_value(json_object_get(k, "KeyType"));
        if (type != nullptr && strcmp(type, "HASH") == 0) {
            *out = json_string_value(json_object_get(k, "AttributeName"));
            return 0;
        }
    }
    *err = table + ": no partition key in its description";
    return -1;
}

/* A number field that may be stored as N or as a numeric S. */
static bool
bd_ctl_ddb_number(const json_t *item, const std::string &name, int64_t *out)
{
    if (bd_ddb_get_n(item, name.c_str(), out) == 1) {
        return true;
    }
    std::string s;
    if (bd_ddb_get_s(item, name.c_str(), &s) == 1 && !s.empty() &&
        strspn(s.c_str(), "0123456789") == s.size() && s.size() < 12) {
        *out = strtoll(s.c_str(), nullptr, 10);
        return true;
    }
    return false;
}

/* active: BOOL, or a string/number meaning true or false; absent = true. */
static bool
bd_ctl_ddb_active(const json_t *item, const std::string &name)
{
    bool b = true;
    if (bd_ddb_get_bool(item, name.c_str(), &b) == 1) {
        return b;
    }
    std::string s;
    if (bd_ddb_get_s(item, name.c_str(), &s) == 1) {
        return !(s == "false" || s == "False" || s == "0" || s == "no" || s == "inactive");
    }
    int64_t n = 1;
    return bd_ddb_get_n(item, name.c_str(), &n) == 1 ? n != 0 : true;
}

/* "key_" + 16 base32 characters of the hash: the same key imports to the same id. */
static std::string
bd_ctl_ddb_import_id(const std::string &hash)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
    std::string id = "key_";
    for (int i = 0; i < 16; i++) {
        id += alphabet[(unsigned char)hash[(size_t)i] & 31];
    }
    return id;
}

static const char *const bd_ctl_import_flags[] = {
    "--from", "--key-attr", "--name-attr", "--user-attr", "--rpm-attr", "--active-attr", nullptr,
};

static int
bd_ctl_ddb_import(bd_ctl_ddb_t *d, const bd_ctl_opts_t *o)
{
    const std::string *from = bd_ctl_opt(o, "--from");
    if (from == nullptr || from->empty()) {
        return bd_ctl_fail(BD_CTL_USAGE, "import-keys needs --from TABLE");
    }
    auto attr = [&](const char *flag, const char *dflt) {
        const std::string *v = bd_ctl_opt(o, flag);
        return v ? *v : std::string(dflt);
    };
    std::string key_attr = attr("--key-attr", ""), err;
    if (key_attr.empty() && bd_ctl_ddb_hash_attr(d, *from, &key_attr, &err) != 0) {
        return bd_ctl_fail(BD_CTL_FAILED, "%s", err.c_str());
    }
    std::string name_attr = attr("--name-attr", "name"), user_attr = attr("--user-attr", "user_id");
    std::string rpm_attr = attr("--rpm-attr", "rate_limit");
    std::string active_attr = attr("--active-attr", "active");
    int imported = 0, existing = 0, skipped = 0, failed = 0;
    int64_t now = bd_ddb_now_ms();
    int rc = bd_ddb_scan(d->client, *from, nullptr, [&](const json_t *item) {
        std::string secret;
        if (bd_ddb_get_s(item, key_attr.c_str(), &secret) != 1 || secret.size() < 8) {
            skipped++;
            bd_ctl_fail(0, "%s: an item without a usable \"%s\" skipped", from->c_str(),
                        key_attr.c_str());
            return;
        }
        bd_key_t k{};
        bd_key_hash(secret.data(), secret.size(), &k.hash);
        k.id = bd_ctl_ddb_import_id(k.hash);
        k.prefix = secret.substr(0, secret.size() >= 32 ? 8 : 4);
        bd_ddb_get_s(item, name_attr.c_str(), &k.name);
        bd_ddb_get_s(item, user_attr.c_str(), &k.owner);
        if (k.name.empty()) {
            k.name = "imported " + k.prefix + "...";
        }
        k.active = bd_ctl_ddb_active(item, active_attr);
        k.created_ms = now;
        bd_ctl_ddb_number(item, rpm_attr, &k.rpm);
        k.metadata = "{\"imported_from\":\"" + *from + "\"}";
        bd_ctl_backend_t b = {nullptr, d};
        std::string e;
        if (bd_ctl_key_insert(&b, &k, &e) == 0) {
            imported++;
            printf("%s %s imported (%s, rpm %lld)\n", k.id.c_str(), k.name.c_str(),
                   k.active ? "active" : "revoked", (long long)k.rpm);
        } else if (e.find("exists") != std::string::npos) {
            existing++;
        } else {
            failed++;
            bd_ctl_fail(0, "%s: %s", k.id.c_str(), e.c_str());
        }
    }, &err);
    if (rc != 0) {
        return bd_ctl_fail(BD_CTL_FAILED, "%s", err.c_str());
    }
    printf("%d imported, %d already there, %d skipped, %d failed\n", imported, existing, skipped,
           failed);
    return failed ? BD_CTL_FAILED : BD_CTL_OK;
}

int
bd_ctl_dynamodb(bd_ctl_ddb_t *d, const std::vector<std::string> &args)
{
    bd_ctl_opts_t o;
    int rc = bd_ctl_parse_opts(args, bd_ctl_import_flags, &o);
    if (rc != BD_CTL_OK) {
        return rc;
    }
    const std::string verb = o.positional.empty() ? "" : o.positional[0];
    if (verb == "create-tables" && o.positional.size() == 1) {
        return bd_ctl_ddb_create(d);
    }
    if (verb == "check" && o.positional.size() == 1) {
        return bd_ctl_ddb_check(d);
    }
    if (verb == "import-keys" && o.positional.size() == 1) {
        return bd_ctl_ddb_import(d, &o);
    }
    return bd_ctl_fail(BD_CTL_USAGE,
                       "dynamodb wants create-tables, check or import-keys --from TABLE");
}
