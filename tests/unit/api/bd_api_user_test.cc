/*
 * bd_api_user_test.cc: the user a parsed body names (the MODEL phase keeps it for
 * usage records): metadata.user_id, else `user`, at the top level only, never
 * look-alikes inside strings or nested values. A body that does not parse is
 * answered 400 before anyone asks.
 */
#include <gtest/gtest.h>
#include <jansson.h>
#include <string.h>

#include "modules/api/bd_api.h"

static std::string
scan(const char *body)
{
    std::string user = "unchanged";
    json_t *j = json_loads(body, 0, nullptr);
    EXPECT_NE(j, nullptr) << body;
    bd_api_user_id(j, &user);
    json_decref(j);
    return user;
}

TEST(ApiUser, AnthropicMetadataUserId)
{
    EXPECT_EQ(scan(R"({"model":"m","messages":[{"role":"user","content":"hi"}],)"
                   R"("metadata":{"user_id":"user_42"},"max_tokens":5})"),
              "user_42");
}

TEST(ApiUser, OpenAIUser)
{
    EXPECT_EQ(scan(R"({"model":"m","user":"alice","messages":[]})"), "alice");
}

TEST(ApiUser, MetadataWinsOverUser)
{
    EXPECT_EQ(scan(R"({"user":"a","metadata":{"x":[1,{"user_id":"no"}],"user_id":"b"}})"), "b");
}

TEST(ApiUser, LookAlikesAreSkipped)
{
    EXPECT_EQ(scan(R"({"messages":[{"content":"\"metadata\":{\"user_id\":\"x\"}"}],)"
                   R"("tools":[{"user":"nested"}],"system":"user"})"),
              "");
    EXPECT_EQ(scan(R"({"metadata":{"user_id":7},"user":null})"), "");
}

TEST(ApiUser, EscapesAndLimits)
{
    EXPECT_EQ(scan(R"({"metadata":{"user_id":"a\"b\\c\nd"}})"), "a\"b\\c\nd");
    std::string big = "{\"user\":\"" + std::string(1000, 'x') + "\"}";
    EXPECT_EQ(scan(big.c_str()).size(), (size_t)BD_API_USER_MAX);
}

TEST(ApiUser, NotAnObject)
{
    EXPECT_EQ(scan("[1,2]"), "");
    EXPECT_EQ(scan(R"({"metadata":"user_id"})"), "");
}
