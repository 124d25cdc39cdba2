/*
 * bd_key_test.cc: key secrets: their shape, their hash (against a SHA-256 known
 * answer), hex round trips, model patterns and expiry.
 */
#include <gtest/gtest.h>

#include <set>

#include "modules/store/bd_key.h"

TEST(Key, GeneratedSecretHasTheDocumentedShape)
{
    std::string secret;
    ASSERT_EQ(bd_key_generate_secret(&secret), 0);
    EXPECT_EQ(secret.size(), (size_t)BD_KEY_SECRET_LEN);
    EXPECT_EQ(secret.compare(0, 6, "sk-bd-"), 0);
    EXPECT_TRUE(bd_key_secret_valid(secret.data(), secret.size()));
}

TEST(Key, SecretsAndIdsDoNotRepeat)
{
    std::set<std::string> secrets, ids;
    for (int i = 0; i < 200; i++) {
        std::string s, id;
        ASSERT_EQ(bd_key_generate_secret(&s), 0);
        ASSERT_EQ(bd_key_generate_id(&id), 0);
        EXPECT_EQ(id.size(), 20u);
        EXPECT_EQ(id.compare(0, 4, "key_"), 0);
        secrets.insert(s);
        ids.insert(id);
    }
    EXPECT_EQ(secrets.size(), 200u);
    EXPECT_EQ(ids.size(), 200u);
}

TEST(Key, ParsingRejectsWrongShapes)
{
    const std::string good = "sk-bd-" + std::string(42, 'A') + "E"; /* E = 4: low bits zero */
    EXPECT_TRUE(bd_key_secret_valid(good.data(), good.size()));
    const std::string cases[] = {
        "",
        "sk-bd-",
        "sk-bd-" + std::string(42, 'A'),              /* short */
        "sk-bd-" + std::string(44, 'A'),              /* long */
        "sk-ant-" + std::string(42, 'A'),             /* other prefix */
        "sk-bd-" + std::string(41, 'A') + "+E",       /* base64, not base64url */
        "sk-bd-" + std::string(41, 'A') + "=E",       /* padding */
        "sk-bd-" + std::string(42, 'A') + "B",        /* impossible last character */
        "SK-BD-" + std::string(42, 'A') + "E",        /* case matters */
    };
    for (const std::string &c : cases) {
        EXPECT_FALSE(bd_key_secret_valid(c.data(), c.size())) << c;
    }
}

TEST(Key, HashIsSha256OfTheWholeSecret)
{
    std::string h;
    bd_key_hash("abc", 3, &h);
    ASSERT_EQ(h.size(), (size_t)BD_KEY_HASH_LEN);
    EXPECT_EQ(bd_key_hex(h), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    std::string h2;
    bd_key_hash("abd", 3, &h2);
    EXPECT_NE(h, h2);
}

TEST(Key, HexRoundTrip)
{
    std::string raw("\x00\x01\xfe\xff", 4), back;
    EXPECT_EQ(bd_key_hex(raw), "0001feff");
    ASSERT_EQ(bd_key_unhex("0001FEff", &back), 0);
    EXPECT_EQ(back, raw);
    EXPECT_EQ(bd_key_unhex("abc", &back), -1);
    EXPECT_EQ(bd_key_unhex("zz", &back), -1);
}

TEST(Key, ModelPatterns)
{
    bd_key_t k{};
    EXPECT_TRUE(bd_key_model_allowed(&k, "anything"));
    k.models = bd_key_models_split(" claude-haiku-*, nova-pro ,,");
    ASSERT_EQ(k.models.size(), 2u);
    EXPECT_EQ(bd_key_models_join(k.models), "claude-haiku-*,nova-pro");
    EXPECT_TRUE(bd_key_model_allowed(&k, "claude-haiku-4-5"));
    EXPECT_TRUE(bd_key_model_allowed(&k, "nova-pro"));
    EXPECT_FALSE(bd_key_model_allowed(&k, "claude-sonnet-4-5"));
    EXPECT_FALSE(bd_key_model_allowed(&k, "nova-pro-2"));
}

TEST(Key, UsableWhenActiveAndNotExpired)
{
    bd_key_t k{};
    k.active = true;
    EXPECT_TRUE(bd_key_usable(&k, 1000));
    k.expires_ms = 2000;
    EXPECT_TRUE(bd_key_usable(&k, 1999));
    EXPECT_FALSE(bd_key_usable(&k, 2000));
    k.expires_ms = 0;
    k.active = false;
    EXPECT_FALSE(bd_key_usable(&k, 1000));
}
