/*
 * bd_responses_convert_test.cc: /v1/responses bodies -> chat bodies (each request field
 * and input item kind, and each bad input as a 400 naming the field), and chat.completion
 * answers -> response objects. Single-threaded.
 */
#include <gtest/gtest.h>

#include <string>

#include "modules/convert/bd_convert_responses.h"

namespace
{

json_t *
parse(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    EXPECT_TRUE(j) << e.text << ": " << text;
    return j;
}

std::string
dump(json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    std::string out = s ? s : "null";
    free(s);
    return out;
}

/* Converts <body>; expects success and returns the chat body's dump. */
std::string
chat_of(const char *body, bd_convert_responses_req_t *keep = nullptr, json_t *previous = nullptr)
{
    json_t *req = parse(body);
    bd_convert_responses_req_t out;
    bd_convert_error_t err;
    int rc = bd_convert_responses_request(req, previous, &out, &err);
    json_decref(req);
    EXPECT_EQ(rc, 0) << err.message;
    if (rc != 0) {
        return "";
    }
    std::string s = dump(out.chat);
    if (keep) {
        *keep = out;
    } else {
        bd_convert_responses_req_free(&out);
    }
    return s;
}

/* Converts <body>; expects a 400 and returns its message. */
std::string
error_of(const char *body)
{
    json_t *req = parse(body);
    bd_convert_responses_req_t out;
    bd_convert_error_t err;
    int rc = bd_convert_responses_request(req, nullptr, &out, &err);
    json_decref(req);
    EXPECT_EQ(rc, -1);
    EXPECT_EQ(err.status, 400);
    EXPECT_STREQ(err.type, "invalid_request_error");
    return err.message;
}

TEST(ResponsesRequest, StringInputAndInstructions)
{
    EXPECT_EQ(chat_of(R"({"model":"m","input":"hi","instructions":"be brief"})"),
              R"({"messages":[{"content":"be brief","role":"system"},)"
              R"({"content":"hi","role":"user"}],"model":"m"})");
}

TEST(ResponsesRequest, MessageItemsWithParts)
{
    EXPECT_EQ(
        chat_of(R"({"model":"m","input":[
            {"role":"developer","content":"rules"},
            {"type":"message","role":"user","content":[
                {"type":"input_text","text":"look"},
                {"type":"input_image","image_url":"data:image/png;base64,AAAA","detail":"low"},
                {"type":"input_file","filename":"a.pdf","file_data":"data:application/pdf;base64,JVBE"}]},
            {"type":"message","role":"assistant","content":[{"type":"output_text","text":"seen"}]},
            {"role":"user","content":"more"}]})"),
        R"({"messages":[{"content":"rules","role":"developer"},{"content":[{"text":"look","type":"text"},)"
        R"({"image_url":{"detail":"low","url":"data:image/png;base64,AAAA"},"type":"image_url"},)"
        R"({"file":{"file_data":"data:application/pdf;base64,JVBE","filename":"a.pdf"},"type":"file"}],)"
        R"("role":"user"},{"content":"seen","role":"assistant"},{"content":"more","role":"user"}],"model":"m"})");
}

TEST(ResponsesRequest, FunctionCallsAndOutputs)
{
    EXPECT_EQ(
        chat_of(R"({"model":"m","input":[
            {"role":"user","content":"weather?"},
            {"type":"message","role":"assistant","content":[{"type":"output_text","text":"checking"}]},
            {"type":"function_call","call_id":"c1","name":"get","arguments":"{\"a\":1}"},
            {"type":"function_call","call_id":"c2","name":"get","arguments":"{}"},
            {"type":"function_call_output","call_id":"c1","output":"sunny"},
            {"type":"function_call_output","call_id":"c2","output":[{"type":"input_text","text":"rain"}]}]})"),
        R"({"messages":[{"content":"weather?","role":"user"},{"content":"checking","role":"assistant",)"
        R"("tool_calls":[{"function":{"arguments":"{\"a\":1}","name":"get"},"id":"c1","type":"function"},)"
        R"({"function":{"arguments":"{}","name":"get"},"id":"c2","type":"function"}]},)"
        R"({"content":"sunny","role":"tool","tool_call_id":"c1"},)"
        R"({"content":[{"text":"rain","type":"text"}],"role":"tool","tool_call_id":"c2"}],"model":"m"})");
}

