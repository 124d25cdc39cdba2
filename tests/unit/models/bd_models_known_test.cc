/*
 * bd_models_known_test.cc: the table of Bedrock model families: Claude ids (bare,
 * behind a region prefix, inside an ARN) take the InvokeModel body, and thinking by
 * default only where the model has it; embedding families and their sizes; region
 * and provider prefixes; an unknown id gets the "other" row.
 */
#include <gtest/gtest.h>

#include "modules/models/bd_models_known.h"

TEST(Known, ClaudeRoutesAndThinking)
{
    const bd_models_known_t *k = bd_models_known("us.anthropic.claude-sonnet-4-5-20250929-v1:0");
    EXPECT_TRUE(k->flags & BD_KNOWN_CLAUDE);
    EXPECT_TRUE(k->flags & BD_KNOWN_INVOKE);
    EXPECT_TRUE(k->flags & BD_KNOWN_THINKING);
    EXPECT_TRUE(bd_models_known("anthropic.claude-3-7-sonnet-20250219-v1:0")->flags &
                BD_KNOWN_THINKING);
    EXPECT_TRUE(bd_models_known("global.anthropic.claude-opus-4-1-20250805-v1:0")->flags &
                BD_KNOWN_THINKING);
    EXPECT_TRUE(bd_models_known("anthropic.claude-haiku-4-5-20251001-v1:0")->flags &
                BD_KNOWN_THINKING);

    const bd_models_known_t *h3 = bd_models_known("anthropic.claude-3-haiku-20240307-v1:0");
    EXPECT_TRUE(h3->flags & BD_KNOWN_INVOKE);
    EXPECT_FALSE(h3->flags & BD_KNOWN_THINKING);

    const char *arn = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/"
                      "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
    EXPECT_TRUE(bd_models_known(arn)->flags & BD_KNOWN_CLAUDE);
}

TEST(Known, OthersTakeConverseWithoutThinking)
{
    const char *const ids[] = {"us.amazon.nova-pro-v1:0", "meta.llama3-1-70b-instruct-v1:0",
                               "mistral.mistral-large-2407-v1:0", "arn:aws:bedrock:x:y:z"};
    for (const char *id : ids) {
        const bd_models_known_t *k = bd_models_known(id);
        EXPECT_STREQ(k->name, "other") << id;
        EXPECT_EQ(k->flags, 0u) << id;
        EXPECT_EQ(k->embed, BD_EMBED_NONE) << id;
    }
}

TEST(Known, EmbeddingFamiliesAndSizes)
{
    EXPECT_EQ(bd_models_known("amazon.titan-embed-text-v2:0")->embed, BD_EMBED_TITAN_V2);
    EXPECT_EQ(bd_models_known("amazon.titan-embed-text-v1")->embed, BD_EMBED_TITAN_V1);
    EXPECT_EQ(bd_models_known("amazon.titan-embed-g1-text-02")->embed, BD_EMBED_TITAN_V1);
    EXPECT_EQ(bd_models_known("amazon.nova-2-multimodal-embeddings-v1:0")->embed, BD_EMBED_NOVA);

    const bd_models_known_t *v4 = bd_models_known("us.cohere.embed-v4:0");
    EXPECT_EQ(v4->embed, BD_EMBED_COHERE);
    EXPECT_TRUE(v4->flags & BD_KNOWN_EMBED_TYPES);
    EXPECT_EQ(v4->dimensions[3], 1536);

    const bd_models_known_t *v3 = bd_models_known("cohere.embed-english-v3");
    EXPECT_EQ(v3->embed, BD_EMBED_COHERE);
    EXPECT_FALSE(v3->flags & BD_KNOWN_EMBED_TYPES);
    EXPECT_EQ(v3->dimensions[0], 1024);
    EXPECT_EQ(v3->dimensions[1], 0);
}

TEST(Known, RegionAndProviderPrefixes)
{
    EXPECT_EQ(bd_models_region_prefix("us.anthropic.claude-x"), 3u);
    EXPECT_EQ(bd_models_region_prefix("us-gov.anthropic.claude-x"), 7u);
    EXPECT_EQ(bd_models_region_prefix("global.anthropic.claude-x"), 7u);
    EXPECT_EQ(bd_models_region_prefix("apac.amazon.nova-lite-v1:0"), 5u);
    EXPECT_EQ(bd_models_region_prefix("anthropic.claude-x"), 0u);
    EXPECT_EQ(bd_models_region_prefix("arn:aws:bedrock:us-east-1:1:x"), 0u);

    EXPECT_EQ(bd_models_provider_prefix("anthropic.claude-x"), 10u);
    EXPECT_EQ(bd_models_provider_prefix("moonshotai.kimi"), 11u);
    EXPECT_EQ(bd_models_provider_prefix("claude-sonnet-4-5"), 0u);
    EXPECT_EQ(bd_models_provider_prefix("us.anthropic.claude-x"), 0u);
}
