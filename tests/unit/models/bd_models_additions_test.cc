/*
 * bd_models_additions_test.cc: model map additions (the store's models table) as the
 * store thread publishes them: conf names and aliases win over an addition of the same name, an
 * addition wins over passthrough, keeps a conf entry's quirks for the same id, takes its
 * own route, and is listed after the conf entries (shadowed ones not at all).
 */
#include <gtest/gtest.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <map>
#include <string>

#include "core/bd_core_module.h"
#include "core/bd_snapshot.h"
#include "modules/models/bd_models.h"

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
const char *const NOVA = "us.amazon.nova-pro-v1:0";

/* The provider's rows, keyed (and so listed) by name. */
std::map<std::string, bd_models_addition_t> rows;

/* Publishes the rows, as the store thread does after a commit. */
void
publish()
{
    std::vector<bd_models_addition_t> v;
    for (const auto &r : rows) {
        v.push_back(r.second);
    }
    bd_models_publish_additions(&v);
}

void
add(const char *name, const char *id, const char *route = "")
{
    rows[name] = bd_models_addition_t{name, id, route, 1759104000000}; /* 2025-09-29 */
    publish();
}

const char *const CONF =
    "model sonnet { id us.anthropic.claude-sonnet-4-5-20250929-v1:0; alias sonnet-latest;\n"
    "               route converse; max_output_tokens 1000; url_sources on; }\n"
    "model hidden { id us.amazon.nova-pro-v1:0; listed off; }\n";

class AdditionsTest : public ::testing::Test {
protected:
    std::string dir;
    bd_snapshot_t *snap = nullptr;

    void SetUp() override
    {
        bd_modules_init();
        const char *tmp = getenv("TMPDIR");
        std::string tmpl = std::string(tmp ? tmp : "/tmp") + "/bd_models_add.XXXXXX";
        ASSERT_NE(mkdtemp(&tmpl[0]), nullptr);
        dir = tmpl;
        rows.clear();
        publish();
    }

    void TearDown() override
    {
        bd_models_publish_additions(nullptr);
        if (snap != nullptr) {
            bd_snapshot_unref(snap);
        }
        unlink((dir + "/m.conf").c_str());
        rmdir(dir.c_str());
    }

    void Load(const std::string &text)
    {
        std::string path = dir + "/m.conf";
        FILE *f = fopen(path.c_str(), "w");
        ASSERT_NE(f, nullptr);
        fwrite(text.data(), 1, text.size(), f);
        fclose(f);
        std::string err;
        snap = bd_snapshot_load(path.c_str(), nullptr, &err);
        ASSERT_NE(snap, nullptr) << err;
    }

    bd_convert_model_t Resolve(const char *name, int *rc)
    {
        bd_convert_model_t m{};
        *rc = bd_models_resolve(snap, name, &m);
        return m;
    }
};

TEST_F(AdditionsTest, ConfNamesAndAliasesWinOverAdditions)
{
    Load(CONF);
    add("sonnet", "meta.llama3-1-8b-instruct-v1:0");
    add("sonnet-latest", "meta.llama3-1-8b-instruct-v1:0");
    int rc;
    for (const char *name : {"sonnet", "sonnet-latest"}) {
        bd_convert_model_t m = Resolve(name, &rc);
        ASSERT_EQ(rc, 0) << name;
        EXPECT_EQ(m.bedrock_id, SONNET45) << name;
        EXPECT_EQ(m.client_name, name);
    }
}

TEST_F(AdditionsTest, AnAdditionResolvesAndGoesWhenRemoved)
{
    Load(CONF);
    int rc;
    Resolve("house-llama", &rc);
    EXPECT_EQ(rc, -1);
    add("house-llama", "meta.llama3-1-8b-instruct-v1:0");
    bd_convert_model_t m = Resolve("house-llama", &rc);
    ASSERT_EQ(rc, 0);
    EXPECT_EQ(m.client_name, "house-llama");
    EXPECT_EQ(m.bedrock_id, "meta.llama3-1-8b-instruct-v1:0");
    EXPECT_EQ(m.route, BD_ROUTE_CONVERSE);
    EXPECT_FALSE(m.allow_url_sources);
    rows.clear();
    publish();
    Resolve("house-llama", &rc);
    EXPECT_EQ(rc, -1);
}

