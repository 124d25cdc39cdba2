/*
 * bd_ctl_usage.cc: `bedrockctl usage`: requests, errors and tokens summed by
 * key, model or day over a time range, as a table, JSON or CSV.
 */
#include <jansson.h>
#include <stdio.h>

#include "modules/store/bd_store.h"
#include "modules/store/ctl/bd_ctl.h"

static const char *const bd_ctl_usage_flags[] = {"--by", "--since", "--until", "--format",
                                                 nullptr};

static int
bd_ctl_usage_range(const bd_ctl_opts_t *o, int64_t *since, int64_t *until)
{
    const std::string *v = bd_ctl_opt(o, "--since");
    *since = v ? bd_ctl_parse_date(*v) : 0;
    v = bd_ctl_opt(o, "--until");
    *until = v ? bd_ctl_parse_date(*v) : INT64_MAX;
    if (*since < 0 || *until < 0) {
        return bd_ctl_fail(BD_CTL_USAGE, "dates are YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS]Z (UTC)");
    }
    return BD_CTL_OK;
}

static void
bd_ctl_usage_json(const std::vector<bd_usage_row_t> &rows, const char *by)
{
    json_t *arr = json_array();
    for (const bd_usage_row_t &r : rows) {
        json_array_append_new(
            arr, json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I}", by, r.group.c_str(), "requests",
                           (json_int_t)r.requests, "errors", (json_int_t)r.errors, "input_tokens",
                           (json_int_t)r.input_tokens, "output_tokens",
                           (json_int_t)r.output_tokens, "cache_read_tokens",
                           (json_int_t)r.cache_read_tokens, "cache_write_tokens",
                           (json_int_t)r.cache_write_tokens));
    }
    char *text = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    puts(text);
    free(text);
    json_decref(arr);
}

int
bd_ctl_usage(const bd_ctl_backend_t *db, const std::vector<std::string> &args)
{
    bd_ctl_opts_t o;
    int rc = bd_ctl_parse_opts(args, bd_ctl_usage_flags, &o);
    if (rc != BD_CTL_OK) {
        return rc;
    }
    if (!o.positional.empty()) {
        return bd_ctl_fail(BD_CTL_USAGE, "usage takes only options");
    }
    const std::string *by_opt = bd_ctl_opt(&o, "--by");
    std::string by = by_opt ? *by_opt : "key";
    int by_code = by == "key" ? BD_USAGE_BY_KEY : by == "model" ? BD_USAGE_BY_MODEL
                                              : by == "day"     ? BD_USAGE_BY_DAY
                                                                : -1;
    int format = bd_ctl_parse_format(bd_ctl_opt(&o, "--format"), true);
    if (by_code < 0 || format < 0) {
        return bd_ctl_fail(BD_CTL_USAGE, "--by wants key, model or day; --format table, json or csv");
    }
    int64_t since, until;
    if ((rc = bd_ctl_usage_range(&o, &since, &until)) != BD_CTL_OK) {
        return rc;
    }
    std::vector<bd_usage_row_t> rows;
    std::string err;
    if (bd_ctl_usage_report(db, by_code, since, until, &rows, &err) != 0) {
        return bd_ctl_fail(BD_CTL_FAILED, "%s", err.c_str());
    }
    if (format == BD_CTL_JSON) {
        bd_ctl_usage_json(rows, by.c_str());
        return BD_CTL_OK;
    }
    std::vector<std::vector<std::string>> out;
    for (const bd_usage_row_t &r : rows) {
        out.push_back({r.group.empty() ? "-" : r.group, std::to_string(r.requests),
                       std::to_string(r.errors), std::to_string(r.input_tokens),
                       std::to_string(r.output_tokens), std::to_string(r.cache_read_tokens),
                       std::to_string(r.cache_write_tokens)});
    }
    std::string head = by == "key" ? "KEY" : by == "model" ? "MODEL" : "DAY";
    if (format == BD_CTL_CSV) {
        head = by;
    }
    bd_ctl_print_rows({head, "REQUESTS", "ERRORS", "INPUT_TOKENS", "OUTPUT_TOKENS",
                       "CACHE_READ_TOKENS", "CACHE_WRITE_TOKENS"},
                      out, format);
    return BD_CTL_OK;
}
