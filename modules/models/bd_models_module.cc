/*
 * bd_models_module.cc: the model map. Owns the `model`, `model_route` and
 * `model_passthrough` directives, their validation and the lookup tables built at
 * init. The conf is built on the main thread; once init_conf has run it is never
 * written again, so bd_models_resolve() reads it from any worker without locks.
 *
 * Directives (context, default, meaning):
 *
 *   model NAME { ... }                  main   -                 a client-facing model name (multi)
 *     id BEDROCK_ID;                    model  (required)        model id, inference profile id
 *                                                                or ARN sent to Bedrock
 *     alias NAME ...;                   model  -                 more client names (multi)
 *     route converse|invoke;            model  model_route, else the Bedrock API used
 *                                              invoke for anthropic.claude ids, else converse
 *     max_output_tokens N;              model  0 (no cap)        max_tokens is capped to N
 *     temperature_top_p exclusive|both; model  both              exclusive: top_p is dropped
 *                                                                when temperature is given
 *     thinking on|off;                  model  on for anthropic.claude ids with claude-3-7,
 *                                              sonnet-4, opus-4 or haiku-4; off otherwise
 *     betas NAME ...;                   model  the family's      anthropic-beta values forwarded,
 *                                                                added to the family's (multi)
 *     beta_rename FROM TO;              model  the family's      client beta name -> Bedrock name
 *     beta_drop NAME ...;               model  -                 a family beta this model refuses
 *     url_sources on|off;               model  off               fetch url image/document sources
 *     listed on|off;                    model  on                shown by GET /v1/models
 *     display_name "text";              model  NAME              for GET /v1/models
 *     created_at RFC3339;               model  1970-01-01T00:00:00Z  for GET /v1/models
 *     fallback TARGET [k=v ...];        model  -                 the failover chain (multi; see
 *                                                                bd_models_fallback.cc)
 *     weight N;                         model  1                 the id's share of its step
 *     service_tier TIER [strict];       model  -                 Bedrock service tier asked for
 *   model_route PATTERN converse|invoke; main  -                 fnmatch(3) on the Bedrock id of
 *                                                                entries without `route` and of
 *                                                                passthrough ids; first match wins
 *   model_passthrough on|off;           main   on                a client name that looks like a
 *                                                                Bedrock id ([geo.]provider.model
 *                                                                or arn:aws...) is sent as it is;
 *                                                                names from the model source (the
 *                                                                Bedrock catalog) resolve too
 */
#include "modules/models/bd_models.h"

#include "core/bd_worker.h"
#include "modules/models/bd_models_family.h"
#include "modules/models/bd_models_known.h"

#include <fnmatch.h>
#include <stddef.h>
#include <string.h>

#include <string_view>
#include <unordered_map>

#define BD_MODELS_UNSET (-1)
#define BD_MODELS_ID_MAX 2048
#define BD_MODELS_DEFAULT_CREATED_AT "1970-01-01T00:00:00Z"

struct bd_models_pattern_t {
    std::string pattern;
    bd_route_e route;
};

struct bd_models_conf_t {
    std::vector<bd_model_entry_t> entries;
    std::vector<bd_models_pattern_t> patterns;
    std::vector<bd_models_family_t> families; /* model_family blocks (bd_models_family.cc) */
    bool passthrough;
    /* Built by init_conf; the views point into <entries>, which is never resized
     * afterwards. by_name holds names and aliases, by_id the first entry per id. */
    std::unordered_map<std::string_view, size_t> by_name;
    std::unordered_map<std::string_view, size_t> by_id;
};

/* One `model` block while its children are applied. */
struct bd_models_block_t {
    bd_models_conf_t *mcf;
    bd_model_entry_t entry;
    int route;    /* BD_MODELS_UNSET or a bd_route_e (bd_conf_set_enum writes an int) */
    int tp_mode;  /* BD_MODELS_UNSET, 0 both, 1 exclusive */
    int thinking; /* BD_MODELS_UNSET, 0 off, 1 on */
};

