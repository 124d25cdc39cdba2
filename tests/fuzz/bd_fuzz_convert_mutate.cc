/*
 * bd_fuzz_convert_mutate.cc: a JSON-aware mutator for the converter target. Byte mutations
 * of a request almost never leave valid JSON, so most of the time this one edits the parsed
 * tree instead (swap a value, drop or add a member, copy a subtree, use an API word) and
 * prints it back. Single-threaded; libFuzzer and bd_fuzz_driver.cc call it the same way.
 */
#include <jansson.h>
#include <string.h>

#include <vector>

#include "tests/fuzz/bd_fuzz.h"

/* libFuzzer's byte-level mutator (bd_fuzz_driver.cc has one too). */
extern "C" size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

/* Words of both APIs: member names, type tags, roles, media types, sources. */
static const char *const bd_fuzz_words[] = {
    "type", "text", "image", "document", "tool_use", "tool_result", "thinking",
    "redacted_thinking", "source", "base64", "url", "media_type", "data", "content", "role",
    "user", "assistant", "system", "developer", "tool", "function", "messages", "max_tokens",
    "tools", "tool_choice", "auto", "any", "none", "required", "name", "input", "input_schema",
    "cache_control", "ephemeral", "ttl", "1h", "5m", "budget_tokens", "enabled", "disabled",
    "signature", "stop_sequences", "temperature", "top_p", "top_k", "metadata", "user_id",
    "stream", "image_url", "file", "input_audio", "tool_calls", "tool_call_id", "arguments",
    "reasoning_effort", "low", "high", "response_format", "json_schema", "json_object",
    "max_completion_tokens", "stream_options", "include_usage", "citations", "is_error", "id",
    "image/png", "image/jpeg", "application/pdf", "text/plain", "data:image/png;base64,iVBORw0K",
    "https://example.com/a.png", "file_id", "container", "mcp_servers", "output_config",
    "anthropic_beta", "parallel_tool_calls", "n", "stop", "seed", "logprobs", "refusal", "",
};

struct bd_fuzz_json_slot_t {
    json_t *parent; /* object or array holding the value */
    const char *key; /* for an object */
    size_t index;    /* for an array */
    json_t *value;
};

static uint64_t
bd_fuzz_json_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static size_t
bd_fuzz_json_below(uint64_t *rs, size_t n)
{
    return n == 0 ? 0 : (size_t) (bd_fuzz_json_rand(rs) % n);
}

static void
bd_fuzz_json_collect(json_t *j, std::vector<bd_fuzz_json_slot_t> *slots)
{
    if (json_is_object(j)) {
        const char *key;
        json_t *v;
        json_object_foreach(j, key, v) {
            slots->push_back({j, key, 0, v});
            bd_fuzz_json_collect(v, slots);
        }
    } else if (json_is_array(j)) {
        for (size_t i = 0; i < json_array_size(j); i++) {
            json_t *v = json_array_get(j, i);
            slots->push_back({j, NULL, i, v});
            bd_fuzz_json_collect(v, slots);
        }
    }
}

static const char *
bd_fuzz_json_word(uint64_t *rs)
{
    return bd_fuzz_words[bd_fuzz_json_below(rs, sizeof(bd_fuzz_words) / sizeof(char *))];
}

