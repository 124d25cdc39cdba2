/*
 * bd_sigv4_test.cc: SigV4 against the vectors of aws-protocols.md section 5.4 (the official
 * aws-sig-v4 suite and @smithy/signature-v4 output), plus URI, query and header rules.
 * Single-threaded; every expected value comes from an independent signer.
 */
#include "core/aws/bd_sigv4.h"

#include <gtest/gtest.h>
#include <string.h>

namespace {

const char kAkid[] = "AKIDEXAMPLE";
const char kSecret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const int64_t kTime2015 = 1440938160; /* 2015-08-30T12:36:00Z */
const int64_t kTime2024 = 1705320000; /* 2024-01-15T12:00:00Z */

bd_sigv4_credentials_t
Creds(const char *token = "")
{
    bd_sigv4_credentials_t c;
    c.access_key_id = kAkid;
    c.secret_access_key = kSecret;
    c.session_token = token;
    return c;
}

bd_sigv4_request_t
Request(const char *method, const char *host, const char *path, const char *region,
        const char *service, int64_t t, const std::string *body = nullptr)
{
    bd_sigv4_request_t r;
    r.method = method;
    r.host = host;
    r.path = path;
    r.body = body ? body->data() : nullptr;
    r.body_len = body ? body->size() : 0;
    r.region = region;
    r.service = service;
    r.time_s = t;
    r.add_content_sha256 = false;
    return r;
}

std::string
Hex(const unsigned char *p, size_t n)
{
    std::string s;
    char b[3];
    for (size_t i = 0; i < n; i++) {
        snprintf(b, sizeof(b), "%02x", p[i]);
        s += b;
    }
    return s;
}

std::string
LastLine(const std::string &s)
{
    return s.substr(s.rfind('\n') + 1);
}

const std::string *
FindHeader(const bd_sigv4_result_t &r, const char *name)
{
    for (const bd_sigv4_header_t &h : r.add_headers) {
        if (h.name == name) {
            return &h.value;
        }
    }
    return nullptr;
}

TEST(SigV4, EmptyHashAndAmzDate)
{
    EXPECT_EQ("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
              bd_sigv4_sha256_hex("", 0));
    EXPECT_EQ("20150830T123600Z", bd_sigv4_amz_date(kTime2015));
    EXPECT_EQ("20240115T120000Z", bd_sigv4_amz_date(kTime2024));
}

TEST(SigV4, V0GetVanilla)
{
    unsigned char k[32];
    bd_sigv4_signing_key(kSecret, "20150830", "us-east-1", "service", k);
    EXPECT_EQ("938127b5336810ddb6a5d6af445fcac9e371f9ed418ed386b022aed82901be75", Hex(k, 32));

    bd_sigv4_request_t r =
        Request("GET", "example.amazonaws.com", "/", "us-east-1", "service", kTime2015);
    bd_sigv4_credentials_t c = Creds();
    bd_sigv4_result_t out;
    ASSERT_EQ(0, bd_sigv4_sign(&r, &c, &out));
    EXPECT_EQ("GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
              "host;x-amz-date\n"
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
              out.canonical_request);
    EXPECT_EQ("bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
              LastLine(out.string_to_sign));
    EXPECT_EQ("host;x-amz-date", out.signed_headers);
    EXPECT_EQ("5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31", out.signature);
    EXPECT_EQ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
              "SignedHeaders=host;x-amz-date, "
              "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
              out.authorization);
    ASSERT_NE(nullptr, FindHeader(out, "x-amz-date"));
    EXPECT_EQ("20150830T123600Z", *FindHeader(out, "x-amz-date"));
    ASSERT_NE(nullptr, FindHeader(out, "authorization"));
    EXPECT_EQ(out.authorization, *FindHeader(out, "authorization"));
    EXPECT_EQ(nullptr, FindHeader(out, "x-amz-security-token"));
    EXPECT_EQ(nullptr, FindHeader(out, "x-amz-content-sha256"));
}

