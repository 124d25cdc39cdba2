/*
 * bd_convert_openai_embed.cc: OpenAI /embeddings <-> InvokeModel bodies of Bedrock's text
 * embedding families: Titan Text v2 and G1 (one text per call), Cohere Embed v3/v4 (up to
 * 96 texts per call) and Nova multimodal embeddings (one text per call). Vectors come back
 * in input order; base64 output is little-endian float32, which the official SDKs ask for
 * by default. Pure, any thread.
 */
#include <string.h>

#include "modules/convert/bd_convert_openai_int.h"

#define BD_CVO_EMBED_MAX_INPUTS 2048
#define BD_CVO_COHERE_BATCH 96

int
bd_convert_embed_family(const char *id)
{
    return id != nullptr ? bd_models_known(id)->embed : BD_EMBED_NONE;
}

static int
bd_cvo_embed_inputs(json_t *req, bd_convert_embed_t *out, bd_convert_error_t *err)
{
    json_t *in = json_object_get(req, "input");
    if (!in) {
        return bd_cv_bad(err, "input", "Field required");
    }
    if (json_is_string(in)) {
        out->inputs.push_back(json_string_value(in));
    } else if (json_is_array(in)) {
        size_t i;
        json_t *v;
        json_array_foreach(in, i, v) {
            if (!json_is_string(v)) {
                return bd_cv_bad(err, bd_cvo_index("input", i),
                                 "must be a string: token id arrays are not supported by "
                                 "Bedrock embedding models");
            }
            out->inputs.push_back(json_string_value(v));
        }
    } else {
        return bd_cv_bad(err, "input", "must be a string or an array of strings");
    }
    if (out->inputs.empty()) {
        return bd_cv_bad(err, "input", "must not be empty");
    }
    if (out->inputs.size() > BD_CVO_EMBED_MAX_INPUTS) {
        return bd_cv_bad(err, "input", "at most 2048 inputs per request");
    }
    for (size_t i = 0; i < out->inputs.size(); i++) {
        if (out->inputs[i].empty()) {
            return bd_cv_bad(err, bd_cvo_index("input", i), "must not be an empty string");
        }
    }
    return 0;
}

/* Checks <dimensions> against what the model's family takes (bd_models_known.h); 0
 * leaves the model's default. */
static int
bd_cvo_embed_dimensions(const char *id, int64_t d, bd_convert_error_t *err)
{
    const bd_models_known_t *k = bd_models_known(id);
    if (d == 0 || k->dimensions == nullptr) {
        return 0;
    }
    for (int i = 0; k->dimensions[i]; i++) {
        if (k->dimensions[i] == d) {
            return 0;
        }
    }
    return bd_cv_bad(err, "dimensions", std::string("must be ") + k->dimensions_text +
                                            " for this model");
}

static std::string
bd_cvo_dump_new(json_t *j)
{
    std::string s;
    bd_convert_json_dump(j, &s);
    json_decref(j);
    return s;
}

