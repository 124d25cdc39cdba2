/*
 * bd_models_known.cc: the table of Bedrock model families (see bd_models_known.h).
 * When Bedrock adds a family, this is the file to change.
 */
#include "modules/models/bd_models_known.h"

#include <string.h>

static const char *const bd_models_regions[] = {"us.", "us-gov.", "eu.", "apac.", "global.",
                                                "jp.", "au.",     "ca.", nullptr};

static const char *const bd_models_providers[] = {
    "anthropic.", "amazon.",  "meta.",     "mistral.",   "cohere.", "ai21.",
    "deepseek.",  "qwen.",    "openai.",   "writer.",    "stability.", "twelvelabs.",
    "google.",    "minimax.", "moonshot.", "moonshotai.", "nvidia.", "luma.",
    nullptr};

static const int64_t bd_dims_titan_v2[] = {256, 512, 1024, 0};
static const int64_t bd_dims_titan_v1[] = {1536, 0};
static const int64_t bd_dims_cohere_v4[] = {256, 512, 1024, 1536, 0};
static const int64_t bd_dims_cohere_v3[] = {1024, 0};
static const int64_t bd_dims_nova[] = {256, 384, 1024, 3072, 0};

enum { CLAUDE = BD_KNOWN_CLAUDE | BD_KNOWN_INVOKE };

/* First match wins: specific rows before general ones. */
static const bd_models_known_t bd_models_table[] = {
    /* Claude: the native body via InvokeModel keeps cache_control, citations and betas;
     * extended thinking by default where the model has it. */
    {"claude 3.7", {"anthropic.claude", "claude-3-7"}, CLAUDE | BD_KNOWN_THINKING, 0, nullptr,
     nullptr},
    {"claude sonnet 4", {"anthropic.claude", "sonnet-4"}, CLAUDE | BD_KNOWN_THINKING, 0, nullptr,
     nullptr},
    {"claude opus 4", {"anthropic.claude", "opus-4"}, CLAUDE | BD_KNOWN_THINKING, 0, nullptr,
     nullptr},
    {"claude haiku 4", {"anthropic.claude", "haiku-4"}, CLAUDE | BD_KNOWN_THINKING, 0, nullptr,
     nullptr},
    {"claude", {"anthropic.claude"}, CLAUDE, 0, nullptr, nullptr},

    /* Embeddings (/v1/embeddings). */
    {"titan embed text v2", {"titan-embed-text-v2"}, 0, BD_EMBED_TITAN_V2, bd_dims_titan_v2,
     "256, 512 or 1024"},
    {"titan embed text v1", {"titan-embed-text-v1"}, 0, BD_EMBED_TITAN_V1, bd_dims_titan_v1,
     "1536 (Titan G1 has a fixed size)"},
    {"titan embed g1", {"titan-embed-g1-text"}, 0, BD_EMBED_TITAN_V1, bd_dims_titan_v1,
     "1536 (Titan G1 has a fixed size)"},
    {"cohere embed v4", {"cohere.embed", "embed-v4"}, BD_KNOWN_EMBED_TYPES, BD_EMBED_COHERE,
     bd_dims_cohere_v4, "256, 512, 1024 or 1536"},
    {"cohere embed v3", {"cohere.embed"}, 0, BD_EMBED_COHERE, bd_dims_cohere_v3,
     "1024 (Cohere v3 has a fixed size)"},
    {"nova embed", {"amazon.nova", "embed"}, 0, BD_EMBED_NOVA, bd_dims_nova,
     "256, 384, 1024 or 3072"},

    /* Everything else: Converse, no thinking by default. */
    {"other", {nullptr}, 0, 0, nullptr, nullptr},
};

const bd_models_known_t *
bd_models_known(const char *bedrock_id)
{
    const bd_models_known_t *k = bd_models_table;
    for (; k->has[0] != nullptr; k++) {
        bool all = true;
        for (int i = 0; i < 3 && k->has[i] != nullptr && all; i++) {
            all = strstr(bedrock_id, k->has[i]) != nullptr;
        }
        if (all) {
            return k;
        }
    }
    return k; /* "other" */
}

static size_t
bd_models_prefix_in(const char *s, const char *const *list)
{
    for (int i = 0; list[i] != nullptr; i++) {
        size_t n = strlen(list[i]);
        if (strncmp(s, list[i], n) == 0) {
            return n;
        }
    }
    return 0;
}

size_t
bd_models_region_prefix(const char *id)
{
    return bd_models_prefix_in(id, bd_models_regions);
}

size_t
bd_models_provider_prefix(const char *s)
{
    return bd_models_prefix_in(s, bd_models_providers);
}
