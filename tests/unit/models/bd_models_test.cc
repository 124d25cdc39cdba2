/*
 * bd_models_test.cc: the model map through the real snapshot loader: directives
 * and their defaults, route patterns, passthrough, validation messages with their
 * file:line, and resolution of names, aliases, profile ids and ARNs.
 */
#include <gtest/gtest.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <string>

#include "core/bd_core_module.h"
#include "core/bd_snapshot.h"
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

const char *const SONNET45 = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
const char *const APP_ARN =
    "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123";

class ModelsTest : public ::testing::Test {
protected:
    std::string dir;
    std::string path;
    bd_snapshot_t *snap = nullptr;

    void SetUp() override
    {
        bd_modules_init();
        const char *tmp = getenv("TMPDIR");
        std::string tmpl = std::string(tmp ? tmp : "/tmp") + "/bd_models_test.XXXXXX";
        ASSERT_NE(mkdtemp(&tmpl[0]), nullptr);
        dir = tmpl;
        path = dir + "/models.conf";
    }

    void TearDown() override
    {
        if (snap != nullptr) {
            bd_snapshot_unref(snap);
        }
        unlink(path.c_str());
        rmdir(dir.c_str());
    }

    /* Loads <text> as the whole configuration; returns the error ("" on success). */
    std::string Load(const std::string &text)
    {
        if (snap != nullptr) {
            bd_snapshot_unref(snap);
            snap = nullptr;
        }
        FILE *f = fopen(path.c_str(), "w");
        if (f == nullptr) {
            return "cannot write " + path;
        }
        fwrite(text.data(), 1, text.size(), f);
        fclose(f);
        std::string err;
        snap = bd_snapshot_load(path.c_str(), nullptr, &err);
        return snap != nullptr ? "" : (err.empty() ? "(failed without a message)" : err);
    }

    /* The expected message for a failure at <line> of the file. */
    std::string At(int line, const std::string &msg) const
    {
        return path + ":" + std::to_string(line) + ": " + msg;
    }

    const bd_model_entry_t &Entry(size_t i) const
    {
        return bd_models_entries(snap)[i];
    }

    bd_convert_model_t Resolve(const char *name, int *rc)
    {
        bd_convert_model_t m{};
        *rc = bd_models_resolve(snap, name, &m);
        return m;
    }
};

/* --- parsing and defaults --- */

TEST_F(ModelsTest, EmptyConfHasNoEntries)
{
    ASSERT_EQ(Load(""), "");
    EXPECT_TRUE(bd_models_entries(snap).empty());
}

TEST_F(ModelsTest, DefaultsForAClaudeProfile)
{
    ASSERT_EQ(Load("\nmodel claude-sonnet-4-5 {\n"
                   "    id us.anthropic.claude-sonnet-4-5-20250929-v1:0;\n"
                   "}\n"),
              "");
    ASSERT_EQ(bd_models_entries(snap).size(), 1u);
    const bd_model_entry_t &e = Entry(0);
    EXPECT_EQ(e.name, "claude-sonnet-4-5");
    EXPECT_TRUE(e.aliases.empty());
    EXPECT_EQ(e.file, path);
    EXPECT_EQ(e.line, 2);
    EXPECT_EQ(e.data.client_name, "claude-sonnet-4-5");
    EXPECT_EQ(e.data.bedrock_id, SONNET45);
    EXPECT_EQ(e.data.route, BD_ROUTE_INVOKE);
    EXPECT_FALSE(e.route_set);
    EXPECT_EQ(e.data.max_output_tokens, 0);
    EXPECT_FALSE(e.data.temperature_top_p_exclusive);
    EXPECT_TRUE(e.data.supports_thinking);
    EXPECT_TRUE(e.data.allowed_betas.empty());
    EXPECT_TRUE(e.data.renamed_betas.empty());
    EXPECT_FALSE(e.data.allow_url_sources);
    EXPECT_TRUE(e.listed);
    EXPECT_EQ(e.display_name, "claude-sonnet-4-5");
    EXPECT_EQ(e.created_at, "1970-01-01T00:00:00Z");
}