TEST(SigV4, V1Converse)
{
    unsigned char k[32];
    bd_sigv4_signing_key(kSecret, "20240115", "us-east-1", "bedrock", k);
    EXPECT_EQ("d4de7750f444a5199cbf173bfcceb1ef9613ceccaf3e489ccd1a1e1d5755047f", Hex(k, 32));

    std::string body = "{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"Hello\"}]}],"
                       "\"inferenceConfig\":{\"maxTokens\":256}}";
    ASSERT_EQ(95u, body.size());
    std::string path = "/model/" + bd_sigv4_uri_encode("anthropic.claude-3-5-sonnet-20241022-v2:0",
                                                       41, false) + "/converse";
    EXPECT_EQ("/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse", path);
    bd_sigv4_request_t r = Request("POST", "bedrock-runtime.us-east-1.amazonaws.com",
                                   path.c_str(), "us-east-1", "bedrock", kTime2024, &body);
    r.headers.push_back({"Content-Type", "application/json"});
    bd_sigv4_credentials_t c = Creds();
    bd_sigv4_result_t out;
    ASSERT_EQ(0, bd_sigv4_sign(&r, &c, &out));
    EXPECT_EQ("POST\n"
              "/model/anthropic.claude-3-5-sonnet-20241022-v2%253A0/converse\n"
              "\n"
              "content-type:application/json\n"
              "host:bedrock-runtime.us-east-1.amazonaws.com\n"
              "x-amz-date:20240115T120000Z\n"
              "\n"
              "content-type;host;x-amz-date\n"
              "d8695502972bd4d482308b656a524b7a7efcebba591a06801fadba6b39700dd1",
              out.canonical_request);
    EXPECT_EQ("AWS4-HMAC-SHA256\n20240115T120000Z\n20240115/us-east-1/bedrock/aws4_request\n"
              "e61c705ac5742c2941636ed4afb2476913f90cff8d8c8b404c46dc19b3039524",
              out.string_to_sign);
    EXPECT_EQ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240115/us-east-1/bedrock/aws4_request, "
              "SignedHeaders=content-type;host;x-amz-date, "
              "Signature=587d682860d5066fc2c3e7eda28b4915156e37f6d0eb3d1bed2aedb2c7380e39",
              out.authorization);
}

TEST(SigV4, V2ConverseStreamProfileArnTokenContentSha)
{
    std::string body = "{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"Hi\"}]}]}";
    ASSERT_EQ(56u, body.size());
    const char *arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123";
    std::string path =
        "/model/" + bd_sigv4_uri_encode(arn, strlen(arn), false) + "/converse-stream";
    EXPECT_EQ("/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3A"
              "application-inference-profile%2Fabc123/converse-stream",
              path);
    bd_sigv4_request_t r = Request("POST", "bedrock-runtime.us-east-1.amazonaws.com",
                                   path.c_str(), "us-east-1", "bedrock", kTime2024, &body);
    r.headers.push_back({"content-type", "application/json"});
    r.headers.push_back({"Accept", "application/vnd.amazon.eventstream"});
    r.add_content_sha256 = true;
    bd_sigv4_credentials_t c = Creds("FQoGZXIvYXdzEXAMPLETOKEN");
    bd_sigv4_result_t out;
    ASSERT_EQ(0, bd_sigv4_sign(&r, &c, &out));
    EXPECT_EQ("/model/arn%253Aaws%253Abedrock%253Aus-east-1%253A123456789012%253A"
              "application-inference-profile%252Fabc123/converse-stream",
              out.canonical_request.substr(5, out.canonical_request.find('\n', 5) - 5));
    EXPECT_EQ("accept;content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token",
              out.signed_headers);
    EXPECT_EQ("2b126476571593de33631ef06fef94da9e887c6a4eb20db54db03b559f2a3e3f",
              LastLine(out.string_to_sign));
    EXPECT_EQ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240115/us-east-1/bedrock/aws4_request, "
              "SignedHeaders=accept;content-type;host;x-amz-content-sha256;x-amz-date;"
              "x-amz-security-token, "
              "Signature=fb868ea1d0e0f2ac02531cc5e2bfea641953e8ab6ecb50294115385ff0c5f98f",
              out.authorization);
    ASSERT_NE(nullptr, FindHeader(out, "x-amz-content-sha256"));
    EXPECT_EQ("45e583fed2564dc00e823303d7609f8587af7f685b993cb0f998afc0d480b01d",
              *FindHeader(out, "x-amz-content-sha256"));
    ASSERT_NE(nullptr, FindHeader(out, "x-amz-security-token"));
    EXPECT_EQ("FQoGZXIvYXdzEXAMPLETOKEN", *FindHeader(out, "x-amz-security-token"));
}