TEST_F(AdditionsTest, AdditionsResolveWithoutPassthrough)
{
    Load(std::string(CONF) + "model_passthrough off;\n");
    add("house-llama", "meta.llama3-1-8b-instruct-v1:0");
    int rc;
    Resolve("house-llama", &rc);
    EXPECT_EQ(rc, 0);
}

TEST_F(AdditionsTest, AnAdditionWinsOverPassthroughOfTheSameName)
{
    Load(CONF);
    /* a name that looks like a Bedrock id, pointed elsewhere by the store */
    add("amazon.nova-lite-v1:0", NOVA);
    int rc;
    bd_convert_model_t m = Resolve("amazon.nova-lite-v1:0", &rc);
    ASSERT_EQ(rc, 0);
    EXPECT_EQ(m.bedrock_id, NOVA);
}

TEST_F(AdditionsTest, TheSameIdKeepsTheConfQuirksAndTheRouteIsTheAdditions)
{
    Load(CONF);
    add("team-sonnet", SONNET45);
    add("team-sonnet-invoke", SONNET45, "invoke");
    int rc;
    bd_convert_model_t m = Resolve("team-sonnet", &rc);
    ASSERT_EQ(rc, 0);
    EXPECT_EQ(m.client_name, "team-sonnet");
    EXPECT_EQ(m.max_output_tokens, 1000);
    EXPECT_TRUE(m.allow_url_sources);
    EXPECT_EQ(m.route, BD_ROUTE_CONVERSE); /* the conf entry's */
    m = Resolve("team-sonnet-invoke", &rc);
    ASSERT_EQ(rc, 0);
    EXPECT_EQ(m.route, BD_ROUTE_INVOKE);
    EXPECT_EQ(m.max_output_tokens, 1000);
}

TEST_F(AdditionsTest, DefaultRouteFollowsModelRoute)
{
    Load("model_route \"*llama*\" invoke;\n");
    add("a", "meta.llama3-1-8b-instruct-v1:0");
    add("b", NOVA);
    add("c", NOVA, "invoke");
    int rc;
    EXPECT_EQ(Resolve("a", &rc).route, BD_ROUTE_INVOKE);
    EXPECT_EQ(Resolve("b", &rc).route, BD_ROUTE_CONVERSE);
    EXPECT_EQ(Resolve("c", &rc).route, BD_ROUTE_INVOKE);
}

TEST_F(AdditionsTest, ListedAfterTheConfEntriesShadowedOnesNot)
{
    Load(CONF);
    add("zeta", NOVA);
    add("alpha", "meta.llama3-1-8b-instruct-v1:0");
    add("sonnet", NOVA);  /* shadowed by the conf's name */
    add("hidden", NOVA);  /* shadowed by an unlisted conf entry too */
    std::vector<bd_models_listing_t> all;
    bd_models_list(snap, 0, &all);
    std::vector<std::string> ids;
    for (const bd_models_listing_t &l : all) {
        ids.push_back(l.id);
    }
    EXPECT_EQ(ids, (std::vector<std::string>{"sonnet", "alpha", "zeta"}));
    EXPECT_EQ(all[1].bedrock_id, "meta.llama3-1-8b-instruct-v1:0");
    EXPECT_EQ(all[1].created_at, "2025-09-29T00:00:00Z");
    bd_models_listing_t one;
    ASSERT_EQ(bd_models_find(snap, 0, "zeta", &one), 0);
    EXPECT_EQ(one.bedrock_id, NOVA);
    ASSERT_EQ(bd_models_find(snap, 0, "sonnet", &one), 0);
    EXPECT_EQ(one.bedrock_id, SONNET45);
    EXPECT_EQ(bd_models_find(snap, 0, "nope", &one), -1);
}

} // namespace
