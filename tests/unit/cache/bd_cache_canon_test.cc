#include <gtest/gtest.h>
#include <jansson.h>

#include <string>

#include "modules/cache/bd_cache_canon.h"
#include "modules/cache/bd_cache_conf.h"

static std::string
canon(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    EXPECT_NE(j, nullptr) << e.text;
    std::string out = bd_cache_canonical(j);
    json_decref(j);
    return out;
}

TEST(CacheCanon, KeyOrderAndWhitespaceDoNotMatter)
{
    std::string a = canon("{\"model\":\"m\",\"temperature\":0,\"messages\":[{\"role\":\"user\","
                          "\"content\":\"hi\"}],\"max_tokens\":10}");
    std::string b = canon("{ \"max_tokens\" : 10,\n \"messages\": [ {\"content\": \"hi\", "
                          "\"role\": \"user\"} ],\n\t\"temperature\": 0, \"model\": \"m\" }");
    EXPECT_EQ(a, b);
    EXPECT_EQ(a, "{\"max_tokens\":10,\"messages\":[{\"content\":\"hi\",\"role\":\"user\"}],"
                 "\"model\":\"m\",\"temperature\":0}");
}

TEST(CacheCanon, ContentAndArrayOrderDoMatter)
{
    EXPECT_NE(canon("{\"a\":[1,2]}"), canon("{\"a\":[2,1]}"));
    EXPECT_NE(canon("{\"a\":\"x\"}"), canon("{\"a\":\"x \"}"));
    EXPECT_NE(canon("{\"stream\":true}"), canon("{\"stream\":false}"));
}

TEST(CacheCanon, KeySeparatesScopePathAndBody)
{
    std::string k = bd_cache_key("key:a", "/v1/messages", "{}");
    EXPECT_EQ(k.size(), 64u);
    EXPECT_EQ(k, bd_cache_key("key:a", "/v1/messages", "{}"));
    EXPECT_NE(k, bd_cache_key("key:b", "/v1/messages", "{}"));
    EXPECT_NE(k, bd_cache_key("key:a", "/v1/chat/completions", "{}"));
    /* Length prefixes: moving bytes between parts changes the key. */
    EXPECT_NE(bd_cache_key("ab", "c", "{}"), bd_cache_key("a", "bc", "{}"));
}

TEST(CacheCanon, DeterministicMeansTemperatureZero)
{
    json_t *zero = json_loads("{\"temperature\":0}", 0, nullptr);
    json_t *zero_real = json_loads("{\"temperature\":0.0}", 0, nullptr);
    json_t *warm = json_loads("{\"temperature\":0.5}", 0, nullptr);
    json_t *none = json_loads("{}", 0, nullptr);
    json_t *text = json_loads("{\"temperature\":\"0\"}", 0, nullptr);
    EXPECT_TRUE(bd_cache_deterministic(zero));
    EXPECT_TRUE(bd_cache_deterministic(zero_real));
    EXPECT_FALSE(bd_cache_deterministic(warm));
    EXPECT_FALSE(bd_cache_deterministic(none));
    EXPECT_FALSE(bd_cache_deterministic(text));
    json_decref(zero);
    json_decref(zero_real);
    json_decref(warm);
    json_decref(none);
    json_decref(text);
}

TEST(CacheCanon, CacheControlBypass)
{
    EXPECT_FALSE(bd_cache_control_bypass(nullptr));
    EXPECT_FALSE(bd_cache_control_bypass("max-age=60"));
    EXPECT_TRUE(bd_cache_control_bypass("no-cache"));
    EXPECT_TRUE(bd_cache_control_bypass("No-Cache"));
    EXPECT_TRUE(bd_cache_control_bypass("max-age=0, no-store"));
    EXPECT_FALSE(bd_cache_control_bypass("no-cachex"));
}

TEST(CacheCanon, StreamComplete)
{
    const std::string anthropic = "event: message_start\ndata: {}\n\n"
                                  "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
    const std::string openai = "data: {\"choices\":[]}\n\ndata: [DONE]\n\n";
    EXPECT_TRUE(bd_cache_stream_complete(anthropic.data(), anthropic.size()));
    EXPECT_TRUE(bd_cache_stream_complete(openai.data(), openai.size()));
    const std::string cut = "event: message_start\ndata: {}\n\n";
    EXPECT_FALSE(bd_cache_stream_complete(cut.data(), cut.size()));
    const std::string failed = "event: message_start\ndata: {}\n\nevent: error\ndata: {}\n\n"
                               "event: message_stop\ndata: {}\n\n";
    EXPECT_FALSE(bd_cache_stream_complete(failed.data(), failed.size()));
    const std::string oai_failed = "data: {\"choices\":[]}\n\ndata: {\"error\":{}}\n\n"
                                   "data: [DONE]\n\n";
    EXPECT_FALSE(bd_cache_stream_complete(oai_failed.data(), oai_failed.size()));
    EXPECT_FALSE(bd_cache_stream_complete("", 0));
}

TEST(CacheConf, KeyAttributes)
{
    int on;
    std::string scope;
    bd_cache_key_attributes("{}", &on, &scope);
    EXPECT_EQ(on, -1);
    EXPECT_EQ(scope, "");
    bd_cache_key_attributes("{\"response_cache\":true,\"response_cache_scope\":\"team\"}", &on,
                            &scope);
    EXPECT_EQ(on, 1);
    EXPECT_EQ(scope, "team");
    bd_cache_key_attributes("{\"response_cache\":false}", &on, &scope);
    EXPECT_EQ(on, 0);
    EXPECT_EQ(scope, "");
    bd_cache_key_attributes("{\"response_cache\":\"yes\"", &on, &scope); /* broken JSON */
    EXPECT_EQ(on, -1);
}
