/*
 * bd_responses_stream_test.cc: ConverseStream events -> Responses SSE events: the event
 * order the SDK's accumulator needs (created, in_progress, item added, part added,
 * deltas, done events, completed), sequence numbers, tool calls, reasoning, incomplete,
 * exceptions and truncated streams. Single-threaded.
 */
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "modules/convert/bd_convert_responses.h"

namespace
{

struct Sse {
    std::vector<std::string> types;
    std::vector<json_t *> data;
    ~Sse()
    {
        for (json_t *j : data) {
            json_decref(j);
        }
    }
};

/* Splits "event: T\ndata: J\n\n" records. */
void
parse_sse(const std::string &s, Sse *out)
{
    size_t pos = 0;
    while (pos < s.size()) {
        size_t end = s.find("\n\n", pos);
        ASSERT_NE(end, std::string::npos);
        std::string rec = s.substr(pos, end - pos);
        size_t nl = rec.find('\n');
        ASSERT_EQ(rec.compare(0, 7, "event: "), 0) << rec;
        ASSERT_EQ(rec.compare(nl + 1, 6, "data: "), 0) << rec;
        std::string type = rec.substr(7, nl - 7);
        json_t *j = json_loads(rec.c_str() + nl + 7, 0, nullptr);
        ASSERT_TRUE(j) << rec;
        EXPECT_STREQ(json_string_value(json_object_get(j, "type")), type.c_str());
        out->types.push_back(type);
        out->data.push_back(j);
        pos = end + 2;
    }
}

struct Stream {
    json_t *echo = json_pack("{s:n}", "instructions");
    bd_convert_responses_meta_t meta;
    bd_convert_responses_stream_t s;
    std::string out;
    Stream()
    {
        meta.id = "resp_x";
        meta.created_at = 1;
        meta.model = "claude";
        meta.echo = echo;
        bd_convert_responses_stream_init(&s, &meta);
    }
    ~Stream()
    {
        bd_convert_responses_stream_free(&s);
        json_decref(echo);
    }
    int feed(const char *type, const char *payload)
    {
        json_t *p = json_loads(payload, 0, nullptr);
        EXPECT_TRUE(p) << payload;
        bd_convert_error_t err;
        int rc = bd_convert_responses_stream_feed(&s, type, p, &out, &err);
        json_decref(p);
        return rc;
    }
};

std::string
str(json_t *o, const char *path1, const char *path2 = nullptr)
{
    json_t *v = json_object_get(o, path1);
    if (path2) {
        v = json_object_get(v, path2);
    }
    char *d = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    std::string r = d ? d : "";
    free(d);
    return r;
}

TEST(ResponsesStream, TextAnswer)
{
    Stream t;
    EXPECT_EQ(t.feed("messageStart", R"({"role":"assistant"})"), 0);
    EXPECT_EQ(t.feed("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"Hel"}})"), 0);
    EXPECT_EQ(t.feed("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"lo"}})"), 0);
    EXPECT_EQ(t.feed("contentBlockStop", R"({"contentBlockIndex":0})"), 0);
    EXPECT_EQ(t.feed("messageStop", R"({"stopReason":"end_turn"})"), 0);
    EXPECT_FALSE(t.s.finished);
    EXPECT_EQ(t.feed("metadata", R"({"usage":{"inputTokens":7,"outputTokens":2,"totalTokens":9,
        "cacheReadInputTokens":4}})"),
              0);
    EXPECT_TRUE(t.s.finished);
    Sse sse;
    parse_sse(t.out, &sse);
    std::vector<std::string> want = {"response.created",
                                     "response.in_progress",
                                     "response.output_item.added",
                                     "response.content_part.added",
                                     "response.output_text.delta",
                                     "response.output_text.delta",
                                     "response.output_text.done",
                                     "response.content_part.done",
                                     "response.output_item.done",
                                     "response.completed"};
    EXPECT_EQ(sse.types, want);
    for (size_t i = 0; i < sse.data.size(); i++) {
        EXPECT_EQ(json_integer_value(json_object_get(sse.data[i], "sequence_number")), (int)i);
    }
    EXPECT_EQ(str(sse.data[0], "response", "status"), "\"in_progress\"");
    EXPECT_EQ(str(sse.data[0], "response", "output"), "[]");
    EXPECT_EQ(str(sse.data[2], "item"),
              R"({"content":[],"id":"msg_x_0","role":"assistant","status":"in_progress","type":"message"})");
    EXPECT_EQ(str(sse.data[4], "delta"), "\"Hel\"");
    EXPECT_EQ(str(sse.data[4], "item_id"), "\"msg_x_0\"");
    EXPECT_EQ(str(sse.data[6], "text"), "\"Hello\"");
    json_t *resp = json_object_get(sse.data[9], "response");
    EXPECT_EQ(str(resp, "status"), "\"completed\"");
    EXPECT_EQ(str(resp, "usage"),
              R"({"input_tokens":11,"input_tokens_details":{"cached_tokens":4},"output_tokens":2,)"
              R"("output_tokens_details":{"reasoning_tokens":0},"total_tokens":13})");
    EXPECT_EQ(str(resp, "output"),
              R"([{"content":[{"annotations":[],"logprobs":[],"text":"Hello","type":"output_text"}],)"
              R"("id":"msg_x_0","role":"assistant","status":"completed","type":"message"}])");
    EXPECT_TRUE(json_equal(t.s.response, resp));
    EXPECT_EQ(bd_convert_responses_stream_end(&t.s, &t.out), 0);
}

