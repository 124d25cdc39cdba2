/*
 * bd_credentials_parse_test.cc: RFC 3339 times, container/IMDS JSON, STS XML and form
 * encoding, the pure parsers behind the credential sources.
 */
#include <gtest/gtest.h>
#include <string.h>

#include "core/aws/bd_credentials_int.h"

static int64_t
parse_ms(const char *s)
{
    int64_t ms = -1;
    EXPECT_EQ(0, bd_credentials_parse_time(s, strlen(s), &ms)) << s;
    return ms;
}

TEST(CredentialsTime, ParsesUtcFractionAndOffsets)
{
    EXPECT_EQ(1705323600000LL, parse_ms("2024-01-15T13:00:00Z"));
    EXPECT_EQ(1705323600123LL, parse_ms("2024-01-15T13:00:00.123456Z"));
    EXPECT_EQ(1705323600500LL, parse_ms("2024-01-15T13:00:00.5Z"));
    EXPECT_EQ(1705323600000LL, parse_ms("2024-01-15T15:00:00+02:00"));
    EXPECT_EQ(1705323600000LL, parse_ms("2024-01-15T08:30:00-04:30"));
    EXPECT_EQ(951782400000LL, parse_ms("2000-02-29T00:00:00Z"));
}

TEST(CredentialsTime, RejectsMalformed)
{
    const char *bad[] = {"", "2024-01-15", "2024-01-15T13:00:00", "2024-13-15T13:00:00Z",
                         "2024-01-15T13:00:00Zjunk", "2024-01-15T13:00Z", "2024-01-15T13:00:00.Z",
                         "24-01-15T13:00:00Z"};
    for (const char *s : bad) {
        int64_t ms;
        EXPECT_EQ(-1, bd_credentials_parse_time(s, strlen(s), &ms)) << s;
    }
}

TEST(CredentialsTime, FormatRoundTrips)
{
    char buf[32];
    bd_credentials_format_time(1705323600000LL, buf, sizeof(buf));
    EXPECT_STREQ("2024-01-15T13:00:00Z", buf);
}

TEST(CredentialsJson, ReadsImdsAnswer)
{
    const char *body = "{\n  \"Code\" : \"Success\",\n  \"LastUpdated\" : \"2024-01-15T12:00:00Z\","
                       "\n  \"Type\" : \"AWS-HMAC\",\n  \"AccessKeyId\" : \"ASIAEXAMPLE\",\n"
                       "  \"SecretAccessKey\" : \"se\\/cr\\\"et\",\n  \"Token\" : \"tok\\u00e9n\","
                       "\n  \"Expiration\" : \"2024-01-15T18:00:00Z\"\n}";
    bd_credentials_result_t res;
    ASSERT_EQ(0, bd_credentials_parse_json(body, strlen(body), &res)) << res.error;
    EXPECT_EQ("ASIAEXAMPLE", res.access_key_id);
    EXPECT_EQ("se/cr\"et", res.secret_access_key);
    EXPECT_EQ("tok\xc3\xa9n", res.session_token);
    EXPECT_EQ(1705341600000LL, res.expiration_ms);
}

TEST(CredentialsJson, SkipsNestedValuesAndDecodesSurrogates)
{
    const char *body = "{\"a\":{\"Token\":\"inner\",\"x\":[1,2.5e3,true,null,{\"y\":\"}\"}]},"
                       "\"Token\":\"\\ud83d\\ude00\"}";
    std::string v;
    EXPECT_EQ(1, bd_credentials_json_string(body, strlen(body), "Token", &v));
    EXPECT_EQ("\xf0\x9f\x98\x80", v);
    EXPECT_EQ(0, bd_credentials_json_string(body, strlen(body), "Missing", &v));
}

TEST(CredentialsJson, RejectsMalformed)
{
    const char *bad[] = {"", "[]", "{\"a\":}", "{\"a\":\"x\"", "{\"a\":\"\\ud800\"}",
                         "{\"a\":\"tab\there\"}", "{\"a\":1,}", "{\"a\" \"b\"}", "{\"a\":bogus}"};
    for (const char *s : bad) {
        std::string v;
        EXPECT_EQ(-1, bd_credentials_json_string(s, strlen(s), "a", &v)) << s;
    }
}