static void
bd_cvo_embed_bodies(bd_convert_embed_t *e, const char *id)
{
    if (e->family == BD_EMBED_COHERE) {
        bool v4 = (bd_models_known(id)->flags & BD_KNOWN_EMBED_TYPES) != 0;
        for (size_t i = 0; i < e->inputs.size(); i += BD_CVO_COHERE_BATCH) {
            json_t *texts = json_array();
            for (size_t j = i; j < e->inputs.size() && j < i + BD_CVO_COHERE_BATCH; j++) {
                json_array_append_new(texts, json_string(e->inputs[j].c_str()));
            }
            json_t *b = json_pack("{s:o,s:s,s:s}", "texts", texts, "input_type", "search_document",
                                  "truncate", "END");
            if (v4) {
                json_object_set_new(b, "embedding_types", json_pack("[s]", "float"));
            }
            if (v4 && e->dimensions) {
                bd_cv_set_int(b, "output_dimension", e->dimensions);
            }
            e->bodies.push_back(bd_cvo_dump_new(b));
            e->first_input.push_back(i);
        }
        return;
    }
    for (size_t i = 0; i < e->inputs.size(); i++) {
        const char *t = e->inputs[i].c_str();
        json_t *b;
        if (e->family == BD_EMBED_NOVA) {
            b = json_pack("{s:s,s:{s:s,s:I,s:{s:s,s:s}}}", "taskType", "SINGLE_EMBEDDING",
                          "singleEmbeddingParams", "embeddingPurpose", "GENERIC_INDEX",
                          "embeddingDimension", (json_int_t)(e->dimensions ? e->dimensions : 3072),
                          "text", "truncationMode", "END", "value", t);
        } else if (e->family == BD_EMBED_TITAN_V2) {
            b = json_pack("{s:s,s:b}", "inputText", t, "normalize", 1);
            if (e->dimensions) {
                bd_cv_set_int(b, "dimensions", e->dimensions);
            }
        } else {
            b = json_pack("{s:s}", "inputText", t);
        }
        e->bodies.push_back(bd_cvo_dump_new(b));
        e->first_input.push_back(i);
    }
}

int
bd_convert_openai_embed_request(json_t *req, const bd_convert_model_t *m, bd_convert_embed_t *out,
                                bd_convert_error_t *err)
{
    *out = bd_convert_embed_t();
    if (!json_is_object(req)) {
        return bd_cv_bad(err, "", "the request body must be a JSON object");
    }
    const char *id = m->bedrock_id.c_str();
    out->family = bd_convert_embed_family(id);
    if (out->family == BD_EMBED_NONE) {
        /* an application profile ARN says nothing: the client's name may */
        id = m->client_name.c_str();
        out->family = bd_convert_embed_family(id);
    }
    if (out->family == BD_EMBED_NONE) {
        return bd_cv_bad(err, "model",
                         "not an embedding model this gateway knows (Titan Text Embeddings, "
                         "Cohere Embed or Nova multimodal embeddings)");
    }
    const char *fmt = bd_cv_str(req, "encoding_format");
    json_t *fv = json_object_get(req, "encoding_format");
    if (fv && !json_is_null(fv) && (!fmt || (strcmp(fmt, "float") && strcmp(fmt, "base64")))) {
        return bd_cv_bad(err, "encoding_format", "must be \"float\" or \"base64\"");
    }
    out->base64 = fmt && strcmp(fmt, "base64") == 0;
    json_t *dv = json_object_get(req, "dimensions");
    if (dv && !json_is_null(dv) && (!json_is_integer(dv) || json_integer_value(dv) < 1)) {
        return bd_cv_bad(err, "dimensions", "must be a positive integer");
    }
    out->dimensions = dv ? json_integer_value(dv) : 0;
    if (bd_cvo_embed_inputs(req, out, err) != 0 ||
        bd_cvo_embed_dimensions(id, out->dimensions, err) != 0) {
        return -1;
    }
    const char *user = bd_cv_str(req, "user");
    out->user_id = user ? user : "";
    bd_cvo_embed_bodies(out, id);
    return 0;
}

static int
bd_cvo_vector(json_t *arr, std::vector<double> *v)
{
    if (!json_is_array(arr) || json_array_size(arr) == 0) {
        return -1;
    }
    v->clear();
    size_t i;
    json_t *x;
    json_array_foreach(arr, i, x) {
        if (!json_is_number(x)) {
            return -1;
        }
        v->push_back(json_number_value(x));
    }
    return 0;
}

static int64_t
bd_cvo_estimate(const std::string &s)
{
    return (int64_t)((s.size() + 3) / 4);
}

