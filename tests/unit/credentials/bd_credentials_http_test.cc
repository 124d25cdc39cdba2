/*
 * bd_credentials_http_test.cc: the network sources against a stand-in on 127.0.0.1,
 * reached through the SDKs' endpoint overrides: container (full URI + token), EC2
 * IMDSv2 (PUT token, role, credentials), STS web identity; and the refresh schedule,
 * driven by an injected clock or by short-lived credentials from the stand-in.
 */
#include <gtest/gtest.h>

#include "core/aws/bd_credentials_int.h"
#include "tests/unit/credentials/bd_credentials_test_util.h"
#include "tests/unit/credentials/bd_fake_http.h"

static std::string
creds_json(const std::string &akid, const std::string &expiration)
{
    return "{\"Code\":\"Success\",\"Type\":\"AWS-HMAC\",\"AccessKeyId\":\"" + akid
           + "\",\"SecretAccessKey\":\"secret-" + akid + "\",\"Token\":\"token-" + akid
           + "\",\"Expiration\":\"" + expiration + "\",\"RoleArn\":\"arn:x\"}";
}

static const char BD_IMDS_LIST[] = "/latest/meta-data/iam/security-credentials/";

struct CredentialsHttpTest : ::testing::Test {
    bd_fake_http_t srv;
    bd_test_dir_t dir;
    bd_test_env_t env;
    bd_test_clock_t clock;
    bd_credentials_options_t opts = {};
    bd_credentials_provider_t *p = nullptr;