TEST_F(ModelsTest, EveryDirectiveInABlock)
{
    ASSERT_EQ(Load("model claude {\n"
                   "    id anthropic.claude-3-5-sonnet-20241022-v2:0;\n"
                   "    alias sonnet claude-3-5;\n"
                   "    alias latest;\n"
                   "    route converse;\n"
                   "    max_output_tokens 8192;\n"
                   "    temperature_top_p exclusive;\n"
                   "    thinking on;\n"
                   "    betas token-efficient-tools-2025-02-19;\n"
                   "    betas interleaved-thinking-2025-05-14 context-1m-2025-08-07;\n"
                   "    beta_rename a-1 b-1;\n"
                   "    beta_rename a-2 b-2;\n"
                   "    url_sources on;\n"
                   "    listed off;\n"
                   "    display_name \"Claude 3.5 Sonnet v2\";\n"
                   "    created_at 2024-10-22T00:00:00.5+02:00;\n"
                   "}\n"),
              "");
    const bd_model_entry_t &e = Entry(0);
    EXPECT_EQ(e.aliases, (std::vector<std::string>{"sonnet", "claude-3-5", "latest"}));
    EXPECT_EQ(e.data.route, BD_ROUTE_CONVERSE);
    EXPECT_TRUE(e.route_set);
    EXPECT_EQ(e.data.max_output_tokens, 8192);
    EXPECT_TRUE(e.data.temperature_top_p_exclusive);
    EXPECT_TRUE(e.data.supports_thinking);
    EXPECT_EQ(e.data.allowed_betas,
              (std::vector<std::string>{"token-efficient-tools-2025-02-19",
                                        "interleaved-thinking-2025-05-14",
                                        "context-1m-2025-08-07"}));
    ASSERT_EQ(e.data.renamed_betas.size(), 2u);
    EXPECT_EQ(e.data.renamed_betas[0].first, "a-1");
    EXPECT_EQ(e.data.renamed_betas[0].second, "b-1");
    EXPECT_EQ(e.data.renamed_betas[1].first, "a-2");
    EXPECT_EQ(e.data.renamed_betas[1].second, "b-2");
    EXPECT_TRUE(e.data.allow_url_sources);
    EXPECT_FALSE(e.listed);
    EXPECT_EQ(e.display_name, "Claude 3.5 Sonnet v2");
    EXPECT_EQ(e.created_at, "2024-10-22T00:00:00.5+02:00");
}

TEST_F(ModelsTest, EntriesKeepConfOrder)
{
    ASSERT_EQ(Load("model b { id amazon.nova-pro-v1:0; }\n"
                   "model a { id amazon.nova-lite-v1:0; }\n"
                   "model c { id amazon.nova-micro-v1:0; }\n"),
              "");
    ASSERT_EQ(bd_models_entries(snap).size(), 3u);
    EXPECT_EQ(Entry(0).name, "b");
    EXPECT_EQ(Entry(1).name, "a");
    EXPECT_EQ(Entry(2).name, "c");
}

TEST_F(ModelsTest, ThinkingDefaultsFollowTheId)
{
    ASSERT_EQ(Load("model m37 { id us.anthropic.claude-3-7-sonnet-20250219-v1:0; }\n"
                   "model m35 { id anthropic.claude-3-5-haiku-20241022-v1:0; }\n"
                   "model h45 { id global.anthropic.claude-haiku-4-5-20251001-v1:0; }\n"
                   "model o41 { id anthropic.claude-opus-4-1-20250805-v1:0; }\n"
                   "model s4 { id anthropic.claude-sonnet-4-20250514-v1:0; }\n"
                   "model nova { id amazon.nova-pro-v1:0; }\n"
                   "model arn { id " + std::string(APP_ARN) + "; }\n"
                   "model forced { id amazon.nova-premier-v1:0; thinking on; }\n"
                   "model off { id anthropic.claude-sonnet-4-20250514-v1:0; thinking off; }\n"),
              "");
    const bool expected[] = {true, false, true, true, true, false, false, true, false};
    ASSERT_EQ(bd_models_entries(snap).size(), sizeof(expected) / sizeof(expected[0]));
    for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
        EXPECT_EQ(Entry(i).data.supports_thinking, expected[i]) << Entry(i).name;
    }
}

/* --- routes --- */

