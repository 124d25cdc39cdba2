/*
 * bd_emu_validate.cc: checks a Claude request the way Bedrock does before the model sees
 * it: the native body's top-level keys (a key outside the schema is "extraneous"), the
 * anthropic_beta flags Bedrock knows, and the members that exist only under a beta
 * (context_management, output_config, tools[].defer_loading) or not at all (a "system"
 * turn inside messages). Converse's additionalModelRequestFields get the beta checks.
 * Loop thread; pure.
 */
#include "tests/emulator/bd_emu.h"

#include <string.h>

/* The anthropic_beta values Bedrock documents for Claude models. */
static const char *const bd_emu_known_betas[] = {
    "computer-use-2024-10-22",        "computer-use-2025-01-24",
    "computer-use-2025-11-24",        "token-efficient-tools-2025-02-19",
    "output-128k-2025-02-19",         "interleaved-thinking-2025-05-14",
    "dev-full-thinking-2025-05-14",   "fine-grained-tool-streaming-2025-05-14",
    "context-1m-2025-08-07",          "context-management-2025-06-27",
    "tool-search-tool-2025-10-19",    "tool-examples-2025-10-29",
    "effort-2025-11-24",
};

static const char *const bd_emu_native_keys[] = {
    "anthropic_version", "anthropic_beta", "max_tokens",  "messages",    "system",
    "tools",             "tool_choice",    "temperature", "top_p",       "top_k",
    "stop_sequences",    "thinking",       "output_config", "context_management", "metadata",
};

static bool
bd_emu_beta_on(json_t *betas, const char *beta)
{
    size_t i;
    json_t *b;
    json_array_foreach(betas, i, b) {
        if (json_is_string(b) && strcmp(json_string_value(b), beta) == 0) {
            return true;
        }
    }
    return false;
}

static std::string
bd_emu_extraneous(const char *key)
{
    return std::string("Malformed input request: #: extraneous key [") + key +
           "] is not permitted, please reformat your input and try again.";
}

/* anthropic_beta and the members gated by it, shared by both APIs. */
static int
bd_emu_validate_betas(json_t *o, std::string *err)
{
    json_t *betas = json_object_get(o, "anthropic_beta");
    size_t i;
    json_t *b;
    if (betas && !json_is_array(betas)) {
        *err = "Malformed input request: #/anthropic_beta: expected type: JSONArray, found: " +
               std::string(json_is_string(betas) ? "String" : "other") +
               ", please reformat your input and try again.";
        return -1;
    }
    json_array_foreach(betas, i, b) {
        bool known = false;
        for (const char *k : bd_emu_known_betas) {
            known = known || (json_is_string(b) && strcmp(json_string_value(b), k) == 0);
        }
        if (!known) {
            *err = "invalid beta flag";
            return -1;
        }
    }
    if (json_object_get(o, "context_management") &&
        !bd_emu_beta_on(betas, "context-management-2025-06-27")) {
        *err = bd_emu_extraneous("context_management");
        return -1;
    }
    return 0;
}

int
bd_emu_validate_native(json_t *body, std::string *err)
{
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v) {
        bool known = false;
        for (const char *k : bd_emu_native_keys) {
            known = known || strcmp(key, k) == 0;
        }
        if (!known) {
            *err = bd_emu_extraneous(key);
            return -1;
        }
    }
    if (bd_emu_validate_betas(body, err) != 0) {
        return -1;
    }
    json_t *betas = json_object_get(body, "anthropic_beta");
    if (json_object_get(body, "output_config") && !bd_emu_beta_on(betas, "effort-2025-11-24")) {
        *err = bd_emu_extraneous("output_config");
        return -1;
    }
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(body, "tools"), i, t) {
        if (json_object_get(t, "defer_loading") &&
            !bd_emu_beta_on(betas, "tool-search-tool-2025-10-19")) {
            *err = "The model returned the following errors: tools." + std::to_string(i) +
                   ".custom.defer_loading: Extra inputs are not permitted";
            return -1;
        }
    }
    json_t *m;
    json_array_foreach(json_object_get(body, "messages"), i, m) {
        const char *role = json_string_value(json_object_get(m, "role"));
        if (!role || (strcmp(role, "user") != 0 && strcmp(role, "assistant") != 0)) {
            *err = "The model returned the following errors: messages." + std::to_string(i) +
                   ".role: Input should be 'user' or 'assistant'";
            return -1;
        }
    }
    return 0;
}

int
bd_emu_validate_converse(json_t *body, std::string *err)
{
    json_t *add = json_object_get(body, "additionalModelRequestFields");
    if (!json_is_object(add)) {
        return 0;
    }
    return bd_emu_validate_betas(add, err);
}
