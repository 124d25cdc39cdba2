/*
 * bd_emu_models.cc: the control plane of bedrock-emulator: a small built-in catalogue of
 * foundation models and inference profiles (system-defined us./eu./global. profiles for
 * the Claude models, plus one application profile), served by ListFoundationModels,
 * GetFoundationModel, ListInferenceProfiles (paginated) and GetInferenceProfile.
 * The catalogue is constant data; any thread.
 */
#include "tests/emulator/bd_emu.h"

#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#define BD_EMU_ACCOUNT "123456789012"
#define BD_EMU_APP_PROFILE "emusonnet45ab"

struct bd_emu_model_t {
    const char *id;
    const char *name;
    const char *provider;
    const char *input;  /* modalities, comma-separated */
    const char *output;
    bool streaming;
    const char *inference; /* inference types, comma-separated */
    bool profiles;         /* has us./eu./global. system profiles */
};

static const bd_emu_model_t bd_emu_models[] = {
    {"anthropic.claude-sonnet-4-5-20250929-v1:0", "Claude Sonnet 4.5", "Anthropic", "TEXT,IMAGE",
     "TEXT", true, "INFERENCE_PROFILE", true},
    {"anthropic.claude-haiku-4-5-20251001-v1:0", "Claude Haiku 4.5", "Anthropic", "TEXT,IMAGE",
     "TEXT", true, "INFERENCE_PROFILE", true},
    {"anthropic.claude-opus-4-1-20250805-v1:0", "Claude Opus 4.1", "Anthropic", "TEXT,IMAGE",
     "TEXT", true, "INFERENCE_PROFILE", true},
    {"anthropic.claude-3-haiku-20240307-v1:0", "Claude 3 Haiku", "Anthropic", "TEXT,IMAGE",
     "TEXT", true, "ON_DEMAND", false},
    {"amazon.nova-pro-v1:0", "Nova Pro", "Amazon", "TEXT,IMAGE,VIDEO", "TEXT", true,
     "ON_DEMAND,INFERENCE_PROFILE", false},
    {"amazon.nova-lite-v1:0", "Nova Lite", "Amazon", "TEXT,IMAGE,VIDEO", "TEXT", true,
     "ON_DEMAND,INFERENCE_PROFILE", false},
    {"meta.llama3-1-8b-instruct-v1:0", "Llama 3.1 8B Instruct", "Meta", "TEXT", "TEXT", true,
     "ON_DEMAND", false},
    {"amazon.titan-embed-text-v2:0", "Titan Text Embeddings V2", "Amazon", "TEXT", "EMBEDDING",
     false, "ON_DEMAND", false},
    {"cohere.embed-english-v3", "Embed English", "Cohere", "TEXT", "EMBEDDING", false,
     "ON_DEMAND", false},
};

static const struct {
    const char *prefix;
    const char *label;
    const char *regions; /* regions a profile routes to; "" for global */
} bd_emu_geos[] = {
    {"us", "US", "us-east-1,us-east-2,us-west-2"},
    {"eu", "EU", "eu-central-1,eu-west-1,eu-west-3"},
    {"global", "Global", ""},
};

static json_t *
bd_emu_csv(const char *csv)
{
    json_t *arr = json_array();
    const char *p = csv;
    while (*p != '\0') {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        json_array_append_new(arr, json_stringn(p, len));
        p += len + (comma ? 1 : 0);
    }
    return arr;
}

static bool
bd_emu_csv_has(const char *csv, const std::string &value)
{
    json_t *arr = bd_emu_csv(csv);
    bool found = false;
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        found = found || strcasecmp(json_string_value(v), value.c_str()) == 0;
    }
    json_decref(arr);
    return found;
}

static json_t *
bd_emu_model_json(const bd_emu_options_t *opts, const bd_emu_model_t *m)
{
    std::string arn = "arn:aws:bedrock:" + opts->region + "::foundation-model/" + m->id;
    return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:b, s:[], s:o, s:{s:s}}", "modelArn",
                     arn.c_str(), "modelId", m->id, "modelName", m->name, "providerName",
                     m->provider, "inputModalities", bd_emu_csv(m->input), "outputModalities",
                     bd_emu_csv(m->output), "responseStreamingSupported", m->streaming,
                     "customizationsSupported", "inferenceTypesSupported",
                     bd_emu_csv(m->inference), "modelLifecycle", "status", "ACTIVE");
}

