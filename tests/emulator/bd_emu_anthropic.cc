/*
 * bd_emu_anthropic.cc: renders a planned reply as the Anthropic-native InvokeModel answer
 * (a Messages API JSON object) or as InvokeModelWithResponseStream `chunk` events, each
 * carrying {"bytes": base64(one Anthropic streaming event)}; and answers embedding models
 * (Titan Text Embeddings v2, Cohere Embed) with deterministic vectors.
 * Pure; any thread.
 */
#include "tests/emulator/bd_emu.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#define BD_EMU_PAD "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"

static const char *
bd_emu_anthropic_stop(const char *converse_stop)
{
    /* The Converse and Anthropic spellings agree for every reason the planner makes. */
    return converse_stop;
}

static json_t *
bd_emu_anthropic_block(const bd_emu_block_t *b)
{
    switch (b->kind) {
    case BD_EMU_BLOCK_REASONING:
        return json_pack("{s:s, s:s%, s:s%}", "type", "thinking", "thinking", b->text.data(),
                         b->text.size(), "signature", b->signature.data(), b->signature.size());
    case BD_EMU_BLOCK_REDACTED:
        return json_pack("{s:s, s:s%}", "type", "redacted_thinking", "data", b->text.data(),
                         b->text.size());
    case BD_EMU_BLOCK_TOOL: {
        json_t *input = json_loadb(b->text.data(), b->text.size(), 0, nullptr);
        return json_pack("{s:s, s:s, s:s%, s:o}", "type", "tool_use", "id",
                         ("toolu_bdrk_01" + b->tool_id).c_str(), "name", b->tool_name.data(),
                         b->tool_name.size(), "input", input ? input : json_object());
    }
    default:
        return json_pack("{s:s, s:s%}", "type", "text", "text", b->text.data(), b->text.size());
    }
}

json_t *
bd_emu_anthropic_json(const bd_emu_reply_t *r, const char *model_id, const std::string &msg_id)
{
    json_t *content = json_array();
    for (const bd_emu_block_t &b : r->blocks) {
        json_array_append_new(content, bd_emu_anthropic_block(&b));
    }
    std::string model = bd_emu_model_name(model_id);
    return json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:o, s:{s:I, s:I, s:I, s:I}}", "id",
                     msg_id.c_str(), "type", "message", "role", "assistant", "model",
                     model.c_str(), "content", content, "stop_reason",
                     bd_emu_anthropic_stop(r->stop_reason), "stop_sequence",
                     r->stop_sequence.empty() ? json_null()
                                              : json_string(r->stop_sequence.c_str()),
                     "usage", "input_tokens", (json_int_t)r->input_tokens,
                     "cache_creation_input_tokens", (json_int_t)r->cache_write_tokens,
                     "cache_read_input_tokens", (json_int_t)r->cache_read_tokens,
                     "output_tokens", (json_int_t)r->output_tokens);
}

/* Wraps the Anthropic event in s->scratch into a chunk frame; <json> is a reused buffer. */
static void
bd_emu_chunk(bd_emu_stream_t *s, std::string *json, uint32_t delay_ms)
{
    json->swap(s->scratch);
    size_t b64_len = 4 * ((json->size() + 2) / 3);
    s->scratch.assign("{\"bytes\":\"");
    size_t at = s->scratch.size();
    s->scratch.resize(at + b64_len + 1);
    EVP_EncodeBlock((unsigned char *)&s->scratch[at], (const unsigned char *)json->data(),
                    (int)json->size());
    s->scratch.resize(at + b64_len);
    s->scratch += "\",\"p\":\"";
    /* Bedrock pads chunk payloads with a run of letters of varying length. */
    s->scratch.append(BD_EMU_PAD, 1 + s->steps.size() % (sizeof(BD_EMU_PAD) - 1));
    s->scratch += "\"}";
    bd_emu_stream_event(s, "chunk", delay_ms);
}