static const char *bd_models_set_model(bd_conf_ctx_t *cf, const bd_conf_node_t *node,
                                       const bd_directive_t *d, void *conf);
static const char *bd_models_set_route_pattern(bd_conf_ctx_t *cf, const bd_conf_node_t *node,
                                               const bd_directive_t *d, void *conf);
static const char *bd_models_set_id(bd_conf_ctx_t *cf, const bd_conf_node_t *node,
                                    const bd_directive_t *d, void *conf);
static const char *bd_models_set_alias(bd_conf_ctx_t *cf, const bd_conf_node_t *node,
                                       const bd_directive_t *d, void *conf);
static const char *bd_models_set_created_at(bd_conf_ctx_t *cf, const bd_conf_node_t *node,
                                            const bd_directive_t *d, void *conf);

static const bd_conf_enum_t bd_models_routes[] = {
    {"converse", BD_ROUTE_CONVERSE},
    {"invoke", BD_ROUTE_INVOKE},
    {nullptr, 0},
};

static const bd_conf_enum_t bd_models_tp_modes[] = {
    {"both", 0},
    {"exclusive", 1},
    {nullptr, 0},
};

static const bd_conf_enum_t bd_models_on_off[] = {
    {"on", 1},
    {"off", 0},
    {nullptr, 0},
};

static const bd_conf_bounds_t bd_models_max_tokens_bounds = {1, 10000000};
static const bd_conf_bounds_t bd_models_weight_bounds = {1, 1000000};

#define BD_MODELS_OFF(field) offsetof(bd_models_conf_t, field)
#define BD_MODELS_BOFF(field) offsetof(bd_models_block_t, field)

/* One table for both contexts, so that a directive in the wrong one is reported as
 * "not allowed here". Main-context setters get a bd_models_conf_t, block setters
 * a bd_models_block_t. */
static const bd_directive_t bd_models_directives[] = {
    {"model", "main", BD_ARGS_1 | BD_ARGS_BLOCK | BD_ARGS_MULTI, bd_models_set_model, 0, nullptr},
    {"model_route", "main", BD_ARGS_2 | BD_ARGS_MULTI, bd_models_set_route_pattern, 0, nullptr},
    {"model_passthrough", "main", BD_ARGS_1, bd_conf_set_flag, BD_MODELS_OFF(passthrough),
     nullptr},
    {"model_family", "main", BD_ARGS_1 | BD_ARGS_BLOCK | BD_ARGS_MULTI, bd_models_set_family,
     BD_MODELS_OFF(families), bd_models_directives},
    {"match", "model_family", BD_ARGS_1_OR_MORE | BD_ARGS_MULTI, bd_models_set_match, 0, nullptr},
    {"betas", "model_family", BD_ARGS_1_OR_MORE | BD_ARGS_MULTI, bd_conf_set_str_list,
     offsetof(bd_models_family_t, betas), nullptr},
    {"beta_rename", "model_family", BD_ARGS_2 | BD_ARGS_MULTI, bd_models_set_beta_rename,
     offsetof(bd_models_family_t, renames), nullptr},
    {"id", "model", BD_ARGS_1, bd_models_set_id, 0, nullptr},
    {"alias", "model", BD_ARGS_1_OR_MORE | BD_ARGS_MULTI, bd_models_set_alias, 0, nullptr},
    {"route", "model", BD_ARGS_1, bd_conf_set_enum, BD_MODELS_BOFF(route), bd_models_routes},
    {"max_output_tokens", "model", BD_ARGS_1, bd_conf_set_int,
     BD_MODELS_BOFF(entry.data.max_output_tokens), &bd_models_max_tokens_bounds},
    {"temperature_top_p", "model", BD_ARGS_1, bd_conf_set_enum, BD_MODELS_BOFF(tp_mode),
     bd_models_tp_modes},
    {"thinking", "model", BD_ARGS_1, bd_conf_set_enum, BD_MODELS_BOFF(thinking), bd_models_on_off},
    {"betas", "model", BD_ARGS_1_OR_MORE | BD_ARGS_MULTI, bd_conf_set_str_list,
     BD_MODELS_BOFF(entry.data.allowed_betas), nullptr},
    {"beta_rename", "model", BD_ARGS_2 | BD_ARGS_MULTI, bd_models_set_beta_rename,
     BD_MODELS_BOFF(entry.data.renamed_betas), nullptr},
    {"beta_drop", "model", BD_ARGS_1_OR_MORE | BD_ARGS_MULTI, bd_conf_set_str_list,
     BD_MODELS_BOFF(entry.beta_drops), nullptr},
    {"url_sources", "model", BD_ARGS_1, bd_conf_set_flag,
     BD_MODELS_BOFF(entry.data.allow_url_sources), nullptr},
    {"listed", "model", BD_ARGS_1, bd_conf_set_flag, BD_MODELS_BOFF(entry.listed), nullptr},
    {"display_name", "model", BD_ARGS_1, bd_conf_set_str, BD_MODELS_BOFF(entry.display_name),
     nullptr},
    {"created_at", "model", BD_ARGS_1, bd_models_set_created_at, 0, nullptr},
    {"fallback", "model", BD_ARGS_1_OR_MORE | BD_ARGS_MULTI, bd_models_set_fallback,
     BD_MODELS_BOFF(entry), nullptr},
    {"weight", "model", BD_ARGS_1, bd_conf_set_int, BD_MODELS_BOFF(entry.weight),
     &bd_models_weight_bounds},
    {"service_tier", "model", BD_ARGS_1 | BD_ARGS_2, bd_models_set_service_tier,
     BD_MODELS_BOFF(entry), nullptr},
    {nullptr, nullptr, 0, nullptr, 0, nullptr},
};