TEST(SigV4, V3DynamoGetItem)
{
    unsigned char k[32];
    bd_sigv4_signing_key(kSecret, "20240115", "us-west-2", "dynamodb", k);
    EXPECT_EQ("2e1ee6d21f1daf5f160b708d07dd677cbaa1d5656737230c0ecb2c86a186e837", Hex(k, 32));

    std::string body = "{\"TableName\":\"gateway-sessions\","
                       "\"Key\":{\"pk\":{\"S\":\"session#42\"}},\"ConsistentRead\":true}";
    bd_sigv4_request_t r = Request("POST", "dynamodb.us-west-2.amazonaws.com", "/", "us-west-2",
                                   "dynamodb", kTime2024, &body);
    r.headers.push_back({"X-Amz-Target", "DynamoDB_20120810.GetItem"});
    r.headers.push_back({"Content-Type", "application/x-amz-json-1.0"});
    bd_sigv4_credentials_t c = Creds();
    bd_sigv4_result_t out;
    ASSERT_EQ(0, bd_sigv4_sign(&r, &c, &out));
    EXPECT_EQ("POST\n/\n\ncontent-type:application/x-amz-json-1.0\n"
              "host:dynamodb.us-west-2.amazonaws.com\nx-amz-date:20240115T120000Z\n"
              "x-amz-target:DynamoDB_20120810.GetItem\n\n"
              "content-type;host;x-amz-date;x-amz-target\n"
              "a8c1f5767fdec1dff8fb4b037df87daacded6a38137e0aaecaa62a599c1069f1",
              out.canonical_request);
    EXPECT_EQ("421cf086cd99fe2bf4e54ac6ffc0db5025ab049f1be9f354676252ad0de2f864",
              LastLine(out.string_to_sign));
    EXPECT_EQ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240115/us-west-2/dynamodb/aws4_request, "
              "SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
              "Signature=be0a9ebeaa4115f520a45c5498fae23c6099882f0101bd1b721b9781db1cabc0",
              out.authorization);
}

TEST(SigV4, V4QueryString)
{
    bd_sigv4_request_t r = Request("GET", "bedrock.us-west-2.amazonaws.com", "/inference-profiles",
                                   "us-west-2", "bedrock", kTime2024);
    r.query.push_back({"type", "SYSTEM_DEFINED"});
    r.query.push_back({"maxResults", "50"});
    r.query.push_back({"nextToken", "ab+c/d="});
    bd_sigv4_credentials_t c = Creds();
    bd_sigv4_result_t out;
    ASSERT_EQ(0, bd_sigv4_sign(&r, &c, &out));
    EXPECT_EQ("maxResults=50&nextToken=ab%2Bc%2Fd%3D&type=SYSTEM_DEFINED", out.query_string);
    EXPECT_EQ("d6aa2bcc6640947a7c79d04220513dcf6730b64061718596b3925e3bccf1b93a",
              LastLine(out.string_to_sign));
    EXPECT_EQ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240115/us-west-2/bedrock/aws4_request, "
              "SignedHeaders=host;x-amz-date, "
              "Signature=e4fa8d073c1f5594ab008c221bb308944402aab263885ea338e27776d716699c",
              out.authorization);
}

TEST(SigV4, V5GetVanillaWithSessionToken)
{
    bd_sigv4_request_t r =
        Request("GET", "example.amazonaws.com", "/", "us-east-1", "service", kTime2015);
    bd_sigv4_credentials_t c =
        Creds("6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267");
    bd_sigv4_result_t out;
    ASSERT_EQ(0, bd_sigv4_sign(&r, &c, &out));
    EXPECT_EQ("host;x-amz-date;x-amz-security-token", out.signed_headers);
    EXPECT_EQ("07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8", out.signature);
    EXPECT_EQ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
              "SignedHeaders=host;x-amz-date;x-amz-security-token, "
              "Signature=07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8",
              out.authorization);
}