TEST(ResponsesRequest, OnlyCallsGiveNullContent)
{
    std::string c = chat_of(R"({"model":"m","input":[{"role":"user","content":"x"},
        {"type":"function_call","call_id":"c1","name":"f","arguments":"{}"},
        {"type":"function_call_output","call_id":"c1","output":"ok"}]})");
    EXPECT_NE(c.find(R"({"content":null,"role":"assistant")"), std::string::npos) << c;
}

TEST(ResponsesRequest, ReasoningItemCarriesThinkingBack)
{
    /* base64 of [{"type":"thinking","thinking":"hm","signature":"sig"}] */
    std::string c = chat_of(R"({"model":"m","input":[{"role":"user","content":"x"},
        {"type":"reasoning","id":"rs_1","summary":[],
         "encrypted_content":"W3sidHlwZSI6InRoaW5raW5nIiwidGhpbmtpbmciOiJobSIsInNpZ25hdHVyZSI6InNpZyJ9XQ=="},
        {"type":"function_call","call_id":"c1","name":"f","arguments":"{}"},
        {"type":"function_call_output","call_id":"c1","output":"ok"},
        {"type":"reasoning","id":"rs_2","summary":[{"type":"summary_text","text":"other vendor"}],
         "encrypted_content":"not ours"}]})");
    EXPECT_NE(c.find(R"("thinking_blocks":[{"signature":"sig","thinking":"hm","type":"thinking"}])"),
              std::string::npos)
        << c;
    EXPECT_EQ(c.find("other vendor"), std::string::npos) << c;
}

TEST(ResponsesRequest, ToolsChoiceReasoningTextAndScalars)
{
    bd_convert_responses_req_t r;
    std::string c = chat_of(R"({"model":"m","input":"x","stream":true,"store":false,
        "tools":[{"type":"function","name":"get","description":"d","parameters":{"type":"object"},"strict":true},
                 {"type":"web_search_preview"},{"type":"file_search","vector_store_ids":["v"]}],
        "tool_choice":{"type":"function","name":"get"},"parallel_tool_calls":false,
        "reasoning":{"effort":"low","summary":"auto"},"max_output_tokens":2048,
        "temperature":0.5,"top_p":0.25,"user":"u1",
        "text":{"format":{"type":"json_schema","name":"out","schema":{"type":"object"},"strict":true}}})",
                            &r);
    EXPECT_EQ(c,
              R"({"max_completion_tokens":2048,"messages":[{"content":"x","role":"user"}],"model":"m",)"
              R"("parallel_tool_calls":false,"reasoning_effort":"low",)"
              R"("response_format":{"json_schema":{"name":"out","schema":{"type":"object"}},"type":"json_schema"},)"
              R"("stream":true,"stream_options":{"include_usage":true},"temperature":0.5,)"
              R"("tool_choice":{"function":{"name":"get"},"type":"function"},)"
              R"("tools":[{"function":{"description":"d","name":"get","parameters":{"type":"object"}},"type":"function"}],)"
              R"("top_p":0.25,"user":"u1"})");
    EXPECT_TRUE(r.stream);
    EXPECT_FALSE(r.store);
    ASSERT_EQ(r.dropped.size(), 2u);
    EXPECT_EQ(r.dropped[0], "web_search_preview");
    EXPECT_EQ(r.dropped[1], "file_search");
    EXPECT_EQ(json_array_size(json_object_get(r.echo, "tools")), 1u);
    EXPECT_STREQ(json_string_value(json_object_get(json_object_get(r.echo, "reasoning"), "effort")),
                 "low");
    bd_convert_responses_req_free(&r);
}

