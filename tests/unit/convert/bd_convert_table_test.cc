/*
 * bd_convert_table_test.cc: the mapping tables (Bedrock exceptions, stop reasons) and
 * the small renderers (error bodies, SSE ping and error events, JSON dump).
 * Single-threaded test code.
 */
#include <gtest/gtest.h>

#include <string>

#include "modules/convert/bd_convert.h"

namespace
{

struct exception_row {
    const char *name;
    int status;
    const char *type;
    int openai_status;
    const char *openai_type;
};

const exception_row exception_rows[] = {
    {"ValidationException", 400, "invalid_request_error", 400, "invalid_request_error"},
    {"AccessDeniedException", 403, "permission_error", 403, "permission_error"},
    {"ResourceNotFoundException", 404, "not_found_error", 404, "invalid_request_error"},
    {"ThrottlingException", 429, "rate_limit_error", 429, "rate_limit_error"},
    {"ServiceQuotaExceededException", 429, "rate_limit_error", 429, "rate_limit_error"},
    {"ModelNotReadyException", 529, "overloaded_error", 503, "server_error"},
    {"ServiceUnavailableException", 529, "overloaded_error", 503, "server_error"},
    {"InternalServerException", 500, "api_error", 500, "server_error"},
    {"ModelErrorException", 500, "api_error", 500, "server_error"},
    {"ModelStreamErrorException", 500, "api_error", 500, "server_error"},
    {"ModelTimeoutException", 504, "api_error", 504, "server_error"},
    {"ConflictException", 400, "invalid_request_error", 400, "invalid_request_error"},
    {"SomethingNewException", 500, "api_error", 500, "server_error"},
};

TEST(ConvertException, Table)
{
    for (const exception_row &r : exception_rows) {
        bd_convert_error_t e;
        bd_convert_bedrock_exception(r.name, "upstream words", &e);
        EXPECT_EQ(r.status, e.status) << r.name;
        EXPECT_STREQ(r.type, e.type) << r.name;
        EXPECT_EQ("upstream words", e.message) << r.name;
        bd_convert_bedrock_exception_openai(r.name, "upstream words", &e);
        EXPECT_EQ(r.openai_status, e.status) << r.name;
        EXPECT_STREQ(r.openai_type, e.type) << r.name;
    }
}

TEST(ConvertException, NameForms)
{
    EXPECT_EQ(BD_EXC_VALIDATION, bd_convert_bedrock_exception_parse(
                                     "ValidationException:http://internal.amazon.com/coral/"
                                     "com.amazon.bedrock/"));
    EXPECT_EQ(BD_EXC_VALIDATION, bd_convert_bedrock_exception_parse(
                                     "com.amazonaws.bedrockruntime#ValidationException"));
    EXPECT_EQ(BD_EXC_THROTTLING, bd_convert_bedrock_exception_parse("throttlingException"));
    EXPECT_EQ(BD_EXC_MODEL_STREAM_ERROR,
              bd_convert_bedrock_exception_parse("modelStreamErrorException"));
    EXPECT_EQ(BD_EXC_ACCESS_DENIED, bd_convert_bedrock_exception_parse("AccessDeniedException,x"));
    EXPECT_EQ(BD_EXC_UNKNOWN, bd_convert_bedrock_exception_parse("Validation"));
    EXPECT_EQ(BD_EXC_UNKNOWN, bd_convert_bedrock_exception_parse(""));
    EXPECT_EQ(BD_EXC_UNKNOWN, bd_convert_bedrock_exception_parse(nullptr));
}

TEST(ConvertException, KeepsPromptTooLongWording)
{
    bd_convert_error_t e;
    bd_convert_bedrock_exception("ValidationException",
                                 "prompt is too long: 210000 tokens > 200000 "
                                 "maximum",
                                 &e);
    EXPECT_EQ(400, e.status);
    EXPECT_EQ("prompt is too long: 210000 tokens > 200000 maximum", e.message);
}

TEST(ConvertException, MissingMessage)
{
    bd_convert_error_t e;
    bd_convert_bedrock_exception("ThrottlingException", nullptr, &e);
    EXPECT_EQ("Bedrock returned ThrottlingException", e.message);
    bd_convert_bedrock_exception("Weird", "", &e);
    EXPECT_EQ("Bedrock returned an unknown error", e.message);
}

TEST(ConvertException, ErrorBodyMessage)
{
    json_t *a = json_pack("{s:s}", "message", "lower");
    json_t *b = json_pack("{s:s}", "Message", "upper");
    json_t *c = json_object();
    EXPECT_STREQ("lower", bd_convert_bedrock_error_message(a));
    EXPECT_STREQ("upper", bd_convert_bedrock_error_message(b));
    EXPECT_EQ(nullptr, bd_convert_bedrock_error_message(c));
    json_decref(a);
    json_decref(b);
    json_decref(c);
}

TEST(ConvertStop, Table)
{
    struct {
        const char *bedrock, *anthropic, *openai;
    } rows[] = {
        {"end_turn", "end_turn", "stop"},
        {"tool_use", "tool_use", "tool_calls"},
        {"max_tokens", "max_tokens", "length"},
        {"stop_sequence", "stop_sequence", "stop"},
        {"guardrail_intervened", "refusal", "content_filter"},
        {"content_filtered", "refusal", "content_filter"},
        {"model_context_window_exceeded", "model_context_window_exceeded", "length"},
        {"malformed_model_output", "end_turn", "stop"},
        {"malformed_tool_use", "end_turn", "stop"},
        {"brand_new_reason", "end_turn", "stop"},
    };
    for (const auto &r : rows) {
        int s = bd_convert_bedrock_stop_parse(r.bedrock);
        EXPECT_STREQ(r.anthropic, bd_convert_stop_anthropic(s)) << r.bedrock;
        EXPECT_STREQ(r.openai, bd_convert_stop_openai(s)) << r.bedrock;
    }
}

TEST(ConvertRender, ErrorBody)
{
    std::string out;
    bd_convert_error_body("rate_limit_error", "Slow \"down\"", "req_123", &out);
    EXPECT_EQ("{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":"
              "\"Slow \\\"down\\\"\"},\"request_id\":\"req_123\"}",
              out);
    bd_convert_error_body("api_error", "x", nullptr, &out);
    EXPECT_EQ("{\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"x\"}}", out);
}

TEST(ConvertRender, SseHelpersAppend)
{
    std::string out = "before\n";
    bd_convert_sse_ping(&out);
    bd_convert_sse_error(&out, "overloaded_error", "Overloaded");
    EXPECT_EQ("before\nevent: ping\ndata: {\"type\":\"ping\"}\n\n"
              "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
              "\"message\":\"Overloaded\"}}\n\n",
              out);
}

TEST(ConvertRender, JsonDumpCompactAndShortReals)
{
    std::string out = "old";
    json_t *j = json_pack("{s:f,s:f,s:i,s:[s,n]}", "temperature", 0.7, "top_p", 1.0, "n", 3, "a",
                          "é/", "x");
    ASSERT_EQ(0, bd_convert_json_dump(j, &out));
    EXPECT_EQ("{\"temperature\":0.7,\"top_p\":1.0,\"n\":3,\"a\":[\"é/\",null]}", out);
    json_decref(j);
}

TEST(ConvertUsage, ParseRequiresCounts)
{
    bd_convert_usage_t u = {};
    u.input_tokens = 99;
    json_t *bad = json_pack("{s:i}", "inputTokens", 5);
    EXPECT_EQ(-1, bd_convert_bedrock_usage_parse(bad, &u));
    EXPECT_EQ(99, u.input_tokens);
    json_decref(bad);
}

TEST(ConvertStream, ExceptionFillsError)
{
    bd_convert_stream_t s;
    bd_convert_error_t e;
    std::string out;
    bd_convert_stream_init(&s, "msg_1", "m", 0);
    json_t *p = json_pack("{s:s}", "message", "busy");
    bd_convert_stream_exception(&s, "serviceUnavailableException", p, &out, &e);
    EXPECT_EQ(529, e.status);
    EXPECT_STREQ("overloaded_error", e.type);
    EXPECT_TRUE(s.failed);
    EXPECT_EQ(-1, bd_convert_stream_end(&s, &out));
    EXPECT_EQ("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
              "\"message\":\"busy\"}}\n\n",
              out);
    json_decref(p);
}

TEST(ConvertStream, InputEstimateInMessageStart)
{
    bd_convert_stream_t s;
    bd_convert_error_t e;
    std::string out;
    bd_convert_stream_init(&s, "msg_x", "claude-haiku-4-5", 321);
    json_t *p = json_pack("{s:s}", "role", "assistant");
    ASSERT_EQ(0, bd_convert_stream_feed(&s, "messageStart", p, &out, &e));
    EXPECT_EQ(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_x\","
        "\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-haiku-4-5\","
        "\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":"
        "{\"input_tokens\":321,\"output_tokens\":0}}}\n\n",
        out);
    /* a second messageStart must not start a second message */
    std::string first = out;
    ASSERT_EQ(0, bd_convert_stream_feed(&s, "messageStart", p, &out, &e));
    EXPECT_EQ(first, out);
    json_decref(p);
}

} // namespace