/* --- Bedrock ids --- */

static bool
bd_models_has_prefix(const char *s, const char *prefix, size_t *len)
{
    size_t n = strlen(prefix);
    if (strncmp(s, prefix, n) != 0) {
        return false;
    }
    *len = n;
    return true;
}

/* Characters Bedrock accepts in a model id, profile id or ARN (one path segment,
 * percent-encoded by the caller). */
static bool
bd_models_id_chars_ok(const char *s, size_t *len)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        unsigned char c = (unsigned char) s[n];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '-' || c == '_' || c == ':' || c == '/';
        if (!ok || n >= BD_MODELS_ID_MAX) {
            return false;
        }
    }
    *len = n;
    return n > 0;
}

/* Whether a client name is meant as a Bedrock id: [region.]provider.model or an ARN.
 * Only these pass through; anything else is an unknown model. */
static bool
bd_models_looks_like_id(const char *name)
{
    size_t len = 0, n = 0;

    if (!bd_models_id_chars_ok(name, &len)) {
        return false;
    }
    if (bd_models_has_prefix(name, "arn:aws:", &n) || bd_models_has_prefix(name, "arn:aws-", &n)) {
        return true;
    }
    const char *p = name + bd_models_region_prefix(name);
    n = bd_models_provider_prefix(p);
    return n > 0 && p[n] != '\0';
}

/* Extended thinking is on by default only for Claude models known to have it. */
static bool
bd_models_default_thinking(const char *id)
{
    return (bd_models_known(id)->flags & BD_KNOWN_THINKING) != 0;
}

/* model_route patterns, then the built-in default: Claude via InvokeModel (the
 * native body keeps cache_control, citations and betas), everything else Converse. */
static bd_route_e
bd_models_default_route(const bd_models_conf_t *mcf, const char *id)
{
    for (const bd_models_pattern_t &p : mcf->patterns) {
        if (fnmatch(p.pattern.c_str(), id, 0) == 0) {
            return p.route;
        }
    }
    return (bd_models_known(id)->flags & BD_KNOWN_INVOKE) ? BD_ROUTE_INVOKE : BD_ROUTE_CONVERSE;
}

/* --- setters --- */

/* Finds <name> among the names and aliases of the finished entries. Conf load only,
 * so a linear scan is fine. */