TEST_F(ModelsTest, DefaultRouteIsInvokeForClaudeOnly)
{
    ASSERT_EQ(Load("model c { id anthropic.claude-3-haiku-20240307-v1:0; }\n"
                   "model n { id amazon.nova-pro-v1:0; }\n"
                   "model l { id us.meta.llama3-3-70b-instruct-v1:0; }\n"
                   "model a { id " + std::string(APP_ARN) + "; }\n"),
              "");
    EXPECT_EQ(Entry(0).data.route, BD_ROUTE_INVOKE);
    EXPECT_EQ(Entry(1).data.route, BD_ROUTE_CONVERSE);
    EXPECT_EQ(Entry(2).data.route, BD_ROUTE_CONVERSE);
    EXPECT_EQ(Entry(3).data.route, BD_ROUTE_CONVERSE);
}

TEST_F(ModelsTest, RoutePatternsFirstMatchWinsEvenAfterTheBlocks)
{
    ASSERT_EQ(Load("model haiku { id anthropic.claude-3-haiku-20240307-v1:0; }\n"
                   "model sonnet { id us.anthropic.claude-sonnet-4-5-20250929-v1:0; }\n"
                   "model app { id " + std::string(APP_ARN) + "; }\n"
                   "model pinned { id anthropic.claude-3-haiku-20240307-v1:0; route invoke; }\n"
                   "model_route *claude-3-haiku* converse;\n"
                   "model_route *anthropic.claude* invoke;\n"
                   "model_route *claude-3-haiku* invoke;\n"
                   "model_route arn:aws:bedrock:*:application-inference-profile/* invoke;\n"),
              "");
    EXPECT_EQ(Entry(0).data.route, BD_ROUTE_CONVERSE);
    EXPECT_EQ(Entry(1).data.route, BD_ROUTE_INVOKE);
    EXPECT_EQ(Entry(2).data.route, BD_ROUTE_INVOKE);
    EXPECT_EQ(Entry(3).data.route, BD_ROUTE_INVOKE);
    EXPECT_TRUE(Entry(3).route_set);
    EXPECT_FALSE(Entry(0).route_set);
}

TEST_F(ModelsTest, RoutePatternsApplyToPassthroughIds)
{
    ASSERT_EQ(Load("model_route *claude-3-5* converse;\n"
                   "model_route meta.* invoke;\n"),
              "");
    int rc = -1;
    EXPECT_EQ(Resolve("anthropic.claude-3-5-haiku-20241022-v1:0", &rc).route, BD_ROUTE_CONVERSE);
    EXPECT_EQ(rc, 0);
    EXPECT_EQ(Resolve("anthropic.claude-3-haiku-20240307-v1:0", &rc).route, BD_ROUTE_INVOKE);
    /* fnmatch is anchored: "meta.*" does not match a us. profile. */
    EXPECT_EQ(Resolve("us.meta.llama3-3-70b-instruct-v1:0", &rc).route, BD_ROUTE_CONVERSE);
    EXPECT_EQ(Resolve("meta.llama3-3-70b-instruct-v1:0", &rc).route, BD_ROUTE_INVOKE);
}

/* --- resolution --- */

TEST_F(ModelsTest, ResolvesNamesAndAliases)
{
    ASSERT_EQ(Load("model claude-sonnet-4-5 {\n"
                   "    id us.anthropic.claude-sonnet-4-5-20250929-v1:0;\n"
                   "    alias claude-sonnet-4-5-20250929 sonnet;\n"
                   "    max_output_tokens 64000;\n"
                   "    betas context-1m-2025-08-07;\n"
                   "}\n"
                   "model nova { id amazon.nova-pro-v1:0; }\n"),
              "");
    int rc = -1;
    bd_convert_model_t m = Resolve("claude-sonnet-4-5", &rc);
    ASSERT_EQ(rc, 0);
    EXPECT_EQ(m.client_name, "claude-sonnet-4-5");
    EXPECT_EQ(m.bedrock_id, SONNET45);
    EXPECT_EQ(m.route, BD_ROUTE_INVOKE);
    EXPECT_EQ(m.max_output_tokens, 64000);
    EXPECT_EQ(m.allowed_betas, (std::vector<std::string>{"context-1m-2025-08-07"}));

    m = Resolve("claude-sonnet-4-5-20250929", &rc);
    ASSERT_EQ(rc, 0);
    EXPECT_EQ(m.client_name, "claude-sonnet-4-5-20250929");
    EXPECT_EQ(m.bedrock_id, SONNET45);
    EXPECT_EQ(m.max_output_tokens, 64000);

    m = Resolve("sonnet", &rc);
    ASSERT_EQ(rc, 0);
    EXPECT_EQ(m.client_name, "sonnet");
    EXPECT_EQ(m.bedrock_id, SONNET45);

    m = Resolve("nova", &rc);
    ASSERT_EQ(rc, 0);
    EXPECT_EQ(m.bedrock_id, "amazon.nova-pro-v1:0");
    EXPECT_EQ(m.route, BD_ROUTE_CONVERSE);
}

