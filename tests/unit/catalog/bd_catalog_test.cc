/*
 * bd_catalog_test.cc: the Bedrock catalog's pure parts (client names derived from
 * Bedrock ids, profile geographies, parsing of the control plane's answers, the
 * index of what /v1/models adds) and the merge of the model map with a catalog in
 * bd_models_list / bd_models_find / bd_models_resolve, through the real loader.
 */
#include <gtest/gtest.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "core/bd_core_module.h"
#include "core/bd_snapshot.h"
#include "modules/bedrock/bd_bedrock_catalog.h"
#include "modules/models/bd_models.h"

/* The module list the snapshot loader walks; bedrockd has its own in bd_modules.cc. */
bd_module_t *const bd_modules[] = {&bd_core_module, &bd_models_module, nullptr};

void
bd_modules_init(void)
{
    for (int i = 0; bd_modules[i] != nullptr; i++) {
        bd_modules[i]->index = i;
    }
}

namespace {

std::string
Model(const char *id, const char *name, const char *provider, const char *output,
      const char *inference, const char *status = "ACTIVE")
{
    return std::string("{\"modelArn\":\"arn:aws:bedrock:us-east-1::foundation-model/") + id +
           "\",\"modelId\":\"" + id + "\",\"modelName\":\"" + name + "\",\"providerName\":\"" +
           provider + "\",\"inputModalities\":[\"TEXT\"],\"outputModalities\":[" + output +
           "],\"responseStreamingSupported\":true,\"inferenceTypesSupported\":[" + inference +
           "],\"modelLifecycle\":{\"status\":\"" + status + "\"}}";
}

std::string
Profile(const std::string &id, const std::string &model, const char *type = "SYSTEM_DEFINED")
{
    std::string arn = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/" + id;
    std::string fm = "arn:aws:bedrock:us-east-1::foundation-model/" + model;
    std::string fm2 = "arn:aws:bedrock:us-west-2::foundation-model/" + model;
    return "{\"inferenceProfileName\":\"P " + id + "\",\"inferenceProfileArn\":\"" + arn +
           "\",\"models\":[{\"modelArn\":\"" + fm + "\"},{\"modelArn\":\"" + fm2 +
           "\"}],\"inferenceProfileId\":\"" + id + "\",\"status\":\"ACTIVE\",\"type\":\"" + type +
           "\"}";
}

const char *const SONNET = "anthropic.claude-sonnet-4-5-20250929-v1:0";
const char *const HAIKU45 = "anthropic.claude-haiku-4-5-20251001-v1:0";
const char *const OPUS = "anthropic.claude-opus-4-1-20250805-v1:0";
const char *const HAIKU3 = "anthropic.claude-3-haiku-20240307-v1:0";
const char *const LLAMA = "meta.llama3-2-1b-instruct-v1:0";

/* A catalog like a small region's: profile-only and on-demand models, a legacy one,
 * an image model, an embedding model, a provisioned-only variant. */
std::string
ModelsJson()
{
    return "{\"modelSummaries\":[" +
           Model(HAIKU3, "Claude 3 Haiku", "Anthropic", "\"TEXT\"", "\"ON_DEMAND\"") + "," +
           Model(SONNET, "Claude Sonnet 4.5", "Anthropic", "\"TEXT\"", "\"INFERENCE_PROFILE\"") +
           "," +
           Model(OPUS, "Claude Opus 4.1", "Anthropic", "\"TEXT\"", "\"INFERENCE_PROFILE\"") + "," +
           Model(HAIKU45, "Claude Haiku 4.5", "Anthropic", "\"TEXT\"", "\"INFERENCE_PROFILE\"") +
           "," +
           Model("anthropic.claude-3-sonnet-20240229-v1:0", "Claude 3 Sonnet", "Anthropic",
                 "\"TEXT\"", "\"ON_DEMAND\"", "LEGACY") +
           "," +
           Model("anthropic.claude-3-haiku-20240307-v1:0:200k", "Claude 3 Haiku", "Anthropic",
                 "\"TEXT\"", "\"PROVISIONED\"") +
           "," +
           Model("anthropic.claude-orphan-20250101-v1:0", "Orphan", "Anthropic", "\"TEXT\"",
                 "\"INFERENCE_PROFILE\"") +
           "," +
           Model("amazon.nova-pro-v1:0", "Nova Pro", "Amazon", "\"TEXT\"",
                 "\"ON_DEMAND\",\"INFERENCE_PROFILE\"") +
           "," + Model(LLAMA, "Llama 3.2 1B", "Meta", "\"TEXT\"", "\"INFERENCE_PROFILE\"") + "," +
           Model("amazon.titan-embed-text-v2:0", "Titan Embeddings", "Amazon", "\"EMBEDDING\"",
                 "\"ON_DEMAND\"") +
           "," +
           Model("stability.sd3-5-large-v1:0", "SD3.5", "Stability AI", "\"IMAGE\"",
                 "\"ON_DEMAND\"") +
           "]}";
}

/* Two pages; the token holds characters that must be encoded on the wire. */
std::string
ProfilesPage1()
{
    return "{\"inferenceProfileSummaries\":[" + Profile(std::string("eu.") + SONNET, SONNET) +
           "," + Profile(std::string("us.") + SONNET, SONNET) + "," +
           Profile(std::string("global.") + SONNET, SONNET) + "," +
           Profile(std::string("global.") + OPUS, OPUS) + "],\"nextToken\":\"b2Zm+c2V0/PTQ=\"}";
}

std::string
ProfilesPage2()
{
    return "{\"inferenceProfileSummaries\":[" + Profile(std::string("us.") + HAIKU45, HAIKU45) +
           "," + Profile(std::string("eu.") + HAIKU45, HAIKU45) + "," +
           Profile(std::string("us.") + LLAMA, LLAMA) + "," +
           Profile("appprofile1", SONNET, "APPLICATION") + "]}";
}

bd_bedrock_catalog_t *
BuildCatalog(const char *region)
{
    bd_bedrock_catalog_t *cat = bd_bedrock_catalog_new();
    std::string err, token;
    std::string m = ModelsJson(), p1 = ProfilesPage1(), p2 = ProfilesPage2();
    EXPECT_EQ(bd_bedrock_catalog_parse_models(m.data(), m.size(), cat, &err), 0) << err;
    EXPECT_EQ(bd_bedrock_catalog_parse_profiles(p1.data(), p1.size(), cat, &token, &err), 0);
    EXPECT_EQ(token, "b2Zm+c2V0/PTQ=");
    EXPECT_EQ(bd_bedrock_catalog_parse_profiles(p2.data(), p2.size(), cat, &token, &err), 0);
    EXPECT_EQ(token, "");
    bd_bedrock_catalog_index(cat, region);
    return cat;
}

std::vector<std::string>
Ids(const std::vector<bd_models_listing_t> &v)
{
    std::vector<std::string> out;
    for (const bd_models_listing_t &l : v) {
        out.push_back(l.id);
    }
    return out;
}

const bd_models_listing_t *
Find(const std::vector<bd_models_listing_t> &v, const std::string &id)
{
    for (const bd_models_listing_t &l : v) {
        if (l.id == id) {
            return &l;
        }
    }
    return nullptr;
}

TEST(CatalogNames, ClaudeIdsLoseGeographyProviderAndVersion)
{
    EXPECT_EQ(bd_bedrock_catalog_client_name("us.anthropic.claude-sonnet-4-5-20250929-v1:0"),
              "claude-sonnet-4-5-20250929");
    EXPECT_EQ(bd_bedrock_catalog_client_name("anthropic.claude-3-5-sonnet-20241022-v2:0"),
              "claude-3-5-sonnet-20241022");
    EXPECT_EQ(bd_bedrock_catalog_client_name("global.anthropic.claude-opus-4-1-20250805-v1:0"),
              "claude-opus-4-1-20250805");
    EXPECT_EQ(bd_bedrock_catalog_client_name("apac.anthropic.claude-3-haiku-20240307-v1:0"),
              "claude-3-haiku-20240307");
    EXPECT_EQ(bd_bedrock_catalog_client_name("us-gov.anthropic.claude-3-haiku-20240307-v1"),
              "claude-3-haiku-20240307");
    EXPECT_EQ(bd_bedrock_catalog_client_name("anthropic.claude-instant-v1"), "claude-instant");
}

TEST(CatalogNames, OddIdsKeepWhatWouldBeLost)
{
    /* without the version only the family would be left */
    EXPECT_EQ(bd_bedrock_catalog_client_name("anthropic.claude-v2:1"), "claude-v2:1");
    /* a context-size variant is not a version suffix */
    EXPECT_EQ(bd_bedrock_catalog_client_name("anthropic.claude-3-haiku-20240307-v1:0:200k"),
              "claude-3-haiku-20240307-v1:0:200k");
    EXPECT_EQ(bd_bedrock_catalog_client_name("anthropic.claude-x-v"), "claude-x-v");
    EXPECT_EQ(bd_bedrock_catalog_client_name("anthropic.claude-x-v1:"), "claude-x-v1:");
}

TEST(CatalogNames, OnlyClaudeGetsAName)
{
    EXPECT_EQ(bd_bedrock_catalog_client_name("amazon.nova-pro-v1:0"), "");
    EXPECT_EQ(bd_bedrock_catalog_client_name("us.meta.llama3-2-1b-instruct-v1:0"), "");
    EXPECT_EQ(bd_bedrock_catalog_client_name("anthropic.other-v1:0"), "");
    EXPECT_EQ(bd_bedrock_catalog_client_name("claude-sonnet-4-5"), "");
    EXPECT_EQ(bd_bedrock_catalog_client_name(""), "");
}

TEST(CatalogGeos, RegionPicksItsProfilesThenGlobal)
{
    using V = std::vector<std::string>;
    EXPECT_EQ(bd_bedrock_catalog_geos("us-east-1"), (V{"us", "global"}));
    EXPECT_EQ(bd_bedrock_catalog_geos("us-gov-west-1"), (V{"us-gov", "global"}));
    EXPECT_EQ(bd_bedrock_catalog_geos("eu-west-3"), (V{"eu", "global"}));
    EXPECT_EQ(bd_bedrock_catalog_geos("ap-northeast-1"), (V{"jp", "apac", "global"}));
    EXPECT_EQ(bd_bedrock_catalog_geos("ap-southeast-2"), (V{"au", "apac", "global"}));
    EXPECT_EQ(bd_bedrock_catalog_geos("ap-south-1"), (V{"apac", "global"}));
    EXPECT_EQ(bd_bedrock_catalog_geos("ca-central-1"), (V{"ca", "us", "global"}));
    EXPECT_EQ(bd_bedrock_catalog_geos("sa-east-1"), (V{"global"}));
}

TEST(CatalogParse, ModelsKeepEveryField)
{
    bd_bedrock_catalog_t *cat = bd_bedrock_catalog_new();
    std::string err, m = ModelsJson();
    ASSERT_EQ(bd_bedrock_catalog_parse_models(m.data(), m.size(), cat, &err), 0) << err;
    ASSERT_EQ(cat->models.size(), 11u);
    const bd_bedrock_fm_t &nova = cat->models[7];
    EXPECT_EQ(nova.id, "amazon.nova-pro-v1:0");
    EXPECT_EQ(nova.arn, "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0");
    EXPECT_EQ(nova.name, "Nova Pro");
    EXPECT_EQ(nova.provider, "Amazon");
    EXPECT_EQ(nova.status, "ACTIVE");
    EXPECT_EQ(nova.input_modalities, std::vector<std::string>{"TEXT"});
    EXPECT_EQ(nova.output_modalities, std::vector<std::string>{"TEXT"});
    EXPECT_EQ(nova.inference_types, (std::vector<std::string>{"ON_DEMAND", "INFERENCE_PROFILE"}));
    EXPECT_TRUE(nova.streaming);
    EXPECT_EQ(cat->models[4].status, "LEGACY");
    bd_bedrock_catalog_release(cat);
}

TEST(CatalogParse, OnlyIdsAreRequired)
{
    bd_bedrock_catalog_t *cat = bd_bedrock_catalog_new();
    std::string err;
    std::string m = "{\"modelSummaries\":[{\"modelId\":\"x.y-v1:0\"},{\"modelArn\":\"a\"}]}";
    ASSERT_EQ(bd_bedrock_catalog_parse_models(m.data(), m.size(), cat, &err), 0) << err;
    ASSERT_EQ(cat->models.size(), 1u);
    EXPECT_EQ(cat->models[0].status, "ACTIVE");
    EXPECT_FALSE(cat->models[0].streaming);
    std::string token = "stale";
    std::string p = "{\"inferenceProfileSummaries\":[{\"inferenceProfileId\":\"us.x.y-v1:0\"}]}";
    ASSERT_EQ(bd_bedrock_catalog_parse_profiles(p.data(), p.size(), cat, &token, &err), 0);
    EXPECT_EQ(token, "");
    ASSERT_EQ(cat->profiles.size(), 1u);
    EXPECT_TRUE(cat->profiles[0].models.empty());
    bd_bedrock_catalog_release(cat);
}

TEST(CatalogParse, BadAnswersAreErrors)
{
    bd_bedrock_catalog_t *cat = bd_bedrock_catalog_new();
    std::string err, token;
    const char *bad[] = {"", "not json", "[]", "{\"modelSummaries\":{}}", "{}"};
    for (const char *b : bad) {
        err.clear();
        EXPECT_EQ(bd_bedrock_catalog_parse_models(b, strlen(b), cat, &err), -1) << b;
        EXPECT_FALSE(err.empty());
        EXPECT_EQ(bd_bedrock_catalog_parse_profiles(b, strlen(b), cat, &token, &err), -1) << b;
    }
    bd_bedrock_catalog_release(cat);
}

TEST(CatalogParse, ProfilesNameTheirModelsOnce)
{
    bd_bedrock_catalog_t *cat = BuildCatalog("us-east-1");
    ASSERT_EQ(cat->profiles.size(), 8u);
    const bd_bedrock_profile_t &p = cat->profiles[1];
    EXPECT_EQ(p.id, std::string("us.") + SONNET);
    EXPECT_EQ(p.arn, std::string("arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.") +
                         SONNET);
    EXPECT_EQ(p.name, std::string("P us.") + SONNET);
    EXPECT_EQ(p.status, "ACTIVE");
    EXPECT_EQ(p.type, "SYSTEM_DEFINED");
    EXPECT_EQ(p.models, std::vector<std::string>{SONNET}); /* two regions, one model */
    EXPECT_EQ(cat->profiles[7].type, "APPLICATION");
    bd_bedrock_catalog_release(cat);
}

TEST(CatalogIndex, ListsCallableActiveTextModels)
{
    bd_bedrock_catalog_t *cat = BuildCatalog("us-east-1");
    using V = std::vector<std::string>;
    /* Claude newest first, then the rest by id; legacy, image, provisioned-only and
     * profile-less models are left out */
    EXPECT_EQ(Ids(cat->listings),
              (V{"claude-haiku-4-5-20251001", "claude-sonnet-4-5-20250929",
                 "claude-opus-4-1-20250805", "claude-3-haiku-20240307", "amazon.nova-pro-v1:0",
                 "amazon.titan-embed-text-v2:0", std::string("us.") + LLAMA}));
    const bd_models_listing_t *haiku = Find(cat->listings, "claude-haiku-4-5-20251001");
    ASSERT_NE(haiku, nullptr);
    EXPECT_EQ(haiku->display_name, "Claude Haiku 4.5");
    EXPECT_EQ(haiku->created_at, "2025-10-01T00:00:00Z");
    EXPECT_EQ(haiku->owned_by, "anthropic");
    EXPECT_EQ(haiku->bedrock_id, std::string("us.") + HAIKU45);
    EXPECT_FALSE(haiku->embedding);
    const bd_models_listing_t *titan = Find(cat->listings, "amazon.titan-embed-text-v2:0");
    ASSERT_NE(titan, nullptr);
    EXPECT_TRUE(titan->embedding);
    EXPECT_EQ(titan->created_at, "1970-01-01T00:00:00Z");
    EXPECT_EQ(Find(cat->listings, "amazon.nova-pro-v1:0")->owned_by, "amazon");
    bd_bedrock_catalog_release(cat);
}

TEST(CatalogIndex, DerivedNamesCallTheRegionsProfile)
{
    bd_bedrock_catalog_t *cat = BuildCatalog("us-west-2");
    EXPECT_EQ(cat->names.at("claude-sonnet-4-5-20250929"), std::string("us.") + SONNET);
    EXPECT_EQ(cat->names.at("claude-opus-4-1-20250805"), std::string("global.") + OPUS);
    EXPECT_EQ(cat->names.at("claude-3-haiku-20240307"), HAIKU3); /* on demand */
    EXPECT_EQ(cat->names.count("claude-orphan-20250101"), 0u);
    EXPECT_EQ(cat->names.count("claude-3-sonnet-20240229"), 0u);
    EXPECT_EQ(cat->names.size(), 4u); /* names are for Claude only */
    bd_bedrock_catalog_release(cat);

    cat = BuildCatalog("eu-central-1");
    EXPECT_EQ(cat->names.at("claude-sonnet-4-5-20250929"), std::string("eu.") + SONNET);
    EXPECT_EQ(cat->names.at("claude-haiku-4-5-20251001"), std::string("eu.") + HAIKU45);
    bd_bedrock_catalog_release(cat);

    /* no profile of this geography: global, else any system profile */
    cat = BuildCatalog("ap-south-1");
    EXPECT_EQ(cat->names.at("claude-sonnet-4-5-20250929"), std::string("global.") + SONNET);
    const std::string &h = cat->names.at("claude-haiku-4-5-20251001");
    EXPECT_TRUE(h == std::string("us.") + HAIKU45 || h == std::string("eu.") + HAIKU45) << h;
    bd_bedrock_catalog_release(cat);
}

/* --- the merge in the models module --- */

class MergeTest : public ::testing::Test {
protected:
    std::string dir, path;
    bd_snapshot_t *snap = nullptr;
    bd_bedrock_catalog_t *cat = nullptr;