static const bd_model_entry_t *
bd_models_find_any(const bd_models_conf_t *mcf, const std::string &name, bool *is_alias)
{
    for (const bd_model_entry_t &e : mcf->entries) {
        if (e.name == name) {
            *is_alias = false;
            return &e;
        }
        for (const std::string &a : e.aliases) {
            if (a == name) {
                *is_alias = true;
                return &e;
            }
        }
    }
    return nullptr;
}

static std::string
bd_models_place(const bd_model_entry_t &e)
{
    return e.file + ":" + std::to_string(e.line);
}

static const char *
bd_models_check_name(bd_conf_ctx_t *cf, const bd_models_conf_t *mcf, const std::string &name)
{
    bool is_alias = false;
    const bd_model_entry_t *e = bd_models_find_any(mcf, name, &is_alias);
    if (name.empty()) {
        return "empty model name";
    }
    if (e == nullptr) {
        return nullptr;
    }
    if (is_alias) {
        cf->errbuf = "model name \"" + name + "\" is already an alias of model \"" + e->name +
                     "\" defined at " + bd_models_place(*e);
    } else {
        cf->errbuf = "duplicate model \"" + name + "\", first defined at " + bd_models_place(*e);
    }
    return cf->errbuf.c_str();
}

static void
bd_models_block_init(bd_models_block_t *b, bd_models_conf_t *mcf, const bd_conf_node_t *node)
{
    b->mcf = mcf;
    b->entry.name = node->args[1];
    b->entry.file = node->file;
    b->entry.line = node->line;
    b->entry.data.client_name = node->args[1];
    b->entry.data.route = BD_ROUTE_CONVERSE;
    b->entry.data.max_output_tokens = 0;
    b->entry.data.temperature_top_p_exclusive = false;
    b->entry.data.supports_thinking = false;
    b->entry.data.allow_url_sources = false;
    b->entry.route_set = false;
    b->entry.listed = true;
    b->entry.weight = 1;
    b->entry.service_tier_strict = false;
    b->route = BD_MODELS_UNSET;
    b->tp_mode = BD_MODELS_UNSET;
    b->thinking = BD_MODELS_UNSET;
}

static const char *
bd_models_set_model(bd_conf_ctx_t *cf, const bd_conf_node_t *node, const bd_directive_t *,
                    void *conf)
{
    bd_models_conf_t *mcf = (bd_models_conf_t *) conf;
    const char *msg = bd_models_check_name(cf, mcf, node->args[1]);
    if (msg != nullptr) {
        return msg;
    }

    bd_models_block_t b;
    bd_models_block_init(&b, mcf, node);
    bd_conf_target_t target = {bd_models_directives, &b};
    if (bd_conf_apply(cf, node->children, "model", &target, 1) != 0) {
        return BD_CONF_ERROR;
    }
    bd_model_entry_t &e = b.entry;
    if (e.data.bedrock_id.empty()) {
        cf->errbuf = "no \"id\" is defined in model \"" + e.name + "\"";
        return cf->errbuf.c_str();
    }
    if (b.route != BD_MODELS_UNSET) {
        e.data.route = (bd_route_e) b.route;
        e.route_set = true;
    }
    e.data.temperature_top_p_exclusive = b.tp_mode == 1;
    e.data.supports_thinking = b.thinking == BD_MODELS_UNSET
                                   ? bd_models_default_thinking(e.data.bedrock_id.c_str())
                                   : b.thinking == 1;
    if (e.display_name.empty()) {
        e.display_name = e.name;
    }
    if (e.created_at.empty()) {
        e.created_at = BD_MODELS_DEFAULT_CREATED_AT;
    }
    mcf->entries.push_back(std::move(e));
    return nullptr;
}