    void
    SetUp() override
    {
        ASSERT_TRUE(bd_fake_http_start(&srv));
        env.vars["HOME"] = dir.path;
        env.vars["AWS_EC2_METADATA_DISABLED"] = "true";
        opts.env = env.view();
        opts.http_timeout_ms = 5000;
        opts.sts_timeout_ms = 5000;
    }
    void
    TearDown() override
    {
        bd_credentials_destroy(p);
        bd_fake_http_stop(&srv);
    }
    void
    use_clock(int64_t now)
    {
        clock.now_ms = now;
        opts.clock = bd_test_clock_t::read;
        opts.clock_data = &clock;
    }
    void
    start()
    {
        char err[256] = "";
        p = bd_credentials_create(&opts, err, sizeof(err));
        ASSERT_NE(nullptr, p) << err;
        ASSERT_GE(bd_credentials_wait(p, 0, 10000), 1u);
    }
    std::string
    reason()
    {
        char buf[512];
        bd_credentials_status(p, buf, sizeof(buf));
        return buf;
    }
    void
    imds_serve(const std::string &akid, const std::string &expiration)
    {
        env.vars.erase("AWS_EC2_METADATA_DISABLED");
        env.vars["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = bd_fake_http_url(&srv, "/");
        imds_routes(akid, expiration);
    }
    /* The routes alone: what a test may change while the provider's thread reads
     * the environment (the fake server locks its routes; the env map has no lock). */
    void
    imds_routes(const std::string &akid, const std::string &expiration)
    {
        bd_fake_http_route(&srv, "PUT", "/latest/api/token", 200, "imds-session-token");
        bd_fake_http_route(&srv, "GET", BD_IMDS_LIST, 200, "gateway-role\n");
        bd_fake_http_route(&srv, "GET", std::string(BD_IMDS_LIST) + "gateway-role", 200,
                           creds_json(akid, expiration));
    }
};

TEST_F(CredentialsHttpTest, ContainerFullUriWithTokenFile)
{
    bd_fake_http_route(&srv, "GET", "/v1/credentials", 200,
                       creds_json("ASIACONT", "2030-01-01T06:00:00Z"));
    env.vars["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = bd_fake_http_url(&srv, "/v1/credentials");
    env.vars["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "from-env";
    env.vars["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = dir.write("tok", "from-file\n");
    use_clock(BD_TEST_T0);
    start();
    bd_credentials_t *c = bd_credentials_acquire(p);
    ASSERT_NE(nullptr, c) << reason();
    EXPECT_EQ("ASIACONT", c->sigv4.access_key_id);
    EXPECT_EQ("secret-ASIACONT", c->sigv4.secret_access_key);
    EXPECT_EQ("token-ASIACONT", c->sigv4.session_token);
    EXPECT_EQ(BD_TEST_T0 + 6 * 3600000LL, c->expiration_ms);
    EXPECT_EQ("container", c->source);
    bd_credentials_release(c);
    auto reqs = bd_fake_http_requests(&srv);
    ASSERT_EQ(1u, reqs.size());
    EXPECT_EQ("GET", reqs[0].method);
    EXPECT_EQ("from-file", reqs[0].headers["authorization"]); /* the file wins, raw */
    EXPECT_EQ("application/json", reqs[0].headers["accept"]);
    EXPECT_EQ("credentials from container, expire at 2030-01-01T06:00:00Z", reason());
}

TEST_F(CredentialsHttpTest, ContainerTokenFromEnvAndErrorBody)
{
    bd_fake_http_route(&srv, "GET", "/creds", 403,
                       "{\"Code\":\"AccessDenied\",\"Message\":\"bad token\"}");
    env.vars["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = bd_fake_http_url(&srv, "/creds");
    env.vars["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "env-token";
    opts.source = BD_CREDENTIALS_CONTAINER;
    start();
    EXPECT_EQ(nullptr, bd_credentials_acquire(p));
    auto reqs = bd_fake_http_requests(&srv);
    ASSERT_GE(reqs.size(), 1u);
    EXPECT_EQ("env-token", reqs[0].headers["authorization"]);
    std::string r = reason();
    EXPECT_NE(std::string::npos, r.find("HTTP 403: bad token")) << r;
    EXPECT_EQ(0u, r.find("container: ")) << r;
}

TEST_F(CredentialsHttpTest, ContainerFullUriMustBeLoopbackOrHttps)
{
    env.vars["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://192.0.2.10/creds";
    start();
    std::string r = reason();
    EXPECT_NE(std::string::npos, r.find("must be https or http to a loopback")) << r;
    EXPECT_EQ(0u, bd_fake_http_requests(&srv).size());
}

TEST_F(CredentialsHttpTest, ContainerRelativeUriWinsOverFullUri)
{
    /* The relative URI always goes to the ECS agent address, never to the stand-in. */
    env.vars["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] = "/v2/credentials/abc";
    env.vars["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = bd_fake_http_url(&srv, "/creds");
    opts.http_timeout_ms = 200;
    start();
    std::string r = reason();
    EXPECT_NE(std::string::npos, r.find("GET http://169.254.170.2/v2/credentials/abc")) << r;
    EXPECT_EQ(0u, bd_fake_http_requests(&srv).size());
}

TEST_F(CredentialsHttpTest, ContainerTokenWithLineBreakIsRejected)
{
    env.vars["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = bd_fake_http_url(&srv, "/creds");
    env.vars["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "a\r\nX-Injected: 1";
    start();
    EXPECT_NE(std::string::npos, reason().find("line break"));
    EXPECT_EQ(0u, bd_fake_http_requests(&srv).size());
}

TEST_F(CredentialsHttpTest, ImdsV2RequestShapes)
{
    imds_serve("ASIAIMDS", "2030-01-01T01:00:00Z");
    use_clock(BD_TEST_T0);
    start();
    bd_credentials_t *c = bd_credentials_acquire(p);
    ASSERT_NE(nullptr, c) << reason();
    EXPECT_EQ("ASIAIMDS", c->sigv4.access_key_id);
    EXPECT_EQ("token-ASIAIMDS", c->sigv4.session_token);
    EXPECT_EQ(BD_TEST_T0 + 3600000, c->expiration_ms);
    EXPECT_EQ("imds", c->source);
    bd_credentials_release(c);
    auto reqs = bd_fake_http_requests(&srv);
    ASSERT_EQ(3u, reqs.size());
    EXPECT_EQ("PUT", reqs[0].method);
    EXPECT_EQ("/latest/api/token", reqs[0].uri);
    EXPECT_EQ("21600", reqs[0].headers["x-aws-ec2-metadata-token-ttl-seconds"]);
    EXPECT_EQ("GET", reqs[1].method);
    EXPECT_EQ(BD_IMDS_LIST, reqs[1].uri);
    EXPECT_EQ("imds-session-token", reqs[1].headers["x-aws-ec2-metadata-token"]);
    EXPECT_EQ(std::string(BD_IMDS_LIST) + "gateway-role", reqs[2].uri);
    EXPECT_EQ("imds-session-token", reqs[2].headers["x-aws-ec2-metadata-token"]);
}

TEST_F(CredentialsHttpTest, ImdsFallsBackToV1OnlyWhenAllowed)
{
    imds_serve("ASIAV1", "2030-01-01T01:00:00Z");
    bd_fake_http_route(&srv, "PUT", "/latest/api/token", 403, "");
    use_clock(BD_TEST_T0);
    start();
    bd_credentials_t *c = bd_credentials_acquire(p);
    ASSERT_NE(nullptr, c) << reason();
    bd_credentials_release(c);
    auto reqs = bd_fake_http_requests(&srv);
    ASSERT_EQ(3u, reqs.size());
    EXPECT_EQ(0u, reqs[1].headers.count("x-aws-ec2-metadata-token"));
    bd_credentials_destroy(p);
    p = nullptr;

    env.vars["AWS_EC2_METADATA_V1_DISABLED"] = "true";
    start();
    EXPECT_EQ(nullptr, bd_credentials_acquire(p));
    EXPECT_NE(std::string::npos, reason().find("/latest/api/token: HTTP 403")) << reason();
}

TEST_F(CredentialsHttpTest, NoCredentialsReasonNamesTheImdsError)
{
    env.vars.erase("AWS_EC2_METADATA_DISABLED");
    env.vars["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = bd_fake_http_url(&srv, "");
    bd_fake_http_route(&srv, "PUT", "/latest/api/token", 200, "t");
    start();
    std::string r = reason();
    EXPECT_EQ(0u, r.find("no AWS credentials found (tried env, profile default, web identity, "
                         "container, imds: GET "))
        << r;
    EXPECT_NE(std::string::npos, r.find("HTTP 404 (no IAM role attached?))")) << r;
}

TEST_F(CredentialsHttpTest, ImdsAppearingLaterMakesTheProviderReady)
{
    env.vars.erase("AWS_EC2_METADATA_DISABLED");
    env.vars["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = bd_fake_http_url(&srv, "");
    opts.retry_min_ms = 1;
    opts.retry_max_ms = 1;
    start();
    EXPECT_EQ(nullptr, bd_credentials_acquire(p));
    imds_routes("ASIALATE", "2099-01-01T00:00:00Z");
    uint64_t seen = bd_credentials_wait(p, 0, 0);
    bd_credentials_t *c = nullptr;
    for (int i = 0; i < 1000 && c == nullptr; i++) {
        seen = bd_credentials_wait(p, seen, 10000);
        c = bd_credentials_acquire(p);
    }
    ASSERT_NE(nullptr, c);
    EXPECT_EQ("ASIALATE", c->sigv4.access_key_id);
    bd_credentials_release(c);
}

TEST_F(CredentialsHttpTest, RefreshBeforeExpiryWithInjectedClock)
{
    imds_serve("ASIAONE", "2030-01-01T01:00:00Z"); /* T0 + 1 h */
    use_clock(BD_TEST_T0);
    start();
    bd_credentials_info_t in;
    bd_credentials_info(p, &in);
    EXPECT_EQ(BD_TEST_T0 + 55 * 60000, in.next_refresh_ms); /* 5 min before expiry */

    /* The refresh fails: the old set keeps serving and a retry is scheduled. */
    bd_fake_http_route(&srv, "GET", std::string(BD_IMDS_LIST) + "gateway-role", 500, "oops");
    clock.now_ms = in.next_refresh_ms;
    bd_credentials_wake(p);
    ASSERT_EQ(2u, bd_credentials_wait(p, 1, 10000));
    bd_credentials_info(p, &in);
    EXPECT_EQ(1u, in.failures);
    EXPECT_EQ(clock.now_ms.load() + 1000, in.next_refresh_ms);
    bd_credentials_t *c = bd_credentials_acquire(p);
    ASSERT_NE(nullptr, c);
    EXPECT_EQ("ASIAONE", c->sigv4.access_key_id);
    bd_credentials_release(c);

    /* The retry succeeds with a new set. */
    bd_fake_http_route(&srv, "GET", std::string(BD_IMDS_LIST) + "gateway-role", 200,
                       creds_json("ASIATWO", "2030-01-01T02:00:00Z"));
    clock.now_ms = in.next_refresh_ms;
    bd_credentials_wake(p);
    ASSERT_EQ(3u, bd_credentials_wait(p, 2, 10000));
    c = bd_credentials_acquire(p);
    ASSERT_NE(nullptr, c);
    EXPECT_EQ("ASIATWO", c->sigv4.access_key_id);
    EXPECT_EQ(BD_TEST_T0 + 7200000, c->expiration_ms);
    bd_credentials_release(c);
    bd_credentials_info(p, &in);
    EXPECT_EQ(BD_TEST_T0 + 7200000 - 300000, in.next_refresh_ms);
    EXPECT_EQ("", in.last_error);
}

TEST_F(CredentialsHttpTest, FailingRefreshNeverHandsOutExpiredCredentials)
{
    imds_serve("ASIAONE", "2030-01-01T01:00:00Z");
    use_clock(BD_TEST_T0);
    start();
    bd_fake_http_route(&srv, "PUT", "/latest/api/token", 500, "");
    clock.now_ms = BD_TEST_T0 + 3600000 - 5000; /* within the margin of expiry */
    bd_credentials_wake(p);
    ASSERT_EQ(2u, bd_credentials_wait(p, 1, 10000));
    EXPECT_EQ(nullptr, bd_credentials_acquire(p));
    std::string r = reason();
    EXPECT_EQ(0u, r.find("credentials from imds expired at 2030-01-01T01:00:00Z; refresh "
                         "failing: no AWS credentials found (tried env, profile default, web "
                         "identity, container, imds: PUT "))
        << r;
}

TEST_F(CredentialsHttpTest, ShortLivedCredentialsRefreshAtThreeQuarters)
{
    /* Real clock: the stand-in hands out a set living 2-3 s; the refresh thread must
     * fetch again on its own, before expiry, without being woken. */
    opts.expiry_margin_ms = 1;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char exp[32];
    bd_credentials_format_time(((int64_t)ts.tv_sec + 3) * 1000, exp, sizeof(exp));
    imds_serve("ASIASHORT", exp);
    start();
    bd_credentials_info_t in;
    bd_credentials_info(p, &in);
    ASSERT_EQ(0u, in.failures) << in.last_error;
    EXPECT_LT(in.next_refresh_ms, in.expiration_ms);
    EXPECT_GT(in.next_refresh_ms, in.last_success_ms);
    ASSERT_GE(bd_credentials_wait(p, 1, 10000), 2u);
    auto reqs = bd_fake_http_requests(&srv);
    ASSERT_GE(reqs.size(), 6u);
    EXPECT_EQ("PUT", reqs[3].method);
    EXPECT_EQ(std::string(BD_IMDS_LIST) + "gateway-role", reqs[5].uri);
}

TEST_F(CredentialsHttpTest, ForcedRefreshFetchesAgain)
{
    imds_serve("ASIAONE", "2099-01-01T00:00:00Z");
    start();
    bd_fake_http_route(&srv, "GET", std::string(BD_IMDS_LIST) + "gateway-role", 200,
                       creds_json("ASIAFORCED", "2099-01-01T00:00:00Z"));
    bd_credentials_refresh(p);
    ASSERT_EQ(2u, bd_credentials_wait(p, 1, 10000));
    bd_credentials_t *c = bd_credentials_acquire(p);
    ASSERT_NE(nullptr, c);
    EXPECT_EQ("ASIAFORCED", c->sigv4.access_key_id);
    bd_credentials_release(c);
}

static const char bd_sts_answer[] =
    "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
    "<AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>ASIAWEB</AccessKeyId>"
    "<SecretAccessKey>web/secret+key</SecretAccessKey><SessionToken>web-token</SessionToken>"
    "<Expiration>2030-01-01T01:00:00Z</Expiration></Credentials>"
    "<SubjectFromWebIdentityToken>sub</SubjectFromWebIdentityToken>"
    "</AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>1</RequestId>"
    "</ResponseMetadata></AssumeRoleWithWebIdentityResponse>";

TEST_F(CredentialsHttpTest, WebIdentityThroughSts)
{
    bd_fake_http_route(&srv, "POST", "/", 200, bd_sts_answer);
    env.vars["AWS_ENDPOINT_URL_STS"] = bd_fake_http_url(&srv, "");
    env.vars["AWS_WEB_IDENTITY_TOKEN_FILE"] = dir.write("jwt", "eyJ.a+b/c=\n");
    env.vars["AWS_ROLE_ARN"] = "arn:aws:iam::123456789012:role/gw";
    env.vars["AWS_ROLE_SESSION_NAME"] = "gw-1";
    env.vars["AWS_REGION"] = "eu-west-1";
    use_clock(BD_TEST_T0);
    start();
    bd_credentials_t *c = bd_credentials_acquire(p);
    ASSERT_NE(nullptr, c) << reason();
    EXPECT_EQ("ASIAWEB", c->sigv4.access_key_id);
    EXPECT_EQ("web/secret+key", c->sigv4.secret_access_key);
    EXPECT_EQ("web-token", c->sigv4.session_token);
    EXPECT_EQ(BD_TEST_T0 + 3600000, c->expiration_ms);
    EXPECT_EQ("web identity", c->source);
    bd_credentials_release(c);
    auto reqs = bd_fake_http_requests(&srv);
    ASSERT_EQ(1u, reqs.size());
    EXPECT_EQ("POST", reqs[0].method);
    EXPECT_EQ("/", reqs[0].uri);
    EXPECT_EQ("application/x-www-form-urlencoded", reqs[0].headers["content-type"]);
    EXPECT_EQ(0u, reqs[0].headers.count("authorization")); /* the operation is unsigned */
    EXPECT_EQ("Action=AssumeRoleWithWebIdentity&Version=2011-06-15"
              "&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fgw&RoleSessionName=gw-1"
              "&WebIdentityToken=eyJ.a%2Bb%2Fc%3D",
              reqs[0].body);
}

TEST_F(CredentialsHttpTest, WebIdentityFromProfileAndStsError)
{
    bd_fake_http_route(&srv, "POST", "/sts/", 400,
                       "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidIdentityToken"
                       "</Code><Message>Couldn't retrieve verification key</Message></Error>"
                       "<RequestId>x</RequestId></ErrorResponse>");
    env.vars["AWS_ENDPOINT_URL"] = bd_fake_http_url(&srv, "/sts");
    env.vars["AWS_CONFIG_FILE"] = dir.write(
        "cfg", "[default]\nrole_arn = arn:aws:iam::1:role/r\nweb_identity_token_file = "
                   + dir.path + "/jwt\nrole_session_name = from-profile\n");
    dir.write("jwt", "tok");
    start();
    EXPECT_EQ(nullptr, bd_credentials_acquire(p));
    std::string r = reason();
    EXPECT_NE(std::string::npos,
              r.find("sts: HTTP 400: InvalidIdentityToken: Couldn't retrieve verification key"))
        << r;
    auto reqs = bd_fake_http_requests(&srv);
    ASSERT_EQ(1u, reqs.size());
    EXPECT_NE(std::string::npos, reqs[0].body.find("&RoleSessionName=from-profile&"));
}

TEST_F(CredentialsHttpTest, WebIdentityDefaultSessionNameAndConfEndpoint)
{
    bd_fake_http_route(&srv, "POST", "/", 200, bd_sts_answer);
    env.vars["AWS_ENDPOINT_URL_STS"] = "http://192.0.2.1:1"; /* conf wins over env */
    opts.sts_endpoint = nullptr;
    std::string url = bd_fake_http_url(&srv, "");
    opts.sts_endpoint = url.c_str();
    env.vars["AWS_WEB_IDENTITY_TOKEN_FILE"] = dir.write("jwt", "tok");
    env.vars["AWS_ROLE_ARN"] = "arn:aws:iam::1:role/r";
    opts.source = BD_CREDENTIALS_WEB_IDENTITY;
    use_clock(BD_TEST_T0);
    start();
    bd_credentials_t *c = bd_credentials_acquire(p);
    ASSERT_NE(nullptr, c) << reason();
    bd_credentials_release(c);
    auto reqs = bd_fake_http_requests(&srv);
    ASSERT_EQ(1u, reqs.size());
    EXPECT_NE(std::string::npos,
              reqs[0].body.find("&RoleSessionName=bedrockd-" + std::to_string(BD_TEST_T0) + "&"));
}