/* The decoded value of query parameter <name>; false when absent. */
static bool
bd_emu_query_get(const char *query, const char *name, std::string *out)
{
    size_t n = strlen(name);
    const char *p = query;
    while (p != nullptr && *p != '\0') {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len > n && strncmp(p, name, n) == 0 && p[n] == '=') {
            *out = bd_emu_pct_decode(p + n + 1, len - n - 1);
            return true;
        }
        p = amp ? amp + 1 : nullptr;
    }
    return false;
}

void
bd_emu_models_list(bd_emu_loop_t *lp, bd_emu_xchg_t *x, const char *query)
{
    std::string provider, output, inference, customization;
    bool by_provider = bd_emu_query_get(query, "byProvider", &provider);
    bool by_output = bd_emu_query_get(query, "byOutputModality", &output);
    bool by_inference = bd_emu_query_get(query, "byInferenceType", &inference);
    bool by_custom = bd_emu_query_get(query, "byCustomizationType", &customization);
    json_t *list = json_array();
    for (const bd_emu_model_t &m : bd_emu_models) {
        if ((by_provider && strcasecmp(m.provider, provider.c_str()) != 0) ||
            (by_output && !bd_emu_csv_has(m.output, output)) ||
            (by_inference && !bd_emu_csv_has(m.inference, inference)) || by_custom) {
            continue;
        }
        json_array_append_new(list, bd_emu_model_json(lp->opts, &m));
    }
    bd_emu_send_json(x, json_pack("{s:o}", "modelSummaries", list));
}

void
bd_emu_models_get(bd_emu_loop_t *lp, bd_emu_xchg_t *x, const char *id)
{
    const char *slash = strrchr(id, '/');
    const char *bare = slash ? slash + 1 : id;
    for (const bd_emu_model_t &m : bd_emu_models) {
        if (strcmp(m.id, bare) == 0) {
            bd_emu_send_json(x, json_pack("{s:o}", "modelDetails",
                                            bd_emu_model_json(lp->opts, &m)));
            return;
        }
    }
    bd_emu_send_error(x, 404, "ResourceNotFoundException",
                      (std::string("Could not find model with identifier ") + id).c_str(),
                      nullptr);
}

static json_t *
bd_emu_profile_json(const bd_emu_options_t *opts, const bd_emu_model_t *m, int geo)
{
    std::string fm_tail = std::string("::foundation-model/") + m->id;
    json_t *models = json_array();
    const char *type = "SYSTEM_DEFINED";
    std::string id, name, arn;
    if (geo < 0) {
        type = "APPLICATION";
        id = BD_EMU_APP_PROFILE;
        name = std::string("emulator ") + m->name;
        arn = "arn:aws:bedrock:" + opts->region + ":" BD_EMU_ACCOUNT
              ":application-inference-profile/" + id;
        json_array_append_new(models, json_pack("{s:s}", "modelArn",
                                                ("arn:aws:bedrock:" + opts->region + fm_tail)
                                                    .c_str()));
    } else {
        id = std::string(bd_emu_geos[geo].prefix) + "." + m->id;
        name = std::string(bd_emu_geos[geo].label) + " Anthropic " + m->name;
        arn = "arn:aws:bedrock:" + opts->region + ":" BD_EMU_ACCOUNT ":inference-profile/" + id;
        json_t *regions = bd_emu_csv(bd_emu_geos[geo].regions);
        size_t i;
        json_t *r;
        json_array_foreach(regions, i, r) {
            std::string fm = std::string("arn:aws:bedrock:") + json_string_value(r) + fm_tail;
            json_array_append_new(models, json_pack("{s:s}", "modelArn", fm.c_str()));
        }
        if (json_array_size(regions) == 0) {
            json_array_append_new(models, json_pack("{s:s}", "modelArn",
                                                    ("arn:aws:bedrock:" + fm_tail).c_str()));
        }
        json_decref(regions);
    }
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:s}", "inferenceProfileName",
                     name.c_str(), "description", ("Routes requests to " + std::string(m->name))
                                                      .c_str(),
                     "createdAt", "2025-01-01T00:00:00Z", "updatedAt", "2025-01-01T00:00:00Z",
                     "inferenceProfileArn", arn.c_str(), "models", models,
                     "inferenceProfileId", id.c_str(), "status", "ACTIVE", "type", type);
}