TEST(ResponsesRequest, OnlyHostedToolsSendNoToolsAndStoreDefaultsOn)
{
    bd_convert_responses_req_t r;
    EXPECT_EQ(chat_of(R"({"model":"m","input":"x","tools":[{"type":"web_search"}],"tool_choice":"auto"})",
                      &r),
              R"({"messages":[{"content":"x","role":"user"}],"model":"m"})");
    EXPECT_TRUE(r.store);
    EXPECT_FALSE(r.stream);
    bd_convert_responses_req_free(&r);
}

TEST(ResponsesRequest, JsonObjectFormatAndStringChoices)
{
    EXPECT_EQ(chat_of(R"({"model":"m","input":"x","text":{"format":{"type":"json_object"}},
        "tools":[{"type":"function","name":"f"}],"tool_choice":"required"})"),
              R"({"messages":[{"content":"x","role":"user"}],"model":"m",)"
              R"("response_format":{"type":"json_object"},"tool_choice":"required",)"
              R"("tools":[{"function":{"name":"f","parameters":{"properties":{},"type":"object"}},"type":"function"}]})");
}

TEST(ResponsesRequest, PreviousItemsComeFirst)
{
    json_t *prev = parse(R"([{"type":"message","role":"user","content":"one"},
        {"type":"message","id":"msg_1","role":"assistant","status":"completed",
         "content":[{"type":"output_text","text":"two","annotations":[]}]}])");
    bd_convert_responses_req_t r;
    EXPECT_EQ(chat_of(R"({"model":"m","input":"three","instructions":"sys"})", &r, prev),
              R"({"messages":[{"content":"sys","role":"system"},{"content":"one","role":"user"},)"
              R"({"content":"two","role":"assistant"},{"content":"three","role":"user"}],"model":"m"})");
    EXPECT_EQ(json_array_size(r.input), 3u); /* instructions are not carried over */
    EXPECT_EQ(json_array_size(prev), 2u);    /* not modified */
    bd_convert_responses_req_free(&r);
    json_decref(prev);
}

TEST(ResponsesRequest, KeptInputItemsAreTyped)
{
    bd_convert_responses_req_t r;
    chat_of(R"({"model":"m","input":[{"role":"user","content":"a"},
        {"type":"function_call_output","call_id":"c","output":"o"}]})",
            &r);
    EXPECT_EQ(dump(r.input), R"([{"content":"a","role":"user","type":"message"},)"
                             R"({"call_id":"c","output":"o","type":"function_call_output"}])");
    bd_convert_responses_req_free(&r);
}

