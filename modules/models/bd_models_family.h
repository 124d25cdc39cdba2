/*
 * bd_models_family.h: model families, the Bedrock knowledge shared by every model whose
 * Bedrock id matches a pattern: which anthropic-beta values Bedrock accepts for them and
 * under which names. `model_family NAME { match PATTERN ...; betas ...; beta_rename A B; }`
 * in the conf (shipped in models.conf); a model block adds (`betas`), renames
 * (`beta_rename`) and removes (`beta_drop`) on top of its family. Built on the main
 * thread at conf load; read-only afterwards, so any worker may apply it.
 */
#ifndef BD_MODELS_FAMILY_H
#define BD_MODELS_FAMILY_H

#include <string>
#include <utility>
#include <vector>

#include "core/bd_conf.h"
#include "modules/convert/bd_convert.h"

struct bd_models_family_t {
    std::string name;
    std::vector<std::string> patterns; /* fnmatch(3) on the Bedrock id; first family wins */
    std::vector<std::string> betas;    /* Bedrock accepts these as they are */
    std::vector<std::pair<std::string, std::string>> renames; /* client name -> Bedrock name */
};

/* The setter of `model_family` (main context): <conf> + d->offset is a std::vector of
 * families; d->post is the directive table that holds the block's directives. */
const char *bd_models_set_family(bd_conf_ctx_t *cf, const bd_conf_node_t *node,
                                 const bd_directive_t *d, void *conf);

/* The setter of `match PATTERN ...` (model_family context). */
const char *bd_models_set_match(bd_conf_ctx_t *cf, const bd_conf_node_t *node,
                                const bd_directive_t *d, void *conf);

/* The setter of `beta_rename FROM TO` into a std::vector of pairs at the directive's
 * offset (model and family blocks). */
const char *bd_models_set_beta_rename(bd_conf_ctx_t *cf, const bd_conf_node_t *node,
                                      const bd_directive_t *d, void *conf);

/* The first family one of whose patterns matches <bedrock_id>, or null. */
const bd_models_family_t *bd_models_family_find(const std::vector<bd_models_family_t> &families,
                                                const char *bedrock_id);

/* Sets <data>'s accepted betas and renames: the family's (when <f> is not null), then
 * the model's own <betas> and <renames> (a model's rename wins), minus <drops>. */
void bd_models_family_apply(const bd_models_family_t *f, const std::vector<std::string> &betas,
                            const std::vector<std::pair<std::string, std::string>> &renames,
                            const std::vector<std::string> &drops, bd_convert_model_t *data);

#endif