/* Families: the first matching family's betas and renames, plus a model's own betas and
 * renames, minus its beta_drop; passthrough ids get their family's. */
TEST_F(ModelsTest, FamiliesGiveBetasToModelsAndPassthroughIds)
{
    ASSERT_EQ(Load("model_family sonnet45 {\n"
                   "    match *anthropic.claude-sonnet-4-5-* *nothing*;\n"
                   "    betas interleaved-thinking-2025-05-14 context-management-2025-06-27;\n"
                   "    betas context-1m-2025-08-07;\n"
                   "    beta_rename advanced-tool-use-2025-11-20 tool-search-tool-2025-10-19;\n"
                   "}\n"
                   "model_family any-claude { match *anthropic.claude*; betas x-2025; }\n"
                   "model own {\n"
                   "    id us.anthropic.claude-sonnet-4-5-20250929-v1:0;\n"
                   "    betas effort-2025-11-24 interleaved-thinking-2025-05-14;\n"
                   "    beta_drop context-1m-2025-08-07;\n"
                   "    beta_rename advanced-tool-use-2025-11-20 mine-2025;\n"
                   "}\n"
                   "model bare { id us.anthropic.claude-sonnet-4-5-20250929-v1:0;\n"
                   "    beta_drop advanced-tool-use-2025-11-20; }\n"
                   "model nova { id amazon.nova-pro-v1:0; }\n"),
              "");
    int rc = -1;
    bd_convert_model_t m = Resolve("own", &rc);
    ASSERT_EQ(rc, 0);
    EXPECT_EQ(m.allowed_betas,
              (std::vector<std::string>{"interleaved-thinking-2025-05-14",
                                        "context-management-2025-06-27", "effort-2025-11-24"}));
    ASSERT_EQ(m.renamed_betas.size(), 1u);
    EXPECT_EQ(m.renamed_betas[0].second, "mine-2025"); /* the model's own rename wins */

    m = Resolve("bare", &rc);
    ASSERT_EQ(rc, 0);
    EXPECT_EQ(m.allowed_betas.size(), 3u);
    EXPECT_TRUE(m.renamed_betas.empty());

    m = Resolve("eu.anthropic.claude-sonnet-4-5-20250929-v1:0", &rc); /* passthrough */
    ASSERT_EQ(rc, 0);
    EXPECT_EQ(m.allowed_betas.size(), 3u);
    ASSERT_EQ(m.renamed_betas.size(), 1u);
    EXPECT_EQ(m.renamed_betas[0].second, "tool-search-tool-2025-10-19");

    m = Resolve("us.anthropic.claude-haiku-4-5-20251001-v1:0", &rc); /* second family */
    ASSERT_EQ(rc, 0);
    EXPECT_EQ(m.allowed_betas, (std::vector<std::string>{"x-2025"}));

    m = Resolve("nova", &rc);
    ASSERT_EQ(rc, 0);
    EXPECT_TRUE(m.allowed_betas.empty());
}

TEST_F(ModelsTest, FamilyErrors)
{
    EXPECT_EQ(Load("model_family f { betas a; }\n"),
              At(1, "no \"match\" is defined in model_family \"f\""));
    EXPECT_EQ(Load("model_family f { match *; }\nmodel_family f { match *; }\n"),
              At(2, "duplicate model_family \"f\""));
    EXPECT_EQ(Load("model_family f { match *; beta_rename a b; beta_rename a c; }\n"),
              At(1, "duplicate \"beta_rename\" of \"a\""));
    EXPECT_NE(Load("model_family f { match *; url_sources on; }\n"), "");
    EXPECT_NE(Load("model m { id x.y; match *; }\n"), "");
}