/* A new value: a scalar on an edge, an API word, an empty container or a typed block. */
static json_t *
bd_fuzz_json_value(uint64_t *rs)
{
    switch (bd_fuzz_json_below(rs, 12)) {
    case 0:
        return json_null();
    case 1:
        return json_boolean(bd_fuzz_json_rand(rs) & 1);
    case 2: {
        static const json_int_t ints[] = {0, 1, -1, 2, 1024, 1025, 4096, 200000, INT32_MAX,
                                          (json_int_t) INT32_MAX + 1, INT64_MAX, INT64_MIN};
        return json_integer(ints[bd_fuzz_json_below(rs, sizeof(ints) / sizeof(ints[0]))]);
    }
    case 3: {
        static const double reals[] = {0.0, -0.0, 0.5, 1.0, 1.5, -1e-300, 1e300, 2.0};
        return json_real(reals[bd_fuzz_json_below(rs, sizeof(reals) / sizeof(reals[0]))]);
    }
    case 4:
        return json_object();
    case 5:
        return json_array();
    case 6:
        return json_pack("{s:s,s:s}", "type", bd_fuzz_json_word(rs), bd_fuzz_json_word(rs),
                         bd_fuzz_json_word(rs));
    case 7:
        return json_pack("[{s:s}]", "type", bd_fuzz_json_word(rs));
    case 8:
        return json_string("\xf0\x9f\x98\x80 \xe2\x80\x8b");
    default:
        return json_string(bd_fuzz_json_word(rs));
    }
}

/* Puts <v> (a new reference) where <s> points. */
static void
bd_fuzz_json_replace(const bd_fuzz_json_slot_t &s, json_t *v)
{
    if (s.key != NULL) {
        json_object_set_new(s.parent, s.key, v);
    } else {
        json_array_set_new(s.parent, s.index, v);
    }
}

static void
bd_fuzz_json_edit(uint64_t *rs, json_t *root)
{
    std::vector<bd_fuzz_json_slot_t> slots;
    bd_fuzz_json_collect(root, &slots);
    if (slots.empty()) {
        if (json_is_object(root)) {
            json_object_set_new(root, bd_fuzz_json_word(rs), bd_fuzz_json_value(rs));
        } else if (json_is_array(root)) {
            json_array_append_new(root, bd_fuzz_json_value(rs));
        }
        return;
    }
    const bd_fuzz_json_slot_t s = slots[bd_fuzz_json_below(rs, slots.size())];
    const bd_fuzz_json_slot_t other = slots[bd_fuzz_json_below(rs, slots.size())];
    switch (bd_fuzz_json_below(rs, 6)) {
    case 0: /* a new value */
        bd_fuzz_json_replace(s, bd_fuzz_json_value(rs));
        break;
    case 1: /* a copy of another subtree (made before the slot changes) */
        bd_fuzz_json_replace(s, json_deep_copy(other.value));
        break;
    case 2: /* drop it */
        if (s.key != NULL) {
            json_object_del(s.parent, s.key);
        } else {
            json_array_remove(s.parent, s.index);
        }
        break;
    case 3: /* a new member or element next to it */
        if (s.key != NULL) {
            json_object_set_new(s.parent, bd_fuzz_json_word(rs), bd_fuzz_json_value(rs));
        } else {
            json_array_insert_new(s.parent, s.index, json_deep_copy(other.value));
        }
        break;
    case 4: /* the same value twice in an array */
        if (s.key == NULL) {
            json_array_append_new(s.parent, json_deep_copy(s.value));
        }
        break;
    default: /* an API word in place of a string */
        bd_fuzz_json_replace(s, json_string(bd_fuzz_json_word(rs)));
        break;
    }
}

extern "C" size_t
LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    uint64_t rs = seed;
    json_t *root = NULL;
    if (bd_fuzz_json_below(&rs, 8) != 0) {
        root = json_loadb((const char *) data, size, JSON_DECODE_ANY, NULL);
    }
    if (root == NULL) {
        return LLVMFuzzerMutate(data, size, max_size);
    }
    for (size_t n = 1 + bd_fuzz_json_below(&rs, 3); n > 0; n--) {
        bd_fuzz_json_edit(&rs, root);
    }
    char *text = json_dumps(root, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(root);
    size_t len = text != NULL ? strlen(text) : 0;
    if (text == NULL || len > max_size) {
        free(text);
        return LLVMFuzzerMutate(data, size, max_size);
    }
    memcpy(data, text, len);
    free(text);
    return len;
}