static void
bd_emu_block_start(bd_emu_stream_t *s, std::string *json, const bd_emu_block_t *b, size_t i)
{
    char head[96];
    snprintf(head, sizeof(head), "{\"type\":\"content_block_start\",\"index\":%zu,", i);
    s->scratch = head;
    s->scratch += "\"content_block\":";
    if (b->kind == BD_EMU_BLOCK_REASONING) {
        s->scratch += "{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}}";
    } else if (b->kind == BD_EMU_BLOCK_REDACTED) {
        s->scratch += "{\"type\":\"redacted_thinking\",\"data\":";
        bd_emu_json_quote(&s->scratch, b->text.data(), b->text.size());
        s->scratch += "}}";
    } else if (b->kind == BD_EMU_BLOCK_TOOL) {
        s->scratch += "{\"type\":\"tool_use\",\"id\":\"toolu_bdrk_01" + b->tool_id +
                      "\",\"name\":";
        bd_emu_json_quote(&s->scratch, b->tool_name.data(), b->tool_name.size());
        s->scratch += ",\"input\":{}}}";
    } else {
        s->scratch += "{\"type\":\"text\",\"text\":\"\"}}";
    }
    bd_emu_chunk(s, json, 0);
}

/* The deltas of one block. Returns true when a disruption ended the stream. */
static bool
bd_emu_block_deltas(bd_emu_stream_t *s, std::string *json, const bd_emu_reply_t *r,
                    const bd_emu_block_t *b, size_t i, bool *first)
{
    const char *kind = b->kind == BD_EMU_BLOCK_REASONING ? "\"thinking_delta\",\"thinking\":"
                       : b->kind == BD_EMU_BLOCK_TOOL     ? "\"input_json_delta\",\"partial_json\":"
                                                          : "\"text_delta\",\"text\":";
    char head[96];
    snprintf(head, sizeof(head), "{\"type\":\"content_block_delta\",\"index\":%zu,", i);
    if (b->kind == BD_EMU_BLOCK_REDACTED) {
        return bd_emu_stream_piece(s, r);
    }
    uint32_t from = 0;
    for (uint32_t to : b->cuts) {
        s->scratch = head;
        s->scratch += "\"delta\":{\"type\":";
        s->scratch += kind;
        bd_emu_json_quote(&s->scratch, b->text.data() + from, to - from);
        s->scratch += "}}";
        bd_emu_chunk(s, json, *first ? 0 : (uint32_t)r->piece_delay_ms);
        *first = false;
        from = to;
        if (bd_emu_stream_piece(s, r)) {
            return true;
        }
    }
    if (b->kind == BD_EMU_BLOCK_REASONING) {
        s->scratch = head;
        s->scratch += "\"delta\":{\"type\":\"signature_delta\",\"signature\":";
        bd_emu_json_quote(&s->scratch, b->signature.data(), b->signature.size());
        s->scratch += "}}";
        bd_emu_chunk(s, json, 0);
    }
    return false;
}

static void
bd_emu_anthropic_end(bd_emu_stream_t *s, std::string *json, const bd_emu_reply_t *r)
{
    s->scratch = "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"";
    s->scratch += bd_emu_anthropic_stop(r->stop_reason);
    s->scratch += "\",\"stop_sequence\":";
    if (r->stop_sequence.empty()) {
        s->scratch += "null";
    } else {
        bd_emu_json_quote(&s->scratch, r->stop_sequence.data(), r->stop_sequence.size());
    }
    char tail[320];
    snprintf(tail, sizeof(tail), "},\"usage\":{\"output_tokens\":%ld}}", r->output_tokens);
    s->scratch += tail;
    bd_emu_chunk(s, json, 0);

    int n = snprintf(tail, sizeof(tail),
                     "{\"type\":\"message_stop\",\"amazon-bedrock-invocationMetrics\":{"
                     "\"inputTokenCount\":%ld,\"outputTokenCount\":%ld,"
                     "\"invocationLatency\":%ld,\"firstByteLatency\":%ld",
                     r->input_tokens, r->output_tokens, r->latency_ms, r->ttft_ms);
    if (r->cache_read_tokens > 0 || r->cache_write_tokens > 0) {
        snprintf(tail + n, sizeof(tail) - n,
                 ",\"cacheReadInputTokenCount\":%ld,\"cacheWriteInputTokenCount\":%ld",
                 r->cache_read_tokens, r->cache_write_tokens);
    }
    s->scratch = tail;
    s->scratch += "}}";
    bd_emu_chunk(s, json, 0);
}

