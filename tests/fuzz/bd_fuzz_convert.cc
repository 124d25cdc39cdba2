/*
 * bd_fuzz_convert.cc: fuzz target for the request converters (modules/convert): the input,
 * parsed as JSON, goes through the Anthropic -> Converse, Anthropic -> InvokeModel,
 * count_tokens and OpenAI -> Converse conversions. Each either fails with a 400 and a
 * message, or gives a JSON object body that serialises (to the value jansson's own dump
 * gives); the request is never modified. First, the body read by the scan-built tree
 * (core/bd_json_tree) must be the tree jansson reads.
 * Single-threaded; everything allocated is freed (LeakSanitizer checks it).
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include <string>

#include "core/bd_json_scan.h"
#include "core/bd_json_tree.h"
#include "modules/convert/bd_convert.h"
#include "modules/convert/bd_convert_openai.h"
#include "tests/fuzz/bd_fuzz.h"

/* Two models that between them take every branch the model data controls. */
static void
bd_fuzz_convert_models(bd_convert_model_t *converse, bd_convert_model_t *invoke)
{
    converse->client_name = "claude-sonnet-4-5";
    converse->bedrock_id = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
    converse->route = BD_ROUTE_CONVERSE;
    converse->max_output_tokens = 8192;
    converse->temperature_top_p_exclusive = true;
    converse->supports_thinking = true;
    converse->allowed_betas = {"interleaved-thinking-2025-05-14", "context-1m-2025-08-07"};
    converse->renamed_betas = {{"token-efficient-tools-2025-02-19", "token-efficient-tools"}};
    converse->allow_url_sources = true;

    invoke->client_name = "claude-3-haiku";
    invoke->bedrock_id = "anthropic.claude-3-haiku-20240307-v1:0";
    invoke->route = BD_ROUTE_INVOKE;
    invoke->max_output_tokens = 0;
    invoke->temperature_top_p_exclusive = false;
    invoke->supports_thinking = false;
    invoke->allowed_betas = {"interleaved-thinking-2025-05-14"};
    invoke->allow_url_sources = false;
}

static const char bd_fuzz_convert_beta[] =
    "interleaved-thinking-2025-05-14, token-efficient-tools-2025-02-19,unknown-beta";

static void
bd_fuzz_convert_check_error(const bd_convert_error_t &err)
{
    BD_FUZZ_CHECK(err.status == 400, "a rejected request without status 400");
    BD_FUZZ_CHECK(err.type != NULL && *err.type != '\0', "a rejected request without a type");
    BD_FUZZ_CHECK(!err.message.empty(), "a rejected request without a message");
}

static void
bd_fuzz_convert_check_body(json_t *body)
{
    std::string out;
    BD_FUZZ_CHECK(json_is_object(body), "a converted body that is not an object");
    BD_FUZZ_CHECK(bd_convert_json_dump(body, &out) == 0, "a converted body does not serialise");
    /* The gateway's writer against jansson's own dump, read back: the same value. */
    char *theirs = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_t *a = json_loadb(out.data(), out.size(), 0, nullptr);
    json_t *b = json_loads(theirs, 0, nullptr);
    BD_FUZZ_CHECK(a != nullptr, "a written body does not parse");
    BD_FUZZ_CHECK(json_equal(a, b), "a written body differs from jansson's dump");
    json_decref(a);
    json_decref(b);
    free(theirs);
}

/* A converted request: check it, fill its URL sources as the fetcher would, free it. */
static void
bd_fuzz_convert_finish(int rc, bd_convert_request_t *out, const bd_convert_error_t &err)
{
    if (rc != 0) {
        BD_FUZZ_CHECK(rc == -1, "a converter returned neither 0 nor -1");
        bd_fuzz_convert_check_error(err);
        BD_FUZZ_CHECK(out->body == NULL, "a rejected request left a body");
        return;
    }
    bd_fuzz_convert_check_body(out->body);
    static const char *const types[] = {"image/png", "application/pdf", "text/html"};
    size_t i = 0;
    for (const bd_convert_url_source_t &u : out->url_sources) {
        bd_convert_error_t ferr;
        BD_FUZZ_CHECK(u.target != NULL, "a URL source without a target");
        bd_convert_url_source_fill(&u, types[i++ % 3], "iVBORw0KGgo=", &ferr);
    }
    bd_fuzz_convert_check_body(out->body);
    bd_convert_request_free(out);
}

