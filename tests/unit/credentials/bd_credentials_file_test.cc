/*
 * bd_credentials_file_test.cc: the shared config and credentials files: profile headers,
 * precedence between the files, comments, whitespace, sub-sections, region.
 */
#include <gtest/gtest.h>
#include <string.h>

#include "core/aws/bd_credentials_int.h"
#include "tests/unit/credentials/bd_credentials_test_util.h"

static std::map<std::string, std::string>
ini(const std::string &text, bool config, const char *name, bool *found = nullptr)
{
    std::map<std::string, std::string> v;
    bool f = bd_aws_ini_profile(text.data(), text.size(), config, name, &v);
    if (found != nullptr) {
        *found = f;
    }
    return v;
}

TEST(CredentialsIni, SectionHeadersDifferBetweenFiles)
{
    std::string text = "[default]\nregion=us-east-1\n[profile dev]\nregion = eu-west-1\n"
                       "[prod]\nregion = ap-south-1\n[sso-session x]\nregion=bad\n";
    bool found;
    EXPECT_EQ("us-east-1", ini(text, true, "default")["region"]);
    EXPECT_EQ("eu-west-1", ini(text, true, "dev")["region"]);
    /* In the config file a bare [prod] is not a profile. */
    EXPECT_TRUE(ini(text, true, "prod", &found).empty());
    EXPECT_FALSE(found);
    /* In the credentials file [prod] is one, and "profile dev" is a literal name. */
    EXPECT_EQ("ap-south-1", ini(text, false, "prod")["region"]);
    EXPECT_TRUE(ini(text, false, "dev", &found).empty());
    EXPECT_FALSE(found);
}

TEST(CredentialsIni, CommentsWhitespaceAndCase)
{
    std::string text = "# leading comment\n; another\n  [ default ]  \r\n"
                       "  Aws_Access_Key_Id   =   AKIDEXAMPLE   \r\n"
                       "aws_secret_access_key=se#cr;et ; inline comment\n"
                       "region\t=\tus-west-2 # trailing \n"
                       "\tregion = eu-north-1\n" /* continues the line above, as configparser */
                       "   # indented comment\n"
                       "aws_session_token =\n";
    auto v = ini(text, false, "default");
    EXPECT_EQ("AKIDEXAMPLE", v["aws_access_key_id"]);
    EXPECT_EQ("se#cr;et", v["aws_secret_access_key"]);
    EXPECT_EQ("us-west-2", v["region"]);
    EXPECT_EQ("", v["aws_session_token"]);
}

TEST(CredentialsIni, SubSectionsDoNotOverrideProfileKeys)
{
    std::string text = "[profile a]\nregion = eu-west-1\ns3 =\n"
                       "  region = us-east-1\n  max_concurrent_requests = 10\n"
                       "[profile b]\nregion = us-east-2\n";
    auto v = ini(text, true, "a");
    EXPECT_EQ("eu-west-1", v["region"]);
    EXPECT_EQ("us-east-1", v["s3.region"]);
    EXPECT_EQ("10", v["s3.max_concurrent_requests"]);
    EXPECT_EQ(0u, ini(text, true, "b").count("s3.region"));
}

struct CredentialsProfileTest : ::testing::Test {
    bd_test_dir_t dir;
    bd_test_env_t env;
    void
    SetUp() override
    {
        env.vars["HOME"] = dir.path + "/nohome";
        env.vars["AWS_SHARED_CREDENTIALS_FILE"] = dir.write(
            "credentials", "[default]\naws_access_key_id = AKIDDEFAULT\n"
                           "aws_secret_access_key = SECRETDEFAULT\n\n"
                           "[dev]\naws_access_key_id = AKIDDEV\naws_secret_access_key = SDEV\n");
        env.vars["AWS_CONFIG_FILE"] = dir.write(
            "config", "[default]\nregion = us-east-1\naws_access_key_id = AKIDFROMCONFIG\n"
                      "[profile dev]\nregion = eu-central-1\naws_session_token = TOKDEV\n"
                      "[profile cfgonly]\naws_access_key_id = AKIDCFG\n"
                      "aws_secret_access_key = SCFG\nregion = sa-east-1\n");
    }
};

TEST_F(CredentialsProfileTest, CredentialsFileWinsAndConfigFillsIn)
{
    bd_aws_env_t e = env.view();
    bd_aws_profile_t pr;
    bd_aws_profile_load(&e, "default", &pr);
    EXPECT_TRUE(pr.found);
    EXPECT_STREQ("AKIDDEFAULT", bd_aws_profile_get(&pr, "aws_access_key_id"));
    EXPECT_STREQ("us-east-1", bd_aws_profile_get(&pr, "region"));
    bd_aws_profile_load(&e, "dev", &pr);
    EXPECT_STREQ("AKIDDEV", bd_aws_profile_get(&pr, "aws_access_key_id"));
    EXPECT_STREQ("TOKDEV", bd_aws_profile_get(&pr, "aws_session_token"));
    bd_aws_profile_load(&e, "missing", &pr);
    EXPECT_FALSE(pr.found);
}

TEST_F(CredentialsProfileTest, DefaultPathsUnderHome)
{
    bd_test_env_t home;
    home.vars["HOME"] = dir.path;
    std::string cmd = "mkdir -p '" + dir.path + "/.aws'";
    ASSERT_EQ(0, system(cmd.c_str()));
    dir.write(".aws/config", "[profile h]\nregion = ca-central-1\n");
    bd_aws_env_t e = home.view();
    EXPECT_EQ("ca-central-1", bd_aws_region_resolve(nullptr, "h", &e));
    home.vars["AWS_PROFILE"] = "h";
    EXPECT_EQ("ca-central-1", bd_aws_region_resolve(nullptr, nullptr, &e));
}

TEST_F(CredentialsProfileTest, RegionPrecedence)
{
    bd_aws_env_t e = env.view();
    EXPECT_EQ("us-east-1", bd_aws_region_resolve(nullptr, nullptr, &e));
    EXPECT_EQ("eu-central-1", bd_aws_region_resolve("", "dev", &e));
    env.vars["AWS_PROFILE"] = "cfgonly";
    EXPECT_EQ("sa-east-1", bd_aws_region_resolve(nullptr, nullptr, &e));
    env.vars["AWS_DEFAULT_REGION"] = "us-west-1";
    EXPECT_EQ("us-west-1", bd_aws_region_resolve(nullptr, nullptr, &e));
    env.vars["AWS_REGION"] = "us-west-2";
    EXPECT_EQ("us-west-2", bd_aws_region_resolve(nullptr, nullptr, &e));
    EXPECT_EQ("ap-northeast-1", bd_aws_region_resolve("ap-northeast-1", nullptr, &e));
    bd_test_env_t empty;
    empty.vars["HOME"] = dir.path + "/nohome";
    bd_aws_env_t e2 = empty.view();
    EXPECT_EQ("", bd_aws_region_resolve(nullptr, nullptr, &e2));
}
