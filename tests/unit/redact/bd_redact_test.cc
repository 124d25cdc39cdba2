/*
 * bd_redact_test.cc: secrets, signatures and addresses are cut out of upstream error
 * text; the words a client acts on stay; refused gateway credentials and transport
 * failures reach the client as a fixed sentence.
 */
#include <gtest/gtest.h>

#include <string>

#include "modules/bedrock/bd_bedrock_redact.h"

static const char *const kToken =
    "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQDexampleTOKEN+/=";
static const char *const kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

TEST(Redact, CutsTheCanonicalRequestOfAnInvalidSignature)
{
    std::string m = std::string("The request signature we calculated does not match.\n'POST\n"
                                "host:bedrock-runtime.us-east-1.amazonaws.com\n"
                                "x-amz-security-token:") +
                    kToken + "\n" + "a3f1c2d4e5b6a7980123456789abcdef0123456789abcdef0123456789abcdef'";
    bd_bedrock_redact(&m);
    EXPECT_EQ(m.find(kToken), std::string::npos) << m;
    EXPECT_EQ(m.find("IQoJb3Jp"), std::string::npos) << m;
    EXPECT_EQ(m.find("amazonaws.com"), std::string::npos) << m;
    EXPECT_EQ(m.find("a3f1c2d4e5b6"), std::string::npos) << m;
    EXPECT_NE(m.find("The request signature we calculated"), std::string::npos) << m;
}

TEST(Redact, CutsKeysUrlsAndAddresses)
{
    std::string m = std::string("key AKIAIOSFODNN7EXAMPLE secret ") + kSecret +
                    " url https://internal.example:8443/x at 10.1.2.3:443 and (192.168.0.7)";
    bd_bedrock_redact(&m);
    EXPECT_EQ(m.find("AKIAIOSFODNN7EXAMPLE"), std::string::npos) << m;
    EXPECT_EQ(m.find(kSecret), std::string::npos) << m;
    EXPECT_EQ(m.find("internal.example"), std::string::npos) << m;
    EXPECT_EQ(m.find("10.1.2.3"), std::string::npos) << m;
    EXPECT_EQ(m.find("192.168.0.7"), std::string::npos) << m;
}

TEST(Redact, KeepsWhatClientsActOn)
{
    const std::string keep[] = {
        "prompt is too long: 210000 tokens > 200000 maximum",
        "The model returned the following errors: messages.1.content: Field required",
        "Malformed input request: #: extraneous key [emulator] is not permitted",
        "The provided model identifier is invalid. anthropic.claude-3-5-sonnet-20240620-v1:0",
        "Too many requests, please wait before trying again. Version 1.2.3",
    };
    for (const std::string &k : keep) {
        std::string m = k;
        bd_bedrock_redact(&m);
        EXPECT_EQ(m, k);
    }
}

TEST(Redact, ClientMessages)
{
    std::string m = "Failed to connect to 127.0.0.1 port 4567: Connection refused";
    bd_bedrock_client_message(BD_BEDROCK_TRANSPORT, "InternalServerException", &m);
    EXPECT_EQ(m, "Bedrock could not be reached");
    m = "no answer";
    bd_bedrock_client_message(BD_BEDROCK_TRANSPORT, "ModelTimeoutException", &m);
    EXPECT_EQ(m, "Bedrock did not answer in time");
    m = "The security token included in the request is invalid.";
    bd_bedrock_client_message(BD_BEDROCK_AWS_ERROR, "UnrecognizedClientException", &m);
    EXPECT_NE(m.find("UnrecognizedClientException"), std::string::npos);
    EXPECT_EQ(m.find("security token"), std::string::npos);
    m = "prompt is too long";
    bd_bedrock_client_message(BD_BEDROCK_AWS_ERROR, "ValidationException", &m);
    EXPECT_EQ(m, "prompt is too long");
}