/* X1 and X2 were generated by tests/tools/sigv4_vectors.mjs (@smithy/signature-v4 5.7.5). */
TEST(SigV4, X1QueryAndUnicodePathFromSmithy)
{
    const char label[] = "\xe1\x88\xb4 model~1";
    std::string path = "/foundation-models/" + bd_sigv4_uri_encode(label, strlen(label), false)
                       + "/info";
    EXPECT_EQ("/foundation-models/%E1%88%B4%20model~1/info", path);
    bd_sigv4_request_t r = Request("GET", "bedrock.eu-west-1.amazonaws.com", path.c_str(),
                                   "eu-west-1", "bedrock", kTime2024);
    r.query.push_back({"byProvider", "Anthropic"});
    r.query.push_back({"by output", "TEXT IMAGE"});
    r.query.push_back({"empty", ""});
    r.query.push_back({"Z*", "a+b=c"});
    r.headers.push_back({"X-Custom", "  spaced   out\tvalue  "});
    bd_sigv4_credentials_t c = Creds("FQoGZXIvYXdzEXAMPLETOKEN");
    bd_sigv4_result_t out;
    ASSERT_EQ(0, bd_sigv4_sign(&r, &c, &out));
    EXPECT_EQ("Z%2A=a%2Bb%3Dc&by%20output=TEXT%20IMAGE&byProvider=Anthropic&empty=",
              out.query_string);
    EXPECT_EQ("GET\n/foundation-models/%25E1%2588%25B4%2520model~1/info\n"
              "Z%2A=a%2Bb%3Dc&by%20output=TEXT%20IMAGE&byProvider=Anthropic&empty=\n"
              "host:bedrock.eu-west-1.amazonaws.com\nx-amz-date:20240115T120000Z\n"
              "x-amz-security-token:FQoGZXIvYXdzEXAMPLETOKEN\nx-custom:spaced out value\n\n"
              "host;x-amz-date;x-amz-security-token;x-custom\n"
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
              out.canonical_request);
    EXPECT_EQ("AWS4-HMAC-SHA256\n20240115T120000Z\n20240115/eu-west-1/bedrock/aws4_request\n"
              "1016c8bcbea45d136c8f499ff2d7a1c6ac7c1fff4d513bb10b6634d5d0b76fe7",
              out.string_to_sign);
    EXPECT_EQ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240115/eu-west-1/bedrock/aws4_request, "
              "SignedHeaders=host;x-amz-date;x-amz-security-token;x-custom, "
              "Signature=f36acd9275e38a7e5da5c957b3c65e70776575b22d4963a60543d27747ef4470",
              out.authorization);
}

TEST(SigV4, X2HostWithPortAndContentShaFromSmithy)
{
    std::string body = "{\"anthropic_version\":\"bedrock-2023-05-31\",\"max_tokens\":16,"
                       "\"messages\":[]}";
    bd_sigv4_request_t r = Request("POST", "127.0.0.1:8443",
                                   "/model/us.anthropic.claude-3-5-sonnet-20241022-v2%3A0/invoke",
                                   "us-east-1", "bedrock", kTime2024, &body);
    r.headers.push_back({"content-type", "application/json"});
    r.add_content_sha256 = true;
    bd_sigv4_credentials_t c = Creds();
    bd_sigv4_result_t out;
    ASSERT_EQ(0, bd_sigv4_sign(&r, &c, &out));
    EXPECT_EQ("e7597b7c1df23126456e2dc3baf334bddb321c2dc1b3fa327cf9a4f20325b9de",
              LastLine(out.string_to_sign));
    EXPECT_EQ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240115/us-east-1/bedrock/aws4_request, "
              "SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date, "
              "Signature=b12d3b59cf844af1c79f7faca36a2fe90af24060340519b87ae4adca5f6d7bd7",
              out.authorization);
    ASSERT_NE(nullptr, FindHeader(out, "x-amz-content-sha256"));
    EXPECT_EQ("431c0b55f3a93c50a80e2a84b7c0fd0aa70aa6a9b02ac2b5e6cdf2cfa744cfee",
              *FindHeader(out, "x-amz-content-sha256"));
}

TEST(SigV4, UriEncode)
{
    EXPECT_EQ("AZaz09-_.~", bd_sigv4_uri_encode("AZaz09-_.~", 10, false));
    EXPECT_EQ("a%20b%2Bc%2Fd%3D%25%2A%21", bd_sigv4_uri_encode("a b+c/d=%*!", 11, false));
    EXPECT_EQ("a/b%20c", bd_sigv4_uri_encode("a/b c", 5, true));
    EXPECT_EQ("%E1%88%B4", bd_sigv4_uri_encode("\xe1\x88\xb4", 3, false));
}

TEST(SigV4, CanonicalUri)
{
    EXPECT_EQ("/model/anthropic.claude-3-5-sonnet-20241022-v2%253A0/converse",
              bd_sigv4_canonical_uri(
                  "/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse"));
    EXPECT_EQ("/model/arn%253Aaws%253Abedrock%253Aus-east-1%253A123456789012%253A"
              "application-inference-profile%252Fabc123/converse",
              bd_sigv4_canonical_uri("/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3A"
                                     "application-inference-profile%2Fabc123/converse"));
    EXPECT_EQ("/", bd_sigv4_canonical_uri(""));
    EXPECT_EQ("/", bd_sigv4_canonical_uri("/"));
    EXPECT_EQ("/a/c/", bd_sigv4_canonical_uri("/a/./b/../c//"));
    EXPECT_EQ("/", bd_sigv4_canonical_uri("/a/../.."));
    EXPECT_EQ("/b%20c", bd_sigv4_canonical_uri("/../b c"));
}