TEST_F(ModelsTest, UnknownNamesAreRejected)
{
    ASSERT_EQ(Load("model claude { id anthropic.claude-3-haiku-20240307-v1:0; alias haiku; }\n"),
              "");
    const char *const unknown[] = {
        "gpt-4o",          "Claude",        "claude ",      "", "haiku2",
        "anthropic.",      "us.anthropic.", "us.foo.bar",   "foo.anthropic.claude",
        "anthropic.claude 3", "arn:azure:x", "us.anthropic.claude-3-haiku%20",
    };
    for (const char *name : unknown) {
        bd_convert_model_t m{};
        m.client_name = "untouched";
        EXPECT_EQ(bd_models_resolve(snap, name, &m), -1) << name;
    }
}

TEST_F(ModelsTest, PassthroughOfModelIdsProfilesAndArns)
{
    ASSERT_EQ(Load("model named { id amazon.nova-pro-v1:0; }\n"), "");
    const struct {
        const char *id;
        int route;
        bool thinking;
    } cases[] = {
        {"anthropic.claude-3-haiku-20240307-v1:0", BD_ROUTE_INVOKE, false},
        {"us.anthropic.claude-sonnet-4-5-20250929-v1:0", BD_ROUTE_INVOKE, true},
        {"global.anthropic.claude-sonnet-4-5-20250929-v1:0", BD_ROUTE_INVOKE, true},
        {"eu.anthropic.claude-3-7-sonnet-20250219-v1:0", BD_ROUTE_INVOKE, true},
        {"apac.amazon.nova-lite-v1:0", BD_ROUTE_CONVERSE, false},
        {"us-gov.meta.llama3-8b-instruct-v1:0", BD_ROUTE_CONVERSE, false},
        {"mistral.mistral-large-2402-v1:0", BD_ROUTE_CONVERSE, false},
        {"deepseek.r1-v1:0", BD_ROUTE_CONVERSE, false},
        {"openai.gpt-oss-120b-1:0", BD_ROUTE_CONVERSE, false},
        {APP_ARN, BD_ROUTE_CONVERSE, false},
        {"arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
         BD_ROUTE_INVOKE, false},
        {"arn:aws-us-gov:bedrock:us-gov-west-1:123456789012:provisioned-model/x1",
         BD_ROUTE_CONVERSE, false},
    };
    for (const auto &c : cases) {
        int rc = -1;
        bd_convert_model_t m = Resolve(c.id, &rc);
        ASSERT_EQ(rc, 0) << c.id;
        EXPECT_EQ(m.client_name, c.id);
        EXPECT_EQ(m.bedrock_id, c.id);
        EXPECT_EQ(m.route, c.route) << c.id;
        EXPECT_EQ(m.supports_thinking, c.thinking) << c.id;
        EXPECT_EQ(m.max_output_tokens, 0);
        EXPECT_FALSE(m.temperature_top_p_exclusive);
        EXPECT_TRUE(m.allowed_betas.empty());
        EXPECT_TRUE(m.renamed_betas.empty());
        EXPECT_FALSE(m.allow_url_sources);
    }
}

TEST_F(ModelsTest, PassthroughResetsAReusedOutput)
{
    ASSERT_EQ(Load("model c {\n"
                   "    id anthropic.claude-3-5-sonnet-20241022-v2:0;\n"
                   "    betas x; beta_rename a b; url_sources on; max_output_tokens 10;\n"
                   "    temperature_top_p exclusive;\n"
                   "}\n"),
              "");
    bd_convert_model_t m{};
    ASSERT_EQ(bd_models_resolve(snap, "c", &m), 0);
    ASSERT_EQ(m.allowed_betas.size(), 1u);
    ASSERT_EQ(bd_models_resolve(snap, "amazon.nova-pro-v1:0", &m), 0);
    EXPECT_EQ(m.client_name, "amazon.nova-pro-v1:0");
    EXPECT_EQ(m.bedrock_id, "amazon.nova-pro-v1:0");
    EXPECT_TRUE(m.allowed_betas.empty());
    EXPECT_TRUE(m.renamed_betas.empty());
    EXPECT_FALSE(m.allow_url_sources);
    EXPECT_EQ(m.max_output_tokens, 0);
    EXPECT_FALSE(m.temperature_top_p_exclusive);
}