static const char *
bd_models_set_route_pattern(bd_conf_ctx_t *cf, const bd_conf_node_t *node, const bd_directive_t *,
                            void *conf)
{
    bd_models_conf_t *mcf = (bd_models_conf_t *) conf;
    const std::string &route = node->args[2];
    bd_models_pattern_t p;
    p.pattern = node->args[1];
    if (p.pattern.empty()) {
        return "empty pattern in \"model_route\" directive";
    }
    if (route == "converse") {
        p.route = BD_ROUTE_CONVERSE;
    } else if (route == "invoke") {
        p.route = BD_ROUTE_INVOKE;
    } else {
        cf->errbuf = "invalid value \"" + route +
                     "\" in \"model_route\" directive, it must be one of: converse, invoke";
        return cf->errbuf.c_str();
    }
    mcf->patterns.push_back(std::move(p));
    return nullptr;
}

static const char *
bd_models_set_id(bd_conf_ctx_t *cf, const bd_conf_node_t *node, const bd_directive_t *,
                 void *conf)
{
    bd_models_block_t *b = (bd_models_block_t *) conf;
    size_t len = 0;
    if (!bd_models_id_chars_ok(node->args[1].c_str(), &len) || len != node->args[1].size()) {
        cf->errbuf = "invalid value \"" + node->args[1] +
                     "\" in \"id\" directive, it must be a Bedrock model id, inference profile "
                     "id or ARN (letters, digits and . - _ : /, at most 2048 characters)";
        return cf->errbuf.c_str();
    }
    b->entry.data.bedrock_id = node->args[1];
    return nullptr;
}

static const char *
bd_models_set_alias(bd_conf_ctx_t *cf, const bd_conf_node_t *node, const bd_directive_t *,
                    void *conf)
{
    bd_models_block_t *b = (bd_models_block_t *) conf;
    bd_model_entry_t &self = b->entry;

    for (size_t i = 1; i < node->args.size(); i++) {
        const std::string &alias = node->args[i];
        bool is_alias = false;
        const bd_model_entry_t *e = bd_models_find_any(b->mcf, alias, &is_alias);
        if (alias.empty()) {
            return "empty name in \"alias\" directive";
        }
        if (e != nullptr) {
            cf->errbuf = "alias \"" + alias + "\" is already " +
                         (is_alias ? "an alias of" : "the name of") + " model \"" + e->name +
                         "\" defined at " + bd_models_place(*e);
            return cf->errbuf.c_str();
        }
        if (alias == self.name) {
            cf->errbuf = "alias \"" + alias + "\" repeats the name of model \"" + self.name + "\"";
            return cf->errbuf.c_str();
        }
        for (const std::string &a : self.aliases) {
            if (a == alias) {
                cf->errbuf = "duplicate alias \"" + alias + "\" in model \"" + self.name + "\"";
                return cf->errbuf.c_str();
            }
        }
        self.aliases.push_back(alias);
    }
    return nullptr;
}

/* Reads <n> digits at *p into *v and advances; false when they are not there. */
static bool
bd_models_digits(const char **p, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9') {
            return false;
        }
        *v = *v * 10 + (c - '0');
    }
    *p += n;
    return true;
}

static bool
bd_models_expect(const char **p, char c)
{
    if (**p != c) {
        return false;
    }
    (*p)++;
    return true;
}

/* RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM). */
static bool
bd_models_rfc3339_ok(const char *s)
{
    int y, mo, d, h, mi, sec, oh, om;
    const char *p = s;
    if (!bd_models_digits(&p, 4, &y) || !bd_models_expect(&p, '-') ||
        !bd_models_digits(&p, 2, &mo) || !bd_models_expect(&p, '-') ||
        !bd_models_digits(&p, 2, &d) || !(bd_models_expect(&p, 'T') || bd_models_expect(&p, 't')) ||
        !bd_models_digits(&p, 2, &h) || !bd_models_expect(&p, ':') ||
        !bd_models_digits(&p, 2, &mi) || !bd_models_expect(&p, ':') ||
        !bd_models_digits(&p, 2, &sec)) {
        return false;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) {
        return false;
    }
    if (bd_models_expect(&p, '.')) {
        const char *start = p;
        while (*p >= '0' && *p <= '9') {
            p++;
        }
        if (p == start) {
            return false;
        }
    }
    if (bd_models_expect(&p, 'Z') || bd_models_expect(&p, 'z')) {
        return *p == '\0';
    }
    if (!(bd_models_expect(&p, '+') || bd_models_expect(&p, '-'))) {
        return false;
    }
    return bd_models_digits(&p, 2, &oh) && bd_models_expect(&p, ':') &&
           bd_models_digits(&p, 2, &om) && *p == '\0' && oh <= 23 && om <= 59;
}