    void SetUp() override
    {
        bd_modules_init();
        const char *tmp = getenv("TMPDIR");
        std::string tmpl = std::string(tmp ? tmp : "/tmp") + "/bd_catalog_test.XXXXXX";
        ASSERT_NE(mkdtemp(&tmpl[0]), nullptr);
        dir = tmpl;
        path = dir + "/bedrockd.conf";
        cat = BuildCatalog("us-east-1");
        bd_published_hold(&cat->pub); /* the publication's reference */
        bd_models_publish_catalog(cat);
    }

    void TearDown() override
    {
        bd_models_publish_catalog(nullptr);
        bd_bedrock_catalog_release(cat);
        if (snap != nullptr) {
            bd_snapshot_unref(snap);
        }
        unlink(path.c_str());
        rmdir(dir.c_str());
    }

    void Load(const std::string &extra)
    {
        std::string text =
            "model claude-sonnet-4-5 {\n"
            "    id us.anthropic.claude-sonnet-4-5-20250929-v1:0;\n"
            "    alias claude-3-haiku-20240307;\n"
            "}\n"
            "model hidden-opus { id global.anthropic.claude-opus-4-1-20250805-v1:0; listed off; }\n"
            "model nova { id amazon.nova-lite-v1:0; display_name \"Nova Lite\"; }\n" +
            extra;
        FILE *f = fopen(path.c_str(), "w");
        ASSERT_NE(f, nullptr);
        fwrite(text.data(), 1, text.size(), f);
        fclose(f);
        std::string err;
        snap = bd_snapshot_load(path.c_str(), nullptr, &err);
        ASSERT_NE(snap, nullptr) << err;
    }
};

TEST_F(MergeTest, ConfFirstThenWhatItDoesNotCover)
{
    Load("");
    std::vector<bd_models_listing_t> l;
    bd_models_list(snap, 0, &l);
    using V = std::vector<std::string>;
    /* Sonnet 4.5 and Opus are the conf's (same model, even hidden); 3 Haiku's name is
     * a conf alias; the embedding model is for the OpenAI listing */
    EXPECT_EQ(Ids(l), (V{"claude-sonnet-4-5", "nova", "claude-haiku-4-5-20251001",
                         "amazon.nova-pro-v1:0", std::string("us.") + LLAMA}));
    EXPECT_EQ(l[0].owned_by, "bedrock");
    EXPECT_EQ(l[1].display_name, "Nova Lite");
    EXPECT_EQ(l[1].created_at, "1970-01-01T00:00:00Z");
    EXPECT_EQ(l[2].display_name, "Claude Haiku 4.5");

    bd_models_list(snap, BD_MODELS_LIST_EMBEDDINGS, &l);
    EXPECT_EQ(Ids(l), (V{"claude-sonnet-4-5", "nova", "claude-haiku-4-5-20251001",
                         "amazon.nova-pro-v1:0", "amazon.titan-embed-text-v2:0",
                         std::string("us.") + LLAMA}));
}

TEST_F(MergeTest, FindCoversConfAliasesHiddenEntriesAndTheCatalog)
{
    Load("");
    bd_models_listing_t m;
    ASSERT_EQ(bd_models_find(snap, 0, "claude-3-haiku-20240307", &m), 0);
    EXPECT_EQ(m.id, "claude-sonnet-4-5"); /* the alias names the conf entry */
    ASSERT_EQ(bd_models_find(snap, 0, "hidden-opus", &m), 0);
    ASSERT_EQ(bd_models_find(snap, 0, "claude-haiku-4-5-20251001", &m), 0);
    EXPECT_EQ(m.created_at, "2025-10-01T00:00:00Z");
    EXPECT_EQ(bd_models_find(snap, 0, "amazon.titan-embed-text-v2:0", &m), -1);
    EXPECT_EQ(bd_models_find(snap, BD_MODELS_LIST_EMBEDDINGS, "amazon.titan-embed-text-v2:0", &m),
              0);
    /* covered by a conf entry: not a catalog listing of its own */
    EXPECT_EQ(bd_models_find(snap, 0, "claude-opus-4-1-20250805", &m), -1);
    EXPECT_EQ(bd_models_find(snap, 0, "claude-nope", &m), -1);
}

TEST_F(MergeTest, DerivedNamesResolveToTheCatalogsId)
{
    Load("");
    bd_convert_model_t out;
    ASSERT_EQ(bd_models_resolve(snap, "claude-haiku-4-5-20251001", &out), 0);
    EXPECT_EQ(out.client_name, "claude-haiku-4-5-20251001");
    EXPECT_EQ(out.bedrock_id, std::string("us.") + HAIKU45);
    EXPECT_EQ(out.route, BD_ROUTE_INVOKE);
    EXPECT_TRUE(out.supports_thinking);
    /* a derived name for a model the conf maps keeps the conf entry's data */
    ASSERT_EQ(bd_models_resolve(snap, "claude-sonnet-4-5-20250929", &out), 0);
    EXPECT_EQ(out.client_name, "claude-sonnet-4-5-20250929");
    EXPECT_EQ(out.bedrock_id, std::string("us.") + SONNET);
    /* conf names win over the catalog; unknown names stay unknown */
    ASSERT_EQ(bd_models_resolve(snap, "claude-3-haiku-20240307", &out), 0);
    EXPECT_EQ(out.bedrock_id, std::string("us.") + SONNET);
    EXPECT_EQ(bd_models_resolve(snap, "claude-orphan-20250101", &out), -1);
    EXPECT_EQ(bd_models_resolve(snap, "gpt-4o", &out), -1);
}

TEST_F(MergeTest, PassthroughOffMeansTheMapOnly)
{
    Load("model_passthrough off;\n");
    std::vector<bd_models_listing_t> l;
    bd_models_list(snap, BD_MODELS_LIST_EMBEDDINGS, &l);
    EXPECT_EQ(Ids(l), (std::vector<std::string>{"claude-sonnet-4-5", "nova"}));
    bd_convert_model_t out;
    EXPECT_EQ(bd_models_resolve(snap, "claude-haiku-4-5-20251001", &out), -1);
    bd_models_listing_t m;
    EXPECT_EQ(bd_models_find(snap, 0, "claude-haiku-4-5-20251001", &m), -1);
}

TEST_F(MergeTest, WithoutASourceTheMapOnly)
{
    Load("");
    bd_models_publish_catalog(nullptr);
    std::vector<bd_models_listing_t> l;
    bd_models_list(snap, BD_MODELS_LIST_EMBEDDINGS, &l);
    EXPECT_EQ(Ids(l), (std::vector<std::string>{"claude-sonnet-4-5", "nova"}));
    bd_convert_model_t out;
    EXPECT_EQ(bd_models_resolve(snap, "claude-haiku-4-5-20251001", &out), -1);
    ASSERT_EQ(bd_models_resolve(snap, "amazon.nova-pro-v1:0", &out), 0); /* passthrough */
}

} // namespace
