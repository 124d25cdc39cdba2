/*
 * bd_aws_endpoint_test.cc: endpoint precedence (conf, AWS_ENDPOINT_URL_<SERVICE>,
 * AWS_ENDPOINT_URL, default host), URL splitting for signing, and region errors.
 */
#include <gtest/gtest.h>

#include "core/aws/bd_aws_endpoint.h"
#include "tests/unit/credentials/bd_credentials_test_util.h"

struct AwsEndpointTest : ::testing::Test {
    bd_test_env_t env;
    bd_aws_endpoint_t ep;
    char err[256] = "";

    int
    resolve(const char *service, const char *region, const char *conf = nullptr)
    {
        bd_aws_env_t e = env.view();
        ep = bd_aws_endpoint_t();
        return bd_aws_endpoint_resolve(service, region, conf, &e, &ep, err, sizeof(err));
    }
};

TEST_F(AwsEndpointTest, DefaultHosts)
{
    ASSERT_EQ(0, resolve("bedrock-runtime", "us-east-1")) << err;
    EXPECT_EQ("https://bedrock-runtime.us-east-1.amazonaws.com", ep.url);
    EXPECT_EQ("bedrock-runtime.us-east-1.amazonaws.com", ep.host);
    EXPECT_EQ("https", ep.scheme);
    EXPECT_EQ("", ep.base_path);
    EXPECT_EQ("bedrock", ep.signing_name);
    EXPECT_EQ("us-east-1", ep.region);
    EXPECT_FALSE(ep.overridden);
    ASSERT_EQ(0, resolve("bedrock", "eu-west-3"));
    EXPECT_EQ("bedrock.eu-west-3.amazonaws.com", ep.host);
    EXPECT_EQ("bedrock", ep.signing_name);
    ASSERT_EQ(0, resolve("sts", "ap-southeast-2"));
    EXPECT_EQ("sts.ap-southeast-2.amazonaws.com", ep.host);
    EXPECT_EQ("sts", ep.signing_name);
    ASSERT_EQ(0, resolve("dynamodb", "cn-north-1"));
    EXPECT_EQ("dynamodb.cn-north-1.amazonaws.com.cn", ep.host);
    EXPECT_EQ("dynamodb", ep.signing_name);
    ASSERT_EQ(0, resolve("sts", ""));
    EXPECT_EQ("sts.amazonaws.com", ep.host);
    EXPECT_EQ("us-east-1", ep.region);
}

TEST_F(AwsEndpointTest, Errors)
{
    EXPECT_EQ(-1, resolve("s3", "us-east-1"));
    EXPECT_NE(std::string::npos, std::string(err).find("unknown AWS service"));
    EXPECT_EQ(-1, resolve("bedrock-runtime", ""));
    EXPECT_NE(std::string::npos, std::string(err).find("no AWS region"));
    EXPECT_EQ(-1, resolve("bedrock-runtime", "us-east-1.evil.com/x"));
    EXPECT_EQ(-1, resolve("bedrock-runtime", "us-east-1", "ftp://x"));
    EXPECT_EQ(-1, resolve("bedrock-runtime", "us-east-1", "http://h/p?q=1"));
    EXPECT_EQ(-1, resolve("bedrock-runtime", "us-east-1", "http://h:99999"));
    EXPECT_EQ(-1, resolve("bedrock-runtime", "us-east-1", "http:///p"));
}

TEST_F(AwsEndpointTest, OverridePrecedence)
{
    env.vars["AWS_ENDPOINT_URL"] = "http://127.0.0.1:4000";
    ASSERT_EQ(0, resolve("dynamodb", "us-east-1"));
    EXPECT_EQ("127.0.0.1:4000", ep.host);
    EXPECT_TRUE(ep.overridden);
    EXPECT_EQ("us-east-1", ep.region);
    env.vars["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"] = "http://127.0.0.1:5000/rt/";
    ASSERT_EQ(0, resolve("bedrock-runtime", "us-east-1"));
    EXPECT_EQ("127.0.0.1:5000", ep.host);
    EXPECT_EQ("/rt", ep.base_path);
    EXPECT_EQ("http://127.0.0.1:5000/rt", ep.url);
    EXPECT_EQ("bedrock", ep.signing_name);
    /* BEDROCK_RUNTIME does not leak into BEDROCK. */
    ASSERT_EQ(0, resolve("bedrock", "us-east-1"));
    EXPECT_EQ("127.0.0.1:4000", ep.host);
    env.vars["AWS_ENDPOINT_URL_BEDROCK"] = "https://bedrock.example";
    ASSERT_EQ(0, resolve("bedrock", "us-east-1"));
    EXPECT_EQ("bedrock.example", ep.host);
    env.vars["AWS_ENDPOINT_URL_STS"] = "http://sts.local:81";
    env.vars["AWS_ENDPOINT_URL_DYNAMODB"] = "http://localhost:8000";
    ASSERT_EQ(0, resolve("sts", ""));
    EXPECT_EQ("sts.local:81", ep.host);
    ASSERT_EQ(0, resolve("dynamodb", "us-east-1"));
    EXPECT_EQ("localhost:8000", ep.host);
    /* conf beats everything, even with an empty region. */
    ASSERT_EQ(0, resolve("bedrock-runtime", "", "https://vpce-1.bedrock-runtime.example:443/"));
    EXPECT_EQ("vpce-1.bedrock-runtime.example", ep.host);
    EXPECT_EQ("https://vpce-1.bedrock-runtime.example", ep.url);
    env.vars["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"] = "true";
    ASSERT_EQ(0, resolve("bedrock-runtime", "us-west-2"));
    EXPECT_EQ("bedrock-runtime.us-west-2.amazonaws.com", ep.host);
    EXPECT_FALSE(ep.overridden);
}

TEST_F(AwsEndpointTest, ParseUrlKeepsWhatIsSigned)
{
    bd_aws_endpoint_t e;
    ASSERT_EQ(0, bd_aws_endpoint_parse_url("HTTP://[::1]:8080/a/b//", &e, err, sizeof(err)));
    EXPECT_EQ("http", e.scheme);
    EXPECT_EQ("[::1]:8080", e.host);
    EXPECT_EQ("/a/b", e.base_path);
    ASSERT_EQ(0, bd_aws_endpoint_parse_url("http://Example.COM:80", &e, err, sizeof(err)));
    EXPECT_EQ("example.com", e.host);
    EXPECT_EQ("http://example.com", e.url);
    ASSERT_EQ(0, bd_aws_endpoint_parse_url("https://h:8443", &e, err, sizeof(err)));
    EXPECT_EQ("h:8443", e.host);
    EXPECT_EQ(-1, bd_aws_endpoint_parse_url("https://user@h/", &e, err, sizeof(err)));
}

TEST_F(AwsEndpointTest, ProfileName)
{
    bd_aws_env_t e = env.view();
    EXPECT_EQ("default", bd_aws_profile_name(nullptr, &e));
    env.vars["AWS_DEFAULT_PROFILE"] = "b";
    EXPECT_EQ("b", bd_aws_profile_name(nullptr, &e));
    env.vars["AWS_PROFILE"] = "a";
    EXPECT_EQ("a", bd_aws_profile_name("", &e));
    EXPECT_EQ("c", bd_aws_profile_name("c", &e));
}