TEST_F(ModelsTest, PassthroughOfAConfiguredIdKeepsItsData)
{
    ASSERT_EQ(Load("model first { id amazon.nova-pro-v1:0; max_output_tokens 5000; }\n"
                   "model second { id amazon.nova-pro-v1:0; max_output_tokens 7000; }\n"),
              "");
    int rc = -1;
    bd_convert_model_t m = Resolve("amazon.nova-pro-v1:0", &rc);
    ASSERT_EQ(rc, 0);
    EXPECT_EQ(m.client_name, "amazon.nova-pro-v1:0");
    EXPECT_EQ(m.max_output_tokens, 5000);
}

TEST_F(ModelsTest, PassthroughOff)
{
    ASSERT_EQ(Load("model_passthrough off;\n"
                   "model claude { id anthropic.claude-3-haiku-20240307-v1:0; alias haiku; }\n"
                   "model anthropic.claude-v2 { id anthropic.claude-v2:1; }\n"),
              "");
    int rc = 0;
    Resolve("anthropic.claude-3-haiku-20240307-v1:0", &rc);
    EXPECT_EQ(rc, -1);
    Resolve(SONNET45, &rc);
    EXPECT_EQ(rc, -1);
    Resolve(APP_ARN, &rc);
    EXPECT_EQ(rc, -1);
    EXPECT_EQ(Resolve("haiku", &rc).bedrock_id, "anthropic.claude-3-haiku-20240307-v1:0");
    EXPECT_EQ(rc, 0);
    /* A name that looks like an id is still a name. */
    EXPECT_EQ(Resolve("anthropic.claude-v2", &rc).bedrock_id, "anthropic.claude-v2:1");
    EXPECT_EQ(rc, 0);
}

TEST_F(ModelsTest, PassthroughExplicitlyOn)
{
    ASSERT_EQ(Load("model_passthrough on;\n"), "");
    int rc = -1;
    Resolve(SONNET45, &rc);
    EXPECT_EQ(rc, 0);
}

/* --- validation --- */

TEST_F(ModelsTest, DuplicateModelName)
{
    EXPECT_EQ(Load("model a { id amazon.nova-pro-v1:0; }\n"
                   "\n"
                   "model a { id amazon.nova-lite-v1:0; }\n"),
              At(3, "duplicate model \"a\", first defined at " + path + ":1"));
}

TEST_F(ModelsTest, ModelNameThatIsAnEarlierAlias)
{
    EXPECT_EQ(Load("model a { id amazon.nova-pro-v1:0; alias b; }\n"
                   "model b { id amazon.nova-lite-v1:0; }\n"),
              At(2, "model name \"b\" is already an alias of model \"a\" defined at " + path +
                        ":1"));
}

TEST_F(ModelsTest, AliasThatIsAnotherModelsName)
{
    EXPECT_EQ(Load("model a { id amazon.nova-pro-v1:0; }\n"
                   "model b {\n"
                   "    id amazon.nova-lite-v1:0;\n"
                   "    alias c a;\n"
                   "}\n"),
              At(4, "alias \"a\" is already the name of model \"a\" defined at " + path + ":1"));
}

TEST_F(ModelsTest, AliasUsedByTwoModels)
{
    EXPECT_EQ(Load("model a { id amazon.nova-pro-v1:0; alias x; }\n"
                   "model b {\n"
                   "    id amazon.nova-lite-v1:0;\n"
                   "    alias x;\n"
                   "}\n"),
              At(4, "alias \"x\" is already an alias of model \"a\" defined at " + path + ":1"));
}

TEST_F(ModelsTest, AliasRepeatingItsOwnName)
{
    EXPECT_EQ(Load("model a {\n    id amazon.nova-pro-v1:0;\n    alias a;\n}\n"),
              At(3, "alias \"a\" repeats the name of model \"a\""));
}