/* Every profile in catalogue order; the application profile comes last. */
static json_t *
bd_emu_profiles_all(const bd_emu_options_t *opts)
{
    json_t *all = json_array();
    for (const bd_emu_model_t &m : bd_emu_models) {
        if (!m.profiles) {
            continue;
        }
        for (int g = 0; g < (int)(sizeof(bd_emu_geos) / sizeof(bd_emu_geos[0])); g++) {
            json_array_append_new(all, bd_emu_profile_json(opts, &m, g));
        }
    }
    json_array_append_new(all, bd_emu_profile_json(opts, &bd_emu_models[0], -1));
    return all;
}

static std::string
bd_emu_page_token(size_t offset)
{
    std::string raw = "emulator-offset:" + std::to_string(offset);
    std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock((unsigned char *)&out[0], (const unsigned char *)raw.data(),
                            (int)raw.size());
    out.resize(n);
    return out;
}

/* Decodes a nextToken back to an offset; -1 when it is not one of ours. */
static long
bd_emu_page_offset(const std::string &token)
{
    for (size_t off = 0; off <= 1000; off++) {
        if (bd_emu_page_token(off) == token) {
            return (long)off;
        }
    }
    return -1;
}

void
bd_emu_profiles_list(bd_emu_loop_t *lp, bd_emu_xchg_t *x, const char *query)
{
    std::string v;
    long max = 1000;
    if (bd_emu_query_get(query, "maxResults", &v)) {
        max = strtol(v.c_str(), nullptr, 10);
        if (max < 1 || max > 1000) {
            std::string msg = "1 validation error detected: Value '" + v +
                              "' at 'maxResults' failed to satisfy constraint: Member must have "
                              "value " + (max < 1 ? "greater than or equal to 1"
                                                  : "less than or equal to 1000");
            bd_emu_send_error(x, 400, "ValidationException", msg.c_str(), nullptr);
            return;
        }
    }
    long offset = 0;
    if (bd_emu_query_get(query, "nextToken", &v) && (offset = bd_emu_page_offset(v)) < 0) {
        bd_emu_send_error(x, 400, "ValidationException", "Invalid pagination token", nullptr);
        return;
    }
    std::string type;
    bool by_type = bd_emu_query_get(query, "type", &type);
    json_t *all = bd_emu_profiles_all(lp->opts);
    json_t *page = json_array();
    size_t i;
    json_t *p;
    long seen = 0;
    json_t *out = json_object();
    json_array_foreach(all, i, p) {
        if (by_type && type != json_string_value(json_object_get(p, "type"))) {
            continue;
        }
        if (seen++ < offset) {
            continue;
        }
        if ((long)json_array_size(page) == max) {
            json_object_set_new(out, "nextToken",
                                json_string(bd_emu_page_token(offset + max).c_str()));
            break;
        }
        json_array_append(page, p);
    }
    json_decref(all);
    json_object_set_new(out, "inferenceProfileSummaries", page);
    bd_emu_send_json(x, out);
}

void
bd_emu_profiles_get(bd_emu_loop_t *lp, bd_emu_xchg_t *x, const char *id)
{
    json_t *all = bd_emu_profiles_all(lp->opts);
    size_t i;
    json_t *p;
    json_array_foreach(all, i, p) {
        if (strcmp(json_string_value(json_object_get(p, "inferenceProfileId")), id) == 0 ||
            strcmp(json_string_value(json_object_get(p, "inferenceProfileArn")), id) == 0) {
            json_incref(p);
            json_decref(all);
            bd_emu_send_json(x, p);
            return;
        }
    }
    json_decref(all);
    bd_emu_send_error(x, 404, "ResourceNotFoundException",
                      "Inference profile not found: the identifier is not valid.", nullptr);
}

std::string
bd_emu_model_name(const char *model_id)
{
    const char *slash = strrchr(model_id, '/');
    std::string id = slash ? slash + 1 : model_id;
    if (id == BD_EMU_APP_PROFILE) {
        id = bd_emu_models[0].id;
    }
    size_t dot = id.find("anthropic.");
    if (dot != std::string::npos) {
        id.erase(0, dot + 10);
    }
    size_t v = id.rfind("-v");
    if (v != std::string::npos && id.find(':', v) != std::string::npos) {
        id.erase(v);
    }
    return id;
}