TEST(CredentialsJson, ReportsErrorsAndMissingFields)
{
    bd_credentials_result_t res;
    const char *err = "{\"Code\":\"AccessDenied\",\"Message\":\"no role\"}";
    EXPECT_EQ(-1, bd_credentials_parse_json(err, strlen(err), &res));
    EXPECT_EQ("AccessDenied: no role", res.error);
    const char *partial = "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\",\"Token\":\"T\"}";
    EXPECT_EQ(-1, bd_credentials_parse_json(partial, strlen(partial), &res));
    EXPECT_NE(std::string::npos, res.error.find("Expiration"));
    const char *badtime = "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\",\"Token\":\"T\","
                          "\"Expiration\":\"tomorrow\"}";
    EXPECT_EQ(-1, bd_credentials_parse_json(badtime, strlen(badtime), &res));
    EXPECT_NE(std::string::npos, res.error.find("tomorrow"));
}

static const char bd_sts_ok[] =
    "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
    "  <AssumeRoleWithWebIdentityResult>\n"
    "    <SubjectFromWebIdentityToken>system:serviceaccount:gw</SubjectFromWebIdentityToken>\n"
    "    <Audience>sts.amazonaws.com</Audience>\n"
    "    <AssumedRoleUser><AssumedRoleId>AROA:gw-1</AssumedRoleId><Arn>arn:x</Arn>"
    "</AssumedRoleUser>\n"
    "    <Credentials>\n"
    "      <AccessKeyId>ASIASTS</AccessKeyId>\n"
    "      <SecretAccessKey>s&amp;e&lt;c&#x2F;r&#47;et</SecretAccessKey>\n"
    "      <SessionToken>FwoG&quot;token&quot;</SessionToken>\n"
    "      <Expiration>2024-01-15T13:00:00Z</Expiration>\n"
    "    </Credentials>\n"
    "    <Provider>oidc</Provider>\n"
    "  </AssumeRoleWithWebIdentityResult>\n"
    "  <ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata>\n"
    "</AssumeRoleWithWebIdentityResponse>\n";

TEST(CredentialsXml, ReadsStsCredentials)
{
    bd_credentials_result_t res;
    ASSERT_EQ(0, bd_credentials_parse_sts_xml(bd_sts_ok, strlen(bd_sts_ok), &res)) << res.error;
    EXPECT_EQ("ASIASTS", res.access_key_id);
    EXPECT_EQ("s&e<c/r/et", res.secret_access_key);
    EXPECT_EQ("FwoG\"token\"", res.session_token);
    EXPECT_EQ(1705323600000LL, res.expiration_ms);
}

TEST(CredentialsXml, ReadsStsError)
{
    const char *body = "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
                       "<Error><Type>Sender</Type><Code>InvalidIdentityToken</Code>"
                       "<Message>Token &lt;expired&gt;</Message></Error>"
                       "<RequestId>r</RequestId></ErrorResponse>";
    bd_credentials_result_t res;
    EXPECT_EQ(-1, bd_credentials_parse_sts_xml(body, strlen(body), &res));
    EXPECT_EQ("InvalidIdentityToken: Token <expired>", res.error);
}

TEST(CredentialsXml, PrefixNamesDoNotMatchAndIncompleteFails)
{
    const char *body = "<AccessKeyIdX>no</AccessKeyIdX><AccessKeyId>yes</AccessKeyId>";
    std::string v;
    EXPECT_EQ(1, bd_credentials_xml_text(body, strlen(body), "AccessKeyId", &v));
    EXPECT_EQ("yes", v);
    const char *partial = "<AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>A"
                          "</AccessKeyId></Credentials></AssumeRoleWithWebIdentityResult>";
    bd_credentials_result_t res;
    EXPECT_EQ(-1, bd_credentials_parse_sts_xml(partial, strlen(partial), &res));
    EXPECT_EQ(-1, bd_credentials_parse_sts_xml("garbage", 7, &res));
}

TEST(CredentialsForm, EncodesReservedCharacters)
{
    EXPECT_EQ("arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fgw",
              bd_credentials_form_encode("arn:aws:iam::123456789012:role/gw"));
    EXPECT_EQ("eyJ.a%2Bb%2Fc%3D-_~", bd_credentials_form_encode("eyJ.a+b/c=-_~"));
    EXPECT_EQ("a%20b%C3%A9", bd_credentials_form_encode("a b\xc3\xa9"));
}