TEST_F(ModelsTest, DuplicateAliasInOneModel)
{
    EXPECT_EQ(Load("model a {\n    id amazon.nova-pro-v1:0;\n    alias x y;\n    alias x;\n}\n"),
              At(4, "duplicate alias \"x\" in model \"a\""));
}

TEST_F(ModelsTest, MissingId)
{
    EXPECT_EQ(Load("\nmodel a {\n    alias b;\n}\n"), At(2, "no \"id\" is defined in model \"a\""));
}

TEST_F(ModelsTest, BadRoute)
{
    EXPECT_EQ(Load("model a {\n    id amazon.nova-pro-v1:0;\n    route stream;\n}\n"),
              At(3, "invalid value \"stream\" in \"route\" directive, it must be one of: "
                    "converse, invoke"));
}

TEST_F(ModelsTest, BadModelRoute)
{
    EXPECT_EQ(Load("model_route amazon.* converse-stream;\n"),
              At(1, "invalid value \"converse-stream\" in \"model_route\" directive, it must be "
                    "one of: converse, invoke"));
}

TEST_F(ModelsTest, BadValuesInABlock)
{
    EXPECT_EQ(Load("model a { id amazon.nova-pro-v1:0; temperature_top_p one; }\n"),
              At(1, "invalid value \"one\" in \"temperature_top_p\" directive, it must be one of: "
                    "both, exclusive"));
    EXPECT_EQ(Load("model a { id amazon.nova-pro-v1:0; thinking yes; }\n"),
              At(1, "invalid value \"yes\" in \"thinking\" directive, it must be one of: on, off"));
    EXPECT_EQ(Load("model a { id amazon.nova-pro-v1:0;\ncreated_at 2025-09-29; }\n"),
              At(2, "invalid value \"2025-09-29\" in \"created_at\" directive, it must be an "
                    "RFC 3339 time such as 2025-09-29T00:00:00Z"));
    EXPECT_NE(Load("model a { id amazon.nova-pro-v1:0; created_at 2025-13-29T00:00:00Z; }\n"), "");
    EXPECT_NE(Load("model a { id amazon.nova-pro-v1:0; created_at 2025-09-29T00:00:00; }\n"), "");
    EXPECT_EQ(Load("model a { id amazon.nova-pro-v1:0; created_at 2025-09-29T10:20:30-07:00; }\n"),
              "");
    EXPECT_EQ(Load("model a { id amazon.nova-pro-v1:0; max_output_tokens 0; }\n"),
              At(1, "\"max_output_tokens\" directive value must be between 1 and 10000000"));
    EXPECT_EQ(Load("model a { id \"amazon nova\"; }\n"),
              At(1, "invalid value \"amazon nova\" in \"id\" directive, it must be a Bedrock model "
                    "id, inference profile id or ARN (letters, digits and . - _ : /, at most 2048 "
                    "characters)"));
    EXPECT_EQ(Load("model a { id amazon.nova-pro-v1:0; beta_rename x y; beta_rename x z; }\n"),
              At(1, "duplicate \"beta_rename\" of \"x\""));
}

TEST_F(ModelsTest, DirectivesInTheWrongPlace)
{
    EXPECT_EQ(Load("id amazon.nova-pro-v1:0;\n"), At(1, "\"id\" directive is not allowed here"));
    EXPECT_EQ(Load("model a {\n    id amazon.nova-pro-v1:0;\n    model_passthrough off;\n}\n"),
              At(3, "\"model_passthrough\" directive is not allowed here"));
    EXPECT_EQ(Load("model a {\n    id amazon.nova-pro-v1:0;\n    id amazon.nova-lite-v1:0;\n}\n"),
              At(3, "\"id\" directive is duplicate"));
    EXPECT_EQ(Load("model a;\n"), At(1, "\"model\" directive has no opening \"{\""));
    EXPECT_EQ(Load("model a { id amazon.nova-pro-v1:0; frobnicate 1; }\n"),
              At(1, "unknown directive \"frobnicate\""));
    EXPECT_EQ(Load("model_passthrough on;\nmodel_passthrough off;\n"),
              At(2, "\"model_passthrough\" directive is duplicate"));
}

} // namespace