/* Cohere: {"embeddings":[[...]]} or, with embedding_types, {"embeddings":{"float":[...]}}. */
static int
bd_cvo_parse_cohere(const bd_convert_embed_t *e, size_t call, json_t *resp,
                    std::vector<std::vector<double>> *vectors, int64_t *tokens)
{
    json_t *emb = json_object_get(resp, "embeddings");
    if (json_is_object(emb)) {
        emb = json_object_get(emb, "float");
    }
    size_t first = e->first_input[call];
    size_t n = (call + 1 < e->first_input.size() ? e->first_input[call + 1] : e->inputs.size()) -
               first;
    if (json_array_size(emb) != n) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (bd_cvo_vector(json_array_get(emb, i), &(*vectors)[first + i]) != 0) {
            return -1;
        }
    }
    int64_t billed = 0;
    json_t *units = json_object_get(json_object_get(resp, "meta"), "billed_units");
    if (bd_cv_int(units, "input_tokens", &billed) == 0) {
        *tokens += billed;
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        *tokens += bd_cvo_estimate(e->inputs[first + i]); /* Cohere reports no count */
    }
    return 0;
}

int
bd_convert_openai_embed_parse(const bd_convert_embed_t *e, size_t call, json_t *resp,
                              std::vector<std::vector<double>> *vectors, int64_t *tokens,
                              bd_convert_error_t *err)
{
    if (call >= e->bodies.size() || vectors->size() != e->inputs.size()) {
        return bd_cv_upstream(err, "embedding answer out of range");
    }
    if (e->family == BD_EMBED_COHERE) {
        if (bd_cvo_parse_cohere(e, call, resp, vectors, tokens) != 0) {
            return bd_cv_upstream(err, "no embeddings in the Cohere answer");
        }
        return 0;
    }
    size_t at = e->first_input[call];
    json_t *arr = json_object_get(resp, "embedding");
    if (e->family == BD_EMBED_NOVA) {
        arr = json_object_get(json_array_get(json_object_get(resp, "embeddings"), 0), "embedding");
    }
    if (bd_cvo_vector(arr, &(*vectors)[at]) != 0) {
        return bd_cv_upstream(err, "no embedding in the answer");
    }
    int64_t n = 0;
    if (bd_cv_int(resp, "inputTextTokenCount", &n) == 0 ||
        bd_cv_int(resp, "inputTokenCount", &n) == 0) {
        *tokens += n;
    } else {
        *tokens += bd_cvo_estimate(e->inputs[at]);
    }
    return 0;
}

/* Little-endian float32 bytes, base64: what openai-node decodes by default. */
static json_t *
bd_cvo_base64_floats(const std::vector<double> &v)
{
    std::string bytes(v.size() * 4, '\0');
    for (size_t i = 0; i < v.size(); i++) {
        float f = (float)v[i];
        uint32_t u;
        memcpy(&u, &f, 4);
        for (int k = 0; k < 4; k++) {
            bytes[i * 4 + k] = (char)((u >> (8 * k)) & 0xff);
        }
    }
    std::string b64;
    bd_cv_base64_encode((const unsigned char *)bytes.data(), bytes.size(), &b64);
    return json_stringn(b64.data(), b64.size());
}

json_t *
bd_convert_openai_embed_response(const bd_convert_embed_t *e,
                                 const std::vector<std::vector<double>> &vectors,
                                 const char *client_model, int64_t prompt_tokens)
{
    json_t *data = json_array();
    for (size_t i = 0; i < vectors.size(); i++) {
        json_t *emb;
        if (e->base64) {
            emb = bd_cvo_base64_floats(vectors[i]);
        } else {
            emb = json_array();
            for (double x : vectors[i]) {
                json_array_append_new(emb, json_real(x));
            }
        }
        json_array_append_new(data, json_pack("{s:s,s:I,s:o}", "object", "embedding", "index",
                                              (json_int_t)i, "embedding", emb));
    }
    return json_pack("{s:s,s:o,s:s,s:{s:I,s:I}}", "object", "list", "data", data, "model",
                     client_model, "usage", "prompt_tokens", (json_int_t)prompt_tokens,
                     "total_tokens", (json_int_t)prompt_tokens);
}
