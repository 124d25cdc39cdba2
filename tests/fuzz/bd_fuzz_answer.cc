/*
 * bd_fuzz_answer.cc: fuzz target for the answers written without a jansson tree. The
 * input is Bedrock's answer. The scanner (core/bd_json_scan) must accept exactly what
 * jansson accepts, short of jansson's range for integers and its one leniency (a raw
 * NUL byte between tokens). An InvokeModel answer that passes must come out as the same JSON with
 * only "model" renamed, and a Converse answer as the message the tree walk of the same
 * answer gives (blocks, texts, stop reason, usage).
 * Single-threaded; everything allocated is freed (LeakSanitizer checks it).
 */
#include <jansson.h>
#include <string.h>

#include <string>

#include "core/bd_json_scan.h"
#include "modules/convert/bd_convert.h"
#include "modules/convert/bd_convert_bedrock.h"
#include "tests/fuzz/bd_fuzz.h"

static bool
bd_fuzz_answer_scans(const char *p, size_t n)
{
    const char *end = p + n;
    const char *q = bd_json_scan_value(p, end);
    while (q != nullptr && q < end && strchr(" \t\r\n", *q) != nullptr && *q != '\0') {
        q++;
    }
    return q != nullptr && q == end;
}

static bool
bd_fuzz_answer_value_limit(const char *why)
{
    return strstr(why, "too big") || strstr(why, "overflow");
}

static void
bd_fuzz_answer_invoke(const char *p, size_t n, json_t *in)
{
    static const char model[] = "claude \"quoted\" \xc3\xa9";
    std::string out;
    bd_convert_usage_t usage;
    bd_convert_error_t err;
    int rc = bd_convert_invoke_answer(p, n, model, &out, &usage, &err);
    bool message = json_is_object(in) && json_is_array(json_object_get(in, "content"));
    BD_FUZZ_CHECK((rc == 0) == message, "an InvokeModel answer judged unlike jansson");
    if (rc != 0) {
        BD_FUZZ_CHECK(err.status == 502, "a bad InvokeModel answer without status 502");
        return;
    }
    json_error_t jerr;
    json_t *got = json_loadb(out.data(), out.size(), 0, &jerr);
    BD_FUZZ_CHECK(got != nullptr, "a passed-through InvokeModel answer is not JSON");
    json_t *want = json_deep_copy(in);
    json_object_set_new(want, "model", json_string(model));
    BD_FUZZ_CHECK(json_equal(got, want), "a passed-through InvokeModel answer changed");
    json_t *u = json_object_get(in, "usage");
    json_t *it = json_object_get(u, "input_tokens");
    if (json_is_integer(it)) {
        BD_FUZZ_CHECK(usage.input_tokens == json_integer_value(it), "input_tokens misread");
    }
    json_decref(want);
    json_decref(got);
}

/* The scan's message against the tree walk of the same answer (bd_convert_bedrock). */
static void
bd_fuzz_answer_converse(const char *p, size_t n, json_t *in)
{
    std::string out;
    bd_convert_usage_t usage;
    bd_convert_error_t err, werr;
    bd_bedrock_response_t walked;
    int rc = bd_convert_converse_answer(p, n, "msg_01", "nova \"pro\"", &out, &usage, &err);
    int wrc = bd_convert_converse_walk(in, &walked, &werr);
    BD_FUZZ_CHECK(rc == wrc, "a Converse answer judged unlike the tree walk");
    if (rc != 0) {
        BD_FUZZ_CHECK(err.status == 502, "a bad Converse answer without status 502");
        return;
    }
    json_error_t jerr;
    json_t *got = json_loadb(out.data(), out.size(), 0, &jerr);
    BD_FUZZ_CHECK(json_is_object(got), "a written Converse answer is not a JSON object");
    json_t *content = json_object_get(got, "content");
    size_t blocks = 0;
    for (const bd_bedrock_block_t &b : walked.blocks) {
        bool text = b.kind == BD_BLOCK_TEXT;
        blocks += (text && !b.text.empty()) || (!text && b.kind != BD_BLOCK_OTHER);
    }
    const char *stop = bd_convert_stop_anthropic(walked.stop);
    size_t want = blocks == 0 && strcmp(stop, "end_turn") == 0 ? 1 : blocks;
    BD_FUZZ_CHECK(json_array_size(content) == want, "a Converse answer lost or gained blocks");
    BD_FUZZ_CHECK(strcmp(json_string_value(json_object_get(got, "stop_reason")), stop) == 0,
                  "a Converse answer with another stop reason");
    BD_FUZZ_CHECK(usage.input_tokens == walked.usage.input_tokens &&
                      usage.output_tokens == walked.usage.output_tokens &&
                      usage.cache_read_tokens == walked.usage.cache_read_tokens &&
                      usage.cache_write_tokens == walked.usage.cache_write_tokens,
                  "a Converse answer with other usage");
    size_t i;
    json_t *block;
    json_array_foreach(content, i, block) {
        if (i < walked.blocks.size() && walked.blocks[i].kind == BD_BLOCK_TEXT &&
            blocks == walked.blocks.size()) {
            const char *t = json_string_value(json_object_get(block, "text"));
            BD_FUZZ_CHECK(t != nullptr && walked.blocks[i].text == t, "a text block changed");
        }
    }
    json_decref(got);
}

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    json_error_t jerr;
    if (size > 0 && memchr(p, '\0', size) != nullptr) {
        return 0; /* jansson reads a raw NUL between tokens as whitespace; JSON does not */
    }
    json_t *in = json_loadb(p, size, JSON_DECODE_ANY, &jerr);
    bool scans = bd_fuzz_answer_scans(p, size);
    if (in == nullptr && bd_fuzz_answer_value_limit(jerr.text)) {
        return 0;
    }
    BD_FUZZ_CHECK(scans == (in != nullptr), "the scanner and jansson disagree");
    bd_fuzz_answer_invoke(p, size, in);
    if (in != nullptr) {
        bd_fuzz_answer_converse(p, size, in);
    }
    json_decref(in);
    return 0;
}
