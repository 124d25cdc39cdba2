/*
 * bd_credentials_provider_test.cc: the provider without a network: env, profile, static
 * and bearer sources, the explicit source choice, the no-credentials status, and
 * expiry handling with an injected clock.
 */
#include <gtest/gtest.h>

#include "core/aws/bd_credentials.h"
#include "tests/unit/credentials/bd_credentials_test_util.h"

struct CredentialsProviderTest : ::testing::Test {
    bd_test_dir_t dir;
    bd_test_env_t env;
    bd_credentials_options_t opts = {};
    bd_credentials_provider_t *p = nullptr;

    void
    SetUp() override
    {
        /* No real ~/.aws, no real IMDS. */
        env.vars["HOME"] = dir.path;
        env.vars["AWS_EC2_METADATA_DISABLED"] = "true";
        opts.env = env.view();
    }
    void
    TearDown() override
    {
        bd_credentials_destroy(p);
    }
    /* Creates the provider and waits (bounded) for its first resolution. */
    void
    start()
    {
        char err[256] = "";
        p = bd_credentials_create(&opts, err, sizeof(err));
        ASSERT_NE(nullptr, p) << err;
        ASSERT_GE(bd_credentials_wait(p, 0, 10000), 1u);
    }
    std::string
    status(int *ready)
    {
        char reason[512];
        *ready = bd_credentials_status(p, reason, sizeof(reason));
        return reason;
    }
};

TEST_F(CredentialsProviderTest, EnvironmentKeys)
{
    env.vars["AWS_ACCESS_KEY_ID"] = "AKIDENV";
    env.vars["AWS_SECRET_ACCESS_KEY"] = "SECRETENV";
    env.vars["AWS_SESSION_TOKEN"] = "TOKENENV";
    start();
    bd_credentials_t *c = bd_credentials_acquire(p);
    ASSERT_NE(nullptr, c);
    EXPECT_EQ("AKIDENV", c->sigv4.access_key_id);
    EXPECT_EQ("SECRETENV", c->sigv4.secret_access_key);
    EXPECT_EQ("TOKENENV", c->sigv4.session_token);
    EXPECT_EQ("", c->bearer_token);
    EXPECT_EQ(0, c->expiration_ms);
    EXPECT_EQ("env", c->source);
    bd_credentials_release(c);
    int ready;
    EXPECT_EQ("credentials from env", status(&ready));
    EXPECT_EQ(1, ready);
    bd_credentials_info_t in;
    bd_credentials_info(p, &in);
    EXPECT_EQ(INT64_MAX, in.next_refresh_ms); /* static keys never refresh */
}

TEST_F(CredentialsProviderTest, EnvironmentHalfSetIsReported)
{
    env.vars["AWS_ACCESS_KEY_ID"] = "AKIDENV";
    env.vars["AWS_SHARED_CREDENTIALS_FILE"] =
        dir.write("c", "[default]\naws_access_key_id=A\naws_secret_access_key=S\n");
    start();
    EXPECT_EQ(nullptr, bd_credentials_acquire(p));
    int ready;
    EXPECT_EQ("no AWS credentials found (tried env: AWS_ACCESS_KEY_ID is set but "
              "AWS_SECRET_ACCESS_KEY is not)",
              status(&ready));
    EXPECT_EQ(0, ready);
}

TEST_F(CredentialsProviderTest, AutoFallsToDefaultProfile)
{
    env.vars["AWS_SHARED_CREDENTIALS_FILE"] = dir.write(
        "c", "[default]\naws_access_key_id = AKIDPROF\naws_secret_access_key = SPROF\n");
    start();
    bd_credentials_t *c = bd_credentials_acquire(p);
    ASSERT_NE(nullptr, c);
    EXPECT_EQ("AKIDPROF", c->sigv4.access_key_id);
    EXPECT_EQ("", c->sigv4.session_token);
    EXPECT_EQ("profile default", c->source);
    bd_credentials_release(c);
}

TEST_F(CredentialsProviderTest, ExplicitNamedProfileSkipsEnv)
{
    env.vars["AWS_ACCESS_KEY_ID"] = "AKIDENV";
    env.vars["AWS_SECRET_ACCESS_KEY"] = "SECRETENV";
    env.vars["AWS_CONFIG_FILE"] = dir.write(
        "cfg", "[profile ops]\naws_access_key_id = AKIDOPS\naws_secret_access_key = SOPS\n"
               "aws_session_token = TOPS\n");
    opts.source = BD_CREDENTIALS_PROFILE;
    opts.profile = "ops";
    start();
    bd_credentials_t *c = bd_credentials_acquire(p);
    ASSERT_NE(nullptr, c);
    EXPECT_EQ("AKIDOPS", c->sigv4.access_key_id);
    EXPECT_EQ("TOPS", c->sigv4.session_token);
    EXPECT_EQ("profile ops", c->source);
    bd_credentials_release(c);
}

TEST_F(CredentialsProviderTest, AwsProfileSelectsProfileInAutoMode)
{
    env.vars["AWS_PROFILE"] = "blue";
    env.vars["AWS_SHARED_CREDENTIALS_FILE"] = dir.write(
        "c", "[default]\naws_access_key_id = AKIDDEF\naws_secret_access_key = SDEF\n"
             "[blue]\naws_access_key_id = AKIDBLUE\naws_secret_access_key = SBLUE\n");
    start();
    bd_credentials_t *c = bd_credentials_acquire(p);
    ASSERT_NE(nullptr, c);
    EXPECT_EQ("AKIDBLUE", c->sigv4.access_key_id);
    bd_credentials_release(c);
}