/* More segments than the signer keeps on its stack: ".." pops across that boundary. */
TEST(SigV4, CanonicalUriDeepPath)
{
    std::string path, want;
    for (int i = 0; i < 40; i++) {
        path += "/s" + std::to_string(i);
    }
    for (int i = 0; i < 12; i++) {
        path += "/..";
    }
    path += "/x:y/";
    for (int i = 0; i < 28; i++) {
        want += "/s" + std::to_string(i);
    }
    want += "/x%3Ay/";
    EXPECT_EQ(want, bd_sigv4_canonical_uri(path.c_str()));
}

TEST(SigV4, QueryEncodingSpaceIsPercent20AndSorted)
{
    bd_sigv4_request_t r = Request("GET", "h", "/", "us-east-1", "bedrock", kTime2024);
    r.query.push_back({"q", "a b+c"});
    r.query.push_back({"flag", ""});
    r.query.push_back({"b", "2"});
    r.query.push_back({"b", "1"});
    r.query.push_back({"Z", "x"});
    bd_sigv4_credentials_t c = Creds();
    bd_sigv4_result_t out;
    ASSERT_EQ(0, bd_sigv4_sign(&r, &c, &out));
    EXPECT_EQ("Z=x&b=1&b=2&flag=&q=a%20b%2Bc", out.query_string);
    EXPECT_EQ(std::string::npos, out.query_string.find('+'));
    EXPECT_NE(std::string::npos, out.canonical_request.find("\nZ=x&b=1&b=2&flag=&q=a%20b%2Bc\n"));
}

TEST(SigV4, HeaderTrimCollapseAndDuplicates)
{
    bd_sigv4_request_t r = Request("GET", "example.amazonaws.com:8000", "/", "us-east-1",
                                   "service", kTime2015);
    r.headers.push_back({"My-Header1", "  value1  "});
    r.headers.push_back({"X-Multi", "a   b\t\tc"});
    r.headers.push_back({"x-multi", " second "});
    r.headers.push_back({"Host", "ignored.example"});
    bd_sigv4_credentials_t c = Creds();
    bd_sigv4_result_t out;
    ASSERT_EQ(0, bd_sigv4_sign(&r, &c, &out));
    EXPECT_EQ("GET\n/\n\nhost:example.amazonaws.com:8000\nmy-header1:value1\n"
              "x-amz-date:20150830T123600Z\nx-multi:a b c,second\n\n"
              "host;my-header1;x-amz-date;x-multi\n"
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
              out.canonical_request);
}

TEST(SigV4, CallerContentShaIsThePayloadHash)
{
    /* The emulator re-signs a request whose x-amz-content-sha256 header it received. */
    std::string body = "{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"Hi\"}]}]}";
    bd_sigv4_request_t r = Request("POST", "h", "/", "us-east-1", "bedrock", kTime2024, &body);
    r.headers.push_back({"x-amz-content-sha256", "UNSIGNED-PAYLOAD"});
    bd_sigv4_credentials_t c = Creds();
    bd_sigv4_result_t out;
    ASSERT_EQ(0, bd_sigv4_sign(&r, &c, &out));
    EXPECT_EQ("UNSIGNED-PAYLOAD", LastLine(out.canonical_request));
    EXPECT_EQ("host;x-amz-content-sha256;x-amz-date", out.signed_headers);
}

TEST(SigV4, BodyInPiecesHashesAsTheWholeBody)
{
    /* A body sent in pieces (a client's image between two runs of text, an empty
     * piece) signs as the joined body of the V1 vector would. */
    std::string body = "{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"Hello\"}]}],"
                       "\"inferenceConfig\":{\"maxTokens\":256}}";
    std::string path = "/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse";
    bd_sigv4_request_t whole = Request("POST", "bedrock-runtime.us-east-1.amazonaws.com", path.c_str(),
                                       "us-east-1", "bedrock", kTime2024, &body);
    bd_sigv4_request_t parts = whole;
    struct iovec iov[4] = {{&body[0], 40}, {&body[40], 0}, {&body[40], 1}, {&body[41], body.size() - 41}};
    parts.body = nullptr;
    parts.body_len = 0;
    parts.body_iov = iov;
    parts.body_iovcnt = 4;
    bd_sigv4_credentials_t c = Creds();
    bd_sigv4_result_t a, b;
    ASSERT_EQ(0, bd_sigv4_sign(&whole, &c, &a));
    ASSERT_EQ(0, bd_sigv4_sign(&parts, &c, &b));
    EXPECT_EQ("d8695502972bd4d482308b656a524b7a7efcebba591a06801fadba6b39700dd1",
              LastLine(b.canonical_request));
    EXPECT_EQ(a.authorization, b.authorization);
}

