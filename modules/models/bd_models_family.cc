/*
 * bd_models_family.cc: `model_family` blocks and how a model's accepted betas are made
 * from its family and its own block. Main thread at conf load; bd_models_family_find
 * and bd_models_family_apply are read-only and run on any worker.
 *
 * Directives (context, default, meaning):
 *
 *   model_family NAME { ... }          main    -     Bedrock knowledge for a family of ids (multi)
 *     match PATTERN ...;               family  (required)  fnmatch(3) on the Bedrock id; the
 *                                                    first family that matches wins
 *     betas NAME ...;                  family  none  anthropic-beta values Bedrock accepts
 *     beta_rename FROM TO;             family  -     the client's beta FROM is sent as TO
 */
#include "modules/models/bd_models_family.h"

#include <fnmatch.h>

const char *
bd_models_set_match(bd_conf_ctx_t *, const bd_conf_node_t *node, const bd_directive_t *,
                    void *conf)
{
    bd_models_family_t *f = (bd_models_family_t *)conf;
    for (size_t i = 1; i < node->args.size(); i++) {
        if (node->args[i].empty()) {
            return "empty pattern in \"match\" directive";
        }
        f->patterns.push_back(node->args[i]);
    }
    return nullptr;
}

const char *
bd_models_set_beta_rename(bd_conf_ctx_t *cf, const bd_conf_node_t *node, const bd_directive_t *d,
                          void *conf)
{
    auto *list = (std::vector<std::pair<std::string, std::string>> *)((char *)conf + d->offset);
    const std::string &from = node->args[1];
    if (from.empty() || node->args[2].empty()) {
        return "empty name in \"beta_rename\" directive";
    }
    for (const auto &r : *list) {
        if (r.first == from) {
            cf->errbuf = "duplicate \"beta_rename\" of \"" + from + "\"";
            return cf->errbuf.c_str();
        }
    }
    list->emplace_back(from, node->args[2]);
    return nullptr;
}

const char *
bd_models_set_family(bd_conf_ctx_t *cf, const bd_conf_node_t *node, const bd_directive_t *d,
                     void *conf)
{
    auto *families = (std::vector<bd_models_family_t> *)((char *)conf + d->offset);
    bd_models_family_t f;
    f.name = node->args[1];
    for (const bd_models_family_t &o : *families) {
        if (o.name == f.name) {
            cf->errbuf = "duplicate model_family \"" + f.name + "\"";
            return cf->errbuf.c_str();
        }
    }
    /* The block's directives are in the models module's table (d->post), context
     * model_family, with offsets into bd_models_family_t. */
    bd_conf_target_t target = {(const bd_directive_t *)d->post, &f};
    if (bd_conf_apply(cf, node->children, "model_family", &target, 1) != 0) {
        return BD_CONF_ERROR;
    }
    if (f.patterns.empty()) {
        cf->errbuf = "no \"match\" is defined in model_family \"" + f.name + "\"";
        return cf->errbuf.c_str();
    }
    families->push_back(std::move(f));
    return nullptr;
}

const bd_models_family_t *
bd_models_family_find(const std::vector<bd_models_family_t> &families, const char *bedrock_id)
{
    for (const bd_models_family_t &f : families) {
        for (const std::string &p : f.patterns) {
            if (fnmatch(p.c_str(), bedrock_id, 0) == 0) {
                return &f;
            }
        }
    }
    return nullptr;
}

static bool
bd_models_listed(const std::vector<std::string> &list, const std::string &s)
{
    for (const std::string &e : list) {
        if (e == s) {
            return true;
        }
    }
    return false;
}

void
bd_models_family_apply(const bd_models_family_t *f, const std::vector<std::string> &betas,
                       const std::vector<std::pair<std::string, std::string>> &renames,
                       const std::vector<std::string> &drops, bd_convert_model_t *data)
{
    std::vector<std::string> all;
    std::vector<std::pair<std::string, std::string>> ren = renames;

    if (f != nullptr) {
        all = f->betas;
        for (const auto &r : f->renames) {
            bool own = false;
            for (const auto &o : renames) {
                own = own || o.first == r.first;
            }
            if (!own) {
                ren.push_back(r);
            }
        }
    }
    for (const std::string &b : betas) {
        if (!bd_models_listed(all, b)) {
            all.push_back(b);
        }
    }
    data->allowed_betas.clear();
    for (const std::string &b : all) {
        if (!bd_models_listed(drops, b)) {
            data->allowed_betas.push_back(b);
        }
    }
    data->renamed_betas.clear();
    for (const auto &r : ren) {
        if (!bd_models_listed(drops, r.first)) {
            data->renamed_betas.push_back(r);
        }
    }
}