TEST(ResponsesRequest, BadInputs)
{
    EXPECT_EQ(error_of(R"([1])"), "the request body must be a JSON object");
    EXPECT_EQ(error_of(R"({"model":"m"})"), "input: Field required");
    EXPECT_EQ(error_of(R"({"model":"m","input":5})"),
              "input: must be a string or an array of input items");
    EXPECT_EQ(error_of(R"({"model":"m","input":[]})"), "input: must hold at least one message");
    EXPECT_EQ(error_of(R"({"model":"m","input":[7]})"), "input.0: must be an object");
    EXPECT_EQ(error_of(R"({"model":"m","input":[{"content":"x"}]})"), "input.0.type: Field required");
    EXPECT_EQ(error_of(R"({"model":"m","input":[{"role":"tool","content":"x"}]})"),
              "input.0.role: must be \"user\", \"assistant\", \"system\" or \"developer\"");
    EXPECT_EQ(error_of(R"({"model":"m","input":[{"role":"user"}]})"), "input.0.content: Field required");
    EXPECT_EQ(error_of(R"({"model":"m","input":[{"role":"user","content":[{"type":"input_audio"}]}]})"),
              "input.0.content.0.type: \"input_audio\" is not supported (input_text, input_image, input_file)");
    EXPECT_EQ(error_of(R"({"model":"m","input":[{"role":"user","content":[{"type":"input_text"}]}]})"),
              "input.0.content.0.text: Field required");
    EXPECT_EQ(error_of(R"({"model":"m","input":[{"role":"user","content":[{"type":"input_image","file_id":"f"}]}]})"),
              "input.0.content.0.file_id: file ids are not supported (there is no Files API); send image_url");
    EXPECT_EQ(error_of(R"({"model":"m","input":[{"role":"user","content":[{"type":"input_file","file_url":"https://x"}]}]})"),
              "input.0.content.0.file_url: not supported (there is no Files API); send file_data");
    EXPECT_EQ(error_of(R"({"model":"m","input":[{"type":"function_call","name":"f","arguments":"{}"}]})"),
              "input.0.call_id: Field required");
    EXPECT_EQ(error_of(R"({"model":"m","input":[{"type":"function_call_output","call_id":"c"}]})"),
              "input.0.output: Field required");
    EXPECT_EQ(error_of(R"({"model":"m","input":[{"type":"item_reference","id":"x"}]})"),
              "input.0.type: item references are not supported; use previous_response_id");
    EXPECT_EQ(error_of(R"({"model":"m","input":[{"type":"computer_call"}]})"),
              "input.0.type: \"computer_call\" items are not supported");
    EXPECT_EQ(error_of(R"({"model":"m","input":"x","instructions":3})"), "instructions: must be a string");
    EXPECT_EQ(error_of(R"({"model":"m","input":"x","tools":{}})"), "tools: must be an array");
    EXPECT_EQ(error_of(R"({"model":"m","input":"x","tools":[{"type":"function"}]})"),
              "tools.0.name: Field required");
    EXPECT_EQ(error_of(R"({"model":"m","input":"x","tools":[{"type":"function","name":"f","parameters":[]}]})"),
              "tools.0.parameters: must be a JSON schema object");
    EXPECT_EQ(error_of(R"({"model":"m","input":"x","tools":[{"type":"function","name":"f"}],"tool_choice":"any"})"),
              "tool_choice: must be \"auto\", \"none\", \"required\" or a function choice");
    EXPECT_EQ(error_of(R"({"model":"m","input":"x","tools":[{"type":"web_search"}],"tool_choice":{"type":"web_search"}})"),
              "tool_choice: the hosted tool \"web_search\" is not available on Bedrock");
    EXPECT_EQ(error_of(R"({"model":"m","input":"x","reasoning":{"effort":"huge"}})"),
              "reasoning.effort: must be one of none, minimal, low, medium, high or xhigh");
    EXPECT_EQ(error_of(R"({"model":"m","input":"x","max_output_tokens":0})"),
              "max_output_tokens: must be an integer of at least 1");
    EXPECT_EQ(error_of(R"({"model":"m","input":"x","text":{"format":{"type":"grammar"}}})"),
              "text.format.type: must be \"text\", \"json_object\" or \"json_schema\"");
    EXPECT_EQ(error_of(R"({"model":"m","input":"x","text":{"format":{"type":"json_schema","name":"o"}}})"),
              "text.format.schema: must be a JSON schema object");
    EXPECT_EQ(error_of(R"({"model":"m","input":"x","stream":"yes"})"), "stream: must be a boolean");
    EXPECT_EQ(error_of(R"({"model":"m","input":"x","background":true})"),
              "background: background responses are not supported");
    EXPECT_EQ(error_of(R"({"model":"m","input":"x","metadata":[]})"), "metadata: must be an object");
    EXPECT_EQ(error_of(R"({"model":"m","input":"x","previous_response_id":5})"),
              "previous_response_id: must be a string");
}

bd_convert_responses_meta_t
meta_for(json_t *echo)
{
    bd_convert_responses_meta_t m;
    m.id = "resp_abc";
    m.created_at = 1700000000;
    m.model = "claude";
    m.echo = echo;
    return m;
}

TEST(ResponsesAnswer, TextReasoningAndCalls)
{
    json_t *echo = parse(R"({"instructions":null,"store":true,"tools":[]})");
    bd_convert_responses_meta_t m = meta_for(echo);
    json_t *chat = parse(R"({"choices":[{"index":0,"finish_reason":"tool_calls","message":{
        "role":"assistant","content":"Let me look.","reasoning_content":"think",
        "thinking_blocks":[{"type":"thinking","thinking":"think","signature":"s"}],
        "tool_calls":[{"id":"t1","type":"function","function":{"name":"get","arguments":"{\"a\":1}"}}]}}]})");
    bd_convert_usage_t u = {10, 20, 5, 3, 3, 0};
    bd_convert_error_t err;
    json_t *r = bd_convert_responses_from_chat(chat, &m, &u, &err);
    ASSERT_TRUE(r);
    EXPECT_EQ(dump(r),
              R"({"background":false,"created_at":1700000000,"error":null,"id":"resp_abc",)"
              R"("incomplete_details":null,"instructions":null,"model":"claude","object":"response",)"
              R"("output":[{"encrypted_content":"W3sidHlwZSI6InRoaW5raW5nIiwidGhpbmtpbmciOiJ0aGluayIsInNpZ25hdHVyZSI6InMifV0=",)"
              R"("id":"rs_abc_0","summary":[{"text":"think","type":"summary_text"}],"type":"reasoning"},)"
              R"({"content":[{"annotations":[],"logprobs":[],"text":"Let me look.","type":"output_text"}],)"
              R"("id":"msg_abc_0","role":"assistant","status":"completed","type":"message"},)"
              R"({"arguments":"{\"a\":1}","call_id":"t1","id":"fc_t1","name":"get","status":"completed","type":"function_call"}],)"
              R"("service_tier":"default","status":"completed","store":true,"tools":[],)"
              R"("usage":{"input_tokens":18,"input_tokens_details":{"cached_tokens":5},"output_tokens":20,)"
              R"("output_tokens_details":{"reasoning_tokens":2},"total_tokens":38}})");
    json_decref(r);
    json_decref(chat);
    json_decref(echo);
}

