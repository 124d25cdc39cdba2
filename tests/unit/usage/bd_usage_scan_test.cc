/*
 * bd_usage_scan_test.cc: the user id skimmer finds metadata.user_id and `user`
 * at the top level only, skips look-alikes inside strings and nested values, and
 * gives up quietly on malformed input.
 */
#include <gtest/gtest.h>
#include <string.h>

#include "modules/usage/bd_usage_scan.h"

static std::string
scan(const char *body)
{
    std::string user = "unchanged";
    bd_usage_scan_user(body, strlen(body), &user);
    return user;
}

TEST(UsageScan, AnthropicMetadataUserId)
{
    EXPECT_EQ(scan(R"({"model":"m","messages":[{"role":"user","content":"hi"}],)"
                   R"("metadata":{"user_id":"user_42"},"max_tokens":5})"),
              "user_42");
}

TEST(UsageScan, OpenAIUser)
{
    EXPECT_EQ(scan(R"({"model":"m","user":"alice","messages":[]})"), "alice");
}

TEST(UsageScan, MetadataWinsOverUser)
{
    EXPECT_EQ(scan(R"({"user":"a","metadata":{"x":[1,{"user_id":"no"}],"user_id":"b"}})"), "b");
}

TEST(UsageScan, LookAlikesAreSkipped)
{
    EXPECT_EQ(scan(R"({"messages":[{"content":"\"metadata\":{\"user_id\":\"x\"}"}],)"
                   R"("tools":[{"user":"nested"}],"system":"user"})"),
              "");
    EXPECT_EQ(scan(R"({"metadata":{"user_id":7},"user":null})"), "");
}

TEST(UsageScan, EscapesAndLimits)
{
    EXPECT_EQ(scan(R"({"metadata":{"user_id":"a\"b\\c\nd"}})"), "a\"b\\c\nd");
    std::string big = "{\"user\":\"" + std::string(1000, 'x') + "\"}";
    std::string user;
    bd_usage_scan_user(big.data(), big.size(), &user);
    EXPECT_EQ(user.size(), (size_t)BD_USAGE_USER_MAX);
}

TEST(UsageScan, MalformedBodies)
{
    EXPECT_EQ(scan(""), "");
    EXPECT_EQ(scan("[1,2]"), "");
    EXPECT_EQ(scan(R"({"metadata":{"user_id":"unterminated)"), "");
    EXPECT_EQ(scan(R"({"user":"u", "x": )"), "u");
}