TEST(ResponsesStream, ReasoningThenToolCall)
{
    Stream t;
    t.feed("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"reasoningContent":{"text":"hmm"}}})");
    t.feed("contentBlockDelta",
           R"({"contentBlockIndex":0,"delta":{"reasoningContent":{"signature":"sig"}}})");
    t.feed("contentBlockStop", R"({"contentBlockIndex":0})");
    t.feed("contentBlockStart",
           R"({"contentBlockIndex":1,"start":{"toolUse":{"toolUseId":"t1","name":"get"}}})");
    t.feed("contentBlockDelta", R"({"contentBlockIndex":1,"delta":{"toolUse":{"input":"{\"a\""}}})");
    t.feed("contentBlockDelta", R"({"contentBlockIndex":1,"delta":{"toolUse":{"input":":1}"}}})");
    t.feed("contentBlockStop", R"({"contentBlockIndex":1})");
    t.feed("messageStop", R"({"stopReason":"tool_use"})");
    t.feed("metadata", R"({"usage":{"inputTokens":1,"outputTokens":9,"totalTokens":10}})");
    Sse sse;
    parse_sse(t.out, &sse);
    std::vector<std::string> want = {"response.created",
                                     "response.in_progress",
                                     "response.output_item.added",
                                     "response.reasoning_summary_part.added",
                                     "response.reasoning_summary_text.delta",
                                     "response.reasoning_summary_text.done",
                                     "response.reasoning_summary_part.done",
                                     "response.output_item.done",
                                     "response.output_item.added",
                                     "response.function_call_arguments.delta",
                                     "response.function_call_arguments.delta",
                                     "response.function_call_arguments.done",
                                     "response.output_item.done",
                                     "response.completed"};
    EXPECT_EQ(sse.types, want);
    EXPECT_EQ(str(sse.data[7], "item"),
              R"({"encrypted_content":"W3sidHlwZSI6InRoaW5raW5nIiwidGhpbmtpbmciOiJobW0iLCJzaWduYXR1cmUiOiJzaWcifV0=",)"
              R"("id":"rs_x_0","summary":[{"text":"hmm","type":"summary_text"}],"type":"reasoning"})");
    EXPECT_EQ(str(sse.data[8], "output_index"), "1");
    EXPECT_EQ(str(sse.data[8], "item"),
              R"({"arguments":"","call_id":"t1","id":"fc_t1","name":"get","status":"in_progress","type":"function_call"})");
    EXPECT_EQ(str(sse.data[11], "arguments"), R"("{\"a\":1}")");
    EXPECT_EQ(str(json_object_get(sse.data[13], "response"), "usage", "output_tokens_details"),
              R"({"reasoning_tokens":1})");
}

TEST(ResponsesStream, MaxTokensIsIncompleteAndBlocksCloseAtStop)
{
    Stream t;
    t.feed("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"a"}})");
    t.feed("messageStop", R"({"stopReason":"max_tokens"})");
    EXPECT_EQ(bd_convert_responses_stream_end(&t.s, &t.out), 0); /* no metadata: still ends */
    Sse sse;
    parse_sse(t.out, &sse);
    EXPECT_EQ(sse.types.back(), "response.incomplete");
    EXPECT_EQ(sse.types[sse.types.size() - 2], "response.output_item.done");
    EXPECT_EQ(str(json_object_get(sse.data.back(), "response"), "incomplete_details"),
              R"({"reason":"max_output_tokens"})");
}

TEST(ResponsesStream, ExceptionAndTruncation)
{
    Stream t;
    t.feed("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"a"}})");
    json_t *p = json_pack("{s:s}", "message", "slow down");
    bd_convert_error_t err;
    bd_convert_responses_stream_exception(&t.s, "throttlingException", p, &t.out, &err);
    json_decref(p);
    EXPECT_EQ(err.status, 429);
    EXPECT_TRUE(t.s.failed);
    EXPECT_EQ(t.feed("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"b"}})"), 0);
    EXPECT_EQ(bd_convert_responses_stream_end(&t.s, &t.out), -1);
    Sse sse;
    parse_sse(t.out, &sse);
    ASSERT_GE(sse.types.size(), 2u);
    EXPECT_EQ(sse.types[sse.types.size() - 2], "error");
    EXPECT_EQ(sse.types.back(), "response.failed");
    EXPECT_EQ(str(sse.data[sse.types.size() - 2], "message"), "\"slow down\"");
    EXPECT_EQ(str(json_object_get(sse.data.back(), "response"), "status"), "\"failed\"");

    Stream u;
    u.feed("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"a"}})");
    EXPECT_EQ(bd_convert_responses_stream_end(&u.s, &u.out), -1);
    Sse sse2;
    parse_sse(u.out, &sse2);
    EXPECT_EQ(str(sse2.data[sse2.types.size() - 2], "message"), "\"the model stream ended early\"");
}

TEST(ResponsesStream, MalformedEventIsAnError)
{
    Stream t;
    EXPECT_EQ(t.feed("contentBlockDelta", R"({"delta":{"text":"a"}})"), -1);
}

} // namespace
