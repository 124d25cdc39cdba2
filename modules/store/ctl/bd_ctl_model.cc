/*
 * bd_ctl_model.cc: `bedrockctl model ...`: the model map additions kept in the
 * store (list, set NAME ID [--route converse|invoke], unset NAME).
 */
#include <jansson.h>
#include <stdio.h>
#include <sys/time.h>

#include "modules/store/bd_store.h"
#include "modules/store/ctl/bd_ctl.h"

static const char *const bd_ctl_model_flags[] = {"--route", "--format", nullptr};

static int
bd_ctl_model_list(const bd_ctl_backend_t *db, int format)
{
    std::vector<bd_store_model_t> models;
    std::string err;
    if (bd_ctl_models_load(db, &models, &err) != 0) {
        return bd_ctl_fail(BD_CTL_FAILED, "%s", err.c_str());
    }
    if (format == BD_CTL_JSON) {
        json_t *arr = json_array();
        for (const bd_store_model_t &m : models) {
            json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s}", "name", m.name.c_str(),
                                                 "id", m.bedrock_id.c_str(), "route",
                                                 m.route.empty() ? "default" : m.route.c_str(),
                                                 "updated",
                                                 bd_ctl_format_date(m.updated_ms).c_str()));
        }
        char *text = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        puts(text);
        free(text);
        json_decref(arr);
        return BD_CTL_OK;
    }
    std::vector<std::vector<std::string>> rows;
    for (const bd_store_model_t &m : models) {
        rows.push_back({m.name, m.bedrock_id, m.route.empty() ? "default" : m.route,
                        bd_ctl_format_date(m.updated_ms)});
    }
    bd_ctl_print_rows({"NAME", "ID", "ROUTE", "UPDATED"}, rows, format);
    return BD_CTL_OK;
}

static int
bd_ctl_model_cmd_set(const bd_ctl_backend_t *db, const bd_ctl_opts_t *o)
{
    if (o->positional.size() != 3) {
        return bd_ctl_fail(BD_CTL_USAGE, "model set needs NAME and ID");
    }
    const std::string *route = bd_ctl_opt(o, "--route");
    if (route != nullptr && *route != "converse" && *route != "invoke") {
        return bd_ctl_fail(BD_CTL_USAGE, "--route wants converse or invoke");
    }
    struct timeval tv;
    gettimeofday(&tv, nullptr);
    bd_store_model_t m{o->positional[1], o->positional[2], route ? *route : std::string(),
                       (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000};
    std::string err;
    if (bd_ctl_model_set(db, &m, &err) != 0) {
        return bd_ctl_fail(BD_CTL_FAILED, "%s", err.c_str());
    }
    printf("%s -> %s\n", m.name.c_str(), m.bedrock_id.c_str());
    return BD_CTL_OK;
}

int
bd_ctl_model(const bd_ctl_backend_t *db, const std::vector<std::string> &args)
{
    bd_ctl_opts_t o;
    int rc = bd_ctl_parse_opts(args, bd_ctl_model_flags, &o);
    if (rc != BD_CTL_OK) {
        return rc;
    }
    int format = bd_ctl_parse_format(bd_ctl_opt(&o, "--format"), true);
    if (format < 0) {
        return bd_ctl_fail(BD_CTL_USAGE, "--format wants table, json or csv");
    }
    const std::string verb = o.positional.empty() ? "" : o.positional[0];
    if (verb == "list" && o.positional.size() == 1) {
        return bd_ctl_model_list(db, format);
    }
    if (verb == "set") {
        return bd_ctl_model_cmd_set(db, &o);
    }
    if (verb == "unset" && o.positional.size() == 2) {
        std::string err;
        int found = bd_ctl_model_unset(db, o.positional[1], &err);
        if (found < 0) {
            return bd_ctl_fail(BD_CTL_FAILED, "%s", err.c_str());
        }
        if (found == 0) {
            return bd_ctl_fail(BD_CTL_FAILED, "no model \"%s\" in the model map additions",
                               o.positional[1].c_str());
        }
        printf("%s removed\n", o.positional[1].c_str());
        return BD_CTL_OK;
    }
    return bd_ctl_fail(BD_CTL_USAGE, "model wants list, set NAME ID [--route R] or unset NAME");
}