static const char *
bd_models_set_created_at(bd_conf_ctx_t *cf, const bd_conf_node_t *node, const bd_directive_t *,
                         void *conf)
{
    bd_models_block_t *b = (bd_models_block_t *) conf;
    if (!bd_models_rfc3339_ok(node->args[1].c_str())) {
        cf->errbuf = "invalid value \"" + node->args[1] +
                     "\" in \"created_at\" directive, it must be an RFC 3339 time such as "
                     "2025-09-29T00:00:00Z";
        return cf->errbuf.c_str();
    }
    b->entry.created_at = node->args[1];
    return nullptr;
}

/* --- module --- */

static void *
bd_models_create_conf(void)
{
    bd_models_conf_t *mcf = new bd_models_conf_t();
    mcf->passthrough = true;
    return mcf;
}

static void
bd_models_destroy_conf(void *conf)
{
    delete (bd_models_conf_t *) conf;
}

static const bd_model_entry_t *
bd_models_find_entry(const void *data, const std::string &name)
{
    bool is_alias = false;
    return bd_models_find_any((const bd_models_conf_t *) data, name, &is_alias);
}

/* Routes of entries without `route` need every model_route, which may follow the
 * blocks; the lookup tables need the final entries vector; fallbacks may name
 * models defined after them. */
static const char *
bd_models_init_conf(bd_snapshot_t *, void *conf)
{
    bd_models_conf_t *mcf = (bd_models_conf_t *) conf;

    mcf->by_name.reserve(mcf->entries.size() * 2);
    mcf->by_id.reserve(mcf->entries.size());
    for (size_t i = 0; i < mcf->entries.size(); i++) {
        bd_model_entry_t &e = mcf->entries[i];
        if (!e.route_set) {
            e.data.route = bd_models_default_route(mcf, e.data.bedrock_id.c_str());
        }
        bd_models_family_apply(bd_models_family_find(mcf->families, e.data.bedrock_id.c_str()),
                               e.data.allowed_betas, e.data.renamed_betas, e.beta_drops, &e.data);
        mcf->by_name.emplace(e.name, i);
        for (const std::string &a : e.aliases) {
            mcf->by_name.emplace(a, i);
        }
        mcf->by_id.emplace(e.data.bedrock_id, i); /* keeps the first entry per id */
    }
    static thread_local std::string err;
    for (bd_model_entry_t &e : mcf->entries) {
        if (bd_models_fallback_resolve(&e, bd_models_find_entry, mcf, &err) != nullptr) {
            return err.c_str();
        }
    }
    return nullptr;
}

/* The addition named <name> (bd_models_publish_additions), filled as the conf would fill
 * `model NAME { id ID; [route R;] }`; an id some conf entry uses keeps that entry's
 * quirks (caps, betas, sampling rules), as a passthrough id does. 0, or -1 when none. */
static int
bd_models_resolve_addition(const bd_models_conf_t *mcf, const char *name, bd_convert_model_t *out)
{
    bd_models_addition_t a;
    if (bd_models_addition_find(name, &a) != 0 || a.bedrock_id.empty()) {
        return -1;
    }
    auto jt = mcf->by_id.find(std::string_view(a.bedrock_id));
    if (jt != mcf->by_id.end()) {
        *out = mcf->entries[jt->second].data;
    } else {
        out->route = bd_models_default_route(mcf, a.bedrock_id.c_str());
        out->max_output_tokens = 0;
        out->temperature_top_p_exclusive = false;
        out->supports_thinking = bd_models_default_thinking(a.bedrock_id.c_str());
        bd_models_family_apply(bd_models_family_find(mcf->families, a.bedrock_id.c_str()), {}, {},
                               {}, out);
        out->allow_url_sources = false;
    }
    if (a.route == "converse" || a.route == "invoke") {
        out->route = a.route == "invoke" ? BD_ROUTE_INVOKE : BD_ROUTE_CONVERSE;
    }
    out->client_name.assign(name);
    out->bedrock_id = a.bedrock_id;
    return 0;
}