static void
bd_fuzz_convert_anthropic(json_t *req, const bd_convert_model_t *m, bool invoke,
                          const char *beta)
{
    bd_convert_request_t out = bd_convert_request_t();
    bd_convert_error_t err = bd_convert_error_t();
    int rc = invoke ? bd_convert_anthropic_to_invoke(req, m, beta, &out, &err)
                    : bd_convert_anthropic_to_converse(req, m, beta, &out, &err);
    bd_fuzz_convert_finish(rc, &out, err);
}

static void
bd_fuzz_convert_count(json_t *req, const bd_convert_model_t *m)
{
    bd_convert_error_t err = bd_convert_error_t();
    json_t *body = bd_convert_count_tokens_request(req, m, bd_fuzz_convert_beta, &err);
    if (body == NULL) {
        bd_fuzz_convert_check_error(err);
        return;
    }
    bd_fuzz_convert_check_body(body);
    json_decref(body);
}

static void
bd_fuzz_convert_openai(json_t *req, const bd_convert_model_t *m)
{
    bd_convert_request_t out = bd_convert_request_t();
    bd_convert_openai_chat_t chat = bd_convert_openai_chat_t();
    bd_convert_error_t err = bd_convert_error_t();
    int rc = bd_convert_openai_to_converse(req, m, 4096, &out, &chat, &err);
    bd_fuzz_convert_finish(rc, &out, err);
}

/* The body as the scan-built tree reads it (bd_json_tree) against jansson's reader: the
 * same tree, key order included, or both refuse; the one leniency of jansson's (a raw
 * NUL between tokens) the scan refuses, and the gateway then asks jansson. */
static void
bd_fuzz_convert_tree(const char *p, size_t n)
{
    json_t *want = json_loadb(p, n, 0, NULL);
    json_t *got = bd_json_tree_load(p, n);
    if (got != NULL) {
        BD_FUZZ_CHECK(want != NULL, "the scan-built tree read a body jansson refuses");
        BD_FUZZ_CHECK(json_equal(want, got), "the scan-built tree differs from jansson's");
        char *a = json_dumps(want, JSON_COMPACT | JSON_REAL_PRECISION(17));
        char *b = json_dumps(got, JSON_COMPACT | JSON_REAL_PRECISION(17));
        BD_FUZZ_CHECK(a != NULL && b != NULL && strcmp(a, b) == 0,
                      "the scan-built tree has another key order than jansson's");
        free(a);
        free(b);
    } else if (want != NULL) {
        BD_FUZZ_CHECK(!bd_json_valid(p, n), "the scan-built tree refused a body jansson reads");
    }
    json_decref(want);
    json_decref(got);
}

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bd_fuzz_convert_tree((const char *) data, size);
    json_t *req = json_loadb((const char *) data, size, JSON_DECODE_ANY, NULL);
    if (req == NULL) {
        return 0;
    }
    /* The converters promise not to modify the request: compare before and after. */
    json_t *orig = json_deep_copy(req);
    BD_FUZZ_CHECK(orig != NULL, "json_deep_copy");

    bd_convert_model_t converse, invoke;
    bd_fuzz_convert_models(&converse, &invoke);

    bd_fuzz_convert_anthropic(req, &converse, false, bd_fuzz_convert_beta);
    bd_fuzz_convert_anthropic(req, &converse, false, NULL);
    bd_fuzz_convert_anthropic(req, &invoke, true, bd_fuzz_convert_beta);
    bd_fuzz_convert_anthropic(req, &converse, true, NULL);
    bd_fuzz_convert_count(req, &converse);
    bd_fuzz_convert_count(req, &invoke);
    bd_fuzz_convert_openai(req, &converse);
    bd_fuzz_convert_openai(req, &invoke);

    BD_FUZZ_CHECK(json_equal(req, orig), "a converter modified the request");
    json_decref(orig);
    json_decref(req);
    return 0;
}
