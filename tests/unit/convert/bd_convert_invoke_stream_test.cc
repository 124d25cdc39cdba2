/*
 * bd_convert_invoke_stream_test.cc: the InvokeModel stream's events as they come out as
 * SSE: a compact event the converter does not edit goes out byte for byte, one written
 * over several lines goes out on one line, and a type with a line break (which would
 * forge SSE lines) is refused.
 */
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <string>

#include "modules/convert/bd_convert.h"

/* The event-stream payload of an InvokeModel chunk carrying <event>'s text. */
static std::string
bd_chunk(const std::string &event)
{
    std::string b64(4 * ((event.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock((unsigned char *)&b64[0], (const unsigned char *)event.data(),
                            (int)event.size());
    b64.resize((size_t)n);
    return "{\"bytes\":\"" + b64 + "\"}";
}

static int
bd_feed(bd_convert_invoke_stream_t *s, const std::string &event, std::string *out)
{
    std::string payload = bd_chunk(event);
    bd_convert_error_t err;
    return bd_convert_invoke_stream_feed(s, "chunk", payload.data(), payload.size(), out, &err);
}

TEST(InvokeStreamTest, CompactEventsPassAsTheyCame)
{
    bd_convert_invoke_stream_t s;
    bd_convert_invoke_stream_init(&s, "claude-sonnet-4-5");
    std::string out;
    const std::string ev = "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
                           "{\"type\":\"text_delta\",\"text\":\"a\\nb\"}}";
    ASSERT_EQ(bd_feed(&s, ev, &out), 0);
    EXPECT_EQ(out, "event: content_block_delta\ndata: " + ev + "\n\n");
}

TEST(InvokeStreamTest, AnEventOnSeveralLinesGoesOutOnOne)
{
    for (const char *brk : {"\n", "\r\n", "\r"}) {
        bd_convert_invoke_stream_t s;
        bd_convert_invoke_stream_init(&s, "claude-sonnet-4-5");
        std::string out;
        std::string ev = std::string("{") + brk + "  \"type\": \"content_block_delta\"," + brk +
                         "  \"index\": 0, \"delta\": {\"type\": \"text_delta\", \"text\": \"x\"}" +
                         brk + "}";
        ASSERT_EQ(bd_feed(&s, ev, &out), 0);
        EXPECT_EQ(out, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\","
                       "\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}\n\n");
    }
}

TEST(InvokeStreamTest, ATypeWithALineBreakIsRefused)
{
    for (const char *type : {"a\\nb", "a\\r", "\\n"}) {
        bd_convert_invoke_stream_t s;
        bd_convert_invoke_stream_init(&s, "claude-sonnet-4-5");
        std::string out;
        EXPECT_NE(bd_feed(&s, std::string("{\"type\":\"") + type + "\"}", &out), 0) << type;
        EXPECT_EQ(out.find("event: a"), std::string::npos);
    }
}