TEST(SigV4, BadInput)
{
    bd_sigv4_request_t r = Request("GET", "h", "/", "us-east-1", "bedrock", kTime2024);
    bd_sigv4_credentials_t c = Creds();
    bd_sigv4_result_t out;
    r.host = nullptr;
    EXPECT_EQ(-1, bd_sigv4_sign(&r, &c, &out));
    r.host = "h";
    r.body_len = 3;
    EXPECT_EQ(-1, bd_sigv4_sign(&r, &c, &out));
    r.body_len = 0;
    c.access_key_id.clear();
    EXPECT_EQ(-1, bd_sigv4_sign(&r, &c, &out));
}

TEST(SigV4, ParseAuthorizationRoundTrip)
{
    std::string body = "{}";
    bd_sigv4_request_t r = Request("POST", "bedrock-runtime.us-east-1.amazonaws.com",
                                   "/model/x/converse", "us-east-1", "bedrock", kTime2024, &body);
    r.headers.push_back({"content-type", "application/json"});
    r.add_content_sha256 = true;
    bd_sigv4_credentials_t c = Creds("TOKEN");
    bd_sigv4_result_t out;
    ASSERT_EQ(0, bd_sigv4_sign(&r, &c, &out));

    bd_sigv4_auth_parts_t p;
    ASSERT_EQ(0, bd_sigv4_parse_authorization(out.authorization.c_str(), &p));
    EXPECT_EQ("AKIDEXAMPLE", p.access_key_id);
    EXPECT_EQ("20240115", p.datestamp);
    EXPECT_EQ("us-east-1", p.region);
    EXPECT_EQ("bedrock", p.service);
    std::vector<std::string> want = {"content-type", "host", "x-amz-content-sha256",
                                     "x-amz-date", "x-amz-security-token"};
    EXPECT_EQ(want, p.signed_headers);
    EXPECT_EQ(out.signature, p.signature);
}

TEST(SigV4, ParseAuthorizationLenientSpacingAndOrder)
{
    bd_sigv4_auth_parts_t p;
    const char *v = "AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date,Signature="
                    "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31,  "
                    "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request";
    ASSERT_EQ(0, bd_sigv4_parse_authorization(v, &p));
    EXPECT_EQ("service", p.service);
    ASSERT_EQ(2u, p.signed_headers.size());
    EXPECT_EQ("x-amz-date", p.signed_headers[1]);
}

TEST(SigV4, ParseAuthorizationRejects)
{
    const char *sig = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
    const char *cred = "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request";
    bd_sigv4_auth_parts_t p;
    std::string good = std::string("AWS4-HMAC-SHA256 ") + cred
                       + ", SignedHeaders=host;x-amz-date, Signature=" + sig;
    ASSERT_EQ(0, bd_sigv4_parse_authorization(good.c_str(), &p));
    const std::string bad[] = {
        "",
        std::string("AWS4-HMAC-SHA1 ") + cred + ", SignedHeaders=host, Signature=" + sig,
        std::string("AWS4-HMAC-SHA256 ") + cred + ", Signature=" + sig,
        std::string("AWS4-HMAC-SHA256 ") + cred + ", SignedHeaders=host, Signature=abc",
        std::string("AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/service, "
                    "SignedHeaders=host, Signature=") + sig,
        std::string("AWS4-HMAC-SHA256 ") + cred + ", SignedHeaders=host;;x, Signature=" + sig,
        std::string("AWS4-HMAC-SHA256 ") + cred + ", " + cred + ", SignedHeaders=host, Signature="
            + sig,
        std::string("AWS4-HMAC-SHA256 ") + cred + ", SignedHeaders=host, Signature=" + sig
            + ", Extra=1",
    };
    for (const std::string &b : bad) {
        EXPECT_EQ(-1, bd_sigv4_parse_authorization(b.c_str(), &p)) << b;
    }
    EXPECT_EQ(-1, bd_sigv4_parse_authorization(nullptr, &p));
}

} // namespace
