/*
 * bd_ctl_audit.cc: `bedrockctl audit`: the admin API's audit trail from the
 * store file, the fleet's DynamoDB audit table (a conf with a dynamodb block)
 * or the admin API (--url), oldest first, as a table, JSON or
 * CSV. Rows never hold a secret.
 */
#include <jansson.h>
#include <stdio.h>

#include "modules/store/bd_store.h"
#include "modules/store/ctl/bd_ctl.h"

static const char *const bd_ctl_audit_flags[] = {"--since", "--until", "--limit", "--format",
                                                 nullptr};

static void
bd_ctl_audit_json(const std::vector<bd_audit_row_t> &rows)
{
    json_t *arr = json_array();
    for (const bd_audit_row_t &r : rows) {
        json_t *before = r.before.empty() ? nullptr : json_loads(r.before.c_str(), 0, nullptr);
        json_t *after = r.after.empty() ? nullptr : json_loads(r.after.c_str(), 0, nullptr);
        json_array_append_new(
            arr, json_pack("{s:I, s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:s, s:i}", "id",
                           (json_int_t)r.id, "time", bd_ctl_format_date(r.time_ms).c_str(),
                           "token", r.token_id.c_str(), "action", r.action.c_str(), "target",
                           r.target.c_str(), "before", before ? before : json_null(), "after",
                           after ? after : json_null(), "request_id", r.request_id.c_str(),
                           "client", r.client.c_str(), "status", r.status));
    }
    char *text = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    puts(text);
    free(text);
    json_decref(arr);
}

int
bd_ctl_audit(const bd_ctl_backend_t *b, const std::vector<std::string> &args)
{
    bd_ctl_opts_t o;
    int rc = bd_ctl_parse_opts(args, bd_ctl_audit_flags, &o);
    if (rc != BD_CTL_OK) {
        return rc;
    }
    if (!o.positional.empty()) {
        return bd_ctl_fail(BD_CTL_USAGE, "audit takes only options");
    }
    int format = bd_ctl_parse_format(bd_ctl_opt(&o, "--format"), true);
    if (format < 0) {
        return bd_ctl_fail(BD_CTL_USAGE, "--format wants table, json or csv");
    }
    const std::string *v = bd_ctl_opt(&o, "--since");
    int64_t since = v ? bd_ctl_parse_date(*v) : 0;
    v = bd_ctl_opt(&o, "--until");
    int64_t until = v ? bd_ctl_parse_date(*v) : INT64_MAX;
    if (since < 0 || until < 0) {
        return bd_ctl_fail(BD_CTL_USAGE, "dates are YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS]Z (UTC)");
    }
    v = bd_ctl_opt(&o, "--limit");
    int64_t limit = v ? bd_ctl_parse_count(*v) : 1000;
    if (limit < 1) {
        return bd_ctl_fail(BD_CTL_USAGE, "--limit wants a positive number");
    }
    std::vector<bd_audit_row_t> rows;
    std::string err;
    if (bd_ctl_audit_list(b, since, until, limit, &rows, &err) != 0) {
        return bd_ctl_fail(BD_CTL_FAILED, "%s", err.c_str());
    }
    if (format == BD_CTL_JSON) {
        bd_ctl_audit_json(rows);
        return BD_CTL_OK;
    }
    std::vector<std::vector<std::string>> out;
    for (const bd_audit_row_t &r : rows) {
        out.push_back({bd_ctl_format_date(r.time_ms), r.token_id, r.action,
                       r.target.empty() ? "-" : r.target, std::to_string(r.status),
                       r.client.empty() ? "-" : r.client, r.request_id});
    }
    bd_ctl_print_rows({"TIME", "TOKEN", "ACTION", "TARGET", "STATUS", "CLIENT", "REQUEST_ID"}, out,
                      format);
    return BD_CTL_OK;
}