void
bd_emu_anthropic_stream(const bd_emu_reply_t *r, const char *model_id,
                        const std::string &msg_id, bd_emu_stream_t *s)
{
    std::string json;
    std::string model = bd_emu_model_name(model_id);
    char usage[200];
    snprintf(usage, sizeof(usage),
             "{\"input_tokens\":%ld,\"cache_creation_input_tokens\":%ld,"
             "\"cache_read_input_tokens\":%ld,\"output_tokens\":1}",
             r->input_tokens, r->cache_write_tokens, r->cache_read_tokens);
    s->scratch = "{\"type\":\"message_start\",\"message\":{\"id\":\"" + msg_id +
                 "\",\"type\":\"message\",\"role\":\"assistant\",\"model\":";
    bd_emu_json_quote(&s->scratch, model.data(), model.size());
    s->scratch += ",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":";
    s->scratch += usage;
    s->scratch += "}}";
    bd_emu_chunk(s, &json, (uint32_t)r->ttft_ms);
    bool first = true;
    for (size_t i = 0; i < r->blocks.size(); i++) {
        bd_emu_block_start(s, &json, &r->blocks[i], i);
        if (bd_emu_block_deltas(s, &json, r, &r->blocks[i], i, &first)) {
            return;
        }
        char stop[80];
        snprintf(stop, sizeof(stop), "{\"type\":\"content_block_stop\",\"index\":%zu}", i);
        s->scratch = stop;
        bd_emu_chunk(s, &json, 0);
    }
    bd_emu_anthropic_end(s, &json, r);
}

/* A unit vector of <dims> floats that depends only on <text>. */
static json_t *
bd_emu_vector(const char *text, size_t len, size_t dims)
{
    uint64_t x = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) {
        x = (x ^ (unsigned char)text[i]) * 1099511628211ULL;
    }
    std::vector<double> v(dims);
    double norm = 0;
    for (size_t i = 0; i < dims; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v[i] = (double)(x % 20001) / 10000.0 - 1.0;
        norm += v[i] * v[i];
    }
    norm = norm > 0 ? sqrt(norm) : 1;
    json_t *arr = json_array();
    for (size_t i = 0; i < dims; i++) {
        json_array_append_new(arr, json_real(floor(v[i] / norm * 1e6) / 1e6));
    }
    return arr;
}

static json_t *
bd_emu_embed_titan(json_t *body, std::string *err)
{
    json_t *text = json_object_get(body, "inputText");
    if (!json_is_string(text)) {
        *err = "Malformed input request: #: required key [inputText] not found, please "
               "reformat your input and try again.";
        return nullptr;
    }
    json_int_t dims = json_integer_value(json_object_get(body, "dimensions"));
    if (dims == 0) {
        dims = 1024;
    }
    if (dims != 256 && dims != 512 && dims != 1024) {
        *err = "Malformed input request: #/dimensions: " + std::to_string((long long)dims) +
               " is not a valid enum value, please reformat your input and try again.";
        return nullptr;
    }
    return json_pack("{s:o, s:I}", "embedding",
                     bd_emu_vector(json_string_value(text), json_string_length(text), dims),
                     "inputTextTokenCount",
                     (json_int_t)bd_emu_tokens_of(json_string_length(text)));
}

static json_t *
bd_emu_embed_cohere(json_t *body, std::string *err)
{
    json_t *texts = json_object_get(body, "texts");
    if (!json_is_array(texts) || !json_is_string(json_object_get(body, "input_type"))) {
        *err = "Malformed input request: #: required key [input_type] not found, please "
               "reformat your input and try again.";
        return nullptr;
    }
    json_t *vectors = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(texts, i, t) {
        json_array_append_new(vectors,
                              bd_emu_vector(json_string_value(t) ? json_string_value(t) : "",
                                            json_string_length(t), 1024));
    }
    return json_pack("{s:s, s:O, s:o, s:s}", "id", "emu-embed", "texts", texts, "embeddings",
                     vectors, "response_type", "embeddings_floats");
}

json_t *
bd_emu_embed_json(const char *model_id, json_t *body, std::string *err)
{
    if (strstr(model_id, "titan-embed") != nullptr) {
        return bd_emu_embed_titan(body, err);
    }
    if (strstr(model_id, "cohere.embed") != nullptr) {
        return bd_emu_embed_cohere(body, err);
    }
    return nullptr;
}