TEST(ResponsesAnswer, LengthIsIncomplete)
{
    json_t *echo = json_object();
    bd_convert_responses_meta_t m = meta_for(echo);
    json_t *chat = parse(R"({"choices":[{"finish_reason":"length","message":{"content":"cut"}}]})");
    bd_convert_usage_t u = {};
    bd_convert_error_t err;
    json_t *r = bd_convert_responses_from_chat(chat, &m, &u, &err);
    ASSERT_TRUE(r);
    EXPECT_STREQ(json_string_value(json_object_get(r, "status")), "incomplete");
    EXPECT_EQ(dump(json_object_get(r, "incomplete_details")), R"({"reason":"max_output_tokens"})");
    json_decref(r);
    json_decref(chat);
    json_decref(echo);
}

TEST(ResponsesAnswer, MalformedIs502)
{
    json_t *echo = json_object();
    bd_convert_responses_meta_t m = meta_for(echo);
    bd_convert_usage_t u = {};
    bd_convert_error_t err;
    json_t *chat = parse(R"({"choices":[]})");
    EXPECT_EQ(bd_convert_responses_from_chat(chat, &m, &u, &err), nullptr);
    EXPECT_EQ(err.status, 502);
    json_decref(chat);
    chat = parse(R"({"choices":[{"message":{"tool_calls":[{"id":"x"}]}}]})");
    EXPECT_EQ(bd_convert_responses_from_chat(chat, &m, &u, &err), nullptr);
    EXPECT_EQ(err.status, 502);
    json_decref(chat);
    json_decref(echo);
}

} // namespace