TEST_F(CredentialsProviderTest, ExplicitSourceMissingIsNotReady)
{
    opts.source = BD_CREDENTIALS_PROFILE;
    opts.profile = "nope";
    start();
    int ready;
    EXPECT_EQ("profile: profile nope not found in the shared config files", status(&ready));
    EXPECT_EQ(0, ready);
}

TEST_F(CredentialsProviderTest, UnsupportedAssumeRoleProfileIsReported)
{
    env.vars["AWS_CONFIG_FILE"] = dir.write(
        "cfg", "[profile x]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = default\n");
    env.vars["AWS_PROFILE"] = "x";
    start();
    int ready;
    std::string r = status(&ready);
    EXPECT_EQ(0, ready);
    EXPECT_NE(std::string::npos, r.find("role_arn with source_profile")) << r;
}

TEST_F(CredentialsProviderTest, StaticKeysAndValidation)
{
    opts.source = BD_CREDENTIALS_STATIC;
    char err[256] = "";
    EXPECT_EQ(nullptr, bd_credentials_create(&opts, err, sizeof(err)));
    EXPECT_NE('\0', err[0]);
    opts.access_key_id = "AKIDSTATIC";
    opts.secret_access_key = "SSTATIC";
    start();
    bd_credentials_t *c = bd_credentials_acquire(p);
    ASSERT_NE(nullptr, c);
    EXPECT_EQ("AKIDSTATIC", c->sigv4.access_key_id);
    EXPECT_EQ("static", c->source);
    bd_credentials_release(c);
}

TEST_F(CredentialsProviderTest, BearerTokenFromEnvWinsInAutoMode)
{
    env.vars["AWS_BEARER_TOKEN_BEDROCK"] = "bedrock-api-key-abc";
    env.vars["AWS_ACCESS_KEY_ID"] = "AKIDENV";
    env.vars["AWS_SECRET_ACCESS_KEY"] = "SECRETENV";
    start();
    bd_credentials_t *c = bd_credentials_acquire(p);
    ASSERT_NE(nullptr, c);
    EXPECT_EQ("bedrock-api-key-abc", c->bearer_token);
    EXPECT_EQ("", c->sigv4.access_key_id);
    EXPECT_EQ("bearer", c->source);
    bd_credentials_release(c);
}

TEST_F(CredentialsProviderTest, BearerTokenFromOptions)
{
    opts.source = BD_CREDENTIALS_BEARER;
    opts.bearer_token = "conf-key";
    start();
    bd_credentials_t *c = bd_credentials_acquire(p);
    ASSERT_NE(nullptr, c);
    EXPECT_EQ("conf-key", c->bearer_token);
    bd_credentials_release(c);
}

TEST_F(CredentialsProviderTest, NothingFoundIsNotFatalAndKeepsRetrying)
{
    opts.retry_min_ms = 1;
    opts.retry_max_ms = 1;
    start();
    EXPECT_EQ(nullptr, bd_credentials_acquire(p));
    int ready;
    EXPECT_EQ("no AWS credentials found (tried env, profile default, web identity, container, "
              "imds)",
              status(&ready));
    EXPECT_EQ(0, ready);
    /* The refresh thread goes on trying without anyone asking. */
    EXPECT_GE(bd_credentials_wait(p, 2, 10000), 3u);
    bd_credentials_info_t in;
    bd_credentials_info(p, &in);
    EXPECT_GE(in.failures, 3u);
    EXPECT_FALSE(in.ready);
}

TEST_F(CredentialsProviderTest, BackoffGrowsToTheCap)
{
    bd_test_clock_t clock;
    clock.now_ms = BD_TEST_T0;
    opts.clock = bd_test_clock_t::read;
    opts.clock_data = &clock;
    opts.retry_min_ms = 1000;
    opts.retry_max_ms = 30000;
    start();
    int64_t expect[] = {1000, 2000, 4000, 8000, 16000, 30000, 30000};
    uint64_t seen = 1;
    for (int64_t delay : expect) {
        bd_credentials_info_t in;
        bd_credentials_info(p, &in);
        ASSERT_EQ(seen, in.attempts);
        EXPECT_EQ(clock.now_ms.load() + delay, in.next_refresh_ms);
        clock.now_ms = in.next_refresh_ms;
        bd_credentials_wake(p);
        seen = bd_credentials_wait(p, seen, 10000);
    }
}

TEST_F(CredentialsProviderTest, ExpiredEnvCredentialsAreNeverHandedOut)
{
    bd_test_clock_t clock;
    clock.now_ms = BD_TEST_T0;
    opts.clock = bd_test_clock_t::read;
    opts.clock_data = &clock;
    env.vars["AWS_ACCESS_KEY_ID"] = "AKIDENV";
    env.vars["AWS_SECRET_ACCESS_KEY"] = "SECRETENV";
    env.vars["AWS_CREDENTIAL_EXPIRATION"] = "2030-01-01T01:00:00Z"; /* T0 + 1 h */
    start();
    bd_credentials_t *c = bd_credentials_acquire(p);
    ASSERT_NE(nullptr, c);
    EXPECT_EQ(BD_TEST_T0 + 3600000, c->expiration_ms);
    /* Held sets stay valid for their holder; new acquires see nothing once expired. */
    clock.now_ms = BD_TEST_T0 + 3600000 - 10000; /* inside the default 10 s margin */
    EXPECT_EQ(nullptr, bd_credentials_acquire(p));
    EXPECT_EQ("AKIDENV", c->sigv4.access_key_id);
    bd_credentials_release(c);
    int ready;
    std::string r = status(&ready);
    EXPECT_EQ(0, ready);
    EXPECT_EQ(0u, r.find("credentials from env expired at 2030-01-01T01:00:00Z")) << r;
}