int
bd_models_resolve(const bd_snapshot_t *snap, const char *name, bd_convert_model_t *out)
{
    const bd_models_conf_t *mcf =
        (const bd_models_conf_t *) bd_snapshot_conf(snap, &bd_models_module);
    std::string_view key(name);
    const size_t *index = nullptr;
    std::string catalog_id; /* a name the model source knows (a Bedrock catalog model) */
    const char *id = name;

    auto it = mcf->by_name.find(key);
    if (it != mcf->by_name.end()) {
        index = &it->second;
    } else {
        if (bd_models_resolve_addition(mcf, name, out) == 0) {
            return 0;
        }
        if (!mcf->passthrough) {
            return -1;
        }
        if (!bd_models_looks_like_id(name)) {
            if (bd_models_source_resolve(name, &catalog_id) != 0) {
                return -1;
            }
            id = catalog_id.c_str();
            key = catalog_id;
        }
        /* A configured id keeps its entry's quirks (caps, betas, sampling rules). */
        auto jt = mcf->by_id.find(key);
        if (jt != mcf->by_id.end()) {
            index = &jt->second;
        }
    }
    if (index != nullptr) {
        *out = mcf->entries[*index].data;
        out->client_name.assign(name);
        return 0;
    }

    out->client_name.assign(name);
    out->bedrock_id.assign(id);
    out->route = bd_models_default_route(mcf, id);
    out->max_output_tokens = 0;
    out->temperature_top_p_exclusive = false;
    out->supports_thinking = bd_models_default_thinking(id);
    bd_models_family_apply(bd_models_family_find(mcf->families, id), {}, {}, {}, out);
    out->allow_url_sources = false;
    return 0;
}

int
bd_models_entry_index(const bd_snapshot_t *snap, const char *name)
{
    const bd_models_conf_t *mcf =
        (const bd_models_conf_t *) bd_snapshot_conf(snap, &bd_models_module);
    auto it = mcf->by_name.find(std::string_view(name));
    return it != mcf->by_name.end() ? (int) it->second : -1;
}

const std::vector<bd_model_entry_t> &
bd_models_entries(const bd_snapshot_t *snap)
{
    const bd_models_conf_t *mcf =
        (const bd_models_conf_t *) bd_snapshot_conf(snap, &bd_models_module);
    return mcf->entries;
}

bool
bd_models_passthrough(const bd_snapshot_t *snap)
{
    return ((const bd_models_conf_t *) bd_snapshot_conf(snap, &bd_models_module))->passthrough;
}

/* The merged model table follows the snapshot the workers run on. */
static int
bd_models_init_worker(bd_worker_t *w)
{
    bd_models_table_follow(w->snap);
    return BD_OK;
}

static void
bd_models_adopt_worker(bd_worker_t *w, const bd_snapshot_t *)
{
    bd_models_table_follow(w->snap);
}

static void
bd_models_exit_process(bd_process_t *)
{
    bd_models_table_close();
}

bd_module_t bd_models_module = {
    .name = "models",
    .index = 0,
    .directives = bd_models_directives,
    .create_conf = bd_models_create_conf,
    .init_conf = bd_models_init_conf,
    .postconfig = nullptr,
    .destroy_conf = bd_models_destroy_conf,
    .init_process = nullptr,
    .exit_process = bd_models_exit_process,
    .init_worker = bd_models_init_worker,
    .exit_worker = nullptr,
    .access = nullptr,
    .log = nullptr,
    .ready = nullptr,
    .ready_json = nullptr,
    .metrics = nullptr,
    .adopt_worker = bd_models_adopt_worker,
};
